/* invite: §3.6 on Redis scripts (gwlua.h) and one PostgreSQL lookup.
 *
 * call:invite runs its checks in the contract's order: 1 and 4 here, 2, 3 and the cooldown
 * from one query, then 5, 6 and 7 in the script that stores the invite (so "busy" and
 * "offline" are decided atomically with the store, and the cooldown still answers last).
 * Every pending invite ends with exactly one outcome because each outcome is a script that
 * first finds the invite hash and deletes it; whoever deletes it owns the outcome. */
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
#include "callend.h"
#include "conn.h"
#include "gw.h"
#include "gwlua.h"
#include "invite.h"
#include "payload.h"
#include "pg.h"

#define NUM_MAX 24

/* ARGV: id, from, to, callerSeconds, createdAt, expiresAt, due, fromSock, cooldown (1/0),
 * fromName, toName, call:notify data. Answers 'ok' or the refusal reason. */
static const char invite_lua[] =
	GWLUA_PRELUDE
	"local id, from, to = ARGV[1], ARGV[2], ARGV[3]\n"
	"if redis.call('EXISTS', P_UROOM .. from) == 1 or"
	" redis.call('SCARD', P_INVF .. from) > 0 then return 'busy' end\n"
	"local p = redis.call('HMGET', P_PRES .. to, '" NS_PRES_ONLINE "', '" NS_PRES_AVAILABLE "')\n"
	"local tsock = current(to)\n"
	"if p[1] ~= '1' or p[2] ~= '1' or not live(tsock) then return 'offline' end\n"
	"if ARGV[9] == '1' then return 'cooldown' end\n"
	"redis.call('HSET', P_INV .. id, 'id', id, 'from', from, 'to', to, 'secs', ARGV[4],"
	" 'createdAt', ARGV[5], 'expiresAt', ARGV[6], 'fromSock', ARGV[8], 'toSock', tsock,"
	" 'fromName', ARGV[10], 'toName', ARGV[11])\n"
	"redis.call('SADD', P_INVF .. from, id)\n"
	"redis.call('SADD', P_INVT .. to, id)\n"
	"redis.call('ZADD', S_INV, ARGV[7], id)\n"
	"send_raw(tsock, 'call:notify', ARGV[12])\n"
	"return 'ok'\n";

/* ARGV: inviteId, userId, socketId, requestedSeconds ('' when invalid), now, roomId,
 * grace ms. Answers 'ok', 'notfound' or 'duration'. */
static const char accept_lua[] =
	GWLUA_PRELUDE
	"local id, uid, sid = ARGV[1], ARGV[2], ARGV[3]\n"
	"local inv = hash(P_INV .. id)\n"
	"if not inv or inv.to ~= uid then return 'notfound' end\n"
	"if ARGV[4] == '' then return 'duration' end\n"
	"local csock = pick(inv.fromSock, inv.from)\n"
	"if not csock then return 'notfound' end\n"
	"if redis.call('EXISTS', P_UROOM .. inv.from) == 1 or"
	" redis.call('EXISTS', P_UROOM .. uid) == 1 then return 'notfound' end\n"
	"inv_close(id, inv)\n"
	"local agreed = math.floor((tonumber(inv.secs) + tonumber(ARGV[4])) / 2)\n"
	"local now, rid = tonumber(ARGV[5]), ARGV[6]\n"
	"local deadline = now + agreed * 1000 + tonumber(ARGV[7])\n"
	"redis.call('HSET', P_ROOM .. rid, 'id', rid, 'user1', inv.from, 'user2', uid,"
	" 'name1', inv.fromName, 'name2', inv.toName, 'startedAt', ARGV[5],"
	" 'agreedSeconds', agreed, 'deadline', deadline, 'sock1', csock, 'sock2', sid,"
	" 'joined1', '0', 'joined2', '0')\n"
	"redis.call('SET', P_UROOM .. inv.from, rid)\n"
	"redis.call('SET', P_UROOM .. uid, rid)\n"
	"redis.call('ZADD', S_ROOM, deadline, rid)\n"
	"unavailable(inv.from, true)\n"
	"unavailable(uid, true)\n"
	"send(csock, 'call:start', {roomId = rid, agreedSeconds = agreed, isInitiator = true,"
	" peerUser = {userId = uid, name = inv.toName}})\n"
	"send(sid, 'call:start', {roomId = rid, agreedSeconds = agreed, isInitiator = false,"
	" peerUser = {userId = inv.from, name = inv.fromName}})\n"
	/* busy: every other pending invite from or to either user */
	"local entering = {[inv.from] = true, [uid] = true}\n"
	"for _, u in ipairs({inv.from, uid}) do\n"
	"  for _, k in ipairs({P_INVF .. u, P_INVT .. u}) do\n"
	"    for _, oid in ipairs(redis.call('SMEMBERS', k)) do\n"
	"      local o = hash(P_INV .. oid)\n"
	"      if o then\n"
	"        inv_close(oid, o)\n"
	"        if not entering[o.from] then inv_declined(oid, o, 'busy') end\n"
	"        if not entering[o.to] then inv_rescinded(oid, o) end\n"
	"      else redis.call('SREM', k, oid) end\n"
	"    end\n"
	"  end\n"
	"end\n"
	"return 'ok'\n";

