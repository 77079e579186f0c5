/* api_payment: the /payment routes (contract §2.8, §4.3): Stripe checkout and webhook,
 * invite codes (apply, validate with its own limiter, status, admin generate / list /
 * deactivate) and the QR image of a code. Every change is one PostgreSQL transaction; the
 * user cache entry is invalidated after COMMIT, before the answer, so any worker reads the
 * new state at once. The webhook's signature was checked by guard S (guard.c, stripe.c). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "app.h"
#include "cache.h"
#include "codes.h"
#include "db.h"
#include "guard.h"
#include "json.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "nsconfig.h"
#include "qr.h"
#include "rand.h"
#include "ratelimit.h"
#include "respond.h"
#include "stripe.h"
#include "valid.h"

#define QR_WIDTH 300		/* §2.8: pixels */
#define QR_MARGIN 2		/* §2.8: modules of quiet zone */
#define QR_URL_MAX (NS_CFG_STR_MAX + 64)	/* FRONTEND_URL + "/onboarding?inviteCode=" + code */
#define ADMIN_CODES_MAX 10000	/* rows listed by GET /payment/admin/codes */
#define ADMIN_NAME_BUF 512	/* created_by_name: a 100-character label of UTF-8 fits */
#define EVENT_ID_MAX 255	/* stripe_events.event_id / type */
#define NUM_MAX 24		/* a decimal int64 */
#define RL_MSG_MAX 96		/* the validate-code 429 message */
#define SESSIONS_NEEDED 4	/* §4.1: completions for the QR unlock */

#define MSG_USER_NOT_FOUND "User not found"
#define MSG_INVALID_CODE "Invalid invite code"

/* ---- helpers ----------------------------------------------------------------------------- */




/* A nullable bigint column as a JSON number or null. */
static void
set_opt_int(json_object *o, const char *key, const PGresult *res, int row, int c)
{
	if (PQgetisnull(res, row, c))
		ns_json_set_null(o, key);
	else
		ns_json_set_int(o, key, ns_db_col_int(res, row, c));
}

/* Run a statement whose result is not needed. */
static enum ns_err
exec_only(struct api_req *req, const char *sql, int n, const char *const *params)
{
	enum ns_err e = NS_OK;
	PGresult *res = ns_db_exec(req->app->db, sql, n, params, &e);

	PQclear(res);
	return res ? NS_OK : e;
}

/* PostgreSQL or Redis unreachable: the router answers 503 (§1.4). */
static int
unavailable(enum ns_err e)
{
	return e == NS_E_DB || e == NS_E_REDIS || e == NS_E_TIMEOUT || e == NS_E_UNAVAILABLE;
}

