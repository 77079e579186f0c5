/* request: CGI/FastCGI parameters → struct api_req; the body is read only up to the route's
 * ceiling and Content-Length is never trusted past it. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "request.h"
#include "json.h"
#include "log.h"

/* Copy src (may be NULL) into dst; -1 when it does not fit. */
static int
copy_field(char *dst, size_t cap, const char *src)
{
	size_t n = src ? strlen(src) : 0;

	if (n >= cap) {
		dst[0] = '\0';
		return -1;
	}
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	return 0;
}

/* Strict non-negative decimal; -1 when not one (signs, spaces, overflow). */
static long long
parse_length(const char *s)
{
	long long v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (LLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* The path and query: REQUEST_URI as nginx passes it, else the CGI variables. */
static enum ns_err
init_target(struct api_req *req, const char **msg)
{
	const char *uri = req->io->param(req->io->ctx, "REQUEST_URI");
	const char *qs = req->io->param(req->io->ctx, "QUERY_STRING");
	size_t plen;

	if (uri && *uri) {
		const char *q = strchr(uri, '?');

		plen = q ? (size_t)(q - uri) : strlen(uri);
		if (q && !qs)
			qs = q + 1;
	} else {
		/* Plain CGI: SCRIPT_NAME + PATH_INFO. */
		const char *sn = req->io->param(req->io->ctx, "SCRIPT_NAME");
		const char *pi = req->io->param(req->io->ctx, "PATH_INFO");
		size_t a = sn ? strlen(sn) : 0, b = pi ? strlen(pi) : 0;

		if (a + b >= sizeof(req->path)) {
			*msg = "Request path too long";
			return NS_E_BAD_REQUEST;
		}
		memcpy(req->path, sn ? sn : "", a);
		memcpy(req->path + a, pi ? pi : "", b);
		req->path[a + b] = '\0';
		uri = NULL;
		plen = 0;
	}
	if (uri) {
		if (plen >= sizeof(req->path)) {
			*msg = "Request path too long";
			return NS_E_BAD_REQUEST;
		}
		memcpy(req->path, uri, plen);
		req->path[plen] = '\0';
	}
	if (req->path[0] == '\0')
		strcpy(req->path, "/");
	if (copy_field(req->query, sizeof(req->query), qs) < 0) {
		*msg = "Query string too long";
		return NS_E_BAD_REQUEST;
	}
	return NS_OK;
}

enum ns_err
api_req_init(struct api_req *req, const struct api_io *io, const struct ns_config *cfg,
    struct app *app, const char **msg)
{
	static const struct {
		const char *param;
		size_t off;
	} hdrs[] = {
		{ "CONTENT_TYPE", offsetof(struct api_req, content_type) },
		{ "HTTP_AUTHORIZATION", offsetof(struct api_req, authorization) },
		{ "HTTP_ORIGIN", offsetof(struct api_req, origin) },
		{ "HTTP_IF_NONE_MATCH", offsetof(struct api_req, if_none_match) },
		{ "HTTP_ACCESS_CONTROL_REQUEST_HEADERS", offsetof(struct api_req, acr_headers) },
	};
	const char *v;
	enum ns_err e;
	size_t i;

	memset(req, 0, sizeof(*req));
	req->io = io;
	req->cfg = cfg;
	req->app = app;
	req->content_length = -1;
	*msg = NULL;

	/* An over-long method is kept empty: the router answers it 404/405 like any unknown one. */
	(void)copy_field(req->method, sizeof(req->method), io->param(io->ctx, "REQUEST_METHOD"));
	if ((e = init_target(req, msg)) != NS_OK)
		return e;
	for (i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++) {
		if (copy_field((char *)req + hdrs[i].off, API_HEADER_MAX,
		    io->param(io->ctx, hdrs[i].param)) < 0) {
			*msg = "Request header too large";
			return NS_E_BAD_REQUEST;
		}
	}
	req->has_origin = req->origin[0] != '\0';	/* an empty Origin counts as none */
	if (copy_field(req->remote_addr, sizeof(req->remote_addr),
	    io->param(io->ctx, "REMOTE_ADDR")) < 0)
		req->remote_addr[0] = '\0';	/* unparsable address: treated as unknown */
	/* The User-Agent only feeds sessions.device_info (255 characters): cut, never refused. */
	if ((v = io->param(io->ctx, "HTTP_USER_AGENT")) != NULL) {
		size_t n = strnlen(v, sizeof(req->user_agent) - 1);

		memcpy(req->user_agent, v, n);
		req->user_agent[n] = '\0';
	}

	v = io->param(io->ctx, "CONTENT_LENGTH");
	if (v && *v) {
		req->content_length = parse_length(v);
		if (req->content_length < 0) {
			*msg = "Invalid Content-Length";
			return NS_E_BAD_REQUEST;
		}
	}
	return NS_OK;
}

void
api_req_free(struct api_req *req)
{
	free(req->body);
	req->body = NULL;
	if (req->json)
		json_object_put(req->json);
	req->json = NULL;
}

ssize_t
api_req_read(struct api_req *req, char *buf, size_t n)
{
	unsigned long long left;
	ssize_t r;

	if (req->content_length < 0)
		return 0;	/* no Content-Length: no body (the web server always sets it) */
	left = (unsigned long long)req->content_length - req->body_read;
	if (n > left)
		n = (size_t)left;
	if (n == 0)
		return 0;
	do
		r = req->io->read(req->io->ctx, buf, n);
	while (r < 0 && errno == EINTR);
	if (r > 0)
		req->body_read += (size_t)r;
	return r;
}

enum ns_err
api_req_read_body(struct api_req *req, size_t max)
{
	size_t want, got = 0;
	ssize_t r;

	if (req->body)
		return NS_OK;
	if (req->content_length > 0 && (unsigned long long)req->content_length > max)
		return NS_E_TOO_LARGE;
	want = req->content_length > 0 ? (size_t)req->content_length : 0;
	if ((req->body = malloc(want + 1)) == NULL)
		return NS_E_NOMEM;
	while (got < want) {
		r = api_req_read(req, req->body + got, want - got);
		if (r <= 0) {
			ns_log_info("body ended after %zu of %zu bytes", got, want);
			free(req->body);
			req->body = NULL;
			return NS_E_BAD_REQUEST;
		}
		got += (size_t)r;
	}
	req->body[want] = '\0';
	req->body_len = want;
	return NS_OK;
}

int
api_req_content_type_is(const struct api_req *req, const char *mime)
{
	const char *ct = req->content_type;
	size_t n = strlen(mime);

	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, mime, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

/* 1 when the Content-Type names a charset other than UTF-8 (JSON must be UTF-8). */
static int
foreign_charset(const char *ct)
{
	const char *p = ct;

	while ((p = strchr(p, ';')) != NULL) {
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (strncasecmp(p, "charset=", 8) == 0) {
			char cs[16];
			size_t n = 0;

			p += 8;
			if (*p == '"')
				p++;
			while (*p && *p != ';' && *p != '"' && *p != ' ' && n < sizeof(cs) - 1)
				cs[n++] = *p++;
			cs[n] = '\0';
			return strcasecmp(cs, "utf-8") != 0 && strcasecmp(cs, "utf8") != 0;
		}
	}
	return 0;
}

enum ns_err
api_req_read_json(struct api_req *req, size_t max)
{
	enum ns_err e;

	if (req->json)
		return NS_OK;
	if (!api_req_content_type_is(req, "application/json")) {
		req->json = json_object_new_object();
		return req->json ? NS_OK : NS_E_NOMEM;
	}
	if (foreign_charset(req->content_type))
		return NS_E_MEDIA_TYPE;
	if ((e = api_req_read_body(req, max)) != NS_OK)
		return e;
	/* An empty JSON body counts as {}. */
	if (req->body_len == 0) {
		req->json = json_object_new_object();
		return req->json ? NS_OK : NS_E_NOMEM;
	}
	if ((e = ns_json_parse_object(req->body, req->body_len, &req->json)) != NS_OK)
		req->json = NULL;
	return e;
}

const char *
api_req_param(const struct api_req *req, const char *name)
{
	int i;

	for (i = 0; i < req->nparams; i++)
		if (strcmp(req->params[i].name, name) == 0)
			return req->params[i].value;
	return NULL;
}
