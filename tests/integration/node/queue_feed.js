// queue_feed.js: scoped, coalesced queue and presence updates (the gateways' queue feed) for
// tests/integration/queue_feed.sh. One "PASS <what>" or "FAIL <what>: <detail>" line per check.
//   node queue_feed.js GW1_URL GW2_URL NGINX_URL USERS_JSON INTERVAL_MS
// USERS_JSON: [{id, token}] of seed users 1..10. Users 2..7 are in the queue in that order;
// the gateways' first page (queue_page_default 3, plus one) is users 2..5.
'use strict';
const { io } = require('socket.io-client');

const STEP_MS = 8000;

let failed = 0;
const pass = (what) => console.log(`PASS ${what}`);
const fail = (what, detail) => { failed++; console.log(`FAIL ${what}: ${String(detail).replace(/\n/g, ' ')}`); };
const check = (cond, what, detail) => (cond ? pass(what) : fail(what, detail));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function withTimeout(p, ms, what) {
	let t;
	return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms); })])
		.finally(() => clearTimeout(t));
}

// An authenticated socket recording every update with its arrival time.
async function authed(url, user, name) {
	const s = io(url, { transports: ['websocket'], reconnection: false, timeout: STEP_MS, forceNew: true,
		auth: { token: user.token } });
	s.label = name;
	s.log = [];
	s.onAny((ev, payload) => s.log.push({ ev, payload, t: Date.now() }));
	await withTimeout(new Promise((res, rej) => {
		s.once('connect_error', (e) => rej(e));
		s.onAny((ev) => { if (ev === 'auth:success') res(); });
	}), STEP_MS, `${name}: auth:success`);
	return s;
}

// The updates of one kind a socket received since t, about the given users.
function updates(s, ev, since, ids) {
	return s.log.filter((e) => e.ev === ev && e.t >= since && (!ids || ids.includes(e.payload && e.payload.userId)));
}
const show = (list) => JSON.stringify(list.map((e) => e.payload));

async function view(nginx, user, limit) {
	const r = await fetch(`${nginx}/room/queue?limit=${limit}`, { headers: { Authorization: `Bearer ${user.token}` } });
	if (r.status !== 200) throw new Error(`/room/queue: ${r.status}`);
	return (await r.json()).users.map((u) => u.userId);
}

