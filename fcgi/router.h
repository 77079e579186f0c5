/* router: the route table's shape, path matching, and the per-request pipeline
 * (CORS → preflight → match → guard → body → handler). */
#ifndef API_ROUTER_H
#define API_ROUTER_H
#include <stddef.h>
#include "err.h"
#include "request.h"

#define API_ALLOW_MAX 96	/* the Allow header value for one path */

enum api_guard {
	API_GUARD_NONE = 0,	/* public */
	API_GUARD_USER,		/* U: bearer session */
	API_GUARD_SESSION,	/* U steps 1–2 only (POST /auth/logout) */
	API_GUARD_USER_NOBAN,	/* U without step 4 (GET /report/check-ban) */
	API_GUARD_PAYWALL,	/* P: U plus paid status */
	API_GUARD_BODY,		/* B: session token in the JSON body */
	API_GUARD_ADMIN,	/* A: admin token or admin user */
	API_GUARD_STRIPE	/* S: webhook signature; Origin is ignored */
};

enum api_body {
	API_BODY_NONE = 0,	/* the body is not read */
	API_BODY_JSON,		/* contract §1.3; ceiling default cfg json_body_max */
	API_BODY_RAW,		/* bytes as sent; ceiling default cfg webhook_body_max */
	API_BODY_MULTIPART	/* streamed by the handler; the route must give its ceiling */
};

/* A handler answers through respond.h; returning an error without having answered makes the
 * router answer api_respond_error(req, err, NULL). */
typedef enum ns_err (*api_handler)(struct api_req *req);

/* What a route reads in the guard's own Redis round trip (cache.h, struct api_cache_ask),
 * before its handler runs; 0 when it asks nothing for this request. */
struct api_cache_ask;
typedef int (*api_prefetch)(const struct api_req *req, struct api_cache_ask *ask);

/* Rate limiters of contract §1.8 (windows and maxima from the configuration). */
enum api_limiter {
	API_RL_NONE = 0,
	API_RL_AUTH,		/* by IP, counts responses with status >= 400 */
	API_RL_API,		/* by IP, every request */
	API_RL_TURN,		/* by user, after the guard */
	API_RL_REPORT,		/* by IP */
	API_RL_VALIDATE		/* by IP, the handler counts attempts itself */
};

struct api_route {
	const char *method;	/* "GET" also serves HEAD */
	const char *pattern;	/* "/user/me", "/referral/info/:code" */
	enum api_guard guard;
	enum api_limiter limiter;
	enum api_body body;
	size_t body_max;	/* 0: the configured default for the body kind */
	api_handler handler;
	api_prefetch prefetch;	/* NULL for most routes */
};

enum api_match {
	API_MATCH_OK = 0,
	API_MATCH_NO_PATH,	/* 404 */
	API_MATCH_NO_METHOD,	/* 405; allow is filled */
	API_MATCH_BAD_PARAM	/* a parameter over its ceiling or badly percent-encoded: 400 */
};

/* Match method + path (no query) against routes[0..n). On API_MATCH_OK *route and the
 * req->params are set; allow (may be NULL) always gets the methods the path accepts. */
enum api_match api_router_match(const struct api_route *routes, size_t n, const char *method,
    const char *path, const struct api_route **route, struct api_param *params, int *nparams,
    char *allow, size_t allowlen);

/* 1 when origin is in the comma-separated list (exact match after trimming). */
int api_router_origin_allowed(const char *list, const char *origin);

/* Serve one request from io: parse, route, answer, log. */
void api_serve(const struct api_io *io, const struct ns_config *cfg, struct app *app,
    const struct api_route *routes, size_t n);

#endif
