#!/usr/bin/env bash
# napalmsky-loadgen against the whole stack (PostgreSQL, Redis, 2 API workers, 2 gateways,
# nginx): connect mode (every seeded user held, RSS read), call flows through nginx and
# straight to both gateways (same- and cross-gateway pairs), churn (updates counted), the
# exit codes, and a misbehaving server (bad frames close the socket and are counted); users
# created through POST /auth/guest (--create, --api, --invite-code) held from loopback source
# addresses (--source).
# Each flows run uses its own users: a pair may talk only once a day.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/lib/seed.sh"

if ! command -v redis-cli >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
	echo "1..0 # SKIP redis-cli or psql not installed"
	exit 0
fi
if ! command -v node >/dev/null 2>&1 && ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP node or python3 needed to read JSON"
	exit 0
fi
LG=$(stack_bin napalmsky-loadgen) || t_bail "napalmsky-loadgen is not built"
export DISCONNECT_GRACE_MS=500 SCHED_TICK_MS=100 RL_AUTH_MAX=1000	# --create signs guests up from one IP
t_start_stack 2 2
read -r -a PORTS <<<"$GATEWAY_PORTS"
GW1=ws://127.0.0.1:${PORTS[0]}/socket.io/
GW2=ws://127.0.0.1:${PORTS[1]}/socket.io/
NGINX_WS=ws://127.0.0.1:$NGINX_PORT/socket.io/
PIDS=()
for pid in $(stack_pids gateway); do PIDS+=(--gateway-pid "$pid"); done

# users FROM TO FILE: paid seed users with sessions, as "userId token" lines.
users() {
	seed_users "$1" "$2" paid >/dev/null || t_bail "seeding users $1-$2 failed"
	printf 'SELECT %s, %s FROM generate_series(:from::int, :to::int) AS i;\n' \
		"$(seed__sql_uuid user)" "$(seed__sql_uuid token)" |
		seed__psql -tA -F ' ' -v from="$1" -v to="$2" >"$3" || t_bail "listing users $1-$2 failed"
}
users 1 200 "$T_TMP/connect.txt"
users 201 300 "$T_TMP/flows-nginx.txt"
users 301 400 "$T_TMP/flows-direct.txt"
t_is "$(wc -l <"$T_TMP/connect.txt" | tr -d ' ')" 200 "200 paid users with sessions seeded"

j() { json_get "$T_TMP/$1.json" "$2"; }
# run NAME ARGS...: the loadgen with --json $T_TMP/NAME.json; output in $T_TMP/NAME.out.
run() {
	local name=$1; shift
	timeout 120 "$LG" --json "$T_TMP/$name.json" "$@" >"$T_TMP/$name.out" 2>&1
	RC=$?
}

# ---- connect ------------------------------------------------------------------------------
run connect --mode connect --users "$T_TMP/connect.txt" --url "$GW1" --url "$GW2" --duration 2 "${PIDS[@]}"
t_is "$RC" 0 "connect: exit 0" "$(cat "$T_TMP/connect.out")"
t_is "$(j connect connect.requested) $(j connect connect.held) $(j connect errors.total)" "200 200 0" \
	"connect: 200 of 200 held, no errors" "$(cat "$T_TMP/connect.out")"
t_like "$(j connect connect.handshake.n) $(j connect connect.rate_per_s)" '^200 [0-9.]+$' "connect: 200 handshake latencies and a rate"
t_like "$(j connect rss.before_kb) $(j connect rss.holding_kb)" '^[1-9][0-9]* [1-9][0-9]*$' "connect: gateway RSS before and while holding"
t_is "$(j connect rss.gateways.1.pid)" "$(stack_pids gateway | tail -1)" "connect: RSS of both gateways, by pid"
t_like "$(cat "$T_TMP/connect.out")" 'connect: 200 of 200 held' "connect: the human summary says so"

