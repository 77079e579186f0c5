/* sched: claim due invite expiries, call deadlines and grace checks (see sched.h). */
#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

#include "nsconfig.h"
#include "clock.h"
#include "log.h"
#include "bus.h"
#include "callend.h"
#include "conn.h"
#include "gw.h"
#include "gwlua.h"
#include "keys.h"
#include "live.h"
#include "sched.h"

#define NUM_MAX 24

/* ARGV: now, limit. Answers effects (gwlua.h). */
static const char tick_lua[] =
	GWLUA_PRELUDE
	"local now, lim = ARGV[1], tonumber(ARGV[2])\n"
	"local out = {1, {}}\n"
	/* §3.6 expired: caller declined 'timeout', callee rescinded, no cooldown */
	"for _, id in ipairs(redis.call('ZRANGEBYSCORE', S_INV, '-inf', now, 'LIMIT', 0, lim)) do\n"
	"  if redis.call('ZREM', S_INV, id) == 1 then\n"
	"    local inv = hash(P_INV .. id)\n"
	"    if inv then\n"
	"      inv_close(id, inv)\n"
	"      inv_declined(id, inv, 'timeout')\n"
	"      inv_rescinded(id, inv)\n"
	"    end\n"
	"  end\n"
	"end\n"
	/* §3.8 server deadline */
	"for _, rid in ipairs(redis.call('ZRANGEBYSCORE', S_ROOM, '-inf', now, 'LIMIT', 0, lim)) do\n"
	"  if redis.call('ZREM', S_ROOM, rid) == 1 then\n"
	"    local room = hash(P_ROOM .. rid)\n"
	"    if room then out[#out + 1] = room_claim(rid, room, now) end\n"
	"  end\n"
	"end\n"
	/* §3.9 grace: full cleanup unless a socket came back */
	"for _, uid in ipairs(redis.call('ZRANGEBYSCORE', S_GRACE, '-inf', now, 'LIMIT', 0, lim)) do\n"
	"  if redis.call('ZREM', S_GRACE, uid) == 1 and"
	" redis.call('ZCARD', P_USOCKS .. uid) == 0 then\n"
	"    full_cleanup(uid, now, out)\n"
	"  end\n"
	"end\n"
	"return out\n";

/* Reap one registration of gateway gw as a transport loss, counted in out[1]; the script
 * defines SOCK, SSOCKS, now and grace first (both sweeps below). */
#define REAP_FN \
	"local function reap(gw, sid)\n" \
	"  local s = hash(SOCK .. sid)\n" \
	"  if not s or s." NS_SOCK_GATEWAY " ~= gw or not s." NS_SOCK_USER " then return end\n" \
	"  local uid = s." NS_SOCK_USER "\n" \
	"  redis.call('DEL', SOCK .. sid)\n" \
	"  redis.call('ZREM', P_USOCKS .. uid, sid)\n" \
	"  if s." NS_SOCK_SESSION " then redis.call('SREM', SSOCKS .. s." NS_SOCK_SESSION ", sid) end\n" \
	"  local rid = redis.call('GET', P_UROOM .. uid)\n" \
	"  if rid then redis.call('SREM', P_ROOM .. rid .. ':socks', sid) end\n" \
	"  if redis.call('ZCARD', P_USOCKS .. uid) == 0 then\n" \
	"    unavailable(uid, false)\n" \
	"    redis.call('ZADD', S_GRACE, now + grace, uid)\n" \
	"  end\n" \
	"  out[1] = out[1] + 1\n" \
	"end\n"

/* The dead-gateway sweep (§3.9 last paragraph). KEYS: none.
 * ARGV: now, grace ms, limit, own id, own cutoff ms ('0': none), sock prefix, ssocks prefix.
 * A gateway in ns:gateways whose heartbeat is gone: its registered sockets are SPOPped from
 * ns:gwsocks:<id> (so each is handled by exactly one sweeper, and a big gateway is spread
 * over several ticks) and treated as transport losses: registration removed, the user made
 * unavailable and the grace scheduled when no socket is left. The gateway leaves
 * ns:gateways once nothing of it is left. With a cutoff, our own registrations older than
 * this process (a restart under the same id, before the old heartbeat expired) go the same
 * way. Answers {reaped, how many registrations we have, deadId, ...}: fewer than our
 * sockets means Redis lost them or another gateway took us for dead (a stalled loop, a cut
 * link), and we register them again. */
