/* room: §3.7-§3.8 events on Redis scripts (gwlua.h). */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsconfig.h"
#include "clock.h"
#include "json.h"
#include "log.h"
#include "rand.h"
#include "valid.h"
#include "callend.h"
#include "conn.h"
#include "gw.h"
#include "gwlua.h"
#include "invite.h"
#include "metrics.h"
#include "payload.h"
#include "room.h"
#include "sio.h"

#define NUM_MAX 24

/* ARGV: roomId, userId, socketId, now, agreed-seconds grace ms. 1 joined, 0 refused.
 * The second member's first join restarts the deadline (§3.8). */
static const char join_lua[] =
	GWLUA_PRELUDE
	"local rid, uid, sid = ARGV[1], ARGV[2], ARGV[3]\n"
	"local room = hash(P_ROOM .. rid)\n"
	"if not room or (room.user1 ~= uid and room.user2 ~= uid) then return 0 end\n"
	"local mine, other = 'joined1', 'joined2'\n"
	"if room.user2 == uid then mine, other = 'joined2', 'joined1' end\n"
	"redis.call('SADD', P_ROOM .. rid .. ':socks', sid)\n"
	"if room[mine] ~= '1' then\n"
	"  redis.call('HSET', P_ROOM .. rid, mine, '1')\n"
	"  if room[other] == '1' then\n"
	"    local deadline = tonumber(ARGV[4]) + tonumber(room.agreedSeconds) * 1000"
	" + tonumber(ARGV[5])\n"
	"    redis.call('HSET', P_ROOM .. rid, 'deadline', deadline)\n"
	"    redis.call('ZADD', S_ROOM, deadline, rid)\n"
	"  end\n"
	"end\n"
	"return 1\n";

/* ARGV: roomId, socketId, event, data JSON, store ceiling ('' = relay only, sender
 * excluded), the calling gateway's id, the event's arrival (wall clock, µs). Only a joined
 * socket is heard. The sockets on the calling gateway are not published to but answered:
 * {1, socketId...} (0 when not heard). A relay is most of a call's traffic, and a PUBLISH
 * back to the same gateway cost Redis a publish and the gateway a read and a parse, on the
 * way to a socket it holds itself. The others get "r <µs> <sid> <event> <data>" (ctl.c). */
static const char relay_lua[] =
	GWLUA_PRELUDE
	"local rid, sid = ARGV[1], ARGV[2]\n"
	"local sk = P_ROOM .. rid .. ':socks'\n"
	"if redis.call('SISMEMBER', sk, sid) == 0 then return 0 end\n"
	"local store = ARGV[5] ~= ''\n"
	"if store and redis.call('LLEN', P_ROOM .. rid .. ':msgs') < tonumber(ARGV[5]) then\n"
	"  redis.call('RPUSH', P_ROOM .. rid .. ':msgs', ARGV[4])\n"
	"end\n"
	"local out = {1}\n"
	"for _, s in ipairs(redis.call('SMEMBERS', sk)) do\n"
	"  if store or s ~= sid then\n"
	"    local gw = gw_of(s)\n"
	"    if not gw then redis.call('SREM', sk, s)\n"
	"    elseif gw == ARGV[6] then out[#out + 1] = s\n"
	"    else redis.call('PUBLISH', P_GW .. gw, 'r ' .. ARGV[7] .. ' ' .. s .. ' ' .. ARGV[3]"
	" .. ' ' .. ARGV[4]) end\n"
	"  end\n"
	"end\n"
	"return out\n";

/* ARGV: roomId, userId, now. Effects: the claimed room, if this member's call:end won. */
static const char end_lua[] =
	GWLUA_PRELUDE
	"local out = {0, {}}\n"
	"local room = hash(P_ROOM .. ARGV[1])\n"
	"if not room or (room.user1 ~= ARGV[2] and room.user2 ~= ARGV[2]) then return out end\n"
	"out[1] = 1\n"
	"out[3] = room_claim(ARGV[1], room, ARGV[3])\n"
	"return out\n";

static const char *
num(char buf[NUM_MAX], int64_t v)
{
	snprintf(buf, NUM_MAX, "%" PRId64, v);
	return buf;
}

static void
on_joined(struct gw *g, redisReply *reply, void *arg)
{
	char *sid = arg;
	struct conn *c = conn_find(g, sid);

	if (c && reply && reply->type == REDIS_REPLY_INTEGER && reply->integer == 0)
		invite_error(g, c, "Room not found");
	free(sid);
}

void
room_join(struct gw *g, struct conn *c, json_object *payload)
{
	char rid[NS_UUID_LEN + 1], now[NUM_MAX], grace[NUM_MAX];
	const char *a[5];
	char *sid;

	if (!c->authed) {
		invite_error(g, c, "Not authenticated");
		return;
	}
	if (!payload_uuid(payload, "roomId", rid)) {
		invite_error(g, c, "Room not found");
		return;
	}
	if (!(sid = strdup(c->sio_sid)))
		return;
	a[0] = rid;
	a[1] = c->user_id;
	a[2] = c->sio_sid;
	a[3] = num(now, ns_clock_now_ms());
	a[4] = num(grace, (int64_t)g->cfg->call_grace_s * 1000);
	if (gwlua_eval(g, "room:join", join_lua, 0, 5, a, on_joined, sid) < 0)
		free(sid);
}

