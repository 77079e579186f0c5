#!/usr/bin/env bash
# Realtime phase 2 against the whole stack (PostgreSQL, Redis, 2 API workers, 2 gateways,
# nginx): invites and their outcomes (§3.6), rooms, relays and chat (§3.7), call end by a
# member, by the server deadline (also when the second member never joins) and by a disconnect
# (§3.8, §3.9), short calls under the history and completion minimums, the caller's transport
# loss with a pending invite, a member's socket back within the grace, with the rows they leave in
# PostgreSQL (history, completions, QR unlock, metrics, cooldowns) and the REST cache
# invalidated. Callers sit on gateway 1 and callees on gateway 2, so every event crosses
# gateways. Users sign up through POST /auth/guest with an admin invite code (past the
# paywall). PostgreSQL is stopped once at a call end (writes retried). Timing settings are lowered so the timers can be watched (see calls_check.js);
# CALL_SECONDS_MIN=2 is a test-only knob: the contract fixes the minimum at 60 s.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

if ! t_node_ready; then
	echo "1..0 # SKIP node, socket.io-client or ws not installed (run: scripts/dev test, or npm ci in tests/integration/node)"
	exit 0
fi
if ! command -v redis-cli >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
	echo "1..0 # SKIP redis-cli or psql not installed"
	exit 0
fi
CHECK=$top_srcdir/tests/integration/node/calls_check.js
export INVITE_WINDOW_MS=1500 INVITE_EXTEND_MS=1500 INVITE_CAP_MS=5000 INVITE_TOLERANCE_MS=200 CALL_GRACE_S=0 \
	CALL_SECONDS_MIN=2 CALL_SAVE_MIN_S=1 CALL_COMPLETE_MIN_S=2 QR_UNLOCK_COMPLETIONS=1 \
	DISCONNECT_GRACE_MS=1000 SCHED_TICK_MS=100 RL_AUTH_MAX=100000 RL_API_MAX=100000
t_start_stack 2 2
read -r -a PORTS <<<"$GATEWAY_PORTS"
GW1=http://127.0.0.1:${PORTS[0]}
GW2=http://127.0.0.1:${PORTS[1]}
export REDIS_PORT STACK_DIR top_srcdir

sql() { stack_psql -qtAX -v ON_ERROR_STOP=1 "$@"; }
CODE=CALLSADMINCODE01
sql -c "INSERT INTO invite_codes (code, type, max_uses, uses_remaining, created_by_name)
	VALUES ('$CODE', 'admin', -1, -1, 'calls test')" || t_bail "cannot insert the admin code"

# guest NAME [CODE]: sign up; prints {"userId","token"}.
guest() {
	local body
	body=$(printf '{"name":"%s","gender":"female"%s}' "$1" "${2:+,\"inviteCode\":\"$2\"}")
	http POST "$STACK_URL/auth/guest" -H 'Content-Type: application/json' -d "$body"
	[ "$HTTP_STATUS" = 200 ] || t_bail "POST /auth/guest $1: $HTTP_STATUS $(http_body)"
	printf '{"userId":"%s","token":"%s"}' "$(json_get "$T_TMP/body" userId)" "$(json_get "$T_TMP/body" sessionToken)"
}
# users FILE NAME[:nocode]...: one guest per name, as a JSON array in FILE.
users() {
	local file=$1 sep='' n; shift
	{
		printf '['
		for n in "$@"; do
			case $n in
			*:nocode) printf '%s%s' "$sep" "$(guest "${n%:nocode}")" ;;
			*) printf '%s%s' "$sep" "$(guest "$n" "$CODE")" ;;
			esac
			sep=,
		done
		printf ']'
	} >"$file"
}
# Paid users without an own invite code (inserted with SQL), for the code minted at unlock.
paid_users() {
	local file=$1 i uid tok sep=''; shift
	printf '[' >"$file"
	for i in "$@"; do
		uid=$(printf '00000000-0000-4000-8000-%012d' "$i") tok=$(printf '00000000-0000-4000-9000-%012d' "$i")
		sql -c "INSERT INTO users (user_id, name, gender, paid_status) VALUES ('$uid', 'Paid $i', 'male', 'paid');
			INSERT INTO sessions (session_token, user_id, expires_at) VALUES ('$tok', '$uid', now() + interval '1 day')" ||
			t_bail "cannot insert paid user $i"
		printf '%s{"userId":"%s","token":"%s"}' "$sep" "$uid" "$tok" >>"$file"
		sep=,
	done
	printf ']' >>"$file"
}
uid_of() { json_get "$1" "$2.userId"; }
tok_of() { json_get "$1" "$2.token"; }

