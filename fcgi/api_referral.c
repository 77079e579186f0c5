/* api_referral: introductions (contract §2.6, §4.5): intro codes, their public lookups, the
 * notifications a target receives when someone signs up through an introduction, and the
 * caller's view of them. Codes and notifications live in PostgreSQL; online/available comes
 * from the shared presence in Redis (a Redis failure reads as offline, never as an error). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "app.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "presence.h"
#include "rand.h"
#include "respond.h"
#include "valid.h"

#define INTRO_CODE_TRIES 10		/* fresh codes tried when one collides (§4.1) */
#define NOTIFICATIONS_MAX 500		/* notifications one GET returns (newest first) */
#define INTRODUCTIONS_MAX 200		/* introductions listed (one presence read each) */

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))
#define SQL_MS(x) "(extract(epoch FROM " x ") * 1000)::bigint"

#define MSG_GEN_FAILED "Failed to generate referral code. Please try again."
#define MSG_TARGET_NOT_FOUND "Target user not found"
#define MSG_INVALID_CODE "Invalid referral code"

/* ---- helpers ------------------------------------------------------------------------- */




static enum ns_err
respond_msg(struct api_req *req, enum ns_err e, const char *msg)
{
	api_respond_error(req, e, msg);
	return e;
}

static void
respond_ok(struct api_req *req, json_object *body, int authenticated)
{
	req->no_store = authenticated;
	api_respond_json(req, 200, body);
}

/* The intro code of a path parameter or body field, normalised (§1.1: trimmed, upper-cased);
 * 0 when it cannot be one, which reads as unknown. */
static int
intro_code(const char *s, char out[NS_VALID_INTRO_CODE_LEN + 1])
{
	return s && ns_valid_code(s, strlen(s), NS_VALID_INTRO_CODE_LEN, out);
}

/* Presence of user_id; offline when Redis cannot say. */
static void
presence(struct api_req *req, const char *user_id, int *online, int *available)
{
	if (ns_presence_get(req->app->kv, user_id, online, available) != NS_OK) {
		*online = 0;
		*available = 0;
	}
}

/* {userId, name, gender, selfieUrl, videoUrl} from five consecutive columns. */
static json_object *
card_json(const PGresult *res, int row, int c)
{
	json_object *t = ns_json_obj();

	ns_json_set_str(t, "userId", ns_db_col(res, row, c));
	ns_json_set_str(t, "name", ns_db_col(res, row, c + 1));
	ns_json_set_str(t, "gender", ns_db_col(res, row, c + 2));
	ns_json_set_str(t, "selfieUrl", ns_db_col(res, row, c + 3));
	ns_json_set_str(t, "videoUrl", ns_db_col(res, row, c + 4));
	return t;
}

/* ---- POST /referral/generate ----------------------------------------------------------- */

static const struct ns_valid_field generate_fields[] = {
	NS_VALID_F_UUID("targetUserId", "targetUserId is required"),
};

