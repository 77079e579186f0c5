/* gwlua: the gateway's server-side scripts. Every change to shared call state is one Lua
 * script, so it is atomic across gateways: whoever runs the script that removes an invite,
 * a room or a schedule entry owns its outcome, and the events it sends (PUBLISH) leave with
 * it. GWLUA_PRELUDE holds the helpers every script starts with; key names come from keys.h.
 *
 * Delivery: send(sid, event, data) publishes "e <sid> <event>[ <data JSON>]" (ctl.c) on
 * the channel of the gateway holding that socket (ctl.c emits it there); a socket that is
 * not registered any more is skipped. pick(sid, uid) is the contract's "recorded socket
 * while it is live, otherwise the user's current socket" (§3.2). A socket is live while its
 * gateway is subscribed to its channel: a SIGKILLed gateway's registrations stay in Redis
 * until its heartbeat expires, but its subscription ends with its connection, so a user
 * back on another gateway gets the event there at once.
 *
 * Scripts that can end rooms or set cooldowns answer an "effects" array (callend.c):
 * {status, {userA, userB, 'long'|'short', ...}, job, job, ...}, a job being
 * {roomJSON, message, message, ...} for a room this script claimed. */
#ifndef NS_GWLUA_H
#define NS_GWLUA_H
#include <hiredis/hiredis.h>
#include "keys.h"
#include "bus.h"

#define GWLUA_ARGS_MAX 64	/* keys + arguments of one script */

struct gw;

