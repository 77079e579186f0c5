// realtime_check.js: authentication, presence, queue, control messages and disconnect cleanup
// against napalmsky gateways, for tests/integration/realtime.sh. One "PASS <what>" or
// "FAIL <what>: <detail>" line per check. Redis is read with redis-cli (REDIS_PORT).
//   node realtime_check.js auth URL GOOD EXPIRED INACTIVE BANNED_TOKEN GOOD_USER OTHER_TOKEN
//   node realtime_check.js ipban URL BANNED_IP
//   node realtime_check.js cross URL_A URL_B TOKEN_A USER_A TOKEN_B
//   node realtime_check.js invalidate URL TOKEN
//   node realtime_check.js logout URL TOKEN
//   node realtime_check.js banned URL_A URL_B TOKEN USER OBSERVER_TOKEN   (bans USER in PostgreSQL: STACK_DIR)
//   node realtime_check.js referral URL TOKEN USER              (one unread notification seeded)
//   node realtime_check.js grace URL_A URL_B TOKEN USER OBSERVER_TOKEN
//   node realtime_check.js explicit URL TOKEN USER
//   node realtime_check.js cap URL_A URL_B TOKEN CAP
//   node realtime_check.js secondtab URL_A URL_B TOKEN USER OBSERVER_TOKEN
'use strict';
const { io } = require('socket.io-client');
const { withTimeout, track } = require('./events');
const { execFileSync } = require('child_process');

const STEP_MS = 8000;	// bound on every single wait
const GRACE_MS = 5000;

let failed = 0;
const pass = (what) => console.log(`PASS ${what}`);
const fail = (what, detail) => { failed++; console.log(`FAIL ${what}: ${String(detail).replace(/\n/g, ' ')}`); };
const check = (cond, what, detail) => (cond ? pass(what) : fail(what, detail));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function redis(...args) {
	return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', process.env.REDIS_PORT, '--no-raw', ...args],
		{ encoding: 'utf8' }).trim();
}
// --raw prints bare values; nil is an empty line.
function redisRaw(...args) {
	return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', process.env.REDIS_PORT, '--raw', ...args],
		{ encoding: 'utf8' }).trim();
}

// A socket whose events are all recorded from the start (so nothing emitted right after the
// CONNECT reply is missed); next(name, pred) waits for a recorded or future match.
let opened = 0;
function open(url, opts = {}) {
	// Every other socket offers no permessage-deflate, as some clients and proxies do: the
	// gateway writes to those at once instead of from its send queue, and both paths must
	// carry every flow (a caller on one, its callee on the other).
	const deflate = opened++ % 2 === 0 ? {} : { perMessageDeflate: false };
	const s = io(url, { transports: ['websocket'], reconnection: false, timeout: STEP_MS, forceNew: true, ...deflate, ...opts });
	track(s, STEP_MS);
	s.on('disconnect', (reason) => {
		s.log.push({ name: 'disconnect', payload: reason });
		s.waiters = s.waiters.filter((w) => !(w.name === 'disconnect' && (w.res(reason), true)));
	});
	s.seen = (name, pred = () => true) => s.log.some((e) => e.name === name && pred(e.payload));
	return s;
}

// Resolves 'connected' or the connect_error message.
function connected(s) {
	return withTimeout(new Promise((res) => {
		s.once('connect', () => res('connected'));
		s.once('connect_error', (e) => res(`connect_error: ${e.message}`));
	}), STEP_MS, 'connect');
}

async function authed(url, token) {
	const s = open(url, { auth: { token } });
	const how = await connected(s);
	if (how !== 'connected') throw new Error(how);
	await s.next('auth:success');
	return s;
}

async function attempt(what, fn) {
	try { await fn(); } catch (e) { fail(what, e.message); }
}

async function waitFor(what, fn, ms = STEP_MS) {
	const end = Date.now() + ms;
	let last;
	while (Date.now() < end) {
		last = fn();
		if (last === true) return pass(what);
		await sleep(100);
	}
	fail(what, `still ${JSON.stringify(last)}`);
}

