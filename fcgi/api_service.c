/* api_service: GET / and GET /health (contract §2.1), both from live pings of PostgreSQL and
 * Redis, so they recover by themselves when a dependency comes back; GET /stats/live and
 * GET /metrics. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "app.h"
#include "nsconfig.h"
#include "clock.h"
#include "db.h"
#include "json.h"
#include "keys.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "respond.h"

#define API_NAME "Napalm Sky API"
#define API_VERSION "1.0.0"	/* the contract's API version, not the package's */
#define METRICS_CTYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_EXTRA_MAX 1024	/* the presence gauges appended to /metrics */
#define DEP_ERR_MAX 200		/* characters of a dependency error shown by /health */

struct dep {
	enum ns_err err;
	double latency_ms;
	const char *text;	/* last error of the client library */
};

static void
ping_deps(struct app *app, struct dep *pg, struct dep *redis)
{
	memset(pg, 0, sizeof(*pg));
	memset(redis, 0, sizeof(*redis));
	pg->err = ns_db_ping(app->db, &pg->latency_ms);
	if (pg->err != NS_OK)
		pg->text = ns_db_last_error(app->db);
	redis->err = ns_kv_ping(app->kv, &redis->latency_ms);
	if (redis->err != NS_OK)
		redis->text = ns_kv_last_error(app->kv);
}

static json_object *
dep_json(const struct dep *d)
{
	json_object *o = ns_json_obj();

	if (d->err == NS_OK) {
		char num[32];

		snprintf(num, sizeof(num), "%.2f", d->latency_ms);
		ns_json_set_str(o, "status", "up");
		ns_json_set(o, "latencyMs", json_object_new_double_s(d->latency_ms, num));
	} else {
		char why[DEP_ERR_MAX + 1];
		size_t i, n = 0;
		const char *t = d->text && *d->text ? d->text : ns_err_str(d->err);

		/* one line, bounded: libpq messages end in newlines and may span several */
		for (i = 0; t[i] && n < DEP_ERR_MAX; i++)
			why[n++] = (unsigned char)t[i] < 0x20 ? ' ' : t[i];
		while (n && why[n - 1] == ' ')
			n--;
		why[n] = '\0';
		ns_json_set_str(o, "status", "down");
		ns_json_set_str(o, "error", why);
	}
	return o;
}

enum ns_err
api_service_health(struct api_req *req)
{
	struct dep pg, redis;
	json_object *body;
	int ok;

	if (!req->app)
		return NS_E_INTERNAL;
	ping_deps(req->app, &pg, &redis);
	ok = pg.err == NS_OK && redis.err == NS_OK;
	if (!ok)
		ns_log_warn("health: postgresql %s, redis %s", ns_err_str(pg.err),
		    ns_err_str(redis.err));
	body = ns_json_obj();
	ns_json_set_str(body, "status", ok ? "ok" : "unavailable");
	ns_json_set_int(body, "timestamp", ns_clock_now_ms());
	ns_json_set(body, "postgresql", dep_json(&pg));
	ns_json_set(body, "redis", dep_json(&redis));
	req->no_store = 1;
	api_respond_json(req, ok ? 200 : 503, body);
	return NS_OK;
}

enum ns_err
api_service_root(struct api_req *req)
{
	struct dep pg, redis;
	json_object *body, *ep, *dbs;

	if (!req->app)
		return NS_E_INTERNAL;
	ping_deps(req->app, &pg, &redis);
	body = ns_json_obj();
	ns_json_set_str(body, "name", API_NAME);
	ns_json_set_str(body, "version", API_VERSION);
	ns_json_set_str(body, "status", "running");
	ns_json_set_int(body, "timestamp", ns_clock_now_ms());
	ns_json_set_str(body, "environment", req->cfg->environment);
	ep = ns_json_obj();
	ns_json_set_str(ep, "health", "/health");
	ns_json_set_str(ep, "auth", "/auth/*");
	ns_json_set_str(ep, "user", "/user/*");
	ns_json_set_str(ep, "matchmaking", "/room/queue");
	ns_json_set_str(ep, "payment", "/payment/*");
	ns_json_set_str(ep, "admin", "/admin/*");
	ns_json_set(body, "endpoints", ep);
	dbs = ns_json_obj();
	ns_json_set_str(dbs, "postgresql", pg.err == NS_OK ? "connected" : "unavailable");
	ns_json_set_str(dbs, "redis", redis.err == NS_OK ? "connected" : "unavailable");
	ns_json_set(body, "databases", dbs);
	ns_json_set_str(body, "message", "Napalm Sky Backend API - For frontend integration only");
	api_respond_json(req, 200, body);
	return NS_OK;
}

/* A Redis integer reply (SCARD, ZCARD) of key, or -1 with *e set. */
static long long
kv_count(struct app *app, const char *cmd, const char *key, enum ns_err *e)
{
	redisReply *r = ns_kv_cmd(app->kv, e, "%s %s", cmd, key);
	long long n = -1;

	if (!r)
		return -1;
	if (r->type == REDIS_REPLY_INTEGER)
		n = r->integer;
	else
		*e = NS_E_INTERNAL;
	freeReplyObject(r);
	return n;
}

enum ns_err
api_service_stats_live(struct api_req *req)
{
	json_object *body;
	enum ns_err e;
	long long online;

	if (!req->app)
		return NS_E_INTERNAL;
	if ((online = kv_count(req->app, "SCARD", NS_KEY_ONLINE, &e)) < 0)
		return e == NS_E_INTERNAL ? e : NS_E_REDIS;
	body = ns_json_obj();
	ns_json_set_int(body, "onlineUsers", online);
	ns_json_set_int(body, "timestamp", ns_clock_now_ms());
	api_respond_json(req, 200, body);
	return NS_OK;
}

/* Prometheus text: the workers' counters (metrics.c) plus presence gauges from Redis. Only
 * for addresses in metrics_allow; everyone else sees the same 404 as an unknown path. */
enum ns_err
api_service_metrics(struct api_req *req)
{
	char extra[METRICS_EXTRA_MAX];
	long long online, available;
	enum ns_err e;
	size_t len = 0;
	char *text;
	int n = 0;

	if (!api_metrics_allowed(req->cfg->metrics_allow, req->remote_addr))
		return NS_E_NOT_FOUND;
	extra[0] = '\0';
	if (req->app && (online = kv_count(req->app, "SCARD", NS_KEY_ONLINE, &e)) >= 0 &&
	    (available = kv_count(req->app, "ZCARD", NS_KEY_AVAILABLE, &e)) >= 0)
		n = snprintf(extra, sizeof(extra),
		    "# HELP napalmsky_online_users Users whose presence is online.\n"
		    "# TYPE napalmsky_online_users gauge\n"
		    "napalmsky_online_users %lld\n"
		    "# HELP napalmsky_available_users Users available for calls.\n"
		    "# TYPE napalmsky_available_users gauge\n"
		    "napalmsky_available_users %lld\n", online, available);
	if (n < 0 || (size_t)n >= sizeof(extra))
		extra[0] = '\0';
	if (!(text = api_metrics_render(extra, &len)))
		return NS_E_NOMEM;
	req->no_store = 1;
	api_respond_raw(req, 200, METRICS_CTYPE, text, len);
	free(text);
	return NS_OK;
}
