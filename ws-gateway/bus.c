/* bus: hiredis 0.14 async on the lws poll loop.
 *
 * hiredis has no lws adapter, so this is one: each connection's fd is dup()ed and adopted
 * by lws as a raw file (lws closes its copy, hiredis its own). lws reports readable and
 * writeable; hiredis asks for write interest through addWrite. hiredis 0.14 has no timers,
 * so one lws_sul tick does connect and command timeouts, reconnects and the heartbeat. */
#include "config.h"

#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <hiredis/async.h>

#include "nsconfig.h"
#include "clock.h"
#include "kv.h"
#include "log.h"
#include "bus.h"
#include "gw.h"
#include "metrics.h"

#define BUS_TICK_MS 100		/* timer resolution for timeouts, retries, heartbeat */
#define BUS_BACKOFF_MIN_MS 100
#define BUS_BACKOFF_MAX_MS 5000
#define BUS_KEY_MAX (sizeof(BUS_KEY_PREFIX) + GW_ID_MAX)
#define BUS_HEARTBEAT_MAX 128	/* ceiling for the heartbeat JSON */
#define BUS_CHANNELS 3		/* own, broadcast, control */

struct link {
	struct bus *bus;
	const char *name;		/* "cmd" or "sub", for logs */
	redisAsyncContext *ac;		/* NULL when down */
	struct lws *wsi;		/* the adopted dup of ac's fd */
	int64_t started_at;		/* monotonic ms of the connect */
	int64_t progress_at;		/* monotonic ms of the last reply or first pending command */
	int pending;			/* commands awaiting a reply (not SUBSCRIBE) */
	int subscribed;			/* subscribe confirmations received */
	int want_write;			/* hiredis has output waiting */
	int ready;			/* handshake done: usable */
	int broken;			/* failed: the next tick drops both links */
};

struct bus {
	struct gw *g;
	bus_message_fn on_message;
	struct ns_kv_addr addr;
	struct link cmd, sub;
	lws_sorted_usec_list_t tick;
	int64_t retry_at;		/* monotonic ms: next connect attempt */
	int64_t heartbeat_at;		/* monotonic ms: next heartbeat */
	int backoff_ms;
	int was_up;			/* for logging transitions */
	unsigned epoch;			/* bumped when Redis may have lost its script cache */
	int stopping;
	char key[BUS_KEY_MAX];		/* ns:gw:<id>: heartbeat key and private channel */
};

/* ---- hiredis event hooks ---- */

static void
ev_noop(void *arg)
{
	(void)arg;
}

static void
ev_add_write(void *arg)
{
	struct link *l = arg;

	l->want_write = 1;
	if (l->wsi)
		lws_callback_on_writable(l->wsi);
}

static void
ev_del_write(void *arg)
{
	((struct link *)arg)->want_write = 0;
}

/* hiredis is freeing the context: detach and kill the adopted wsi. */
static void
ev_cleanup(void *arg)
{
	struct link *l = arg;

	if (l->wsi) {
		lws_set_wsi_user(l->wsi, NULL);
		lws_set_timeout(l->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
		l->wsi = NULL;
	}
	l->ac = NULL;
	l->ready = l->subscribed = l->pending = l->want_write = 0;
}

/* ---- replies ---- */

static void
progress(struct link *l)
{
	if (l->pending > 0)
		l->pending--;
	l->progress_at = ns_clock_mono_ms();
}

/* Every reply we wait for on either link; privdata says whether it completes the handshake. */
static void
on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
	struct link *l = ac->ev.data;
	redisReply *reply = r;

	progress(l);
	if (!reply)
		return;	/* the context is being freed */
	if (reply->type == REDIS_REPLY_ERROR) {
		ns_log_err("gateway: redis %s: %s", l->name, reply->str);
		metrics_inc(METRICS_REDIS_ERRORS);
		l->broken = 1;
		return;
	}
	if (privdata && !l->ready) {
		l->ready = 1;
		if (l == &l->bus->cmd)
			l->bus->epoch++;	/* a new connection: perhaps a restarted server */
		ns_log_debug("gateway: redis %s link ready", l->name);
	}
}

