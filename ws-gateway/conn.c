/* conn: per-socket Engine.IO/Socket.IO state on the lws loop. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "nsconfig.h"
#include "clock.h"
#include "json.h"
#include "log.h"
#include "rand.h"
#include "auth.h"
#include "conn.h"
#include "eio.h"
#include "events.h"
#include "gw.h"
#include "http.h"
#include "live.h"
#include "metrics.h"
#include "sio.h"

#define CONN_RX_INITIAL 1024	/* first reassembly allocation; it doubles up to max_payload */
#define CONN_KILL_GRACE_S 5	/* a close frame not sent by then: drop the socket */
#define CONN_RL_UNIT 1000	/* rl_tokens per message */
#define CONN_RATE_LIMITED 4000	/* private close reason, sent as 1008 (policy violation) */
#define CONN_INDEX_BUCKETS 32768	/* sid index buckets (a power of 2, above the 20,000 open-file
				 * ceiling per process): 256 KB, chains of about one */

struct conn_msg {
	struct conn_msg *next;
	size_t len;
	unsigned char buf[];	/* LWS_PRE headroom, then the frame */
};

static void
queue_free(struct conn *c)
{
	struct conn_msg *m, *next;

	for (m = c->head; m; m = next) {
		next = m->next;
		free(m);
	}
	free(c->sent);
	c->sent = NULL;
	c->head = c->tail = NULL;
	c->queued = 0;
}

/* Drop the socket at once, without a close handshake (dead or stalled peer). */
static void
conn_kill(struct conn *c, const char *why)
{
	ns_log_debug("gateway: %s: dropped: %s", c->sid, why);
	c->close_code = LWS_CLOSE_STATUS_GOINGAWAY;
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
}

void
conn_close(struct conn *c, int code, const char *reason)
{
	if (c->close_code)
		return;
	c->close_code = (uint16_t)code;
	c->close_reason = reason;
	lws_callback_on_writable(c->wsi);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CONN_KILL_GRACE_S);
}

/* A frame with nothing ahead of it goes to the socket at once, without waiting for the next
 * writeable callback: that wait cost two epoll_ctl calls (write interest on, then off) and a
 * loop turn per frame, most of a frame's cost on a VM where system calls are dear. Only
 * without an extension: deflate may keep reading a frame after lws_write returns, which the
 * queue allows for (conn_writeable). lws_partial_buffered is true while lws holds an unsent
 * remainder of an earlier write (it keeps what the kernel does not take, all of it when the
 * socket is full), so at most one frame waits inside lws and the send queue and its ceiling
 * stay in front of a slow reader. (lws_send_pipe_choked would add a poll() per frame.)
 * 1 sent, 0 not attempted, -1 failed. */
static int
send_now(struct conn *c, const char *data, size_t len)
{
	static unsigned char buf[LWS_PRE + CONN_DIRECT_MAX];

	if (c->has_ext || c->head || len > CONN_DIRECT_MAX ||
	    lws_partial_buffered(c->wsi))
		return 0;
	memcpy(buf + LWS_PRE, data, len);
	return lws_write(c->wsi, buf + LWS_PRE, len, LWS_WRITE_TEXT) < (int)len ? -1 : 1;
}

/* Append a frame to the send queue and ask lws for a writeable callback. */
static int
enqueue(struct gw *g, struct conn *c, const char *data, size_t len)
{
	struct conn_msg *m;

	if (len > (size_t)g->cfg->send_queue_max - c->queued) {
		metrics_inc(METRICS_CLOSE_SLOW_CONSUMER);
		conn_kill(c, "slow consumer: send queue full");
		return -1;
	}
	m = malloc(sizeof(*m) + LWS_PRE + len);
	if (!m) {
		conn_kill(c, "out of memory");
		return -1;
	}
	m->next = NULL;
	m->len = len;
	memcpy(m->buf + LWS_PRE, data, len);
	if (c->tail)
		c->tail->next = m;
	else
		c->head = m;
	c->tail = m;
	c->queued += (uint32_t)len;
	lws_callback_on_writable(c->wsi);
	return 0;
}

