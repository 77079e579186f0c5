#!/usr/bin/env bash
# The gateways' queue feed (docs/ARCHITECTURE.md "Queue feed", contract §3.4) through nginx
# with two workers and two gateways: queue:update/presence:update scoped to the last
# /room/queue page a user fetched (or the first page without one), coalesced per interval
# (one frame per kind and interval, last state wins), only to sockets that joined.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"
. "$top_srcdir/tests/lib/seed.sh"

if ! t_node_ready; then
	echo "1..0 # SKIP node, socket.io-client or ws not installed (run: scripts/dev test, or npm ci in tests/integration/node)"
	exit 0
fi
CHECK=$top_srcdir/tests/integration/node/queue_feed.js
INTERVAL=1000
# A first page of 3 (4 members read), so users 6 and 7 are off it.
export QUEUE_UPDATE_INTERVAL_MS=$INTERVAL QUEUE_PAGE_DEFAULT=3 RL_API_MAX=1000000
t_start_stack 2 2
read -r -a PORTS <<<"$GATEWAY_PORTS"

seed_users 1 10 >/dev/null || t_bail "seeding users failed"
seed_available 2 7 1700000000000 1000 || t_bail "seeding the queue failed"
USERS=$(for n in $(seq 1 10); do printf '{"id":"%s","token":"%s"}\n' "$(seed_user_id "$n")" "$(seed_token "$n")"; done |
	paste -sd, | sed 's/^/[/; s/$/]/')

out=$(timeout 120 node "$CHECK" "http://127.0.0.1:${PORTS[0]}" "http://127.0.0.1:${PORTS[1]}" "$STACK_URL" \
	"$USERS" "$INTERVAL" 2>"$T_TMP/node.err"); rc=$?
while IFS= read -r line; do
	case $line in
	"PASS "*) t_pass "${line#PASS }" ;;
	"FAIL "*) t_fail "${line#FAIL }" ;;
	esac
done <<<"$out"
[ "$rc" -eq 0 ] || t_fail "checker exited $rc" "$(tail -5 "$T_TMP/node.err")"
[ -n "$out" ] || t_fail "checker printed nothing" "$(tail -5 "$T_TMP/node.err")"

# The worker records the page, and tells the gateways (queue:view on ns:ctl) only when the
# page differs from the one it recorded before.
t_is "$(stack_redis_cli GET "ns:qview:$(seed_user_id 10)")" "[\"$(seed_user_id 2)\",\"$(seed_user_id 3)\"]" \
	"ns:qview holds the last page fetched, as a JSON array of userIds"
U5=$(seed_user_id 5) TOK5=$(seed_token 5)
timeout 5 redis-cli -h 127.0.0.1 -p "$REDIS_PORT" SUBSCRIBE ns:ctl >"$T_TMP/ctl.out" 2>&1 &
SUB=$!
sleep 0.5
fetch5() {
	http GET "$STACK_URL/room/queue?limit=2" -H "Authorization: Bearer $TOK5"
	[ "$HTTP_STATUS" = 200 ] || t_fail "/room/queue for user 5: $HTTP_STATUS"
}
fetch5
fetch5
seed_available 8 8 1600000000000 || t_bail "seeding user 8 failed"	# first in the queue now
fetch5
sleep 0.5
kill "$SUB" 2>/dev/null; wait "$SUB" 2>/dev/null
t_is "$(grep -c "\"type\":\"queue:view\",\"userId\":\"$U5\"" "$T_TMP/ctl.out")" 2 \
	"queue:view published for a new page and a changed one, not for the same page again"
t_is "$(stack_pids gateway | wc -l | tr -d ' ')" 2 "both gateways still running"
t_done
