/* api_room: history, own card, the matchmaking queue and reel (contract §2.5).
 * The queue and reel read presence from Redis (ns:available, written by the gateways and
 * shared/presence). Both read the cards from the query cache (cache.h) and the requester's
 * cooldowns and reports from theirs (excl.h), the queue in the same Redis script as the page,
 * and PostgreSQL only for what missed. Neither asks anything per candidate. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "app.h"
#include "cache.h"
#include "ctl.h"
#include "clock.h"
#include "db.h"
#include "excl.h"
#include "json.h"
#include "keys.h"
#include "kv.h"
#include "log.h"
#include "metrics.h"
#include "nsconfig.h"
#include "rand.h"
#include "respond.h"
#include "script.h"
#include "sha256.h"

#define ROOM_HISTORY_MAX 1000	/* rows /room/history returns (newest first) */
#define ROOM_QVALUE_MAX 256	/* one decoded query-string value */
#define ROOM_QKEY_MAX 32	/* one decoded query-string key */
#define ROOM_SCORE_MAX 32	/* a zset score as Redis prints it */
#define ROOM_CURSOR_RAW_MAX (ROOM_SCORE_MAX + 1 + NS_UUID_LEN)	/* "score:userId" */
#define ROOM_QVIEW_TTL_S 600	/* lifetime of the recorded queue page */
#define ROOM_REEL_DEFAULT 20
#define ROOM_REEL_MAX 50
#define ROOM_REEL_SLACK 10	/* extra shuffled picks in case a presence has no users row */
#define ROOM_REEL_CURSOR_MAX 64
#define ROOM_REEL_TTL_S 3600	/* seen-set lifetime after last use */
#define ROOM_REEL_SCAN_MAX 100000	/* available users one reel call considers */
#define ROOM_REEL_HIDDEN_MAX 10000	/* cooldown partners and reported users honoured */
#define ROOM_REEL_RAND_SPARE 8	/* random numbers beyond one per pick, for rejections */
#define ROOM_REEL_FAST_EXCL_MAX 500	/* excluded users beyond which the reel scans (below) */
#define ROOM_REEL_FAST_TRIES 4	/* random ranks drawn per wanted pick before the scan */
#define ROOM_REEL_RAND_LEN 24	/* a 48-bit integer in decimal */
#define ROOM_ETAG_HEX 32	/* hex digits of the body digest in the ETag */
#define ROOM_JSON_CTYPE "application/json; charset=utf-8"
#define ROOM_BODY_MIN 65536	/* first size of the reused queue body buffer */
#define ROOM_BODY_KEEP (1u << 20)	/* a bigger buffer is freed after its request */
#define ROOM_BODY_MAX (64u << 20)	/* a page body (5,000 cards of worst-case text) */
#define ROOM_TAIL 4	/* last members of a page read with their scores (see queue_script) */
#define STR_(x) #x
#define STR(x) STR_(x)

#define MSG_USER_NOT_FOUND "User not found"
#define MSG_INVALID_LIMIT "Invalid limit"
#define MSG_INVALID_CURSOR "Invalid cursor"

/* ---- query string ---------------------------------------------------------------------- */

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* Percent-decode s[0..n) ('+' is a space) into out; -1 when malformed, over the ceiling or
 * holding a NUL. */
static int
form_decode(const char *s, size_t n, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n || (hi = hexval(s[i + 1])) < 0 ||
			    (lo = hexval(s[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		if (c == 0 || o + 1 >= outlen)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

/* The first value of query parameter name: 1 found (decoded into out), 0 absent, -1 present
 * but malformed or over the ceiling. */
static int
query_get(const char *query, const char *name, char *out, size_t outlen)
{
	const char *p = query;

	while (*p) {
		const char *end = strchr(p, '&'), *eq;
		size_t seglen = end ? (size_t)(end - p) : strlen(p);
		char key[ROOM_QKEY_MAX];

		eq = memchr(p, '=', seglen);
		if (form_decode(p, eq ? (size_t)(eq - p) : seglen, key, sizeof key) == 0 &&
		    strcmp(key, name) == 0) {
			if (!eq) {
				out[0] = '\0';
				return 1;
			}
			return form_decode(eq + 1, seglen - (size_t)(eq + 1 - p), out, outlen) == 0
			    ? 1 : -1;
		}
		p += seglen;
		if (*p == '&')
			p++;
	}
	return 0;
}

/* A decimal integer, optional '-'; values beyond ±10^9 are clamped (only ranges are asked). */
static int
parse_int(const char *s, long *out)
{
	int neg = 0;
	long v = 0;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (*s == '\0')
		return 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return 0;
		if (v < 1000000000L)
			v = v * 10 + (*s - '0');
	}
	*out = neg ? -v : v;
	return 1;
}

/* ---- JSON helpers ---------------------------------------------------------------------- */

static int64_t
col_i64(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* ---- GET /room/history ------------------------------------------------------------------ */

static const char history_sql[] =
	"SELECT session_id, room_id, partner_id, partner_name,"
	" floor(extract(epoch FROM started_at) * 1000)::bigint, duration, messages"
	" FROM chat_history WHERE user_id = $1::uuid"
	" ORDER BY created_at DESC, id DESC LIMIT $2::int";

enum ns_err
api_room_history(struct api_req *req)
{
	char max[16];
	const char *params[2] = { req->auth.user_id, max };
	json_object *body, *list;
	enum ns_err err;
	PGresult *res;
	int i;

	snprintf(max, sizeof max, "%d", ROOM_HISTORY_MAX);
	if ((res = ns_db_read(req->app->db, history_sql, 2, params, &err)) == NULL)
		return err;
	list = json_object_new_array_ext(PQntuples(res));
	for (i = 0; i < PQntuples(res); i++) {
		json_object *h = ns_json_obj(), *msgs = json_tokener_parse(PQgetvalue(res, i, 6));

		if (msgs == NULL || !json_object_is_type(msgs, json_type_array)) {
			ns_log_warn("room: chat_history messages of %s is not an array",
			    PQgetvalue(res, i, 0));
			json_object_put(msgs);
			msgs = json_object_new_array();
		}
		ns_json_set_str(h, "sessionId", PQgetvalue(res, i, 0));
		ns_json_set_str(h, "roomId", PQgetvalue(res, i, 1));
		ns_json_set_str(h, "partnerId", PQgetvalue(res, i, 2));
		ns_json_set_str(h, "partnerName", PQgetvalue(res, i, 3));
		ns_json_set_int(h, "startedAt", col_i64(res, i, 4));
		ns_json_set_int(h, "duration", col_i64(res, i, 5));
		ns_json_set(h, "messages", msgs);
		json_object_array_add(list, h);
	}
	PQclear(res);
	body = ns_json_obj();
	ns_json_set(body, "history", list);
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}

/* ---- GET /room/me ----------------------------------------------------------------------- */

enum ns_err
api_room_me(struct api_req *req)
{
	struct api_user *u = malloc(sizeof(*u));	/* large: keep it off the stack */
	json_object *body;
	enum ns_err err;

	if (u == NULL)
		return NS_E_NOMEM;
	err = api_cache_user(req->app, req->auth.user_id, u);
	req->no_store = 1;
	if (err == NS_E_NOT_FOUND) {
		free(u);
		api_respond_error(req, NS_E_NOT_FOUND, MSG_USER_NOT_FOUND);
		return NS_E_NOT_FOUND;
	}
	if (err != NS_OK) {
		free(u);
		return err;
	}
	body = ns_json_obj();
	ns_json_set_str(body, "userId", u->user_id);
	ns_json_set_str(body, "name", u->name);
	ns_json_set_str(body, "selfieUrl", u->selfie_url[0] ? u->selfie_url : NULL);
	ns_json_set_int(body, "timerTotal", u->timer_total_seconds);
	free(u);
	api_respond_json(req, 200, body);
	return NS_OK;
}

/* ---- queue cursor: base64url (no padding) of "<score>:<userId>" -------------------------- */

static const char b64url[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = b64url[v >> 18];
		out[o++] = b64url[(v >> 12) & 63];
		out[o++] = b64url[(v >> 6) & 63];
		out[o++] = b64url[v & 63];
	}
	if (n - i == 1) {
		out[o++] = b64url[in[i] >> 2];
		out[o++] = b64url[(in[i] & 3) << 4];
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)in[i] << 8 | in[i + 1];

		out[o++] = b64url[v >> 10];
		out[o++] = b64url[(v >> 4) & 63];
		out[o++] = b64url[(v << 2) & 63];
	}
	out[o] = '\0';
}

#define B64_LEN(n) (((n) * 4 + 2) / 3)
#define ROOM_CURSOR_MAX B64_LEN(ROOM_CURSOR_RAW_MAX)

/* The score as Redis prints a double: [-]digits[.digits][e[+-]digits], finite. */
static int
score_valid(const char *s)
{
	const char *p = s;
	char *end;
	double d;

	if (*p == '-')
		p++;
	if (!isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p))
		p++;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p != '\0')
		return 0;
	errno = 0;
	d = strtod(s, &end);
	return *end == '\0' && errno == 0 && isfinite(d);
}

