/* qr: QR code to PNG (see qr.h). Grey 1-bit pixels keep a 300 px code near 1 KB. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <qrencode.h>

#include "qr.h"
#include "log.h"

#define PNG_MAX (1024 * 1024)	/* ceiling of one encoded image */

struct out {
	unsigned char *p;
	size_t len, cap;
	int over;
};

static void
on_write(png_structp png, png_bytep data, png_size_t n)
{
	struct out *o = png_get_io_ptr(png);
	unsigned char *np;
	size_t cap;

	if (o->over)
		return;
	if (o->len + n > o->cap) {
		cap = o->cap ? o->cap * 2 : 4096;
		while (cap < o->len + n)
			cap *= 2;
		if (cap > PNG_MAX || (np = realloc(o->p, cap)) == NULL) {
			o->over = 1;
			return;
		}
		o->p = np;
		o->cap = cap;
	}
	memcpy(o->p + o->len, data, n);
	o->len += n;
}

static void
on_flush(png_structp png)
{
	(void)png;
}

/* Row y of the image: bit set = white (grey 1-bit: 0 black, 1 white). */
static void
draw_row(const QRcode *qr, int width, int margin, int y, png_bytep row)
{
	int total = qr->width + 2 * margin, x, my = y * total / width - margin;

	memset(row, 0, (size_t)(width + 7) / 8);
	for (x = 0; x < width; x++) {
		int mx = x * total / width - margin;
		int dark = mx >= 0 && my >= 0 && mx < qr->width && my < qr->width &&
		    (qr->data[my * qr->width + mx] & 1);

		if (!dark)
			row[x / 8] |= (png_byte)(0x80 >> (x % 8));
	}
}

/* libpng reports errors by longjmp: nothing in here may own memory the caller cannot free. */
static int
encode(const QRcode *qr, int width, int margin, png_bytep row, struct out *o)
{
	png_structp png;
	png_infop info = NULL;
	int y;

	if ((png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL)) == NULL)
		return -1;
	if ((info = png_create_info_struct(png)) == NULL || setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -1;
	}
	png_set_write_fn(png, o, on_write, on_flush);
	png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)width, 1, PNG_COLOR_TYPE_GRAY,
	    PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (y = 0; y < width; y++) {
		draw_row(qr, width, margin, y, row);
		png_write_row(png, row);
	}
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	return o->over ? -1 : 0;
}

enum ns_err
api_qr_png(const char *text, int width, int margin, unsigned char **png, size_t *len)
{
	struct out o = { NULL, 0, 0, 0 };
	png_bytep row;
	QRcode *qr;
	int rc;

	*png = NULL;
	*len = 0;
	if (strlen(text) > API_QR_TEXT_MAX || width < 1 || width > API_QR_WIDTH_MAX ||
	    margin < 0 || margin > 16)
		return NS_E_BAD_REQUEST;
	if ((qr = QRcode_encodeString8bit(text, 0, QR_ECLEVEL_M)) == NULL) {
		ns_log_err("qr: encoding failed for %zu bytes", strlen(text));
		return NS_E_INTERNAL;
	}
	if (width < qr->width + 2 * margin) {	/* a module must get at least one pixel */
		QRcode_free(qr);
		return NS_E_BAD_REQUEST;
	}
	if ((row = malloc((size_t)(width + 7) / 8)) == NULL) {
		QRcode_free(qr);
		return NS_E_NOMEM;
	}
	rc = encode(qr, width, margin, row, &o);
	free(row);
	QRcode_free(qr);
	if (rc < 0) {
		free(o.p);
		ns_log_err("qr: PNG encoding failed");
		return NS_E_INTERNAL;
	}
	*png = o.p;
	*len = o.len;
	return NS_OK;
}
