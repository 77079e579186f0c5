/* dbkv_probe: drives shared/db and shared/kv against real servers for test_db_kv.sh.
 * Reads one command per line on stdin and answers one line each: the ns_err name, then any
 * value. One process lives across the server restarts the script performs between commands,
 * which is what reconnection needs to be tested with.
 * Usage: dbkv_probe STATEMENT_TIMEOUT_MS   (DATABASE_URL, DATABASE_READ_URL, REDIS_URL) */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db.h"
#include "err.h"
#include "kv.h"
#include "log.h"
#include "script.h"

#define PROBE_LINE_MAX 512
#define PROBE_ARGS_MAX 4

static const char *
err_name(enum ns_err e)
{
	switch (e) {
	case NS_OK: return "OK";
	case NS_E_BAD_REQUEST: return "BAD_REQUEST";
	case NS_E_CONFLICT: return "CONFLICT";
	case NS_E_TIMEOUT: return "TIMEOUT";
	case NS_E_DB: return "DB";
	case NS_E_REDIS: return "REDIS";
	case NS_E_INTERNAL: return "INTERNAL";
	default: return "OTHER";
	}
}

static void
answer(enum ns_err e, const char *value)
{
	printf("%s%s%s\n", err_name(e), value != NULL ? " " : "", value != NULL ? value : "");
	fflush(stdout);
}

/* Run a statement and answer with the first column of the first row, if any. */
static void
db_answer(PGresult *res, enum ns_err e)
{
	if (res == NULL) {
		answer(e, NULL);
		return;
	}
	answer(NS_OK, PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "(none)");
	PQclear(res);
}

static void
kv_answer(redisReply *r, enum ns_err e)
{
	char buf[64];

	if (r == NULL) {
		answer(e, NULL);
		return;
	}
	if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
		answer(NS_OK, r->str);
	else if (r->type == REDIS_REPLY_INTEGER)
		snprintf(buf, sizeof buf, "%lld", r->integer), answer(NS_OK, buf);
	else
		answer(NS_OK, r->type == REDIS_REPLY_NIL ? "(nil)" : "(other)");
	freeReplyObject(r);
}

/* A transaction's replies as "n:v1:v2...", each a string, integer, nil or "error". */
static void
exec_answer(redisReply *r, enum ns_err e)
{
	char buf[256];
	size_t i, o;

	if (r == NULL) {
		answer(e, NULL);
		return;
	}
	o = (size_t)snprintf(buf, sizeof buf, "%zu", r->elements);
	for (i = 0; i < r->elements && o < sizeof buf; i++) {
		const redisReply *x = r->element[i];

		o += (size_t)snprintf(buf + o, sizeof buf - o, ":%s",
		    x->type == REDIS_REPLY_STRING || x->type == REDIS_REPLY_STATUS ? x->str :
		    x->type == REDIS_REPLY_NIL ? "nil" : x->type == REDIS_REPLY_ERROR ? "error" :
		    x->type == REDIS_REPLY_INTEGER ? "int" : "other");
		if (x->type == REDIS_REPLY_INTEGER && o < sizeof buf)
			o += (size_t)snprintf(buf + o, sizeof buf - o, "%lld", x->integer);
	}
	answer(NS_OK, buf);
	freeReplyObject(r);
}

static struct ns_script incr_script = { .src = "return redis.call('INCR', KEYS[1])" };

