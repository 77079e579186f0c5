/* qr: QR code to PNG (see qr.h). Grey 1-bit pixels keep a 300 px code near 1 KB. */
#include "config.h"

#include <setjmp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>
#include <qrencode.h>

#include "qr.h"
#include "dso.h"
#include "log.h"

#define PNG_MAX (1024 * 1024)	/* ceiling of one encoded image */
#define PNG_SONAME "libpng16.so.16"	/* the ABI the headers describe */

/* libpng is opened at the first QR image instead of being linked: with the libm it brings,
 * 420 KB of resident memory in every worker, for a route few requests take. */
static struct png_api {
	int state;		/* 0 not tried, 1 ready, -1 unavailable */
	png_structp (*create_write_struct)(png_const_charp, png_voidp, png_error_ptr,
	    png_error_ptr);
	png_infop (*create_info_struct)(png_const_structrp);
	jmp_buf *(*set_longjmp_fn)(png_structrp, png_longjmp_ptr, size_t);
	void (*set_write_fn)(png_structrp, png_voidp, png_rw_ptr, png_flush_ptr);
	png_voidp (*get_io_ptr)(png_const_structrp);
	void (*set_IHDR)(png_const_structrp, png_inforp, png_uint_32, png_uint_32, int, int, int,
	    int, int);
	void (*write_info)(png_structrp, png_const_inforp);
	void (*write_row)(png_structrp, png_const_bytep);
	void (*write_end)(png_structrp, png_inforp);
	void (*destroy_write_struct)(png_structpp, png_infopp);
} pn;

static int
pnglib_load(void)
{
	static const struct ns_dso_sym syms[] = {
#define SYM(f) { "png_" #f, offsetof(struct png_api, f) }
		SYM(create_write_struct), SYM(create_info_struct), SYM(set_longjmp_fn),
		SYM(set_write_fn), SYM(get_io_ptr), SYM(set_IHDR), SYM(write_info),
		SYM(write_row), SYM(write_end), SYM(destroy_write_struct)
#undef SYM
	};

	if (pn.state == 0)
		pn.state = ns_dso_open(PNG_SONAME, syms, sizeof(syms) / sizeof(syms[0]), &pn) == 0 ?
		    1 : -1;
	return pn.state > 0;
}

struct out {
	unsigned char *p;
	size_t len, cap;
	int over;
};

static void
on_write(png_structp png, png_bytep data, png_size_t n)
{
	struct out *o = pn.get_io_ptr(png);
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

	if ((png = pn.create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL)) == NULL)
		return -1;
	/* png_jmpbuf(png), through the table */
	if ((info = pn.create_info_struct(png)) == NULL ||
	    setjmp(*pn.set_longjmp_fn(png, longjmp, sizeof(jmp_buf)))) {
		pn.destroy_write_struct(&png, &info);
		return -1;
	}
	pn.set_write_fn(png, o, on_write, on_flush);
	pn.set_IHDR(png, info, (png_uint_32)width, (png_uint_32)width, 1, PNG_COLOR_TYPE_GRAY,
	    PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	pn.write_info(png, info);
	for (y = 0; y < width; y++) {
		draw_row(qr, width, margin, y, row);
		pn.write_row(png, row);
	}
	pn.write_end(png, info);
	pn.destroy_write_struct(&png, &info);
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
	if (!pnglib_load())
		return NS_E_INTERNAL;
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