/* A required code field (§1.3): a string that is not empty after trimming, else NULL. */
static const char *
code_field(json_object *body, const char *key, size_t *len)
{
	json_object *v;
	size_t trimmed;

	if (!body || !json_object_object_get_ex(body, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	*len = trimmed = (size_t)json_object_get_string_len(v);
	(void)ns_valid_trim(json_object_get_string(v), &trimmed);
	return trimmed ? json_object_get_string(v) : NULL;
}

/* §1.1: trimmed, upper-cased, 16 × [A-Z0-9] into out; 0 when malformed. */
static int
normalise_code(const char *s, size_t len, char out[NS_VALID_INVITE_CODE_LEN + 1])
{
	return ns_valid_code(s, len, NS_VALID_INVITE_CODE_LEN, out);
}

static void
respond_text(struct api_req *req, int status, const char *text)
{
	api_respond_raw(req, status, STRIPE_TEXT_CTYPE, text, strlen(text));
}

/* ---- POST /payment/create-checkout ------------------------------------------------------- */

/* paid and qr_verified users have nothing to buy (a grace-period user may still pay). */
static int
verified(const char *paid_status)
{
	return strcmp(paid_status, "paid") == 0 || strcmp(paid_status, "qr_verified") == 0;
}

enum ns_err
api_payment_checkout(struct api_req *req)
{
	char url[STRIPE_URL_MAX], id[STRIPE_ID_MAX];
	struct stripe_checkout in;
	struct api_user *u;
	json_object *body;
	enum ns_err e;

	if ((u = malloc(sizeof(*u))) == NULL)
		return NS_E_NOMEM;
	if ((e = api_cache_user(req->app, req->auth.user_id, u)) != NS_OK) {
		free(u);
		if (e == NS_E_NOT_FOUND)
			api_respond_error(req, e, MSG_USER_NOT_FOUND);
		return e;
	}
	req->no_store = 1;
	if (verified(u->paid_status)) {
		free(u);
		api_respond_error(req, NS_E_BAD_REQUEST, "You have already verified access");
		return NS_E_BAD_REQUEST;
	}
	in = (struct stripe_checkout){ req->cfg->stripe_api_base, req->cfg->stripe_secret_key,
	    req->cfg->frontend_url, u->user_id, u->name };
	e = stripe_checkout_create(&in, url, id);
	free(u);
	if (e != NS_OK) {
		api_respond_error(req, NS_E_INTERNAL, "Failed to create payment session");
		return e;
	}
	body = ns_json_obj();
	ns_json_set_str(body, "checkoutUrl", url);
	ns_json_set_str(body, "sessionId", id);
	api_respond_json(req, 200, body);
	return NS_OK;
}

/* ---- POST /payment/webhook ---------------------------------------------------------------- */

/* The user of a completed checkout: client_reference_id, else metadata.userId. */
static const char *
event_user(json_object *session)
{
	const char *id = ns_json_get_str(session, "client_reference_id");
	json_object *meta;

	if (id && id[0])
		return id;
	if ((meta = ns_json_get_obj(session, "metadata")) != NULL &&
	    (id = ns_json_get_str(meta, "userId")) != NULL && id[0])
		return id;
	return NULL;
}

/* checkout.session.completed inside the event's transaction. *msg names a contract failure
 * (400 'No userId in payload', 500 'User not found'); other errors leave it NULL. */
static enum ns_err
apply_paid(struct api_req *req, json_object *session, const char **msg, char *user_id)
{
	static const char sql_lock[] = "SELECT name FROM users WHERE user_id = $1 FOR UPDATE";
	static const char sql_paid[] =
	    "UPDATE users SET paid_status = 'paid', paid_at = now(), payment_id = $2 "
	    "WHERE user_id = $1";
	char code[NS_VALID_INVITE_CODE_LEN + 1], name[API_NAME_MAX];
	const char *uid = event_user(session), *intent;
	const char *p[2] = { user_id, NULL };
	enum ns_err e = NS_OK;
	PGresult *res;

	if (!uid) {
		*msg = "No userId in payload";
		return NS_E_BAD_REQUEST;
	}
	if (!ns_rand_uuid_parse(uid, user_id)) {	/* cannot name a user of ours */
		*msg = MSG_USER_NOT_FOUND;
		return NS_E_NOT_FOUND;
	}
	if ((res = ns_db_exec(req->app->db, sql_lock, 1, p, &e)) == NULL)
		return e;
	if (PQntuples(res) == 0) {
		PQclear(res);
		*msg = MSG_USER_NOT_FOUND;
		return NS_E_NOT_FOUND;
	}
	snprintf(name, sizeof(name), "%s", PQgetvalue(res, 0, 0));
	PQclear(res);
	intent = ns_json_get_str(session, "payment_intent");
	p[1] = intent && intent[0] ? intent : NULL;
	if ((e = exec_only(req, sql_paid, 2, p)) != NS_OK)
		return e;
	return api_codes_mint_user(req->app->db, user_id, name, code);
}

/* Record the event and apply it, all in one transaction: an id already recorded has no effect
 * (Stripe retries and replays), a failure records nothing (Stripe retries later). */
static enum ns_err
process_event(struct api_req *req, json_object *ev, const char **msg, char *user_id)
{
	static const char sql_event[] =
	    "INSERT INTO stripe_events (event_id, type) VALUES ($1, $2) "
	    "ON CONFLICT (event_id) DO NOTHING";
	const char *id = ns_json_get_str(ev, "id"), *type = ns_json_get_str(ev, "type");
	json_object *data, *session;
	const char *status;
	enum ns_err e = NS_OK;
	PGresult *res;
	int fresh;

	if (!id || !id[0] || strlen(id) > EVENT_ID_MAX || !type || strlen(type) > EVENT_ID_MAX) {
		*msg = "Webhook Error: Event id or type missing";
		return NS_E_BAD_REQUEST;
	}
	if ((e = ns_db_begin(req->app->db)) != NS_OK)
		return e;
	{
		const char *p[] = { id, type };

		if ((res = ns_db_exec(req->app->db, sql_event, 2, p, &e)) == NULL)
			goto fail;
	}
	fresh = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!fresh) {
		ns_db_rollback(req->app->db);
		ns_log_info("stripe: event %s already processed", id);
		return NS_OK;
	}
	if (strcmp(type, "checkout.session.completed") == 0 &&
	    (data = ns_json_get_obj(ev, "data")) != NULL &&
	    (session = ns_json_get_obj(data, "object")) != NULL &&
	    (status = ns_json_get_str(session, "payment_status")) != NULL &&
	    strcmp(status, "paid") == 0 &&
	    (e = apply_paid(req, session, msg, user_id)) != NS_OK)
		goto fail;
	if ((e = ns_db_commit(req->app->db)) != NS_OK)
		return e;
	return NS_OK;
fail:
	ns_db_rollback(req->app->db);
	return e;
}

enum ns_err
api_payment_webhook(struct api_req *req)
{
	char user_id[NS_UUID_LEN + 1] = "";
	const char *msg = NULL;
	json_object *ev = NULL, *body;
	enum ns_err e;

	if (ns_json_parse_object(req->body ? req->body : "", req->body_len, &ev) != NS_OK) {
		respond_text(req, 400, "Webhook Error: Invalid JSON payload");
		return NS_E_BAD_REQUEST;
	}
	e = process_event(req, ev, &msg, user_id);
	json_object_put(ev);
	if (e != NS_OK) {
		if (msg) {
			respond_text(req, e == NS_E_BAD_REQUEST ? 400 : 500, msg);
		} else if (!unavailable(e)) {
			ns_log_err("stripe: webhook failed: %s (%s)", ns_err_str(e),
			    ns_db_last_error(req->app->db));
			respond_text(req, 500, "Webhook processing failed");
		}
		return e;
	}
	if (user_id[0]) {
		api_cache_user_invalidate(req->app, user_id);
		ns_log_info("stripe: user %s paid", user_id);
	}
	body = ns_json_obj();
	ns_json_set_bool(body, "received", 1);
	api_respond_json(req, 200, body);
	return NS_OK;
}

/* ---- POST /payment/apply-code -------------------------------------------------------------- */

/* Paid, verified or in the grace period: access already granted (§4.3). */
static int
paid_access(const char *status)
{
	return strcmp(status, "paid") == 0 || strcmp(status, "qr_verified") == 0 ||
	    strcmp(status, "qr_grace_period") == 0;
}

static void
respond_reason(struct api_req *req, const char *reason)
{
	json_object *b = ns_json_obj();

	ns_json_set_str(b, "error", reason);
	api_respond_error_body(req, NS_E_FORBIDDEN, b);
}

enum ns_err
api_payment_apply_code(struct api_req *req)
{
	static const char sql_lock[] =
	    "SELECT paid_status FROM users WHERE user_id = $1 FOR UPDATE";
	static const char sql_grace[] =
	    "UPDATE users SET paid_status = 'qr_grace_period', invite_code_used = $2, "
	    "qr_unlocked = false, successful_sessions = 0 WHERE user_id = $1";
	char code[NS_VALID_INVITE_CODE_LEN + 1];
	const char *raw, *reason = NULL, *p[2] = { req->auth.user_id, code };
	json_object *body;
	enum ns_err e = NS_OK;
	PGresult *res;
	size_t len = 0;

	req->no_store = 1;
	if ((raw = code_field(req->json, "inviteCode", &len)) == NULL) {
		api_respond_error(req, NS_E_BAD_REQUEST, "Invite code is required");
		return NS_E_BAD_REQUEST;
	}
	if ((e = ns_db_begin(req->app->db)) != NS_OK)
		return e;
	if ((res = ns_db_exec(req->app->db, sql_lock, 1, p, &e)) == NULL)
		goto fail;
	if (PQntuples(res) == 0) {
		PQclear(res);
		ns_db_rollback(req->app->db);
		api_respond_error(req, NS_E_NOT_FOUND, MSG_USER_NOT_FOUND);
		return NS_E_NOT_FOUND;
	}
	if (paid_access(PQgetvalue(res, 0, 0))) {
		PQclear(res);
		ns_db_rollback(req->app->db);
		api_respond_error(req, NS_E_BAD_REQUEST, "You already have access");
		return NS_E_BAD_REQUEST;
	}
	PQclear(res);
	if (!normalise_code(raw, len, code)) {
		reason = MSG_INVALID_CODE;
		e = NS_E_FORBIDDEN;
		goto fail;
	}
	if ((e = api_codes_redeem(req->app->db, code, req->auth.user_id, &reason)) != NS_OK ||
	    (e = exec_only(req, sql_grace, 2, p)) != NS_OK)
		goto fail;
	if ((e = ns_db_commit(req->app->db)) != NS_OK)
		return e;
	api_cache_user_invalidate(req->app, req->auth.user_id);
	body = ns_json_obj();
	ns_json_set_bool(body, "success", 1);
	ns_json_set_str(body, "paidStatus", "qr_grace_period");
	ns_json_set_bool(body, "qrUnlocked", 0);
	ns_json_set_int(body, "sessionsNeeded", SESSIONS_NEEDED);
	api_respond_json(req, 200, body);
	return NS_OK;
fail:
	ns_db_rollback(req->app->db);
	if (e == NS_E_FORBIDDEN && reason)
		respond_reason(req, reason);
	return e;
}

/* ---- POST /payment/validate-code ---------------------------------------------------------- */

/* {error, attemptsRemaining} with the status of e. */
static void
respond_attempt(struct api_req *req, enum ns_err e, const char *error, int remaining)
{
	json_object *b = ns_json_obj();

	ns_json_set_str(b, "error", error);
	ns_json_set_int(b, "attemptsRemaining", remaining);
	api_respond_error_body(req, e, b);
}

/* Count this attempt (§1.8 validate-code, keyed by IP). 1 when refused (429 sent); else
 * *remaining is what is left in the window. Redis down: not counted, let through. */
static int
count_attempt(struct api_req *req, int *remaining)
{
	const struct ns_config *cfg = req->cfg;
	char key[NS_KEY_MAX], msg[RL_MSG_MAX];
	struct ns_rl_verdict v;
	struct ns_rl_state st;
	json_object *b;
	int64_t minutes;

	*remaining = cfg->rl_validate_max;
	if (!ns_keys_ratelimit(key, "validate", req->remote_addr))
		return 0;
	if (ns_rl_check(req->app->kv, key, NS_RL_HIT, cfg->rl_validate_window_s, &st) != NS_OK) {
		api_metrics_redis_error();
		ns_log_debug("rate limit validate not checked (Redis unavailable)");
		return 0;
	}
	ns_rl_decide(&st, NS_RL_HIT, cfg->rl_validate_max, &v);
	api_guard_rl_headers(req, &v);
	*remaining = st.count >= cfg->rl_validate_max ? 0 : (int)(cfg->rl_validate_max - st.count);
	if (!v.limited)
		return 0;
	minutes = (st.reset_ms + 59999) / 60000;
	snprintf(msg, sizeof(msg), "Please wait %lld minutes before trying again",
	    (long long)minutes);
	b = ns_json_obj();
	ns_json_set_str(b, "error", "Too many attempts");
	ns_json_set_str(b, "message", msg);
	ns_json_set_int(b, "retryAfter", st.reset_ms);
	api_metrics_ratelimited(API_RL_VALIDATE);
	api_respond_error_body(req, NS_E_RATE_LIMITED, b);
	return 1;
}

enum ns_err
api_payment_validate_code(struct api_req *req)
{
	static const char sql[] =
	    "SELECT type, uses_remaining, is_active, created_by_name FROM invite_codes "
	    "WHERE code = $1";
	char code[NS_VALID_INVITE_CODE_LEN + 1];
	const char *raw, *p[] = { code };
	json_object *body;
	enum ns_err e = NS_OK;
	PGresult *res;
	size_t len = 0;
	int left;

	if ((raw = code_field(req->json, "code", &len)) == NULL) {
		api_respond_error(req, NS_E_BAD_REQUEST, "Code is required");
		return NS_E_BAD_REQUEST;
	}
	if (count_attempt(req, &left))
		return NS_E_RATE_LIMITED;
	if (!normalise_code(raw, len, code)) {
		respond_attempt(req, NS_E_BAD_REQUEST, "Invalid code format", left);
		return NS_E_BAD_REQUEST;
	}
	if ((res = ns_db_read(req->app->db, sql, 1, p, &e)) == NULL)
		return e;
	if (PQntuples(res) == 0)
		e = NS_E_NOT_FOUND;
	else if (!ns_db_col_bool(res, 0, 2))
		e = NS_E_FORBIDDEN;
	else if (strcmp(PQgetvalue(res, 0, 0), "user") == 0 && ns_db_col_int(res, 0, 1) <= 0)
		e = NS_E_CONFLICT;	/* fully used: answered as 403 below */
	if (e != NS_OK) {
		PQclear(res);
		if (e == NS_E_NOT_FOUND)
			respond_attempt(req, e, MSG_INVALID_CODE, left);
		else
			respond_attempt(req, NS_E_FORBIDDEN, e == NS_E_FORBIDDEN ?
			    "This invite code has been deactivated" :
			    "This invite code has been fully used", left);
		return e;
	}
	body = ns_json_obj();
	ns_json_set_bool(body, "valid", 1);
	ns_json_set_str(body, "type", PQgetvalue(res, 0, 0));
	ns_json_set_int(body, "usesRemaining", ns_db_col_int(res, 0, 1));
	ns_json_set_str(body, "createdBy", ns_db_col(res, 0, 3));
	PQclear(res);
	api_respond_json(req, 200, body);
	return NS_OK;
}

/* ---- GET /payment/status ------------------------------------------------------------------- */

enum { ST_PAID, ST_PAID_AT, ST_MY_CODE, ST_USED, ST_QR, ST_SESSIONS, ST_QR_AT, ST_CODE,
	ST_CODE_USES, ST_CODE_MAX, ST_CODE_TYPE, ST_CODE_USED };

enum ns_err
api_payment_status(struct api_req *req)
{
	/* the primary, not the cache or a replica: a payment is read back at once */
	static const char sql[] =
	    "SELECT u.paid_status, (extract(epoch FROM u.paid_at) * 1000)::bigint, "
	    "u.my_invite_code, u.invite_code_used, u.qr_unlocked, u.successful_sessions, "
	    "(extract(epoch FROM u.qr_unlocked_at) * 1000)::bigint, c.code, c.uses_remaining, "
	    "c.max_uses, c.type, (SELECT count(*) FROM invite_code_redemptions r "
	    "WHERE r.code = c.code) "
	    "FROM users u LEFT JOIN invite_codes c ON c.code = u.my_invite_code "
	    "WHERE u.user_id = $1";
	const char *p[] = { req->auth.user_id };
	json_object *body, *info = NULL;
	enum ns_err e = NS_OK;
	PGresult *res;
	int has_code;

	req->no_store = 1;
	if ((res = ns_db_exec(req->app->db, sql, 1, p, &e)) == NULL)
		return e;
	if (PQntuples(res) == 0) {
		PQclear(res);
		api_respond_error(req, NS_E_NOT_FOUND, MSG_USER_NOT_FOUND);
		return NS_E_NOT_FOUND;
	}
	has_code = !PQgetisnull(res, 0, ST_CODE);
	body = ns_json_obj();
	ns_json_set_str(body, "paidStatus", ns_db_col(res, 0, ST_PAID) ? ns_db_col(res, 0, ST_PAID) : "unpaid");
	set_opt_int(body, "paidAt", res, 0, ST_PAID_AT);
	ns_json_set_str(body, "myInviteCode", ns_db_col(res, 0, ST_MY_CODE));
	ns_json_set_int(body, "inviteCodeUsesRemaining",
	    has_code ? ns_db_col_int(res, 0, ST_CODE_USES) : 0);
	if (has_code) {
		info = ns_json_obj();
		ns_json_set_str(info, "code", ns_db_col(res, 0, ST_CODE));
		ns_json_set_int(info, "usesRemaining", ns_db_col_int(res, 0, ST_CODE_USES));
		ns_json_set_int(info, "maxUses", ns_db_col_int(res, 0, ST_CODE_MAX));
		ns_json_set_int(info, "totalUsed", ns_db_col_int(res, 0, ST_CODE_USED));
		ns_json_set_str(info, "type", ns_db_col(res, 0, ST_CODE_TYPE));
	}
	ns_json_set(body, "myCodeInfo", info);
	ns_json_set_str(body, "inviteCodeUsed", ns_db_col(res, 0, ST_USED));
	ns_json_set_bool(body, "qrUnlocked", ns_db_col_bool(res, 0, ST_QR));
	ns_json_set_int(body, "successfulSessions", ns_db_col_int(res, 0, ST_SESSIONS));
	set_opt_int(body, "qrUnlockedAt", res, 0, ST_QR_AT);
	PQclear(res);
	api_respond_json(req, 200, body);
	return NS_OK;
}

/* ---- admin: generate-code, codes, deactivate-code ------------------------------------------ */

static const struct ns_valid_field generate_fields[] = {
	NS_VALID_F_LABEL,
};

/* created_by and created_by_name of a new admin code: the admin-role user (404 when the row
 * is gone) or, for an admin token, nobody, named after the admin account. */
static enum ns_err
code_creator(struct api_req *req, const char *label, char name[ADMIN_NAME_BUF],
    const char **created_by)
{
	static const char sql[] = "SELECT name FROM users WHERE user_id = $1";
	const char *p[] = { req->auth.user_id };
	enum ns_err e = NS_OK;
	PGresult *res;

	*created_by = NULL;
	if (!req->auth.user) {
		snprintf(name, ADMIN_NAME_BUF, "%s%s%s", label ? label : "Admin (",
		    label ? "" : req->auth.admin_username, label ? "" : ")");
		return NS_OK;
	}
	if ((res = ns_db_exec(req->app->db, sql, 1, p, &e)) == NULL)
		return e;
	if (PQntuples(res) == 0) {
		PQclear(res);
		api_respond_error(req, NS_E_NOT_FOUND, "Admin user not found");
		return NS_E_NOT_FOUND;
	}
	snprintf(name, ADMIN_NAME_BUF, "%s%s%s", label ? label : "Admin (",
	    label ? "" : PQgetvalue(res, 0, 0), label ? "" : ")");
	PQclear(res);
	*created_by = req->auth.user_id;
	return NS_OK;
}

enum ns_err
api_payment_admin_generate(struct api_req *req)
{
	char name[ADMIN_NAME_BUF], code[NS_VALID_INVITE_CODE_LEN + 1], url[64];
	const char *msg, *created_by;
	json_object *body;
	enum ns_err e;

	req->no_store = 1;
	if ((e = ns_valid_check(req->json, generate_fields, 1, &msg)) != NS_OK) {
		api_respond_error(req, e, msg);
		return e;
	}
	if ((e = code_creator(req, ns_json_get_str(req->json, "label"), name, &created_by)) !=
	    NS_OK)
		return e;
	if ((e = api_codes_mint_admin(req->app->db, created_by, name, code)) != NS_OK) {
		if (unavailable(e))
			return e;
		body = ns_json_obj();
		ns_json_set_str(body, "error", "Failed to generate code");
		ns_json_set_str(body, "message", ns_err_str(e));
		api_respond_error_body(req, NS_E_INTERNAL, body);
		return e;
	}
	ns_log_info("payment: admin code %s generated by %s", code,
	    req->auth.user ? req->auth.user_id : req->auth.admin_username);
	snprintf(url, sizeof(url), "/payment/qr/%s", code);
	body = ns_json_obj();
	ns_json_set_str(body, "code", code);
	ns_json_set_str(body, "qrCodeUrl", url);
	api_respond_json(req, 200, body);
	return NS_OK;
}

enum { AC_CODE, AC_TYPE, AC_BY, AC_AT, AC_MAX, AC_USES, AC_USED, AC_ACTIVE, AC_TOTAL };

enum ns_err
api_payment_admin_codes(struct api_req *req)
{
	static const char sql[] =
	    "SELECT c.code, c.type, c.created_by_name, "
	    "(extract(epoch FROM c.created_at) * 1000)::bigint, c.max_uses, c.uses_remaining, "
	    "(SELECT count(*) FROM invite_code_redemptions r WHERE r.code = c.code), "
	    "c.is_active, count(*) OVER () "
	    "FROM invite_codes c ORDER BY c.created_at DESC, c.code LIMIT $1::int";
	char limit[NUM_MAX];
	const char *p[] = { limit };
	json_object *body, *list;
	enum ns_err e = NS_OK;
	PGresult *res;
	int i, n;

	req->no_store = 1;
	snprintf(limit, sizeof(limit), "%d", ADMIN_CODES_MAX);
	if ((res = ns_db_read(req->app->db, sql, 1, p, &e)) == NULL)
		return e;
	if ((list = json_object_new_array()) == NULL) {
		PQclear(res);
		return NS_E_NOMEM;
	}
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		json_object *c = ns_json_obj();

		ns_json_set_str(c, "code", ns_db_col(res, i, AC_CODE));
		ns_json_set_str(c, "type", ns_db_col(res, i, AC_TYPE));
		ns_json_set_str(c, "createdBy", ns_db_col(res, i, AC_BY));
		ns_json_set_int(c, "createdAt", ns_db_col_int(res, i, AC_AT));
		ns_json_set_int(c, "maxUses", ns_db_col_int(res, i, AC_MAX));
		ns_json_set_int(c, "usesRemaining", ns_db_col_int(res, i, AC_USES));
		ns_json_set_int(c, "totalUsed", ns_db_col_int(res, i, AC_USED));
		ns_json_set_bool(c, "isActive", ns_db_col_bool(res, i, AC_ACTIVE));
		json_object_array_add(list, c);
	}
	body = ns_json_obj();
	ns_json_set(body, "codes", list);
	ns_json_set_int(body, "total", n ? ns_db_col_int(res, 0, AC_TOTAL) : 0);
	PQclear(res);
	api_respond_json(req, 200, body);
	return NS_OK;
}

