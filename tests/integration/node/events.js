'use strict';
// Shared by the socket.io checkers (calls_check.js, failover_check.js, queue_coherence.js,
// realtime_check.js): a bounded wait, and the per-socket event recorder they all use.

// Resolves or rejects as p does, or rejects with a "timeout after ms ms: what" error.
function withTimeout(p, ms, what) {
	let t;
	return Promise.race([p, new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms); })])
		.finally(() => clearTimeout(t));
}

// Records every event s receives from now on in s.log (so nothing emitted right after the
// CONNECT reply is missed) and adds s.next(name, pred, ms): takes (removes from s.log) the
// first recorded match, else waits up to ms (default stepMs) for a future one. Returns the
// recorder, record(name, payload), for the caller to feed reserved events (disconnect,
// connect_error), which onAny does not see.
function track(s, stepMs) {
	s.log = [];
	s.waiters = [];
	const record = (name, payload) => {
		s.log.push({ name, payload });
		s.waiters = s.waiters.filter((w) => !(w.name === name && w.pred(payload) && (w.res(payload), true)));
	};
	s.onAny(record);
	s.next = (name, pred = () => true, ms = stepMs) => {
		const i = s.log.findIndex((e) => e.name === name && pred(e.payload));
		if (i >= 0) return Promise.resolve(s.log.splice(i, 1)[0].payload);
		return withTimeout(new Promise((res) => s.waiters.push({ name, pred, res })), ms, `event ${name}`)
			.then((p) => { const j = s.log.findIndex((e) => e.name === name && e.payload === p); if (j >= 0) s.log.splice(j, 1); return p; });
	};
	return record;
}

module.exports = { withTimeout, track };
