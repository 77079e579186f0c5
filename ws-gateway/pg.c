/* pg: libpq's non-blocking API on the lws loop.
 *
 * Like the Redis adapter (bus.c), the connection's fd is dup()ed and adopted by lws as a raw
 * file: lws reports readable and writeable, libpq does the protocol. libpq may replace its
 * socket while connecting, so the adoption follows PQsocket(). One query is on the wire at a
 * time; the rest wait in a FIFO. A 100 ms tick does the connect and query timeouts and the
 * reconnects, so a server that vanishes costs the callers one timeout, never a blocked loop. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsconfig.h"
#include "clock.h"
#include "log.h"
#include "gw.h"
#include "metrics.h"
#include "pg.h"

#define PG_TICK_MS 100
#define PG_BACKOFF_MIN_MS 250
#define PG_BACKOFF_MAX_MS 2000
#define PG_TIMEOUT_SLACK_MS 1000	/* past the server's statement_timeout: the link is stuck */
#define PG_OPTIONS_MAX 80		/* "-c statement_timeout=N -c enable_seqscan=off" */
#define PG_ERROR_MAX 256		/* the part of a libpq error message that is logged */
#define PG_STMTS_MAX 8			/* statements prepared per connection (callers have 4) */
#define PG_STMT_NAME_MAX 8		/* "s" and an index */

enum pg_state { PG_DOWN, PG_CONNECTING, PG_READY };

struct pg_req {
	struct pg_req *next;
	pg_result_fn fn;		/* NULL: forgotten */
	void *arg;
	const char *sql;
	int nparams;
	const char *params[PG_PARAMS_MAX];	/* into buf, or NULL */
	char buf[];
};

struct pg_link {
	struct gw *g;
	PGconn *conn;
	struct lws *wsi;		/* the adopted dup of PQsocket() */
	int fd;				/* PQsocket() that wsi mirrors */
	enum pg_state state;
	PostgresPollingStatusType polling;
	struct pg_req *head, *tail;	/* head is on the wire when busy */
	unsigned count;
	int busy;
	int failed;			/* the query on the wire got an error result */
	int broken;			/* lws closed the socket: drop on the next tick */
	int reader;			/* carries the reads (pg_read), planned without seq scans */
	PGresult *result;		/* first result of the query on the wire */
	/* Statements prepared on this connection, by the address of their (static) text:
	 * parsing and planning each time cost 2.0-2.7 ms for the call-end statement (a dozen
	 * CTEs) against 0.6-0.9 ms prepared, and 0.34 against 0.06 ms for the invite check
	 * (pgbench). */
	const char *prepared[PG_STMTS_MAX];
	int nprepared;
	int preparing;			/* the command on the wire prepares the head's statement */
	int64_t since;			/* monotonic ms: connect start, or query sent */
	int64_t retry_at;
	int backoff_ms;
	lws_sorted_usec_list_t tick;
};

static void send_next(struct pg_link *p);

/* libpq's message without its trailing newline. */
static const char *
pg_error(const struct pg_link *p, char *buf, size_t cap)
{
	size_t n;

	snprintf(buf, cap, "%s", p->conn ? PQerrorMessage(p->conn) : "no connection");
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return buf;
}

static void
detach(struct pg_link *p)
{
	if (p->wsi) {
		lws_set_wsi_user(p->wsi, NULL);
		lws_set_timeout(p->wsi, PENDING_TIMEOUT_KILLED_BY_PARENT, LWS_TO_KILL_ASYNC);
		p->wsi = NULL;
	}
	p->fd = -1;
}

/* Mirror PQsocket() in lws (after a connect, or when libpq switched sockets). */
static int
adopt(struct pg_link *p)
{
	lws_sock_file_fd_type fd;
	int s = PQsocket(p->conn);

	if (s == p->fd && p->wsi)
		return 0;
	detach(p);
	if (s < 0)
		return -1;
	fd.filefd = fcntl(s, F_DUPFD_CLOEXEC, 0);
	if (fd.filefd < 0)
		return -1;
	/* On failure lws closes the dup itself. */
	p->wsi = lws_adopt_descriptor_vhost(p->g->vh, LWS_ADOPT_RAW_FILE_DESC, fd,
	    PG_PROTOCOL_NAME, NULL);
	if (!p->wsi)
		return -1;
	lws_set_wsi_user(p->wsi, p);
	p->fd = s;
	return 0;
}