#define GWLUA_PRELUDE \
	"local P_SOCK, P_USOCKS, P_PRES, P_GW = '" NS_KEYP_SOCKET "', '" NS_KEYP_USER_SOCKETS "'," \
	" '" NS_KEYP_PRESENCE "', '" NS_KEYP_GATEWAY "'\n" \
	"local P_GWSOCKS, K_GATEWAYS = '" NS_KEYP_GATEWAY_SOCKETS "', '" NS_KEY_GATEWAYS "'\n" \
	"local P_INV, P_INVF, P_INVT = '" NS_KEYP_INVITE "', '" NS_KEYP_INVITES_FROM "'," \
	" '" NS_KEYP_INVITES_TO "'\n" \
	"local P_ROOM, P_UROOM = '" NS_KEYP_ROOM "', '" NS_KEYP_USER_ROOM "'\n" \
	"local S_INV, S_ROOM, S_GRACE = '" NS_KEY_SCHED_INVITES "', '" NS_KEY_SCHED_ROOMS "'," \
	" '" NS_KEY_SCHED_GRACE "'\n" \
	"local K_ONLINE, K_AVAIL, BCAST = '" NS_KEY_ONLINE "', '" NS_KEY_AVAILABLE "', '" NS_CHAN_BCAST "'\n" \
	"local function hash(key)\n" \
	"  local h = redis.call('HGETALL', key)\n" \
	"  if #h == 0 then return nil end\n" \
	"  local t = {}\n" \
	"  for i = 1, #h, 2 do t[h[i]] = h[i + 1] end\n" \
	"  return t\n" \
	"end\n" \
	"local function gw_of(sid)\n" \
	"  if not sid or sid == '' then return nil end\n" \
	"  local gw = redis.call('HGET', P_SOCK .. sid, '" NS_SOCK_GATEWAY "')\n" \
	"  if gw then return gw end\n" \
	"  return nil\n" \
	"end\n" \
	"local function current(uid)\n" \
	"  return redis.call('ZREVRANGE', P_USOCKS .. uid, 0, 0)[1]\n" \
	"end\n" \
	"local function send_raw(sid, ev, raw)\n" \
	"  local gw = gw_of(sid)\n" \
	"  if not gw then return false end\n" \
	"  local m = 'e ' .. sid .. ' ' .. ev\n" \
	"  if raw and raw ~= '' then m = m .. ' ' .. raw end\n" \
	"  redis.call('PUBLISH', P_GW .. gw, m)\n" \
	"  return true\n" \
	"end\n" \
	"local function send(sid, ev, data)\n" \
	"  if data then return send_raw(sid, ev, cjson.encode(data)) end\n" \
	"  return send_raw(sid, ev, nil)\n" \
	"end\n" \
	"local function live(sid)\n" \
	"  local gw = gw_of(sid)\n" \
	"  return gw ~= nil and redis.call('PUBSUB', 'NUMSUB', P_GW .. gw)[2] > 0\n" \
	"end\n" \
	"local function pick(sid, uid)\n" \
	"  if live(sid) then return sid end\n" \
	"  local c = current(uid)\n" \
	"  if c and c ~= sid and live(c) then return c end\n" \
	"  return nil\n" \
	"end\n" \
	"local function send_to(sid, uid, ev, data)\n" \
	"  local s = pick(sid, uid)\n" \
	"  if s then return send(s, ev, data) end\n" \
	"  return false\n" \
	"end\n" \
	"local function unavailable(uid, announce)\n" \
	"  local pk = P_PRES .. uid\n" \
	"  local was = redis.call('HGET', pk, '" NS_PRES_AVAILABLE "')\n" \
	"  if redis.call('EXISTS', pk) == 1 then redis.call('HSET', pk, '" NS_PRES_AVAILABLE "', '0') end\n" \
	"  redis.call('HDEL', pk, '" NS_PRES_AVAILABLE_SINCE "')\n" \
	"  redis.call('ZREM', K_AVAIL, uid)\n" \
	"  if announce or was == '1' then\n" \
	"    redis.call('PUBLISH', BCAST, cjson.encode({event = 'queue:update'," \
	" data = {userId = uid, available = false}}))\n" \
	"  end\n" \
	"end\n" \
	"local function inv_close(id, inv)\n" \
	"  redis.call('DEL', P_INV .. id)\n" \
	"  redis.call('SREM', P_INVF .. inv.from, id)\n" \
	"  redis.call('SREM', P_INVT .. inv.to, id)\n" \
	"  redis.call('ZREM', S_INV, id)\n" \
	"end\n" \
	"local function inv_declined(id, inv, reason)\n" \
	"  send_to(inv.fromSock, inv.from, 'call:declined', {inviteId = id, reason = reason})\n" \
	"end\n" \
	"local function inv_rescinded(id, inv)\n" \
	"  send_to(inv.toSock, inv.to, 'call:rescinded', {inviteId = id})\n" \
	"end\n" \
	"local function room_claim(rid, room, now)\n" \
	"  local rk = P_ROOM .. rid\n" \
	"  local msgs = redis.call('LRANGE', rk .. ':msgs', 0, -1)\n" \
	"  room.socks = redis.call('SMEMBERS', rk .. ':socks')\n" \
	"  room.endedAt = tonumber(now)\n" \
	"  redis.call('DEL', rk, rk .. ':msgs', rk .. ':socks')\n" \
	"  redis.call('ZREM', S_ROOM, rid)\n" \
	"  for _, u in ipairs({room.user1, room.user2}) do\n" \
	"    if redis.call('GET', P_UROOM .. u) == rid then redis.call('DEL', P_UROOM .. u) end\n" \
	"  end\n" \
	"  local job = {cjson.encode(room)}\n" \
	"  for _, m in ipairs(msgs) do job[#job + 1] = m end\n" \
	"  return job\n" \
	"end\n" \
	"local function cooldown(out, a, b, kind)\n" \
	"  local cd = out[2]\n" \
	"  cd[#cd + 1] = a\n" \
	"  cd[#cd + 1] = b\n" \
	"  cd[#cd + 1] = kind\n" \
	"end\n" \
	/* §3.9 full cleanup: invites (caller gone, callee gone), the room, presence. */ \
	"local function full_cleanup(uid, now, out)\n" \
	"  for _, id in ipairs(redis.call('SMEMBERS', P_INVF .. uid)) do\n" \
	"    local inv = hash(P_INV .. id)\n" \
	"    if inv then\n" \
	"      inv_close(id, inv)\n" \
	"      inv_rescinded(id, inv)\n" \
	"      cooldown(out, inv.from, inv.to, 'short')\n" \
	"    else redis.call('SREM', P_INVF .. uid, id) end\n" \
	"  end\n" \
	"  for _, id in ipairs(redis.call('SMEMBERS', P_INVT .. uid)) do\n" \
	"    local inv = hash(P_INV .. id)\n" \
	"    if inv then\n" \
	"      inv_close(id, inv)\n" \
	"      inv_declined(id, inv, 'offline')\n" \
	"    else redis.call('SREM', P_INVT .. uid, id) end\n" \
	"  end\n" \
	"  local rid = redis.call('GET', P_UROOM .. uid)\n" \
	"  if rid then\n" \
	"    local room = hash(P_ROOM .. rid)\n" \
	"    if room then\n" \
	"      local partner = room.user1\n" \
	"      if partner == uid then partner = room.user2 end\n" \
	"      for _, s in ipairs(redis.call('ZRANGE', P_USOCKS .. partner, 0, -1)) do\n" \
	"        send(s, 'peer:disconnected', nil)\n" \
	"      end\n" \
	"      room.gone = uid\n" \
	"      out[#out + 1] = room_claim(rid, room, now)\n" \
	"    else redis.call('DEL', P_UROOM .. uid) end\n" \
	"  end\n" \
	"  local pk = P_PRES .. uid\n" \
	"  local had = redis.call('EXISTS', pk) == 1 or redis.call('SISMEMBER', K_ONLINE, uid) == 1\n" \
	"  redis.call('DEL', pk)\n" \
	"  redis.call('SREM', K_ONLINE, uid)\n" \
	"  redis.call('ZREM', K_AVAIL, uid)\n" \
	"  if had then\n" \
	"    redis.call('PUBLISH', BCAST, cjson.encode({event = 'presence:update'," \
	" data = {userId = uid, online = false, available = false}}))\n" \
	"  end\n" \
	"end\n"

/* EVAL src (which starts with GWLUA_PRELUDE) with nkeys keys then the rest of args[0..nargs).
 * fn may be NULL (fire and forget). Returns 0, or -1 when Redis is down: what is logged as
 * not done and fn is not called. */
int gwlua_eval(struct gw *g, const char *what, const char *src, int nkeys, int nargs,
    const char **args, bus_reply_fn fn, void *arg);

#endif
