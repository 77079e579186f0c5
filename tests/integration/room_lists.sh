#!/usr/bin/env bash
# /room/queue, /room/reel, /room/history and /room/me through nginx with two workers, against
# real PostgreSQL and Redis: users and sessions seeded in SQL, presence written by
# shared/presence (presence_probe) and by the bulk seeder (tests/lib/seed.sh).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/lib/seed.sh"

PROBE=$top_builddir/tests/integration/presence_probe
[ -x "$PROBE" ] || { echo "1..0 # SKIP presence_probe not built (make check builds it)"; exit 0; }

export RL_API_MAX=1000000 RL_REPORT_MAX=1000000	# this test must not meet the api limiter
t_start_stack 2

BASE=1700000000000
uid() { seed_user_id "$1"; }
psql_q() { stack_psql -qtAX -v ON_ERROR_STOP=1 "$@"; }
# jval FILE EXPR: evaluate EXPR with b = the parsed JSON body (node).
jval() { node -e 'const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const v = eval(process.argv[2]); console.log(typeof v === "string" ? v : JSON.stringify(v));' "$1" "$2"; }
get() {	# get PATH TOKEN [curl args]
	local path=$1 tok=$2; shift 2
	http GET "$STACK_URL$path" ${tok:+-H "Authorization: Bearer $tok"} "$@"
}

# ---- seed ------------------------------------------------------------------------------------
# Seed 1 is the requester R. 1..25 are available 1 s apart (R first), 26..30 share one
# score (ties go by userId), 31 is unpaid. A "ghost" (presence without a users row) sits
# between R and seed 2.
seed_users 1 30 >/dev/null || t_bail "seeding users failed"
seed_users 31 31 unpaid >/dev/null || t_bail "seeding the unpaid user failed"
R=$(uid 1) TOK=$(seed_token 1)
GHOST=00000000-0000-4000-8000-00000000beef
psql_q <<EOF || t_bail "seeding relations failed"
UPDATE users SET selfie_url = 'http://media.test/uploads/selfie-2.jpg',
	video_url = 'http://media.test/uploads/video-2.webm', timer_total_seconds = 123
	WHERE user_id = '$(uid 2)';
INSERT INTO reports (report_id, reported_user_id, reported_user_name, reporter_user_id, reporter_name)
	VALUES ('11111111-1111-4111-8111-111111111111', '$(uid 5)', 'Seed 5', '$R', 'Seed 1');
INSERT INTO cooldowns (user_id_1, user_id_2, expires_at)
	VALUES (least('$R'::uuid, '$(uid 7)'::uuid), greatest('$R'::uuid, '$(uid 7)'::uuid),
		'2099-01-01 00:00:00.123+00'),
	       (least('$R'::uuid, '$(uid 8)'::uuid), greatest('$R'::uuid, '$(uid 8)'::uuid),
		now() - interval '1 minute');
UPDATE users SET introduced_to = '$R', introduced_by = '$(uid 20)' WHERE user_id = '$(uid 9)';
UPDATE users SET introduced_to = '$(uid 3)', introduced_by = '$(uid 20)' WHERE user_id = '$(uid 10)';
EOF
seed_available 1 25 "$BASE" 1000 || t_bail "seeding presence failed"
seed_available 26 30 $((BASE + 100000)) 0 || t_bail "seeding tied presence failed"
"$PROBE" set "$GHOST" 1 1 $((BASE + 500)) || t_bail "presence_probe set failed"

# What the queue must list for R, in order: 2..25 without 5 (reported), then 26..30 by userId.
EXPECT=$(for i in $(seq 2 25); do [ "$i" = 5 ] || uid "$i"; done; for i in $(seq 26 30); do uid "$i"; done | LC_ALL=C sort)
EXPECT=$(echo $EXPECT)

# ---- presence module -------------------------------------------------------------------------
t_is "$("$PROBE" get "$(uid 2)")" "online=1 available=1" "presence: seeded user reads online and available"
X=00000000-0000-4000-8000-0000000000aa
"$PROBE" set "$X" 0 1 5
t_is "$("$PROBE" get "$X")/$(stack_redis_cli zscore ns:available "$X")/$(stack_redis_cli sismember ns:online "$X")" \
	"online=0 available=0//0" "presence: available without online is stored as neither"
