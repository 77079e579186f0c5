#!/usr/bin/env bash
# POST /payment/webhook (contract §2.8) against signatures made by Stripe's own Node library
# (stripe.webhooks.generateTestHeaderString), through nginx with 2 workers, real PostgreSQL and
# Redis. Each verdict of ours is also compared with the library's own (constructEvent), so the
# test follows Stripe's scheme rather than our reading of it: valid, replay (same event id, new
# signature), duplicate delivery (same bytes, in sequence and concurrently), stale and future
# timestamps, wrong secret, tampered body, several v1 values (one valid; a rotated secret), a
# v0 value alongside.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

B=$T_TMP/body
WH_SECRET=whsec_lib_5f0c6d8e1b2a4c3d8e9f0a1b2c3d4e5f
OLD_SECRET=whsec_lib_rotated_away_0000000000
TOLERANCE=300	# seconds (contract §2.8, and the library's default)

t_node_ready || true
[ -d "${NODE_PATH:-/nonexistent}/stripe" ] ||
	{ echo "1..0 # SKIP the stripe npm package is not installed (npm ci in tests/integration/node)"; exit 0; }

export STRIPE_SECRET_KEY=sk_test_lib STRIPE_WEBHOOK_SECRET=$WH_SECRET
export RL_AUTH_MAX=100000 RL_API_MAX=100000
t_start_stack 2

sql() { stack_psql -qtAc "$1"; }
guest() {	# NAME: sets G_ID
	http POST "$STACK_URL/auth/guest" -H 'Content-Type: application/json' \
		--data-binary "{\"name\":\"$1\",\"gender\":\"female\"}"
	[ "$HTTP_STATUS" = 200 ] || t_bail "guest signup failed: $HTTP_STATUS $(http_body)"
	G_ID=$(json_get "$B" userId)
}
# lib CMD ARGS: Stripe's library.
#   event ID USER_ID > FILE        a checkout.session.completed event as Stripe sends it (pretty-printed)
#   sign FILE SECRET [UNIX_TIME]   the Stripe-Signature header for FILE's bytes
#   check FILE HEADER              "valid", or the first sentence of the library's error (our secret,
#                                  its default tolerance)
lib() {
	node -e '
		const fs = require("fs");
		const stripe = require("stripe")("sk_test_lib");
		const [cmd, a, b, c] = process.argv.slice(1);
		if (cmd === "event") {
			const ev = { id: a, object: "event", api_version: "2024-06-20", created: Math.floor(Date.now() / 1000),
				type: "checkout.session.completed", livemode: false, pending_webhooks: 1,
				data: { object: { id: "cs_test_" + a, object: "checkout.session", amount_total: 50, currency: "usd",
					mode: "payment", payment_status: "paid", status: "complete", payment_intent: "pi_" + a,
					client_reference_id: b, metadata: { userId: b, userName: "Café ☕" } } } };
			process.stdout.write(JSON.stringify(ev, null, 2));
		} else if (cmd === "sign") {
			const opts = { payload: fs.readFileSync(a, "utf8"), secret: b };
			if (c) opts.timestamp = Number(c);
			process.stdout.write(stripe.webhooks.generateTestHeaderString(opts));
		} else if (cmd === "check") {
			try { stripe.webhooks.constructEvent(fs.readFileSync(a), b, process.env.STRIPE_WEBHOOK_SECRET); console.log("valid"); }
			catch (e) { console.log(e.message.split("\n")[0].split(". ")[0]); }
		}' "$@"
}
# hook FILE HEADER: POST FILE's bytes with that signature.
hook() {
	http POST "$STACK_URL/payment/webhook" -H 'Content-Type: application/json' \
		-H "Stripe-Signature: $2" --data-binary @"$1"
}
now() { date +%s; }
effect() {	# USER_ID: paid_status|payment_id|own codes|uses
	sql "SELECT paid_status || '|' || coalesce(payment_id, '-') || '|' ||
	        (SELECT count(*) FROM invite_codes WHERE created_by = '$1') || '|' || invite_code_uses_remaining
	     FROM users WHERE user_id = '$1'"
}
events_with() { sql "SELECT count(*) FROM stripe_events WHERE event_id = '$1'"; }
# refused NAME FILE HEADER WANT_ERROR: the library refuses it too, and we answer 400 with WANT.
refused() {
	t_is "$(lib check "$2" "$3")" "$4" "$1: Stripe's library refuses it"
	hook "$2" "$3"
	t_is "$HTTP_STATUS|$(http_body)" "400|Webhook Error: $4" "$1: 400 'Webhook Error: $4'"
}
MISMATCH='No signatures found matching the expected signature for payload'

