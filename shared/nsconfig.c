/* config: every setting lives in one table (key, type, bounds, default, secrecy), and the
 * file parser, the environment override and --check-config are all driven by it. */
#include <config.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "nsconfig.h"
#include "cidr.h"
#include "log.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef PKGDATADIR
#define PKGDATADIR "/usr/share/napalmsky"
#endif

#define CFG_KEY_MAX 64		/* longest key name, also bounds the environment name */
#define CFG_MASK_MAX (NS_CFG_STR_MAX + 16)	/* a value with its password masked */
#define CFG_ERR_MAX 256		/* one setting's error, before file:line is added */

enum cfg_type { CFG_STR, CFG_INT };
enum { CFG_SECRET = 1 };	/* flags */

typedef int (*cfg_check_fn)(const char *value);

struct cfg_item {
	const char *key;
	enum cfg_type type;
	size_t offset;
	size_t size;		/* CFG_STR: size of the char array */
	long min, max;		/* CFG_INT: inclusive bounds */
	const char *def;	/* default, as text; parsed like any other value */
	int flags;
	cfg_check_fn check;	/* extra validation of a string value, or NULL */
	const char *allowed;	/* text for the error when check fails */
};

static int check_log_level(const char *v) { return ns_log_level_parse(v, NULL); }
static int
check_environment(const char *v)
{
	return strcmp(v, "development") == 0 || strcmp(v, "production") == 0 ||
	    strcmp(v, "test") == 0;
}
static int check_abs_path(const char *v) { return v[0] == '/'; }
static int check_cidrs(const char *v) { return ns_cidr_list_valid(v); }

