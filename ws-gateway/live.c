/* live: socket registry, presence and grace in Redis, as server-side scripts (gwlua.h).
 *
 * Key names come from keys.h (passed as KEYS, or as prefixes in ARGV for keys a script
 * derives), field names from keys.h too, so the workers' shared/presence.c and this file
 * write one shape. Broadcasts are `{"event":…,"data":…}` on ns:bcast; every gateway
 * delivers them through its queue feed (qfeed.h), which also keeps the local index of
 * bound sockets by user (hooked in live_register/live_unregister). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsconfig.h"
#include "clock.h"
#include "keys.h"
#include "log.h"
#include "bus.h"
#include "callend.h"
#include "conn.h"
#include "gw.h"
#include "gwlua.h"
#include "live.h"
#include "qfeed.h"

#define LIVE_NUM_MAX 24		/* an int64 in decimal */

/* KEYS: sock, usocks, ssocks (new), ssocks (old), presence, online.
 * ARGV: gatewayId, socketId, userId, token, now, cap, sock prefix, gateway prefix.
 * A member who had joined an active room gets the new socket joined too (§3.7). */
static const char register_lua[] =
	GWLUA_PRELUDE
	"local sid, uid, now = ARGV[2], ARGV[3], ARGV[5]\n"
	"redis.call('HSET', KEYS[1], '" NS_SOCK_GATEWAY "', ARGV[1], '" NS_SOCK_ID "', sid,"
	" '" NS_SOCK_USER "', uid, '" NS_SOCK_SESSION "', ARGV[4], '" NS_SOCK_AUTH_AT "', now)\n"
	"redis.call('ZADD', KEYS[2], now, sid)\n"
	"redis.call('SREM', KEYS[4], sid)\n"
	"redis.call('SADD', KEYS[3], sid)\n"
	"redis.call('SADD', P_GWSOCKS .. ARGV[1], sid)\n"
	"redis.call('HSET', KEYS[5], '" NS_PRES_ONLINE "', '1', '" NS_PRES_LAST_ACTIVE "', now)\n"
	"redis.call('HSETNX', KEYS[5], '" NS_PRES_AVAILABLE "', '0')\n"
	"redis.call('SADD', KEYS[6], uid)\n"
	"local rid = redis.call('GET', P_UROOM .. uid)\n"
	"if rid then\n"
	"  local r = redis.call('HMGET', P_ROOM .. rid, 'user1', 'joined1', 'joined2')\n"
	"  if (r[1] == uid and r[2] == '1') or (r[1] and r[1] ~= uid and r[3] == '1') then\n"
	"    redis.call('SADD', P_ROOM .. rid .. ':socks', sid)\n"
	"  end\n"
	"end\n"
	"local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[6])\n"
	"if over > 0 then\n"
	"  for _, old in ipairs(redis.call('ZRANGE', KEYS[2], 0, over - 1)) do\n"
	"    local gw = redis.call('HGET', ARGV[7] .. old, '" NS_SOCK_GATEWAY "')\n"
	"    if gw then\n"
	"      redis.call('PUBLISH', ARGV[8] .. gw,"
	" cjson.encode({type = 'socket:disconnect', socketId = old}))\n"
	"    else\n"
	"      redis.call('ZREM', KEYS[2], old)\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return over\n";

/* KEYS: sock, usocks, ssocks. ARGV: socketId, userId, explicit (1/0), now, grace due, gatewayId.
 * The last socket gone: an explicit disconnect cleans up at once (effects, gwlua.h), a
 * transport loss makes the user unavailable and schedules the grace check (sched.c). */
static const char unregister_lua[] =
	GWLUA_PRELUDE
	"local sid, uid = ARGV[1], ARGV[2]\n"
	"local out = {0, {}}\n"
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('ZREM', KEYS[2], sid)\n"
	"redis.call('SREM', KEYS[3], sid)\n"
	"redis.call('SREM', P_GWSOCKS .. ARGV[6], sid)\n"
	"local rid = redis.call('GET', P_UROOM .. uid)\n"
	"if rid then redis.call('SREM', P_ROOM .. rid .. ':socks', sid) end\n"
	"if redis.call('ZCARD', KEYS[2]) > 0 then return out end\n"
	"if ARGV[3] == '1' then\n"
	"  full_cleanup(uid, ARGV[4], out)\n"
	"  out[1] = 1\n"
	"  return out\n"
	"end\n"
	"unavailable(uid, false)\n"
	"redis.call('ZADD', S_GRACE, ARGV[5], uid)\n"
	"out[1] = 2\n"
	"return out\n";

