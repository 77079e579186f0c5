#!/usr/bin/env bash
# Payments and invite codes (contract §2.8, §4.3, §1.8 validate-code) through nginx with 2
# workers, real PostgreSQL and Redis, and a local stand-in for Stripe's API
# (stripe_standin.js, which checks every form field we send): checkout (success, Stripe error,
# Stripe timeout), the webhook (signature valid / wrong / stale / missing / malformed, replay,
# unpaid, no userId, unknown user, other types, query string, oversize, secret unset), status,
# apply-code, validate-code with its limiter, the admin code routes (admin-role user and admin
# token) and the QR image (PNG header; decoded with zbarimg when installed).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

B=$T_TMP/body
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
CODE_RE='^[A-Z0-9]{16}$'
WH_SECRET=whsec_test_0123456789abcdef
ADMIN_PW='correct horse battery staple'
FRONT=http://front.test:3000

command -v node >/dev/null 2>&1 || { echo "1..0 # SKIP node is needed for the Stripe stand-in"; exit 0; }

# The Stripe stand-in first: the workers read its address at start. It is ours to stop.
STANDIN_LOG=$T_TMP/standin.log
: >"$STANDIN_LOG"
node "$top_srcdir/tests/integration/stripe_standin.js" "$T_TMP/standin.port" "$STANDIN_LOG" \
	sk_test_payments "$FRONT" 2>"$T_TMP/standin.err" &
STANDIN_PID=$!
trap 'kill "$STANDIN_PID" 2>/dev/null; t_cleanup' EXIT
stack_wait_for 10 test -s "$T_TMP/standin.port" || t_bail "Stripe stand-in did not start: $(cat "$T_TMP/standin.err")"
export STRIPE_API_BASE=http://127.0.0.1:$(cat "$T_TMP/standin.port")
export STRIPE_SECRET_KEY=sk_test_payments STRIPE_WEBHOOK_SECRET=$WH_SECRET FRONTEND_URL=$FRONT
export RL_AUTH_MAX=100000 RL_API_MAX=100000	# only the validate-code limiter is under test
t_start_stack 2
ADMIN=$(stack_bin napalmsky-admin) || t_bail "napalmsky-admin not built"

sql() { stack_psql -qtAc "$1"; }
flush_cache() { stack_redis_cli --scan --pattern 'ns:c:*' | xargs -r redis-cli -h 127.0.0.1 -p "$REDIS_PORT" DEL >/dev/null; }
post() {	# PATH JSON [curl args...]
	local path=$1 data=$2; shift 2
	http POST "$STACK_URL$path" -H 'Content-Type: application/json' --data-binary "$data" "$@"
}
err() { json_get "$B" error; }
guest() {	# NAME: sets G_ID and G_TOKEN
	post /auth/guest "{\"name\":\"$1\",\"gender\":\"female\"}"
	G_ID=$(json_get "$B" userId) G_TOKEN=$(json_get "$B" sessionToken)
	[ "$HTTP_STATUS" = 200 ] || t_bail "guest signup failed: $HTTP_STATUS $(http_body)"
}
auth() { printf 'Authorization: Bearer %s' "$1"; }
status_of() { http GET "$STACK_URL/payment/status" -H "$(auth "$1")"; }
paid_status() { sql "SELECT paid_status FROM users WHERE user_id = '$1'"; }

# ---- create-checkout ---------------------------------------------------------------------
guest Alice; A=$G_ID A_T=$G_TOKEN
post /payment/create-checkout '' -H "$(auth "$A_T")"
t_is "$HTTP_STATUS" 200 "create-checkout: 200 from the stand-in's session"
t_like "$(json_get "$B" sessionId)" '^cs_test_[0-9]{4}$' "create-checkout: sessionId is Stripe's id"
t_is "$(json_get "$B" checkoutUrl)" "https://checkout.stripe.test/c/pay/$(json_get "$B" sessionId)" \
	"create-checkout: checkoutUrl is Stripe's url"
