#!/usr/bin/env bash
# Realtime phase 1 against the whole stack (PostgreSQL, Redis, 2 API workers, 2 gateways,
# nginx): handshake and `auth` outcomes (§3.2), IP bans through a trusted proxy, presence and
# queue updates across gateways with the Redis state they leave (§3.3, §3.5, §3.11), control
# messages on ns:ctl (a ban on live sockets, §3.10), the per-user socket cap, and disconnect
# cleanup with the grace (§3.9).
# Users and sessions are inserted with SQL, so the test does not depend on the REST routes.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

if ! t_node_ready; then
	echo "1..0 # SKIP node, socket.io-client or ws not installed (run: scripts/dev test, or npm ci in tests/integration/node)"
	exit 0
fi
if ! command -v redis-cli >/dev/null 2>&1 || ! command -v psql >/dev/null 2>&1; then
	echo "1..0 # SKIP redis-cli or psql not installed"
	exit 0
fi
CHECK=$top_srcdir/tests/integration/node/realtime_check.js
CAP=3
# The updates are checked as the scripts publish them, delivered to every authenticated
# socket at once (queue_update_interval_ms 0); the scoped, coalesced feed is queue_feed.sh's.
export SOCKETS_PER_USER=$CAP QUEUE_UPDATE_INTERVAL_MS=0
t_start_stack 2 2
read -r -a PORTS <<<"$GATEWAY_PORTS"
GW1=http://127.0.0.1:${PORTS[0]}
GW2=http://127.0.0.1:${PORTS[1]}
export REDIS_PORT STACK_DIR top_srcdir

# Users 1..11: uuid u<N>, session token t<N> (both UUID v4-shaped).
uid() { printf '00000000-0000-4000-8000-%012d' "$1"; }
tok() { printf '00000000-0000-4000-9000-%012d' "$1"; }
sql() { stack_psql -qtAX -v ON_ERROR_STOP=1 "$@"; }
for n in 1 2 3 4 5 6 7 8 9 10 11; do
	ban=none
	[ "$n" = 4 ] && ban=temporary
	sql -c "INSERT INTO users (user_id, name, gender, ban_status) VALUES ('$(uid "$n")', 'User $n', 'female', '$ban');
		INSERT INTO sessions (session_token, user_id, expires_at, is_active)
		VALUES ('$(tok "$n")', '$(uid "$n")', now() + interval '1 day', $([ "$n" = 3 ] && echo false || echo true));" ||
		t_bail "cannot insert user $n"
done
EXPIRED=00000000-0000-4000-9000-000000000099
sql -c "INSERT INTO sessions (session_token, user_id, expires_at) VALUES ('$EXPIRED', '$(uid 1)', now() - interval '1 minute');
	INSERT INTO referral_notifications (id, for_user_id, referred_user_id, referred_name, introduced_by, introduced_by_name)
	VALUES ('22222222-2222-4222-8222-222222222222', '$(uid 8)', '$(uid 9)', 'Alice', '$(uid 1)', 'User 1');
	INSERT INTO ip_bans (ip_address, reason) VALUES ('198.51.100.7', 'test');" || t_bail "cannot insert fixtures"

node_check() { T_NODE_TIMEOUT=120 t_node_check "$1" "$CHECK" "${@:2}"; }

node_check "nginx" auth "$STACK_URL" "$(tok 1)" "$EXPIRED" "$(tok 3)" "$(tok 4)" "$(uid 1)" "$(tok 2)"
node_check "gateway 2" auth "$GW2" "$(tok 1)" "$EXPIRED" "$(tok 3)" "$(tok 4)" "$(uid 1)" "$(tok 2)"
node_check "gateway 1" ipban "$GW1" 198.51.100.7
node_check "gw1→gw2" cross "$GW1" "$GW2" "$(tok 1)" "$(uid 1)" "$(tok 2)"
node_check "nginx→gw2" cross "$STACK_URL" "$GW2" "$(tok 5)" "$(uid 5)" "$(tok 2)"
node_check "nginx" invalidate "$STACK_URL" "$(tok 6)"
node_check "gateway 2" logout "$GW2" "$(tok 6)"
node_check "gateway 1" referral "$GW1" "$(tok 8)" "$(uid 8)"
node_check "gw1/gw2" cap "$GW1" "$GW2" "$(tok 7)" "$CAP"
node_check "gateway 1" explicit "$GW1" "$(tok 9)" "$(uid 9)"
node_check "gw1/gw2" secondtab "$GW1" "$GW2" "$(tok 11)" "$(uid 11)" "$(tok 2)"
node_check "gw1/gw2" banned "$GW1" "$GW2" "$(tok 10)" "$(uid 10)" "$(tok 2)"
node_check "gw1/gw2" grace "$GW1" "$GW2" "$(tok 5)" "$(uid 5)" "$(tok 2)"

# Unreadable control messages are dropped, not fatal.
t_is "$(stack_redis_cli PUBLISH ns:ctl 'not json' 2>/dev/null)" 2 "garbage on ns:ctl reaches both gateways"
t_is "$(stack_pids gateway | wc -l | tr -d ' ')" 2 "both gateways still running"
t_done
