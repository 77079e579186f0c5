/* metrics: see metrics.h. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conn.h"
#include "gw.h"
#include "metrics.h"
#include "qfeed.h"

#define METRICS_EVENTS_MAX 32		/* handlers in events.c; more are counted as unknown */
#define METRICS_PAGE_MAX (64 * 1024)	/* ceiling of the rendered page */
#define METRICS_STATM "/proc/self/statm"

static uint64_t counters[METRICS_COUNTERS];
static uint64_t event_counts[METRICS_EVENTS_MAX];
static const char *event_names[METRICS_EVENTS_MAX];

/* Latency histograms, seconds (cumulative buckets, as Prometheus wants them). */
static const double latency_le[] = { 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
    0.025, 0.05, 0.1, 0.25, 1 };
#define LATENCY_BUCKETS (sizeof(latency_le) / sizeof(latency_le[0]))

struct histogram {
	uint64_t bucket[LATENCY_BUCKETS];
	uint64_t count;
	double sum;
};

static struct histogram redis_rtt;
static struct histogram relay[METRICS_RELAY_PATHS];
static const char *const relay_paths[METRICS_RELAY_PATHS] = { "local", "remote" };

void
metrics_inc(enum metrics_counter which)
{
	counters[which]++;
}

void
metrics_add(enum metrics_counter which, uint64_t n)
{
	counters[which] += n;
}

void
metrics_event(size_t index, const char *name)
{
	if (index >= METRICS_EVENTS_MAX) {
		counters[METRICS_EVENTS_UNKNOWN]++;
		return;
	}
	event_names[index] = name;
	event_counts[index]++;
}

static void
observe(struct histogram *h, int64_t us)
{
	double s = us > 0 ? (double)us / 1e6 : 0;
	size_t i;

	for (i = 0; i < LATENCY_BUCKETS; i++)
		if (s <= latency_le[i])
			h->bucket[i]++;
	h->count++;
	h->sum += s;
}

void
metrics_redis_latency(int64_t us)
{
	observe(&redis_rtt, us);
}

void
metrics_relay_latency(enum metrics_relay_path path, int64_t us)
{
	if (path < METRICS_RELAY_PATHS)
		observe(&relay[path], us);
}

struct page {
	char *buf;
	size_t len, cap;
	int full;
};

static void put(struct page *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
put(struct page *p, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(p->buf + p->len, p->cap - p->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= p->cap - p->len)
		p->full = 1;
	else
		p->len += (size_t)n;
}

static void
counter(struct page *p, const char *gw, const char *name, const char *help, uint64_t v)
{
	put(p, "# HELP napalmsky_gateway_%s %s\n# TYPE napalmsky_gateway_%s counter\n"
	    "napalmsky_gateway_%s{gateway=\"%s\"} %llu\n", name, help, name, name, gw,
	    (unsigned long long)v);
}

static void
gauge(struct page *p, const char *gw, const char *name, const char *help, uint64_t v)
{
	put(p, "# HELP napalmsky_gateway_%s %s\n# TYPE napalmsky_gateway_%s gauge\n"
	    "napalmsky_gateway_%s{gateway=\"%s\"} %llu\n", name, help, name, name, gw,
	    (unsigned long long)v);
}

struct reason {
	const char *label;
	enum metrics_counter counter;
};

static const struct reason forced_closes[] = {
	{ "slow_consumer", METRICS_CLOSE_SLOW_CONSUMER },
	{ "rate_limited", METRICS_CLOSE_RATE_LIMITED },
	{ "protocol", METRICS_CLOSE_PROTOCOL },
	{ "ping_timeout", METRICS_CLOSE_PING_TIMEOUT },
	{ "connect_timeout", METRICS_CLOSE_CONNECT_TIMEOUT },
	{ NULL, 0 }
};

static const struct reason refusals[] = {
	{ "capacity", METRICS_REFUSED_CAPACITY },
	{ "draining", METRICS_REFUSED_DRAINING },
	{ "redis_behind", METRICS_REFUSED_BACKLOG },
	{ "bad_request", METRICS_REFUSED_OTHER },
	{ NULL, 0 }
};

/* One counter family with a "reason" label. */
static void
labelled(struct page *p, const char *gw, const char *name, const char *help,
    const struct reason *r)
{
	put(p, "# HELP napalmsky_gateway_%s %s\n# TYPE napalmsky_gateway_%s counter\n", name, help,
	    name);
	for (; r->label; r++)
		put(p, "napalmsky_gateway_%s{gateway=\"%s\",reason=\"%s\"} %llu\n", name, gw,
		    r->label, (unsigned long long)counters[r->counter]);
}

/* The series of one histogram; labels is "" or ",name=\"value\"…". */
static void
histogram(struct page *p, const char *name, const char *gw, const char *labels,
    const struct histogram *h)
{
	size_t i;

	for (i = 0; i < LATENCY_BUCKETS; i++)
		put(p, "napalmsky_gateway_%s_bucket{gateway=\"%s\"%s,le=\"%g\"} %llu\n", name, gw,
		    labels, latency_le[i], (unsigned long long)h->bucket[i]);
	put(p, "napalmsky_gateway_%s_bucket{gateway=\"%s\"%s,le=\"+Inf\"} %llu\n"
	    "napalmsky_gateway_%s_sum{gateway=\"%s\"%s} %.6f\n"
	    "napalmsky_gateway_%s_count{gateway=\"%s\"%s} %llu\n",
	    name, gw, labels, (unsigned long long)h->count, name, gw, labels, h->sum, name, gw,
	    labels, (unsigned long long)h->count);
}

struct tally {
	uint64_t authed, queued_bytes, queued_max;
};

static int
tally_one(struct lws_dll2 *d, void *user)
{
	struct tally *t = user;
	struct conn *c = lws_container_of(d, struct conn, list);

	t->authed += c->authed;
	t->queued_bytes += c->queued;
	if (c->queued > t->queued_max)
		t->queued_max = c->queued;
	return 0;
}

static uint64_t
resident_bytes(void)
{
	unsigned long long size, rss;
	FILE *f = fopen(METRICS_STATM, "r");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "%llu %llu", &size, &rss);
	fclose(f);
	return n == 2 ? rss * (uint64_t)sysconf(_SC_PAGESIZE) : 0;
}

