#!/usr/bin/env bash
# Reports and bans (contract §2.7, §4.4) through nginx with two workers, against real
# PostgreSQL and Redis: one report per pair, the automatic temporary ban at the 4th distinct
# reporter (ban record, users row, IP bans from user_ips, user:banned on ns:ctl, the banned
# user refused by both workers at once), check-ban, check-ip, the admin listings with an admin
# account (napalmsky-admin create-admin) and with an admin-role user (grant-admin), and review
# (permanent / vindicated, an IP kept while another active record lists it).
# Every test client is 127.0.0.1, so the banned users' user_ips hold documentation addresses
# (192.0.2.0/24, 2001:db8::/32) only: data, never traffic.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

B=$T_TMP/body
UUID_RE='^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$'
REPEAT=6	# requests repeated so that both workers answer
ADMIN_PW='correct horse battery staple'
REPORT_KEYS=reason,reportId,reportedUserId,reportedUserName,reportedUserSelfie,reportedUserVideo,reporterIp,reporterName,reporterUserId,roomId,timestamp
BAN_KEYS=banStatus,bannedAt,bannedReason,reportCount,reviewStatus,reviewedAt,reviewedBy,userId,userName,userSelfie,userVideo	# JS sort order

export RL_AUTH_MAX=100000 RL_API_MAX=100000 RL_REPORT_MAX=77777	# not under test here
t_start_stack 2
ADMIN=$(stack_bin napalmsky-admin) || t_bail "napalmsky-admin not built"

