// calls_check.js: invites, rooms, signalling, chat and call end against two napalmsky
// gateways, for tests/integration/calls.sh. One "PASS <what>" or "FAIL <what>: <detail>"
// line per check, and "INFO key=value" lines the script checks in PostgreSQL afterwards.
//   node calls_check.js SCENARIO URL_1 URL_2 USERS_JSON
// USERS_JSON: a file holding [{userId, token}, ...]; each scenario uses its own slice of users
// (see the table at the bottom), so cooldowns of one do not leak into another.
// The stack runs with: INVITE_WINDOW_MS=1500 INVITE_EXTEND_MS=1500 INVITE_CAP_MS=5000 INVITE_TOLERANCE_MS=200
// CALL_GRACE_S=0 CALL_SECONDS_MIN=2 CALL_SAVE_MIN_S=1 CALL_COMPLETE_MIN_S=2
// QR_UNLOCK_COMPLETIONS=1 DISCONNECT_GRACE_MS=1000 (calls.sh).
'use strict';
const { io } = require('socket.io-client');
const { withTimeout, track } = require('./events');
const { execFileSync } = require('child_process');
const fs = require('fs');

const STEP_MS = 8000;	// bound on every single wait
const QUIET_MS = 700;	// "nothing arrives" is checked over this long
const WINDOW_MS = 1500, TOLERANCE_MS = 200, EXTEND_MS = 1500, CAP_MS = 5000;

