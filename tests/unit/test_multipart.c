/* test_multipart: the streaming multipart parser gives the same events for every way a body can
 * be split into chunks, follows RFC 2046 framing, and fails with the right error. */
#include <config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "multipart.h"
#include "tap.h"

#define TRACE_MAX 65536		/* event trace of one parse */
#define BODY_MAX 65536		/* largest body a test builds */
#define NO_LIMIT ((size_t)-1)

/* Events as text: [begin name|filename|type] data... [end] [done]. */
struct trace {
	char buf[TRACE_MAX];
	size_t len;
	int in_data;
	int abort_on_begin;	/* abort when this part index begins (-1: never) */
};

static void
put(struct trace *t, const char *s, size_t n)
{
	if (n > sizeof t->buf - t->len)
		n = sizeof t->buf - t->len;
	memcpy(t->buf + t->len, s, n);
	t->len += n;
}

static int
on_begin(void *ctx, const struct mp_part *p)
{
	struct trace *t = ctx;
	char line[3 * MP_PARAM_MAX];
	int n = snprintf(line, sizeof line, "[begin %s|%s%s|%s]", p->name, p->has_filename ? "f:" : "",
	    p->filename, p->content_type);

	put(t, line, (size_t)n);
	t->in_data = 0;
	return t->abort_on_begin == (int)p->index;
}

static int
on_data(void *ctx, const char *d, size_t n)
{
	struct trace *t = ctx;

	if (n == 0)
		put(t, "[EMPTY DATA CALL]", 17);
	put(t, d, n);
	t->in_data = 1;
	return 0;
}

static int
on_end(void *ctx)
{
	put(ctx, "[end]", 5);
	return 0;
}

static int
on_done(void *ctx)
{
	put(ctx, "[done]", 6);
	return 0;
}

static const struct mp_callbacks cbs = { on_begin, on_data, on_end, on_done };

/* Parse body split at the given cut points (sorted, ncuts of them). */
static enum mp_err
parse_cuts(const char *bnd, const char *body, size_t len, const size_t *cuts, size_t ncuts,
    size_t limit, struct trace *t)
{
	struct mp_parser *p = mp_new(bnd, limit, &cbs, t);
	size_t i, at = 0;
	enum mp_err e = MP_OK;

	t->len = 0;
	t->in_data = 0;
	if (p == NULL)
		return MP_E_NOMEM;
	for (i = 0; i <= ncuts && e == MP_OK; i++) {
		size_t to = i < ncuts ? cuts[i] : len;

		e = mp_feed(p, body + at, to - at);
		at = to;
	}
	if (e == MP_OK)
		e = mp_finish(p);
	mp_free(p);
	return e;
}

static struct trace t1, t2;
static size_t cuts[BODY_MAX];

/* One-shot, byte by byte, every single split point, and random chunkings must agree. */
static int
all_splits_agree(const char *bnd, const char *body, size_t len, size_t limit, enum mp_err *err)
{
	size_t i, k;
	int seed;

	*err = parse_cuts(bnd, body, len, NULL, 0, limit, &t1);
	for (i = 0; i + 1 < len; i++)
		cuts[i] = i + 1;
	if (parse_cuts(bnd, body, len, cuts, len > 0 ? len - 1 : 0, limit, &t2) != *err ||
	    t2.len != t1.len || memcmp(t1.buf, t2.buf, t1.len) != 0)
		return 0;
	for (i = 1; i < len && len < 2048; i++) {
		cuts[0] = i;
		if (parse_cuts(bnd, body, len, cuts, 1, limit, &t2) != *err || t2.len != t1.len ||
		    memcmp(t1.buf, t2.buf, t1.len) != 0)
			return 0;
	}
	for (seed = 1; seed <= 20; seed++) {
		size_t at = 0;

		srand((unsigned)seed);
		for (k = 0; at < len; k++) {
			at += 1 + (size_t)rand() % 7;
			if (at >= len)
				break;
			cuts[k] = at;
		}
		if (parse_cuts(bnd, body, len, cuts, k, limit, &t2) != *err || t2.len != t1.len ||
		    memcmp(t1.buf, t2.buf, t1.len) != 0)
			return 0;
	}
	return 1;
}

/* Parse in every chunking; check the error and (when want_trace) the events. */
static void
expect(const char *label, const char *bnd, const char *body, size_t len, size_t limit,
    enum mp_err want, const char *want_trace, size_t want_len)
{
	enum mp_err e;
	int agree = all_splits_agree(bnd, body, len, limit, &e);

