/* ratelimit: fixed windows in Redis (see ratelimit.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ratelimit.h"
#include "script.h"

static struct ns_script check_script = { .src = NS_RL_LUA
	"local c, t = ns_rl(KEYS[1], ARGV[1], ARGV[2])\n"
	"return {c, t}\n" };

static enum ns_err
run(struct ns_kv *kv, const char *key, const char *mode, int window_s, struct ns_rl_state *out)
{
	char win[24];
	const char *args[3];
	enum ns_err e;
	redisReply *r;

	snprintf(win, sizeof(win), "%lld", (long long)window_s * 1000);
	args[0] = key, args[1] = mode, args[2] = win;
	r = ns_script_eval(kv, &check_script, &e, 1, 2, args, NULL);
	if (!r)
		return e;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[1]->type != REDIS_REPLY_INTEGER) {
		freeReplyObject(r);
		return NS_E_INTERNAL;
	}
	out->count = r->element[0]->integer;
	out->reset_ms = r->element[1]->integer;
	freeReplyObject(r);
	return NS_OK;
}

enum ns_err
ns_rl_check(struct ns_kv *kv, const char *key, enum ns_rl_mode mode, int window_s,
    struct ns_rl_state *out)
{
	memset(out, 0, sizeof(*out));
	if (mode == NS_RL_OFF)
		return NS_OK;
	return run(kv, key, mode == NS_RL_HIT ? "1" : "2", window_s, out);
}

enum ns_err
ns_rl_add(struct ns_kv *kv, const char *key, int window_s, struct ns_rl_state *out)
{
	memset(out, 0, sizeof(*out));
	return run(kv, key, "1", window_s, out);
}

void
ns_rl_decide(const struct ns_rl_state *st, enum ns_rl_mode mode, int max,
    struct ns_rl_verdict *out)
{
	/* PEEK answers for a request that may still be counted: show it as counted, as a
	 * limiter that counts up front and takes back successes would. */
	int64_t used = mode == NS_RL_PEEK ? st->count + 1 : st->count;
	int64_t left = (int64_t)max - used;

	out->limit = max;
	out->limited = mode == NS_RL_PEEK ? st->count >= max : st->count > max;
	out->remaining = left < 0 ? 0 : (int)left;
	out->reset_s = (int)((st->reset_ms + 999) / 1000);
	if (out->reset_s < 1)
		out->reset_s = 1;
}
