/* cache: Redis-backed query cache for the hot reads (sessions, users), shared by every worker.
 * Reads try Redis, fall back to PostgreSQL and fill Redis; every write path calls the matching
 * invalidate function before it answers, so a write through one worker is read back through
 * any other at once. With Redis down, reads go to PostgreSQL (slower, still correct). */
#ifndef API_CACHE_H
#define API_CACHE_H
#include <stddef.h>
#include <stdint.h>
#include "err.h"
#include <hiredis/hiredis.h>
#include "ratelimit.h"
#include "script.h"

struct app;

#define API_NAME_MAX 256	/* 50 code points of UTF-8, with room */
#define API_EMAIL_MAX 256	/* 254 characters */
#define API_URL_MAX 512		/* media URLs */
#define API_JSON_FIELD_MAX 4096	/* socials (≤ 10 × (32 + 200) chars) and last_sessions */

struct api_session {
	char token[37];
	char user_id[37];
	int is_active;
	int64_t expires_at_ms;
};

/* The users row as handlers and guards read it (text fields NUL-terminated; "" for NULL
 * unless a has_ flag says otherwise). */
struct api_user {
	char user_id[37];
	char name[API_NAME_MAX];
	char gender[16];
	char account_type[16];		/* guest | permanent */
	char email[API_EMAIL_MAX];	/* "" when none */
	char selfie_url[API_URL_MAX];	/* "" when none */
	char video_url[API_URL_MAX];
	char socials[API_JSON_FIELD_MAX];	/* JSON object text */
	char role[8];			/* user | admin */
	char paid_status[24];
	char ban_status[16];		/* none | temporary | permanent | vindicated */
	char review_status[24];
	char introduced_to[37];		/* "" when none */
	char introduced_by[37];
	int64_t timer_total_seconds;
	int64_t session_count;
	int64_t streak_days;
	char last_sessions[API_JSON_FIELD_MAX];	/* JSON array text */
	int64_t created_at_ms;
};

/* NS_E_NOT_FOUND when there is no such session/user; NS_E_DB when PostgreSQL is down. */
enum ns_err api_cache_session(struct app *app, const char *token, struct api_session *out);
enum ns_err api_cache_user(struct app *app, const char *user_id, struct api_user *out);
void api_cache_session_invalidate(struct app *app, const char *token);
void api_cache_user_invalidate(struct app *app, const char *user_id);

/* Many users at once, for the matchmaking lists (api_queue.c, api_reel.c): the list's own Redis
 * script reads the entries (ns_keys_cache(NS_CACHE_USER, id)) with the page; what it found
 * is decoded here, and the misses are read from PostgreSQL in one query and filled. */
enum { API_CARD_ID, API_CARD_NAME, API_CARD_GENDER, API_CARD_SELFIE, API_CARD_VIDEO,
	API_CARD_INTRODUCED_TO, API_CARD_INTRODUCED_BY,
	API_CARD_FILL,	/* the entry's fill: another fill, another value */
	API_CARD__COUNT };
/* A user entry starts "u2" US <fill> US: the fill is made anew each time the entry is
 * written, so it changes whenever the card could have. */
#define API_CACHE_FILL_LEN 16
struct api_card {
	const char *f[API_CARD__COUNT];	/* slices of the entry ("" for NULL), not terminated */
	size_t len[API_CARD__COUNT];
};
/* 0, or -1 when v is not a user entry (a tombstone, garbage). */
int api_cache_card_decode(const char *v, size_t len, struct api_card *out);
/* For the n users ids that missed, with what Redis held for each (seen: NIL or a string;
 * NULL or another type: not filled), set entries[i] to a user entry (malloc'd; NULL when
 * there is no such user) and fill the cache with them. */
enum ns_err api_cache_users_fetch(struct app *app, size_t n, const char *const *ids,
    const redisReply *const *seen, char **entries);
/* The cards of users uids[0..n), whose entries the caller read (entries[k]: that reply, or
 * NULL): a hit is decoded in place, the misses are read from PostgreSQL in one query, which
 * fills the cache, into *fetched (nfetched strings, the caller frees them). A user without
 * a users row gets a zeroed card (len[API_CARD_ID] 0). */
enum ns_err api_cache_cards_load(struct app *app, size_t n, const char *const *uids,
    const redisReply *const *entries, struct api_card *card, char ***fetched,
    size_t *nfetched);

/* Fill key with value only while it holds seen (seenlen 0: absent); the conditional fill
 * every cached read uses (see cache.c). Overwrite key with a unique tombstone. */
void api_cache_fill(struct app *app, const char *key, const char *seen, size_t seenlen,
    const char *value, size_t vlen);
void api_cache_tombstone(struct app *app, const char *key);