/* Close the connection and fail everything queued; reconnect after the backoff. */
static void
drop(struct pg_link *p, const char *why)
{
	struct pg_req *r, *next;
	char err[PG_ERROR_MAX];
	int64_t now = ns_clock_mono_ms();

	if (p->conn && why) {
		ns_log_warn("gateway: postgres: %s: %s", why, pg_error(p, err, sizeof(err)));
		metrics_inc(METRICS_PG_ERRORS);
	}
	detach(p);
	if (p->conn)
		PQfinish(p->conn);
	p->conn = NULL;
	p->state = PG_DOWN;
	PQclear(p->result);
	p->result = NULL;
	p->busy = p->failed = p->broken = p->preparing = p->nprepared = 0;
	p->retry_at = now + p->backoff_ms;
	p->backoff_ms = p->backoff_ms * 2 > PG_BACKOFF_MAX_MS ? PG_BACKOFF_MAX_MS :
	    p->backoff_ms * 2;
	/* Detach the list first: a callback may queue again (refused while backing off). */
	r = p->head;
	p->head = p->tail = NULL;
	p->count = 0;
	for (; r; r = next) {
		next = r->next;
		if (r->fn)
			r->fn(p->g, NULL, r->arg);
		free(r);
	}
}

static int
pg_connect(struct pg_link *p)
{
	static const char *const keys[] = { "dbname", "options", "application_name",
	    "connect_timeout", NULL };
	const struct ns_config *cfg = p->g->cfg;
	char opts[PG_OPTIONS_MAX], cto[16];
	const char *vals[5];

	/* A read's plan is made once, at its first use on the connection, and kept while the
	 * table grows: made on a nearly empty cooldowns table it was a sequential scan, which
	 * every invite then paid for until autovacuum's next analyze. The reads are lookups by
	 * key, so their connections never plan one. (The writes are left to the planner: the
	 * call-end statement ran 10 % slower with the setting.) */
	snprintf(opts, sizeof(opts), "-c statement_timeout=%d%s", cfg->db_statement_timeout_ms,
	    p->reader ? " -c enable_seqscan=off" : "");
	snprintf(cto, sizeof(cto), "%d", cfg->db_connect_timeout_s);
	vals[0] = cfg->database_url;
	vals[1] = opts;
	vals[2] = "napalmsky-gateway";
	vals[3] = cto;
	vals[4] = NULL;
	p->conn = PQconnectStartParams(keys, vals, 1);
	if (!p->conn || PQstatus(p->conn) == CONNECTION_BAD ||
	    PQsetnonblocking(p->conn, 1) != 0) {
		drop(p, "connect failed");	/* logged and counted when libpq says why */
		return -1;
	}
	p->state = PG_CONNECTING;
	p->polling = PGRES_POLLING_WRITING;	/* what libpq says to do first */
	p->since = ns_clock_mono_ms();
	if (adopt(p) < 0) {
		drop(p, "cannot watch the socket");
		return -1;
	}
	lws_callback_on_writable(p->wsi);
	return 0;
}

static void
connect_step(struct pg_link *p)
{
	p->polling = PQconnectPoll(p->conn);
	if (p->polling == PGRES_POLLING_FAILED) {
		drop(p, "connect failed");
		return;
	}
	if (adopt(p) < 0) {
		drop(p, "cannot watch the socket");
		return;
	}
	if (p->polling == PGRES_POLLING_OK) {
		p->state = PG_READY;
		p->backoff_ms = PG_BACKOFF_MIN_MS;
		ns_log_info("gateway: postgres up");
		send_next(p);
	} else if (p->polling == PGRES_POLLING_WRITING)
		lws_callback_on_writable(p->wsi);
}

/* Send failures only mark the link broken: the tick drops it. Failing the queue here could
 * call back into a caller still inside pg_query(). */
static void
flush(struct pg_link *p)
{
	int rc = PQflush(p->conn);

	if (rc < 0)
		p->broken = 1;
	else if (rc > 0)
		lws_callback_on_writable(p->wsi);
}

