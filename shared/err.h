/* err: the one error enum of napalmsky, its text, and its HTTP status. */
#ifndef NS_ERR_H
#define NS_ERR_H

enum ns_err {
	NS_OK = 0,
	NS_E_BAD_REQUEST,	/* 400, message given by the caller */
	NS_E_INVALID_JSON,	/* 400 'Invalid JSON' */
	NS_E_UNAUTHORIZED,	/* 401 */
	NS_E_PAYMENT,		/* 402 */
	NS_E_FORBIDDEN,		/* 403 */
	NS_E_NOT_FOUND,		/* 404 'Not found' */
	NS_E_METHOD,		/* 405 'Method not allowed' */
	NS_E_CONFLICT,		/* 409 */
	NS_E_TOO_LARGE,		/* 413 'Request body too large' */
	NS_E_MEDIA_TYPE,	/* 415 'Unsupported media type' */
	NS_E_RATE_LIMITED,	/* 429 */
	NS_E_INTERNAL,		/* 500 'Internal server error' */
	NS_E_NOMEM,		/* 500 */
	NS_E_CONFIG,		/* 500: invalid configuration */
	NS_E_DB,		/* 503: PostgreSQL unreachable or failing */
	NS_E_REDIS,		/* 503: Redis unreachable or failing */
	NS_E_TIMEOUT,		/* 503: a dependency timed out */
	NS_E_UNAVAILABLE,	/* 503 'Service unavailable' */
	NS_E__COUNT
};

/* Default client-facing text for an error (the contract's strings). */
const char *ns_err_str(enum ns_err e);
/* The HTTP status for an error: the only place this mapping exists. */
int ns_err_http_status(enum ns_err e);
/* Reason phrase for an HTTP status ("Not Found"), for the Status header. */
const char *ns_err_http_reason(int status);

#endif