sql() { stack_psql -qtAc "$1"; }
err() { json_get "$B" error; }
post() {	# PATH JSON [TOKEN]
	http POST "$STACK_URL$1" -H 'Content-Type: application/json' --data-binary "$2" \
		${3:+-H "Authorization: Bearer $3"}
}
get() { http GET "$STACK_URL$1" ${2:+-H "Authorization: Bearer $2"}; }
guest() {	# NAME: sets G_ID, G_TOKEN
	post /auth/guest "{\"name\":\"$1\",\"gender\":\"female\"}"
	[ "$HTTP_STATUS" = 200 ] || t_bail "signup of $1 failed: $HTTP_STATUS $(http_body)"
	G_ID=$(json_get "$B" userId) G_TOKEN=$(json_get "$B" sessionToken)
}
jval() { node -e 'const b = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
	const v = eval(process.argv[2]); console.log(typeof v === "string" ? v : JSON.stringify(v));' "$B" "$1"; }
keys() { jval "Object.keys(${1:-b}).sort().join()"; }
report() { post /report/user "$2" "$1"; }	# TOKEN JSON
# status of REPEAT requests, sorted and counted: "6x200"
statuses() {	# PATH TOKEN
	local i out=
	for i in $(seq $REPEAT); do get "$1" "$2"; out="$out $HTTP_STATUS"; done
	printf '%s\n' $out | sort | uniq -c | awk '{ printf "%s%sx%s", sep, $1, $2; sep = "," }'
}
flush_cache() { stack_redis_cli --scan --pattern 'ns:c:*' | xargs -r redis-cli -h 127.0.0.1 -p "$REDIS_PORT" DEL >/dev/null; }

# Control messages for the gateways, as a subscriber sees them.
CTL_LOG=$T_TMP/ctl.log
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" SUBSCRIBE ns:ctl >"$CTL_LOG" 2>&1 &
stack__record ctl-subscriber $! "$(command -v redis-cli)"	# stack_stop ends it
stack_wait_for 10 grep -q '^subscribe$' "$CTL_LOG" || t_bail "redis-cli SUBSCRIBE did not start"
ctl_banned() {	# USER_ID [N]: user:banned messages for it once N (default 1) arrived or 5 s passed
	local deadline=$((SECONDS + 5)) n
	while :; do
		n=$(grep -cF "{\"type\":\"user:banned\",\"userId\":\"$1\"}" "$CTL_LOG")
		[ "$n" -ge "${2:-1}" ] || [ "$SECONDS" -ge "$deadline" ] && { echo "$n"; return; }
		sleep 0.2
	done
}

guest Tina; TINA=$G_ID TINA_T=$G_TOKEN
guest Vic; VIC=$G_ID VIC_T=$G_TOKEN
for i in 1 2 3 4 5; do guest "Rep$i"; eval "R$i=\$G_ID R${i}_T=\$G_TOKEN"; done
sql "UPDATE users SET selfie_url = 'http://m.test/uploads/selfie-t.jpg' WHERE user_id = '$TINA'" >/dev/null
# The banned users' addresses: documentation ranges only; 192.0.2.99 is shared by both.
sql "DELETE FROM user_ips WHERE user_id IN ('$TINA', '$VIC');
	INSERT INTO user_ips (user_id, ip_address, first_seen) VALUES
	('$TINA', '192.0.2.10', now() - interval '3 hours'), ('$TINA', '2001:db8::10', now() - interval '2 hours'),
	('$TINA', '192.0.2.99', now() - interval '1 hour'), ('$VIC', '192.0.2.99', now())" >/dev/null

# ==== POST /report/user: validation ===========================================================
report "" "{\"reportedUserId\":\"$TINA\"}"
t_is "$HTTP_STATUS|$(err)" "401|Authorization required" "report: guard U"
for body in '{}' '{"reportedUserId":null}' '{"reportedUserId":""}' '{"reportedUserId":5}'; do
	report "$R1_T" "$body"
	t_is "$HTTP_STATUS|$(err)" "400|reportedUserId is required" "report: $body → required"
done
report "$R1_T" '{"reportedUserId":"tina"}'
t_is "$HTTP_STATUS|$(err)" "400|Invalid reportedUserId" "report: malformed id"
report "$R1_T" "{\"reportedUserId\":\"$TINA\",\"reason\":\"$(printf 'x%.0s' $(seq 501))\"}"
t_is "$HTTP_STATUS|$(err)" "400|Invalid reason" "report: 501-character reason"
report "$R1_T" "{\"reportedUserId\":\"$TINA\",\"roomId\":\"room-1\"}"
t_is "$HTTP_STATUS|$(err)" "400|Invalid roomId" "report: malformed roomId"
report "$R1_T" "{\"reportedUserId\":\"$(printf '%s' "$R1" | tr a-f A-F)\"}"
t_is "$HTTP_STATUS|$(err)" "400|Cannot report yourself" "report: self (upper-case id) → 400"
report "$R1_T" '{"reportedUserId":"0badc0de-0000-4000-8000-000000000000"}'
t_is "$HTTP_STATUS|$(err)" "404|User not found" "report: unknown user → 404"
t_is "$(sql "SELECT count(*) FROM reports")" 0 "report: the refused reports stored nothing"

# ==== reports 1-3 ==============================================================================
statuses /user/me "$TINA_T" >/dev/null	# Tina's session and user now sit in the shared cache
ROOM=7e57a000-0000-4000-8000-00000000000a
report "$R1_T" "{\"reportedUserId\":\"$TINA\",\"reason\":\"  spam  \",\"roomId\":\"$(printf '%s' "$ROOM" | tr a-f A-F)\"}"
RID1=$(json_get "$B" reportId)
t_is "$HTTP_STATUS|$(keys)" "200|message,reportCount,reportId,success" "report 1: exactly the contract's fields"
t_is "$(jval '[b.success, b.reportCount, b.message].join("|")')" "true|1|Report submitted successfully." "report 1: body"
t_like "$RID1" "$UUID_RE" "report 1: reportId is a UUID v4"
t_is "$(http_header Cache-Control)" no-store "report 1: Cache-Control no-store"
t_is "$(http_header RateLimit-Limit)" 77777 "report 1: limiter report applies"
t_is "$(sql "SELECT reported_user_id, reported_user_name, reported_user_selfie, reporter_user_id, reporter_name, host(reporter_ip), reason, room_id, \"timestamp\" > now() - interval '1 minute' FROM reports WHERE report_id = '$RID1'")" \
	"$TINA|Tina|http://m.test/uploads/selfie-t.jpg|$R1|Rep1|127.0.0.1|spam|$ROOM|t" \
	"report 1: row (names, selfie, reporter IP, reason trimmed, roomId lower-cased)"