enum ns_err
api_referral_generate(struct api_req *req)
{
	static const char sql_names[] =
	    "SELECT (SELECT name FROM users WHERE user_id = $1), "
	    "(SELECT name FROM users WHERE user_id = $2)";
	/* ON CONFLICT: a colliding code is simply not inserted, and the next one is tried */
	static const char sql_insert[] =
	    "INSERT INTO intro_codes (code, target_user_id, target_name, created_by_user_id, "
	    "created_by_name) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (code) DO NOTHING";
	char code[NS_VALID_INTRO_CODE_LEN + 1];
	const char *target, *msg;
	json_object *body;
	PGresult *names;
	enum ns_err e = NS_OK;
	int i;

	if ((e = ns_valid_check(req->json, generate_fields, NFIELDS(generate_fields), &msg))
	    != NS_OK)
		return respond_msg(req, e, msg);
	target = ns_json_get_str(req->json, "targetUserId");
	{
		const char *p[] = { target, req->auth.user_id };

		if ((names = ns_db_exec(req->app->db, sql_names, 2, p, &e)) == NULL)
			return e;
	}
	if (PQgetisnull(names, 0, 0) || PQgetisnull(names, 0, 1)) {
		msg = PQgetisnull(names, 0, 0) ? MSG_TARGET_NOT_FOUND : "User not found";
		PQclear(names);
		return respond_msg(req, NS_E_NOT_FOUND, msg);
	}
	for (i = 0; i < INTRO_CODE_TRIES; i++) {
		const char *p[] = { code, target, PQgetvalue(names, 0, 0), req->auth.user_id,
		    PQgetvalue(names, 0, 1) };
		PGresult *res;
		int inserted;

		if ((e = ns_rand_code(code, NS_VALID_INTRO_CODE_LEN)) != NS_OK)
			break;
		if ((res = ns_db_exec(req->app->db, sql_insert, 5, p, &e)) == NULL)
			break;
		inserted = strcmp(PQcmdTuples(res), "1") == 0;
		PQclear(res);
		if (!inserted)
			continue;
		body = ns_json_obj();
		ns_json_set_str(body, "referralCode", code);
		ns_json_set_str(body, "targetUserName", PQgetvalue(names, 0, 0));
		PQclear(names);
		respond_ok(req, body, 1);
		return NS_OK;
	}
	PQclear(names);
	if (e == NS_E_BAD_REQUEST)	/* foreign key: the target was deleted meanwhile */
		return respond_msg(req, NS_E_NOT_FOUND, MSG_TARGET_NOT_FOUND);
	if (e == NS_OK || e == NS_E_INTERNAL || e == NS_E_NOMEM || e == NS_E_CONFLICT) {
		if (e == NS_OK)
			ns_log_err("referral: no free intro code after %d tries", INTRO_CODE_TRIES);
		return respond_msg(req, NS_E_INTERNAL, MSG_GEN_FAILED);
	}
	return e;	/* 503 */
}

/* ---- lookups by code ------------------------------------------------------------------- */

/* Columns of the code lookup: the stored names, then the target's current card. */
enum { CODE_TARGET_NAME, CODE_BY_NAME, CODE_CARD /* 5 columns */, CODE_INTRODUCED = 7 };

/* The intro code and its target (NULL card columns when the user row is gone); with caller,
 * CODE_INTRODUCED says whether the caller's introduced_to is the target. */
static PGresult *
lookup_code(struct api_req *req, const char *code, const char *caller, enum ns_err *e)
{
	static const char sql[] =
	    "SELECT ic.target_name, ic.created_by_name, "
	    "u.user_id, u.name, u.gender, u.selfie_url, u.video_url, "
	    "coalesce((SELECT me.introduced_to = ic.target_user_id FROM users me "
	    "WHERE me.user_id = $2), false) "
	    "FROM intro_codes ic LEFT JOIN users u ON u.user_id = ic.target_user_id "
	    "WHERE ic.code = $1";
	const char *p[] = { code, caller };

	/* the primary: a code generated a moment ago must be found by the next request */
	return ns_db_exec(req->app->db, sql, 2, p, e);
}

enum ns_err
api_referral_info(struct api_req *req)
{
	char code[NS_VALID_INTRO_CODE_LEN + 1];
	json_object *body;
	PGresult *res;
	enum ns_err e = NS_OK;

	if (!intro_code(api_req_param(req, "code"), code))
		return respond_msg(req, NS_E_NOT_FOUND, "Invalid or expired referral code");
	if ((res = lookup_code(req, code, NULL, &e)) == NULL)
		return e;
	if (PQntuples(res) == 0 || PQgetisnull(res, 0, CODE_CARD)) {
		PQclear(res);
		return respond_msg(req, NS_E_NOT_FOUND, "Invalid or expired referral code");
	}
	body = ns_json_obj();
	ns_json_set_str(body, "targetUserName", ns_db_col(res, 0, CODE_TARGET_NAME));
	ns_json_set_str(body, "introducedBy", ns_db_col(res, 0, CODE_BY_NAME));
	ns_json_set(body, "targetUser", card_json(res, 0, CODE_CARD));
	PQclear(res);
	respond_ok(req, body, 0);
	return NS_OK;
}

