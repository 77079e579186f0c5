/* test_config: defaults, the file format, environment overrides, bounds and masking. */
#include "config.h"
#include <stdlib.h>
#include <unistd.h>
#include "nsconfig.h"
#include "tap.h"

#define ERR_MAX 512

static const char *const env_names[] = {
	"DATABASE_URL", "DATABASE_READ_URL", "DB_STATEMENT_TIMEOUT_MS", "DB_CONNECT_TIMEOUT_S",
	"REDIS_URL", "REDIS_TIMEOUT_MS", "LOG_LEVEL", "ENVIRONMENT", "NODE_ENV", "MEDIA_DIR",
	"MIGRATIONS_DIR", "ALLOWED_ORIGINS", "METRICS_ALLOW", "JSON_BODY_MAX", "WEBHOOK_BODY_MAX",
	"SELFIE_MAX", "VIDEO_MAX", "API_WORKERS", "GATEWAY_HOST", "GATEWAY_PORT", "GATEWAY_ID",
	"GATEWAY_PATH", "GATEWAY_MAX_CONNECTIONS", "GATEWAY_REDIS_BACKLOG_MAX",
	"PING_INTERVAL_MS", "PING_TIMEOUT_MS",
	"MAX_PAYLOAD", "CONNECT_TIMEOUT_MS", "SOCKETS_PER_USER", "SEND_QUEUE_MAX",
	"SOCKET_EVENTS_PER_SECOND", "SOCKET_EVENTS_BURST", "QUEUE_UPDATE_INTERVAL_MS",
	"TRUSTED_PROXIES", "TURN_SECRET", "TURN_URLS", "STRIPE_SECRET_KEY",
	"STRIPE_WEBHOOK_SECRET", "STRIPE_API_BASE", "FRONTEND_URL", "NAPALMSKY_CONFIG",
};

static char path[64];

static const char *
write_file(const char *text)
{
	FILE *f;

	snprintf(path, sizeof path, "/tmp/ns-test-config.XXXXXX");
	f = fdopen(mkstemp(path), "w");
	fputs(text, f);
	fclose(f);
	return path;
}

/* Load text as a config file; returns the status, err filled. */
static enum ns_err
load_text(struct ns_config *c, const char *text, char *err)
{
	enum ns_err e;

	err[0] = '\0';
	e = ns_config_load(c, write_file(text), err, ERR_MAX);
	unlink(path);
	return e;
}

static int
contains(const char *hay, const char *needle)
{
	return hay != NULL && strstr(hay, needle) != NULL;
}

