/* auth: session lookup and socket binding (contract §3.2).
 *
 * One query answers everything a handshake needs: the session (unexpired), its user's ban
 * status, whether the client IP is banned and, for the `auth` event, the unread referral
 * notifications. It always returns one row, so "unknown token" is a row of NULLs. While
 * PostgreSQL is unreachable a socket cannot be authenticated: an unbound socket is closed
 * with 1013 (try again later) and the client's reconnection logic retries. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "log.h"
#include "rand.h"
#include "auth.h"
#include "conn.h"
#include "gw.h"
#include "live.h"
#include "pg.h"

#define AUTH_CONNECT 1
#define AUTH_EVENT 2
#define AUTH_CLOSE_TRY_AGAIN 1013	/* WebSocket "try again later" */
#define AUTH_NOTIFY_MAX "100"		/* unread notifications replayed after `auth` */
#define AUTH_MESSAGE_MAX 256		/* "<referredName> wants to connect with you!" */

/* $1 token (uuid or NULL), $2 client IP (inet or NULL), $3 include notifications. */
static const char lookup_sql[] =
	"SELECT s.user_id::text, s.is_active, u.ban_status,"
	" EXISTS (SELECT 1 FROM ip_bans b WHERE b.ip_address = $2::inet),"
	" CASE WHEN $3::boolean AND s.user_id IS NOT NULL THEN"
	"  (SELECT coalesce(json_agg(json_build_object('id', n.id, 'forUserId', n.for_user_id,"
	"   'referredUserId', n.referred_user_id, 'referredName', n.referred_name,"
	"   'introducedBy', n.introduced_by, 'introducedByName', n.introduced_by_name,"
	"   'timestamp', (extract(epoch FROM n.\"timestamp\") * 1000)::bigint, 'read', n.read)"
	"   ORDER BY n.\"timestamp\"), '[]')"
	"   FROM (SELECT * FROM referral_notifications r WHERE r.for_user_id = s.user_id"
	"    AND NOT r.read ORDER BY r.\"timestamp\" LIMIT " AUTH_NOTIFY_MAX ") n)"
	" END"
	" FROM (SELECT 1) AS one"
	" LEFT JOIN sessions s ON s.session_token = $1::uuid AND s.expires_at > now()"
	" LEFT JOIN users u ON u.user_id = s.user_id";

enum { COL_USER, COL_ACTIVE, COL_BAN, COL_IP_BANNED, COL_NOTIFY, COL__COUNT };

static void on_lookup(struct gw *g, const PGresult *res, void *arg);

/* Start a lookup; token (canonical UUID or NULL) is owned from here on. */
static int
lookup(struct gw *g, struct conn *c, int kind, char *token)
{
	const char *params[3];

	params[0] = token;
	params[1] = kind == AUTH_CONNECT && c->ip[0] ? c->ip : NULL;
	params[2] = kind == AUTH_EVENT ? "true" : "false";
	c->auth_req = pg_read(g->pg, lookup_sql, 3, params, on_lookup, c);
	if (!c->auth_req) {
		free(token);
		return -1;
	}
	c->auth_kind = (uint8_t)kind;
	c->auth_token = token;
	return 0;
}

static void
unavailable(struct conn *c, int kind)
{
	if (kind == AUTH_CONNECT || !c->authed) {
		ns_log_warn("gateway: %s: session lookup failed; closing", c->sid);
		conn_close(c, AUTH_CLOSE_TRY_AGAIN, "service unavailable");
	} else
		ns_log_warn("gateway: %s: session lookup for auth failed", c->sid);
}

/* A copy of s as a canonical UUID, or NULL (malformed, or no memory). */
static char *
canonical(const char *s)
{
	char uuid[NS_UUID_LEN + 1];

	return s && ns_rand_uuid_parse(s, uuid) ? strdup(uuid) : NULL;
}

int
auth_connect(struct gw *g, struct conn *c, const char *token)
{
	/* A malformed token is looked up as none: the IP check still applies. */
	if (lookup(g, c, AUTH_CONNECT, canonical(token)) < 0)
		unavailable(c, AUTH_CONNECT);
	return 0;
}

static void
start_event(struct gw *g, struct conn *c, char *token)
{
	if (!token) {
		conn_emit(g, c, "auth:failed", NULL);
		return;
	}
	if (lookup(g, c, AUTH_EVENT, token) < 0)
		unavailable(c, AUTH_EVENT);
}

void
auth_event(struct gw *g, struct conn *c, json_object *payload)
{
	const char *token = json_object_is_type(payload, json_type_object) ?
	    ns_json_get_str(payload, "sessionToken") : NULL;
	char *t = canonical(token);

	if (c->auth_req && t) {
		/* One lookup at a time per socket; the latest waiting token wins. */
		free(c->auth_next);
		c->auth_next = t;
		return;
	}
	start_event(g, c, t);
}

