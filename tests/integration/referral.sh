#!/usr/bin/env bash
# Introductions (contract §2.6, §4.5) through nginx with two workers, against real PostgreSQL
# and Redis: intro codes generated and looked up (info, target-status, direct-match), the
# notification a target gets when a newcomer signs up with the code, marking it read, the
# target's list of introductions, presence read from Redis (written by shared/presence), and
# every route's error strings.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

PROBE=$top_builddir/tests/integration/presence_probe
[ -x "$PROBE" ] || { echo "1..0 # SKIP presence_probe not built (make check builds it)"; exit 0; }

B=$T_TMP/body
CODE_RE='^[A-Z0-9]{10}$'
REPEAT=6	# lookups repeated so that both workers answer

export RL_AUTH_MAX=100000 RL_API_MAX=100000	# the limiters are not under test here
t_start_stack 2

sql() { stack_psql -qtAc "$1"; }
err() { json_get "$B" error; }
post() {	# PATH JSON [TOKEN]
	http POST "$STACK_URL$1" -H 'Content-Type: application/json' --data-binary "$2" \
		${3:+-H "Authorization: Bearer $3"}
}
get() { http GET "$STACK_URL$1" ${2:+-H "Authorization: Bearer $2"}; }
put() { http PUT "$STACK_URL$1" ${2:+-H "Authorization: Bearer $2"}; }
guest() {	# NAME GENDER [EXTRA_JSON]: sets G_ID, G_TOKEN
	post /auth/guest "{\"name\":\"$1\",\"gender\":\"$2\"${3:+,$3}}"
	[ "$HTTP_STATUS" = 200 ] || t_bail "signup of $1 failed: $HTTP_STATUS $(http_body)"
	G_ID=$(json_get "$B" userId) G_TOKEN=$(json_get "$B" sessionToken)
}
# jq-like canonical view of the body: node with b = body; prints JSON (strings raw).
jval() { node -e 'const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const v = eval(process.argv[2]); console.log(typeof v === "string" ? v : JSON.stringify(v));' "$B" "$1"; }
keys() { jval "Object.keys(${1:-b}).sort().join()"; }

guest Alice female; ALICE=$G_ID ALICE_T=$G_TOKEN
guest Bob male; BOB=$G_ID BOB_T=$G_TOKEN
sql "UPDATE users SET selfie_url = 'http://m.test/uploads/selfie-b.jpg', video_url = 'http://m.test/uploads/video-b.webm' WHERE user_id = '$BOB'" >/dev/null

# ==== POST /referral/generate ================================================================
post /referral/generate "{\"targetUserId\":\"$BOB\"}"
t_is "$HTTP_STATUS|$(err)" "401|Authorization required" "generate: guard U (no token)"
for body in '{}' '{"targetUserId":null}' '{"targetUserId":""}' '{"targetUserId":42}'; do
	post /referral/generate "$body" "$ALICE_T"
	t_is "$HTTP_STATUS|$(err)" "400|targetUserId is required" "generate: $body → required"
done
post /referral/generate '{"targetUserId":"not-a-uuid"}' "$ALICE_T"
t_is "$HTTP_STATUS|$(err)" "400|Invalid targetUserId" "generate: malformed id → Invalid targetUserId"
post /referral/generate '{"targetUserId":"0badc0de-0000-4000-8000-000000000000"}' "$ALICE_T"
t_is "$HTTP_STATUS|$(err)" "404|Target user not found" "generate: unknown target → 404"
post /referral/generate '{"targetUserId":"x"' "$ALICE_T"
t_is "$HTTP_STATUS|$(err)" "400|Invalid JSON" "generate: malformed JSON → 400"

BOB_UPPER=$(printf '%s' "$BOB" | tr a-f A-F)
post /referral/generate "{\"targetUserId\":\"$BOB_UPPER\"}" "$ALICE_T"
CODE=$(json_get "$B" referralCode)
t_is "$HTTP_STATUS|$(keys)|$(json_get "$B" targetUserName)" "200|referralCode,targetUserName|Bob" \
	"generate: 200 {referralCode, targetUserName} (upper-case id accepted)"
