/* guard: IP ban, rate limits, session and admin guards (see guard.h).
 *
 * Guard B (POST /auth/link) takes its token from the JSON body field sessionToken. When that
 * field is absent, null, empty or not a string, the guard lets the request through with
 * req->auth.user = 0 and the handler answers its own 400 'Session token, email, and password
 * are required' (the contract lists that message first, as the original checked the required
 * fields before the session). A handler behind B must therefore check auth.user. */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "guard.h"
#include "app.h"
#include "cache.h"
#include "clock.h"
#include "db.h"
#include "json.h"
#include "keys.h"
#include "log.h"
#include "metrics.h"
#include "nsconfig.h"
#include "rand.h"
#include "ratelimit.h"
#include "respond.h"
#include "stripe.h"

#define RL_MSG_MAX 96	/* a 429 message */
#define STRIPE_GUARD_MSG_MAX 128	/* "Webhook Error: " + a reason of stripe.c */

/* The limiter state of the request in progress (one per process at a time). */
static struct {
	enum api_limiter limiter;	/* counted before the guard, API_RL_NONE if not */
	int checked;			/* Redis answered */
	int refused;			/* this request got the 429 */
	char key[NS_KEY_MAX];
} cur;

struct limiter_conf {
	const char *name;
	enum ns_rl_mode mode;
	int window_s, max;
};

/* The configured limiter, or 0 when it is off. */
static int
limiter_conf(const struct ns_config *cfg, enum api_limiter l, struct limiter_conf *c)
{
	switch (l) {
	case API_RL_AUTH:
		*c = (struct limiter_conf){ "auth", NS_RL_PEEK, cfg->rl_auth_window_s,
		    cfg->rl_auth_max };
		return 1;
	case API_RL_API:
		*c = (struct limiter_conf){ "api", NS_RL_HIT, cfg->rl_api_window_s,
		    cfg->rl_api_max };
		return cfg->rl_api_enabled;
	case API_RL_TURN:
		*c = (struct limiter_conf){ "turn", NS_RL_HIT, cfg->rl_turn_window_s,
		    cfg->rl_turn_max };
		return 1;
	case API_RL_REPORT:
		*c = (struct limiter_conf){ "report", NS_RL_HIT, cfg->rl_report_window_s,
		    cfg->rl_report_max };
		return cfg->rl_report_enabled;
	case API_RL_VALIDATE:	/* counted by its handler */
	case API_RL_NONE:
		break;
	}
	return 0;
}

void
api_guard_rl_headers(struct api_req *req, const struct ns_rl_verdict *v)
{
	char num[24];

	snprintf(num, sizeof(num), "%d", v->limit);
	api_resp_header(req, "RateLimit-Limit", num);
	snprintf(num, sizeof(num), "%d", v->remaining);
	api_resp_header(req, "RateLimit-Remaining", num);
	snprintf(num, sizeof(num), "%d", v->reset_s);
	api_resp_header(req, "RateLimit-Reset", num);
	if (v->limited)
		api_resp_header(req, "Retry-After", num);
}

/* The contract's 429 bodies (§1.8); retryAfter follows the configured window. */
static void
respond_limited(struct api_req *req, enum api_limiter l, int window_s)
{
	json_object *b = ns_json_obj();
	char msg[RL_MSG_MAX];
	int minutes = (window_s + 59) / 60;

	switch (l) {
	case API_RL_AUTH:
		snprintf(msg, sizeof(msg), "Please try again in %d minute%s", minutes,
		    minutes == 1 ? "" : "s");
		ns_json_set_str(b, "error", "Too many login attempts");
		ns_json_set_str(b, "message", msg);
		ns_json_set_int(b, "retryAfter", window_s);
		break;
	case API_RL_API:
		snprintf(msg, sizeof(msg), "Rate limit exceeded. Please wait %d minute%s.",
		    minutes, minutes == 1 ? "" : "s");
		ns_json_set_str(b, "error", "Too many requests");
		ns_json_set_str(b, "message", msg);
		ns_json_set_int(b, "retryAfter", window_s);
		ns_json_set_int(b, "retryAfterMinutes", minutes);
		break;
	case API_RL_TURN:
		ns_json_set_str(b, "error", "Too many TURN credential requests");
		ns_json_set_str(b, "message", "Please wait before requesting new credentials");
		ns_json_set_int(b, "retryAfter", window_s);
		break;
	default:
		ns_json_set_str(b, "error", "Too many reports");
		ns_json_set_str(b, "message", "Please wait before submitting another report");
		ns_json_set_int(b, "retryAfter", window_s);
		break;
	}
	api_metrics_ratelimited(l);
	api_respond_error_body(req, NS_E_RATE_LIMITED, b);
}