struct qpos {
	char score[ROOM_SCORE_MAX + 1];
	char user_id[NS_UUID_LEN + 1];
};

static int
cursor_encode(const struct qpos *pos, char out[ROOM_CURSOR_MAX + 1])
{
	char raw[ROOM_CURSOR_RAW_MAX + 1];
	int n = snprintf(raw, sizeof raw, "%s:%s", pos->score, pos->user_id);

	if (pos->score[0] == '\0' || n < 0 || (size_t)n >= sizeof raw)	/* no score read */
		return 0;
	b64_encode((const unsigned char *)raw, (size_t)n, out);
	return 1;
}

/* Strict: only what cursor_encode can produce is accepted (re-encoding must give the same
 * text, which also rules out non-zero padding bits). */
static int
cursor_decode(const char *text, struct qpos *pos)
{
	unsigned char raw[ROOM_CURSOR_RAW_MAX + 1];
	char again[ROOM_CURSOR_MAX + 1];
	size_t len = strlen(text), i, o = 0, bits = 0;
	uint32_t acc = 0;
	const char *colon;

	if (len == 0 || len > ROOM_CURSOR_MAX || len % 4 == 1)
		return 0;
	for (i = 0; i < len; i++) {
		const char *c = memchr(b64url, text[i], 64);

		if (c == NULL || text[i] == '\0')
			return 0;
		acc = acc << 6 | (uint32_t)(c - b64url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			raw[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	raw[o] = '\0';
	b64_encode(raw, o, again);
	if (strcmp(again, text) != 0 || memchr(raw, '\0', o) != NULL)
		return 0;
	colon = strchr((const char *)raw, ':');
	if (colon == NULL || (size_t)(colon - (const char *)raw) > ROOM_SCORE_MAX)
		return 0;
	memcpy(pos->score, raw, (size_t)(colon - (const char *)raw));
	pos->score[colon - (const char *)raw] = '\0';
	if (!score_valid(pos->score) || strlen(colon + 1) != NS_UUID_LEN ||
	    !ns_rand_uuid_parse(colon + 1, pos->user_id) || strcmp(pos->user_id, colon + 1) != 0)
		return 0;
	return 1;
}

/* ---- GET /room/queue -------------------------------------------------------------------- */

/* KEYS[1] ns:available, KEYS[2] the requester's recorded page (ns:qview), KEYS[3] the
 * requester's cooldowns and reports (excl.h); ARGV: requester, limit, the key prefix of the
 * query cache's user entries (or of their fills, which is all a revalidation needs), the
 * recorded page's lifetime, then optionally the cursor's score and userId. Returns {ZCARD,
 * requester present 0/1, {member, ...}, {user entry (or fill) of each member or nil}, excl
 * entry or nil, recorded page or nil, {member, score, ...} of the last ROOM_TAIL members}
 * with up to limit + 2 members after the cursor: enough for a full page without the
 * requester plus one to tell whether more follow. Only the next cursor needs a score, and it
 * is one of the last members: Redis formats each score it returns as a double, which was a
 * tenth of its time for a page of 100. So a page whose cards are cached costs this one call
 * and no PostgreSQL query. The cursor's place is found by rank, so members that left or joined
 * since cannot make a page skip or repeat anyone; ties (equal scores) are ordered by member
 * bytes, as the zset orders them, compared bytewise (Lua's < follows the locale). The
 * cache keys are built from the prefix here, as the guard's script does. */
#define QUEUE_LUA \
	"local function le(a, b)\n" \
	"  local n = math.min(#a, #b)\n" \
	"  for i = 1, n do\n" \
	"    local x, y = string.byte(a, i), string.byte(b, i)\n" \
	"    if x ~= y then return x < y end\n" \
	"  end\n" \
	"  return #a <= #b\n" \
	"end\n" \
	"local mine = 0\n" \
	"if redis.call('ZSCORE', key, me) then mine = 1 end\n" \
	"local start = 0\n" \
	"if cs then\n" \
	"  local lo = redis.call('ZCOUNT', key, '-inf', '(' .. cs)\n" \
	"  local hi = lo + redis.call('ZCOUNT', key, cs, cs)\n" \
	"  while lo < hi do\n" \
	"    local mid = math.floor((lo + hi) / 2)\n" \
	"    if le(redis.call('ZRANGE', key, mid, mid)[1], cm) then lo = mid + 1 else hi = mid end\n" \
	"  end\n" \
	"  start = lo\n" \
	"end\n" \
	"local page = redis.call('ZRANGE', key, start, start + limit + 1)\n" \
	"local cards, tail = {}, {}\n" \
	"if #page > 0 then\n" \
	"  local ks = {}\n" \
	"  for i = 1, #page do ks[i] = upfx .. page[i] end\n" \
	"  cards = redis.call('MGET', unpack(ks))\n" \
	"  tail = redis.call('ZRANGE', key, start + math.max(#page - " STR(ROOM_TAIL) ", 0)," \
	" start + #page - 1, 'WITHSCORES')\n" \
	"end\n" \
	"local view = redis.call('GET', vkey)\n" \
	"if view then redis.call('EXPIRE', vkey, ttl) end\n" \
	"return {redis.call('ZCARD', key), mine, page, cards, redis.call('GET', xkey), view," \
	" tail}\n"

static struct ns_script queue_script = { .src =
	"local key, vkey, xkey, me, limit, upfx, ttl, cs, cm = KEYS[1], KEYS[2], KEYS[3],"
	" ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5], ARGV[6]\n" QUEUE_LUA };

/* The same, run by the guard's script (cache.h) for the session's user: ARGV[5] on are
 * ns:available, the key prefixes of the recorded page and of the excl entries, then limit,
 * entry prefix, lifetime and cursor as above. */
static struct api_cache_extra queue_extra = { .lua =
	"local key, vkey, xkey, me, limit, upfx, ttl, cs, cm = ARGV[5], ARGV[6] .. uid,"
	" ARGV[7] .. uid, uid, tonumber(ARGV[8]), ARGV[9], ARGV[10], ARGV[11], ARGV[12]\n"
	QUEUE_LUA };

struct qpage {
	struct qpos *slot;	/* candidates of this page, in order */
	const redisReply **entry;	/* each one's user entry as the script read it */
	struct api_card *card;	/* each one's card; len[API_CARD_ID] 0 when no such user */
	size_t n;
	int more;		/* candidates follow the last slot */
	long long total;	/* available users other than the requester */
	const redisReply *excl, *view;	/* the requester's excl entry and recorded page */
	redisReply *reply;	/* the script's, which entry, excl and view point into */
	char **fetched;		/* user entries read from PostgreSQL (misses) */
	size_t nfetched;
};

static void
qpage_free(struct qpage *pg)
{
	size_t i;

	for (i = 0; i < pg->nfetched; i++)
		free(pg->fetched[i]);
	free(pg->fetched);
	free(pg->card);
	free(pg->entry);
	free(pg->slot);
	if (pg->reply)
		freeReplyObject(pg->reply);
}

/* The score of member m from the script's tail, or "" when it is not there (malformed). */
static void
tail_score(const redisReply *tail, const redisReply *m, char score[ROOM_SCORE_MAX + 1])
{
	size_t i;

	score[0] = '\0';
	for (i = 0; i + 1 < tail->elements; i += 2) {
		const redisReply *t = tail->element[i], *s = tail->element[i + 1];

		if (t->type == REDIS_REPLY_STRING && s->type == REDIS_REPLY_STRING &&
		    t->len == m->len && memcmp(t->str, m->str, m->len) == 0 &&
		    s->len <= ROOM_SCORE_MAX && score_valid(s->str)) {
			memcpy(score, s->str, s->len + 1);
			return;
		}
	}
}

/* What this request's guard asked for the queue (api_room_queue_prefetch), so that queue_fetch takes
 * that reply only for the very page it wants. One request per process at a time. */
static struct {
	int valid;
	long limit;
	int has_after, heads;
	struct qpos after;
	char lim[24], ttl[16];
	char vpfx[NS_KEY_MAX], xpfx[NS_KEY_MAX], upfx[NS_KEY_MAX];
} asked;

/* limit and cursor of the query; NULL, or the contract's 400 message. */
static const char *
queue_params(const struct api_req *req, long *limit, struct qpos *after, int *has_after)
{
	char v[ROOM_QVALUE_MAX];
	int q;

	*limit = req->cfg->queue_page_default;
	q = query_get(req->query, "limit", v, sizeof v);
	if (q < 0 || (q > 0 && (!parse_int(v, limit) || *limit < 1 ||
	    *limit > req->cfg->queue_page_max)))
		return MSG_INVALID_LIMIT;
	q = query_get(req->query, "cursor", v, sizeof v);
	if (q < 0 || (q > 0 && !cursor_decode(v, after)))
		return MSG_INVALID_CURSOR;
	*has_after = q > 0;
	return NULL;
}

/* The route's prefetch (router.h): the page (heads only for a revalidation) in the guard's
 * round trip. */
int
api_room_queue_prefetch(const struct api_req *req, struct api_cache_ask *ask)
{
	asked.valid = 0;
	if (queue_params(req, &asked.limit, &asked.after, &asked.has_after) != NULL)
		return 0;	/* the handler answers the 400 */
	asked.heads = req->if_none_match[0] != '\0';
	if (!ns_keys_queue_view(asked.vpfx, "") || !ns_keys_cache(asked.xpfx, NS_CACHE_EXCL, "") ||
	    !ns_keys_cache(asked.upfx, asked.heads ? NS_CACHE_FILL : NS_CACHE_USER, ""))
		return 0;
	snprintf(asked.lim, sizeof asked.lim, "%ld", asked.limit);
	snprintf(asked.ttl, sizeof asked.ttl, "%d", ROOM_QVIEW_TTL_S);
	ask->extra = &queue_extra;
	ask->args[0] = NS_KEY_AVAILABLE, ask->args[1] = asked.vpfx, ask->args[2] = asked.xpfx;
	ask->args[3] = asked.lim, ask->args[4] = asked.upfx, ask->args[5] = asked.ttl;
	ask->nargs = 6;
	if (asked.has_after) {
		ask->args[6] = asked.after.score, ask->args[7] = asked.after.user_id;
		ask->nargs = 8;
	}
	asked.valid = 1;
	return 1;
}

/* The guard's reply for this page, when it asked for exactly this one. */
static redisReply *
queue_prefetched(long limit, const struct qpos *after, int heads, const redisReply **v)
{
	int same = asked.valid && asked.limit == limit && asked.heads == heads &&
	    asked.has_after == (after != NULL) && (!after ||
	    (strcmp(asked.after.score, after->score) == 0 &&
	    strcmp(asked.after.user_id, after->user_id) == 0));
	redisReply *r = same ? api_cache_extra_take(v) : NULL;

	asked.valid = 0;
	return r;
}

static enum ns_err
queue_fetch(struct api_req *req, long limit, const struct qpos *after, int heads,
    struct qpage *pg)
{
	char lim[24], vkey[NS_KEY_MAX], xkey[NS_KEY_MAX], ukey[NS_KEY_MAX], ttl[16];
	const char *argv[9] = { NS_KEY_AVAILABLE, vkey, xkey, req->auth.user_id, lim, ukey, ttl,
	    NULL, NULL };
	const redisReply *arr, *ent, *r;
	enum ns_err err;
	size_t i, kept = 0;

	if ((pg->reply = queue_prefetched(limit, after, heads, &r)) == NULL) {
		if (!ns_keys_queue_view(vkey, req->auth.user_id) ||
		    !ns_keys_cache(xkey, NS_CACHE_EXCL, req->auth.user_id) ||
		    !ns_keys_cache(ukey, heads ? NS_CACHE_FILL : NS_CACHE_USER, ""))
			return NS_E_INTERNAL;
		snprintf(lim, sizeof lim, "%ld", limit);
		snprintf(ttl, sizeof ttl, "%d", ROOM_QVIEW_TTL_S);
		if (after != NULL) {
			argv[7] = after->score;
			argv[8] = after->user_id;
		}
		if ((pg->reply = ns_script_eval(req->app->kv, &queue_script, &err, 3,
		    after ? 6 : 4, argv, NULL)) == NULL)
			return err;
		r = pg->reply;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 7 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[1]->type != REDIS_REPLY_INTEGER ||
	    r->element[2]->type != REDIS_REPLY_ARRAY ||
	    r->element[3]->type != REDIS_REPLY_ARRAY ||
	    r->element[3]->elements != r->element[2]->elements ||
	    r->element[6]->type != REDIS_REPLY_ARRAY || r->element[6]->elements % 2 != 0)
		return NS_E_INTERNAL;
	pg->total = r->element[0]->integer - r->element[1]->integer;
	arr = r->element[2];
	pg->excl = r->element[4];
	pg->view = r->element[5];
	pg->slot = calloc((size_t)limit + 2, sizeof(*pg->slot));
	pg->entry = calloc((size_t)limit + 2, sizeof(*pg->entry));
	if (pg->slot == NULL || pg->entry == NULL)
		return NS_E_NOMEM;
	for (i = 0; i < arr->elements; i++) {
		const redisReply *m = arr->element[i];
		struct qpos *p = &pg->slot[kept];

		ent = r->element[3]->element[i];
		if (m->type != REDIS_REPLY_STRING)
			continue;
		if (strcmp(m->str, req->auth.user_id) == 0)
			continue;
		/* only the gateways write this zset, always with user ids and ms scores */
		if (m->len != NS_UUID_LEN || !ns_rand_uuid_parse(m->str, p->user_id) ||
		    strcmp(p->user_id, m->str) != 0) {
			ns_log_warn("room: skipping malformed ns:available entry");
			continue;
		}
		tail_score(r->element[6], m, p->score);
		if (kept == (size_t)limit) {
			pg->more = 1;
			break;
		}
		pg->entry[kept] = ent;
		kept++;
	}
	pg->n = kept;
	return NS_OK;
}

/* The cards of users uids[0..n), whose cache entries the caller read (entries[k]: that
 * reply, or NULL): a hit is decoded in place, the misses are read from PostgreSQL in one
 * query, which fills the cache, into *fetched (nfetched strings, the caller frees them).
 * A user without a users row gets a zeroed card. */
static enum ns_err
cards_load(struct api_req *req, size_t n, const char *const *uids,
    const redisReply *const *entries, struct api_card *card, char ***fetched, size_t *nfetched)
{
	const char **ids = NULL;
	const redisReply **seen = NULL;
	size_t *at = NULL, k, m = 0;
	enum ns_err err = NS_E_NOMEM;

	for (k = 0; k < n; k++) {
		const redisReply *e = entries[k];

		if (e && e->type == REDIS_REPLY_STRING &&
		    api_cache_card_decode(e->str, e->len, &card[k]) == 0 &&
		    card[k].len[API_CARD_ID] == NS_UUID_LEN &&
		    memcmp(card[k].f[API_CARD_ID], uids[k], NS_UUID_LEN) == 0)
			continue;
		memset(&card[k], 0, sizeof(card[k]));
		m++;
	}
	api_metrics_cache_n(API_CACHE_USER, 1, n - m);
	if (m == 0)
		return NS_OK;
	ids = calloc(m, sizeof(*ids));
	seen = calloc(m, sizeof(*seen));
	at = calloc(m, sizeof(*at));
	*fetched = calloc(m, sizeof(**fetched));
	if (!ids || !seen || !at || !*fetched)
		goto out;
	for (k = 0, m = 0; k < n; k++) {
		if (card[k].len[API_CARD_ID] != 0)
			continue;
		ids[m] = uids[k];
		seen[m] = entries[k];
		at[m++] = k;
	}
	if ((err = api_cache_users_fetch(req->app, m, ids, seen, *fetched)) != NS_OK)
		goto out;
	*nfetched = m;
	for (k = 0; k < m; k++)
		if ((*fetched)[k] == NULL || api_cache_card_decode((*fetched)[k],
		    strlen((*fetched)[k]), &card[at[k]]) < 0)
			memset(&card[at[k]], 0, sizeof(card[at[k]]));
out:
	free(ids);
	free(seen);
	free(at);
	return err;
}

/* Each candidate's card (cards_load). */
static enum ns_err
queue_cards(struct api_req *req, struct qpage *pg)
{
	const char **uids;
	enum ns_err err;
	size_t k;

	if (pg->n == 0)
		return NS_OK;
	pg->card = calloc(pg->n, sizeof(*pg->card));
	uids = calloc(pg->n, sizeof(*uids));
	if (!pg->card || !uids) {
		free(uids);
		return NS_E_NOMEM;
	}
	for (k = 0; k < pg->n; k++)
		uids[k] = pg->slot[k].user_id;
	err = cards_load(req, pg->n, uids, pg->entry, pg->card, &pg->fetched, &pg->nfetched);
	free(uids);
	return err;
}

/* ---- the queue body, written directly: json-c's per-node allocations were most of the
 * worker's time on a 100-card page. Same bytes as ns_json_text would give (compact, '/'
 * unescaped), so the ETag of an unchanged page is stable across versions. */

struct qbuf {
	char *p;
	size_t len, cap;
	int failed;		/* allocation failed or ROOM_BODY_MAX reached */
};

static void
qb_grow(struct qbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : ROOM_BODY_MIN;
	char *p;

	if (b->failed)
		return;
	if (n > ROOM_BODY_MAX - b->len) {
		b->failed = 1;
		return;
	}
	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap > ROOM_BODY_MAX + 1)
		cap = ROOM_BODY_MAX + 1;
	if ((p = realloc(b->p, cap)) == NULL) {
		b->failed = 1;
		return;
	}
	b->p = p;
	b->cap = cap;
}

static void
qb_put(struct qbuf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
		qb_grow(b, n);
	if (b->failed)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

#define QB_LIT(b, lit) qb_put((b), (lit), sizeof(lit) - 1)

/* A JSON string (quoted) of the n bytes at s, escaped as json-c does. */
static void
qb_strn(struct qbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const char *run = s, *end = s + n;

	qb_put(b, "\"", 1);
	for (; s < end; s++) {
		unsigned char c = (unsigned char)*s;
		char esc[6];
		size_t k = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		qb_put(b, run, (size_t)(s - run));
		run = s + 1;
		esc[0] = '\\';
		switch (c) {
		case '"':  esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			k = 6;
			break;
		}
		qb_put(b, esc, k);
	}
	qb_put(b, run, (size_t)(s - run));
	qb_put(b, "\"", 1);
}

static void
qb_str(struct qbuf *b, const char *s)
{
	qb_strn(b, s, strlen(s));
}

/* A card field: "" (stored for NULL) is written as null. */
static void
qb_field(struct qbuf *b, const struct api_card *c, int f)
{
	if (c->len[f] == 0)
		QB_LIT(b, "null");
	else
		qb_strn(b, c->f[f], c->len[f]);
}

static void
qb_i64(struct qbuf *b, int64_t v)
{
	char num[24];
	int n = snprintf(num, sizeof num, "%" PRId64, v);

	qb_put(b, num, (size_t)n);
}

/* What the requester's list adds to a card: an active cooldown, and the introducer's name
 * when the candidate was introduced to the requester. */
struct qextra {
	int64_t cooldown_ms;	/* 0: none */
	int introduced;
	char introducer[API_NAME_MAX];	/* "" when unknown (null) */
};

/* One card, fields in contract order. */
static void
queue_card(struct qbuf *b, const struct api_card *c, const struct qextra *x)
{
	QB_LIT(b, "{\"userId\":");
	qb_strn(b, c->f[API_CARD_ID], c->len[API_CARD_ID]);
	QB_LIT(b, ",\"name\":");
	qb_strn(b, c->f[API_CARD_NAME], c->len[API_CARD_NAME]);
	QB_LIT(b, ",\"gender\":");
	qb_strn(b, c->f[API_CARD_GENDER], c->len[API_CARD_GENDER]);
	QB_LIT(b, ",\"selfieUrl\":");
	qb_field(b, c, API_CARD_SELFIE);
	QB_LIT(b, ",\"videoUrl\":");
	qb_field(b, c, API_CARD_VIDEO);
	if (x->cooldown_ms) {
		QB_LIT(b, ",\"hasCooldown\":true,\"cooldownExpiry\":");
		qb_i64(b, x->cooldown_ms);
	} else {
		QB_LIT(b, ",\"hasCooldown\":false,\"cooldownExpiry\":null");
	}
	if (x->introduced)
		QB_LIT(b, ",\"wasIntroducedToMe\":true,\"introducedBy\":");
	else
		QB_LIT(b, ",\"wasIntroducedToMe\":false,\"introducedBy\":");
	if (x->introduced && x->introducer[0])
		qb_str(b, x->introducer);
	else
		QB_LIT(b, "null");
	QB_LIT(b, "}");
}

/* Which cards are listed (reported users and candidates without a users row are not) and
 * what each adds; listed[k] says. The introducer's name is one cached user read per
 * introduction to the requester, which is rare. */
static enum ns_err
queue_extras(struct api_req *req, const struct qpage *pg, const struct api_excl *ex,
    struct qextra *x, unsigned char *listed)
{
	const char *me = req->auth.user_id;
	int64_t now = ns_clock_now_ms();
	struct api_user *u = NULL;
	size_t k;

	for (k = 0; k < pg->n; k++) {
		const struct api_card *c = &pg->card[k];
		const struct api_excl_item *it;

		memset(&x[k], 0, sizeof(x[k]));
		listed[k] = c->len[API_CARD_ID] != 0;
		if (!listed[k])
			continue;
		if ((it = api_excl_find(ex, pg->slot[k].user_id)) != NULL) {
			if (it->reported) {
				listed[k] = 0;
				continue;
			}
			if (it->cooldown_ms > now)
				x[k].cooldown_ms = it->cooldown_ms;
		}
		x[k].introduced = c->len[API_CARD_INTRODUCED_TO] == strlen(me) &&
		    memcmp(c->f[API_CARD_INTRODUCED_TO], me, strlen(me)) == 0;
		if (x[k].introduced && c->len[API_CARD_INTRODUCED_BY] == NS_UUID_LEN) {
			char by[NS_UUID_LEN + 1];
			enum ns_err e;

			if (!u && !(u = malloc(sizeof(*u))))
				return NS_E_NOMEM;
			memcpy(by, c->f[API_CARD_INTRODUCED_BY], NS_UUID_LEN);
			by[NS_UUID_LEN] = '\0';
			e = api_cache_user(req->app, by, u);
			if (e == NS_OK)
				snprintf(x[k].introducer, sizeof(x[k].introducer), "%s", u->name);
			else if (e != NS_E_NOT_FOUND) {
				free(u);
				return e;
			}
		}
	}
	free(u);
	return NS_OK;
}

/* Record the page the user now sees (a JSON array of its userIds), for the gateways'
 * scoped queue updates, when it differs from the one recorded (the page script read that
 * and renewed its lifetime), and then tell them; polling the same page writes nothing. */
static void
queue_record_view(struct api_req *req, const struct qpage *pg, const unsigned char *listed)
{
	struct qbuf ids = { 0 };
	char key[NS_KEY_MAX], ttl[16];
	const char *argv[5] = { "SET", key, NULL, "EX", ttl };
	size_t lens[5], k;
	enum ns_err err;
	redisReply *r;
	int first = 1;

	if (!ns_keys_queue_view(key, req->auth.user_id))
		return;
	QB_LIT(&ids, "[");
	for (k = 0; k < pg->n; k++) {
		if (!listed[k])
			continue;
		if (!first)
			QB_LIT(&ids, ",");
		first = 0;
		qb_str(&ids, pg->slot[k].user_id);
	}
	QB_LIT(&ids, "]");
	if (ids.failed) {
		free(ids.p);
		ns_log_warn("room: queue view not recorded: %s", ns_err_str(NS_E_NOMEM));
		return;
	}
	if (pg->view && pg->view->type == REDIS_REPLY_STRING && pg->view->len == ids.len &&
	    memcmp(pg->view->str, ids.p, ids.len) == 0) {
		free(ids.p);
		return;
	}
	snprintf(ttl, sizeof ttl, "%d", ROOM_QVIEW_TTL_S);
	argv[2] = ids.p;
	lens[0] = 3, lens[1] = strlen(key), lens[2] = ids.len, lens[3] = 2, lens[4] = strlen(ttl);
	r = ns_kv_argv(req->app->kv, &err, 5, argv, lens);
	free(ids.p);
	if (r == NULL) {
		ns_log_warn("room: queue view not recorded: %s", ns_err_str(err));
		return;
	}
	freeReplyObject(r);
	api_ctl_queue_view(req->app, req->auth.user_id);
}

/* If-None-Match (a list of entity tags, or *) against our strong tag, compared weakly as
 * RFC 9110 asks for this header. */
static int
etag_matches(const char *header, const char *etag)
{
	const char *p = header;
	size_t n = strlen(etag);

	while (*p) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		if (*p == '*')
			return 1;
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		if (*p == '"') {
			const char *q = strchr(p + 1, '"');

			if (q == NULL)
				return 0;
			if ((size_t)(q + 1 - p) == n && memcmp(p, etag, n) == 0)
				return 1;
			p = q + 1;
		}
		while (*p && *p != ',')
			p++;
	}
	return 0;
}

static void
body_etag(const char *text, size_t len, char out[ROOM_ETAG_HEX + 3])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[NS_SHA256_LEN];
	size_t i;

	ns_sha256(text, len, md);
	out[0] = '"';
	for (i = 0; i < ROOM_ETAG_HEX / 2; i++) {
		out[1 + 2 * i] = hex[md[i] >> 4];
		out[2 + 2 * i] = hex[md[i] & 15];
	}
	out[ROOM_ETAG_HEX + 1] = '"';
	out[ROOM_ETAG_HEX + 2] = '\0';
}

/* The page's validator, from what decides its body rather than from the body, so that a
 * revalidation needs only the entries' fills (NS_CACHE_FILL), not the cards: the
 * count, the next cursor, and per candidate its id, its entry's fill ("-": no users row)
 * and what the requester's cooldowns and reports make of it at now. An introducer's name
 * needs no place: it follows from introduced_by (in the entry), and names never change. */
static int
queue_etag(const struct qpage *pg, const struct api_excl *ex, int64_t now,
    char out[ROOM_ETAG_HEX + 3])
{
	struct qbuf t = { 0 };
	char next[ROOM_CURSOR_MAX + 1];
	size_t k;

	QB_LIT(&t, "q2|");
	qb_i64(&t, pg->total);
	QB_LIT(&t, "|");
	if (pg->more && pg->n > 0 && cursor_encode(&pg->slot[pg->n - 1], next))
		qb_put(&t, next, strlen(next));
	for (k = 0; k < pg->n; k++) {
		const struct api_card *c = &pg->card[k];
		const struct api_excl_item *it = api_excl_find(ex, pg->slot[k].user_id);

		QB_LIT(&t, "|");
		qb_put(&t, pg->slot[k].user_id, NS_UUID_LEN);
		QB_LIT(&t, ":");
		if (c->len[API_CARD_FILL])
			qb_put(&t, c->f[API_CARD_FILL], c->len[API_CARD_FILL]);
		else
			QB_LIT(&t, "-");
		if (it && it->reported)
			QB_LIT(&t, ":r");
		else if (it && it->cooldown_ms > now) {
			QB_LIT(&t, ":c");
			qb_i64(&t, it->cooldown_ms);
		}
	}
	if (!t.failed)
		body_etag(t.p, t.len, out);
	free(t.p);
	return t.failed ? -1 : 0;
}

/* A fills reply (heads) into each card's fill; 1 when every candidate has one (so the
 * page can be revalidated without its cards), else 0. */
static int
queue_heads(struct qpage *pg)
{
	size_t k;

	if (pg->n && !(pg->card = calloc(pg->n, sizeof(*pg->card))))
		return 0;
	for (k = 0; k < pg->n; k++) {
		const redisReply *e = pg->entry[k];

		if (!e || e->type != REDIS_REPLY_STRING || e->len != API_CACHE_FILL_LEN)
			return 0;
		pg->card[k].f[API_CARD_FILL] = e->str;
		pg->card[k].len[API_CARD_FILL] = API_CACHE_FILL_LEN;
	}
	return 1;
}

/* The page body into b (reset first); 0, or -1 when it could not be built. */
static int
queue_body(struct qbuf *b, const struct qpage *pg, const struct qextra *x,
    const unsigned char *listed)
{
	char next[ROOM_CURSOR_MAX + 1];
	size_t k;
	int first = 1;

	b->len = 0;
	b->failed = 0;
	QB_LIT(b, "{\"users\":[");
	for (k = 0; k < pg->n; k++) {
		if (!listed[k])
			continue;
		if (!first)
			QB_LIT(b, ",");
		first = 0;
		queue_card(b, &pg->card[k], &x[k]);
	}
	QB_LIT(b, "],\"totalAvailable\":");
	qb_i64(b, pg->total);
	QB_LIT(b, ",\"nextCursor\":");
	if (pg->more && pg->n > 0 && cursor_encode(&pg->slot[pg->n - 1], next))
		qb_str(b, next);
	else
		QB_LIT(b, "null");
	QB_LIT(b, "}");
	return b->failed ? -1 : 0;
}

/* The page the client holds is still the page: headers, recorded page, 304. */
static void
queue_not_modified(struct api_req *req, const struct qpage *pg, const struct api_excl *ex,
    const char *etag)
{
	unsigned char *listed = calloc(pg->n + 1, 1);
	size_t k;

	if (listed) {
		for (k = 0; k < pg->n; k++) {
			const struct api_excl_item *it = api_excl_find(ex, pg->slot[k].user_id);

			listed[k] = !(it && it->reported);
		}
		queue_record_view(req, pg, listed);
		free(listed);
	}
	api_resp_header(req, "ETag", etag);
	api_resp_header(req, "Cache-Control", "private, no-cache");
	api_respond_empty(req, 304);
}

/* A revalidation (If-None-Match) first asks for the entries' heads only: when every
 * candidate's entry is cached and the tag still matches, the page is neither read nor
 * built. 1: answered 304; 0: go on with the full page (pg reset); or an error. */
static int
queue_revalidate(struct api_req *req, long limit, const struct qpos *after, struct qpage *pg,
    enum ns_err *err)
{
	struct api_excl ex = { 0 };
	const char **ids = NULL;
	char etag[ROOM_ETAG_HEX + 3];
	int done = 0;
	size_t k;

	if ((*err = queue_fetch(req, limit, after, 1, pg)) != NS_OK)
		return -1;
	if (!queue_heads(pg))
		goto full;
	if (!(ids = calloc(pg->n + 1, sizeof(*ids)))) {
		*err = NS_E_NOMEM;
		done = -1;
		goto full;
	}
	for (k = 0; k < pg->n; k++)
		ids[k] = pg->slot[k].user_id;
	if ((*err = api_excl_load(req->app, req->auth.user_id, pg->excl, ids, pg->n, &ex)) !=
	    NS_OK) {
		done = -1;
		goto full;
	}
	if (queue_etag(pg, &ex, ns_clock_now_ms(), etag) == 0 &&
	    etag_matches(req->if_none_match, etag)) {
		queue_not_modified(req, pg, &ex, etag);
		done = 1;
	}
full:
	api_excl_free(&ex);
	free(ids);
	if (done == 0) {
		qpage_free(pg);
		memset(pg, 0, sizeof(*pg));
	}
	return done;
}

enum ns_err
api_room_queue(struct api_req *req)
{
	static struct qbuf body;	/* reused: one request per process at a time */
	char etag[ROOM_ETAG_HEX + 3];
	struct qpage pg = { 0 };
	struct api_excl ex = { 0 };
	struct qpos after;
	struct qextra *x = NULL;
	unsigned char *listed = NULL;
	const char **ids = NULL;
	enum ns_err err = NS_OK;
	const char *msg;
	long limit;
	int q, has_after = 0;
	size_t k;

	if ((msg = queue_params(req, &limit, &after, &has_after)) != NULL) {
		api_respond_error(req, NS_E_BAD_REQUEST, msg);
		return NS_E_BAD_REQUEST;
	}

	if (req->if_none_match[0] &&
	    (q = queue_revalidate(req, limit, has_after ? &after : NULL, &pg, &err)) != 0)
		goto out;	/* answered 304, or failed */
	if ((err = queue_fetch(req, limit, has_after ? &after : NULL, 0, &pg)) != NS_OK ||
	    (err = queue_cards(req, &pg)) != NS_OK)
		goto out;
	x = calloc(pg.n + 1, sizeof(*x));
	listed = calloc(pg.n + 1, 1);
	ids = calloc(pg.n + 1, sizeof(*ids));
	if (!x || !listed || !ids) {
		err = NS_E_NOMEM;
		goto out;
	}
	for (k = 0; k < pg.n; k++)
		ids[k] = pg.slot[k].user_id;
	if ((err = api_excl_load(req->app, req->auth.user_id, pg.excl, ids, pg.n, &ex)) != NS_OK ||
	    (err = queue_extras(req, &pg, &ex, x, listed)) != NS_OK)
		goto out;
	if (queue_body(&body, &pg, x, listed) < 0 ||
	    queue_etag(&pg, &ex, ns_clock_now_ms(), etag) < 0) {
		err = NS_E_NOMEM;
		goto out;
	}
	queue_record_view(req, &pg, listed);

	api_resp_header(req, "ETag", etag);
	api_resp_header(req, "Cache-Control", "private, no-cache");
	if (req->if_none_match[0] && etag_matches(req->if_none_match, etag))
		api_respond_empty(req, 304);
	else
		api_respond_raw(req, 200, ROOM_JSON_CTYPE, body.p, body.len);
out:
	if (body.cap > ROOM_BODY_KEEP) {	/* a rare huge page: give the memory back */
		free(body.p);
		memset(&body, 0, sizeof body);
	}
	api_excl_free(&ex);
	free(ids);
	free(listed);
	free(x);
	qpage_free(&pg);
	return err;
}

/* ---- GET /room/reel --------------------------------------------------------------------- */

/* KEYS[1] ns:available, KEYS[2] the cursor's seen-set; ARGV: requester, seen-set lifetime,
 * scan ceiling, picks wanted k, count h of hidden userIds, the h ids, then random integers
 * below 2^48 from the worker's CSPRNG. Candidates = the first (scan ceiling) members of
 * ns:available not yet returned for this cursor, not hidden, not the requester; k of them,
 * uniformly and in random order, come back with the candidate count: {n, {id, ...}}.
 *
 * Usually few members are excluded: their ranks are looked up (ZRANK) to count the
 * candidates, and random ranks are drawn until k candidates are found, one ZRANGE each, so a
 * call costs O((excluded + k) log N) whatever the queue's length. Rejection keeps every pick
 * uniform, and whether it succeeds does not depend on which candidate is which. When many are
 * excluded, or the draws run out, the whole range is scanned and shuffled (a partial
 * Fisher-Yates), which costs O(N): 10,000 members made each call about 3 ms of Redis time.
 * The seen-set's expiry restarts (it counts from the last use). */
static struct ns_script reel_pick_script = { .src =
	"local seenl = redis.call('SMEMBERS', KEYS[2])\n"
	"redis.call('EXPIRE', KEYS[2], ARGV[2])\n"
	"local h, k = tonumber(ARGV[5]), tonumber(ARGV[4])\n"
	"local limit = math.min(redis.call('ZCARD', KEYS[1]), tonumber(ARGV[3]))\n"
	"local r = 6 + h\n"
	"local function draw(m)\n"
	"  local lim = math.floor(2^48 / m) * m\n"
	"  while true do\n"
	"    local v = tonumber(ARGV[r]); r = r + 1\n"
	"    if v == nil then return nil end\n"
	"    if v < lim then return v % m end\n"
	"  end\n"
	"end\n"
	"local ex = {}\n"
	"if #seenl + h < " STR(ROOM_REEL_FAST_EXCL_MAX) " and limit > 0 then\n"
	"  local nex = 0\n"
	"  local function exclude(id)\n"
	"    if ex[id] then return end\n"
	"    ex[id] = true\n"
	"    local rk = redis.call('ZRANK', KEYS[1], id)\n"
	"    if rk and rk < limit then nex = nex + 1 end\n"
	"  end\n"
	"  for _, id in ipairs(seenl) do exclude(id) end\n"
	"  for i = 6, 5 + h do exclude(ARGV[i]) end\n"
	"  exclude(ARGV[1])\n"
	"  local n = limit - nex\n"
	"  local want = math.min(k, n)\n"
	"  local out, tried = {}, {}\n"
	"  for _ = 1, " STR(ROOM_REEL_FAST_TRIES) " * want + " STR(ROOM_REEL_FAST_TRIES) " do\n"
	"    if #out == want then break end\n"
	"    local rank = draw(limit)\n"
	"    if rank == nil then break end\n"
	"    if not tried[rank] then\n"
	"      tried[rank] = true\n"
	"      local id = redis.call('ZRANGE', KEYS[1], rank, rank)[1]\n"
	"      if id and not ex[id] then out[#out + 1] = id end\n"
	"    end\n"
	"  end\n"
	"  if #out == want then return {n, out} end\n"
	"end\n"
	"local seen = {}\n"
	"for _, id in ipairs(seenl) do seen[id] = true end\n"
	"for i = 6, 5 + h do seen[ARGV[i]] = true end\n"
	"seen[ARGV[1]] = true\n"
	"local c = {}\n"
	"if limit > 0 then\n"
	"  for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, limit - 1)) do\n"
	"    if not seen[id] then c[#c + 1] = id end\n"
	"  end\n"
	"end\n"
	"local n = #c\n"
	"local want = math.min(k, n)\n"
	"for i = 1, want do\n"
	"  local v = draw(n - i + 1)\n"
	"  if v == nil then return redis.error_reply('ERR reel: random numbers exhausted') end\n"
	"  local j = i + v\n"
	"  c[i], c[j] = c[j], c[i]\n"
	"end\n"
	"return {n, {unpack(c, 1, want)}}\n" };

/* KEYS[1] the seen-set; ARGV: lifetime, then the userIds returned. */
static const char reel_mark_script[] =
	"redis.call('SADD', KEYS[1], unpack(ARGV, 2))\n"
	"return redis.call('EXPIRE', KEYS[1], ARGV[1])\n";

/* Users the requester may not see in the reel: active cooldowns and reported users. */
static const char reel_hidden_sql[] =
	"SELECT CASE WHEN user_id_1 = $1::uuid THEN user_id_2 ELSE user_id_1 END FROM cooldowns"
	" WHERE (user_id_1 = $1::uuid OR user_id_2 = $1::uuid) AND expires_at > now()"
	" UNION SELECT reported_user_id FROM reports WHERE reporter_user_id = $1::uuid"
	" LIMIT $2::int";

/* The users the reel hides from the requester (*ids into ex or *res, count *h): from the
 * excl cache, or, for a set longer than it keeps, from PostgreSQL as before. */
static enum ns_err
reel_hidden(struct api_req *req, struct api_excl *ex, PGresult **res, const char ***ids,
    size_t *h)
{
	char key[NS_KEY_MAX], hmax[16];
	const char *params[2] = { req->auth.user_id, hmax };
	int64_t now = ns_clock_now_ms();
	enum ns_err err;
	redisReply *r;
	size_t i;

	*h = 0;
	if (!ns_keys_cache(key, NS_CACHE_EXCL, req->auth.user_id))
		return NS_E_INTERNAL;
	if ((r = ns_kv_cmd(req->app->kv, &err, "GET %s", key)) == NULL)
		return err;
	err = api_excl_load(req->app, req->auth.user_id, r, NULL, 0, ex);
	freeReplyObject(r);
	if (err != NS_OK)
		return err;
	if (ex->over) {
		snprintf(hmax, sizeof hmax, "%d", ROOM_REEL_HIDDEN_MAX);
		if ((*res = ns_db_read(req->app->db, reel_hidden_sql, 2, params, &err)) == NULL)
			return err;
		if (!(*ids = calloc((size_t)PQntuples(*res) + 1, sizeof(**ids))))
			return NS_E_NOMEM;
		for (i = 0; i < (size_t)PQntuples(*res); i++)
			(*ids)[(*h)++] = PQgetvalue(*res, (int)i, 0);
		return NS_OK;
	}
	if (!(*ids = calloc(ex->n + 1, sizeof(**ids))))
		return NS_E_NOMEM;
	for (i = 0; i < ex->n; i++)
		if (ex->item[i].reported || ex->item[i].cooldown_ms > now)
			(*ids)[(*h)++] = ex->item[i].user_id;
	return NS_OK;
}

/* ids[0..n) (validated UUIDs) as reel items, in order, skipping users without a row, at
 * most limit: their cards from the query cache (one MGET), misses from PostgreSQL. */
static enum ns_err
reel_items(struct api_req *req, const char *const *ids, size_t n, long limit,
    json_object *items)
{
	const char **argv = calloc(n + 1, sizeof(*argv));
	char (*keys)[NS_KEY_MAX] = calloc(n + 1, sizeof(*keys));
	struct api_card *card = calloc(n + 1, sizeof(*card));
	const redisReply **entries = calloc(n + 1, sizeof(*entries));
	char **fetched = NULL;
	size_t nfetched = 0, i;
	enum ns_err err = NS_E_NOMEM;
	redisReply *r = NULL;
	long added = 0;

	if (!argv || !keys || !card || !entries)
		goto out;
	argv[0] = "MGET";
	for (i = 0; i < n; i++) {
		if (!ns_keys_cache(keys[i], NS_CACHE_USER, ids[i])) {
			err = NS_E_INTERNAL;
			goto out;
		}
		argv[i + 1] = keys[i];
	}
	if ((r = ns_kv_argv(req->app->kv, &err, (int)n + 1, argv, NULL)) == NULL)
		goto out;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != n) {
		err = NS_E_INTERNAL;
		goto out;
	}
	for (i = 0; i < n; i++)
		entries[i] = r->element[i];
	if ((err = cards_load(req, n, ids, entries, card, &fetched, &nfetched)) != NS_OK)
		goto out;
	for (i = 0; i < n && added < limit; i++) {
		const struct api_card *c = &card[i];
		json_object *o;
		int f;
		static const struct { const char *key; int field, nullable; } out_fields[] = {
			{ "userId", API_CARD_ID, 0 }, { "name", API_CARD_NAME, 0 },
			{ "gender", API_CARD_GENDER, 0 }, { "selfieUrl", API_CARD_SELFIE, 1 },
			{ "videoUrl", API_CARD_VIDEO, 1 },
		};

		if (c->len[API_CARD_ID] == 0)
			continue;
		o = ns_json_obj();
		for (f = 0; f < (int)(sizeof out_fields / sizeof out_fields[0]); f++) {
			int k = out_fields[f].field;

			json_object_object_add(o, out_fields[f].key,
			    out_fields[f].nullable && c->len[k] == 0 ? NULL :
			    json_object_new_string_len(c->f[k], (int)c->len[k]));
		}
		json_object_array_add(items, o);
		added++;
	}
out:
	for (i = 0; i < nfetched; i++)
		free(fetched[i]);
	free(fetched);
	if (r)
		freeReplyObject(r);
	free(entries);
	free(card);
	free(keys);
	free(argv);
	return err;
}