int
main(void)
{
	static struct ns_config c;
	char err[ERR_MAX], line[NS_CFG_LINE_MAX + 64], *printed = NULL, expect[64];
	size_t i, plen = 0;
	FILE *mem;

	for (i = 0; i < sizeof env_names / sizeof env_names[0]; i++)
		unsetenv(env_names[i]);

	tap_is_int(load_text(&c, "", err), NS_OK, "empty file loads");
	tap_is_str(c.database_url, "postgresql:///napalmsky", "default database_url");
	tap_is_str(c.database_read_url, "", "default database_read_url");
	tap_is_int(c.db_statement_timeout_ms, 5000, "default db_statement_timeout_ms");
	tap_is_int(c.db_connect_timeout_s, 3, "default db_connect_timeout_s");
	tap_is_str(c.redis_url, "redis://127.0.0.1:6379/0", "default redis_url");
	tap_is_int(c.redis_timeout_ms, 500, "default redis_timeout_ms");
	tap_is_str(c.log_level, "info", "default log_level");
	tap_is_str(c.environment, "production", "default environment");
	tap_is_str(c.media_dir, "/var/lib/napalmsky/media", "default media_dir");
	tap_is_str(c.migrations_dir, PKGDATADIR "/sql", "default migrations_dir");
	tap_is_str(c.allowed_origins, "http://localhost:3000", "default allowed_origins");
	tap_is_str(c.metrics_allow, "127.0.0.1/32,::1/128", "default metrics_allow");
	tap_is_int(c.json_body_max, 102400, "default json_body_max");
	tap_is_int(c.webhook_body_max, 1048576, "default webhook_body_max");
	tap_is_int(c.selfie_max, 5242880, "default selfie_max");
	tap_is_int(c.video_max, 52428800, "default video_max");
	tap_is_int(c.api_workers, 2, "default api_workers");
	tap_is_str(c.gateway_host, "127.0.0.1", "default gateway_host");
	tap_is_int(c.gateway_port, 3001, "default gateway_port");
	tap_is_str(c.gateway_id, "", "default gateway_id");
	tap_is_str(c.gateway_path, "/socket.io/", "default gateway_path");
	tap_is_int(c.gateway_max_connections, 19000, "default gateway_max_connections");
	tap_is_int(c.gateway_redis_backlog_max, 2048, "default gateway_redis_backlog_max");
	tap_is_int(c.ping_interval_ms, 25000, "default ping_interval_ms");
	tap_is_int(c.ping_timeout_ms, 60000, "default ping_timeout_ms");
	tap_is_int(c.max_payload, 1000000, "default max_payload");
	tap_is_int(c.connect_timeout_ms, 45000, "default connect_timeout_ms");
	tap_is_int(c.sockets_per_user, 5, "default sockets_per_user");
	tap_is_int(c.send_queue_max, 1048576, "default send_queue_max");
	tap_is_str(c.trusted_proxies, "127.0.0.1/32,::1/128", "default trusted_proxies");
	tap_is_str(c.turn_secret, "", "default turn_secret");
	tap_is_str(c.stripe_api_base, "https://api.stripe.com", "default stripe_api_base");
	tap_is_str(c.frontend_url, "http://localhost:3000", "default frontend_url");
	tap_is_str(ns_config_default_path(), SYSCONFDIR "/napalmsky/napalmsky.conf", "default path");

	tap_is_int(load_text(&c,
	    "# a comment\n"
	    "\n"
	    "   \t\n"
	    "  gateway_port   =   4000  \n"
	    "redis_url=\"redis://:pw@h:1/2\"\r\n"
	    "\t# indented comment\n"
	    "turn_secret = \"  spaced secret # not a comment  \"\n"
	    "media_dir = /srv/media#frag\n"
	    "gateway_id = \"\"\n"
	    "frontend_url = \"unbalanced\n"
	    "log_level = debug", err), NS_OK, "file with comments, quotes, CRLF, no final newline: %s", err);
	tap_is_int(c.gateway_port, 4000, "int from file, whitespace trimmed");
	tap_is_str(c.redis_url, "redis://:pw@h:1/2", "quotes removed, CR trimmed");
	tap_is_str(c.turn_secret, "  spaced secret # not a comment  ", "quoted value keeps spaces and #");
	tap_is_str(c.media_dir, "/srv/media#frag", "# inside a value is not a comment");
	tap_is_str(c.gateway_id, "", "empty quoted value");
	tap_is_str(c.frontend_url, "\"unbalanced", "an unbalanced quote is kept");
	tap_is_str(c.log_level, "debug", "last line without newline");
	tap_is_int(c.api_workers, 2, "untouched keys keep defaults");

	tap_is_int(load_text(&c, "a = 1\n\nnosuchkey = 3\n", err), NS_E_CONFIG, "unknown key rejected");
	tap_ok(contains(err, ":1: unknown key 'a'"), "error names file:line and key: %s", err);
	tap_is_int(load_text(&c, "\n\nnosuchkey = 3\n", err), NS_E_CONFIG, "unknown key on line 3");
	tap_ok(contains(err, path) && contains(err, ":3: unknown key 'nosuchkey'"), "line 3 named: %s", err);
	tap_is_int(load_text(&c, "gateway_port\n", err), NS_E_CONFIG, "missing '=' rejected");
	tap_ok(contains(err, ":1:"), "line named: %s", err);
	tap_is_int(load_text(&c, "= 5\n", err), NS_E_CONFIG, "empty key rejected");
	tap_is_int(load_text(&c, "metrics_allow = 10.0.0.0/8, ::1 ,192.0.2.7\n", err), NS_OK,
	    "metrics_allow: addresses and CIDRs, blanks around items: %s", err);
	tap_is_int(load_text(&c, "metrics_allow =\n", err), NS_OK, "metrics_allow: empty (nobody)");
	tap_is_int(load_text(&c, "trusted_proxies = 10.0.0.0/\n", err), NS_E_CONFIG,
	    "trusted_proxies: an empty prefix length is refused, not read as /0");
	tap_ok(contains(err, "trusted_proxies") && contains(err, "CIDR"), "key and form named: %s",
	    err);
	tap_is_int(load_text(&c, "metrics_allow = 127.0.0.1/33\n", err), NS_E_CONFIG,
	    "metrics_allow: a prefix longer than the address is refused");
	tap_is_int(load_text(&c, "metrics_allow = localhost\n", err), NS_E_CONFIG,
	    "metrics_allow: a host name is refused");
	tap_is_int(load_text(&c, "gateway_port = 0\n", err), NS_E_CONFIG, "port 0 below bounds");
	tap_ok(contains(err, "gateway_port") && contains(err, "1 to 65535"), "bounds named: %s", err);
	tap_is_int(load_text(&c, "gateway_port = 65536\n", err), NS_E_CONFIG, "port above bounds");
	tap_is_int(load_text(&c, "gateway_port = 80x\n", err), NS_E_CONFIG, "trailing junk in int");
	tap_is_int(load_text(&c, "gateway_port = \n", err), NS_E_CONFIG, "empty int");
	tap_is_int(load_text(&c, "gateway_port = 99999999999999999999\n", err), NS_E_CONFIG, "int overflow");
	tap_is_int(load_text(&c, "api_workers = -1\n", err), NS_E_CONFIG, "negative workers");
	tap_is_int(load_text(&c, "api_workers = 256\n", err), NS_OK, "max workers accepted");
	tap_is_int(load_text(&c, "db_statement_timeout_ms = 99\n", err), NS_E_CONFIG, "timeout below 100");
	tap_is_int(load_text(&c, "json_body_max = 16777217\n", err), NS_E_CONFIG, "json_body_max above max");
	tap_is_int(load_text(&c, "log_level = loud\n", err), NS_E_CONFIG, "bad log_level");
	tap_ok(contains(err, "log_level"), "log_level named: %s", err);
	tap_is_int(load_text(&c, "environment = staging\n", err), NS_E_CONFIG, "bad environment");
	tap_is_int(load_text(&c, "environment = development\n", err), NS_OK, "development accepted");
	tap_is_int(load_text(&c, "gateway_path = socket\n", err), NS_E_CONFIG, "relative gateway_path");

	memset(line, 'x', sizeof line);
	memcpy(line, "media_dir = ", 12);
	line[12 + NS_CFG_STR_MAX] = '\0';	/* value of NS_CFG_STR_MAX bytes: one too many */
	tap_is_int(load_text(&c, line, err), NS_E_CONFIG, "string longer than its field rejected");
	tap_ok(contains(err, "media_dir") && contains(err, "too long"), "not truncated: %s", err);
	line[12 + NS_CFG_STR_MAX - 1] = '\0';
	tap_is_int(load_text(&c, line, err), NS_OK, "string filling its field exactly accepted");
	tap_is_int(strlen(c.media_dir), NS_CFG_STR_MAX - 1, "full length kept");
	memcpy(line, "gateway_id = ", 13);
	line[13 + 64] = '\0';
	tap_is_int(load_text(&c, line, err), NS_E_CONFIG, "64 bytes for a 64-byte field rejected");
	memset(line, ' ', sizeof line);
	memcpy(line + NS_CFG_LINE_MAX - 10, "api_workers = 3\n", 17);
	tap_is_int(load_text(&c, line, err), NS_E_CONFIG, "line longer than NS_CFG_LINE_MAX rejected");
	tap_ok(contains(err, ":1:") && contains(err, "line longer"), "reported: %s", err);
	memset(line, ' ', sizeof line);
	memcpy(line + NS_CFG_LINE_MAX - 16, "api_workers = 3\n", 17);
	tap_is_int(load_text(&c, line, err), NS_OK, "line of exactly NS_CFG_LINE_MAX bytes accepted");
	tap_is_int(c.api_workers, 3, "and parsed");

	tap_is_int(ns_config_load(&c, "/nonexistent/napalmsky.conf", err, sizeof err), NS_E_CONFIG,
	    "missing explicit file is an error");
	tap_ok(contains(err, "/nonexistent/napalmsky.conf"), "path named: %s", err);
	setenv("NAPALMSKY_CONFIG", "/nonexistent/env.conf", 1);
	tap_is_int(ns_config_load(&c, NULL, err, sizeof err), NS_E_CONFIG,
	    "missing $NAPALMSKY_CONFIG file is an error");
	write_file("api_workers = 7\n");
	setenv("NAPALMSKY_CONFIG", path, 1);
	tap_is_int(ns_config_load(&c, NULL, err, sizeof err), NS_OK, "$NAPALMSKY_CONFIG used");
	tap_is_int(c.api_workers, 7, "value from $NAPALMSKY_CONFIG file");

	setenv("API_WORKERS", "9", 1);
	setenv("DATABASE_URL", "postgresql://u:envpw@db/x", 1);
	setenv("NODE_ENV", "development", 1);
	tap_is_int(ns_config_load(&c, NULL, err, sizeof err), NS_OK, "environment overrides load");
	tap_is_int(c.api_workers, 9, "environment wins over the file");
	tap_is_str(c.database_url, "postgresql://u:envpw@db/x", "DATABASE_URL from the environment");
	tap_is_str(c.environment, "development", "NODE_ENV sets environment");
	setenv("ENVIRONMENT", "test", 1);
	tap_is_int(ns_config_load(&c, NULL, err, sizeof err), NS_OK, "ENVIRONMENT and NODE_ENV both set");
	tap_is_str(c.environment, "test", "ENVIRONMENT wins over NODE_ENV");
	setenv("GATEWAY_PORT", "http", 1);
	tap_is_int(ns_config_load(&c, NULL, err, sizeof err), NS_E_CONFIG, "bad environment value");
	tap_ok(contains(err, "GATEWAY_PORT"), "variable named: %s", err);
	unsetenv("GATEWAY_PORT");
	unlink(path);
	unsetenv("NAPALMSKY_CONFIG");

	tap_is_int(ns_config_set(&c, "sockets_per_user", "100", err, sizeof err), NS_OK, "set in bounds");
	tap_is_int(ns_config_set(&c, "sockets_per_user", "101", err, sizeof err), NS_E_CONFIG, "set out of bounds");
	tap_is_int(c.sockets_per_user, 100, "failed set leaves the old value");
	tap_is_int(ns_config_set(&c, "SOCKETS_PER_USER", "1", err, sizeof err), NS_E_CONFIG,
	    "keys are lower case");

	ns_config_set(&c, "stripe_secret_key", "sk_live_TOPSECRET", err, sizeof err);
	ns_config_set(&c, "turn_secret", "", err, sizeof err);
	ns_config_set(&c, "redis_url", "redis://:redispw@h:6379/0", err, sizeof err);
	ns_config_set(&c, "database_read_url", "host=db password=kvpw user=x", err, sizeof err);
	mem = open_memstream(&printed, &plen);
	ns_config_print(&c, mem);
	fclose(mem);
	tap_ok(!contains(printed, "TOPSECRET"), "secret not printed");
	tap_ok(contains(printed, "stripe_secret_key = (set)"), "set secret shown as (set)");
	tap_ok(contains(printed, "turn_secret = \"\""), "empty secret shown empty");
	tap_ok(!contains(printed, "envpw") && contains(printed, "postgresql://u:***@db/x"),
	    "URL password masked");
	tap_ok(!contains(printed, "redispw") && contains(printed, "redis://:***@h:6379/0"),
	    "Redis URL password masked");
	tap_ok(!contains(printed, "kvpw") && contains(printed, "password=*** user=x"),
	    "conninfo password masked");
	ns_config_set(&c, "database_read_url", "host=db password='a \\' b' user=y", err, sizeof err);
	ns_config_set(&c, "frontend_url", "postgresql://u:pa/ss@db/x?password=q&sslmode=require",
	    err, sizeof err);
	free(printed);
	mem = open_memstream(&printed, &plen);
	ns_config_print(&c, mem);
	fclose(mem);
	tap_ok(contains(printed, "database_read_url = \"host=db password=*** user=y\""),
	    "quoted conninfo password masked whole");
	tap_ok(contains(printed, "frontend_url = \"postgresql://u:***@db/x?password=***&sslmode=require\""),
	    "a '/' in a URL password and a password parameter are masked");
	snprintf(expect, sizeof expect, "api_workers = %d\n", c.api_workers);
	tap_ok(contains(printed, expect), "ints printed plainly");
	tap_ok(contains(printed, "gateway_path = \"/socket.io/\"\n"), "strings printed quoted");
	free(printed);
	unsetenv("API_WORKERS");
	unsetenv("DATABASE_URL");
	unsetenv("NODE_ENV");
	unsetenv("ENVIRONMENT");
	return tap_done();
}
