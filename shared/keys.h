/* keys: THE Redis schema shared by the REST workers and the gateways (docs/ARCHITECTURE.md).
 * Every key and channel name is built here, so both sides read and write the same shape. */
#ifndef NS_KEYS_H
#define NS_KEYS_H
#include <stddef.h>

#define NS_KEY_MAX 160	/* longest key: prefix + a 64-char id + suffixes */

/* Fixed names. */
#define NS_KEY_AVAILABLE	"ns:available"	/* zset userId → availableSince ms */
#define NS_KEY_ONLINE		"ns:online"	/* set of online userIds */
#define NS_KEY_GATEWAYS		"ns:gateways"	/* set of gateway ids */
#define NS_CHAN_BCAST		"ns:bcast"	/* to every gateway */
#define NS_CHAN_CTL		"ns:ctl"	/* REST workers → gateways */

/* Fields of the presence hash. */
#define NS_PRES_ONLINE		"online"
#define NS_PRES_AVAILABLE	"available"
#define NS_PRES_LAST_ACTIVE	"lastActiveAt"
#define NS_PRES_AVAILABLE_SINCE	"availableSince"

/* Fields of a socket registration. */
#define NS_SOCK_GATEWAY		"gatewayId"
#define NS_SOCK_ID		"socketId"
#define NS_SOCK_USER		"userId"
#define NS_SOCK_SESSION		"sessionToken"
#define NS_SOCK_AUTH_AT		"authenticatedAt"

/* Builders: write "<prefix><id>" into buf (NS_KEY_MAX bytes); return buf, or NULL when id is
 * too long (ids come from clients, so the ceiling is checked, never assumed). */
char *ns_keys_presence(char buf[NS_KEY_MAX], const char *user_id);	/* hash */
char *ns_keys_socket(char buf[NS_KEY_MAX], const char *socket_id);	/* hash */
char *ns_keys_user_sockets(char buf[NS_KEY_MAX], const char *user_id);	/* zset */
char *ns_keys_session_sockets(char buf[NS_KEY_MAX], const char *token);	/* set */
char *ns_keys_gateway(char buf[NS_KEY_MAX], const char *gateway_id);	/* heartbeat; also its channel */
char *ns_keys_gateway_sockets(char buf[NS_KEY_MAX], const char *gateway_id);	/* set */
char *ns_keys_presence_debounce(char buf[NS_KEY_MAX], const char *user_id);	/* presence:join, PX 2000 */
char *ns_keys_ratelimit(char buf[NS_KEY_MAX], const char *limiter, const char *subject);
char *ns_keys_cache(char buf[NS_KEY_MAX], const char *kind, const char *id);
char *ns_keys_queue_view(char buf[NS_KEY_MAX], const char *user_id);	/* last /room/queue page */
char *ns_keys_reel(char buf[NS_KEY_MAX], const char *user_id, const char *cursor); /* seen-set */

/* Calls (contract §3.6-§3.9). The gateways' Lua scripts derive these keys from the prefixes. */
#define NS_KEYP_SOCKET		"ns:sock:"
#define NS_KEYP_USER_SOCKETS	"ns:usocks:"
#define NS_KEYP_PRESENCE	"ns:presence:"
#define NS_KEYP_GATEWAY		"ns:gw:"
#define NS_KEYP_GATEWAY_SOCKETS	"ns:gwsocks:"	/* set of the socketIds a gateway registered */
#define NS_KEYP_INVITE		"ns:inv:"	/* hash per invite */
#define NS_KEYP_INVITES_FROM	"ns:inv:from:"	/* set of the caller's pending inviteIds */
#define NS_KEYP_INVITES_TO	"ns:inv:to:"	/* set of the callee's pending inviteIds */
#define NS_KEYP_ROOM		"ns:room:"	/* hash per room; + ":socks" set, + ":msgs" list */
#define NS_KEYP_USER_ROOM	"ns:uroom:"	/* string: the user's active roomId */
#define NS_KEY_SCHED_INVITES	"ns:sched:inv"	/* zset inviteId → expiry due ms */
#define NS_KEY_SCHED_ROOMS	"ns:sched:room"	/* zset roomId → call deadline ms */
#define NS_KEY_SCHED_GRACE	"ns:sched:grace" /* zset userId → grace deadline ms */

char *ns_keys_invite(char buf[NS_KEY_MAX], const char *invite_id);
char *ns_keys_invites_from(char buf[NS_KEY_MAX], const char *user_id);
char *ns_keys_invites_to(char buf[NS_KEY_MAX], const char *user_id);
char *ns_keys_room(char buf[NS_KEY_MAX], const char *room_id);
char *ns_keys_room_sockets(char buf[NS_KEY_MAX], const char *room_id);
char *ns_keys_room_messages(char buf[NS_KEY_MAX], const char *room_id);
char *ns_keys_user_room(char buf[NS_KEY_MAX], const char *user_id);

/* Query-cache invalidation (fcgi/cache.c): the entry is overwritten, not deleted, with
 * NS_CACHE_TOMBSTONE + a unique suffix for NS_CACHE_TOMBSTONE_TTL_S, so a reader that missed
 * before the write cannot fill the old row back. Any process writing a users row runs
 * NS_CACHE_USER_INVALIDATE_LUA with KEYS ns_keys_cache(NS_CACHE_USER, userId) and
 * ns_keys_cache(NS_CACHE_FILL, userId), ARGV "~<uuid>" and NS_CACHE_TOMBSTONE_TTL_S: the
 * entry becomes a tombstone and its fill (which /room/queue revalidates with) goes, in one
 * step. */
#define NS_CACHE_TOMBSTONE	"~"
#define NS_CACHE_USER		"u"	/* kind: a users row (fcgi/cache.c) */
#define NS_CACHE_FILL		"f"	/* kind: the fill of that user's "u" entry, written with it */
#define NS_CACHE_USER_INVALIDATE_LUA \
	"redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2])\n" \
	"redis.call('DEL', KEYS[2])\n" \
	"return 1\n"
#define NS_CACHE_EXCL		"x"	/* kind: a user's cooldowns and reports (fcgi/excl.c);
					 * whoever writes either tombstones both users' entries */
#define NS_CACHE_TOMBSTONE_TTL_S 3600

#endif
