// gateway_check.js: Socket.IO clients against a napalmsky gateway, for tests/integration/gateway.sh.
// Prints one "PASS <what>" or "FAIL <what>: <detail>" line per check; the shell turns them into TAP.
//   node gateway_check.js connect URL COUNT    COUNT socket.io-client sockets (websocket only) connect
//   node gateway_check.js garbage URL          bad frames on raw websockets get a clean close while
//                                              a socket.io-client socket on the same gateway keeps working
//   node gateway_check.js origin URL           a WebSocket upgrade with an Origin not allowed → 403;
//                                              an allowed one (the default http://localhost:3000) opens
'use strict';
const { io } = require('socket.io-client');
const WebSocket = require('ws');

const STEP_MS = 8000;	// bound on every single wait
const SID_RE = /^[A-Za-z0-9_-]{20,}$/;

const pass = (what) => console.log(`PASS ${what}`);
const fail = (what, detail) => console.log(`FAIL ${what}: ${String(detail).replace(/\n/g, ' ')}`);

function withTimeout(p, ms, what) {
	let t;
	return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms); })])
		.finally(() => clearTimeout(t));
}

function sioConnect(url) {
	const s = io(url, { transports: ['websocket'], reconnection: false, timeout: STEP_MS, forceNew: true });
	const p = new Promise((res, rej) => {
		s.once('connect', () => res(s));
		s.once('connect_error', (e) => rej(new Error(`connect_error: ${e.message}`)));
	});
	return withTimeout(p, STEP_MS, 'connect').catch((e) => { s.close(); throw e; });
}

// A request the gateway's Socket.IO layer must answer on an open connection: CONNECT to an
// unknown namespace over the same Engine.IO socket → CONNECT_ERROR {message:'Invalid namespace'}.
function roundTrip(s) {
	const ns = s.io.socket('/no-such-namespace');
	const p = new Promise((res, rej) => {
		ns.once('connect_error', (e) => res(e.message));
		ns.once('connect', () => rej(new Error('connected to an unknown namespace')));
	});
	ns.connect();
	return withTimeout(p, STEP_MS, 'CONNECT_ERROR for an unknown namespace').finally(() => ns.disconnect());
}
const RT = 'CONNECT to another namespace answered with Invalid namespace';

async function connect(url, count) {
	const results = await Promise.allSettled(Array.from({ length: count }, () => sioConnect(url)));
	const socks = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
	const errs = results.filter((r) => r.status === 'rejected').map((r) => r.reason.message);
	if (socks.length === count) pass(`${count} clients connected`);
	else fail(`${count} clients connected`, `${socks.length} connected; ${errs[0]}`);
	const bad = socks.filter((s) => !SID_RE.test(s.id || '') || !SID_RE.test(s.io.engine.id || ''));
	if (socks.length && !bad.length) pass('Socket.IO and Engine.IO sids are >= 20 base64url characters');
	else fail('Socket.IO and Engine.IO sids are >= 20 base64url characters', bad.length ? `got ${bad[0].id} / ${bad[0].io.engine.id}` : 'no socket');
	const ids = new Set(socks.map((s) => s.io.engine.id));
	if (ids.size === socks.length) pass('sids are distinct'); else fail('sids are distinct', [...ids].join(','));
	if (socks.length) {
		try {
			const m = await roundTrip(socks[0]);
			if (m === 'Invalid namespace') pass(RT); else fail(RT, JSON.stringify(m));
		} catch (e) { fail(RT, e.message); }
	}
	socks.forEach((s) => s.close());
}

// Open a raw websocket, read the Engine.IO open packet, then send `frame`; resolve with how it closed.
function rawGarbage(url, frame, handshake) {
	return new Promise((res, rej) => {
		const ws = new WebSocket(url);
		let opened = null;
		const t = setTimeout(() => { ws.terminate(); rej(new Error(`no close within ${STEP_MS} ms (open packet: ${opened})`)); }, STEP_MS);
		ws.on('message', (data, isBinary) => {
			const text = isBinary ? '<binary>' : data.toString();
			if (opened === null) {
				opened = text;
				if (handshake) ws.send(handshake);
				ws.send(frame, { binary: Buffer.isBuffer(frame) });
			}
		});
		const t0 = Date.now();
		ws.on('close', (code) => { clearTimeout(t); res({ code, opened, ms: Date.now() - t0 }); });
		ws.on('error', (e) => { clearTimeout(t); rej(e); });
	});
}