/* KEYS: presence, online, available, debounce. ARGV: userId, now, channel, debounce ms. */
static const char presence_join_lua[] =
	"redis.call('HSET', KEYS[1], '" NS_PRES_ONLINE "', '1', '" NS_PRES_AVAILABLE "', '0',"
	" '" NS_PRES_LAST_ACTIVE "', ARGV[2])\n"
	"redis.call('HDEL', KEYS[1], '" NS_PRES_AVAILABLE_SINCE "')\n"
	"redis.call('SADD', KEYS[2], ARGV[1])\n"
	"redis.call('ZREM', KEYS[3], ARGV[1])\n"
	"if redis.call('SET', KEYS[4], '1', 'NX', 'PX', ARGV[4]) then\n"
	"  redis.call('PUBLISH', ARGV[3], cjson.encode({event = 'presence:update',"
	" data = {userId = ARGV[1], online = true, available = false}}))\n"
	"  return 1\n"
	"end\n"
	"return 0\n";

/* KEYS: presence, online, available. ARGV: userId, now, channel. */
static const char presence_leave_lua[] =
	"redis.call('HSET', KEYS[1], '" NS_PRES_ONLINE "', '0', '" NS_PRES_AVAILABLE "', '0',"
	" '" NS_PRES_LAST_ACTIVE "', ARGV[2])\n"
	"redis.call('HDEL', KEYS[1], '" NS_PRES_AVAILABLE_SINCE "')\n"
	"redis.call('SREM', KEYS[2], ARGV[1])\n"
	"redis.call('ZREM', KEYS[3], ARGV[1])\n"
	"redis.call('PUBLISH', ARGV[3], cjson.encode({event = 'presence:update',"
	" data = {userId = ARGV[1], online = false, available = false}}))\n"
	"return 1\n";

/* KEYS: presence, online, available. ARGV: userId, now, channel.
 * A user already available keeps their place (availableSince); a member of an active room
 * is not made available (§3.3). */
static const char queue_join_lua[] =
	"if redis.call('EXISTS', '" NS_KEYP_USER_ROOM "' .. ARGV[1]) == 1 then return 0 end\n"
	"local since = ARGV[2]\n"
	"if redis.call('HGET', KEYS[1], '" NS_PRES_AVAILABLE "') == '1' then\n"
	"  since = redis.call('HGET', KEYS[1], '" NS_PRES_AVAILABLE_SINCE "') or since\n"
	"end\n"
	"redis.call('HSET', KEYS[1], '" NS_PRES_ONLINE "', '1', '" NS_PRES_AVAILABLE "', '1',"
	" '" NS_PRES_LAST_ACTIVE "', ARGV[2], '" NS_PRES_AVAILABLE_SINCE "', since)\n"
	"redis.call('SADD', KEYS[2], ARGV[1])\n"
	"redis.call('ZADD', KEYS[3], since, ARGV[1])\n"
	"redis.call('PUBLISH', ARGV[3], cjson.encode({event = 'queue:update',"
	" data = {userId = ARGV[1], available = true}}))\n"
	"return 1\n";

/* KEYS: presence, online, available. ARGV: userId, now, channel. */
static const char queue_leave_lua[] =
	"redis.call('HSET', KEYS[1], '" NS_PRES_AVAILABLE "', '0', '" NS_PRES_LAST_ACTIVE "', ARGV[2])\n"
	"redis.call('HDEL', KEYS[1], '" NS_PRES_AVAILABLE_SINCE "')\n"
	"redis.call('ZREM', KEYS[3], ARGV[1])\n"
	"redis.call('PUBLISH', ARGV[3], cjson.encode({event = 'queue:update',"
	" data = {userId = ARGV[1], available = false}}))\n"
	"return 1\n";

/* Fire and forget (errors are logged). */
static void
run(struct gw *g, const char *what, const char *src, int nkeys, int nargs, const char **args)
{
	gwlua_eval(g, what, src, nkeys, nargs, args, NULL, NULL);
}

static const char *
num(char buf[LIVE_NUM_MAX], int64_t v)
{
	snprintf(buf, LIVE_NUM_MAX, "%" PRId64, v);
	return buf;
}

/* Sockets whose registration is to be sent again, by Socket.IO id, oldest first. They go
 * out a batch per loop turn, and only while Redis is not behind (bus_behind): sending all
 * of them in one turn (17,000 scripts) held the loop for 1-2 s, past redis_timeout_ms, so
 * the link was dropped again with the scripts in flight, and the next sweep found them
 * missing again (docs/BENCHMARKS.md, the many phase's cascade). */
#define LIVE_REREG_BATCH 256		/* registrations sent per loop turn */
#define LIVE_REREG_QUEUE_MAX 65536	/* past it, every socket is queued instead */

