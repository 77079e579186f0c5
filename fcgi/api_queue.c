/* api_queue: GET /room/queue (contract §2.5), a page of the available users with the
 * requester's flags. Presence is read from Redis (ns:available, written by the gateways
 * and shared/presence), the cards from the query cache (cache.h) and the requester's
 * cooldowns and reports from theirs (excl.h), all in the guard's own Redis script, and
 * PostgreSQL only for what missed. Nothing is asked per candidate. */

#include "config.h"

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "app.h"
#include "cache.h"
#include "ctl.h"
#include "clock.h"
#include "excl.h"
#include "keys.h"
#include "kv.h"
#include "log.h"
#include "nsconfig.h"
#include "queue.h"
#include "rand.h"
#include "respond.h"
#include "script.h"
#include "sha256.h"

#define QUEUE_VIEW_TTL_S 600	/* lifetime of the recorded queue page */
#define QUEUE_ETAG_HEX 32	/* hex digits of the body digest in the ETag */
#define QUEUE_JSON_CTYPE "application/json; charset=utf-8"
#define QUEUE_BODY_MIN 65536	/* first size of the reused queue body buffer */
#define QUEUE_BODY_KEEP (1u << 20)	/* a bigger buffer is freed after its request */
#define QUEUE_BODY_MAX (64u << 20)	/* a page body (5,000 cards of worst-case text) */
#define QUEUE_TAIL 4	/* last members of a page read with their scores (see queue_script) */
#define STR_(x) #x
#define STR(x) STR_(x)

#define MSG_INVALID_LIMIT "Invalid limit"
#define MSG_INVALID_CURSOR "Invalid cursor"

/* KEYS[1] ns:available, KEYS[2] the requester's recorded page (ns:qview), KEYS[3] the
 * requester's cooldowns and reports (excl.h); ARGV: requester, limit, the key prefix of the
 * query cache's user entries (or of their fills, which is all a revalidation needs), the
 * recorded page's lifetime, sorted ("1": see below), then optionally the cursor's score and
 * userId. Returns {ZCARD,
 * requester present 0/1, {member, ...}, {user entry (or fill) of each member or nil}, excl
 * entry or nil, recorded page or nil, {member, score, ...} of the last QUEUE_TAIL members}
 * with up to limit + 2 members after the cursor: enough for a full page without the
 * requester plus one to tell whether more follow. Only the next cursor needs a score, and it
 * is one of the last members: Redis formats each score it returns as a double, which was a
 * tenth of its time for a page of 100. So a page whose cards are cached costs this one call
 * and no PostgreSQL query. The cursor's place is found by rank, so members that left or joined
 * since cannot make a page skip or repeat anyone; ties (equal scores) are ordered by member
 * bytes, as the zset orders them, compared bytewise (Lua's < follows the locale). The
 * cache keys are built from the prefix here, as the guard's script does.
 *
 * With sorted set, the first page's members and entries are left out ({} and {}): they are
 * read by a SORT in the same transaction (queue_sort), which gives Redis the page
 * without making every id and entry a Lua string (about 85 µs of Redis time per page of 100
 * user entries, the largest part of its work for a page). */
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
	"local page, cards, tail, n = {}, {}, {}, 0\n" \
	"if sorted and not cs then\n" \
	"  n = math.min(limit + 2, redis.call('ZCARD', key))\n" \
	"else\n" \
	"  page = redis.call('ZRANGE', key, start, start + limit + 1)\n" \
	"  n = #page\n" \
	"end\n" \
	"if n > 0 then\n" \
	"  if #page > 0 then\n" \
	"    local ks = {}\n" \
	"    for i = 1, #page do ks[i] = upfx .. page[i] end\n" \
	"    cards = redis.call('MGET', unpack(ks))\n" \
	"  end\n" \
	"  tail = redis.call('ZRANGE', key, start + math.max(n - " STR(QUEUE_TAIL) ", 0)," \
	" start + n - 1, 'WITHSCORES')\n" \
	"end\n" \
	"local view = redis.call('GET', vkey)\n" \
	"if view then redis.call('EXPIRE', vkey, ttl) end\n" \
	"return {redis.call('ZCARD', key), mine, page, cards, redis.call('GET', xkey), view," \
	" tail}\n"

