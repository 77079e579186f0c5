/* multipart: a byte-driven state machine over RFC 2046 §5.1.1:
 *   preamble CRLF "--" boundary padding CRLF headers CRLF data
 *   (CRLF "--" boundary padding CRLF headers CRLF data)* CRLF "--" boundary "--" epilogue
 * The delimiter is CRLF "--" boundary; the body is matched as if it began with CRLF so that a
 * boundary on the very first line needs no preamble. Boundaries cannot contain CR, so the
 * delimiter's only CR is its first byte: after a mismatch a new match can only start at the
 * current byte, and the held-back bytes are exactly the delimiter's prefix (no buffering). */
#include <config.h>
#include <stdlib.h>
#include <string.h>
#include "multipart.h"

#define DELIM_MAX (MP_BOUNDARY_MAX + 4)	/* CRLF "--" boundary */

enum mp_state {
	S_PREAMBLE,	/* discarding until the first delimiter */
	S_AFTER_DELIM,	/* just read a delimiter: "--", padding or CRLF follows */
	S_CLOSE_DASH,	/* read the first '-' of the close delimiter */
	S_PAD,		/* transport padding (SP / HTAB) before CRLF */
	S_LF,		/* read CR after a delimiter */
	S_HEADERS,	/* collecting one part's header block */
	S_DATA,		/* part data until the next delimiter */
	S_EPILOGUE	/* after the close delimiter: ignored */
};

struct mp_parser {
	struct mp_callbacks cb;
	void *ctx;
	char delim[DELIM_MAX];
	size_t dlen;
	size_t match;		/* delimiter bytes matched so far (held back, not yet emitted) */
	enum mp_state st;
	enum mp_err err;	/* sticky */
	size_t total, body_max;
	size_t parts;
	size_t hlen;
	char hbuf[MP_HEADER_MAX];
	struct mp_part part;
};

static const char *const mp_errors[MP_E__COUNT] = {
	[MP_OK] = "ok",
	[MP_E_CONTENT_TYPE] = "not multipart/form-data",
	[MP_E_BOUNDARY] = "missing or invalid boundary",
	[MP_E_MALFORMED] = "malformed multipart body",
	[MP_E_HEADER_TOO_LARGE] = "part header too large",
	[MP_E_TOO_MANY_PARTS] = "too many parts",
	[MP_E_BODY_TOO_LARGE] = "body too large",
	[MP_E_TRUNCATED] = "body ended before the final boundary",
	[MP_E_ABORTED] = "aborted by the consumer",
	[MP_E_NOMEM] = "out of memory",
};

const char *
mp_strerror(enum mp_err e)
{
	return (unsigned)e < MP_E__COUNT ? mp_errors[e] : "unknown error";
}

/* ---- header syntax (RFC 7230 tokens, RFC 2046 bchars) ---- */

static int
is_tchar(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    (c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static int
is_ows(char c)
{
	return c == ' ' || c == '\t';
}

static int
boundary_ok(const char *b, size_t len)
{
	size_t i;

	if (len < 1 || len > MP_BOUNDARY_MAX || b[len - 1] == ' ')
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)b[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		    (c != 0 && strchr("'()+_,-./:=? ", c) != NULL)))
			return 0;
	}
	return 1;
}

static int
ieq(const char *a, size_t alen, const char *lit)
{
	size_t i;

	if (alen != strlen(lit))
		return 0;
	for (i = 0; i < alen; i++) {
		char c = a[i];

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != lit[i])
			return 0;
	}
	return 1;
}

static const char *
skip_ows(const char *s, const char *end)
{
	while (s < end && is_ows(*s))
		s++;
	return s;
}

enum param_rc { P_END, P_FOUND, P_SYNTAX, P_TOO_LONG };

/* Next `; name=value` of a header value. A quoted value ends at the next '"' with no
 * backslash escapes, as browsers encode form data (a filename may end in a backslash);
 * an unquoted one runs to ';' or whitespace. val gets vmax + 1 bytes at most, NUL-terminated. */