report "$R1_T" "{\"reportedUserId\":\"$TINA\",\"reason\":\"again\"}"
t_is "$HTTP_STATUS|$(jval 'JSON.stringify(b)')" '400|{"error":"You have already reported this user","alreadyReported":true}' \
	"report: second report of the pair → 400 alreadyReported"
t_is "$(sql "SELECT count(*) FROM reports")" 1 "report: the duplicate stored nothing"
report "$R2_T" "{\"reportedUserId\":\"$TINA\"}"
t_is "$HTTP_STATUS|$(json_get "$B" reportCount)|$(sql "SELECT reason, room_id IS NULL FROM reports WHERE reporter_user_id = '$R2'")" \
	"200|2|No reason provided|t" "report 2: count 2, default reason, no room"
report "$R3_T" "{\"reportedUserId\":\"$TINA\",\"reason\":\"   \"}"
t_is "$HTTP_STATUS|$(json_get "$B" reportCount)|$(json_get "$B" autoBanned)" "200|3|<missing>" "report 3: count 3, no ban yet"
t_is "$(statuses /user/me "$TINA_T")" "6x200" "before the 4th report: Tina is served by both workers"
t_is "$(sql "SELECT count(*) FROM ban_records") $(sql "SELECT count(*) FROM ip_bans")" "0 0" "no ban before the 4th reporter"

# ==== report 4: automatic ban ==================================================================
report "$R4_T" "{\"reportedUserId\":\"$TINA\",\"reason\":\"abuse\"}"
t_is "$HTTP_STATUS|$(keys)" "200|autoBanned,message,reportCount,reportId,success" "report 4: exactly the contract's fields"
t_is "$(jval '[b.success, b.autoBanned, b.reportCount, b.message].join("|")')" \
	"true|true|4|Report submitted. User has been temporarily banned pending review." "report 4: autoBanned"
t_is "$(statuses /user/me "$TINA_T")" "6x403" "after the ban: Tina refused by both workers at once"
t_is "$(json_get "$B" error)|$(json_get "$B" banned)" "Account suspended|true" "after the ban: 403 Account suspended"
t_is "$(sql "SELECT ban_status, banned_reason, report_count, review_status, reviewed_at IS NULL, reviewed_by IS NULL, user_name, user_selfie, banned_at > now() - interval '1 minute' FROM ban_records WHERE user_id = '$TINA'")" \
	"temporary|Auto-banned: 4 reports received|4|pending|t|t|Tina|http://m.test/uploads/selfie-t.jpg|t" "ban record"
t_is "$(sql "SELECT ip_addresses FROM ban_records WHERE user_id = '$TINA'")" '["192.0.2.10", "2001:db8::10", "192.0.2.99"]' \
	"ban record: ipAddresses = the user's user_ips"
t_is "$(sql "SELECT ban_status, banned_reason, review_status, banned_at IS NOT NULL FROM users WHERE user_id = '$TINA'")" \
	"temporary|Auto-banned: 4 reports received|pending|t" "users row: ban fields"
t_is "$(sql "SELECT string_agg(host(ip_address) || ':' || (user_id = '$TINA') || ':' || reason, ',' ORDER BY ip_address) FROM ip_bans")" \
	"192.0.2.10:true:Auto-banned: 4 reports received,192.0.2.99:true:Auto-banned: 4 reports received,2001:db8::10:true:Auto-banned: 4 reports received" \
	"ip_bans: every listed IP, reason = bannedReason"
t_is "$(ctl_banned "$TINA")" 1 "user:banned published on ns:ctl for the gateways"
get /health
t_is "$HTTP_STATUS" 200 "the test client (127.0.0.1) is not banned"

report "$R5_T" "{\"reportedUserId\":\"$TINA\"}"
t_is "$HTTP_STATUS|$(json_get "$B" reportCount)|$(json_get "$B" autoBanned)|$(sql "SELECT report_count FROM ban_records WHERE user_id = '$TINA'")" \
	"200|5|<missing>|4" "report 5: counted; an already banned user is not banned again"
