/* guard: what runs between routing and the handler (contract §1.6–§1.8): the IP ban, the
 * rate limiter and the session/admin guards. Fills req->auth. */
#ifndef API_GUARD_H
#define API_GUARD_H
#include "err.h"
#include "request.h"
#include "router.h"

/* IP ban, then the route's limiter (unless it runs after the guard), then the guard. On
 * failure the response has been sent (with the contract's body) and the error is returned. */
enum ns_err api_guard_run(struct api_req *req, const struct api_route *r);
/* After the handler answered: limiters that count responses (auth: status >= 400). */
void api_guard_after(struct api_req *req, const struct api_route *r);

#endif
