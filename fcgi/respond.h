/* respond: the only writer of responses: status line, headers, JSON body; and the only
 * place an enum ns_err becomes an HTTP answer. */
#ifndef API_RESPOND_H
#define API_RESPOND_H
#include <stddef.h>
#include <json-c/json.h>
#include "err.h"
#include "request.h"

#define API_RESP_HEAD_MAX 4096	/* status line plus all headers of one response */

/* Queue a header for this request's response; -1 when it does not fit or the value holds a
 * control character (nothing from a client can split a header). */
int api_resp_header(struct api_req *req, const char *name, const char *value);

/* Send body (consumed: json_object_put) with status. 503 adds Retry-After: 5. */
void api_respond_json(struct api_req *req, int status, json_object *body);
/* {error: msg or ns_err_str(e)} with ns_err_http_status(e). */
void api_respond_error(struct api_req *req, enum ns_err e, const char *msg);
/* Same status mapping, caller-built body (errors with extra fields); body is consumed. */
void api_respond_error_body(struct api_req *req, enum ns_err e, json_object *body);
/* A response without a body (204, 304). */
void api_respond_empty(struct api_req *req, int status);
/* Non-JSON body (PNG, plain text, metrics). */
void api_respond_raw(struct api_req *req, int status, const char *content_type,
    const char *data, size_t len);

#endif