/* The relay's frame, for the sockets of this gateway the script answers with. */
struct relayed {
	char *frame;
	size_t len;
	int64_t arrived_us;	/* monotonic, for the relay metric */
};

static void
on_relayed(struct gw *g, redisReply *reply, void *arg)
{
	struct relayed *r = arg;
	struct conn *c;
	size_t i;

	if (reply && reply->type == REDIS_REPLY_ARRAY)
		for (i = 1; i < reply->elements; i++)
			if (reply->element[i]->type == REDIS_REPLY_STRING &&
			    (c = conn_find(g, reply->element[i]->str)) && c->authed) {
				conn_send(g, c, r->frame, r->len);
				metrics_relay_latency(METRICS_RELAY_LOCAL,
				    ns_clock_mono_us() - r->arrived_us);
			}
	free(r->frame);
	free(r);
}

/* Send data (taken) as event from c to the room's joined sockets. */
static void
relay(struct gw *g, struct conn *c, const char *rid, const char *event, json_object *data,
    int store)
{
	const char *a[7];
	char sent[NUM_MAX];
	struct relayed *r = malloc(sizeof(*r));
	size_t len;

	if (r)
		r->arrived_us = ns_clock_mono_us();
	a[0] = rid;
	a[1] = c->sio_sid;
	a[2] = event;
	a[3] = ns_json_text(data, &len);
	a[4] = store ? ROOM_MESSAGES_MAX : "";
	a[5] = g->id;
	a[6] = num(sent, ns_clock_now_us());
	if (r && (r->frame = sio_encode_event_raw(event, a[3], len, &r->len)) &&
	    gwlua_eval(g, event, relay_lua, 0, 7, a, on_relayed, r) == 0)
		r = NULL;	/* on_relayed frees it */
	if (r)
		free(r->frame);
	free(r);
	json_object_put(data);
}

/* rtc:*: a field that is not what payload_rtc() accepts drops the event. */
static void
rtc_relay(struct gw *g, struct conn *c, json_object *payload, const char *event,
    const char *field, int null_ok)
{
	char rid[NS_UUID_LEN + 1];
	json_object *v, *o;

	if (!c->authed || !payload_uuid(payload, "roomId", rid) ||
	    !payload_rtc(payload, field, null_ok, &v))
		return;
	o = ns_json_obj();
	ns_json_set(o, field, v ? json_object_get(v) : NULL);
	ns_json_set_str(o, "from", c->user_id);
	relay(g, c, rid, event, o, 0);
}

void
room_offer(struct gw *g, struct conn *c, json_object *payload)
{
	rtc_relay(g, c, payload, "rtc:offer", "offer", 0);
}

void
room_answer(struct gw *g, struct conn *c, json_object *payload)
{
	rtc_relay(g, c, payload, "rtc:answer", "answer", 0);
}

void
room_ice(struct gw *g, struct conn *c, json_object *payload)
{
	rtc_relay(g, c, payload, "rtc:ice", "candidate", 1);
}

void
room_chat(struct gw *g, struct conn *c, json_object *payload)
{
	char rid[NS_UUID_LEN + 1], *text;
	json_object *v, *o;
	const char *s = "";
	size_t len = 0;

	if (!c->authed || !payload_uuid(payload, "roomId", rid))
		return;
	if (json_object_object_get_ex(payload, "text", &v) &&
	    json_object_is_type(v, json_type_string)) {
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
	}
	if (!(text = payload_chat_text(s, len, ROOM_CHAT_MAX)))
		return;
	o = ns_json_obj();
	ns_json_set_str(o, "from", c->user_id);
	ns_json_set_str(o, "text", text);
	ns_json_set_int(o, "timestamp", ns_clock_now_ms());
	ns_json_set_str(o, "type", "message");
	free(text);
	relay(g, c, rid, "room:chat", o, 1);
}

void
room_give_social(struct gw *g, struct conn *c, json_object *payload)
{
	char rid[NS_UUID_LEN + 1];
	json_object *v, *o;

	if (!c->authed || !payload_uuid(payload, "roomId", rid) ||
	    !json_object_object_get_ex(payload, "socials", &v) || !ns_valid_socials(v))
		return;
	o = ns_json_obj();
	ns_json_set_str(o, "from", c->user_id);
	ns_json_set_int(o, "timestamp", ns_clock_now_ms());
	ns_json_set_str(o, "type", "social");
	ns_json_set(o, "socials", json_object_get(v));
	relay(g, c, rid, "room:socialShared", o, 1);
}

void
room_end(struct gw *g, struct conn *c, json_object *payload)
{
	char rid[NS_UUID_LEN + 1], now[NUM_MAX];
	const char *a[3];

	if (!c->authed || !payload_uuid(payload, "roomId", rid))
		return;
	a[0] = rid;
	a[1] = c->user_id;
	a[2] = num(now, ns_clock_now_ms());
	gwlua_eval(g, "call:end", end_lua, 0, 3, a, callend_effects, NULL);
}