report "$TINA_T" "{\"reportedUserId\":\"$R1\"}"
t_is "$HTTP_STATUS|$(err)" "403|Account suspended" "report: a banned reporter → 403"

# ==== GET /report/check-ban ====================================================================
get /report/check-ban
t_is "$HTTP_STATUS|$(err)" "401|Authorization required" "check-ban: guard U"
get /report/check-ban "$TINA_T"
t_is "$HTTP_STATUS|$(keys)|$(keys b.banRecord)" "200|banRecord,banStatus,isBanned|$BAN_KEYS" \
	"check-ban: a banned user may read the ban (record without ipAddresses)"
t_is "$(jval '[b.isBanned, b.banStatus, b.banRecord.userId, b.banRecord.banStatus, b.banRecord.reportCount, b.banRecord.reviewStatus, b.banRecord.reviewedAt, typeof b.banRecord.bannedAt].join("|")')" \
	"true|temporary|$TINA|temporary|4|pending||number" "check-ban: values"
get /report/check-ban "$R1_T"
t_is "$HTTP_STATUS|$(jval 'JSON.stringify(b)')" '200|{"isBanned":false,"banStatus":"none","banRecord":null}' "check-ban: not banned"

# ==== GET /report/check-ip/:ip =================================================================
get /report/check-ip/192.0.2.10
t_is "$HTTP_STATUS|$(keys)|$(keys b.ipBan)" "200|ipBan,isBanned|bannedAt,ipAddress,reason,userId" "check-ip: exactly the contract's fields"
t_is "$(jval '[b.isBanned, b.ipBan.ipAddress, b.ipBan.userId, b.ipBan.reason, typeof b.ipBan.bannedAt].join("|")')" \
	"true|192.0.2.10|$TINA|Auto-banned: 4 reports received|number" "check-ip: banned IPv4"
get /report/check-ip/2001:0DB8:0:0::10
t_is "$HTTP_STATUS|$(jval '[b.isBanned, b.ipBan.ipAddress].join("|")')" "200|true|2001:db8::10" "check-ip: banned IPv6, any spelling"
get /report/check-ip/::ffff:192.0.2.99
t_is "$HTTP_STATUS|$(json_get "$B" isBanned)" "200|true" "check-ip: IPv4-mapped IPv6 = IPv4"
get /report/check-ip/127.0.0.1
t_is "$HTTP_STATUS|$(jval 'JSON.stringify(b)')" '200|{"isBanned":false,"ipBan":null}' "check-ip: not banned"
for ip in 999.1.1.1 abc 192.0.2 1.2.3.4.5 'fe80::1%25eth0' '%20192.0.2.10'; do
	get "/report/check-ip/$ip"
	t_is "$HTTP_STATUS|$(err)" "400|Invalid IP address" "check-ip: '$ip' → 400"
done

# ==== admin guard on the admin routes ==========================================================
printf '%s\n' "$ADMIN_PW" | "$ADMIN" create-admin root >/dev/null 2>&1 || t_bail "create-admin failed"
post /admin/login "{\"username\":\"root\",\"password\":\"$ADMIN_PW\"}"
ATOK=$(json_get "$B" adminToken)
t_like "$HTTP_STATUS|$ATOK" "^200\\|${UUID_RE#^}" "admin login (admins table)"
guest Ada; ADA=$G_ID ADA_T=$G_TOKEN
"$ADMIN" grant-admin "$ADA" >/dev/null || t_bail "grant-admin failed"
flush_cache	# grant-admin writes PostgreSQL only
for route in pending all stats; do
	get "/report/$route"
	t_is "$HTTP_STATUS|$(err)" "403|Admin access required" "$route: no token → 403"
	get "/report/$route" "$R1_T"
	t_is "$HTTP_STATUS|$(err)" "403|Admin access required" "$route: a plain user → 403"
	get "/report/$route" 0badc0de-0000-4000-8000-000000000000
	t_is "$HTTP_STATUS|$(err)" "403|Admin access required" "$route: unknown token → 403"
done
post "/report/review/$TINA" '{"decision":"vindicated"}' "$R1_T"
t_is "$HTTP_STATUS|$(err)" "403|Admin access required" "review: a plain user → 403"