t_is "$(http_header Cache-Control)" no-store "create-checkout: no-store"
last_call() { tail -1 "$STANDIN_LOG"; }
t_is "$(last_call | node -e 'const l=JSON.parse(require("fs").readFileSync(0));console.log(l.ok+"|"+l.problems.join(";")+"|"+l.fields.client_reference_id+"|"+l.fields["metadata[userName]"])')" \
	"true||$A|Alice" "the stand-in saw every contract field, the user id and name"

post /payment/create-checkout ''
t_is "$HTTP_STATUS|$(err)" "401|Authorization required" "create-checkout without a token: 401"

guest StripeDown; D_T=$G_TOKEN
post /payment/create-checkout '' -H "$(auth "$D_T")"
t_is "$HTTP_STATUS|$(err)" "500|Failed to create payment session" "Stripe error: 500 'Failed to create payment session'"

guest StripeSlow; S_T=$G_TOKEN
t0=$SECONDS
HTTP_STATUS=$(curl -sS -X POST -o "$B" -w '%{http_code}' --max-time 30 -H "$(auth "$S_T")" "$STACK_URL/payment/create-checkout")
dt=$((SECONDS - t0))
t_is "$HTTP_STATUS|$(err)" "500|Failed to create payment session" "Stripe silent: 500 after the timeout"
t_like "$dt" '^(9|10|11|12|13)$' "the Stripe call gives up after about 10 s (took ${dt}s)"

# ---- webhook ------------------------------------------------------------------------------
# sig T BODY [SECRET]: the Stripe-Signature value for BODY at unix time T.
sig() {
	local hex
	hex=$(printf '%s.%s' "$1" "$2" | openssl dgst -sha256 -hmac "${3:-$WH_SECRET}" | sed 's/^.* //')
	printf 't=%s,v1=%s' "$1" "$hex"
}
# event ID TYPE PAYMENT_STATUS CLIENT_REF_JSON METADATA_JSON
event() {
	printf '{"id":"%s","object":"event","type":"%s","data":{"object":{"id":"cs_test_x","object":"checkout.session","payment_status":"%s","payment_intent":"pi_%s","client_reference_id":%s,"metadata":%s}}}' \
		"$1" "$2" "$3" "$1" "$4" "$5"
}
# hook BODY SIGNATURE|- [PATH_SUFFIX]: POST the webhook (an Origin it must ignore included).
hook() {
	local body=$1 s=$2
	local args=(-H 'Content-Type: application/json' -H 'Origin: https://evil.example' --data-binary "$body")
	[ "$s" = - ] || args+=(-H "Stripe-Signature: $s")
	http POST "$STACK_URL/payment/webhook${3:-}" "${args[@]}"
}
now() { date +%s; }
events_with() { sql "SELECT count(*) FROM stripe_events WHERE event_id = '$1'"; }

ev=$(event evt_paid_a checkout.session.completed paid "\"$A\"" '{}')
hook "$ev" "$(sig "$(now)" "$ev")"
t_is "$HTTP_STATUS|$(http_body)" '200|{"received":true}' "webhook paid: 200 {received:true}"
t_is "$(sql "SELECT paid_status, paid_at IS NOT NULL, payment_id, invite_code_uses_remaining FROM users WHERE user_id = '$A'")" \
	"paid|t|pi_evt_paid_a|4" "webhook paid: paid, paid_at, payment_id, 4 uses"
A_CODE=$(sql "SELECT my_invite_code FROM users WHERE user_id = '$A'")
t_like "$A_CODE" "$CODE_RE" "webhook paid: an own code was minted"
t_is "$(sql "SELECT type, max_uses, uses_remaining, created_by, is_active FROM invite_codes WHERE code = '$A_CODE'")" \
	"user|4|4|$A|t" "the own code: type user, 4 uses, created by the payer"
status_of "$A_T"
t_is "$(json_get "$B" paidStatus)|$(json_get "$B" myInviteCode)|$(json_get "$B" inviteCodeUsesRemaining)|$(json_get "$B" myCodeInfo)" \
	"paid|$A_CODE|4|{\"code\":\"$A_CODE\",\"usesRemaining\":4,\"maxUses\":4,\"totalUsed\":0,\"type\":\"user\"}" \
	"status: paid with the own code"
