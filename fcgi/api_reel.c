/* api_reel: GET /room/reel (contract §2.5), random available users the requester has not
 * been shown under this cursor. Presence is read from Redis (ns:available); the cards come
 * from the query cache (cache.h), the hidden users from the excl cache (excl.h), and
 * PostgreSQL only for what missed. */

#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "app.h"
#include "cache.h"
#include "clock.h"
#include "db.h"
#include "excl.h"
#include "json.h"
#include "keys.h"
#include "kv.h"
#include "rand.h"
#include "respond.h"
#include "script.h"

#define REEL_DEFAULT 20
#define REEL_MAX 50
#define REEL_SLACK 10	/* extra shuffled picks in case a presence has no users row */
#define REEL_CURSOR_MAX 64
#define REEL_TTL_S 3600	/* seen-set lifetime after last use */
#define REEL_SCAN_MAX 100000	/* available users one reel call considers */
#define REEL_HIDDEN_MAX 10000	/* cooldown partners and reported users honoured */
#define REEL_RAND_SPARE 8	/* random numbers beyond one per pick, for rejections */
#define REEL_FAST_EXCL_MAX 500	/* excluded users beyond which the reel scans (below) */
#define REEL_FAST_TRIES 4	/* random ranks drawn per wanted pick before the scan */
#define REEL_RAND_LEN 24	/* a 48-bit integer in decimal */
#define STR_(x) #x
#define STR(x) STR_(x)

#define MSG_INVALID_CURSOR "Invalid cursor"

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
	"if #seenl + h < " STR(REEL_FAST_EXCL_MAX) " and limit > 0 then\n"
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
	"  for _ = 1, " STR(REEL_FAST_TRIES) " * want + " STR(REEL_FAST_TRIES) " do\n"
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
		snprintf(hmax, sizeof hmax, "%d", REEL_HIDDEN_MAX);
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
	if ((err = api_cache_cards_load(req->app, n, ids, entries, card, &fetched, &nfetched)) != NS_OK)
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

	if (n < 1 || n > REEL_CURSOR_MAX)
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
	char v[API_QVALUE_MAX];
	long n;

	if (api_req_query(query, "limit", v, sizeof v) <= 0 || !api_req_int(v, &n) || n < 1)
		return REEL_DEFAULT;
	return n > REEL_MAX ? REEL_MAX : n;
}

/* Pick up to k candidates in Redis (see reel_pick_script). *picks is the reply (freed by
 * the caller); its second element holds the ids. */
static enum ns_err
reel_pick(struct api_req *req, const char *key, const char *const *hidden, size_t h, size_t k,
    long long *n, redisReply **picks)
{
	/* enough for the sampled path's draws and then the scan's, with rejections */
	size_t nrand = (REEL_FAST_TRIES + 1) * k + REEL_FAST_TRIES +
	    2 * REEL_RAND_SPARE, argc, i;
	char ttl[16], scan[16], kk[16], hh[16], (*rnd)[REEL_RAND_LEN] = NULL;
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
	snprintf(ttl, sizeof ttl, "%d", REEL_TTL_S);
	snprintf(scan, sizeof scan, "%d", REEL_SCAN_MAX);
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
	snprintf(ttl, sizeof ttl, "%d", REEL_TTL_S);
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
	char cursor[API_QVALUE_MAX], key[NS_KEY_MAX];
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

	q = api_req_query(req->query, "cursor", cursor, sizeof cursor);
	if (q < 0 || (q > 0 && !reel_cursor_valid(cursor))) {
		api_respond_error(req, NS_E_BAD_REQUEST, MSG_INVALID_CURSOR);
		return NS_E_BAD_REQUEST;
	}
	if (q == 0 && ns_rand_uuid(cursor) != NS_OK)
		return NS_E_INTERNAL;
	if (!ns_keys_reel(key, req->auth.user_id, cursor))
		return NS_E_INTERNAL;

	if ((err = reel_hidden(req, &ex, &hidden_res, &hidden, &h)) != NS_OK ||
	    (err = reel_pick(req, key, hidden, h, (size_t)limit + REEL_SLACK, &n, &picks)) !=
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