# ==== GET /report/pending, /report/all, /report/stats ==========================================
get /report/pending "$ATOK"
t_is "$HTTP_STATUS|$(keys)|$(json_get "$B" count)|$(jval 'b.pending.length')" "200|count,pending|1|1" "pending: one record (admin token)"
t_is "$(keys b.pending[0])" "banStatus,bannedAt,bannedReason,ipAddresses,reportCount,reports,reviewStatus,reviewedAt,reviewedBy,userId,userName,userSelfie,userVideo" \
	"pending: BanRecord + reports"
t_is "$(keys b.pending[0].reports[0])" "$REPORT_KEYS" "pending: Report fields"
t_is "$(jval '[b.pending[0].userId, b.pending[0].ipAddresses.join(), b.pending[0].reports.length, b.pending[0].reports.map(r => r.reporterName).join()].join("|")')" \
	"$TINA|192.0.2.10,2001:db8::10,192.0.2.99|5|Rep5,Rep4,Rep3,Rep2,Rep1" "pending: the record's IPs and its reports, newest first"
get /report/all "$ADA_T"
t_is "$HTTP_STATUS|$(keys)|$(json_get "$B" count)|$(keys b.reports[0])" "200|count,reports|5|$REPORT_KEYS" "all: five reports (admin-role user)"
t_is "$(jval 'b.reports.map(r => r.reporterName).join()')" "Rep5,Rep4,Rep3,Rep2,Rep1" "all: newest first"
t_is "$(jval 'JSON.stringify(b.reports[4])')" \
	"{\"reportId\":\"$RID1\",\"reportedUserId\":\"$TINA\",\"reportedUserName\":\"Tina\",\"reportedUserSelfie\":\"http://m.test/uploads/selfie-t.jpg\",\"reportedUserVideo\":null,\"reporterUserId\":\"$R1\",\"reporterName\":\"Rep1\",\"reporterIp\":\"127.0.0.1\",\"reason\":\"spam\",\"roomId\":\"$ROOM\",\"timestamp\":$(jval 'b.reports[4].timestamp')}" \
	"all: the Report object"
get /report/stats "$ATOK"
t_is "$HTTP_STATUS|$(jval 'JSON.stringify(b)')" \
	'200|{"totalReports":5,"totalBans":1,"pendingReviews":1,"permanentBans":0,"temporaryBans":1,"vindicated":0}' "stats: after one ban"

# Vic: banned by four reporters too; shares 192.0.2.99 with Tina.
for i in 1 2 3 4; do eval "tok=\$R${i}_T"; report "$tok" "{\"reportedUserId\":\"$VIC\"}"; done
t_is "$(json_get "$B" autoBanned)|$(sql "SELECT ip_addresses FROM ban_records WHERE user_id = '$VIC'")" \
	'true|["192.0.2.99"]' "Vic auto-banned with his one IP"
get /report/pending "$ATOK"
t_is "$(jval 'b.pending.map(p => p.userName + ":" + p.reports.length).join()')" "Vic:4,Tina:5" "pending: newest ban first"

# ==== POST /report/review/:userId ==============================================================
post /report/review/nope '{"decision":"permanent"}' "$ATOK"
t_is "$HTTP_STATUS|$(err)" "400|Invalid userId" "review: malformed userId (checked first)"
post /report/review/nope '{}' "$ATOK"
t_is "$HTTP_STATUS|$(err)" "400|Invalid userId" "review: userId before decision"
for body in '{}' '{"decision":"ban"}' '{"decision":"Permanent"}' '{"decision":1}'; do
	post "/report/review/$TINA" "$body" "$ATOK"
	t_is "$HTTP_STATUS|$(err)" '400|Invalid decision. Must be "permanent" or "vindicated"' "review: $body → 400"
done
post "/report/review/$R1" '{"decision":"permanent"}' "$ATOK"
t_is "$HTTP_STATUS|$(err)" "404|Ban record not found" "review: no record → 404"

