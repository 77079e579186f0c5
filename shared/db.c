/* db: libpq with lazy connect, one transparent reconnect outside transactions, SQLSTATE
 * mapping to ns_err, and reads that prefer a replica but never depend on it. */
#include <config.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "clock.h"
#include "db.h"
#include "log.h"
#include "rand.h"

#define DB_ERR_MAX 512
#define DB_OPT_MAX 64			/* "-c statement_timeout=N" */
#define DB_NUM_MAX 16			/* an int as text */
#define DB_REPLICA_RETRY_MS 5000	/* after a replica failure, use the primary this long */
#define DB_SQLSTATE_NO_STMT "26000"	/* the server no longer knows a prepared name */

/* Names prepared on one connection; emptied whenever the connection is (re)opened. Names
 * are static strings from the callers, compared by content. */
struct prepared {
	const char *name[NS_DB_PREPARED_MAX];
	int n;
};

struct ns_db {
	char *url, *read_url;		/* read_url NULL when there is no replica */
	char timeout_opt[DB_OPT_MAX];
	char connect_timeout[DB_NUM_MAX];
	PGconn *primary, *replica;
	struct prepared prep_primary, prep_replica;	/* what each connection has prepared */
	int in_tx;			/* between ns_db_begin and commit/rollback */
	int down;			/* primary logged as unreachable */
	int64_t replica_fail_ms;	/* monotonic time of the last replica failure */
	char err[DB_ERR_MAX];
};

static void
set_err(struct ns_db *db, const char *msg)
{
	size_t i, o = 0;
	int space = 0;

	if (msg == NULL || msg[0] == '\0')
		msg = "unknown error";
	/* libpq messages span several lines with tab indents: fold them onto one line. */
	for (i = 0; msg[i] != '\0' && o + 1 < sizeof db->err; i++) {
		if (msg[i] == '\n' || msg[i] == '\t' || msg[i] == ' ') {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < sizeof db->err)
			db->err[o++] = ' ';
		space = 0;
		db->err[o++] = msg[i];
	}
	db->err[o] = '\0';
}

/* Server notices (e.g. "table does not exist, skipping") are not errors: debug log only. */
static void
on_notice(void *arg, const char *message)
{
	char line[DB_ERR_MAX];

	(void)arg;
	snprintf(line, sizeof line, "%s", message);
	line[strcspn(line, "\n")] = '\0';
	ns_log_debug("db: %s", line);
}

struct ns_db *
ns_db_new(const char *url, const char *read_url, int statement_timeout_ms, int connect_timeout_s)
{
	struct ns_db *db = calloc(1, sizeof *db);

	if (db == NULL)
		return NULL;
	db->url = strdup(url != NULL ? url : "");
	db->read_url = read_url != NULL && read_url[0] != '\0' ? strdup(read_url) : NULL;
	if (db->url == NULL || (read_url != NULL && read_url[0] != '\0' && db->read_url == NULL)) {
		ns_db_free(db);
		return NULL;
	}
	snprintf(db->timeout_opt, sizeof db->timeout_opt, "-c statement_timeout=%d",
	    statement_timeout_ms > 0 ? statement_timeout_ms : 0);
	snprintf(db->connect_timeout, sizeof db->connect_timeout, "%d",
	    connect_timeout_s > 0 ? connect_timeout_s : 3);
	set_err(db, "not connected");
	return db;
}

void
ns_db_free(struct ns_db *db)
{
	if (db == NULL)
		return;
	if (db->primary != NULL)
		PQfinish(db->primary);
	if (db->replica != NULL)
		PQfinish(db->replica);
	free(db->url);
	free(db->read_url);
	free(db);
}

