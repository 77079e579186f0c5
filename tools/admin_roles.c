/* admin_roles: the admin role of user accounts (grant-admin, revoke-admin). The REST workers
 * cache users rows in Redis, so after the write the entry is overwritten with a tombstone
 * exactly as the workers do (shared/keys.h): the new role applies to the very next request. */
#include "config.h"
#include <stdio.h>
#include <string.h>
#include <libpq-fe.h>
#include "admin.h"
#include "keys.h"
#include "kv.h"
#include "rand.h"

#define ADMIN_EMAIL_MAX 254

/* 0 when the cache entry of user_id is now a tombstone; -1 (warning printed) otherwise. */
static int
admin_cache_invalidate(const struct ns_config *cfg, const char *user_id)
{
	char key[NS_KEY_MAX], fkey[NS_KEY_MAX], stone[NS_UUID_LEN + sizeof NS_CACHE_TOMBSTONE];
	char ttl[16];
	const char *argv[7] = { "EVAL", NS_CACHE_USER_INVALIDATE_LUA, "2", key, fkey, stone, ttl };
	struct ns_kv *kv;
	redisReply *r = NULL;
	enum ns_err e;

	if (ns_keys_cache(key, NS_CACHE_USER, user_id) == NULL ||
	    ns_keys_cache(fkey, NS_CACHE_FILL, user_id) == NULL || ns_rand_uuid(stone +
	    strlen(NS_CACHE_TOMBSTONE)) != NS_OK)
		goto fail;
	snprintf(ttl, sizeof ttl, "%d", NS_CACHE_TOMBSTONE_TTL_S);
	memcpy(stone, NS_CACHE_TOMBSTONE, strlen(NS_CACHE_TOMBSTONE));
	if ((kv = ns_kv_new(cfg->redis_url, cfg->redis_timeout_ms)) == NULL)
		goto fail;
	/* On failure shared/kv has logged the reason on stderr already. */
	r = ns_kv_argv(kv, &e, 7, argv, NULL);
	ns_kv_free(kv);
	if (r != NULL) {
		freeReplyObject(r);
		return 0;
	}
fail:
	printf("warning: the REST cache entry of user %s was not invalidated; the workers may "
	    "see the old role for up to %d s (cache_ttl_s)\n", user_id, cfg->cache_ttl_s);
	return -1;
}

/* who is a user id or an email (case-insensitive); role is "admin" or "user". */
int
admin_set_role(const struct ns_config *cfg, const char *who, const char *role)
{
	char id[NS_UUID_LEN + 1], user_id[NS_UUID_LEN + 1] = "";
	const char *sql;
	PGconn *conn;
	PGresult *res;
	int rc = 1;

	if (strchr(who, '@') != NULL) {
		if (strlen(who) > ADMIN_EMAIL_MAX) {
			fprintf(stderr, "%s: email too long\n", ADMIN_PROG);
			return 1;
		}
		sql = "UPDATE users SET role = $2 WHERE lower(email) = lower($1)"
		    " RETURNING user_id, name";
	} else if (ns_rand_uuid_parse(who, id)) {
		who = id;
		sql = "UPDATE users SET role = $2 WHERE user_id = $1::uuid"
		    " RETURNING user_id, name";
	} else {
		fprintf(stderr, "%s: expected a user id (UUID) or an email address\n", ADMIN_PROG);
		return 1;
	}
	if ((conn = admin_db_connect(cfg)) == NULL)
		return 1;
	const char *params[] = { who, role };
	res = admin_db_exec(conn, "setting role", sql, 2, params);
	if (res != NULL && PQntuples(res) == 1) {
		snprintf(user_id, sizeof user_id, "%s", PQgetvalue(res, 0, 0));
		printf("user %s (%s) now has role %s\n", user_id, PQgetvalue(res, 0, 1), role);
		rc = 0;
	} else if (res != NULL) {
		fprintf(stderr, "%s: no user %s\n", ADMIN_PROG, who);
	}
	PQclear(res);
	PQfinish(conn);
	/* The role is written: a cache that cannot be reached delays it, it does not undo it. */
	if (rc == 0)
		admin_cache_invalidate(cfg, user_id);
	return rc;
}