/* Apply a counter: headers always, 429 when over. */
static enum ns_err
apply_limit(struct api_req *req, enum api_limiter l, const struct limiter_conf *c,
    const struct ns_rl_state *st)
{
	struct ns_rl_verdict v;

	ns_rl_decide(st, c->mode, c->max, &v);
	api_guard_rl_headers(req, &v);
	if (!v.limited)
		return NS_OK;
	cur.refused = 1;
	respond_limited(req, l, c->window_s);
	return NS_E_RATE_LIMITED;
}

static void
respond_ip_banned(struct api_req *req, const char *reason)
{
	json_object *b = ns_json_obj();

	ns_json_set_str(b, "error", "Access denied");
	ns_json_set_bool(b, "banned", 1);
	ns_json_set_str(b, "message",
	    "Your IP address has been banned from accessing this service.");
	if (reason[0] == API_CACHE_NULL_REASON && reason[1] == '\0')
		ns_json_set_null(b, "reason");
	else
		ns_json_set_str(b, "reason", reason);
	api_respond_error_body(req, NS_E_FORBIDDEN, b);
}

/* The answer to a ban check: banned 1 is refused, < 0 (the check could not be made) is
 * let through and logged. */
static enum ns_err
ip_verdict(struct api_req *req, int banned, const char *reason)
{
	if (banned == 1) {
		respond_ip_banned(req, reason);
		return NS_E_FORBIDDEN;
	}
	if (banned < 0)
		ns_log_warn("IP-ban check for %s failed; request let through", req->remote_addr);
	return NS_OK;
}

enum ns_err
api_guard_ip_ban(struct api_req *req)
{
	char reason[API_IP_REASON_MAX];
	int banned;

	if (!req->app)
		return NS_OK;
	banned = api_cache_ip_banned(req->app, req->remote_addr, reason, sizeof(reason));
	return ip_verdict(req, banned, reason);
}

/* The bearer token: "Bearer " (any case) removed, else the whole header. */
static const char *
bearer(const struct api_req *req)
{
	const char *h = req->authorization;

	if (strncasecmp(h, "Bearer ", 7) == 0)
		h += 7;
	return h;
}

static int
uses_bearer(enum api_guard g)
{
	return g == API_GUARD_USER || g == API_GUARD_SESSION || g == API_GUARD_USER_NOBAN ||
	    g == API_GUARD_PAYWALL || g == API_GUARD_ADMIN;
}

enum ns_err
api_guard_pre(struct api_req *req, const struct api_route *r)
{
	struct limiter_conf c;
	struct api_cache_pre pre;
	struct api_cache_ask ask = { 0 };
	char token[NS_UUID_LEN + 1];
	const char *tok = NULL;
	enum ns_rl_mode mode = NS_RL_OFF;

	memset(&cur, 0, sizeof(cur));
	if (!req->app)
		return NS_OK;	/* unit tests: no storage; guarded routes fail closed later */
	if (r && uses_bearer(r->guard) && ns_rand_uuid_parse(bearer(req), token))
		tok = token;
	if (r && r->limiter != API_RL_TURN && limiter_conf(req->cfg, r->limiter, &c) &&
	    ns_keys_ratelimit(cur.key, c.name, req->remote_addr)) {
		cur.limiter = r->limiter;
		mode = c.mode;
	}
	if (tok && r->prefetch && !r->prefetch(req, &ask))
		ask.extra = NULL;
	api_cache_prefetch(req->app, req->remote_addr, mode ? cur.key : NULL, mode,
	    mode ? c.window_s : 0, tok, &ask, &pre);
	if (ip_verdict(req, pre.ip_banned, pre.ip_reason) != NS_OK)
		return NS_E_FORBIDDEN;
	if (mode == NS_RL_OFF)
		return NS_OK;
	if (!pre.rl_ok) {
		ns_log_debug("rate limit %s not checked (Redis unavailable)", c.name);
		return NS_OK;
	}
	cur.checked = 1;
	return apply_limit(req, cur.limiter, &c, &pre.rl);
}

static enum ns_err
respond_invalidated(struct api_req *req)
{
	json_object *b = ns_json_obj();

	ns_json_set_str(b, "error", "Session invalidated");
	ns_json_set_bool(b, "sessionInvalidated", 1);
	ns_json_set_str(b, "message", "You have been logged out. Please login again.");
	api_respond_error_body(req, NS_E_UNAUTHORIZED, b);
	return NS_E_UNAUTHORIZED;
}

static enum ns_err
respond_suspended(struct api_req *req)
{
	json_object *b = ns_json_obj();

	ns_json_set_str(b, "error", "Account suspended");
	ns_json_set_bool(b, "banned", 1);
	ns_json_set_str(b, "message", "Your account has been suspended pending review.");
	api_respond_error_body(req, NS_E_FORBIDDEN, b);
	return NS_E_FORBIDDEN;
}

