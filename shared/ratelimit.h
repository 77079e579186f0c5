/* ratelimit: fixed-window counters in Redis, shared by every process (contract §1.8). One
 * atomic script per check: the counter's first hit sets its window, so a window never slides
 * and a crash between two commands cannot leave a counter without an expiry. */
#ifndef NS_RATELIMIT_H
#define NS_RATELIMIT_H
#include <stdint.h>
#include "err.h"
#include "kv.h"

enum ns_rl_mode {
	NS_RL_OFF = 0,		/* no counting */
	NS_RL_HIT,		/* count this request, then decide */
	NS_RL_PEEK		/* decide from the count so far (counts added later by ns_rl_add) */
};

/* The counter after a check. */
struct ns_rl_state {
	int64_t count;		/* HIT: including this request; PEEK: so far */
	int64_t reset_ms;	/* until the window ends */
};

/* What a client is told. */
struct ns_rl_verdict {
	int limited;		/* 1: refuse with 429 */
	int limit;		/* RateLimit-Limit */
	int remaining;		/* RateLimit-Remaining */
	int reset_s;		/* RateLimit-Reset and Retry-After, seconds (≥ 1) */
};

/* A Lua function for scripts that combine a limit check with other reads in one round
 * trip: ns_rl(key, mode, window_ms) → count, ttl_ms (mode as enum ns_rl_mode, a string). */
#define NS_RL_LUA \
	"local function ns_rl(k, mode, win)\n" \
	"  local c, t\n" \
	"  if mode == '1' then\n" \
	"    c = redis.call('INCR', k)\n" \
	"    t = redis.call('PTTL', k)\n" \
	"    if t < 0 then redis.call('PEXPIRE', k, win); t = tonumber(win) end\n" \
	"  elseif mode == '2' then\n" \
	"    c = tonumber(redis.call('GET', k) or '0') or 0\n" \
	"    t = redis.call('PTTL', k)\n" \
	"    if t < 0 then t = tonumber(win) end\n" \
	"  else\n" \
	"    return 0, 0\n" \
	"  end\n" \
	"  return c, t\n" \
	"end\n"

/* Check key (built with ns_keys_ratelimit) in mode; NS_E_REDIS when Redis is unreachable
 * (callers then let the request through). */
enum ns_err ns_rl_check(struct ns_kv *kv, const char *key, enum ns_rl_mode mode, int window_s,
    struct ns_rl_state *out);
/* Count one more event (the PEEK mode's later half); the window starts if none runs. */
enum ns_err ns_rl_add(struct ns_kv *kv, const char *key, int window_s, struct ns_rl_state *out);
/* The verdict for a state: HIT refuses when count > max, PEEK when count >= max. */
void ns_rl_decide(const struct ns_rl_state *st, enum ns_rl_mode mode, int max,
    struct ns_rl_verdict *out);

#endif
