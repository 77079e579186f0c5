/* sio: Socket.IO v5 packets carried in Engine.IO message packets. Pure parsing and
 * encoding over json-c: no I/O, no lws, so they can be unit tested and fuzzed. */
#ifndef NS_SIO_H
#define NS_SIO_H
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#define SIO_NS_MAX 128		/* ceiling for a namespace name ("/x") */
#define SIO_ACK_DIGITS_MAX 15	/* ack ids longer than this are malformed */
#define SIO_SMALL_MAX 512	/* ceiling for the fixed-size encoders' output */
#define SIO_EMIT_SID_MAX 32	/* socket id in a bus emit (ours are 20 characters) */
#define SIO_EMIT_EVENT_MAX 32	/* event name in a bus emit */
#define SIO_EMIT_TIME_MAX 18	/* digits of a relay's µs time stamp */

enum sio_type {
	SIO_CONNECT = 0,
	SIO_DISCONNECT,
	SIO_EVENT,
	SIO_ACK,
	SIO_CONNECT_ERROR,
	SIO_BINARY_EVENT,
	SIO_BINARY_ACK,
	SIO__COUNT
};

enum sio_result {
	SIO_OK = 0,
	SIO_MALFORMED,		/* not a Socket.IO packet, or a payload of the wrong shape */
	SIO_UNSUPPORTED		/* binary packets: valid, but never accepted here */
};

struct sio_packet {
	enum sio_type type;
	char ns[SIO_NS_MAX + 1];	/* "/" when the packet names none */
	int64_t ack_id;			/* -1 when absent */
	json_object *data;		/* owned: the JSON payload, or NULL when absent */
	const char *event;		/* SIO_EVENT: the name (inside data) */
	json_object *arg;		/* SIO_EVENT: the first argument (inside data), or NULL */
};

/* Decode one packet (the data of an Engine.IO message). On SIO_OK the caller owns
 * out->data and releases it with sio_packet_free(); on failure nothing is held. */
enum sio_result sio_decode(const char *buf, size_t len, struct sio_packet *out);
void sio_packet_free(struct sio_packet *p);

/* `40{"sid":"…"}`; sid must be base64url. Returns the length or -1. */
int sio_encode_connect(char *buf, size_t cap, const char *sid);
/* `44{"message":"…"}`, or `44/ns,{"message":"…"}` when ns is given and not "/". */
int sio_encode_connect_error(char *buf, size_t cap, const char *ns, const char *message);
/* `42["name",payload]` (payload NULL: `42["name"]`), malloc'd and NUL-terminated;
 * *len gets the length. NULL on allocation failure. The caller frees it. */
char *sio_encode_event(const char *name, json_object *payload, size_t *len);
/* The same with the payload given as JSON text (raw, rawlen; rawlen 0: no payload), copied
 * as it is: for payloads another gateway's script already encoded. name must need no JSON
 * escaping (NULL if it does). */
char *sio_encode_event_raw(const char *name, const char *raw, size_t rawlen, size_t *len);

/* An event for one socket as the gateways pass it over Redis (gwlua.h send_raw):
 * "e <sid> <event>[ <data JSON>]", or for a relay "r <µs> <sid> <event>[ <data JSON>]" with
 * the sending gateway's wall clock when the event arrived there (room.c). The data is not
 * parsed here: it goes to the client as it came (sio_encode_event_raw). */
struct sio_emit {
	char sid[SIO_EMIT_SID_MAX + 1];
	char event[SIO_EMIT_EVENT_MAX + 1];
	const char *data;		/* into the message; data_len 0: no payload */
	size_t data_len;
	int64_t sent_us;		/* a relay's arrival time, else 0 */
};
/* 0 and *out filled, or -1 when msg is not of that form (or a part is over its ceiling). */
int sio_emit_split(const char *msg, size_t len, struct sio_emit *out);

#endif