/* ARGV: inviteId, userId. Effects: the decline's cooldown. */
static const char decline_lua[] =
	GWLUA_PRELUDE
	"local out = {0, {}}\n"
	"local inv = hash(P_INV .. ARGV[1])\n"
	"if not inv or inv.to ~= ARGV[2] then return out end\n"
	"inv_close(ARGV[1], inv)\n"
	"inv_declined(ARGV[1], inv, 'user_declined')\n"
	"cooldown(out, inv.from, inv.to, 'long')\n"
	"out[1] = 1\n"
	"return out\n";

/* The caller's pending invite to `to`: its id and hash, or nil. */
#define LUA_FIND_OUTGOING \
	"local function outgoing(from, to)\n" \
	"  for _, id in ipairs(redis.call('SMEMBERS', P_INVF .. from)) do\n" \
	"    local inv = hash(P_INV .. id)\n" \
	"    if inv and inv.to == to then return id, inv end\n" \
	"  end\n" \
	"  return nil, nil\n" \
	"end\n"

/* ARGV: userId, toUserId. Effects: the rescind's cooldown. */
static const char rescind_lua[] =
	GWLUA_PRELUDE
	LUA_FIND_OUTGOING
	"local out = {0, {}}\n"
	"local id, inv = outgoing(ARGV[1], ARGV[2])\n"
	"if not id then return out end\n"
	"inv_close(id, inv)\n"
	"inv_rescinded(id, inv)\n"
	"cooldown(out, inv.from, inv.to, 'short')\n"
	"out[1] = 1\n"
	"return out\n";

/* ARGV: userId, toUserId, extension ms, cap ms, tolerance ms, extraSeconds. */
static const char extend_lua[] =
	GWLUA_PRELUDE
	LUA_FIND_OUTGOING
	"local id, inv = outgoing(ARGV[1], ARGV[2])\n"
	"if not id then return 0 end\n"
	"local exp = tonumber(inv.expiresAt)\n"
	"local new = math.min(exp + tonumber(ARGV[3]), tonumber(inv.createdAt) + tonumber(ARGV[4]))\n"
	"if new <= exp then return 0 end\n"
	"redis.call('HSET', P_INV .. id, 'expiresAt', new)\n"
	"redis.call('ZADD', S_INV, new + tonumber(ARGV[5]), id)\n"
	"send_to(inv.toSock, inv.to, 'call:wait-extended', {extraSeconds = tonumber(ARGV[6])})\n"
	"return 1\n";

/* $1 sender, $2 target: sender's paid status and card, target's existence and name, and an
 * active pair cooldown. Always one row. The pair is unique, so its expiry is tested on the
 * row the pair key finds, never used to find it (sql/006). */
static const char check_sql[] =
	"SELECT s.paid_status, s.name, s.gender, s.selfie_url, s.video_url,"
	" t.user_id IS NOT NULL, t.name,"
	" coalesce((SELECT expires_at > now() FROM cooldowns"
	"  WHERE user_id_1 = least($1::uuid, $2::uuid)"
	"  AND user_id_2 = greatest($1::uuid, $2::uuid)), false)"
	" FROM (SELECT 1) AS one"
	" LEFT JOIN users s ON s.user_id = $1::uuid"
	" LEFT JOIN users t ON t.user_id = $2::uuid";

enum { K_PAID, K_NAME, K_GENDER, K_SELFIE, K_VIDEO, K_TARGET, K_TNAME, K_COOLDOWN, K__COUNT };

/* What an asynchronous step needs to find its socket again (it may have closed). */
struct pending {
	char sid[CONN_SID_LEN + 1];
	char uid[NS_UUID_LEN + 1];
	char to[NS_UUID_LEN + 1];
	char invite_id[NS_UUID_LEN + 1];
	int64_t secs;
	int secs_ok;
};