static struct ns_script queue_script = { .src =
	"local key, vkey, xkey, me, limit, upfx, ttl, sorted, cs, cm = KEYS[1], KEYS[2],"
	" KEYS[3], ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], ARGV[5] == '1', ARGV[6],"
	" ARGV[7]\n" QUEUE_LUA };

/* The same, run by the guard's script (cache.h) for the session's user: ARGV[5] on are
 * ns:available, the key prefixes of the recorded page and of the excl entries, then limit,
 * entry prefix, lifetime, sorted ("1": the page comes from queue_sort) and cursor as above. */
static struct api_cache_extra queue_extra = { .lua =
	"local key, vkey, xkey, me, limit, upfx, ttl, sorted, cs, cm = ARGV[5], ARGV[6] .. uid,"
	" ARGV[7] .. uid, uid, tonumber(ARGV[8]), ARGV[9], ARGV[10], ARGV[11] == '1', ARGV[12],"
	" ARGV[13]\n"
	QUEUE_LUA };

struct qpage {
	struct api_queue_pos *slot;	/* candidates of this page, in order */
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
tail_score(const redisReply *tail, const redisReply *m, char score[API_QUEUE_SCORE_MAX + 1])
{
	size_t i;

	score[0] = '\0';
	for (i = 0; i + 1 < tail->elements; i += 2) {
		const redisReply *t = tail->element[i], *s = tail->element[i + 1];

		if (t->type == REDIS_REPLY_STRING && s->type == REDIS_REPLY_STRING &&
		    t->len == m->len && memcmp(t->str, m->str, m->len) == 0 &&
		    s->len <= API_QUEUE_SCORE_MAX && api_queue_score_valid(s->str)) {
			memcpy(score, s->str, s->len + 1);
			return;
		}
	}
}

/* What this request's guard asked for the queue (api_room_queue_prefetch), so that
 * queue_fetch takes that reply only for the very page it wants. One request per process at
 * a time. */
static struct {
	int valid;
	long limit;
	int has_after, heads;
	struct api_queue_pos after;
	char lim[24], ttl[16], count[24];
	char vpfx[NS_KEY_MAX], xpfx[NS_KEY_MAX], upfx[NS_KEY_MAX], pattern[NS_KEY_MAX + 1];
	const char *sort[11];
} asked;

/* limit and cursor of the query; NULL, or the contract's 400 message. */
static const char *
queue_params(const struct api_req *req, long *limit, struct api_queue_pos *after, int *has_after)
{
	char v[API_QVALUE_MAX];
	int q;

	*limit = req->cfg->queue_page_default;
	q = api_req_query(req->query, "limit", v, sizeof v);
	if (q < 0 || (q > 0 && (!api_req_int(v, limit) || *limit < 1 ||
	    *limit > req->cfg->queue_page_max)))
		return MSG_INVALID_LIMIT;
	q = api_req_query(req->query, "cursor", v, sizeof v);
	if (q < 0 || (q > 0 && !api_queue_cursor_decode(v, after)))
		return MSG_INVALID_CURSOR;
	*has_after = q > 0;
	return NULL;
}

/* The first page's members and their entries (or fills), in the zset's order, without Lua:
 * SORT of a zset BY nosort keeps its order and reads only the LIMIT range. Its reply is
 * {member, entry or nil, ...}; an entry key is upfx followed by the member (GET's '*'). */
static void
queue_sort(const char *(*argv)[11], char count[24], long limit, char pattern[NS_KEY_MAX + 1],
    const char *upfx)
{
	snprintf(count, 24, "%ld", limit + 2);
	snprintf(pattern, NS_KEY_MAX + 1, "%s*", upfx);
	(*argv)[0] = "SORT", (*argv)[1] = NS_KEY_AVAILABLE, (*argv)[2] = "BY";
	(*argv)[3] = "nosort", (*argv)[4] = "LIMIT", (*argv)[5] = "0", (*argv)[6] = count;
	(*argv)[7] = "GET", (*argv)[8] = "#", (*argv)[9] = "GET", (*argv)[10] = pattern;
}

/* The route's prefetch (router.h): the page (heads only for a revalidation) in the guard's
 * round trip; the first page's members and entries in a SORT beside the script. */
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
	snprintf(asked.ttl, sizeof asked.ttl, "%d", QUEUE_VIEW_TTL_S);
	ask->extra = &queue_extra;
	ask->args[0] = NS_KEY_AVAILABLE, ask->args[1] = asked.vpfx, ask->args[2] = asked.xpfx;
	ask->args[3] = asked.lim, ask->args[4] = asked.upfx, ask->args[5] = asked.ttl;
	ask->args[6] = asked.has_after ? "0" : "1";
	ask->nargs = 7;
	if (asked.has_after) {
		ask->args[7] = asked.after.score, ask->args[8] = asked.after.user_id;
		ask->nargs = 9;
	} else {
		queue_sort(&asked.sort, asked.count, asked.limit, asked.pattern, asked.upfx);
		ask->more.argc = 11;
		ask->more.argv = asked.sort;
		ask->more.argvlen = NULL;
		ask->nmore = 1;
	}
	asked.valid = 1;
	return 1;
}

