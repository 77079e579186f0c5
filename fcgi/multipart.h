/* multipart: streaming multipart/form-data parser (RFC 7578 over RFC 2046), for the uploads (§2.4).
 * Fed in chunks of any size, down to one byte; reports parts through callbacks and never buffers
 * part data. Pure computation: no I/O, no FastCGI. */
#ifndef NS_MULTIPART_H
#define NS_MULTIPART_H
#include <stddef.h>

#define MP_BOUNDARY_MAX 70		/* RFC 2046 §5.1.1 */
#define MP_HEADER_MAX 8192		/* header block of one part, CRLF CRLF included */
#define MP_PARTS_MAX 16			/* parts per body */
#define MP_PARAM_MAX 1024		/* a Content-Disposition name or filename, bytes */
#define MP_CTYPE_MAX 256		/* a part's declared Content-Type, bytes */
#define MP_CONTENT_TYPE_MAX 1024	/* the request's Content-Type header we look at */

enum mp_err {
	MP_OK = 0,
	MP_E_CONTENT_TYPE,	/* request Content-Type is not multipart/form-data */
	MP_E_BOUNDARY,		/* boundary parameter missing or invalid */
	MP_E_MALFORMED,		/* bytes that break RFC 2046/7578 framing or part headers */
	MP_E_HEADER_TOO_LARGE,	/* a part's header block (or one parameter) over its ceiling */
	MP_E_TOO_MANY_PARTS,	/* more than MP_PARTS_MAX parts */
	MP_E_BODY_TOO_LARGE,	/* more bytes than the body_max given to mp_new */
	MP_E_TRUNCATED,		/* input ended before the final boundary */
	MP_E_ABORTED,		/* a callback returned non-zero */
	MP_E_NOMEM,
	MP_E__COUNT
};

/* One part as its headers describe it; valid only during the part_begin callback. */
struct mp_part {
	size_t index;				/* 0-based */
	char name[MP_PARAM_MAX + 1];		/* Content-Disposition name (required) */
	char filename[MP_PARAM_MAX + 1];	/* filename, "" when absent */
	int has_filename;			/* a filename parameter was present (a file part) */
	char content_type[MP_CTYPE_MAX + 1];	/* as declared by the client, "" when absent */
};

/* Every callback may be NULL; returning non-zero stops the parse with MP_E_ABORTED
 * (the callback keeps its own reason in ctx, e.g. "file too large"). */
struct mp_callbacks {
	int (*part_begin)(void *ctx, const struct mp_part *part);
	int (*part_data)(void *ctx, const char *data, size_t len);	/* len > 0 */
	int (*part_end)(void *ctx);
	int (*done)(void *ctx);		/* the close delimiter was read */
};

struct mp_parser;

/* Boundary of a request Content-Type (quoted or not) into out (MP_BOUNDARY_MAX + 1 bytes). */
enum mp_err mp_boundary_from_content_type(const char *content_type, char out[MP_BOUNDARY_MAX + 1]);

/* NULL on allocation failure or an invalid boundary. body_max counts every byte fed
 * (preamble and epilogue included); the callbacks struct is copied. */
struct mp_parser *mp_new(const char *boundary, size_t body_max, const struct mp_callbacks *cb,
    void *ctx);
/* Consume len bytes. Errors are sticky: after one, every call returns it again. Processing
 * depends only on the bytes, never on how they were split into chunks. */
enum mp_err mp_feed(struct mp_parser *p, const void *buf, size_t len);
/* End of input: MP_OK once the close delimiter was seen, else MP_E_TRUNCATED (or the error). */
enum mp_err mp_finish(struct mp_parser *p);
void mp_free(struct mp_parser *p);
const char *mp_strerror(enum mp_err e);

#endif
