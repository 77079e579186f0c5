/* conn: one Engine.IO/Socket.IO WebSocket: its handshake, heartbeat, message reassembly and
 * bounded send queue. The struct is lws' per-session data, so it stays small and every
 * buffer is allocated only while it is in use. */
#ifndef NS_CONN_H
#define NS_CONN_H
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>
#include <libwebsockets.h>

#define CONN_SID_LEN 20		/* base64url characters in a sid */
#define CONN_TOKEN_MAX 512	/* longer auth tokens are not kept */
#define CONN_IP_MAX 46		/* INET6_ADDRSTRLEN */
#define CONN_USER_MAX 37	/* a canonical UUID and its NUL */
#define CONN_DIRECT_MAX 16384	/* larger frames always wait for a writeable callback */

struct gw;
struct conn_msg;		/* one queued outgoing frame */
struct pg_req;

struct conn {
	lws_dll2_t list;		/* in gw->conns */
	struct lws *wsi;
	struct conn_msg *head, *tail;	/* send queue, oldest first */
	struct conn_msg *sent;		/* last frame written: lws' deflate may still read it */
	char *rx;			/* reassembly of a fragmented message, lazily allocated */
	char *token;			/* the session the socket is bound to (authed), else NULL */
	struct pg_req *auth_req;	/* session lookup in flight (auth.c) */
	char *auth_token;		/* the token that lookup is for, or NULL */
	char *auth_next;		/* an auth event's token waiting for that lookup */
	int64_t authenticated_at;	/* wall-clock ms */
	const char *close_reason;	/* static text sent with close_code */
	int64_t next_ping_at;		/* monotonic ms; when the next ping is due */
	int64_t pong_due_at;		/* monotonic ms; 0 unless a ping awaits its pong */
	int64_t connect_due_at;		/* monotonic ms; 0 once Socket.IO CONNECT arrived */
	uint32_t rx_len, rx_cap;
	uint32_t queued;		/* bytes in the send queue */
	uint32_t rl_at;			/* event limit: monotonic ms (low 32 bits) of the last refill */
	uint32_t rl_tokens;		/* event limit: thousandths of a message still allowed */
	uint16_t close_code;		/* nonzero: close on the next writeable callback */
	uint8_t connected;		/* Socket.IO CONNECT accepted */
	uint8_t connecting;		/* CONNECT received, its session lookup in flight */
	uint8_t auth_kind;		/* what auth_req answers (auth.c) */
	uint8_t authed;			/* bound to user_id and token */
	uint8_t explicit_close;		/* DISCONNECT (either side), not a transport loss */
	uint8_t flush_close;		/* disconnecting: close once the queue is sent */
	uint8_t drop_when_sent;		/* shutting down: drop the TCP connection once the queue is sent */
	uint8_t has_ext;		/* the client offered an extension (permessage-deflate) */
	char user_id[CONN_USER_MAX];
	char ip[CONN_IP_MAX];		/* client address ("" if unknown) */
	char sid[CONN_SID_LEN + 1];	/* Engine.IO session id */
	char sio_sid[CONN_SID_LEN + 1];	/* Socket.IO id on namespace "/" */
	struct conn *sid_next;		/* next socket in the same sid-index bucket */
	/* qfeed */
	struct conn *qf_next;		/* next local socket of the same user */
	struct qfeed_user *qf_user;	/* the local user it is indexed under, or NULL */
	uint8_t qf_active;		/* presence:join or queue:join since presence:leave */
};

/* lws callbacks, each returning what the callback should return (-1 closes). */
int conn_established(struct gw *g, struct conn *c, struct lws *wsi);
int conn_receive(struct gw *g, struct conn *c, const void *in, size_t len);
int conn_writeable(struct gw *g, struct conn *c);
void conn_closed(struct gw *g, struct conn *c);

/* Queue one text frame (copied). Over the send-queue ceiling the socket is dropped as a
 * slow consumer and -1 is returned. */
int conn_send(struct gw *g, struct conn *c, const char *data, size_t len);
/* Queue `42["event",payload]`. */
int conn_emit(struct gw *g, struct conn *c, const char *event, json_object *payload);
/* Send a close frame with code and reason at the next chance, then drop the socket. */
void conn_close(struct conn *c, int code, const char *reason);
/* Answer the pending Socket.IO CONNECT: refusal NULL accepts (`40{"sid"}`), else `44{message}`. */
int conn_connect_reply(struct gw *g, struct conn *c, const char *refusal);
/* Shutting down: Engine.IO close (`1`) after what is queued, then drop the connection
 * without a WebSocket close handshake: a transport loss, so the client reconnects (through
 * the proxy, to another gateway). lws' close handshake arms a timeout per socket in a sorted
 * list, O(n) each: for every socket at once it took longer than the drain may (perf, 17,000
 * sockets: over 7 s in lws_dll2_add_sorted). */
void conn_goodbye(struct gw *g, struct conn *c);
/* Server-side disconnect: DISCONNECT (`41`) after what is queued, then close. Explicit. */
void conn_disconnect(struct gw *g, struct conn *c);
/* The live socket with Socket.IO id sid, or NULL. A hash lookup: every relayed event and
 * cross-gateway delivery names its socket by sid, so a walk of every socket would make each
 * message O(sockets) (perf, 2,000 sockets: 7 % of the gateway in that walk). */
struct conn *conn_find(struct gw *g, const char *sid);
/* Free the sid index (shutdown, after the last socket closed). */
void conn_index_free(struct gw *g);
/* Ping due sockets and drop those past their pong or CONNECT deadline. */
void conn_sweep(struct gw *g, int64_t now_ms);

#endif
