#!/usr/bin/env bash
# Guards (contract §1.6) and IP bans (§1.7) through nginx with two workers: every refusal with
# its exact body, bearer parsing, the exemptions of POST /auth/logout and guard B, and a
# logout seen at once by every worker despite the query cache; the guard's 401s on the room
# and profile routes after a logout and after a second login; bans and limits keyed by
# REMOTE_ADDR (§1.5, §1.8) with the ban checked first; a session-cache miss and PostgreSQL
# down (503 with Retry-After, §1.4) in /metrics.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

export RL_AUTH_MAX=100000 RL_API_MAX=100000	# this script is about guards, not limits
export BCRYPT_COST=4	# two logins below
t_start_stack 2

# Users and sessions straight in PostgreSQL, so the guards are tested on their own.
U_OK=10000000-0000-4000-8000-000000000001	# unpaid guest
U_TEMP=10000000-0000-4000-8000-000000000002	# ban_status temporary
U_PERM=10000000-0000-4000-8000-000000000003	# ban_status permanent
U_VIND=10000000-0000-4000-8000-000000000004	# vindicated: not banned
U_PAID=10000000-0000-4000-8000-000000000005	# paid
S_OK=20000000-0000-4000-8000-000000000001
S_EXP=20000000-0000-4000-8000-000000000002
S_OFF=20000000-0000-4000-8000-000000000003
S_TEMP=20000000-0000-4000-8000-000000000004
S_PERM=20000000-0000-4000-8000-000000000005
S_VIND=20000000-0000-4000-8000-000000000006
S_PAID=20000000-0000-4000-8000-000000000007
S_LOGOUT=20000000-0000-4000-8000-000000000008
S_TEMP_OFF=20000000-0000-4000-8000-000000000009
S_COLD=20000000-0000-4000-8000-00000000000a	# first used by the cache-miss check
S_DOWN=20000000-0000-4000-8000-00000000000b	# never used before PostgreSQL is stopped
UNKNOWN=30000000-0000-4000-8000-000000000001

stack_psql -qv ON_ERROR_STOP=1 >"$T_TMP/seed.log" 2>&1 <<SQL || t_bail "seeding failed: $(cat "$T_TMP/seed.log")"
INSERT INTO users (user_id, name, gender, ban_status, paid_status) VALUES
  ('$U_OK', 'Ok', 'female', 'none', 'unpaid'),
  ('$U_TEMP', 'Temp', 'male', 'temporary', 'paid'),
  ('$U_PERM', 'Perm', 'male', 'permanent', 'paid'),
  ('$U_VIND', 'Vind', 'nonbinary', 'vindicated', 'unpaid'),
  ('$U_PAID', 'Paid', 'female', 'none', 'paid');
INSERT INTO sessions (session_token, user_id, is_active, expires_at) VALUES
  ('$S_OK', '$U_OK', true, now() + interval '1 day'),
  ('$S_EXP', '$U_OK', true, now() - interval '1 second'),
  ('$S_OFF', '$U_OK', false, now() + interval '1 day'),
  ('$S_TEMP', '$U_TEMP', true, now() + interval '1 day'),
  ('$S_PERM', '$U_PERM', true, now() + interval '1 day'),
  ('$S_VIND', '$U_VIND', true, now() + interval '1 day'),
  ('$S_PAID', '$U_PAID', true, now() + interval '1 day'),
  ('$S_LOGOUT', '$U_OK', true, now() + interval '1 day'),
  ('$S_TEMP_OFF', '$U_TEMP', false, now() + interval '1 day'),
  ('$S_COLD', '$U_OK', true, now() + interval '1 day'),
  ('$S_DOWN', '$U_OK', true, now() + interval '1 day');
SQL

BODY_REQUIRED='{"error":"Authorization required"}'
BODY_INVALID='{"error":"Invalid or expired session"}'
BODY_OFF='{"error":"Session invalidated","sessionInvalidated":true,"message":"You have been logged out. Please login again."}'
BODY_BANNED='{"error":"Account suspended","banned":true,"message":"Your account has been suspended pending review."}'
BODY_PAY='{"error":"Payment required","message":"Please complete payment or use an invite code to access this feature","requiresPayment":true}'

