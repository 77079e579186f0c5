/* request: one HTTP request as the worker sees it (method, path, selected headers, body read
 * with a ceiling), independent of whether it came over FastCGI, CGI or a test's memory buffer. */
#ifndef API_REQUEST_H
#define API_REQUEST_H
#include <stddef.h>
#include <sys/types.h>
#include <json-c/json.h>
#include "err.h"

#define API_METHOD_MAX 16	/* longest method name kept; longer ones are refused */
#define API_PATH_MAX 2048	/* request path without the query */
#define API_QUERY_MAX 4096	/* query string */
#define API_HEADER_MAX 2048	/* any one selected request header */
#define API_ADDR_MAX 64		/* REMOTE_ADDR text (an IPv6 address with zone fits) */
#define API_PARAMS_MAX 4	/* `:param` segments in one route pattern */
#define API_PARAM_NAME_MAX 32	/* a `:param` name */
#define API_PARAM_MAX 256	/* one decoded path parameter */
#define API_RESP_HDR_MAX 2048	/* extra response headers queued for one response */
#define API_UA_MAX 1024		/* User-Agent bytes kept (255 code points of UTF-8 fit) */
#define API_QKEY_MAX 32		/* one decoded query-string key (longer keys match nothing) */
#define API_QVALUE_MAX 256	/* one decoded query-string value */
#define API_INT_CLAMP 1000000000L	/* api_req_int clamps beyond ±10 digits' worth */

struct app;
struct ns_config;

#define API_ADMIN_NAME_MAX 64	/* admins.username */

/* Who the guard let in (router.c fills it before the handler runs). */
struct api_auth {
	int user;				/* 1: a user session passed guard U/P/B */
	char user_id[37];
	char token[37];				/* the presented session token */
	int admin_token;			/* 1: guard A passed with an admin token */
	char admin_username[API_ADMIN_NAME_MAX];
};

/* Where a request comes from and its response goes to. The same parser serves FastCGI
 * streams, CGI's environment and stdio, and the unit tests' memory buffers. */
struct api_io {
	void *ctx;
	/* A CGI/FastCGI parameter (REQUEST_METHOD, HTTP_ORIGIN, ...) or NULL. */
	const char *(*param)(void *ctx, const char *name);
	/* Up to n body bytes: the count, 0 at the end of the body, -1 on error. */
	ssize_t (*read)(void *ctx, char *buf, size_t n);
	/* All n bytes, or -1. */
	int (*write)(void *ctx, const char *buf, size_t n);
};

struct api_param {
	char name[API_PARAM_NAME_MAX];
	char value[API_PARAM_MAX];	/* percent-decoded */
};

struct api_req {
	const struct api_io *io;
	const struct ns_config *cfg;	/* never NULL */
	struct app *app;		/* NULL in unit tests */

	char method[API_METHOD_MAX];
	char path[API_PATH_MAX];		/* query stripped, not decoded */
	char query[API_QUERY_MAX];
	char content_type[API_HEADER_MAX];
	char authorization[API_HEADER_MAX];
	char origin[API_HEADER_MAX];
	char if_none_match[API_HEADER_MAX];
	char acr_headers[API_HEADER_MAX];	/* Access-Control-Request-Headers */
	char remote_addr[API_ADDR_MAX];
	char user_agent[API_UA_MAX];		/* cut at the ceiling, never refused */
	int has_origin;
	long long content_length;		/* -1 when absent */

	struct api_param params[API_PARAMS_MAX];
	int nparams;

	char *body;			/* NUL-terminated copy of the body, or NULL */
	size_t body_len;
	size_t body_read;		/* bytes consumed from io->read so far */
	json_object *json;		/* parsed JSON body, {} when not JSON; owned */

	struct api_auth auth;		/* set by the guard */
	const char *route;		/* matched pattern, for metrics ("-" when none) */

	/* response state, used by respond.c */
	int responded;
	int status;			/* status sent, for the access log */
	int no_store;			/* add Cache-Control: no-store */
	char resp_hdr[API_RESP_HDR_MAX];
	size_t resp_hdr_len;
};

/* Fill req from io's parameters. On failure (a field over its ceiling, a bad Content-Length)
 * the request is still usable for an error response and *msg names the problem. */
enum ns_err api_req_init(struct api_req *req, const struct api_io *io,
    const struct ns_config *cfg, struct app *app, const char **msg);
void api_req_free(struct api_req *req);

/* Read the whole body when it is at most max bytes (NS_E_TOO_LARGE otherwise, decided from
 * Content-Length before reading; a body that ends early is NS_E_BAD_REQUEST). */
enum ns_err api_req_read_body(struct api_req *req, size_t max);
/* The JSON body rule: with Content-Type application/json read (≤ max) and parse it
 * (NS_E_INVALID_JSON, NS_E_TOO_LARGE, NS_E_MEDIA_TYPE for a non-UTF-8 charset); with any
 * other type leave the body unread and use {}. req->json is set on success. */
enum ns_err api_req_read_json(struct api_req *req, size_t max);
/* Stream up to n body bytes (multipart handlers), never past Content-Length. */
ssize_t api_req_read(struct api_req *req, char *buf, size_t n);

/* A path parameter by name, or NULL. */
const char *api_req_param(const struct api_req *req, const char *name);
/* 1 when the Content-Type's media type is mime (case-insensitive, parameters ignored). */
int api_req_content_type_is(const struct api_req *req, const char *mime);

/* Text parsers with no I/O (query.c). */
/* Percent-decode s[0..n) into out (form: '+' is a space, as in a query string); 0, or -1
 * when an escape is malformed, a NUL is decoded or out's cap would be exceeded. */
int api_req_pct_decode(char *out, size_t cap, const char *s, size_t n, int form);
/* The first value of query parameter name, decoded into out: 1 found, 0 absent, -1 present
 * but malformed or over outlen. */
int api_req_query(const char *query, const char *name, char *out, size_t outlen);
/* A decimal integer with optional '-' into *out (1), else 0; magnitudes beyond
 * API_INT_CLAMP stop growing (callers only check ranges). */
int api_req_int(const char *s, long *out);
/* 1 when If-None-Match (a list of entity tags, or *) names our strong tag etag ("..."),
 * compared weakly as RFC 9110 asks for this header. */
int api_req_etag_matches(const char *header, const char *etag);

#endif
