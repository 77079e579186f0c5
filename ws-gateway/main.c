/* napalmsky-gateway: the Socket.IO gateway. One lws context, one vhost on
 * gateway_host:gateway_port serving WebSockets at gateway_path and plain HTTP (/health)
 * on the same port, and the Redis bus, all on one single-threaded poll loop. */
#include "config.h"

#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <sys/resource.h>

#include <ev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsconfig.h"
#include "clock.h"
#include "log.h"
#include "rand.h"
#include "bus.h"
#include "callend.h"
#include "conn.h"
#include "ctl.h"
#include "gw.h"
#include "http.h"
#include "live.h"
#include "pg.h"
#include "pmd.h"
#include "qfeed.h"
#include "sched.h"

#define GW_RX_BUFFER 1024	/* lws per-socket receive buffer; longer messages reassemble */
#define GW_TX_PACKET 65536	/* largest single send(); lws buffers any remainder */
#define GW_DRAIN_MS 5000	/* shutdown: time given to close frames and Redis */
/* Sockets told to go per loop turn while draining. All at once made turns of 0.5-0.7 s for
 * 17,000 (lws 4.1.6 walks its fd table after each close), past redis_timeout_ms: the link
 * was dropped with the unregistrations in flight, and all 17,000 registrations were left
 * for the other gateways' sweep (bench/gateway.sh, phase drain). */
#define GW_DRAIN_BATCH 250
/* Part of GW_DRAIN_MS kept for the heartbeat's removal once the unregistrations are done. */
#define GW_DRAIN_STOP_MS 500
#define GW_SWEEP_MIN_MS 50
#define GW_SWEEP_MAX_MS 1000
#define GW_RANDOM_ID_LEN 12
#define GW_FD_RESERVE 64	/* descriptors kept for Redis, PostgreSQL, listeners, logs */

static const lws_retry_bo_t no_idle_policy = { .secs_since_valid_ping = 0,
    .secs_since_valid_hangup = 0 };

/* The libev loop wakes at least this often, to see signals and to run lws' timers (lws_sul),
 * which lws runs when the loop turns: at 100 ms a 31 ms timer fired 100 ms late when idle. */
#define GW_WAKE_S 0.01

/* The event loop: libev's (epoll) when lws can load its libev plugin, else lws' poll. */
static struct ev_loop *ev_loop_;
static ev_timer wake;

static volatile sig_atomic_t stop_signal;
static struct lws_context *signal_ctx;

static void
on_signal(int sig)
{
	stop_signal = sig;
	if (signal_ctx)
		lws_cancel_service(signal_ctx);	/* only writes to lws' wake pipe */
}

static void
on_wake(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop, (void)w, (void)revents;	/* only ends ev_run's wait */
}

/* A loop turn longer than this is logged: every socket and the Redis link waited for it,
 * and a turn past redis_timeout_ms makes a working link look stalled. */
#define GW_SLOW_TURN_MS 250

/* A Redis backlog past gateway_redis_backlog_max (bus_behind) grows the heap by megabytes of
 * command buffers and reply contexts spread among the sockets' own allocations; once it is
 * down to GW_TRIM_AFTER the free pages are given back to the system (malloc_trim), or the
 * process keeps the peak of a connect storm for good. */
#define GW_TRIM_AFTER 64

static void
trim_after_backlog(struct gw *g)
{
	if (!g->bus)
		return;
	if (bus_behind(g->bus))
		g->trim_due = 1;
	else if (g->trim_due && bus_pending(g->bus) <= GW_TRIM_AFTER) {
		g->trim_due = 0;
		malloc_trim(0);
	}
}

/* One turn of the loop: handle what is ready, waiting at most about GW_WAKE_S; then write
 * the call ends the turn gathered, in one statement. */
static int
service(struct gw *g)
{
	int64_t t0 = ns_clock_mono_ms(), took;
	int rc = 0;

	if (!ev_loop_)
		rc = lws_service(g->ctx, 0);
	else
		ev_run(ev_loop_, EVRUN_ONCE);
	callend_flush(g);
	live_reregister_pump(g);
	trim_after_backlog(g);
	if ((took = ns_clock_mono_ms() - t0) > GW_SLOW_TURN_MS)
		ns_log_warn("gateway: a loop turn took %lld ms", (long long)took);
	return rc;
}

