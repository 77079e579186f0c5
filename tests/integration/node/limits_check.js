// limits_check.js: per-socket limits and compression of a napalmsky gateway, for
// tests/integration/gateway_limits.sh. Prints "PASS <what>" / "FAIL <what>: <detail>" lines.
//   node limits_check.js deflate URL     a client that compresses every message with a 15-bit
//                                        window (as browsers do) is understood
//   node limits_check.js flood URL BURST a socket over the message limit is closed with 1008
//                                        "rate limited"; one within it, and another socket, live on
//   node limits_check.js relay URL UID1 TOKEN1 UID2 TOKEN2
//                                        a call between two paid users: a 6 KB offer goes through
//                                        the relay, compressed both ways, intact
//   node limits_check.js slow URL UID1 TOKEN1 UID2 TOKEN2
//                                        a callee without deflate stops reading while the caller
//                                        sends offers: the gateway closes the callee as a slow
//                                        consumer, and the caller's socket lives on
//   node limits_check.js fragments URL MAX
//                                        a message sent in fragments is reassembled; fragments
//                                        adding up to more than MAX bytes close with 1009
//   node limits_check.js timeouts URL CONNECT_MS PING_INTERVAL_MS PING_TIMEOUT_MS
//                                        no CONNECT in time, or no pong in time: closed; a
//                                        socket that answers its pings lives on
//   node limits_check.js hold URL N MS   N sockets CONNECTed and held for MS ms
//   node limits_check.js pgdown URL TOKEN
//                                        (PostgreSQL stopped) a CONNECT with a token is closed
//                                        with 1013 "try again later", not left waiting
'use strict';
const WebSocket = require('ws');
const { io } = require('socket.io-client');

const STEP_MS = 8000;
const pass = (what) => console.log(`PASS ${what}`);
const fail = (what, detail) => console.log(`FAIL ${what}: ${String(detail).replace(/\n/g, ' ')}`);

// A raw Engine.IO/Socket.IO client over ws: open, CONNECT to "/", then the caller's steps.
function open(base, wsOpts) {
	const url = base.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket';
	return new Promise((res, rej) => {
		const ws = new WebSocket(url, wsOpts);
		const t = setTimeout(() => { ws.terminate(); rej(new Error('no CONNECT answer')); }, STEP_MS);
		ws.inbox = [];
		ws.closed = new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
		ws.on('message', (d) => {
			const s = d.toString();
			if (s === '2') { ws.send('3'); return; }
			if (s[0] === '0') { ws.send('40'); return; }
			if (s.startsWith('40{')) { clearTimeout(t); res(ws); return; }
			ws.inbox.push(s);
			if (ws.waiter) ws.waiter();
		});
		ws.on('error', (e) => { clearTimeout(t); rej(e); });
	});
}

// One packet the gateway must answer on a live socket: CONNECT to an unknown namespace.
function roundTrip(ws) {
	return new Promise((res, rej) => {
		const t = setTimeout(() => rej(new Error('no answer to a namespace CONNECT')), STEP_MS);
		ws.waiter = () => {
			const m = ws.inbox.find((s) => s.startsWith('44/x,'));
			if (m) { clearTimeout(t); ws.waiter = null; res(m); }
		};
		ws.send('40/x,');
	});
}

function randomText(n) {
	let s = '';
	while (s.length < n) s += Math.random().toString(36).slice(2);
	return s.slice(0, n);
}

async function deflate(base) {
	const ws = await open(base, { perMessageDeflate: { threshold: 0 } });
	if (/permessage-deflate/.test(ws.extensions)) pass('permessage-deflate negotiated');
	else fail('permessage-deflate negotiated', `extensions: ${ws.extensions}`);
	// 3 copies of 2,000 random characters: the copies refer back 2,000 bytes, beyond any
	// window smaller than the client's.
	const r = randomText(2000);
	ws.send('42' + JSON.stringify(['presence:join', { pad: r + r + r }]));
	try {
		await roundTrip(ws);
		pass('a compressed 6 KB message with far back-references is accepted');
	} catch (e) { fail('a compressed 6 KB message with far back-references is accepted', e.message); }
	try {
		await roundTrip(ws);
		await roundTrip(ws);
		pass('the socket keeps working after compressed messages');
	} catch (e) { fail('the socket keeps working after compressed messages', e.message); }
	ws.close();
}

