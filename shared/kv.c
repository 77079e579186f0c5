/* kv: blocking Redis for the workers. A context that failed is freed and re-created on a
 * later command; failed connects are spaced NS_KV_RETRY_MS apart so a dead Redis costs a
 * worker at most one connect timeout per interval.
 *
 * A Redis restart must cost no failed command, without a liveness syscall per command on the
 * hot path: a connection idle for KV_IDLE_CHECK_MS or more is polled before use (it is then
 * cheap, and it keeps a program that does not ignore SIGPIPE from writing into a dead unix
 * socket), and a busy connection found dead by the command itself is reconnected and the
 * command sent once more (see dead_before_reply). */
#include <config.h>
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include "clock.h"
#include "kv.h"
#include "log.h"

#define KV_DEFAULT_PORT 6379
#define KV_DB_MAX 65535		/* far above Redis' default of 16 databases */
#define KV_ERR_MAX 256
#define KV_QUERY_MAX 512	/* ?db=N&password=... of a TCP URL */
#define KV_NUM_MAX 16		/* a db number as text */
#define KV_IDLE_CHECK_MS 50	/* idle this long: poll the connection before using it */

struct ns_kv {
	struct ns_kv_addr addr;
	int addr_ok;			/* 0: the URL did not parse; every command fails */
	int timeout_ms;
	redisContext *c;
	int64_t last_fail_ms;		/* monotonic time of the last failed connect, 0 if none */
	int64_t last_used_ms;		/* monotonic time of the last command sent */
	int fresh;			/* connected by this command's ensure() */
	int down;			/* logged as unreachable; log again only after recovery */
	char err[KV_ERR_MAX];
};

/* ---- URL parsing ---- */

static int
hexdigit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Copy [s, s+n) to dst (size dstlen), decoding %XX; 0 on overflow or bad escape or NUL. */
static int
copy_decoded(char *dst, size_t dstlen, const char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n)
				return 0;
			hi = hexdigit((unsigned char)s[i + 1]);
			lo = hexdigit((unsigned char)s[i + 2]);
			if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
				return 0;
			c = hi << 4 | lo;
			i += 2;
		}
		if (o + 1 >= dstlen)
			return 0;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 1;
}

/* Digits only, within [min, max]. */
static int
parse_num(const char *s, size_t n, long min, long max, int *out)
{
	long v = 0;
	size_t i;

	if (n == 0 || n > 10)
		return 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return 0;
	*out = (int)v;
	return 1;
}

