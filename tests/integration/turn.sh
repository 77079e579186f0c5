#!/usr/bin/env bash
# TURN (contract §2.9, §1.8 turn limiter) through nginx with 2 workers: coturn REST credentials
# recomputed here with openssl (HMAC-SHA1 of "<expiry>:<userId>" under TURN_SECRET, base64),
# the configured STUN and TURN URLs, expiry = now + TTL, /turn/status, the per-user limiter
# (after the guard: another user is not affected, a request without a token is not counted),
# and the STUN-only answer without a secret (one CGI run of the same binary).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

B=$T_TMP/body
SECRET='turn-shared-s3cret'
export TURN_SECRET=$SECRET TURN_URLS=' turn:turn.example.test:3478?transport=udp, turns:turn.example.test:5349 '
export TURN_TTL_S=7200 RL_TURN_MAX=4 RL_AUTH_MAX=100000 RL_API_MAX=100000
t_start_stack 2

guest() {	# NAME: sets G_ID and G_TOKEN
	http POST "$STACK_URL/auth/guest" -H 'Content-Type: application/json' \
		--data-binary "{\"name\":\"$1\",\"gender\":\"male\"}"
	G_ID=$(json_get "$B" userId) G_TOKEN=$(json_get "$B" sessionToken)
	[ "$HTTP_STATUS" = 200 ] || t_bail "guest signup failed: $HTTP_STATUS $(http_body)"
}
creds() { http GET "$STACK_URL/turn/credentials" -H "Authorization: Bearer $1"; }

http GET "$STACK_URL/turn/credentials"
t_is "$HTTP_STATUS|$(json_get "$B" error)" "401|Authorization required" "credentials without a token: 401"

guest Tess; U=$G_ID U_T=$G_TOKEN
before=$(date +%s)
creds "$U_T"
after=$(date +%s)
t_is "$HTTP_STATUS|$(json_get "$B" provider)" "200|coturn" "credentials with a secret: coturn"
t_is "$(http_header Cache-Control)|$(http_header RateLimit-Limit)|$(http_header RateLimit-Remaining)" "no-store|4|3" \
	"credentials: no-store and the per-user limiter's headers"
t_is "$(json_get "$B" iceServers.0)|$(json_get "$B" iceServers.1)" \
	'{"urls":"stun:stun.l.google.com:19302"}|{"urls":"stun:stun1.l.google.com:19302"}' "the default STUN servers come first"
t_is "$(json_get "$B" iceServers.2.urls)" '["turn:turn.example.test:3478?transport=udp","turns:turn.example.test:5349"]' \
	"the TURN entry lists the configured URLs (trimmed)"
user=$(json_get "$B" iceServers.2.username)
expiry=${user%%:*}
t_is "${user#*:}" "$U" "username is <expiry>:<userId>"
t_ok "expiry is now + TTL ($expiry)" test "$expiry" -ge $((before + 7200)) -a "$expiry" -le $((after + 7200))
t_is "$(json_get "$B" expiresAt)" "$((expiry * 1000))" "expiresAt = expiry × 1000"
want=$(printf '%s' "$user" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64)
t_is "$(json_get "$B" iceServers.2.credential)" "$want" "credential = base64(HMAC-SHA1(secret, username))"
t_is "$(json_type "$B" iceServers.3)" missing "nothing else is offered"

http GET "$STACK_URL/turn/status" -H "Authorization: Bearer $U_T"
t_is "$HTTP_STATUS|$(json_get "$B" coturn)|$(json_get "$B" cloudflare)|$(json_get "$B" twilio)|$(json_type "$B" timestamp)" \
	"200|true|false|false|number" "status: coturn configured, no other provider"
http GET "$STACK_URL/turn/status"
t_is "$HTTP_STATUS" 401 "status without a token: 401"

# Four requests per user per window: two so far, two more pass, the fifth is refused.
creds "$U_T"; s3=$HTTP_STATUS
creds "$U_T"; s4=$HTTP_STATUS
t_is "$s3|$s4" "200|200" "third and fourth requests pass"
creds "$U_T"
t_is "$HTTP_STATUS|$(json_get "$B" error)|$(json_get "$B" message)|$(json_get "$B" retryAfter)" \
	"429|Too many TURN credential requests|Please wait before requesting new credentials|3600" "the fifth request: 429"
t_like "$(http_header Retry-After)" '^[0-9]+$' "429 carries Retry-After"
guest Uma; V_T=$G_TOKEN
creds "$V_T"
t_is "$HTTP_STATUS" 200 "the limit is per user: another user passes"
http GET "$STACK_URL/turn/credentials" -H "Authorization: Bearer 00000000-0000-4000-8000-000000000000"
t_is "$HTTP_STATUS" 401 "an unknown token is refused by the guard before the limiter"

# Without a secret: STUN only (one CGI run, the same binary and storage).
API=$(stack_bin napalmsky-api) || t_bail "napalmsky-api not built"
env -i PATH="$PATH" DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" \
	STUN_URLS='stun:stun.example.test:3478' TURN_URLS="$TURN_URLS" \
	GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 REQUEST_METHOD=GET \
	REQUEST_URI=/turn/credentials DOCUMENT_URI=/turn/credentials SCRIPT_NAME=/turn/credentials \
	HTTP_AUTHORIZATION="Bearer $V_T" REMOTE_ADDR=127.0.0.1 \
	timeout 10 "$API" </dev/null 2>>"$STACK_DIR/logs/cgi.log" | tr -d '\r' | sed '1,/^$/d' >"$B"
t_is "$(json_get "$B" provider)|$(json_get "$B" iceServers)" 'stun|[{"urls":"stun:stun.example.test:3478"}]' \
	"no secret: the configured STUN servers only"
t_done