t_is "$(json_type "$B" paidAt)|$(json_type "$B" inviteCodeUsed)|$(json_get "$B" qrUnlocked)|$(json_get "$B" successfulSessions)|$(json_type "$B" qrUnlockedAt)" \
	"number|null|false|0|null" "status: paidAt, inviteCodeUsed, qrUnlocked, successfulSessions, qrUnlockedAt"
post /payment/create-checkout '' -H "$(auth "$A_T")"
t_is "$HTTP_STATUS|$(err)" "400|You have already verified access" "create-checkout when paid: 400"

hook "$ev" "$(sig "$(now)" "$ev")"
t_is "$HTTP_STATUS|$(http_body)" '200|{"received":true}' "webhook replay: 200"
t_is "$(sql "SELECT my_invite_code FROM users WHERE user_id = '$A'")|$(sql "SELECT count(*) FROM invite_codes WHERE created_by = '$A'")|$(events_with evt_paid_a)" \
	"$A_CODE|1|1" "webhook replay: no second effect"

guest Bob; Bo=$G_ID Bo_T=$G_TOKEN
ev=$(event evt_wrong checkout.session.completed paid "\"$Bo\"" '{}')
hook "$ev" "$(sig "$(now)" "$ev" whsec_not_ours)"
t_is "$HTTP_STATUS|$(http_body)" "400|Webhook Error: No signatures found matching the expected signature for payload" \
	"webhook signed with another secret: 400"
t_like "$(http_header Content-Type)" '^text/plain' "webhook errors are text/plain"
hook "$ev" "$(sig "$(now)" "$ev")x"
t_is "$HTTP_STATUS" 400 "webhook with a damaged signature: 400"
hook "$ev" "$(sig $(($(now) - 400)) "$ev")"
t_is "$HTTP_STATUS|$(http_body)" "400|Webhook Error: Timestamp outside the tolerance zone" "webhook signed 400 s ago: 400"
hook "$ev" "$(sig $(($(now) + 400)) "$ev")"
t_is "$HTTP_STATUS|$(http_body)" "400|Webhook Error: Timestamp outside the tolerance zone" "webhook signed 400 s ahead: 400"
hook "$ev" -
t_is "$HTTP_STATUS|$(http_body)" "400|Webhook Error: No stripe-signature header value was provided." "webhook without a signature: 400"
hook "$ev" "garbage"
t_is "$HTTP_STATUS|$(http_body)" "400|Webhook Error: Unable to extract timestamp and signatures from header" "malformed signature: 400"
hook "$ev" "t=$(now),v0=abcd"
t_is "$HTTP_STATUS|$(http_body)" "400|Webhook Error: No signatures found with expected scheme" "no v1 signature: 400"
t_is "$(paid_status "$Bo")|$(events_with evt_wrong)" "unpaid|0" "refused webhooks changed nothing"
t=$(now)
hook "$ev" "t=$t,v1=$(printf '0%.0s' $(seq 64)),v1=$(sig "$t" "$ev" | sed 's/.*v1=//')" '?source=dashboard'
t_is "$HTTP_STATUS|$(paid_status "$Bo")" "200|paid" "several v1 items (one valid) and a query string: accepted"