	tap_ok(agree, "%s: every chunking gives the same result", label);
	tap_ok(e == want, "%s: %s (got %s)", label, mp_strerror(want), mp_strerror(e));
	if (want_trace != NULL) {
		int same = t1.len == want_len && memcmp(t1.buf, want_trace, want_len) == 0;

		tap_ok(same, "%s: events", label);
		if (!same)
			printf("#   got '%.*s'\n", (int)t1.len, t1.buf);
	}
}

#define S(lit) lit, sizeof(lit) - 1
#define CD "Content-Disposition: form-data; name="

static void
test_framing(void)
{
	/* Binary data with CR, LF, CRLF, "--", partial delimiters and the boundary without CRLF. */
	static const char body[] =
	    "--XyZ\r\n" CD "\"text\"\r\n\r\nhello\r\n"
	    "--XyZ\r\n" CD "\"selfie\"; filename=\"me.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
	    "\xff\xd8\xff\0\r\n\r\r\n--\r\n--X\r\n--XY\r\n-XyZ--XyZ\r\n--xyz\r\r\r\n\n"
	    "\r\n--XyZ--\r\n";
	static const char trace[] =
	    "[begin text||]hello[end]"
	    "[begin selfie|f:me.jpg|image/jpeg]"
	    "\xff\xd8\xff\0\r\n\r\r\n--\r\n--X\r\n--XY\r\n-XyZ--XyZ\r\n--xyz\r\r\r\n\n"
	    "[end][done]";

	expect("two parts, tricky data", "XyZ", S(body), NO_LIMIT, MP_OK, S(trace));
	expect("preamble and epilogue", "b",
	    S("This is a preamble\r\n-- b not yet\r\n-b\r\n--b\r\n" CD "a\r\n\r\nA\r\n--b--\r\nepilogue\r\n--b\r\njunk"),
	    NO_LIMIT, MP_OK, S("[begin a||]A[end][done]"));
	expect("transport padding", "b", S("--b \t \r\n" CD "a\r\n\r\nA\r\n--b\t\r\n" CD "c\r\n\r\n\r\n--b-- x"),
	    NO_LIMIT, MP_OK, S("[begin a||]A[end][begin c||][end][done]"));
	expect("empty part data", "b", S("--b\r\n" CD "\"e\"\r\n\r\n\r\n--b--"), NO_LIMIT, MP_OK,
	    S("[begin e||][end][done]"));
	expect("CR just before the delimiter", "b", S("--b\r\n" CD "a\r\n\r\nx\r\r\n--b--"), NO_LIMIT,
	    MP_OK, S("[begin a||]x\r[end][done]"));
	expect("delimiter prefix then delimiter", "boundary",
	    S("--boundary\r\n" CD "a\r\n\r\n\r\n--bo\r\n--boundary--"), NO_LIMIT, MP_OK,
	    S("[begin a||]\r\n--bo[end][done]"));
	expect("data starting with dashes", "b", S("--b\r\n" CD "a\r\n\r\n--b\r\n--b--"), NO_LIMIT, MP_OK,
	    S("[begin a||]--b[end][done]"));
	expect("close delimiter only", "b", S("--b--"), NO_LIMIT, MP_OK, S("[done]"));
	expect("close delimiter after preamble", "b", S("x\r\n--b--\r\n"), NO_LIMIT, MP_OK, S("[done]"));
	expect("boundary with space and punctuation", "a b'()+_,-./:=?z",
	    S("--a b'()+_,-./:=?z\r\n" CD "a\r\n\r\nv\r\n--a b'()+_,-./:=?z--"), NO_LIMIT, MP_OK,
	    S("[begin a||]v[end][done]"));
}