const cmds = {
	async auth(url, good, expired, inactive, bannedToken, goodUser, otherToken) {
		await attempt('handshake with a valid token: connected, then auth:success', async () => {
			const s = await authed(url, good);
			pass('handshake with a valid token: connected, then auth:success');
			s.emit('auth', { sessionToken: good });
			await s.next('auth:success');
			pass('auth event with the same token: auth:success again');
			// Another user's valid token on a bound socket: refused, the binding unchanged (§3.2).
			const reg = () => redisRaw('HGET', `ns:sock:${s.id}`, 'userId') + ' ' + redisRaw('HGET', `ns:sock:${s.id}`, 'sessionToken');
			check(reg() === `${goodUser} ${good}`, 'bound socket registered to its user and session', reg());
			s.emit('auth', { sessionToken: otherToken });
			await s.next('auth:failed');
			pass('auth event with another user\'s token on a bound socket: auth:failed');
			await sleep(200);
			check(!s.seen('auth:success'), 'another user\'s token: no auth:success', JSON.stringify(s.log));
			check(reg() === `${goodUser} ${good}` && redisRaw('SISMEMBER', `ns:ssocks:${otherToken}`, s.id) === '0',
				'another user\'s token: the socket stays bound to its user and session', `${reg()}; in the other session's set: ${redisRaw('SISMEMBER', `ns:ssocks:${otherToken}`, s.id)}`);
			s.emit('auth', { sessionToken: good });
			await s.next('auth:success');
			pass('after the refused token, the own token still authenticates');
			s.emit('auth', { sessionToken: expired });
			await s.next('auth:failed');
			pass('auth event with an expired token on a bound socket: auth:failed');
			s.emit('auth', 'not an object');
			await s.next('auth:failed');
			pass('auth event with a non-object payload: auth:failed');
			s.close();
		});
		await attempt('expired token: accepted unauthenticated', async () => {
			const s = open(url, { auth: { token: expired } });
			check(await connected(s) === 'connected', 'expired token: accepted unauthenticated', 'refused');
			s.emit('room:join', { roomId: '00000000-0000-4000-8000-000000000000' });
			const e = await s.next('error');
			check(e && e.message === 'Not authenticated', 'unauthenticated socket: room:join gets Not authenticated', JSON.stringify(e));
			check(!s.seen('auth:success'), 'expired token: no auth:success', JSON.stringify(s.log));
			s.emit('auth', { sessionToken: 'not-a-uuid' });
			await s.next('auth:failed');
			pass('invalid token in the auth event: auth:failed');
			s.emit('auth', { sessionToken: good });
			await s.next('auth:success');
			pass('auth event with a valid token binds an unauthenticated socket');
			s.close();
		});
		await attempt('garbage token: accepted unauthenticated', async () => {
			const s = open(url, { auth: { token: 'garbage' } });
			check(await connected(s) === 'connected', 'garbage token: accepted unauthenticated', 'refused');
			s.close();
		});
		await attempt('inactive session: connect_error Session invalidated', async () => {
			const s = open(url, { auth: { token: inactive } });
			const how = await connected(s);
			check(how === 'connect_error: Session invalidated', 'inactive session: connect_error Session invalidated', how);
			s.close();
		});
		await attempt('banned user: connect_error Account suspended', async () => {
			const s = open(url, { auth: { token: bannedToken } });
			const how = await connected(s);
			check(how === 'connect_error: Account suspended', 'banned user: connect_error Account suspended', how);
			s.close();
		});
		await attempt('banned user via the auth event: auth:banned, then disconnect', async () => {
			const s = open(url);
			await connected(s);
			s.emit('auth', { sessionToken: bannedToken });
			const b = await s.next('auth:banned');
			check(b && b.banned === true && b.message === 'Your account has been suspended.',
				'banned user via the auth event: auth:banned payload', JSON.stringify(b));
			const why = await s.next('disconnect');
			check(why === 'io server disconnect', 'banned user via the auth event: server disconnect', why);
			s.close();
		});
	},

	async ipban(url, ip) {
		await attempt('banned X-Real-IP from a trusted proxy: connect_error Access denied', async () => {
			const s = open(url, { extraHeaders: { 'X-Real-IP': ip } });
			const how = await connected(s);
			check(how === 'connect_error: Access denied', 'banned X-Real-IP from a trusted proxy: connect_error Access denied', how);
			s.close();
			const t = open(url, { extraHeaders: { 'X-Real-IP': '192.0.2.1' } });
			check(await connected(t) === 'connected', 'another X-Real-IP connects', 'refused');
			t.close();
		});
	},

	async cross(urlA, urlB, tokenA, userA, tokenB) {
		await attempt('presence and queue updates cross gateways', async () => {
			const a = await authed(urlA, tokenA);
			const b = await authed(urlB, tokenB);
			const anon = open(urlB);
			await connected(anon);
			const mine = (p) => p && p.userId === userA;
			a.emit('presence:join');
			let p = await b.next('presence:update', mine);
			check(p.online === true && p.available === false, 'presence:join reaches a socket on the other gateway',
				JSON.stringify(p));
			check(redisRaw('SISMEMBER', 'ns:online', userA) === '1', 'presence:join: user in ns:online', '');
			const before = Date.now();
			a.emit('queue:join');
			p = await b.next('queue:update', mine);
			check(p.available === true, 'queue:join reaches a socket on the other gateway', JSON.stringify(p));
			const score = Number(redisRaw('ZSCORE', 'ns:available', userA));
			check(score >= before - 1000 && score <= Date.now() + 1000,
				'queue:join: ZSCORE ns:available is availableSince (now)', `score ${score}, now ${Date.now()}`);
			check(redisRaw('HGET', `ns:presence:${userA}`, 'availableSince') === String(score),
				'queue:join: presence hash availableSince matches the score', redisRaw('HGETALL', `ns:presence:${userA}`));
			check(redisRaw('HGET', `ns:presence:${userA}`, 'available') === '1', 'queue:join: presence available=1', '');
			await sleep(20);
			a.emit('queue:join');
			p = await b.next('queue:update', mine);
			check(Number(redisRaw('ZSCORE', 'ns:available', userA)) === score,
				'a second queue:join keeps the place in the queue', redisRaw('ZSCORE', 'ns:available', userA));
			a.emit('presence:join');	// within 2 s of the first: no broadcast
			a.emit('queue:leave');
			p = await b.next('queue:update', mine);
			check(p.available === false, 'queue:leave reaches the other gateway', JSON.stringify(p));
			check(!b.seen('presence:update', mine), 'presence:join within 2 s is not broadcast again',
				JSON.stringify(b.log));
			check(redisRaw('ZSCORE', 'ns:available', userA) === '', 'queue:leave: not in ns:available', '');
			a.emit('presence:leave');
			p = await b.next('presence:update', mine);
			check(p.online === false && p.available === false, 'presence:leave reaches the other gateway', JSON.stringify(p));
			check(redisRaw('SISMEMBER', 'ns:online', userA) === '0', 'presence:leave: user not in ns:online', '');
			// The sender's own gateway delivers too (to the sender here).
			check(a.seen('presence:update', mine) || (await a.next('presence:update', mine).then(() => true)),
				'updates reach the sender\'s own gateway', JSON.stringify(a.log));
			await sleep(300);
			check(!anon.seen('presence:update') && !anon.seen('queue:update'),
				'unauthenticated sockets get no presence or queue updates', JSON.stringify(anon.log));
			// Registration (§3.11).
			const sid = a.id;
			const reg = redisRaw('HGETALL', `ns:sock:${sid}`).split('\n');
			const h = {};
			for (let i = 0; i + 1 < reg.length; i += 2) h[reg[i]] = reg[i + 1];
			check(h.userId === userA && h.sessionToken === tokenA && h.socketId === sid && /^gw\d$/.test(h.gatewayId) &&
				/^\d{13}$/.test(h.authenticatedAt), 'socket registered as {gatewayId, socketId, userId, sessionToken, authenticatedAt}',
				JSON.stringify(h));
			check(redisRaw('ZSCORE', `ns:usocks:${userA}`, sid) === h.authenticatedAt, 'socket in ns:usocks scored by authenticatedAt', '');
			check(redisRaw('SISMEMBER', `ns:ssocks:${tokenA}`, sid) === '1', 'socket in ns:ssocks of its session', '');
			a.close(); b.close(); anon.close();
			await waitFor('explicit close removes the registration', () =>
				redisRaw('EXISTS', `ns:sock:${sid}`) === '0' && redisRaw('SISMEMBER', `ns:ssocks:${tokenA}`, sid) === '0' || redisRaw('EXISTS', `ns:sock:${sid}`));
		});
	},

	async invalidate(url, token) {
		await attempt('session:invalidated on ns:ctl drops the socket with the event', async () => {
			const s = await authed(url, token);
			redis('PUBLISH', 'ns:ctl', JSON.stringify({ type: 'session:invalidated', tokens: [token.toUpperCase()] }));
			const e = await s.next('session:invalidated');
			check(e && e.reason === 'new_login' &&
				e.message === 'You have been logged out because you logged in from another device.',
				'session:invalidated payload', JSON.stringify(e));
			const why = await s.next('disconnect');
			check(why === 'io server disconnect', 'then DISCONNECT from the server', why);
			s.close();
		});
	},

	async logout(url, token) {
		await attempt('session:logout on ns:ctl disconnects without an event', async () => {
			const s = await authed(url, token);
			redis('PUBLISH', 'ns:ctl', JSON.stringify({ type: 'session:logout', tokens: [token] }));
			const why = await s.next('disconnect');
			check(why === 'io server disconnect', 'session:logout: server disconnect', why);
			check(!s.seen('session:invalidated'), 'session:logout: no session:invalidated event', JSON.stringify(s.log));
			s.close();
		});
	},

	// §3.10: the REST side bans the user (users row, then user:banned on ns:ctl, as
	// fcgi/api_report.c does): every socket of the user on every gateway gets auth:banned, then
	// DISCONNECT, and full cleanup runs at once (no grace); new handshakes are refused.
	async banned(urlA, urlB, token, user, obsToken) {
		await attempt('user:banned on ns:ctl drops the user\'s sockets with auth:banned', async () => {
			const obs = await authed(urlB, obsToken);
			const s1 = await authed(urlA, token), s2 = await authed(urlB, token);
			const sids = [s1.id, s2.id];
			s1.emit('queue:join');
			await obs.next('queue:update', (p) => p.userId === user && p.available);
			check(redisRaw('ZCARD', `ns:usocks:${user}`) === '2' && redisRaw('SISMEMBER', 'ns:online', user) === '1',
				'before the ban: two sockets registered, online', redisRaw('ZCARD', `ns:usocks:${user}`));
			execFileSync('bash', ['-c', '. "$top_srcdir/scripts/lib/stack.sh" && . "$STACK_DIR/stack.env" && ' +
				'stack_psql -qtAX -v ON_ERROR_STOP=1 -c "UPDATE users SET ban_status = \'temporary\' WHERE user_id = \'$1\'"', 'sql', user],
				{ stdio: 'ignore', timeout: 20000 });
			const t0 = Date.now();
			const heard = redis('PUBLISH', 'ns:ctl', JSON.stringify({ type: 'user:banned', userId: user }));
			check(heard === '(integer) 2', 'user:banned reaches both gateways', heard);
			for (const [k, s] of [['gateway 1', s1], ['gateway 2', s2]]) {
				const b = await s.next('auth:banned');
				check(b && b.banned === true && b.message === 'Your account has been suspended.' && Object.keys(b).length === 2,
					`socket on ${k}: auth:banned {message, banned:true}`, JSON.stringify(b));
				const why = await s.next('disconnect');
				check(why === 'io server disconnect', `socket on ${k}: then DISCONNECT from the server`, why);
			}
			const p = await obs.next('presence:update', (x) => x.userId === user && !x.online);
			const took = Date.now() - t0;
			check(p.available === false && took < GRACE_MS - 2000, 'full cleanup at once: presence:update {online:false, available:false}',
				`${JSON.stringify(p)} after ${took} ms`);
			await waitFor('after the ban: presence, queue place and registrations gone', () =>
				(redisRaw('EXISTS', `ns:presence:${user}`) === '0' && redisRaw('SISMEMBER', 'ns:online', user) === '0' &&
				redisRaw('ZSCORE', 'ns:available', user) === '' && redisRaw('ZCARD', `ns:usocks:${user}`) === '0' &&
				sids.every((sid) => redisRaw('EXISTS', `ns:sock:${sid}`) === '0')) ||
				[redisRaw('HGETALL', `ns:presence:${user}`), redisRaw('ZCARD', `ns:usocks:${user}`)].join('|'));
			check(obs.connected && !obs.seen('auth:banned'), 'another user\'s socket is left alone', JSON.stringify(obs.log));
			const again = open(urlA, { auth: { token } });
			const how = await connected(again);
			check(how === 'connect_error: Account suspended', 'after the ban: a new handshake is refused', how);
			again.close(); obs.close();
		});
	},

	async referral(url, token, user) {
		await attempt('unread notifications are replayed after the auth event', async () => {
			const s = await authed(url, token);
			s.emit('auth', { sessionToken: token });
			await s.next('auth:success');
			const n = await s.next('referral:notification');
			check(n && n.message === 'Alice wants to connect with you!' && n.notification &&
				n.notification.forUserId === user && n.notification.read === false &&
				typeof n.notification.timestamp === 'number',
				'unread notifications are replayed after the auth event', JSON.stringify(n));
			const live = { id: '11111111-1111-4111-8111-111111111111', forUserId: user, referredName: 'Bob' };
			redis('PUBLISH', 'ns:ctl', JSON.stringify({ type: 'referral:notification', userId: user, notification: live }));
			const m = await s.next('referral:notification');
			check(m && m.message === 'Bob wants to connect with you!' && m.notification.id === live.id,
				'referral:notification on ns:ctl reaches the user\'s socket', JSON.stringify(m));
			s.close();
		});
	},

	async grace(urlA, urlB, token, user, obsToken) {
		await attempt('transport loss: unavailable at once, offline after the grace', async () => {
			const obs = await authed(urlB, obsToken);
			const s = await authed(urlA, token);
			s.emit('queue:join');
			await obs.next('queue:update', (p) => p.userId === user && p.available);
			s.io.engine.transport.ws.terminate();	// no DISCONNECT, no close frame
			const lostAt = Date.now();
			const q = await obs.next('queue:update', (p) => p.userId === user && !p.available);
			check(Date.now() - lostAt < 2000, 'transport loss: queue:update available:false at once', `${Date.now() - lostAt} ms`);
			check(redisRaw('ZSCORE', 'ns:available', user) === '' && redisRaw('SISMEMBER', 'ns:online', user) === '1',
				'transport loss: not available, still online', redisRaw('HGETALL', `ns:presence:${user}`));
			void q;
			const p = await obs.next('presence:update', (x) => x.userId === user && !x.online, GRACE_MS + 3000);
			const after = Date.now() - lostAt;
			check(after >= GRACE_MS - 500 && after < GRACE_MS + 2500, 'offline broadcast after the 5 s grace', `${after} ms`);
			check(p.available === false, 'offline broadcast says available:false', JSON.stringify(p));
			check(redisRaw('EXISTS', `ns:presence:${user}`) === '0' && redisRaw('SISMEMBER', 'ns:online', user) === '0',
				'after the grace: presence removed', redisRaw('HGETALL', `ns:presence:${user}`));
			check(redisRaw('ZCARD', `ns:usocks:${user}`) === '0', 'after the grace: no socket registered', '');
			// A socket back within the grace keeps the user online.
			const t = await authed(urlA, token);
			t.io.engine.transport.ws.terminate();
			await sleep(1000);
			const back = await authed(urlB, token);
			await sleep(GRACE_MS + 1000);
			check(redisRaw('SISMEMBER', 'ns:online', user) === '1', 'a socket back within the grace keeps the user online', '');
			back.close(); obs.close();
		});
	},

	async explicit(url, token, user) {
		await attempt('explicit disconnect: offline at once', async () => {
			const s = await authed(url, token);
			s.emit('presence:join');
			await waitFor('presence:join sets online', () => redisRaw('SISMEMBER', 'ns:online', user) === '1');
			const t0 = Date.now();
			s.disconnect();
			await waitFor('explicit disconnect: offline at once (< 1.5 s)',
				() => (redisRaw('SISMEMBER', 'ns:online', user) === '0' && redisRaw('EXISTS', `ns:presence:${user}`) === '0') ||
					Date.now() - t0, 1500);
		});
	},

	async secondtab(urlA, urlB, token, user, obsToken) {
		await attempt('a second tab on another gateway: the place in the queue kept, presence debounced', async () => {
			const obs = await authed(urlB, obsToken);
			const mine = (p) => p && p.userId === user;
			const a = await authed(urlA, token);
			a.emit('presence:join');
			await obs.next('presence:update', mine);
			a.emit('queue:join');
			await obs.next('queue:update', (p) => mine(p) && p.available);
			const score = redisRaw('ZSCORE', 'ns:available', user);
			// §3.2: authenticating another socket of the user no longer resets available.
			const b = await authed(urlB, token);
			await sleep(300);
			check(redisRaw('ZSCORE', 'ns:available', user) === score && score !== '' &&
				redisRaw('HGET', `ns:presence:${user}`, 'available') === '1',
				'a second tab\'s authentication keeps the user available, at the same place',
				`score ${score} -> ${redisRaw('ZSCORE', 'ns:available', user)}`);
			check(!obs.seen('queue:update', (p) => mine(p) && !p.available),
				'... and no queue:update available:false is sent for it', JSON.stringify(obs.log.slice(-4)));
			// §3.3: presence:join is broadcast at most once per 2 s per user, across gateways.
			const n = obs.log.filter((e) => e.name === 'presence:update' && mine(e.payload)).length;
			b.emit('presence:join');
			await sleep(500);
			const m = obs.log.filter((e) => e.name === 'presence:update' && mine(e.payload)).length;
			check(m === n, 'presence:join from the other gateway within 2 s is not broadcast again', `${n} -> ${m}`);
			a.close(); b.close(); obs.close();
		});
	},

	async cap(urlA, urlB, token, capText) {
		const cap = Number(capText);
		await attempt('per-user cap disconnects the oldest socket', async () => {
			const socks = [];
			for (let i = 0; i < cap; i++) { socks.push(await authed(i % 2 ? urlB : urlA, token)); await sleep(5); }
			const extra = await authed(cap % 2 ? urlB : urlA, token);
			const why = await socks[0].next('disconnect');
			check(why === 'io server disconnect', `socket ${cap + 1} of a user disconnects the oldest`, why);
			await sleep(300);
			check(socks.slice(1).every((s) => s.connected) && extra.connected, 'the other sockets stay', '');
			// The oldest is now on the other gateway: the cap crosses gateways.
			const extra2 = await authed(cap % 2 ? urlA : urlB, token);
			const why2 = await socks[1].next('disconnect');
			check(why2 === 'io server disconnect', 'the cap reaches the oldest socket on the other gateway', why2);
			[...socks, extra, extra2].forEach((s) => s.close());
		});
	},
};

const [cmd, ...args] = process.argv.slice(2);
if (!cmds[cmd]) {
	console.error(`usage: realtime_check.js ${Object.keys(cmds).join('|')} ...`);
	process.exit(2);
}
cmds[cmd](...args).then(() => process.exit(0), (e) => { fail(cmd, e.stack || e.message); process.exit(1); });