async function flood(base, burst) {
	const calm = await open(base);
	const loud = await open(base);
	// Within the burst: unknown events are ignored, the socket stays.
	for (let i = 0; i < burst - 5; i++) calm.send('42["bench:noop"]');
	try { await roundTrip(calm); pass(`${burst - 5} messages at once (under the burst) are fine`); }
	catch (e) { fail(`${burst - 5} messages at once (under the burst) are fine`, e.message); }
	for (let i = 0; i < burst * 3; i++) loud.send('42["bench:noop"]');
	const t = new Promise((r) => setTimeout(() => r(null), STEP_MS));
	const closed = await Promise.race([loud.closed, t]);
	if (closed && closed.code === 1008 && closed.reason === 'rate limited')
		pass(`${burst * 3} messages at once: closed with 1008 "rate limited"`);
	else fail(`${burst * 3} messages at once: closed with 1008 "rate limited"`, JSON.stringify(closed));
	try { await roundTrip(calm); pass('another socket of the same gateway keeps working'); }
	catch (e) { fail('another socket of the same gateway keeps working', e.message); }
	calm.close();
}

function sioAuthed(url, token, deflate = { threshold: 0 }) {
	const s = io(url, { transports: ['websocket'], reconnection: false, forceNew: true,
		auth: { token }, perMessageDeflate: deflate });
	return new Promise((res, rej) => {
		const t = setTimeout(() => rej(new Error('no auth:success')), STEP_MS);
		s.once('auth:success', () => { clearTimeout(t); res(s); });
		s.once('connect_error', (e) => { clearTimeout(t); rej(e); });
	});
}

function next(s, event) {
	return new Promise((res, rej) => {
		const t = setTimeout(() => rej(new Error(`no ${event}`)), STEP_MS);
		s.once(event, (d) => { clearTimeout(t); res(d); });
	});
}

// a calls b; both join the room. Resolves to the room id.
async function callAndJoin(a, b, uid2) {
	b.emit('queue:join');
	await new Promise((r) => setTimeout(r, 300));
	const notify = next(b, 'call:notify');
	a.emit('call:invite', { toUserId: uid2, requestedSeconds: 60 });
	const n = await notify;
	const starts = [next(a, 'call:start'), next(b, 'call:start')];
	b.emit('call:accept', { inviteId: n.inviteId, requestedSeconds: 60 });
	const [sa] = await Promise.all(starts);
	a.emit('room:join', { roomId: sa.roomId });
	b.emit('room:join', { roomId: sa.roomId });
	await new Promise((r) => setTimeout(r, 300));
	return sa.roomId;
}

async function relay(url, uid1, tok1, uid2, tok2) {
	const a = await sioAuthed(url, tok1);
	const b = await sioAuthed(url, tok2);
	const roomId = await callAndJoin(a, b, uid2);
	// An SDP-like text: repeated lines and random parts, 6 KB.
	let sdp = 'v=0\r\n';
	while (sdp.length < 6000) sdp += `a=candidate:${randomText(10)} 1 udp 2122260223 192.0.2.${sdp.length % 250} ${sdp.length} typ host\r\n`;
	const got = next(b, 'rtc:offer');
	a.emit('rtc:offer', { roomId, offer: { type: 'offer', sdp } });
	const o = await got;
	if (o && o.offer && o.offer.sdp === sdp && o.from === uid1)
		pass(`a ${sdp.length}-byte offer is relayed intact with compression both ways`);
	else fail('a 6 KB offer is relayed intact with compression both ways', JSON.stringify(o).slice(0, 100));
	const ext = b.io.engine.transport.ws && b.io.engine.transport.ws.extensions;
	if (/permessage-deflate/.test(ext || '')) pass('the callee negotiated permessage-deflate');
	else fail('the callee negotiated permessage-deflate', ext);
	const ended = next(b, 'session:finalized');
	a.emit('call:end', { roomId });
	await ended;
	pass('the call ends normally');
	a.close(); b.close();
}