# ---- valid -----------------------------------------------------------------------------------
guest Ada; ADA=$G_ID
lib event evt_lib_ada "$ADA" >"$T_TMP/ada.json"
H=$(lib sign "$T_TMP/ada.json" "$WH_SECRET")
t_like "$H" '^t=[0-9]+,v1=[0-9a-f]{64}$' "the library's header: t=…,v1=<hex>"
t_is "$(lib check "$T_TMP/ada.json" "$H")" valid "the library accepts its own header"
hook "$T_TMP/ada.json" "$H"
t_is "$HTTP_STATUS|$(http_body)" '200|{"received":true}' "valid signature: 200 {received:true}"
t_is "$(effect "$ADA")|$(events_with evt_lib_ada)" "paid|pi_evt_lib_ada|1|4|1" "valid: paid, payment id, one own code, recorded once"
CODE=$(sql "SELECT my_invite_code FROM users WHERE user_id = '$ADA'")

# ---- duplicate delivery (the very same bytes and header) and replay (same id, new signature) ---
hook "$T_TMP/ada.json" "$H"
t_is "$HTTP_STATUS|$(http_body)" '200|{"received":true}' "duplicate delivery: 200"
H2=$(lib sign "$T_TMP/ada.json" "$WH_SECRET" $(($(now) - 60)))
hook "$T_TMP/ada.json" "$H2"
t_is "$HTTP_STATUS|$(http_body)" '200|{"received":true}' "replay with a fresh signature: 200"
t_is "$(effect "$ADA")|$(events_with evt_lib_ada)|$(sql "SELECT my_invite_code FROM users WHERE user_id = '$ADA'")" \
	"paid|pi_evt_lib_ada|1|4|1|$CODE" "duplicate and replay: no second effect"

# Concurrent duplicates of a new event: all answered 200, one effect.
guest Bea; BEA=$G_ID
lib event evt_lib_bea "$BEA" >"$T_TMP/bea.json"
H=$(lib sign "$T_TMP/bea.json" "$WH_SECRET")
pids=()
for k in 1 2 3 4 5 6; do
	curl -sS -o /dev/null -w '%{http_code}\n' --max-time 20 -H 'Content-Type: application/json' \
		-H "Stripe-Signature: $H" --data-binary @"$T_TMP/bea.json" "$STACK_URL/payment/webhook" >"$T_TMP/dup.$k" &
	pids+=($!)
done
wait "${pids[@]}"
t_is "$(cat "$T_TMP"/dup.* | sort | uniq -c | awk '{ print $1 "x" $2 }')" "6x200" "6 concurrent deliveries of one event: all 200"
t_is "$(effect "$BEA")|$(events_with evt_lib_bea)" "paid|pi_evt_lib_bea|1|4|1" "6 concurrent deliveries: one effect"

# ---- refused ---------------------------------------------------------------------------------
guest Cy; CY=$G_ID
lib event evt_lib_cy "$CY" >"$T_TMP/cy.json"
refused "timestamp $((TOLERANCE + 1)) s old" "$T_TMP/cy.json" "$(lib sign "$T_TMP/cy.json" "$WH_SECRET" $(($(now) - TOLERANCE - 5)))" \
	"Timestamp outside the tolerance zone"
refused "timestamp an hour old" "$T_TMP/cy.json" "$(lib sign "$T_TMP/cy.json" "$WH_SECRET" $(($(now) - 3600)))" \
	"Timestamp outside the tolerance zone"
H=$(lib sign "$T_TMP/cy.json" "$WH_SECRET" $(($(now) + TOLERANCE + 60)))
hook "$T_TMP/cy.json" "$H"
t_is "$HTTP_STATUS|$(http_body)" "400|Webhook Error: Timestamp outside the tolerance zone" \
	"timestamp $((TOLERANCE + 60)) s ahead: 400 (the contract bounds both sides)"