let failed = 0;
const pass = (what) => console.log(`PASS ${what}`);
const fail = (what, detail) => { failed++; console.log(`FAIL ${what}: ${String(detail).replace(/\n/g, ' ')}`); };
const check = (cond, what, detail) => (cond ? pass(what) : fail(what, detail));
const info = (k, v) => console.log(`INFO ${k}=${v}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const J = (v) => JSON.stringify(v);

function redisRaw(...args) {
	return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', process.env.REDIS_PORT, '--raw', ...args],
		{ encoding: 'utf8' }).trim();
}

// A socket recording every event from the start; next(name, pred) takes a recorded or future
// match, quiet(name, ms) resolves true when none arrives within ms.
let opened = 0;
function open(url, opts = {}) {
	// Every other socket offers no permessage-deflate, as some clients and proxies do: the
	// gateway writes to those at once instead of from its send queue, and both paths must
	// carry every flow (a caller on one, its callee on the other).
	const deflate = opened++ % 2 === 0 ? {} : { perMessageDeflate: false };
	const s = io(url, { transports: ['websocket'], reconnection: false, timeout: STEP_MS, forceNew: true, ...deflate, ...opts });
	track(s, STEP_MS);
	s.quiet = async (name, ms = QUIET_MS, pred = () => true) => {
		await sleep(ms);
		return !s.log.some((e) => e.name === name && pred(e.payload));
	};
	s.drop = (name) => { s.log = s.log.filter((e) => e.name !== name); };
	return s;
}

function connected(s) {
	return withTimeout(new Promise((res) => {
		s.once('connect', () => res('connected'));
		s.once('connect_error', (e) => res(`connect_error: ${e.message}`));
	}), STEP_MS, 'connect');
}

async function authed(url, user) {
	const s = open(url, { auth: { token: user.token } });
	const how = await connected(s);
	if (how !== 'connected') throw new Error(how);
	await s.next('auth:success');
	s.user = user;
	return s;
}

const presence = (uid) => redisRaw('HGET', `ns:presence:${uid}`, 'available');

// Until the user is available in Redis (a socket gets no updates about its own user: the
// gateways' queue feed sends each user only changes of the others it can see).
async function available(user) {
	for (const end = Date.now() + STEP_MS; Date.now() < end; await sleep(50))
		if (presence(user.userId) === '1') return;
	throw new Error(`timeout after ${STEP_MS} ms: ${user.userId} available`);
}

// GET /room/queue as the client does (through nginx): the page becomes the user's view, so
// its sockets get the updates about the users on it.
async function queueView(user) {
	const r = await fetch(`${process.env.STACK_URL}/room/queue`, { headers: { Authorization: `Bearer ${user.token}` } });
	if (r.status !== 200) throw new Error(`GET /room/queue: ${r.status}`);
	await sleep(200);	// the gateways read the new view
	return (await r.json()).users.map((u) => u.userId);
}

// Authenticated, online and available (the client's matchmaking overlay does exactly this).
async function ready(url, user) {
	const s = await authed(url, user);
	s.emit('presence:join');
	s.emit('queue:join');
	await available(user);
	return s;
}

// a invites b (a's requestedSeconds ra), b accepts (rb): both call:start payloads.
async function invite(a, b, ra = 60) {
	a.emit('call:invite', { toUserId: b.user.userId, requestedSeconds: ra });
	return b.next('call:notify', (p) => p.fromUser && p.fromUser.userId === a.user.userId);
}
async function call(a, b, ra = 60, rb = 60) {
	const n = await invite(a, b, ra);
	b.emit('call:accept', { inviteId: n.inviteId, requestedSeconds: rb });
	const [sa, sb] = await Promise.all([a.next('call:start'), b.next('call:start')]);
	return { notify: n, sa, sb, roomId: sa.roomId };
}
async function joinBoth(a, b, roomId) {
	a.emit('room:join', { roomId });
	b.emit('room:join', { roomId });
	// Joined once a relay goes through: a's ice reaches b.
	for (let i = 0; i < 20; i++) {
		a.emit('rtc:ice', { roomId, candidate: { probe: i } });
		try { await b.next('rtc:ice', (p) => p.candidate && p.candidate.probe === i, 300); break; } catch (e) { /* retry */ }
	}
	b.drop('rtc:ice');
}

// ---- scenarios --------------------------------------------------------------------------

// Invite → notify → accept → call:start → room:join → relays → chat → social → call:end.
async function flow(u1, u2, users) {
	const [A, B, C] = users;
	const a = await ready(u1, A), b = await ready(u2, B), c = await ready(u1, C);
	const page = await queueView(C);
	check(page.includes(A.userId) && page.includes(B.userId), 'C\'s queue page lists A and B', J(page));
	const t0 = Date.now();
	a.emit('call:invite', { toUserId: B.userId, requestedSeconds: 60 });
	const n = await b.next('call:notify');
	check(n.fromUser && n.fromUser.userId === A.userId && n.fromUser.name === 'Caller A', 'call:notify names the caller (gw1 → gw2)', J(n));
	check(/^[0-9a-f-]{36}$/.test(n.inviteId) && n.requestedSeconds === 60 && n.ttlMs === WINDOW_MS,
		'call:notify has inviteId, requestedSeconds and ttlMs', J(n));
	check('gender' in n.fromUser && 'selfieUrl' in n.fromUser && 'videoUrl' in n.fromUser, 'fromUser carries gender, selfieUrl, videoUrl', J(n.fromUser));
	check(redisRaw('HGET', `ns:inv:${n.inviteId}`, 'to') === B.userId, 'the invite is stored in Redis', redisRaw('HGETALL', `ns:inv:${n.inviteId}`));

	// Only the invitee accepts.
	c.emit('call:accept', { inviteId: n.inviteId, requestedSeconds: 60 });
	const ce = await c.next('error');
	check(ce.message === 'Invite not found or expired', 'accept by a non-invitee → Invite not found or expired', J(ce));
	b.emit('call:accept', { inviteId: n.inviteId, requestedSeconds: 1801 });
	const be = await b.next('error');
	check(be.message === 'Invalid call duration', 'accept with 1801 s → Invalid call duration (invite kept)', J(be));

	b.emit('call:accept', { inviteId: n.inviteId, requestedSeconds: 121 });
	const [sa, sb] = await Promise.all([a.next('call:start'), b.next('call:start')]);
	check(sa.isInitiator === true && sb.isInitiator === false, 'call:start: caller is the initiator', `${J(sa)} ${J(sb)}`);
	check(sa.agreedSeconds === 90 && sb.agreedSeconds === 90, 'agreedSeconds = floor((60 + 121) / 2)', J(sa));
	check(sa.roomId === sb.roomId && /^[0-9a-f-]{36}$/.test(sa.roomId), 'both get the same roomId', `${sa.roomId} ${sb.roomId}`);
	check(sa.peerUser.userId === B.userId && sa.peerUser.name === 'Callee B' && sb.peerUser.userId === A.userId,
		'peerUser is the other member', `${J(sa.peerUser)} ${J(sb.peerUser)}`);
	const roomId = sa.roomId;
	info('flow_room', roomId);
	await c.next('queue:update', (p) => p.userId === A.userId && p.available === false);
	await c.next('queue:update', (p) => p.userId === B.userId && p.available === false);
	pass('queue:update {available:false} for both members');
	check(presence(A.userId) === '0' && presence(B.userId) === '0', 'both members unavailable in Redis', `${presence(A.userId)} ${presence(B.userId)}`);
	check(!redisRaw('EXISTS', `ns:inv:${n.inviteId}`).startsWith('1'), 'the accepted invite is gone', '');

	// A second accept of the same invite: already closed.
	b.emit('call:accept', { inviteId: n.inviteId, requestedSeconds: 60 });
	const b2 = await b.next('error');
	check(b2.message === 'Invite not found or expired', 'accepting a closed invite → Invite not found or expired', J(b2));

	// Membership.
	c.emit('room:join', { roomId });
	const cj = await c.next('error');
	check(cj.message === 'Room not found', 'room:join by a non-member → Room not found', J(cj));
	c.emit('room:join', { roomId: 'not-a-uuid' });
	check((await c.next('error')).message === 'Room not found', 'room:join with a malformed roomId → Room not found', '');
	a.emit('rtc:offer', { roomId, offer: { type: 'offer', sdp: 'early' } });
	check(await b.quiet('rtc:offer'), 'rtc:offer from a socket that has not joined is dropped', '');

	await joinBoth(a, b, roomId);
	pass('both members joined (relay goes through)');
	a.emit('rtc:offer', { roomId, offer: { type: 'offer', sdp: 'v=0 offer', list: [] } });
	const off = await b.next('rtc:offer');
	check(off.from === A.userId && off.offer.sdp === 'v=0 offer' && Array.isArray(off.offer.list),
		'rtc:offer relayed verbatim with from (gw1 → gw2)', J(off));
	b.emit('rtc:answer', { roomId, answer: { type: 'answer', sdp: 'v=0 answer' } });
	const ans = await a.next('rtc:answer');
	check(ans.from === B.userId && ans.answer.sdp === 'v=0 answer', 'rtc:answer relayed (gw2 → gw1)', J(ans));
	b.emit('rtc:ice', { roomId, candidate: null });
	const ice = await a.next('rtc:ice');
	check(ice.candidate === null && ice.from === B.userId, 'rtc:ice with a null candidate relayed', J(ice));
	check(await b.quiet('rtc:answer', 300), 'the sender does not get its own relay', '');
	a.emit('rtc:offer', { roomId, offer: 'not an object' });
	a.emit('rtc:answer', { roomId, answer: [1] });
	check(await b.quiet('rtc:offer') && await b.quiet('rtc:answer', 10), 'offer/answer that are not objects are dropped', '');
	c.emit('rtc:offer', { roomId, offer: { type: 'offer', sdp: 'intruder' } });
	c.emit('room:chat', { roomId, text: 'intruder' });
	c.emit('call:end', { roomId });
	check(await a.quiet('rtc:offer') && await b.quiet('room:chat', 10), 'a non-member can neither relay nor chat', '');
	check(redisRaw('EXISTS', `ns:room:${roomId}`) === '1', 'call:end by a non-member is ignored', '');

	// Chat: tags removed, cut to 500, trimmed; empty dropped; sender included.
	a.emit('room:chat', { roomId, text: '  <b>hello</b> <i>there</i>  ' });
	const [ma, mb] = await Promise.all([a.next('room:chat'), b.next('room:chat')]);
	check(ma.text === 'hello there' && mb.text === 'hello there', 'room:chat strips tags and trims', J(mb));
	check(mb.from === A.userId && mb.type === 'message' && Number.isInteger(mb.timestamp), 'room:chat carries from, type, timestamp', J(mb));
	b.emit('room:chat', { roomId, text: '<p></p>   ' });
	b.emit('room:chat', { roomId, text: 42 });
	check(await a.quiet('room:chat'), 'empty chat messages are dropped', '');
	b.emit('room:chat', { roomId, text: 'é'.repeat(600) });
	const long = await a.next('room:chat');
	check([...long.text].length === 500, 'chat cut to 500 characters', [...long.text].length);
	b.emit('room:giveSocial', { roomId, socials: { instagram: '@callee' } });
	const [ga, gb] = await Promise.all([a.next('room:socialShared'), b.next('room:socialShared')]);
	check(ga.socials.instagram === '@callee' && ga.from === B.userId && ga.type === 'social' && gb.type === 'social',
		'room:giveSocial → room:socialShared to both', J(ga));
	b.emit('room:giveSocial', { roomId, socials: { x: 'y'.repeat(201) } });
	b.emit('room:giveSocial', { roomId, socials: 'nope' });
	check(await a.quiet('room:socialShared'), 'invalid socials are dropped', '');

	// queue:join is ignored during a call.
	a.emit('queue:join');
	await sleep(300);
	check(presence(A.userId) === '0', 'queue:join during a call is ignored', presence(A.userId));

	// Past CALL_COMPLETE_MIN_S (2 s), then the end.
	const wait = 2300 - (Date.now() - t0);
	if (wait > 0) await sleep(wait);
	a.emit('call:end', { roomId });
	const [fa, fb] = await Promise.all([a.next('session:finalized'), b.next('session:finalized')]);
	check(/^session-\d+$/.test(fa.sessionId) && fa.sessionId === fb.sessionId, 'session:finalized to both, same sessionId', `${J(fa)} ${J(fb)}`);
	info('flow_session', fa.sessionId);
	const [ua, ub] = [a.log.find((e) => e.name === 'metrics:update'), b.log.find((e) => e.name === 'metrics:update')];
	check(ua && ub && ua.payload.sessionCount === 1 && ub.payload.sessionCount === 1 &&
		ua.payload.timerTotalSeconds >= 2 && Array.isArray(ua.payload.lastSessions) && ua.payload.lastSessions.length === 1,
		'metrics:update before session:finalized, to both', `${J(ua)} ${J(ub)}`);
	const qa = a.log.find((e) => e.name === 'qr:unlocked'), qb = b.log.find((e) => e.name === 'qr:unlocked');
	check(qa && qb && qa.payload.sessionsCompleted === 1 && /unlocked your QR code/.test(qa.payload.message),
		'qr:unlocked to both (QR_UNLOCK_COMPLETIONS=1)', `${J(qa)} ${J(qb)}`);
	check(redisRaw('EXISTS', `ns:room:${roomId}`) === '0' && redisRaw('GET', `ns:uroom:${A.userId}`) === '',
		'the room is deleted from Redis', redisRaw('HGETALL', `ns:room:${roomId}`));
	a.emit('call:end', { roomId });
	check(await b.quiet('session:finalized'), 'a second call:end is a no-op', '');
	check(presence(A.userId) === '0' && presence(B.userId) === '0', 'both stay unavailable after the call', '');
	// A cooldown now refuses a new invite between them.
	a.emit('queue:join'); b.emit('queue:join');
	await available(B);
	a.emit('call:invite', { toUserId: B.userId, requestedSeconds: 60 });
	const cd = await a.next('call:declined');
	check(cd.reason === 'cooldown', 'a new invite after the call → cooldown', J(cd));
	[a, b, c].forEach((s) => s.disconnect());
}

// Every refusal of §3.6 in order, busy closures, unauthenticated sockets.
async function refusals(u1, u2, users) {
	const [A, B, C, D, U] = users;	// U: signed up without an invite code (unpaid)
	const a = await ready(u1, A), b = await ready(u2, B), c = await ready(u2, C), d = await authed(u1, D);
	const u = await ready(u1, U);
	const declined = async (s, payload, want, what) => {
		s.emit('call:invite', payload);
		const p = await s.next('call:declined');
		check(p.reason === want && /^[0-9a-f-]{36}$/.test(p.inviteId), `${what} → ${want}`, J(p));
	};
	await declined(a, { toUserId: A.userId, requestedSeconds: 60 }, 'invalid_target', 'invite to oneself');
	await declined(a, { toUserId: 'nope', requestedSeconds: 60 }, 'invalid_target', 'malformed toUserId');
	await declined(a, 'not an object', 'invalid_target', 'payload not an object');
	await declined(u, { toUserId: B.userId, requestedSeconds: 60 }, 'payment_required', 'unpaid caller');
	await declined(a, { toUserId: '00000000-0000-4000-8000-00000000dead', requestedSeconds: 60 }, 'user_not_found', 'unknown user');
	await declined(a, { toUserId: B.userId, requestedSeconds: 1 }, 'invalid_duration', 'requestedSeconds under the minimum');
	await declined(a, { toUserId: B.userId, requestedSeconds: 60.5 }, 'invalid_duration', 'requestedSeconds not an integer');
	await declined(a, { toUserId: B.userId, requestedSeconds: 1801 }, 'invalid_duration', 'requestedSeconds 1801');
	await declined(a, { toUserId: B.userId, requestedSeconds: '60' }, 'invalid_duration', 'requestedSeconds as a string');
	await declined(a, { toUserId: D.userId, requestedSeconds: 60 }, 'offline', 'target online but not available');
	// Case-insensitive ids are accepted.
	a.emit('call:invite', { toUserId: B.userId.toUpperCase(), requestedSeconds: 60 });
	const n1 = await b.next('call:notify');
	pass('upper-case toUserId accepted');
	await declined(a, { toUserId: C.userId, requestedSeconds: 60 }, 'busy', 'second outgoing invite');
	// Busy closures: C → B pending, B → D pending; B accepts A's invite.
	d.emit('presence:join'); d.emit('queue:join');
	await available(D);
	c.emit('call:invite', { toUserId: B.userId, requestedSeconds: 60 });
	const n2 = await b.next('call:notify', (p) => p.fromUser.userId === C.userId);
	b.emit('call:invite', { toUserId: D.userId, requestedSeconds: 60 });
	const n3 = await d.next('call:notify');
	b.emit('call:accept', { inviteId: n1.inviteId, requestedSeconds: 60 });
	await Promise.all([a.next('call:start'), b.next('call:start')]);
	const busy = await c.next('call:declined');
	check(busy.reason === 'busy' && busy.inviteId === n2.inviteId, 'another caller of the callee → declined busy', J(busy));
	const resc = await d.next('call:rescinded');
	check(resc.inviteId === n3.inviteId, "the callee's own outgoing invite → rescinded to its target", J(resc));
	check(await b.quiet('call:rescinded') && await b.quiet('call:declined', 10), 'the member entering gets neither', '');
	await declined(c, { toUserId: B.userId, requestedSeconds: 60 }, 'offline', 'invite to a user in a call');
	await declined(a, { toUserId: C.userId, requestedSeconds: 60 }, 'busy', 'invite from a user in a call');
	// Unauthenticated sockets.
	const anon = open(u1);
	await connected(anon);
	anon.emit('call:invite', { toUserId: B.userId, requestedSeconds: 60 });
	check((await anon.next('error')).message === 'Please wait for authentication to complete', 'unauthenticated call:invite → error', '');
	anon.emit('room:join', { roomId: '00000000-0000-4000-8000-000000000001' });
	check((await anon.next('error')).message === 'Not authenticated', 'unauthenticated room:join → Not authenticated', '');
	anon.emit('call:accept', { inviteId: n2.inviteId, requestedSeconds: 60 });
	check(await anon.quiet('error'), 'unauthenticated call:accept is ignored', '');
	[a, b, c, d, u, anon].forEach((s) => s.disconnect());
}

async function decline(u1, u2, users) {
	const [A, B] = users;
	const a = await ready(u1, A), b = await ready(u2, B);
	const n = await invite(a, b);
	a.emit('call:decline', { inviteId: n.inviteId });	// not the invitee: ignored
	check(await a.quiet('call:declined'), 'call:decline by the caller is ignored', '');
	b.emit('call:decline', { inviteId: n.inviteId });
	const p = await a.next('call:declined');
	check(p.reason === 'user_declined' && p.inviteId === n.inviteId, 'callee declines → caller gets user_declined', J(p));
	b.emit('call:decline', { inviteId: n.inviteId });
	check(await a.quiet('call:declined'), 'a second decline is ignored', '');
	await sleep(300);
	a.emit('call:invite', { toUserId: B.userId, requestedSeconds: 60 });
	check((await a.next('call:declined')).reason === 'cooldown', 'invite after a decline → cooldown', '');
	[a, b].forEach((s) => s.disconnect());
}

async function rescind(u1, u2, users) {
	const [A, B] = users;
	const a = await ready(u1, A), b = await ready(u2, B);
	const n = await invite(a, b);
	b.emit('call:rescind', { toUserId: A.userId });	// B has no invite to A: ignored
	check(await a.quiet('call:rescinded'), 'call:rescind without a pending invite is ignored', '');
	a.emit('call:rescind', { toUserId: B.userId });
	const p = await b.next('call:rescinded');
	check(p.inviteId === n.inviteId, 'caller rescinds → callee gets call:rescinded', J(p));
	b.emit('call:accept', { inviteId: n.inviteId, requestedSeconds: 60 });
	check((await b.next('error')).message === 'Invite not found or expired', 'accepting a rescinded invite → error', '');
	await sleep(300);
	a.emit('call:invite', { toUserId: B.userId, requestedSeconds: 60 });
	check((await a.next('call:declined')).reason === 'cooldown', 'invite after a rescind → cooldown', '');
	[a, b].forEach((s) => s.disconnect());
}

// The server timer closes an unanswered invite (no cooldown); an extension moves it.
async function expiry(u1, u2, users) {
	const [A, B] = users;
	const a = await ready(u1, A), b = await ready(u2, B);
	let t = Date.now();
	const n = await invite(a, b);
	const [d, r] = await Promise.all([a.next('call:declined'), b.next('call:rescinded')]);
	const took = Date.now() - t;
	check(d.reason === 'timeout' && d.inviteId === n.inviteId && r.inviteId === n.inviteId, 'expiry: caller timeout, callee rescinded', `${J(d)} ${J(r)}`);
	check(took >= WINDOW_MS && took < WINDOW_MS + TOLERANCE_MS + 2000, 'expiry acted on after window + tolerance', `${took} ms`);
	b.emit('call:accept', { inviteId: n.inviteId, requestedSeconds: 60 });
	check((await b.next('error')).message === 'Invite not found or expired', 'accept after expiry → error', '');
	// No cooldown after an expiry; then one extension.
	t = Date.now();
	const n2 = await invite(a, b);
	pass('a new invite after an expiry is delivered (no cooldown)');
	a.emit('call:extend-wait', { toUserId: B.userId });
	const w = await b.next('call:wait-extended');
	check(w.extraSeconds === Math.floor(EXTEND_MS / 1000), 'call:wait-extended to the callee', J(w));
	const d2 = await a.next('call:declined', () => true, STEP_MS);
	const took2 = Date.now() - t;
	check(d2.inviteId === n2.inviteId && took2 >= WINDOW_MS + EXTEND_MS, 'the extension moved the expiry', `${took2} ms`);
	[a, b].forEach((s) => s.disconnect());
}

// The server ends the call at its deadline (agreedSeconds after the second join, grace 0).
async function deadline(u1, u2, users) {
	const [A, B] = users;
	const a = await ready(u1, A), b = await ready(u2, B);
	const { sa, roomId } = await call(a, b, 3, 4);
	check(sa.agreedSeconds === 3, 'agreedSeconds 3 (CALL_SECONDS_MIN lowered for the test)', J(sa));
	info('deadline_room', roomId);
	await joinBoth(a, b, roomId);
	const t = Date.now();
	const [fa, fb] = await Promise.all([a.next('session:finalized'), b.next('session:finalized')]);
	const took = Date.now() - t;
	check(fa.sessionId === fb.sessionId, 'server deadline → session:finalized to both', `${J(fa)} ${J(fb)}`);
	check(took >= 2500 && took < 6000, 'the deadline counts from the second join', `${took} ms`);
	const qa = a.log.find((e) => e.name === 'qr:unlocked');
	check(qa && qa.payload.sessionsCompleted === 1, 'qr:unlocked for a user without an own code', J(qa));
	[a, b].forEach((s) => s.disconnect());
}

// A member's explicit disconnect mid-call: peer:disconnected, then session:finalized.
async function disconnect(u1, u2, users) {
	const [A, B] = users;
	const a = await ready(u1, A), b = await ready(u2, B);
	const { roomId } = await call(a, b);
	info('disconnect_room', roomId);
	await joinBoth(a, b, roomId);
	a.emit('room:chat', { roomId, text: 'bye soon' });
	await b.next('room:chat');
	await sleep(1200);	// past CALL_SAVE_MIN_S
	a.disconnect();
	await b.next('peer:disconnected');
	pass('partner gets peer:disconnected');
	const f = await b.next('session:finalized');
	check(/^session-\d+-disconnected$/.test(f.sessionId), 'then session:finalized with a -disconnected sessionId', J(f));
	info('disconnect_session', f.sessionId);
	check(redisRaw('EXISTS', `ns:room:${roomId}`) === '0', 'the room is deleted', '');
	check(presence(B.userId) === '0', 'the partner stays unavailable', presence(B.userId));
	b.disconnect();
}

// Transport loss of the callee with a pending invite: after the grace, callee gone.
async function grace(u1, u2, users) {
	const [A, B] = users;
	const a = await ready(u1, A), b = await ready(u2, B);
	const n = await invite(a, b, 60);
	a.emit('call:extend-wait', { toUserId: B.userId });	// keep it pending past the grace
	await b.next('call:wait-extended');
	const lostAt = Date.now();
	b.io.engine.transport.ws.terminate();	// transport-level loss: no DISCONNECT, no close frame
	const d = await a.next('call:declined', () => true, STEP_MS);
	check(d.inviteId === n.inviteId && d.reason === 'offline', 'callee lost: after the grace the caller gets offline', J(d));
	check(Date.now() - lostAt >= 900, 'not before the grace (DISCONNECT_GRACE_MS=1000)', `${Date.now() - lostAt} ms`);
	a.disconnect();
}

// Until fn() is true (bounded); throws with what otherwise.
async function until(what, fn, ms = STEP_MS) {
	for (const end = Date.now() + ms; Date.now() < end; await sleep(25))
		if (fn()) return;
	throw new Error(`timeout after ${ms} ms: ${what}`);
}
const registered = (uid) => Number(redisRaw('ZCARD', `ns:usocks:${uid}`));

// Transport loss of the caller with a pending invite (§3.6 "caller gone", §3.9): while the
// caller has no live socket an accept fails and the invite stays pending; after the grace
// the callee gets call:rescinded (calls.sh checks the 1 h cooldown).
async function callergone(u1, u2, users) {
	const [A, B] = users;
	const a = await ready(u1, A), b = await ready(u2, B);
	const n = await invite(a, b, 60);
	for (let i = 0; i < 3; i++) {	// expiry well past the grace: at the 5 s cap
		a.emit('call:extend-wait', { toUserId: B.userId });
		await b.next('call:wait-extended');
	}
	const lostAt = Date.now();
	a.io.engine.transport.ws.terminate();	// transport-level loss: no DISCONNECT, no close frame
	await until('the caller\'s socket unregistered', () => registered(A.userId) === 0);
	b.emit('call:accept', { inviteId: n.inviteId, requestedSeconds: 60 });
	const e = await b.next('error');
	check(e.message === 'Invite not found or expired', 'accept while the caller has no live socket → Invite not found or expired', J(e));
	check(redisRaw('HGET', `ns:inv:${n.inviteId}`, 'from') === A.userId && !b.log.some((x) => x.name === 'call:start'),
		'the invite stays pending, no call:start', redisRaw('HGETALL', `ns:inv:${n.inviteId}`));
	const r = await b.next('call:rescinded');
	const took = Date.now() - lostAt;
	check(r.inviteId === n.inviteId, 'caller gone: the callee gets call:rescinded {inviteId}', J(r));
	check(took >= 900 && took < CAP_MS - 1000, 'after the grace (DISCONNECT_GRACE_MS=1000), before the expiry', `${took} ms`);
	check(redisRaw('EXISTS', `ns:inv:${n.inviteId}`) === '0', 'the invite is gone from Redis', '');
	b.disconnect();
}

// call:extend-wait moves the expiry by one extension at a time, never past createdAt + the cap
// (INVITE_CAP_MS=5000 stands for 300 s): 1.5 s → 3 s → 4.5 s → 5 s (a partial move still
// counts), then the caller's extensions are ignored (no call:wait-extended).
async function extendcap(u1, u2, users) {
	const [A, B] = users;
	const a = await ready(u1, A), b = await ready(u2, B);
	const n = await invite(a, b, 60);
	const key = `ns:inv:${n.inviteId}`;
	const span = () => Number(redisRaw('HGET', key, 'expiresAt')) - Number(redisRaw('HGET', key, 'createdAt'));
	check(span() === WINDOW_MS, 'a new invite expires one window after createdAt', span());
	const spans = [];
	for (let i = 0; i < 3; i++) {
		a.emit('call:extend-wait', { toUserId: B.userId });
		const w = await b.next('call:wait-extended');
		spans.push(`${span()}/${w.extraSeconds}`);
	}
	check(J(spans) === J(['3000/1', '4500/1', '5000/1']), 'each extension moves expiresAt by 1.5 s up to the cap, with call:wait-extended', J(spans));
	a.emit('call:extend-wait', { toUserId: B.userId });
	a.emit('call:extend-wait', { toUserId: B.userId });
	check(await b.quiet('call:wait-extended') && span() === CAP_MS && a.connected,
		'already at the cap: extensions are ignored (no call:wait-extended, expiresAt unchanged)', `${span()} ${J(b.log)}`);
	a.emit('call:rescind', { toUserId: B.userId });
	await b.next('call:rescinded');
	[a, b].forEach((s) => s.disconnect());
}

// The second member never joins: the deadline stays startedAt + agreedSeconds (+ grace 0),
// not restarted by the first join; chat from the member who has not joined is dropped; the
// member who never joined gets session:finalized on its current socket.
async function unjoined(u1, u2, users) {
	const [A, B] = users;
	const a = await ready(u1, A), b = await ready(u2, B);
	const { sa, roomId } = await call(a, b, 4, 4);
	const t0 = Date.now();
	check(sa.agreedSeconds === 4, 'agreedSeconds 4', J(sa));
	// B's current socket from now on (not joined: B never joined), made early so that it is
	// up well before the 4 s deadline however slow the machine.
	const b2 = await authed(u1, B);
	b.emit('room:chat', { roomId, text: 'before anyone joined' });
	await sleep(1500);	// a join restarting the deadline would move it past 5.5 s
	a.emit('room:join', { roomId });
	a.emit('room:chat', { roomId, text: 'alone here' });
	const own = await a.next('room:chat');
	check(own.text === 'alone here' && own.from === A.userId, 'a joined member\'s chat comes back to it', J(own));
	b.emit('room:chat', { roomId, text: 'not joined' });
	check(await a.quiet('room:chat') && !b.log.some((x) => x.name === 'room:chat'),
		'room:chat from a member who has not joined is dropped', J(a.log.filter((x) => x.name === 'room:chat')));
	const [fa, f2] = await Promise.all([a.next('session:finalized'), b2.next('session:finalized')]);
	const took = Date.now() - t0;
	check(fa.sessionId === f2.sessionId && /^session-\d+$/.test(fa.sessionId),
		'session:finalized to the joined socket and to the current socket of the member who never joined', `${J(fa)} ${J(f2)}`);
	check(took >= 3500 && took < 5500, 'the deadline counts from room creation when the second member never joins', `${took} ms`);
	check(redisRaw('EXISTS', `ns:room:${roomId}`) === '0', 'the room is deleted', '');
	info('unjoined_room', roomId);
	[a, b, b2].forEach((s) => s.disconnect());
}

// Short calls ended by a member (CALL_SAVE_MIN_S=1, CALL_COMPLETE_MIN_S=2 stand for 5 s and
// 30 s): d = 0 → no history, no completion; d = 1 → history, no completion (rows: calls.sh).
// No member joins: session:finalized goes to their current sockets.
async function short(u1, u2, users) {
	const [A, B, C, D] = users;
	const a = await ready(u1, A), b = await ready(u2, B), c = await ready(u1, C), d = await ready(u2, D);
	const r1 = await call(a, b);
	a.emit('call:end', { roomId: r1.roomId });
	const [fa, fb] = await Promise.all([a.next('session:finalized'), b.next('session:finalized')]);
	check(fa.sessionId === fb.sessionId, 'd = 0: session:finalized to both members (neither joined)', `${J(fa)} ${J(fb)}`);
	const [ma, mb] = await Promise.all([a.next('metrics:update'), b.next('metrics:update')]);
	check(ma.sessionCount === 0 && ma.timerTotalSeconds === 0 && mb.sessionCount === 0,
		'd = 0: metrics:update to each member, figures unchanged', `${J(ma)} ${J(mb)}`);
	check(!a.log.some((x) => x.name === 'qr:unlocked') && !b.log.some((x) => x.name === 'qr:unlocked'), 'd = 0: no qr:unlocked', '');
	const r2 = await call(c, d);
	const t0 = Date.now();
	await sleep(1300);
	const early = Date.now() - t0 < 1800;
	c.emit('call:end', { roomId: r2.roomId });
	await Promise.all([c.next('session:finalized'), d.next('session:finalized')]);
	const mc = await c.next('metrics:update');
	check(early && mc.sessionCount === 1 && mc.timerTotalSeconds === 1,
		'd = 1: metrics count the call (1 s)', `${J(mc)}, ended ${early ? 'before' : 'after'} 1.8 s`);
	check(await c.quiet('qr:unlocked', 300), 'd = 1: no qr:unlocked (no completion)', '');
	info('short_rooms', `${r1.roomId},${r2.roomId}`);
	[a, b, c, d].forEach((s) => s.disconnect());
}

// A joined member's transport drops mid-call and a new socket of the same user authenticates
// within the grace (§3.7, §3.9): the room is kept, the new socket counts as joined (no
// room:join) and relays both ways; an rtc:ice whose candidate is neither an object nor null
// is dropped.
async function reconnect(u1, u2, users) {
	const [A, B] = users;
	const a = await ready(u1, A), b = await ready(u2, B);
	const { roomId } = await call(a, b);
	await joinBoth(a, b, roomId);
	const lostAt = Date.now();
	a.io.engine.transport.ws.terminate();
	await until('the lost socket unregistered', () => registered(A.userId) === 0);
	const a2 = await authed(u2, A);	// back on the other gateway
	check(Date.now() - lostAt < 900, 'the new socket authenticated within the grace', `${Date.now() - lostAt} ms`);
	await sleep(1000 + 700 - (Date.now() - lostAt));
	check(redisRaw('EXISTS', `ns:room:${roomId}`) === '1' && !b.log.some((x) => x.name === 'peer:disconnected' || x.name === 'session:finalized'),
		'past the grace: the room is kept, no peer:disconnected', J(b.log));
	a2.emit('rtc:offer', { roomId, offer: { type: 'offer', sdp: 'after reconnect' } });
	const off = await b.next('rtc:offer');
	check(off.from === A.userId && off.offer.sdp === 'after reconnect', 'the new socket relays without room:join', J(off));
	for (const bad of ['candidate:1 1 udp', 7, true]) b.emit('rtc:ice', { roomId, candidate: bad });
	b.emit('rtc:ice', { roomId, candidate: { mark: 1 } });
	const ice = await a2.next('rtc:ice');
	check(ice.candidate && ice.candidate.mark === 1 && ice.from === B.userId,
		'relays reach the new socket; rtc:ice with a string, number or boolean candidate is dropped', J(ice));
	check(await a2.quiet('rtc:ice', 300), 'no other rtc:ice relayed', J(a2.log));
	a2.emit('call:end', { roomId });
	const [f2, fb] = await Promise.all([a2.next('session:finalized'), b.next('session:finalized')]);
	check(f2.sessionId === fb.sessionId && /^session-\d+$/.test(fb.sessionId), 'call:end from the new socket ends the call for both', `${J(f2)} ${J(fb)}`);
	[a2, b].forEach((s) => s.disconnect());
}

// PostgreSQL down at the end of a call: session:finalized at once, the writes (and the
// metrics events) once it is back.
function stack(fn) {
	execFileSync('bash', ['-c', `. "$top_srcdir/scripts/lib/stack.sh" && . "$STACK_DIR/stack.env" && ${fn}`],
		{ stdio: 'ignore', timeout: 60000 });
}
async function pgdown(u1, u2, users) {
	const [A, B] = users;
	const a = await ready(u1, A), b = await ready(u2, B);
	const { roomId } = await call(a, b);
	info('pgdown_room', roomId);
	await joinBoth(a, b, roomId);
	await sleep(2200);	// past CALL_COMPLETE_MIN_S
	stack('stack_stop_pg');
	a.emit('call:end', { roomId });
	const [fa] = await Promise.all([a.next('session:finalized'), b.next('session:finalized')]);
	check(/^session-\d+$/.test(fa.sessionId), 'PostgreSQL down: session:finalized still sent to both', J(fa));
	check(!a.log.some((e) => e.name === 'metrics:update'), 'no metrics:update while the write is pending', '');
	stack('stack_start_pg');
	const [ma, mb] = await Promise.all([a.next('metrics:update', () => true, 30000), b.next('metrics:update', () => true, 30000)]);
	check(ma.sessionCount === 1 && mb.sessionCount === 1, 'PostgreSQL back: the retried write commits, metrics:update follows', `${J(ma)} ${J(mb)}`);
	[a, b].forEach((s) => s.disconnect());
}

// Two calls ended in the same instant on one gateway: the gateway writes call ends that come
// within a few ms of each other in one statement, and each call must still get its own rows,
// metrics:update, qr:unlocked and session:finalized (calls.sh checks the rows).
async function together(u1, u2, users) {
	const [A, B, C, D] = users;
	const a = await ready(u1, A), b = await ready(u2, B), c = await ready(u1, C), d = await ready(u2, D);
	const [r1, r2] = [(await call(a, b)).roomId, (await call(c, d)).roomId];
	await joinBoth(a, b, r1);
	await joinBoth(c, d, r2);
	info('together_rooms', `${r1},${r2}`);
	await new Promise((r) => setTimeout(r, 2200));	/* past CALL_COMPLETE_MIN_S */
	a.emit('call:end', { roomId: r1 });
	c.emit('call:end', { roomId: r2 });
	const all = [a, b, c, d];
	const fin = await Promise.all(all.map((s) => s.next('session:finalized')));
	check(fin[0].sessionId === fin[1].sessionId && fin[2].sessionId === fin[3].sessionId,
		'both calls: session:finalized to each member', J(fin));
	const mu = all.map((s) => s.log.find((e) => e.name === 'metrics:update'));
	check(mu.every((m) => m && m.payload.sessionCount === 1 && m.payload.timerTotalSeconds >= 2),
		'both calls: metrics:update with its own user\'s figures to each member', J(mu));
	const qr = all.map((s) => s.log.find((e) => e.name === 'qr:unlocked'));
	check(qr.every((q) => q && q.payload.sessionsCompleted === 1), 'both calls: qr:unlocked to each member', J(qr));
	all.forEach((s) => s.disconnect());
}

const scenarios = { flow: [flow, 3], refusals: [refusals, 5], decline: [decline, 2], rescind: [rescind, 2],
	expiry: [expiry, 2], deadline: [deadline, 2], disconnect: [disconnect, 2], grace: [grace, 2],
	pgdown: [pgdown, 2], together: [together, 4], callergone: [callergone, 2], extendcap: [extendcap, 2],
	unjoined: [unjoined, 2], short: [short, 4], reconnect: [reconnect, 2] };

(async () => {
	const [name, u1, u2, file] = process.argv.slice(2);
	const users = JSON.parse(fs.readFileSync(file, 'utf8'));
	const sc = scenarios[name];
	if (!sc || users.length < sc[1]) {
		console.error(`usage: calls_check.js ${Object.keys(scenarios).join('|')} URL_1 URL_2 USERS_JSON`);
		process.exit(2);
	}
	try {
		await withTimeout(sc[0](u1, u2, users), 60000, name);
	} catch (e) {
		fail(`${name} ran to the end`, e.message);
	}
	process.exit(failed ? 1 : 0);
})();