post "/report/review/$(printf '%s' "$TINA" | tr a-f A-F)" '{"decision":"vindicated"}' "$ATOK"
t_is "$HTTP_STATUS|$(jval 'JSON.stringify(b)')" \
	"200|{\"success\":true,\"userId\":\"$TINA\",\"decision\":\"vindicated\",\"message\":\"User vindicated and ban lifted\"}" \
	"review vindicated: body"
t_is "$(sql "SELECT ban_status, review_status, reviewed_by, reviewed_at > now() - interval '1 minute' FROM ban_records WHERE user_id = '$TINA'")" \
	"vindicated|reviewed_vindicate|root|t" "review vindicated: record (reviewedBy = admin username)"
t_is "$(sql "SELECT ban_status, review_status FROM users WHERE user_id = '$TINA'")" "none|reviewed_vindicate" "review vindicated: user no longer banned"
t_is "$(sql "SELECT string_agg(host(ip_address), ',' ORDER BY ip_address) FROM ip_bans")" "192.0.2.99" \
	"review vindicated: IP bans lifted except the one Vic's active record lists"
t_is "$(statuses /user/me "$TINA_T")" "6x200" "review vindicated: Tina served again by both workers"
get /report/check-ip/192.0.2.10
t_is "$(json_get "$B" isBanned)" false "review vindicated: check-ip follows"

post "/report/review/$VIC" '{"decision":"permanent"}' "$ADA_T"
t_is "$HTTP_STATUS|$(json_get "$B" message)|$(json_get "$B" decision)" \
	"200|User permanently banned and added to blacklist|permanent" "review permanent: body (admin-role user)"
t_is "$(sql "SELECT ban_status, review_status, reviewed_by FROM ban_records WHERE user_id = '$VIC'")" \
	"permanent|reviewed_ban|$ADA" "review permanent: record (reviewedBy = admin-role userId)"
t_is "$(sql "SELECT ban_status, review_status FROM users WHERE user_id = '$VIC'")" "permanent|reviewed_ban" "review permanent: user row"
t_is "$(statuses /user/me "$VIC_T")" "6x403" "review permanent: Vic refused"
t_is "$(sql "SELECT string_agg(host(ip_address), ',') FROM ip_bans")" "192.0.2.99" "review permanent: IP ban kept"

# ==== GET /report/blacklist (public) ===========================================================
get /report/blacklist
t_is "$HTTP_STATUS|$(keys)|$(json_get "$B" count)|$(keys b.blacklist[0])" \
	"200|blacklist,count,lastUpdated|1|bannedAt,bannedReason,reportCount,userName,userSelfie,userVideo" "blacklist: public, one entry"
t_is "$(jval '[b.blacklist[0].userName, b.blacklist[0].bannedReason, b.blacklist[0].reportCount, typeof b.blacklist[0].bannedAt, Math.abs(Date.now() - b.lastUpdated) < 60000].join("|")')" \
	"Vic|Auto-banned: 4 reports received|4|number|true" "blacklist: values"
get /report/stats "$ADA_T"
t_is "$(jval 'JSON.stringify(b)')" \
	'{"totalReports":9,"totalBans":2,"pendingReviews":0,"permanentBans":1,"temporaryBans":0,"vindicated":1}' "stats: after the reviews"

# Vic vindicated: nobody lists 192.0.2.99 any more → lifted. Tina made permanent: her IPs return.
post "/report/review/$VIC" '{"decision":"vindicated"}' "$ATOK"
t_is "$HTTP_STATUS|$(sql "SELECT count(*) FROM ip_bans")" "200|0" "review vindicated: the last listing record gone → IP ban lifted"
post "/report/review/$TINA" '{"decision":"permanent"}' "$ATOK"
t_is "$HTTP_STATUS|$(sql "SELECT string_agg(host(ip_address), ',' ORDER BY ip_address) FROM ip_bans")" \
	"200|192.0.2.10,192.0.2.99,2001:db8::10" "review permanent after vindication: the record's IPs banned again"
t_is "$(ctl_banned "$TINA" 2)|$(statuses /user/me "$TINA_T")" "2|6x403" "review permanent: user:banned announced again; Tina refused"
get /report/blacklist
t_is "$(jval 'b.blacklist.map(e => e.userName).join()')" "Tina" "blacklist: follows the reviews"

t_done
