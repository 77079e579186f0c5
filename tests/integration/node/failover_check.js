// failover_check.js: gateway death and gateway drain, for tests/integration/gateway_failover.sh.
// One "PASS <what>" or "FAIL <what>: <detail>" line per check; "GATEWAY <id>" names the gateway
// a scenario stopped. Redis is read with redis-cli (REDIS_PORT). GWS is "id=port:pid,id=port:pid".
// Timings come from the environment the gateways were started with: GATEWAY_HEARTBEAT_TTL_MS,
// GATEWAY_CHECK_MS, DISCONNECT_GRACE_MS, SCHED_TICK_MS.
//   node failover_check.js kill  NGINX_URL GWS TOKEN_A USER_A TOKEN_B USER_B TOKEN_C USER_C [TOKEN:USER x12]
//     (the 12 optional users, callers paid: the timed actions of the killed gateway, see timedSetup)
//   node failover_check.js term  NGINX_URL GWS TOKEN:USER...
//   node failover_check.js lost  URL TOKEN USER
//   node failover_check.js stall URL GATEWAY_LOG TOKEN:USER...
//   node failover_check.js stale URL TOKEN USER OTHER_USER
//   node failover_check.js behind URL TOKEN... (a gateway with gateway_redis_backlog_max 3)
'use strict';
const { io } = require('socket.io-client');
const { withTimeout, track } = require('./events');
const { execFileSync } = require('child_process');
const fs = require('fs');
const http = require('http');

const STEP_MS = 8000;	// bound on every single wait
const MARGIN_MS = 3000;
const TTL_MS = Number(process.env.GATEWAY_HEARTBEAT_TTL_MS || 15000);
const CHECK_MS = Number(process.env.GATEWAY_CHECK_MS || 2000);
const GRACE_MS = Number(process.env.DISCONNECT_GRACE_MS || 5000);
const TICK_MS = Number(process.env.SCHED_TICK_MS || 500);
const DRAIN_LIMIT_MS = 10000;
const GW_DRAIN_LIMIT_MS = 5000;	// ws-gateway/main.c GW_DRAIN_MS

let failed = 0;
const pass = (what) => console.log(`PASS ${what}`);
const fail = (what, detail) => { failed++; console.log(`FAIL ${what}: ${String(detail).replace(/\n/g, ' ')}`); };
const check = (cond, what, detail) => (cond ? pass(what) : fail(what, detail));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function redis(...args) {
	return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', process.env.REDIS_PORT, '--raw', ...args],
		{ encoding: 'utf8' }).trim();
}
const lines = (s) => (s === '' ? [] : s.split('\n'));

// A socket whose events (and disconnects) are recorded from the start; next(name, pred)
// waits for a recorded or future match and consumes it.
function open(url, opts = {}) {
	const s = io(url, { transports: ['websocket'], reconnection: false, timeout: STEP_MS, forceNew: true, ...opts });
	const record = track(s, STEP_MS);
	s.on('disconnect', (reason) => record('disconnect', reason));
	s.on('connect_error', (e) => record('connect_error', e.message));
	s.seen = (name, pred = () => true) => s.log.some((e) => e.name === name && pred(e.payload));
	// Every event with its arrival time (s.log loses what next() consumes).
	s.times = [];
	s.onAny((name, payload) => s.times.push({ name, payload, at: Date.now() }));
	s.got = (name, pred = () => true) => s.times.filter((e) => e.name === name && pred(e.payload));
	return s;
}

// Reconnects on its own (through nginx) with short delays, re-sending the token each time.
const RECONNECT = { reconnection: true, reconnectionDelay: 200, reconnectionDelayMax: 1000, randomizationFactor: 0 };

async function authed(url, token, opts = {}) {
	const s = open(url, { auth: { token }, ...opts });
	await s.next('auth:success');
	return s;
}

async function attempt(what, fn) {
	try { await fn(); } catch (e) { fail(what, e.message); }
}

// Poll fn until it returns true; PASS, or FAIL with its last answer.
async function waitFor(what, fn, ms = STEP_MS) {
	const end = Date.now() + ms;
	let last;
	for (;;) {
		last = await fn();
		if (last === true) { pass(what); return true; }
		if (Date.now() >= end) break;
		await sleep(100);
	}
	fail(what, `still ${JSON.stringify(last)}`);
	return false;
}

