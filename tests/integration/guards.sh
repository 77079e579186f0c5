#!/usr/bin/env bash
# Guards (contract §1.6) and IP bans (§1.7) through nginx with two workers: every refusal with
# its exact body, bearer parsing, the exemptions of POST /auth/logout and guard B, and a
# logout seen at once by every worker despite the query cache.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

export RL_AUTH_MAX=100000 RL_API_MAX=100000	# this script is about guards, not limits
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
  ('$S_TEMP_OFF', '$U_TEMP', false, now() + interval '1 day');
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
# Other addresses of the table do not hit 127.0.0.1.
stack_psql -qc "INSERT INTO ip_bans (ip_address, reason) VALUES ('10.1.2.3', 'other')" >/dev/null
ban_cache_invalidate
http GET "$STACK_URL/health"
t_is "$HTTP_STATUS" 200 "IP ban of another address does not apply"

t_done