refused "wrong secret" "$T_TMP/cy.json" "$(lib sign "$T_TMP/cy.json" whsec_someone_else)" "$MISMATCH"
H=$(lib sign "$T_TMP/cy.json" "$WH_SECRET")
sed 's/"amount_total": 50/"amount_total": 0/' "$T_TMP/cy.json" >"$T_TMP/cy-amount.json"
t_is "$(cmp -s "$T_TMP/cy.json" "$T_TMP/cy-amount.json" && echo same || echo differs)" differs "the tampered copy differs"
refused "tampered body (amount)" "$T_TMP/cy-amount.json" "$H" "$MISMATCH"
guest Eve; EVE=$G_ID
sed "s/$CY/$EVE/g" "$T_TMP/cy.json" >"$T_TMP/cy-user.json"
refused "tampered body (another user)" "$T_TMP/cy-user.json" "$H" "$MISMATCH"
printf '%s\n' "$(cat "$T_TMP/cy.json")" >"$T_TMP/cy-nl.json"
refused "tampered body (one trailing newline)" "$T_TMP/cy-nl.json" "$H" "$MISMATCH"
refused "signature for another body" "$T_TMP/cy.json" "$(lib sign "$T_TMP/ada.json" "$WH_SECRET")" "$MISMATCH"
t_is "$(effect "$CY")|$(effect "$EVE")|$(events_with evt_lib_cy)" "unpaid|-|0|0|unpaid|-|0|0|0" "refused deliveries changed nothing"

# ---- several v1 values: any one valid is enough -------------------------------------------------
ts=$(now)
GOOD=$(lib sign "$T_TMP/cy.json" "$WH_SECRET" "$ts")
OLD=$(lib sign "$T_TMP/cy.json" "$OLD_SECRET" "$ts")
good_v1=${GOOD##*v1=} old_v1=${OLD##*v1=}
H="t=$ts,v1=$old_v1,v1=$good_v1"
t_is "$(lib check "$T_TMP/cy.json" "$H")" valid "old-secret v1 then ours: Stripe's library accepts it"
hook "$T_TMP/cy.json" "$H"
t_is "$HTTP_STATUS|$(http_body)|$(effect "$CY")" '200|{"received":true}|paid|pi_evt_lib_cy|1|4' \
	"old-secret v1 then ours: 200, paid"

guest Dan; DAN=$G_ID
lib event evt_lib_dan "$DAN" >"$T_TMP/dan.json"
ts=$(now)
GOOD=$(lib sign "$T_TMP/dan.json" "$WH_SECRET" "$ts")
good_v1=${GOOD##*v1=}
H="t=$ts,v1=$good_v1,v1=$(printf '%064d' 0),v0=$(printf 'ab%.0s' $(seq 32))"
t_is "$(lib check "$T_TMP/dan.json" "$H")" valid "ours, a bogus v1 and a v0: Stripe's library accepts it"
hook "$T_TMP/dan.json" "$H"
t_is "$HTTP_STATUS|$(effect "$DAN")" "200|paid|pi_evt_lib_dan|1|4" "ours, a bogus v1 and a v0: 200, paid"

guest Fay; FAY=$G_ID
lib event evt_lib_fay "$FAY" >"$T_TMP/fay.json"
ts=$(now)
OLD=$(lib sign "$T_TMP/fay.json" "$OLD_SECRET" "$ts")
refused "two v1 values, none valid" "$T_TMP/fay.json" "t=$ts,v1=${OLD##*v1=},v1=$(printf '%064d' 0)" "$MISMATCH"
GOOD=$(lib sign "$T_TMP/fay.json" "$WH_SECRET" "$ts")
refused "the valid value under v0 only" "$T_TMP/fay.json" "t=$ts,v0=${GOOD##*v1=}" "No signatures found with expected scheme"
t_is "$(effect "$FAY")|$(events_with evt_lib_fay)" "unpaid|-|0|0|0" "refused multi-value deliveries changed nothing"
t_done
