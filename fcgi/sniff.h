/* sniff: upload file type from its first bytes (contract §2.4); the client's MIME type and file
 * name are never consulted. */
#ifndef NS_SNIFF_H
#define NS_SNIFF_H
#include <stddef.h>

#define SNIFF_HEAD_MAX 256	/* bytes worth collecting before calling sniff_detect */

enum sniff_type {
	SNIFF_UNKNOWN = 0,
	SNIFF_JPEG,	/* FF D8 FF */
	SNIFF_PNG,	/* 89 50 4E 47 0D 0A 1A 0A */
	SNIFF_WEBP,	/* RIFF ???? WEBP */
	SNIFF_WEBM,	/* EBML header with DocType webm (or matroska) */
	SNIFF_MP4,	/* ISO-BMFF ftyp box, any major brand but 'qt  ' */
	SNIFF_MOV,	/* ISO-BMFF ftyp box, major brand 'qt  ' (QuickTime) */
	SNIFF__COUNT
};

enum sniff_category {
	SNIFF_CAT_NONE = 0,
	SNIFF_CAT_IMAGE,	/* selfie uploads */
	SNIFF_CAT_VIDEO		/* video uploads */
};

/* Type of a file whose first len bytes are buf (give up to SNIFF_HEAD_MAX; fewer is fine when
 * the file is shorter). */
enum sniff_type sniff_detect(const void *buf, size_t len);
/* File extension without the dot ("jpg"), NULL for SNIFF_UNKNOWN. */
const char *sniff_ext(enum sniff_type t);
/* MIME type ("image/jpeg"), NULL for SNIFF_UNKNOWN. */
const char *sniff_mime(enum sniff_type t);
enum sniff_category sniff_category(enum sniff_type t);

#endif
