/* admin_accounts: operator accounts of the admin page (admins table): create, change the
 * password, remove, list. Changing a password or removing an admin ends its tokens. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "admin.h"
#include "passwd.h"

#define ADMIN_USERNAME_MAX 64		/* matches the CHECK on admins.username */
#define ADMIN_PASSWORD_MIN 8		/* characters (code points), as for users */
#define ADMIN_PASSWORD_MAX 128
#define ADMIN_PASSWORD_LINE_MAX 1024	/* bytes read from stdin: 128 x 4-byte UTF-8 + slack */

static void
admin_wipe(void *p, size_t n)
{
#ifdef HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
#endif
}

static int
admin_username_ok(const char *u)
{
	size_t n = strlen(u);

	if (n == 0 || n > ADMIN_USERNAME_MAX)
		return 0;
	return strspn(u, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* Code points in s, or -1 if s is not valid UTF-8 (or holds control characters). */
static long
admin_utf8_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	long count = 0;

	while (*p != '\0') {
		unsigned int c = *p, cp;
		int extra;

		if (c < 0x20 || c == 0x7F)
			return -1;
		if (c < 0x80) {
			extra = 0;
			cp = c;
		} else if ((c & 0xE0) == 0xC0) {
			extra = 1;
			cp = c & 0x1F;
		} else if ((c & 0xF0) == 0xE0) {
			extra = 2;
			cp = c & 0x0F;
		} else if ((c & 0xF8) == 0xF0) {
			extra = 3;
			cp = c & 0x07;
		} else {
			return -1;
		}
		p++;
		for (int i = 0; i < extra; i++, p++) {
			if ((*p & 0xC0) != 0x80)
				return -1;
			cp = (cp << 6) | (*p & 0x3F);
		}
		/* overlong forms, surrogates and values past U+10FFFF */
		if ((extra == 1 && cp < 0x80) || (extra == 2 && cp < 0x800) ||
		    (extra == 3 && cp < 0x10000) || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
			return -1;
		count++;
	}
	return count;
}

/* One line from stdin into buf (newline removed), echo off when it is a terminal. */
static int
admin_read_password(const char *username, char *buf, size_t len)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO, &old) == 0;
	int rc = -1;

	if (tty) {
		fprintf(stderr, "Password for admin %s: ", username);
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	if (fgets(buf, (int)len, stdin) == NULL) {
		fprintf(stderr, "%s: no password on stdin\n", ADMIN_PROG);
		goto out;
	}
	size_t n = strcspn(buf, "\n");
	if (buf[n] != '\n' && !feof(stdin)) {
		fprintf(stderr, "%s: password line longer than %d bytes\n", ADMIN_PROG,
		    ADMIN_PASSWORD_LINE_MAX - 2);
		goto out;
	}
	buf[n] = '\0';
	if (n > 0 && buf[n - 1] == '\r')
		buf[n - 1] = '\0';
	rc = 0;
out:
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	return rc;
}

/* The new password: the argument, else one line of stdin; checked and hashed into hash. */
static int
admin_password_hash(const char *username, const char *arg, char hash[NS_PASSWD_HASH_MAX])
{
	char pw[ADMIN_PASSWORD_LINE_MAX];
	long chars;
	int rc = -1;

	if (arg != NULL) {
		if (strlen(arg) >= sizeof pw) {
			fprintf(stderr, "%s: password longer than %d bytes\n", ADMIN_PROG,
			    ADMIN_PASSWORD_LINE_MAX - 1);
			return -1;
		}
		snprintf(pw, sizeof pw, "%s", arg);
	} else if (admin_read_password(username, pw, sizeof pw) != 0) {
		goto out;
	}
	chars = admin_utf8_chars(pw);
	if (chars < 0) {
		fprintf(stderr, "%s: password is not valid UTF-8 text\n", ADMIN_PROG);
		goto out;
	}
	if (chars < ADMIN_PASSWORD_MIN || chars > ADMIN_PASSWORD_MAX) {
		fprintf(stderr, "%s: password must be %d-%d characters\n", ADMIN_PROG,
		    ADMIN_PASSWORD_MIN, ADMIN_PASSWORD_MAX);
		goto out;
	}
	if (ns_passwd_hash(pw, NS_PASSWD_COST, hash) != NS_OK) {
		fprintf(stderr, "%s: hashing the password failed\n", ADMIN_PROG);
		goto out;
	}
	rc = 0;
out:
	admin_wipe(pw, sizeof pw);
	return rc;
}

static int
admin_username_check(const char *username)
{
	if (admin_username_ok(username))
		return 0;
	fprintf(stderr, "%s: username must be 1-%d characters of [A-Za-z0-9_.-]\n", ADMIN_PROG,
	    ADMIN_USERNAME_MAX);
	return -1;
}

/* Create (when create is set and the name is new) or re-password an admin. A new password
 * ends every token of the admin, in the same transaction (contract §2.10). */
static int
admin_store(const struct ns_config *cfg, const char *username, const char *password, int create)
{
	char hash[NS_PASSWD_HASH_MAX];
	const char *params[] = { username, hash };
	PGconn *conn = NULL;
	PGresult *res = NULL, *ended = NULL;
	int rc = 1;

	if (admin_username_check(username) != 0 ||
	    admin_password_hash(username, password, hash) != 0)
		goto out;
	if ((conn = admin_db_connect(cfg)) == NULL)
		goto out;
	if (admin_db_command(conn, "BEGIN", "BEGIN", 0, NULL) != 0)
		goto out;
	if (create) {
		res = admin_db_exec(conn, "creating admin",
		    "INSERT INTO admins (username, password_hash) VALUES ($1, $2)"
		    " ON CONFLICT (username) DO NOTHING RETURNING username", 2, params);
		if (res == NULL)
			goto rollback;
		if (PQntuples(res) == 1) {
			if (admin_db_command(conn, "COMMIT", "COMMIT", 0, NULL) != 0)
				goto out;
			printf("created admin %s\n", username);
			rc = 0;
			goto out;
		}
		PQclear(res);
	}
	res = admin_db_exec(conn, "changing the password",
	    "UPDATE admins SET password_hash = $2 WHERE username = $1 RETURNING username", 2, params);
	if (res == NULL)
		goto rollback;
	if (PQntuples(res) != 1) {
		fprintf(stderr, "%s: no admin named %s\n", ADMIN_PROG, username);
		goto rollback;
	}
	ended = admin_db_exec(conn, "ending admin sessions",
	    "DELETE FROM admin_sessions WHERE username = $1", 1, params);
	if (ended == NULL)
		goto rollback;
	if (admin_db_command(conn, "COMMIT", "COMMIT", 0, NULL) != 0)
		goto out;
	printf("changed password of admin %s; %s session(s) ended\n", username, PQcmdTuples(ended));
	rc = 0;
	goto out;
rollback:
	PQclear(PQexec(conn, "ROLLBACK"));
out:
	admin_wipe(hash, sizeof hash);
	PQclear(res);
	PQclear(ended);
	PQfinish(conn);
	return rc;
}

/* An existing name gets the new password, as passwd-admin would: deployment scripts may
 * run create-admin again to reset a password. */
int
admin_create(const struct ns_config *cfg, const char *username, const char *password)
{
	return admin_store(cfg, username, password, 1);
}

int
admin_passwd(const struct ns_config *cfg, const char *username, const char *password)
{
	return admin_store(cfg, username, password, 0);
}

int
admin_remove(const struct ns_config *cfg, const char *username)
{
	const char *params[] = { username };
	PGconn *conn;
	PGresult *res;
	int rc = 1;

	if (admin_username_check(username) != 0)
		return 1;
	if ((conn = admin_db_connect(cfg)) == NULL)
		return 1;
	/* Its admin_sessions rows go with it (ON DELETE CASCADE); the subquery sees them still. */
	res = admin_db_exec(conn, "removing admin",
	    "DELETE FROM admins WHERE username = $1 RETURNING"
	    " (SELECT count(*) FROM admin_sessions WHERE username = $1 AND expires_at > now())",
	    1, params);
	if (res != NULL && PQntuples(res) == 1) {
		printf("removed admin %s; %s session(s) ended\n", username, PQgetvalue(res, 0, 0));
		rc = 0;
	} else if (res != NULL) {
		fprintf(stderr, "%s: no admin named %s\n", ADMIN_PROG, username);
	}
	PQclear(res);
	PQfinish(conn);
	return rc;
}

int
admin_list(const struct ns_config *cfg)
{
	PGconn *conn;
	PGresult *res;

	if ((conn = admin_db_connect(cfg)) == NULL)
		return 1;
	res = admin_db_exec(conn, "listing admins",
	    "SELECT username, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " (SELECT count(*) FROM admin_sessions s WHERE s.username = a.username"
	    "  AND s.expires_at > now())"
	    " FROM admins a ORDER BY username", 0, NULL);
	if (res != NULL) {
		printf("username\tcreated\tactive_sessions\n");
		for (int i = 0; i < PQntuples(res); i++)
			printf("%s\t%s\t%s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
			    PQgetvalue(res, i, 2));
	}
	PQclear(res);
	PQfinish(conn);
	return res != NULL ? 0 : 1;
}
