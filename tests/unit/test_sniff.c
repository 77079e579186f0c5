/* test_sniff: every upload format of §2.4 by its magic bytes, near misses, and short inputs. */
#include <config.h>
#include <string.h>
#include "sniff.h"
#include "tap.h"

#define B(lit) (const unsigned char *)(lit), sizeof(lit) - 1

/* A WebM header as browsers' recorders write it: EBMLVersion, ReadVersion, MaxIDLength,
 * MaxSizeLength, DocType "webm", DocTypeVersion, DocTypeReadVersion, then a Segment. */
static const char webm[] =
    "\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08"
    "\x42\x82\x84webm\x42\x87\x81\x04\x42\x85\x81\x02\x18\x53\x80\x67\x01\xff";

static void
check(const char *label, const unsigned char *buf, size_t len, enum sniff_type want)
{
	enum sniff_type got = sniff_detect(buf, len);

	tap_ok(got == want, "%s -> %s (got %s)", label, want ? sniff_ext(want) : "unknown",
	    got ? sniff_ext(got) : "unknown");
}

static void
test_images(void)
{
	check("jpeg", B("\xff\xd8\xff\xe0\0\x10JFIF"), SNIFF_JPEG);
	check("jpeg, 3 bytes", B("\xff\xd8\xff"), SNIFF_JPEG);
	check("jpeg near miss", B("\xff\xd8\xfe\xe0"), SNIFF_UNKNOWN);
	check("png", B("\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), SNIFF_PNG);
	check("png cut to 7 bytes", B("\x89PNG\r\n\x1a"), SNIFF_UNKNOWN);
	check("png with LF damaged", B("\x89PNG\n\n\x1a\n"), SNIFF_UNKNOWN);
	check("webp", B("RIFF\x24\0\0\0WEBPVP8 "), SNIFF_WEBP);
	check("webp, 12 bytes", B("RIFF\0\0\0\0WEBP"), SNIFF_WEBP);
	check("riff wave", B("RIFF\x24\0\0\0WAVEfmt "), SNIFF_UNKNOWN);
	check("webp cut to 11 bytes", B("RIFF\0\0\0\0WEB"), SNIFF_UNKNOWN);
}

static void
test_videos(void)
{
	check("webm", B(webm), SNIFF_WEBM);
	check("matroska", B("\x1a\x45\xdf\xa3\xa3\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04"
	    "\x42\xf3\x81\x08\x42\x82\x88matroska\x42\x87\x81\x04\x42\x85\x81\x02"), SNIFF_WEBM);
	check("webm DocType padded with NUL", B("\x1a\x45\xdf\xa3\x89\x42\x82\x86webm\0\0"), SNIFF_WEBM);
	check("webm with unknown header size", B("\x1a\x45\xdf\xa3\xff\x42\x82\x84webm"), SNIFF_WEBM);
	check("webm with 8-byte header size", B("\x1a\x45\xdf\xa3\x01\0\0\0\0\0\0\x07\x42\x82\x84webm"),
	    SNIFF_WEBM);
	check("ebml with another DocType", B("\x1a\x45\xdf\xa3\x87\x42\x82\x84mkv3"), SNIFF_UNKNOWN);
	check("ebml without DocType", B("\x1a\x45\xdf\xa3\x84\x42\x86\x81\x01"), SNIFF_UNKNOWN);
	check("ebml DocType outside the header", B("\x1a\x45\xdf\xa3\x84\x42\x86\x81\x01\x42\x82\x84webm"),
	    SNIFF_UNKNOWN);
	check("ebml DocType cut short", B("\x1a\x45\xdf\xa3\x87\x42\x82\x84web"), SNIFF_UNKNOWN);
	check("ebml bad size byte", B("\x1a\x45\xdf\xa3\x00\x42\x82\x84webm"), SNIFF_UNKNOWN);
	check("ebml magic only", B("\x1a\x45\xdf\xa3"), SNIFF_UNKNOWN);
	check("ebml element larger than header", B("\x1a\x45\xdf\xa3\x85\x42\x86\x88\x01\x42\x82\x84webm"),
	    SNIFF_UNKNOWN);
	check("webm bytes 42 82 inside another element are not a DocType",
	    B("\x1a\x45\xdf\xa3\x8a\x42\x86\x87\x42\x82\x84webm\x00"), SNIFF_UNKNOWN);

	check("mp4 isom", B("\0\0\0\x20" "ftypisom\0\0\x02\0isomiso2avc1mp41"), SNIFF_MP4);
	check("mp4 any brand", B("\0\0\0\x18" "ftypmp42"), SNIFF_MP4);
	check("quicktime", B("\0\0\0\x14" "ftypqt  \0\0\x02\0qt  "), SNIFF_MOV);
	check("quicktime brand case matters", B("\0\0\0\x14" "ftypQT  "), SNIFF_MP4);
	check("ftyp at the wrong offset", B("\0\0\0\0\x14" "ftypqt  "), SNIFF_UNKNOWN);
	check("ftyp without a brand", B("\0\0\0\x14" "ftyp"), SNIFF_UNKNOWN);
}

static void
test_misc(void)
{
	check("empty", (const unsigned char *)"", 0, SNIFF_UNKNOWN);
	check("text", B("hello world, not media"), SNIFF_UNKNOWN);
	check("gif is not accepted", B("GIF89a\x01\0\x01\0"), SNIFF_UNKNOWN);

	tap_ok(strcmp(sniff_ext(SNIFF_JPEG), "jpg") == 0 && strcmp(sniff_mime(SNIFF_JPEG), "image/jpeg") == 0,
	    "jpeg ext and mime");
	tap_ok(strcmp(sniff_ext(SNIFF_PNG), "png") == 0 && strcmp(sniff_mime(SNIFF_PNG), "image/png") == 0,
	    "png ext and mime");
	tap_ok(strcmp(sniff_ext(SNIFF_WEBP), "webp") == 0 && strcmp(sniff_mime(SNIFF_WEBP), "image/webp") == 0,
	    "webp ext and mime");
	tap_ok(strcmp(sniff_ext(SNIFF_WEBM), "webm") == 0 && strcmp(sniff_mime(SNIFF_WEBM), "video/webm") == 0,
	    "webm ext and mime");
	tap_ok(strcmp(sniff_ext(SNIFF_MP4), "mp4") == 0 && strcmp(sniff_mime(SNIFF_MP4), "video/mp4") == 0,
	    "mp4 ext and mime");
	tap_ok(strcmp(sniff_ext(SNIFF_MOV), "mov") == 0 &&
	    strcmp(sniff_mime(SNIFF_MOV), "video/quicktime") == 0, "mov ext and mime");
	tap_ok(sniff_ext(SNIFF_UNKNOWN) == NULL && sniff_mime(SNIFF_UNKNOWN) == NULL, "unknown has none");
	tap_ok(sniff_ext((enum sniff_type)42) == NULL, "out of range has none");

	tap_ok(sniff_category(SNIFF_JPEG) == SNIFF_CAT_IMAGE && sniff_category(SNIFF_PNG) == SNIFF_CAT_IMAGE &&
	    sniff_category(SNIFF_WEBP) == SNIFF_CAT_IMAGE, "images are images");
	tap_ok(sniff_category(SNIFF_WEBM) == SNIFF_CAT_VIDEO && sniff_category(SNIFF_MP4) == SNIFF_CAT_VIDEO &&
	    sniff_category(SNIFF_MOV) == SNIFF_CAT_VIDEO, "videos are videos");
	tap_ok(sniff_category(SNIFF_UNKNOWN) == SNIFF_CAT_NONE &&
	    sniff_category((enum sniff_type)42) == SNIFF_CAT_NONE, "unknown has no category");
}

int
main(void)
{
	test_images();
	test_videos();
	test_misc();
	return tap_done();
}
