// gwmem.js: one client process of the gateway memory benchmark (bench/run gateway).
//   node gwmem.js URL COUNT DIR
// Opens COUNT socket.io-client sockets (websocket transport; the client offers
// permessage-deflate as browsers do), prints "CONNECTED <n> <deflate-negotiated>", then waits
// for the file DIR/go-rt: each socket does one round trip (CONNECT to an unknown namespace,
// answered with CONNECT_ERROR, so the gateway sends one frame on every socket), prints
// "ROUNDTRIP <n>", waits for DIR/go-exit, closes everything and exits. Errors: "ERROR <text>".
'use strict';
const fs = require('fs');
const path = require('path');
const { io } = require('socket.io-client');

const [url, countArg, dir] = process.argv.slice(2);
const COUNT = Number(countArg);
const BATCH = 100;		// connects in flight at once
const STEP_MS = 20000;		// bound on every wait
const WAIT_MAX_MS = 300000;	// bound on waiting for the controller

function withTimeout(p, ms, what) {
	let t;
	return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms); })])
		.finally(() => clearTimeout(t));
}

function connect() {
	const s = io(url, { transports: ['websocket'], reconnection: false, timeout: STEP_MS, forceNew: true,
		perMessageDeflate: process.env.BENCH_DEFLATE === '0' ? false : { threshold: 1024 } });
	return withTimeout(new Promise((res, rej) => {
		s.once('connect', () => res(s));
		s.once('connect_error', (e) => rej(new Error(`connect_error: ${e.message}`)));
	}), STEP_MS, 'connect').catch((e) => { s.close(); throw e; });
}

function roundTrip(s) {
	const ns = s.io.socket('/bench-no-such-namespace');
	const p = new Promise((res) => {
		ns.once('connect_error', () => res());
		ns.once('connect', () => res());
	});
	ns.connect();
	return withTimeout(p, STEP_MS, 'round trip').finally(() => ns.disconnect());
}

async function waitFile(name) {
	const f = path.join(dir, name);
	const end = Date.now() + WAIT_MAX_MS;
	while (!fs.existsSync(f)) {
		if (Date.now() > end) throw new Error(`no ${name} within ${WAIT_MAX_MS} ms`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

(async () => {
	const socks = [];
	try {
		for (let i = 0; i < COUNT; i += BATCH) {
			const n = Math.min(BATCH, COUNT - i);
			socks.push(...await Promise.all(Array.from({ length: n }, connect)));
		}
		// ws exposes the negotiated extensions on the raw socket.
		const raw = socks[0] && socks[0].io.engine.transport.ws;
		const ext = raw && raw.extensions ? raw.extensions : '';
		console.log(`CONNECTED ${socks.length} ${/permessage-deflate/.test(ext) ? 'deflate' : 'no-deflate'}`);
		await waitFile('go-rt');
		for (let i = 0; i < socks.length; i += BATCH) {
			await Promise.all(socks.slice(i, i + BATCH).map(roundTrip));
		}
		console.log(`ROUNDTRIP ${socks.length}`);
		await waitFile('go-exit');
	} catch (e) {
		console.log(`ERROR ${e.message}`);
	}
	socks.forEach((s) => s.io.engine.close());
	process.exit(0);
})();