# expect DESC STATUS BODY METHOD PATH [curl args]: status and exact body.
expect() {
	local desc=$1 status=$2 body=$3 method=$4 path=$5; shift 5
	http "$method" "$STACK_URL$path" "$@"
	t_is "$HTTP_STATUS $(http_body)" "$status $body" "$desc"
}
# allowed DESC METHOD PATH [curl args]: the guard let the request through (the handler's
# answer is not a guard refusal).
allowed() {
	local desc=$1 method=$2 path=$3; shift 3
	http "$method" "$STACK_URL$path" "$@"
	if [ "$HTTP_STATUS" = 200 ]; then t_pass "$desc"
	else t_fail "$desc" "status $HTTP_STATUS: $(http_body)"; fi
}
auth() { printf 'Authorization: %s' "$1"; }

# --- guard U on GET /user/me ---
expect "U: no Authorization header → 401 required" 401 "$BODY_REQUIRED" GET /user/me
expect "U: empty Authorization header → 401 required" 401 "$BODY_REQUIRED" GET /user/me \
	-H 'Authorization;'
# Header values arrive trimmed, so 'Bearer ' is the token "Bearer" (as in the original).
expect "U: 'Bearer ' with nothing after → 401 invalid" 401 "$BODY_INVALID" GET /user/me \
	-H "$(auth 'Bearer ')"
expect "U: token not a UUID → 401 invalid" 401 "$BODY_INVALID" GET /user/me \
	-H "$(auth 'Bearer not-a-token')"
expect "U: unknown token → 401 invalid" 401 "$BODY_INVALID" GET /user/me \
	-H "$(auth "Bearer $UNKNOWN")"
expect "U: expired session → 401 invalid" 401 "$BODY_INVALID" GET /user/me \
	-H "$(auth "Bearer $S_EXP")"
expect "U: inactive session → 401 invalidated with message" 401 "$BODY_OFF" GET /user/me \
	-H "$(auth "Bearer $S_OFF")"
expect "U: temporary ban → 403 suspended" 403 "$BODY_BANNED" GET /user/me \
	-H "$(auth "Bearer $S_TEMP")"
expect "U: permanent ban → 403 suspended" 403 "$BODY_BANNED" GET /user/me \
	-H "$(auth "Bearer $S_PERM")"
expect "U: inactive session of a banned user → 401 first (step 3 before 4)" 401 "$BODY_OFF" \
	GET /user/me -H "$(auth "Bearer $S_TEMP_OFF")"
allowed "U: valid session → 200" GET /user/me -H "$(auth "Bearer $S_OK")"
t_is "$(json_get "$T_TMP/body" userId)" "$U_OK" "U: the handler sees the session's user"
allowed "U: vindicated user is let in" GET /user/me -H "$(auth "Bearer $S_VIND")"
allowed "U: a header without the Bearer prefix is the token" GET /user/me -H "$(auth "$S_OK")"
allowed "U: scheme case-insensitive, token upper-case" GET /user/me \
	-H "$(auth "BEARER $(printf '%s' "$S_OK" | tr a-f A-F)")"
# Repeated, so both workers answer from their cache as well as from PostgreSQL.
codes=
for _ in 1 2 3 4 5 6; do
	http GET "$STACK_URL/user/me" -H "$(auth "Bearer $S_TEMP")"; codes="$codes$HTTP_STATUS "
done
t_is "$codes" "403 403 403 403 403 403 " "U: the ban holds on every repeated request"

# --- guard P on GET /room/queue ---
expect "P: unpaid → 402" 402 "$BODY_PAY" GET /room/queue -H "$(auth "Bearer $S_OK")"
expect "P: no token → 401 required" 401 "$BODY_REQUIRED" GET /room/queue
expect "P: inactive → 401 invalidated" 401 "$BODY_OFF" GET /room/queue -H "$(auth "Bearer $S_OFF")"
expect "P: banned (though paid) → 403" 403 "$BODY_BANNED" GET /room/queue \
	-H "$(auth "Bearer $S_TEMP")"
allowed "P: paid → let in" GET /room/queue -H "$(auth "Bearer $S_PAID")"