static void
on_sub(redisAsyncContext *ac, void *r, void *privdata)
{
	struct link *l = ac->ev.data;
	struct bus *b = l->bus;
	redisReply *reply = r, **e;

	(void)privdata;
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 3)
		return;
	e = reply->element;
	if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_STRING)
		return;
	if (strcmp(e[0]->str, "subscribe") == 0) {
		if (++l->subscribed == BUS_CHANNELS) {
			l->ready = 1;
			ns_log_debug("gateway: redis sub link ready");
		}
	} else if (strcmp(e[0]->str, "message") == 0 && e[2]->type == REDIS_REPLY_STRING) {
		if (b->on_message)
			b->on_message(b->g, e[1]->str, e[2]->str, e[2]->len);
	}
}

static void
on_connect(const redisAsyncContext *ac, int status)
{
	struct link *l = ac->ev.data;

	if (status != REDIS_OK)
		ns_log_warn("gateway: redis %s connect failed: %s", l->name, ac->errstr);
}

static void
on_disconnect(const redisAsyncContext *ac, int status)
{
	struct link *l = ac->ev.data;

	if (status != REDIS_OK && !l->bus->stopping) {
		ns_log_warn("gateway: redis %s link lost: %s", l->name, ac->errstr);
		metrics_inc(METRICS_REDIS_ERRORS);
	}
}

/* Queue a command that counts towards the command timeout. */
static int
command(struct link *l, redisCallbackFn *fn, void *privdata, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = redisvAsyncCommand(l->ac, fn, privdata, fmt, ap);
	va_end(ap);
	if (rc != REDIS_OK)
		return -1;
	if (l->pending++ == 0)
		l->progress_at = ns_clock_mono_ms();
	return 0;
}

/* A bus_cmd reply: errors are logged, never taken as a broken link (a script bug must not
 * cut every socket off Redis). */
struct call {
	bus_reply_fn fn;
	void *arg;
	int64_t queued_us;	/* for the round-trip histogram */
};

static void
on_call(redisAsyncContext *ac, void *r, void *privdata)
{
	struct link *l = ac->ev.data;
	struct call *c = privdata;
	redisReply *reply = r;

	progress(l);
	if (reply && reply->type == REDIS_REPLY_ERROR) {
		if (strncmp(reply->str, "NOSCRIPT", 8) == 0)
			l->bus->epoch++;	/* SCRIPT FLUSH: gwlua loads its scripts again */
		ns_log_err("gateway: redis: %s", reply->str);
		metrics_inc(METRICS_REDIS_ERRORS);
		reply = NULL;
	}
	if (c) {
		if (reply)
			metrics_redis_latency(ns_clock_mono_us() - c->queued_us);
		c->fn(l->bus->g, reply, c->arg);
		free(c);
	}
}

/* Check the link and allocate the reply context (none when no reply is wanted). */
static int
call_prepare(struct bus *b, bus_reply_fn fn, void *arg, struct call **out)
{
	*out = NULL;
	if (!bus_is_up(b) || b->stopping)
		return -1;
	if (!fn)
		return 0;
	if (!(*out = malloc(sizeof(**out))))
		return -1;
	(*out)->fn = fn;
	(*out)->arg = arg;
	(*out)->queued_us = ns_clock_mono_us();
	return 0;
}

static int
call_queued(struct bus *b, struct call *c, int rc)
{
	if (rc != REDIS_OK) {
		free(c);
		return -1;
	}
	if (b->cmd.pending++ == 0)
		b->cmd.progress_at = ns_clock_mono_ms();
	return 0;
}

unsigned
bus_pending(const struct bus *b)
{
	return b->cmd.pending > 0 ? (unsigned)b->cmd.pending : 0;
}

int
bus_behind(const struct bus *b)
{
	return b->cmd.pending > b->g->cfg->gateway_redis_backlog_max;
}

unsigned
bus_epoch(const struct bus *b)
{
	return b->epoch;
}

int
bus_cmd(struct bus *b, bus_reply_fn fn, void *arg, const char *fmt, ...)
{
	struct call *c;
	va_list ap;
	int rc;

	if (call_prepare(b, fn, arg, &c) < 0)
		return -1;
	va_start(ap, fmt);
	rc = redisvAsyncCommand(b->cmd.ac, on_call, c, fmt, ap);
	va_end(ap);
	return call_queued(b, c, rc);
}