async function main(gw1, gw2, nginx, usersJson, intervalMs) {
	const U = JSON.parse(usersJson);
	const id = (n) => U[n - 1].id;
	const interval = Number(intervalMs);
	// A change and one carried change are out by then: the feed's 64 ticks an interval each
	// fire up to 10 ms late, so two frames to one viewer have come 1.4-1.6 intervals apart,
	// and the second came up to 3.4 s after the change under load (interval 1 s).
	const settle = interval * 5 + 500;

	// Viewers with a page of two (users 2, 3) on each gateway; W without a page; P with a
	// page but never joined; actors spread over both gateways.
	const V = await authed(gw1, U[0], 'V (gw1)');
	const V2 = await authed(gw2, U[7], 'V2 (gw2)');
	const W = await authed(gw1, U[8], 'W (gw1, no view)');
	const P = await authed(gw2, U[9], 'P (gw2, never joined)');
	const A2 = await authed(gw2, U[1], 'user 2');
	const A3 = await authed(gw1, U[2], 'user 3');
	const A4 = await authed(gw1, U[3], 'user 4');
	const A7 = await authed(gw2, U[6], 'user 7');
	const all = [V, V2, W, P, A2, A3, A4, A7];
	const viewers = [V, V2];
	try {
		for (const [s, u] of [[V, U[0]], [V2, U[7]], [P, U[9]]]) {
			const page = await view(nginx, u, 2);
			check(JSON.stringify(page) === JSON.stringify([id(2), id(3)]), `${s.label}: /room/queue?limit=2 lists users 2 and 3`,
				JSON.stringify(page));
		}
		V.emit('presence:join');
		V2.emit('presence:join');
		W.emit('presence:join');
		await sleep(interval + 500);	// views read, the viewers' own presence flushed

		// A: users 4 and 7 (off the page) and 2 (on it) leave the queue.
		let t0 = Date.now();
		A4.emit('queue:leave');
		A7.emit('queue:leave');
		A2.emit('queue:leave');
		await sleep(settle);
		for (const s of viewers) {
			const got = updates(s, 'queue:update', t0, [id(2), id(4), id(7)]);
			check(got.length === 1 && got[0].payload.userId === id(2) && got[0].payload.available === false,
				`${s.label}: queue:update for user 2 on its page, none for users 4 and 7 off it`, show(got));
		}
		let got = updates(W, 'queue:update', t0, [id(2), id(4), id(7)]);
		const ids = got.map((e) => e.payload.userId).sort();
		check(JSON.stringify(ids) === JSON.stringify([id(2), id(4)].sort()) && got.every((e) => e.payload.available === false),
			'W (no view): queue:update for users 2 and 4 (first page), none for user 7', show(got));
		check(got.length === 2 && got[1].t - got[0].t >= interval * 0.8,
			'W: the two changes come one interval apart', got.map((e) => e.t - t0).join(', '));

		// B: user 3 toggles join/leave/join within one interval.
		t0 = Date.now();
		A3.emit('queue:join');
		A3.emit('queue:leave');
		A3.emit('queue:join');
		await sleep(settle);
		for (const s of [V, V2, W]) {
			got = updates(s, 'queue:update', t0, [id(3)]);
			check(got.length === 1 && got[0].payload.available === true,
				`${s.label}: join/leave/join gives exactly one queue:update with the final state`, show(got));
		}

		// C: two visible changes in one interval: one frame per interval, the last state of each.
		t0 = Date.now();
		A2.emit('queue:join');
		A3.emit('queue:leave');
		await sleep(settle);
		for (const s of viewers) {
			got = updates(s, 'queue:update', t0, [id(2), id(3)]);
			const last = {};
			for (const e of got) last[e.payload.userId] = e.payload.available;
			check(got.length === 2 && last[id(2)] === true && last[id(3)] === false,
				`${s.label}: two changes in one interval: both delivered with their last state`, show(got));
			check(got.length === 2 && got[1].t - got[0].t >= interval * 0.8,
				`${s.label}: one queue:update per interval`, got.map((e) => e.t - t0).join(', '));
		}
		check(updates(A2, 'queue:update', 0, [id(2)]).length === 0, 'user 2 gets no updates about itself',
			show(updates(A2, 'queue:update', 0, [id(2)])));

		// D: presence is scoped the same way: user 3 (on the page) and 4 (off it) leave.
		t0 = Date.now();
		A3.emit('presence:leave');
		A4.emit('presence:leave');
		await sleep(settle);
		for (const s of viewers) {
			got = updates(s, 'presence:update', t0, [id(3), id(4)]);
			check(got.length === 1 && got[0].payload.userId === id(3) && got[0].payload.online === false &&
				got[0].payload.available === false,
				`${s.label}: presence:update for user 3 on its page, none for user 4`, show(got));
		}

		const passive = P.log.filter((e) => e.ev === 'queue:update' || e.ev === 'presence:update');
		check(passive.length === 0, 'P (never sent presence:join or queue:join) got no updates', show(passive));
		// P joins: from then on it is fed like the other viewers.
		P.emit('presence:join');
		await sleep(interval + 300);
		t0 = Date.now();
		A2.emit('queue:leave');
		await withTimeout(new Promise((res) => {
			const poll = setInterval(() => { if (updates(P, 'queue:update', t0, [id(2)]).length) { clearInterval(poll); res(); } }, 50);
		}), settle, 'P: queue:update after presence:join').then(() => pass('P after presence:join: gets the update for user 2'),
			(e) => fail('P after presence:join: gets the update for user 2', e.message));
	} finally {
		for (const s of all) s.close();
	}
}

main(...process.argv.slice(2)).catch((e) => fail('queue feed', e.stack || e.message)).finally(() => process.exit(failed ? 1 : 0));