void
auth_closed(struct gw *g, struct conn *c)
{
	(void)g;
	pg_forget(c->auth_req);
	free(c->auth_token);
	free(c->auth_next);
	c->auth_req = NULL;
	c->auth_token = c->auth_next = NULL;
}

/* Bind the socket to user and session (taking *token), and register it. */
static void
bind_user(struct gw *g, struct conn *c, const char *user_id, char **token)
{
	char *old = c->authed ? c->token : NULL;

	if (!c->authed)
		free(c->token);
	snprintf(c->user_id, sizeof(c->user_id), "%s", user_id);
	c->token = *token;
	*token = NULL;
	c->authed = 1;
	c->authenticated_at = ns_clock_now_ms();
	live_register(g, c, old);
	free(old);
}

static int
col_true(const PGresult *res, int col)
{
	return !PQgetisnull(res, 0, col) && PQgetvalue(res, 0, col)[0] == 't';
}

static int
user_banned(const PGresult *res)
{
	const char *s = PQgetvalue(res, 0, COL_BAN);

	return strcmp(s, "temporary") == 0 || strcmp(s, "permanent") == 0;
}

static void
connect_outcome(struct gw *g, struct conn *c, const PGresult *res, char **token)
{
	const char *refusal = NULL;

	if (col_true(res, COL_IP_BANNED))
		refusal = "Access denied";
	else if (PQgetisnull(res, 0, COL_USER) || !*token) {
		conn_connect_reply(g, c, NULL);	/* accepted unauthenticated */
		return;
	} else if (!col_true(res, COL_ACTIVE))
		refusal = "Session invalidated";
	else if (user_banned(res))
		refusal = "Account suspended";
	if (refusal) {
		conn_connect_reply(g, c, refusal);
		return;
	}
	if (conn_connect_reply(g, c, NULL) < 0)
		return;
	bind_user(g, c, PQgetvalue(res, 0, COL_USER), token);
	conn_emit(g, c, "auth:success", NULL);
}

void
auth_referral_emit(struct gw *g, struct conn *c, json_object *notification)
{
	char msg[AUTH_MESSAGE_MAX];
	const char *name = ns_json_get_str(notification, "referredName");
	json_object *o;

	if (!name)
		return;
	snprintf(msg, sizeof(msg), "%s wants to connect with you!", name);
	o = ns_json_obj();
	ns_json_set_str(o, "message", msg);
	ns_json_set(o, "notification", json_object_get(notification));
	conn_emit(g, c, "referral:notification", o);
	json_object_put(o);
}

static void
replay_notifications(struct gw *g, struct conn *c, const PGresult *res)
{
	json_object *list;
	size_t i, n;

	if (PQgetisnull(res, 0, COL_NOTIFY))
		return;
	list = json_tokener_parse(PQgetvalue(res, 0, COL_NOTIFY));
	if (!json_object_is_type(list, json_type_array)) {
		json_object_put(list);
		return;
	}
	n = json_object_array_length(list);
	for (i = 0; i < n; i++)
		auth_referral_emit(g, c, json_object_array_get_idx(list, i));
	json_object_put(list);
}

static void
event_outcome(struct gw *g, struct conn *c, const PGresult *res, char **token)
{
	const char *uid = PQgetvalue(res, 0, COL_USER);
	json_object *o;

	if (PQgetisnull(res, 0, COL_USER) || !col_true(res, COL_ACTIVE) ||
	    (c->authed && strcmp(uid, c->user_id) != 0)) {
		conn_emit(g, c, "auth:failed", NULL);
		return;
	}
	if (user_banned(res)) {
		o = ns_json_obj();
		ns_json_set_str(o, "message", "Your account has been suspended.");
		ns_json_set_bool(o, "banned", 1);
		conn_emit(g, c, "auth:banned", o);
		json_object_put(o);
		conn_disconnect(g, c);
		return;
	}
	bind_user(g, c, uid, token);
	conn_emit(g, c, "auth:success", NULL);
	replay_notifications(g, c, res);
}

static void
on_lookup(struct gw *g, const PGresult *res, void *arg)
{
	struct conn *c = arg;
	char *token = c->auth_token, *next;
	int kind = c->auth_kind;

	c->auth_req = NULL;
	c->auth_token = NULL;
	if (!res || PQntuples(res) != 1 || PQnfields(res) != COL__COUNT)
		unavailable(c, kind);
	else if (kind == AUTH_CONNECT)
		connect_outcome(g, c, res, &token);
	else
		event_outcome(g, c, res, &token);
	free(token);
	if (c->auth_next && !c->auth_req && !c->close_code && !c->flush_close) {
		next = c->auth_next;
		c->auth_next = NULL;
		start_event(g, c, next);
	}
}