static PGconn *
open_conn(struct ns_db *db, const char *url)
{
	/* dbname first with expand_dbname: a URI or key=value string both work, and the
	 * settings after it override whatever the string says. */
	const char *const keys[] = { "dbname", "connect_timeout", "options", "client_encoding",
	    "application_name", NULL };
	const char *const vals[] = { url, db->connect_timeout, db->timeout_opt, "UTF8",
	    "napalmsky", NULL };
	PGconn *c = PQconnectdbParams(keys, vals, 1);

	if (c == NULL) {
		set_err(db, "out of memory");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		set_err(db, PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	PQsetNoticeProcessor(c, on_notice, NULL);
	return c;
}

static enum ns_err
map_sqlstate(const char *state)
{
	if (state == NULL)
		return NS_E_INTERNAL;
	if (strcmp(state, "23505") == 0)
		return NS_E_CONFLICT;
	if (strcmp(state, "23514") == 0 || strcmp(state, "23503") == 0 ||
	    strcmp(state, "22P02") == 0)
		return NS_E_BAD_REQUEST;
	if (strcmp(state, "57014") == 0)
		return NS_E_TIMEOUT;
	/* 08: connection exception; 57P0x: shutting down or starting; 53: out of resources. */
	if (strncmp(state, "08", 2) == 0 || strncmp(state, "57P", 3) == 0 ||
	    strncmp(state, "53", 2) == 0)
		return NS_E_DB;
	return NS_E_INTERNAL;
}

/* Execute on *conn (connecting first if needed). When the connection turns out to be broken
 * and retry is allowed, reset it once and run the statement again. */
static int
prepared_has(const struct prepared *p, const char *name)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->name[i], name) == 0)
			return 1;
	return 0;
}

static void
prepared_forget(struct prepared *p, const char *name)
{
	int i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->name[i], name) == 0) {
			p->name[i] = p->name[--p->n];
			return;
		}
}

/* Execute name (prepared on this connection first if it is not yet) or, without a name or
 * with the registry full, sql as an unnamed statement. The result as PQexecParams gives it. */
static PGresult *
exec_one(PGconn *conn, struct prepared *prep, const char *name, const char *sql,
    int nparams, const char *const *params)
{
	PGresult *res;

	if (name == NULL || (!prepared_has(prep, name) && prep->n >= NS_DB_PREPARED_MAX))
		return PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (!prepared_has(prep, name)) {
		res = PQprepare(conn, name, sql, nparams, NULL);
		if (PQresultStatus(res) != PGRES_COMMAND_OK)
			return res;	/* the error, reported like an execution's */
		PQclear(res);
		prep->name[prep->n++] = name;
	}
	return PQexecPrepared(conn, name, nparams, params, NULL, NULL, 0);
}

static PGresult *
run(struct ns_db *db, PGconn **conn, struct prepared *prep, const char *url, int retry,
    const char *name, const char *sql, int nparams, const char *const *params,
    enum ns_err *err)
{
	PGresult *res;
	ExecStatusType st;
	int reprepare = 1;

	if (*conn == NULL) {
		prep->n = 0;
		if ((*conn = open_conn(db, url)) == NULL) {
			*err = NS_E_DB;
			return NULL;
		}
	}
	for (;;) {
		const char *state;

		res = exec_one(*conn, prep, name, sql, nparams, params);
		st = PQresultStatus(res);	/* PGRES_FATAL_ERROR for a NULL result */
		if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
			*err = NS_OK;
			return res;
		}
		state = res != NULL ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
		if (name != NULL && reprepare && state != NULL &&
		    strcmp(state, DB_SQLSTATE_NO_STMT) == 0) {
			/* the session lost the statement (DISCARD ALL, a pooler): once more */
			PQclear(res);
			prepared_forget(prep, name);
			reprepare = 0;
			continue;
		}
		if (PQstatus(*conn) != CONNECTION_BAD)
			break;
		set_err(db, PQerrorMessage(*conn));
		PQclear(res);
		if (!retry) {
			*err = NS_E_DB;
			return NULL;
		}
		retry = 0;
		prep->n = 0;
		PQreset(*conn);
		if (PQstatus(*conn) != CONNECTION_OK) {
			set_err(db, PQerrorMessage(*conn));
			PQfinish(*conn);
			*conn = NULL;
			*err = NS_E_DB;
			return NULL;
		}
	}
	set_err(db, res != NULL ? PQresultErrorMessage(res) : PQerrorMessage(*conn));
	*err = res != NULL ? map_sqlstate(PQresultErrorField(res, PG_DIAG_SQLSTATE)) : NS_E_NOMEM;
	if (*err == NS_E_INTERNAL)
		ns_log_err("db: %s", db->err);
	PQclear(res);
	return NULL;
}

static void
note_primary(struct ns_db *db, enum ns_err err)
{
	if (err == NS_E_DB) {
		if (!db->down)
			ns_log_warn("db: primary unreachable: %s", db->err);
		db->down = 1;
	} else if (db->down) {
		ns_log_info("db: primary reachable again");
		db->down = 0;
	}
}