static void
test_headers(void)
{
	expect("header names and params are case-insensitive", "b",
	    S("--b\r\ncontent-DISPOSITION:Form-Data;NAME=\"n\" ; FileName=\"x;y.png\"\r\nX-Other: 1\r\n\r\nd\r\n--b--"),
	    NO_LIMIT, MP_OK, S("[begin n|f:x;y.png|]d[end][done]"));
	expect("filename ending in a backslash", "b",
	    S("--b\r\n" CD "\"f\"; filename=\"C:\\dir\\\"\r\n\r\nd\r\n--b--"), NO_LIMIT, MP_OK,
	    S("[begin f|f:C:\\dir\\|]d[end][done]"));
	expect("unquoted name, empty filename, filename*", "b",
	    S("--b\r\n" CD "video; filename=\"\"; filename*=UTF-8''x\r\n\r\nd\r\n--b--"), NO_LIMIT, MP_OK,
	    S("[begin video|f:|]d[end][done]"));
	expect("no Content-Disposition", "b", S("--b\r\nContent-Type: text/plain\r\n\r\nd\r\n--b--"),
	    NO_LIMIT, MP_E_MALFORMED, NULL, 0);
	expect("no headers at all", "b", S("--b\r\n\r\nd\r\n--b--"), NO_LIMIT, MP_E_MALFORMED, NULL, 0);
	expect("disposition not form-data", "b", S("--b\r\nContent-Disposition: attachment; name=\"a\"\r\n\r\nd\r\n--b--"),
	    NO_LIMIT, MP_E_MALFORMED, NULL, 0);
	expect("no name", "b", S("--b\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nd\r\n--b--"),
	    NO_LIMIT, MP_E_MALFORMED, NULL, 0);
	expect("duplicate name", "b", S("--b\r\n" CD "a; name=b\r\n\r\nd\r\n--b--"), NO_LIMIT,
	    MP_E_MALFORMED, NULL, 0);
	expect("duplicate disposition", "b", S("--b\r\n" CD "a\r\n" CD "b\r\n\r\nd\r\n--b--"), NO_LIMIT,
	    MP_E_MALFORMED, NULL, 0);
	expect("unterminated quote", "b", S("--b\r\n" CD "\"a\r\n\r\nd\r\n--b--"), NO_LIMIT,
	    MP_E_MALFORMED, NULL, 0);
	expect("bare LF in headers", "b", S("--b\r\n" CD "a\nX: y\r\n\r\nd\r\n--b--"), NO_LIMIT,
	    MP_E_MALFORMED, NULL, 0);
	expect("header without colon", "b", S("--b\r\n" CD "a\r\nbogus\r\n\r\nd\r\n--b--"), NO_LIMIT,
	    MP_E_MALFORMED, NULL, 0);
	expect("folded header", "b", S("--b\r\n" CD "a\r\n x\r\n\r\nd\r\n--b--"), NO_LIMIT,
	    MP_E_MALFORMED, NULL, 0);
	expect("NUL in header", "b", S("--b\r\n" CD "a\0\r\n\r\nd\r\n--b--"), NO_LIMIT, MP_E_MALFORMED, NULL, 0);
	expect("delimiter and garbage in the preamble", "b", S("pre\r\n--bx\r\n--b--"), NO_LIMIT,
	    MP_E_MALFORMED, NULL, 0);
	expect("garbage after boundary", "b", S("--b\r\n" CD "a\r\n\r\nd\r\n--bx\r\n--b--"), NO_LIMIT,
	    MP_E_MALFORMED, NULL, 0);
	expect("single dash after boundary", "b", S("--b-\r\n"), NO_LIMIT, MP_E_MALFORMED, NULL, 0);
	expect("CR not followed by LF after boundary", "b", S("--b\rx"), NO_LIMIT, MP_E_MALFORMED, NULL, 0);
	expect("padding then garbage", "b", S("--b  x\r\n"), NO_LIMIT, MP_E_MALFORMED, NULL, 0);
}

static char big[BODY_MAX];

/* MP_PARAM_MAX + 1 'x' characters. */
static const char *
rep_x(void)
{
	static char x[MP_PARAM_MAX + 2];

	if (x[0] == '\0')
		memset(x, 'x', MP_PARAM_MAX + 1);
	return x;
}

/* A body with one part whose header block is exactly hsize bytes (CRLF CRLF included). */
static size_t
header_body(size_t hsize)
{
	static const char pre[] = "--b\r\n" CD "a\r\nX: ";
	size_t fixed = sizeof CD - 1 + 3 + 3 + 4;	/* CD "a\r\n" "X: " "\r\n\r\n" */
	size_t o = sizeof pre - 1, i;

	memcpy(big, pre, o);
	for (i = 0; i < hsize - fixed; i++)
		big[o++] = 'v';
	memcpy(big + o, "\r\n\r\nd\r\n--b--", 12);
	return o + 12;
}