/* The guard's reply for this page, when it asked for exactly this one (*sorted: the SORT's
 * reply, or NULL). */
static redisReply *
queue_prefetched(long limit, const struct api_queue_pos *after, int heads, const redisReply **v,
    const redisReply **sorted)
{
	int same = asked.valid && asked.limit == limit && asked.heads == heads &&
	    asked.has_after == (after != NULL) && (!after ||
	    (strcmp(asked.after.score, after->score) == 0 &&
	    strcmp(asked.after.user_id, after->user_id) == 0));
	redisReply *r = same ? api_cache_extra_take(v, sorted) : NULL;

	asked.valid = 0;
	return r;
}

static enum ns_err
queue_fetch(struct api_req *req, long limit, const struct api_queue_pos *after, int heads,
    struct qpage *pg)
{
	char lim[24], vkey[NS_KEY_MAX], xkey[NS_KEY_MAX], ukey[NS_KEY_MAX], ttl[16], count[24];
	char pattern[NS_KEY_MAX + 1];
	const char *argv[10] = { NS_KEY_AVAILABLE, vkey, xkey, req->auth.user_id, lim, ukey, ttl,
	    after ? "0" : "1", NULL, NULL }, *sort[11];
	struct ns_kv_command more = { 11, sort, NULL };
	const redisReply *arr, *ents, *r, *sorted = NULL;
	enum ns_err err;
	size_t i, n, kept = 0, stride = 1;

	if ((pg->reply = queue_prefetched(limit, after, heads, &r, &sorted)) == NULL) {
		if (!ns_keys_queue_view(vkey, req->auth.user_id) ||
		    !ns_keys_cache(xkey, NS_CACHE_EXCL, req->auth.user_id) ||
		    !ns_keys_cache(ukey, heads ? NS_CACHE_FILL : NS_CACHE_USER, ""))
			return NS_E_INTERNAL;
		snprintf(lim, sizeof lim, "%ld", limit);
		snprintf(ttl, sizeof ttl, "%d", QUEUE_VIEW_TTL_S);
		if (after != NULL) {
			argv[8] = after->score;
			argv[9] = after->user_id;
			pg->reply = ns_script_eval(req->app->kv, &queue_script, &err, 3, 7, argv,
			    NULL);
			r = pg->reply;
		} else {	/* the first page: with a SORT, as the guard asks for it */
			queue_sort(&sort, count, limit, pattern, ukey);
			pg->reply = ns_script_eval_exec(req->app->kv, &queue_script, &err, 3, 5,
			    argv, NULL, 1, &more);
			if (pg->reply)
				r = pg->reply->element[0], sorted = pg->reply->element[1];
		}
		if (pg->reply == NULL)
			return err;
	}
	if (r->type != REDIS_REPLY_ARRAY || r->elements != 7 ||
	    r->element[0]->type != REDIS_REPLY_INTEGER ||
	    r->element[1]->type != REDIS_REPLY_INTEGER ||
	    r->element[2]->type != REDIS_REPLY_ARRAY ||
	    r->element[3]->type != REDIS_REPLY_ARRAY ||
	    r->element[3]->elements != r->element[2]->elements ||
	    r->element[6]->type != REDIS_REPLY_ARRAY || r->element[6]->elements % 2 != 0 ||
	    (sorted && (sorted->type != REDIS_REPLY_ARRAY || sorted->elements % 2 != 0)))
		return NS_E_INTERNAL;
	pg->total = r->element[0]->integer - r->element[1]->integer;
	/* members at arr[i * stride], their entries at ents[i * stride] */
	arr = r->element[2], ents = r->element[3], n = arr->elements;
	if (sorted)
		arr = sorted, ents = sorted, stride = 2, n = sorted->elements / 2;
	pg->excl = r->element[4];
	pg->view = r->element[5];
	pg->slot = calloc((size_t)limit + 2, sizeof(*pg->slot));
	pg->entry = calloc((size_t)limit + 2, sizeof(*pg->entry));
	if (pg->slot == NULL || pg->entry == NULL)
		return NS_E_NOMEM;
	for (i = 0; i < n; i++) {
		const redisReply *m = arr->element[i * stride], *ent;
		struct api_queue_pos *p = &pg->slot[kept];

		ent = ents->element[i * stride + (stride - 1)];
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

/* Each candidate's card (api_cache_cards_load). */
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
	err = api_cache_cards_load(req->app, pg->n, uids, pg->entry, pg->card, &pg->fetched,
	    &pg->nfetched);
	free(uids);
	return err;
}

/* ---- the queue body, written directly: json-c's per-node allocations were most of the
 * worker's time on a 100-card page. Same bytes as ns_json_text would give (compact, '/'
 * unescaped), so the ETag of an unchanged page is stable across versions. */

struct qbuf {
	char *p;
	size_t len, cap;
	int failed;		/* allocation failed or QUEUE_BODY_MAX reached */
};

static void
qb_grow(struct qbuf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : QUEUE_BODY_MIN;
	char *p;

	if (b->failed)
		return;
	if (n > QUEUE_BODY_MAX - b->len) {
		b->failed = 1;
		return;
	}
	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap > QUEUE_BODY_MAX + 1)
		cap = QUEUE_BODY_MAX + 1;
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
	snprintf(ttl, sizeof ttl, "%d", QUEUE_VIEW_TTL_S);
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

static void
body_etag(const char *text, size_t len, char out[QUEUE_ETAG_HEX + 3])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[NS_SHA256_LEN];
	size_t i;