enum ns_err
api_payment_admin_deactivate(struct api_req *req)
{
	static const char sql[] = "UPDATE invite_codes SET is_active = false WHERE code = $1";
	char code[NS_VALID_INVITE_CODE_LEN + 1];
	const char *raw, *p[] = { code };
	json_object *body;
	enum ns_err e = NS_OK;
	PGresult *res;
	size_t len = 0;
	int found;

	req->no_store = 1;
	if ((raw = code_field(req->json, "code", &len)) == NULL) {
		api_respond_error(req, NS_E_BAD_REQUEST, "Code is required");
		return NS_E_BAD_REQUEST;
	}
	if (!normalise_code(raw, len, code)) {
		api_respond_error(req, NS_E_NOT_FOUND, "Code not found");
		return NS_E_NOT_FOUND;
	}
	if ((res = ns_db_exec(req->app->db, sql, 1, p, &e)) == NULL)
		return e;
	found = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!found) {
		api_respond_error(req, NS_E_NOT_FOUND, "Code not found");
		return NS_E_NOT_FOUND;
	}
	ns_log_info("payment: code %s deactivated by %s", code,
	    req->auth.user ? req->auth.user_id : req->auth.admin_username);
	body = ns_json_obj();
	ns_json_set_bool(body, "success", 1);
	ns_json_set_str(body, "message", "Code deactivated");
	api_respond_json(req, 200, body);
	return NS_OK;
}

