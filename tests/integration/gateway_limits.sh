#!/usr/bin/env bash
# Gateway limits and observability: a flooding socket is closed (1008 "rate limited") while
# others live on; a socket that stops reading is dropped once its send queue is full; clients
# that compress with a 15-bit window (browsers) are understood; fragmented messages are
# reassembled up to max_payload; /metrics shows it all, to allowed addresses only; /health
# and the Redis error counter follow Redis going away, and a handshake with PostgreSQL away
# is told to try again, its failures counted; sockets that never CONNECT or stop answering pings are closed on time.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

if ! t_node_ready; then
	echo "1..0 # SKIP node or ws not installed (run: scripts/dev test, or npm ci in tests/integration/node)"
	exit 0
fi
CHECK=$top_srcdir/tests/integration/node/limits_check.js
BURST=20
# A send queue of 256 KB: the slow-consumer check fills it in seconds. Messages up to 100 KB
# (the slow check sends 60 KB offers).
MAX=100000
export SOCKET_EVENTS_BURST=$BURST SOCKET_EVENTS_PER_SECOND=10 SEND_QUEUE_MAX=262144 MAX_PAYLOAD=$MAX
t_start_stack 1 1
GW="http://127.0.0.1:$GATEWAY_PORTS"

node_check() { t_node_check "$1" "$CHECK" "${@:2}"; }

# metric NAME_AND_LABELS: its value on the gateway's page ("" when absent).
metric() { grep -F "$1" "$T_TMP/body" | grep -v '^#' | awk '{ print $NF }' | head -1; }

node_check "deflate" deflate "$GW"
node_check "flood" flood "$GW" "$BURST"
node_check "deflate through nginx" deflate "$STACK_URL"
. "$top_srcdir/tests/lib/seed.sh"
seed_users 1 4 >/dev/null || t_bail "seeding failed"
node_check "relay" relay "$STACK_URL" "$(seed_user_id 1)" "$(seed_token 1)" "$(seed_user_id 2)" "$(seed_token 2)"
node_check "slow consumer" slow "$GW" "$(seed_user_id 3)" "$(seed_token 3)" "$(seed_user_id 4)" "$(seed_token 4)"

http GET "$GW/metrics"
t_is "$HTTP_STATUS" 200 "/metrics from 127.0.0.1 is 200"
t_like "$(http_header Content-Type)" '^text/plain; version=0.0.4' "/metrics is Prometheus text 0.0.4"
rl=$(metric 'napalmsky_gateway_forced_closes_total{gateway="gw1",reason="rate_limited"}')
t_is "$rl" 1 "the rate-limited close is counted once"
opened=$(metric 'napalmsky_gateway_connections_opened_total{gateway="gw1"}')
t_ok "connections opened counted (>= 4, got $opened)" test "${opened:-0}" -ge 4
t_ok "presence:join events counted" grep -q '^napalmsky_gateway_events_total{gateway="gw1",event="presence:join"} [1-9]' "$T_TMP/body"
unknown=$(metric 'napalmsky_gateway_events_unknown_total{gateway="gw1"}')
t_ok "ignored unknown events counted (>= $((BURST - 5)), got $unknown)" test "${unknown:-0}" -ge $((BURST - 5))
t_ok "Redis round trips measured" grep -q '^napalmsky_gateway_redis_seconds_count{gateway="gw1"} [1-9]' "$T_TMP/body"
rss=$(metric 'napalmsky_gateway_resident_memory_bytes{gateway="gw1"}')
t_ok "resident memory reported (${rss:-none} bytes)" test "${rss:-0}" -gt 1000000

# A client behind a trusted proxy is judged by its own address: not allowed.
http GET "$GW/metrics" -H 'X-Real-IP: 203.0.113.9'
t_is "$HTTP_STATUS" 404 "/metrics for an address outside metrics_allow is 404"
t_is "$(json_get "$T_TMP/body" error)" "Not found" "... with the JSON of an unknown path"
http GET "$STACK_URL/metrics"
t_ok "nginx sends /metrics to the REST workers, not to the gateway" \
	sh -c "! grep -q napalmsky_gateway_ '$T_TMP/body'"

node_check "fragments" fragments "$GW" "$MAX"
http GET "$GW/metrics"
t_is "$(metric 'napalmsky_gateway_forced_closes_total{gateway="gw1",reason="protocol"}')" 1 \
	"the oversize message's close is counted as a protocol close"

