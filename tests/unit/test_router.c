/* test_router: route matching (params, trailing slash, 404 vs 405, Allow) and the request
 * pipeline (CORS, preflight, HEAD, error mapping) through an in-memory api_io. */
#include "config.h"

#include <string.h>

#include "tap.h"
#include "nsconfig.h"
#include "json.h"
#include "memio.h"
#include "respond.h"
#include "router.h"

static const char *called;	/* pattern of the last handler run */
static char seen_param[API_PARAM_NAME_MAX + API_PARAM_MAX + 2];

static enum ns_err
h_ok(struct api_req *req)
{
	json_object *o = ns_json_obj();
	const char *p = req->nparams ? req->params[0].value : "";

	called = "ok";
	snprintf(seen_param, sizeof(seen_param), "%s", p);
	ns_json_set_str(o, "param", p);
	api_respond_json(req, 200, o);
	return NS_OK;
}

static enum ns_err
h_db_down(struct api_req *req)
{
	(void)req;
	called = "db_down";
	return NS_E_DB;		/* no response: the router must map it */
}

static enum ns_err
h_silent(struct api_req *req)
{
	(void)req;
	called = "silent";
	return NS_OK;		/* a bug: no response at all */
}

static const struct api_route table[] = {
	{ "GET", "/", API_GUARD_NONE, API_RL_NONE, API_BODY_NONE, 0, h_ok, NULL },
	{ "GET", "/user/me", API_GUARD_NONE, API_RL_NONE, API_BODY_NONE, 0, h_ok, NULL },
	{ "PUT", "/user/me", API_GUARD_NONE, API_RL_NONE, API_BODY_JSON, 0, h_ok, NULL },
	{ "GET", "/referral/info/:code", API_GUARD_NONE, API_RL_NONE, API_BODY_NONE, 0, h_ok, NULL },
	{ "PUT", "/referral/notifications/:id/read", API_GUARD_NONE, API_RL_NONE, API_BODY_NONE, 0, h_ok, NULL },
	{ "POST", "/payment/webhook", API_GUARD_STRIPE, API_RL_NONE, API_BODY_RAW, 0, h_ok, NULL },
	{ "GET", "/guarded", API_GUARD_USER, API_RL_NONE, API_BODY_NONE, 0, h_ok, NULL },
	{ "GET", "/down", API_GUARD_NONE, API_RL_NONE, API_BODY_NONE, 0, h_db_down, NULL },
	{ "GET", "/silent", API_GUARD_NONE, API_RL_NONE, API_BODY_NONE, 0, h_silent, NULL },
};
#define NROUTES (sizeof(table) / sizeof(table[0]))

static struct ns_config cfg;

static enum api_match
match(const char *method, const char *path, const struct api_route **r, char *allow)
{
	static struct api_param params[API_PARAMS_MAX];
	int np = 0;
	enum api_match m = api_router_match(table, NROUTES, method, path, r, params, &np,
	    allow, API_ALLOW_MAX);

	seen_param[0] = '\0';
	if (m == API_MATCH_OK && np > 0)
		snprintf(seen_param, sizeof(seen_param), "%s=%s", params[0].name, params[0].value);
	return m;
}

/* Serve one request; extra headers as name/value pairs ending in NULL. */
static void
serve(struct memio *m, const char *method, const char *uri, const char *origin)
{
	memio_init(m);
	memio_param(m, "REQUEST_METHOD", method);
	memio_param(m, "REQUEST_URI", uri);
	memio_param(m, "REMOTE_ADDR", "127.0.0.1");
	if (origin)
		memio_param(m, "HTTP_ORIGIN", origin);
	called = NULL;
}

