#!/usr/bin/env bash
# napalmsky-api --workers 2 --socket S: its own prefork supervisor. A child killed with
# SIGKILL is replaced, requests keep being served, and SIGTERM stops all and removes S.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

stack_init || t_bail "stack_init failed"
stack_start_pg >"$T_TMP/stack.log" 2>&1 || t_bail "PostgreSQL did not start"
stack_start_redis >>"$T_TMP/stack.log" 2>&1 || t_bail "Redis did not start"
stack_migrate >>"$T_TMP/stack.log" 2>&1 || t_bail "migrations failed: $(tail -5 "$T_TMP/stack.log")"
API=$(stack_bin napalmsky-api) || t_bail "napalmsky-api not built"
SOCK=$STACK_DIR/sup.sock
LOG=$STACK_DIR/logs/supervisor.log

# Live (non-zombie) children of a pid.
children() {
	local f pid
	for f in /proc/[0-9]*/stat; do
		pid=${f#/proc/}; pid=${pid%/stat}
		# Field 4 is the ppid; the command name (field 2) may hold spaces, so cut after ')'.
		[ "$(sed 's/.*) [A-Za-z] \([0-9]*\) .*/\1/' "$f" 2>/dev/null)" = "$1" ] || continue
		stack__alive "$pid" && echo "$pid"
	done | sort -n
}
n_children() { [ "$(children "$SUP" | wc -l)" -eq "$1" ]; }
fcgi_status() { stack_fcgi_get "$SOCK" /health | tr -d '\r' | sed -n 's/^Status: *\([0-9]*\).*/\1/Ip' | head -1; }
# All of N requests on the socket answered 200 (several, so every worker gets some).
all_ok() {
	local i s
	for i in $(seq "$1"); do
		s=$(fcgi_status)
		[ "$s" = 200 ] || { echo "request $i: status '${s:-none}'"; return 1; }
	done
}

"$API" --workers 2 --socket "$SOCK" </dev/null >>"$LOG" 2>&1 &
SUP=$!
stack__record supervisor "$SUP" "$API"

stack_wait_for 15 test -S "$SOCK"
t_ok "socket $SOCK created" test -S "$SOCK"
stack_wait_for 15 n_children 2
before=$(children "$SUP" | tr '\n' ' ')
t_is "$(children "$SUP" | wc -l | tr -d ' ')" 2 "2 worker children (${before})"
t_ok "requests are served" all_ok 4

victim=$(children "$SUP" | head -1)
kill -KILL "$victim" 2>/dev/null
respawned() {
	local now
	now=$(children "$SUP")
	[ "$(printf '%s\n' "$now" | grep -c .)" -eq 2 ] && ! printf '%s\n' "$now" | grep -qx "$victim"
}
stack_wait_for 15 respawned
after=$(children "$SUP" | tr '\n' ' ')
t_ok "killed child $victim replaced by a new one (now: $after)" respawned
t_ok "supervisor still running" stack__alive "$SUP"
t_ok "requests still served after the respawn" all_ok 6

kids=$(children "$SUP")
kill -TERM "$SUP"
# An ASan build runs its leak check at exit. /proc once showed the supervisor gone and then
# alive again during that check (CI, sanitizer tier), so the verdict is its exit status,
# read by reaping it once /proc says it is gone.
# shellcheck disable=SC2086
if stack__wait_gone 30 "$SUP" $kids; then
	wait "$SUP"
	rc=$?
else
	rc="still running after 30 s"
fi
t_is "$rc" 0 "SIGTERM stops the supervisor (exit status 0)"
left=
for p in $kids; do stack__alive "$p" && left="$left $p"; done
t_is "${left:-none}" none "SIGTERM stops every worker"
t_ok "socket removed on exit" test ! -e "$SOCK"
[ "$T_FAILED" -eq 0 ] || t_diag "supervisor log:" "$(tail -30 "$LOG")"
t_done