# --- guard B on POST /auth/link (token in the JSON body) ---
link() { printf '{"sessionToken":%s,"email":"b%s@example.com","password":"longenough1"}' "$1" "$RANDOM"; }
JSON=(-H 'Content-Type: application/json')
expect "B: inactive session in the body → 401 invalidated" 401 "$BODY_OFF" POST /auth/link \
	"${JSON[@]}" --data "$(link "\"$S_OFF\"")"
expect "B: banned user → 403 suspended" 403 "$BODY_BANNED" POST /auth/link "${JSON[@]}" \
	--data "$(link "\"$S_TEMP\"")"
expect "B: malformed token → 401 invalid" 401 "$BODY_INVALID" POST /auth/link "${JSON[@]}" \
	--data "$(link '"nope"')"
expect "B: expired token → 401 invalid" 401 "$BODY_INVALID" POST /auth/link "${JSON[@]}" \
	--data "$(link "\"$S_EXP\"")"
expect "B: the bearer header is not used" 401 "$BODY_INVALID" POST /auth/link "${JSON[@]}" \
	-H "$(auth "Bearer $S_OK")" --data "$(link '"nope"')"
expect "B: missing token → the handler's own 400" 400 \
	'{"error":"Session token, email, and password are required"}' POST /auth/link "${JSON[@]}" \
	--data '{"email":"x@example.com","password":"longenough1"}'
expect "B: non-string token → the handler's own 400" 400 \
	'{"error":"Session token, email, and password are required"}' POST /auth/link "${JSON[@]}" \
	--data "$(link 42)"

# --- POST /auth/logout: steps 1–2 only ---
expect "logout: no token → 401 required" 401 "$BODY_REQUIRED" POST /auth/logout
expect "logout: expired → 401 invalid" 401 "$BODY_INVALID" POST /auth/logout \
	-H "$(auth "Bearer $S_EXP")"
allowed "logout: an inactive session is accepted (idempotent)" POST /auth/logout \
	-H "$(auth "Bearer $S_OFF")"
allowed "logout: a banned user may log out" POST /auth/logout -H "$(auth "Bearer $S_PERM")"

# --- a logout is seen by every worker at once (the cache is invalidated synchronously) ---
ok=0
for _ in 1 2 3 4 5 6; do	# warm both workers' view of the cached session
	http GET "$STACK_URL/user/me" -H "$(auth "Bearer $S_LOGOUT")"; [ "$HTTP_STATUS" = 200 ] && ok=$((ok + 1))
done
t_is "$ok" 6 "cache: a valid session is accepted repeatedly"
t_is "$(stack_redis_cli --raw exists "ns:c:s:$S_LOGOUT")" 1 "cache: the session is cached in Redis"
allowed "cache: logout" POST /auth/logout -H "$(auth "Bearer $S_LOGOUT")"
codes=
for _ in 1 2 3 4 5 6; do
	http GET "$STACK_URL/user/me" -H "$(auth "Bearer $S_LOGOUT")"; codes="$codes$HTTP_STATUS "
done
t_is "$codes" "401 401 401 401 401 401 " "cache: after logout every request through any worker is refused"
t_is "$(http_body)" "$BODY_OFF" "cache: with the invalidated body"

# --- the guard's 401s on GET /room/history, GET /room/me, PUT /user/me, GET /room/reel ---
# Invalidated twice over: S_LOGOUT by the logout above, T1 by a second login of its account
# (made through the API: guest, link, login, login). T1 is used once before the second
# login, so it sits in the session cache when it is invalidated.
http POST "$STACK_URL/auth/guest" "${JSON[@]}" --data '{"name":"Twice","gender":"male"}'
G=$(json_get "$T_TMP/body" sessionToken)
http POST "$STACK_URL/auth/link" "${JSON[@]}" \
	--data "{\"sessionToken\":\"$G\",\"email\":\"twice@example.com\",\"password\":\"longenough1\"}"
t_is "$HTTP_STATUS" 200 "second login: a permanent account (guest, then link)"
relogin() {
	http POST "$STACK_URL/auth/login" "${JSON[@]}" \
		--data '{"email":"twice@example.com","password":"longenough1"}'
}
relogin; T1=$(json_get "$T_TMP/body" sessionToken)
allowed "second login: the first login's session is let in (and cached)" GET /room/me \
	-H "$(auth "Bearer $T1")"
