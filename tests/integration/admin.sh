#!/usr/bin/env bash
# Admin login, token check and logout (contract §2.10) through nginx with two workers, against
# real PostgreSQL and Redis, with accounts made by the operator tool (napalmsky-admin
# create-admin / delete-admin / grant-admin / revoke-admin): the failed-login delay (≈1 s,
# holding only the one worker), 24 h tokens that guard A accepts, tokens ended by logout,
# expiry, a password change or removal of the admin, and the admin role of a user account.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

B=$T_TMP/body
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
REPEAT=6	# requests repeated so that both workers answer
PW='correct horse battery staple'

export RL_AUTH_MAX=1000 RL_API_MAX=100000 RL_REPORT_MAX=100000
t_start_stack 2
ADMIN=$(stack_bin napalmsky-admin) || t_bail "napalmsky-admin not built"

sql() { stack_psql -qtAc "$1"; }
err() { json_get "$B" error; }
post() {	# PATH JSON [TOKEN]
	http POST "$STACK_URL$1" -H 'Content-Type: application/json' --data-binary "$2" \
		${3:+-H "Authorization: Bearer $3"}
}
get() { http GET "$STACK_URL$1" ${2:+-H "Authorization: Bearer $2"}; }
jval() { node -e 'const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const v = eval(process.argv[2]); console.log(typeof v === "string" ? v : JSON.stringify(v));' "$B" "$1"; }
body() { jval 'JSON.stringify(b)'; }
login() { post /admin/login "{\"username\":\"$1\",\"password\":\"$2\"}"; }
# login_timed USER PASSWORD: like login; LOGIN_MS = the request's wall time in ms.
login_timed() {
	local t0 t1
	t0=$(date +%s%N); login "$@"; t1=$(date +%s%N)
	LOGIN_MS=$(( (t1 - t0) / 1000000 ))
}
statuses() {	# PATH TOKEN: statuses of REPEAT GETs, counted ("6x200")
	local i out=
	for i in $(seq $REPEAT); do get "$1" "$2"; out="$out $HTTP_STATUS"; done
	printf '%s\n' $out | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = "," }'
}
flush_cache() { stack_redis_cli --scan --pattern 'ns:c:*' | xargs -r redis-cli -h 127.0.0.1 -p "$REDIS_PORT" DEL >/dev/null; }

printf '%s\n' "$PW" | "$ADMIN" create-admin root >/dev/null 2>&1 || t_bail "create-admin root failed"
printf '%s\n' "another good password" | "$ADMIN" create-admin ops.team >/dev/null 2>&1 || t_bail "create-admin ops failed"

# ==== POST /admin/login ========================================================================
for b in '{}' '{"username":"root"}' '{"password":"x"}' '{"username":"","password":"x"}' \
	'{"username":"root","password":""}' '{"username":1,"password":"x"}' '{"username":"root","password":null}'; do
	post /admin/login "$b"
	t_is "$HTTP_STATUS|$(err)" "400|Username and password required" "login: $b → 400"
done
http POST "$STACK_URL/admin/login" -H 'Content-Type: text/plain' --data-binary "{\"username\":\"root\",\"password\":\"$PW\"}"
t_is "$HTTP_STATUS|$(err)" "400|Username and password required" "login: another content type → body is {}"

login_timed nobody "$PW"
t_is "$HTTP_STATUS|$(body)" '401|{"error":"Invalid credentials"}' "login: unknown admin → 401"
t_ok "login: unknown admin answered after ≈1 s ($LOGIN_MS ms)" test "$LOGIN_MS" -ge 950 -a "$LOGIN_MS" -lt 3000
login_timed root "wrong password"
t_is "$HTTP_STATUS|$(err)" "401|Invalid credentials" "login: wrong password → 401"
t_ok "login: wrong password answered after ≈1 s, bcrypt included ($LOGIN_MS ms)" test "$LOGIN_MS" -ge 950 -a "$LOGIN_MS" -lt 3000
login_timed ROOT "$PW"
t_is "$HTTP_STATUS|$(err)" "401|Invalid credentials" "login: usernames are case-sensitive"
login_timed "bad name" "$PW"
t_is "$HTTP_STATUS|$(err)" "401|Invalid credentials" "login: a name no admin can have → 401"
t_ok "login: … also after ≈1 s ($LOGIN_MS ms)" test "$LOGIN_MS" -ge 950
post /admin/login "{\"username\":\"root\",\"password\":\"$PW\\u0000tail\"}"
t_like "$HTTP_STATUS" '^(400|401)$' "login: a password holding NUL never matches (refused as JSON or as credentials)"

# The delay holds one worker only: the other keeps answering meanwhile.
curl -s -o /dev/null --max-time 10 -H 'Content-Type: application/json' \
	--data-binary '{"username":"root","password":"nope"}' "$STACK_URL/admin/login" &
slow=$!
sleep 0.3
t0=$(date +%s%N); get /health; t1=$(date +%s%N)
t_ok "login: during a failed login's delay, another request is served at once ($(( (t1 - t0) / 1000000 )) ms)" \
	test "$HTTP_STATUS" = 200 -a $(( (t1 - t0) / 1000000 )) -lt 500
wait "$slow"

