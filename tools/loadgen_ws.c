/* loadgen_ws: a minimal non-blocking WebSocket client (HTTP/1.1 upgrade, masked text frames,
 * no extensions) carrying Engine.IO 4 / Socket.IO 5 packets, one struct lg_conn per socket.
 * Reads go through one per-process scratch buffer; a socket keeps a heap buffer only while it
 * holds a partial frame or unsent bytes, so an idle client costs a few dozen bytes here. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <openssl/evp.h>

#include "loadgen.h"

#define WS_READ_CHUNK 65536		/* one read() into the scratch buffer */
#define WS_SEND_MAX 65536		/* one frame we send (our payloads are a few KB) */
#define WS_HDR_MAX 14			/* frame header with 64-bit length and mask key */
#define WS_KEY_LEN 16			/* Sec-WebSocket-Key bytes before base64 */
#define WS_B64_MAX 64			/* base64 text of a key or accept value */
#define WS_REQ_MAX (LG_HOST_MAX + LG_PATH_MAX + 512)	/* the upgrade request */
#define WS_TOKEN_PKT_MAX (LG_ID_MAX + 32)	/* 40{"token":"..."} */
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

static unsigned char scratch[WS_READ_CHUNK];
static unsigned char txbuf[WS_HDR_MAX + WS_SEND_MAX];
static uint64_t rng_state;

static uint64_t
rng(void)
{
	if (rng_state == 0)
		rng_state = lg_now_us() ^ ((uint64_t)getpid() << 32) ^ 0x9e3779b97f4a7c15u;
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void
set_events(struct lg_worker *w, struct lg_conn *c, uint32_t events)
{
	struct epoll_event ev;

	ev.events = events;
	ev.data.ptr = c;
	epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void
conn_reset(struct lg_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->rx);
	free(c->msg);
	free(c->tx);
	c->rx = c->msg = c->tx = NULL;
	c->rx_len = c->msg_len = c->tx_len = c->tx_off = 0;
	c->sio_connected = 0;
}

/* Backoff before attempt n (n >= 1): 100 ms doubling, at most 5 s, with jitter. */
static uint64_t
backoff_us(unsigned n)
{
	uint64_t b = 100000u << (n > 6 ? 6 : n - 1);

	if (b > 5000000u)
		b = 5000000u;
	return b / 2 + rng() % (b / 2 + 1);
}

void
lg_ws_fail(struct lg_worker *w, struct lg_conn *c, const char *kind)
{
	int was = c->state;

	if (was == LG_C_IDLE || was == LG_C_DEAD)
		return;
	conn_reset(c);
	if (was == LG_C_READY) {
		/* A held socket that went away: counted, not reconnected (the figures say so). */
		if (w->phase < 2) {
			lg_err(&w->st.errs, "lost: %s", kind);
			w->st.dropped++;
		}
		c->state = LG_C_DEAD;
		lg_flow_on_lost(w, c);
		return;
	}
	w->inflight--;
	lg_err(&w->st.errs, "connect: %s", kind);
	if (c->attempts <= w->o->retries_max && w->phase < 2) {
		w->st.retries++;
		c->state = LG_C_IDLE;
		c->t_due_us = lg_now_us() + backoff_us(c->attempts);
		return;
	}
	c->state = LG_C_DEAD;
	w->st.failed++;
	w->settled++;
}

/* Queue or write bytes; 0, or -1 when the socket failed (already handled). */
static int
conn_write(struct lg_worker *w, struct lg_conn *c, const unsigned char *buf, size_t len)
{
	ssize_t n = 0;
	unsigned char *p;

	if (c->fd < 0)
		return -1;
	if (c->tx_len == c->tx_off) {
		n = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
				lg_ws_fail(w, c, "send failed");
				return -1;
			}
			n = 0;
		}
		if ((size_t)n == len)
			return 0;
	}
	if (c->tx_len - c->tx_off + (len - (size_t)n) > LG_TX_MAX) {
		lg_ws_fail(w, c, "send queue full");
		return -1;
	}
	if (c->tx_off > 0) {
		memmove(c->tx, c->tx + c->tx_off, c->tx_len - c->tx_off);
		c->tx_len -= c->tx_off;
		c->tx_off = 0;
	}
	if (!(p = realloc(c->tx, c->tx_len + len - (size_t)n))) {
		lg_ws_fail(w, c, "out of memory");
		return -1;
	}
	c->tx = p;
	memcpy(c->tx + c->tx_len, buf + n, len - (size_t)n);
	c->tx_len += len - (size_t)n;
	set_events(w, c, EPOLLIN | EPOLLOUT);
	return 0;
}