static void
test_limits(void)
{
	size_t len, i, o;

	len = header_body(MP_HEADER_MAX);
	expect("header block at the ceiling", "b", big, len, NO_LIMIT, MP_OK, NULL, 0);
	len = header_body(MP_HEADER_MAX + 1);
	expect("header block over the ceiling", "b", big, len, NO_LIMIT, MP_E_HEADER_TOO_LARGE, NULL, 0);

	o = 0;
	for (i = 0; i < MP_PARTS_MAX; i++)
		o += (size_t)snprintf(big + o, sizeof big - o, "--b\r\n" CD "p%zu\r\n\r\nv\r\n", i);
	memcpy(big + o, "--b--", 5);
	expect("parts at the ceiling", "b", big, o + 5, NO_LIMIT, MP_OK, NULL, 0);
	o += (size_t)snprintf(big + o, sizeof big - o, "--b\r\n" CD "extra\r\n\r\nv\r\n--b--");
	expect("one part too many", "b", big, o, NO_LIMIT, MP_E_TOO_MANY_PARTS, NULL, 0);

	o = (size_t)snprintf(big, sizeof big, "--b\r\n" CD "\"%.*s\"\r\n\r\nv\r\n--b--", MP_PARAM_MAX,
	    rep_x());
	expect("name at its ceiling", "b", big, o, NO_LIMIT, MP_OK, NULL, 0);
	o = (size_t)snprintf(big, sizeof big, "--b\r\n" CD "a; filename=\"%.*sx\"\r\n\r\nv\r\n--b--",
	    MP_PARAM_MAX, rep_x());
	expect("filename over its ceiling", "b", big, o, NO_LIMIT, MP_E_HEADER_TOO_LARGE, NULL, 0);

	static const char body[] = "pre\r\n--b\r\n" CD "a\r\n\r\n0123456789\r\n--b--\r\nepi";
	len = sizeof body - 1;
	expect("body exactly at body_max", "b", body, len, len, MP_OK, NULL, 0);
	expect("body one byte over body_max", "b", body, len, len - 1, MP_E_BODY_TOO_LARGE, NULL, 0);
	expect("body_max hit inside data", "b", body, len, 20, MP_E_BODY_TOO_LARGE, NULL, 0);
}

static void
test_truncated(void)
{
	static const char full[] = "--b\r\n" CD "a\r\n\r\ndata\r\n--b--";
	size_t cut;

	expect("empty body", "b", "", 0, NO_LIMIT, MP_E_TRUNCATED, S(""));
	expect("only a preamble", "b", S("just text"), NO_LIMIT, MP_E_TRUNCATED, NULL, 0);
	expect("ends inside data", "b", S("--b\r\n" CD "a\r\n\r\nda"), NO_LIMIT, MP_E_TRUNCATED,
	    S("[begin a||]da"));
	expect("ends before headers", "b", S("--b\r\n"), NO_LIMIT, MP_E_TRUNCATED, S(""));
	expect("ends inside headers", "b", S("--b\r\n" CD "a\r\n"), NO_LIMIT, MP_E_TRUNCATED, S(""));
	expect("ends at a non-final boundary", "b", S("--b\r\n" CD "a\r\n\r\nd\r\n--b"), NO_LIMIT,
	    MP_E_TRUNCATED, S("[begin a||]d[end]"));
	for (cut = 0; cut < sizeof full - 1; cut++) {
		struct trace *t = &t1;

		if (parse_cuts("b", full, cut, NULL, 0, NO_LIMIT, t) != MP_E_TRUNCATED)
			break;
	}
	tap_is_int(cut, sizeof full - 1, "every proper prefix is truncated");
	tap_is_int(parse_cuts("b", full, sizeof full - 1, NULL, 0, NO_LIMIT, &t1), MP_OK, "the whole body is not");
}

