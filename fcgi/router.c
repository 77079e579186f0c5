/* router: path matching over a static table, CORS, and the order every request goes through. */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "router.h"
#include "nsconfig.h"
#include "clock.h"
#include "log.h"
#include "respond.h"
#include "cache.h"
#include "guard.h"
#include "metrics.h"

#define CORS_METHODS "GET,HEAD,PUT,PATCH,POST,DELETE"

/* The limiters keyed by IP apply to whole prefixes (§1.8), so a request no route matches
 * (404, 405, a bad parameter) under one of them is limited and, for auth, counted like
 * any other: probing /auth/ with unknown paths or wrong methods uses up the same budget
 * as failed logins. These entries have no handler; they stand for their prefix only. */
static const struct api_route prefix_routes[] = {
	{ "*", "/auth/", API_GUARD_NONE, API_RL_AUTH, API_BODY_NONE, 0, NULL, NULL },
	{ "*", "/admin/", API_GUARD_NONE, API_RL_AUTH, API_BODY_NONE, 0, NULL, NULL },
	{ "*", "/media/", API_GUARD_NONE, API_RL_API, API_BODY_NONE, 0, NULL, NULL },
	{ "*", "/room/", API_GUARD_NONE, API_RL_API, API_BODY_NONE, 0, NULL, NULL },
	{ "*", "/user/", API_GUARD_NONE, API_RL_API, API_BODY_NONE, 0, NULL, NULL },
	{ "*", "/referral/", API_GUARD_NONE, API_RL_API, API_BODY_NONE, 0, NULL, NULL },
	{ "*", "/report/", API_GUARD_NONE, API_RL_REPORT, API_BODY_NONE, 0, NULL, NULL },
};

static const struct api_route *
prefix_route(const char *path)
{
	size_t i;

	for (i = 0; i < sizeof(prefix_routes) / sizeof(prefix_routes[0]); i++)
		if (strncmp(path, prefix_routes[i].pattern, strlen(prefix_routes[i].pattern)) == 0)
			return &prefix_routes[i];
	return NULL;
}

/* Segment-wise match of path (one trailing '/' already removed) against pattern. Returns 1 on
 * a match, filling params when given (-1 when a parameter cannot be decoded). */
static int
match_pattern(const char *pattern, const char *path, size_t plen, struct api_param *params,
    int *nparams)
{
	const char *p = pattern, *s = path, *end = path + plen;
	int np = 0, bad = 0;

	while (*p && s < end) {
		const char *pe, *se;

		if (*p != '/' || *s != '/')
			return 0;
		p++, s++;
		pe = strchr(p, '/');
		if (!pe)
			pe = p + strlen(p);
		se = memchr(s, '/', (size_t)(end - s));
		if (!se)
			se = end;
		if (*p == ':') {
			size_t nl = (size_t)(pe - p - 1);

			if (se == s)
				return 0;	/* a parameter is never empty */
			if (np >= API_PARAMS_MAX || nl >= API_PARAM_NAME_MAX)
				return 0;	/* table error; the unit test keeps patterns within bounds */
			if (params) {
				memcpy(params[np].name, p + 1, nl);
				params[np].name[nl] = '\0';
				if (api_req_pct_decode(params[np].value, API_PARAM_MAX, s,
				    (size_t)(se - s), 0) < 0)
					bad = 1;
			}
			np++;
		} else if ((size_t)(pe - p) != (size_t)(se - s) ||
		    strncasecmp(p, s, (size_t)(pe - p)) != 0) {
			/* literal segments ignore case, as the original's router did */
			return 0;
		}
		p = pe;
		s = se;
	}
	if (*p || s != end)
		return 0;
	if (nparams)
		*nparams = np;
	return bad ? -1 : 1;
}

static void
allow_add(char *allow, size_t len, const char *m)
{
	const char *p = allow;
	size_t ml = strlen(m), al = strlen(allow);

	while (*p) {	/* already listed? the list is "A, B, C" */
		size_t tl = strcspn(p, ",");

		if (tl == ml && memcmp(p, m, ml) == 0)
			return;
		p += tl;
		while (*p == ',' || *p == ' ')
			p++;
	}
	if (al + ml + 3 > len)
		return;
	if (al)
		memcpy(allow + al, ", ", 2), al += 2;
	memcpy(allow + al, m, ml + 1);
}