# Run one scenario: PASS/FAIL lines to TAP, INFO lines into $T_TMP/info (key=value).
node_check() {
	local name=$1 file=$2 out rc line
	out=$(timeout 120 node "$CHECK" "$name" "$GW1" "$GW2" "$file" 2>"$T_TMP/node.err"); rc=$?
	while IFS= read -r line; do
		case $line in
		"PASS "*) t_pass "$name: ${line#PASS }" ;;
		"FAIL "*) t_fail "$name: ${line#FAIL }" ;;
		"INFO "*) echo "${line#INFO }" >>"$T_TMP/info" ;;
		esac
	done <<<"$out"
	[ "$rc" -eq 0 ] || t_fail "$name: checker exited $rc" "$(tail -5 "$T_TMP/node.err")"
	[ -n "$out" ] || t_fail "$name: checker printed nothing" "$(tail -5 "$T_TMP/node.err")"
}
info() { sed -n "s/^$1=//p" "$T_TMP/info" | tail -1; }
# Call-end rows are written after session:finalized is sent; wait for them (bounded).
wait_sql() { t_wait_output "$1" sql -c "$2"; }	# N QUERY: until QUERY prints N

users "$T_TMP/flow.json" 'Caller A' 'Callee B' 'Bystander C'
users "$T_TMP/refusals.json" 'R1' 'R2' 'R3' 'R4' 'R5:nocode'
users "$T_TMP/decline.json" 'D1' 'D2'
users "$T_TMP/rescind.json" 'S1' 'S2'
users "$T_TMP/expiry.json" 'E1' 'E2'
users "$T_TMP/disconnect.json" 'X1' 'X2'
users "$T_TMP/grace.json" 'G1' 'G2'
users "$T_TMP/pgdown.json" 'P1' 'P2'
users "$T_TMP/together.json" 'T1' 'T2' 'T3' 'T4'
users "$T_TMP/callergone.json" 'L1' 'L2'
users "$T_TMP/extendcap.json" 'K1' 'K2'
users "$T_TMP/unjoined.json" 'U1' 'U2'
users "$T_TMP/short.json" 'H1' 'H2' 'H3' 'H4'
users "$T_TMP/reconnect.json" 'N1' 'N2'
paid_users "$T_TMP/deadline.json" 1 2
t_is "$(sql -c "SELECT count(*) FROM users WHERE paid_status = 'qr_grace_period'")" 35 "35 guests past the paywall (and 1 unpaid)"

# ---- the whole call -----------------------------------------------------------------------
A=$(uid_of "$T_TMP/flow.json" 0) B=$(uid_of "$T_TMP/flow.json" 1)
# Fill the REST user cache first, so the metrics read back below prove its invalidation.
http GET "$STACK_URL/room/me" -H "Authorization: Bearer $(tok_of "$T_TMP/flow.json" 0)"
t_is "$HTTP_STATUS $(json_get "$T_TMP/body" timerTotal)" "200 0" "GET /room/me before the call: timerTotal 0"
node_check flow "$T_TMP/flow.json"
ROOM=$(info flow_room) SESSION=$(info flow_session)
if wait_sql 2 "SELECT count(*) FROM chat_history WHERE room_id = '$ROOM'"; then
	t_pass "flow: a history row for each participant"
else t_fail "flow: a history row for each participant" "$(sql -c "SELECT * FROM chat_history")"; fi
t_is "$(sql -c "SELECT string_agg(user_id::text || '/' || partner_id || '/' || partner_name || '/' || session_id, ',' ORDER BY partner_name)
	FROM chat_history WHERE room_id = '$ROOM'")" \
	"$A/$B/Callee B/$SESSION,$B/$A/Caller A/$SESSION" "flow: history rows name the partner and the sessionId"
