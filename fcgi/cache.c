/* cache: Redis-backed query cache (see cache.h).
 *
 * Entries (ns:c:<kind>:<id>, names from ns_keys_cache):
 *   s:<token>   "s1" US user_id US is_active US expires_ms
 *   u:<userId>  "u2" US fill US field US field ... (the struct api_user fields, in order;
 *               fill: API_CACHE_FILL_LEN random characters made at each fill, so that a
 *               list can tell an entry unchanged without reading it whole)
 *   ipbans      hash: "." = loaded marker, "<ip>" = "r<reason>" or "n" (NULL reason)
 *   ipbans:gen  counter, INCRed by every IP-ban invalidation
 * US is the ASCII unit separator; a value holding one is simply not cached.
 *
 * The stale-fill race (reader misses, reads the old row, a writer updates PostgreSQL and
 * invalidates, the reader then stores the old row) is closed without extra keys:
 * invalidation does not delete a session/user entry but overwrites it with a unique
 * tombstone "~<random>" (TTL TOMBSTONE_TTL_S), and a reader fills only when the entry still
 * holds exactly what it saw at its miss (nothing, or that same tombstone), checked and set in
 * one Lua script. Any invalidation in between changes the entry, so the fill is dropped. A
 * reader slower than the tombstone's lifetime could still fill stale data; the statement
 * timeout keeps readers far below it. The IP-ban set uses a generation counter the same way.
 *
 * Reads go to the primary (ns_db_exec), not the replica: a session created or invalidated a
 * moment ago must be seen as such by the next request through any worker.
 *
 * The hot path (every guarded request) asks Redis once: api_cache_prefetch() runs one script
 * that answers the IP ban, counts the rate limit and returns the session and its user. The
 * results are kept for the rest of the request, so the handler's own api_cache_user() of the
 * same user costs nothing. A route may add its own reads to that script (struct
 * api_cache_extra): the queue's page comes back in the same round trip. With Redis down every
 * read goes to PostgreSQL. */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "app.h"
#include "nsconfig.h"
#include "clock.h"
#include "db.h"
#include "keys.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "rand.h"
#include "ratelimit.h"
#include "script.h"

#define TOMBSTONE_TTL_S 3600		/* ≫ any reader's miss-to-fill time */
#define IPBANS_CACHE_MAX 20000		/* bigger sets are read from PostgreSQL per request */
#define STR_(x) #x
#define STR(x) STR_(x)
#define FILL_END (3 + API_CACHE_FILL_LEN)	/* "u2" US fill: the fill's last byte, from 1 */

/* ---- per-request memo ---------------------------------------------------------------- */

static struct {
	int session_state;		/* 0 unknown, 1 found, -1 not found */
	struct api_session session;
	int user_state;
	struct api_user user;
	/* what Redis held at the miss, for the conditional fill: "" = absent */
	char session_seen[64], user_seen[64];
	int session_seen_ok, user_seen_ok;	/* 1: *_seen is valid (Redis answered) */
	redisReply *extra;	/* the guard's reply while its route part is not taken */
	int extra_more;		/* ... a transaction's: {script's reply, the command's} */
} memo;

void
api_cache_begin(void)
{
	memo.session_state = 0;
	memo.user_state = 0;
	memo.session_seen_ok = 0;
	memo.user_seen_ok = 0;
	if (memo.extra) {	/* the route did not take it (refused by the guard) */
		freeReplyObject(memo.extra);
		memo.extra = NULL;
	}
}

/* The columns in api_cache_ufields' order (cache_entry.c). */
#define USER_COLUMNS \
	"SELECT user_id::text, name, gender, account_type, coalesce(email, '')," \
	" coalesce(selfie_url, ''), coalesce(video_url, ''), socials::text, role, paid_status," \
	" ban_status, coalesce(review_status, ''), coalesce(introduced_to::text, '')," \
	" coalesce(introduced_by::text, ''), timer_total_seconds, session_count, streak_days," \
	" last_sessions::text, (extract(epoch FROM created_at) * 1000)::bigint FROM users"
static const char USER_SELECT[] = USER_COLUMNS " WHERE user_id = $1";
static const char USERS_SELECT[] = USER_COLUMNS " WHERE user_id = ANY($1::uuid[])";

/* ---- PostgreSQL ------------------------------------------------------------------------ */

static enum ns_err
db_session(struct app *app, const char *token, struct api_session *out)
{
	static const char sql[] =
	    "SELECT user_id::text, is_active, (extract(epoch FROM expires_at) * 1000)::bigint"
	    " FROM sessions WHERE session_token = $1";
	const char *params[1] = { token };
	enum ns_err e;
	PGresult *r = ns_db_exec(app->db, sql, 1, params, &e);

	if (!r) {
		api_metrics_db_error();
		return e;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		return NS_E_NOT_FOUND;
	}
	memset(out, 0, sizeof(*out));
	snprintf(out->token, sizeof(out->token), "%s", token);
	snprintf(out->user_id, sizeof(out->user_id), "%s", PQgetvalue(r, 0, 0));
	out->is_active = PQgetvalue(r, 0, 1)[0] == 't';
	out->expires_at_ms = strtoll(PQgetvalue(r, 0, 2), NULL, 10);
	PQclear(r);
	return NS_OK;
}