static int
conn_flush(struct lg_worker *w, struct lg_conn *c)
{
	ssize_t n;

	while (c->tx_off < c->tx_len) {
		n = send(c->fd, c->tx + c->tx_off, c->tx_len - c->tx_off, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return 0;
			lg_ws_fail(w, c, "send failed");
			return -1;
		}
		c->tx_off += (size_t)n;
	}
	free(c->tx);
	c->tx = NULL;
	c->tx_len = c->tx_off = 0;
	set_events(w, c, EPOLLIN);
	return 0;
}

/* One masked frame (client frames must be masked, RFC 6455 §5.3). */
static int
send_frame(struct lg_worker *w, struct lg_conn *c, int opcode, const void *data, size_t len)
{
	size_t h = 0, i;
	uint64_t m = rng();
	unsigned char mask[4];

	if (len > WS_SEND_MAX)
		return -1;
	txbuf[h++] = (unsigned char)(0x80 | opcode);
	if (len < 126) {
		txbuf[h++] = (unsigned char)(0x80 | len);
	} else if (len <= 0xffff) {
		txbuf[h++] = 0x80 | 126;
		txbuf[h++] = (unsigned char)(len >> 8);
		txbuf[h++] = (unsigned char)len;
	} else {
		txbuf[h++] = 0x80 | 127;
		for (i = 0; i < 8; i++)
			txbuf[h++] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	}
	for (i = 0; i < 4; i++)
		txbuf[h++] = mask[i] = (unsigned char)(m >> (8 * i));
	for (i = 0; i < len; i++)
		txbuf[h + i] = ((const unsigned char *)data)[i] ^ mask[i & 3];
	return conn_write(w, c, txbuf, h + len);
}

static int
send_text(struct lg_worker *w, struct lg_conn *c, const char *s, size_t len)
{
	return send_frame(w, c, 0x1, s, len);
}

int
lg_ws_emit_raw(struct lg_worker *w, struct lg_conn *c, const char *event, const char *json)
{
	char buf[WS_SEND_MAX];
	int n;

	if (c->state != LG_C_READY && c->state != LG_C_OPENING)
		return -1;
	if (json)
		n = snprintf(buf, sizeof(buf), "42[\"%s\",%s]", event, json);
	else
		n = snprintf(buf, sizeof(buf), "42[\"%s\"]", event);
	if (n < 0 || (size_t)n >= sizeof(buf))
		return -1;
	return send_text(w, c, buf, (size_t)n);
}

int
lg_ws_emit(struct lg_worker *w, struct lg_conn *c, const char *event, json_object *payload)
{
	const char *s = json_object_to_json_string_ext(payload,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	return lg_ws_emit_raw(w, c, event, s);
}

/* The key of this attempt, derived so that the expected accept value can be recomputed
 * from the socket's identity instead of being stored. */
static void
ws_key(const struct lg_worker *w, const struct lg_conn *c, char out[WS_B64_MAX])
{
	unsigned char raw[WS_KEY_LEN];
	uint64_t x = ((uint64_t)w->index << 40) ^ ((uint64_t)c->user << 8) ^ c->attempts ^
	    0x5bd1e9955bd1e995u;
	size_t i;

	for (i = 0; i < WS_KEY_LEN; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		raw[i] = (unsigned char)x;
	}
	EVP_EncodeBlock((unsigned char *)out, raw, WS_KEY_LEN);
}

static void
ws_accept(const char *key, char out[WS_B64_MAX])
{
	char in[WS_B64_MAX + sizeof(WS_GUID)];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = snprintf(in, sizeof(in), "%s%s", key, WS_GUID);

	out[0] = '\0';
	if (n > 0 && EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL) == 1)
		EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen);
}