static void
test_abort_and_sticky(void)
{
	static const char body[] = "--b\r\n" CD "a\r\n\r\nA\r\n--b\r\n" CD "c\r\n\r\nC\r\n--b--";
	struct mp_parser *p;

	t1.abort_on_begin = 1;
	t1.len = 0;
	p = mp_new("b", NO_LIMIT, &cbs, &t1);
	tap_is_int(mp_feed(p, body, sizeof body - 1), MP_E_ABORTED, "callback abort stops the parse");
	tap_ok(t1.len == 28 && memcmp(t1.buf, "[begin a||]A[end][begin c||]", 28) == 0,
	    "nothing after the aborting callback");
	tap_is_int(mp_feed(p, "x", 1), MP_E_ABORTED, "errors are sticky (feed)");
	tap_is_int(mp_finish(p), MP_E_ABORTED, "errors are sticky (finish)");
	mp_free(p);
	t1.abort_on_begin = -1;

	p = mp_new("b", NO_LIMIT, NULL, NULL);
	tap_is_int(mp_feed(p, body, sizeof body - 1), MP_OK, "no callbacks at all");
	tap_is_int(mp_finish(p), MP_OK, "no callbacks: finish");
	mp_free(p);

	tap_ok(mp_new("", NO_LIMIT, &cbs, NULL) == NULL, "mp_new refuses an empty boundary");
	tap_ok(mp_new("a\rb", NO_LIMIT, &cbs, NULL) == NULL, "mp_new refuses CR in a boundary");
	tap_ok(mp_new("ab ", NO_LIMIT, &cbs, NULL) == NULL, "mp_new refuses a trailing space");
	tap_ok(mp_new(rep_x() + MP_PARAM_MAX - MP_BOUNDARY_MAX, NO_LIMIT, &cbs, NULL) == NULL,
	    "mp_new refuses 71 characters");
	tap_ok(strcmp(mp_strerror(MP_E_TRUNCATED), "body ended before the final boundary") == 0,
	    "mp_strerror");
	tap_ok(strcmp(mp_strerror((enum mp_err)99), "unknown error") == 0, "mp_strerror out of range");
}

static void
test_content_type(void)
{
	char b[MP_BOUNDARY_MAX + 1];
	char ct[256];

#define CT(s, want, wantb) do { enum mp_err e_ = mp_boundary_from_content_type(s, b); \
	tap_ok(e_ == (want) && strcmp(b, wantb) == 0, "content-type %s -> %s '%s' (got %s '%s')", \
	    s ? s : "(null)", mp_strerror(want), wantb, mp_strerror(e_), b); } while (0)
	CT("multipart/form-data; boundary=abc", MP_OK, "abc");
	CT("multipart/form-data; boundary=\"a b:c\"", MP_OK, "a b:c");
	CT("Multipart/Form-Data;charset=utf-8;BOUNDARY=----x1", MP_OK, "----x1");
	CT("  multipart/form-data ;\tboundary = q ; x=y", MP_OK, "q");
	CT("multipart/form-data; boundary=abc;", MP_OK, "abc");
	CT("multipart/mixed; boundary=abc", MP_E_CONTENT_TYPE, "");
	CT("application/json", MP_E_CONTENT_TYPE, "");
	CT("multipart/form-datax; boundary=abc", MP_E_CONTENT_TYPE, "");
	CT("", MP_E_CONTENT_TYPE, "");
	CT(NULL, MP_E_CONTENT_TYPE, "");
	CT("multipart/form-data", MP_E_BOUNDARY, "");
	CT("multipart/form-data; charset=utf-8", MP_E_BOUNDARY, "");
	CT("multipart/form-data; boundary=", MP_E_BOUNDARY, "");
	CT("multipart/form-data; boundary=\"\"", MP_E_BOUNDARY, "");
	CT("multipart/form-data; boundary=\"ab \"", MP_E_BOUNDARY, "");
	CT("multipart/form-data; boundary=a\x01" "b", MP_E_BOUNDARY, "");
	CT("multipart/form-data; boundary=\"ab", MP_E_BOUNDARY, "");
	CT("multipart/form-data; boundary=a; boundary=b", MP_E_BOUNDARY, "");
	CT("multipart/form-data boundary=a", MP_E_BOUNDARY, "");
	snprintf(ct, sizeof ct, "multipart/form-data; boundary=%.70s", rep_x());
	tap_is_int(mp_boundary_from_content_type(ct, b), MP_OK, "70-character boundary");
	tap_is_int((long long)strlen(b), 70, "70-character boundary copied");
	snprintf(ct, sizeof ct, "multipart/form-data; boundary=%.71s", rep_x());
	tap_is_int(mp_boundary_from_content_type(ct, b), MP_E_BOUNDARY, "71-character boundary");
}

int
main(void)
{
	t1.abort_on_begin = t2.abort_on_begin = -1;
	test_framing();
	test_headers();
	test_limits();
	test_truncated();
	test_abort_and_sticky();
	test_content_type();
	return tap_done();
}
