#!/usr/bin/env bash
# Gateway failover against the whole stack (PostgreSQL, Redis, 2 API workers, 2 gateways,
# nginx), with short heartbeat, check and grace settings: a SIGKILLed gateway is detected by
# the other one (heartbeat gone), its sockets are treated as transport losses (§3.9), a
# client reconnects through nginx and a user who does not is cleaned up; a restart under the
# same id reaps what the previous process left; a SIGTERMed gateway hands its sockets off and
# exits within 10 s; a gateway registers its sockets again when Redis lost them, or when a
# Redis stall made it drop them in flight, and removes those of closed sockets it holds.
# The timed actions the SIGKILLed gateway created (an invite's expiry, a call's deadline, a
# member's grace) run once on the survivor, with their PostgreSQL rows written once (§3.11).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

if ! t_node_ready; then
	echo "1..0 # SKIP node, socket.io-client or ws not installed (run: scripts/dev test, or npm ci in tests/integration/node)"
	exit 0
fi
if ! command -v redis-cli >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
	echo "1..0 # SKIP redis-cli or psql not installed"
	exit 0
fi
CHECK=$top_srcdir/tests/integration/node/failover_check.js
# The sweep's presence:update is watched as published, delivered at once to every
# authenticated socket (queue_update_interval_ms 0; the scoped feed is queue_feed.sh's).
export GATEWAY_HEARTBEAT_TTL_MS=3000 GATEWAY_CHECK_MS=500 DISCONNECT_GRACE_MS=2000 SCHED_TICK_MS=200 \
	QUEUE_UPDATE_INTERVAL_MS=0
# Timed actions of the killed gateway (see timedSetup in failover_check.js): an invite due
# 5.5 s after it is stored (past the dead gateway's detection), a 3 s call ended at its
# deadline with no grace, history from 1 s. CALL_SECONDS_MIN=2 is a test-only knob (the
# contract fixes 60 s).
export INVITE_WINDOW_MS=5000 INVITE_TOLERANCE_MS=500 CALL_SECONDS_MIN=2 CALL_GRACE_S=0 CALL_SAVE_MIN_S=1
t_start_stack 2 2
read -r -a PORTS <<<"$GATEWAY_PORTS"
GW_BIN=$(stack_bin napalmsky-gateway) || t_bail "no gateway binary"
export REDIS_PORT

uid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
tok() { printf '00000000-0000-4000-9000-%012d' "$1"; }
sql() { stack_psql -qtAX -v ON_ERROR_STOP=1 "$@"; }
for n in $(seq 1 9); do
	sql -c "INSERT INTO users (user_id, name, gender) VALUES ('$(uid "$n")', 'User $n', 'female');
		INSERT INTO sessions (session_token, user_id, expires_at)
		VALUES ('$(tok "$n")', '$(uid "$n")', now() + interval '1 day');" || t_bail "cannot insert user $n"
done
# 10-21: callers (even) paid, for the timed actions of the killed gateway.
for n in $(seq 10 21); do
	sql -c "INSERT INTO users (user_id, name, gender, paid_status)
		VALUES ('$(uid "$n")', 'Timed $n', 'male', '$([ $((n % 2)) = 0 ] && echo paid || echo unpaid)');
		INSERT INTO sessions (session_token, user_id, expires_at)
		VALUES ('$(tok "$n")', '$(uid "$n")', now() + interval '1 day');" || t_bail "cannot insert user $n"
done

# gwK=port:pid for each running gateway (stack_start_gateways records gw1, gw2 in order).
declare -A GW_PID
k=0
while read -r pid _; do
	k=$((k + 1))
	GW_PID[gw$k]=$pid
done <"$STACK_DIR/pids/gateway"
gws() { echo "gw1=${PORTS[0]}:${GW_PID[gw1]},gw2=${PORTS[1]}:${GW_PID[gw2]}"; }