/* "?db=N" and "password=X" parameters of a unix-socket URL. */
static int
parse_query(const char *q, struct ns_kv_addr *out)
{
	while (*q != '\0') {
		size_t n = strcspn(q, "&");

		if (n > 3 && strncmp(q, "db=", 3) == 0) {
			if (!parse_num(q + 3, n - 3, 0, KV_DB_MAX, &out->db))
				return 0;
		} else if (n > 9 && strncmp(q, "password=", 9) == 0) {
			if (!copy_decoded(out->password, sizeof out->password, q + 9, n - 9))
				return 0;
		} else {
			return 0;
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return 1;
}

static enum ns_err
parse_unix(const char *p, struct ns_kv_addr *out)
{
	size_t n = strcspn(p, "?");

	if (p[0] != '/' || n >= sizeof out->path)
		return NS_E_CONFIG;
	memcpy(out->path, p, n);
	out->path[n] = '\0';
	if (p[n] == '?' && !parse_query(p + n + 1, out))
		return NS_E_CONFIG;
	return NS_OK;
}

static int
host_char(int c)
{
	return isalnum(c) || c == '.' || c == '-' || c == '_';
}

static enum ns_err
parse_tcp(const char *p, struct ns_kv_addr *out)
{
	size_t alen = strcspn(p, "/?#");
	const char *auth = p, *at = NULL, *h, *hend, *q;

	for (q = auth; q < auth + alen; q++)
		if (*q == '@')
			at = q;
	if (at != NULL) {
		/* [user]:password@ — the user part is ignored (hiredis 0.14 sends one-word AUTH). */
		const char *colon = memchr(auth, ':', (size_t)(at - auth));

		if (colon == NULL ||
		    !copy_decoded(out->password, sizeof out->password, colon + 1,
		    (size_t)(at - colon - 1)))
			return NS_E_CONFIG;
		h = at + 1;
	} else {
		h = auth;
	}
	if (*h == '[') {	/* [IPv6]:port */
		const char *close = memchr(h, ']', (size_t)(auth + alen - h));

		if (close == NULL || close - h - 1 <= 0 ||
		    (size_t)(close - h - 1) >= sizeof out->host)
			return NS_E_CONFIG;
		for (q = h + 1; q < close; q++)
			if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
				return NS_E_CONFIG;
		memcpy(out->host, h + 1, (size_t)(close - h - 1));
		out->host[close - h - 1] = '\0';
		hend = close + 1;
	} else {
		for (hend = h; hend < auth + alen && *hend != ':'; hend++)
			if (!host_char((unsigned char)*hend))
				return NS_E_CONFIG;
		if (hend == h || (size_t)(hend - h) >= sizeof out->host)
			return NS_E_CONFIG;
		memcpy(out->host, h, (size_t)(hend - h));
		out->host[hend - h] = '\0';
	}
	if (hend < auth + alen) {
		if (*hend != ':' ||
		    !parse_num(hend + 1, (size_t)(auth + alen - hend - 1), 1, 65535, &out->port))
			return NS_E_CONFIG;
	}
	p = auth + alen;
	if (*p == '/') {
		size_t n = strcspn(p + 1, "?#");

		if (n > 0 && !parse_num(p + 1, n, 0, KV_DB_MAX, &out->db))
			return NS_E_CONFIG;
		p += 1 + n;
	}
	if (*p == '?') {
		size_t n = strcspn(p + 1, "#");
		char query[KV_QUERY_MAX];

		if (n >= sizeof query)
			return NS_E_CONFIG;
		memcpy(query, p + 1, n);
		query[n] = '\0';
		if (!parse_query(query, out))
			return NS_E_CONFIG;
		p += 1 + n;
	}
	return *p == '\0' ? NS_OK : NS_E_CONFIG;
}

enum ns_err
ns_kv_parse_url(const char *url, struct ns_kv_addr *out)
{
	enum ns_err rc;

	memset(out, 0, sizeof *out);
	out->port = KV_DEFAULT_PORT;
	if (url == NULL)
		return NS_E_CONFIG;
	if (strncmp(url, "redis://", 8) == 0)
		rc = parse_tcp(url + 8, out);
	else if (strncmp(url, "redis+unix://", 13) == 0)
		rc = parse_unix(url + 13, out);
	else if (strncmp(url, "unix://", 7) == 0)
		rc = parse_unix(url + 7, out);
	else if (strncmp(url, "unix:", 5) == 0)
		rc = parse_unix(url + 5, out);
	else
		rc = NS_E_CONFIG;
	if (rc != NS_OK) {
		memset(out, 0, sizeof *out);
		out->port = KV_DEFAULT_PORT;
		return rc;
	}
	if (out->path[0] != '\0')
		out->port = 0;
	return NS_OK;
}

/* ---- client ---- */

/* hiredis writes with write(2): into a socket whose server has gone that raises SIGPIPE, which
 * by default kills the process before the retry can run. A program that left SIGPIPE at its
 * default gets it ignored here (the workers and gateway already ignore it). */
static void
ignore_sigpipe(void)
{
	struct sigaction old;

	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
	    !(old.sa_flags & SA_SIGINFO))
		signal(SIGPIPE, SIG_IGN);
}

struct ns_kv *
ns_kv_new(const char *url, int timeout_ms)
{
	struct ns_kv *kv = calloc(1, sizeof *kv);

	if (kv == NULL)
		return NULL;
	ignore_sigpipe();
	kv->timeout_ms = timeout_ms > 0 ? timeout_ms : 500;
	kv->addr_ok = ns_kv_parse_url(url, &kv->addr) == NS_OK;
	snprintf(kv->err, sizeof kv->err, "%s", kv->addr_ok ? "not connected" : "invalid Redis URL");
	return kv;
}

static void
drop(struct ns_kv *kv)
{
	if (kv->c != NULL) {
		redisFree(kv->c);
		kv->c = NULL;
	}
}

void
ns_kv_free(struct ns_kv *kv)
{
	if (kv == NULL)
		return;
	drop(kv);
	explicit_bzero(kv->addr.password, sizeof kv->addr.password);
	free(kv);
}

static void
fail(struct ns_kv *kv, const char *what, const char *detail)
{
	snprintf(kv->err, sizeof kv->err, "%s: %s", what, detail);
	if (!kv->down)
		ns_log_warn("redis %s", kv->err);
	kv->down = 1;
	drop(kv);
}

/* Run a setup command (AUTH, SELECT) that must answer +OK. */
static int
setup_cmd(struct ns_kv *kv, const char *what, int argc, const char **argv)
{
	redisReply *r = redisCommandArgv(kv->c, argc, argv, NULL);
	int ok = r != NULL && r->type == REDIS_REPLY_STATUS;

	if (!ok)
		fail(kv, what, r == NULL ? kv->c->errstr :
		    r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	if (r != NULL)
		freeReplyObject(r);
	return ok;
}

/* A server that went away leaves the idle socket readable (EOF). */
static int
idle_conn_alive(redisContext *c)
{
	struct pollfd pfd = { .fd = c->fd, .events = POLLIN };

	return poll(&pfd, 1, 0) == 0;
}

static int
ensure(struct ns_kv *kv)
{
	struct timeval tv = { kv->timeout_ms / 1000, (kv->timeout_ms % 1000) * 1000 };
	int64_t now = ns_clock_mono_ms();

	kv->fresh = 0;
	if (kv->c != NULL) {
		int64_t idle = now - kv->last_used_ms;

		kv->last_used_ms = now;
		if (idle < KV_IDLE_CHECK_MS || idle_conn_alive(kv->c))
			return 1;
		drop(kv);
	}
	if (!kv->addr_ok)
		return 0;
	if (kv->last_fail_ms != 0 && now - kv->last_fail_ms < NS_KV_RETRY_MS)
		return 0;	/* kv->err still holds the reason of the last failure */
	if (kv->addr.path[0] != '\0')
		kv->c = redisConnectUnixWithTimeout(kv->addr.path, tv);
	else
		kv->c = redisConnectWithTimeout(kv->addr.host, kv->addr.port, tv);
	if (kv->c == NULL) {
		fail(kv, "connect", "out of memory");
	} else if (kv->c->err) {
		fail(kv, "connect", kv->c->errstr);
	} else if (redisSetTimeout(kv->c, tv) != REDIS_OK) {
		fail(kv, "connect", "cannot set timeout");
	} else {
		char db[KV_NUM_MAX];
		const char *auth[] = { "AUTH", kv->addr.password };
		const char *sel[] = { "SELECT", db };

		snprintf(db, sizeof db, "%d", kv->addr.db);
		if ((kv->addr.password[0] == '\0' || setup_cmd(kv, "AUTH", 2, auth)) &&
		    (kv->addr.db == 0 || setup_cmd(kv, "SELECT", 2, sel))) {
			if (kv->down)
				ns_log_info("redis: connected again");
			kv->down = 0;
			kv->last_fail_ms = 0;
			kv->last_used_ms = now;
			kv->fresh = 1;
			return 1;
		}
	}
	kv->last_fail_ms = now;
	return 0;
}

/* Errors a healthy Redis would not give: the server is starting, read-only or busy. */
static int
transient_error(const char *s)
{
	static const char *const prefixes[] = { "LOADING", "BUSY", "MASTERDOWN", "READONLY",
	    "TRYAGAIN", "CLUSTERDOWN" };
	size_t i;

	for (i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t n = strlen(prefixes[i]);

		/* The whole first word: BUSYGROUP, for one, is an ordinary error. */
		if (strncmp(s, prefixes[i], n) == 0 && (s[n] == ' ' || s[n] == '\0'))
			return 1;
	}
	return 0;
}

/* The command failed on a connection that was already open, because the server had closed it
 * (EOF, or a reset or broken pipe) before sending a byte of the reply. Redis answers every
 * command it runs before it closes a client, so the command did not run and may be sent again
 * on a new connection. (A server killed between running a command and writing its reply is the
 * one exception; repeating then costs one extra limiter hit or a second control message, both
 * harmless here.) A timeout is never retried: the server may still be running the command. */
static int
dead_before_reply(const struct ns_kv *kv, int saved_errno)
{
	const redisContext *c = kv->c;

	if (kv->fresh || c->reader->len > c->reader->pos)
		return 0;
	return c->err == REDIS_ERR_EOF || (c->err == REDIS_ERR_IO &&
	    (saved_errno == EPIPE || saved_errno == ECONNRESET));
}

static redisReply *
finish(struct ns_kv *kv, redisReply *r, enum ns_err *err)
{
	if (r == NULL) {
		fail(kv, "command", kv->c->errstr);
		*err = NS_E_REDIS;
		return NULL;
	}
	if (r->type == REDIS_REPLY_ERROR) {
		int transient = transient_error(r->str);

		snprintf(kv->err, sizeof kv->err, "error reply: %s", r->str);
		ns_log_warn("redis %s", kv->err);
		freeReplyObject(r);
		*err = transient ? NS_E_REDIS : NS_E_INTERNAL;
		return NULL;
	}
	*err = NS_OK;
	return r;
}

/* Send len bytes holding nreply commands (all once more on a new connection if the old one
 * was found dead) and read every reply, so the connection stays in step. Each reply but the
 * last must be a status (a transaction's +OK and +QUEUED): the first that is not is
 * returned, else the last. */
static redisReply *
run(struct ns_kv *kv, enum ns_err *err, const char *cmd, size_t len, int nreply)
{
	redisReply *r = NULL;
	int attempt;

	for (attempt = 0; attempt < 2; attempt++) {
		int saved_errno, k = 0;

		if (!ensure(kv)) {
			*err = NS_E_REDIS;
			return NULL;
		}
		errno = 0;
		if (redisAppendFormattedCommand(kv->c, cmd, len) == REDIS_OK) {
			for (k = 0; k < nreply; k++) {
				void *reply = NULL;

				if (redisGetReply(kv->c, &reply) != REDIS_OK)
					break;
				if (k < nreply - 1 &&
				    ((redisReply *)reply)->type == REDIS_REPLY_STATUS)
					freeReplyObject(reply);
				else if (r == NULL)
					r = reply;
				else
					freeReplyObject(reply);
			}
			if (k == nreply)
				break;
		}
		saved_errno = errno;
		if (r != NULL) {	/* the connection broke after a reply: no retry */
			freeReplyObject(r);
			r = NULL;
			break;
		}
		if (attempt > 0 || !dead_before_reply(kv, saved_errno))
			break;
		drop(kv);	/* quietly: the server restarted, it is not down */
	}
	return finish(kv, r, err);
}

redisReply *
ns_kv_cmd(struct ns_kv *kv, enum ns_err *err, const char *fmt, ...)
{
	va_list ap;
	redisReply *r;
	char *cmd;
	int len;

	va_start(ap, fmt);
	len = redisvFormatCommand(&cmd, fmt, ap);
	va_end(ap);
	if (len < 0) {
		snprintf(kv->err, sizeof kv->err, "%s", "cannot format command");
		*err = NS_E_INTERNAL;
		return NULL;
	}
	r = run(kv, err, cmd, (size_t)len, 1);
	redisFreeCommand(cmd);
	return r;
}

redisReply *
ns_kv_argv(struct ns_kv *kv, enum ns_err *err, int argc, const char **argv,
    const size_t *argvlen)
{
	redisReply *r;
	char *cmd;
	int len = redisFormatCommandArgv(&cmd, argc, argv, argvlen);

	if (len < 0) {
		snprintf(kv->err, sizeof kv->err, "%s", "cannot format command");
		*err = NS_E_INTERNAL;
		return NULL;
	}
	r = run(kv, err, cmd, (size_t)len, 1);
	redisFreeCommand(cmd);
	return r;
}

redisReply *
ns_kv_exec(struct ns_kv *kv, enum ns_err *err, size_t n, const struct ns_kv_command *cmds)
{
	static const char multi[] = "*1\r\n$5\r\nMULTI\r\n", exec[] = "*1\r\n$4\r\nEXEC\r\n";
	char *buf, *one, *more;
	size_t len = sizeof(multi) - 1, i;
	redisReply *r;
	int k;

	*err = NS_E_INTERNAL;
	if (n == 0 || n > NS_KV_EXEC_MAX)
		goto fail;
	*err = NS_E_NOMEM;	/* what else fails below before run() */
	if (!(buf = malloc(len)))
		goto fail;
	memcpy(buf, multi, len);
	for (i = 0; i < n; i++) {
		if ((k = redisFormatCommandArgv(&one, cmds[i].argc, cmds[i].argv,
		    cmds[i].argvlen)) < 0)
			goto fail_buf;
		more = realloc(buf, len + (size_t)k + sizeof(exec) - 1);
		if (more)
			memcpy(more + len, one, (size_t)k);
		redisFreeCommand(one);
		if (!more)
			goto fail_buf;
		buf = more;
		len += (size_t)k;
	}
	memcpy(buf + len, exec, sizeof(exec) - 1);	/* room made by the last realloc */
	len += sizeof(exec) - 1;
	r = run(kv, err, buf, len, (int)n + 2);
	free(buf);
	if (r && (r->type != REDIS_REPLY_ARRAY || r->elements != n)) {
		snprintf(kv->err, sizeof kv->err, "%s", "unexpected EXEC reply");
		freeReplyObject(r);
		r = NULL;
		*err = NS_E_INTERNAL;
	}
	return r;
fail_buf:
	free(buf);
fail:
	snprintf(kv->err, sizeof kv->err, "%s", "cannot format transaction");
	return NULL;
}

enum ns_err
ns_kv_ping(struct ns_kv *kv, double *latency_ms)
{
	int64_t t0 = ns_clock_mono_us();
	enum ns_err err;
	redisReply *r = ns_kv_cmd(kv, &err, "PING");

	if (r == NULL)
		return err;
	if (r->type != REDIS_REPLY_STATUS || strcmp(r->str, "PONG") != 0)
		err = NS_E_INTERNAL;
	freeReplyObject(r);
	if (latency_ms != NULL)
		*latency_ms = (double)(ns_clock_mono_us() - t0) / 1000.0;
	return err;
}

const char *
ns_kv_last_error(const struct ns_kv *kv)
{
	return kv != NULL ? kv->err : "no Redis client";
}