static enum param_rc
next_param(const char **sp, const char *end, const char **name, size_t *nlen, char *val,
    size_t vmax, size_t *vlen)
{
	const char *s = skip_ows(*sp, end), *v;

	if (s == end)
		return P_END;
	if (*s++ != ';')
		return P_SYNTAX;
	s = skip_ows(s, end);
	if (s == end)
		return P_END;	/* a trailing ';' is harmless */
	*name = s;
	while (s < end && is_tchar((unsigned char)*s))
		s++;
	*nlen = (size_t)(s - *name);
	s = skip_ows(s, end);
	if (*nlen == 0 || s == end || *s++ != '=')
		return P_SYNTAX;
	s = skip_ows(s, end);
	if (s < end && *s == '"') {
		v = ++s;
		while (s < end && *s != '"')
			s++;
		if (s == end)
			return P_SYNTAX;
		*vlen = (size_t)(s - v);
		s++;
	} else {
		v = s;
		while (s < end && *s != ';' && !is_ows(*s) && *s != '"')
			s++;
		*vlen = (size_t)(s - v);
		if (*vlen == 0)
			return P_SYNTAX;
	}
	if (*vlen > vmax)
		return P_TOO_LONG;
	memcpy(val, v, *vlen);
	val[*vlen] = '\0';
	*sp = s;
	return P_FOUND;
}

enum mp_err
mp_boundary_from_content_type(const char *ct, char out[MP_BOUNDARY_MAX + 1])
{
	const char *s, *end, *name, *type;
	char val[MP_BOUNDARY_MAX + 1];
	size_t len, nlen, vlen;
	int found = 0;

	out[0] = '\0';
	if (ct == NULL || (len = strnlen(ct, MP_CONTENT_TYPE_MAX + 1)) > MP_CONTENT_TYPE_MAX)
		return MP_E_CONTENT_TYPE;
	end = ct + len;
	s = skip_ows(ct, end);
	type = s;
	while (s < end && (is_tchar((unsigned char)*s) || *s == '/'))
		s++;
	if (!ieq(type, (size_t)(s - type), "multipart/form-data"))
		return MP_E_CONTENT_TYPE;
	for (;;) {
		switch (next_param(&s, end, &name, &nlen, val, MP_BOUNDARY_MAX, &vlen)) {
		case P_END:
			return found ? MP_OK : MP_E_BOUNDARY;
		case P_FOUND:
			if (!ieq(name, nlen, "boundary"))
				continue;
			if (found || !boundary_ok(val, vlen)) {
				out[0] = '\0';
				return MP_E_BOUNDARY;
			}
			memcpy(out, val, vlen + 1);
			found = 1;
			continue;
		default:
			out[0] = '\0';
			return MP_E_BOUNDARY;
		}
	}
}

/* ---- parser ---- */

struct mp_parser *
mp_new(const char *boundary, size_t body_max, const struct mp_callbacks *cb, void *ctx)
{
	struct mp_parser *p;
	size_t blen;

	if (boundary == NULL || (blen = strnlen(boundary, MP_BOUNDARY_MAX + 1)) > MP_BOUNDARY_MAX ||
	    !boundary_ok(boundary, blen))
		return NULL;
	if ((p = calloc(1, sizeof *p)) == NULL)
		return NULL;
	if (cb != NULL)
		p->cb = *cb;
	p->ctx = ctx;
	memcpy(p->delim, "\r\n--", 4);
	memcpy(p->delim + 4, boundary, blen);
	p->dlen = blen + 4;
	p->match = 2;	/* the virtual CRLF before the body */
	p->st = S_PREAMBLE;
	p->body_max = body_max;
	return p;
}

void
mp_free(struct mp_parser *p)
{
	free(p);
}

static void
fail(struct mp_parser *p, enum mp_err e)
{
	if (p->err == MP_OK)
		p->err = e;
}

static void
emit(struct mp_parser *p, const char *d, size_t n)
{
	if (n > 0 && p->cb.part_data != NULL && p->cb.part_data(p->ctx, d, n) != 0)
		fail(p, MP_E_ABORTED);
}

/* Copy a trimmed header value into dst (max bytes + NUL). */
static int
copy_value(char *dst, size_t max, const char *v, const char *end)
{
	size_t n;

	v = skip_ows(v, end);
	while (end > v && is_ows(end[-1]))
		end--;
	n = (size_t)(end - v);
	if (n > max)
		return -1;
	memcpy(dst, v, n);
	dst[n] = '\0';
	return 0;
}