/* Row row of a USER_COLUMNS result into out. */
static void
user_from_row(const PGresult *r, int row, struct api_user *out)
{
	int i;

	memset(out, 0, sizeof(*out));
	for (i = 0; i < API_CACHE_USER_FIELDS; i++) {
		char *p = (char *)out + api_cache_ufields[i].off;
		const char *v = PQgetvalue(r, row, i);

		if (api_cache_ufields[i].is_int) {
			*(int64_t *)(void *)p = strtoll(v, NULL, 10);
			continue;
		}
		/* the schema's limits keep every column within its field */
		if (strlen(v) >= api_cache_ufields[i].cap)
			ns_log_warn("user %s: %s over %zu bytes, truncated", PQgetvalue(r, row, 0),
			    api_cache_ufields[i].name, api_cache_ufields[i].cap);
		snprintf(p, api_cache_ufields[i].cap, "%s", v);
	}
}

static enum ns_err
db_user(struct app *app, const char *user_id, struct api_user *out)
{
	const char *params[1] = { user_id };
	enum ns_err e;
	PGresult *r = ns_db_exec(app->db, USER_SELECT, 1, params, &e);

	if (!r) {
		api_metrics_db_error();
		return e;
	}
	if (PQntuples(r) != 1 || PQnfields(r) != API_CACHE_USER_FIELDS) {
		PQclear(r);
		return NS_E_NOT_FOUND;
	}
	user_from_row(r, 0, out);
	PQclear(r);
	return NS_OK;
}

/* ---- Redis ------------------------------------------------------------------------------- */

/* Fill key with value only if it still holds seen ("" = absent); one atomic step. With a
 * second key (a user entry's NS_CACHE_FILL), the entry's fill is written there too. */
#define FILL_LUA_ONE(k, f, seen, val, ttl) \
	"local cur = redis.call('GET', " k ")\n" \
	"if (cur == false and " seen " == '') or cur == " seen " then\n" \
	"  redis.call('SET', " k ", " val ", 'EX', " ttl ")\n" \
	"  if " f " then redis.call('SET', " f ", string.sub(" val ", 4, " \
	STR(FILL_END) "), 'EX', " ttl ") end\n" \
	"  n = n + 1\n" \
	"end\n"
static struct ns_script fill_script = { .src =
	"local n = 0\n"
	FILL_LUA_ONE("KEYS[1]", "KEYS[2]", "ARGV[1]", "ARGV[2]", "ARGV[3]")
	"return n\n" };

static void
fill_one(struct app *app, const char *key, const char *fkey, const char *seen, size_t seenlen,
    const char *value, size_t vlen)
{
	char ttl[16];
	const char *args[5];
	size_t lens[5];
	enum ns_err e;
	redisReply *r;
	int k = 0;

	snprintf(ttl, sizeof(ttl), "%d", app->cfg->cache_ttl_s);
	args[k] = key, lens[k++] = strlen(key);
	if (fkey)
		args[k] = fkey, lens[k++] = strlen(fkey);
	args[k] = seen, lens[k++] = seenlen;
	args[k] = value, lens[k++] = vlen;
	args[k] = ttl, lens[k++] = strlen(ttl);
	r = ns_script_eval(app->kv, &fill_script, &e, fkey ? 2 : 1, k - (fkey ? 2 : 1), args,
	    lens);
	if (!r)
		api_metrics_redis_error();
	else
		freeReplyObject(r);
}

void
api_cache_fill(struct app *app, const char *key, const char *seen, size_t seenlen,
    const char *value, size_t vlen)
{
	fill_one(app, key, NULL, seen, seenlen, value, vlen);
}

/* GET key: 1 hit (value copied), 0 miss (seen = what was there), -1 Redis failed. */
static int
kv_get(struct app *app, const char *key, char *value, size_t cap, size_t *vlen, char *seen,
    size_t seencap)
{
	enum ns_err e;
	redisReply *r = ns_kv_cmd(app->kv, &e, "GET %s", key);
	int rc = 0;

	if (!r) {
		api_metrics_redis_error();
		return -1;
	}
	seen[0] = '\0';
	if (r->type == REDIS_REPLY_STRING && r->len > 0 && r->str[0] != '~' &&
	    r->len < cap) {
		memcpy(value, r->str, r->len);
		value[r->len] = '\0';
		*vlen = r->len;
		rc = 1;
	} else if (r->type == REDIS_REPLY_STRING && r->len < seencap) {
		memcpy(seen, r->str, r->len);
		seen[r->len] = '\0';
	}
	freeReplyObject(r);
	return rc;
}