static enum ns_err
respond_payment(struct api_req *req)
{
	json_object *b = ns_json_obj();

	ns_json_set_str(b, "error", "Payment required");
	ns_json_set_str(b, "message",
	    "Please complete payment or use an invite code to access this feature");
	ns_json_set_bool(b, "requiresPayment", 1);
	api_respond_error_body(req, NS_E_PAYMENT, b);
	return NS_E_PAYMENT;
}

static int
is_banned(const struct api_user *u)
{
	return strcmp(u->ban_status, "temporary") == 0 || strcmp(u->ban_status, "permanent") == 0;
}

static int
has_paid(const struct api_user *u)
{
	return strcmp(u->paid_status, "paid") == 0 || strcmp(u->paid_status, "qr_verified") == 0 ||
	    strcmp(u->paid_status, "qr_grace_period") == 0;
}

/* Steps 1–2 of guard U: the session of raw, or 401 (sent). */
static enum ns_err
session_of(struct api_req *req, const char *raw, struct api_session *s)
{
	char token[NS_UUID_LEN + 1];
	enum ns_err e;

	if (!raw[0]) {
		api_respond_error(req, NS_E_UNAUTHORIZED, "Authorization required");
		return NS_E_UNAUTHORIZED;
	}
	if (!ns_rand_uuid_parse(raw, token))
		goto invalid;
	e = api_cache_session(req->app, token, s);
	if (e == NS_E_NOT_FOUND)
		goto invalid;
	if (e != NS_OK)
		return e;
	if (s->expires_at_ms <= ns_clock_now_ms())
		goto invalid;
	return NS_OK;
invalid:
	api_respond_error(req, NS_E_UNAUTHORIZED, "Invalid or expired session");
	return NS_E_UNAUTHORIZED;
}

/* Guards U, SESSION, USER_NOBAN, P and B once the token is known. */
static enum ns_err
user_guard(struct api_req *req, enum api_guard g, const char *raw)
{
	struct api_session s;
	struct api_user u;
	enum ns_err e;

	if ((e = session_of(req, raw, &s)) != NS_OK)
		return e;
	if (g != API_GUARD_SESSION) {
		if (!s.is_active)
			return respond_invalidated(req);
		e = api_cache_user(req->app, s.user_id, &u);
		if (e != NS_OK && e != NS_E_NOT_FOUND)
			return e;
		if (e == NS_OK && g != API_GUARD_USER_NOBAN && is_banned(&u))
			return respond_suspended(req);
		if (g == API_GUARD_PAYWALL) {
			if (e == NS_E_NOT_FOUND) {
				api_respond_error(req, NS_E_NOT_FOUND, "User not found");
				return NS_E_NOT_FOUND;
			}
			if (!has_paid(&u))
				return respond_payment(req);
		}
	}
	req->auth.user = 1;
	snprintf(req->auth.user_id, sizeof(req->auth.user_id), "%s", s.user_id);
	snprintf(req->auth.token, sizeof(req->auth.token), "%s", s.token);
	return NS_OK;
}

/* Guard A: an unexpired admin token of an existing admin, or a user passing U with role
 * admin. Anything else is 403 'Admin access required'. */
static enum ns_err
admin_guard(struct api_req *req)
{
	static const char sql[] =
	    "SELECT a.username FROM admin_sessions s JOIN admins a ON a.username = s.username"
	    " WHERE s.token = $1 AND s.expires_at > now()";
	char token[NS_UUID_LEN + 1];
	const char *params[1] = { token };
	struct api_session s;
	struct api_user u;
	enum ns_err e;
	PGresult *r;

	if (!ns_rand_uuid_parse(bearer(req), token))
		goto refuse;
	e = api_cache_session(req->app, token, &s);
	if (e == NS_OK) {
		if (!s.is_active || s.expires_at_ms <= ns_clock_now_ms())
			goto refuse;
		e = api_cache_user(req->app, s.user_id, &u);
		if (e == NS_E_NOT_FOUND)
			goto refuse;
		if (e != NS_OK)
			return e;
		if (is_banned(&u) || strcmp(u.role, "admin") != 0)
			goto refuse;
		req->auth.user = 1;
		snprintf(req->auth.user_id, sizeof(req->auth.user_id), "%s", s.user_id);
		snprintf(req->auth.token, sizeof(req->auth.token), "%s", token);
		return NS_OK;
	}
	if (e != NS_E_NOT_FOUND)
		return e;
	r = ns_db_exec(req->app->db, sql, 1, params, &e);
	if (!r) {
		api_metrics_db_error();
		return e;
	}
	if (PQntuples(r) != 1) {
		PQclear(r);
		goto refuse;
	}
	req->auth.admin_token = 1;
	snprintf(req->auth.admin_username, sizeof(req->auth.admin_username), "%s",
	    PQgetvalue(r, 0, 0));
	snprintf(req->auth.token, sizeof(req->auth.token), "%s", token);
	PQclear(r);
	return NS_OK;
refuse:
	api_respond_error(req, NS_E_FORBIDDEN, "Admin access required");
	return NS_E_FORBIDDEN;
}

