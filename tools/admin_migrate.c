/* admin_migrate: apply the numbered SQL files of MIGRATIONS_DIR that the database lacks.
 * Each file runs in its own transaction together with its schema_migrations row, so a file
 * is either fully applied and recorded or not at all; an advisory lock serialises
 * concurrent runs (two hosts deploying at once). */
#include "config.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "admin.h"

#define MIGRATION_NAME_RE "^[0-9]{3}_[a-z0-9_]+\\.sql$"
#define MIGRATION_NAME_MAX 128		/* file name, with ".sql" */
#define MIGRATION_VERSION_LEN 3		/* the number prefix is the version */
#define MIGRATIONS_MAX 1000		/* 000..999 */
#define MIGRATION_SIZE_MAX (1024 * 1024)	/* bytes per file: ours are a few KiB */
#define MIGRATION_PATH_MAX (NS_CFG_STR_MAX + MIGRATION_NAME_MAX + 2)
/* Arbitrary constant naming this tool's session-level advisory lock. */
#define MIGRATION_LOCK_KEY "7196380121574561889"

struct migration {
	char name[MIGRATION_NAME_MAX];
	char version[MIGRATION_VERSION_LEN + 1];
};

static int
migration_cmp(const void *a, const void *b)
{
	return strcmp(((const struct migration *)a)->name, ((const struct migration *)b)->name);
}

/* Fill list with the *.sql files of dir, sorted; other files (local.mk, dotfiles) are
 * ignored, but a .sql file with a bad name is an error so it cannot be silently skipped. */
static int
migration_scan(const char *dir, struct migration *list, size_t *count)
{
	regex_t re;
	DIR *d;
	struct dirent *de;
	int rc = -1;

	*count = 0;
	if (regcomp(&re, MIGRATION_NAME_RE, REG_EXTENDED | REG_NOSUB) != 0) {
		fprintf(stderr, "%s: regcomp failed\n", ADMIN_PROG);
		return -1;
	}
	if ((d = opendir(dir)) == NULL) {
		fprintf(stderr, "%s: migrations directory %s: %s\n", ADMIN_PROG, dir,
		    strerror(errno));
		goto out;
	}
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 4 || strcmp(de->d_name + len - 4, ".sql") != 0)
			continue;
		if (len >= MIGRATION_NAME_MAX || regexec(&re, de->d_name, 0, NULL, 0) != 0) {
			fprintf(stderr, "%s: %s/%s: name must match %s\n", ADMIN_PROG, dir,
			    de->d_name, MIGRATION_NAME_RE);
			goto out;
		}
		if (*count == MIGRATIONS_MAX) {
			fprintf(stderr, "%s: more than %d migrations in %s\n", ADMIN_PROG,
			    MIGRATIONS_MAX, dir);
			goto out;
		}
		memcpy(list[*count].name, de->d_name, len + 1);
		memcpy(list[*count].version, de->d_name, MIGRATION_VERSION_LEN);
		list[*count].version[MIGRATION_VERSION_LEN] = '\0';
		(*count)++;
	}
	qsort(list, *count, sizeof *list, migration_cmp);
	for (size_t i = 1; i < *count; i++) {
		if (strcmp(list[i].version, list[i - 1].version) == 0) {
			fprintf(stderr, "%s: %s and %s share the number %s\n", ADMIN_PROG,
			    list[i - 1].name, list[i].name, list[i].version);
			goto out;
		}
	}
	rc = 0;
out:
	if (d != NULL)
		closedir(d);
	regfree(&re);
	return rc;
}

/* The whole file as a NUL-terminated string; NULL (message printed) if it cannot be read,
 * is not a regular file, exceeds the ceiling or contains a NUL byte. */
static char *
migration_read(const char *path)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "%s: %s: %s\n", ADMIN_PROG, path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > MIGRATION_SIZE_MAX) {
		fprintf(stderr, "%s: %s: not a regular file of at most %d bytes\n", ADMIN_PROG,
		    path, MIGRATION_SIZE_MAX);
		goto fail;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fprintf(stderr, "%s: out of memory\n", ADMIN_PROG);
		goto fail;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "%s: %s: short read\n", ADMIN_PROG, path);
			goto fail;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	if (memchr(buf, '\0', got) != NULL) {
		fprintf(stderr, "%s: %s: contains a NUL byte\n", ADMIN_PROG, path);
		goto fail;
	}
	close(fd);
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	free(buf);
	return NULL;
}

/* Line number of a 1-based character position reported by the server (0 if unknown). */
static int
migration_error_line(const char *sql, const PGresult *res)
{
	const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
	long chars = pos ? strtol(pos, NULL, 10) : 0;
	int line = 1;

	if (chars <= 0)
		return 0;
	/* The position counts characters, not bytes: skip UTF-8 continuation bytes. */
	for (const char *p = sql; *p != '\0' && chars > 1; p++) {
		if (((unsigned char)*p & 0xC0) != 0x80)
			chars--;
		if (*p == '\n')
			line++;
	}
	return line;
}