	ns_sha256(text, len, md);
	out[0] = '"';
	for (i = 0; i < QUEUE_ETAG_HEX / 2; i++) {
		out[1 + 2 * i] = hex[md[i] >> 4];
		out[2 + 2 * i] = hex[md[i] & 15];
	}
	out[QUEUE_ETAG_HEX + 1] = '"';
	out[QUEUE_ETAG_HEX + 2] = '\0';
}

/* The page's validator, from what decides its body rather than from the body, so that a
 * revalidation needs only the entries' fills (NS_CACHE_FILL), not the cards: the
 * count, the next cursor, and per candidate its id, its entry's fill ("-": no users row)
 * and what the requester's cooldowns and reports make of it at now. An introducer's name
 * needs no place: it follows from introduced_by (in the entry), and names never change. */
static int
queue_etag(const struct qpage *pg, const struct api_excl *ex, int64_t now,
    char out[QUEUE_ETAG_HEX + 3])
{
	struct qbuf t = { 0 };
	char next[API_QUEUE_CURSOR_MAX + 1];
	size_t k;

	QB_LIT(&t, "q2|");
	qb_i64(&t, pg->total);
	QB_LIT(&t, "|");
	if (pg->more && pg->n > 0 && api_queue_cursor_encode(&pg->slot[pg->n - 1], next))
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
	char next[API_QUEUE_CURSOR_MAX + 1];
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
	if (pg->more && pg->n > 0 && api_queue_cursor_encode(&pg->slot[pg->n - 1], next))
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
queue_revalidate(struct api_req *req, long limit, const struct api_queue_pos *after,
    struct qpage *pg, enum ns_err *err)
{
	struct api_excl ex = { 0 };
	const char **ids = NULL;
	char etag[QUEUE_ETAG_HEX + 3];
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
	    api_req_etag_matches(req->if_none_match, etag)) {
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
	char etag[QUEUE_ETAG_HEX + 3];
	struct qpage pg = { 0 };
	struct api_excl ex = { 0 };
	struct api_queue_pos after;
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
	if (req->if_none_match[0] && api_req_etag_matches(req->if_none_match, etag))
		api_respond_empty(req, 304);
	else
		api_respond_raw(req, 200, QUEUE_JSON_CTYPE, body.p, body.len);
out:
	if (body.cap > QUEUE_BODY_KEEP) {	/* a rare huge page: give the memory back */
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
