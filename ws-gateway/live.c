/* live: socket registry, presence and grace in Redis, as server-side scripts.
 *
 * Key names come from keys.h (passed as KEYS, or as prefixes in ARGV for keys a script
 * derives), field names from keys.h too, so the workers' shared/presence.c and this file
 * write one shape. Broadcasts are `{"event":…,"data":…}` on ns:bcast; every gateway
 * delivers them to its authenticated sockets (ctl.c). */
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
#include "conn.h"
#include "gw.h"
#include "live.h"

#define LIVE_ARGS_MAX 16	/* keys + arguments of one script */
#define LIVE_NUM_MAX 24		/* an int64 in decimal */

/* Full cleanup of a user (§3.9 step 3): no presence, no memberships, everyone told. */
#define LUA_CLEANUP \
	"local function cleanup(pres, online, avail, uid, chan)\n" \
	"  redis.call('DEL', pres)\n" \
	"  redis.call('SREM', online, uid)\n" \
	"  redis.call('ZREM', avail, uid)\n" \
	"  redis.call('PUBLISH', chan, cjson.encode({event = 'presence:update'," \
	" data = {userId = uid, online = false, available = false}}))\n" \
	"end\n"

/* KEYS: sock, usocks, ssocks (new), ssocks (old), presence, online.
 * ARGV: gatewayId, socketId, userId, token, now, cap, sock prefix, gateway prefix. */
static const char register_lua[] =
	"local sid, uid, now = ARGV[2], ARGV[3], ARGV[5]\n"
	"redis.call('HSET', KEYS[1], '" NS_SOCK_GATEWAY "', ARGV[1], '" NS_SOCK_ID "', sid,"
	" '" NS_SOCK_USER "', uid, '" NS_SOCK_SESSION "', ARGV[4], '" NS_SOCK_AUTH_AT "', now)\n"
	"redis.call('ZADD', KEYS[2], now, sid)\n"
	"redis.call('SREM', KEYS[4], sid)\n"
	"redis.call('SADD', KEYS[3], sid)\n"
	"redis.call('HSET', KEYS[5], '" NS_PRES_ONLINE "', '1', '" NS_PRES_LAST_ACTIVE "', now)\n"
	"redis.call('HSETNX', KEYS[5], '" NS_PRES_AVAILABLE "', '0')\n"
	"redis.call('SADD', KEYS[6], uid)\n"
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

/* KEYS: sock, usocks, ssocks, presence, online, available.
 * ARGV: socketId, userId, explicit (1/0), broadcast channel. */
static const char unregister_lua[] =
	LUA_CLEANUP
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('ZREM', KEYS[2], ARGV[1])\n"
	"redis.call('SREM', KEYS[3], ARGV[1])\n"
	"if redis.call('ZCARD', KEYS[2]) > 0 then return 0 end\n"
	"if ARGV[3] == '1' then\n"
	"  cleanup(KEYS[4], KEYS[5], KEYS[6], ARGV[2], ARGV[4])\n"
	"  return 1\n"
	"end\n"
	"if redis.call('HGET', KEYS[4], '" NS_PRES_AVAILABLE "') == '1' then\n"
	"  redis.call('HSET', KEYS[4], '" NS_PRES_AVAILABLE "', '0')\n"
	"  redis.call('HDEL', KEYS[4], '" NS_PRES_AVAILABLE_SINCE "')\n"
	"  redis.call('ZREM', KEYS[6], ARGV[2])\n"
	"  redis.call('PUBLISH', ARGV[4], cjson.encode({event = 'queue:update',"
	" data = {userId = ARGV[2], available = false}}))\n"
	"end\n"
	"return 2\n";

/* KEYS: usocks, presence, online, available. ARGV: userId, broadcast channel. */
static const char grace_lua[] =
	LUA_CLEANUP
	"if redis.call('ZCARD', KEYS[1]) > 0 then return 0 end\n"
	"if redis.call('EXISTS', KEYS[2]) == 0 and"
	" redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 0 then return 0 end\n"
	"cleanup(KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[2])\n"
	"return 1\n";

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
 * A user already available keeps their place (availableSince). */
static const char queue_join_lua[] =
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

struct grace {
	lws_sorted_usec_list_t sul;
	lws_dll2_t list;		/* in gw->graces */
	struct gw *g;
	char user_id[CONN_USER_MAX];
};

