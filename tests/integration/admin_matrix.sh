#!/usr/bin/env bash
# Guard A on every admin route (contract §1.5, §2.7, §2.8, §2.10) through nginx with two workers,
# real PostgreSQL and Redis: each route called by an anonymous client, a plain user, a banned
# user, a banned admin-role user, an admin token and an admin-role user. Refused callers get
# 403 'Admin access required' (GET /admin/verify: 401 {valid:false}, admin tokens only) and
# change nothing; admin callers get 200.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

B=$T_TMP/body
PW='correct horse battery staple'
command -v node >/dev/null 2>&1 || { echo "1..0 # SKIP node is needed to read JSON"; exit 0; }

export RL_AUTH_MAX=100000 RL_API_MAX=100000 RL_REPORT_MAX=100000
t_start_stack 2
ADMIN=$(stack_bin napalmsky-admin) || t_bail "napalmsky-admin not built"

sql() { stack_psql -qtAc "$1"; }
err() { json_get "$B" error; }
flush_cache() { stack_redis_cli --scan --pattern 'ns:c:*' | xargs -r redis-cli -h 127.0.0.1 -p "$REDIS_PORT" DEL >/dev/null; }
guest() {	# NAME: prints "userId token"
	http POST "$STACK_URL/auth/guest" -H 'Content-Type: application/json' \
		--data-binary "{\"name\":\"$1\",\"gender\":\"male\"}"
	[ "$HTTP_STATUS" = 200 ] || t_bail "guest signup failed: $HTTP_STATUS $(http_body)"
	echo "$(json_get "$B" userId) $(json_get "$B" sessionToken)"
}
# call METHOD PATH JSON TOKEN|-: one request, the bearer token unless "-".
call() {
	local args=()
	[ "$4" = - ] || args+=(-H "Authorization: Bearer $4")
	[ "$1" = POST ] && args+=(-H 'Content-Type: application/json' --data-binary "$3")
	http "$1" "$STACK_URL$2" "${args[@]}"
}
# A victim with a pending, temporary ban record for each review; no IP addresses, so that no
# decision can ban the test client.
victim() {
	local v
	read -r v _ <<<"$(guest "Victim$1")"
	sql "INSERT INTO ban_records (user_id, user_name, ban_status, banned_reason, report_count)
	     VALUES ('$v', 'Victim$1', 'temporary', 'test', 4);
	     UPDATE users SET ban_status = 'temporary', review_status = 'pending' WHERE user_id = '$v'" >/dev/null
	echo "$v"
}

read -r PLAIN PLAIN_T <<<"$(guest Plain)"
read -r BANNED BANNED_T <<<"$(guest Banned)"
read -r ROLE ROLE_T <<<"$(guest RoleAdmin)"
read -r BROLE BROLE_T <<<"$(guest BannedRoleAdmin)"
"$ADMIN" grant-admin "$ROLE" >/dev/null || t_bail "grant-admin failed"
"$ADMIN" grant-admin "$BROLE" >/dev/null || t_bail "grant-admin failed"
sql "UPDATE users SET ban_status = 'temporary' WHERE user_id IN ('$BANNED', '$BROLE')" >/dev/null
flush_cache	# the tool and these updates write PostgreSQL only
printf '%s\n' "$PW" | "$ADMIN" create-admin ops >/dev/null 2>&1 || t_bail "create-admin failed"
http POST "$STACK_URL/admin/login" -H 'Content-Type: application/json' --data-binary "{\"username\":\"ops\",\"password\":\"$PW\"}"
ATOK=$(json_get "$B" adminToken)
[ "$HTTP_STATUS" = 200 ] || t_bail "admin login failed: $HTTP_STATUS $(http_body)"
t_is "$(sql "SELECT string_agg(role || ':' || ban_status, ',' ORDER BY name) FROM users WHERE user_id IN ('$PLAIN', '$BANNED', '$ROLE', '$BROLE')")" \
	"user:temporary,admin:temporary,user:none,admin:none" "the callers: banned, banned admin-role, plain, admin-role"

# A code for the deactivate calls, made by the admin token.
call POST /payment/admin/generate-code '{"label":"matrix"}' "$ATOK"
CODE=$(json_get "$B" code)
[ "$HTTP_STATUS" = 200 ] || t_bail "generate-code failed: $HTTP_STATUS $(http_body)"