int
conn_send(struct gw *g, struct conn *c, const char *data, size_t len)
{
	int n;

	if (c->close_code || c->flush_close)
		return -1;
	if ((n = send_now(c, data, len)) < 0) {
		conn_kill(c, "write failed");
		return -1;
	}
	if (n == 0 && enqueue(g, c, data, len) < 0)
		return -1;
	metrics_inc(METRICS_FRAMES_SENT);
	metrics_add(METRICS_BYTES_SENT, len);
	return 0;
}

int
conn_emit(struct gw *g, struct conn *c, const char *event, json_object *payload)
{
	size_t len;
	char *pkt = sio_encode_event(event, payload, &len);
	int rc;

	if (!pkt)
		return -1;
	/* Engine.IO message type '4' + Socket.IO "2[...]": the encoder's "42" is exactly that. */
	rc = conn_send(g, c, pkt, len);
	free(pkt);
	return rc;
}

int
conn_established(struct gw *g, struct conn *c, struct lws *wsi)
{
	char open[EIO_OPEN_MAX];
	int64_t now = ns_clock_mono_ms();
	int n;

	memset(c, 0, sizeof(*c));
	c->wsi = wsi;
	if (ns_rand_b64url(c->sid, CONN_SID_LEN) != NS_OK)
		return -1;
	lws_dll2_add_tail(&c->list, &g->conns);
	metrics_inc(METRICS_CONN_OPENED);
	c->rl_at = (uint32_t)now;
	c->rl_tokens = (uint32_t)g->cfg->socket_events_burst * CONN_RL_UNIT;
	http_client_ip(g, wsi, c->ip, sizeof(c->ip));	/* the headers are gone after this call */
	c->has_ext = lws_hdr_total_length(wsi, WSI_TOKEN_EXTENSIONS) > 0;
	c->next_ping_at = now + g->cfg->ping_interval_ms;
	c->connect_due_at = now + g->cfg->connect_timeout_ms;
	n = eio_encode_open(open, sizeof(open), c->sid, g->cfg->ping_interval_ms,
	    g->cfg->ping_timeout_ms, g->cfg->max_payload);
	if (n < 0 || conn_send(g, c, open, (size_t)n) < 0) {
		conn_closed(g, c);
		return -1;
	}
	ns_log_debug("gateway: %s: open (%u sockets)", c->sid, (unsigned)g->conns.count);
	return 0;
}

/* ---- sid index: chained hash of the connected sockets ---------------------------------- */

static uint32_t
sid_hash(const char *sid)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (*sid)
		h = (h ^ (unsigned char)*sid++) * 16777619u;
	return h & (CONN_INDEX_BUCKETS - 1);
}

static int
index_add(struct gw *g, struct conn *c)
{
	struct conn **b;

	if (!g->sid_index && !(g->sid_index = calloc(CONN_INDEX_BUCKETS, sizeof(*g->sid_index))))
		return -1;
	b = &g->sid_index[sid_hash(c->sio_sid)];
	c->sid_next = *b;
	*b = c;
	return 0;
}

static void
index_remove(struct gw *g, struct conn *c)
{
	struct conn **at;

	if (!c->connected || !g->sid_index)
		return;
	for (at = &g->sid_index[sid_hash(c->sio_sid)]; *at; at = &(*at)->sid_next)
		if (*at == c) {
			*at = c->sid_next;
			break;
		}
	c->sid_next = NULL;
}

struct conn *
conn_find(struct gw *g, const char *sid)
{
	struct conn *c;

	if (!g->sid_index || !sid)
		return NULL;
	for (c = g->sid_index[sid_hash(sid)]; c; c = c->sid_next)
		if (strcmp(c->sio_sid, sid) == 0)
			return c;
	return NULL;
}

void
conn_index_free(struct gw *g)
{
	free(g->sid_index);
	g->sid_index = NULL;
}