PGresult *
ns_db_exec_prepared(struct ns_db *db, const char *name, const char *sql, int nparams,
    const char *const *params, enum ns_err *err)
{
	PGresult *res = run(db, &db->primary, &db->prep_primary, db->url, !db->in_tx, name, sql,
	    nparams, params, err);

	note_primary(db, *err);
	return res;
}

PGresult *
ns_db_exec(struct ns_db *db, const char *sql, int nparams, const char *const *params,
    enum ns_err *err)
{
	return ns_db_exec_prepared(db, NULL, sql, nparams, params, err);
}

PGresult *
ns_db_read_prepared(struct ns_db *db, const char *name, const char *sql, int nparams,
    const char *const *params, enum ns_err *err)
{
	/* Inside a transaction the caller must see its own writes: stay on the primary. */
	if (db->read_url != NULL && !db->in_tx &&
	    (db->replica_fail_ms == 0 ||
	    ns_clock_mono_ms() - db->replica_fail_ms >= DB_REPLICA_RETRY_MS)) {
		PGresult *res = run(db, &db->replica, &db->prep_replica, db->read_url, 1, name,
		    sql, nparams, params, err);

		if (*err != NS_E_DB) {
			db->replica_fail_ms = 0;
			return res;
		}
		ns_log_warn("db: replica unreachable, reading from the primary: %s", db->err);
		db->replica_fail_ms = ns_clock_mono_ms();
	}
	return ns_db_exec_prepared(db, name, sql, nparams, params, err);
}

PGresult *
ns_db_read(struct ns_db *db, const char *sql, int nparams, const char *const *params,
    enum ns_err *err)
{
	return ns_db_read_prepared(db, NULL, sql, nparams, params, err);
}

enum ns_err
ns_db_begin(struct ns_db *db)
{
	enum ns_err err;
	PGresult *res = ns_db_exec(db, "BEGIN", 0, NULL, &err);

	if (res == NULL)
		return err;
	PQclear(res);
	db->in_tx = 1;
	return NS_OK;
}

enum ns_err
ns_db_commit(struct ns_db *db)
{
	enum ns_err err;
	PGresult *res = ns_db_exec(db, "COMMIT", 0, NULL, &err);

	db->in_tx = 0;
	if (res == NULL)
		return err;
	/* COMMIT of a transaction that already failed succeeds but reports ROLLBACK. */
	if (strcmp(PQcmdStatus(res), "COMMIT") != 0) {
		set_err(db, "transaction was rolled back");
		err = NS_E_INTERNAL;
	}
	PQclear(res);
	return err;
}

void
ns_db_rollback(struct ns_db *db)
{
	db->in_tx = 0;
	/* A broken connection has no transaction left to roll back; don't reconnect for it. */
	if (db->primary != NULL && PQstatus(db->primary) == CONNECTION_OK &&
	    PQtransactionStatus(db->primary) != PQTRANS_IDLE)
		PQclear(PQexec(db->primary, "ROLLBACK"));
}

enum ns_err
ns_db_ping(struct ns_db *db, double *latency_ms)
{
	int64_t t0 = ns_clock_mono_us();
	enum ns_err err;
	PGresult *res = ns_db_exec(db, "SELECT 1", 0, NULL, &err);

	if (res != NULL)
		PQclear(res);
	if (latency_ms != NULL)
		*latency_ms = (double)(ns_clock_mono_us() - t0) / 1000.0;
	return err;
}

const char *
ns_db_last_error(const struct ns_db *db)
{
	return db != NULL ? db->err : "no database handle";
}

const char *
ns_db_col(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

int64_t
ns_db_col_int(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

int
ns_db_col_bool(const PGresult *res, int row, int col)
{
	return !PQgetisnull(res, row, col) && PQgetvalue(res, row, col)[0] == 't';
}

char *
ns_db_uuid_array(const char *const *ids, size_t n)
{
	char *s = malloc(n * (NS_UUID_LEN + 1) + 3), *p = s;
	size_t i;

	if (s == NULL)
		return NULL;
	*p++ = '{';
	for (i = 0; i < n; i++) {
		if (i)
			*p++ = ',';
		memcpy(p, ids[i], NS_UUID_LEN);
		p += NS_UUID_LEN;
	}
	memcpy(p, "}", 2);
	return s;
}
