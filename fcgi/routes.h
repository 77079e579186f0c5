/* routes: THE route table of the REST API, and the handlers it names (one banner per file). */
#ifndef API_ROUTES_H
#define API_ROUTES_H
#include <stddef.h>
#include "err.h"
#include "request.h"
#include "router.h"

extern const struct api_route api_routes[];
extern const size_t api_routes_count;

/* api_service.c */
enum ns_err api_service_root(struct api_req *req);
enum ns_err api_service_health(struct api_req *req);

#endif
