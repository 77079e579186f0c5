/* test_request: parameters → struct api_req, body ceilings and the JSON content-type rules,
 * driven through an in-memory api_io (short reads included). */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "nsconfig.h"
#include "json.h"
#include "memio.h"
#include "request.h"

static struct ns_config cfg;
static struct api_req req;
static const char *msg;

static void
fresh(struct memio *m, const char *method, const char *uri)
{
	memio_init(m);
	if (method)
		memio_param(m, "REQUEST_METHOD", method);
	if (uri)
		memio_param(m, "REQUEST_URI", uri);
}

static enum ns_err
init(struct memio *m)
{
	api_req_free(&req);
	return api_req_init(&req, &m->io, &cfg, NULL, &msg);
}

/* A JSON request with body b; returns api_req_read_json's result with ceiling max. */
static enum ns_err
json_req(struct memio *m, const char *ctype, const char *b, const char *clen, size_t max)
{
	enum ns_err e;

	fresh(m, "POST", "/x");
	if (ctype)
		memio_param(m, "CONTENT_TYPE", ctype);
	if (clen)
		memio_param(m, "CONTENT_LENGTH", clen);
	if (b)
		memio_body(m, b, strlen(b));
	if ((e = init(m)) != NS_OK)
		return e;
	return api_req_read_json(&req, max);
}

