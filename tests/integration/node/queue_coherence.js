// queue_coherence.js: one real call between two users through two napalmsky gateways, for
// tests/integration/queue_coherence.sh, held in steps so that the script can read
// GET /room/queue while both users are connected and available, before and after the call.
//   node queue_coherence.js URL_1 URL_2 USERS_JSON STEP_DIR
// USERS_JSON: [{userId, token}, {userId, token}]: the caller (on URL_1) and the callee (on
// URL_2). Steps: both ready (online, available) → write STEP_DIR/ready, wait for
// STEP_DIR/go → invite, accept, room:join by both, call:end by the caller, session:finalized
// and metrics:update to both (the call-end write, cooldown included, has committed), both
// queue:join again → write STEP_DIR/ended, wait for STEP_DIR/done → disconnect.
// One "PASS <what>" or "FAIL <what>: <detail>" line per check; "INFO key=value" lines.
'use strict';
const { io } = require('socket.io-client');
const { withTimeout, track } = require('./events');
const { execFileSync } = require('child_process');
const fs = require('fs');
const path = require('path');

const STEP_MS = 8000;		// bound on every single wait for an event
const SCRIPT_MS = 30000;	// bound on waiting for the shell script's next step

let failed = 0;
const pass = (what) => console.log(`PASS ${what}`);
const fail = (what, detail) => { failed++; console.log(`FAIL ${what}: ${String(detail).replace(/\n/g, ' ')}`); };
const check = (cond, what, detail) => (cond ? pass(what) : fail(what, detail));
const info = (k, v) => console.log(`INFO ${k}=${v}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const J = (v) => JSON.stringify(v);

const presence = (uid) => execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', process.env.REDIS_PORT, '--raw',
	'HGET', `ns:presence:${uid}`, 'available'], { encoding: 'utf8' }).trim();

// A socket recording every event; next(name, pred) takes a recorded or future match.
function open(url, token) {
	const s = io(url, { transports: ['websocket'], reconnection: false, timeout: STEP_MS, forceNew: true, auth: { token } });
	track(s, STEP_MS);
	return s;
}

async function available(user) {
	for (const end = Date.now() + STEP_MS; Date.now() < end; await sleep(50))
		if (presence(user.userId) === '1') return;
	throw new Error(`timeout after ${STEP_MS} ms: ${user.userId} available`);
}

// Authenticated, online and available (as the client's matchmaking overlay does).
async function ready(url, user) {
	const s = open(url, user.token);
	const how = await withTimeout(new Promise((res) => {
		s.once('connect', () => res('connected'));
		s.once('connect_error', (e) => res(`connect_error: ${e.message}`));
	}), STEP_MS, 'connect');
	if (how !== 'connected') throw new Error(how);
	await s.next('auth:success');
	s.user = user;
	s.emit('presence:join');
	s.emit('queue:join');
	await available(user);
	return s;
}

// Tell the script a step is reached, then wait for its answer (a file in STEP_DIR).
async function step(dir, reached, answer) {
	fs.writeFileSync(path.join(dir, reached), `${Date.now()}\n`);
	for (const end = Date.now() + SCRIPT_MS; Date.now() < end; await sleep(50))
		if (fs.existsSync(path.join(dir, answer))) return;
	throw new Error(`timeout after ${SCRIPT_MS} ms: the script's ${answer}`);
}

async function run(u1, u2, users, dir) {
	const [A, B] = users;
	const a = await ready(u1, A), b = await ready(u2, B);
	pass('caller and callee online and available on two gateways');
	await step(dir, 'ready', 'go');

	a.emit('call:invite', { toUserId: B.userId, requestedSeconds: 60 });
	const n = await b.next('call:notify', (p) => p.fromUser && p.fromUser.userId === A.userId);
	b.emit('call:accept', { inviteId: n.inviteId, requestedSeconds: 60 });
	const [sa, sb] = await Promise.all([a.next('call:start'), b.next('call:start')]);
	const roomId = sa.roomId;
	check(roomId && roomId === sb.roomId, 'invite accepted: call:start to both with one roomId', `${J(sa)} ${J(sb)}`);
	info('room', roomId);
	a.emit('room:join', { roomId });
	b.emit('room:join', { roomId });
	// Joined once a relay goes through: a's ice reaches b.
	let joined = false;
	for (let i = 0; i < 20 && !joined; i++) {
		a.emit('rtc:ice', { roomId, candidate: { probe: i } });
		try { await b.next('rtc:ice', (p) => p.candidate && p.candidate.probe === i, 300); joined = true; } catch (e) { /* retry */ }
	}
	check(joined, 'both members joined the room (a relay goes through)', '');
	const endedAt = Date.now();
	a.emit('call:end', { roomId });
	const [fa, fb] = await Promise.all([a.next('session:finalized'), b.next('session:finalized')]);
	check(fa.sessionId && fa.sessionId === fb.sessionId, 'call:end → session:finalized to both', `${J(fa)} ${J(fb)}`);
	// metrics:update is sent once the call-end statement (which writes the cooldown) committed.
	const [ma, mb] = await Promise.all([a.next('metrics:update'), b.next('metrics:update')]);
	check(ma && mb, 'metrics:update to both (the call-end write committed)', `${J(ma)} ${J(mb)}`);
	info('ended_at', endedAt);

	// Both back in the queue, so that each is listed in the other's.
	a.emit('queue:join');
	b.emit('queue:join');
	await Promise.all([available(A), available(B)]);
	pass('both available again after queue:join');
	await step(dir, 'ended', 'done');

	a.emit('call:invite', { toUserId: B.userId, requestedSeconds: 60 });
	const cd = await a.next('call:declined');
	check(cd.reason === 'cooldown', 'a new invite between them → declined cooldown', J(cd));
	[a, b].forEach((s) => s.disconnect());
}

(async () => {
	const [u1, u2, file, dir] = process.argv.slice(2);
	const users = JSON.parse(fs.readFileSync(file, 'utf8'));
	if (!dir || users.length < 2) {
		console.error('usage: queue_coherence.js URL_1 URL_2 USERS_JSON STEP_DIR');
		process.exit(2);
	}
	try {
		await withTimeout(run(u1, u2, users, dir), 80000, 'call');
	} catch (e) {
		fail('call flow ran to the end', e.message);
	}
	fs.writeFileSync(path.join(dir, 'exit'), `${failed}\n`);
	process.exit(failed ? 1 : 0);
})();