guest Carol; C=$G_ID C_T=$G_TOKEN
ev=$(event evt_unpaid checkout.session.completed unpaid "\"$C\"" '{}')
hook "$ev" "$(sig "$(now)" "$ev")"
t_is "$HTTP_STATUS|$(paid_status "$C")|$(events_with evt_unpaid)" "200|unpaid|1" "unpaid checkout: acknowledged, recorded, no effect"
ev=$(event evt_meta checkout.session.completed paid null "{\"userId\":\"$C\"}")
hook "$ev" "$(sig "$(now)" "$ev")"
t_is "$HTTP_STATUS|$(paid_status "$C")" "200|paid" "userId from metadata when client_reference_id is null"
status_of "$C_T"
t_is "$(json_get "$B" paidStatus)" paid "status read back at once through any worker"
ev=$(event evt_nouser checkout.session.completed paid null '{}')
hook "$ev" "$(sig "$(now)" "$ev")"
t_is "$HTTP_STATUS|$(http_body)|$(events_with evt_nouser)" "400|No userId in payload|0" "no userId: 400, not recorded"
ev=$(event evt_ghost checkout.session.completed paid '"5f0c6d8e-1b2a-4c3d-8e9f-0a1b2c3d4e5f"' '{}')
hook "$ev" "$(sig "$(now)" "$ev")"
t_is "$HTTP_STATUS|$(http_body)|$(events_with evt_ghost)" "500|User not found|0" "unknown user: 500, rolled back"
ev='{"id":"evt_other","object":"event","type":"customer.created","data":{"object":{}}}'
hook "$ev" "$(sig "$(now)" "$ev")"
t_is "$HTTP_STATUS|$(sql "SELECT type FROM stripe_events WHERE event_id = 'evt_other'")" "200|customer.created" "other event types: recorded and acknowledged"
ev='not json'
hook "$ev" "$(sig "$(now)" "$ev")"
t_is "$HTTP_STATUS" 400 "signed body that is not JSON: 400"
head -c $((1024 * 1024 + 10)) /dev/zero | tr '\0' ' ' >"$T_TMP/big"
http POST "$STACK_URL/payment/webhook" -H 'Content-Type: application/json' -H "Stripe-Signature: t=1,v1=00" --data-binary @"$T_TMP/big"
t_is "$HTTP_STATUS|$(err)" "413|Request body too large" "webhook over 1 MiB: 413"

# The secret unset: one CGI run of the same binary without it.
API=$(stack_bin napalmsky-api)
printf '{}' | env -i PATH="$PATH" DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" \
	GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 REQUEST_METHOD=POST \
	REQUEST_URI=/payment/webhook DOCUMENT_URI=/payment/webhook SCRIPT_NAME=/payment/webhook \
	CONTENT_LENGTH=2 CONTENT_TYPE=application/json HTTP_STRIPE_SIGNATURE="t=1,v1=00" \
	REMOTE_ADDR=127.0.0.1 timeout 10 "$API" >"$T_TMP/cgi.out" 2>>"$STACK_DIR/logs/cgi.log"
t_like "$(tr -d '\r' <"$T_TMP/cgi.out" | tr '\n' '|')" '^Status: 500 .*\|Content-Type: text/plain.*\|\|Webhook secret not configured$' \
	"webhook with no secret configured: 500 text"

# ---- admin codes ---------------------------------------------------------------------------
guest Root; R=$G_ID R_T=$G_TOKEN
"$ADMIN" grant-admin "$R" >/dev/null || t_bail "grant-admin failed"
flush_cache	# grant-admin writes PostgreSQL only
post /payment/admin/generate-code '{"label":"VIP batch"}' -H "$(auth "$C_T")"
t_is "$HTTP_STATUS|$(err)" "403|Admin access required" "generate-code as a plain user: 403"
post /payment/admin/generate-code '{"label":"  VIP batch  "}' -H "$(auth "$R_T")"
K1=$(json_get "$B" code)
t_like "$HTTP_STATUS|$K1" "^200\\|${CODE_RE#^}" "generate-code as an admin-role user: 200 with a code"
t_is "$(json_get "$B" qrCodeUrl)" "/payment/qr/$K1" "generate-code: qrCodeUrl"
t_is "$(sql "SELECT type, max_uses, uses_remaining, created_by, created_by_name, is_active FROM invite_codes WHERE code = '$K1'")" \
	"admin|-1|-1|$R|VIP batch|t" "the admin code row (label trimmed)"