static const char reap_lua[] =
	GWLUA_PRELUDE
	"local now, grace, lim = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])\n"
	"local self, cutoff, SOCK, SSOCKS = ARGV[4], tonumber(ARGV[5]), ARGV[6], ARGV[7]\n"
	"local out = {0, 0}\n"
	REAP_FN
	"if cutoff > 0 then\n"
	"  for _, sid in ipairs(redis.call('SMEMBERS', P_GWSOCKS .. self)) do\n"
	"    local at = tonumber(redis.call('HGET', SOCK .. sid, '" NS_SOCK_AUTH_AT "') or '0') or 0\n"
	"    if at < cutoff then\n"
	"      redis.call('SREM', P_GWSOCKS .. self, sid)\n"
	"      reap(self, sid)\n"
	"    end\n"
	"  end\n"
	"end\n"
	"for _, gw in ipairs(redis.call('SMEMBERS', K_GATEWAYS)) do\n"
	"  if lim <= 0 then break end\n"
	"  if redis.call('EXISTS', P_GW .. gw) == 0 then\n"
	"    for _, sid in ipairs(redis.call('SPOP', P_GWSOCKS .. gw, lim)) do\n"
	"      reap(gw, sid)\n"
	"      lim = lim - 1\n"
	"    end\n"
	"    if redis.call('SCARD', P_GWSOCKS .. gw) == 0 then\n"
	"      redis.call('SREM', K_GATEWAYS, gw)\n"
	"      out[#out + 1] = gw\n"
	"    end\n"
	"  end\n"
	"end\n"
	"out[2] = redis.call('SCARD', P_GWSOCKS .. self)\n"
	"return out\n";

/* Registrations of ours in Redis with no socket here: the link dropped their
 * unregistrations in flight (a stall while thousands of sockets closed at once). Treated as
 * transport losses, as the sweep treats a dead gateway's. KEYS: none.
 * ARGV: now, grace ms, own id, sock prefix, ssocks prefix, socketId... */
static const char unghost_lua[] =
	GWLUA_PRELUDE
	"local now, grace, self, SOCK, SSOCKS = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3],"
	" ARGV[4], ARGV[5]\n"
	"local out = {0}\n"
	REAP_FN
	"for i = 6, #ARGV do\n"
	"  if redis.call('SREM', P_GWSOCKS .. self, ARGV[i]) == 1 then reap(self, ARGV[i]) end\n"
	"end\n"
	"return out[1]\n";

#define UNGHOST_ARGS 5			/* before the socket ids; GWLUA_ARGS_MAX in all */

static void tick(lws_sorted_usec_list_t *sul);

static void
on_tick(struct gw *g, redisReply *reply, void *arg)
{
	g->sched_busy = 0;
	callend_effects(g, reply, arg);
}

static void
tick(lws_sorted_usec_list_t *sul)
{
	struct gw *g = lws_container_of(sul, struct gw, sched);
	char now[NUM_MAX];
	const char *a[2];

	/* One claim in flight at a time: a slow Redis is not piled on. */
	if (!g->sched_busy && bus_is_up(g->bus)) {
		snprintf(now, sizeof(now), "%" PRId64, ns_clock_now_ms());
		a[0] = now;
		a[1] = SCHED_CLAIM_MAX;
		if (gwlua_eval(g, "schedule claim", tick_lua, 0, 2, a, on_tick, NULL) == 0)
			g->sched_busy = 1;
	}
	lws_sul_schedule(g->ctx, 0, &g->sched, tick,
	    (lws_usec_t)g->cfg->sched_tick_ms * LWS_US_PER_MS);
}

static void
unghost_send(struct gw *g, const char **a, int n)
{
	if (n > UNGHOST_ARGS)
		gwlua_eval(g, "stale registrations", unghost_lua, 0, n, a, NULL, NULL);
}

/* Our registrations as Redis has them: remove those with no live socket here. A socket
 * that closed after SMEMBERS ran has sent its own unregistration; reaping it again finds
 * nothing. */
static void
on_members(struct gw *g, redisReply *reply, void *arg)
{
	char now[NUM_MAX], grace[NUM_MAX], sockp[NS_KEY_MAX], ssp[NS_KEY_MAX];
	const char *a[GWLUA_ARGS_MAX];
	size_t i, stale = 0;
	int n = UNGHOST_ARGS;

	(void)arg;
	g->unghost_busy = 0;
	if (!reply || reply->type != REDIS_REPLY_ARRAY || !ns_keys_socket(sockp, "") ||
	    !ns_keys_session_sockets(ssp, ""))
		return;
	snprintf(now, sizeof(now), "%" PRId64, ns_clock_now_ms());
	snprintf(grace, sizeof(grace), "%d", g->cfg->disconnect_grace_ms);
	a[0] = now;
	a[1] = grace;
	a[2] = g->id;
	a[3] = sockp;
	a[4] = ssp;
	for (i = 0; i < reply->elements; i++) {
		if (reply->element[i]->type != REDIS_REPLY_STRING ||
		    conn_find(g, reply->element[i]->str))
			continue;
		a[n++] = reply->element[i]->str;
		stale++;
		if (n == GWLUA_ARGS_MAX) {
			unghost_send(g, a, n);
			n = UNGHOST_ARGS;
		}
	}
	unghost_send(g, a, n);
	if (stale)
		ns_log_info("gateway: %zu registrations of closed sockets removed", stale);
}

