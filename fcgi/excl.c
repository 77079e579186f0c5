/* excl: a requester's cooldowns and reports for the matchmaking lists (see excl.h): the
 * PostgreSQL read and the cache around it; the entry's text is excl_entry.c's. An entry
 * holds at most API_EXCL_CACHE_MAX users; a longer set is not cached. Expired cooldowns may
 * stay in an entry until it expires (cache_ttl_s): the expiry is compared with the clock at
 * every use. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "excl.h"
#include "app.h"
#include "cache.h"
#include "clock.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "rand.h"

#define STR_(x) #x
#define STR(x) STR_(x)

/* One row per user the requester has an active cooldown with or reported; $2 (a uuid[] or
 * NULL) keeps only those users. Each branch is an index probe on the requester's id. */
static const char excl_sql[] =
	"SELECT o::text, coalesce(max(c), 0)::bigint, bool_or(r) FROM ("
	" SELECT user_id_2 AS o, floor(extract(epoch FROM expires_at) * 1000) AS c, false AS r"
	"  FROM cooldowns WHERE user_id_1 = $1::uuid AND expires_at > now()"
	" UNION ALL SELECT user_id_1, floor(extract(epoch FROM expires_at) * 1000), false"
	"  FROM cooldowns WHERE user_id_2 = $1::uuid AND expires_at > now()"
	" UNION ALL SELECT reported_user_id, NULL, true"
	"  FROM reports WHERE reporter_user_id = $1::uuid) t"
	" WHERE $2::uuid[] IS NULL OR o = ANY($2::uuid[])"
	" GROUP BY o LIMIT " STR(API_EXCL_CACHE_MAX) " + 1";

static enum ns_err
db_load(struct app *app, const char *user_id, const char *only, struct api_excl *out, int *over)
{
	const char *params[2] = { user_id, only };
	enum ns_err e;
	PGresult *r = ns_db_exec_prepared(app->db, "excl", excl_sql, 2, params, &e);
	int i, rows;

	out->item = NULL, out->n = 0, out->over = 0;
	if (!r) {
		api_metrics_db_error();
		return e;
	}
	rows = PQntuples(r);
	*over = rows > API_EXCL_CACHE_MAX;
	if (rows > 0 && !(out->item = calloc((size_t)rows, sizeof(*out->item)))) {
		PQclear(r);
		return NS_E_NOMEM;
	}
	for (i = 0; i < rows; i++) {
		struct api_excl_item *it = &out->item[out->n];

		if (!ns_rand_uuid_parse(PQgetvalue(r, i, 0), it->user_id))
			continue;
		it->cooldown_ms = ns_db_col_int(r, i, 1);
		it->reported = PQgetvalue(r, i, 2)[0] == 't';
		out->n++;
	}
	PQclear(r);
	api_excl_sort(out);
	return NS_OK;
}

enum ns_err
api_excl_load(struct app *app, const char *user_id, const redisReply *entry,
    const char *const *ids, size_t n, struct api_excl *out)
{
	char key[NS_KEY_MAX], *enc, *only;
	enum ns_err e;
	int over = 0;

	if (entry && entry->type == REDIS_REPLY_STRING &&
	    api_excl_decode(entry->str, entry->len, out) == 0) {
		api_metrics_cache(API_CACHE_EXCL, 1);
		return NS_OK;
	}
	api_metrics_cache(API_CACHE_EXCL, 0);
	if ((e = db_load(app, user_id, NULL, out, &over)) != NS_OK)
		return e;
	if (over) {
		/* Too many to keep: ask for the listed users only, every time. */
		api_excl_free(out);
		out->over = 1;
		if (n == 0)
			return NS_OK;
		if (!(only = ns_db_uuid_array(ids, n)))
			return NS_E_NOMEM;
		e = db_load(app, user_id, only, out, &over);
		out->over = 1;
		free(only);
		return e;
	}
	if (entry && (entry->type == REDIS_REPLY_NIL || entry->type == REDIS_REPLY_STRING) &&
	    ns_keys_cache(key, NS_CACHE_EXCL, user_id) && (enc = api_excl_encode(out)) != NULL) {
		api_cache_fill(app, key, entry->type == REDIS_REPLY_STRING ? entry->str : "",
		    entry->type == REDIS_REPLY_STRING ? entry->len : 0, enc, strlen(enc));
		free(enc);
	}
	return NS_OK;
}

const struct api_excl_item *
api_excl_find(const struct api_excl *x, const char *other_id)
{
	struct api_excl_item k;

	if (x->n == 0 || strlen(other_id) >= sizeof(k.user_id))
		return NULL;
	strcpy(k.user_id, other_id);
	return bsearch(&k, x->item, x->n, sizeof(*x->item), api_excl_cmp);
}

void
api_excl_free(struct api_excl *x)
{
	free(x->item);
	x->item = NULL;
	x->n = 0;
	x->over = 0;
}

void
api_excl_invalidate(struct app *app, const char *user_id)
{
	char key[NS_KEY_MAX];

	if (ns_keys_cache(key, NS_CACHE_EXCL, user_id))
		api_cache_tombstone(app, key);
}
