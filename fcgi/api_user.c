/* api_user: GET and PUT /user/me (contract §2.3). Reads come from the shared user cache;
 * a write goes to PostgreSQL, then invalidates the cache entry before answering, so the next
 * read through any worker sees it. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "app.h"
#include "cache.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "respond.h"
#include "valid.h"

#define MSG_USER_NOT_FOUND "User not found"

/* JSON text stored by PostgreSQL (socials, last_sessions) back into an object of the wanted
 * type; the fallback when it does not parse, which only a corrupt row could cause. */
static json_object *
parse_stored(const char *text, json_type want)
{
	json_object *o = json_tokener_parse(text);

	if (o == NULL || !json_object_is_type(o, want)) {
		if (o)
			json_object_put(o);
		ns_log_warn("user: stored JSON is not a %s", json_type_to_name(want));
		o = want == json_type_array ? json_object_new_array() : json_object_new_object();
	}
	return o;
}

/* lastSessions: [{at, duration}] with exactly those two keys, whatever else a row holds. */
static json_object *
last_sessions(const char *text)
{
	json_object *in = parse_stored(text, json_type_array), *out = json_object_new_array();
	size_t i, n = json_object_array_length(in);

	for (i = 0; out != NULL && i < n; i++) {
		json_object *e = json_object_array_get_idx(in, i), *s;
		int64_t v;

		if (!json_object_is_type(e, json_type_object))
			continue;
		s = ns_json_obj();
		if (ns_json_get_int(e, "at", &v))
			ns_json_set_int(s, "at", v);
		else
			ns_json_set_null(s, "at");
		if (ns_json_get_int(e, "duration", &v))
			ns_json_set_int(s, "duration", v);
		else
			ns_json_set_null(s, "duration");
		json_object_array_add(out, s);
	}
	json_object_put(in);
	return out;
}

/* "" means NULL in struct api_user (§1.4: optional fields are sent as null). */
static const char *
opt(const char *s)
{
	return s[0] ? s : NULL;
}

/* The user row through the cache; answers 404 itself. The row is ~10 KB: on the heap. */
static enum ns_err
load_user(struct api_req *req, struct api_user **out)
{
	struct api_user *u = malloc(sizeof(*u));
	enum ns_err e;

	*out = NULL;
	if (u == NULL)
		return NS_E_NOMEM;
	e = api_cache_user(req->app, req->auth.user_id, u);
	if (e != NS_OK) {
		free(u);
		if (e == NS_E_NOT_FOUND)
			api_respond_error(req, e, MSG_USER_NOT_FOUND);
		return e;
	}
	*out = u;
	return NS_OK;
}

enum ns_err
api_user_get(struct api_req *req)
{
	struct api_user *u;
	json_object *body;
	enum ns_err e;

	if ((e = load_user(req, &u)) != NS_OK)
		return e;
	body = ns_json_obj();
	ns_json_set_str(body, "userId", u->user_id);
	ns_json_set_str(body, "name", u->name);
	ns_json_set_str(body, "gender", u->gender);
	ns_json_set_str(body, "accountType", u->account_type);
	ns_json_set_str(body, "email", opt(u->email));
	ns_json_set_str(body, "selfieUrl", opt(u->selfie_url));
	ns_json_set_str(body, "videoUrl", opt(u->video_url));
	ns_json_set(body, "socials", parse_stored(u->socials, json_type_object));
	ns_json_set_int(body, "createdAt", u->created_at_ms);
	ns_json_set_int(body, "timerTotalSeconds", u->timer_total_seconds);
	ns_json_set_int(body, "sessionCount", u->session_count);
	ns_json_set(body, "lastSessions", last_sessions(u->last_sessions));
	ns_json_set_int(body, "streakDays", u->streak_days);
	ns_json_set_str(body, "paidStatus", u->paid_status);
	free(u);
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}

static const struct ns_valid_field put_fields[] = {
	NS_VALID_F_SOCIALS,
};

static void
respond_put(struct api_req *req, const char *user_id, const char *name, const char *socials)
{
	json_object *body = ns_json_obj(), *user = ns_json_obj();

	ns_json_set_str(user, "userId", user_id);
	ns_json_set_str(user, "name", name);
	ns_json_set(user, "socials", parse_stored(socials, json_type_object));
	ns_json_set_bool(body, "success", 1);
	ns_json_set(body, "user", user);
	req->no_store = 1;
	api_respond_json(req, 200, body);
}

enum ns_err
api_user_put(struct api_req *req)
{
	static const char sql[] =
	    "UPDATE users SET socials = $2::jsonb WHERE user_id = $1 RETURNING name, socials";
	json_object *socials;
	const char *msg, *text;
	struct api_user *u;
	enum ns_err e = NS_OK;
	PGresult *res;

	if ((e = ns_valid_check(req->json, put_fields, 1, &msg)) != NS_OK) {
		api_respond_error(req, e, msg);
		return e;
	}
	socials = ns_json_get_obj(req->json, "socials");
	if (socials == NULL) {
		/* absent: nothing changes, the current values are answered */
		if ((e = load_user(req, &u)) != NS_OK)
			return e;
		respond_put(req, u->user_id, u->name, u->socials);
		free(u);
		return NS_OK;
	}
	text = json_object_to_json_string_ext(socials, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	if (text == NULL)
		return NS_E_NOMEM;
	{
		const char *p[] = { req->auth.user_id, text };

		if ((res = ns_db_exec(req->app->db, sql, 2, p, &e)) == NULL)
			return e;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		api_respond_error(req, NS_E_NOT_FOUND, MSG_USER_NOT_FOUND);
		return NS_E_NOT_FOUND;
	}
	api_cache_user_invalidate(req->app, req->auth.user_id);
	respond_put(req, req->auth.user_id, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
	PQclear(res);
	return NS_OK;
}
