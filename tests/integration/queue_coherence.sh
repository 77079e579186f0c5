#!/usr/bin/env bash
# Read-your-writes of GET /room/queue through nginx with two workers (and two gateways),
# against real PostgreSQL and Redis: a write made through its real path shows in the very
# next queue reads, on both workers, although the same pages were read just before (so any
# cache in front of the queue's cards, cooldowns or reports is warm), and an ETag taken before
# the write no longer gives 304. The writes: POST /report/user (the reported user leaves the
# reporter's queue, not another user's), POST /media/selfie (twice: the card's selfieUrl), and
# a real call through the gateways (invite, accept, join, end; node/queue_coherence.js) whose
# end writes the pair's cooldown (hasCooldown and cooldownExpiry on both sides).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/lib/seed.sh"

if ! t_node_ready; then
	echo "1..0 # SKIP node, socket.io-client or ws not installed (run: scripts/dev test, or npm ci in tests/integration/node)"
	exit 0
fi
if ! command -v redis-cli >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
	echo "1..0 # SKIP redis-cli or psql not installed"
	exit 0
fi
CHECK=$top_srcdir/tests/integration/node/queue_coherence.js
READS=4		# queue reads after each write, each checked; more until both workers answered
READS_MAX=12
export RL_API_MAX=1000000 RL_REPORT_MAX=1000000 RL_AUTH_MAX=1000000	# no limiter here
t_start_stack 2 2
read -r -a PORTS <<<"$GATEWAY_PORTS"
export REDIS_PORT STACK_URL

