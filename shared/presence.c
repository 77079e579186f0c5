/* presence: the presence shape in Redis (see presence.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <hiredis/hiredis.h>

#include "presence.h"
#include "keys.h"
#include "kv.h"

#define PRES_NUM_MAX 24	/* an int64 in decimal */

/* KEYS: the hash, ns:online, ns:available; ARGV: userId, online, available, now ms.
 * One script rather than MULTI/EXEC: the blocking client reconnects lazily, and a
 * reconnect between MULTI and EXEC would run the rest of the commands unqueued. */
static const char set_script[] =
	"local id, online, avail, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]\n"
	"redis.call('HSET', KEYS[1], '" NS_PRES_ONLINE "', online, '" NS_PRES_AVAILABLE "', avail,"
	" '" NS_PRES_LAST_ACTIVE "', now)\n"
	"if online == '1' then redis.call('SADD', KEYS[2], id)"
	" else redis.call('SREM', KEYS[2], id) end\n"
	"if avail == '1' then\n"
	"  redis.call('HSET', KEYS[1], '" NS_PRES_AVAILABLE_SINCE "', now)\n"
	"  redis.call('ZADD', KEYS[3], now, id)\n"
	"else\n"
	"  redis.call('HDEL', KEYS[1], '" NS_PRES_AVAILABLE_SINCE "')\n"
	"  redis.call('ZREM', KEYS[3], id)\n"
	"end\n"
	"return 1\n";

static const char clear_script[] =
	"redis.call('DEL', KEYS[1])\n"
	"redis.call('SREM', KEYS[2], ARGV[1])\n"
	"redis.call('ZREM', KEYS[3], ARGV[1])\n"
	"return 1\n";

static enum ns_err
run(struct ns_kv *kv, const char *script, const char *user_id, const char *online,
    const char *available, const char *now)
{
	char hkey[NS_KEY_MAX];
	const char *argv[10];
	enum ns_err err;
	redisReply *r;
	int argc = 0;

	if (user_id == NULL || *user_id == '\0' || !ns_keys_presence(hkey, user_id))
		return NS_E_BAD_REQUEST;
	argv[argc++] = "EVAL";
	argv[argc++] = script;
	argv[argc++] = "3";
	argv[argc++] = hkey;
	argv[argc++] = NS_KEY_ONLINE;
	argv[argc++] = NS_KEY_AVAILABLE;
	argv[argc++] = user_id;
	if (online != NULL) {
		argv[argc++] = online;
		argv[argc++] = available;
		argv[argc++] = now;
	}
	r = ns_kv_argv(kv, &err, argc, argv, NULL);
	if (r == NULL)
		return err;
	freeReplyObject(r);
	return NS_OK;
}

enum ns_err
ns_presence_set(struct ns_kv *kv, const char *user_id, int online, int available,
    int64_t now_ms)
{
	char now[PRES_NUM_MAX];

	snprintf(now, sizeof now, "%" PRId64, now_ms);
	return run(kv, set_script, user_id, online ? "1" : "0",
	    online && available ? "1" : "0", now);
}

enum ns_err
ns_presence_clear(struct ns_kv *kv, const char *user_id)
{
	return run(kv, clear_script, user_id, NULL, NULL, NULL);
}

static int
flag(const redisReply *e)
{
	return e->type == REDIS_REPLY_STRING && e->len == 1 && e->str[0] == '1';
}

enum ns_err
ns_presence_get(struct ns_kv *kv, const char *user_id, int *online, int *available)
{
	char hkey[NS_KEY_MAX];
	enum ns_err err;
	redisReply *r;

	if (online != NULL)
		*online = 0;
	if (available != NULL)
		*available = 0;
	if (user_id == NULL || *user_id == '\0' || !ns_keys_presence(hkey, user_id))
		return NS_E_BAD_REQUEST;
	r = ns_kv_cmd(kv, &err, "HMGET %s %s %s", hkey, NS_PRES_ONLINE, NS_PRES_AVAILABLE);
	if (r == NULL)
		return err;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) {
		freeReplyObject(r);
		return NS_E_INTERNAL;
	}
	if (online != NULL)
		*online = flag(r->element[0]);
	if (available != NULL)
		*available = flag(r->element[1]);
	freeReplyObject(r);
	return NS_OK;
}