"$PROBE" set "$X" 1 1 7
t_is "$("$PROBE" get "$X")/$(stack_redis_cli zscore ns:available "$X")/$(stack_redis_cli hget ns:presence:"$X" availableSince)" \
	"online=1 available=1/7/7" "presence: available sets the zset score and availableSince"
"$PROBE" set "$X" 1 0 9
t_is "$("$PROBE" get "$X")/$(stack_redis_cli zscore ns:available "$X")/$(stack_redis_cli sismember ns:online "$X")" \
	"online=1 available=0//1" "presence: leaving the queue keeps online, leaves ns:available"
"$PROBE" clear "$X"
t_is "$(stack_redis_cli exists ns:presence:"$X")/$(stack_redis_cli sismember ns:online "$X")" "0/0" \
	"presence: clear removes the hash and the memberships"

# ---- /room/queue -----------------------------------------------------------------------------
get /room/queue "$TOK"
t_is "$HTTP_STATUS" 200 "queue: 200 for a paid user"
t_is "$(jval "$T_TMP/body" 'b.users.map(u => u.userId).join(" ")')" "$EXPECT" \
	"queue: oldest first, ties by userId, requester, ghost and reported user left out"
t_is "$(json_get "$T_TMP/body" totalAvailable)" 30 "queue: totalAvailable counts every other available user"
t_is "$(json_type "$T_TMP/body" nextCursor)" null "queue: nextCursor null on the last page"
t_is "$(http_header Cache-Control)" "private, no-cache" "queue: Cache-Control private, no-cache"
ETAG1=$(http_header ETag)
t_like "$ETAG1" '^"[0-9a-f]{32}"$' "queue: strong ETag"
t_is "$(jval "$T_TMP/body" 'Object.keys(b.users[0]).join(",")')" \
	"userId,name,gender,selfieUrl,videoUrl,hasCooldown,cooldownExpiry,wasIntroducedToMe,introducedBy" \
	"queue: card fields in contract order"
card() { jval "$T_TMP/body" "(u => [u.$2].join('|'))(b.users.find(u => u.userId === '$(uid "$1")'))"; }
t_is "$(card 2 'name, u.gender, u.selfieUrl, u.videoUrl')" \
	"Seed 2|nonbinary|http://media.test/uploads/selfie-2.jpg|http://media.test/uploads/video-2.webm" \
	"queue: card name, gender and media URLs"
t_is "$(jval "$T_TMP/body" "JSON.stringify(b.users.find(u => u.userId === '$(uid 4)').selfieUrl)")" null \
	"queue: missing selfie is null"
t_is "$(card 7 'hasCooldown, u.cooldownExpiry')" "true|4070908800123" "queue: active cooldown flagged with its expiry in ms"
t_is "$(card 8 'hasCooldown, JSON.stringify(u.cooldownExpiry)')" "false|null" "queue: expired cooldown not flagged"
t_is "$(card 9 'wasIntroducedToMe, u.introducedBy')" "true|Seed 20" "queue: introduction to me flagged with the introducer's name"
t_is "$(card 10 'wasIntroducedToMe, JSON.stringify(u.introducedBy)')" "false|null" "queue: introduction to someone else not flagged"
t_is "$(stack_redis_cli get "ns:qview:$R")" "$(jval "$T_TMP/body" 'JSON.stringify(b.users.map(u => u.userId))')" \
	"queue: the fetched page is recorded for the gateways"

# the query cache behind the page: cards and R's cooldowns/reports are cached after a read,
# and an entry that is not ours (garbage, another format) is read again from PostgreSQL
get /room/queue "$TOK"
PAGE1=$(cat "$T_TMP/body")
t_like "$(stack_redis_cli --raw get "ns:c:u:$(uid 2)" | head -c 2)" '^u2$' "queue: listed users' cards are cached"
t_like "$(stack_redis_cli --raw get "ns:c:x:$R" | head -c 2)" '^x1$' "queue: the requester's cooldowns and reports are cached"
stack_redis_cli set "ns:c:u:$(uid 2)" "u2garbage" >/dev/null
stack_redis_cli set "ns:c:x:$R" "x1$(printf '\037')not-an-item" >/dev/null
get /room/queue "$TOK"
t_is "$(cat "$T_TMP/body")" "$PAGE1" "queue: garbage cache entries are read again, the page is unchanged"
t_like "$(stack_redis_cli --raw get "ns:c:u:$(uid 2)" | head -c 3)" '^u2.$' "queue: a garbage card entry is replaced"
t_is "$(stack_redis_cli --raw get "ns:c:x:$R" | tr '\037' '\n' | grep -c ':1$')" 1 \
	"queue: a garbage cooldown/report entry is replaced (one reported user)"