// The callee offers no deflate, so the gateway writes to it directly while it can; then its
// TCP socket stops reading. Offers of 60 KB at the allowed event rate fill the kernel's
// buffers, then the gateway's send queue (SEND_QUEUE_MAX), and the gateway must drop the
// callee rather than keep buffering. Its /metrics (from 127.0.0.1) says when it did.
async function slow(url, uid1, tok1, uid2, tok2) {
	const a = await sioAuthed(url, tok1);
	const b = await sioAuthed(url, tok2, false);
	const roomId = await callAndJoin(a, b, uid2);
	const ws = b.io.engine.transport.ws;
	if (!ws || !ws._socket) { fail('the callee\'s TCP socket can be paused', 'no ws._socket'); return; }
	if (!/permessage-deflate/.test(ws.extensions || '')) pass('the callee negotiated no extension');
	else fail('the callee negotiated no extension', ws.extensions);
	ws._socket.pause();
	const closes = async () => {
		const r = await fetch(`${url}/metrics`);
		const m = /forced_closes_total\{[^}]*reason="slow_consumer"\} (\d+)/.exec(await r.text());
		return m ? Number(m[1]) : 0;
	};
	const before = await closes();
	const sdp = randomText(60000);
	const t0 = Date.now();
	let sent = 0, after = before;
	// 8 offers per second, under the test's limit of 10 per second.
	while (Date.now() - t0 < 20000 && after === before) {
		a.emit('rtc:offer', { roomId, offer: { type: 'offer', sdp } });
		await new Promise((r) => setTimeout(r, 125));
		if (++sent % 8 === 0) after = await closes();
	}
	if (after === before + 1) pass(`the stalled callee was closed as a slow consumer after ${sent} offers of 60 KB`);
	else fail('the stalled callee was closed as a slow consumer', `${sent} offers in 20 s, count ${before} -> ${after}`);
	const gone = new Promise((r) => { const t = setTimeout(() => r(false), STEP_MS); b.once('disconnect', () => { clearTimeout(t); r(true); }); });
	ws._socket.resume();
	if (await gone) pass('the callee sees its connection end once it reads again');
	else fail('the callee sees its connection end once it reads again', 'still connected');
	await new Promise((r) => setTimeout(r, 300));
	if (a.connected) pass('the caller\'s socket lives on');
	else fail('the caller\'s socket lives on', 'disconnected');
	a.close(); b.close();
}

// Send text in pieces of n bytes as one WebSocket message (continuation frames).
function sendFragments(ws, text, n) {
	for (let i = 0; i < text.length; i += n)
		ws.send(text.slice(i, i + n), { fin: i + n >= text.length, compress: false });
}

async function fragments(base, max) {
	const ws = await open(base);
	// A namespace CONNECT in 3-byte fragments: answered as if it came whole.
	ws.inbox = [];
	const answered = new Promise((res, rej) => {
		const t = setTimeout(() => rej(new Error('no answer')), STEP_MS);
		ws.waiter = () => { if (ws.inbox.some((m) => m.startsWith('44/frag,'))) { clearTimeout(t); res(); } };
	});
	sendFragments(ws, '40/frag,', 3);
	try { await answered; pass('a message in 3-byte fragments is reassembled and answered'); }
	catch (e) { fail('a message in 3-byte fragments is reassembled and answered', e.message); }
	ws.waiter = null;
	// Fragments that together pass the ceiling, each one well under it.
	const big = '42["bench:noop",' + JSON.stringify('x'.repeat(max)) + ']';
	sendFragments(ws, big, Math.ceil(max / 4));
	const t = new Promise((r) => setTimeout(() => r(null), STEP_MS));
	const closed = await Promise.race([ws.closed, t]);
	if (closed && closed.code === 1009)
		pass(`fragments adding up to more than ${max} bytes: closed with 1009`);
	else fail(`fragments adding up to more than ${max} bytes: closed with 1009`, JSON.stringify(closed));
	const other = await open(base);
	try { await roundTrip(other); pass('the gateway serves a new socket after it'); }
	catch (e) { fail('the gateway serves a new socket after it', e.message); }
	other.close();
}