t_is "$(http_header Cache-Control)" no-store "generate: Cache-Control no-store"
t_like "$CODE" "$CODE_RE" "generate: 10 characters [A-Z0-9]"
t_is "$(sql "SELECT target_user_id, target_name, created_by_user_id, created_by_name, created_at > now() - interval '1 minute' FROM intro_codes WHERE code = '$CODE'")" \
	"$BOB|Bob|$ALICE|Alice|t" "generate: intro_codes row {target, names, creator, createdAt}"
post /referral/generate "{\"targetUserId\":\"$BOB\"}" "$ALICE_T"
CODE2=$(json_get "$B" referralCode)
t_is "$HTTP_STATUS/$([ "$CODE2" != "$CODE" ] && echo fresh)" "200/fresh" "generate: every call makes a new code"
# many codes: all well-formed and distinct (CSPRNG, collisions retried)
for i in $(seq 20); do post /referral/generate "{\"targetUserId\":\"$ALICE\"}" "$BOB_T"; done
t_is "$(sql "SELECT count(*), count(DISTINCT code), bool_and(code ~ '^[A-Z0-9]{10}\$') FROM intro_codes WHERE created_by_user_id = '$BOB'")" \
	"20|20|t" "generate: 20 codes, distinct and well-formed"

# ==== GET /referral/info/:code ==============================================================
ok=0
for i in $(seq $REPEAT); do
	get "/referral/info/$CODE"
	[ "$HTTP_STATUS" = 200 ] && ok=$((ok + 1))
done
t_is "$ok" "$REPEAT" "info: found by every worker right after generate"
t_is "$(keys)|$(keys b.targetUser)" "introducedBy,targetUser,targetUserName|gender,name,selfieUrl,userId,videoUrl" \
	"info: exactly the contract's fields"
t_is "$(jval '[b.targetUserName, b.introducedBy, b.targetUser.userId, b.targetUser.name, b.targetUser.gender, b.targetUser.selfieUrl, b.targetUser.videoUrl].join("|")')" \
	"Bob|Alice|$BOB|Bob|male|http://m.test/uploads/selfie-b.jpg|http://m.test/uploads/video-b.webm" \
	"info: target name, creator name, target card"
t_like "$(http_header RateLimit-Limit)" '^[0-9]+$' "info: limiter api applies (RateLimit headers)"
LOWER=$(printf '%s' "$CODE" | tr A-Z a-z)
get "/referral/info/%20$LOWER%20"
t_is "$HTTP_STATUS/$(json_get "$B" targetUserName)" "200/Bob" "info: code trimmed and upper-cased"
for c in ZZZZZZZZZZ SHORT "$CODE"X '%3F%3F'; do
	get "/referral/info/$c"
	t_is "$HTTP_STATUS|$(err)" "404|Invalid or expired referral code" "info: '$c' → 404"
done

# ==== GET /referral/target-status/:code ======================================================
get "/referral/target-status/$CODE"
t_is "$HTTP_STATUS|$(keys)" "200|introducedBy,isAvailable,isOnline,targetGender,targetName,targetSelfie,targetUserId,targetVideo" \
	"target-status: exactly the contract's fields"
t_is "$(jval '[b.targetUserId, b.targetName, b.targetGender, b.targetSelfie, b.targetVideo, b.isOnline, b.isAvailable, b.introducedBy].join("|")')" \
	"$BOB|Bob|male|http://m.test/uploads/selfie-b.jpg|http://m.test/uploads/video-b.webm|false|false|Alice" \
	"target-status: offline target"
REDIS_URL=$REDIS_URL "$PROBE" set "$BOB" 1 0 >/dev/null || t_bail "presence_probe failed"
get "/referral/target-status/$LOWER"
t_is "$(jval '[b.isOnline, b.isAvailable].join("|")')" "true|false" "target-status: online, not available (presence from Redis)"
REDIS_URL=$REDIS_URL "$PROBE" set "$BOB" 1 1 >/dev/null
get "/referral/target-status/$CODE"
t_is "$(jval '[b.isOnline, b.isAvailable].join("|")')" "true|true" "target-status: online and available"
get /referral/target-status/NOSUCHCODE
t_is "$HTTP_STATUS|$(err)" "404|Invalid referral code" "target-status: unknown code → 404"
get /referral/target-status/bad
t_is "$HTTP_STATUS|$(err)" "404|Invalid referral code" "target-status: malformed code → 404"

