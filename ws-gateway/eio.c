/* eio: Engine.IO v4 packet framing. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "eio.h"

int
eio_decode(const char *buf, size_t len, struct eio_packet *out)
{
	if (len == 0 || buf[0] < '0' || buf[0] >= '0' + EIO__COUNT)
		return -1;
	out->type = (enum eio_type)(buf[0] - '0');
	out->data = buf + 1;
	out->len = len - 1;
	return 0;
}

/* Only base64url characters may go into the hand-built JSON: nothing to escape. */
static int
safe_sid(const char *sid)
{
	size_t n = strspn(sid, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

	return n > 0 && sid[n] == '\0';
}

int
eio_encode_open(char *buf, size_t cap, const char *sid, int ping_interval_ms,
    int ping_timeout_ms, int max_payload)
{
	int n;

	if (!safe_sid(sid))
		return -1;
	n = snprintf(buf, cap, "0{\"sid\":\"%s\",\"upgrades\":[],\"pingInterval\":%d,"
	    "\"pingTimeout\":%d,\"maxPayload\":%d}", sid, ping_interval_ms, ping_timeout_ms,
	    max_payload);
	if (n < 0 || (size_t)n >= cap)
		return -1;
	return n;
}
