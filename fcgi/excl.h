/* excl: what a requester's matchmaking list hides or flags about other users: active
 * cooldowns (flagged with their expiry) and the users the requester reported (hidden).
 *
 * Cached in Redis per requester (ns_keys_cache(NS_CACHE_EXCL, userId)) with the query
 * cache's conditional fill (fcgi/cache.c). Every write of a cooldown (the gateways' call
 * ends and declines) or of a report (api_report) tombstones the entries of the users it
 * concerns, so a list read through any worker right after sees it. */
#ifndef API_EXCL_H
#define API_EXCL_H
#include <stddef.h>
#include <stdint.h>
#include <hiredis/hiredis.h>
#include "err.h"

struct app;

#define API_EXCL_CACHE_MAX 2000	/* a longer set is read for the listed users each time */

struct api_excl_item {
	char user_id[37];
	int64_t cooldown_ms;	/* the cooldown's expiry, 0 when none */
	int reported;		/* the requester reported this user */
};

struct api_excl {
	struct api_excl_item *item;	/* sorted by user_id */
	size_t n;
	int over;	/* longer than API_EXCL_CACHE_MAX: holds only the listed users' items */
};

/* The set of user_id, from the entry the list's script read (NIL, a tombstone or an entry;
 * NULL when not read), else from PostgreSQL, filling the cache. When the set is longer
 * than API_EXCL_CACHE_MAX only its part about the listed users ids[0..n) is read. */
enum ns_err api_excl_load(struct app *app, const char *user_id, const redisReply *entry,
    const char *const *ids, size_t n, struct api_excl *out);
/* The item of other_id, or NULL when nothing is recorded about it. */
const struct api_excl_item *api_excl_find(const struct api_excl *x, const char *other_id);
void api_excl_free(struct api_excl *x);
/* The entry's text (excl_entry.c). decode: 0, or -1 (not an entry; out is left empty);
 * items come out sorted. encode: a malloc'd entry, or NULL (no memory). */
int api_excl_decode(const char *v, size_t len, struct api_excl *out);
char *api_excl_encode(const struct api_excl *x);
void api_excl_sort(struct api_excl *x);
int api_excl_cmp(const void *a, const void *b);	/* by user_id, for qsort/bsearch */

/* After a cooldown or report involving user_id was written (and committed). */
void api_excl_invalidate(struct app *app, const char *user_id);

#endif
