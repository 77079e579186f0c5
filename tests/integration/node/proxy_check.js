'use strict';
// A Socket.IO session through a reverse proxy (apache.sh): the websocket transport
// connects, the session token authenticates, and an event upstream (auth with an unknown
// token) is answered.
// Usage: node proxy_check.js URL TOKEN   (prints PASS/FAIL lines)
const { io } = require('socket.io-client');
const { withTimeout } = require('./events');

const [url, token] = process.argv.slice(2);
const STEP_MS = 5000;
const pass = (what) => console.log(`PASS ${what}`);
const fail = (what, why) => console.log(`FAIL ${what}: ${why}`);

// Connects with auth, runs then(s) once connected, resolves with the first of events.
function session(auth, events, then) {
	const s = io(url, { transports: ['websocket'], reconnection: false, timeout: STEP_MS, forceNew: true, auth });
	const p = new Promise((res, rej) => {
		s.once('connect_error', (e) => rej(new Error(`connect_error: ${e.message}`)));
		if (then) s.once('connect', () => then(s));
		for (const ev of events) s.once(ev, () => res(ev));
	});
	return withTimeout(p, STEP_MS, events.join(' or ')).finally(() => s.close());
}

(async () => {
	try {
		const ev = await session({ token }, ['auth:success', 'auth:failed']);
		if (ev === 'auth:success') pass('websocket through the proxy: auth:success with the session token');
		else fail('websocket through the proxy: auth:success with the session token', ev);
	} catch (e) { fail('websocket through the proxy: auth:success with the session token', e.message); }
	try {
		const unknown = '00000000-0000-4000-8000-000000000000';
		const ev = await session({ token: unknown }, ['auth:success', 'auth:failed'],
			(s) => s.emit('auth', { sessionToken: unknown }));
		if (ev === 'auth:failed') pass('an auth event with an unknown token gets auth:failed');
		else fail('an auth event with an unknown token gets auth:failed', ev);
	} catch (e) { fail('an auth event with an unknown token gets auth:failed', e.message); }
})();