static const char *
num(char buf[NUM_MAX], int64_t v)
{
	snprintf(buf, NUM_MAX, "%" PRId64, v);
	return buf;
}

void
invite_error(struct gw *g, struct conn *c, const char *message)
{
	json_object *o = ns_json_obj();

	ns_json_set_str(o, "message", message);
	conn_emit(g, c, "error", o);
	json_object_put(o);
}

static void
declined(struct gw *g, struct conn *c, const char *invite_id, const char *reason)
{
	json_object *o = ns_json_obj();

	ns_json_set_str(o, "inviteId", invite_id);
	ns_json_set_str(o, "reason", reason);
	conn_emit(g, c, "call:declined", o);
	json_object_put(o);
}

/* The socket of p, still bound to the same user, or NULL. */
static struct conn *
socket_of(struct gw *g, const struct pending *p)
{
	struct conn *c = conn_find(g, p->sid);

	return c && c->authed && strcmp(c->user_id, p->uid) == 0 ? c : NULL;
}

static struct pending *
pending_new(const struct conn *c)
{
	struct pending *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	memcpy(p->sid, c->sio_sid, sizeof(p->sid));
	memcpy(p->uid, c->user_id, sizeof(p->uid));
	return p;
}

static int
paying(const char *status)
{
	return strcmp(status, "paid") == 0 || strcmp(status, "qr_verified") == 0 ||
	    strcmp(status, "qr_grace_period") == 0;
}

static void
on_stored(struct gw *g, redisReply *reply, void *arg)
{
	struct pending *p = arg;
	struct conn *c = socket_of(g, p);

	if (c && reply && reply->type == REDIS_REPLY_STRING && strcmp(reply->str, "ok") != 0)
		declined(g, c, p->invite_id, reply->str);
	free(p);
}

static const char *
col(const PGresult *res, int i)
{
	return PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i);
}

static void
on_checked(struct gw *g, const PGresult *res, void *arg)
{
	struct pending *p = arg;
	struct conn *c = socket_of(g, p);
	const struct ns_config *cfg = g->cfg;
	json_object *notify, *from;
	char created[NUM_MAX], expires[NUM_MAX], due[NUM_MAX], secs[NUM_MAX];
	const char *a[12], *paid;
	int64_t now = ns_clock_now_ms();
	size_t len;

	if (!c) {
		free(p);
		return;
	}
	if (!res || PQntuples(res) != 1 || PQnfields(res) != K__COUNT) {
		ns_log_warn("gateway: %s: invite check failed (database)", c->sid);
		free(p);
		return;
	}
	paid = col(res, K_PAID);
	if (!paid || !paying(paid)) {
		declined(g, c, p->invite_id, "payment_required");
		free(p);
		return;
	}
	if (PQgetvalue(res, 0, K_TARGET)[0] != 't') {
		declined(g, c, p->invite_id, "user_not_found");
		free(p);
		return;
	}
	if (!p->secs_ok) {
		declined(g, c, p->invite_id, "invalid_duration");
		free(p);
		return;
	}
	from = ns_json_obj();
	ns_json_set_str(from, "userId", p->uid);
	ns_json_set_str(from, "name", col(res, K_NAME));
	ns_json_set_str(from, "gender", col(res, K_GENDER));
	ns_json_set_str(from, "selfieUrl", col(res, K_SELFIE));
	ns_json_set_str(from, "videoUrl", col(res, K_VIDEO));
	notify = ns_json_obj();
	ns_json_set_str(notify, "inviteId", p->invite_id);
	ns_json_set(notify, "fromUser", from);
	ns_json_set_int(notify, "requestedSeconds", p->secs);
	ns_json_set_int(notify, "ttlMs", cfg->invite_window_ms);
	a[0] = p->invite_id;
	a[1] = p->uid;
	a[2] = p->to;
	a[3] = num(secs, p->secs);
	a[4] = num(created, now);
	a[5] = num(expires, now + cfg->invite_window_ms);
	a[6] = num(due, now + cfg->invite_window_ms + cfg->invite_tolerance_ms);
	a[7] = p->sid;
	a[8] = PQgetvalue(res, 0, K_COOLDOWN)[0] == 't' ? "1" : "0";
	a[9] = col(res, K_NAME) ? col(res, K_NAME) : "";
	a[10] = col(res, K_TNAME) ? col(res, K_TNAME) : "";
	a[11] = ns_json_text(notify, &len);
	if (gwlua_eval(g, "call:invite", invite_lua, 0, 12, a, on_stored, p) < 0)
		free(p);
	json_object_put(notify);
}