static int
reel_cursor_valid(const char *s)
{
	size_t n = strlen(s), i;

	if (n < 1 || n > ROOM_REEL_CURSOR_MAX)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (!(c < 0x80 && isalnum(c)) && c != '_' && c != '-')
			return 0;
	}
	return 1;
}

static long
reel_limit(const char *query)
{
	char v[ROOM_QVALUE_MAX];
	long n;

	if (query_get(query, "limit", v, sizeof v) <= 0 || !parse_int(v, &n) || n < 1)
		return ROOM_REEL_DEFAULT;
	return n > ROOM_REEL_MAX ? ROOM_REEL_MAX : n;
}

/* Pick up to k candidates in Redis (see reel_pick_script). *picks is the reply (freed by
 * the caller); its second element holds the ids. */
static enum ns_err
reel_pick(struct api_req *req, const char *key, const char *const *hidden, size_t h, size_t k,
    long long *n, redisReply **picks)
{
	/* enough for the sampled path's draws and then the scan's, with rejections */
	size_t nrand = (ROOM_REEL_FAST_TRIES + 1) * k + ROOM_REEL_FAST_TRIES +
	    2 * ROOM_REEL_RAND_SPARE, argc, i;
	char ttl[16], scan[16], kk[16], hh[16], (*rnd)[ROOM_REEL_RAND_LEN] = NULL;
	unsigned char *bytes = NULL;
	const char **argv;
	enum ns_err err = NS_OK;
	redisReply *r;

	argv = malloc((7 + h + nrand) * sizeof(*argv));
	rnd = malloc(nrand * sizeof(*rnd));
	bytes = malloc(nrand * 6);
	if (argv == NULL || rnd == NULL || bytes == NULL) {
		err = NS_E_NOMEM;
		goto out;
	}
	if ((err = ns_rand_bytes(bytes, nrand * 6)) != NS_OK)
		goto out;
	snprintf(ttl, sizeof ttl, "%d", ROOM_REEL_TTL_S);
	snprintf(scan, sizeof scan, "%d", ROOM_REEL_SCAN_MAX);
	snprintf(kk, sizeof kk, "%zu", k);
	snprintf(hh, sizeof hh, "%zu", h);
	argc = 0;
	argv[argc++] = NS_KEY_AVAILABLE;
	argv[argc++] = key;
	argv[argc++] = req->auth.user_id;
	argv[argc++] = ttl;
	argv[argc++] = scan;
	argv[argc++] = kk;
	argv[argc++] = hh;
	for (i = 0; i < h; i++)
		argv[argc++] = hidden[i];
	for (i = 0; i < nrand; i++) {	/* 48-bit integers */
		uint64_t v = 0;
		size_t j;

		for (j = 0; j < 6; j++)
			v = v << 8 | bytes[6 * i + j];
		snprintf(rnd[i], sizeof rnd[i], "%llu", (unsigned long long)v);
		argv[argc++] = rnd[i];
	}
	if ((r = ns_script_eval(req->app->kv, &reel_pick_script, &err, 2, (int)argc - 2, argv,
	    NULL)) == NULL)
		goto out;
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[1]->type != REDIS_REPLY_ARRAY) {
		freeReplyObject(r);
		err = NS_E_INTERNAL;
		goto out;
	}
	*n = r->element[0]->integer;
	*picks = r;
