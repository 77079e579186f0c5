/* excl_entry: the text of an excl cache entry (excl.h), apart from any I/O so that it can
 * be fuzzed: "x1" then, per user, US "<userId>:<cooldown expiry ms or 0>:<reported 0/1>",
 * US being the ASCII unit separator as in cache.c's entries. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "excl.h"
#include "rand.h"

#define SEP '\x1f'
#define ITEM_TEXT_MAX (NS_UUID_LEN + 24 + 4)	/* "<uuid>:<int64>:<0|1>" */

int
api_excl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct api_excl_item *)a)->user_id,
	    ((const struct api_excl_item *)b)->user_id);
}

int
api_excl_decode(const char *v, size_t len, struct api_excl *out)
{
	const char *p = v, *end = v + len;
	size_t cap = 0;

	out->item = NULL, out->n = 0, out->over = 0;
	if (len < 2 || memcmp(v, "x1", 2) != 0)
		return -1;
	for (p = v + 2; p < end; p++)
		cap += *p == SEP;
	if (cap > API_EXCL_CACHE_MAX || (cap && !(out->item = calloc(cap, sizeof(*out->item)))))
		return -1;
	for (p = v + 2; p < end && *p == SEP; ) {
		const char *q = memchr(p + 1, SEP, (size_t)(end - p - 1));
		size_t n = (size_t)((q ? q : end) - (p + 1));
		struct api_excl_item *it = &out->item[out->n];
		char text[ITEM_TEXT_MAX + 1], *colon, *e;

		if (n > ITEM_TEXT_MAX || n <= NS_UUID_LEN + 1)
			goto bad;
		memcpy(text, p + 1, n);
		text[n] = '\0';
		if (text[NS_UUID_LEN] != ':')
			goto bad;
		text[NS_UUID_LEN] = '\0';
		if (!ns_rand_uuid_parse(text, it->user_id) || strcmp(it->user_id, text) != 0)
			goto bad;
		it->cooldown_ms = strtoll(text + NS_UUID_LEN + 1, &e, 10);
		colon = e;
		if (*colon != ':' || (colon[1] != '0' && colon[1] != '1') || colon[2] != '\0')
			goto bad;
		it->reported = colon[1] == '1';
		out->n++;
		p = q ? q : end;
	}
	if (p != end)
		goto bad;
	api_excl_sort(out);
	return 0;
bad:
	free(out->item);
	out->item = NULL;
	out->n = 0;
	return -1;
}

char *
api_excl_encode(const struct api_excl *x)
{
	char *s = malloc(2 + x->n * (ITEM_TEXT_MAX + 1) + 1), *p;
	size_t i;

	if (!s)
		return NULL;
	memcpy(s, "x1", 2);
	p = s + 2;
	for (i = 0; i < x->n; i++)
		p += sprintf(p, "%c%s:%" PRId64 ":%d", SEP, x->item[i].user_id,
		    x->item[i].cooldown_ms, x->item[i].reported);
	*p = '\0';
	return s;
}

void
api_excl_sort(struct api_excl *x)
{
	if (x->n > 1)
		qsort(x->item, x->n, sizeof(*x->item), api_excl_cmp);
}