post /payment/admin/generate-code '{}' -H "$(auth "$R_T")"
K2=$(json_get "$B" code)
t_is "$(sql "SELECT created_by_name FROM invite_codes WHERE code = '$K2'")" "Admin (Root)" "no label: named after the admin user"
post /payment/admin/generate-code "{\"label\":\"$(printf 'x%.0s' $(seq 101))\"}" -H "$(auth "$R_T")"
t_is "$HTTP_STATUS|$(err)" "400|Invalid label" "a 101-character label: 400"
post /payment/admin/generate-code '{"label":7}' -H "$(auth "$R_T")"
t_is "$HTTP_STATUS|$(err)" "400|Invalid label" "a label that is not a string: 400"

printf '%s\n' "$ADMIN_PW" | "$ADMIN" create-admin ops >/dev/null 2>&1 || t_bail "create-admin failed"
post /admin/login "{\"username\":\"ops\",\"password\":\"$ADMIN_PW\"}"
ATOK=$(json_get "$B" adminToken)
if [ "$HTTP_STATUS" = 200 ]; then
	post /payment/admin/generate-code '{}' -H "$(auth "$ATOK")"
	K3=$(json_get "$B" code)
	t_is "$HTTP_STATUS|$(sql "SELECT created_by IS NULL, created_by_name FROM invite_codes WHERE code = '$K3'")" \
		"200|t|Admin (ops)" "generate-code with an admin token: no creator, named after the admin"
else
	t_skip 1 "POST /admin/login not available ($HTTP_STATUS)"
fi

http GET "$STACK_URL/payment/admin/codes" -H "$(auth "$R_T")"
t_is "$HTTP_STATUS" 200 "admin codes: 200"
t_is "$(json_get "$B" total)" "$(sql 'SELECT count(*) FROM invite_codes')" "admin codes: total counts every code"
t_is "$(node -e '
	const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
	const c = d.codes.find(x => x.code === process.argv[2]);
	const sorted = d.codes.every((x, i) => i === 0 || d.codes[i - 1].createdAt >= x.createdAt);
	console.log([c.type, c.createdBy, c.maxUses, c.usesRemaining, c.totalUsed, c.isActive, typeof c.createdAt, sorted, Object.keys(c).sort().join(",")].join("|"));' "$B" "$K1")" \
	"admin|VIP batch|-1|-1|0|true|number|true|code,createdAt,createdBy,isActive,maxUses,totalUsed,type,usesRemaining" \
	"admin codes: the fields of a code, newest first"
http GET "$STACK_URL/payment/admin/codes" -H "$(auth "$A_T")"
t_is "$HTTP_STATUS" 403 "admin codes as a plain user: 403"

# ---- apply-code ------------------------------------------------------------------------------
guest Dora; Do=$G_ID Do_T=$G_TOKEN
post /payment/apply-code '{}' -H "$(auth "$Do_T")"
t_is "$HTTP_STATUS|$(err)" "400|Invite code is required" "apply-code without a code: 400"
post /payment/apply-code '{"inviteCode":"short"}' -H "$(auth "$Do_T")"
t_is "$HTTP_STATUS|$(http_body)" '403|{"error":"Invalid invite code"}' "apply-code with a malformed code: 403 Invalid invite code"
post /payment/apply-code '{"inviteCode":"ZZZZZZZZZZZZZZZZ"}' -H "$(auth "$Do_T")"
t_is "$HTTP_STATUS|$(err)" "403|Invalid invite code" "apply-code with an unknown code: 403"
lower=$(printf '%s' "$K1" | tr 'A-Z' 'a-z')
post /payment/apply-code "{\"inviteCode\":\"  $lower \"}" -H "$(auth "$Do_T")"
t_is "$HTTP_STATUS|$(http_body)" '200|{"success":true,"paidStatus":"qr_grace_period","qrUnlocked":false,"sessionsNeeded":4}' \
	"apply-code (trimmed, any case): 200"
t_is "$(sql "SELECT paid_status, invite_code_used, qr_unlocked, successful_sessions, my_invite_code IS NULL FROM users WHERE user_id = '$Do'")|$(sql "SELECT count(*) FROM invite_code_redemptions WHERE code = '$K1' AND user_id = '$Do'")" \
	"qr_grace_period|$K1|f|0|t|1" "apply-code: grace period, code recorded, no own code yet"