int
main(void)
{
	const struct api_route *r;
	char allow[API_ALLOW_MAX], h[256];
	struct memio m;
	const char *b;

	cfg.json_body_max = 100 * 1024;
	cfg.webhook_body_max = 1024 * 1024;
	cfg.video_max = 1024 * 1024;
	snprintf(cfg.allowed_origins, sizeof(cfg.allowed_origins),
	    "http://localhost:3000, https://napalmsky.example");

	/* matching */
	tap_is_int(match("GET", "/user/me", &r, allow), API_MATCH_OK, "GET /user/me matches");
	tap_ok(r == &table[1], "... the GET route");
	tap_is_int(match("PUT", "/user/me", &r, allow), API_MATCH_OK, "PUT /user/me matches");
	tap_ok(r == &table[2], "... the PUT route");
	tap_is_int(match("GET", "/user/me/", &r, allow), API_MATCH_OK, "one trailing slash tolerated");
	tap_is_int(match("GET", "/user/me//", &r, allow), API_MATCH_NO_PATH, "two trailing slashes are not");
	tap_is_int(match("GET", "/user//me", &r, allow), API_MATCH_NO_PATH, "empty inner segment does not match");
	tap_is_int(match("GET", "/User/ME", &r, allow), API_MATCH_OK, "literal segments ignore case");
	tap_is_int(match("GET", "/user/me/x", &r, allow), API_MATCH_NO_PATH, "longer path does not match");
	tap_is_int(match("GET", "/user", &r, allow), API_MATCH_NO_PATH, "prefix does not match");
	tap_is_int(match("GET", "/", &r, allow), API_MATCH_OK, "root matches");
	tap_ok(r == &table[0], "... the root route");
	tap_is_int(match("GET", "/referral/info/AB12", &r, allow), API_MATCH_OK, "param route matches");
	tap_is_str(seen_param, "code=AB12", "param captured by name");
	tap_is_int(match("GET", "/referral/info/AB12/", &r, allow), API_MATCH_OK, "param route with trailing slash");
	tap_is_str(seen_param, "code=AB12", "... param without the slash");
	tap_is_int(match("GET", "/referral/info/", &r, allow), API_MATCH_NO_PATH, "empty param does not match");
	tap_is_int(match("GET", "/referral/info/a%2Fb%20c", &r, allow), API_MATCH_OK, "encoded param matches");
	tap_is_str(seen_param, "code=a/b c", "param is percent-decoded");
	tap_is_int(match("GET", "/referral/info/%zz", &r, allow), API_MATCH_BAD_PARAM, "bad escape is a bad param");
	tap_is_int(match("GET", "/referral/info/ab%2", &r, allow), API_MATCH_BAD_PARAM, "truncated escape is a bad param");
	tap_is_int(match("GET", "/referral/info/a%00b", &r, allow), API_MATCH_BAD_PARAM, "NUL escape is a bad param");
	tap_is_int(match("PUT", "/referral/notifications/n-1/read", &r, allow), API_MATCH_OK, "param in the middle");
	tap_is_str(seen_param, "id=n-1", "... captured");
	tap_is_int(match("DELETE", "/user/me", &r, allow), API_MATCH_NO_METHOD, "known path, wrong method");
	tap_is_str(allow, "GET, HEAD, PUT, OPTIONS", "Allow lists the path's methods");
	tap_ok(r == NULL, "no route on 405");
	tap_is_int(match("BREW", "/referral/info/x", &r, allow), API_MATCH_NO_METHOD, "unknown method on a known path");
	tap_is_str(allow, "GET, HEAD, OPTIONS", "... Allow for a GET-only path");
	tap_is_int(match("HEAD", "/user/me", &r, allow), API_MATCH_OK, "HEAD uses the GET route");
	tap_ok(r == &table[1], "... the GET route");
	tap_is_int(match("GET", "/nope", &r, allow), API_MATCH_NO_PATH, "unknown path");
	tap_is_str(allow, "", "... no Allow");
	tap_is_int(match("", "/user/me", &r, allow), API_MATCH_NO_METHOD, "empty method is 405");

	tap_ok(api_router_origin_allowed(cfg.allowed_origins, "http://localhost:3000"), "first origin allowed");
	tap_ok(api_router_origin_allowed(cfg.allowed_origins, "https://napalmsky.example"), "trimmed second origin allowed");
	tap_ok(!api_router_origin_allowed(cfg.allowed_origins, "http://localhost:300"), "prefix origin refused");
	tap_ok(!api_router_origin_allowed(cfg.allowed_origins, "http://localhost:3000/"), "longer origin refused");
	tap_ok(!api_router_origin_allowed(cfg.allowed_origins, ""), "empty origin refused");
	tap_ok(!api_router_origin_allowed("", "http://localhost:3000"), "empty list allows nothing");

	/* the pipeline */
	serve(&m, "GET", "/nope?x=1", NULL);
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 404, "unknown path → 404");
	tap_is_str(memio_resp_body(&m), "{\"error\":\"Not found\"}", "... JSON error body");
	tap_is_str(memio_header(&m, "Content-Type", h, sizeof(h)), "application/json; charset=utf-8", "... JSON content type");
	tap_is_str(memio_header(&m, "Content-Length", h, sizeof(h)), "21", "... Content-Length");

	serve(&m, "DELETE", "/user/me/", NULL);
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 405, "wrong method → 405");
	tap_is_str(memio_header(&m, "Allow", h, sizeof(h)), "GET, HEAD, PUT, OPTIONS", "... with Allow");
	tap_is_str(memio_resp_body(&m), "{\"error\":\"Method not allowed\"}", "... JSON error body");
	tap_ok(called == NULL, "... no handler ran");

	serve(&m, "GET", "/referral/info/Q%41?lang=en", NULL);
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 200, "param route served");
	tap_is_str(seen_param, "QA", "... handler sees the decoded param, query ignored");
	tap_ok(memio_header(&m, "Access-Control-Allow-Origin", h, sizeof(h)) == NULL, "no Origin → no CORS headers");

	serve(&m, "GET", "/referral/info/%G0", NULL);
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 400, "undecodable param → 400");

	serve(&m, "GET", "/user/me", "http://localhost:3000");
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 200, "allowed origin served");
	tap_is_str(memio_header(&m, "Access-Control-Allow-Origin", h, sizeof(h)), "http://localhost:3000", "... ACAO echoes it");
	tap_is_str(memio_header(&m, "Access-Control-Allow-Credentials", h, sizeof(h)), "true", "... credentials");
	tap_is_str(memio_header(&m, "Vary", h, sizeof(h)), "Origin", "... Vary: Origin");

	serve(&m, "GET", "/user/me", "http://evil.example");
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 403, "disallowed origin → 403");
	tap_is_str(memio_resp_body(&m), "{\"error\":\"Origin not allowed\"}", "... with its error");
	tap_ok(called == NULL, "... handler not run");
	tap_ok(memio_header(&m, "Access-Control-Allow-Origin", h, sizeof(h)) == NULL, "... and no ACAO");

	serve(&m, "POST", "/payment/webhook", "http://evil.example");
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_ok(memio_status(&m) != 403, "the webhook ignores Origin");

	serve(&m, "OPTIONS", "/user/me", "https://napalmsky.example");
	memio_param(&m, "HTTP_ACCESS_CONTROL_REQUEST_HEADERS", "authorization,content-type");
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 204, "preflight → 204");
	tap_is_str(memio_header(&m, "Access-Control-Allow-Methods", h, sizeof(h)), "GET,HEAD,PUT,PATCH,POST,DELETE", "... methods");
	tap_is_str(memio_header(&m, "Access-Control-Allow-Headers", h, sizeof(h)), "authorization,content-type", "... echoes requested headers");
	tap_is_str(memio_header(&m, "Access-Control-Allow-Origin", h, sizeof(h)), "https://napalmsky.example", "... ACAO");
	b = memio_resp_body(&m);
	tap_ok(b && *b == '\0', "... empty body");
	tap_ok(called == NULL, "... no handler ran");

	serve(&m, "OPTIONS", "/user/me", "http://evil.example");
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 403, "preflight from a disallowed origin → 403");

	serve(&m, "HEAD", "/user/me", NULL);
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 200, "HEAD served by the GET route");
	b = memio_resp_body(&m);
	tap_ok(b && *b == '\0', "... without a body");
	tap_is_str(memio_header(&m, "Content-Length", h, sizeof(h)), "12", "... but with the GET length");

	serve(&m, "GET", "/down", NULL);
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 503, "handler error NS_E_DB → 503");
	tap_is_str(memio_header(&m, "Retry-After", h, sizeof(h)), "5", "... with Retry-After: 5");
	tap_is_str(memio_resp_body(&m), "{\"error\":\"Service unavailable\"}", "... and the contract's text");

	serve(&m, "GET", "/silent", NULL);
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 500, "handler that never answers → 500");

	serve(&m, "GET", "/guarded", NULL);
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_ok(memio_status(&m) >= 400 && called == NULL, "unimplemented guard fails closed");

	serve(&m, "PUT", "/user/me", NULL);
	memio_param(&m, "CONTENT_TYPE", "application/json");
	memio_param(&m, "CONTENT_LENGTH", "5");
	memio_body(&m, "{\"a\":", 5);
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 400, "JSON route with a malformed body → 400");
	tap_is_str(memio_resp_body(&m), "{\"error\":\"Invalid JSON\"}", "... Invalid JSON");

	serve(&m, "PUT", "/user/me", NULL);
	memio_param(&m, "CONTENT_TYPE", "application/json");
	memio_param(&m, "CONTENT_LENGTH", "200000");
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 413, "JSON route over json_body_max → 413");
	tap_is_str(memio_resp_body(&m), "{\"error\":\"Request body too large\"}", "... with the contract's text");

	serve(&m, "GET", "/user/me", NULL);
	memio_param(&m, "CONTENT_LENGTH", "12x");
	api_serve(&m.io, &cfg, NULL, table, NROUTES);
	tap_is_int(memio_status(&m), 400, "bad Content-Length → 400");

	return tap_done();
}