char *
metrics_render(struct gw *g, size_t *len)
{
	struct page p = { .cap = METRICS_PAGE_MAX };
	struct tally t = { 0 };
	struct qfeed_stats q;
	const char *id = g->id;
	size_t i;

	if (!(p.buf = malloc(p.cap)))
		return NULL;
	lws_dll2_foreach_safe(&g->conns, &t, tally_one);

	gauge(&p, id, "connections", "Open WebSocket connections.", g->conns.count);
	gauge(&p, id, "authenticated_connections", "Connections bound to a user.", t.authed);
	gauge(&p, id, "send_queue_bytes", "Bytes waiting in all send queues.", t.queued_bytes);
	gauge(&p, id, "send_queue_max_bytes", "The longest send queue, in bytes.", t.queued_max);
	gauge(&p, id, "db_jobs", "PostgreSQL writes waiting or retrying.", g->jobs.count);
	gauge(&p, id, "resident_memory_bytes", "Resident set size of the process.",
	    resident_bytes());
	gauge(&p, id, "draining", "1 while shutting down.", (uint64_t)g->draining);
	counter(&p, id, "connections_opened_total", "WebSocket connections established.",
	    counters[METRICS_CONN_OPENED]);
	counter(&p, id, "connections_closed_total", "WebSocket connections closed, any reason.",
	    counters[METRICS_CONN_CLOSED]);

	labelled(&p, id, "forced_closes_total", "Connections the gateway closed, by reason.",
	    forced_closes);
	labelled(&p, id, "upgrades_refused_total", "WebSocket upgrades refused, by reason.",
	    refusals);

	counter(&p, id, "frames_sent_total", "WebSocket messages queued to clients.",
	    counters[METRICS_FRAMES_SENT]);
	counter(&p, id, "bytes_sent_total", "Bytes of those messages (before compression).",
	    counters[METRICS_BYTES_SENT]);

	put(&p, "# HELP napalmsky_gateway_events_total Client events handled, by name.\n"
	    "# TYPE napalmsky_gateway_events_total counter\n");
	for (i = 0; i < METRICS_EVENTS_MAX; i++)
		if (event_names[i])
			put(&p, "napalmsky_gateway_events_total{gateway=\"%s\",event=\"%s\"} %llu\n",
			    id, event_names[i], (unsigned long long)event_counts[i]);
	qfeed_stats(g, &q);
	counter(&p, id, "queue_feed_frames_total", "presence:update and queue:update frames sent.",
	    q.frames);
	counter(&p, id, "queue_feed_bytes_total", "Bytes of those frames.", q.bytes);
	counter(&p, id, "queue_feed_broadcast_equivalent_bytes_total",
	    "Bytes a broadcast of every change to every authenticated socket would have sent.",
	    q.bcast_bytes);
	counter(&p, id, "queue_feed_dropped_total", "Changes dropped over the feed's ceilings.",
	    q.dropped);
	counter(&p, id, "events_unknown_total", "Client events with no handler (ignored).",
	    counters[METRICS_EVENTS_UNKNOWN]);
	counter(&p, id, "redis_errors_total", "Redis error replies and lost links.",
	    counters[METRICS_REDIS_ERRORS]);
	counter(&p, id, "pg_errors_total", "PostgreSQL connection and query failures.",
	    counters[METRICS_PG_ERRORS]);

	put(&p, "# HELP napalmsky_gateway_redis_seconds Round trip of Redis commands (every "
	    "event's script, relays included).\n# TYPE napalmsky_gateway_redis_seconds histogram\n");
	histogram(&p, "redis_seconds", id, "", &redis_rtt);
	put(&p, "# HELP napalmsky_gateway_relay_seconds From a relayed event's arrival at a "
	    "gateway to its frame queued to each receiving socket, by path.\n"
	    "# TYPE napalmsky_gateway_relay_seconds histogram\n");
	for (i = 0; i < METRICS_RELAY_PATHS; i++) {
		char label[32];

		snprintf(label, sizeof(label), ",path=\"%s\"", relay_paths[i]);
		histogram(&p, "relay_seconds", id, label, &relay[i]);
	}

	if (p.full) {
		free(p.buf);
		return NULL;
	}
	*len = p.len;
	return p.buf;
}