static void
send_next(struct pg_link *p)
{
	char name[PG_STMT_NAME_MAX];
	struct pg_req *r;
	int i, ok;

	if (p->state != PG_READY || p->busy || p->broken)
		return;
	/* Forgotten queries not yet sent are not worth running. */
	while ((r = p->head) && !r->fn) {
		p->head = r->next;
		if (!p->head)
			p->tail = NULL;
		p->count--;
		free(r);
	}
	if (!r)
		return;
	for (i = 0; i < p->nprepared && p->prepared[i] != r->sql; i++)
		;
	snprintf(name, sizeof(name), "s%d", i);
	if (i < p->nprepared)
		ok = PQsendQueryPrepared(p->conn, name, r->nparams, r->params, NULL, NULL, 0);
	else if (i < PG_STMTS_MAX)
		ok = p->preparing = PQsendPrepare(p->conn, name, r->sql, 0, NULL);
	else
		ok = PQsendQueryParams(p->conn, r->sql, r->nparams, NULL, r->params, NULL, NULL, 0);
	if (!ok) {
		p->broken = 1;
		return;
	}
	p->busy = 1;
	p->failed = 0;
	p->since = ns_clock_mono_ms();
	flush(p);
}

/* Collect what libpq has parsed; complete the query on the wire when its last result is in. */
static void
receive(struct pg_link *p)
{
	char err[PG_ERROR_MAX];
	PGresult *res;
	struct pg_req *r;
	ExecStatusType st;

	if (!PQconsumeInput(p->conn)) {
		drop(p, "connection lost");
		return;
	}
	while (p->conn && p->busy && !PQisBusy(p->conn)) {
		res = PQgetResult(p->conn);
		if (res) {
			st = PQresultStatus(res);
			if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
				ns_log_err("gateway: postgres: query failed: %s",
				    pg_error(p, err, sizeof(err)));
				metrics_inc(METRICS_PG_ERRORS);
				p->failed = 1;
			}
			if (!p->result)
				p->result = res;
			else
				PQclear(res);
			continue;
		}
		/* A prepare done: now the query itself (a failed one fails the query below). */
		if (p->preparing) {
			p->preparing = 0;
			p->busy = 0;
			if (!p->failed) {
				PQclear(p->result);
				p->result = NULL;
				p->prepared[p->nprepared++] = p->head->sql;
				send_next(p);
				continue;
			}
		}
		r = p->head;
		p->head = r->next;
		if (!p->head)
			p->tail = NULL;
		p->count--;
		p->busy = 0;
		res = p->result;
		p->result = NULL;
		if (r->fn)
			r->fn(p->g, p->failed ? NULL : res, r->arg);
		PQclear(res);
		free(r);
		send_next(p);
	}
	if (p->conn && PQstatus(p->conn) == CONNECTION_BAD)
		drop(p, "connection lost");
}

static void
pg_tick(lws_sorted_usec_list_t *sul)
{
	struct pg_link *p = lws_container_of(sul, struct pg_link, tick);
	const struct ns_config *cfg = p->g->cfg;
	int64_t now = ns_clock_mono_ms();

	if (p->broken)
		drop(p, "connection failed");
	else if (p->state == PG_CONNECTING && now - p->since > cfg->db_connect_timeout_s * 1000LL)
		drop(p, "connect timeout");
	else if (p->busy && now - p->since > cfg->db_statement_timeout_ms + PG_TIMEOUT_SLACK_MS)
		drop(p, "query timeout");
	/* Keep a connection ready, so the first handshake after an outage does not wait. */
	if (p->state == PG_DOWN && now >= p->retry_at)
		pg_connect(p);
	lws_sul_schedule(p->g->ctx, 0, &p->tick, pg_tick, PG_TICK_MS * LWS_US_PER_MS);
}

/* The pool: PG_WRITERS links for the writes, the rest for the reads; a query goes to the
 * least busy link of its kind. The writes need no order between them: each is one
 * idempotent transaction (callend.c), cooldowns only ever move to the later expiry, and the
 * users rows are locked while a call's metrics change. One link for all writes advanced one
 * query per turn of a loaded event loop: end→finalized waited 460 ms at 310 flows/s. */
struct pg {
	struct pg_link link[PG_LINKS];
};

