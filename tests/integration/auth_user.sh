#!/usr/bin/env bash
# Accounts and profile (contract §2.2, §2.3) through nginx with 2 workers, against real
# PostgreSQL and Redis: guest signup with and without invite and intro codes (atomic
# redemption, nothing created on failure, the intro notification published on ns:ctl), link,
# login (case-insensitive email, error order, bans, the older session refused at once by every
# worker and announced to the gateways), logout, GET/PUT /user/me, and the request rules of
# §1.3 (bad JSON, other content types, oversize bodies). bcrypt stays at cost 12 throughout;
# a hash made by another implementation (Apache's htpasswd, $2y$ renamed $2b$) must verify.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

B=$T_TMP/body
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
INVALIDATED_MSG='You have been logged out. Please login again.'
NOT_PERMANENT='This account is not permanent. Please sign up as a guest first, then link your email and password in Settings.'
REPEAT=8	# requests repeated so that both workers answer

export RL_AUTH_MAX=100000 RL_API_MAX=100000	# the limiters are not under test here
t_start_stack 2

sql() { stack_psql -qtAc "$1"; }
post() {	# PATH JSON [curl args...]
	local path=$1 data=$2; shift 2
	http POST "$STACK_URL$path" -H 'Content-Type: application/json' -A 'auth-test/1.0' \
		--data-binary "$data" "$@"
}
err() { json_get "$B" error; }
# Canonical JSON (keys sorted at every level): PostgreSQL's jsonb keeps its own key order.
JS_CANON='const canon = v => Array.isArray(v) ? v.map(canon) : v && typeof v === "object" ?
	Object.fromEntries(Object.keys(v).sort().map(k => [k, canon(v[k])])) : v;'
# json_keys: the top-level keys of the last body, sorted, comma-separated.
json_keys() { node -e 'console.log(Object.keys(JSON.parse(require("fs").readFileSync(process.argv[1]))).sort().join(","))' "$B"; }
# json_without [KEY...]: the last body, canonical and compact, without the given top-level keys.
json_without() {
	node -e "$JS_CANON"'
		const d = JSON.parse(require("fs").readFileSync(process.argv[1]));
		for (const k of process.argv.slice(2)) delete d[k];
		console.log(JSON.stringify(canon(d)));' "$B" "$@"
}
# json_canon PATH: the value at a top-level or dotted PATH of the last body, canonical.
json_canon() {
	node -e "$JS_CANON"'
		let v = JSON.parse(require("fs").readFileSync(process.argv[1]));
		for (const k of process.argv[2].split(".")) v = v == null ? undefined : v[k];
		console.log(v === undefined ? "<missing>" : JSON.stringify(canon(v)));' "$B" "$1"
}
guest() {	# NAME GENDER [EXTRA_JSON_FIELDS]: POST /auth/guest; sets G_ID and G_TOKEN
	post /auth/guest "{\"name\":\"$1\",\"gender\":\"$2\"${3:+,$3}}"
	G_ID=$(json_get "$B" userId) G_TOKEN=$(json_get "$B" sessionToken)
}
me() { http GET "$STACK_URL/user/me" -H "Authorization: Bearer $1"; }
count_users() { sql "SELECT count(*) FROM users"; }

