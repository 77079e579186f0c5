/* sched: claim due invite expiries, call deadlines and grace checks (see sched.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>

#include "nsconfig.h"
#include "clock.h"
#include "log.h"
#include "bus.h"
#include "callend.h"
#include "gw.h"
#include "gwlua.h"
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

void
sched_start(struct gw *g)
{
	lws_sul_schedule(g->ctx, 0, &g->sched, tick,
	    (lws_usec_t)g->cfg->sched_tick_ms * LWS_US_PER_MS);
}

void
sched_stop(struct gw *g)
{
	lws_sul_cancel(&g->sched);
}
