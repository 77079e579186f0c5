/* respond: every response goes through write_response(), once per request. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "respond.h"
#include "json.h"
#include "log.h"

#define JSON_CTYPE "application/json; charset=utf-8"

int
api_resp_header(struct api_req *req, const char *name, const char *value)
{
	size_t nl = strlen(name), vl = strlen(value), i;

	for (i = 0; i < vl; i++)
		if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
			return -1;
	if (req->resp_hdr_len + nl + vl + 4 >= sizeof(req->resp_hdr)) {
		ns_log_warn("response header %s dropped: no room", name);
		return -1;
	}
	memcpy(req->resp_hdr + req->resp_hdr_len, name, nl);
	req->resp_hdr_len += nl;
	memcpy(req->resp_hdr + req->resp_hdr_len, ": ", 2);
	req->resp_hdr_len += 2;
	memcpy(req->resp_hdr + req->resp_hdr_len, value, vl);
	req->resp_hdr_len += vl;
	memcpy(req->resp_hdr + req->resp_hdr_len, "\r\n", 2);
	req->resp_hdr_len += 2;
	req->resp_hdr[req->resp_hdr_len] = '\0';
	return 0;
}

static void
write_response(struct api_req *req, int status, const char *ctype, const char *body,
    size_t len)
{
	char head[API_RESP_HEAD_MAX];
	int n;

	if (req->responded) {
		ns_log_err("second response for %s %s ignored (status %d)", req->method,
		    req->path, status);
		return;
	}
	req->responded = 1;
	req->status = status;
	n = snprintf(head, sizeof(head), "Status: %d %s\r\n%s%s%s%s%s%s", status,
	    ns_err_http_reason(status),
	    ctype ? "Content-Type: " : "", ctype ? ctype : "", ctype ? "\r\n" : "",
	    req->no_store ? "Cache-Control: no-store\r\n" : "",
	    status == 503 ? "Retry-After: 5\r\n" : "",
	    req->resp_hdr);
	if (n < 0 || (size_t)n >= sizeof(head) - 32) {
		ns_log_err("response head over %d bytes", API_RESP_HEAD_MAX);
		return;
	}
	if (status != 204 && status != 304)
		n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-Length: %zu\r\n", len);
	memcpy(head + n, "\r\n", 3);
	n += 2;
	if (req->io->write(req->io->ctx, head, (size_t)n) < 0)
		goto gone;
	if (len && strcmp(req->method, "HEAD") != 0 &&
	    req->io->write(req->io->ctx, body, len) < 0)
		goto gone;
	return;
gone:
	ns_log_debug("client went away during %s %s", req->method, req->path);
}

void
api_respond_json(struct api_req *req, int status, json_object *body)
{
	size_t len = 0;
	const char *text = ns_json_text(body, &len);

	write_response(req, status, JSON_CTYPE, text, len);
	json_object_put(body);
}

void
api_respond_error_body(struct api_req *req, enum ns_err e, json_object *body)
{
	api_respond_json(req, ns_err_http_status(e), body);
}

void
api_respond_error(struct api_req *req, enum ns_err e, const char *msg)
{
	json_object *body = ns_json_obj();

	if (e == NS_OK)
		e = NS_E_INTERNAL;	/* an "error" that is none is a bug: never answer 200 */
	ns_json_set_str(body, "error", msg ? msg : ns_err_str(e));
	api_respond_error_body(req, e, body);
}

void
api_respond_empty(struct api_req *req, int status)
{
	write_response(req, status, NULL, NULL, 0);
}

void
api_respond_raw(struct api_req *req, int status, const char *content_type, const char *data,
    size_t len)
{
	write_response(req, status, content_type, data, len);
}
