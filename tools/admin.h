/* admin: the napalmsky-admin operator tool (migrations, admin accounts, user roles).
 * Each command returns a process exit status: 0 on success, 1 on failure (message on stderr). */
#ifndef NS_ADMIN_H
#define NS_ADMIN_H
#include <libpq-fe.h>
#include "nsconfig.h"

#define ADMIN_PROG "napalmsky-admin"

/* admin_db.c: one blocking connection for the whole run (the tool is short-lived). */
PGconn *admin_db_connect(const struct ns_config *cfg);
/* Parameterised statement; NULL (message printed, prefixed with what) unless the status is
 * PGRES_COMMAND_OK or PGRES_TUPLES_OK. */
PGresult *admin_db_exec(PGconn *conn, const char *what, const char *sql, int nparams,
    const char *const *params);
/* Run a statement without result rows; 0 on success, -1 with the message printed. */
int admin_db_command(PGconn *conn, const char *what, const char *sql, int nparams,
    const char *const *params);

/* admin_migrate.c */
int admin_migrate(const struct ns_config *cfg);

/* admin_accounts.c: password NULL means one line of stdin. */
int admin_create(const struct ns_config *cfg, const char *username, const char *password);
int admin_passwd(const struct ns_config *cfg, const char *username, const char *password);
int admin_remove(const struct ns_config *cfg, const char *username);
int admin_list(const struct ns_config *cfg);

/* admin_roles.c: who is a user id or an email; role "admin" or "user". */
int admin_set_role(const struct ns_config *cfg, const char *who, const char *role);

#endif
