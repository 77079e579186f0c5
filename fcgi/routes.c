/* routes: every REST route in one place, in contract order (§2). */
#include "config.h"

#include "routes.h"

const struct api_route api_routes[] = {
	/* method  pattern     guard           body           max  handler */
	/* §2.1 service */
	{ "GET",   "/",        API_GUARD_NONE, API_BODY_NONE, 0,   api_service_root },
	{ "GET",   "/health",  API_GUARD_NONE, API_BODY_NONE, 0,   api_service_health },
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