t_is "$(sql -c "SELECT DISTINCT jsonb_array_length(messages) || ' ' || (messages->0->>'text') || ' ' || (messages->2->>'type')
	|| ' ' || (messages->2->'socials'->>'instagram') FROM chat_history WHERE room_id = '$ROOM'")" \
	"3 hello there social @callee" "flow: the room's messages (chat and social) are in the history"
t_like "$(sql -c "SELECT min(duration) FROM chat_history WHERE room_id = '$ROOM'")" '^[2-9]$' \
	"flow: duration is the call length (>= 2 s)"
t_is "$(sql -c "SELECT count(*) FROM session_completions WHERE room_id = '$ROOM'")" 2 "flow: a completion for each (d >= CALL_COMPLETE_MIN_S)"
t_is "$(sql -c "SELECT string_agg(session_count || ' ' || (timer_total_seconds >= 2) || ' ' || jsonb_array_length(last_sessions)
	|| ' ' || streak_days || ' ' || successful_sessions || ' ' || qr_unlocked || ' ' || paid_status || ' ' || (qr_unlocked_at IS NOT NULL), ',')
	FROM users WHERE user_id IN ('$A', '$B')")" \
	"1 true 1 1 1 true qr_verified true,1 true 1 1 1 true qr_verified true" "flow: metrics, streak, completions and QR unlock in users"
t_is "$(sql -c "SELECT (expires_at > now() + interval '23 hours') AND (expires_at < now() + interval '25 hours')
	FROM cooldowns WHERE user_id_1 = least('$A'::uuid, '$B'::uuid) AND user_id_2 = greatest('$A'::uuid, '$B'::uuid)")" \
	t "flow: 24 h pair cooldown after the call"
http GET "$STACK_URL/room/me" -H "Authorization: Bearer $(tok_of "$T_TMP/flow.json" 0)"
t_like "$HTTP_STATUS $(json_get "$T_TMP/body" timerTotal)" '^200 [2-9]' "GET /room/me after the call: the REST cache was invalidated"
http GET "$STACK_URL/room/history" -H "Authorization: Bearer $(tok_of "$T_TMP/flow.json" 1)"
t_is "$HTTP_STATUS $(json_get "$T_TMP/body" history.0.sessionId) $(json_get "$T_TMP/body" history.0.partnerId)" \
	"200 $SESSION $A" "GET /room/history of the callee shows the call"

# ---- refusals and busy closures -------------------------------------------------------------
node_check refusals "$T_TMP/refusals.json"

# ---- decline and rescind cooldowns ----------------------------------------------------------
# Redis forgets the gateways' scripts first (an operator's SCRIPT FLUSH): the gateways run
# them by SHA1, so each call that meets NOSCRIPT must be sent again in full, and none lost.
t_is "$(stack_redis_cli SCRIPT FLUSH)" OK "SCRIPT FLUSH before the decline flow"
node_check decline "$T_TMP/decline.json"
grep -q "redis lost its scripts" "$STACK_DIR"/logs/gateway-*.log
t_is "$?" 0 "decline: the gateways met NOSCRIPT and ran those calls again"
D1=$(uid_of "$T_TMP/decline.json" 0) D2=$(uid_of "$T_TMP/decline.json" 1)
t_is "$(sql -c "SELECT (expires_at > now() + interval '23 hours') AND (expires_at < now() + interval '25 hours')
	FROM cooldowns WHERE user_id_1 = least('$D1'::uuid, '$D2'::uuid)")" t "decline: 24 h cooldown"
node_check rescind "$T_TMP/rescind.json"
S1=$(uid_of "$T_TMP/rescind.json" 0)
t_is "$(sql -c "SELECT (expires_at > now() + interval '50 minutes') AND (expires_at < now() + interval '70 minutes')
	FROM cooldowns WHERE '$S1' IN (user_id_1, user_id_2)")" t "rescind: 1 h cooldown"

# ---- invite expiry by the server timer ------------------------------------------------------
node_check expiry "$T_TMP/expiry.json"
E1=$(uid_of "$T_TMP/expiry.json" 0)
t_is "$(sql -c "SELECT count(*) FROM cooldowns WHERE '$E1' IN (user_id_1, user_id_2)")" 0 "expiry: no cooldown"
t_is "$(stack_redis_cli ZCARD ns:sched:inv) $(stack_redis_cli --scan --pattern 'ns:inv:*' | wc -l)" "0 0" \
	"no invite or expiry entry left in Redis"