function parseGws(spec) {
	const gws = {};
	for (const item of spec.split(',')) {
		const m = /^([^=]+)=(\d+):(\d+)$/.exec(item);
		if (!m) throw new Error(`bad gateway spec ${item}`);
		gws[m[1]] = { id: m[1], url: `http://127.0.0.1:${m[2]}`, pid: Number(m[3]) };
	}
	return gws;
}

// Gone or a zombie (its parent, the test shell, may reap it late).
function exited(pid) {
	try {
		const st = /^State:\s+(\S)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
		return !st || st[1] === 'Z' || st[1] === 'X';
	} catch (e) {
		return true;
	}
}

const gatewayOf = (sid) => redis('HGET', `ns:sock:${sid}`, 'gatewayId');

// Poll fn until true (no PASS line: set-up); throws with its last answer.
async function until(what, fn, ms = STEP_MS) {
	const end = Date.now() + ms;
	let last;
	while ((last = fn()) !== true) {
		if (Date.now() >= end) throw new Error(`${what}: still ${JSON.stringify(last)}`);
		await sleep(50);
	}
}

// Wait until s has received a matching event (recorded with its time); the first, or null.
async function arrival(s, name, pred, ms) {
	const end = Date.now() + Math.max(ms, 0);
	while (s.got(name, pred).length === 0 && Date.now() < end) await sleep(50);
	return s.got(name, pred)[0] || null;
}

// Timed actions of a gateway that dies (§3.6 expiry, §3.8 deadline, §3.9 grace; §3.11
// "timed actions MUST run once even if the gateway that created them died"). Users:
// P invites Q through the doomed gateway, then comes back on the survivor; R (survivor) and
// S (doomed, who accepts and joins second) are in a short call whose deadline falls after
// the kill; G (survivor) and H (doomed) are in a long call that the grace cleanup of H
// ends. Needs INVITE_WINDOW_MS + INVITE_TOLERANCE_MS past the dead gateway's detection
// (TTL + check) and CALL_SECONDS_MIN <= 3, CALL_GRACE_S 0, CALL_SAVE_MIN_S <= 2.
async function timedSetup(dead, other, pairs) {
	const [P, Q, R, S, G, H, J, K, M, N, W, V] = pairs.map((tu) => { const [token, uid] = tu.split(':'); return { token, uid }; });
	const on = async (url, u, join) => {
		const s = await authed(url, u.token);
		s.uid = u.uid;
		s.token = u.token;
		if (join) {
			s.emit('queue:join');
			await until(`${u.uid} available`, () => redis('ZSCORE', 'ns:available', u.uid) !== '' || 'not available');
		}
		return s;
	};
	const sock = { P: await on(dead.url, P), Q: await on(other.url, Q, true), R: await on(other.url, R),
		S: await on(dead.url, S, true), G: await on(other.url, G), H: await on(dead.url, H, true),
		J: await on(dead.url, J), K: await on(other.url, K, true), M: await on(other.url, M), N: await on(dead.url, N, true),
		W: await on(other.url, W), V: await on(dead.url, V, true) };
	// caller (on url a) invites callee, who accepts with the same seconds; both join the room,
	// the callee second (its gateway sets the deadline). Answers the roomId.
	const room = async (a, b, secs) => {
		a.emit('call:invite', { toUserId: b.uid, requestedSeconds: secs });
		const n = await b.next('call:notify', (p) => p && p.fromUser && p.fromUser.userId === a.uid);
		b.emit('call:accept', { inviteId: n.inviteId, requestedSeconds: secs });
		const [sa] = await Promise.all([a.next('call:start'), b.next('call:start')]);
		for (const s of [a, b]) {
			s.emit('room:join', { roomId: sa.roomId });
			await until(`${s.uid} joined`, () => redis('SISMEMBER', `ns:room:${sa.roomId}:socks`, s.id) === '1' || 'not joined');
		}
		return sa.roomId;
	};
	const T = { sock, dead, other };
	T.graceRoom = await room(sock.G, sock.H, 60);
	sock.P.emit('call:invite', { toUserId: Q.uid, requestedSeconds: 60 });
	const n = await sock.Q.next('call:notify', (p) => p && p.fromUser && p.fromUser.userId === P.uid);
	T.invite = n.inviteId;
	T.inviteDue = Number(redis('ZSCORE', 'ns:sched:inv', n.inviteId));
	// Answered while the killed gateway is still undetected (timedAfterKill): J (doomed)
	// invites K, M invites N (doomed); V (doomed, queued) never comes back, W will invite V.
	const notify = async (a, b) => {
		a.emit('call:invite', { toUserId: b.uid, requestedSeconds: 60 });
		return (await b.next('call:notify', (p) => p && p.fromUser && p.fromUser.userId === a.uid)).inviteId;
	};
	T.declineInvite = await notify(sock.J, sock.K);
	T.rescindInvite = await notify(sock.M, sock.N);
	T.oldSocks = [sock.J.id, sock.N.id];	// a client forgets its id once disconnected
	T.deadlineRoom = await room(sock.R, sock.S, 3);
	T.deadline = Number(redis('ZSCORE', 'ns:sched:room', T.deadlineRoom));
	check(gatewayOf(sock.P.id) === dead.id && gatewayOf(sock.S.id) === dead.id && gatewayOf(sock.H.id) === dead.id &&
		T.inviteDue > 0 && T.deadline > 0, `an invite and two calls held through ${dead.id}, their timers in Redis`,
	`${T.inviteDue} ${T.deadline}`);
	return T;
}