int
main(int argc, char **argv)
{
	char line[PROBE_LINE_MAX];
	const char *url = getenv("DATABASE_URL"), *rurl = getenv("DATABASE_READ_URL");
	const char *kurl = getenv("REDIS_URL");
	struct ns_db *db;
	struct ns_kv *kv;

	if (argc != 2 || url == NULL || kurl == NULL) {
		fprintf(stderr, "usage: DATABASE_URL=... REDIS_URL=... dbkv_probe TIMEOUT_MS\n");
		return 2;
	}
	ns_log_init("dbkv_probe", 1, NS_LOG_DEBUG);
	db = ns_db_new(url, rurl, atoi(argv[1]), 2);
	kv = ns_kv_new(kurl, 500);
	if (db == NULL || kv == NULL)
		return 1;

	while (fgets(line, sizeof line, stdin) != NULL) {
		char *a[PROBE_ARGS_MAX] = { 0 }, *save = NULL, *t;
		int n = 0;
		enum ns_err e = NS_OK;
		PGresult *res;
		redisReply *r;

		line[strcspn(line, "\n")] = '\0';
		for (t = strtok_r(line, " ", &save); t != NULL && n < PROBE_ARGS_MAX;
		    t = strtok_r(NULL, " ", &save))
			a[n++] = t;
		if (n == 0)
			continue;
		if (strcmp(a[0], "setup") == 0) {
			res = ns_db_exec(db, "DROP TABLE IF EXISTS probe_t", 0, NULL, &e);
			if (res != NULL)
				PQclear(res);
			res = ns_db_exec(db, "CREATE TABLE probe_t (id int PRIMARY KEY, "
			    "name text NOT NULL CHECK (length(name) <= 8))", 0, NULL, &e);
			db_answer(res, e);
		} else if (strcmp(a[0], "insert") == 0 && n == 3) {
			const char *p[] = { a[1], a[2] };

			res = ns_db_exec(db, "INSERT INTO probe_t (id, name) VALUES ($1, $2) RETURNING id",
			    2, p, &e);
			db_answer(res, e);
		} else if (strcmp(a[0], "select") == 0 && n == 2) {
			const char *p[] = { a[1] };

			res = ns_db_exec(db, "SELECT name FROM probe_t WHERE id = $1", 1, p, &e);
			db_answer(res, e);
		} else if (strcmp(a[0], "read") == 0 && n == 2) {
			const char *p[] = { a[1] };

			res = ns_db_read(db, "SELECT name FROM probe_t WHERE id = $1", 1, p, &e);
			db_answer(res, e);
		} else if (strcmp(a[0], "null") == 0) {
			const char *p[] = { NULL };

			res = ns_db_exec(db, "SELECT coalesce($1::text, 'was-null')", 1, p, &e);
			db_answer(res, e);
		} else if (strcmp(a[0], "inject") == 0) {
			/* A parameter is data, never SQL. */
			const char *p[] = { "x'); DROP TABLE probe_t; --" };

			res = ns_db_exec(db, "SELECT $1::text", 1, p, &e);
			db_answer(res, e);
		} else if (strcmp(a[0], "cast") == 0 && n == 2) {
			const char *p[] = { a[1] };

			res = ns_db_exec(db, "SELECT $1::int", 1, p, &e);
			db_answer(res, e);
		} else if (strcmp(a[0], "sleep") == 0 && n == 2) {
			const char *p[] = { a[1] };

			res = ns_db_exec(db, "SELECT pg_sleep($1::float8 / 1000)::text", 1, p, &e);
			db_answer(res, e);
		} else if (strcmp(a[0], "begin") == 0) {
			answer(ns_db_begin(db), NULL);
		} else if (strcmp(a[0], "commit") == 0) {
			answer(ns_db_commit(db), NULL);
		} else if (strcmp(a[0], "rollback") == 0) {
			ns_db_rollback(db);
			answer(NS_OK, NULL);
		} else if (strcmp(a[0], "ping") == 0) {
			answer(ns_db_ping(db, NULL), NULL);
		} else if (strcmp(a[0], "kv_set") == 0 && n == 3) {
			r = ns_kv_cmd(kv, &e, "SET %s %s", a[1], a[2]);
			kv_answer(r, e);
		} else if (strcmp(a[0], "kv_get") == 0 && n == 2) {
			r = ns_kv_cmd(kv, &e, "GET %s", a[1]);
			kv_answer(r, e);
		} else if (strcmp(a[0], "kv_incr") == 0 && n == 2) {
			r = ns_kv_cmd(kv, &e, "INCR %s", a[1]);
			kv_answer(r, e);
		} else if (strcmp(a[0], "kv_binary") == 0) {
			/* argv form is binary safe: a value with a NUL and a space round-trips. */
			const char *set[] = { "SET", "probe:bin", "a\0b c" };
			const size_t setlen[] = { 3, 9, 5 };
			const char *get[] = { "GET", "probe:bin" };

			r = ns_kv_argv(kv, &e, 3, set, setlen);
			if (r != NULL) {
				freeReplyObject(r);
				r = ns_kv_argv(kv, &e, 2, get, NULL);
			}
			if (r != NULL) {
				answer(r->type == REDIS_REPLY_STRING && r->len == 5 &&
				    memcmp(r->str, "a\0b c", 5) == 0 ? NS_OK : NS_E_INTERNAL, "5");
				freeReplyObject(r);
			} else {
				answer(e, NULL);
			}
		} else if (strcmp(a[0], "kv_exec") == 0 && n == 3) {
			/* SET, GET, then an INCR of a non-number, which fails inside EXEC */
			const char *set[] = { "SET", a[1], a[2] }, *get[] = { "GET", a[1] };
			const char *incr[] = { "INCR", a[1] };
			struct ns_kv_command c[] = { { 3, set, NULL }, { 2, get, NULL },
			    { 2, incr, NULL } };

			r = ns_kv_exec(kv, &e, 3, c);
			exec_answer(r, e);
		} else if (strcmp(a[0], "kv_exec_refused") == 0) {
			/* a command Redis refuses to queue (arity): EXECABORT, nothing runs */
			const char *set[] = { "SET", "probe:refused", "1" }, *bad[] = { "GET" };
			struct ns_kv_command c[] = { { 3, set, NULL }, { 1, bad, NULL } };

			r = ns_kv_exec(kv, &e, 2, c);
			exec_answer(r, e);
		} else if (strcmp(a[0], "kv_script_exec") == 0 && n == 2) {
			/* the script (INCR), then a GET of its key, in one transaction */
			const char *keys[] = { a[1] }, *get[] = { "GET", a[1] };
			struct ns_kv_command c[] = { { 2, get, NULL } };

			r = ns_script_eval_exec(kv, &incr_script, &e, 1, 0, keys, NULL, 1, c);
			exec_answer(r, e);
		} else if (strcmp(a[0], "kv_script_flush") == 0) {
			r = ns_kv_cmd(kv, &e, "SCRIPT FLUSH");
			kv_answer(r, e);
		} else if (strcmp(a[0], "kv_ping") == 0) {
			answer(ns_kv_ping(kv, NULL), NULL);
		} else if (strcmp(a[0], "quit") == 0) {
			break;
		} else {
			answer(NS_E__COUNT, "unknown command");
		}
	}
	ns_kv_free(kv);
	ns_db_free(db);
	return 0;
}
