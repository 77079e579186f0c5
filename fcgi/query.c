/* query: the request's text parsers that need no I/O (module request.h): percent-decoding,
 * query-string parameters, integers and If-None-Match. Kept apart from request.c so that the
 * fuzz target (tests/fuzz/fuzz_query.c) links them without libfcgi. */

#include "config.h"

#include <string.h>

#include "request.h"

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
api_req_pct_decode(char *out, size_t cap, const char *s, size_t n, int form)
{
	size_t i, o = 0;

	if (cap == 0)
		return -1;
	for (i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n || (hi = hexval((unsigned char)s[i + 1])) < 0 ||
			    (lo = hexval((unsigned char)s[i + 2])) < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (form && c == '+') {
			c = ' ';
		}
		if (c == 0 || o + 1 >= cap)
			return -1;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return 0;
}

int
api_req_query(const char *query, const char *name, char *out, size_t outlen)
{
	const char *p = query;

	while (*p) {
		const char *end = strchr(p, '&'), *eq;
		size_t seglen = end ? (size_t)(end - p) : strlen(p);
		char key[API_QKEY_MAX];

		eq = memchr(p, '=', seglen);
		if (api_req_pct_decode(key, sizeof key, p, eq ? (size_t)(eq - p) : seglen, 1) == 0 &&
		    strcmp(key, name) == 0) {
			if (!eq) {
				out[0] = '\0';
				return 1;
			}
			return api_req_pct_decode(out, outlen, eq + 1,
			    seglen - (size_t)(eq + 1 - p), 1) == 0 ? 1 : -1;
		}
		p += seglen;
		if (*p == '&')
			p++;
	}
	return 0;
}

int
api_req_int(const char *s, long *out)
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
		if (v < API_INT_CLAMP)
			v = v * 10 + (*s - '0');
	}
	*out = neg ? -v : v;
	return 1;
}

int
api_req_etag_matches(const char *header, const char *etag)
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