relogin; T2=$(json_get "$T_TMP/body" sessionToken)
t_is "$HTTP_STATUS $(json_get "$T_TMP/body" sessionInvalidated)" "200 true" \
	"second login: reports the first session invalidated"
allowed "second login: the new session is let in" GET /room/me -H "$(auth "Bearer $T2")"
for rt in "GET /room/history" "GET /room/me" "PUT /user/me" "GET /room/reel"; do
	read -r m p <<<"$rt"
	body=()
	[ "$m" = PUT ] && body=("${JSON[@]}" --data '{"socials":{"site":"x"}}')
	expect "$rt: no token → 401 required" 401 "$BODY_REQUIRED" "$m" "$p" "${body[@]}"
	expect "$rt: unknown token → 401 invalid" 401 "$BODY_INVALID" "$m" "$p" "${body[@]}" \
		-H "$(auth "Bearer $UNKNOWN")"
	expect "$rt: after logout → 401 invalidated" 401 "$BODY_OFF" "$m" "$p" "${body[@]}" \
		-H "$(auth "Bearer $S_LOGOUT")"
	expect "$rt: after a second login → 401 invalidated" 401 "$BODY_OFF" "$m" "$p" "${body[@]}" \
		-H "$(auth "Bearer $T1")"
done

# --- IP bans (§1.7): every route, before limits and guards ---
# A write path bans an IP and calls api_cache_ip_bans_invalidate(); the test does the same two
# steps by hand (the generation bump + delete that function performs).
ban_cache_invalidate() {
	stack_redis_cli incr ns:c:ipbans:gen >/dev/null
	stack_redis_cli del ns:c:ipbans:all >/dev/null
}
BODY_IPBAN='{"error":"Access denied","banned":true,"message":"Your IP address has been banned from accessing this service.","reason":"test ban"}'
http GET "$STACK_URL/health"	# the ban set is cached (empty) before the ban
stack_psql -qc "INSERT INTO ip_bans (ip_address, reason) VALUES ('127.0.0.1', 'test ban')" >/dev/null
ban_cache_invalidate
expect "IP ban: GET /health → 403 with reason" 403 "$BODY_IPBAN" GET /health
expect "IP ban: unknown path → 403, not 404" 403 "$BODY_IPBAN" GET /no/such/path
expect "IP ban: before the guard (valid session) → 403" 403 "$BODY_IPBAN" GET /user/me \
	-H "$(auth "Bearer $S_OK")"
# §1.7: every request, the ban checked first, also the answers CORS gives on its own.
http OPTIONS "$STACK_URL/health" -H 'Origin: http://localhost:3000' -H 'Access-Control-Request-Method: GET'
t_is "$HTTP_STATUS $(http_body)" "403 $BODY_IPBAN" "IP ban: a CORS preflight is refused too"
http GET "$STACK_URL/health" -H 'Origin: https://evil.example'
t_is "$HTTP_STATUS $(http_body)" "403 $BODY_IPBAN" "IP ban: before the refusal of a disallowed Origin"
# §1.5: the address is REMOTE_ADDR; client headers naming another one change nothing.
expect "IP ban: X-Forwarded-For naming another address → still 403" 403 "$BODY_IPBAN" GET /health \
	-H 'X-Forwarded-For: 1.2.3.4'
expect "IP ban: X-Real-IP naming another address → still 403" 403 "$BODY_IPBAN" GET /health \
	-H 'X-Real-IP: 1.2.3.4'
# §1.7/§1.8: an address both banned and over its api limit gets the ban (checked first). The
# window is filled by hand (the limiter's fixed-window counter); the 429 below, once the ban
# is lifted, shows the address really was over the limit.
RL_KEY=ns:rl:api:127.0.0.1
stack_redis_cli set "$RL_KEY" 1000000 EX 60 >/dev/null
expect "IP ban and over the api limit → the ban's 403, not 429" 403 "$BODY_IPBAN" GET /user/me \
	-H "$(auth "Bearer $S_OK")"