enum api_match
api_router_match(const struct api_route *routes, size_t n, const char *method,
    const char *path, const struct api_route **route, struct api_param *params, int *nparams,
    char *allow, size_t allowlen)
{
	size_t plen = strlen(path), i;
	const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
	enum api_match res = API_MATCH_NO_PATH;
	char dummy[API_ALLOW_MAX];

	if (!allow) {
		allow = dummy;
		allowlen = sizeof(dummy);
	}
	allow[0] = '\0';
	*route = NULL;
	*nparams = 0;
	if (plen > 1 && path[plen - 1] == '/')
		plen--;		/* one trailing slash tolerated */
	for (i = 0; i < n; i++) {
		int np = 0, m = match_pattern(routes[i].pattern, path, plen, NULL, NULL);

		if (m == 0)
			continue;
		allow_add(allow, allowlen, routes[i].method);
		if (strcmp(routes[i].method, "GET") == 0)
			allow_add(allow, allowlen, "HEAD");
		if (res == API_MATCH_OK || res == API_MATCH_BAD_PARAM)
			continue;
		res = API_MATCH_NO_METHOD;
		if (strcmp(routes[i].method, want) != 0)
			continue;
		*route = &routes[i];
		m = match_pattern(routes[i].pattern, path, plen, params, &np);
		*nparams = np;
		res = m < 0 ? API_MATCH_BAD_PARAM : API_MATCH_OK;
	}
	if (res != API_MATCH_NO_PATH)
		allow_add(allow, allowlen, "OPTIONS");
	return res;
}

int
api_router_origin_allowed(const char *list, const char *origin)
{
	const char *p = list;
	size_t ol = strlen(origin);

	while (*p) {
		const char *e = strchr(p, ',');
		size_t n;

		if (!e)
			e = p + strlen(p);
		while (p < e && (*p == ' ' || *p == '\t'))
			p++;
		n = (size_t)(e - p);
		while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == ol && n && memcmp(p, origin, n) == 0)
			return 1;
		p = *e ? e + 1 : e;
	}
	return 0;
}

/* The configured default ceiling for a body kind when the route gives none. */
static size_t
body_ceiling(const struct api_req *req, const struct api_route *r)
{
	if (r->body_max)
		return r->body_max;
	switch (r->body) {
	case API_BODY_JSON:	 return (size_t)req->cfg->json_body_max;
	case API_BODY_RAW:	 return (size_t)req->cfg->webhook_body_max;
	case API_BODY_MULTIPART: return (size_t)req->cfg->video_max;
	case API_BODY_NONE:	 break;
	}
	return 0;
}

static enum ns_err
read_body(struct api_req *req, const struct api_route *r)
{
	size_t max = body_ceiling(req, r);

	switch (r->body) {
	case API_BODY_NONE:
		return NS_OK;
	case API_BODY_JSON:
		return api_req_read_json(req, max);
	case API_BODY_RAW:
		return api_req_read_body(req, max);
	case API_BODY_MULTIPART:
		/* the handler streams it; refuse early what cannot fit */
		return req->content_length > 0 && (unsigned long long)req->content_length > max ?
		    NS_E_TOO_LARGE : NS_OK;
	}
	return NS_E_INTERNAL;
}

/* Answer an error the guard or the body reader returned without answering. */
static void
fail(struct api_req *req, enum ns_err e)
{
	if (!req->responded)
		api_respond_error(req, e, NULL);
}

