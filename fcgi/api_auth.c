/* api_auth: POST /auth/guest, /auth/link, /auth/login, /auth/logout (contract §2.2).
 * Every account change is one PostgreSQL transaction; cache entries are invalidated and the
 * gateways told (fcgi/ctl) only after COMMIT, so no worker or gateway can see a state that was
 * rolled back. bcrypt at cost 12 takes about 250 ms: it runs outside any transaction and
 * blocks only the worker serving the request. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "app.h"
#include "cache.h"
#include "codes.h"
#include "ctl.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "nsconfig.h"
#include "passwd.h"
#include "presence.h"
#include "rand.h"
#include "respond.h"
#include "valid.h"

#define DEVICE_INFO_MAX 255			/* sessions.device_info, code points (§2.2) */
#define DEVICE_INFO_BUF (DEVICE_INFO_MAX * 4 + 1)
#define DEVICE_UNKNOWN "Unknown device"
#define LOGIN_TOKENS_MAX 256			/* session tokens reported per login */
#define NUM_MAX 24				/* a decimal int64 */
#define EMAIL_BUF (NS_VALID_EMAIL_MAX * 4 + 1)	/* 254 code points of UTF-8 */

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))

#define MSG_USER_NOT_FOUND "User not found"
#define MSG_LINK_REQUIRED "Session token, email, and password are required"
#define MSG_LOGIN_REQUIRED "Email and password are required"
#define MSG_LOGIN_NO_ACCOUNT "Invalid credentials - No account found with this email"
#define MSG_LOGIN_NOT_PERMANENT "This account is not permanent. Please sign up as a guest " \
	"first, then link your email and password in Settings."
#define MSG_LOGIN_BAD "Invalid credentials"

/* ---- helpers ------------------------------------------------------------------------- */

/* A column as text, NULL for SQL NULL. */

/* Run one statement; NULL with *err set on failure (the caller rolls back). */
static PGresult *
exec(struct api_req *req, const char *sql, int n, const char *const *params, enum ns_err *err)
{
	return ns_db_exec(req->app->db, sql, n, params, err);
}

/* Run a statement whose result is not needed. */
static enum ns_err
exec_only(struct api_req *req, const char *sql, int n, const char *const *params)
{
	enum ns_err err = NS_OK;
	PGresult *res = exec(req, sql, n, params, &err);

	PQclear(res);
	return res ? NS_OK : err;
}

/* REMOTE_ADDR when it parses as an address, else NULL: inet rejects what inet_pton rejects
 * (zones, garbage), and an IP we cannot store must never fail an insert (§1.5). */
static const char *
client_ip(const struct api_req *req)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, req->remote_addr, buf) == 1 ||
	    inet_pton(AF_INET6, req->remote_addr, buf) == 1)
		return req->remote_addr;
	return NULL;
}

/* The User-Agent as sessions.device_info: at most 255 code points, a byte that is not part of
 * well-formed UTF-8 replaced by '?' (PostgreSQL refuses invalid UTF-8), default
 * 'Unknown device'. */
static void
device_info(const char *ua, char out[DEVICE_INFO_BUF])
{
	size_t i = 0, o = 0, cp = 0, len = strlen(ua);

	while (i < len && cp < DEVICE_INFO_MAX) {
		unsigned char c = (unsigned char)ua[i];
		size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 :
		    (c & 0xF8) == 0xF0 ? 4 : 0;

		if (n == 0 || i + n > len || !ns_valid_utf8(ua + i, n)) {
			out[o++] = '?';
			i++;
		} else {
			memcpy(out + o, ua + i, n);
			o += n;
			i += n;
		}
		cp++;
	}
	out[o] = '\0';
	if (o == 0)
		snprintf(out, DEVICE_INFO_BUF, "%s", DEVICE_UNKNOWN);
}

/* §1.3 "required": a JSON string that is not empty (after trimming when trim is set). */
static int
has_str(json_object *body, const char *key, int trim)
{
	json_object *v;
	size_t len;

	if (!json_object_object_get_ex(body, key, &v) || !json_object_is_type(v, json_type_string))
		return 0;
	len = (size_t)json_object_get_string_len(v);
	if (trim)
		(void)ns_valid_trim(json_object_get_string(v), &len);
	return len > 0;
}