# ==== signup with the code: notification (§4.5) =============================================
guest Carol female "\"referralCode\":\"$LOWER\""
CAROL=$G_ID CAROL_T=$G_TOKEN
t_is "$(json_get "$B" wasReferred)/$(json_get "$B" introducedTo)" "true/Bob" "signup: Carol introduced to Bob"

# ==== POST /referral/direct-match =============================================================
post /referral/direct-match "{\"referralCode\":\"$CODE\"}"
t_is "$HTTP_STATUS|$(err)" "401|Authorization required" "direct-match: guard U"
for body in '{}' '{"referralCode":null}' '{"referralCode":""}' '{"referralCode":"   "}' '{"referralCode":7}'; do
	post /referral/direct-match "$body" "$ALICE_T"
	t_is "$HTTP_STATUS|$(err)" "400|Referral code is required" "direct-match: $body → required"
done
post /referral/direct-match '{"referralCode":"NOSUCHCODE"}' "$ALICE_T"
t_is "$HTTP_STATUS|$(err)" "404|Invalid referral code" "direct-match: unknown code → 404"
post /referral/direct-match '{"referralCode":"bad!"}' "$ALICE_T"
t_is "$HTTP_STATUS|$(err)" "404|Invalid referral code" "direct-match: malformed code → 404"
post /referral/direct-match "{\"referralCode\":\"$CODE\"}" "$ALICE_T"
t_is "$HTTP_STATUS|$(keys)|$(keys b.targetUser)" \
	"200|canCall,introducedBy,isAvailable,isOnline,success,targetUser,wasIntroduced|gender,name,selfieUrl,userId,videoUrl" \
	"direct-match: exactly the contract's fields"
t_is "$(jval '[b.success, b.targetUser.userId, b.targetUser.name, b.isOnline, b.isAvailable, b.canCall, b.wasIntroduced, b.introducedBy].join("|")')" \
	"true|$BOB|Bob|true|true|true|false|Alice" "direct-match: Alice (not introduced), target online and available → canCall"
post /referral/direct-match "{\"referralCode\":\" $LOWER \"}" "$CAROL_T"
t_is "$(jval '[b.wasIntroduced, b.canCall].join("|")')" "true|true" "direct-match: Carol was introduced to Bob"
REDIS_URL=$REDIS_URL "$PROBE" set "$BOB" 1 0 >/dev/null
post /referral/direct-match "{\"referralCode\":\"$CODE\"}" "$CAROL_T"
t_is "$(jval '[b.isOnline, b.isAvailable, b.canCall].join("|")')" "true|false|false" "direct-match: busy target → canCall false"
t_is "$(sql "SELECT count(*) FROM referral_notifications")" 1 "direct-match: no side effect"

# ==== GET /referral/notifications ===========================================================
get /referral/notifications
t_is "$HTTP_STATUS|$(err)" "401|Authorization required" "notifications: guard U"
get /referral/notifications "$BOB_T"
t_is "$HTTP_STATUS|$(keys)|$(jval 'b.notifications.length')|$(json_get "$B" unreadCount)" \
	"200|notifications,unreadCount|1|1" "notifications: Bob has one unread"
t_is "$(keys b.notifications[0])" "forUserId,id,introducedBy,introducedByName,read,referredName,referredUserId,timestamp" \
	"notifications: exactly the contract's fields"
NOTE=$(jval 'b.notifications[0].id')
t_is "$(jval '[b.notifications[0].forUserId, b.notifications[0].referredUserId, b.notifications[0].referredName, b.notifications[0].introducedBy, b.notifications[0].introducedByName, b.notifications[0].read, typeof b.notifications[0].timestamp, Math.abs(Date.now() - b.notifications[0].timestamp) < 60000].join("|")')" \
	"$BOB|$CAROL|Carol|$ALICE|Alice|false|number|true" "notifications: the notification's values (timestamp in ms)"
t_is "$(http_header Cache-Control)" no-store "notifications: Cache-Control no-store"
# a second introduction, later: newest first
post /referral/generate "{\"targetUserId\":\"$BOB\"}" "$CAROL_T"
CODE3=$(json_get "$B" referralCode)
guest Dan male "\"referralCode\":\"$CODE3\""
DAN=$G_ID
get /referral/notifications "$BOB_T"
t_is "$(jval 'b.notifications.map(n => n.referredName + ":" + n.introducedByName).join()')|$(json_get "$B" unreadCount)" \
	"Dan:Carol,Carol:Alice|2" "notifications: newest first, two unread"