int
main(void)
{
	static char big[API_HEADER_MAX + 10], longpath[API_PATH_MAX + 10];
	char clen[32], buf[64];
	struct memio m;
	int64_t iv = 0;
	ssize_t r;

	cfg.json_body_max = 100;

	/* target and headers */
	fresh(&m, "GET", "/room/history/?limit=5&x=%20");
	memio_param(&m, "REMOTE_ADDR", "2001:db8::1");
	memio_param(&m, "HTTP_AUTHORIZATION", "Bearer abc");
	memio_param(&m, "HTTP_ORIGIN", "http://localhost:3000");
	memio_param(&m, "HTTP_IF_NONE_MATCH", "\"v1\"");
	memio_param(&m, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "content-type");
	tap_is_int(init(&m), NS_OK, "plain request parses");
	tap_is_str(req.method, "GET", "method");
	tap_is_str(req.path, "/room/history/", "path without the query");
	tap_is_str(req.query, "limit=5&x=%20", "query from REQUEST_URI");
	tap_is_str(req.remote_addr, "2001:db8::1", "REMOTE_ADDR");
	tap_is_str(req.authorization, "Bearer abc", "Authorization");
	tap_is_str(req.origin, "http://localhost:3000", "Origin");
	tap_ok(req.has_origin, "has_origin set");
	tap_is_str(req.if_none_match, "\"v1\"", "If-None-Match");
	tap_is_str(req.acr_headers, "content-type", "Access-Control-Request-Headers");
	tap_is_int(req.content_length, -1, "no Content-Length → -1");

	fresh(&m, "GET", "/a?b");
	memio_param(&m, "QUERY_STRING", "q=1");
	init(&m);
	tap_is_str(req.query, "q=1", "QUERY_STRING wins over the URI's query");

	fresh(&m, "GET", NULL);
	memio_param(&m, "SCRIPT_NAME", "/user");
	memio_param(&m, "PATH_INFO", "/me");
	tap_is_int(init(&m), NS_OK, "CGI without REQUEST_URI parses");
	tap_is_str(req.path, "/user/me", "... path from SCRIPT_NAME + PATH_INFO");

	fresh(&m, NULL, NULL);
	tap_is_int(init(&m), NS_OK, "no parameters at all still parses");
	tap_is_str(req.path, "/", "... path defaults to /");
	tap_is_str(req.method, "", "... empty method");

	fresh(&m, "AVERYLONGMETHODNAMEINDEED", "/");
	tap_is_int(init(&m), NS_OK, "over-long method is not an error here");
	tap_is_str(req.method, "", "... it is dropped (router answers 404/405)");

	memset(big, 'a', sizeof(big) - 1);
	fresh(&m, "GET", "/");
	memio_param(&m, "HTTP_AUTHORIZATION", big);
	tap_is_int(init(&m), NS_E_BAD_REQUEST, "header over API_HEADER_MAX → 400");
	tap_ok(msg != NULL, "... with a message");

	memset(longpath, 'p', sizeof(longpath) - 1);
	longpath[0] = '/';
	fresh(&m, "GET", longpath);
	tap_is_int(init(&m), NS_E_BAD_REQUEST, "path over API_PATH_MAX → 400");

	fresh(&m, "GET", "/");
	memio_param(&m, "HTTP_ORIGIN", "");
	init(&m);
	tap_ok(!req.has_origin, "empty Origin counts as none");

	/* Content-Length */
	{
		static const char *bad[] = { "abc", "-1", "+5", " 5", "1e3", "5 ",
		    "99999999999999999999999" };
		size_t i;

		for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			fresh(&m, "POST", "/");
			memio_param(&m, "CONTENT_LENGTH", bad[i]);
			tap_is_int(init(&m), NS_E_BAD_REQUEST, "Content-Length '%s' → 400", bad[i]);
		}
	}
	fresh(&m, "POST", "/");
	memio_param(&m, "CONTENT_LENGTH", "0042");
	tap_is_int(init(&m), NS_OK, "Content-Length with leading zeros");
	tap_is_int(req.content_length, 42, "... is 42");

	/* JSON rules */
	tap_is_int(json_req(&m, "application/json", "{\"a\":7}", "7", 100), NS_OK, "JSON body parsed");
	tap_ok(ns_json_get_int(req.json, "a", &iv) && iv == 7, "... field a = 7");
	tap_is_int(json_req(&m, "Application/JSON; charset=UTF-8", "{\"a\":1}", "7", 100), NS_OK,
	    "media type and charset are case-insensitive");
	tap_is_int(json_req(&m, "application/json;charset=latin1", "{}", "2", 100), NS_E_MEDIA_TYPE,
	    "non-UTF-8 charset → 415");
	tap_is_int(json_req(&m, "text/plain", "not json at all", "15", 100), NS_OK,
	    "other content type: not parsed");
	tap_ok(req.json && json_object_object_length(req.json) == 0, "... body is {}");
	tap_is_int(m.body_pos, 0, "... and not even read");
	tap_is_int(json_req(&m, "application/jsonp", "nope", "4", 100), NS_OK, "application/jsonp is not JSON");
	tap_is_int(json_req(&m, NULL, "nope", "4", 100), NS_OK, "no content type: {}");
	tap_ok(req.json && json_object_object_length(req.json) == 0, "... body is {}");
	tap_is_int(json_req(&m, "application/json", "{\"a\":", "5", 100), NS_E_INVALID_JSON, "malformed JSON → Invalid JSON");
	tap_ok(req.json == NULL, "... no json object left behind");
	tap_is_int(json_req(&m, "application/json", "[1,2]", "5", 100), NS_E_INVALID_JSON, "top-level array → Invalid JSON");
	tap_is_int(json_req(&m, "application/json", "{} x", "4", 100), NS_E_INVALID_JSON, "trailing garbage → Invalid JSON");
	tap_is_int(json_req(&m, "application/json", "", "0", 100), NS_OK, "empty JSON body is {}");
	tap_ok(req.json && json_object_object_length(req.json) == 0, "... an empty object");
	tap_is_int(json_req(&m, "application/json", "", NULL, 100), NS_OK, "JSON type without Content-Length is {}");

	/* ceilings */
	{
		static char body[202];

		memset(body, ' ', 200);
		body[0] = '{';
		body[99] = '}';
		body[100] = '\0';
		tap_is_int(json_req(&m, "application/json", body, "100", 100), NS_OK, "body exactly at the ceiling");
		body[100] = ' ';
		body[101] = '\0';
		tap_is_int(json_req(&m, "application/json", body, "101", 100), NS_E_TOO_LARGE, "one byte over → 413");
		tap_is_int(m.body_pos, 0, "... decided before reading anything");
		tap_is_int(json_req(&m, "application/json", "{}", "99999999999", 100), NS_E_TOO_LARGE,
		    "huge Content-Length → 413 without reading");
	}
	tap_is_int(json_req(&m, "application/json", "{\"a\":1}", "20", 100), NS_E_BAD_REQUEST,
	    "body shorter than Content-Length → 400");
	tap_is_int(json_req(&m, "application/json", "{\"a\":1}garbage", "7", 100), NS_OK,
	    "bytes past Content-Length are never read");
	tap_is_int(m.body_pos, 7, "... exactly Content-Length consumed");

	/* short reads */
	fresh(&m, "POST", "/x");
	memio_param(&m, "CONTENT_TYPE", "application/json");
	memio_param(&m, "CONTENT_LENGTH", "19");
	memio_body(&m, "{\"name\":\"Ada Love\"}", 19);
	m.piece = 3;
	init(&m);
	tap_is_int(api_req_read_json(&req, 100), NS_OK, "body read in 3-byte pieces");
	tap_is_str(ns_json_get_str(req.json, "name"), "Ada Love", "... reassembled");

	/* raw and streamed bodies */
	fresh(&m, "POST", "/x");
	memio_param(&m, "CONTENT_LENGTH", "5");
	memio_body(&m, "ab\0cd", 5);
	init(&m);
	tap_is_int(api_req_read_body(&req, 10), NS_OK, "raw body read");
	tap_is_int(req.body_len, 5, "... binary-safe length");
	tap_ok(memcmp(req.body, "ab\0cd", 5) == 0 && req.body[5] == '\0', "... bytes kept, NUL-terminated");

	fresh(&m, "POST", "/x");
	snprintf(clen, sizeof(clen), "%d", 10);
	memio_param(&m, "CONTENT_LENGTH", clen);
	memio_body(&m, "0123456789EXTRA", 15);
	init(&m);
	r = api_req_read(&req, buf, sizeof(buf));
	tap_is_int(r, 10, "streamed read stops at Content-Length");
	tap_is_int(api_req_read(&req, buf, sizeof(buf)), 0, "... then reports the end");

	api_req_free(&req);
	return tap_done();
}
