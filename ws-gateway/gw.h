/* gw: the state of one gateway process, reachable from any lws callback through
 * lws_context_user(). */
#ifndef NS_GW_H
#define NS_GW_H
#include <stdint.h>
#include <libwebsockets.h>

#define GW_ID_MAX 64		/* ceiling for the gateway id (same as the config field) */

struct ns_config;
struct bus;
struct pg;
struct qfeed;
struct live_rereg;

struct gw {
	const struct ns_config *cfg;
	struct lws_context *ctx;
	struct lws_vhost *vh;
	struct bus *bus;
	struct pg *pg;			/* session lookups, call-end writes */
	char id[GW_ID_MAX];		/* cfg gateway_id, or random */
	int64_t started_at;		/* wall-clock ms */
	lws_dll2_owner_t conns;		/* every open WebSocket (struct conn) */
	struct conn **sid_index;	/* connected sockets by Socket.IO id (conn.c), lazily made */
	lws_dll2_owner_t jobs;		/* PostgreSQL writes waiting or retrying (callend.c) */
	struct callend_batch *end_batch;	/* this loop turn's call ends (callend.c), or NULL */
	lws_sorted_usec_list_t sched;	/* claims of due timed actions (sched.c) */
	int sched_busy;			/* a claim is in flight */
	lws_sorted_usec_list_t gwcheck;	/* dead-gateway sweep (sched.c) */
	int gwcheck_busy;		/* a sweep is in flight */
	int self_swept;			/* our own leftovers of a previous run are reaped */
	int unghost_busy;		/* our registrations are being read back (sched.c) */
	struct live_rereg *rereg;	/* sockets to register again, a batch a turn (live.c) */
	lws_sorted_usec_list_t sweep;	/* heartbeat and handshake deadlines */
	int sweep_ms;
	int draining;			/* shutting down: refuse new connections */
	int trim_due;			/* a Redis backlog grew the heap: trim it once drained */
	/* qfeed */
	struct qfeed *qfeed;		/* queue feed state, made on first use (qfeed.c) */
	uint64_t qfeed_frames, qfeed_bytes;	/* update frames sent by the feed, their bytes */
	uint64_t qfeed_bcast_bytes;	/* the same changes broadcast to every authed socket */
	uint64_t qfeed_dropped;		/* changes dropped over the feed's ceilings */
};

static inline struct gw *
gw_of(struct lws *wsi)
{
	return lws_context_user(lws_get_context(wsi));
}

#endif
