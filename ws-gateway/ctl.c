/* ctl: bus messages to sockets.
 *
 * ns:bcast   {"event":"presence:update"|"queue:update","data":{…}}  → the queue feed
 *            (qfeed.h: coalesced, scoped delivery).
 * ns:ctl     {"type":"session:invalidated","tokens":[…]}  → session:invalidated, then DISCONNECT
 *            {"type":"session:logout","tokens":[…]}       → DISCONNECT
 *            {"type":"user:banned","userId":…}            → auth:banned, then DISCONNECT
 *            {"type":"referral:notification","userId":…,"notification":{…}}
 *                                                     → the user's current socket, if it is here
 *            {"type":"queue:view","userId":…}             → qfeed: re-read ns:qview:<userId>
 * ns:gw:<id> {"type":"socket:disconnect","socketId":…}   → DISCONNECT (per-user cap)
 *            e <socketId> <event>[ <data JSON>]            → that event to that socket
 *                                                     (call and room events, gwlua.h)
 *            r <µs> <socketId> <event>[ <data JSON>]       → the same for a relay (room.c),
 *                                                     with its arrival time for the metric
 * The emits are not JSON: they are most of the bus traffic (every relayed offer, answer,
 * ICE candidate and chat line), and parsing each into a json-c tree only to write the same
 * data again was 17 % of a loaded gateway (perf, 550 flows/s). The data was encoded by the
 * script and goes to the client as it is. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "json.h"
#include "keys.h"
#include "log.h"
#include "rand.h"
#include "auth.h"
#include "bus.h"
#include "conn.h"
#include "ctl.h"
#include "gw.h"
#include "metrics.h"
#include "qfeed.h"
#include "sio.h"

/* The only events a broadcast may carry: clients never see anything else from the bus. */
static const char *const broadcast_events[] = { "presence:update", "queue:update", NULL };
/* The events the call scripts address to one socket. */
static const char *const socket_events[] = {
	"call:notify", "call:declined", "call:rescinded", "call:wait-extended", "call:start",
	"rtc:offer", "rtc:answer", "rtc:ice", "room:chat", "room:socialShared", "qr:unlocked",
	"metrics:update", "session:finalized", "peer:disconnected", NULL
};

static int
listed(const char *const *list, const char *name)
{
	for (; *list; list++)
		if (strcmp(*list, name) == 0)
			return 1;
	return 0;
}

struct walk {
	struct gw *g;
	const char *user_id;		/* user:banned, referral lookup */
	char (*tokens)[NS_UUID_LEN + 1];	/* session messages */
	size_t ntokens;
	int invalidated;		/* session:invalidated (with the event) vs logout */
	int found;
};

static void
broadcast(struct gw *g, json_object *o)
{
	const char *event = ns_json_get_str(o, "event");
	json_object *data = ns_json_get_obj(o, "data");

	if (event && data && listed(broadcast_events, event))
		qfeed_update(g, event, data);
}

static int
session_one(struct lws_dll2 *d, void *user)
{
	struct walk *w = user;
	struct conn *c = lws_container_of(d, struct conn, list);
	json_object *o;
	size_t i;

	if (!c->authed || !c->token)
		return 0;
	for (i = 0; i < w->ntokens && strcmp(w->tokens[i], c->token) != 0; i++)
		;
	if (i == w->ntokens)
		return 0;
	if (w->invalidated) {
		o = ns_json_obj();
		ns_json_set_str(o, "message",
		    "You have been logged out because you logged in from another device.");
		ns_json_set_str(o, "reason", "new_login");
		conn_emit(w->g, c, "session:invalidated", o);
		json_object_put(o);
	}
	conn_disconnect(w->g, c);
	return 0;
}

static void
sessions_end(struct gw *g, json_object *o, int invalidated)
{
	json_object *list;
	struct walk w = { .g = g, .invalidated = invalidated };
	size_t i, n;

	if (!json_object_object_get_ex(o, "tokens", &list) ||
	    !json_object_is_type(list, json_type_array))
		return;
	n = json_object_array_length(list);
	if (n > CTL_TOKENS_MAX)
		n = CTL_TOKENS_MAX;
	if (n == 0 || !(w.tokens = calloc(n, sizeof(*w.tokens))))
		return;
	for (i = 0; i < n; i++) {
		json_object *t = json_object_array_get_idx(list, i);

		if (json_object_is_type(t, json_type_string) &&
		    ns_rand_uuid_parse(json_object_get_string(t), w.tokens[w.ntokens]))
			w.ntokens++;
	}
	lws_dll2_foreach_safe(&g->conns, &w, session_one);
	free(w.tokens);
}

static int
banned_one(struct lws_dll2 *d, void *user)
{
	struct walk *w = user;
	struct conn *c = lws_container_of(d, struct conn, list);
	json_object *o;

	if (!c->authed || strcmp(c->user_id, w->user_id) != 0)
		return 0;
	o = ns_json_obj();
	ns_json_set_str(o, "message", "Your account has been suspended.");
	ns_json_set_bool(o, "banned", 1);
	conn_emit(w->g, c, "auth:banned", o);
	json_object_put(o);
	conn_disconnect(w->g, c);
	return 0;
}