out:
	free(argv);
	free(rnd);
	free(bytes);
	return err;
}

static enum ns_err
reel_mark_seen(struct api_req *req, const char *key, json_object *items)
{
	size_t n = json_object_array_length(items), i;
	const char **argv;
	char ttl[16];
	enum ns_err err = NS_OK;
	redisReply *r;

	if (n == 0)
		return NS_OK;
	if ((argv = malloc((n + 5) * sizeof(*argv))) == NULL)
		return NS_E_NOMEM;
	snprintf(ttl, sizeof ttl, "%d", ROOM_REEL_TTL_S);
	argv[0] = "EVAL";
	argv[1] = reel_mark_script;
	argv[2] = "1";
	argv[3] = key;
	argv[4] = ttl;
	for (i = 0; i < n; i++)
		argv[5 + i] = json_object_get_string(json_object_object_get(
		    json_object_array_get_idx(items, i), "userId"));
	r = ns_kv_argv(req->app->kv, &err, (int)(n + 5), argv, NULL);
	if (r != NULL)
		freeReplyObject(r);
	free(argv);
	return err;
}

enum ns_err
api_room_reel(struct api_req *req)
{
	char cursor[ROOM_QVALUE_MAX], key[NS_KEY_MAX];
	const char **ids = NULL, **hidden = NULL;
	json_object *body = NULL, *items = NULL;
	struct api_excl ex = { 0 };
	redisReply *picks = NULL;
	PGresult *hidden_res = NULL;
	enum ns_err err = NS_OK;
	long limit = reel_limit(req->query);
	long long n = 0;
	size_t k = 0, h = 0, i;
	int q;

	q = query_get(req->query, "cursor", cursor, sizeof cursor);
	if (q < 0 || (q > 0 && !reel_cursor_valid(cursor))) {
		api_respond_error(req, NS_E_BAD_REQUEST, MSG_INVALID_CURSOR);
		return NS_E_BAD_REQUEST;
	}
	if (q == 0 && ns_rand_uuid(cursor) != NS_OK)
		return NS_E_INTERNAL;
	if (!ns_keys_reel(key, req->auth.user_id, cursor))
		return NS_E_INTERNAL;

	if ((err = reel_hidden(req, &ex, &hidden_res, &hidden, &h)) != NS_OK ||
	    (err = reel_pick(req, key, hidden, h, (size_t)limit + ROOM_REEL_SLACK, &n, &picks)) !=
	    NS_OK)
		goto out;

	items = json_object_new_array();
	if (!(ids = calloc(picks->element[1]->elements + 1, sizeof(*ids)))) {
		err = NS_E_NOMEM;
		goto out;
	}
	for (i = 0; i < picks->element[1]->elements; i++) {
		const redisReply *e = picks->element[1]->element[i];

		/* only user ids become cache keys */
		if (e->type == REDIS_REPLY_STRING && e->len == NS_UUID_LEN &&
		    ns_rand_uuid_parse(e->str, NULL))
			ids[k++] = e->str;
	}
	if (k > 0 && (err = reel_items(req, ids, k, limit, items)) != NS_OK)
		goto out;
	body = ns_json_obj();
	ns_json_set(body, "items", items);
	items = NULL;
	ns_json_set_str(body, "cursor", cursor);
	ns_json_set_bool(body, "hasMore", n > limit);
	if ((err = reel_mark_seen(req, key, json_object_object_get(body, "items"))) != NS_OK)
		goto out;
	req->no_store = 1;
	api_respond_json(req, 200, body);
	body = NULL;
out:
	if (body != NULL)
		json_object_put(body);
	if (items != NULL)
		json_object_put(items);
	if (hidden_res != NULL)
		PQclear(hidden_res);
	if (picks != NULL)
		freeReplyObject(picks);
	api_excl_free(&ex);
	free(hidden);
	free(ids);
	return err;
}