stack_redis_cli set "ns:c:x:$R" "~tombstone" >/dev/null
get /room/queue "$TOK"
t_is "$(cat "$T_TMP/body")" "$PAGE1" "queue: a tombstoned entry is read from PostgreSQL"

# how a page is read: the first page's members and entries by one SORT in the guard's
# transaction (no page through Lua), a page after a cursor by the guard's script alone
calls() { stack_redis_cli info commandstats | awk -F'[:=,]' -v c="cmdstat_$1" '$1 == c { v = $3 } END { print v + 0 }'; }
s0=$(calls sort) e0=$(calls exec)
get /room/queue "$TOK"
t_is "$HTTP_STATUS/$(($(calls sort) - s0))/$(($(calls exec) - e0))" "200/1/1" \
	"queue: the first page is one SORT beside the guard's script, in one MULTI/EXEC"
t_is "$(cat "$T_TMP/body")" "$PAGE1" "queue: ... and is the same page"
get "/room/queue?limit=4" "$TOK"
get "/room/queue?limit=4&cursor=$(json_get "$T_TMP/body" nextCursor)" "$TOK"
s0=$(calls sort)
get "/room/queue?limit=4&cursor=$(json_get "$T_TMP/body" nextCursor)" "$TOK"
t_is "$HTTP_STATUS/$(($(calls sort) - s0))" "200/0" "queue: a page after a cursor is read by the script"

# pagination: limit 4 walks all 30 candidates (the ghost's and seed 5's pages come out short)
ALL= PAGES=0 SHORT=0 cursor=
while :; do
	get "/room/queue?limit=4${cursor:+&cursor=$cursor}" "$TOK"
	[ "$HTTP_STATUS" = 200 ] || break
	PAGES=$((PAGES + 1))
	n=$(jval "$T_TMP/body" 'b.users.length')
	[ "$n" -lt 4 ] && SHORT=$((SHORT + 1))
	ALL="$ALL $(jval "$T_TMP/body" 'b.users.map(u => u.userId).join(" ")')"
	cursor=$(json_get "$T_TMP/body" nextCursor)
	[ "$cursor" = null ] && break
	[ "$PAGES" -ge 20 ] && break
done
t_is "$HTTP_STATUS/$PAGES" "200/8" "queue: limit 4 gives 8 pages for 30 candidates"
t_is "$(echo $ALL)" "$EXPECT" "queue: pages concatenate to the full list, without repeats"
t_is "$SHORT" 3 "queue: pages holding filtered candidates (and the last) are short"
get "/room/queue?limit=29" "$TOK"
t_is "$(jval "$T_TMP/body" 'b.users.length')/$(json_type "$T_TMP/body" nextCursor)" "27/string" \
	"queue: nextCursor set while candidates remain"
C29=$(json_get "$T_TMP/body" nextCursor)
get "/room/queue?limit=29&cursor=$C29" "$TOK"
t_is "$(jval "$T_TMP/body" 'b.users.length')/$(json_type "$T_TMP/body" nextCursor)" "1/null" \
	"queue: the last candidate after the cursor, then the end"
# a cursor stays valid when its user has left: the position is kept, nobody is skipped
get "/room/queue?limit=3" "$TOK"
C=$(json_get "$T_TMP/body" nextCursor)	# after the ghost, 2, 3 → the last slot is seed 3
"$PROBE" set "$(uid 3)" 1 0
get "/room/queue?limit=3&cursor=$C" "$TOK"
t_is "$(jval "$T_TMP/body" 'b.users.map(u => u.userId).join(" ")')" "$(echo $(uid 4) $(uid 6))" \
	"queue: a cursor whose user left still continues after its position"
"$PROBE" set "$(uid 3)" 1 1 $((BASE + 2000))	# back in its old place

for bad in 0 501 abc 1.5 -1 '' 1e2 '%2B5'; do
	get "/room/queue?limit=$bad" "$TOK"
	t_is "$HTTP_STATUS $(json_get "$T_TMP/body" error)" "400 Invalid limit" "queue: limit '$bad' refused"
