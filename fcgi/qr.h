/* qr: a QR code as a PNG in memory (libqrencode + libpng), for GET /payment/qr/:code. */
#ifndef API_QR_H
#define API_QR_H
#include <stddef.h>
#include "err.h"

#define API_QR_TEXT_MAX 2048	/* text encoded (a URL); longer is refused */
#define API_QR_WIDTH_MAX 2000	/* image width ceiling, pixels */

/* Encode text (byte mode, error correction M) and draw it black on white, margin modules of
 * quiet zone on each side, scaled to exactly width × width pixels (nearest module per
 * pixel). *png is malloc'd (caller frees), *len its size. NS_E_BAD_REQUEST for text or width
 * out of bounds, NS_E_INTERNAL when encoding fails, NS_E_NOMEM. */
enum ns_err api_qr_png(const char *text, int width, int margin, unsigned char **png,
    size_t *len);

#endif