CALLERS="anonymous:- plain:$PLAIN_T banned:$BANNED_T banned-admin-role:$BROLE_T"
# refused METHOD PATH JSON: every refused caller gets 403 'Admin access required'.
refused() {
	local c name tok
	for c in $CALLERS; do
		name=${c%%:*} tok=${c#*:}
		call "$1" "$2" "$3" "$tok"
		t_is "$HTTP_STATUS|$(http_body)" '403|{"error":"Admin access required"}' "$1 $2 as $name: 403"
	done
}
# allowed METHOD PATH JSON WHO TOKEN: 200 and a JSON object.
allowed() {
	call "$1" "$2" "$3" "$5"
	t_is "$HTTP_STATUS|$(json_type "$B" '')" "200|object" "$1 $2 as $4: 200"
}

# ---- GET /report/pending, /report/all, /report/stats --------------------------------------------
for path in /report/pending /report/all /report/stats; do
	refused GET $path ''
	allowed GET $path '' "admin token" "$ATOK"
	allowed GET $path '' "admin-role user" "$ROLE_T"
done
call GET /report/stats '' "$ROLE_T"
t_is "$(node -e 'console.log(Object.keys(JSON.parse(require("fs").readFileSync(process.argv[1]))).sort().join())' "$B")" \
	"pendingReviews,permanentBans,temporaryBans,totalBans,totalReports,vindicated" "stats: the admin sees the counters"

# ---- POST /report/review/:userId ------------------------------------------------------------------
V1=$(victim 1) V2=$(victim 2)
refused POST "/report/review/$V1" '{"decision":"vindicated"}'
t_is "$(sql "SELECT review_status || ':' || ban_status FROM ban_records WHERE user_id = '$V1'")" "pending:temporary" \
	"review: refused callers changed nothing"
call POST "/report/review/$V1" '{"decision":"vindicated"}' "$ATOK"
t_is "$HTTP_STATUS|$(json_get "$B" message)" "200|User vindicated and ban lifted" "POST /report/review as admin token: 200"
call POST "/report/review/$V2" '{"decision":"vindicated"}' "$ROLE_T"
t_is "$HTTP_STATUS|$(json_get "$B" message)" "200|User vindicated and ban lifted" "POST /report/review as admin-role user: 200"
t_is "$(sql "SELECT string_agg(review_status || ':' || ban_status || ':' || coalesce(reviewed_by, '-'), ',' ORDER BY user_name) FROM ban_records WHERE user_id IN ('$V1', '$V2')")" \
	"reviewed_vindicate:vindicated:ops,reviewed_vindicate:vindicated:$ROLE" \
	"review: persisted; reviewedBy = the admin username or the admin-role userId"

# ---- POST /payment/admin/generate-code --------------------------------------------------------------
n0=$(sql 'SELECT count(*) FROM invite_codes')
refused POST /payment/admin/generate-code '{"label":"nope"}'
t_is "$(sql 'SELECT count(*) FROM invite_codes')" "$n0" "generate-code: refused callers made no code"
allowed POST /payment/admin/generate-code '{}' "admin token" "$ATOK"
t_like "$(json_get "$B" code)" '^[A-Z0-9]{16}$' "generate-code as admin token: a code"
allowed POST /payment/admin/generate-code '{}' "admin-role user" "$ROLE_T"
t_is "$(sql "SELECT created_by FROM invite_codes WHERE code = '$(json_get "$B" code)'")" "$ROLE" \
	"generate-code as admin-role user: created by that user"

# ---- GET /payment/admin/codes ---------------------------------------------------------------------
refused GET /payment/admin/codes ''
allowed GET /payment/admin/codes '' "admin token" "$ATOK"
allowed GET /payment/admin/codes '' "admin-role user" "$ROLE_T"
t_is "$(json_get "$B" total)" "$((n0 + 2))" "codes: the admin sees every code"

# ---- POST /payment/admin/deactivate-code ----------------------------------------------------------
refused POST /payment/admin/deactivate-code "{\"code\":\"$CODE\"}"
t_is "$(sql "SELECT is_active FROM invite_codes WHERE code = '$CODE'")" t "deactivate-code: refused callers changed nothing"
allowed POST /payment/admin/deactivate-code "{\"code\":\"$CODE\"}" "admin token" "$ATOK"
t_is "$(sql "SELECT is_active FROM invite_codes WHERE code = '$CODE'")" f "deactivate-code as admin token: persisted"
allowed POST /payment/admin/deactivate-code "{\"code\":\"$CODE\"}" "admin-role user" "$ROLE_T"
t_is "$(http_body)" '{"success":true,"message":"Code deactivated"}' "deactivate-code as admin-role user: 200 body"

# ---- GET /admin/verify: admin tokens only ---------------------------------------------------------
for c in $CALLERS "admin-role:$ROLE_T"; do
	call GET /admin/verify '' "${c#*:}"
	t_is "$HTTP_STATUS|$(http_body)" '401|{"valid":false}' "GET /admin/verify as ${c%%:*}: 401 {valid:false}"
done
call GET /admin/verify '' "$ATOK"
t_is "$HTTP_STATUS|$(http_body)" '200|{"valid":true,"username":"ops"}' "GET /admin/verify as admin token: 200"

# ---- the role read fresh: revoked, then a ban of an admin-role user -------------------------------
"$ADMIN" revoke-admin "$ROLE" >/dev/null || t_bail "revoke-admin failed"
flush_cache
call GET /report/stats '' "$ROLE_T"
t_is "$HTTP_STATUS|$(err)" "403|Admin access required" "role revoked: 403"
t_done