done
get "/room/queue?limit=500" "$TOK"
t_is "$HTTP_STATUS" 200 "queue: limit 500 accepted"
b64() { printf '%s' "$1" | base64 -w0 | tr '+/' '-_' | tr -d '='; }
for bad in '!!!' "$(b64 abc)" "$(b64 "$BASE:not-a-uuid")" "$(b64 "x:$(uid 3)")" "$(b64 "$BASE:$(uid 3 | tr a-f A-F)")" \
	"$(b64 "inf:$(uid 3)")" "$(b64 "$BASE:$(uid 3)")=" "${C29}A" ''; do
	get "/room/queue?cursor=$bad" "$TOK"
	t_is "$HTTP_STATUS $(json_get "$T_TMP/body" error)" "400 Invalid cursor" "queue: cursor '$bad' refused"
done
get "/room/queue?cursor=$(b64 "$((BASE + 23000)):$(uid 24)")" "$TOK"
t_is "$HTTP_STATUS $(jval "$T_TMP/body" 'b.users.length')" "200 6" "queue: a well-formed hand-made cursor is a position"

# ETag and 304 (curl leaves the output file alone when no body comes: start empty). The tag
# is taken again here: the cache entries refilled above (garbage, tombstone) have new fills,
# and a tag names the entries it was made from, so the first one may now give a 200.
get /room/queue "$TOK"
ETAG1=$(http_header ETag)
PAGE_BODY=$(cat "$T_TMP/body")
: >"$T_TMP/body"
get /room/queue "$TOK" -H "If-None-Match: $ETAG1"
t_is "$HTTP_STATUS/$(wc -c <"$T_TMP/body" | tr -d ' ')/$(http_header ETag)" "304/0/$ETAG1" "queue: If-None-Match → 304, no body, same ETag"
get /room/queue "$TOK" -H "If-None-Match: \"nope\", W/$ETAG1"
t_is "$HTTP_STATUS" 304 "queue: ETag found in a list, weak form"
# The page is read by the guard's own script: one Redis round trip for a page whose entries are
# cached, and for a 304 of a page whose fills are all there (the first page is not one: the
# ghost has no users row, hence no fill, and is revalidated from the cards). The recorded page
# is unchanged between these, so nothing is written either.
N0=$(calls evalsha)
get /room/queue "$TOK"
N1=$(calls evalsha)
t_is "$HTTP_STATUS $((N1 - N0))" "200 1" "queue: a cached page costs one Redis script"
t_is "$(cat "$T_TMP/body")" "$PAGE_BODY" "queue: … and is the same page"
CUR3=$(b64 "$((BASE + 2000)):$(uid 3)")
get "/room/queue?limit=3&cursor=$CUR3" "$TOK"
ETAG3=$(http_header ETag)
N2=$(calls evalsha)
t_is "$HTTP_STATUS $((N2 - N1)) $(jval "$T_TMP/body" 'b.users.map(u => u.userId).join(" ")')" \
	"200 1 $(uid 4) $(uid 6)" "queue: a page after a cursor costs one Redis script too"
: >"$T_TMP/body"
get "/room/queue?limit=3&cursor=$CUR3" "$TOK" -H "If-None-Match: $ETAG3"
N3=$(calls evalsha)
t_is "$HTTP_STATUS $((N3 - N2)) $(wc -c <"$T_TMP/body" | tr -d ' ')" "304 1 0" \
	"queue: a revalidation costs one Redis script"
s0=$(calls sort)
get /room/queue "$TOK" -H 'If-None-Match: "0123"'
t_is "$HTTP_STATUS" 200 "queue: other ETag → 200"
t_is "$(cat "$T_TMP/body")/$(($(calls sort) - s0))" "$PAGE_BODY/2" \
	"queue: … the same page, its fills and then its cards read by SORT"
"$PROBE" set "$(uid 3)" 1 0
get /room/queue "$TOK" -H "If-None-Match: $ETAG1"
t_is "$HTTP_STATUS" 200 "queue: list changed → 200 despite the old ETag"
t_like "$(http_header ETag)" '^"[0-9a-f]{32}"$' "queue: new ETag present"
[ "$(http_header ETag)" != "$ETAG1" ] && t_pass "queue: ETag changed with the list" || t_fail "queue: ETag changed with the list"
t_is "$(jval "$T_TMP/body" "b.users.some(u => u.userId === '$(uid 3)')")/$(json_get "$T_TMP/body" totalAvailable)" \
	"false/29" "queue: a user who left is gone and not counted"