# ---- users created through the REST API, held from loopback source addresses -----------------
CODE=LOADGENADMINCODE
seed__psql -c "INSERT INTO invite_codes (code, type, max_uses, uses_remaining, created_by_name)
	VALUES ('$CODE', 'admin', -1, -1, 'loadgen test')" || t_bail "cannot insert the admin code"
# held: "<sockets to a gateway from 127.0.0.2> <from 127.0.0.3> <created users with a registered socket>"
held() {
	local a b p n=0 uid
	a=0 b=0
	for p in "${PORTS[@]}"; do
		a=$((a + $(ss -Htn state established src 127.0.0.2 dst "127.0.0.1:$p" | wc -l)))
		b=$((b + $(ss -Htn state established src 127.0.0.3 dst "127.0.0.1:$p" | wc -l)))
	done
	for uid in $(seed__psql -tA -c "SELECT user_id FROM users WHERE name LIKE 'Load %'"); do
		[ "$(stack_redis_cli ZCARD "ns:usocks:$uid")" -gt 0 ] && n=$((n + 1))
	done
	echo "$a $b $n"
}
timeout 120 "$LG" --json "$T_TMP/create.json" --mode connect --create 6 --api "$STACK_URL" --invite-code "$CODE" \
	--source 127.0.0.2-127.0.0.3 --url "$GW1" --url "$GW2" --duration 3 "${PIDS[@]}" >"$T_TMP/create.out" 2>&1 &
LG_PID=$!
HELD=
for _ in $(seq 40); do
	HELD=$(held)
	[ "$HELD" = "3 3 6" ] && break
	kill -0 "$LG_PID" 2>/dev/null || break
	sleep 0.1
done
wait "$LG_PID"
RC=$?
t_is "$RC" 0 "create: exit 0" "$(cat "$T_TMP/create.out")"
t_is "$(seed__psql -tA -c "SELECT count(*) || ' ' || count(*) FILTER (WHERE paid_status = 'qr_grace_period' AND invite_code_used = '$CODE')
	FROM users WHERE name LIKE 'Load %'")" "6 6" "create: 6 guests signed up through the API with the invite code (paid access)"
t_is "$(seed__psql -tA -c "SELECT count(*) FROM sessions s JOIN users u USING (user_id) WHERE u.name LIKE 'Load %' AND s.is_active")" 6 \
	"create: each with an active session"
t_is "$(j create connect.requested) $(j create connect.held) $(j create errors.total)" "6 6 0" \
	"create: 6 of 6 held, no errors" "$(cat "$T_TMP/create.out")"
t_is "$HELD" "3 3 6" "create: while held, 3 sockets from 127.0.0.2 and 3 from 127.0.0.3, each created user registered" \
	"(sockets from .2, from .3, registered users)"

# ---- flows through nginx --------------------------------------------------------------------
run flows-nginx --mode flows --flows 20 --duration 5 --users "$T_TMP/flows-nginx.txt" --url "$NGINX_WS"
t_is "$RC" 0 "flows via nginx: exit 0" "$(cat "$T_TMP/flows-nginx.out")"
t_like "$(j flows-nginx flows.completed)" '^[1-9][0-9]*$' "flows via nginx: flows completed" "$(cat "$T_TMP/flows-nginx.out")"
t_is "$(j flows-nginx errors.total)" 0 "flows via nginx: no errors" "$(cat "$T_TMP/flows-nginx.out")"
t_like "$(j flows-nginx flows.steps.offer_relay.same.n) $(j flows-nginx flows.steps.end_finalized.same.p99_ms)" \
	'^[1-9][0-9]* [0-9.]+$' "flows via nginx: per-step latencies"

# ---- flows straight to both gateways --------------------------------------------------------
# relayed PATH: relayed frames both gateways have counted on that path (their /metrics).
relayed() {
	local port n sum=0
	for port in "${PORTS[@]}"; do
		n=$(curl -s "http://127.0.0.1:$port/metrics" |
			sed -n "s/^napalmsky_gateway_relay_seconds_count{.*path=\"$1\"} \([0-9]*\)$/\1/p")
		sum=$((sum + ${n:-0}))
	done
	echo "$sum"
}
LOCAL0=$(relayed local) REMOTE0=$(relayed remote)
run flows-direct --mode flows --flows 20 --duration 5 --users "$T_TMP/flows-direct.txt" \
	--url "$GW1" --url "$GW2" --procs 2