static const struct api_route *
route(struct api_req *req, const struct api_route *routes, size_t n)
{
	char allow[API_ALLOW_MAX];
	const struct api_route *r = NULL;
	enum api_match m;
	enum ns_err e;

	m = api_router_match(routes, n, req->method, req->path, &r, req->params, &req->nparams,
	    allow, sizeof(allow));

	/* CORS (§1.9): the webhook ignores Origin; everything else refuses unknown origins. The
	 * answers given here still come after the IP ban (§1.7: checked first, every request),
	 * which is then asked on its own: api_guard_pre would also count the limiter. */
	if (req->has_origin && !(r && r->guard == API_GUARD_STRIPE)) {
		if (!api_router_origin_allowed(req->cfg->allowed_origins, req->origin)) {
			if (api_guard_ip_ban(req) == NS_OK)
				api_respond_error(req, NS_E_FORBIDDEN, "Origin not allowed");
			return NULL;
		}
		api_resp_header(req, "Access-Control-Allow-Origin", req->origin);
		api_resp_header(req, "Access-Control-Allow-Credentials", "true");
		api_resp_header(req, "Vary", "Origin");
	}
	if (strcmp(req->method, "OPTIONS") == 0) {
		if (api_guard_ip_ban(req) != NS_OK)
			return NULL;
		api_resp_header(req, "Access-Control-Allow-Methods", CORS_METHODS);
		if (req->acr_headers[0]) {
			api_resp_header(req, "Access-Control-Allow-Headers", req->acr_headers);
			api_resp_header(req, "Vary", "Access-Control-Request-Headers");
		}
		api_respond_empty(req, 204);
		return NULL;
	}
	/* IP ban for every request, then the limiter of the route or of its prefix (contract
	 * §1.7–§1.8); a refused or unmatched request counts for the one it got */
	if (m != API_MATCH_OK)
		r = prefix_route(req->path);
	if ((e = api_guard_pre(req, r)) != NS_OK) {
		fail(req, e);
		return r;
	}
	switch (m) {
	case API_MATCH_NO_PATH:
		api_respond_error(req, NS_E_NOT_FOUND, NULL);
		return r;
	case API_MATCH_NO_METHOD:
		api_resp_header(req, "Allow", allow);
		api_respond_error(req, NS_E_METHOD, NULL);
		return r;
	case API_MATCH_BAD_PARAM:
		api_respond_error(req, NS_E_BAD_REQUEST, "Invalid path parameter");
		return r;
	case API_MATCH_OK:
		break;
	}
	req->route = r->pattern;
	/* guard B reads its token from the body, so the body comes first there */
	if (r->guard == API_GUARD_BODY && (e = read_body(req, r)) != NS_OK) {
		fail(req, e);
		return r;
	}
	if ((e = api_guard_run(req, r)) != NS_OK ||
	    (r->guard != API_GUARD_BODY && (e = read_body(req, r)) != NS_OK)) {
		fail(req, e);
		return r;
	}
	e = r->handler(req);
	if (!req->responded) {
		if (e == NS_OK)
			ns_log_err("%s %s: handler returned without a response", r->method,
			    r->pattern);
		api_respond_error(req, e, NULL);
	}
	return r;
}

void
api_serve(const struct api_io *io, const struct ns_config *cfg, struct app *app,
    const struct api_route *routes, size_t n)
{
	struct api_req *req;
	static struct api_req one;	/* one request per process at a time: no stack for 20 KB */
	const struct api_route *r = NULL;
	const char *msg = NULL;
	int64_t t0 = ns_clock_mono_us(), dt;
	enum ns_err e;

	if (app)	/* unit tests (no storage) leave no metrics files behind */
		api_metrics_init(cfg, routes, n);
	api_cache_begin();
	req = &one;
	e = api_req_init(req, io, cfg, app, &msg);
	req->route = "-";
	if (e != NS_OK)
		api_respond_error(req, e, msg);
	else
		r = route(req, routes, n);
	if (r && req->app)
		api_guard_after(req, r);
	dt = ns_clock_mono_us() - t0;
	/* a prefix entry (no handler) is no route of the table: metrics count it unmatched */
	api_metrics_request(r && r->handler ? (int)(r - routes) : -1, req->status, dt);
	ns_log_debug("%s %s %d %.2fms", req->method, req->path, req->status, (double)dt / 1000.0);
	api_req_free(req);
}