int
bus_cmd_argv(struct bus *b, bus_reply_fn fn, void *arg, int argc, const char **argv,
    const size_t *argvlen)
{
	struct call *c;

	if (call_prepare(b, fn, arg, &c) < 0)
		return -1;
	return call_queued(b, c, redisAsyncCommandArgv(b->cmd.ac, on_call, c, argc, argv,
	    argvlen));
}

/* ---- connection management ---- */

static int
link_connect(struct link *l)
{
	struct bus *b = l->bus;
	redisAsyncContext *ac;
	lws_sock_file_fd_type fd;

	ac = b->addr.path[0] ? redisAsyncConnectUnix(b->addr.path) :
	    redisAsyncConnect(b->addr.host, b->addr.port);
	if (!ac)
		return -1;
	if (ac->err) {
		ns_log_warn("gateway: redis %s: %s", l->name, ac->errstr);
		redisAsyncFree(ac);
		return -1;
	}
	if (!b->addr.path[0])
		redisEnableKeepAlive(&ac->c);
	fd.filefd = fcntl(ac->c.fd, F_DUPFD_CLOEXEC, 0);
	if (fd.filefd < 0) {
		redisAsyncFree(ac);
		return -1;
	}
	/* On failure lws closes the dup itself. */
	l->wsi = lws_adopt_descriptor_vhost(b->g->vh, LWS_ADOPT_RAW_FILE_DESC, fd,
	    BUS_PROTOCOL_NAME, NULL);
	if (!l->wsi) {
		redisAsyncFree(ac);
		return -1;
	}
	lws_set_wsi_user(l->wsi, l);
	l->ac = ac;
	l->started_at = l->progress_at = ns_clock_mono_ms();
	l->broken = l->ready = l->subscribed = l->pending = 0;
	ac->ev.data = l;
	ac->ev.addRead = ev_noop;	/* a raw-file wsi always polls for input */
	ac->ev.delRead = ev_noop;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	redisAsyncSetConnectCallback(ac, on_connect);	/* asks for write: connect completion */
	redisAsyncSetDisconnectCallback(ac, on_disconnect);

	if (b->addr.password[0] &&
	    command(l, on_reply, NULL, "AUTH %s", b->addr.password) < 0)
		return -1;
	if (l == &b->cmd) {
		if (b->addr.db && command(l, on_reply, NULL, "SELECT %d", b->addr.db) < 0)
			return -1;
		return command(l, on_reply, l, "PING");
	}
	return redisAsyncCommand(ac, on_sub, NULL, "SUBSCRIBE %s %s %s", b->key,
	    BUS_CHANNEL_BCAST, BUS_CHANNEL_CTL) == REDIS_OK ? 0 : -1;
}

static void
links_drop(struct bus *b)
{
	if (b->cmd.ac)
		redisAsyncFree(b->cmd.ac);
	if (b->sub.ac)
		redisAsyncFree(b->sub.ac);
	b->cmd.broken = b->sub.broken = 0;
}

static void
heartbeat(struct bus *b)
{
	char json[BUS_HEARTBEAT_MAX];
	int n;

	n = snprintf(json, sizeof(json), "{\"startedAt\":%lld,\"connections\":%u}",
	    (long long)b->g->started_at, (unsigned)b->g->conns.count);
	if (n < 0 || (size_t)n >= sizeof(json))
		return;
	/* SET first: a listed gateway without a heartbeat is taken for dead (sched.c). */
	if (command(&b->cmd, on_reply, NULL, "SET %s %s PX %d", b->key, json,
	    b->g->cfg->gateway_heartbeat_ttl_ms) < 0 ||
	    command(&b->cmd, on_reply, NULL, "SADD %s %s", NS_KEY_GATEWAYS, b->g->id) < 0)
		b->cmd.broken = 1;
}

static int
link_stalled(const struct link *l, int64_t now, int timeout_ms)
{
	if (!l->ac)
		return 0;
	if (l->broken)
		return 1;
	if (!l->ready && now - l->started_at > timeout_ms)
		return 1;
	return l->pending > 0 && now - l->progress_at > timeout_ms;
}