// Right after the kill, before the dead gateway is detected: P, J and N come back on the
// survivor. Their old sockets are still registered to the dead gateway, so an event meant
// for them must go to their new sockets (§3.2 "recorded socket while it is live,
// otherwise the user's current socket"): K declines J's invite, M rescinds N's. W's invite
// to V, whose only socket is on the dead gateway, is refused at once (§3.6 "a live socket").
// All three are sent together, and all three answers must come before the detection.
async function timedAfterKill(T) {
	const { J, K, M, N, W, V } = T.sock;
	// The heartbeat was refreshed up to a third of its TTL before the kill, so the detection
	// could come 2 s after it. Its TTL restarts once here, as if refreshed at the kill: the
	// latest detection the other checks allow for, and a window that does not shrink with load.
	redis('PEXPIRE', `ns:gw:${T.dead.id}`, String(TTL_MS));
	[T.sock.P2, T.sock.J2, T.sock.N2] = await Promise.all([T.sock.P, J, N].map((s) => authed(T.other.url, s.token)));
	const undetected = () => [redis('SISMEMBER', 'ns:gateways', T.dead.id),
		...T.oldSocks.map((sid) => redis('EXISTS', `ns:sock:${sid}`))].join(' ');
	const before = undetected();
	K.emit('call:decline', { inviteId: T.declineInvite });
	M.emit('call:rescind', { toUserId: N.uid });
	W.emit('call:invite', { toUserId: V.uid, requestedSeconds: 60 });
	const [dec, res, off] = await Promise.all([
		arrival(T.sock.J2, 'call:declined', (p) => p && p.inviteId === T.declineInvite, STEP_MS),
		arrival(T.sock.N2, 'call:rescinded', (p) => p && p.inviteId === T.rescindInvite, STEP_MS),
		arrival(W, 'call:declined', () => true, STEP_MS)]);
	const after = undetected();
	check(before === '1 1 1' && after === '1 1 1', 'the three were answered while the killed gateway '
		+ 'was still listed and held the old sockets', `before: ${before}, after: ${after}`);
	check(dec !== null && dec.payload.reason === 'user_declined', 'a caller back on the survivor before the kill is '
		+ 'detected gets call:declined {reason:user_declined} on the new socket', dec ? JSON.stringify(dec.payload) : 'none');
	check(res !== null, 'a callee back on the survivor before the kill is detected gets call:rescinded on the new socket',
		'none');
	check(off !== null && off.payload.reason === 'offline', 'an invite to a user whose only socket is on the killed '
		+ 'gateway is refused with call:declined {reason:offline}', off ? JSON.stringify(off.payload) : 'none');
}

