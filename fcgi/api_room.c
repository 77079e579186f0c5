/* api_room: a user's call history and own card (contract §2.5), from PostgreSQL and the
 * query cache. The matchmaking lists under /room are api_queue.c and api_reel.c. */

#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "routes.h"
#include "app.h"
#include "cache.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "respond.h"

#define ROOM_HISTORY_MAX 1000	/* rows /room/history returns (newest first) */

#define MSG_USER_NOT_FOUND "User not found"

/* ---- row helpers ----------------------------------------------------------------------- */

static int64_t
col_i64(const PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* ---- GET /room/history ------------------------------------------------------------------ */

static const char history_sql[] =
	"SELECT session_id, room_id, partner_id, partner_name,"
	" floor(extract(epoch FROM started_at) * 1000)::bigint, duration, messages"
	" FROM chat_history WHERE user_id = $1::uuid"
	" ORDER BY created_at DESC, id DESC LIMIT $2::int";

enum ns_err
api_room_history(struct api_req *req)
{
	char max[16];
	const char *params[2] = { req->auth.user_id, max };
	json_object *body, *list;
	enum ns_err err;
	PGresult *res;
	int i;

	snprintf(max, sizeof max, "%d", ROOM_HISTORY_MAX);
	if ((res = ns_db_read(req->app->db, history_sql, 2, params, &err)) == NULL)
		return err;
	list = json_object_new_array_ext(PQntuples(res));
	for (i = 0; i < PQntuples(res); i++) {
		json_object *h = ns_json_obj(), *msgs = json_tokener_parse(PQgetvalue(res, i, 6));

		if (msgs == NULL || !json_object_is_type(msgs, json_type_array)) {
			ns_log_warn("room: chat_history messages of %s is not an array",
			    PQgetvalue(res, i, 0));
			json_object_put(msgs);
			msgs = json_object_new_array();
		}
		ns_json_set_str(h, "sessionId", PQgetvalue(res, i, 0));
		ns_json_set_str(h, "roomId", PQgetvalue(res, i, 1));
		ns_json_set_str(h, "partnerId", PQgetvalue(res, i, 2));
		ns_json_set_str(h, "partnerName", PQgetvalue(res, i, 3));
		ns_json_set_int(h, "startedAt", col_i64(res, i, 4));
		ns_json_set_int(h, "duration", col_i64(res, i, 5));
		ns_json_set(h, "messages", msgs);
		json_object_array_add(list, h);
	}
	PQclear(res);
	body = ns_json_obj();
	ns_json_set(body, "history", list);
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}

/* ---- GET /room/me ----------------------------------------------------------------------- */

enum ns_err
api_room_me(struct api_req *req)
{
	struct api_user *u = malloc(sizeof(*u));	/* large: keep it off the stack */
	json_object *body;
	enum ns_err err;

	if (u == NULL)
		return NS_E_NOMEM;
	err = api_cache_user(req->app, req->auth.user_id, u);
	req->no_store = 1;
	if (err == NS_E_NOT_FOUND) {
		free(u);
		api_respond_error(req, NS_E_NOT_FOUND, MSG_USER_NOT_FOUND);
		return NS_E_NOT_FOUND;
	}
	if (err != NS_OK) {
		free(u);
		return err;
	}
	body = ns_json_obj();
	ns_json_set_str(body, "userId", u->user_id);
	ns_json_set_str(body, "name", u->name);
	ns_json_set_str(body, "selfieUrl", u->selfie_url[0] ? u->selfie_url : NULL);
	ns_json_set_int(body, "timerTotal", u->timer_total_seconds);
	free(u);
	api_respond_json(req, 200, body);
	return NS_OK;
}
