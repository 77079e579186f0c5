// stripe_standin.js: a local stand-in for Stripe's Checkout Sessions endpoint, for the
// payments test. It listens on 127.0.0.1 (a free port, written to PORT_FILE), checks the
// bearer key and every form field the contract fixes (§2.8), and answers the way Stripe
// does: 200 with a checkout.session object, or an error object with a 4xx status.
// Each request is appended to LOG_FILE as one JSON line {ok, problems, fields}.
// Special user names drive the failure paths: "StripeDown" → 500 api_error,
// "StripeSlow" → no answer for 15 s (the API's 10 s timeout must fire first).
//   node stripe_standin.js PORT_FILE LOG_FILE SECRET_KEY FRONTEND_URL
'use strict';
const http = require('http');
const fs = require('fs');

const [portFile, logFile, secretKey, frontend] = process.argv.slice(2);
if (!frontend) {
	console.error('usage: stripe_standin.js PORT_FILE LOG_FILE SECRET_KEY FRONTEND_URL');
	process.exit(2);
}

const FIXED = {
	'mode': 'payment',
	'payment_method_types[]': 'card',
	'line_items[0][price_data][currency]': 'usd',
	'line_items[0][price_data][unit_amount]': '50',
	'line_items[0][price_data][product_data][name]': 'Napalm Sky Access',
	'line_items[0][price_data][product_data][description]':
		'One-time payment for platform access + 4 friend invites',
	'line_items[0][quantity]': '1',
	'success_url': `${frontend}/payment-success?session_id={CHECKOUT_SESSION_ID}`,
	'cancel_url': `${frontend}/onboarding`,
};
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
let sessions = 0;

function problemsOf(req, fields) {
	const p = [];
	if (req.headers.authorization !== `Bearer ${secretKey}`)
		p.push(`authorization: ${req.headers.authorization}`);
	if (!/^application\/x-www-form-urlencoded/.test(req.headers['content-type'] || ''))
		p.push(`content-type: ${req.headers['content-type']}`);
	for (const [k, v] of Object.entries(FIXED))
		if (fields[k] !== v) p.push(`${k}: ${JSON.stringify(fields[k])}`);
	const uid = fields['client_reference_id'];
	if (!UUID.test(uid || '')) p.push(`client_reference_id: ${JSON.stringify(uid)}`);
	if (fields['metadata[userId]'] !== uid) p.push('metadata[userId] differs from client_reference_id');
	if (!fields['metadata[userName]']) p.push('metadata[userName] missing');
	return p;
}

function answer(res, status, obj) {
	const body = JSON.stringify(obj);
	res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
		'Request-Id': `req_${sessions}` });
	res.end(body);
}

const server = http.createServer((req, res) => {
	const chunks = [];
	req.on('data', (c) => chunks.push(c));
	req.on('end', () => {
		const raw = Buffer.concat(chunks).toString('utf8');
		const fields = {};
		const seen = new Set();
		let dup = false;
		for (const [k, v] of new URLSearchParams(raw)) {
			if (seen.has(k)) dup = true;
			seen.add(k);
			fields[k] = v;
		}
		if (req.method !== 'POST' || req.url !== '/v1/checkout/sessions') {
			answer(res, 404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${req.method}: ${req.url})` } });
			return;
		}
		const problems = problemsOf(req, fields);
		if (dup) problems.push('a field was sent twice');
		fs.appendFileSync(logFile, JSON.stringify({ ok: problems.length === 0, problems, fields }) + '\n');
		if (problems.length) {
			answer(res, 400, { error: { type: 'invalid_request_error', message: problems.join('; ') } });
			return;
		}
		const name = fields['metadata[userName]'];
		if (name === 'StripeSlow') return;	// never answers; the client must give up
		if (name === 'StripeDown') {
			answer(res, 500, { error: { type: 'api_error', message: 'An unknown error occurred' } });
			return;
		}
		sessions += 1;
		const id = `cs_test_${String(sessions).padStart(4, '0')}`;
		answer(res, 200, {
			id, object: 'checkout.session', mode: 'payment', payment_status: 'unpaid',
			client_reference_id: fields.client_reference_id, amount_total: 50, currency: 'usd',
			url: `https://checkout.stripe.test/c/pay/${id}`,
		});
	});
});
server.keepAliveTimeout = 1000;
server.listen(0, '127.0.0.1', () => {
	fs.writeFileSync(portFile + '.tmp', String(server.address().port));
	fs.renameSync(portFile + '.tmp', portFile);
});
process.on('SIGTERM', () => process.exit(0));