async function timedCheck(T, t0) {
	const { P, P2, Q, R, S, G, H } = T.sock;
	const late = TICK_MS * 2 + 1000;	// a tick, and the Redis/PUBLISH round trips
	const onTime = (e, due) => e !== null && e.at >= due - 50 && e.at <= due + late;
	const fmt = (e, due) => (e ? `${e.at - due} ms after the due time ${JSON.stringify(e.payload)}` : 'none');

	// (a) the invite stored by the killed gateway expires at expiresAt + tolerance.
	const isInv = (p) => p && p.inviteId === T.invite;
	check(T.inviteDue > t0 + TTL_MS + CHECK_MS, 'the invite is due after the dead gateway is detected',
		`${T.inviteDue - t0} ms after the kill`);
	const dec = await arrival(P2, 'call:declined', isInv, T.inviteDue + late - Date.now());
	check(dec !== null && dec.payload.reason === 'timeout',
		'invite of the killed gateway expires: the caller, back on the survivor, gets call:declined {reason:timeout}',
		fmt(dec, T.inviteDue));
	check(onTime(dec, T.inviteDue), 'call:declined timeout on time (expiresAt + tolerance, within a tick)', fmt(dec, T.inviteDue));
	const res = await arrival(Q, 'call:rescinded', isInv, T.inviteDue + late - Date.now());
	check(onTime(res, T.inviteDue), 'the callee (on the survivor) gets call:rescinded on time', fmt(res, T.inviteDue));
	check(redis('EXISTS', `ns:inv:${T.invite}`) === '0' && redis('ZSCORE', 'ns:sched:inv', T.invite) === '' &&
		redis('SISMEMBER', `ns:inv:from:${P.uid}`, T.invite) === '0' && redis('SISMEMBER', `ns:inv:to:${Q.uid}`, T.invite) === '0',
	'the expired invite and its schedule entry are gone from Redis', redis('HGETALL', `ns:inv:${T.invite}`));

	// (b) the short call: ended by its deadline, run by the survivor.
	check(T.deadline > t0, 'the call\'s deadline (set through the killed gateway) falls after the kill',
		`${T.deadline - t0} ms after the kill`);
	const fin = await arrival(R, 'session:finalized', () => true, T.deadline + late - Date.now());
	check(onTime(fin, T.deadline) && /^session-\d+$/.test(fin.payload.sessionId),
		'the call ends at its deadline: the survivor\'s member gets session:finalized (not -disconnected)', fmt(fin, T.deadline));
	check(R.got('metrics:update').length === 1, 'the survivor\'s member gets metrics:update once', R.got('metrics:update').length);
	const gone = (rid, a, b) => redis('EXISTS', `ns:room:${rid}`, `ns:room:${rid}:socks`, `ns:room:${rid}:msgs`,
		`ns:uroom:${a}`, `ns:uroom:${b}`) === '0' && redis('ZSCORE', 'ns:sched:room', rid) === '';
	check(gone(T.deadlineRoom, R.uid, S.uid), 'the deadline call is gone from Redis (room, members, schedule)',
		redis('HGETALL', `ns:room:${T.deadlineRoom}`));

	// The long call: its member on the killed gateway never comes back, the grace ends it.
	const graceBy = t0 + TTL_MS + CHECK_MS + GRACE_MS + TICK_MS + MARGIN_MS;
	const gfin = await arrival(G, 'session:finalized', () => true, graceBy - Date.now());
	const gpd = G.got('peer:disconnected')[0];
	check(gfin !== null && /^session-\d+-disconnected$/.test(gfin.payload.sessionId) && gpd && gpd.at <= gfin.at,
		'the grace cleanup of the member on the killed gateway ends the other call: peer:disconnected, then session:finalized -disconnected',
		`${gpd ? gpd.at - t0 : 'no peer:disconnected'} ${gfin ? `${gfin.at - t0} ${JSON.stringify(gfin.payload)}` : 'no session:finalized'}`);
	check(gfin !== null && gfin.at - t0 >= GRACE_MS, 'that call ends no sooner than the grace after the kill',
		gfin ? `${gfin.at - t0} ms` : 'none');
	check(gone(T.graceRoom, G.uid, H.uid), 'the grace-ended call is gone from Redis, its deadline unscheduled',
		redis('ZSCORE', 'ns:sched:room', T.graceRoom));

	// Both members on the killed gateway are cleaned up; then nothing ran twice.
	await waitFor('S and H (never back) are cleaned up after the grace', () => {
		const on = [S, H].map((s) => redis('SISMEMBER', 'ns:online', s.uid));
		return on.every((o) => o === '0') || on;
	}, Math.max(graceBy - Date.now(), 0) + TICK_MS);
	await sleep(TICK_MS * 3);
	const counts = [P.got('call:declined', isInv).length + P2.got('call:declined', isInv).length,
		Q.got('call:rescinded', isInv).length, R.got('session:finalized').length, R.got('peer:disconnected').length,
		G.got('session:finalized').length, G.got('peer:disconnected').length];
	check(counts.join(' ') === '1 1 1 0 1 1',
		'each timed action ran once: declined, rescinded, each session:finalized once; no peer:disconnected after the deadline end',
		`declined rescinded R:finalized R:peer G:finalized G:peer = ${counts.join(' ')}`);
	console.log(`INFO invite_pair=${P.uid},${Q.uid}`);
	console.log(`INFO deadline_room=${T.deadlineRoom}`);
	console.log(`INFO deadline_session=${fin ? fin.payload.sessionId : ''}`);
	console.log(`INFO grace_room=${T.graceRoom}`);
	console.log(`INFO grace_session=${gfin ? gfin.payload.sessionId : ''}`);
	for (const s of Object.values(T.sock)) s.close();
}

