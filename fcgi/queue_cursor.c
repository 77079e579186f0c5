/* queue_cursor: the queue cursor's codec (queue.h). */

#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "queue.h"
#include "rand.h"

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

int
api_queue_score_valid(const char *s)
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

int
api_queue_cursor_encode(const struct api_queue_pos *pos, char out[API_QUEUE_CURSOR_MAX + 1])
{
	char raw[API_QUEUE_CURSOR_RAW_MAX + 1];
	int n = snprintf(raw, sizeof raw, "%s:%s", pos->score, pos->user_id);

	if (pos->score[0] == '\0' || n < 0 || (size_t)n >= sizeof raw)	/* no score read */
		return 0;
	b64_encode((const unsigned char *)raw, (size_t)n, out);
	return 1;
}

/* Re-encoding must give the same text, which also rules out non-zero padding bits. */
int
api_queue_cursor_decode(const char *text, struct api_queue_pos *pos)
{
	unsigned char raw[API_QUEUE_CURSOR_RAW_MAX + 1];
	char again[API_QUEUE_CURSOR_MAX + 1];
	size_t len = strlen(text), i, o = 0, bits = 0;
	uint32_t acc = 0;
	const char *colon;

	if (len == 0 || len > API_QUEUE_CURSOR_MAX || len % 4 == 1)
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
	if (colon == NULL || (size_t)(colon - (const char *)raw) > API_QUEUE_SCORE_MAX)
		return 0;
	memcpy(pos->score, raw, (size_t)(colon - (const char *)raw));
	pos->score[colon - (const char *)raw] = '\0';
	if (!api_queue_score_valid(pos->score) || strlen(colon + 1) != NS_UUID_LEN ||
	    !ns_rand_uuid_parse(colon + 1, pos->user_id) || strcmp(pos->user_id, colon + 1) != 0)
		return 0;
	return 1;
}
