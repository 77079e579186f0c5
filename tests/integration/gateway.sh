#!/usr/bin/env bash
# Two gateways behind nginx: /health on each, socket.io-client 4.8 (websocket transport)
# connects through nginx to both and straight to each, the refusals of §3.1 (EIO version,
# transport, Origin), and garbage frames and binary packets on raw websockets are closed
# cleanly while another client of the same gateway keeps working.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

if ! t_node_ready; then
	echo "1..0 # SKIP node, socket.io-client or ws not installed (run: scripts/dev test, or npm ci in tests/integration/node)"
	exit 0
fi
CHECK=$top_srcdir/tests/integration/node/gateway_check.js
export PING_INTERVAL_MS=1000 PING_TIMEOUT_MS=5000	# so "still gets pings" is seen quickly
t_start_stack 2 2
read -r -a PORTS <<<"$GATEWAY_PORTS"

node_check() { t_node_check "$1" "$CHECK" "${@:2}"; }

for k in 1 2; do
	http GET "http://127.0.0.1:${PORTS[$((k - 1))]}/health"
	t_is "$HTTP_STATUS" 200 "gateway $k: /health is 200"
	t_like "$(http_header Content-Type)" '^application/json' "gateway $k: /health is JSON"
done

http GET "$STACK_URL/socket.io/?EIO=3&transport=websocket"
t_is "$HTTP_STATUS" 400 "EIO=3 through nginx is 400"
t_is "$(json_get "$T_TMP/body" code)" 5 "EIO=3 answer code 5"
t_is "$(json_get "$T_TMP/body" message)" "Unsupported protocol version" "EIO=3 answer message (§3.1)"
http GET "$STACK_URL/socket.io/?EIO=4&transport=polling"
t_is "$HTTP_STATUS" 400 "transport=polling through nginx is 400"
t_is "$(json_get "$T_TMP/body" code)" 0 "polling answer code 0"
t_is "$(json_get "$T_TMP/body" message)" "Transport unknown" "polling answer message (§3.1)"
# Straight to a gateway: the exact bodies, and any other transport.
http GET "http://127.0.0.1:${PORTS[1]}/socket.io/?EIO=5&transport=websocket"
t_is "$HTTP_STATUS $(http_body)" '400 {"code":5,"message":"Unsupported protocol version"}' "gateway 2: EIO=5 → 400 code 5"
http GET "http://127.0.0.1:${PORTS[1]}/socket.io/?EIO=4&transport=webtransport"
t_is "$HTTP_STATUS $(http_body)" '400 {"code":0,"message":"Transport unknown"}' "gateway 2: transport=webtransport → 400 code 0"

# An upgrade whose Origin is not allowed (the stack keeps the default allowed_origins,
# http://localhost:3000) → 403 (§3.1, §1.9), through nginx and straight to a gateway.
node_check "through nginx" origin "$STACK_URL"
node_check "gateway 1 direct" origin "http://127.0.0.1:${PORTS[0]}"

node_check "through nginx" connect "$STACK_URL" 6
for k in 1 2; do
	node_check "gateway $k direct" connect "http://127.0.0.1:${PORTS[$((k - 1))]}" 2
done
# nginx logs a websocket when it closes; both gateways must appear as upstreams.
served_by() { grep -c "GET /socket.io/.*upstream=127.0.0.1:$1\$" "$STACK_DIR/logs/nginx-access.log"; }
both_served() { [ "$(served_by "${PORTS[0]}")" -gt 0 ] && [ "$(served_by "${PORTS[1]}")" -gt 0 ]; }
stack_wait_for 5 both_served
t_ok "nginx spread the sockets over both gateways (gw1: $(served_by "${PORTS[0]}"), gw2: $(served_by "${PORTS[1]}"))" \
	both_served

node_check "garbage on gateway 1" garbage "http://127.0.0.1:${PORTS[0]}"
t_is "$(stack_pids gateway | wc -l | tr -d ' ')" 2 "both gateways still running"
http GET "http://127.0.0.1:${PORTS[0]}/health"
t_is "$HTTP_STATUS" 200 "gateway 1 still healthy after the garbage"
t_done
