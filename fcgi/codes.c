/* codes: invite-code redemption and minting (see codes.h). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "codes.h"
#include "log.h"
#include "rand.h"

#define CODE_TRIES 10	/* fresh codes tried when one collides */
#define NUM_MAX 24	/* a decimal int */

/* Run a statement whose result is not needed. */
static enum ns_err
exec_only(struct ns_db *db, const char *sql, int n, const char *const *params)
{
	enum ns_err e = NS_OK;
	PGresult *res = ns_db_exec(db, sql, n, params, &e);

	PQclear(res);
	return res ? NS_OK : e;
}

enum ns_err
api_codes_redeem(struct ns_db *db, const char *code, const char *user_id, const char **reason)
{
	static const char sql_take[] =
	    "UPDATE invite_codes SET uses_remaining = CASE WHEN type = 'user' "
	    "THEN uses_remaining - 1 ELSE uses_remaining END "
	    "WHERE code = $1 AND is_active AND (type = 'admin' OR uses_remaining > 0)";
	static const char sql_why[] =
	    "SELECT is_active, EXISTS (SELECT 1 FROM invite_code_redemptions r "
	    "WHERE r.code = c.code AND r.user_id = $2) FROM invite_codes c WHERE c.code = $1";
	static const char sql_redeem[] =
	    "INSERT INTO invite_code_redemptions (code, user_id) VALUES ($1, $2)";
	const char *p[] = { code, user_id };
	enum ns_err e = NS_OK;
	PGresult *res;
	int taken;

	if ((res = ns_db_exec(db, sql_take, 1, p, &e)) == NULL)
		return e;
	taken = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!taken) {
		if ((res = ns_db_exec(db, sql_why, 2, p, &e)) == NULL)
			return e;
		if (PQntuples(res) == 0)
			*reason = "Invalid invite code";
		else if (strcmp(PQgetvalue(res, 0, 0), "t") != 0)
			*reason = "This invite code has been deactivated";
		else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
			*reason = "You have already used this invite code";
		else
			*reason = "This invite code has been fully used";
		PQclear(res);
		return NS_E_FORBIDDEN;
	}
	e = exec_only(db, sql_redeem, 2, p);
	if (e == NS_E_CONFLICT) {
		*reason = "You have already used this invite code";
		return NS_E_FORBIDDEN;
	}
	return e;
}

/* Insert a fresh code of type (user: uses each; admin: -1), retrying on a collision. */
static enum ns_err
mint(struct ns_db *db, const char *type, int uses, const char *created_by, const char *name,
    char code[NS_VALID_INVITE_CODE_LEN + 1])
{
	static const char sql[] =
	    "INSERT INTO invite_codes (code, created_by, created_by_name, type, max_uses, "
	    "uses_remaining) VALUES ($1, $2, $3, $4, $5::int, $5::int) "
	    "ON CONFLICT (code) DO NOTHING";
	char n[NUM_MAX];
	enum ns_err e = NS_OK;
	int i;

	snprintf(n, sizeof(n), "%d", uses);
	for (i = 0; i < CODE_TRIES; i++) {
		const char *p[] = { code, created_by, name, type, n };
		PGresult *res;
		int ok;

		if ((e = ns_rand_code(code, NS_VALID_INVITE_CODE_LEN)) != NS_OK)
			return e;
		/* ON CONFLICT keeps the transaction usable when a code collides */
		if ((res = ns_db_exec(db, sql, 5, p, &e)) == NULL)
			return e;
		ok = strcmp(PQcmdTuples(res), "1") == 0;
		PQclear(res);
		if (ok)
			return NS_OK;
	}
	ns_log_err("codes: no free invite code after %d tries", CODE_TRIES);
	return NS_E_INTERNAL;
}

enum ns_err
api_codes_mint_user(struct ns_db *db, const char *user_id, const char *name,
    char code[NS_VALID_INVITE_CODE_LEN + 1])
{
	static const char sql_user[] =
	    "UPDATE users SET my_invite_code = $2, invite_code_uses_remaining = $3::int "
	    "WHERE user_id = $1";
	char uses[NUM_MAX];
	enum ns_err e;

	if ((e = mint(db, "user", API_CODES_USER_USES, user_id, name, code)) != NS_OK)
		return e;
	snprintf(uses, sizeof(uses), "%d", API_CODES_USER_USES);
	{
		const char *p[] = { user_id, code, uses };

		return exec_only(db, sql_user, 3, p);
	}
}

enum ns_err
api_codes_mint_admin(struct ns_db *db, const char *created_by, const char *created_by_name,
    char code[NS_VALID_INVITE_CODE_LEN + 1])
{
	return mint(db, "admin", -1, created_by, created_by_name, code);
}