B=$T_TMP/body
sql() { stack_psql -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
uid() { seed_user_id "$1"; }
now_ms() { date +%s%3N; }

# ---- seed --------------------------------------------------------------------------------
# 1 R (reader, reporter, caller), 2 X (reported by R), 3 Y (uploads selfies), 4 Z (R's call
# partner), 5 W (another reader), 6..8 others; all paid, online and available.
seed_users 1 8 >/dev/null || t_bail "seeding users failed"
seed_available 1 8 "$(($(now_ms) - 100000))" 1000 || t_bail "seeding presence failed"
R=$(uid 1) X=$(uid 2) Y=$(uid 3) Z=$(uid 4)
R_T=$(seed_token 1) Y_T=$(seed_token 3) Z_T=$(seed_token 4) W_T=$(seed_token 5)
sql "UPDATE users SET selfie_url = 'http://media.test/uploads/selfie-seeded.jpg' WHERE user_id = '$Y'" >/dev/null ||
	t_bail "seeding Y's selfie failed"

# ---- which workers answered ----------------------------------------------------------------
# A worker reads from a socket only while it serves a request (idle, it waits in accept()),
# so the growth of its rchar (/proc/PID/io) tells that it answered one since the mark.
API_PIDS=$(stack_pids api | tr '\n' ' ')
io_of() {	# PID: its rchar (no awk: this runs after every read)
	local k v
	while read -r k v; do [ "$k" = rchar: ] && { echo "$v"; return; }; done <"/proc/$1/io"
} 2>/dev/null
workers_mark() { local p; MARK=; for p in $API_PIDS; do MARK="$MARK $p:$(io_of "$p")"; done; }
workers_answered() {	# how many workers read anything since workers_mark
	local e n=0 now
	for e in $MARK; do
		now=$(io_of "${e%%:*}")
		[ -n "$now" ] && [ "$now" != "${e#*:}" ] && n=$((n + 1))
	done
	echo "$n"
}
read -r -a PIDS <<<"$API_PIDS"
[ "${#PIDS[@]}" = 2 ] || t_bail "expected 2 API workers, got: $API_PIDS"
[ -n "$(io_of "${PIDS[0]}")" ] || t_bail "cannot read /proc/PID/io of the API workers"

# ---- helpers -------------------------------------------------------------------------------
queue() {	# TOKEN [curl args]: GET /room/queue (the default page holds every seeded user)
	local tok=$1; shift
	http GET "$STACK_URL/room/queue" -H "Authorization: Bearer $tok" "$@"
}
# reads TOKEN ID WANT DESC: READS queue reads as TOKEN, then more until both workers answered
# (checked too); each read checked: 200 and user ID's card = WANT, the card written
# [selfieUrl,hasCooldown,cooldownExpiry], or "absent". ETAG: the last read's ETag.
reads() {
	local tok=$1 id=$2 want=$3 desc=$4 i=0 k st=() files=() got
	workers_mark
	while :; do
		i=$((i + 1))
		queue "$tok"
		st+=("$HTTP_STATUS")
		cp "$B" "$T_TMP/read.$i"
		files+=("$T_TMP/read.$i")
		[ "$i" -ge "$READS" ] && { [ "$(workers_answered)" = 2 ] || [ "$i" -ge "$READS_MAX" ]; } && break
	done
	ETAG=$(http_header ETag)
	# one node for all the bodies: it starts slowly
	mapfile -t got < <(node -e '
		const fs = require("fs"), [id, ...files] = process.argv.slice(1);
		for (const f of files) {
			let out;
			try {
				const u = JSON.parse(fs.readFileSync(f, "utf8")).users.find((c) => c.userId === id);
				out = u ? JSON.stringify([u.selfieUrl, u.hasCooldown, u.cooldownExpiry]) : "absent";
			} catch (e) { out = "<no queue body>"; }
			console.log(out);
		}' "$id" "${files[@]}")
	for k in $(seq "$i"); do
		t_is "${st[k - 1]} ${got[k - 1]}" "200 $want" "$desc (read $k)"
	done
	t_is "$(workers_answered)" 2 "$desc: both workers answered"
}
# etag_refused TOKEN OLD_ETAG DESC: If-None-Match with an ETag taken before the write gives
# 200, a body and another ETag, on every read (READS or more, until both workers answered).
etag_refused() {
	local tok=$1 old=$2 desc=$3 i=0 new
	workers_mark
	while :; do
		i=$((i + 1))
		: >"$B"
		queue "$tok" -H "If-None-Match: $old"
		new=$(http_header ETag)
		[ -n "$new" ] && [ "$new" != "$old" ] && new=other || new="same $new"
		t_is "$HTTP_STATUS $new $([ -s "$B" ] && echo body)" "200 other body" "$desc (read $i)"
		[ "$i" -ge "$READS" ] && { [ "$(workers_answered)" = 2 ] || [ "$i" -ge "$READS_MAX" ]; } && break
	done
	t_is "$(workers_answered)" 2 "$desc: both workers answered"
}
# etag_kept TOKEN ETAG DESC: the page has not changed: If-None-Match gives 304 (once).
etag_kept() {
	: >"$B"
	queue "$1" -H "If-None-Match: $2"
	t_is "$HTTP_STATUS $(wc -c <"$B" | tr -d ' ')" "304 0" "$3"
}
NOCARD='[null,false,null]'

# ==== 1. a report ===========================================================================
reads "$R_T" "$X" "$NOCARD" "report, before: R's queue lists X"
ETAG_R=$ETAG
etag_kept "$R_T" "$ETAG_R" "report, before: R's ETag gives 304 while nothing changed"
reads "$W_T" "$X" "$NOCARD" "report, before: W's queue lists X"
http POST "$STACK_URL/report/user" -H "Authorization: Bearer $R_T" -H 'Content-Type: application/json' \
	--data-binary "{\"reportedUserId\":\"$X\",\"reason\":\"queue coherence\"}"
t_is "$HTTP_STATUS $(json_get "$B" success) $(json_get "$B" reportCount)" "200 true 1" "report: R reports X (POST /report/user)"
reads "$R_T" "$X" absent "report, after: X is gone from R's queue at once"
etag_refused "$R_T" "$ETAG_R" "report, after: R's old ETag → 200, not 304"
reads "$W_T" "$X" "$NOCARD" "report, after: W's queue still lists X"

# ==== 2. a selfie, twice ======================================================================
FX=$T_TMP/fx
mkdir -p "$FX"
# The JFIF header the upload is recognised by, then filler (as media.sh makes them).
for n in 1 2; do
	{ printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00'; head -c 3000 /dev/urandom; } >"$FX/$n.jpg"
done
SELFIE='http://media.test/uploads/selfie-seeded.jpg'
reads "$R_T" "$Y" "[\"$SELFIE\",false,null]" "selfie, before: R's card of Y"
ETAG_R=$ETAG
reads "$W_T" "$Y" "[\"$SELFIE\",false,null]" "selfie, before: W's card of Y"
ETAG_W=$ETAG
# The second upload replaces the first one's URL, which the reads after the first cached.
for n in 1 2; do
	http POST "$STACK_URL/media/selfie" -H "Authorization: Bearer $Y_T" -F "selfie=@$FX/$n.jpg;type=image/jpeg"
	NEW=$(json_get "$B" selfieUrl)
	t_like "$HTTP_STATUS $NEW" '^200 (https?://[^/]+)?/uploads/selfie-[0-9a-f]{32}\.jpg$' "selfie $n: Y uploads (POST /media/selfie)"
	if [ "$NEW" != "$SELFIE" ]; then t_pass "selfie $n: a new URL"; else t_fail "selfie $n: a new URL" "$NEW"; fi
	SELFIE=$NEW
	reads "$R_T" "$Y" "[\"$SELFIE\",false,null]" "selfie $n, after: R's card of Y shows the new selfieUrl at once"
	etag_refused "$R_T" "$ETAG_R" "selfie $n, after: R's ETag from before → 200, not 304"
	ETAG_R=$ETAG
	reads "$W_T" "$Y" "[\"$SELFIE\",false,null]" "selfie $n, after: W's card of Y shows the new selfieUrl at once"
	etag_refused "$W_T" "$ETAG_W" "selfie $n, after: W's ETag from before → 200, not 304"
	ETAG_W=$ETAG
done

# ==== 3. a call through the gateways: the cooldown it ends with ===============================
printf '[{"userId":"%s","token":"%s"},{"userId":"%s","token":"%s"}]' "$R" "$R_T" "$Z" "$Z_T" >"$T_TMP/call.json"
STEPS=$T_TMP/steps
mkdir -p "$STEPS"
timeout 90 node "$CHECK" "http://127.0.0.1:${PORTS[0]}" "http://127.0.0.1:${PORTS[1]}" "$T_TMP/call.json" "$STEPS" \
	>"$T_TMP/node.out" 2>"$T_TMP/node.err" &
NODE_PID=$!
# wait_step NAME: until node reached step NAME (or ended); 0 when reached.
wait_step() {
	local deadline=$((SECONDS + 30))
	until [ -e "$STEPS/$1" ]; do
		[ -e "$STEPS/exit" ] || ! kill -0 "$NODE_PID" 2>/dev/null || [ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}
if wait_step ready; then
	reads "$R_T" "$Z" "$NOCARD" "cooldown, before the call: R's queue lists Z, no cooldown"
	ETAG_R=$ETAG
	reads "$Z_T" "$R" "$NOCARD" "cooldown, before the call: Z's queue lists R, no cooldown"
	ETAG_Z=$ETAG
	touch "$STEPS/go"
	if wait_step ended; then
		EXP=$(sql "SELECT floor(extract(epoch FROM expires_at) * 1000)::bigint FROM cooldowns
			WHERE user_id_1 = least('$R'::uuid, '$Z'::uuid) AND user_id_2 = greatest('$R'::uuid, '$Z'::uuid)")
		ENDED=$(sed -n 's/^INFO ended_at=//p' "$T_TMP/node.out")
		t_like "$EXP" '^[0-9]+$' "cooldown: the gateway wrote the pair's row"
		# 24 h after the end (the gateway's clock against node's, a few seconds apart at most)
		d=$(( ${EXP:-0} - ${ENDED:-0} - 86400000 ))
		if [ "${d#-}" -lt 10000 ]; then t_pass "cooldown: the row expires 24 h after the call's end"
		else t_fail "cooldown: the row expires 24 h after the call's end" "expires $EXP, ended $ENDED"; fi
		if [ "${EXP:-0}" -gt "$(now_ms)" ]; then t_pass "cooldown: its expiry is in the future"
		else t_fail "cooldown: its expiry is in the future" "$EXP"; fi
		reads "$R_T" "$Z" "[null,true,$EXP]" "cooldown, after the call: R's queue flags Z with the expiry"
		etag_refused "$R_T" "$ETAG_R" "cooldown, after the call: R's old ETag → 200, not 304"
		reads "$Z_T" "$R" "[null,true,$EXP]" "cooldown, after the call: Z's queue flags R with the expiry"
		etag_refused "$Z_T" "$ETAG_Z" "cooldown, after the call: Z's old ETag → 200, not 304"
	else
		t_fail "cooldown: the call ended with both users available again" "$(tail -5 "$T_TMP/node.err")"
	fi
else
	t_fail "cooldown: caller and callee ready on the gateways" "$(tail -5 "$T_TMP/node.err")"
fi
touch "$STEPS/go" "$STEPS/done"
wait "$NODE_PID"; rc=$?
while IFS= read -r line; do
	case $line in
	"PASS "*) t_pass "call: ${line#PASS }" ;;
	"FAIL "*) t_fail "call: ${line#FAIL }" ;;
	esac
done <"$T_TMP/node.out"
[ "$rc" -eq 0 ] || t_fail "call: node exited $rc" "$(tail -5 "$T_TMP/node.err")"

t_is "$(stack_pids api | tr '\n' ' ')" "$API_PIDS" "the same two workers served throughout"
t_done
