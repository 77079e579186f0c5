/* pg: PostgreSQL on the lws loop (libpq's non-blocking API, its sockets adopted by lws as raw
 * files). PG_LINKS connections per gateway, each with a FIFO of queries, one on the wire at a
 * time: PG_WRITERS of them for the writes (pg_query), the others for the reads (pg_read); a
 * query goes to the least busy one of its kind, as a statement that connection prepared.
 * A failed or stalled connection fails every queued query and is re-made on demand, with
 * backoff; while it backs off new queries fail at once, so callers never wait on a dead server. */
#ifndef NS_PG_H
#define NS_PG_H
#include <libpq-fe.h>
#include <libwebsockets.h>

#define PG_PROTOCOL_NAME "ns-pg"
#define PG_PARAMS_MAX 4		/* parameters of one query */
#define PG_QUEUE_MAX 1024	/* queries waiting per connection; beyond that a query is refused */
#define PG_LINKS 4		/* connections per gateway */
#define PG_WRITERS 2		/* of which carry the writes */

struct gw;
struct pg;
struct pg_req;

/* The outcome of one query: res is PGRES_TUPLES_OK or PGRES_COMMAND_OK, or NULL when the
 * query failed (server down, timeout, SQL error). res is freed after the call returns. */
typedef void (*pg_result_fn)(struct gw *g, const PGresult *res, void *arg);

struct pg *pg_new(struct gw *g);
void pg_free(struct pg *p);

/* Queue a parameterised write (text params, copied; NULL = SQL NULL). sql must be static:
 * each connection prepares it on first use and knows it by its address.
 * Returns a handle for pg_forget, or NULL when it cannot be queued (then fn is not called). */
struct pg_req *pg_query(struct pg *p, const char *sql, int nparams, const char *const *params,
    pg_result_fn fn, void *arg);
/* The same for a read (a lookup by key), in any order with other queries. */
struct pg_req *pg_read(struct pg *p, const char *sql, int nparams, const char *const *params,
    pg_result_fn fn, void *arg);
/* The caller is gone: the query still runs, but fn is not called. */
void pg_forget(struct pg_req *r);

int pg_is_up(const struct pg *p);

/* The lws protocol callback for the adopted socket (name PG_PROTOCOL_NAME). */
int pg_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
    size_t len);

#endif