login root "$PW"
TOK=$(json_get "$B" adminToken)
t_is "$HTTP_STATUS|$(jval 'Object.keys(b).sort().join()')|$(json_get "$B" username)" "200|adminToken,username|root" "login: 200 {adminToken, username}"
t_like "$TOK" "$UUID_RE" "login: adminToken is a UUID v4"
t_is "$(http_header Cache-Control)" no-store "login: Cache-Control no-store"
t_is "$(sql "SELECT username, round(extract(epoch FROM expires_at - created_at) / 3600) FROM admin_sessions WHERE token = '$TOK'")" \
	"root|24" "login: token stored server-side, 24 h"

# ==== GET /admin/verify ========================================================================
t_is "$(statuses /admin/verify "$TOK")" "6x200" "verify: valid on both workers"
t_is "$(body)" '{"valid":true,"username":"root"}' "verify: {valid:true, username}"
get /admin/verify "$(printf '%s' "$TOK" | tr a-f A-F)"
t_is "$HTTP_STATUS" 200 "verify: token case-insensitive"
http GET "$STACK_URL/admin/verify" -H "Authorization: $TOK"
t_is "$HTTP_STATUS" 200 "verify: header without the Bearer prefix used whole"
get /admin/verify
t_is "$HTTP_STATUS|$(body)" '401|{"valid":false}' "verify: no token → 401 {valid:false}"
get /admin/verify 0badc0de-0000-4000-8000-000000000000
t_is "$HTTP_STATUS|$(body)" '401|{"valid":false}' "verify: unknown token → 401"
get /admin/verify garbage
t_is "$HTTP_STATUS|$(body)" '401|{"valid":false}' "verify: malformed token → 401"

# ==== guard A with the admin token =============================================================
t_is "$(statuses /report/stats "$TOK")" "6x200" "guard A: admin token accepted by both workers"
post /auth/guest '{"name":"Ursula","gender":"female"}'
U=$(json_get "$B" userId) U_T=$(json_get "$B" sessionToken)
get /report/stats "$U_T"
t_is "$HTTP_STATUS|$(err)" "403|Admin access required" "guard A: a plain user → 403"
get /admin/verify "$U_T"
t_is "$HTTP_STATUS|$(body)" '401|{"valid":false}' "verify: a user session is not an admin token"

# ==== the admin role of a user account =========================================================
"$ADMIN" grant-admin "$U" >/dev/null || t_bail "grant-admin failed"
flush_cache	# the tool writes PostgreSQL only
t_is "$(statuses /report/stats "$U_T")" "6x200" "guard A: admin-role user accepted by both workers"
"$ADMIN" revoke-admin "$U" >/dev/null || t_bail "revoke-admin failed"
flush_cache
get /report/stats "$U_T"
t_is "$HTTP_STATUS|$(err)" "403|Admin access required" "guard A: role revoked → 403"

# ==== expiry, logout, password change, removal ================================================
sql "UPDATE admin_sessions SET expires_at = now() - interval '1 second' WHERE token = '$TOK'" >/dev/null
get /admin/verify "$TOK"
t_is "$HTTP_STATUS|$(body)" '401|{"valid":false}' "verify: expired token → 401"
get /report/stats "$TOK"
t_is "$HTTP_STATUS|$(err)" "403|Admin access required" "guard A: expired token → 403"

login root "$PW"; TOK=$(json_get "$B" adminToken)
post /admin/logout '' "$TOK"
t_is "$HTTP_STATUS|$(body)" '200|{"success":true}' "logout: 200 {success:true}"
t_is "$(sql "SELECT count(*) FROM admin_sessions WHERE token = '$TOK'")" 0 "logout: token deleted"
get /admin/verify "$TOK"
t_is "$HTTP_STATUS" 401 "logout: the token no longer verifies"
get /report/stats "$TOK"
t_is "$HTTP_STATUS|$(err)" "403|Admin access required" "logout: guard A refuses the token"
post /admin/logout ''
t_is "$HTTP_STATUS|$(body)" '200|{"success":true}' "logout: without a token → 200"
post /admin/logout '' garbage
t_is "$HTTP_STATUS|$(body)" '200|{"success":true}' "logout: junk token → 200"

login root "$PW"; TOK=$(json_get "$B" adminToken)
login ops.team "another good password"; OPS=$(json_get "$B" adminToken)
t_is "$HTTP_STATUS|$(json_get "$B" username)" "200|ops.team" "login: a second admin"
printf '%s\n' "a brand new password" | "$ADMIN" create-admin root >/dev/null 2>&1
get /admin/verify "$TOK"
t_is "$HTTP_STATUS" 401 "password change ends the admin's tokens"
login root "$PW"
t_is "$HTTP_STATUS" 401 "password change: the old password fails"
login root "a brand new password"
NEW=$(json_get "$B" adminToken)
t_is "$HTTP_STATUS" 200 "password change: the new password works"
"$ADMIN" delete-admin ops.team >/dev/null 2>&1
get /admin/verify "$OPS"
t_is "$HTTP_STATUS|$(body)" '401|{"valid":false}' "admin removed → its token is refused"

# ==== limiter auth on /admin/* (counts responses ≥ 400 only) ===================================
get /admin/verify "$NEW"
r1=$(http_header RateLimit-Remaining)
t_is "$(http_header RateLimit-Limit)" 1000 "limiter auth applies to /admin/*"
get /admin/verify
get /admin/verify "$NEW"
r2=$(http_header RateLimit-Remaining)
t_is "$((r1 - r2))" 1 "limiter auth: the 401 counted, the 200 not"

t_done