static int
has_user(struct lws_dll2 *d, void *user)
{
	struct walk *w = user;
	struct conn *c = lws_container_of(d, struct conn, list);

	if (c->authed && strcmp(c->user_id, w->user_id) == 0) {
		w->found = 1;
		return 1;
	}
	return 0;
}

struct referral {
	char user_id[CONN_USER_MAX];
	json_object *notification;
};

/* The user's current socket (highest authenticatedAt, any gateway): ours? Then emit. */
static void
on_current_socket(struct gw *g, redisReply *reply, void *arg)
{
	struct referral *r = arg;
	struct conn *c;

	if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
	    reply->element[0]->type == REDIS_REPLY_STRING &&
	    (c = conn_find(g, reply->element[0]->str)) && c->authed &&
	    strcmp(c->user_id, r->user_id) == 0)
		auth_referral_emit(g, c, r->notification);
	json_object_put(r->notification);
	free(r);
}

static void
referral(struct gw *g, json_object *o)
{
	char uid[NS_UUID_LEN + 1], key[NS_KEY_MAX];
	json_object *n = ns_json_get_obj(o, "notification");
	struct walk w = { .g = g, .user_id = uid };
	struct referral *r;

	if (!n || !ns_rand_uuid_parse(ns_json_get_str(o, "userId"), uid))
		return;
	/* Only a gateway holding one of the user's sockets asks which one is current. */
	lws_dll2_foreach_safe(&g->conns, &w, has_user);
	if (!w.found || !ns_keys_user_sockets(key, uid) || !(r = calloc(1, sizeof(*r))))
		return;
	memcpy(r->user_id, uid, sizeof(uid));
	r->notification = json_object_get(n);
	if (bus_cmd(g->bus, on_current_socket, r, "ZREVRANGE %s 0 0", key) < 0) {
		json_object_put(r->notification);
		free(r);
	}
}

static void
control(struct gw *g, json_object *o)
{
	const char *type = ns_json_get_str(o, "type");
	char uid[NS_UUID_LEN + 1];
	struct walk w = { .g = g, .user_id = uid };

	if (!type)
		return;
	if (strcmp(type, "session:invalidated") == 0)
		sessions_end(g, o, 1);
	else if (strcmp(type, "session:logout") == 0)
		sessions_end(g, o, 0);
	else if (strcmp(type, "user:banned") == 0) {
		if (ns_rand_uuid_parse(ns_json_get_str(o, "userId"), uid))
			lws_dll2_foreach_safe(&g->conns, &w, banned_one);
	} else if (strcmp(type, "referral:notification") == 0)
		referral(g, o);
	else if (strcmp(type, "queue:view") == 0)
		qfeed_view_changed(g, ns_json_get_str(o, "userId"));
	else
		ns_log_debug("gateway: ignored control message '%s'", type);
}

/* "e <sid> <event>[ <data>]" (gwlua.h send_raw), or a relay's "r <µs> <sid> …" (room.c). */
static void
emit_raw(struct gw *g, const char *msg, size_t len)
{
	struct sio_emit e;
	struct conn *c;
	size_t plen;
	char *pkt;

	if (sio_emit_split(msg, len, &e) < 0 || !listed(socket_events, e.event) ||
	    !(c = conn_find(g, e.sid)) || !c->authed ||
	    !(pkt = sio_encode_event_raw(e.event, e.data, e.data_len, &plen)))
		return;
	conn_send(g, c, pkt, plen);
	free(pkt);
	if (e.sent_us)
		metrics_relay_latency(METRICS_RELAY_REMOTE, ns_clock_now_us() - e.sent_us);
}

static void
own(struct gw *g, json_object *o)
{
	const char *type = ns_json_get_str(o, "type");
	const char *sid = ns_json_get_str(o, "socketId");
	struct conn *c;

	if (!type || !sid || !(c = conn_find(g, sid)))
		return;
	if (strcmp(type, "socket:disconnect") == 0) {
		ns_log_debug("gateway: %s: disconnected (socket cap of its user)", c->sid);
		conn_disconnect(g, c);
	}
}

void
ctl_on_message(struct gw *g, const char *channel, const char *msg, size_t len)
{
	json_object *o;

	if (len > CTL_MESSAGE_MAX) {
		ns_log_warn("gateway: over-long message on %s dropped", channel);
		return;
	}
	if (len > 2 && (msg[0] == 'e' || msg[0] == 'r') && msg[1] == ' ' &&
	    strcmp(channel, BUS_CHANNEL_CTL) != 0 &&
	    strcmp(channel, BUS_CHANNEL_BCAST) != 0) {
		emit_raw(g, msg, len);
		return;
	}
	if (ns_json_parse_object(msg, len, &o) != NS_OK) {
		ns_log_warn("gateway: unreadable message on %s dropped", channel);
		return;
	}
	if (strcmp(channel, BUS_CHANNEL_BCAST) == 0)
		broadcast(g, o);
	else if (strcmp(channel, BUS_CHANNEL_CTL) == 0)
		control(g, o);
	else
		own(g, o);
	json_object_put(o);
}