/* ---- GET /payment/qr/:code ------------------------------------------------------------------ */

enum ns_err
api_payment_qr(struct api_req *req)
{
	static const char sql[] = "SELECT 1 FROM invite_codes WHERE code = $1";
	char code[NS_VALID_INVITE_CODE_LEN + 1], url[QR_URL_MAX];
	const char *raw = api_req_param(req, "code"), *p[] = { code };
	enum ns_err e = NS_OK;
	unsigned char *png;
	PGresult *res;
	size_t len;
	int found;

	if (!raw || !normalise_code(raw, strlen(raw), code)) {
		respond_text(req, 404, "Code not found");
		return NS_E_NOT_FOUND;
	}
	if ((res = ns_db_read(req->app->db, sql, 1, p, &e)) == NULL)
		return e;
	found = PQntuples(res) == 1;
	PQclear(res);
	if (!found) {
		respond_text(req, 404, "Code not found");
		return NS_E_NOT_FOUND;
	}
	snprintf(url, sizeof(url), "%s/onboarding?inviteCode=%s", req->cfg->frontend_url, code);
	if ((e = api_qr_png(url, QR_WIDTH, QR_MARGIN, &png, &len)) != NS_OK) {
		respond_text(req, 500, "Failed to generate QR code");
		return e;
	}
	api_resp_header(req, "Cache-Control", "public, max-age=86400");
	api_respond_raw(req, 200, "image/png", (const char *)png, len);
	free(png);
	return NS_OK;
}