# a cooldown that expires while the client holds the page: its tag no longer matches
# (5 s: the checks before the 304 took up to 0.7 s under load)
psql_q -c "INSERT INTO cooldowns (user_id_1, user_id_2, expires_at)
	VALUES (least('$R'::uuid, '$(uid 11)'::uuid), greatest('$R'::uuid, '$(uid 11)'::uuid),
		now() + interval '5 seconds')" >/dev/null
stack_redis_cli set "ns:c:x:$R" "~test-invalidation" >/dev/null	# as the gateway does after a write
get /room/queue "$TOK"
ETAG_CD=$(http_header ETag)
t_is "$(card 11 hasCooldown)" true "queue: a short cooldown is flagged"
get /room/queue "$TOK" -H "If-None-Match: $ETAG_CD"
t_is "$HTTP_STATUS" 304 "queue: while it lasts the page revalidates (304)"
psql_q -c "SELECT pg_sleep(greatest(0, extract(epoch FROM expires_at - now())) + 0.3) FROM cooldowns
	WHERE user_id_1 = least('$R'::uuid, '$(uid 11)'::uuid) AND user_id_2 = greatest('$R'::uuid, '$(uid 11)'::uuid)" >/dev/null
: >"$T_TMP/body"
get /room/queue "$TOK" -H "If-None-Match: $ETAG_CD"
t_is "$HTTP_STATUS/$(card 11 hasCooldown)" 200/false "queue: once it expired the old tag gives 200, unflagged"
# a card entry refilled with the same row: a new tag (a spurious 200 is allowed, a stale 304 not)
get /room/queue "$TOK"
ETAG2=$(http_header ETag) BODY2=$(cat "$T_TMP/body")
stack_redis_cli set "ns:c:u:$(uid 4)" "~test-invalidation" >/dev/null
get /room/queue "$TOK" -H "If-None-Match: $ETAG2"
t_is "$HTTP_STATUS" 200 "queue: a refilled entry gives 200 to the old tag"
t_is "$(cat "$T_TMP/body")" "$BODY2" "queue: … with the same body"

get /room/queue "$(seed_token 31)"
t_is "$HTTP_STATUS $(json_get "$T_TMP/body" error) $(json_get "$T_TMP/body" requiresPayment)" \
	"402 Payment required true" "queue: unpaid user → 402"
get /room/queue ""
t_is "$HTTP_STATUS" 401 "queue: no token → 401"

# No filtering by gender, paid status or account type (§2.5): an unpaid guest (32) and a
# permanent account with an email (33) who are available are listed like everyone else,
# and the page holds every gender.
seed_users 32 33 unpaid >/dev/null || t_bail "seeding users 32 and 33 failed"
psql_q -c "UPDATE users SET account_type = 'permanent', email = 'seed33@example.com',
	password_hash = '\$2b\$04\$notarealhashnotarealhashnotarealhashnotarealhashnot'
	WHERE user_id = '$(uid 33)'" >/dev/null || t_bail "making user 33 permanent failed"
seed_available 32 33 $((BASE + 300000)) 1 || t_bail "seeding presence of 32 and 33 failed"
get "/room/queue?limit=500" "$TOK"
t_is "$HTTP_STATUS $(jval "$T_TMP/body" "b.users.map(u => u.userId).filter(id => ['$(uid 32)', '$(uid 33)'].includes(id)).join(' ')")" \
	"200 $(uid 32) $(uid 33)" "queue: an available unpaid guest and an available permanent account are listed"
t_is "$(jval "$T_TMP/body" '[...new Set(b.users.map(u => u.gender))].sort().join(",")')" \
	"female,male,nonbinary,unspecified" "queue: users of every gender are listed"
"$PROBE" clear "$(uid 32)"; "$PROBE" clear "$(uid 33)"	# the sections below count candidates