/* Socket.IO CONNECT to namespace "/": the answer waits for the session lookup (auth.c). */
static int
on_connect(struct gw *g, struct conn *c, struct sio_packet *p)
{
	char out[SIO_SMALL_MAX];
	int n;

	if (strcmp(p->ns, "/") != 0) {
		n = sio_encode_connect_error(out, sizeof(out), p->ns, "Invalid namespace");
		return n < 0 ? -1 : conn_send(g, c, out, (size_t)n);
	}
	if (c->connecting)
		return 0;	/* a repeat while the first is being looked up */
	if (c->connected) {
		n = sio_encode_connect(out, sizeof(out), c->sio_sid);
		return n < 0 ? -1 : conn_send(g, c, out, (size_t)n);
	}
	c->connecting = 1;
	c->connect_due_at = 0;
	return auth_connect(g, c, p->data ? ns_json_get_str(p->data, "token") : NULL);
}

int
conn_connect_reply(struct gw *g, struct conn *c, const char *refusal)
{
	char out[SIO_SMALL_MAX];
	int n;

	c->connecting = 0;
	if (refusal) {
		/* The client gives up on a refusal and closes; the CONNECT deadline is the backstop. */
		c->connect_due_at = ns_clock_mono_ms() + g->cfg->connect_timeout_ms;
		n = sio_encode_connect_error(out, sizeof(out), "/", refusal);
		return n < 0 ? -1 : conn_send(g, c, out, (size_t)n);
	}
	if (ns_rand_b64url(c->sio_sid, CONN_SID_LEN) != NS_OK || index_add(g, c) < 0)
		return -1;
	c->connected = 1;
	n = sio_encode_connect(out, sizeof(out), c->sio_sid);
	return n < 0 ? -1 : conn_send(g, c, out, (size_t)n);
}

void
conn_disconnect(struct gw *g, struct conn *c)
{
	if (c->close_code || c->flush_close)
		return;
	conn_send(g, c, "41", 2);
	c->explicit_close = 1;
	c->flush_close = 1;
	lws_callback_on_writable(c->wsi);
	lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, CONN_KILL_GRACE_S);
}

/* One Socket.IO packet. Returns 0, or a WebSocket close code. */
static int
on_sio(struct gw *g, struct conn *c, const char *buf, size_t len)
{
	struct sio_packet p;
	int rc = 0;

	switch (sio_decode(buf, len, &p)) {
	case SIO_OK:
		break;
	case SIO_UNSUPPORTED:
		return LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE;
	default:
		return LWS_CLOSE_STATUS_PROTOCOL_ERR;
	}
	switch (p.type) {
	case SIO_CONNECT:
		if (on_connect(g, c, &p) < 0)
			rc = LWS_CLOSE_STATUS_UNEXPECTED_CONDITION;
		break;
	case SIO_DISCONNECT:
		if (strcmp(p.ns, "/") == 0) {
			c->explicit_close = 1;
			rc = LWS_CLOSE_STATUS_NORMAL;
		}
		break;
	case SIO_EVENT:
		/* Events before CONNECT, or to another namespace, have no receiver. */
		if (c->connected && strcmp(p.ns, "/") == 0)
			events_dispatch(g, c, p.event, p.arg);
		break;
	default:	/* ACK, CONNECT_ERROR: nothing of ours asks for them */
		break;
	}
	sio_packet_free(&p);
	return rc;
}

/* Token bucket per socket: socket_events_per_second sustained, socket_events_burst at once.
 * Returns 0 when one more message is allowed. */
static int
rate_take(struct gw *g, struct conn *c)
{
	uint32_t now = (uint32_t)ns_clock_mono_ms();
	uint64_t cap = (uint64_t)g->cfg->socket_events_burst * CONN_RL_UNIT;
	uint64_t t = c->rl_tokens + (uint64_t)(uint32_t)(now - c->rl_at) *
	    (uint64_t)g->cfg->socket_events_per_second;	/* per ms: rate × 1000 / 1000 */

	c->rl_at = now;
	c->rl_tokens = (uint32_t)(t > cap ? cap : t);
	if (c->rl_tokens < CONN_RL_UNIT)
		return -1;
	c->rl_tokens -= CONN_RL_UNIT;
	return 0;
}

