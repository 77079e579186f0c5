/* admin_db: the operator tool's PostgreSQL connection. The tool does not use shared/db: a
 * migration is a multi-statement script run with PQexec inside an explicit transaction,
 * which the parameterised-only shared interface deliberately does not offer. */
#include "config.h"
#include <stdio.h>
#include <libpq-fe.h>
#include "admin.h"

/* Silence NOTICEs ("relation exists, skipping"): the tool prints its own summary. */
static void
admin_db_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

PGconn *
admin_db_connect(const struct ns_config *cfg)
{
	char timeout[16];
	PGconn *conn;

	if (cfg->database_url[0] == '\0') {
		fprintf(stderr, "%s: database_url (DATABASE_URL) is not set\n", ADMIN_PROG);
		return NULL;
	}
	snprintf(timeout, sizeof timeout, "%d", cfg->db_connect_timeout_s > 0 ?
	    cfg->db_connect_timeout_s : 10);
	/* Later keywords win, so values inside the URL override these defaults. */
	const char *const keys[] = { "connect_timeout", "application_name", "dbname", NULL };
	const char *const vals[] = { timeout, ADMIN_PROG, cfg->database_url, NULL };
	conn = PQconnectdbParams(keys, vals, 1);
	if (conn == NULL || PQstatus(conn) != CONNECTION_OK) {
		fprintf(stderr, "%s: cannot connect to PostgreSQL: %s", ADMIN_PROG,
		    conn ? PQerrorMessage(conn) : "out of memory\n");
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeProcessor(conn, admin_db_notice, NULL);
	return conn;
}

PGresult *
admin_db_exec(PGconn *conn, const char *what, const char *sql, int nparams,
    const char *const *params)
{
	PGresult *res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(res);

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	fprintf(stderr, "%s: %s: %s", ADMIN_PROG, what, PQerrorMessage(conn));
	PQclear(res);
	return NULL;
}

int
admin_db_command(PGconn *conn, const char *what, const char *sql, int nparams,
    const char *const *params)
{
	PGresult *res = admin_db_exec(conn, what, sql, nparams, params);

	if (res == NULL)
		return -1;
	PQclear(res);
	return 0;
}