const cmds = {
	// SIGKILL the gateway holding A (reconnecting, through nginx) and C (not reconnecting);
	// B watches from the other gateway.
	async kill(nginx, spec, tokA, uidA, tokB, uidB, tokC, uidC, ...timed) {
		const gws = parseGws(spec);
		const A = await authed(nginx, tokA, RECONNECT);
		A.emit('queue:join');
		await waitFor('A (through nginx) is in the queue', () => redis('ZSCORE', 'ns:available', uidA) !== '' || 'not available');
		const oldA = A.id;
		const gwA = gatewayOf(oldA);
		const dead = gws[gwA];
		const other = Object.values(gws).find((g) => g.id !== gwA);
		if (!dead || !other) throw new Error(`A registered on unknown gateway '${gwA}'`);
		const B = await authed(other.url, tokB);
		const C = await authed(dead.url, tokC);
		check(gatewayOf(B.id) === other.id && gatewayOf(C.id) === dead.id, 'B is on the other gateway, C on A\'s',
			`${gatewayOf(B.id)} ${gatewayOf(C.id)}`);
		const idx = lines(redis('SMEMBERS', `ns:gwsocks:${dead.id}`));
		check(idx.includes(oldA) && idx.includes(C.id), `ns:gwsocks:${dead.id} indexes its sockets`, idx);
		check(lines(redis('SMEMBERS', 'ns:gateways')).sort().join(' ') === Object.keys(gws).sort().join(' '),
			'ns:gateways lists both gateways', redis('SMEMBERS', 'ns:gateways'));
		const T = timed.length === 12 ? await timedSetup(dead, other, timed) : null;
		A.log = [];
		B.log = [];

		const t0 = Date.now();
		process.kill(dead.pid, 'SIGKILL');
		console.log(`GATEWAY ${dead.id}`);
		if (T) await attempt('the caller of the pending invite comes back on the survivor', () => timedAfterKill(T));

		await attempt('A reconnects through nginx to the surviving gateway and re-authenticates', async () => {
			await A.next('disconnect');
			await A.next('auth:success', () => true, STEP_MS);
			check(A.id !== oldA && gatewayOf(A.id) === other.id,
				'A reconnects through nginx to the surviving gateway and re-authenticates',
				`${oldA} -> ${A.id} on ${gatewayOf(A.id)}`);
		});
		const limit = TTL_MS + CHECK_MS + MARGIN_MS;
		await waitFor('the dead gateway\'s socket of A is reaped: ns:usocks holds only the new socket', () => {
			const socks = lines(redis('ZRANGE', `ns:usocks:${uidA}`, '0', '-1'));
			const ghost = redis('EXISTS', `ns:sock:${oldA}`);
			return (socks.length === 1 && socks[0] === A.id && ghost === '0') || { socks, ghost };
		}, limit);
		await waitFor(`${dead.id} leaves ns:gateways and its socket index is gone`, () => {
			const members = lines(redis('SMEMBERS', 'ns:gateways'));
			const left = redis('SCARD', `ns:gwsocks:${dead.id}`);
			return (!members.includes(dead.id) && left === '0') || { members, left };
		}, limit);

		await attempt('B gets presence:update online:false for C (never reconnected)', async () => {
			await B.next('presence:update', (p) => p && p.userId === uidC && p.online === false,
				TTL_MS + CHECK_MS + GRACE_MS + TICK_MS + MARGIN_MS);
			const took = Date.now() - t0;
			check(took <= TTL_MS + CHECK_MS + GRACE_MS + TICK_MS + MARGIN_MS,
				'B gets presence:update online:false for C within heartbeat TTL + grace', `${took} ms`);
		});
		check(redis('SISMEMBER', 'ns:online', uidC) === '0' && redis('EXISTS', `ns:presence:${uidC}`) === '0' &&
			redis('EXISTS', `ns:usocks:${uidC}`) === '0', 'C is cleaned up: not online, no presence, no sockets',
		`${redis('SISMEMBER', 'ns:online', uidC)} ${redis('EXISTS', `ns:presence:${uidC}`)}`);

		// A's own grace (scheduled when its old socket was reaped) must find the new socket.
		await waitFor('A\'s grace check has run', () => redis('ZSCORE', 'ns:sched:grace', uidA) === '' || 'pending',
			GRACE_MS + TICK_MS + MARGIN_MS);
		await sleep(TICK_MS * 2);
		check(redis('SISMEMBER', 'ns:online', uidA) === '1', 'A stays online after the grace',
			redis('SISMEMBER', 'ns:online', uidA));
		check(!B.seen('presence:update', (p) => p && p.userId === uidA && p.online === false),
			'B saw no presence:update online:false for A', JSON.stringify(B.log));
		if (T) await attempt('timed actions of the killed gateway', () => timedCheck(T, t0));
		A.close();
		B.close();
		C.close();
	},

	// Open sockets through nginx, SIGTERM the gateway holding the most: they reconnect to the
	// other one, the registrations are handed off at once, and the process exits in time.
	async term(nginx, spec, ...users) {
		const gws = parseGws(spec);
		const socks = [];
		for (const tu of users) {
			const [token, uid] = tu.split(':');
			const s = await authed(nginx, token, RECONNECT);
			s.uid = uid;
			s.gw = gatewayOf(s.id);
			socks.push(s);
		}
		const count = (id) => socks.filter((s) => s.gw === id).length;
		const target = Object.values(gws).sort((a, b) => count(b.id) - count(a.id))[0];
		const other = Object.values(gws).find((g) => g.id !== target.id);
		const moving = socks.filter((s) => s.gw === target.id);
		check(moving.length > 0, `${moving.length} of ${socks.length} sockets on ${target.id}`, 'none');
		const oldIds = moving.map((s) => s.id);
		for (const s of moving) s.log = [];

		const t0 = Date.now();
		process.kill(target.pid, 'SIGTERM');
		console.log(`GATEWAY ${target.id}`);

		await attempt('sockets of the stopping gateway reconnect elsewhere', async () => {
			const reasons = await Promise.all(moving.map((s) => s.next('disconnect')));
			check(reasons.every((r) => r === 'transport close'),
				'the stopping gateway closes its sockets as a transport loss (clients reconnect)', reasons);
			await Promise.all(moving.map((s) => s.next('auth:success', () => true, STEP_MS)));
			const where = moving.map((s) => gatewayOf(s.id));
			check(where.every((g) => g === other.id), `sockets reconnect through nginx to ${other.id} and re-authenticate`, where);
		});
		await waitFor('the stopping gateway exits within 10 s', () => exited(target.pid) || `${Date.now() - t0} ms`,
			DRAIN_LIMIT_MS + 500);
		const took = Date.now() - t0;
		check(took <= DRAIN_LIMIT_MS, `exit took ${took} ms (at most ${DRAIN_LIMIT_MS})`, took);
		// The drain ends when its work is done, not at its 5 s limit (main.c GW_DRAIN_MS): a
		// goodbye written through the deflater is dropped once sent (315 ms here; 5.4 s when
		// the sockets were only closed at exit).
		check(took < GW_DRAIN_LIMIT_MS, `with ${socks.length} sockets the drain ends before its ${GW_DRAIN_LIMIT_MS} ms limit`, took);
		// Handed off at shutdown, not left for the heartbeat to expire.
		check(oldIds.every((id) => redis('EXISTS', `ns:sock:${id}`) === '0') &&
			redis('SCARD', `ns:gwsocks:${target.id}`) === '0',
		'the stopped gateway\'s registrations are removed at shutdown', oldIds.map((id) => redis('EXISTS', `ns:sock:${id}`)));
		check(redis('EXISTS', `ns:gw:${target.id}`) === '0', 'its heartbeat key is deleted', redis('GET', `ns:gw:${target.id}`));
		await sleep(GRACE_MS + TICK_MS * 3);
		const online = moving.map((s) => redis('SISMEMBER', 'ns:online', s.uid));
		check(online.every((o) => o === '1'), 'users who reconnected stay online after the grace', online);
		for (const s of socks) {
			const z = lines(redis('ZRANGE', `ns:usocks:${s.uid}`, '0', '-1'));
			if (z.length !== 1 || z[0] !== s.id) fail(`ns:usocks of ${s.uid} holds only its live socket`, z);
		}
		for (const s of socks) s.close();
	},

	// Redis loses a live socket's registration (a restart, or another gateway that took this
	// one for dead): the gateway's sweep notices and registers it again.
	async lost(url, token, uid) {
		const s = await authed(url, token);
		const gw = gatewayOf(s.id);
		// One script, so the gateway's sweep cannot put things back between two commands
		// and leave a state that no real loss produces.
		redis('EVAL', "redis.call('DEL', KEYS[1], KEYS[2], KEYS[3]); return redis.call('SREM', KEYS[4], ARGV[1])",
			'4', `ns:sock:${s.id}`, `ns:usocks:${uid}`, `ns:gwsocks:${gw}`, 'ns:online', uid);
		await waitFor('a live socket whose registration Redis lost is registered again', () => {
			const back = gatewayOf(s.id);
			const socks = lines(redis('ZRANGE', `ns:usocks:${uid}`, '0', '-1'));
			const idx = redis('SISMEMBER', `ns:gwsocks:${gw}`, s.id);
			const online = redis('SISMEMBER', 'ns:online', uid);
			return (back === gw && socks.includes(s.id) && idx === '1' && online === '1') || { back, socks, idx, online };
		}, CHECK_MS + MARGIN_MS);
		s.close();
	},

	// Redis stops answering for longer than redis_timeout_ms while sockets register: the
	// gateway drops the link with their registrations in flight, and sends those again, on
	// their own, once Redis is back.
	async stall(url, log, ...pairs) {
		const from = fs.statSync(log).size;
		const since = () => fs.readFileSync(log, 'utf8').slice(from);
		redis('CLIENT', 'PAUSE', '1500', 'ALL');
		const socks = await Promise.all(pairs.map(async (p) => {
			const [token, uid] = p.split(':');
			const s = await authed(url, token);
			s.uid = uid;
			return s;
		}));
		// Only the log until Redis answers again: redis-cli would wait out the pause and
		// block this process's loop with it.
		await waitFor('the gateway takes the stalled link for down', () => /redis down/.test(since()) || since().slice(-300), STEP_MS);
		await waitFor('the registrations it dropped are sent again once Redis is back', () => {
			const m = /(\d+) registrations sent again \((\d+) lost in flight\)/.exec(since());
			return (m !== null && Number(m[2]) >= 1) || since().slice(-300);
		}, STEP_MS);
		const gw = gatewayOf(socks[0].id);
		check(gw !== '', 'a socket that connected during the stall is registered', socks[0].id);
		const missing = socks.filter((s) => gatewayOf(s.id) !== gw ||
			redis('SISMEMBER', `ns:gwsocks:${gw}`, s.id) !== '1' ||
			!lines(redis('ZRANGE', `ns:usocks:${s.uid}`, '0', '-1')).includes(s.id) ||
			redis('SISMEMBER', 'ns:online', s.uid) !== '1');
		check(missing.length === 0, 'every socket that connected during the stall is registered and online',
			missing.map((s) => s.id));
		for (const s of socks) s.close();
	},

	// Redis holds a registration of this gateway whose socket is gone (its unregistration
	// was lost with a dropped link): the gateway's sweep removes it as a transport loss, and
	// the grace cleans its user up. The gateway's live socket keeps its registration.
	async stale(url, token, uid, other) {
		const s = await authed(url, token);
		const gw = gatewayOf(s.id);
		const sid = 'stale0000000000000000'.slice(0, 20);
		redis('EVAL', "redis.call('HSET', KEYS[1], 'gatewayId', ARGV[1], 'socketId', ARGV[2], 'userId', ARGV[3],"
			+ " 'sessionToken', 'gone', 'authenticatedAt', '1'); redis.call('ZADD', KEYS[2], 1, ARGV[2]);"
			+ " redis.call('SADD', KEYS[3], ARGV[2]); return redis.call('SADD', 'ns:online', ARGV[3])",
			'3', `ns:sock:${sid}`, `ns:usocks:${other}`, `ns:gwsocks:${gw}`, gw, sid, other);
		await waitFor('a registration of the gateway with no socket is removed by its sweep', () => {
			const h = redis('EXISTS', `ns:sock:${sid}`), m = redis('SISMEMBER', `ns:gwsocks:${gw}`, sid);
			const z = redis('ZCARD', `ns:usocks:${other}`);
			return (h === '0' && m === '0' && z === '0') || { h, m, z };
		}, CHECK_MS + MARGIN_MS);
		await waitFor('its user is cleaned up after the grace', () =>
			redis('SISMEMBER', 'ns:online', other) === '0' || 'still online', GRACE_MS + TICK_MS + MARGIN_MS);
		check(gatewayOf(s.id) === gw && redis('SISMEMBER', `ns:gwsocks:${gw}`, s.id) === '1',
			'the live socket keeps its registration', gatewayOf(s.id));
		s.close();
	},

	// Redis stops answering: once more commands wait for it than gateway_redis_backlog_max,
	// the gateway answers new upgrades 503 with a JSON error, and accepts them again once
	// the backlog is gone. Sockets already open stay open.
	async behind(url, first, ...tokens) {
		const s0 = await authed(url, first);
		const pausedUntil = Date.now() + 2000;
		redis('CLIENT', 'PAUSE', '2000', 'ALL');
		const socks = [];
		let refused = null;
		// A socket's outcome: authenticated (true), or refused or given up (false). The client's
		// own upgrade can be the one refused 503; it must not wait past the pause for auth.
		const outcome = (s) => new Promise((resolve) => {
			const timer = setTimeout(() => resolve(false), pausedUntil - Date.now());
			const done = (ok) => { clearTimeout(timer); resolve(ok); };
			s.once('auth:success', () => done(true));
			s.once('connect_error', () => done(false));
		});
		// Each accepted socket adds a registration to the wait; so do the gateway's timers.
		for (const t of tokens) {
			const r = await upgrade(url);
			if (r.status !== 101) { refused = r; break; }
			const s = open(url, { auth: { token: t } });
			if (await outcome(s)) socks.push(s);
			else s.close();
		}
		// Bare upgrades for the rest of the pause, if none was refused yet.
		while (refused === null && Date.now() < pausedUntil - 100) {
			const r = await upgrade(url);
			if (r.status !== 101) refused = r;
			else await sleep(50);
		}
		check(refused !== null && refused.status === 503 && /"error"/.test(refused.body),
			'an upgrade while Redis is behind is answered 503 with a JSON error', JSON.stringify(refused));
		check(s0.connected && socks.every((s) => s.connected), 'the open sockets stay connected',
			[s0, ...socks].map((s) => s.connected));
		let last;
		await waitFor('upgrades are accepted again once Redis has answered', async () => {
			last = await upgrade(url);
			return last.status === 101 || last;
		}, STEP_MS);
		const m = await get(`${url}/metrics`);
		check(/napalmsky_gateway_upgrades_refused_total\{[^}]*reason="redis_behind"\} [1-9]/.test(m),
			'the refusals are counted under reason="redis_behind"', m.split('\n').filter((l) => /refused/.test(l)).join(' '));
		for (const s of [s0, ...socks]) s.close();
	},
};

// A bare WebSocket upgrade: {status, body} (101 when accepted; that socket is dropped).
function upgrade(url) {
	return new Promise((resolve) => {
		const req = http.get(`${url}/socket.io/?EIO=4&transport=websocket`, {
			headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13',
				'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==' },
		});
		req.on('upgrade', (res, sock) => { sock.destroy(); resolve({ status: 101 }); });
		req.on('response', (res) => {
			let body = '';
			res.on('data', (d) => { body += d; });
			res.on('end', () => resolve({ status: res.statusCode, body }));
		});
		req.on('error', (e) => resolve({ status: 0, body: e.message }));
	});
}

function get(url) {
	return new Promise((resolve) => {
		http.get(url, (res) => {
			let body = '';
			res.on('data', (d) => { body += d; });
			res.on('end', () => resolve(body));
		}).on('error', (e) => resolve(e.message));
	});
}

(async () => {
	const [cmd, ...args] = process.argv.slice(2);
	if (!cmds[cmd]) {
		console.error(`unknown command ${cmd}`);
		process.exit(2);
	}
	try {
		await cmds[cmd](...args);
	} catch (e) {
		fail(`${cmd}: unexpected error`, e.stack || e.message);
	}
	process.exit(failed ? 1 : 0);
})();