/* Shared by target-status and direct-match: the code → 404s of both routes, or NS_OK. */
static enum ns_err
find_target(struct api_req *req, const char *raw, const char *caller, PGresult **out)
{
	char code[NS_VALID_INTRO_CODE_LEN + 1];
	enum ns_err e = NS_OK;

	*out = NULL;
	if (!intro_code(raw, code))
		return respond_msg(req, NS_E_NOT_FOUND, MSG_INVALID_CODE);
	if ((*out = lookup_code(req, code, caller, &e)) == NULL)
		return e;
	if (PQntuples(*out) == 0 || PQgetisnull(*out, 0, CODE_CARD)) {
		int unknown = PQntuples(*out) == 0;

		PQclear(*out);
		*out = NULL;
		return respond_msg(req, NS_E_NOT_FOUND,
		    unknown ? MSG_INVALID_CODE : MSG_TARGET_NOT_FOUND);
	}
	return NS_OK;
}

enum ns_err
api_referral_target_status(struct api_req *req)
{
	json_object *body;
	PGresult *res;
	int online, available;
	enum ns_err e;

	if ((e = find_target(req, api_req_param(req, "code"), NULL, &res)) != NS_OK)
		return e;
	presence(req, ns_db_col(res, 0, CODE_CARD), &online, &available);
	body = ns_json_obj();
	ns_json_set_str(body, "targetUserId", ns_db_col(res, 0, CODE_CARD));
	ns_json_set_str(body, "targetName", ns_db_col(res, 0, CODE_CARD + 1));
	ns_json_set_str(body, "targetGender", ns_db_col(res, 0, CODE_CARD + 2));
	ns_json_set_str(body, "targetSelfie", ns_db_col(res, 0, CODE_CARD + 3));
	ns_json_set_str(body, "targetVideo", ns_db_col(res, 0, CODE_CARD + 4));
	ns_json_set_bool(body, "isOnline", online);
	ns_json_set_bool(body, "isAvailable", available);
	ns_json_set_str(body, "introducedBy", ns_db_col(res, 0, CODE_BY_NAME));
	PQclear(res);
	respond_ok(req, body, 0);
	return NS_OK;
}

enum ns_err
api_referral_direct_match(struct api_req *req)
{
	const char *raw = ns_json_get_str(req->json, "referralCode");
	size_t len = raw ? strlen(raw) : 0;
	json_object *body;
	PGresult *res;
	int online, available;
	enum ns_err e;

	if (raw)
		(void)ns_valid_trim(raw, &len);
	if (len == 0)
		return respond_msg(req, NS_E_BAD_REQUEST, "Referral code is required");
	if ((e = find_target(req, raw, req->auth.user_id, &res)) != NS_OK)
		return e;
	presence(req, ns_db_col(res, 0, CODE_CARD), &online, &available);
	body = ns_json_obj();
	ns_json_set_bool(body, "success", 1);
	ns_json_set(body, "targetUser", card_json(res, 0, CODE_CARD));
	ns_json_set_bool(body, "isOnline", online);
	ns_json_set_bool(body, "isAvailable", available);
	ns_json_set_bool(body, "canCall", online && available);
	ns_json_set_bool(body, "wasIntroduced", ns_db_col_bool(res, 0, CODE_INTRODUCED));
	ns_json_set_str(body, "introducedBy", ns_db_col(res, 0, CODE_BY_NAME));
	PQclear(res);
	respond_ok(req, body, 1);
	return NS_OK;
}

/* ---- notifications --------------------------------------------------------------------- */