/* A unique tombstone: NS_CACHE_TOMBSTONE and a random suffix, so that a reader's conditional
 * fill can tell this invalidation from any other. */
static void
tombstone_text(char stone[NS_UUID_LEN + 2])
{
	stone[0] = NS_CACHE_TOMBSTONE[0];
	if (ns_rand_uuid(stone + 1) != NS_OK)
		snprintf(stone + 1, NS_UUID_LEN + 1, "%" PRId64, ns_clock_mono_us());
}

static void
invalidate_failed(struct app *app, const char *key)
{
	/* The entry may now outlive the write by up to cache_ttl_s. */
	api_metrics_redis_error();
	ns_log_err("cache: invalidating %s failed: %s", key, ns_kv_last_error(app->kv));
}

void
api_cache_tombstone(struct app *app, const char *key)
{
	char stone[NS_UUID_LEN + 2];
	enum ns_err e;
	redisReply *r;

	tombstone_text(stone);
	r = ns_kv_cmd(app->kv, &e, "SET %s %s EX %d", key, stone, TOMBSTONE_TTL_S);
	if (!r) {
		invalidate_failed(app, key);
		return;
	}
	freeReplyObject(r);
}

/* ---- sessions and users -------------------------------------------------------------------- */

enum ns_err
api_cache_session(struct app *app, const char *token, struct api_session *out)
{
	char key[NS_KEY_MAX], val[API_CACHE_ENTRY_MAX], enc[256];
	size_t vlen = 0;
	int got;
	enum ns_err e;

	if (memo.session_state != 0 && strcmp(memo.session.token, token) == 0) {
		if (memo.session_state < 0)
			return NS_E_NOT_FOUND;
		*out = memo.session;
		return NS_OK;
	}
	if (!ns_keys_cache(key, "s", token))
		return NS_E_NOT_FOUND;
	if (memo.session_seen_ok && strcmp(memo.session.token, token) == 0) {
		got = 0;	/* the prefetch already saw the miss */
	} else {
		got = kv_get(app, key, val, sizeof(val), &vlen, memo.session_seen,
		    sizeof(memo.session_seen));
		memo.session_seen_ok = got == 0;
		if (got == 1 && api_cache_session_decode(val, vlen, token, out) == 0) {
			api_metrics_cache(API_CACHE_SESSION, 1);
			goto found;
		}
	}
	api_metrics_cache(API_CACHE_SESSION, 0);
	e = db_session(app, token, out);
	if (e == NS_E_NOT_FOUND) {
		memset(&memo.session, 0, sizeof(memo.session));
		snprintf(memo.session.token, sizeof(memo.session.token), "%s", token);
		memo.session_state = -1;
		return e;
	}
	if (e != NS_OK)
		return e;
	if (memo.session_seen_ok && api_cache_session_encode(out, enc, sizeof(enc)) > 0)
		api_cache_fill(app, key, memo.session_seen, strlen(memo.session_seen), enc,
		    strlen(enc));
found:
	memo.session = *out;
	memo.session_state = 1;
	memo.session_seen_ok = 0;
	return NS_OK;
}

enum ns_err
api_cache_user(struct app *app, const char *user_id, struct api_user *out)
{
	static char val[API_CACHE_ENTRY_MAX];
	char key[NS_KEY_MAX], fkey[NS_KEY_MAX];
	size_t vlen = 0;
	int got, n;
	enum ns_err e;

	if (memo.user_state != 0 && strcmp(memo.user.user_id, user_id) == 0) {
		if (memo.user_state < 0)
			return NS_E_NOT_FOUND;
		*out = memo.user;
		return NS_OK;
	}
	if (!ns_keys_cache(key, NS_CACHE_USER, user_id))
		return NS_E_NOT_FOUND;
	if (memo.user_seen_ok && strcmp(memo.user.user_id, user_id) == 0) {
		got = 0;
	} else {
		got = kv_get(app, key, val, sizeof(val), &vlen, memo.user_seen,
		    sizeof(memo.user_seen));
		memo.user_seen_ok = got == 0;
		if (got == 1 && api_cache_user_decode(val, vlen, out) == 0) {
			api_metrics_cache(API_CACHE_USER, 1);
			goto found;
		}
	}
	api_metrics_cache(API_CACHE_USER, 0);
	e = db_user(app, user_id, out);
	if (e == NS_E_NOT_FOUND) {
		memset(memo.user.user_id, 0, sizeof(memo.user.user_id));
		snprintf(memo.user.user_id, sizeof(memo.user.user_id), "%s", user_id);
		memo.user_state = -1;
		return e;
	}
	if (e != NS_OK)
		return e;
	if (memo.user_seen_ok && (n = api_cache_user_encode(out, val, sizeof(val))) > 0 &&
	    ns_keys_cache(fkey, NS_CACHE_FILL, user_id))
		fill_one(app, key, fkey, memo.user_seen, strlen(memo.user_seen), val, (size_t)n);
found:
	memo.user = *out;
	memo.user_state = 1;
	memo.user_seen_ok = 0;
	return NS_OK;
}

