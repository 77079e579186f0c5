/* metrics: the gateway's counters and its Prometheus text page (GET /metrics on the gateway
 * port, for addresses in metrics_allow). One process, one thread: plain counters. Names are
 * prefixed napalmsky_gateway_ and labelled with the gateway id, so the pages of several
 * gateways can be scraped side by side. */
#ifndef NS_GW_METRICS_H
#define NS_GW_METRICS_H
#include <stddef.h>
#include <stdint.h>

struct gw;

enum metrics_counter {
	METRICS_CONN_OPENED,		/* WebSocket established */
	METRICS_CONN_CLOSED,
	METRICS_CLOSE_SLOW_CONSUMER,	/* send queue over send_queue_max */
	METRICS_CLOSE_RATE_LIMITED,	/* over socket_events_per_second */
	METRICS_CLOSE_PROTOCOL,		/* unparsable, binary or oversize messages */
	METRICS_CLOSE_PING_TIMEOUT,
	METRICS_CLOSE_CONNECT_TIMEOUT,
	METRICS_REFUSED_CAPACITY,	/* upgrade answered 503: at gateway_max_connections */
	METRICS_REFUSED_DRAINING,
	METRICS_REFUSED_BACKLOG,	/* upgrade answered 503: Redis behind (bus_behind) */
	METRICS_REFUSED_OTHER,		/* wrong path, query or origin */
	METRICS_FRAMES_SENT,
	METRICS_BYTES_SENT,
	METRICS_EVENTS_UNKNOWN,		/* event names with no handler */
	METRICS_REDIS_ERRORS,		/* error replies and lost links */
	METRICS_PG_ERRORS,
	METRICS_COUNTERS
};

void metrics_inc(enum metrics_counter which);
void metrics_add(enum metrics_counter which, uint64_t n);
/* One client event handled; index and name from the dispatch table (events.c). */
void metrics_event(size_t index, const char *name);
/* One Redis command's round trip on the command link, in µs. */
void metrics_redis_latency(int64_t us);

/* Where a relayed frame (rtc:*, room:chat, room:socialShared) was delivered from. */
enum metrics_relay_path {
	METRICS_RELAY_LOCAL,	/* to a socket of the receiving gateway: monotonic clock */
	METRICS_RELAY_REMOTE,	/* over Redis from another gateway: wall clocks, so across
				 * hosts it includes their offset */
	METRICS_RELAY_PATHS
};
/* One relayed frame queued to its socket, µs after its event arrived at a gateway. */
void metrics_relay_latency(enum metrics_relay_path path, int64_t us);

/* The page for GET /metrics; the caller frees it. NULL when out of memory. */
char *metrics_render(struct gw *g, size_t *len);

#endif