codes=
for _ in 1 2 3 4 5 6; do http GET "$STACK_URL/"; codes="$codes$HTTP_STATUS "; done
t_is "$codes" "403 403 403 403 403 403 " "IP ban: refused by every worker, repeatedly (cached)"
t_like "$(stack_redis_cli --raw hget ns:c:ipbans:all 127.0.0.1)" '^rtest ban$' "IP ban: the ban set is cached in Redis"
stack_psql -qc "UPDATE ip_bans SET reason = NULL" >/dev/null
ban_cache_invalidate
expect "IP ban: a NULL reason is sent as null" 403 \
	'{"error":"Access denied","banned":true,"message":"Your IP address has been banned from accessing this service.","reason":null}' \
	GET /health
stack_psql -qc "DELETE FROM ip_bans" >/dev/null
ban_cache_invalidate
codes=
for _ in 1 2 3 4; do http GET "$STACK_URL/health"; codes="$codes$HTTP_STATUS "; done
t_is "$codes" "200 200 200 200 " "IP ban lifted: answered again"
BODY_429='{"error":"Too many requests","message":"Rate limit exceeded. Please wait 1 minute.","retryAfter":60,"retryAfterMinutes":1}'
expect "limit: the unbanned address is still over its limit → 429" 429 "$BODY_429" GET /user/me \
	-H "$(auth "Bearer $S_OK")"
expect "limit: X-Forwarded-For naming another address → still 429" 429 "$BODY_429" GET /user/me \
	-H "$(auth "Bearer $S_OK")" -H 'X-Forwarded-For: 1.2.3.4'
expect "limit: X-Real-IP naming another address → still 429" 429 "$BODY_429" GET /user/me \
	-H "$(auth "Bearer $S_OK")" -H 'X-Real-IP: 1.2.3.4'
stack_redis_cli del "$RL_KEY" >/dev/null
stack_redis_cli set ns:rl:api:1.2.3.4 1000000 EX 60 >/dev/null
allowed "limit: naming a limited address in X-Forwarded-For/X-Real-IP does not limit this client" \
	GET /user/me -H "$(auth "Bearer $S_OK")" -H 'X-Forwarded-For: 1.2.3.4' -H 'X-Real-IP: 1.2.3.4'
# Other addresses of the table do not hit 127.0.0.1.
stack_psql -qc "INSERT INTO ip_bans (ip_address, reason) VALUES ('10.1.2.3', 'other')" >/dev/null
ban_cache_invalidate
http GET "$STACK_URL/health"
t_is "$HTTP_STATUS" 200 "IP ban of another address does not apply"
http GET "$STACK_URL/health" -H 'X-Forwarded-For: 10.1.2.3' -H 'X-Real-IP: 10.1.2.3'
t_is "$HTTP_STATUS" 200 "IP ban of another address does not apply when X-Forwarded-For/X-Real-IP name it"

# --- /metrics: a cold session read is a session-cache miss, a warm one is not ---
metric() {
	curl -sS --max-time 10 "$STACK_URL/metrics" | awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'
}
MISS='napalmsky_cache_requests_total{cache="session",result="miss"}'
m0=$(metric "$MISS")
allowed "metrics: a session never used before is let in" GET /user/me -H "$(auth "Bearer $S_COLD")"
m1=$(metric "$MISS")
allowed "metrics: ... and again" GET /user/me -H "$(auth "Bearer $S_COLD")"
m2=$(metric "$MISS")
t_is "$((m1 - m0))/$((m2 - m1))" "1/0" "metrics: one session-cache miss for the cold read, none for the warm one"

# --- PostgreSQL down (last: the stack is not restarted): 503 with Retry-After, counted ---
d0=$(metric napalmsky_db_errors_total)
stack_stop_pg
expect "PostgreSQL down: an uncached session → 503" 503 '{"error":"Service unavailable"}' \
	GET /user/me -H "$(auth "Bearer $S_DOWN")"
t_is "$(http_header Retry-After)" 5 "PostgreSQL down: the 503 carries Retry-After: 5"
t_like "$(($(metric napalmsky_db_errors_total) - d0))" '^[1-9][0-9]*$' \
	"metrics: napalmsky_db_errors_total counts the PostgreSQL failure"

t_done