/* One complete Engine.IO packet. Returns 0, or a WebSocket close code. */
static int
on_message(struct gw *g, struct conn *c, const char *buf, size_t len)
{
	struct eio_packet p;
	char pong[SIO_SMALL_MAX];

	if (rate_take(g, c) < 0)
		return CONN_RATE_LIMITED;
	if (eio_decode(buf, len, &p) < 0)
		return LWS_CLOSE_STATUS_PROTOCOL_ERR;
	switch (p.type) {
	case EIO_MESSAGE:
		return on_sio(g, c, p.data, p.len);
	case EIO_PONG:
		c->pong_due_at = 0;
		c->next_ping_at = ns_clock_mono_ms() + g->cfg->ping_interval_ms;
		return 0;
	case EIO_PING:	/* not sent by v4 clients; answered for probes */
		if (p.len >= sizeof(pong))
			return LWS_CLOSE_STATUS_PROTOCOL_ERR;
		pong[0] = '3';
		memcpy(pong + 1, p.data, p.len);
		conn_send(g, c, pong, p.len + 1);
		return 0;
	case EIO_CLOSE:
		return LWS_CLOSE_STATUS_NORMAL;
	default:	/* open, upgrade, noop: meaningless from a websocket-only client */
		return 0;
	}
}

static int
close_now(struct conn *c, int code, const char *reason)
{
	if (code == CONN_RATE_LIMITED) {
		metrics_inc(METRICS_CLOSE_RATE_LIMITED);
		code = LWS_CLOSE_STATUS_POLICY_VIOLATION;
	} else if (code == LWS_CLOSE_STATUS_PROTOCOL_ERR ||
	    code == LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE ||
	    code == LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE)
		metrics_inc(METRICS_CLOSE_PROTOCOL);
	ns_log_debug("gateway: %s: closing (%d %s)", c->sid, code, reason);
	lws_close_reason(c->wsi, (enum lws_close_status)code, (unsigned char *)(uintptr_t)reason,
	    strlen(reason));
	return -1;
}

static const char *
close_text(int code)
{
	switch (code) {
	case LWS_CLOSE_STATUS_NORMAL:
		return "bye";
	case LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE:
		return "binary not accepted";
	case LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE:
		return "message too large";
	case LWS_CLOSE_STATUS_PROTOCOL_ERR:
		return "parse error";
	case CONN_RATE_LIMITED:
		return "rate limited";
	default:
		return "server error";
	}
}

