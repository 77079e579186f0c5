/* guard: what runs between routing and the handler (contract §1.6–§1.8): the IP ban, the
 * rate limiters and the session/admin guards. Fills req->auth.
 *
 * Order per request: api_guard_pre (every request, matched or not: IP ban, then the route's
 * limiter unless it is keyed by user), the body for guard-B routes, api_guard_run (the guard,
 * then a limiter keyed by user), the handler, api_guard_after. On failure the response has
 * been sent with the contract's body and the error is returned; an error with nothing sent
 * (PostgreSQL down: NS_E_DB) is for the caller to answer. */
#ifndef API_GUARD_H
#define API_GUARD_H
#include "err.h"
#include "ratelimit.h"
#include "request.h"
#include "router.h"

/* r is NULL when no route matched (the IP ban still applies). */
enum ns_err api_guard_pre(struct api_req *req, const struct api_route *r);
/* The IP ban alone, for the answers given before api_guard_pre (CORS preflights and refused
 * origins): NS_E_FORBIDDEN with the ban's 403 sent, else NS_OK. */
enum ns_err api_guard_ip_ban(struct api_req *req);
/* The route's guard; sets req->auth. */
enum ns_err api_guard_run(struct api_req *req, const struct api_route *r);
/* After the handler answered: limiters that count responses (auth: status >= 400). */
void api_guard_after(struct api_req *req, const struct api_route *r);

/* RateLimit-Limit/-Remaining/-Reset (and Retry-After when limited), for handlers that count
 * their own limiter (validate-code). */
void api_guard_rl_headers(struct api_req *req, const struct ns_rl_verdict *v);

#endif
