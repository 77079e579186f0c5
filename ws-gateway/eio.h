/* eio: Engine.IO v4 packet framing over WebSocket text frames (one packet per frame).
 * Pure functions: no I/O, no lws, so they can be unit tested and fuzzed. */
#ifndef NS_EIO_H
#define NS_EIO_H
#include <stddef.h>

#define EIO_OPEN_MAX 256	/* ceiling for the encoded open packet */

enum eio_type {
	EIO_OPEN = 0,
	EIO_CLOSE,
	EIO_PING,
	EIO_PONG,
	EIO_MESSAGE,
	EIO_UPGRADE,
	EIO_NOOP,
	EIO__COUNT
};

struct eio_packet {
	enum eio_type type;
	const char *data;	/* points into the decoded buffer, after the type digit */
	size_t len;
};

/* Split one frame into type and data. Returns 0, or -1 for an empty frame or an unknown type. */
int eio_decode(const char *buf, size_t len, struct eio_packet *out);

/* Write `0{"sid":…,"upgrades":[],"pingInterval":…,"pingTimeout":…,"maxPayload":…}` into buf.
 * sid must be base64url text. Returns the length, or -1 if it does not fit or sid is unsafe. */
int eio_encode_open(char *buf, size_t cap, const char *sid, int ping_interval_ms,
    int ping_timeout_ms, int max_payload);

#endif
