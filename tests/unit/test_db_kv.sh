#!/bin/bash
# test_db_kv.sh: shared/db and shared/kv against real PostgreSQL and Redis (TAP).
# One dbkv_probe process stays up while the servers are stopped and restarted around it.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
PROBE=$top_builddir/tests/unit/dbkv_probe
STATEMENT_TIMEOUT_MS=300

if ! [ -x "$PROBE" ]; then echo "1..0 # SKIP $PROBE not built"; exit 0; fi
# shellcheck source=../../scripts/lib/stack.sh
. "$top_srcdir/scripts/lib/stack.sh"
trap 'probe_quit; stack_stop' EXIT
stack_init >/dev/null || { echo "Bail out! stack_init failed"; exit 1; }
stack_start_pg || { echo "Bail out! PostgreSQL did not start"; exit 1; }
stack_start_redis || { echo "Bail out! Redis did not start"; exit 1; }

n=0 failed=0
ok() {	# ok COND-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}

probe_start() {	# probe_start [VAR=VALUE...]: a fresh probe as a coprocess
	coproc PROBE_P { env "$@" "$PROBE" "$STATEMENT_TIMEOUT_MS" 2>>"$STACK_DIR/logs/probe.log"; }
}
probe_quit() {
	if [ -n "${PROBE_P_PID:-}" ]; then
		echo quit >&"${PROBE_P[1]}" 2>/dev/null
		wait "$PROBE_P_PID" 2>/dev/null
		PROBE_P_PID=
	fi
}
# expect "COMMAND" "EXPECTED ANSWER" "description"
expect() {
	local got=
	echo "$1" >&"${PROBE_P[1]}"
	IFS= read -r -t 30 got <&"${PROBE_P[0]}" || got="(no answer)"
	[ "$got" = "$2" ]
	ok $? "$3"
	[ "$got" = "$2" ] || echo "#   '$1' answered '$got', want '$2'"
}

probe_start
expect "setup" "OK (none)" "create the probe table"
expect "insert 1 alice" "OK 1" "parameterised insert"
expect "select 1" "OK alice" "parameterised select"
expect "select 99" "OK (none)" "no row"
expect "null" "OK was-null" "NULL parameter is SQL NULL"
expect "inject" "OK x'); DROP TABLE probe_t; --" "a parameter is data, not SQL"
expect "select 1" "OK alice" "table survived the injection attempt"
expect "insert 1 bob" "CONFLICT" "unique violation -> CONFLICT"
expect "insert 2 waytoolongname" "BAD_REQUEST" "check violation -> BAD_REQUEST"
expect "cast abc" "BAD_REQUEST" "invalid text representation -> BAD_REQUEST"
expect "sleep 2000" "TIMEOUT" "statement timeout -> TIMEOUT"
expect "sleep 10" "OK " "a short statement is within the timeout"
expect "select 1" "OK alice" "connection usable after a timeout"
expect "begin" "OK" "begin"
expect "insert 3 carol" "OK 3" "insert in a transaction"
expect "insert 3 carol" "CONFLICT" "conflict in a transaction"
expect "commit" "INTERNAL" "commit of a failed transaction reports the rollback"
expect "select 3" "OK (none)" "the failed transaction left nothing"
expect "begin" "OK" "begin again"
expect "insert 4 dave" "OK 4" "insert"
expect "commit" "OK" "commit"
expect "select 4" "OK dave" "committed row visible"
expect "ping" "OK" "db ping"

expect "kv_set probe:k v1" "OK OK" "redis SET"
expect "kv_get probe:k" "OK v1" "redis GET"
expect "kv_get probe:none" "OK (nil)" "redis nil"
expect "kv_incr probe:k" "INTERNAL" "error reply -> INTERNAL"
expect "kv_binary" "OK 5" "argv commands are binary safe"
expect "kv_ping" "OK" "redis ping"
expect "kv_exec probe:t abc" "OK 3:OK:abc:error" "MULTI … EXEC in one round trip; a failing command is one error element"
expect "kv_exec_refused" "INTERNAL" "a command Redis will not queue aborts the transaction"
expect "kv_get probe:refused" "OK (nil)" "... nothing of it ran, and the connection is still in step"
expect "kv_script_exec probe:n" "OK 2:int1:1" "a script and a command in one transaction"
expect "kv_script_flush" "OK OK" "Redis forgets its scripts"
expect "kv_script_exec probe:n" "OK 2:int2:2" "NOSCRIPT inside EXEC: loaded again, the transaction repeated"

# Redis restarted while the probe is idle: the dead connection is noticed before use.
stack_stop_redis; stack_start_redis
expect "kv_set probe:k v2" "OK OK" "first command after an idle Redis restart succeeds"
# Redis down: fail fast with REDIS, then recover once it is back.
stack_stop_redis
expect "kv_get probe:k" "REDIS" "Redis down -> REDIS"
expect "kv_get probe:k" "REDIS" "still down (reconnects are rate-limited)"
stack_start_redis
sleep 0.3	# past NS_KV_RETRY_MS
expect "kv_get probe:k" "OK (nil)" "reconnected after Redis came back (data was not saved)"

# PostgreSQL restarted while idle: one transparent reconnect outside a transaction.
stack_stop_pg; stack_start_pg >/dev/null
expect "select 4" "OK dave" "first statement after an idle PostgreSQL restart succeeds"
stack_stop_pg
expect "select 4" "DB" "PostgreSQL down -> DB"
expect "ping" "DB" "ping while down -> DB"
stack_start_pg >/dev/null
expect "select 4" "OK dave" "reconnected after PostgreSQL came back"
# Inside a transaction a broken connection is an error, never a silent retry.
expect "begin" "OK" "begin before a restart"
stack_stop_pg; stack_start_pg >/dev/null
expect "insert 5 eve" "DB" "no reconnect inside a transaction"
expect "rollback" "OK" "rollback after the connection broke"
expect "insert 5 eve" "OK 5" "next statement reconnects"
probe_quit

# Replica: reads go to it; an unreachable replica falls back to the primary.
probe_start DATABASE_READ_URL="$DATABASE_URL"
expect "read 4" "OK dave" "read on a healthy replica"
probe_quit
probe_start DATABASE_READ_URL="postgresql://postgres@/napalmsky?host=$STACK_DIR/nonexistent&port=1"
expect "read 4" "OK dave" "unreachable replica falls back to the primary"
expect "read 5" "OK eve" "and keeps working"
expect "begin" "OK" "begin"
expect "insert 6 frank" "OK 6" "insert in a transaction"
expect "read 6" "OK frank" "reads inside a transaction see its writes (primary)"
expect "rollback" "OK" "rollback"
probe_quit

# A Redis URL that does not parse: commands fail cleanly.
probe_start REDIS_URL="http://nope"
expect "kv_get x" "REDIS" "bad Redis URL -> REDIS, no crash"
probe_quit

echo "1..$n"
if [ "$failed" != 0 ]; then stack_dump_logs; exit 1; fi