t_is "$RC" 0 "flows direct: exit 0" "$(cat "$T_TMP/flows-direct.out")"
t_like "$(j flows-direct flows.cross_gateway) $(j flows-direct flows.same_gateway)" '^[1-9][0-9]* [1-9][0-9]*$' \
	"flows direct: cross-gateway and same-gateway flows completed" "$(cat "$T_TMP/flows-direct.out")"
t_is "$(j flows-direct errors.total)" 0 "flows direct: no errors" "$(cat "$T_TMP/flows-direct.out")"
t_like "$(j flows-direct flows.steps.invite_notify.cross.n) $(j flows-direct flows.steps.ice_relay.cross.n)" \
	'^[1-9][0-9]* [1-9][0-9]*$' "flows direct: cross-gateway step latencies"
t_is "$(stack_redis_cli --scan --pattern 'ns:room:*' | wc -l | tr -d ' ')" 0 "flows: no room left behind"
# Every offer, answer and ICE candidate the loadgen timed was delivered by a gateway, which
# counted it: same-gateway pairs on the local path, cross-gateway pairs on the remote one
# (chat lines and flows cut off at the end add to both).
steps() { local s n=0; for s in offer_relay answer_relay ice_relay; do n=$((n + $(j flows-direct "flows.steps.$s.$1.n"))); done; echo $n; }
SAME=$(steps same) CROSS=$(steps cross)
LOCAL=$(($(relayed local) - LOCAL0)) REMOTE=$(($(relayed remote) - REMOTE0))
t_ok "flows direct: the gateways' relay_seconds{path=local} counted every same-gateway relay ($LOCAL >= $SAME > 0)" \
	test "$SAME" -gt 0 -a "$LOCAL" -ge "$SAME"
t_ok "flows direct: relay_seconds{path=remote} counted every cross-gateway relay ($REMOTE >= $CROSS > 0)" \
	test "$CROSS" -gt 0 -a "$REMOTE" -ge "$CROSS"

# ---- churn ----------------------------------------------------------------------------------
run churn --mode churn --rate 50 --duration 3 --users "$T_TMP/connect.txt" --url "$GW1" --url "$GW2" "${PIDS[@]}"
t_is "$RC" 0 "churn: exit 0" "$(cat "$T_TMP/churn.out")"
t_like "$(j churn churn.toggles)" '^1[0-9][0-9]$' "churn: about 150 toggles (50/s for 3 s)" "$(cat "$T_TMP/churn.out")"
t_like "$(j churn churn.queue_update_frames) $(j churn churn.update_bytes) $(j churn churn.max_queue_updates_per_client_interval)" \
	'^[1-9][0-9]* [1-9][0-9]* [1-9][0-9]*$' "churn: queue:update frames and bytes counted" "$(cat "$T_TMP/churn.out")"
t_like "$(j churn churn.broadcast_bytes)" '^[1-9]' "churn: the broadcast comparison is computed"
t_is "$(j churn errors.total) $(j churn connect.held)" "0 200" "churn: no errors, all held"

# ---- exit codes and a misbehaving server ------------------------------------------------------
"$LG" --users "$T_TMP/connect.txt" >/dev/null 2>&1
t_is "$?" 2 "no --url: usage error (2)"
"$LG" --mode nope --url "$GW1" --users "$T_TMP/connect.txt" >/dev/null 2>&1
t_is "$?" 2 "unknown mode: usage error (2)"
"$LG" --url "$GW1" --users "$T_TMP/missing.txt" >/dev/null 2>&1
t_is "$?" 1 "unreadable users file: could not run (1)"