struct live_rereg {
	char (*sid)[CONN_SID_LEN + 1];
	size_t head, len, cap;		/* a queue in sid[head .. len) */
	int all;			/* queue every registered socket at the next pump */
	uint64_t sent, lost;		/* for the log */
};

static struct live_rereg *
rereg_of(struct gw *g)
{
	if (!g->rereg)
		g->rereg = calloc(1, sizeof(*g->rereg));
	return g->rereg;
}

static void
rereg_push(struct gw *g, const char *sid)
{
	struct live_rereg *q = rereg_of(g);
	void *p;
	size_t cap;

	if (!q || q->all)
		return;
	if (q->len == q->cap) {
		if (q->head > 0) {	/* reuse what was sent */
			memmove(q->sid, q->sid + q->head, (q->len - q->head) * sizeof(*q->sid));
			q->len -= q->head;
			q->head = 0;
		}
		if (q->len == q->cap) {
			cap = q->cap ? q->cap * 2 : 256;
			if (cap > LIVE_REREG_QUEUE_MAX || !(p = realloc(q->sid, cap * sizeof(*q->sid)))) {
				q->all = 1;
				return;
			}
			q->sid = p;
			q->cap = cap;
		}
	}
	memcpy(q->sid[q->len++], sid, CONN_SID_LEN + 1);
}

/* Registered in Redis as far as this process knows (unregistration waits for the close). */
static int
registered(const struct conn *c)
{
	return c->authed && c->connected;
}

/* The registration's reply; arg: a copy of the socket's id. NULL: the link dropped it
 * (or Redis refused it), so it is sent again if the socket is still here. */
static void
on_registered(struct gw *g, redisReply *reply, void *arg)
{
	if (!reply && conn_find(g, arg)) {
		rereg_push(g, arg);
		if (g->rereg)
			g->rereg->lost++;
	}
	free(arg);
}

static void
send_registration(struct gw *g, struct conn *c, const char *old_token)
{
	char sock[NS_KEY_MAX], us[NS_KEY_MAX], ss[NS_KEY_MAX], oss[NS_KEY_MAX], pres[NS_KEY_MAX];
	char sockp[NS_KEY_MAX], gwp[NS_KEY_MAX], now[LIVE_NUM_MAX], cap[LIVE_NUM_MAX];
	const char *a[14];
	char *sid;

	if (!ns_keys_socket(sock, c->sio_sid) || !ns_keys_user_sockets(us, c->user_id) ||
	    !ns_keys_session_sockets(ss, c->token) ||
	    !ns_keys_session_sockets(oss, old_token ? old_token : c->token) ||
	    !ns_keys_presence(pres, c->user_id) || !ns_keys_socket(sockp, "") ||
	    !ns_keys_gateway(gwp, ""))
		return;
	a[0] = sock;
	a[1] = us;
	a[2] = ss;
	a[3] = oss;
	a[4] = pres;
	a[5] = NS_KEY_ONLINE;
	a[6] = g->id;
	a[7] = c->sio_sid;
	a[8] = c->user_id;
	a[9] = c->token;
	a[10] = num(now, c->authenticated_at);
	a[11] = num(cap, g->cfg->sockets_per_user);
	a[12] = sockp;
	a[13] = gwp;
	if (!(sid = strdup(c->sio_sid)))
		return;	/* the sweep finds it missing (sched.c) */
	if (gwlua_eval(g, "registration", register_lua, 6, 14, a, on_registered, sid) < 0) {
		rereg_push(g, sid);	/* Redis down: sent once it is back */
		free(sid);
	}
}

void
live_register(struct gw *g, struct conn *c, const char *old_token)
{
	qfeed_bind(g, c);
	send_registration(g, c, old_token);
}

static int
count_one(struct lws_dll2 *d, void *user)
{
	if (registered(lws_container_of(d, struct conn, list)))
		(*(unsigned *)user)++;
	return 0;
}

unsigned
live_count(struct gw *g)
{
	unsigned n = 0;

	lws_dll2_foreach_safe(&g->conns, &n, count_one);
	return n;
}

static int
queue_one(struct lws_dll2 *d, void *user)
{
	struct conn *c = lws_container_of(d, struct conn, list);
	struct live_rereg *q = user;

	if (registered(c) && q->len < q->cap)
		memcpy(q->sid[q->len++], c->sio_sid, CONN_SID_LEN + 1);
	return 0;
}

/* Queue every registered socket: the queue is sized to the sockets (each process holds at
 * most gateway_max_connections), not to LIVE_REREG_QUEUE_MAX. */
static int
queue_all(struct gw *g, struct live_rereg *q)
{
	void *p;

	q->head = q->len = 0;
	if (g->conns.count > q->cap) {
		if (!(p = realloc(q->sid, g->conns.count * sizeof(*q->sid))))
			return -1;
		q->sid = p;
		q->cap = g->conns.count;
	}
	lws_dll2_foreach_safe(&g->conns, q, queue_one);
	q->all = 0;
	return 0;
}

