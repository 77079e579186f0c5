/* loadgen: napalmsky-loadgen, the capacity tool for the realtime gateway. Worker processes
 * each hold many Socket.IO clients on one epoll loop; the parent aggregates their figures.
 * Files: loadgen_main.c (options, workers, report), loadgen_ws.c (WebSocket client and
 * Engine.IO/Socket.IO framing), loadgen_flow.c (scenarios), loadgen_stats.c (latencies). */
#ifndef LG_LOADGEN_H
#define LG_LOADGEN_H

#include <stddef.h>
#include <stdint.h>
#include <netinet/in.h>
#include <json-c/json.h>

#define LG_PROG "napalmsky-loadgen"
#define LG_URLS_MAX 64			/* --url given this often at most */
#define LG_PIDS_MAX 64			/* gateways whose RSS is read */
#define LG_SOURCES_MAX 1024		/* source addresses of a --source range */
#define LG_PROCS_MAX 64			/* worker processes */
#define LG_ID_MAX 64			/* userId / session token / inviteId / roomId text */
#define LG_HOST_MAX 256			/* host part of a ws:// URL */
#define LG_PATH_MAX 256			/* path part of a ws:// URL */
#define LG_FRAME_MAX (1024 * 1024)	/* one message from the server, as the gateway's maxPayload */
#define LG_HTTP_MAX 8192		/* the upgrade response head */
#define LG_TX_MAX (4 * 1024 * 1024)	/* bytes queued towards one socket before it is dropped */
#define LG_ERR_KINDS_MAX 48		/* distinct error kinds counted */
#define LG_ERR_KIND_LEN 64		/* one kind's name */
#define LG_ICE_PER_SIDE 3		/* rtc:ice messages each way in one flow */
#define LG_SDP_LEN 2048			/* size of the fake SDP in the offer and answer */

/* Latency histogram: log-linear buckets over microseconds (16 per power of two, about 4 %
 * precision), fixed-size so worker processes send it to the parent as it is. */
#define LG_HIST_SUB 16
#define LG_HIST_POW 32
#define LG_HIST_BUCKETS (LG_HIST_SUB * LG_HIST_POW)
struct lg_hist {
	uint64_t n, max_us, sum_us;
	uint32_t bucket[LG_HIST_BUCKETS];
};
void lg_hist_add(struct lg_hist *h, uint64_t us);
void lg_hist_merge(struct lg_hist *into, const struct lg_hist *from);
uint64_t lg_hist_pct(const struct lg_hist *h, double pct);	/* microseconds; 0 when empty */

