/* fuzz_query: libFuzzer target for the request's text parsers (fcgi/query.c) and the queue
 * cursor (fcgi/queue_cursor.c), which read the query string and If-None-Match as the client
 * sent them. The input, cut at its first NUL as a FastCGI parameter would be, is a query
 * string, a header and a cursor. Invariants: nothing reads past the text (an exact-size
 * copy); a decoded value fits its buffer and holds no NUL; an accepted cursor is the only
 * text that encodes its position; an integer read is the digits' value up to the clamp. */

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Percent-encode every byte of s[0..n), then decode: must give s back. */
static void
pct_round_trip(const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *enc = malloc(3 * n + 1), *dec = malloc(n + 1);
	size_t i;

	if (!enc || !dec)
		abort();
	for (i = 0; i < n; i++) {
		enc[3 * i] = '%';
		enc[3 * i + 1] = hex[(unsigned char)s[i] >> 4];
		enc[3 * i + 2] = hex[(unsigned char)s[i] & 15];
	}
	if (api_req_pct_decode(dec, n + 1, enc, 3 * n, 0) != 0 || memcmp(dec, s, n) != 0 ||
	    dec[n] != '\0')
		abort();
	if (n > 0 && api_req_pct_decode(dec, n, enc, 3 * n, 0) != -1)	/* one byte short */
		abort();
	free(enc);
	free(dec);
}

static void
check_decoded(int rc, const char *out, size_t cap)
{
	if (rc == 1 && memchr(out, '\0', cap) == NULL)
		abort();
}

static void
check_int(const char *s)
{
	long v = 0, want = 0;
	size_t i = s[0] == '-', digits = strlen(s + i);
	int ok = api_req_int(s, &v);

	if (ok != (digits > 0 && strspn(s + i, "0123456789") == digits))
		abort();
	if (ok && digits <= 9) {	/* below the clamp: the exact value */
		want = strtol(s, NULL, 10);
		if (v != want)
			abort();
	}
	if (ok && (v > API_INT_CLAMP * 10 + 9 || v < -(API_INT_CLAMP * 10 + 9)))
		abort();
}

static void
check_cursor(const char *text)
{
	struct api_queue_pos pos, again;
	char enc[API_QUEUE_CURSOR_MAX + 1];

	memset(&pos, 0xa5, sizeof pos);
	if (!api_queue_cursor_decode(text, &pos))
		return;
	if (!api_queue_score_valid(pos.score) || strlen(pos.user_id) != NS_UUID_LEN ||
	    !ns_rand_uuid_parse(pos.user_id, NULL))
		abort();
	if (!api_queue_cursor_encode(&pos, enc) || strcmp(enc, text) != 0)
		abort();
	if (!api_queue_cursor_decode(enc, &again) || strcmp(again.score, pos.score) != 0 ||
	    strcmp(again.user_id, pos.user_id) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t n = strnlen((const char *)data, size);
	char *text = malloc(n + 1);	/* exact size: ASan sees any read past it */
	char out[API_QVALUE_MAX], small[4], key[API_QKEY_MAX];
	const char *eq;
	int rc;

	if (!text)
		return 0;
	memcpy(text, data, n);
	text[n] = '\0';

	pct_round_trip(text, n < 512 ? n : 512);
	rc = api_req_pct_decode(out, sizeof out, text, n, 1);
	if (rc == 0 && (strlen(out) > n || memchr(out, '\0', sizeof out) == NULL))
		abort();
	if (rc == 0 && memchr(text, '%', n) == NULL && memchr(text, '+', n) == NULL &&
	    strcmp(out, text) != 0)
		abort();

	/* the input as a query string, asked for fixed names and for its own first key */
	check_decoded(api_req_query(text, "limit", out, sizeof out), out, sizeof out);
	check_decoded(api_req_query(text, "cursor", small, sizeof small), small, sizeof small);
	eq = strpbrk(text, "=&");
	if (api_req_pct_decode(key, sizeof key, text, eq ? (size_t)(eq - text) : n, 1) == 0 &&
	    key[0] != '\0') {
		rc = api_req_query(text, key, out, sizeof out);
		if (rc == 0)	/* the first segment's key is always found */
			abort();
		check_decoded(rc, out, sizeof out);
	}

	check_int(text);
	if (api_req_etag_matches(text, "\"0123456789abcdef\"") < 0 ||
	    api_req_etag_matches("*", text) != 1)
		abort();
	check_cursor(text);

	free(text);
	return 0;
}