void
live_reregister_all(struct gw *g)
{
	struct live_rereg *q = rereg_of(g);

	if (q)
		q->all = 1;
}

unsigned
live_reregister_pending(struct gw *g)
{
	struct live_rereg *q = g->rereg;

	return q ? (unsigned)(q->len - q->head) + (q->all ? 1 : 0) : 0;
}

void
live_reregister_pump(struct gw *g)
{
	struct live_rereg *q = g->rereg;
	struct conn *c;
	unsigned n = 0;

	if (!q || g->draining || !bus_is_up(g->bus))
		return;	/* draining: the sockets are handed off, not registered */
	if (q->all) {
		if (queue_all(g, q) < 0)
			return;	/* no memory now: the next turn tries again */
		ns_log_info("gateway: registrations lost in redis: registering %zu sockets again",
		    q->len);
	}
	while (q->head < q->len && n < LIVE_REREG_BATCH && !bus_behind(g->bus)) {
		c = conn_find(g, q->sid[q->head++]);
		if (c && registered(c) && !c->close_code && !c->flush_close) {
			send_registration(g, c, NULL);
			n++;
		}
	}
	q->sent += n;
	if (q->head == q->len && !q->all) {
		ns_log_info("gateway: %llu registrations sent again (%llu lost in flight)",
		    (unsigned long long)q->sent, (unsigned long long)q->lost);
		live_reregister_free(g);
	}
}

void
live_reregister_free(struct gw *g)
{
	if (g->rereg) {
		free(g->rereg->sid);
		free(g->rereg);
		g->rereg = NULL;
	}
}

void
live_unregister(struct gw *g, struct conn *c)
{
	char sock[NS_KEY_MAX], us[NS_KEY_MAX], ss[NS_KEY_MAX], now[LIVE_NUM_MAX], due[LIVE_NUM_MAX];
	const char *a[9];
	int64_t t = ns_clock_now_ms();

	qfeed_unbind(g, c);
	if (!ns_keys_socket(sock, c->sio_sid) || !ns_keys_user_sockets(us, c->user_id) ||
	    !ns_keys_session_sockets(ss, c->token))
		return;
	a[0] = sock;
	a[1] = us;
	a[2] = ss;
	a[3] = c->sio_sid;
	a[4] = c->user_id;
	a[5] = c->explicit_close ? "1" : "0";
	a[6] = num(now, t);
	a[7] = num(due, t + g->cfg->disconnect_grace_ms);
	a[8] = g->id;
	gwlua_eval(g, "unregistration", unregister_lua, 3, 9, a, callend_effects, NULL);
}

/* A presence or queue script for c's user. extra: the debounce key, or NULL. */
static void
presence_op(struct gw *g, struct conn *c, const char *what, const char *src, int debounce)
{
	char pres[NS_KEY_MAX], deb[NS_KEY_MAX], now[LIVE_NUM_MAX];
	const char *a[8];
	int nkeys = 3, n = 0;

	if (!c->authed || !ns_keys_presence(pres, c->user_id) ||
	    (debounce && !ns_keys_presence_debounce(deb, c->user_id)))
		return;
	a[n++] = pres;
	a[n++] = NS_KEY_ONLINE;
	a[n++] = NS_KEY_AVAILABLE;
	if (debounce) {
		a[n++] = deb;
		nkeys = 4;
	}
	a[n++] = c->user_id;
	a[n++] = num(now, ns_clock_now_ms());
	a[n++] = BUS_CHANNEL_BCAST;
	if (debounce)
		a[n++] = LIVE_DEBOUNCE_MS;
	run(g, what, src, nkeys, n, a);
}

void
live_presence_join(struct gw *g, struct conn *c, json_object *payload)
{
	(void)payload;
	if (c->authed)
		qfeed_active(c, 1);
	presence_op(g, c, "presence:join", presence_join_lua, 1);
}

void
live_presence_leave(struct gw *g, struct conn *c, json_object *payload)
{
	(void)payload;
	if (c->authed)
		qfeed_active(c, 0);
	presence_op(g, c, "presence:leave", presence_leave_lua, 0);
}

void
live_queue_join(struct gw *g, struct conn *c, json_object *payload)
{
	(void)payload;
	if (c->authed)
		qfeed_active(c, 1);
	presence_op(g, c, "queue:join", queue_join_lua, 0);
}

void
live_queue_leave(struct gw *g, struct conn *c, json_object *payload)
{
	(void)payload;
	presence_op(g, c, "queue:leave", queue_leave_lua, 0);
}