status_of "$Do_T"
t_is "$(json_get "$B" paidStatus)|$(json_get "$B" inviteCodeUsed)|$(json_get "$B" myCodeInfo)|$(json_get "$B" inviteCodeUsesRemaining)" \
	"qr_grace_period|$K1|null|0" "status after apply-code"
http GET "$STACK_URL/room/queue" -H "$(auth "$Do_T")"
t_is "$HTTP_STATUS" 200 "the paywall opens at once after apply-code"
post /payment/apply-code "{\"inviteCode\":\"$K1\"}" -H "$(auth "$Do_T")"
t_is "$HTTP_STATUS|$(err)" "400|You already have access" "apply-code with access: 400"
sql "UPDATE users SET paid_status = 'unpaid' WHERE user_id = '$Do'" >/dev/null
post /payment/apply-code "{\"inviteCode\":\"$K1\"}" -H "$(auth "$Do_T")"
t_is "$HTTP_STATUS|$(err)" "403|You have already used this invite code" "apply-code twice with one code: 403"
# A's own code has 4 uses: four users take them, the fifth is refused.
for n in 1 2 3 4; do
	guest "User$n"
	post /payment/apply-code "{\"inviteCode\":\"$A_CODE\"}" -H "$(auth "$G_TOKEN")"
	[ "$HTTP_STATUS" = 200 ] || t_diag "use $n of $A_CODE: $HTTP_STATUS $(http_body)"
done
t_is "$(sql "SELECT uses_remaining FROM invite_codes WHERE code = '$A_CODE'")" 0 "four redemptions used the own code up"
status_of "$A_T"
t_is "$(json_get "$B" inviteCodeUsesRemaining)|$(json_get "$B" myCodeInfo.totalUsed)" "0|4" "the owner's status counts the redemptions"
guest Fifth; F_T=$G_TOKEN
post /payment/apply-code "{\"inviteCode\":\"$A_CODE\"}" -H "$(auth "$F_T")"
t_is "$HTTP_STATUS|$(err)|$(paid_status "$G_ID")" "403|This invite code has been fully used|unpaid" "a used-up code: 403, nothing changed"

# ---- deactivate-code -------------------------------------------------------------------------
post /payment/admin/deactivate-code "{\"code\":\"$K2\"}" -H "$(auth "$A_T")"
t_is "$HTTP_STATUS" 403 "deactivate-code as a plain user: 403"
post /payment/admin/deactivate-code '{}' -H "$(auth "$R_T")"
t_is "$HTTP_STATUS|$(err)" "400|Code is required" "deactivate-code without a code: 400"
post /payment/admin/deactivate-code '{"code":"ZZZZZZZZZZZZZZZZ"}' -H "$(auth "$R_T")"
t_is "$HTTP_STATUS|$(err)" "404|Code not found" "deactivate-code of an unknown code: 404"
post /payment/admin/deactivate-code "{\"code\":\"$K2\"}" -H "$(auth "$R_T")"
t_is "$HTTP_STATUS|$(http_body)|$(sql "SELECT is_active FROM invite_codes WHERE code = '$K2'")" \
	'200|{"success":true,"message":"Code deactivated"}|f' "deactivate-code: 200, persisted"
post /payment/apply-code "{\"inviteCode\":\"$K2\"}" -H "$(auth "$F_T")"
t_is "$HTTP_STATUS|$(err)" "403|This invite code has been deactivated" "apply-code with a deactivated code: 403"