/* Error counts by kind ("connect: refused", "declined: cooldown", ...). */
struct lg_errs {
	uint32_t n;
	struct { char kind[LG_ERR_KIND_LEN]; uint64_t count; } e[LG_ERR_KINDS_MAX];
};
void lg_err(struct lg_errs *errs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void lg_errs_merge(struct lg_errs *into, const struct lg_errs *from);
uint64_t lg_errs_total(const struct lg_errs *errs);

/* The measured steps of a call flow (contract §3.6-3.8). */
enum lg_step {
	LG_STEP_NOTIFY,		/* call:invite → callee's call:notify */
	LG_STEP_START,		/* call:accept → call:start (each side) */
	LG_STEP_JOIN,		/* room:join + chat → own chat echo (joined) */
	LG_STEP_OFFER,		/* rtc:offer relay */
	LG_STEP_ANSWER,		/* rtc:answer relay */
	LG_STEP_ICE,		/* rtc:ice relay */
	LG_STEP_CHAT,		/* room:chat → sender's echo */
	LG_STEP_END,		/* call:end → session:finalized (each side) */
	LG_STEP__COUNT
};
extern const char *const lg_step_names[LG_STEP__COUNT];

/* What a worker sends the parent at the end (fixed size, written to a pipe as it is). */
struct lg_stats {
	/* connect */
	uint64_t users, authed, held, failed, retries, dropped;	/* held: ready at the end */
	uint64_t first_ms, last_auth_ms;	/* wall clock: first connect, last auth:success */
	struct lg_hist handshake;
	/* flows */
	uint64_t flows_started, flows_done, flows_same, flows_cross;
	struct lg_hist step[LG_STEP__COUNT][2];	/* [step][0 same gateway, 1 cross] */
	/* churn */
	uint64_t toggles, q_frames, q_bytes, p_frames, p_bytes, q_max_interval;
	uint64_t q_min_bytes;			/* smallest queue:update frame: one change */
	uint64_t phase_ms;			/* how long the phase ran */
	struct lg_errs errs;
};

enum lg_mode { LG_MODE_CONNECT, LG_MODE_FLOWS, LG_MODE_CHURN };

struct lg_url {
	struct sockaddr_in addr;
	char host[LG_HOST_MAX];		/* as given, for the Host header */
	char path[LG_PATH_MAX];		/* e.g. /socket.io/ */
	int port;
};

struct lg_user {
	char id[LG_ID_MAX];
	char token[LG_ID_MAX];
};

struct lg_opts {
	enum lg_mode mode;
	struct lg_url urls[LG_URLS_MAX];
	int nurls;
	struct in_addr sources[LG_SOURCES_MAX];
	int nsources;
	int procs, duration_s, flows, interval_ms, concurrency, connect_timeout_s;
	int step_timeout_ms, retries_max;
	double rate;
	const char *json_path, *users_path, *api_url, *invite_code;
	int create;
	int gateway_pids[LG_PIDS_MAX];
	int npids;
	int verbose;
};

/* ---- one worker process (loadgen_ws.c, loadgen_flow.c) ----------------------------- */

enum lg_conn_state {
	LG_C_IDLE,		/* not connected (yet, or waiting for a retry) */
	LG_C_CONNECTING,	/* TCP connect in progress */
	LG_C_UPGRADING,		/* HTTP upgrade sent */
	LG_C_OPENING,		/* waiting for Engine.IO open / Socket.IO CONNECT / auth:success */
	LG_C_READY,		/* authenticated, joined the queue */
	LG_C_DEAD		/* given up */
};

struct lg_flow;

struct lg_conn {
	int fd;
	uint8_t state;
	uint8_t url;			/* index into opts.urls */
	uint8_t attempts;		/* connection attempts made */
	uint8_t queued;			/* last queue toggle sent was queue:join */
	uint8_t retired;		/* left out of further flows (state unknown after a failure) */
	uint8_t sio_connected;
	uint32_t user;			/* index into the worker's users */
	uint32_t q_interval;		/* queue:update frames in the current interval */
	uint64_t t_start_us;		/* this attempt's start (monotonic) */
	uint64_t t_due_us;		/* retry due / handshake deadline / idle-from (monotonic) */
	struct lg_flow *flow;
	unsigned char *rx;		/* unparsed bytes (partial frame), malloc'd, or NULL */
	size_t rx_len;
	unsigned char *msg;		/* a fragmented message being reassembled, or NULL */
	size_t msg_len;
	unsigned char *tx;		/* bytes not yet written, or NULL */
	size_t tx_len, tx_off;
};

struct lg_worker {
	const struct lg_opts *o;
	int index;
	int epfd;
	struct lg_user *users;		/* this worker's users */
	struct lg_conn *conns;		/* one per user */
	uint32_t nusers;
	uint32_t base;			/* global index of users[0] (URL round-robin) */
	uint32_t next_connect;		/* next user never tried */
	uint32_t inflight;		/* handshakes in progress */
	uint32_t settled;		/* users authenticated or given up */
	int flows_max;			/* concurrent flows of this worker */
	double rate;			/* churn toggles per second of this worker */
	int phase;			/* 0 connect, 1 running the mode, 2 stopping */
	uint64_t phase_start_us;
	struct lg_stats st;
	void *flowstate;		/* loadgen_flow.c's own */
};

uint64_t lg_now_us(void);		/* monotonic */
uint64_t lg_wall_ms(void);

/* loadgen_ws.c */
int lg_ws_start(struct lg_worker *w, struct lg_conn *c);	/* begin a connection attempt */
void lg_ws_io(struct lg_worker *w, struct lg_conn *c, uint32_t events);
void lg_ws_fail(struct lg_worker *w, struct lg_conn *c, const char *kind);
int lg_ws_emit(struct lg_worker *w, struct lg_conn *c, const char *event, json_object *payload);
int lg_ws_emit_raw(struct lg_worker *w, struct lg_conn *c, const char *event, const char *json);

/* loadgen_flow.c: callbacks from loadgen_ws.c and the worker's phases */
void lg_flow_on_ready(struct lg_worker *w, struct lg_conn *c);		/* auth:success */
void lg_flow_on_event(struct lg_worker *w, struct lg_conn *c, const char *name,
    json_object *payload);
void lg_flow_on_lost(struct lg_worker *w, struct lg_conn *c);		/* a ready socket closed */
int lg_flow_init(struct lg_worker *w);
void lg_flow_tick(struct lg_worker *w, uint64_t now_us);		/* timers, new flows, toggles */
int lg_worker_run(struct lg_worker *w, int ctl_fd, int res_fd);	/* the worker's main loop */

#endif