// A raw socket that stops after the Engine.IO open (no CONNECT) or after CONNECT (no pongs).
function openSilent(base, connect) {
	const url = base.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket';
	const ws = new WebSocket(url);
	ws.t0 = Date.now();
	ws.closed = new Promise((r) => ws.on('close', (code) => r({ code, ms: Date.now() - ws.t0 })));
	ws.on('message', (d) => { if (connect && d.toString()[0] === '0') ws.send('40'); });
	ws.on('error', () => {});
	return ws;
}

async function timeouts(base, connectMs, intervalMs, timeoutMs) {
	const quiet = openSilent(base, false);
	const deaf = openSilent(base, true);
	const alive = await open(base);	// answers every ping
	const limit = new Promise((r) => setTimeout(() => r(null), STEP_MS + connectMs + intervalMs + timeoutMs));
	const a = await Promise.race([quiet.closed, limit]);
	if (a && a.ms >= connectMs * 0.9 && a.ms < connectMs + 3000)
		pass(`no CONNECT: closed after ${a.ms} ms (connect_timeout_ms ${connectMs})`);
	else fail(`no CONNECT: closed after connect_timeout_ms ${connectMs}`, JSON.stringify(a));
	const b = await Promise.race([deaf.closed, limit]);
	const due = intervalMs + timeoutMs;
	if (b && b.ms >= due * 0.9 && b.ms < due + 3000)
		pass(`no pong: closed after ${b.ms} ms (ping interval ${intervalMs} + timeout ${timeoutMs})`);
	else fail(`no pong: closed after ping interval + ping timeout (${due} ms)`, JSON.stringify(b));
	try { await roundTrip(alive); pass('a socket that answers its pings lives on'); }
	catch (e) { fail('a socket that answers its pings lives on', e.message); }
	alive.close();
}

async function hold(base, n, ms) {
	const socks = [];
	for (let i = 0; i < n; i++) socks.push(await open(base));
	pass(`${n} sockets connected`);
	await new Promise((r) => setTimeout(r, ms));
	socks.forEach((w) => w.close());
}

async function pgdown(base, token) {
	const url = base.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket';
	const ws = new WebSocket(url);
	const closed = new Promise((r) => ws.on('close', (code, reason) => r({ code, reason: reason.toString() })));
	ws.on('message', (d) => { if (d.toString()[0] === '0') ws.send('40' + JSON.stringify({ token })); });
	ws.on('error', () => {});
	const t = new Promise((r) => setTimeout(() => r(null), STEP_MS));
	const c = await Promise.race([closed, t]);
	if (c && c.code === 1013) pass(`the handshake is closed with 1013 "${c.reason}"`);
	else { fail('the handshake is closed with 1013', JSON.stringify(c)); ws.terminate(); }
}

(async () => {
	const [mode, url, arg, ...rest] = process.argv.slice(2);
	try {
		if (mode === 'deflate') await deflate(url);
		else if (mode === 'flood') await flood(url, Number(arg));
		else if (mode === 'relay') await relay(url, arg, ...rest);
		else if (mode === 'slow') await slow(url, arg, ...rest);
		else if (mode === 'fragments') await fragments(url, Number(arg));
		else if (mode === 'timeouts') await timeouts(url, Number(arg), Number(rest[0]), Number(rest[1]));
		else if (mode === 'hold') await hold(url, Number(arg), Number(rest[0]));
		else if (mode === 'pgdown') await pgdown(url, arg);
		else { console.error('usage: limits_check.js deflate|flood|relay|slow|fragments|timeouts|hold URL [ARGS]'); process.exit(2); }
	} catch (e) { fail(mode, e.message); }
	process.exit(0);
})();
