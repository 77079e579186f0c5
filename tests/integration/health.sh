#!/usr/bin/env bash
# GET /health through nginx follows the real state of PostgreSQL and Redis: 200 with both up,
# 503 naming the one that is down, and 200 again once it is back, without restarting workers.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

RECOVER_S=15	# bound on how long a worker may take to reconnect

t_start_stack 2

check_up() {	# $1: label
	http GET "$STACK_URL/health"
	t_is "$HTTP_STATUS" 200 "$1: /health is 200"
	t_like "$(http_header Content-Type)" '^application/json' "$1: JSON content type"
	t_is "$(json_get "$T_TMP/body" status)" ok "$1: status ok"
	t_is "$(json_get "$T_TMP/body" postgresql.status)/$(json_get "$T_TMP/body" redis.status)" up/up \
		"$1: postgresql and redis up"
}

check_down() {	# $1: the dependency that is down, $2: the other one
	poll_status "$RECOVER_S" GET "$STACK_URL/health" 503
	t_is "$HTTP_STATUS" 503 "$1 stopped: /health is 503"
	t_is "$(json_get "$T_TMP/body" status)" unavailable "$1 stopped: status unavailable"
	t_is "$(json_get "$T_TMP/body" "$1.status")" down "$1 stopped: $1 reported down"
	t_is "$(json_get "$T_TMP/body" "$2.status")" up "$1 stopped: $2 still reported up"
}

check_up "start"
t_is "$(json_type "$T_TMP/body" timestamp)" number "timestamp is a number"
t_is "$(json_type "$T_TMP/body" postgresql.latencyMs)/$(json_type "$T_TMP/body" redis.latencyMs)" \
	number/number "latencyMs are numbers"
workers_before=$(stack_pids api | sort | tr '\n' ' ')

stack_stop_redis
check_down redis postgresql
stack_start_redis >/dev/null 2>&1 || t_bail "Redis did not restart"
poll_status "$RECOVER_S" GET "$STACK_URL/health" 200
check_up "redis restarted"
# Each worker keeps its own connection: several requests reach both of them.
all=200
for _ in 1 2 3 4 5 6; do http GET "$STACK_URL/health"; [ "$HTTP_STATUS" = 200 ] || all=$HTTP_STATUS; done
t_is "$all" 200 "redis restarted: repeated requests all 200"

stack_stop_pg
check_down postgresql redis
stack_start_pg >/dev/null 2>&1 || t_bail "PostgreSQL did not restart"
poll_status "$RECOVER_S" GET "$STACK_URL/health" 200
check_up "postgresql restarted"
all=200
for _ in 1 2 3 4 5 6; do http GET "$STACK_URL/health"; [ "$HTTP_STATUS" = 200 ] || all=$HTTP_STATUS; done
t_is "$all" 200 "postgresql restarted: repeated requests all 200"

t_is "$(stack_pids api | sort | tr '\n' ' ')" "$workers_before" "the same workers served throughout"
# Each worker exec'd itself once so that GnuTLS (linked through libpq) skips its start-up
# (fcgi/main.c); the pid, and what spawn-fcgi recorded, stay the same.
# ps, top and pkill still know each worker by its name after that exec.
gnutls_off=0 named=0
for p in $(stack_pids api); do
	tr '\0' '\n' <"/proc/$p/environ" | grep -qx 'GNUTLS_NO_IMPLICIT_INIT=1' && gnutls_off=$((gnutls_off + 1))
	[ "$(cat "/proc/$p/comm")" = napalmsky-api ] && named=$((named + 1))
done
t_is "$gnutls_off" "$(stack_pids api | wc -l | tr -d ' ')" "every worker runs with GnuTLS' implicit start-up off"
t_is "$named" "$(stack_pids api | wc -l | tr -d ' ')" "every worker is named napalmsky-api in ps"
t_done