void
invite_call(struct gw *g, struct conn *c, json_object *payload)
{
	const char *params[2];
	struct pending *p;

	if (!c->authed) {
		invite_error(g, c, "Please wait for authentication to complete");
		return;
	}
	if (!(p = pending_new(c)))
		return;
	if (ns_rand_uuid(p->invite_id) != NS_OK) {
		free(p);
		return;
	}
	if (!payload_uuid(payload, "toUserId", p->to) || strcmp(p->to, c->user_id) == 0) {
		declined(g, c, p->invite_id, "invalid_target");
		free(p);
		return;
	}
	p->secs_ok = payload_seconds(payload, g->cfg->call_seconds_min, INVITE_SECONDS_MAX,
	    &p->secs);
	params[0] = p->uid;
	params[1] = p->to;
	if (!pg_read(g->pg, check_sql, 2, params, on_checked, p)) {
		ns_log_warn("gateway: %s: invite check not queued (database down)", c->sid);
		free(p);
	}
}

static void
on_accepted(struct gw *g, redisReply *reply, void *arg)
{
	struct pending *p = arg;
	struct conn *c = socket_of(g, p);

	if (c && reply && reply->type == REDIS_REPLY_STRING) {
		if (strcmp(reply->str, "notfound") == 0)
			invite_error(g, c, "Invite not found or expired");
		else if (strcmp(reply->str, "duration") == 0)
			invite_error(g, c, "Invalid call duration");
	}
	free(p);
}

void
invite_accept(struct gw *g, struct conn *c, json_object *payload)
{
	char secs[NUM_MAX], now[NUM_MAX], grace[NUM_MAX], room[NS_UUID_LEN + 1];
	const char *a[7];
	struct pending *p;

	if (!c->authed)
		return;
	if (!(p = pending_new(c)))
		return;
	if (!payload_uuid(payload, "inviteId", p->invite_id)) {
		invite_error(g, c, "Invite not found or expired");
		free(p);
		return;
	}
	if (ns_rand_uuid(room) != NS_OK) {
		free(p);
		return;
	}
	p->secs_ok = payload_seconds(payload, g->cfg->call_seconds_min, INVITE_SECONDS_MAX,
	    &p->secs);
	a[0] = p->invite_id;
	a[1] = p->uid;
	a[2] = p->sid;
	a[3] = p->secs_ok ? num(secs, p->secs) : "";
	a[4] = num(now, ns_clock_now_ms());
	a[5] = room;
	a[6] = num(grace, (int64_t)g->cfg->call_grace_s * 1000);
	if (gwlua_eval(g, "call:accept", accept_lua, 0, 7, a, on_accepted, p) < 0)
		free(p);
}

void
invite_decline(struct gw *g, struct conn *c, json_object *payload)
{
	char id[NS_UUID_LEN + 1];
	const char *a[2];

	if (!c->authed || !payload_uuid(payload, "inviteId", id))
		return;
	a[0] = id;
	a[1] = c->user_id;
	gwlua_eval(g, "call:decline", decline_lua, 0, 2, a, callend_effects, NULL);
}

void
invite_rescind(struct gw *g, struct conn *c, json_object *payload)
{
	char to[NS_UUID_LEN + 1];
	const char *a[2];

	if (!c->authed || !payload_uuid(payload, "toUserId", to))
		return;
	a[0] = c->user_id;
	a[1] = to;
	gwlua_eval(g, "call:rescind", rescind_lua, 0, 2, a, callend_effects, NULL);
}

void
invite_extend(struct gw *g, struct conn *c, json_object *payload)
{
	const struct ns_config *cfg = g->cfg;
	char to[NS_UUID_LEN + 1], ext[NUM_MAX], cap[NUM_MAX], tol[NUM_MAX], extra[NUM_MAX];
	const char *a[6];

	if (!c->authed || !payload_uuid(payload, "toUserId", to))
		return;
	a[0] = c->user_id;
	a[1] = to;
	a[2] = num(ext, cfg->invite_extend_ms);
	a[3] = num(cap, cfg->invite_cap_ms);
	a[4] = num(tol, cfg->invite_tolerance_ms);
	a[5] = num(extra, cfg->invite_extend_ms / 1000);
	gwlua_eval(g, "call:extend-wait", extend_lua, 0, 6, a, NULL, NULL);
}