# ---- /room/history and /room/me --------------------------------------------------------------
psql_q <<EOF || t_bail "seeding history failed"
INSERT INTO chat_history (session_id, user_id, partner_id, partner_name, room_id, started_at, duration, messages, created_at)
VALUES ('session-1000', '$R', '$(uid 2)', 'Seed 2', '22222222-2222-4222-8222-000000000001',
	'2024-01-01 10:00:00.250+00', 60, '[{"from":"$R","text":"hi","timestamp":1704103205000,"type":"message"}]',
	'2024-01-01 10:01:00+00'),
       ('session-3000-disconnected', '$R', '$(uid 4)', 'Seed 4', '22222222-2222-4222-8222-000000000003',
	'2024-01-03 10:00:00+00', 7, '[{"from":"system","text":"Call ended due to disconnection","timestamp":1704276007000,"type":"message"}]',
	'2024-01-03 10:01:00+00'),
       ('session-2000', '$R', '$(uid 6)', 'Seed 6', '22222222-2222-4222-8222-000000000002',
	'2024-01-02 10:00:00+00', 30, '[{"from":"$(uid 6)","timestamp":1704189610000,"type":"social","socials":{"ig":"x"}}]',
	'2024-01-02 10:01:00+00'),
       ('session-1000', '$(uid 2)', '$R', 'Seed 1', '22222222-2222-4222-8222-000000000001',
	'2024-01-01 10:00:00.250+00', 60, '[]', '2024-01-01 10:01:00+00');
EOF
get /room/history "$TOK"
t_is "$HTTP_STATUS" 200 "history: 200"
t_is "$(jval "$T_TMP/body" 'b.history.map(h => h.sessionId).join(" ")')" \
	"session-3000-disconnected session-2000 session-1000" "history: the user's rows, newest first"
t_is "$(jval "$T_TMP/body" 'Object.keys(b.history[2]).join(",")')" \
	"sessionId,roomId,partnerId,partnerName,startedAt,duration,messages" "history: exact fields"
t_is "$(jval "$T_TMP/body" '[b.history[2].roomId, b.history[2].partnerId, b.history[2].partnerName, b.history[2].startedAt, b.history[2].duration].join("|")')" \
	"22222222-2222-4222-8222-000000000001|$(uid 2)|Seed 2|1704103200250|60" "history: values, startedAt in ms"
t_is "$(jval "$T_TMP/body" '(m => [b.history[1].messages.length, m.from, m.type, m.socials.ig, m.timestamp].join("|"))(b.history[1].messages[0])')" \
	"1|$(uid 6)|social|x|1704189610000" "history: messages as stored"
t_is "$(http_header Cache-Control)" no-store "history: Cache-Control no-store"
get /room/history "$(seed_token 30)"
t_is "$HTTP_STATUS $(cat "$T_TMP/body")" '200 {"history":[]}' "history: empty for a user without calls"

get /room/me "$(seed_token 2)"
t_is "$HTTP_STATUS $(cat "$T_TMP/body")" \
	"200 {\"userId\":\"$(uid 2)\",\"name\":\"Seed 2\",\"selfieUrl\":\"http://media.test/uploads/selfie-2.jpg\",\"timerTotal\":123}" \
	"me: userId, name, selfieUrl, timerTotal"
get /room/me "$(seed_token 31)"
t_is "$HTTP_STATUS $(json_type "$T_TMP/body" selfieUrl)" "200 null" "me: unpaid user allowed, no selfie → null"
t_is "$(http_header Cache-Control)" no-store "me: Cache-Control no-store"

# ---- /room/reel ------------------------------------------------------------------------------
"$PROBE" clear "$GHOST"
# candidates for R: 2..30 without 3 (left), 5 (reported), 7 (cooldown) = 26
REEL=$(echo $(for i in $(seq 2 30); do case $i in 3|5|7) ;; *) uid "$i" ;; esac; done | LC_ALL=C sort))
SEEN= RESULTS=
for i in 1 2 3 4; do
	get "/room/reel?limit=10&cursor=test_cursor-1" "$TOK"
	RESULTS="$RESULTS $HTTP_STATUS:$(jval "$T_TMP/body" 'b.items.length'):$(json_get "$T_TMP/body" hasMore):$(json_get "$T_TMP/body" cursor)"
	SEEN="$SEEN $(jval "$T_TMP/body" 'b.items.map(i => i.userId).join(" ")')"