# ---- call ended by the server deadline ------------------------------------------------------
node_check deadline "$T_TMP/deadline.json"
ROOM=$(info deadline_room)
P1=$(uid_of "$T_TMP/deadline.json" 0)
if wait_sql 2 "SELECT count(*) FROM chat_history WHERE room_id = '$ROOM'"; then
	t_pass "deadline: history rows for both"
else t_fail "deadline: history rows for both"; fi
t_is "$(sql -c "SELECT u.qr_unlocked || ' ' || u.paid_status || ' ' || u.invite_code_uses_remaining || ' ' || c.type || ' '
	|| c.max_uses || ' ' || c.uses_remaining || ' ' || (c.code ~ '^[A-Z0-9]{16}$')
	FROM users u JOIN invite_codes c ON c.code = u.my_invite_code AND c.created_by = u.user_id WHERE u.user_id = '$P1'")" \
	"true paid 4 user 4 4 true" "deadline: QR unlock mints an own code, paid stays paid"

# ---- disconnect mid-call ----------------------------------------------------------------------
node_check disconnect "$T_TMP/disconnect.json"
ROOM=$(info disconnect_room) SESSION=$(info disconnect_session)
if wait_sql 2 "SELECT count(*) FROM chat_history WHERE room_id = '$ROOM' AND session_id = '$SESSION'"; then
	t_pass "disconnect: history rows for both with the -disconnected sessionId"
else t_fail "disconnect: history rows for both with the -disconnected sessionId" "$(sql -c "SELECT session_id FROM chat_history WHERE room_id = '$ROOM'")"; fi
t_is "$(sql -c "SELECT DISTINCT (messages->0->>'text') || '|' || (messages->-1->>'from') || '|' || (messages->-1->>'text')
	FROM chat_history WHERE room_id = '$ROOM'")" "bye soon|system|Call ended due to disconnection" \
	"disconnect: history ends with the system message"
t_is "$(sql -c "SELECT count(*) FROM session_completions WHERE room_id = '$ROOM'")" 0 "disconnect: no completion"
X1=$(uid_of "$T_TMP/disconnect.json" 0)
t_is "$(sql -c "SELECT count(*) FROM cooldowns WHERE '$X1' IN (user_id_1, user_id_2) AND expires_at > now() + interval '23 hours'")" 1 \
	"disconnect: 24 h cooldown"