void
api_cache_session_invalidate(struct app *app, const char *token)
{
	char key[NS_KEY_MAX];

	if (strcmp(memo.session.token, token) == 0)
		memo.session_state = 0, memo.session_seen_ok = 0;
	if (ns_keys_cache(key, "s", token))
		api_cache_tombstone(app, key);
}

static struct ns_script user_invalidate_script = { .src = NS_CACHE_USER_INVALIDATE_LUA };

/* The entry becomes a tombstone and its fill goes, in one step (keys.h). */
void
api_cache_user_invalidate(struct app *app, const char *user_id)
{
	char key[NS_KEY_MAX], fkey[NS_KEY_MAX], stone[NS_UUID_LEN + 2], ttl[16];
	const char *args[4] = { key, fkey, stone, ttl };
	enum ns_err e;
	redisReply *r;

	if (strcmp(memo.user.user_id, user_id) == 0)
		memo.user_state = 0, memo.user_seen_ok = 0;
	if (!ns_keys_cache(key, NS_CACHE_USER, user_id) ||
	    !ns_keys_cache(fkey, NS_CACHE_FILL, user_id))
		return;
	tombstone_text(stone);
	snprintf(ttl, sizeof(ttl), "%d", TOMBSTONE_TTL_S);
	if ((r = ns_script_eval(app->kv, &user_invalidate_script, &e, 2, 2, args, NULL)) == NULL) {
		invalidate_failed(app, key);
		return;
	}
	freeReplyObject(r);
}

/* ---- many users at once (the matchmaking lists) ---------------------------------------- */

/* Fill each user entry KEYS[2i - 1] (and its fill KEYS[2i]) with ARGV[2i + 1] when it
 * still holds ARGV[2i] ("" = absent), as fill_script does for one; ARGV[1] the lifetime. */
static struct ns_script fill_many_script = { .src =
	"local n = 0\n"
	"for i = 1, #KEYS / 2 do\n"
	FILL_LUA_ONE("KEYS[2 * i - 1]", "KEYS[2 * i]", "ARGV[2 * i]", "ARGV[2 * i + 1]", "ARGV[1]")
	"end\n"
	"return n\n" };

/* Only entries we made, over what Redis answered for them (a string or nothing). */
static int
fillable(const char *entry, const redisReply *seen, int nofill)
{
	return entry && !nofill && seen &&
	    (seen->type == REDIS_REPLY_NIL || seen->type == REDIS_REPLY_STRING);
}

static void
fill_many(struct app *app, size_t n, char (*keys)[NS_KEY_MAX], char (*fkeys)[NS_KEY_MAX],
    const redisReply *const *seen, char *const *entries, const unsigned char *nofill)
{
	const char **args = calloc(1 + 4 * n, sizeof(*args));
	size_t *lens = calloc(1 + 4 * n, sizeof(*lens)), i, k = 0, a;
	char ttl[16];
	enum ns_err e;
	redisReply *r;

	if (!args || !lens)
		goto out;
	for (i = 0; i < n; i++)
		if (fillable(entries[i], seen[i], nofill[i])) {
			args[k] = keys[i], lens[k] = strlen(keys[i]), k++;
			args[k] = fkeys[i], lens[k] = strlen(fkeys[i]), k++;
		}
	if (k == 0)
		goto out;
	snprintf(ttl, sizeof(ttl), "%d", app->cfg->cache_ttl_s);
	a = k;
	args[a] = ttl, lens[a] = strlen(ttl), a++;
	for (i = 0; i < n; i++) {
		if (!fillable(entries[i], seen[i], nofill[i]))
			continue;
		args[a] = seen[i]->type == REDIS_REPLY_STRING ? seen[i]->str : "";
		lens[a++] = seen[i]->type == REDIS_REPLY_STRING ? seen[i]->len : 0;
		args[a] = entries[i], lens[a] = strlen(entries[i]), a++;
	}
	r = ns_script_eval(app->kv, &fill_many_script, &e, (int)k, (int)(a - k), args, lens);
	if (r)
		freeReplyObject(r);
	else
		api_metrics_redis_error();
out:
	free(args);
	free(lens);
}