static void
bus_tick(lws_sorted_usec_list_t *sul)
{
	struct bus *b = lws_container_of(sul, struct bus, tick);
	int64_t now = ns_clock_mono_ms();
	int timeout = b->g->cfg->redis_timeout_ms, up;

	if (b->stopping)
		return;
	/* Draining: a slow Redis is waited for (the drain's deadline bounds it), since starting
	 * over would lose the unregistrations in flight. */
	if (b->g->draining)
		timeout = INT_MAX / 2;
	/* One link down, stalled or failed: start over with both. */
	if (link_stalled(&b->cmd, now, timeout) || link_stalled(&b->sub, now, timeout) ||
	    !b->cmd.ac != !b->sub.ac)
		links_drop(b);
	if (!b->cmd.ac && !b->sub.ac && now >= b->retry_at) {
		b->retry_at = now + b->backoff_ms;
		b->backoff_ms = b->backoff_ms * 2 > BUS_BACKOFF_MAX_MS ? BUS_BACKOFF_MAX_MS :
		    b->backoff_ms * 2;
		if (link_connect(&b->cmd) < 0 || link_connect(&b->sub) < 0)
			b->cmd.broken = 1;	/* dropped on the next tick */
	}
	up = bus_is_up(b);
	if (up && !b->was_up) {
		ns_log_info("gateway: redis up");
		b->backoff_ms = BUS_BACKOFF_MIN_MS;
		b->heartbeat_at = now;
	} else if (!up && b->was_up)
		ns_log_warn("gateway: redis down");
	b->was_up = up;
	if (up && now >= b->heartbeat_at) {
		heartbeat(b);
		b->heartbeat_at = now + b->g->cfg->gateway_heartbeat_ttl_ms / BUS_HEARTBEATS_PER_TTL;
	}
	lws_sul_schedule(b->g->ctx, 0, &b->tick, bus_tick, BUS_TICK_MS * LWS_US_PER_MS);
}

struct bus *
bus_new(struct gw *g, bus_message_fn on_message)
{
	struct bus *b = calloc(1, sizeof(*b));
	int n;

	if (!b)
		return NULL;
	if (ns_kv_parse_url(g->cfg->redis_url, &b->addr) != NS_OK) {
		ns_log_err("gateway: invalid redis_url");
		free(b);
		return NULL;
	}
	n = snprintf(b->key, sizeof(b->key), "%s%s", BUS_KEY_PREFIX, g->id);
	if (n < 0 || (size_t)n >= sizeof(b->key)) {
		free(b);
		return NULL;
	}
	b->g = g;
	b->on_message = on_message;
	b->cmd.bus = b->sub.bus = b;
	b->cmd.name = "cmd";
	b->sub.name = "sub";
	b->backoff_ms = BUS_BACKOFF_MIN_MS;
	lws_sul_schedule(g->ctx, 0, &b->tick, bus_tick, 1);
	return b;
}

int
bus_is_up(const struct bus *b)
{
	return b->cmd.ac && b->cmd.ready && !b->cmd.broken && b->sub.ac && b->sub.ready &&
	    !b->sub.broken;
}

void
bus_stop(struct bus *b)
{
	if (b->stopping)
		return;
	b->stopping = 1;
	lws_sul_cancel(&b->tick);
	if (b->sub.ac)
		redisAsyncFree(b->sub.ac);
	if (!b->cmd.ac)
		return;
	/* Remove our heartbeat so no one routes to us; the link closes after the reply. */
	if (b->cmd.ready)
		command(&b->cmd, on_reply, NULL, "DEL %s", b->key);
	redisAsyncDisconnect(b->cmd.ac);
}

int
bus_is_stopped(const struct bus *b)
{
	return !b->cmd.ac && !b->sub.ac;
}

void
bus_free(struct bus *b)
{
	if (!b)
		return;
	lws_sul_cancel(&b->tick);
	b->stopping = 1;
	links_drop(b);
	free(b);
}

int
bus_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
    size_t len)
{
	struct link *l = lws_wsi_user(wsi);

	(void)user;
	(void)in;
	(void)len;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (l && l->ac)
			redisAsyncHandleRead(l->ac);
		break;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (l && l->ac) {
			redisAsyncHandleWrite(l->ac);
			/* lws write interest is one-shot; hiredis expects it to persist. */
			if (l->ac && l->want_write && l->wsi)
				lws_callback_on_writable(l->wsi);
		}
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		/* lws closed it under hiredis (hangup, context teardown): hiredis must follow. */
		if (l && l->wsi == wsi) {
			l->wsi = NULL;
			l->broken = 1;
		}
		break;
	default:
		break;
	}
	return 0;
}