/* arg: 1 + how many registrations we had when the sweep was queued, or 0 while some were
 * queued to be sent again (live.c) and are not in Redis yet. Everything queued before the
 * sweep on the command link has run by then, so Redis holding fewer means some were lost
 * without a failed reply (a restarted Redis, or another gateway reaped us), and more means
 * unregistrations were lost (a dropped link). */
static void
on_reaped(struct gw *g, redisReply *reply, void *arg)
{
	long long had = (long long)(uintptr_t)arg - 1;
	char key[NS_KEY_MAX];
	size_t i;

	g->gwcheck_busy = 0;
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2 ||
	    reply->element[0]->type != REDIS_REPLY_INTEGER ||
	    reply->element[1]->type != REDIS_REPLY_INTEGER)
		return;
	g->self_swept = 1;
	if (reply->element[0]->integer > 0)
		ns_log_info("gateway: %lld sockets of stopped gateways treated as lost",
		    reply->element[0]->integer);
	if (had >= 0 && reply->element[1]->integer != had)
		ns_log_info("gateway: redis holds %lld registrations of ours, %lld when the sweep"
		    " was queued", reply->element[1]->integer, had);
	if (had >= 0 && reply->element[1]->integer < had)
		live_reregister_all(g);
	else if (had >= 0 && reply->element[1]->integer > had && !g->unghost_busy &&
	    ns_keys_gateway_sockets(key, g->id) &&
	    bus_cmd(g->bus, on_members, NULL, "SMEMBERS %s", key) == 0)
		g->unghost_busy = 1;
	for (i = 2; i < reply->elements; i++)
		if (reply->element[i]->type == REDIS_REPLY_STRING)
			ns_log_info("gateway: gateway %s is gone", reply->element[i]->str);
}

static void
gwcheck(lws_sorted_usec_list_t *sul)
{
	struct gw *g = lws_container_of(sul, struct gw, gwcheck);
	char now[NUM_MAX], grace[NUM_MAX], cutoff[NUM_MAX], sockp[NS_KEY_MAX], ssp[NS_KEY_MAX];
	const char *a[7];

	if (!g->gwcheck_busy && bus_is_up(g->bus) && ns_keys_socket(sockp, "") &&
	    ns_keys_session_sockets(ssp, "")) {
		snprintf(now, sizeof(now), "%" PRId64, ns_clock_now_ms());
		snprintf(grace, sizeof(grace), "%d", g->cfg->disconnect_grace_ms);
		snprintf(cutoff, sizeof(cutoff), "%" PRId64, g->self_swept ? (int64_t)0 :
		    g->started_at);
		a[0] = now;
		a[1] = grace;
		a[2] = SCHED_REAP_MAX;
		a[3] = g->id;
		a[4] = cutoff;
		a[5] = sockp;
		a[6] = ssp;
		if (gwlua_eval(g, "dead-gateway sweep", reap_lua, 0, 7, a, on_reaped,
		    (void *)(uintptr_t)(live_reregister_pending(g) ? 0 : live_count(g) + 1)) == 0)
			g->gwcheck_busy = 1;
	}
	lws_sul_schedule(g->ctx, 0, &g->gwcheck, gwcheck,
	    (lws_usec_t)g->cfg->gateway_check_ms * LWS_US_PER_MS);
}

void
sched_start(struct gw *g)
{
	lws_sul_schedule(g->ctx, 0, &g->sched, tick,
	    (lws_usec_t)g->cfg->sched_tick_ms * LWS_US_PER_MS);
	/* The first sweep soon: it also reaps what a previous run under our id left. */
	lws_sul_schedule(g->ctx, 0, &g->gwcheck, gwcheck, SCHED_FIRST_CHECK_MS * LWS_US_PER_MS);
}

void
sched_stop(struct gw *g)
{
	lws_sul_cancel(&g->sched);
	lws_sul_cancel(&g->gwcheck);
}