enum ns_err
api_cache_users_fetch(struct app *app, size_t n, const char *const *ids,
    const redisReply *const *seen, char **entries)
{
	char (*keys)[NS_KEY_MAX] = NULL, (*fkeys)[NS_KEY_MAX] = NULL, *arr = NULL;
	unsigned char *nofill = NULL;
	const char *params[1];
	struct api_user *u = NULL;
	enum ns_err e = NS_E_NOMEM;
	PGresult *r = NULL;
	size_t i;
	int row, len;

	for (i = 0; i < n; i++)
		entries[i] = NULL;
	if (n == 0)
		return NS_OK;
	keys = calloc(n, sizeof(*keys));
	fkeys = calloc(n, sizeof(*fkeys));
	nofill = calloc(n, 1);
	u = malloc(sizeof(*u));
	if (!keys || !fkeys || !nofill || !u)
		goto out;
	for (i = 0; i < n; i++) {
		if (strlen(ids[i]) != NS_UUID_LEN || !ns_keys_cache(keys[i], NS_CACHE_USER, ids[i]) ||
		    !ns_keys_cache(fkeys[i], NS_CACHE_FILL, ids[i])) {
			e = NS_E_BAD_REQUEST;
			goto out;
		}
	}
	if (!(params[0] = arr = ns_db_uuid_array(ids, n)))
		goto out;
	r = ns_db_exec_prepared(app->db, "cache_users", USERS_SELECT, 1, params, &e);
	if (r == NULL) {
		api_metrics_db_error();
		goto out;
	}
	e = NS_E_NOMEM;
	for (row = 0; row < PQntuples(r) && PQnfields(r) == API_CACHE_USER_FIELDS; row++) {
		static char val[API_CACHE_ENTRY_MAX];

		user_from_row(r, row, u);
		for (i = 0; i < n && (entries[i] || strcmp(ids[i], u->user_id) != 0); i++)
			;
		if (i == n)
			continue;
		if ((len = api_cache_user_encode(u, val, sizeof(val))) < 0) {
			/* A field holding the separator: listed with it blanked, not cached. */
			api_cache_user_blank_sep(u);
			nofill[i] = 1;
			len = api_cache_user_encode(u, val, sizeof(val));
		}
		if (len < 0)
			continue;
		if (!(entries[i] = strdup(val)))
			goto out;
	}
	api_metrics_cache_n(API_CACHE_USER, 0, n);
	fill_many(app, n, keys, fkeys, seen, entries, nofill);
	e = NS_OK;
out:
	if (e != NS_OK)
		for (i = 0; i < n; i++)
			free(entries[i]), entries[i] = NULL;
	PQclear(r);
	free(arr);
	free(u);
	free(nofill);
	free(fkeys);
	free(keys);
	return e;
}

/* ---- IP bans ------------------------------------------------------------------------------- */