# ---- two calls ending together (one statement writes both) -----------------------------------
node_check together "$T_TMP/together.json"
ROOMS=$(info together_rooms)
R1=${ROOMS%,*} R2=${ROOMS#*,}
if wait_sql 4 "SELECT count(*) FROM chat_history WHERE room_id IN ('$R1', '$R2')"; then
	t_pass "together: a history row for each participant of both calls"
else t_fail "together: a history row for each participant of both calls" "$(sql -c "SELECT room_id, user_id FROM chat_history WHERE room_id IN ('$R1', '$R2')")"; fi
read -r T1 T2 T3 T4 <<<"$(for i in 0 1 2 3; do uid_of "$T_TMP/together.json" $i; done | tr '\n' ' ')"
t_is "$(sql -c "SELECT string_agg(h.user_id::text || '/' || h.partner_id || '/' || h.room_id, ',' ORDER BY u.name)
	FROM chat_history h JOIN users u ON u.user_id = h.user_id WHERE h.room_id IN ('$R1', '$R2')")" \
	"$T1/$T2/$R1,$T2/$T1/$R1,$T3/$T4/$R2,$T4/$T3/$R2" "together: each history row names its own partner and room"
t_is "$(sql -c "SELECT count(*) FROM session_completions WHERE room_id IN ('$R1', '$R2')")" 4 "together: a completion for each"
t_is "$(sql -c "SELECT string_agg(session_count || ' ' || successful_sessions || ' ' || qr_unlocked, ',' ORDER BY name)
	FROM users WHERE name IN ('T1', 'T2', 'T3', 'T4')")" "1 1 true,1 1 true,1 1 true,1 1 true" \
	"together: metrics and QR unlock for each of the four users"
t_is "$(sql -c "SELECT count(*) FROM cooldowns c JOIN users a ON a.user_id IN (c.user_id_1, c.user_id_2)
	WHERE a.name IN ('T1', 'T3') AND c.expires_at > now() + interval '23 hours'")" 2 "together: a cooldown for each pair"

# ---- transport loss with a pending invite ---------------------------------------------------
node_check grace "$T_TMP/grace.json"

# ---- caller gone: transport loss of the caller with a pending invite ---------------------------
node_check callergone "$T_TMP/callergone.json"
L1=$(uid_of "$T_TMP/callergone.json" 0)
t_is "$(sql -c "SELECT count(*) || ' ' || bool_and(expires_at > now() + interval '50 minutes' AND expires_at < now() + interval '70 minutes')
	FROM cooldowns WHERE '$L1' IN (user_id_1, user_id_2)")" "1 true" "callergone: 1 h pair cooldown"

# ---- call:extend-wait capped after createdAt (INVITE_CAP_MS=5000 stands for 300 s) -----------
node_check extendcap "$T_TMP/extendcap.json"

# ---- the second member never joins: deadline from room creation ----------------------------------
node_check unjoined "$T_TMP/unjoined.json"

# ---- short calls: no history under CALL_SAVE_MIN_S, no completion under CALL_COMPLETE_MIN_S --------
node_check short "$T_TMP/short.json"
ROOMS=$(info short_rooms)
R1=${ROOMS%,*} R2=${ROOMS#*,}
H1=$(uid_of "$T_TMP/short.json" 0)
if wait_sql 2 "SELECT count(*) FROM chat_history WHERE room_id = '$R2'"; then
	t_pass "short: d = 1 (>= CALL_SAVE_MIN_S): a history row for each participant"
else t_fail "short: d = 1 (>= CALL_SAVE_MIN_S): a history row for each participant" "$(sql -c "SELECT room_id, duration FROM chat_history WHERE room_id = '$R2'")"; fi
t_is "$(sql -c "SELECT string_agg(DISTINCT duration::text, ',') FROM chat_history WHERE room_id = '$R2'")" 1 "short: d = 1: duration 1"
t_is "$(sql -c "SELECT count(*) FROM chat_history WHERE room_id = '$R1'") $(sql -c "SELECT count(*) FROM session_completions WHERE room_id IN ('$R1', '$R2')")" \
	"0 0" "short: d = 0: no history row; no completion for either call (d < CALL_COMPLETE_MIN_S)"
t_is "$(sql -c "SELECT session_count || ' ' || successful_sessions || ' ' || qr_unlocked FROM users WHERE user_id = '$H1'")" \
	"0 0 false" "short: d = 0: no metrics, no completion in users"
t_is "$(sql -c "SELECT count(*) FROM cooldowns WHERE '$H1' IN (user_id_1, user_id_2) AND expires_at > now() + interval '23 hours'")" 1 \
	"short: d = 0: 24 h cooldown after the ended call"

# ---- transport loss mid-call, back within the grace ----------------------------------------------
node_check reconnect "$T_TMP/reconnect.json"

# ---- PostgreSQL down at call end ------------------------------------------------------------
node_check pgdown "$T_TMP/pgdown.json"
ROOM=$(info pgdown_room)
if wait_sql 2 "SELECT count(*) FROM session_completions WHERE room_id = '$ROOM'"; then
	t_pass "pgdown: completions written after PostgreSQL came back"
else t_fail "pgdown: completions written after PostgreSQL came back"; fi
t_is "$(sql -c "SELECT count(*) FROM chat_history WHERE room_id = '$ROOM'")" 2 "pgdown: history written once per participant"

t_is "$(stack_redis_cli ZCARD ns:sched:room) $(stack_redis_cli --scan --pattern 'ns:room:*' | wc -l) $(stack_redis_cli --scan --pattern 'ns:uroom:*' | wc -l)" \
	"0 0 0" "no room state left in Redis"
t_is "$(stack_redis_cli ZCARD ns:sched:inv) $(stack_redis_cli --scan --pattern 'ns:inv:*' | wc -l)" "0 0" \
	"no invite or expiry entry left in Redis at the end"
t_is "$(stack_pids gateway | wc -l | tr -d ' ')" 2 "both gateways still running"
t_done