enum ns_err
api_referral_notifications(struct api_req *req)
{
	static const char sql[] =
	    "SELECT id, for_user_id, referred_user_id, referred_name, introduced_by, "
	    "introduced_by_name, " SQL_MS("\"timestamp\"") ", read, "
	    "count(*) FILTER (WHERE NOT read) OVER () "
	    "FROM referral_notifications WHERE for_user_id = $1 "
	    "ORDER BY \"timestamp\" DESC, id LIMIT $2::int";
	char max[16];
	const char *p[] = { req->auth.user_id, max };
	json_object *body, *list;
	PGresult *res;
	enum ns_err e = NS_OK;
	int i, n;

	snprintf(max, sizeof(max), "%d", NOTIFICATIONS_MAX);
	if ((res = ns_db_exec(req->app->db, sql, 2, p, &e)) == NULL)
		return e;
	n = PQntuples(res);
	if ((list = json_object_new_array()) == NULL) {
		PQclear(res);
		return NS_E_NOMEM;
	}
	for (i = 0; i < n; i++) {
		json_object *o = ns_json_obj();

		ns_json_set_str(o, "id", ns_db_col(res, i, 0));
		ns_json_set_str(o, "forUserId", ns_db_col(res, i, 1));
		ns_json_set_str(o, "referredUserId", ns_db_col(res, i, 2));
		ns_json_set_str(o, "referredName", ns_db_col(res, i, 3));
		ns_json_set_str(o, "introducedBy", ns_db_col(res, i, 4));
		ns_json_set_str(o, "introducedByName", ns_db_col(res, i, 5));
		ns_json_set_int(o, "timestamp", ns_db_col_int(res, i, 6));
		ns_json_set_bool(o, "read", ns_db_col_bool(res, i, 7));
		json_object_array_add(list, o);
	}
	body = ns_json_obj();
	ns_json_set(body, "notifications", list);
	ns_json_set_int(body, "unreadCount", n ? ns_db_col_int(res, 0, 8) : 0);
	PQclear(res);
	respond_ok(req, body, 1);
	return NS_OK;
}

enum ns_err
api_referral_notification_read(struct api_req *req)
{
	static const char sql[] =
	    "UPDATE referral_notifications SET read = true "
	    "WHERE id = $1 AND for_user_id = $2 AND NOT read";
	char id[NS_UUID_LEN + 1];
	const char *p[] = { id, req->auth.user_id };
	const char *raw = api_req_param(req, "id");
	json_object *body;
	PGresult *res;
	enum ns_err e = NS_OK;

	if (!raw || !ns_rand_uuid_parse(raw, id))
		return respond_msg(req, NS_E_BAD_REQUEST, "Invalid id");
	/* someone else's id changes nothing and still succeeds (§2.6) */
	if ((res = ns_db_exec(req->app->db, sql, 2, p, &e)) == NULL)
		return e;
	PQclear(res);
	body = ns_json_obj();
	ns_json_set_bool(body, "success", 1);
	respond_ok(req, body, 1);
	return NS_OK;
}

enum ns_err
api_referral_my_introductions(struct api_req *req)
{
	static const char sql[] =
	    "SELECT u.user_id, u.name, n.introduced_by_name, " SQL_MS("n.\"timestamp\"") ", "
	    "u.selfie_url, u.video_url, u.gender "
	    "FROM referral_notifications n JOIN users u ON u.user_id = n.referred_user_id "
	    "WHERE n.for_user_id = $1 ORDER BY n.\"timestamp\" DESC, n.id LIMIT $2::int";
	char max[16];
	const char *p[] = { req->auth.user_id, max };
	json_object *body, *list;
	PGresult *res;
	enum ns_err e = NS_OK;
	int i, n;

	snprintf(max, sizeof(max), "%d", INTRODUCTIONS_MAX);
	if ((res = ns_db_exec(req->app->db, sql, 2, p, &e)) == NULL)
		return e;
	n = PQntuples(res);
	if ((list = json_object_new_array()) == NULL) {
		PQclear(res);
		return NS_E_NOMEM;
	}
	for (i = 0; i < n; i++) {
		json_object *o = ns_json_obj();
		int online, available;

		presence(req, ns_db_col(res, i, 0), &online, &available);
		ns_json_set_str(o, "userId", ns_db_col(res, i, 0));
		ns_json_set_str(o, "name", ns_db_col(res, i, 1));
		ns_json_set_str(o, "introducedBy", ns_db_col(res, i, 2));
		ns_json_set_int(o, "timestamp", ns_db_col_int(res, i, 3));
		ns_json_set_bool(o, "isOnline", online);
		ns_json_set_bool(o, "isAvailable", available);
		ns_json_set_str(o, "selfieUrl", ns_db_col(res, i, 4));
		ns_json_set_str(o, "videoUrl", ns_db_col(res, i, 5));
		ns_json_set_str(o, "gender", ns_db_col(res, i, 6));
		json_object_array_add(list, o);
	}
	body = ns_json_obj();
	ns_json_set(body, "introductions", list);
	ns_json_set_int(body, "count", n);
	PQclear(res);
	respond_ok(req, body, 1);
	return NS_OK;
}
