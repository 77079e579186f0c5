/* db: PostgreSQL over libpq. Parameterised statements only; a statement timeout on every
 * connection; a broken connection is re-opened on the next call, so the workers survive a
 * server restart; an optional read replica serves reads. */
#ifndef NS_DB_H
#define NS_DB_H
#include <stdint.h>
#include <libpq-fe.h>
#include "err.h"

struct ns_db;	/* opaque: primary connection plus optional replica */

/* Nothing is connected yet: the first call connects, so a worker starts even while
 * PostgreSQL is down and answers 503 until it is back. read_url may be NULL or "". */
struct ns_db *ns_db_new(const char *url, const char *read_url, int statement_timeout_ms,
    int connect_timeout_s);
void ns_db_free(struct ns_db *db);

/* Run one parameterised statement on the primary (text params; NULL entry = SQL NULL).
 * Returns the result (PGRES_COMMAND_OK or PGRES_TUPLES_OK) or NULL with *err set:
 * NS_E_DB when unreachable (after one reconnect attempt, never inside a transaction),
 * NS_E_TIMEOUT on statement timeout, NS_E_CONFLICT on a unique violation,
 * NS_E_BAD_REQUEST on a check/foreign-key violation, NS_E_INTERNAL otherwise.
 * The caller PQclear()s the result. */
PGresult *ns_db_exec(struct ns_db *db, const char *sql, int nparams,
    const char *const *params, enum ns_err *err);
/* Same, on the replica when configured and healthy, else the primary. */
PGresult *ns_db_read(struct ns_db *db, const char *sql, int nparams,
    const char *const *params, enum ns_err *err);

/* The same two as named prepared statements, for hot queries: planned once per connection
 * (prepared on first use, and again after a reconnect), then only executed. name is a
 * static string unique per sql text (at most NS_DB_PREPARED_MAX names per process). */
#define NS_DB_PREPARED_MAX 32
PGresult *ns_db_exec_prepared(struct ns_db *db, const char *name, const char *sql,
    int nparams, const char *const *params, enum ns_err *err);
PGresult *ns_db_read_prepared(struct ns_db *db, const char *name, const char *sql,
    int nparams, const char *const *params, enum ns_err *err);

enum ns_err ns_db_begin(struct ns_db *db);
enum ns_err ns_db_commit(struct ns_db *db);
void ns_db_rollback(struct ns_db *db);

/* Column readers for result rows: text or NULL; integer (NULL → 0); boolean ('t'). */
const char *ns_db_col(const PGresult *res, int row, int col);
int64_t ns_db_col_int(const PGresult *res, int row, int col);
int ns_db_col_bool(const PGresult *res, int row, int col);

/* "{id,id,...}", the text of a uuid[] parameter, of n canonical UUIDs (the caller checked
 * them); malloc'd, NULL when out of memory. */
char *ns_db_uuid_array(const char *const *ids, size_t n);

/* SELECT 1 on the primary; *latency_ms gets the round trip. */
enum ns_err ns_db_ping(struct ns_db *db, double *latency_ms);
/* Text of the last libpq error (for logs and /health), never NULL. */
const char *ns_db_last_error(const struct ns_db *db);

#endif