# The gauges follow the sockets: 3 held (not authenticated), then none.
node "$CHECK" hold "$GW" 3 3000 >"$T_TMP/hold.out" 2>&1 &
HOLD=$!
gauge_is() { curl -s "$GW/metrics" | grep -qx "napalmsky_gateway_connections{gateway=\"gw1\"} $1"; }
t_ok "connections gauge: 3 while 3 sockets are open" stack_wait_for 10 gauge_is 3
http GET "$GW/metrics"
t_is "$(metric 'napalmsky_gateway_authenticated_connections{gateway="gw1"}')" 0 \
	"authenticated_connections: 0 (none of them authenticated)"
t_like "$(metric 'napalmsky_gateway_send_queue_bytes{gateway="gw1"}') $(metric 'napalmsky_gateway_send_queue_max_bytes{gateway="gw1"}')" \
	'^[0-9]+ [0-9]+$' "send queue gauges reported"
wait "$HOLD"
t_ok "connections gauge: 0 once they closed" stack_wait_for 10 gauge_is 0

# Redis away: /health says so with 503, the lost link is counted; Redis back: 200 again.
health_is() { [ "$(curl -s -o "$T_TMP/health" -w '%{http_code}' "$GW/health")" = "$1" ]; }
http GET "$GW/metrics"
RERR=$(metric 'napalmsky_gateway_redis_errors_total{gateway="gw1"}')
stack_stop_redis
t_ok "/health is 503 while Redis is down" stack_wait_for 10 health_is 503
t_like "$(cat "$T_TMP/health")" '"status":"unavailable".*"redis":\{"status":"down"\}' \
	"/health names Redis as down"
http GET "$GW/metrics"
t_ok "redis_errors_total counted the lost link (${RERR:-none} -> $(metric 'napalmsky_gateway_redis_errors_total{gateway="gw1"}'))" \
	test "$(metric 'napalmsky_gateway_redis_errors_total{gateway="gw1"}')" -gt "${RERR:-0}"
stack_start_redis >/dev/null 2>&1 || t_bail "Redis did not start again"
t_ok "/health is 200 again once Redis is back" stack_wait_for 20 health_is 200

# Short timers, on a gateway restarted with them: no CONNECT within 1 s, no pong within
# 0.5 + 1 s.
stack__stop_name gateway TERM
CONNECT_TIMEOUT_MS=1000 PING_INTERVAL_MS=500 PING_TIMEOUT_MS=1000 stack_start_gateways 1 >/dev/null 2>&1 ||
	t_bail "the gateway did not start again"
node_check "timeouts" timeouts "$GW" 1000 500 1000
http GET "$GW/metrics"
t_is "$(metric 'napalmsky_gateway_forced_closes_total{gateway="gw1",reason="connect_timeout"}') $(metric 'napalmsky_gateway_forced_closes_total{gateway="gw1",reason="ping_timeout"}')" \
	"1 1" "the connect and ping timeouts are counted, once each"

# PostgreSQL away: a handshake's session lookup fails and the socket is told to try again.
GWLOG=$STACK_DIR/logs/gateway-1.log
LOG_AT=$(wc -c <"$GWLOG")
http GET "$GW/metrics"
PGERR=$(metric 'napalmsky_gateway_pg_errors_total{gateway="gw1"}')
stack_stop_pg
node_check "auth with PostgreSQL down" pgdown "$GW" "$(seed_token 1)"
# pg_errors_total counts every PostgreSQL failure the gateway logs, refused reconnects too:
# once the log shows one (the links retry every <= 2 s), the counter has moved at least as
# often as "gateway: postgres:" was logged since the stop (each drop logs, then counts).
pg_logged() { tail -c +$((LOG_AT + 1)) "$GWLOG" | grep -c 'gateway: postgres: '; }
refused() { tail -c +$((LOG_AT + 1)) "$GWLOG" | grep -q 'gateway: postgres: connect failed'; }
t_ok "the gateway retries PostgreSQL and logs the refused connect" stack_wait_for 15 refused
LOGGED=$(pg_logged)
http GET "$GW/metrics"
t_ok "pg_errors_total counted each logged failure (${PGERR:-none} + $LOGGED <= $(metric 'napalmsky_gateway_pg_errors_total{gateway="gw1"}'))" \
	test "$(metric 'napalmsky_gateway_pg_errors_total{gateway="gw1"}')" -ge "$((${PGERR:-0} + LOGGED))"

t_is "$(stack_pids gateway | wc -l | tr -d ' ')" 1 "the gateway is still running"
t_done