# Control messages for the gateways, as a subscriber sees them.
CTL_LOG=$T_TMP/ctl.log
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" SUBSCRIBE ns:ctl >"$CTL_LOG" 2>&1 &
stack__record ctl-subscriber $! "$(command -v redis-cli)"	# stack_stop ends it
stack_wait_for 10 grep -q '^subscribe$' "$CTL_LOG" || t_bail "redis-cli SUBSCRIBE did not start"
# ctl_find TYPE FIELD VALUE: the latest control message of TYPE whose FIELD (dotted path, a
# list field matches when it contains VALUE) equals VALUE, compact JSON; waits up to 5 s.
ctl_find() {
	local deadline=$((SECONDS + 5)) out
	while :; do
		out=$(node -e "$JS_CANON"'
			const [log, typ, path, want] = process.argv.slice(1);
			let found;
			for (const line of require("fs").readFileSync(log, "utf8").split("\n")) {
				if (!line.startsWith("{")) continue;
				let m;
				try { m = JSON.parse(line); } catch (e) { continue; }
				if (m.type !== typ) continue;
				let v = m;
				for (const k of path.split(".")) v = v && typeof v === "object" ? v[k] : undefined;
				if (v === want || (Array.isArray(v) && v.includes(want))) found = m;
			}
			if (found) console.log(JSON.stringify(canon(found)));' "$CTL_LOG" "$@")
		if [ -n "$out" ] || [ "$SECONDS" -ge "$deadline" ]; then printf '%s' "$out"; return; fi
		sleep 0.2
	done
}

# ==== POST /auth/guest: plain signup ======================================================
guest Alice female
t_is "$HTTP_STATUS" 200 "guest: 200"
t_like "$(http_header Content-Type)" '^application/json; *charset=utf-8' "guest: JSON"
t_is "$(http_header Cache-Control)" no-store "guest: Cache-Control no-store"
t_is "$(json_keys)" "accountType,introducedTo,inviteCodeUsed,paidStatus,referralCode,requiresPayment,sessionToken,targetOnline,targetUser,userId,wasReferred" \
	"guest: exactly the contract's fields"
t_like "$G_ID" "$UUID_RE" "guest: userId is a UUID v4"
t_like "$G_TOKEN" "$UUID_RE" "guest: sessionToken is a UUID v4"
t_is "$(json_without userId sessionToken)" \
	'{"accountType":"guest","introducedTo":null,"inviteCodeUsed":null,"paidStatus":"unpaid","referralCode":null,"requiresPayment":true,"targetOnline":false,"targetUser":null,"wasReferred":false}' \
	"guest: body without codes"
ALICE=$G_ID ALICE_T1=$G_TOKEN
t_is "$(sql "SELECT name, gender, account_type, role, ban_status, paid_status, qr_unlocked, successful_sessions, email IS NULL, my_invite_code IS NULL FROM users WHERE user_id = '$ALICE'")" \
	"Alice|female|guest|user|none|unpaid|f|0|t|t" "guest: users row"
t_is "$(sql "SELECT is_active, host(ip_address), device_info, round(extract(epoch FROM expires_at - created_at) / 3600) FROM sessions WHERE session_token = '$ALICE_T1'")" \
	"t|127.0.0.1|auth-test/1.0|168" "guest: session active, 7 days, client IP, User-Agent"
t_is "$(sql "SELECT host(ip_address) FROM user_ips WHERE user_id = '$ALICE'")" 127.0.0.1 "guest: IP recorded in user_ips"

guest "  Bob  " male
BOB=$G_ID BOB_T=$G_TOKEN
t_is "$HTTP_STATUS/$(sql "SELECT name FROM users WHERE user_id = '$BOB'")" "200/Bob" "guest: name is trimmed"
post /auth/guest '{"name":"NoAgent","gender":"male"}' -H 'User-Agent:'
t_is "$(sql "SELECT s.device_info FROM sessions s JOIN users u USING (user_id) WHERE u.name = 'NoAgent'")" \
	"Unknown device" "guest: no User-Agent → 'Unknown device'"
LONG_UA=$(printf 'é%.0s' $(seq 300))
post /auth/guest '{"name":"LongAgent","gender":"male"}' -A "$LONG_UA"
t_is "$HTTP_STATUS/$(sql "SELECT char_length(s.device_info) FROM sessions s JOIN users u USING (user_id) WHERE u.name = 'LongAgent'")" \
	"200/255" "guest: a 300-character User-Agent is cut to 255 characters"
NAME50=$(printf 'ü%.0s' $(seq 50))
guest "$NAME50" nonbinary
t_is "$HTTP_STATUS/$(json_get "$B" userId | grep -c -E "$UUID_RE")" "200/1" "guest: 50-character (multi-byte) name accepted"
guest "Una" unspecified
t_is "$HTTP_STATUS" 200 "guest: gender unspecified accepted"

# ---- validation, in the contract's order -------------------------------------------------
check_400() {	# JSON WANT DESC
	post /auth/guest "$1"
	t_is "$HTTP_STATUS|$(err)" "400|$2" "guest: $3"
}
USERS_BEFORE_400=$(count_users)
check_400 '{"gender":"female"}' "Name is required" "missing name"
check_400 '{"name":"","gender":"female"}' "Name is required" "empty name"
check_400 '{"name":"   ","gender":"female"}' "Name is required" "blank name"
check_400 '{"name":null,"gender":"female"}' "Name is required" "null name"
check_400 '{"name":42,"gender":"female"}' "Name is required" "non-string name"
check_400 "{\"name\":\"$(printf 'x%.0s' $(seq 51))\",\"gender\":\"female\"}" "Name must be 1-50 characters" "51-character name"
check_400 '{"name":"a\u0007b","gender":"female"}' "Name must be 1-50 characters" "control character in name"
check_400 '{"name":"Eve"}' "Invalid gender" "missing gender"
check_400 '{"name":"Eve","gender":"other"}' "Invalid gender" "unknown gender"
check_400 '{"name":"Eve","gender":"Female"}' "Invalid gender" "gender is case-sensitive"
check_400 '{"name":"","gender":"other","inviteCode":"x"}' "Name is required" "name is checked before gender and code"
check_400 '{"name":"Eve","gender":"other","inviteCode":"x"}' "Invalid gender" "gender is checked before the code"
check_400 '{"name":"Eve","gender":"female","inviteCode":"ABC"}' "Invalid invite code format" "short invite code"
check_400 '{"name":"Eve","gender":"female","inviteCode":"ABCDEFGHIJKLMNO!"}' "Invalid invite code format" "invite code with a symbol"
check_400 '{"name":"Eve","gender":"female","inviteCode":1234567890123456}' "Invalid invite code format" "non-string invite code"
t_is "$(count_users)" "$USERS_BEFORE_400" "guest: the refused signups created no user"
post /auth/guest '{"name":"Eve","gender":"female","inviteCode":"  "}'
t_is "$HTTP_STATUS/$(json_get "$B" paidStatus)/$(json_get "$B" inviteCodeUsed)" "200/unpaid/null" \
	"guest: a blank invite code counts as absent"

# ---- §1.3 request rules ------------------------------------------------------------------
check_400 '{"name":"Eve",' "Invalid JSON" "truncated JSON → Invalid JSON"
check_400 '["name","Eve"]' "Invalid JSON" "top-level array → Invalid JSON"
check_400 '{"name":"Eve","gender":"female"} x' "Invalid JSON" "trailing garbage → Invalid JSON"
http POST "$STACK_URL/auth/guest" -H 'Content-Type: text/plain' --data-binary '{"name":"Eve","gender":"female"}'
t_is "$HTTP_STATUS|$(err)" "400|Name is required" "guest: another content type → body treated as {}"
http POST "$STACK_URL/auth/guest" -H 'Content-Type: application/json; charset=utf-8' \
	--data-binary '{"name":"Charset","gender":"female"}'
t_is "$HTTP_STATUS" 200 "guest: Content-Type parameters are allowed"
{ printf '{"name":"Big","gender":"female","pad":"'; head -c 110000 /dev/zero | tr '\0' 'x'; printf '"}'; } >"$T_TMP/big.json"
http POST "$STACK_URL/auth/guest" -H 'Content-Type: application/json' --data-binary "@$T_TMP/big.json"
t_is "$HTTP_STATUS|$(err)" "413|Request body too large" "guest: body over 100 KiB → 413"
t_is "$(sql "SELECT count(*) FROM users WHERE name = 'Big'")" 0 "guest: nothing created by the oversize body"

# ==== invite codes ==========================================================================
sql "INSERT INTO invite_codes (code, created_by_name, type, max_uses, uses_remaining) VALUES
	('ADMINCODE0000001', 'Admin (root)', 'admin', -1, -1),
	('USERCODE00000001', 'Alice', 'user', 4, 1),
	('DEADCODE00000001', 'Alice', 'user', 4, 4),
	('RACECODE00000001', 'Alice', 'user', 4, 2)" >/dev/null
sql "UPDATE invite_codes SET is_active = false WHERE code = 'DEADCODE00000001'" >/dev/null

guest Ivy female '"inviteCode":"  admincode0000001 "'
IVY=$G_ID
t_is "$HTTP_STATUS" 200 "invite: admin code (lower case, padded) accepted"
t_is "$(json_without userId sessionToken)" \
	'{"accountType":"guest","introducedTo":null,"inviteCodeUsed":"ADMINCODE0000001","paidStatus":"qr_grace_period","referralCode":null,"requiresPayment":false,"targetOnline":false,"targetUser":null,"wasReferred":false}' \
	"invite: body with a verified code"
t_is "$(sql "SELECT paid_status, invite_code_used, invite_code_uses_remaining, my_invite_code ~ '^[A-Z0-9]{16}\$' FROM users WHERE user_id = '$IVY'")" \
	"qr_grace_period|ADMINCODE0000001|4|t" "invite: user row (grace period, code used, own code with 4 uses)"
t_is "$(sql "SELECT c.type, c.max_uses, c.uses_remaining, c.created_by = u.user_id, c.created_by_name, c.is_active FROM users u JOIN invite_codes c ON c.code = u.my_invite_code WHERE u.user_id = '$IVY'")" \
	"user|4|4|t|Ivy|t" "invite: own code minted (type user, 4 uses, created by the user)"
t_is "$(sql "SELECT count(*) FROM invite_code_redemptions WHERE code = 'ADMINCODE0000001' AND user_id = '$IVY'")" 1 \
	"invite: redemption recorded"
t_is "$(sql "SELECT uses_remaining FROM invite_codes WHERE code = 'ADMINCODE0000001'")" "-1" \
	"invite: an admin code never runs out"

guest Jay male '"inviteCode":"USERCODE00000001"'
t_is "$HTTP_STATUS/$(sql "SELECT uses_remaining FROM invite_codes WHERE code = 'USERCODE00000001'")" "200/0" \
	"invite: user code redeemed, uses_remaining decremented"
check_403() {	# CODE WANT DESC
	local before
	before=$(counts)
	post /auth/guest "{\"name\":\"Kim\",\"gender\":\"female\",\"inviteCode\":\"$1\"}"
	t_is "$HTTP_STATUS|$(json_without)" "403|{\"error\":\"$2\",\"requiresPayment\":true}" "invite: $3"
	t_is "$(counts)" "$before" "invite: $3 creates nothing"
}
counts() {	# users, invite codes, redemptions, sessions
	sql "SELECT (SELECT count(*) FROM users) || '/' || (SELECT count(*) FROM invite_codes) || '/' ||
		(SELECT count(*) FROM invite_code_redemptions) || '/' || (SELECT count(*) FROM sessions)"
}
check_403 USERCODE00000001 "This invite code has been fully used" "fully used code → 403"
check_403 NOSUCHCODE000001 "Invalid invite code" "unknown code → 403"
check_403 DEADCODE00000001 "This invite code has been deactivated" "deactivated code → 403"
t_is "$(sql "SELECT count(*) FROM sessions s JOIN users u USING (user_id) WHERE u.name = 'Kim'")" 0 \
	"invite: no session left by the refused signups"

# Six signups race for a code with two uses left: exactly two win.
race_pids=()
for i in 1 2 3 4 5 6; do
	curl -sS -o "$T_TMP/race$i.body" -w '%{http_code}\n' --max-time 20 -X POST \
		-H 'Content-Type: application/json' \
		--data-binary "{\"name\":\"Racer$i\",\"gender\":\"male\",\"inviteCode\":\"RACECODE00000001\"}" \
		"$STACK_URL/auth/guest" >"$T_TMP/race$i.status" 2>/dev/null &
	race_pids+=($!)
done
wait "${race_pids[@]}"
t_is "$(cat "$T_TMP"/race*.status | sort | uniq -c | awk '{print $2 "x" $1}' | tr '\n' ' ')" "200x2 403x4 " \
	"invite race: 2 of 6 concurrent signups win a 2-use code"
t_is "$(sql "SELECT uses_remaining FROM invite_codes WHERE code = 'RACECODE00000001'")/$(sql "SELECT count(*) FROM invite_code_redemptions WHERE code = 'RACECODE00000001'")/$(sql "SELECT count(*) FROM users WHERE name LIKE 'Racer%'")" \
	"0/2/2" "invite race: 0 uses left, 2 redemptions, 2 users"

# ==== intro (referral) codes =============================================================
sql "INSERT INTO intro_codes (code, target_user_id, target_name, created_by_user_id, created_by_name)
	VALUES ('INTRO00001', '$ALICE', 'Alice', '$BOB', 'Bob')" >/dev/null
guest Carol female '"referralCode":" intro00001 "'
CAROL=$G_ID
t_is "$HTTP_STATUS" 200 "referral: signup with an intro code"
t_is "$(json_without userId sessionToken)" \
	"{\"accountType\":\"guest\",\"introducedTo\":\"Alice\",\"inviteCodeUsed\":null,\"paidStatus\":\"unpaid\",\"referralCode\":\"INTRO00001\",\"requiresPayment\":true,\"targetOnline\":false,\"targetUser\":{\"gender\":\"female\",\"name\":\"Alice\",\"selfieUrl\":null,\"userId\":\"$ALICE\",\"videoUrl\":null},\"wasReferred\":true}" \
	"referral: body names the target"
t_is "$(sql "SELECT introduced_to, introduced_by, introduced_via_code FROM users WHERE user_id = '$CAROL'")" \
	"$ALICE|$BOB|INTRO00001" "referral: introduced_to/by/via_code set"
t_is "$(sql "SELECT for_user_id, referred_name, introduced_by, introduced_by_name, read FROM referral_notifications WHERE referred_user_id = '$CAROL'")" \
	"$ALICE|Carol|$BOB|Bob|f" "referral: notification stored for the target"
NOTE_ID=$(sql "SELECT id FROM referral_notifications WHERE referred_user_id = '$CAROL'")
NOTE_TS=$(sql "SELECT (extract(epoch FROM \"timestamp\") * 1000)::bigint FROM referral_notifications WHERE referred_user_id = '$CAROL'")
t_is "$(ctl_find referral:notification notification.referredUserId "$CAROL")" \
	"{\"message\":\"Carol wants to connect with you!\",\"notification\":{\"forUserId\":\"$ALICE\",\"id\":\"$NOTE_ID\",\"introducedBy\":\"$BOB\",\"introducedByName\":\"Bob\",\"read\":false,\"referredName\":\"Carol\",\"referredUserId\":\"$CAROL\",\"timestamp\":$NOTE_TS},\"type\":\"referral:notification\",\"userId\":\"$ALICE\"}" \
	"referral: notification published on ns:ctl for the gateways"

PROBE=$top_builddir/tests/integration/presence_probe
if [ -x "$PROBE" ]; then
	REDIS_URL=$REDIS_URL "$PROBE" set "$ALICE" 1 1 >/dev/null || t_bail "presence_probe failed"
	guest Dan male '"referralCode":"INTRO00001"'
	t_is "$HTTP_STATUS/$(json_get "$B" targetOnline)" "200/true" "referral: targetOnline when the target is online and available"
	REDIS_URL=$REDIS_URL "$PROBE" set "$ALICE" 1 0 >/dev/null
	guest Dora female '"referralCode":"INTRO00001"'
	t_is "$HTTP_STATUS/$(json_get "$B" targetOnline)" "200/false" "referral: online but not available → targetOnline false"
	REDIS_URL=$REDIS_URL "$PROBE" clear "$ALICE" >/dev/null
else
	t_skip 2 "presence_probe not built"
fi
for rc in '"xx"' '"ZZZZZZZZZZ"' '12345' '"INTRO0000!"'; do
	guest Fay female "\"referralCode\":$rc"
	t_is "$HTTP_STATUS|$(json_get "$B" wasReferred)|$(json_get "$B" referralCode)|$(json_get "$B" introducedTo)" \
		"200|false|null|null" "referral: malformed or unknown code $rc is ignored"
done
guest Gil male '"referralCode":"INTRO00001","inviteCode":"ADMINCODE0000001"'
t_is "$HTTP_STATUS|$(json_get "$B" wasReferred)|$(json_get "$B" paidStatus)" "200|true|qr_grace_period" \
	"referral and invite code together"

# ==== GET /user/me ==========================================================================
me "$ALICE_T1"
t_is "$HTTP_STATUS" 200 "me: 200"
t_is "$(http_header Cache-Control)" no-store "me: Cache-Control no-store"
t_is "$(json_keys)" "accountType,createdAt,email,gender,lastSessions,name,paidStatus,selfieUrl,sessionCount,socials,streakDays,timerTotalSeconds,userId,videoUrl" \
	"me: exactly the contract's fields"
t_is "$(json_without createdAt)" \
	"{\"accountType\":\"guest\",\"email\":null,\"gender\":\"female\",\"lastSessions\":[],\"name\":\"Alice\",\"paidStatus\":\"unpaid\",\"selfieUrl\":null,\"sessionCount\":0,\"socials\":{},\"streakDays\":0,\"timerTotalSeconds\":0,\"userId\":\"$ALICE\",\"videoUrl\":null}" \
	"me: a new guest's profile"
t_is "$(json_get "$B" createdAt)" "$(sql "SELECT (extract(epoch FROM created_at) * 1000)::bigint FROM users WHERE user_id = '$ALICE'")" \
	"me: createdAt in ms"
# Metrics written straight to the row before this user's first authenticated read.
guest Mia female
sql "UPDATE users SET timer_total_seconds = 125, session_count = 2, streak_days = 3,
	selfie_url = 'http://x/uploads/selfie-a.jpg',
	last_sessions = '[{\"at\": 1700000000000, \"duration\": 60}, {\"at\": 1700000100000, \"duration\": 65}]'
	WHERE user_id = '$G_ID'" >/dev/null
me "$G_TOKEN"
t_is "$(json_get "$B" lastSessions)|$(json_get "$B" timerTotalSeconds)|$(json_get "$B" sessionCount)|$(json_get "$B" streakDays)|$(json_get "$B" selfieUrl)|$(json_get "$B" videoUrl)" \
	'[{"at":1700000000000,"duration":60},{"at":1700000100000,"duration":65}]|125|2|3|http://x/uploads/selfie-a.jpg|null' \
	"me: metrics, lastSessions as [{at, duration}], optional URLs"
http GET "$STACK_URL/user/me"
t_is "$HTTP_STATUS|$(err)" "401|Authorization required" "me: no token → 401"
me "00000000-0000-4000-8000-000000000000"
t_is "$HTTP_STATUS|$(err)" "401|Invalid or expired session" "me: unknown token → 401"

# ==== PUT /user/me ==========================================================================
put_me() { http PUT "$STACK_URL/user/me" -H "Authorization: Bearer $1" -H 'Content-Type: application/json' --data-binary "$2"; }
put_me "$ALICE_T1" '{"socials":{"instagram":"@alice","x":"alice_x"}}'
t_is "$HTTP_STATUS" 200 "put me: 200"
t_is "$(json_without)" "{\"success\":true,\"user\":{\"name\":\"Alice\",\"socials\":{\"instagram\":\"@alice\",\"x\":\"alice_x\"},\"userId\":\"$ALICE\"}}" \
	"put me: body"
t_is "$(http_header Cache-Control)" no-store "put me: Cache-Control no-store"
ok=0
for _ in $(seq $REPEAT); do
	me "$ALICE_T1"
	[ "$(json_canon socials)" = '{"instagram":"@alice","x":"alice_x"}' ] && ok=$((ok + 1))
done
t_is "$ok" "$REPEAT" "put me: every following GET (both workers) sees the new socials"
put_me "$ALICE_T1" '{"name":"Ignored"}'
t_is "$HTTP_STATUS|$(json_canon user.socials)|$(json_get "$B" user.name)" '200|{"instagram":"@alice","x":"alice_x"}|Alice' \
	"put me: socials absent → no change"
put_me "$ALICE_T1" '{"socials":{}}'
t_is "$HTTP_STATUS|$(json_get "$B" user.socials)" '200|{}' "put me: empty socials clear them"
check_socials() {	# JSON DESC
	put_me "$ALICE_T1" "$1"
	t_is "$HTTP_STATUS|$(err)" "400|Invalid socials" "put me: $2"
}
check_socials '{"socials":["a"]}' "array socials → Invalid socials"
check_socials '{"socials":"x"}' "string socials → Invalid socials"
check_socials '{"socials":{"a":1}}' "non-string value → Invalid socials"
check_socials "{\"socials\":{\"a\":\"$(printf 'v%.0s' $(seq 201))\"}}" "201-character value → Invalid socials"
check_socials "{\"socials\":{\"$(printf 'k%.0s' $(seq 33))\":\"v\"}}" "33-character key → Invalid socials"
check_socials '{"socials":{"":"v"}}' "empty key → Invalid socials"
check_socials "{\"socials\":{$(for i in $(seq 11); do printf '"k%d":"v",' "$i"; done | sed 's/,$//')}}" "11 keys → Invalid socials"
put_me "$ALICE_T1" "{\"socials\":{$(for i in $(seq 10); do printf '"k%d":"%s",' "$i" "$(printf 'v%.0s' $(seq 200))"; done | sed 's/,$//')}}"
t_is "$HTTP_STATUS" 200 "put me: 10 keys of 200-character values accepted"
put_me "$ALICE_T1" '{"socials":'
t_is "$HTTP_STATUS|$(err)" "400|Invalid JSON" "put me: bad JSON → Invalid JSON"
me "$ALICE_T1"
t_is "$(node -e 'console.log(Object.keys(JSON.parse(require("fs").readFileSync(process.argv[1])).socials).length)' "$B")" 10 \
	"put me: refused updates changed nothing"

# ==== POST /auth/link ======================================================================
link() { post /auth/link "$1"; }
link '{"email":"alice@example.com","password":"correct horse"}'
t_is "$HTTP_STATUS|$(err)" "400|Session token, email, and password are required" "link: missing sessionToken"
link '{"sessionToken":"","email":"alice@example.com","password":"correct horse"}'
t_is "$HTTP_STATUS|$(err)" "400|Session token, email, and password are required" "link: empty sessionToken"
http POST "$STACK_URL/auth/link" -H 'Content-Type: text/plain' --data-binary "{\"sessionToken\":\"$ALICE_T1\"}"
t_is "$HTTP_STATUS|$(err)" "400|Session token, email, and password are required" "link: another content type → {}"
link "{\"sessionToken\":\"$ALICE_T1\",\"password\":\"correct horse\"}"
t_is "$HTTP_STATUS|$(err)" "400|Session token, email, and password are required" "link: missing email"
link "{\"sessionToken\":\"$ALICE_T1\",\"email\":\"a@b.co\",\"password\":\"\"}"
t_is "$HTTP_STATUS|$(err)" "400|Session token, email, and password are required" "link: empty password"
link "{\"sessionToken\":\"$ALICE_T1\",\"email\":\"not-an-email\",\"password\":\"correct horse\"}"
t_is "$HTTP_STATUS|$(err)" "400|Invalid email address" "link: bad email"
link "{\"sessionToken\":\"$ALICE_T1\",\"email\":\"a@nodot\",\"password\":\"correct horse\"}"
t_is "$HTTP_STATUS|$(err)" "400|Invalid email address" "link: domain without a dot"
link "{\"sessionToken\":\"$ALICE_T1\",\"email\":\"a b@x.co\",\"password\":\"correct horse\"}"
t_is "$HTTP_STATUS|$(err)" "400|Invalid email address" "link: whitespace in the email"
link "{\"sessionToken\":\"$ALICE_T1\",\"email\":\"alice@example.com\",\"password\":\"short\"}"
t_is "$HTTP_STATUS|$(err)" "400|Password must be at least 8 characters" "link: short password"
link "{\"sessionToken\":\"$ALICE_T1\",\"email\":\"alice@example.com\",\"password\":\"$(printf 'p%.0s' $(seq 129))\"}"
t_is "$HTTP_STATUS|$(err)" "400|Password must be at most 128 characters" "link: 129-character password"
link '{"sessionToken":"00000000-0000-4000-8000-000000000000","email":"alice@example.com","password":"correct horse"}'
t_is "$HTTP_STATUS|$(err)" "401|Invalid or expired session" "link: unknown session token → 401"
t_is "$(sql "SELECT account_type FROM users WHERE user_id = '$ALICE'")" guest "link: refused requests changed nothing"

link "{\"sessionToken\":\"$ALICE_T1\",\"email\":\"  Alice@Example.COM \",\"password\":\"correct horse\"}"
t_is "$HTTP_STATUS|$(json_without)" '200|{"accountType":"permanent","success":true}' "link: 200"
t_is "$(sql "SELECT account_type, email, substr(password_hash, 1, 7), length(password_hash) FROM users WHERE user_id = '$ALICE'")" \
	'permanent|alice@example.com|$2b$12$|60' "link: permanent, email lower-cased, bcrypt \$2b\$ cost 12"
t_is "$(sql "SELECT round(extract(epoch FROM expires_at - now()) / 86400) FROM sessions WHERE session_token = '$ALICE_T1'")" 30 \
	"link: the session now expires in 30 days"
me "$ALICE_T1"
t_is "$(json_get "$B" accountType)|$(json_get "$B" email)" "permanent|alice@example.com" "link: /user/me reads the linked account at once"
link "{\"sessionToken\":\"$ALICE_T1\",\"email\":\"other@example.com\",\"password\":\"correct horse\"}"
t_is "$HTTP_STATUS|$(err)" "409|Account is already permanent" "link: second link → 409"
link "{\"sessionToken\":\"$BOB_T\",\"email\":\"ALICE@example.com\",\"password\":\"bobs password\"}"
t_is "$HTTP_STATUS|$(err)" "409|Email already registered" "link: duplicate email (other case) → 409"
t_is "$(sql "SELECT account_type, email IS NULL FROM users WHERE user_id = '$BOB'")" "guest|t" "link: the refused link left Bob a guest"

# ==== POST /auth/login =====================================================================
login() { post /auth/login "$1"; }
login '{"email":"alice@example.com"}'
t_is "$HTTP_STATUS|$(err)" "400|Email and password are required" "login: missing password"
login '{"email":"","password":"x"}'
t_is "$HTTP_STATUS|$(err)" "400|Email and password are required" "login: empty email"
login '{"email":"alice@example.com","password":""}'
t_is "$HTTP_STATUS|$(err)" "400|Email and password are required" "login: empty password"
login '{"email":["alice@example.com"],"password":"correct horse"}'
t_is "$HTTP_STATUS|$(err)" "400|Email and password are required" "login: non-string email"
login '{"email":"nobody@example.com","password":"correct horse"}'
t_is "$HTTP_STATUS|$(err)" "401|Invalid credentials - No account found with this email" "login: unknown email"
sql "UPDATE users SET email = 'guest@example.com' WHERE user_id = '$BOB'" >/dev/null
login '{"email":"guest@example.com","password":"correct horse"}'
t_is "$HTTP_STATUS|$(err)" "401|$NOT_PERMANENT" "login: an account that is not permanent"
login '{"email":"alice@example.com","password":"wrong horse"}'
t_is "$HTTP_STATUS|$(err)" "401|Invalid credentials" "login: wrong password"
login '{"email":"alice@example.com","password":"correct horse\u0000tail"}'
t_like "$HTTP_STATUS" '^40[01]$' "login: a password with NUL never matches its prefix"
t_is "$(sql "SELECT count(*) FROM sessions WHERE user_id = '$ALICE' AND is_active")" 1 "login: failures changed no session"

# Both workers have the old session in view before the login.
ok=0
for _ in $(seq $REPEAT); do me "$ALICE_T1"; [ "$HTTP_STATUS" = 200 ] && ok=$((ok + 1)); done
t_is "$ok" "$REPEAT" "login: the old session works before the login"
BEFORE_LOGIN=$(sql "SELECT clock_timestamp()")
login '{"email":" ALICE@example.com ","password":"correct horse"}'
ALICE_T2=$(json_get "$B" sessionToken)
t_is "$HTTP_STATUS" 200 "login: 200 (email case-insensitive, trimmed)"
# §5 (user_ips "recorded at guest signup and login"); the ended session's last activity.
t_is "$(sql "SELECT last_seen >= '$BEFORE_LOGIN' FROM user_ips WHERE user_id = '$ALICE' AND ip_address = '127.0.0.1'")|$(sql "SELECT last_active_at >= '$BEFORE_LOGIN' FROM sessions WHERE session_token = '$ALICE_T1'")" \
	"t|t" "login: the address recorded in user_ips again; the ended session's last_active_at is the login's"
t_is "$(http_header Cache-Control)" no-store "login: Cache-Control no-store"
t_is "$(json_keys)" "accountType,invalidatedCount,sessionInvalidated,sessionToken,user,userId" "login: exactly the contract's fields"
t_is "$(json_without sessionToken)" \
	"{\"accountType\":\"permanent\",\"invalidatedCount\":1,\"sessionInvalidated\":true,\"user\":{\"email\":\"alice@example.com\",\"name\":\"Alice\",\"selfieUrl\":null,\"videoUrl\":null},\"userId\":\"$ALICE\"}" \
	"login: body"
t_like "$ALICE_T2" "$UUID_RE" "login: new token is a UUID v4"
ok=0
for _ in $(seq $REPEAT); do
	me "$ALICE_T1"
	[ "$HTTP_STATUS|$(json_without)" = "401|{\"error\":\"Session invalidated\",\"message\":\"$INVALIDATED_MSG\",\"sessionInvalidated\":true}" ] && ok=$((ok + 1))
done
t_is "$ok" "$REPEAT" "login: the old token gets 401 sessionInvalidated on every request (both workers)"
ok=0
for _ in $(seq $REPEAT); do me "$ALICE_T2"; [ "$HTTP_STATUS" = 200 ] && ok=$((ok + 1)); done
t_is "$ok" "$REPEAT" "login: the new token works on every request"
t_is "$(sql "SELECT is_active FROM sessions WHERE session_token = '$ALICE_T1'")|$(sql "SELECT is_active, host(ip_address), device_info, round(extract(epoch FROM expires_at - created_at) / 86400) FROM sessions WHERE session_token = '$ALICE_T2'")" \
	"f|t|127.0.0.1|auth-test/1.0|30" "login: old session inactive, new one active for 30 days"
t_is "$(ctl_find session:invalidated tokens "$ALICE_T1")" "{\"tokens\":[\"$ALICE_T1\"],\"type\":\"session:invalidated\"}" \
	"login: session:invalidated published on ns:ctl with the old token"
login '{"email":"alice@example.com","password":"correct horse"}'
ALICE_T3=$(json_get "$B" sessionToken)
t_is "$HTTP_STATUS|$(json_get "$B" sessionInvalidated)|$(json_get "$B" invalidatedCount)" "200|true|1" \
	"login: a second login invalidates exactly the previous session"

# A hash made by another bcrypt implementation (APR's, via htpasswd; $2y$ is the same algorithm).
if command -v htpasswd >/dev/null 2>&1; then
	FOREIGN=$(htpasswd -bnBC 12 x 'from apache htpasswd' | cut -d: -f2 | sed 's/^\$2y\$/$2b$/')
	t_like "$FOREIGN" '^\$2b\$12\$.{53}$' "foreign hash: htpasswd made a cost-12 bcrypt hash"
	guest Hal male
	HAL=$G_ID
	sql "UPDATE users SET account_type = 'permanent', email = 'hal@example.com', password_hash = '$FOREIGN' WHERE user_id = '$HAL'" >/dev/null
	login '{"email":"hal@example.com","password":"from apache htpasswd"}'
	t_is "$HTTP_STATUS|$(json_get "$B" userId)|$(json_get "$B" sessionInvalidated)|$(json_get "$B" invalidatedCount)" \
		"200|$HAL|true|1" "foreign hash: login verifies it (and ends the guest session)"
	login '{"email":"hal@example.com","password":"from apache htpasswd!"}'
	t_is "$HTTP_STATUS|$(err)" "401|Invalid credentials" "foreign hash: a wrong password still fails"
	# A slow hash holds one worker (single-threaded) for its whole run, and the other worker
	# keeps answering. Cost 14 runs about 1 s here; an answer counts only if it came back
	# while the login was still pending, so a loaded machine slows both sides alike.
	SLOWHASH=$(htpasswd -bnBC 14 x 'slow' | cut -d: -f2 | sed 's/^\$2y\$/$2b$/')
	sql "UPDATE users SET password_hash = '$SLOWHASH' WHERE user_id = '$HAL'" >/dev/null
	curl -s -o /dev/null -X POST "$STACK_URL/auth/login" -H 'Content-Type: application/json' \
		--data '{"email":"hal@example.com","password":"a slow wrong password"}' &
	SLOW=$!
	sleep 0.2	# the login reaches a worker first (with one worker, no answer could follow)
	served=0
	while kill -0 "$SLOW" 2>/dev/null && [ "$served" -lt 5 ]; do
		http GET "$STACK_URL/health"
		[ "$HTTP_STATUS" = 200 ] && kill -0 "$SLOW" 2>/dev/null && served=$((served + 1))
	done
	wait "$SLOW"
	t_ok "a cost-14 hash holds one worker: /health answered $served times while the login was pending" \
		test "$served" -ge 1
else
	t_skip 4 "htpasswd (apache2-utils) not installed"
fi

# Bans: checked after the password, with the row's status.
guest Ned male
NED=$G_ID NED_T=$G_TOKEN
link "{\"sessionToken\":\"$NED_T\",\"email\":\"ned@example.com\",\"password\":\"neds password\"}"
t_is "$HTTP_STATUS" 200 "ban: Ned linked"
sql "UPDATE users SET ban_status = 'temporary', review_status = 'pending' WHERE user_id = '$NED'" >/dev/null
login '{"email":"ned@example.com","password":"wrong password"}'
t_is "$HTTP_STATUS|$(err)" "401|Invalid credentials" "ban: a wrong password is 401 before the ban"
login '{"email":"ned@example.com","password":"neds password"}'
t_is "$HTTP_STATUS|$(json_without)" \
	'403|{"banStatus":"temporary","banned":true,"error":"Account suspended","message":"Your account has been temporarily suspended pending review.","reviewStatus":"pending"}' \
	"ban: temporary → 403 with banStatus and reviewStatus"
sql "UPDATE users SET ban_status = 'permanent', review_status = 'reviewed_ban' WHERE user_id = '$NED'" >/dev/null
login '{"email":"ned@example.com","password":"neds password"}'
t_is "$HTTP_STATUS|$(json_without)" \
	'403|{"banStatus":"permanent","banned":true,"error":"Account suspended","message":"Your account has been permanently banned.","reviewStatus":"reviewed_ban"}' \
	"ban: permanent → 403"
t_is "$(sql "SELECT count(*) FROM sessions WHERE user_id = '$NED' AND is_active")" 1 "ban: a refused login ends no session"

# ==== POST /auth/logout ====================================================================
http POST "$STACK_URL/auth/logout" -H "Authorization: Bearer $ALICE_T3"
t_is "$HTTP_STATUS|$(json_without)" '200|{"success":true}' "logout: 200"
t_is "$(http_header Cache-Control)" no-store "logout: Cache-Control no-store"
t_is "$(sql "SELECT is_active FROM sessions WHERE session_token = '$ALICE_T3'")" f "logout: session inactive"
ok=0
for _ in $(seq $REPEAT); do me "$ALICE_T3"; [ "$HTTP_STATUS|$(err)" = "401|Session invalidated" ] && ok=$((ok + 1)); done
t_is "$ok" "$REPEAT" "logout: the token is refused at once by every worker"
t_is "$(ctl_find session:logout tokens "$ALICE_T3")" "{\"tokens\":[\"$ALICE_T3\"],\"type\":\"session:logout\"}" \
	"logout: session:logout published on ns:ctl"
http POST "$STACK_URL/auth/logout" -H "Authorization: Bearer $ALICE_T3"
t_is "$HTTP_STATUS|$(json_without)" '200|{"success":true}' "logout: idempotent on an inactive session"
http POST "$STACK_URL/auth/logout" -H "Authorization: $NED_T"
t_is "$HTTP_STATUS|$(json_without)" '200|{"success":true}' "logout: a banned user can log out (token without Bearer)"
http POST "$STACK_URL/auth/logout"
t_is "$HTTP_STATUS|$(err)" "401|Authorization required" "logout: no token → 401"
http POST "$STACK_URL/auth/logout" -H 'Authorization: Bearer not-a-token'
t_is "$HTTP_STATUS|$(err)" "401|Invalid or expired session" "logout: malformed token → 401"

t_done
