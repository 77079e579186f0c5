/* fuzz_multipart: libFuzzer target for fcgi/multipart. Input: an optional first line holding a
 * Content-Type (its boundary is used when it parses), then the body. The body is parsed in one
 * shot, in random-sized chunks derived from the input, and byte by byte; the three event
 * traces and results must be identical (a differential check), and structural invariants
 * must hold. */
#include <config.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "multipart.h"

#define FUZZ_DEFAULT_BOUNDARY "fuzzb0undary"
#define REC_PART_MAX (2 * MP_PARAM_MAX + MP_CTYPE_MAX + 32)	/* one begin record, bytes */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A binary trace: 'B' index name\0 filename\0 flag ctype\0 | 'D' len(8) bytes | 'E' | 'F'.
 * Consecutive data callbacks extend one 'D' record, so chunking cannot show in the trace. */
struct trace {
	unsigned char *buf;
	size_t len, cap;
	size_t data_rec;	/* offset of the open 'D' record, or SIZE_MAX */
	int in_part;
	size_t parts, data_total;
};

static void
put(struct trace *t, const void *p, size_t n)
{
	if (n > t->cap - t->len)
		abort();	/* the capacity is computed to be enough */
	memcpy(t->buf + t->len, p, n);
	t->len += n;
}

static int
on_begin(void *ctx, const struct mp_part *p)
{
	struct trace *t = ctx;
	unsigned char idx = (unsigned char)p->index, flag = (unsigned char)p->has_filename;

	if (t->in_part || p->index != t->parts || t->parts >= MP_PARTS_MAX ||
	    strlen(p->name) > MP_PARAM_MAX || strlen(p->filename) > MP_PARAM_MAX ||
	    strlen(p->content_type) > MP_CTYPE_MAX || (!p->has_filename && p->filename[0] != '\0'))
		abort();
	t->in_part = 1;
	t->parts++;
	t->data_rec = SIZE_MAX;
	put(t, "B", 1);
	put(t, &idx, 1);
	put(t, p->name, strlen(p->name) + 1);
	put(t, p->filename, strlen(p->filename) + 1);
	put(t, &flag, 1);
	put(t, p->content_type, strlen(p->content_type) + 1);
	return 0;
}

static int
on_data(void *ctx, const char *d, size_t n)
{
	struct trace *t = ctx;
	uint64_t total;

	if (!t->in_part || n == 0)
		abort();
	if (t->data_rec == SIZE_MAX) {
		t->data_rec = t->len;
		total = 0;
		put(t, "D", 1);
		put(t, &total, sizeof total);
	}
	memcpy(&total, t->buf + t->data_rec + 1, sizeof total);
	total += n;
	memcpy(t->buf + t->data_rec + 1, &total, sizeof total);
	put(t, d, n);
	t->data_total += n;
	return 0;
}

static int
on_end(void *ctx)
{
	struct trace *t = ctx;

	if (!t->in_part)
		abort();
	t->in_part = 0;
	t->data_rec = SIZE_MAX;
	put(t, "E", 1);
	return 0;
}

static int
on_done(void *ctx)
{
	struct trace *t = ctx;

	if (t->in_part)
		abort();
	put(t, "F", 1);
	return 0;
}

static const struct mp_callbacks cbs = { on_begin, on_data, on_end, on_done };

static uint64_t
xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* mode 0: one shot; 1: random chunks from seed; 2: one byte at a time. */
static enum mp_err
run(const char *bnd, const char *body, size_t len, size_t limit, int mode, uint64_t seed,
    struct trace *t)
{
	struct mp_parser *p = mp_new(bnd, limit, &cbs, t);
	size_t at = 0, max_chunk = 1 + (size_t)(seed % 64);
	enum mp_err e = MP_OK;

	if (p == NULL)
		abort();	/* the boundary was validated */
	t->len = 0;
	t->data_rec = SIZE_MAX;
	t->in_part = 0;
	t->parts = t->data_total = 0;
	seed |= 1;
	while (at < len && e == MP_OK) {
		size_t n = len - at;

		if (mode == 1)
			n = 1 + (size_t)(xorshift(&seed) % max_chunk);
		else if (mode == 2)
			n = 1;
		if (n > len - at)
			n = len - at;
		e = mp_feed(p, body + at, n);
		at += n;
	}
	if (e == MP_OK)
		e = mp_finish(p);
	/* Errors are sticky. */
	if (mp_feed(p, "", 0) != e || mp_finish(p) != e)
		abort();
	mp_free(p);
	if (e == MP_OK && (t->len == 0 || t->buf[t->len - 1] != 'F' || t->in_part))
		abort();
	if (t->data_total > len)
		abort();
	return e;
}

/* No part's data may contain the delimiter: the parser would have ended the part there. */
static void
check_no_delimiter(const struct trace *t, const char *bnd)
{
	char delim[MP_BOUNDARY_MAX + 5];
	size_t dlen = (size_t)snprintf(delim, sizeof delim, "\r\n--%s", bnd), i = 0;

	while (i < t->len) {
		unsigned char type = t->buf[i++];
		uint64_t n;

		switch (type) {
		case 'B':
			i++;
			i += strlen((const char *)t->buf + i) + 1;
			i += strlen((const char *)t->buf + i) + 1;
			i++;
			i += strlen((const char *)t->buf + i) + 1;
			break;
		case 'D':
			memcpy(&n, t->buf + i, sizeof n);
			i += sizeof n;
			if (n >= dlen && memmem(t->buf + i, (size_t)n, delim, dlen) != NULL)
				abort();
			i += (size_t)n;
			break;
		case 'E':
		case 'F':
			break;
		default:
			abort();
		}
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char ct[MP_CONTENT_TYPE_MAX + 1], bnd[MP_BOUNDARY_MAX + 1];
	const char *body = (const char *)data;
	const uint8_t *nl = memchr(data, '\n', size < MP_CONTENT_TYPE_MAX ? size : MP_CONTENT_TYPE_MAX);
	size_t len = size, limit = SIZE_MAX, i;
	uint64_t seed = 14695981039346656037u;
	struct trace t[3];
	enum mp_err e[3];

	strcpy(bnd, FUZZ_DEFAULT_BOUNDARY);
	if (nl != NULL) {
		size_t l = (size_t)(nl - data);

		memcpy(ct, data, l);
		ct[l] = '\0';
		if (mp_boundary_from_content_type(ct, bnd) == MP_OK) {
			body += l + 1;
			len -= l + 1;
		} else if (bnd[0] != '\0') {
			abort();	/* a failed parse leaves no boundary behind */
		} else {
			strcpy(bnd, FUZZ_DEFAULT_BOUNDARY);
		}
	}
	for (i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 1099511628211u;
	if ((seed & 3) == 0)
		limit = (size_t)(seed >> 8) % (len + 1);	/* exercise the body ceiling too */

	for (i = 0; i < 3; i++) {
		t[i].cap = 2 * len + (MP_PARTS_MAX + 1) * (REC_PART_MAX + 16) + 64;
		t[i].buf = malloc(t[i].cap);
		if (t[i].buf == NULL)
			abort();
		e[i] = run(bnd, body, len, limit, (int)i, seed >> 2, &t[i]);
	}
	for (i = 1; i < 3; i++)
		if (e[i] != e[0] || t[i].len != t[0].len || memcmp(t[i].buf, t[0].buf, t[0].len) != 0)
			abort();	/* chunking changed the outcome */
	check_no_delimiter(&t[0], bnd);
	for (i = 0; i < 3; i++)
		free(t[i].buf);
	return 0;
}
