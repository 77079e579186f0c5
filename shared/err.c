/* err: one switch per mapping, without a default, so -Wswitch flags a new enum value. */
#include <config.h>
#include "err.h"

const char *
ns_err_str(enum ns_err e)
{
	switch (e) {
	case NS_OK:		return "OK";
	case NS_E_BAD_REQUEST:	return "Bad request";
	case NS_E_INVALID_JSON:	return "Invalid JSON";
	case NS_E_UNAUTHORIZED:	return "Authorization required";
	case NS_E_PAYMENT:	return "Payment required";
	case NS_E_FORBIDDEN:	return "Forbidden";
	case NS_E_NOT_FOUND:	return "Not found";
	case NS_E_METHOD:	return "Method not allowed";
	case NS_E_CONFLICT:	return "Conflict";
	case NS_E_TOO_LARGE:	return "Request body too large";
	case NS_E_MEDIA_TYPE:	return "Unsupported media type";
	case NS_E_RATE_LIMITED:	return "Too many requests";
	case NS_E_INTERNAL:
	case NS_E_NOMEM:
	case NS_E_CONFIG:	return "Internal server error";
	case NS_E_DB:
	case NS_E_REDIS:
	case NS_E_TIMEOUT:
	case NS_E_UNAVAILABLE:	return "Service unavailable";
	case NS_E__COUNT:	break;
	}
	return "Internal server error";
}

int
ns_err_http_status(enum ns_err e)
{
	switch (e) {
	case NS_OK:		return 200;
	case NS_E_BAD_REQUEST:
	case NS_E_INVALID_JSON:	return 400;
	case NS_E_UNAUTHORIZED:	return 401;
	case NS_E_PAYMENT:	return 402;
	case NS_E_FORBIDDEN:	return 403;
	case NS_E_NOT_FOUND:	return 404;
	case NS_E_METHOD:	return 405;
	case NS_E_CONFLICT:	return 409;
	case NS_E_TOO_LARGE:	return 413;
	case NS_E_MEDIA_TYPE:	return 415;
	case NS_E_RATE_LIMITED:	return 429;
	case NS_E_INTERNAL:
	case NS_E_NOMEM:
	case NS_E_CONFIG:	return 500;
	case NS_E_DB:
	case NS_E_REDIS:
	case NS_E_TIMEOUT:
	case NS_E_UNAVAILABLE:	return 503;
	case NS_E__COUNT:	break;
	}
	return 500;
}

const char *
ns_err_http_reason(int status)
{
	switch (status) {
	case 101: return "Switching Protocols";
	case 200: return "OK";
	case 201: return "Created";
	case 204: return "No Content";
	case 206: return "Partial Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 402: return "Payment Required";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 416: return "Range Not Satisfiable";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default:  return "Unknown";
	}
}
