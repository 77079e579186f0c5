/* fuzz_request: libFuzzer target for the request headers fcgi/request.c parses itself:
 * CONTENT_LENGTH (parse_length) and Content-Type (api_req_content_type_is, and the JSON
 * rule's charset check), through fcgi/memio. Input: CONTENT_LENGTH, NUL, CONTENT_TYPE, NUL,
 * a media type to test (a missing part is an absent parameter). Invariants: no parameter is
 * read past its end; a Content-Length is accepted exactly when it is decimal digits worth at
 * most 9223372036854775799, with that value; the media type check agrees with a plain
 * reading (leading and trailing blanks, case-insensitive, then ';' or the end) and ignores
 * case; the charset check ignores case, and a parameter added after the others never turns
 * a refused charset into an accepted one nor the reverse. */
#include <config.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "nsconfig.h"
#include "memio.h"
#include "request.h"

#define LEN_MAX_TEXT "9223372036854775799"	/* parse_length's ceiling (LLONG_MAX - 8) */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct ns_config cfg;

/* Up to 3 parts of data split at NUL, each a C string of exactly its size (for ASan). */
static int
parts(const uint8_t *data, size_t size, char *part[3])
{
	const char *p = (const char *)data, *end = p + size;
	int n = 0;

	while (n < 3) {
		const char *z = p < end ? memchr(p, '\0', (size_t)(end - p)) : NULL;
		size_t l = (size_t)((z ? z : end) - p);

		if (!(part[n] = malloc(l + 1)))
			return -1;
		memcpy(part[n], p, l);
		part[n++][l] = '\0';
		if (!z)
			break;
		p = z + 1;
	}
	return n;
}

static enum ns_err
init(struct api_req *req, struct memio *m, const char *clen, const char *ctype)
{
	const char *msg;

	memio_init(m);
	memio_param(m, "REQUEST_METHOD", "POST");
	memio_param(m, "REQUEST_URI", "/x");
	if (clen)
		memio_param(m, "CONTENT_LENGTH", clen);
	if (ctype)
		memio_param(m, "CONTENT_TYPE", ctype);
	return api_req_init(req, &m->io, &cfg, NULL, &msg);
}

static void
check_length(const char *clen, enum ns_err e, long long got)
{
	const char *p = clen, *sig;
	char text[32];

	if (!clen || !*clen) {
		if (e != NS_OK || got != -1)
			abort();
		return;
	}
	while (*p >= '0' && *p <= '9')
		p++;
	for (sig = clen; *sig == '0' && sig[1]; sig++)
		;
	if (*p || strlen(sig) > 19 || (strlen(sig) == 19 && strcmp(sig, LEN_MAX_TEXT) > 0)) {
		if (e != NS_E_BAD_REQUEST)
			abort();
		return;
	}
	snprintf(text, sizeof(text), "%lld", got);
	if (e != NS_OK || strcmp(text, sig) != 0)
		abort();
}

/* The plain reading of "is ct's media type mime". */
static int
ref_type_is(const char *ct, const char *mime)
{
	size_t n = strlen(mime);

	ct += strspn(ct, " \t");
	if (strlen(ct) < n || strncasecmp(ct, mime, n) != 0)
		return 0;
	ct += n;
	ct += strspn(ct, " \t");
	return *ct == '\0' || *ct == ';';
}

static void
upper(char *s)
{
	for (; *s; s++)
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
}

/* api_req_read_json's answer for an empty body with Content-Type ct. */
static enum ns_err
json_rule(const char *ct)
{
	struct api_req req;
	struct memio m;
	enum ns_err e;

	if (init(&req, &m, "0", ct) != NS_OK)
		abort();
	e = api_req_read_json(&req, 64);
	if (e == NS_OK && (!req.json || !json_object_is_type(req.json, json_type_object)))
		abort();
	api_req_free(&req);
	return e;
}

static void
check_type(const char *ct, const char *mime)
{
	static const char *const mimes[] = { "application/json", "multipart/form-data" };
	struct api_req req;
	struct memio m;
	size_t ctl = strlen(ct), i;
	char *up = malloc(ctl + 1), *more = malloc(ctl + 32);
	enum ns_err e, eu;

	if (!up || !more)
		goto out;
	memcpy(up, ct, ctl + 1);
	upper(up);
	if (init(&req, &m, NULL, ct) != NS_OK)
		abort();
	for (i = 0; i < 3; i++) {
		const char *t = i < 2 ? mimes[i] : mime;

		if (!t)
			break;
		if (api_req_content_type_is(&req, t) != ref_type_is(ct, t))
			abort();
	}
	api_req_free(&req);

	e = json_rule(ct);
	if (e != NS_OK && e != NS_E_MEDIA_TYPE)
		abort();
	if ((e == NS_E_MEDIA_TYPE) && !ref_type_is(ct, "application/json"))
		abort();
	if ((eu = json_rule(up)) != e)
		abort();
	if (ctl + 32 <= API_HEADER_MAX) {
		snprintf(more, ctl + 32, "%s; charset=utf-8", ct);
		if (json_rule(more) != e && ref_type_is(ct, "application/json"))
			abort();
		snprintf(more, ctl + 32, "%s; charset=latin1", ct);
		if (json_rule(more) != e && ref_type_is(ct, "application/json") && e == NS_E_MEDIA_TYPE)
			abort();
	}
out:
	free(up);
	free(more);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *part[3] = { NULL, NULL, NULL };
	struct api_req req;
	struct memio m;
	enum ns_err e;
	int n = parts(data, size, part), i;

	if (n < 0)
		goto out;
	/* Content-Length alone, then with the Content-Type, which is refused when too long. */
	e = init(&req, &m, part[0], NULL);
	check_length(part[0], e, req.content_length);
	api_req_free(&req);
	if (part[1]) {
		e = init(&req, &m, NULL, part[1]);
		if ((e != NS_OK) != (strlen(part[1]) >= API_HEADER_MAX))
			abort();
		api_req_free(&req);
		if (e == NS_OK)
			check_type(part[1], part[2]);
	}
out:
	for (i = 0; i < 3; i++)
		free(part[i]);
	return 0;
}