# Start gateway ID again on its port, recorded so that stack_stop stops it.
restart_gateway() {
	local id=$1 port=${PORTS[$((${1#gw} - 1))]}
	GATEWAY_HOST=127.0.0.1 GATEWAY_PORT=$port GATEWAY_ID=$id \
		"$GW_BIN" </dev/null >>"$STACK_DIR/logs/gateway-${id#gw}.log" 2>&1 &
	GW_PID[$id]=$!
	stack__record gateway "$!" "$GW_BIN"
	stack_wait_for 10 stack__gw_ready "$port"
}

# Turn the checker's PASS/FAIL lines into TAP; GATEWAY names the gateway it stopped; INFO
# lines (key=value) go to $T_TMP/info.
STOPPED=
node_check() {
	local label=$1 out rc line; shift
	out=$(timeout 120 node "$CHECK" "$@" 2>"$T_TMP/node.err"); rc=$?
	STOPPED=
	while IFS= read -r line; do
		case $line in
		"PASS "*) t_pass "$label: ${line#PASS }" ;;
		"FAIL "*) t_fail "$label: ${line#FAIL }" ;;
		"GATEWAY "*) STOPPED=${line#GATEWAY } ;;
		"INFO "*) echo "${line#INFO }" >>"$T_TMP/info" ;;
		esac
	done <<<"$out"
	[ "$rc" -eq 0 ] || t_fail "$label: checker exited $rc" "$(tail -5 "$T_TMP/node.err")"
	[ -n "$out" ] || t_fail "$label: checker printed nothing" "$(tail -5 "$T_TMP/node.err")"
}

# 1. SIGKILL: detection by the survivor, reconnection, cleanup of the user who stays away;
# the killed gateway's invite expiry, call deadline and grace run once on the survivor.
node_check "SIGKILL" kill "$STACK_URL" "$(gws)" "$(tok 1)" "$(uid 1)" "$(tok 2)" "$(uid 2)" "$(tok 3)" "$(uid 3)" \
	$(for n in $(seq 10 21); do printf '%s:%s ' "$(tok "$n")" "$(uid "$n")"; done)
[ -n "$STOPPED" ] || t_bail "the kill scenario stopped no gateway"
info() { sed -n "s/^$1=//p" "$T_TMP/info" 2>/dev/null | tail -1; }
# Call-end rows are written after session:finalized is sent; wait for them (bounded).
wait_sql() { t_wait_output "$1" sql -c "$2"; }	# N QUERY: until QUERY prints N
PAIR=$(info invite_pair)
t_is "$(sql -c "SELECT count(*) FROM cooldowns WHERE user_id_1 = least('${PAIR%,*}'::uuid, '${PAIR#*,}'::uuid)
	AND user_id_2 = greatest('${PAIR%,*}'::uuid, '${PAIR#*,}'::uuid)")" 0 "SIGKILL: the expired invite set no cooldown"
# ended KIND ROOM SESSION: the rows of a call ended by the survivor, written once.
ended() {
	local kind=$1 room=$2 session=$3
	if [ -n "$room" ] && wait_sql 2 "SELECT count(*) FROM chat_history WHERE room_id = '$room'"; then
		t_pass "SIGKILL, $kind: a history row for each member"
	else t_fail "SIGKILL, $kind: a history row for each member" "$(sql -c "SELECT room_id, user_id, session_id FROM chat_history")"; fi
	t_is "$(sql -c "SELECT count(DISTINCT user_id) || ' ' || string_agg(DISTINCT session_id, ',') FROM chat_history WHERE room_id = '$room'")" \
		"2 $session" "SIGKILL, $kind: both rows carry the sessionId of the session:finalized"
	t_is "$(sql -c "SELECT string_agg(session_count || ' ' || jsonb_array_length(last_sessions), ',') FROM users
		WHERE user_id IN (SELECT user_id FROM chat_history WHERE room_id = '$room')")" "1 1,1 1" \
		"SIGKILL, $kind: metrics written once for each member (session_count 1, one last_sessions entry)"
	t_is "$(sql -c "SELECT count(*) FROM cooldowns c JOIN chat_history h ON h.user_id = c.user_id_1 AND h.partner_id = c.user_id_2
		WHERE h.room_id = '$room' AND c.expires_at > now() + interval '23 hours'")" 1 "SIGKILL, $kind: a 24 h pair cooldown"
}
ended "deadline" "$(info deadline_room)" "$(info deadline_session)"
t_like "$(sql -c "SELECT string_agg(DISTINCT duration::text, ',') || ' ' || count(*) FILTER (WHERE messages::text LIKE '%system%')
	FROM chat_history WHERE room_id = '$(info deadline_room)'")" '^3 0$' "SIGKILL, deadline: duration 3 s (agreedSeconds), no disconnect message"
ended "grace" "$(info grace_room)" "$(info grace_session)"
t_is "$(sql -c "SELECT DISTINCT (messages->-1->>'from') || '|' || (messages->-1->>'text') FROM chat_history WHERE room_id = '$(info grace_room)'")" \
	"system|Call ended due to disconnection" "SIGKILL, grace: the history ends with the disconnect message"
t_ok "killed gateway $STOPPED restarts" restart_gateway "$STOPPED"

# 2. A restart under the same id before the heartbeat expires: the new process reaps the
# registrations its predecessor left (no socket of this process is older than its start).
ID=gw1 PORT=${PORTS[0]}
G=00000000-0000-4000-8000-0000000000aa
redis-cli -h 127.0.0.1 -p "$REDIS_PORT" >/dev/null <<EOF
SET ns:gw:$ID x PX 60000
SADD ns:gateways $ID
HSET ns:sock:ghost1 gatewayId $ID socketId ghost1 userId $G sessionToken tghost authenticatedAt 1000
ZADD ns:usocks:$G 1000 ghost1
SADD ns:ssocks:tghost ghost1
SADD ns:gwsocks:$ID ghost1
SADD ns:online $G
HSET ns:presence:$G online 1 available 1 availableSince 1000 lastActiveAt 1000
ZADD ns:available 1000 $G
EOF
kill -KILL "${GW_PID[$ID]}"
stack__wait_gone 5 "${GW_PID[$ID]}"
t_ok "gateway $ID restarts under the same id" restart_gateway "$ID"
reaped() { [ "$(stack_redis_cli EXISTS ns:sock:ghost1)" = 0 ] && [ "$(stack_redis_cli SISMEMBER ns:gwsocks:$ID ghost1)" = 0 ]; }
t_ok "the restarted gateway reaps its predecessor's registrations" stack_wait_for 3 reaped
gone() { [ "$(stack_redis_cli SISMEMBER ns:online $G)" = 0 ] && [ "$(stack_redis_cli EXISTS ns:presence:$G)" = 0 ]; }
t_ok "their user is cleaned up after the grace" stack_wait_for 6 gone
t_is "$(stack_redis_cli ZSCORE ns:available $G)" "" "their user left the queue"
t_is "$(stack_redis_cli SISMEMBER ns:gateways $ID)" 1 "the restarted gateway is listed"
t_ok "the restarted gateway is healthy" stack__gw_ready "$PORT"

# 3. SIGTERM: clients reconnect elsewhere, registrations handed off, exit within 10 s.
node_check "SIGTERM" term "$STACK_URL" "$(gws)" "$(tok 4):$(uid 4)" "$(tok 5):$(uid 5)" \
	"$(tok 6):$(uid 6)" "$(tok 7):$(uid 7)" "$(tok 8):$(uid 8)" "$(tok 9):$(uid 9)"
[ -n "$STOPPED" ] && grep -q "gateway $STOPPED: stopped" "$STACK_DIR/logs/gateway-${STOPPED#gw}.log"
t_is "$?" 0 "the SIGTERMed gateway logged a clean stop"

# 4. Registrations lost in Redis while the socket lives are put back by its gateway.
SURVIVOR=gw1
[ "$STOPPED" = gw1 ] && SURVIVOR=gw2
node_check "lost registration" lost "http://127.0.0.1:${PORTS[$((${SURVIVOR#gw} - 1))]}" "$(tok 1)" "$(uid 1)"

# 5. A Redis stall past redis_timeout_ms drops the link with registrations in flight: the
# gateway sends those again once Redis answers, a batch per loop turn.
node_check "Redis stall" stall "http://127.0.0.1:${PORTS[$((${SURVIVOR#gw} - 1))]}" \
	"$STACK_DIR/logs/gateway-${SURVIVOR#gw}.log" "$(tok 2):$(uid 2)" "$(tok 3):$(uid 3)" \
	"$(tok 4):$(uid 4)" "$(tok 5):$(uid 5)"

# 6. A registration of the gateway's in Redis whose socket is gone (its unregistration lost
# with a dropped link) is removed by the gateway's sweep.
node_check "stale registration" stale "http://127.0.0.1:${PORTS[$((${SURVIVOR#gw} - 1))]}" \
	"$(tok 6)" "$(uid 6)" "$(uid 7)"

# 7. Redis behind: a gateway with gateway_redis_backlog_max 3 (and a Redis timeout longer
# than the stall, so it waits instead of reconnecting) refuses upgrades while more commands
# wait, and accepts them again after.
BEHIND_PORT=$(stack__free_port) || t_bail "no free port"
GATEWAY_HOST=127.0.0.1 GATEWAY_PORT=$BEHIND_PORT GATEWAY_ID=gw-behind GATEWAY_REDIS_BACKLOG_MAX=3 \
	REDIS_TIMEOUT_MS=5000 "$GW_BIN" </dev/null >>"$STACK_DIR/logs/gateway-behind.log" 2>&1 &
BEHIND_PID=$!
stack__record gateway "$BEHIND_PID" "$GW_BIN"
t_ok "a gateway with a backlog ceiling of 3 starts" stack_wait_for 10 stack__gw_ready "$BEHIND_PORT"
node_check "Redis behind" behind "http://127.0.0.1:$BEHIND_PORT" "$(tok 7)" "$(tok 8)" "$(tok 9)" \
	"$(tok 4)" "$(tok 5)" "$(tok 6)"
kill -TERM "$BEHIND_PID" 2>/dev/null
wait "$BEHIND_PID" 2>/dev/null

t_is "$(stack_pids gateway | wc -l | tr -d ' ')" 1 "one gateway still running"
t_done