# A server that upgrades properly, then sends a bad frame on each connection.
if command -v python3 >/dev/null 2>&1; then
	BAD_PORT=$(stack__free_port)
	python3 - "$BAD_PORT" >"$T_TMP/bad.log" 2>&1 <<'EOF' &
import base64, hashlib, socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(8); s.settimeout(30)
print("listening", flush=True)
bad = [b"\x81\x7f\x00\x00\x01\x00\x00\x00\x00\x00",		# 1 TB frame
       b"\x81\x85abcd" + bytes(x ^ y for x, y in zip(b"2open", b"abcdabcd")),	# masked by the server
       b"\x81\x0c0{\"sid\":\"x\"}" + b"\x81\x0542[\"x",		# open, then a broken event
       b"\x82\x02\x00\x01"]						# binary frame
for frame in bad:
    c, _ = s.accept()
    req = b""
    while b"\r\n\r\n" not in req:
        req += c.recv(4096) or sys.exit("request cut short")
    key = [l.split(b":", 1)[1].strip() for l in req.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key:")][0]
    acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
    c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n" + frame)
    c.recv(4096); c.close()
EOF
	BAD_PID=$!
	stack_wait_for 5 grep -q listening "$T_TMP/bad.log" || t_diag "the bad server did not start: $(cat "$T_TMP/bad.log")"
	run bad --users <(head -1 "$T_TMP/connect.txt") --url "ws://127.0.0.1:$BAD_PORT/socket.io/" \
		--retries 3 --duration 0 --gateway-pid "$BAD_PID"
	t_is "$RC" 0 "bad server: the run completes (exit 0)" "$(cat "$T_TMP/bad.out")"
	t_is "$(j bad connect.held) $(j bad connect.failed) $(j bad connect.retries) $(j bad errors.total)" "0 1 3 4" \
		"bad server: 4 attempts, each closed and counted" "$(cat "$T_TMP/bad.out")"
	t_is "$(j bad 'errors.by_kind.connect: frame: over the size limit') $(j bad 'errors.by_kind.connect: frame: masked by the server') $(j bad 'errors.by_kind.connect: malformed event') $(j bad 'errors.by_kind.connect: frame: binary')" \
		"1 1 1 1" "bad server: oversized, masked, malformed and binary frames named" "$(cat "$T_TMP/bad.out")"
	kill "$BAD_PID" 2>/dev/null
	wait "$BAD_PID" 2>/dev/null
else
	t_skip 3 "python3 not installed"
fi

# A full gateway answers the upgrade 503 (lws writes it as HTTP/1.0): named, not "not HTTP".
FULL_PORT=$(stack__free_port) || t_bail "no free port"
GATEWAY_HOST=127.0.0.1 GATEWAY_PORT=$FULL_PORT GATEWAY_ID=gw-full GATEWAY_MAX_CONNECTIONS=1 \
	"$(stack_bin napalmsky-gateway)" </dev/null >>"$STACK_DIR/logs/gateway-full.log" 2>&1 &
FULL_PID=$!
stack__record gateway "$FULL_PID" "$(stack_bin napalmsky-gateway)"
stack_wait_for 10 stack__gw_ready "$FULL_PORT" || t_diag "the full gateway did not start"
run full --users <(sed -n 2,3p "$T_TMP/connect.txt") --url "ws://127.0.0.1:$FULL_PORT/socket.io/" \
	--retries 0 --concurrency 1 --duration 0 --gateway-pid "$FULL_PID"
t_is "$(j full connect.held) $(j full connect.failed) $(j full 'errors.by_kind.connect: upgrade: 503 (gateway full, draining or Redis behind)')" \
	"1 1 1" "full gateway: one held, one refused with 503 and named so" "$(cat "$T_TMP/full.out")"
kill "$FULL_PID" 2>/dev/null
wait "$FULL_PID" 2>/dev/null

t_is "$(stack_pids gateway | wc -l | tr -d ' ')" 2 "both gateways still running"
t_done