static int
db_ip_banned(struct app *app, const char *ip, char *reason, size_t reasonlen)
{
	static const char sql[] =
	    "SELECT coalesce(reason, ''), reason IS NULL FROM ip_bans"
	    " WHERE ip_address = $1::inet";
	const char *params[1] = { ip };
	enum ns_err e;
	unsigned char a[16];
	PGresult *r;
	int banned;

	/* not an address (a unix-socket peer, a test harness): never banned */
	if (inet_pton(AF_INET, ip, a) != 1 && inet_pton(AF_INET6, ip, a) != 1)
		return 0;
	r = ns_db_exec(app->db, sql, 1, params, &e);
	if (!r) {
		api_metrics_db_error();
		return -1;
	}
	banned = PQntuples(r) > 0;
	if (banned) {
		if (PQgetvalue(r, 0, 1)[0] == 't')
			snprintf(reason, reasonlen, "%c", API_CACHE_NULL_REASON);
		else
			snprintf(reason, reasonlen, "%s", PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return banned;
}

/* Load the whole ban set into the hash when the generation is still gen. */
static struct ns_script ipfill_script = { .src =
	"local g = redis.call('GET', KEYS[2]) or ''\n"
	"if g ~= ARGV[1] or redis.call('EXISTS', KEYS[1]) == 1 then return 0 end\n"
	"for i = 3, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end\n"
	"redis.call('HSET', KEYS[1], '.', '1')\n"
	"redis.call('EXPIRE', KEYS[1], ARGV[2])\n"
	"return 1\n" };

static void
ipbans_fill(struct app *app, const char *gen)
{
	static const char sql[] =
	    "SELECT host(ip_address), reason IS NULL, coalesce(reason, '') FROM ip_bans"
	    " LIMIT " STR(IPBANS_CACHE_MAX) " + 1";
	char hkey[NS_KEY_MAX], gkey[NS_KEY_MAX], ttl[16];
	const char **args = NULL;
	size_t *lens = NULL;
	char (*ips)[INET6_ADDRSTRLEN + 1] = NULL;
	char **vals = NULL;
	enum ns_err e;
	PGresult *r;
	int n, i, a = 0;
	redisReply *rep;

	if (!ns_keys_cache(hkey, "ipbans", "all") || !ns_keys_cache(gkey, "ipbans", "gen"))
		return;
	r = ns_db_exec(app->db, sql, 0, NULL, &e);
	if (!r)
		return;
	n = PQntuples(r);
	if (n > IPBANS_CACHE_MAX) {
		ns_log_warn("cache: %d IP bans, over %d: not cached", n, IPBANS_CACHE_MAX);
		PQclear(r);
		return;
	}
	args = calloc((size_t)(4 + 2 * n), sizeof(*args));
	lens = calloc((size_t)(4 + 2 * n), sizeof(*lens));
	ips = calloc((size_t)n + 1, sizeof(*ips));
	vals = calloc((size_t)n + 1, sizeof(*vals));
	if (!args || !lens || !ips || !vals)
		goto out;
	snprintf(ttl, sizeof(ttl), "%d", app->cfg->cache_ttl_s);
	args[a++] = hkey;
	args[a++] = gkey;
	args[a++] = gen;
	args[a++] = ttl;
	for (i = 0; i < n; i++) {
		const char *reason = PQgetvalue(r, i, 2);
		size_t rl = strlen(reason);

		api_cache_ip_normalise(PQgetvalue(r, i, 0), ips[i], sizeof(ips[i]));
		if (!(vals[i] = malloc(rl + 2)))
			goto out;
		vals[i][0] = PQgetvalue(r, i, 1)[0] == 't' ? 'n' : 'r';
		memcpy(vals[i] + 1, reason, rl + 1);
		args[a++] = ips[i];
		args[a++] = vals[i];
	}
	for (i = 0; i < a; i++)
		lens[i] = strlen(args[i]);
	rep = ns_script_eval(app->kv, &ipfill_script, &e, 2, a - 2, args, lens);
	if (rep)
		freeReplyObject(rep);
	else
		api_metrics_redis_error();
out:
	if (vals)
		for (i = 0; i < n; i++)
			free(vals[i]);
	free(vals);
	free(ips);
	free(lens);
	free(args);
	PQclear(r);
}

/* The IP-ban part of a script reply: state (1 loaded, 0 miss) and value (the reason when
 * loaded and banned, the generation on a miss). Returns 1/0 banned, or -2 for a miss with
 * gen copied. */
static int
ip_from_reply(const redisReply *st, const redisReply *v, char *reason, size_t reasonlen,
    char *gen, size_t gencap)
{
	if (st->type == REDIS_REPLY_INTEGER && st->integer == 1) {
		api_metrics_cache(API_CACHE_IPBAN, 1);
		if (v->type != REDIS_REPLY_STRING)
			return 0;
		api_cache_ip_reason(v->str, v->len, reason, reasonlen);
		return 1;
	}
	snprintf(gen, gencap, "%s", v->type == REDIS_REPLY_STRING ? v->str : "");
	return -2;
}

/* A miss: ask PostgreSQL, then load the whole set for the next requests. */
static int
ip_miss(struct app *app, const char *ip, char *reason, size_t reasonlen, const char *gen)
{
	int banned;

	api_metrics_cache(API_CACHE_IPBAN, 0);
	banned = db_ip_banned(app, ip, reason, reasonlen);
	if (banned >= 0)
		ipbans_fill(app, gen);
	return banned;
}

#define IP_LUA \
	"local ips, ipv\n" \
	"if redis.call('HEXISTS', KEYS[1], '.') == 1 then\n" \
	"  ips = 1; ipv = redis.call('HGET', KEYS[1], ARGV[1])\n" \
	"else\n" \
	"  ips = 0; ipv = redis.call('GET', KEYS[2]) or ''\n" \
	"end\n"

static struct ns_script ipget_script = { .src = IP_LUA "return {ips, ipv}\n" };

int
api_cache_ip_banned(struct app *app, const char *ip_in, char *reason, size_t reasonlen)
{
	char ip[API_IP_MAX], hkey[NS_KEY_MAX], gkey[NS_KEY_MAX], gen[32] = "";
	const char *args[3];
	enum ns_err e;
	redisReply *r;
	int banned = -2;

	api_cache_ip_normalise(ip_in, ip, sizeof(ip));
	if (!ns_keys_cache(hkey, "ipbans", "all") || !ns_keys_cache(gkey, "ipbans", "gen"))
		return db_ip_banned(app, ip, reason, reasonlen);
	args[0] = hkey, args[1] = gkey, args[2] = ip;
	r = ns_script_eval(app->kv, &ipget_script, &e, 2, 1, args, NULL);
	if (!r) {
		api_metrics_redis_error();
		return db_ip_banned(app, ip, reason, reasonlen);
	}
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2)
		banned = ip_from_reply(r->element[0], r->element[1], reason, reasonlen, gen,
		    sizeof(gen));
	freeReplyObject(r);
	return banned >= 0 ? banned : ip_miss(app, ip, reason, reasonlen, gen);
}

/* KEYS: ban hash, ban generation, rate-limit counter or '', session entry or ''.
 * ARGV: ip, rate-limit mode, window ms, user-entry key prefix. A banned address is
 * neither counted nor looked up further. Leaves uid set when the session entry is one. */
#define PREFETCH_LUA NS_RL_LUA IP_LUA \
	"local c, t, sv, uv, uid = 0, 0, false, false, nil\n" \
	"if ips == 1 and ipv then return {ips, ipv, c, t, sv, uv} end\n" \
	"if KEYS[3] ~= '' then c, t = ns_rl(KEYS[3], ARGV[2], ARGV[3]) end\n" \
	"if KEYS[4] ~= '' then\n" \
	"  sv = redis.call('GET', KEYS[4])\n" \
	"  if sv and string.sub(sv, 1, 3) == 's1\\31' then\n" \
	"    uid = string.sub(sv, 4, 39)\n" \
	"    uv = redis.call('GET', ARGV[4] .. uid)\n" \
	"  end\n" \
	"end\n"

static struct ns_script prefetch_script = { .src = PREFETCH_LUA
	"return {ips, ipv, c, t, sv, uv}\n" };

/* The guard's script with a route's part: its value is the reply's seventh element. */
static struct ns_script *
extra_script(struct api_cache_extra *x)
{
	static const char head[] = "local function extra(uid)\n";
	static const char tail[] = "\nend\n" PREFETCH_LUA
	    "return {ips, ipv, c, t, sv, uv, uid and extra(uid) or false}\n";
	size_t n;
	char *src;

	if (x->script.src)
		return &x->script;
	n = strlen(x->lua);
	if (!(src = malloc(sizeof(head) - 1 + n + sizeof(tail))))
		return NULL;
	memcpy(src, head, sizeof(head) - 1);
	memcpy(src + sizeof(head) - 1, x->lua, n);
	memcpy(src + sizeof(head) - 1 + n, tail, sizeof(tail));
	x->script.src = src;	/* kept for the process' life, like the static scripts */
	return &x->script;
}

redisReply *
api_cache_extra_take(const redisReply **value, const redisReply **more)
{
	redisReply *r = memo.extra;

	memo.extra = NULL;
	*more = NULL;
	if (r && memo.extra_more) {	/* a transaction: {script's reply, command's reply} */
		*value = r->element[0]->element[6];
		*more = r->element[1];
	} else if (r) {
		*value = r->element[6];
	}
	return r;
}

/* Keep a prefetched entry: a hit goes to the memo, a miss remembers what was seen. */
static void
pre_session(const char *token, const redisReply *v)
{
	memset(&memo.session, 0, sizeof(memo.session));
	snprintf(memo.session.token, sizeof(memo.session.token), "%s", token);
	memo.session_seen[0] = '\0';
	if (v->type == REDIS_REPLY_STRING && v->len > 0 && v->str[0] != '~' &&
	    api_cache_session_decode(v->str, v->len, token, &memo.session) == 0) {
		api_metrics_cache(API_CACHE_SESSION, 1);
		memo.session_state = 1;
		return;
	}
	if (v->type == REDIS_REPLY_STRING && v->len < sizeof(memo.session_seen))
		memcpy(memo.session_seen, v->str, v->len + 1);
	else if (v->type == REDIS_REPLY_STRING)
		return;		/* unusable entry: no fill; the read goes to PostgreSQL */
	memo.session_seen_ok = 1;
}

static void
pre_user(const redisReply *v)
{
	memset(memo.user.user_id, 0, sizeof(memo.user.user_id));
	snprintf(memo.user.user_id, sizeof(memo.user.user_id), "%s", memo.session.user_id);
	memo.user_seen[0] = '\0';
	if (v->type == REDIS_REPLY_STRING && v->len > 0 && v->str[0] != '~' &&
	    api_cache_user_decode(v->str, v->len, &memo.user) == 0 &&
	    strcmp(memo.user.user_id, memo.session.user_id) == 0) {
		api_metrics_cache(API_CACHE_USER, 1);
		memo.user_state = 1;
		return;
	}
	snprintf(memo.user.user_id, sizeof(memo.user.user_id), "%s", memo.session.user_id);
	if (v->type == REDIS_REPLY_STRING && v->len < sizeof(memo.user_seen))
		memcpy(memo.user_seen, v->str, v->len + 1);
	else if (v->type == REDIS_REPLY_STRING)
		return;
	memo.user_seen_ok = 1;
}

void
api_cache_prefetch(struct app *app, const char *ip_in, const char *rl_key, enum ns_rl_mode mode,
    int window_s, const char *token, const struct api_cache_ask *ask, struct api_cache_pre *out)
{
	char ip[API_IP_MAX], hkey[NS_KEY_MAX], gkey[NS_KEY_MAX], skey[NS_KEY_MAX];
	char ukey[NS_KEY_MAX], win[24], mode_s[4], gen[32] = "";
	const char *args[8 + API_CACHE_ASK_ARGS];
	struct ns_script *script = &prefetch_script, *x;
	enum ns_err e;
	redisReply *r, *top;
	int more;
	int banned = -2, nargs = 4, i;

	memset(out, 0, sizeof(*out));
	api_cache_ip_normalise(ip_in, ip, sizeof(ip));
	if (!rl_key || mode == NS_RL_OFF)
		rl_key = "", mode = NS_RL_OFF;
	if (!token || !ns_keys_cache(skey, "s", token))
		skey[0] = '\0', token = NULL;
	if (!ns_keys_cache(hkey, "ipbans", "all") || !ns_keys_cache(gkey, "ipbans", "gen") ||
	    !ns_keys_cache(ukey, NS_CACHE_USER, "")) {
		out->ip_banned = db_ip_banned(app, ip, out->ip_reason, sizeof(out->ip_reason));
		return;
	}
	snprintf(win, sizeof(win), "%lld", (long long)window_s * 1000);
	snprintf(mode_s, sizeof(mode_s), "%d", (int)mode);
	args[0] = hkey, args[1] = gkey, args[2] = rl_key, args[3] = skey;
	args[4] = ip, args[5] = mode_s, args[6] = win, args[7] = ukey;
	if (token && ask && ask->extra && ask->nargs <= API_CACHE_ASK_ARGS &&
	    (x = extra_script(ask->extra)) != NULL) {
		script = x;
		for (i = 0; i < ask->nargs; i++)
			args[8 + i] = ask->args[i];
		nargs += ask->nargs;
	}
	more = script != &prefetch_script && ask->nmore == 1;
	if (more) {
		top = ns_script_eval_exec(app->kv, script, &e, 4, nargs, args, NULL, 1, &ask->more);
		r = top ? top->element[0] : NULL;
	} else {
		top = r = ns_script_eval(app->kv, script, &e, 4, nargs, args, NULL);
	}
	if (!r) {
		/* Redis down: no limit, no cache; the guard reads PostgreSQL */
		api_metrics_redis_error();
		out->ip_banned = db_ip_banned(app, ip, out->ip_reason, sizeof(out->ip_reason));
		return;
	}
	if (r->type == REDIS_REPLY_ARRAY && (r->elements == 6 || r->elements == 7)) {
		redisReply **el = r->element;

		banned = ip_from_reply(el[0], el[1], out->ip_reason, sizeof(out->ip_reason), gen,
		    sizeof(gen));
		if (banned != 1 && mode != NS_RL_OFF && el[2]->type == REDIS_REPLY_INTEGER &&
		    el[3]->type == REDIS_REPLY_INTEGER) {
			out->rl_ok = 1;
			out->rl.count = el[2]->integer;
			out->rl.reset_ms = el[3]->integer;
		}
		if (banned != 1 && token) {
			pre_session(token, el[4]);
			if (memo.session_state == 1)
				pre_user(el[5]);
		}
		if (banned != 1 && memo.session_state == 1 && r->elements == 7 &&
		    r->element[6]->type != REDIS_REPLY_NIL) {
			memo.extra = top;	/* the route takes it (api_cache_extra_take) */
			memo.extra_more = more;
			top = NULL;
		}
	} else {
		ns_log_err("cache: unexpected prefetch reply type %d", r->type);
	}
	if (top)
		freeReplyObject(top);
	out->ip_banned = banned >= 0 ? banned :
	    ip_miss(app, ip, out->ip_reason, sizeof(out->ip_reason), gen);
}

void
api_cache_ip_bans_invalidate(struct app *app)
{
	static struct ns_script inv = { .src =
		"redis.call('INCR', KEYS[2])\n"
		"redis.call('DEL', KEYS[1])\n"
		"return 1\n" };
	char hkey[NS_KEY_MAX], gkey[NS_KEY_MAX];
	const char *args[2];
	size_t lens[2];
	enum ns_err e;
	redisReply *r;

	if (!ns_keys_cache(hkey, "ipbans", "all") || !ns_keys_cache(gkey, "ipbans", "gen"))
		return;
	args[0] = hkey, args[1] = gkey;
	lens[0] = strlen(hkey), lens[1] = strlen(gkey);
	r = ns_script_eval(app->kv, &inv, &e, 2, 0, args, lens);
	if (!r) {
		api_metrics_redis_error();
		ns_log_err("cache: invalidating the IP bans failed: %s", ns_kv_last_error(app->kv));
		return;
	}
	freeReplyObject(r);
}
