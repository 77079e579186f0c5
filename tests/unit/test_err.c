/* test_err: every error has a status, the contract's text and a reason phrase. */
#include "config.h"
#include "err.h"
#include "tap.h"

int
main(void)
{
	static const struct { enum ns_err e; int status; const char *text; } want[] = {
		{ NS_E_BAD_REQUEST, 400, "Bad request" },
		{ NS_E_INVALID_JSON, 400, "Invalid JSON" },
		{ NS_E_UNAUTHORIZED, 401, "Authorization required" },
		{ NS_E_PAYMENT, 402, "Payment required" },
		{ NS_E_FORBIDDEN, 403, "Forbidden" },
		{ NS_E_NOT_FOUND, 404, "Not found" },
		{ NS_E_METHOD, 405, "Method not allowed" },
		{ NS_E_CONFLICT, 409, "Conflict" },
		{ NS_E_TOO_LARGE, 413, "Request body too large" },
		{ NS_E_MEDIA_TYPE, 415, "Unsupported media type" },
		{ NS_E_RATE_LIMITED, 429, "Too many requests" },
		{ NS_E_INTERNAL, 500, "Internal server error" },
		{ NS_E_NOMEM, 500, "Internal server error" },
		{ NS_E_CONFIG, 500, "Internal server error" },
		{ NS_E_DB, 503, "Service unavailable" },
		{ NS_E_REDIS, 503, "Service unavailable" },
		{ NS_E_TIMEOUT, 503, "Service unavailable" },
		{ NS_E_UNAVAILABLE, 503, "Service unavailable" },
	};
	size_t i;
	int e;

	tap_is_int(sizeof want / sizeof want[0], NS_E__COUNT - 1, "the table covers every error");
	for (i = 0; i < sizeof want / sizeof want[0]; i++) {
		tap_is_int(ns_err_http_status(want[i].e), want[i].status, "status of error %d", want[i].e);
		tap_is_str(ns_err_str(want[i].e), want[i].text, "text of error %d", want[i].e);
	}
	tap_is_int(ns_err_http_status(NS_OK), 200, "NS_OK is 200");
	for (e = NS_OK; e < NS_E__COUNT; e++)
		tap_ok(strcmp(ns_err_http_reason(ns_err_http_status((enum ns_err)e)), "Unknown") != 0,
		    "reason phrase for the status of error %d", e);
	tap_is_str(ns_err_http_reason(404), "Not Found", "reason 404");
	tap_is_str(ns_err_http_reason(503), "Service Unavailable", "reason 503");
	tap_is_str(ns_err_http_reason(799), "Unknown", "unknown status");
	tap_is_int(ns_err_http_status((enum ns_err)999), 500, "out-of-range error is a 500");
	return tap_done();
}