/* RFC 7578 §4.2: Content-Disposition: form-data; name="…"[; filename="…"] */
static enum mp_err
parse_disposition(struct mp_part *part, const char *s, const char *end)
{
	const char *type, *name;
	char val[MP_PARAM_MAX + 1];
	size_t nlen, vlen;
	int have_name = 0;

	s = skip_ows(s, end);
	type = s;
	while (s < end && is_tchar((unsigned char)*s))
		s++;
	if (!ieq(type, (size_t)(s - type), "form-data"))
		return MP_E_MALFORMED;
	for (;;) {
		switch (next_param(&s, end, &name, &nlen, val, MP_PARAM_MAX, &vlen)) {
		case P_END:
			return have_name ? MP_OK : MP_E_MALFORMED;
		case P_TOO_LONG:
			return MP_E_HEADER_TOO_LARGE;
		case P_SYNTAX:
			return MP_E_MALFORMED;
		case P_FOUND:
			if (ieq(name, nlen, "name")) {
				if (have_name)
					return MP_E_MALFORMED;
				memcpy(part->name, val, vlen + 1);
				have_name = 1;
			} else if (ieq(name, nlen, "filename")) {
				if (part->has_filename)
					return MP_E_MALFORMED;
				memcpy(part->filename, val, vlen + 1);
				part->has_filename = 1;
			}
			continue;	/* other parameters (filename*) are ignored, RFC 7578 §4.2 */
		}
	}
}

/* The header block hbuf[0..hlen) ends with CRLF CRLF (or is a lone CRLF). */
static void
parse_headers(struct mp_parser *p)
{
	const char *s = p->hbuf, *end = p->hbuf + p->hlen - 2;	/* drop the blank line */
	struct mp_part *part = &p->part;
	int have_disp = 0, have_ctype = 0;
	enum mp_err e;

	memset(part, 0, sizeof *part);
	part->index = p->parts;
	while (s < end) {
		const char *eol = s, *colon;

		/* Lines end in CRLF; any other control byte (bare CR or LF, NUL) is malformed. */
		while (eol < end && !(eol[0] == '\r' && eol + 1 < end && eol[1] == '\n')) {
			unsigned char c = (unsigned char)*eol;

			if ((c < 0x20 && c != '\t') || c == 0x7F) {
				fail(p, MP_E_MALFORMED);
				return;
			}
			eol++;
		}
		if (eol == end) {
			fail(p, MP_E_MALFORMED);	/* cannot happen: block ends in CRLF */
			return;
		}
		for (colon = s; colon < eol && is_tchar((unsigned char)*colon); colon++)
			;
		if (colon == s || colon == eol || *colon != ':') {
			fail(p, MP_E_MALFORMED);	/* also refuses obsolete line folding */
			return;
		}
		if (ieq(s, (size_t)(colon - s), "content-disposition")) {
			if (have_disp) {
				fail(p, MP_E_MALFORMED);
				return;
			}
			if ((e = parse_disposition(part, colon + 1, eol)) != MP_OK) {
				fail(p, e);
				return;
			}
			have_disp = 1;
		} else if (ieq(s, (size_t)(colon - s), "content-type")) {
			if (have_ctype) {
				fail(p, MP_E_MALFORMED);
				return;
			}
			if (copy_value(part->content_type, MP_CTYPE_MAX, colon + 1, eol) != 0) {
				fail(p, MP_E_HEADER_TOO_LARGE);
				return;
			}
			have_ctype = 1;
		}
		s = eol + 2;
	}
	if (!have_disp) {
		fail(p, MP_E_MALFORMED);
		return;
	}
	p->parts++;
	p->st = S_DATA;
	p->match = 0;
	if (p->cb.part_begin != NULL && p->cb.part_begin(p->ctx, part) != 0)
		fail(p, MP_E_ABORTED);
}

