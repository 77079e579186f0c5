/* api_admin: operator login, logout and token check (contract §2.10). Admin accounts are
 * rows of `admins` (managed only by napalmsky-admin); a login stores a random token in
 * `admin_sessions` for 24 h, which guard A accepts on the /report and /payment admin routes.
 *
 * A failed login answers 401 no sooner than ADMIN_FAIL_DELAY_MS after the handler started,
 * whatever failed (unknown name, wrong password), so timing tells nothing and guessing is
 * slow. The worker is single-threaded, so the wait holds that worker: the delay is measured
 * from the start (the ~250 ms of bcrypt count toward it, not on top of it), and the auth
 * limiter (6 failures per IP per 10 min by default) caps what one address can hold at about
 * 6 worker-seconds per window. Handing the wait to nginx or a timer thread would free the
 * worker, but libfcgi completes a request only from the thread that accepted it; with the
 * limiter in front, the bounded cost is the simpler trade. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "routes.h"
#include "app.h"
#include "clock.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "passwd.h"
#include "rand.h"
#include "respond.h"

#define ADMIN_FAIL_DELAY_MS 1000	/* a failed login answers after about this long */
#define ADMIN_TOKEN_HOURS 24		/* admin token lifetime (§4.1), no sliding renewal */
#define ADMIN_USERNAME_MAX 64		/* admins.username CHECK: ^[A-Za-z0-9_.-]{1,64}$ */

#define MSG_REQUIRED "Username and password required"
#define MSG_BAD "Invalid credentials"

/* A JSON string field with its exact length (strings may hold NUL), or NULL. */
static const char *
get_str(json_object *body, const char *key, size_t *len)
{
	json_object *v;

	if (!body || !json_object_object_get_ex(body, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	*len = (size_t)json_object_get_string_len(v);
	return json_object_get_string(v);
}

/* Only names the admins table can hold are looked up; anything else is simply unknown. */
static int
username_ok(const char *u, size_t len)
{
	static const char allowed[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-";

	return len > 0 && len <= ADMIN_USERNAME_MAX && strspn(u, allowed) == len;
}

/* The bearer token as a UUID (lowercased into out), or 0. */
static int
bearer_token(const struct api_req *req, char out[NS_UUID_LEN + 1])
{
	const char *h = req->authorization;

	if (strncasecmp(h, "Bearer ", 7) == 0)
		h += 7;
	return ns_rand_uuid_parse(h, out);
}

/* Sleep until ADMIN_FAIL_DELAY_MS after t0 (monotonic ms). */
static void
pad_failure(int64_t t0)
{
	int64_t left = t0 + ADMIN_FAIL_DELAY_MS - ns_clock_mono_ms();
	struct timespec ts;

	if (left <= 0)
		return;
	ts.tv_sec = (time_t)(left / 1000);
	ts.tv_nsec = (long)(left % 1000) * 1000000L;
	/* a signal only interrupts the sleep: the rest of it is slept */
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static void
respond_login_failed(struct api_req *req)
{
	api_respond_error(req, NS_E_UNAUTHORIZED, MSG_BAD);
}

enum ns_err
api_admin_login(struct api_req *req)
{
	static const char sql_find[] = "SELECT password_hash FROM admins WHERE username = $1";
	static const char sql_token[] =
	    "INSERT INTO admin_sessions (token, username, expires_at) "
	    "VALUES ($1, $2, now() + make_interval(hours => $3::int))";
	int64_t t0 = ns_clock_mono_ms();
	char token[NS_UUID_LEN + 1], hours[16];
	const char *username, *password;
	size_t ulen = 0, plen = 0;
	json_object *body;
	PGresult *res = NULL;
	enum ns_err e = NS_OK;
	int ok = 0;

	username = get_str(req->json, "username", &ulen);
	password = get_str(req->json, "password", &plen);
	if (!username || !password || ulen == 0 || plen == 0) {
		api_respond_error(req, NS_E_BAD_REQUEST, MSG_REQUIRED);
		return NS_E_BAD_REQUEST;
	}
	if (username_ok(username, ulen)) {
		const char *p[] = { username };

		if ((res = ns_db_exec(req->app->db, sql_find, 1, p, &e)) == NULL)
			return e;
		/* bcrypt reads C strings: a password holding NUL never matches */
		ok = PQntuples(res) == 1 && memchr(password, '\0', plen) == NULL &&
		    ns_passwd_verify(password, PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	if (!ok) {
		ns_log_info("admin: failed login for '%.*s' from %s",
		    username_ok(username, ulen) ? (int)ulen : 0, username, req->remote_addr);
		pad_failure(t0);
		respond_login_failed(req);
		return NS_E_UNAUTHORIZED;
	}

	if ((e = ns_rand_uuid(token)) != NS_OK) {
		api_respond_error(req, NS_E_INTERNAL, "Login failed");
		return NS_E_INTERNAL;
	}
	snprintf(hours, sizeof(hours), "%d", ADMIN_TOKEN_HOURS);
	{
		const char *p[] = { token, username, hours };

		res = ns_db_exec(req->app->db, sql_token, 3, p, &e);
	}
	if (res == NULL) {
		/* unreachable storage stays 503; anything else (admin removed meanwhile) is ours */
		if (e == NS_E_DB || e == NS_E_TIMEOUT)
			return e;
		api_respond_error(req, NS_E_INTERNAL, "Login failed");
		return NS_E_INTERNAL;
	}
	PQclear(res);
	ns_log_info("admin: %s logged in from %s", username, req->remote_addr);
	body = ns_json_obj();
	ns_json_set_str(body, "adminToken", token);
	ns_json_set_str(body, "username", username);
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}

enum ns_err
api_admin_logout(struct api_req *req)
{
	static const char sql[] = "DELETE FROM admin_sessions WHERE token = $1";
	char token[NS_UUID_LEN + 1];
	json_object *body;
	enum ns_err e = NS_OK;

	/* the token is optional: without one (or with junk) logout is a no-op */
	if (bearer_token(req, token)) {
		const char *p[] = { token };
		PGresult *res = ns_db_exec(req->app->db, sql, 1, p, &e);

		if (res == NULL)
			return e;
		PQclear(res);
	}
	body = ns_json_obj();
	ns_json_set_bool(body, "success", 1);
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}

enum ns_err
api_admin_verify(struct api_req *req)
{
	static const char sql[] =
	    "SELECT a.username FROM admin_sessions s JOIN admins a ON a.username = s.username "
	    "WHERE s.token = $1 AND s.expires_at > now()";
	char token[NS_UUID_LEN + 1];
	json_object *body = NULL;
	enum ns_err e = NS_OK;

	if (bearer_token(req, token)) {
		const char *p[] = { token };
		PGresult *res = ns_db_exec(req->app->db, sql, 1, p, &e);

		if (res == NULL)
			return e;
		if (PQntuples(res) == 1) {
			body = ns_json_obj();
			ns_json_set_bool(body, "valid", 1);
			ns_json_set_str(body, "username", PQgetvalue(res, 0, 0));
		}
		PQclear(res);
	}
	req->no_store = 1;
	if (body) {
		api_respond_json(req, 200, body);
		return NS_OK;
	}
	body = ns_json_obj();
	ns_json_set_bool(body, "valid", 0);
	api_respond_json(req, 401, body);	/* the contract's body has no error field */
	return NS_OK;
}