static void
link_init(struct pg_link *p, struct gw *g, int reader)
{
	p->g = g;
	p->reader = reader;
	p->fd = -1;
	p->backoff_ms = PG_BACKOFF_MIN_MS;
	pg_connect(p);
	lws_sul_schedule(g->ctx, 0, &p->tick, pg_tick, PG_TICK_MS * LWS_US_PER_MS);
}

struct pg *
pg_new(struct gw *g)
{
	struct pg *pool = calloc(1, sizeof(*pool));
	int i;

	if (!pool)
		return NULL;
	for (i = 0; i < PG_LINKS; i++)
		link_init(&pool->link[i], g, i >= PG_WRITERS);
	return pool;
}

void
pg_free(struct pg *pool)
{
	int i;

	if (!pool)
		return;
	for (i = 0; i < PG_LINKS; i++) {
		lws_sul_cancel(&pool->link[i].tick);
		drop(&pool->link[i], NULL);
	}
	free(pool);
}

static struct pg_req *
link_query(struct pg_link *p, const char *sql, int nparams, const char *const *params,
    pg_result_fn fn, void *arg)
{
	struct pg_req *r;
	size_t need = 0, n;
	char *at;
	int i;

	if (nparams < 0 || nparams > PG_PARAMS_MAX || p->count >= PG_QUEUE_MAX)
		return NULL;
	if (p->state == PG_DOWN && (ns_clock_mono_ms() < p->retry_at || pg_connect(p) < 0))
		return NULL;
	for (i = 0; i < nparams; i++)
		if (params[i])
			need += strlen(params[i]) + 1;
	if (!(r = calloc(1, sizeof(*r) + need)))
		return NULL;
	r->fn = fn;
	r->arg = arg;
	r->sql = sql;
	r->nparams = nparams;
	for (i = 0, at = r->buf; i < nparams; i++) {
		if (!params[i])
			continue;
		n = strlen(params[i]) + 1;
		memcpy(at, params[i], n);
		r->params[i] = at;
		at += n;
	}
	if (p->tail)
		p->tail->next = r;
	else
		p->head = r;
	p->tail = r;
	p->count++;
	send_next(p);
	return r;
}

void
pg_forget(struct pg_req *r)
{
	if (r)
		r->fn = NULL;
}

/* The least busy connection that is ready, else the least busy one at all (it connects on
 * demand, or refuses while it backs off). */
static struct pg_link *
least_busy(struct pg *pool, int from, int to)
{
	struct pg_link *best = NULL, *p;
	int i, ready = 0;

	for (i = from; i < to; i++) {
		p = &pool->link[i];
		if (p->state == PG_READY && (!ready || p->count < best->count)) {
			best = p;
			ready = 1;
		} else if (!ready && (!best || p->count < best->count))
			best = p;
	}
	return best;
}

struct pg_req *
pg_query(struct pg *pool, const char *sql, int nparams, const char *const *params,
    pg_result_fn fn, void *arg)
{
	return link_query(least_busy(pool, 0, PG_WRITERS), sql, nparams, params, fn, arg);
}

struct pg_req *
pg_read(struct pg *pool, const char *sql, int nparams, const char *const *params,
    pg_result_fn fn, void *arg)
{
	return link_query(least_busy(pool, PG_WRITERS, PG_LINKS), sql, nparams, params, fn, arg);
}

int
pg_is_up(const struct pg *pool)
{
	return pool && pool->link[0].state == PG_READY;
}

int
pg_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
    size_t len)
{
	struct pg_link *p = lws_wsi_user(wsi);

	(void)user;
	(void)in;
	(void)len;
	if (!p || p->wsi != wsi)
		return 0;
	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (p->state == PG_CONNECTING && p->polling == PGRES_POLLING_READING)
			connect_step(p);
		else if (p->state == PG_READY)
			receive(p);
		break;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (p->state == PG_CONNECTING && p->polling == PGRES_POLLING_WRITING)
			connect_step(p);
		else if (p->state == PG_READY)
			flush(p);
		break;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		/* lws closed its copy (hangup): libpq's own socket must follow. */
		p->wsi = NULL;
		p->broken = 1;
		break;
	default:
		break;
	}
	return 0;
}