int
lg_ws_start(struct lg_worker *w, struct lg_conn *c)
{
	const struct lg_opts *o = w->o;
	const struct lg_url *u = &o->urls[c->url];
	struct epoll_event ev;
	int one = 1, fd;

	c->attempts++;
	c->t_start_us = lg_now_us();
	c->t_due_us = c->t_start_us + (uint64_t)o->step_timeout_ms * 1000u;
	if (w->st.first_ms == 0)
		w->st.first_ms = lg_wall_ms();
	w->inflight++;
	c->state = LG_C_CONNECTING;
	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		c->fd = -1;
		lg_ws_fail(w, c, errno == EMFILE ? "too many open files" : "socket failed");
		return -1;
	}
	c->fd = fd;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (o->nsources > 0) {
		struct sockaddr_in src;

		memset(&src, 0, sizeof(src));
		src.sin_family = AF_INET;
		src.sin_addr = o->sources[(w->index * 7919u + c->user) % (unsigned)o->nsources];
		/* The port is chosen at connect() for the whole 4-tuple, not per source address. */
		setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (struct sockaddr *)&src, sizeof(src)) < 0) {
			lg_ws_fail(w, c, "bind source address");
			return -1;
		}
	}
	if (connect(fd, (const struct sockaddr *)&u->addr, sizeof(u->addr)) < 0 &&
	    errno != EINPROGRESS) {
		lg_ws_fail(w, c, errno == EADDRNOTAVAIL ? "no local port" : "connect refused");
		return -1;
	}
	ev.events = EPOLLIN | EPOLLOUT;
	ev.data.ptr = c;
	if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		lg_ws_fail(w, c, "epoll_ctl");
		return -1;
	}
	return 0;
}

static void
send_upgrade(struct lg_worker *w, struct lg_conn *c)
{
	const struct lg_url *u = &w->o->urls[c->url];
	char key[WS_B64_MAX], req[WS_REQ_MAX];
	int n;

	ws_key(w, c, key);
	n = snprintf(req, sizeof(req),
	    "GET %s?EIO=4&transport=websocket HTTP/1.1\r\n"
	    "Host: %s:%d\r\n"
	    "Upgrade: websocket\r\n"
	    "Connection: Upgrade\r\n"
	    "Sec-WebSocket-Key: %s\r\n"
	    "Sec-WebSocket-Version: 13\r\n"
	    "User-Agent: " LG_PROG "\r\n\r\n", u->path, u->host, u->port, key);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		lg_ws_fail(w, c, "request too long");
		return;
	}
	c->state = LG_C_UPGRADING;
	if (conn_write(w, c, (const unsigned char *)req, (size_t)n) == 0 && c->tx == NULL)
		set_events(w, c, EPOLLIN);
}

/* A header's value in an HTTP response head (NUL-terminated), or NULL. */
static const char *
header_value(const char *head, const char *name, size_t *len)
{
	const char *p = strstr(head, "\r\n"), *v, *e;
	size_t nl = strlen(name);

	while (p && p[2] != '\r' && p[2] != '\0') {
		p += 2;
		e = strstr(p, "\r\n");
		if (!e)
			return NULL;
		if ((size_t)(e - p) > nl && strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			for (v = p + nl + 1; *v == ' ' || *v == '\t'; v++)
				;
			while (e > v && (e[-1] == ' ' || e[-1] == '\t'))
				e--;
			*len = (size_t)(e - v);
			return v;
		}
		p = e;
	}
	return NULL;
}

