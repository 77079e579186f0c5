/* presence: blocking reader and writer of a user's presence in Redis (contract §3.5): the
 * hash ns:presence:<id>, the set ns:online and the zset ns:available, kept consistent with
 * each other. The gateways write the same shape asynchronously (key names from keys.h);
 * the REST workers read it, and tests and benchmarks seed it through here. */
#ifndef NS_PRESENCE_H
#define NS_PRESENCE_H
#include <stdint.h>
#include "err.h"

struct ns_kv;

/* Set online/available for user_id atomically (one server-side script, so a reconnect can
 * never leave half a change). available implies online: available without online is
 * stored as neither available. When available, availableSince and the ns:available score
 * become now_ms (pass an earlier time to keep a place in the queue); lastActiveAt is now_ms.
 * NS_E_BAD_REQUEST for an id that does not fit a key; NS_E_REDIS / NS_E_INTERNAL from kv. */
enum ns_err ns_presence_set(struct ns_kv *kv, const char *user_id, int online, int available,
    int64_t now_ms);

/* Read online/available (0 when the user has no presence). Either pointer may be NULL. */
enum ns_err ns_presence_get(struct ns_kv *kv, const char *user_id, int *online,
    int *available);

/* Full cleanup: remove the hash and the set/zset memberships. */
enum ns_err ns_presence_clear(struct ns_kv *kv, const char *user_id);

#endif