/* A string field with its exact length (JSON strings may hold NUL). */
static const char *
get_str(json_object *body, const char *key, size_t *len)
{
	json_object *v;

	if (!json_object_object_get_ex(body, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* Insert a session and record the IP (inside the caller's transaction). */
static enum ns_err
insert_session(struct api_req *req, const char *user_id, const char *token, int days)
{
	static const char sql_session[] =
	    "INSERT INTO sessions (session_token, user_id, ip_address, device_info, expires_at) "
	    "VALUES ($1, $2, $3::inet, $4, now() + make_interval(days => $5::int))";
	static const char sql_ip[] =
	    "INSERT INTO user_ips (user_id, ip_address) VALUES ($1, $2::inet) "
	    "ON CONFLICT (user_id, ip_address) DO UPDATE SET last_seen = now()";
	char device[DEVICE_INFO_BUF], ndays[NUM_MAX];
	const char *ip = client_ip(req);
	enum ns_err e;

	device_info(req->user_agent, device);
	snprintf(ndays, sizeof(ndays), "%d", days);
	{
		const char *p[] = { token, user_id, ip, device, ndays };

		if ((e = exec_only(req, sql_session, 5, p)) != NS_OK)
			return e;
	}
	if (ip) {
		const char *p[] = { user_id, ip };

		return exec_only(req, sql_ip, 2, p);
	}
	return NS_OK;
}

/* ---- POST /auth/guest ----------------------------------------------------------------- */

static const struct ns_valid_field guest_fields[] = {
	NS_VALID_F_NAME,
	NS_VALID_F_GENDER,
	{ .name = "inviteCode", .kind = NS_VALID_CODE, .max = NS_VALID_INVITE_CODE_LEN,
	  .msg_invalid = "Invalid invite code format" },
	/* a malformed referral code is ignored, not an error (§2.2 step 1) */
	{ .name = "referralCode", .kind = NS_VALID_CODE, .flags = NS_VALID_DROP_INVALID,
	  .max = NS_VALID_INTRO_CODE_LEN, .msg_invalid = "Invalid referralCode" },
};

/* Columns of the referral lookup. */
enum { REF_TARGET, REF_BY, REF_BY_NAME, REF_NAME, REF_GENDER, REF_SELFIE, REF_VIDEO };

/* The intro code and its target, locked against deletion until COMMIT; NULL result rows = 0
 * when the code is unknown. */
static PGresult *
lookup_referral(struct api_req *req, const char *code, enum ns_err *err)
{
	static const char sql[] =
	    "SELECT ic.target_user_id, ic.created_by_user_id, ic.created_by_name, "
	    "u.name, u.gender, u.selfie_url, u.video_url "
	    "FROM intro_codes ic JOIN users u ON u.user_id = ic.target_user_id "
	    "WHERE ic.code = $1 FOR KEY SHARE OF ic, u";
	const char *p[] = { code };

	return exec(req, sql, 1, p, err);
}

/* Store the notification for the target; *ts gets its timestamp (ms). */
static enum ns_err
insert_notification(struct api_req *req, const PGresult *ref, const char *id,
    const char *user_id, const char *name, int64_t *ts)
{
	static const char sql[] =
	    "INSERT INTO referral_notifications (id, for_user_id, referred_user_id, referred_name, "
	    "introduced_by, introduced_by_name) VALUES ($1, $2, $3, $4, $5, $6) "
	    "RETURNING (extract(epoch FROM \"timestamp\") * 1000)::bigint";
	const char *p[] = { id, ns_db_col(ref, 0, REF_TARGET), user_id, name, ns_db_col(ref, 0, REF_BY),
	    ns_db_col(ref, 0, REF_BY_NAME) };
	enum ns_err e = NS_OK;
	PGresult *res = exec(req, sql, 6, p, &e);

	if (res == NULL)
		return e;
	*ts = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return NS_OK;
}

/* Target online AND available (shared presence); false when Redis fails. */
static int
target_online(struct api_req *req, const char *user_id)
{
	int online = 0, available = 0;

	if (ns_presence_get(req->app->kv, user_id, &online, &available) != NS_OK)
		return 0;
	return online && available;
}

static json_object *
notification_json(const PGresult *ref, const char *id, const char *user_id, const char *name,
    int64_t ts)
{
	json_object *n = ns_json_obj();

	ns_json_set_str(n, "id", id);
	ns_json_set_str(n, "forUserId", ns_db_col(ref, 0, REF_TARGET));
	ns_json_set_str(n, "referredUserId", user_id);
	ns_json_set_str(n, "referredName", name);
	ns_json_set_str(n, "introducedBy", ns_db_col(ref, 0, REF_BY));
	ns_json_set_str(n, "introducedByName", ns_db_col(ref, 0, REF_BY_NAME));
	ns_json_set_int(n, "timestamp", ts);
	ns_json_set_bool(n, "read", 0);
	return n;
}

static json_object *
target_json(const PGresult *ref)
{
	json_object *t = ns_json_obj();

	ns_json_set_str(t, "userId", ns_db_col(ref, 0, REF_TARGET));
	ns_json_set_str(t, "name", ns_db_col(ref, 0, REF_NAME));
	ns_json_set_str(t, "gender", ns_db_col(ref, 0, REF_GENDER));
	ns_json_set_str(t, "selfieUrl", ns_db_col(ref, 0, REF_SELFIE));
	ns_json_set_str(t, "videoUrl", ns_db_col(ref, 0, REF_VIDEO));
	return t;
}

enum ns_err
api_auth_guest(struct api_req *req)
{
	static const char sql_user[] =
	    "INSERT INTO users (user_id, name, gender, account_type, paid_status, "
	    "invite_code_used, introduced_to, introduced_by, introduced_via_code) "
	    "VALUES ($1, $2, $3, 'guest', $4, $5, $6, $7, $8)";
	char user_id[NS_UUID_LEN + 1], token[NS_UUID_LEN + 1], note_id[NS_UUID_LEN + 1];
	char own_code[NS_VALID_INVITE_CODE_LEN + 1];
	const char *name, *gender, *invite, *refcode, *reason = NULL, *msg;
	PGresult *ref = NULL;
	int referred = 0, online = 0, in_tx = 0;
	int64_t note_ts = 0;
	json_object *body;
	enum ns_err e;

	if ((e = ns_valid_check(req->json, guest_fields, NFIELDS(guest_fields), &msg)) != NS_OK) {
		api_respond_error(req, e, msg);
		return e;
	}
	name = ns_json_get_str(req->json, "name");
	gender = ns_json_get_str(req->json, "gender");
	invite = ns_json_get_str(req->json, "inviteCode");
	refcode = ns_json_get_str(req->json, "referralCode");
	if ((e = ns_rand_uuid(user_id)) != NS_OK || (e = ns_rand_uuid(token)) != NS_OK ||
	    (e = ns_rand_uuid(note_id)) != NS_OK)
		return e;

	if ((e = ns_db_begin(req->app->db)) != NS_OK)
		return e;
	in_tx = 1;
	if (refcode) {
		if ((ref = lookup_referral(req, refcode, &e)) == NULL)
			goto fail;
		referred = PQntuples(ref) == 1;
	}
	{
		const char *p[] = { user_id, name, gender, invite ? "qr_grace_period" : "unpaid",
		    invite, referred ? ns_db_col(ref, 0, REF_TARGET) : NULL,
		    referred ? ns_db_col(ref, 0, REF_BY) : NULL, referred ? refcode : NULL };

		if ((e = exec_only(req, sql_user, 8, p)) != NS_OK)
			goto fail;
	}
	if (invite) {
		if ((e = api_codes_redeem(req->app->db, invite, user_id, &reason)) != NS_OK)
			goto fail;
		if ((e = api_codes_mint_user(req->app->db, user_id, name, own_code)) != NS_OK)
			goto fail;
	}
	if (referred &&
	    (e = insert_notification(req, ref, note_id, user_id, name, &note_ts)) != NS_OK)
		goto fail;
	if ((e = insert_session(req, user_id, token, req->cfg->guest_session_days)) != NS_OK)
		goto fail;
	in_tx = 0;
	if ((e = ns_db_commit(req->app->db)) != NS_OK)
		goto fail;

	if (referred) {
		/* the target's gateway, if it holds a socket of theirs, delivers it live */
		(void)api_ctl_referral(req->app, ns_db_col(ref, 0, REF_TARGET), name,
		    notification_json(ref, note_id, user_id, name, note_ts));
		online = target_online(req, ns_db_col(ref, 0, REF_TARGET));
	}
	body = ns_json_obj();
	ns_json_set_str(body, "userId", user_id);
	ns_json_set_str(body, "sessionToken", token);
	ns_json_set_str(body, "accountType", "guest");
	ns_json_set_bool(body, "wasReferred", referred);
	ns_json_set_str(body, "introducedTo", referred ? ns_db_col(ref, 0, REF_NAME) : NULL);
	ns_json_set(body, "targetUser", referred ? target_json(ref) : NULL);
	ns_json_set_bool(body, "targetOnline", online);
	ns_json_set_str(body, "referralCode", referred ? refcode : NULL);
	ns_json_set_str(body, "paidStatus", invite ? "qr_grace_period" : "unpaid");
	ns_json_set_bool(body, "requiresPayment", invite == NULL);
	ns_json_set_str(body, "inviteCodeUsed", invite);
	PQclear(ref);
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;

fail:
	if (in_tx)
		ns_db_rollback(req->app->db);
	PQclear(ref);
	if (e == NS_E_FORBIDDEN && reason) {
		body = ns_json_obj();
		ns_json_set_str(body, "error", reason);
		ns_json_set_bool(body, "requiresPayment", 1);
		api_respond_error_body(req, NS_E_FORBIDDEN, body);
	} else if (e == NS_E_CONFLICT || e == NS_E_BAD_REQUEST) {
		/* a constraint broke under a concurrent change (a code or user deleted) */
		ns_log_warn("auth/guest: constraint failure: %s", ns_db_last_error(req->app->db));
		e = NS_E_INTERNAL;
	}
	return e;
}

/* ---- POST /auth/link ------------------------------------------------------------------ */

static const struct ns_valid_field link_fields[] = {
	NS_VALID_F_EMAIL(MSG_LINK_REQUIRED),
	NS_VALID_F_PASSWORD(MSG_LINK_REQUIRED),
};

enum ns_err
api_auth_link(struct api_req *req)
{
	static const char sql_lock[] =
	    "SELECT account_type FROM users WHERE user_id = $1 FOR UPDATE";
	static const char sql_user[] =
	    "UPDATE users SET account_type = 'permanent', email = $2, password_hash = $3 "
	    "WHERE user_id = $1";
	static const char sql_session[] =
	    "UPDATE sessions SET expires_at = now() + make_interval(days => $2::int) "
	    "WHERE session_token = $1";
	char hash[NS_PASSWD_HASH_MAX], ndays[NUM_MAX];
	const char *email, *password, *msg;
	struct api_user *u;
	json_object *body;
	PGresult *res;
	enum ns_err e;

	/* Guard B lets a request without a token through unauthenticated for this 400. */
	if (!req->auth.user || !has_str(req->json, "sessionToken", 1) ||
	    !has_str(req->json, "email", 1) || !has_str(req->json, "password", 0)) {
		api_respond_error(req, NS_E_BAD_REQUEST, MSG_LINK_REQUIRED);
		return NS_E_BAD_REQUEST;
	}
	if ((e = ns_valid_check(req->json, link_fields, NFIELDS(link_fields), &msg)) != NS_OK) {
		api_respond_error(req, e, msg);
		return e;
	}
	email = ns_json_get_str(req->json, "email");
	password = ns_json_get_str(req->json, "password");

	/* Cheap refusals first: bcrypt is the slow part. struct api_user is ~10 KB: heap. */
	if ((u = malloc(sizeof(*u))) == NULL)
		return NS_E_NOMEM;
	e = api_cache_user(req->app, req->auth.user_id, u);
	if (e == NS_OK && strcmp(u->account_type, "permanent") == 0)
		e = NS_E_CONFLICT;
	free(u);
	if (e == NS_E_NOT_FOUND || e == NS_E_CONFLICT) {
		api_respond_error(req, e, e == NS_E_NOT_FOUND ? MSG_USER_NOT_FOUND :
		    "Account is already permanent");
		return e;
	}
	if (e != NS_OK)
		return e;
	if ((e = ns_passwd_hash(password, req->cfg->bcrypt_cost, hash)) != NS_OK)
		return e;

	if ((e = ns_db_begin(req->app->db)) != NS_OK)
		return e;
	{
		const char *p[] = { req->auth.user_id };

		if ((res = exec(req, sql_lock, 1, p, &e)) == NULL)
			goto fail;
		if (PQntuples(res) == 0)
			e = NS_E_NOT_FOUND;
		else if (strcmp(PQgetvalue(res, 0, 0), "permanent") == 0)
			e = NS_E_CONFLICT;	/* linked by a concurrent request */
		PQclear(res);
		if (e != NS_OK) {
			ns_db_rollback(req->app->db);
			api_respond_error(req, e, e == NS_E_NOT_FOUND ? MSG_USER_NOT_FOUND :
			    "Account is already permanent");
			return e;
		}
	}
	{
		const char *p[] = { req->auth.user_id, email, hash };

		if ((e = exec_only(req, sql_user, 3, p)) != NS_OK)
			goto fail;
	}
	snprintf(ndays, sizeof(ndays), "%d", req->cfg->permanent_session_days);
	{
		const char *p[] = { req->auth.token, ndays };

		if ((e = exec_only(req, sql_session, 2, p)) != NS_OK)
			goto fail;
	}
	if ((e = ns_db_commit(req->app->db)) != NS_OK)
		return e;
	api_cache_user_invalidate(req->app, req->auth.user_id);
	api_cache_session_invalidate(req->app, req->auth.token);

	body = ns_json_obj();
	ns_json_set_bool(body, "success", 1);
	ns_json_set_str(body, "accountType", "permanent");
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;

fail:
	ns_db_rollback(req->app->db);
	if (e == NS_E_CONFLICT) {
		/* the only unique key the update can break: lower(email) */
		api_respond_error(req, e, "Email already registered");
	}
	return e;
}

/* ---- POST /auth/login ----------------------------------------------------------------- */

/* Columns of the login lookup. */
enum { LU_ID, LU_TYPE, LU_HASH, LU_BAN, LU_REVIEW, LU_NAME, LU_EMAIL, LU_SELFIE, LU_VIDEO };

static void
respond_banned(struct api_req *req, const char *ban, const char *review)
{
	json_object *body = ns_json_obj();

	ns_json_set_str(body, "error", "Account suspended");
	ns_json_set_bool(body, "banned", 1);
	ns_json_set_str(body, "banStatus", ban);
	ns_json_set_str(body, "message", strcmp(ban, "temporary") == 0 ?
	    "Your account has been temporarily suspended pending review." :
	    "Your account has been permanently banned.");
	ns_json_set_str(body, "reviewStatus", review);
	api_respond_error_body(req, NS_E_FORBIDDEN, body);
}

/* One transaction: lock the user (concurrent logins serialise), deactivate every active
 * session, insert the new one. *old gets the deactivated tokens (caller PQclear()s). */
static enum ns_err
login_tx(struct api_req *req, const char *user_id, const char *token, PGresult **old)
{
	static const char sql_lock[] = "SELECT 1 FROM users WHERE user_id = $1 FOR UPDATE";
	static const char sql_off[] =
	    "UPDATE sessions SET is_active = false, last_active_at = now() "
	    "WHERE user_id = $1 AND is_active RETURNING session_token";
	const char *p[] = { user_id };
	enum ns_err e;

	*old = NULL;
	if ((e = ns_db_begin(req->app->db)) != NS_OK)
		return e;
	if ((e = exec_only(req, sql_lock, 1, p)) != NS_OK)
		goto fail;
	if ((*old = exec(req, sql_off, 1, p, &e)) == NULL)
		goto fail;
	if ((e = insert_session(req, user_id, token, req->cfg->permanent_session_days)) != NS_OK)
		goto fail;
	if ((e = ns_db_commit(req->app->db)) != NS_OK) {
		PQclear(*old);
		*old = NULL;
		return e;
	}
	return NS_OK;
fail:
	ns_db_rollback(req->app->db);
	PQclear(*old);
	*old = NULL;
	return e;
}

/* After COMMIT: every worker drops the old sessions from its cache view, every gateway
 * disconnects their sockets (§2.2 step 3). */
static void
announce_invalidated(struct api_req *req, const PGresult *old)
{
	const char *tokens[LOGIN_TOKENS_MAX];
	int i, n = PQntuples(old);

	for (i = 0; i < n; i++)
		api_cache_session_invalidate(req->app, PQgetvalue(old, i, 0));
	for (i = 0; i < n; i += LOGIN_TOKENS_MAX) {
		size_t k, m = (size_t)(n - i < LOGIN_TOKENS_MAX ? n - i : LOGIN_TOKENS_MAX);

		for (k = 0; k < m; k++)
			tokens[k] = PQgetvalue(old, i + (int)k, 0);
		(void)api_ctl_sessions(req->app, API_CTL_SESSION_INVALIDATED, tokens, m);
	}
}

enum ns_err
api_auth_login(struct api_req *req)
{
	static const char sql_find[] =
	    "SELECT user_id, account_type, password_hash, ban_status, review_status, name, email, "
	    "selfie_url, video_url FROM users WHERE lower(email) = lower($1)";
	char token[NS_UUID_LEN + 1], em[EMAIL_BUF];
	const char *email, *password, *ban;
	size_t elen = 0, plen = 0;
	PGresult *res = NULL, *old = NULL;
	json_object *body, *user;
	enum ns_err e = NS_OK;
	int n;

	email = get_str(req->json, "email", &elen);
	password = get_str(req->json, "password", &plen);
	if (!has_str(req->json, "email", 1) || !password || plen == 0) {
		api_respond_error(req, NS_E_BAD_REQUEST, MSG_LOGIN_REQUIRED);
		return NS_E_BAD_REQUEST;
	}
	email = ns_valid_trim(email, &elen);
	/* Stored emails are at most 254 characters without NUL: anything else matches nobody. */
	if (elen < sizeof(em) && memchr(email, '\0', elen) == NULL) {
		const char *p[] = { em };

		memcpy(em, email, elen);
		em[elen] = '\0';
		if ((res = exec(req, sql_find, 1, p, &e)) == NULL)
			return e;
	}
	n = res ? PQntuples(res) : 0;
	if (n == 0) {
		PQclear(res);
		api_respond_error(req, NS_E_UNAUTHORIZED, MSG_LOGIN_NO_ACCOUNT);
		return NS_E_UNAUTHORIZED;
	}
	if (strcmp(PQgetvalue(res, 0, LU_TYPE), "permanent") != 0) {
		PQclear(res);
		api_respond_error(req, NS_E_UNAUTHORIZED, MSG_LOGIN_NOT_PERMANENT);
		return NS_E_UNAUTHORIZED;
	}
	/* bcrypt reads C strings: a password holding NUL never matches */
	if (ns_db_col(res, 0, LU_HASH) == NULL || memchr(password, '\0', plen) != NULL ||
	    !ns_passwd_verify(password, ns_db_col(res, 0, LU_HASH))) {
		PQclear(res);
		api_respond_error(req, NS_E_UNAUTHORIZED, MSG_LOGIN_BAD);
		return NS_E_UNAUTHORIZED;
	}
	ban = PQgetvalue(res, 0, LU_BAN);
	if (strcmp(ban, "temporary") == 0 || strcmp(ban, "permanent") == 0) {
		respond_banned(req, ban, ns_db_col(res, 0, LU_REVIEW));
		PQclear(res);
		return NS_E_FORBIDDEN;
	}

	if ((e = ns_rand_uuid(token)) != NS_OK ||
	    (e = login_tx(req, PQgetvalue(res, 0, LU_ID), token, &old)) != NS_OK) {
		PQclear(res);
		return e;
	}
	announce_invalidated(req, old);

	body = ns_json_obj();
	ns_json_set_str(body, "userId", PQgetvalue(res, 0, LU_ID));
	ns_json_set_str(body, "sessionToken", token);
	ns_json_set_bool(body, "sessionInvalidated", PQntuples(old) > 0);
	ns_json_set_int(body, "invalidatedCount", PQntuples(old));
	ns_json_set_str(body, "accountType", "permanent");
	user = ns_json_obj();
	ns_json_set_str(user, "name", ns_db_col(res, 0, LU_NAME));
	ns_json_set_str(user, "email", ns_db_col(res, 0, LU_EMAIL));
	ns_json_set_str(user, "selfieUrl", ns_db_col(res, 0, LU_SELFIE));
	ns_json_set_str(user, "videoUrl", ns_db_col(res, 0, LU_VIDEO));
	ns_json_set(body, "user", user);
	PQclear(old);
	PQclear(res);
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}

/* ---- POST /auth/logout ---------------------------------------------------------------- */

enum ns_err
api_auth_logout(struct api_req *req)
{
	static const char sql[] =
	    "UPDATE sessions SET is_active = false, last_active_at = now() "
	    "WHERE session_token = $1 AND is_active";
	const char *p[] = { req->auth.token };
	const char *tokens[] = { req->auth.token };
	json_object *body;
	enum ns_err e;

	if ((e = exec_only(req, sql, 1, p)) != NS_OK)
		return e;
	api_cache_session_invalidate(req->app, req->auth.token);
	/* also when the session was already inactive: a socket that raced the first logout
	 * still gets closed */
	(void)api_ctl_sessions(req->app, API_CTL_SESSION_LOGOUT, tokens, 1);
	body = ns_json_obj();
	ns_json_set_bool(body, "success", 1);
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}
