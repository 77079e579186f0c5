/* sniff: magic numbers of the upload formats (contract §2.4). */
#include <config.h>
#include <stdint.h>
#include <string.h>
#include "sniff.h"

#define EBML_ID_DOCTYPE 0x4282u	/* DocType element inside the EBML header */
#define EBML_VINT_MAX 8		/* longest EBML variable-size integer, bytes */

struct sniff_info {
	const char *ext;
	const char *mime;
	enum sniff_category cat;
};

static const struct sniff_info infos[SNIFF__COUNT] = {
	[SNIFF_UNKNOWN] = { NULL, NULL, SNIFF_CAT_NONE },
	[SNIFF_JPEG] = { "jpg", "image/jpeg", SNIFF_CAT_IMAGE },
	[SNIFF_PNG] = { "png", "image/png", SNIFF_CAT_IMAGE },
	[SNIFF_WEBP] = { "webp", "image/webp", SNIFF_CAT_IMAGE },
	[SNIFF_WEBM] = { "webm", "video/webm", SNIFF_CAT_VIDEO },
	[SNIFF_MP4] = { "mp4", "video/mp4", SNIFF_CAT_VIDEO },
	[SNIFF_MOV] = { "mov", "video/quicktime", SNIFF_CAT_VIDEO },
};

/* An EBML variable-size integer at b (avail bytes): its length is one more than the leading
 * zero bits of the first byte. IDs keep the length marker, sizes drop it. 0 if incomplete. */
static size_t
ebml_vint(const unsigned char *b, size_t avail, int keep_marker, uint64_t *val)
{
	size_t n = 1, i;
	uint64_t v;

	if (avail == 0 || b[0] == 0)
		return 0;
	while (!(b[0] & (0x80u >> (n - 1))))
		n++;
	if (n > avail)
		return 0;
	v = keep_marker ? b[0] : (b[0] & (0xFFu >> n));
	for (i = 1; i < n; i++)
		v = (v << 8) | b[i];
	*val = v;
	return n;
}

/* Walk the EBML header's children for DocType: webm, or matroska which browsers' recorders
 * also write and players treat alike (the contract allows it). */
static enum sniff_type
sniff_ebml(const unsigned char *b, size_t len)
{
	size_t pos = 4, n, end;
	uint64_t id, size;

	if ((n = ebml_vint(b + pos, len - pos, 0, &size)) == 0)
		return SNIFF_UNKNOWN;
	pos += n;
	/* All value bits set means "unknown size": scan what we have. */
	end = (size == (UINT64_MAX >> (64 - 7 * n)) || size > len - pos) ? len : pos + (size_t)size;
	while (pos < end) {
		if ((n = ebml_vint(b + pos, end - pos, 1, &id)) == 0)
			return SNIFF_UNKNOWN;
		pos += n;
		if ((n = ebml_vint(b + pos, end - pos, 0, &size)) == 0)
			return SNIFF_UNKNOWN;
		pos += n;
		if (size > end - pos)
			return SNIFF_UNKNOWN;
		if (id == EBML_ID_DOCTYPE) {
			size_t dl = (size_t)size;

			/* EBML strings may be padded with NULs. */
			while (dl > 0 && b[pos + dl - 1] == '\0')
				dl--;
			if ((dl == 4 && memcmp(b + pos, "webm", 4) == 0) ||
			    (dl == 8 && memcmp(b + pos, "matroska", 8) == 0))
				return SNIFF_WEBM;
			return SNIFF_UNKNOWN;
		}
		pos += (size_t)size;
	}
	return SNIFF_UNKNOWN;
}

enum sniff_type
sniff_detect(const void *buf, size_t len)
{
	const unsigned char *b = buf;

	if (len > SNIFF_HEAD_MAX)
		len = SNIFF_HEAD_MAX;
	if (len >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF)
		return SNIFF_JPEG;
	if (len >= 8 && memcmp(b, "\x89PNG\r\n\x1a\n", 8) == 0)
		return SNIFF_PNG;
	if (len >= 12 && memcmp(b, "RIFF", 4) == 0 && memcmp(b + 8, "WEBP", 4) == 0)
		return SNIFF_WEBP;
	if (len >= 4 && memcmp(b, "\x1a\x45\xdf\xa3", 4) == 0)
		return sniff_ebml(b, len);
	if (len >= 12 && memcmp(b + 4, "ftyp", 4) == 0)
		return memcmp(b + 8, "qt  ", 4) == 0 ? SNIFF_MOV : SNIFF_MP4;
	return SNIFF_UNKNOWN;
}

const char *
sniff_ext(enum sniff_type t)
{
	return (unsigned)t < SNIFF__COUNT ? infos[t].ext : NULL;
}

const char *
sniff_mime(enum sniff_type t)
{
	return (unsigned)t < SNIFF__COUNT ? infos[t].mime : NULL;
}

enum sniff_category
sniff_category(enum sniff_type t)
{
	return (unsigned)t < SNIFF__COUNT ? infos[t].cat : SNIFF_CAT_NONE;
}