# ---- validate-code (5 attempts per IP per hour, successes included) -------------------------
post /payment/validate-code '{}'
t_is "$HTTP_STATUS|$(http_body)" '400|{"error":"Code is required"}' "validate-code without a code: 400, not counted"
post /payment/validate-code "{\"code\":\"$(printf '%s' "$K1" | tr 'A-Z' 'a-z')\"}"
t_is "$HTTP_STATUS|$(http_body)" '200|{"valid":true,"type":"admin","usesRemaining":-1,"createdBy":"VIP batch"}' "validate-code: a valid admin code"
t_is "$(http_header RateLimit-Limit)|$(http_header RateLimit-Remaining)" "5|4" "validate-code: RateLimit headers"
post /payment/validate-code '{"code":"bad!"}'
t_is "$HTTP_STATUS|$(http_body)" '400|{"error":"Invalid code format","attemptsRemaining":3}' "validate-code: bad format"
post /payment/validate-code '{"code":"ZZZZZZZZZZZZZZZZ"}'
t_is "$HTTP_STATUS|$(http_body)" '404|{"error":"Invalid invite code","attemptsRemaining":2}' "validate-code: unknown code"
post /payment/validate-code "{\"code\":\"$K2\"}"
t_is "$HTTP_STATUS|$(http_body)" '403|{"error":"This invite code has been deactivated","attemptsRemaining":1}' "validate-code: deactivated"
post /payment/validate-code "{\"code\":\"$A_CODE\"}"
t_is "$HTTP_STATUS|$(http_body)" '403|{"error":"This invite code has been fully used","attemptsRemaining":0}' "validate-code: used up"
post /payment/validate-code "{\"code\":\"$K1\"}"
t_is "$HTTP_STATUS|$(err)|$(json_get "$B" message)" "429|Too many attempts|Please wait 60 minutes before trying again" \
	"validate-code: the sixth attempt is refused"
ra=$(json_get "$B" retryAfter)
t_like "$ra" '^3[0-9]{6}$' "validate-code 429: retryAfter in ms ($ra)"
t_like "$(http_header Retry-After)" '^3[0-9]{3}$' "validate-code 429: Retry-After header"
post /payment/validate-code '{"code":5}'
t_is "$HTTP_STATUS|$(err)" "400|Code is required" "validate-code with a non-string code: 400, even when limited"

# ---- QR ----------------------------------------------------------------------------------------
http GET "$STACK_URL/payment/qr/$K1"
cp "$B" "$T_TMP/qr.png"
t_is "$HTTP_STATUS|$(http_header Content-Type)|$(http_header Cache-Control)" "200|image/png|public, max-age=86400" "QR: 200 image/png, cacheable"
t_is "$(http_header Content-Length)" "$(stat -c %s "$T_TMP/qr.png")" "QR: Content-Length is the image size"
t_is "$(od -An -tx1 -N8 "$T_TMP/qr.png" | tr -d ' \n')" 89504e470d0a1a0a "QR: PNG signature"
t_is "$(od -An -tu1 -j16 -N8 "$T_TMP/qr.png" | awk '{ print $1*16777216 + $2*65536 + $3*256 + $4 "x" $5*16777216 + $6*65536 + $7*256 + $8 }')" \
	300x300 "QR: 300 × 300 pixels (IHDR)"
if command -v zbarimg >/dev/null 2>&1; then
	t_is "$(zbarimg -q --raw "$T_TMP/qr.png" 2>/dev/null)" "$FRONT/onboarding?inviteCode=$K1" "QR decodes to the onboarding URL"
else
	t_skip 1 "zbarimg (zbar-tools) not installed"
fi
http GET "$STACK_URL/payment/qr/$K2"
t_is "$HTTP_STATUS" 200 "QR of a deactivated code: 200"
http GET "$STACK_URL/payment/qr/ZZZZZZZZZZZZZZZZ"
t_is "$HTTP_STATUS|$(http_body)|$(http_header Content-Type)" "404|Code not found|text/plain; charset=utf-8" "QR of an unknown code: 404 text"
http GET "$STACK_URL/payment/qr/not%20a%20code!"
t_is "$HTTP_STATUS|$(http_body)" "404|Code not found" "QR of a malformed code: 404 text"

http GET "$STACK_URL/payment/status"
t_is "$HTTP_STATUS" 401 "status without a token: 401"
t_done