async function garbage(base) {
	const wsUrl = base.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket';
	let keeper;
	try {
		keeper = await sioConnect(base);
		pass('keeper client connected');
	} catch (e) { fail('keeper client connected', e.message); return; }
	let lost = null;
	keeper.on('disconnect', (why) => { lost = why; });

	const cases = [
		['unknown Engine.IO packet type', '\u0000\u0001garbage', null],
		['unparsable Socket.IO packet', '4zz{', null],
		['broken EVENT JSON after CONNECT', '42["x",{', '40'],
		['binary frame', Buffer.from([0xff, 0x00, 0x34, 0x32]), null],
		['frame over maxPayload', '42["x","' + 'y'.repeat(1100000) + '"]', '40'],
		// Binary Socket.IO packets (§3.1): closed at once, not left to the ping timeout (6 s here).
		['binary EVENT packet (45)', '451-["x",{"_placeholder":true,"num":0}]', '40', 2000],
		['binary ACK packet (46)', '461-0[{"_placeholder":true,"num":0}]', '40', 2000],
	];
	for (const [what, frame, hs, within] of cases) {
		try {
			const r = await rawGarbage(wsUrl, frame, hs);
			let open;
			try { open = JSON.parse(r.opened.slice(1)); } catch (e) { open = null; }
			if (r.opened && r.opened[0] === '0' && open && SID_RE.test(open.sid || '')) pass(`${what}: open packet received first`);
			else fail(`${what}: open packet received first`, r.opened);
			pass(`${what}: connection closed (code ${r.code})`);
			if (within) {
				if (r.ms < within) pass(`${what}: closed within ${within} ms`);
				else fail(`${what}: closed within ${within} ms`, `${r.ms} ms`);
			}
		} catch (e) {
			fail(`${what}: open packet received first`, 'see below');
			fail(`${what}: connection closed`, e.message);
		}
	}

	// The gateway must still serve the keeper: a fresh ping from the server, and an answer.
	try {
		await withTimeout(new Promise((res) => keeper.io.once('ping', res)), STEP_MS, 'ping');
		pass('keeper still receives pings');
	} catch (e) { fail('keeper still receives pings', e.message); }
	try {
		const m = await roundTrip(keeper);
		if (m === 'Invalid namespace') pass(`keeper can still send: ${RT}`); else fail(`keeper can still send: ${RT}`, JSON.stringify(m));
	} catch (e) { fail(`keeper can still send: ${RT}`, e.message); }
	if (lost === null && keeper.connected) pass('keeper never disconnected');
	else fail('keeper never disconnected', lost);
	keeper.close();
}

// The upgrade's HTTP answer for an Origin header: 'open' or the status code.
function upgradeWith(wsUrl, origin) {
	return withTimeout(new Promise((res, rej) => {
		const ws = new WebSocket(wsUrl, { origin });
		ws.on('unexpected-response', (req, r) => { res(r.statusCode); req.destroy(); });
		ws.on('open', () => { ws.terminate(); res('open'); });
		ws.on('error', (e) => rej(e));
	}), STEP_MS, `upgrade with Origin ${origin}`);
}

async function origin(base) {
	const wsUrl = base.replace(/^http/, 'ws') + '/socket.io/?EIO=4&transport=websocket';
	for (const [o, want] of [['http://evil.example', 403], ['http://localhost:3000.evil.example', 403],
		['http://localhost:300', 403], ['http://localhost:3000', 'open']]) {
		const what = `Origin ${o}: ${want === 'open' ? 'upgraded' : want}`;
		try {
			const got = await upgradeWith(wsUrl, o);
			if (got === want) pass(what); else fail(what, got);
		} catch (e) { fail(what, e.message); }
	}
}

async function main() {
	const [cmd, url, n] = process.argv.slice(2);
	if (cmd === 'connect') await connect(url, Number(n) || 1);
	else if (cmd === 'garbage') await garbage(url);
	else if (cmd === 'origin') await origin(url);
	else { console.error('usage: gateway_check.js connect URL COUNT | garbage URL | origin URL'); process.exit(2); }
}
main().then(() => process.exit(0), (e) => { fail('unexpected error', e.stack); process.exit(1); });