static int
callback_sio(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
    size_t len)
{
	struct gw *g = gw_of(wsi);
	struct conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_HTTP:
		return http_serve(g, wsi, in);
	case LWS_CALLBACK_HTTP_CONFIRM_UPGRADE:
		return http_confirm_upgrade(g, wsi);
	case LWS_CALLBACK_ESTABLISHED:
		return conn_established(g, c, wsi);
	case LWS_CALLBACK_RECEIVE:
		return conn_receive(g, c, in, len);
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return conn_writeable(g, c);
	case LWS_CALLBACK_CLOSED:
		conn_closed(g, c);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
	{ "ns-sio", callback_sio, sizeof(struct conn), GW_RX_BUFFER, 0, NULL, GW_TX_PACKET },
	{ BUS_PROTOCOL_NAME, bus_callback, 0, 0, 0, NULL, 0 },
	{ PG_PROTOCOL_NAME, pg_callback, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

static void
sweep(lws_sorted_usec_list_t *sul)
{
	struct gw *g = lws_container_of(sul, struct gw, sweep);

	conn_sweep(g, ns_clock_mono_ms());
	lws_sul_schedule(g->ctx, 0, &g->sweep, sweep, g->sweep_ms * LWS_US_PER_MS);
}

/* The sweep runs often enough to keep every deadline within a quarter of its length. */
static int
sweep_period(const struct ns_config *cfg)
{
	int ms = cfg->ping_interval_ms;

	if (cfg->ping_timeout_ms < ms)
		ms = cfg->ping_timeout_ms;
	if (cfg->connect_timeout_ms < ms)
		ms = cfg->connect_timeout_ms;
	ms /= 4;
	return ms < GW_SWEEP_MIN_MS ? GW_SWEEP_MIN_MS : ms > GW_SWEEP_MAX_MS ? GW_SWEEP_MAX_MS : ms;
}

static void
lws_log_emit(int level, const char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	ns_log(level == LLL_ERR ? NS_LOG_ERR : level == LLL_WARN ? NS_LOG_WARN : NS_LOG_DEBUG,
	    "lws: %.*s", (int)n, line);
}

static void
usage(FILE *out)
{
	fprintf(out, "usage: napalmsky-gateway [--config FILE] [--check-config] [--version]\n");
}

/* A socket whose close has not completed by the half-way mark: hand its registration off
 * now, while the bus still takes commands (conn_closed then skips it). */
static int
hand_off(struct lws_dll2 *d, void *user)
{
	struct conn *c = lws_container_of(d, struct conn, list);

	if (c->authed) {
		live_unregister(user, c);
		c->authed = 0;
	}
	return 0;
}

/* Tell up to GW_DRAIN_BATCH sockets not yet told to go. */
static void
goodbye_batch(struct gw *g)
{
	struct lws_dll2 *d;
	struct conn *c;
	unsigned n = 0;

	for (d = lws_dll2_get_head(&g->conns); d && n < GW_DRAIN_BATCH; d = d->next) {
		c = lws_container_of(d, struct conn, list);
		if (!c->drop_when_sent && !c->close_code) {
			conn_goodbye(g, c);
			n++;
		}
	}
}

/* Refuse new sockets (503 on upgrade and /health, so the proxy sends clients to another
 * gateway) and close every socket with "going away", a transport loss: Socket.IO clients
 * reconnect, and the unregistrations put each user's grace in Redis, where whichever gateway
 * claims it finishes it. Then the heartbeat is deleted and Redis let finish; all within
 * GW_DRAIN_MS. Whatever does not make it out is reaped by the other gateways' dead-gateway
 * sweep (sched.c). */
static void
drain(struct gw *g)
{
	int64_t deadline = ns_clock_mono_ms() + GW_DRAIN_MS;

	g->draining = 1;
	lws_sul_cancel(&g->sweep);
	sched_stop(g);
	while (ns_clock_mono_ms() < deadline - GW_DRAIN_MS / 2 && g->conns.count > 0) {
		goodbye_batch(g);
		if (service(g) < 0)
			break;
	}
	lws_dll2_foreach_safe(&g->conns, g, hand_off);
	/* The unregistrations answered before the link closes: it takes no new commands once
	 * stopping, and what is cut off is left for the other gateways' sweep. */
	while (ns_clock_mono_ms() < deadline - GW_DRAIN_STOP_MS &&
	    (g->conns.count > 0 || (g->bus && bus_is_up(g->bus) && bus_pending(g->bus) > 0))) {
		goodbye_batch(g);	/* those handed off are still told to go */
		if (service(g) < 0)
			break;
	}
	if (g->bus)
		bus_stop(g->bus);
	while (ns_clock_mono_ms() < deadline &&
	    (g->conns.count > 0 || (g->bus && !bus_is_stopped(g->bus)))) {
		goodbye_batch(g);
		if (service(g) < 0)
			break;
	}
}

/* Raise the open-file limit to its hard limit, and keep gateway_max_connections below it,
 * so that a full gateway answers upgrades with 503 (the proxy tries another) instead of
 * failing accept(). */
static void
fit_fd_limit(struct ns_config *cfg)
{
	struct rlimit rl;
	rlim_t room;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rlim_t want = rl.rlim_max;

		rl.rlim_cur = want;
		if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
			getrlimit(RLIMIT_NOFILE, &rl);
	}
	room = rl.rlim_cur > GW_FD_RESERVE ? rl.rlim_cur - GW_FD_RESERVE : 1;
	if (rl.rlim_cur != RLIM_INFINITY && (rlim_t)cfg->gateway_max_connections > room) {
		ns_log_warn("gateway: gateway_max_connections %d lowered to %llu: the open-file "
		    "limit is %llu", cfg->gateway_max_connections, (unsigned long long)room,
		    (unsigned long long)rl.rlim_cur);
		cfg->gateway_max_connections = (int)room;
	}
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct lws_context_creation_info info;
	struct ns_config cfg;
	struct gw g;
	struct sigaction sa;
	const char *config_path = NULL;
	char err[256];
	enum ns_log_level level = NS_LOG_INFO;
	int ch, check = 0, lws_levels;

	while ((ch = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config_path = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'V':
			printf("napalmsky-gateway %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (ns_config_load(&cfg, config_path, err, sizeof(err)) != NS_OK) {
		fprintf(stderr, "napalmsky-gateway: %s\n", err);
		return 1;
	}
	if (check) {
		ns_config_print(&cfg, stdout);
		return 0;
	}
	ns_log_level_parse(cfg.log_level, &level);
	ns_log_init("napalmsky-gateway", 1, level);
	fit_fd_limit(&cfg);

	memset(&g, 0, sizeof(g));
	g.cfg = &cfg;
	g.started_at = ns_clock_now_ms();
	g.sweep_ms = sweep_period(&cfg);
	if (cfg.gateway_id[0])
		snprintf(g.id, sizeof(g.id), "%s", cfg.gateway_id);
	else if (ns_rand_b64url(g.id, GW_RANDOM_ID_LEN) != NS_OK) {
		ns_log_err("gateway: no randomness for the gateway id");
		return 1;
	}

	lws_levels = LLL_ERR | LLL_WARN | (level >= NS_LOG_DEBUG ? LLL_NOTICE : 0);
	lws_set_log_level(lws_levels, lws_log_emit);

	memset(&info, 0, sizeof(info));
	info.port = cfg.gateway_port;
	info.iface = cfg.gateway_host[0] && strcmp(cfg.gateway_host, "0.0.0.0") != 0 ?
	    cfg.gateway_host : NULL;
	info.protocols = protocols;
	info.extensions = pmd_extensions;
	info.user = &g;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 |
	    LWS_SERVER_OPTION_FAIL_UPON_UNABLE_TO_BIND;
	info.timeout_secs = 20;	/* HTTP requests and WebSocket handshakes only */
	/* lws' own check of idle connections reschedules a per-connection timer in a sorted
	 * list on every message received, O(connections) each; Engine.IO's ping/pong
	 * (conn.c) already does that job, so it is off. */
	info.retry_and_idle_policy = &no_idle_policy;
	/* poll(2) costs O(connections) per loop iteration; libev's epoll backend does not.
	 * The loop is ours (lws calls it foreign), so we decide when a turn ends. Without
	 * lws' libev plugin (package libwebsockets-evlib-ev) fall back to poll. */
	void *foreign[1] = { NULL };

	if ((ev_loop_ = ev_loop_new(EVFLAG_AUTO | EVFLAG_NOSIGMASK))) {
		foreign[0] = ev_loop_;
		info.foreign_loops = foreign;
		info.options |= LWS_SERVER_OPTION_LIBEV;
		g.ctx = lws_create_context(&info);
	}
	if (!g.ctx) {
		ns_log_warn("gateway: could not start on the libev loop (libwebsockets-evlib-ev missing?): "
		    "trying poll, which slows down with many connections");
		if (ev_loop_)
			ev_loop_destroy(ev_loop_);
		ev_loop_ = NULL;
		info.foreign_loops = NULL;
		info.options &= ~(uint64_t)LWS_SERVER_OPTION_LIBEV;
		g.ctx = lws_create_context(&info);
	}
	if (ev_loop_) {
		ev_timer_init(&wake, on_wake, GW_WAKE_S, GW_WAKE_S);
		ev_timer_start(ev_loop_, &wake);
	}
	if (!g.ctx) {
		ns_log_err("gateway: cannot listen on %s:%d", cfg.gateway_host, cfg.gateway_port);
		return 1;
	}
	g.vh = lws_get_vhost_by_name(g.ctx, "default");
	signal_ctx = g.ctx;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	g.bus = bus_new(&g, ctl_on_message);
	g.pg = g.bus ? pg_new(&g) : NULL;
	if (!g.pg) {
		bus_free(g.bus);
		lws_context_destroy(g.ctx);
		if (ev_loop_)
			ev_loop_destroy(ev_loop_);
		return 1;
	}
	lws_sul_schedule(g.ctx, 0, &g.sweep, sweep, g.sweep_ms * LWS_US_PER_MS);
	sched_start(&g);
	ns_log_info("gateway %s listening on %s:%d%s", g.id, cfg.gateway_host, cfg.gateway_port,
	    cfg.gateway_path);

	while (!stop_signal)
		if (service(&g) < 0)
			break;

	ns_log_info("gateway %s: stopping (%u sockets)", g.id, (unsigned)g.conns.count);
	drain(&g);
	qfeed_free(&g);
	live_reregister_free(&g);
	conn_index_free(&g);
	callend_shutdown(&g);
	pg_free(g.pg);		/* before the context: both detach their wsis */
	bus_free(g.bus);
	signal_ctx = NULL;
	lws_context_destroy(g.ctx);
	if (ev_loop_) {
		ev_timer_stop(ev_loop_, &wake);
		ev_loop_destroy(ev_loop_);
	}
	ns_log_info("gateway %s: stopped", g.id);
	return 0;
}