/* Guard S (POST /payment/webhook, contract §2.8): the raw body must carry a valid
 * Stripe-Signature made with STRIPE_WEBHOOK_SECRET. Its failures are text/plain, as Stripe's
 * dashboard shows them; a body over the ceiling is left to the router (413). */
static enum ns_err
stripe_guard(struct api_req *req, const struct api_route *r)
{
	static const char unset[] = "Webhook secret not configured";
	const char *secret = req->cfg->stripe_webhook_secret, *hdr, *why;
	char msg[STRIPE_GUARD_MSG_MAX];
	enum ns_err e;

	if (!secret[0]) {
		ns_log_err("webhook refused: stripe_webhook_secret is not configured");
		api_respond_raw(req, 500, STRIPE_TEXT_CTYPE, unset, sizeof(unset) - 1);
		return NS_E_CONFIG;
	}
	e = api_req_read_body(req, r->body_max ? r->body_max : (size_t)req->cfg->webhook_body_max);
	if (e != NS_OK)
		return e;
	hdr = req->io->param(req->io->ctx, "HTTP_STRIPE_SIGNATURE");
	why = stripe_sig_verify(secret, hdr ? hdr : "", req->body, req->body_len,
	    ns_clock_now_ms() / 1000, STRIPE_SIG_TOLERANCE_S);
	if (why == NULL)
		return NS_OK;
	ns_log_info("webhook refused from %s: %s", req->remote_addr, why);
	snprintf(msg, sizeof(msg), "Webhook Error: %s", why);
	api_respond_raw(req, 400, STRIPE_TEXT_CTYPE, msg, strlen(msg));
	return NS_E_BAD_REQUEST;
}

/* The limiter keyed by user, after the guard (turn). */
static enum ns_err
limit_after_guard(struct api_req *req, const struct api_route *r)
{
	struct limiter_conf c;
	struct ns_rl_state st;
	char key[NS_KEY_MAX];
	enum ns_err e;

	if (r->limiter != API_RL_TURN || !req->auth.user ||
	    !limiter_conf(req->cfg, r->limiter, &c) ||
	    !ns_keys_ratelimit(key, c.name, req->auth.user_id))
		return NS_OK;
	e = ns_rl_check(req->app->kv, key, c.mode, c.window_s, &st);
	if (e != NS_OK) {
		api_metrics_redis_error();
		ns_log_debug("rate limit %s not checked: %s", c.name, ns_err_str(e));
		return NS_OK;
	}
	return apply_limit(req, r->limiter, &c, &st);
}

enum ns_err
api_guard_run(struct api_req *req, const struct api_route *r)
{
	enum ns_err e = NS_OK;

	memset(&req->auth, 0, sizeof(req->auth));
	if (r->guard == API_GUARD_NONE)
		return NS_OK;
	if (r->guard == API_GUARD_STRIPE)
		return stripe_guard(req, r);	/* needs no storage */
	if (!req->app) {
		ns_log_err("route %s %s: guard without storage", r->method, r->pattern);
		return NS_E_INTERNAL;
	}
	switch (r->guard) {
	case API_GUARD_USER:
	case API_GUARD_SESSION:
	case API_GUARD_USER_NOBAN:
	case API_GUARD_PAYWALL:
		e = user_guard(req, r->guard, bearer(req));
		break;
	case API_GUARD_BODY: {
		const char *t = req->json ? ns_json_get_str(req->json, "sessionToken") : NULL;

		if (!t || !t[0])
			return NS_OK;	/* the handler's own 'required' 400 */
		e = user_guard(req, r->guard, t);
		break;
	}
	case API_GUARD_ADMIN:
		e = admin_guard(req);
		break;
	case API_GUARD_NONE:
	case API_GUARD_STRIPE:
		break;
	}
	if (e != NS_OK)
		return e;
	return limit_after_guard(req, r);
}

void
api_guard_after(struct api_req *req, const struct api_route *r)
{
	struct limiter_conf c;
	struct ns_rl_state st;

	(void)r;
	/* auth counts failures only: the count was checked before, it grows now */
	if (cur.limiter != API_RL_AUTH || !cur.checked || cur.refused || req->status < 400 ||
	    !limiter_conf(req->cfg, cur.limiter, &c))
		return;
	if (ns_rl_add(req->app->kv, cur.key, c.window_s, &st) != NS_OK)
		api_metrics_redis_error();
}