static size_t
feed_headers(struct mp_parser *p, const char *s, size_t n)
{
	size_t i = 0;
	const char *h = p->hbuf;

	while (i < n) {
		if (p->hlen == MP_HEADER_MAX) {
			fail(p, MP_E_HEADER_TOO_LARGE);
			return i;
		}
		p->hbuf[p->hlen++] = s[i++];
		if ((p->hlen == 2 && h[0] == '\r' && h[1] == '\n') ||
		    (p->hlen >= 4 && memcmp(h + p->hlen - 4, "\r\n\r\n", 4) == 0)) {
			parse_headers(p);
			return i;
		}
	}
	return n;
}

/* Preamble or part data: look for the delimiter, passing data on (S_DATA only).
 * Returns bytes consumed; stops right after a complete delimiter. */
static size_t
feed_scan(struct mp_parser *p, const char *s, size_t n)
{
	int data = p->st == S_DATA;
	size_t i = 0, run = 0;	/* s[run..) is data not passed on yet */

	while (i < n && p->err == MP_OK) {
		if (p->match == 0) {
			const char *cr = memchr(s + i, '\r', n - i);

			if (cr == NULL) {
				i = n;
				break;
			}
			i = (size_t)(cr - s);
			if (data)
				emit(p, s + run, i - run);
			p->match = 1;
			i++;
		} else if (s[i] == p->delim[p->match]) {
			i++;
			if (++p->match == p->dlen) {
				p->match = 0;
				if (data && p->cb.part_end != NULL && p->cb.part_end(p->ctx) != 0)
					fail(p, MP_E_ABORTED);
				p->st = S_AFTER_DELIM;
				return i;
			}
		} else {
			/* Not a delimiter after all: the held bytes were data. Re-examine s[i]. */
			if (data)
				emit(p, p->delim, p->match);
			p->match = 0;
			run = i;
		}
	}
	if (data && p->match == 0 && p->err == MP_OK)
		emit(p, s + run, n - run);
	return n;
}

/* One byte of what follows a delimiter. */
static void
feed_byte(struct mp_parser *p, char c)
{
	switch (p->st) {
	case S_AFTER_DELIM:
		if (c == '-')
			p->st = S_CLOSE_DASH;
		else if (is_ows(c))
			p->st = S_PAD;
		else if (c == '\r')
			p->st = S_LF;
		else
			fail(p, MP_E_MALFORMED);
		break;
	case S_CLOSE_DASH:
		if (c != '-') {
			fail(p, MP_E_MALFORMED);
			return;
		}
		p->st = S_EPILOGUE;
		if (p->cb.done != NULL && p->cb.done(p->ctx) != 0)
			fail(p, MP_E_ABORTED);
		break;
	case S_PAD:
		if (c == '\r')
			p->st = S_LF;
		else if (!is_ows(c))
			fail(p, MP_E_MALFORMED);
		break;
	case S_LF:
		if (c != '\n') {
			fail(p, MP_E_MALFORMED);
			return;
		}
		if (p->parts == MP_PARTS_MAX) {
			fail(p, MP_E_TOO_MANY_PARTS);
			return;
		}
		p->hlen = 0;
		p->st = S_HEADERS;
		break;
	default:
		fail(p, MP_E_MALFORMED);
		break;
	}
}

enum mp_err
mp_feed(struct mp_parser *p, const void *buf, size_t len)
{
	const char *s = buf;
	size_t n = len, i = 0;

	if (p->err != MP_OK)
		return p->err;
	/* Consume exactly up to the ceiling so the outcome never depends on chunking. */
	if (p->body_max - p->total < len)
		n = p->body_max - p->total;
	p->total += n;
	while (i < n && p->err == MP_OK) {
		switch (p->st) {
		case S_PREAMBLE:
		case S_DATA:
			i += feed_scan(p, s + i, n - i);
			break;
		case S_HEADERS:
			i += feed_headers(p, s + i, n - i);
			break;
		case S_EPILOGUE:
			i = n;
			break;
		default:
			feed_byte(p, s[i++]);
			break;
		}
	}
	if (n < len)
		fail(p, MP_E_BODY_TOO_LARGE);
	return p->err;
}

enum mp_err
mp_finish(struct mp_parser *p)
{
	if (p->err == MP_OK && p->st != S_EPILOGUE)
		fail(p, MP_E_TRUNCATED);
	return p->err;
}