/* Apply one file and record it, in one transaction. */
static int
migration_apply(PGconn *conn, const char *dir, const struct migration *m)
{
	char path[MIGRATION_PATH_MAX];
	char *sql;
	PGresult *res;
	ExecStatusType st;
	int rc = -1;

	snprintf(path, sizeof path, "%s/%s", dir, m->name);
	if ((sql = migration_read(path)) == NULL)
		return -1;
	if (admin_db_command(conn, "BEGIN", "BEGIN", 0, NULL) != 0)
		goto out;
	/* Trusted SQL from our own files: the one non-parameterised execution in the project. */
	res = PQexec(conn, sql);
	st = PQresultStatus(res);
	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK && st != PGRES_EMPTY_QUERY) {
		int line = migration_error_line(sql, res);

		fprintf(stderr, "%s: %s", ADMIN_PROG, m->name);
		if (line > 0)
			fprintf(stderr, ":%d", line);
		fprintf(stderr, ": %s", PQerrorMessage(conn));
		PQclear(res);
		goto rollback;
	}
	PQclear(res);
	/* A file that ends our transaction itself would no longer be atomic with its record. */
	if (PQtransactionStatus(conn) != PQTRANS_INTRANS) {
		fprintf(stderr, "%s: %s: must not contain BEGIN/COMMIT/ROLLBACK\n", ADMIN_PROG,
		    m->name);
		goto rollback;
	}
	const char *params[] = { m->version, m->name };
	if (admin_db_command(conn, "recording migration",
	    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", 2, params) != 0)
		goto rollback;
	if (admin_db_command(conn, "COMMIT", "COMMIT", 0, NULL) != 0)
		goto out;
	rc = 0;
	goto out;
rollback:
	PQclear(PQexec(conn, "ROLLBACK"));
out:
	free(sql);
	return rc;
}

/* 1 if version is among the rows of res (column 0). */
static int
migration_applied(const PGresult *res, const char *version)
{
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 0), version) == 0)
			return 1;
	return 0;
}

int
admin_migrate(const struct ns_config *cfg)
{
	static struct migration list[MIGRATIONS_MAX];
	size_t count, applied = 0;
	PGconn *conn = NULL;
	PGresult *done = NULL;
	int rc = 1;

	if (migration_scan(cfg->migrations_dir, list, &count) != 0)
		return 1;
	if (count == 0) {
		fprintf(stderr, "%s: no migrations in %s\n", ADMIN_PROG, cfg->migrations_dir);
		return 1;
	}
	if ((conn = admin_db_connect(cfg)) == NULL)
		return 1;
	/* DDL may legitimately run longer than the application's statement timeout. */
	if (admin_db_command(conn, "session setup", "SET statement_timeout = 0", 0, NULL) != 0)
		goto out;
	/* Taken before reading schema_migrations, so a concurrent run sees our records. */
	const char *key[] = { MIGRATION_LOCK_KEY };
	if (admin_db_command(conn, "advisory lock", "SELECT pg_advisory_lock($1::bigint)",
	    1, key) != 0)
		goto out;
	if (admin_db_command(conn, "creating schema_migrations",
	    "CREATE TABLE IF NOT EXISTS schema_migrations ("
	    " version text PRIMARY KEY,"
	    " name text NOT NULL,"
	    " applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL) != 0)
		goto out;
	done = admin_db_exec(conn, "reading schema_migrations",
	    "SELECT version FROM schema_migrations ORDER BY version", 0, NULL);
	if (done == NULL)
		goto out;
	for (size_t i = 0; i < count; i++) {
		if (migration_applied(done, list[i].version))
			continue;
		if (migration_apply(conn, cfg->migrations_dir, &list[i]) != 0) {
			fprintf(stderr, "%s: stopped; %zu migration(s) applied before the failure\n",
			    ADMIN_PROG, applied);
			goto out;
		}
		printf("applied %s\n", list[i].name);
		fflush(stdout);
		applied++;
	}
	/* Versions recorded but absent here: the database is newer than these files. */
	for (int i = 0; i < PQntuples(done); i++) {
		const char *v = PQgetvalue(done, i, 0);
		int found = 0;

		for (size_t j = 0; j < count && !found; j++)
			found = strcmp(list[j].version, v) == 0;
		if (!found)
			fprintf(stderr, "%s: warning: database has migration %s, which is not in %s\n",
			    ADMIN_PROG, v, cfg->migrations_dir);
	}
	if (applied == 0)
		printf("up to date (%zu migrations)\n", count);
	else
		printf("%zu migration(s) applied\n", applied);
	rc = 0;
out:
	PQclear(done);
	PQfinish(conn);	/* also releases the advisory lock */
	return rc;
}