/* The upgrade response head (NUL-terminated): 0 when it is a valid 101 for our key. */
static int
check_upgrade(struct lg_worker *w, struct lg_conn *c, const char *head)
{
	char key[WS_B64_MAX], want[WS_B64_MAX];
	const char *v;
	size_t len;
	int status = 0;

	/* lws answers a refused upgrade as HTTP/1.0 */
	if (sscanf(head, "HTTP/1.%*1[01] %d", &status) != 1 || status != 101) {
		lg_ws_fail(w, c, status == 503 ?
		    "upgrade: 503 (gateway full, draining or Redis behind)" :
		    status ? "upgrade: not 101" : "upgrade: not HTTP");
		return -1;
	}
	ws_key(w, c, key);
	ws_accept(key, want);
	v = header_value(head, "Sec-WebSocket-Accept", &len);
	if (!v || len != strlen(want) || memcmp(v, want, len) != 0) {
		lg_ws_fail(w, c, "upgrade: bad Sec-WebSocket-Accept");
		return -1;
	}
	if (header_value(head, "Sec-WebSocket-Extensions", &len)) {
		lg_ws_fail(w, c, "upgrade: extension not offered");
		return -1;
	}
	c->state = LG_C_OPENING;
	return 0;
}

static json_object *
parse_json(const char *s, size_t len)
{
	json_tokener *tok;
	json_object *obj;

	if (len == 0 || len > LG_FRAME_MAX)
		return NULL;
	if (!(tok = json_tokener_new()))
		return NULL;
	obj = json_tokener_parse_ex(tok, s, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

static int
has_prefix(const char *s, size_t len, const char *p)
{
	size_t n = strlen(p);

	return len >= n && memcmp(s, p, n) == 0;
}

static void
on_auth_success(struct lg_worker *w, struct lg_conn *c)
{
	uint64_t now = lg_now_us();

	c->state = LG_C_READY;
	w->inflight--;
	w->settled++;
	w->st.authed++;
	w->st.last_auth_ms = lg_wall_ms();
	lg_hist_add(&w->st.handshake, now - c->t_start_us);
	if (lg_ws_emit_raw(w, c, "presence:join", NULL) < 0 ||
	    lg_ws_emit_raw(w, c, "queue:join", NULL) < 0)
		return;
	c->queued = 1;
	lg_flow_on_ready(w, c);
}

/* One Socket.IO packet (after the Engine.IO '4'). */
static void
on_sio(struct lg_worker *w, struct lg_conn *c, const char *s, size_t len, size_t wire)
{
	json_object *arr, *msg;
	const char *name;

	if (len >= 1 && s[0] == '2') {
		/* Counted without parsing: at scale these are most of the traffic. */
		if (has_prefix(s, len, "2[\"queue:update\"")) {
			w->st.q_frames++;
			w->st.q_bytes += wire;
			if (!w->st.q_min_bytes || wire < w->st.q_min_bytes)
				w->st.q_min_bytes = wire;
			c->q_interval++;
			return;
		}
		if (has_prefix(s, len, "2[\"presence:update\"")) {
			w->st.p_frames++;
			w->st.p_bytes += wire;
			return;
		}
		arr = parse_json(s + 1, len - 1);
		if (!arr || !json_object_is_type(arr, json_type_array) ||
		    json_object_array_length(arr) < 1 ||
		    !json_object_is_type(json_object_array_get_idx(arr, 0), json_type_string)) {
			json_object_put(arr);
			lg_ws_fail(w, c, "malformed event");
			return;
		}
		name = json_object_get_string(json_object_array_get_idx(arr, 0));
		if (c->state == LG_C_OPENING) {
			if (strcmp(name, "auth:success") == 0)
				on_auth_success(w, c);
			else if (strcmp(name, "auth:failed") == 0 || strcmp(name, "auth:banned") == 0)
				lg_ws_fail(w, c, name);
		} else {
			lg_flow_on_event(w, c, name, json_object_array_get_idx(arr, 1));
		}
		json_object_put(arr);
		return;
	}
	if (len >= 1 && s[0] == '0') {
		c->sio_connected = 1;
		return;
	}
	if (len >= 1 && s[0] == '4') {
		char kind[LG_ERR_KIND_LEN];

		msg = parse_json(s + 1, len - 1);
		snprintf(kind, sizeof(kind), "refused: %s",
		    msg && json_object_is_type(msg, json_type_object) &&
		    json_object_object_get(msg, "message") ?
		    json_object_get_string(json_object_object_get(msg, "message")) : "?");
		json_object_put(msg);
		c->attempts = 0xff;	/* a refusal is an answer: no retry */
		lg_ws_fail(w, c, kind);
		return;
	}
	if (len >= 1 && s[0] == '1') {
		lg_ws_fail(w, c, "server disconnect");
		return;
	}
	lg_ws_fail(w, c, "unexpected packet");
}

/* One complete text message: an Engine.IO packet. wire = bytes it took on the wire. */
static void
on_message(struct lg_worker *w, struct lg_conn *c, const char *s, size_t len, size_t wire)
{
	char pkt[WS_TOKEN_PKT_MAX];
	int n;

	if (len == 0) {
		lg_ws_fail(w, c, "empty packet");
		return;
	}
	switch (s[0]) {
	case '0':	/* open: connect to namespace / with the session token */
		if (c->state != LG_C_OPENING) {
			lg_ws_fail(w, c, "unexpected open");
			return;
		}
		n = snprintf(pkt, sizeof(pkt), "40{\"token\":\"%s\"}", w->users[c->user].token);
		if (n > 0 && (size_t)n < sizeof(pkt))
			send_text(w, c, pkt, (size_t)n);
		return;
	case '2':	/* ping */
		send_text(w, c, "3", 1);
		return;
	case '4':
		on_sio(w, c, s + 1, len - 1, wire);
		return;
	case '6':
		return;
	case '1':
		lg_ws_fail(w, c, "engine.io close");
		return;
	default:
		lg_ws_fail(w, c, "unknown engine.io packet");
	}
}

/* Parse frames from buf; returns the bytes consumed, or -1 when the socket was closed. */
static ssize_t
parse_frames(struct lg_worker *w, struct lg_conn *c, const unsigned char *buf, size_t len)
{
	size_t off = 0, h, i;
	uint64_t plen;
	unsigned char *p;
	int op, fin;

	while (len - off >= 2) {
		const unsigned char *f = buf + off;

		fin = f[0] & 0x80;
		op = f[0] & 0x0f;
		if (f[0] & 0x70) {
			lg_ws_fail(w, c, "frame: reserved bits set");
			return -1;
		}
		if (f[1] & 0x80) {
			lg_ws_fail(w, c, "frame: masked by the server");
			return -1;
		}
		plen = f[1] & 0x7f;
		h = 2;
		if (plen == 126) {
			if (len - off < 4)
				break;
			plen = ((uint64_t)f[2] << 8) | f[3];
			h = 4;
		} else if (plen == 127) {
			if (len - off < 10)
				break;
			for (plen = 0, i = 0; i < 8; i++)
				plen = plen << 8 | f[2 + i];
			h = 10;
		}
		if (plen > LG_FRAME_MAX) {
			lg_ws_fail(w, c, "frame: over the size limit");
			return -1;
		}
		if (len - off < h + plen)
			break;
		off += h + (size_t)plen;
		if (op & 0x8) {
			if (!fin || plen > 125) {
				lg_ws_fail(w, c, "frame: bad control frame");
				return -1;
			}
			if (op == 0x8) {
				lg_ws_fail(w, c, "closed by the server");
				return -1;
			}
			if (op == 0x9)
				send_frame(w, c, 0xa, f + h, (size_t)plen);
			else if (op != 0xa) {
				lg_ws_fail(w, c, "frame: unknown opcode");
				return -1;
			}
		} else if (op == 0x1 && !c->msg) {
			if (fin) {
				on_message(w, c, (const char *)f + h, (size_t)plen, h + (size_t)plen);
			} else {
				if (!(c->msg = malloc((size_t)plen ? (size_t)plen : 1))) {
					lg_ws_fail(w, c, "out of memory");
					return -1;
				}
				memcpy(c->msg, f + h, (size_t)plen);
				c->msg_len = (size_t)plen;
			}
		} else if (op == 0x0 && c->msg) {
			if (c->msg_len + plen > LG_FRAME_MAX) {
				lg_ws_fail(w, c, "frame: message over the size limit");
				return -1;
			}
			if (!(p = realloc(c->msg, c->msg_len + (size_t)plen + 1))) {
				lg_ws_fail(w, c, "out of memory");
				return -1;
			}
			c->msg = p;
			memcpy(c->msg + c->msg_len, f + h, (size_t)plen);
			c->msg_len += (size_t)plen;
			if (fin) {
				p = c->msg;
				c->msg = NULL;
				on_message(w, c, (const char *)p, c->msg_len, c->msg_len);
				free(p);
				c->msg_len = 0;
			}
		} else {
			lg_ws_fail(w, c, op == 0x2 ? "frame: binary" : "frame: bad sequence");
			return -1;
		}
		if (c->fd < 0)
			return -1;
	}
	return (ssize_t)off;
}

/* Keep buf[from..len) as the socket's partial input. */
static int
keep_rest(struct lg_worker *w, struct lg_conn *c, const unsigned char *buf, size_t from,
    size_t len)
{
	unsigned char *p;

	if (from == len) {
		free(c->rx);
		c->rx = NULL;
		c->rx_len = 0;
		return 0;
	}
	if (buf == c->rx) {
		memmove(c->rx, c->rx + from, len - from);
		c->rx_len = len - from;
		return 0;
	}
	if (!(p = realloc(c->rx, len - from))) {
		lg_ws_fail(w, c, "out of memory");
		return -1;
	}
	memcpy(p, buf + from, len - from);
	c->rx = p;
	c->rx_len = len - from;
	return 0;
}

static void
on_readable(struct lg_worker *w, struct lg_conn *c)
{
	const unsigned char *buf;
	unsigned char *p;
	size_t len, from = 0;
	ssize_t n, used;
	char *end;

	n = recv(c->fd, scratch, sizeof(scratch) - 1, 0);	/* a spare byte for a NUL */
	if (n == 0) {
		lg_ws_fail(w, c, "closed by the peer");
		return;
	}
	if (n < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
			lg_ws_fail(w, c, errno == ECONNREFUSED ? "connect refused" : "recv failed");
		return;
	}
	if (c->rx_len > 0) {
		if (c->rx_len + (size_t)n > LG_FRAME_MAX + WS_READ_CHUNK) {
			lg_ws_fail(w, c, "input over the size limit");
			return;
		}
		/* one spare byte: the HTTP head is parsed as a string */
		if (!(p = realloc(c->rx, c->rx_len + (size_t)n + 1))) {
			lg_ws_fail(w, c, "out of memory");
			return;
		}
		c->rx = p;
		memcpy(c->rx + c->rx_len, scratch, (size_t)n);
		c->rx_len += (size_t)n;
		buf = c->rx;
		len = c->rx_len;
	} else {
		buf = scratch;
		len = (size_t)n;
	}
	if (c->state == LG_C_UPGRADING) {
		if (len > LG_HTTP_MAX) {
			lg_ws_fail(w, c, "upgrade: response head too long");
			return;
		}
		/* NUL-terminate in place: scratch and rx always have one spare byte */
		((unsigned char *)buf)[len] = '\0';
		end = strstr((const char *)buf, "\r\n\r\n");
		if (!end) {
			if (buf == scratch)
				keep_rest(w, c, buf, 0, len);
			return;
		}
		end[2] = '\0';
		if (check_upgrade(w, c, (const char *)buf) < 0)
			return;
		from = (size_t)(end + 4 - (const char *)buf);
	}
	used = parse_frames(w, c, buf + from, len - from);
	if (used < 0)
		return;
	keep_rest(w, c, buf, from + (size_t)used, len);
}

void
lg_ws_io(struct lg_worker *w, struct lg_conn *c, uint32_t events)
{
	int err = 0;
	socklen_t sl = sizeof(err);

	if (c->state == LG_C_CONNECTING) {
		if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP)) {
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &sl) < 0 || err) {
				lg_ws_fail(w, c, err == ECONNREFUSED ? "connect refused" :
				    err == EADDRNOTAVAIL ? "no local port" : "connect failed");
				return;
			}
			send_upgrade(w, c);
		}
		return;
	}
	if (events & EPOLLIN)
		on_readable(w, c);
	else if (events & (EPOLLERR | EPOLLHUP)) {
		lg_ws_fail(w, c, "socket error");
		return;
	}
	if (c->fd >= 0 && (events & EPOLLOUT) && c->tx)
		conn_flush(w, c);
}
