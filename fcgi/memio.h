/* memio: an in-memory struct api_io (parameters, a body fed in small pieces, a captured
 * response), for the unit tests and fuzz targets. */
#ifndef API_MEMIO_H
#define API_MEMIO_H
#include <stddef.h>
#include "request.h"

#define MEMIO_PARAMS_MAX 32	/* parameters one fake request can carry */
#define MEMIO_OUT_MAX 65536	/* captured response bytes; beyond this write() fails */

struct memio {
	const char *names[MEMIO_PARAMS_MAX];
	const char *values[MEMIO_PARAMS_MAX];
	int nparams;
	const char *body;	/* not copied */
	size_t body_len, body_pos;
	size_t piece;		/* at most this many bytes per read (0: all); tests short reads */
	char out[MEMIO_OUT_MAX + 1];
	size_t out_len;
	struct api_io io;
};

/* Reset m and point m->io at it. */
void memio_init(struct memio *m);
/* Add a parameter (not copied); a later one with the same name wins. */
void memio_param(struct memio *m, const char *name, const char *value);
void memio_body(struct memio *m, const char *body, size_t len);
/* The value of response header name ("Allow"), copied into buf, or NULL. */
const char *memio_header(const struct memio *m, const char *name, char *buf, size_t len);
/* The response status from the Status: line, or 0. */
int memio_status(const struct memio *m);
/* The response body (after the blank line), or NULL. */
const char *memio_resp_body(const struct memio *m);

#endif