/* IP bans (contract §1.7), cached likewise: 1 banned (reason copied), 0 not, <0 error.
 * A NULL reason comes back as the one-character string API_CACHE_NULL_REASON. */
int api_cache_ip_banned(struct app *app, const char *ip, char *reason, size_t reasonlen);
void api_cache_ip_bans_invalidate(struct app *app);

#define API_IP_MAX 64			/* an address as text */
#define API_IP_REASON_MAX 512		/* an IP ban's reason kept for the 403 body */
#define API_CACHE_NULL_REASON '\x01'

/* Canonical text of an address (IPv4-mapped IPv6 as IPv4); unparsable text is copied. */
void api_cache_ip_normalise(const char *ip, char *out, size_t cap);

/* ---- entry codecs (cache_entry.c, no I/O; formats in cache.c) ---- */

#define API_CACHE_ENTRY_MAX 16384	/* one serialised user (4 KB JSON fields × 2 + text) */
#define API_CACHE_USER_FIELDS 19

/* The users row's fields in one order for cache.c's SELECT, the encoder and the decoder. */
struct api_cache_ufield {
	const char *name;
	size_t off, cap;	/* cap: the text field's size; 0 for an int64_t */
	int is_int;
};
extern const struct api_cache_ufield api_cache_ufields[API_CACHE_USER_FIELDS];

/* encode: the entry's length (NUL-terminated in buf), or -1 when it does not fit cap or a
 * user's text field holds the separator. decode: 0, or -1 when v is not such an entry (out
 * may then be partly written); the session's token is not in its entry but given. */
int api_cache_session_encode(const struct api_session *s, char *buf, size_t cap);
int api_cache_session_decode(const char *v, size_t len, const char *token,
    struct api_session *s);
int api_cache_user_encode(const struct api_user *u, char *buf, size_t cap);
int api_cache_user_decode(const char *v, size_t len, struct api_user *u);
/* A user entry into f[0] "u2", f[1] its fill and f[2..] the fields, slices of v (f and fl
 * hold API_CACHE_USER_FIELDS + 2); 0, or -1. */
int api_cache_user_split(const char *v, size_t len, const char **f, size_t *fl);
/* The separator out of every text field (for a user listed but not cached). */
void api_cache_user_blank_sep(struct api_user *u);
/* An IP-ban hash value ("r<reason>" or "n") into reason, cut to reasonlen - 1 bytes. */
void api_cache_ip_reason(const char *v, size_t len, char *reason, size_t reasonlen);

/* Forget what the previous request looked up (the router calls it first thing). */
void api_cache_begin(void);

/* The guard's reads in one Redis round trip: the IP ban, a rate-limit counter (rl_key NULL:
 * none) and the session of token (NULL: none) with its user. Session and user are kept for
 * this request, so the following api_cache_session/api_cache_user calls cost nothing on a
 * hit and one PostgreSQL read on a miss. */
struct api_cache_pre {
	int ip_banned;			/* 1 banned, 0 not, -1 unknown (both stores failed) */
	char ip_reason[API_IP_REASON_MAX];
	int rl_ok;			/* 1: rl holds the counter; 0: not counted (Redis down) */
	struct ns_rl_state rl;
};

/* A route's own Redis reads, run by the guard's script after it found the session entry, so
 * that a route like GET /room/queue costs one round trip, not two. lua is the body of a Lua
 * function that sees `uid` (the session's user id as the entry holds it; the guard in C
 * still decides whether the request may go on) and the route's arguments as ARGV[5] on, and
 * returns one value. Declare it static with .lua set; the script is made at first use. */
struct api_cache_extra {
	const char *lua;
	struct ns_script script;	/* the guard's script with lua joined, at first use */
};

#define API_CACHE_ASK_ARGS 12	/* arguments a route passes to its part */

/* What one request asks of its route's part (NULL extra: nothing), and optionally one plain
 * command (a read) run right after the script in the same transaction (nmore 1). The
 * strings must stay valid until api_cache_prefetch returns. */
struct api_cache_ask {
	struct api_cache_extra *extra;
	int nargs;
	const char *args[API_CACHE_ASK_ARGS];
	size_t nmore;
	struct ns_kv_command more;
};

void api_cache_prefetch(struct app *app, const char *ip, const char *rl_key,
    enum ns_rl_mode mode, int window_s, const char *token, const struct api_cache_ask *ask,
    struct api_cache_pre *out);

/* The reply to this request's route part, which the caller then owns (freeReplyObject);
 * *value is the part's value inside it, *more the reply to the ask's plain command (NULL
 * when none was asked). NULL when the part did not run (no session entry, IP banned, Redis
 * down, no part asked) or was already taken. */
redisReply *api_cache_extra_take(const redisReply **value, const redisReply **more);

#endif