done
t_is "$(echo $RESULTS)" "200:10:true:test_cursor-1 200:10:true:test_cursor-1 200:6:false:test_cursor-1 200:0:false:test_cursor-1" \
	"reel: pages of 10, 10, 6, 0 with hasMore while candidates exceed the limit"
t_is "$(echo $(printf '%s\n' $SEEN | LC_ALL=C sort))" "$REEL" \
	"reel: every candidate once across calls, no cooldown, reported user or requester"
t_is "$(jval "$T_TMP/body" 'JSON.stringify(b)')" '{"items":[],"cursor":"test_cursor-1","hasMore":false}' "reel: exact body shape when exhausted"
ttl=$(stack_redis_cli ttl "ns:reel:$R:test_cursor-1")
[ "$ttl" -gt 3500 ] && [ "$ttl" -le 3600 ] && t_pass "reel: seen-set expires 1 h after last use" || t_fail "reel: seen-set expires 1 h after last use" "ttl $ttl"
t_is "$(http_header Cache-Control)" no-store "reel: Cache-Control no-store"
get "/room/reel?limit=3" "$TOK"
t_like "$(json_get "$T_TMP/body" cursor)" '^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' "reel: default cursor is a new UUID"
t_is "$(jval "$T_TMP/body" 'Object.keys(b.items[0]).join(",")')" "userId,name,gender,selfieUrl,videoUrl" "reel: item fields"
# the cards come from the query cache (entries filled by the queue above) and match the rows
get "/room/reel?limit=50&cursor=cards-1" "$TOK"
rcard() { jval "$T_TMP/body" "(u => u ? [u.$2].join('|') : 'absent')(b.items.find(u => u.userId === '$(uid "$1")'))"; }
t_is "$(rcard 2 'name, u.gender, u.selfieUrl, u.videoUrl')" \
	"Seed 2|nonbinary|http://media.test/uploads/selfie-2.jpg|http://media.test/uploads/video-2.webm" \
	"reel: card name, gender and media URLs"
t_is "$(rcard 4 'userId, JSON.stringify(u.selfieUrl)')" "$(uid 4)|null" "reel: missing selfie is null"
stack_redis_cli set "ns:c:u:$(uid 2)" "~test-invalidation" >/dev/null
psql_q -c "UPDATE users SET selfie_url = 'http://media.test/uploads/selfie-2b.jpg' WHERE user_id = '$(uid 2)'" >/dev/null
get "/room/reel?limit=50&cursor=cards-2" "$TOK"
t_is "$(rcard 2 'selfieUrl')" "http://media.test/uploads/selfie-2b.jpg" "reel: an invalidated card is read again"

seed_users 101 160 >/dev/null && seed_available 101 160 $((BASE + 200000)) || t_bail "seeding more users failed"
for case in "100 50" "abc 20" "0 20" "-3 20" "1.5 20" "50 50" "7 7"; do
	set -- $case
	get "/room/reel?limit=$1" "$TOK"
	t_is "$HTTP_STATUS $(jval "$T_TMP/body" 'b.items.length') $(json_get "$T_TMP/body" hasMore)" "200 $2 true" "reel: limit '$1' gives $2"
done
get "/room/reel?limit=20&cursor=order-a" "$TOK"; A=$(jval "$T_TMP/body" 'b.items.map(i => i.userId).join(" ")')
get "/room/reel?limit=20&cursor=order-b" "$TOK"; B=$(jval "$T_TMP/body" 'b.items.map(i => i.userId).join(" ")')
[ -n "$A" ] && [ "$A" != "$B" ] && t_pass "reel: shuffled per cursor" || t_fail "reel: shuffled per cursor" "$A"
for bad in "$(printf 'a%.0s' $(seq 65))" 'a.b' '' 'a%20b' '%00'; do
	get "/room/reel?cursor=$bad" "$TOK"
	t_is "$HTTP_STATUS $(json_get "$T_TMP/body" error)" "400 Invalid cursor" "reel: cursor '${bad:0:12}' refused"
done
get "/room/reel?cursor=$(printf 'a%.0s' $(seq 64))" "$TOK"
t_is "$HTTP_STATUS" 200 "reel: 64-character cursor accepted"
get /room/reel "$(seed_token 31)"
t_is "$HTTP_STATUS $(json_get "$T_TMP/body" requiresPayment)" "402 true" "reel: unpaid user → 402"

t_done