int
conn_receive(struct gw *g, struct conn *c, const void *in, size_t len)
{
	size_t max = (size_t)g->cfg->max_payload;
	int final, rc;

	if (c->close_code || c->flush_close)
		return 0;	/* closing: whatever still arrives is dropped */
	if (lws_frame_is_binary(c->wsi))
		return close_now(c, LWS_CLOSE_STATUS_UNACCEPTABLE_OPCODE, "binary not accepted");
	final = lws_is_final_fragment(c->wsi) && !lws_remaining_packet_payload(c->wsi);

	/* The common case, a whole message in one piece, is handled in place. */
	if (final && c->rx_len == 0) {
		if (len > max)
			return close_now(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
		rc = on_message(g, c, in, len);
		return rc ? close_now(c, rc, close_text(rc)) : 0;
	}
	if (len > max - c->rx_len)
		return close_now(c, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE, "message too large");
	if (c->rx_len + len > c->rx_cap) {
		size_t cap = c->rx_cap ? c->rx_cap : CONN_RX_INITIAL;
		char *nrx;

		while (cap < c->rx_len + len)
			cap *= 2;
		if (cap > max)
			cap = max;
		if (!(nrx = realloc(c->rx, cap)))
			return close_now(c, LWS_CLOSE_STATUS_UNEXPECTED_CONDITION, "server error");
		c->rx = nrx;
		c->rx_cap = (uint32_t)cap;
	}
	memcpy(c->rx + c->rx_len, in, len);
	c->rx_len += (uint32_t)len;
	if (!final)
		return 0;
	rc = on_message(g, c, c->rx, c->rx_len);
	/* Idle sockets hold no receive buffer. */
	free(c->rx);
	c->rx = NULL;
	c->rx_len = c->rx_cap = 0;
	return rc ? close_now(c, rc, close_text(rc)) : 0;
}

void
conn_goodbye(struct gw *g, struct conn *c)
{
	if (conn_send(g, c, "1", 1) == 0) {
		c->drop_when_sent = 1;
		lws_callback_on_writable(c->wsi);	/* it may have gone out already */
	}
}

int
conn_writeable(struct gw *g, struct conn *c)
{
	struct conn_msg *m = c->head;

	/* permessage-deflate keeps reading a frame whose compressed form is longer than its
	 * output buffer after lws_write returns, until lws has drained it; lws asks us for more
	 * only after that, so the previous frame can go now. */
	free(c->sent);
	c->sent = NULL;

	if (c->close_code)
		return close_now(c, c->close_code, c->close_reason ? c->close_reason : "");
	if (!m && c->drop_when_sent) {
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK, LWS_TO_KILL_ASYNC);
		return 0;
	}
	if (!m)
		return c->flush_close ? close_now(c, LWS_CLOSE_STATUS_NORMAL, "bye") : 0;
	/* lws buffers what the kernel does not take, so each frame goes out whole. */
	if (lws_write(c->wsi, m->buf + LWS_PRE, m->len, LWS_WRITE_TEXT) < (int)m->len)
		return -1;
	c->head = m->next;
	if (!c->head)
		c->tail = NULL;
	c->queued -= (uint32_t)m->len;
	m->next = NULL;
	if (c->has_ext)
		c->sent = m;
	else
		free(m);
	/* A goodbye queued behind the deflater is dropped from the next callback, once sent. */
	if (c->head || c->flush_close || c->drop_when_sent)
		lws_callback_on_writable(c->wsi);
	(void)g;
	return 0;
}

void
conn_closed(struct gw *g, struct conn *c)
{
	if (!c->wsi)
		return;	/* never established */
	ns_log_debug("gateway: %s: closed", c->sid);
	metrics_inc(METRICS_CONN_CLOSED);
	auth_closed(g, c);
	if (c->authed)
		live_unregister(g, c);
	index_remove(g, c);
	lws_dll2_remove(&c->list);
	queue_free(c);
	free(c->rx);
	free(c->token);
	c->rx = c->token = NULL;
	c->wsi = NULL;
}

static int
sweep_one(struct lws_dll2 *d, void *user)
{
	struct conn *c = lws_container_of(d, struct conn, list);
	struct gw *g = lws_context_user(lws_get_context(c->wsi));
	int64_t now = *(int64_t *)user;

	if (c->close_code)
		return 0;
	if (c->pong_due_at && now >= c->pong_due_at) {
		metrics_inc(METRICS_CLOSE_PING_TIMEOUT);
		conn_kill(c, "ping timeout");
		return 0;
	}
	if (c->connect_due_at && now >= c->connect_due_at) {
		metrics_inc(METRICS_CLOSE_CONNECT_TIMEOUT);
		conn_close(c, LWS_CLOSE_STATUS_POLICY_VIOLATION, "connect timeout");
		return 0;
	}
	if (!c->pong_due_at && now >= c->next_ping_at) {
		c->pong_due_at = now + g->cfg->ping_timeout_ms;
		conn_send(g, c, "2", 1);
	}
	return 0;
}

void
conn_sweep(struct gw *g, int64_t now_ms)
{
	lws_dll2_foreach_safe(&g->conns, &now_ms, sweep_one);
}
