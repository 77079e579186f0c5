/* fuzz_sniff: libFuzzer target for upload type detection (fcgi/sniff.c), which reads the first
 * bytes of any upload, EBML size fields included. Invariants: sniff_detect never reads past
 * len; its result is an enum value whose magic bytes the head really starts with; a known type
 * has an extension, a MIME type and a category of its kind, SNIFF_UNKNOWN none; bytes past
 * SNIFF_HEAD_MAX never matter, and a longer head never changes a type a shorter one found (the
 * upload path may sniff whatever head it has collected). */
#include <config.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sniff.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_type(enum sniff_type t, const unsigned char *b, size_t len)
{
	enum sniff_category want;

	switch (t) {
	case SNIFF_UNKNOWN:
		if (sniff_ext(t) || sniff_mime(t) || sniff_category(t) != SNIFF_CAT_NONE)
			abort();
		return;
	case SNIFF_JPEG:
		if (len < 3 || memcmp(b, "\xff\xd8\xff", 3) != 0)
			abort();
		want = SNIFF_CAT_IMAGE;
		break;
	case SNIFF_PNG:
		if (len < 8 || memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0)
			abort();
		want = SNIFF_CAT_IMAGE;
		break;
	case SNIFF_WEBP:
		if (len < 12 || memcmp(b, "RIFF", 4) != 0 || memcmp(b + 8, "WEBP", 4) != 0)
			abort();
		want = SNIFF_CAT_IMAGE;
		break;
	case SNIFF_WEBM:
		/* EBML magic, a header size and at least a DocType element of 4 bytes */
		if (len < 4 + 1 + 2 + 1 + 4 || memcmp(b, "\x1a\x45\xdf\xa3", 4) != 0)
			abort();
		want = SNIFF_CAT_VIDEO;
		break;
	case SNIFF_MP4:
	case SNIFF_MOV:
		if (len < 12 || memcmp(b + 4, "ftyp", 4) != 0 ||
		    (memcmp(b + 8, "qt  ", 4) == 0) != (t == SNIFF_MOV))
			abort();
		want = SNIFF_CAT_VIDEO;
		break;
	default:
		abort();	/* not an enum value */
	}
	if (!sniff_ext(t) || !sniff_mime(t) || sniff_category(t) != want ||
	    strncmp(sniff_mime(t), want == SNIFF_CAT_IMAGE ? "image/" : "video/", 6) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned char *copy = malloc(size ? size : 1);
	size_t head = size < SNIFF_HEAD_MAX ? size : SNIFF_HEAD_MAX, k;
	enum sniff_type t, s;

	if (!copy)
		return 0;
	memcpy(copy, data, size);	/* exact size: ASan sees any read past it */
	t = sniff_detect(copy, size);
	check_type(t, copy, head);
	if (size > head && sniff_detect(copy, head) != t)
		abort();
	for (k = 0; k < head; k++) {
		/* The prefix at the end of its own buffer, so that its reads are checked too. */
		unsigned char *pre = malloc(k ? k : 1);

		if (!pre)
			break;
		memcpy(pre, copy, k);
		s = sniff_detect(pre, k);
		free(pre);
		check_type(s, copy, k);
		if (s != SNIFF_UNKNOWN && s != t)
			abort();
	}
	free(copy);
	return 0;
}