get /referral/notifications "$ALICE_T"
t_is "$(jval 'JSON.stringify(b)')" '{"notifications":[],"unreadCount":0}' "notifications: none for Alice"

# ==== PUT /referral/notifications/:id/read ===================================================
put "/referral/notifications/$NOTE/read"
t_is "$HTTP_STATUS|$(err)" "401|Authorization required" "read: guard U"
put /referral/notifications/nope/read "$BOB_T"
t_is "$HTTP_STATUS|$(err)" "400|Invalid id" "read: malformed id → 400"
put "/referral/notifications/$NOTE/read" "$ALICE_T"
t_is "$HTTP_STATUS|$(jval 'JSON.stringify(b)')|$(sql "SELECT read FROM referral_notifications WHERE id = '$NOTE'")" \
	'200|{"success":true}|f' "read: someone else's id → success, nothing changes"
put /referral/notifications/0badc0de-0000-4000-8000-000000000000/read "$BOB_T"
t_is "$HTTP_STATUS|$(jval 'JSON.stringify(b)')" '200|{"success":true}' "read: unknown id → success"
put "/referral/notifications/$(printf '%s' "$NOTE" | tr a-f A-F)/read" "$BOB_T"
t_is "$HTTP_STATUS|$(sql "SELECT read FROM referral_notifications WHERE id = '$NOTE'")" "200|t" \
	"read: own notification marked read (upper-case id)"
http GET "$STACK_URL/referral/notifications/$NOTE/read" -H "Authorization: Bearer $BOB_T"
t_like "$HTTP_STATUS|$(http_header Allow)" '^405\|PUT\b' "read: GET → 405 with Allow: PUT"
get /referral/notifications "$BOB_T"
t_is "$(jval 'b.notifications.map(n => n.referredName + ":" + n.read).join()')|$(json_get "$B" unreadCount)" \
	"Dan:false,Carol:true|1" "read: read flag and unreadCount follow"

# ==== GET /referral/my-introductions ========================================================
get /referral/my-introductions
t_is "$HTTP_STATUS|$(err)" "401|Authorization required" "my-introductions: guard U"
REDIS_URL=$REDIS_URL "$PROBE" set "$CAROL" 1 1 >/dev/null
sql "UPDATE users SET selfie_url = 'http://m.test/uploads/selfie-c.jpg' WHERE user_id = '$CAROL'" >/dev/null
get /referral/my-introductions "$BOB_T"
t_is "$HTTP_STATUS|$(keys)|$(json_get "$B" count)" "200|count,introductions|2" "my-introductions: two for Bob"
t_is "$(keys b.introductions[0])" "gender,introducedBy,isAvailable,isOnline,name,selfieUrl,timestamp,userId,videoUrl" \
	"my-introductions: exactly the contract's fields"
t_is "$(jval 'b.introductions.map(i => [i.userId, i.name, i.introducedBy, i.isOnline, i.isAvailable, i.selfieUrl, i.videoUrl, i.gender, typeof i.timestamp].map(String).join(":")).join()')" \
	"$DAN:Dan:Carol:false:false:null:null:male:number,$CAROL:Carol:Alice:true:true:http://m.test/uploads/selfie-c.jpg:null:female:number" \
	"my-introductions: newest first, presence and card fields"
get /referral/my-introductions "$ALICE_T"
t_is "$(jval 'JSON.stringify(b)')" '{"introductions":[],"count":0}' "my-introductions: none for Alice"

# ==== guard step 4 on the U routes ============================================================
sql "UPDATE users SET ban_status = 'temporary' WHERE user_id = '$ALICE'" >/dev/null
stack_redis_cli --scan --pattern 'ns:c:*' | xargs -r redis-cli -h 127.0.0.1 -p "$REDIS_PORT" DEL >/dev/null
post /referral/generate "{\"targetUserId\":\"$BOB\"}" "$ALICE_T"
t_is "$HTTP_STATUS|$(err)" "403|Account suspended" "generate: a banned caller → 403"

t_done
