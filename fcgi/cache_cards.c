/* cache_cards: the matchmaking lists' cards from the query cache, misses from PostgreSQL
 * in one query (cache.h). */

#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "metrics.h"
#include "rand.h"

enum ns_err
api_cache_cards_load(struct app *app, size_t n, const char *const *uids,
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
	if ((err = api_cache_users_fetch(app, m, ids, seen, *fetched)) != NS_OK)
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
