/* fuzz_excl: libFuzzer target for the excl cache entry's text (fcgi/excl_entry.c), which is
 * read back from Redis. Invariants: decode never reads past its input; an accepted entry has
 * at most API_EXCL_CACHE_MAX items, each a canonical UUID, sorted; encoding it and decoding
 * the text again gives the same items; a refused entry leaves nothing allocated. */
#include <config.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "excl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct api_excl x, y;
	char *copy = malloc(size ? size : 1), *text;
	size_t i;

	if (!copy)
		return 0;
	memcpy(copy, data, size);	/* exact size: ASan sees any read past it */
	if (api_excl_decode(copy, size, &x) < 0) {
		if (x.item != NULL || x.n != 0)
			abort();
		free(copy);
		return 0;
	}
	if (x.n > API_EXCL_CACHE_MAX)
		abort();
	for (i = 0; i < x.n; i++) {
		if (strlen(x.item[i].user_id) != 36 || (x.item[i].reported & ~1))
			abort();
		if (i && api_excl_cmp(&x.item[i - 1], &x.item[i]) > 0)
			abort();
	}
	if ((text = api_excl_encode(&x)) != NULL) {
		if (api_excl_decode(text, strlen(text), &y) < 0 || y.n != x.n)
			abort();
		for (i = 0; i < x.n; i++)
			if (strcmp(x.item[i].user_id, y.item[i].user_id) != 0 ||
			    x.item[i].cooldown_ms != y.item[i].cooldown_ms ||
			    x.item[i].reported != y.item[i].reported)
				abort();
		free(y.item);
		free(text);
	}
	free(x.item);
	free(copy);
	return 0;
}