/* EVAL src with nkeys keys then the arguments; fire and forget (errors are logged). */
static void
run(struct gw *g, const char *what, const char *src, int nkeys, int nargs, const char **args)
{
	const char *argv[LIVE_ARGS_MAX + 3];
	char nk[8];
	int i;

	if (nargs > LIVE_ARGS_MAX)
		return;
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = "EVAL";
	argv[1] = src;
	argv[2] = nk;
	for (i = 0; i < nargs; i++)
		argv[3 + i] = args[i];
	if (bus_cmd_argv(g->bus, NULL, NULL, nargs + 3, argv, NULL) < 0)
		ns_log_warn("gateway: redis down: %s not recorded", what);
}

static const char *
num(char buf[LIVE_NUM_MAX], int64_t v)
{
	snprintf(buf, LIVE_NUM_MAX, "%" PRId64, v);
	return buf;
}

void
live_register(struct gw *g, struct conn *c, const char *old_token)
{
	char sock[NS_KEY_MAX], us[NS_KEY_MAX], ss[NS_KEY_MAX], oss[NS_KEY_MAX], pres[NS_KEY_MAX];
	char sockp[NS_KEY_MAX], gwp[NS_KEY_MAX], now[LIVE_NUM_MAX], cap[LIVE_NUM_MAX];
	const char *a[14];

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
	run(g, "registration", register_lua, 6, 14, a);
}

static void
grace_check(struct gw *g, const char *user_id)
{
	char us[NS_KEY_MAX], pres[NS_KEY_MAX];
	const char *a[6];

	if (!ns_keys_user_sockets(us, user_id) || !ns_keys_presence(pres, user_id))
		return;
	a[0] = us;
	a[1] = pres;
	a[2] = NS_KEY_ONLINE;
	a[3] = NS_KEY_AVAILABLE;
	a[4] = user_id;
	a[5] = BUS_CHANNEL_BCAST;
	run(g, "grace cleanup", grace_lua, 4, 6, a);
}

static void
grace_fire(lws_sorted_usec_list_t *sul)
{
	struct grace *gr = lws_container_of(sul, struct grace, sul);

	lws_dll2_remove(&gr->list);
	grace_check(gr->g, gr->user_id);
	free(gr);
}

static void
grace_start(struct gw *g, const char *user_id)
{
	struct grace *gr = calloc(1, sizeof(*gr));

	if (!gr) {
		grace_check(g, user_id);	/* early rather than never */
		return;
	}
	gr->g = g;
	snprintf(gr->user_id, sizeof(gr->user_id), "%s", user_id);
	lws_dll2_add_tail(&gr->list, &g->graces);
	lws_sul_schedule(g->ctx, 0, &gr->sul, grace_fire, LIVE_GRACE_MS * LWS_US_PER_MS);
}

void
live_unregister(struct gw *g, struct conn *c)
{
	char sock[NS_KEY_MAX], us[NS_KEY_MAX], ss[NS_KEY_MAX], pres[NS_KEY_MAX];
	const char *a[10];

	if (!ns_keys_socket(sock, c->sio_sid) || !ns_keys_user_sockets(us, c->user_id) ||
	    !ns_keys_session_sockets(ss, c->token) || !ns_keys_presence(pres, c->user_id))
		return;
	a[0] = sock;
	a[1] = us;
	a[2] = ss;
	a[3] = pres;
	a[4] = NS_KEY_ONLINE;
	a[5] = NS_KEY_AVAILABLE;
	a[6] = c->sio_sid;
	a[7] = c->user_id;
	a[8] = c->explicit_close ? "1" : "0";
	a[9] = BUS_CHANNEL_BCAST;
	run(g, "unregistration", unregister_lua, 6, 10, a);
	if (!c->explicit_close)
		grace_start(g, c->user_id);
}

static int
grace_flush(struct lws_dll2 *d, void *user)
{
	struct grace *gr = lws_container_of(d, struct grace, list);

	(void)user;
	lws_sul_cancel(&gr->sul);
	lws_dll2_remove(&gr->list);
	grace_check(gr->g, gr->user_id);
	free(gr);
	return 0;
}

void
live_shutdown(struct gw *g)
{
	lws_dll2_foreach_safe(&g->graces, NULL, grace_flush);
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
	presence_op(g, c, "presence:join", presence_join_lua, 1);
}

void
live_presence_leave(struct gw *g, struct conn *c, json_object *payload)
{
	(void)payload;
	presence_op(g, c, "presence:leave", presence_leave_lua, 0);
}

/* Rooms are not kept yet (phase 1), so no socket is in an active room to be refused. */
void
live_queue_join(struct gw *g, struct conn *c, json_object *payload)
{
	(void)payload;
	presence_op(g, c, "queue:join", queue_join_lua, 0);
}

void
live_queue_leave(struct gw *g, struct conn *c, json_object *payload)
{
	(void)payload;
	presence_op(g, c, "queue:leave", queue_leave_lua, 0);
}