#define CIDR_ALLOWED "comma-separated addresses or CIDRs, such as 10.0.0.0/8,::1"
#define FIELD_SIZE(f) sizeof(((struct ns_config *)0)->f)
#define STR(f, def, flags, check, allowed) \
	{ #f, CFG_STR, offsetof(struct ns_config, f), FIELD_SIZE(f), 0, 0, def, flags, check, allowed }
#define INT(f, def, min, max) \
	{ #f, CFG_INT, offsetof(struct ns_config, f), FIELD_SIZE(f), min, max, #def, 0, NULL, NULL }

static const struct cfg_item cfg_items[] = {
	STR(database_url, "postgresql:///napalmsky", 0, NULL, NULL),
	STR(database_read_url, "", 0, NULL, NULL),
	INT(db_statement_timeout_ms, 5000, 100, 600000),
	INT(db_connect_timeout_s, 3, 1, 60),
	STR(redis_url, "redis://127.0.0.1:6379/0", 0, NULL, NULL),
	INT(redis_timeout_ms, 500, 10, 60000),
	STR(log_level, "info", 0, check_log_level, "err, warn, info or debug"),
	STR(environment, "production", 0, check_environment, "development, production or test"),
	STR(media_dir, "/var/lib/napalmsky/media", 0, NULL, NULL),
	STR(migrations_dir, PKGDATADIR "/sql", 0, NULL, NULL),
	STR(allowed_origins, "http://localhost:3000", 0, NULL, NULL),
	STR(metrics_allow, "127.0.0.1/32,::1/128", 0, check_cidrs, CIDR_ALLOWED),
	INT(json_body_max, 102400, 1024, 16777216),
	INT(webhook_body_max, 1048576, 1024, 67108864),
	INT(selfie_max, 5242880, 1024, 104857600),
	INT(video_max, 52428800, 1024, 1073741824),
	INT(api_workers, 2, 1, 256),
	STR(gateway_host, "127.0.0.1", 0, NULL, NULL),
	INT(gateway_port, 3001, 1, 65535),
	STR(gateway_id, "", 0, NULL, NULL),
	STR(gateway_path, "/socket.io/", 0, check_abs_path, "a path starting with /"),
	INT(gateway_max_connections, 19000, 1, 1000000),
	INT(gateway_redis_backlog_max, 2048, 1, 1000000),
	INT(ping_interval_ms, 25000, 100, 3600000),
	INT(ping_timeout_ms, 60000, 100, 3600000),
	INT(max_payload, 1000000, 1024, 104857600),
	INT(connect_timeout_ms, 45000, 100, 3600000),
	INT(sockets_per_user, 5, 1, 100),
	INT(send_queue_max, 1048576, 4096, 1073741824),
	INT(socket_events_per_second, 50, 1, 100000),
	INT(socket_events_burst, 200, 1, 100000),
	INT(queue_update_interval_ms, 1000, 0, 1000),
	STR(trusted_proxies, "127.0.0.1/32,::1/128", 0, check_cidrs, CIDR_ALLOWED),
	/* calls (contract §4.1); call_seconds_min below 60 is for tests only */
	INT(invite_window_ms, 20000, 100, 600000),
	INT(invite_extend_ms, 20000, 100, 600000),
	INT(invite_cap_ms, 300000, 100, 3600000),
	INT(invite_tolerance_ms, 2000, 0, 60000),
	INT(call_grace_s, 10, 0, 3600),
	INT(call_seconds_min, 60, 1, 60),
	INT(call_save_min_s, 5, 0, 3600),
	INT(call_complete_min_s, 30, 1, 3600),
	INT(qr_unlock_completions, 4, 1, 1000),
	INT(cooldown_long_s, 86400, 1, 2592000),
	INT(cooldown_short_s, 3600, 1, 2592000),
	INT(disconnect_grace_ms, 5000, 100, 600000),
	INT(sched_tick_ms, 500, 50, 10000),
	INT(gateway_heartbeat_ttl_ms, 15000, 1000, 600000),
	INT(gateway_check_ms, 2000, 100, 60000),
	STR(turn_secret, "", CFG_SECRET, NULL, NULL),
	STR(turn_urls, "", 0, NULL, NULL),
	STR(stun_urls, "stun:stun.l.google.com:19302,stun:stun1.l.google.com:19302", 0, NULL, NULL),
	INT(turn_ttl_s, 3600, 60, 604800),
	STR(stripe_secret_key, "", CFG_SECRET, NULL, NULL),
	STR(stripe_webhook_secret, "", CFG_SECRET, NULL, NULL),
	STR(stripe_api_base, "https://api.stripe.com", 0, NULL, NULL),
	STR(frontend_url, "http://localhost:3000", 0, NULL, NULL),
	STR(public_base_url, "", 0, NULL, NULL),
	/* REST: sessions, passwords, cache, lists (contract §4.1) */
	INT(guest_session_days, 7, 1, 365),
	INT(permanent_session_days, 30, 1, 365),
	INT(bcrypt_cost, 12, 4, 16),
	INT(cache_ttl_s, 300, 1, 86400),
	INT(queue_page_default, 100, 1, 500),
	INT(queue_page_max, 500, 1, 5000),
	/* rate limits (contract §1.8): windows in seconds; *_enabled 0 turns a limiter off */
	INT(rl_auth_window_s, 600, 1, 86400),
	INT(rl_auth_max, 6, 1, 1000000),
	INT(rl_api_window_s, 60, 1, 86400),
	INT(rl_api_max, 500, 1, 1000000),
	INT(rl_api_enabled, 1, 0, 1),
	INT(rl_turn_window_s, 3600, 1, 86400),
	INT(rl_turn_max, 10, 1, 1000000),
	INT(rl_report_window_s, 3600, 1, 86400),
	INT(rl_report_max, 50, 1, 1000000),
	INT(rl_report_enabled, 1, 0, 1),
	INT(rl_validate_window_s, 3600, 1, 86400),
	INT(rl_validate_max, 5, 1, 1000000),
};
#define CFG_NITEMS (sizeof cfg_items / sizeof cfg_items[0])

/* Older deployments name the environment NODE_ENV; ENVIRONMENT wins when both are set. */
static const struct { const char *env, *key; } cfg_env_aliases[] = {
	{ "NODE_ENV", "environment" },
};

static void
seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const struct cfg_item *
find_item(const char *key)
{
	size_t i;

	for (i = 0; i < CFG_NITEMS; i++)
		if (strcmp(cfg_items[i].key, key) == 0)
			return &cfg_items[i];
	return NULL;
}

static enum ns_err
set_item(struct ns_config *cfg, const struct cfg_item *it, const char *value,
    char *err, size_t errlen)
{
	char *base = (char *)cfg + it->offset;

	if (it->type == CFG_INT) {
		char *end;
		long v;

		errno = 0;
		v = strtol(value, &end, 10);
		if (value[0] == '\0' || isspace((unsigned char)value[0]) || *end != '\0' ||
		    errno == ERANGE || v < it->min || v > it->max) {
			seterr(err, errlen, "%s: must be an integer from %ld to %ld", it->key,
			    it->min, it->max);
			return NS_E_CONFIG;
		}
		*(int *)(void *)base = (int)v;
		return NS_OK;
	}
	if (strlen(value) >= it->size) {
		seterr(err, errlen, "%s: value too long (at most %zu bytes)", it->key, it->size - 1);
		return NS_E_CONFIG;
	}
	if (it->check != NULL && !it->check(value)) {
		seterr(err, errlen, "%s: must be %s", it->key, it->allowed);
		return NS_E_CONFIG;
	}
	memcpy(base, value, strlen(value) + 1);
	return NS_OK;
}

enum ns_err
ns_config_set(struct ns_config *cfg, const char *key, const char *value, char *err, size_t errlen)
{
	const struct cfg_item *it = find_item(key);

	if (it == NULL) {
		seterr(err, errlen, "unknown key '%.*s'", CFG_KEY_MAX, key);
		return NS_E_CONFIG;
	}
	return set_item(cfg, it, value, err, errlen);
}

static void
set_defaults(struct ns_config *cfg)
{
	size_t i;

	memset(cfg, 0, sizeof *cfg);
	for (i = 0; i < CFG_NITEMS; i++)
		if (set_item(cfg, &cfg_items[i], cfg_items[i].def, NULL, 0) != NS_OK)
			abort();	/* a default outside its own bounds is a programming error */
}

static int
is_blank(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* Parse one line in place: blank and comment lines are skipped (no inline comments, since '#'
 * is legal in URLs and secrets); otherwise "key = value" with optional double quotes. */
static enum ns_err
parse_line(struct ns_config *cfg, char *line, const char *name, unsigned lineno,
    char *err, size_t errlen)
{
	char *key, *val, *eq, *end;
	char sub[CFG_ERR_MAX];

	while (is_blank(*line))
		line++;
	if (*line == '\0' || *line == '#')
		return NS_OK;
	eq = strchr(line, '=');
	if (eq == NULL) {
		seterr(err, errlen, "%s:%u: expected 'key = value'", name, lineno);
		return NS_E_CONFIG;
	}
	key = line;
	end = eq;
	while (end > key && is_blank(end[-1]))
		end--;
	*end = '\0';
	val = eq + 1;
	while (is_blank(*val))
		val++;
	end = val + strlen(val);
	while (end > val && is_blank(end[-1]))
		end--;
	*end = '\0';
	if (end - val >= 2 && val[0] == '"' && end[-1] == '"') {
		end[-1] = '\0';
		val++;
	}
	if (ns_config_set(cfg, key, val, sub, sizeof sub) != NS_OK) {
		seterr(err, errlen, "%s:%u: %s", name, lineno, sub);
		return NS_E_CONFIG;
	}
	return NS_OK;
}

static enum ns_err
load_file(struct ns_config *cfg, const char *path, char *err, size_t errlen)
{
	char line[NS_CFG_LINE_MAX + 1];
	unsigned lineno = 0;
	enum ns_err rc = NS_OK;
	FILE *f;
	int c = 0;

	if ((f = fopen(path, "r")) == NULL) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		return NS_E_CONFIG;
	}
	while (rc == NS_OK && c != EOF) {
		size_t n = 0;

		lineno++;
		while ((c = getc(f)) != EOF && c != '\n') {
			if (c == '\0') {
				seterr(err, errlen, "%s:%u: NUL byte in line", path, lineno);
				rc = NS_E_CONFIG;
				break;
			}
			if (n >= NS_CFG_LINE_MAX) {
				seterr(err, errlen, "%s:%u: line longer than %d bytes", path, lineno,
				    NS_CFG_LINE_MAX);
				rc = NS_E_CONFIG;
				break;
			}
			line[n++] = (char)c;
		}
		line[n] = '\0';
		if (rc == NS_OK && c == EOF && ferror(f)) {
			seterr(err, errlen, "%s: read error", path);
			rc = NS_E_CONFIG;
		}
		if (rc == NS_OK)
			rc = parse_line(cfg, line, path, lineno, err, errlen);
	}
	fclose(f);
	return rc;
}

static enum ns_err
load_env(struct ns_config *cfg, char *err, size_t errlen)
{
	char name[CFG_KEY_MAX], sub[CFG_ERR_MAX];
	size_t i, j;
	const char *v;

	for (i = 0; i < sizeof cfg_env_aliases / sizeof cfg_env_aliases[0]; i++) {
		if ((v = getenv(cfg_env_aliases[i].env)) == NULL)
			continue;
		if (ns_config_set(cfg, cfg_env_aliases[i].key, v, sub, sizeof sub) != NS_OK) {
			seterr(err, errlen, "environment %s: %s", cfg_env_aliases[i].env, sub);
			return NS_E_CONFIG;
		}
	}
	for (i = 0; i < CFG_NITEMS; i++) {
		for (j = 0; cfg_items[i].key[j] != '\0' && j < sizeof name - 1; j++)
			name[j] = (char)toupper((unsigned char)cfg_items[i].key[j]);
		name[j] = '\0';
		if ((v = getenv(name)) == NULL)
			continue;
		if (set_item(cfg, &cfg_items[i], v, sub, sizeof sub) != NS_OK) {
			seterr(err, errlen, "environment %s: %s", name, sub);
			return NS_E_CONFIG;
		}
	}
	return NS_OK;
}

const char *
ns_config_default_path(void)
{
	return SYSCONFDIR "/napalmsky/napalmsky.conf";
}

enum ns_err
ns_config_load(struct ns_config *cfg, const char *path, char *err, size_t errlen)
{
	enum ns_err rc;

	set_defaults(cfg);
	if (path == NULL || path[0] == '\0') {
		path = getenv("NAPALMSKY_CONFIG");
		if (path != NULL && path[0] == '\0')
			path = NULL;
	}
	if (path == NULL) {
		/* Only the default file may be missing: a named one is a deliberate choice. */
		path = ns_config_default_path();
		if (access(path, F_OK) != 0)
			path = NULL;
	}
	if (path != NULL && (rc = load_file(cfg, path, err, errlen)) != NS_OK)
		return rc;
	return load_env(cfg, err, errlen);
}

/* Copy src to dst for printing, with the password of a URL's userinfo and the value of any
 * password=... parameter (conninfo or query string) replaced by "***". Errs towards masking
 * too much: everything between the first ':' and the last '@' of the authority goes. */
static void
mask_passwords(char *dst, size_t dstlen, const char *src)
{
	const char *scheme = strstr(src, "://"), *p = src;
	size_t o = 0;

	dst[0] = '\0';
	if (scheme != NULL) {
		const char *auth = scheme + 3;
		size_t alen = strcspn(auth, "?#");
		const char *at = NULL, *colon, *q;

		for (q = auth; q < auth + alen; q++)
			if (*q == '@')
				at = q;
		if (at != NULL && (colon = memchr(auth, ':', (size_t)(at - auth))) != NULL) {
			o = (size_t)snprintf(dst, dstlen, "%.*s***", (int)(colon + 1 - src), src);
			if (o >= dstlen)
				return;
			p = at;
		}
	}
	while (*p != '\0' && o + 1 < dstlen) {
		if (strncmp(p, "password=", 9) == 0 && (p == src || !isalnum((unsigned char)p[-1]))) {
			int n = snprintf(dst + o, dstlen - o, "password=***");

			if (n < 0 || (size_t)n >= dstlen - o)
				break;
			o += (size_t)n;
			p += 9;
			if (*p == '\'') {	/* conninfo quoting: 'a b', with \' and \\ escapes */
				for (p++; *p != '\0' && *p != '\''; p++)
					if (*p == '\\' && p[1] != '\0')
						p++;
				if (*p == '\'')
					p++;
			} else {
				while (*p != '\0' && *p != '&' && !isspace((unsigned char)*p))
					p++;
			}
			continue;
		}
		dst[o++] = *p++;
	}
	dst[o < dstlen ? o : dstlen - 1] = '\0';
}

void
ns_config_print(const struct ns_config *cfg, FILE *out)
{
	char masked[CFG_MASK_MAX];
	size_t i;

	for (i = 0; i < CFG_NITEMS; i++) {
		const struct cfg_item *it = &cfg_items[i];
		const char *base = (const char *)cfg + it->offset;

		if (it->type == CFG_INT) {
			fprintf(out, "%s = %d\n", it->key, *(const int *)(const void *)base);
		} else if (it->flags & CFG_SECRET) {
			fprintf(out, "%s = %s\n", it->key, base[0] != '\0' ? "(set)" : "\"\"");
		} else {
			mask_passwords(masked, sizeof masked, base);
			fprintf(out, "%s = \"%s\"\n", it->key, masked);
		}
	}
}
