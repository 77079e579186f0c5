# shellcheck shell=bash
# lib.sh: TAP output, HTTP and JSON helpers for the integration scripts (sourced, bash).
# Each script starts its own stack in a temp dir (scripts/lib/stack.sh) and always stops it.

: "${top_srcdir:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
NS_BIN=${NS_BIN:-$top_builddir}
export NS_BIN
unset STACK_NGINX_PORT NAPALMSKY_CONFIG	# a developer's settings must not leak into tests
# shellcheck source=../../scripts/lib/stack.sh
. "$top_srcdir/scripts/lib/stack.sh"

T_N=0 T_FAILED=0
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/napalmsky-test.XXXXXX")

t_diag() { printf '%s\n' "$@" | sed 's/^/# /'; }
t_pass() { T_N=$((T_N + 1)); echo "ok $T_N - $1"; }
t_fail() {
	T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1))
	echo "not ok $T_N - $1"
	shift
	[ $# -gt 0 ] && t_diag "$@"
	return 0
}
# t_ok DESC CMD...: passes when CMD succeeds.
t_ok() {
	local desc=$1; shift
	if "$@" >"$T_TMP/t_ok.out" 2>&1; then t_pass "$desc"; else t_fail "$desc" "command failed: $*" "$(tail -5 "$T_TMP/t_ok.out")"; fi
}
# t_is GOT WANT DESC
t_is() {
	if [ "$1" = "$2" ]; then t_pass "$3"; else t_fail "$3" "got:  '$1'" "want: '$2'"; fi
}
# t_like GOT REGEX DESC (extended regex)
t_like() {
	if printf '%s' "$1" | grep -Eq -- "$2"; then t_pass "$3"; else t_fail "$3" "got:  '$1'" "want: /$2/"; fi
}
t_skip() { local _; for _ in $(seq "$1"); do T_N=$((T_N + 1)); echo "ok $T_N # SKIP $2"; done; }
t_bail() {
	echo "Bail out! $*"
	[ -n "${STACK_DIR:-}" ] && stack_dump_logs
	exit 99
}
# End: stop the stack first (leak reports are written at exit), fail if any service log holds
# a sanitizer report, print the plan (TAP allows it last), and on failure show the logs.
SANITIZER_RE='ERROR: (AddressSanitizer|LeakSanitizer)|SUMMARY: UndefinedBehaviorSanitizer|runtime error:'
t_done() {
	if [ -n "${STACK_DIR:-}" ] && [ -d "$STACK_DIR/logs" ]; then
		STACK_KEEP=1 stack_stop
		local hits
		hits=$(grep -lE "$SANITIZER_RE" "$STACK_DIR"/logs/*.log 2>/dev/null)
		if [ -z "$hits" ]; then t_pass "no sanitizer reports in the service logs"
		else t_fail "no sanitizer reports in the service logs" $hits "$(grep -hE -A12 "$SANITIZER_RE" $hits | head -60)"
		fi
	fi
	echo "1..$T_N"
	if [ "$T_FAILED" -gt 0 ] && [ -n "${STACK_DIR:-}" ] && [ -d "$STACK_DIR" ]; then
		t_diag "$T_FAILED of $T_N failed; service logs follow"
		stack_dump_logs
	fi
	[ "$T_FAILED" -eq 0 ]
}

t_cleanup() {
	stack_stop
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT

# http METHOD URL [curl args...]: sets HTTP_STATUS; body in $T_TMP/body, headers in $T_TMP/headers.
http() {
	local method=$1 url=$2; shift 2
	HTTP_STATUS=$(curl -sS -X "$method" -o "$T_TMP/body" -D "$T_TMP/headers" -w '%{http_code}' \
		--max-time 10 "$@" "$url" 2>"$T_TMP/curl.err") || HTTP_STATUS="curl-error: $(cat "$T_TMP/curl.err")"
}
http_body() { cat "$T_TMP/body" 2>/dev/null; }
# http_header NAME: value of the last response's header NAME (case-insensitive, CR stripped).
http_header() {
	tr -d '\r' <"$T_TMP/headers" | awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" \
		'{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v } }' | tail -1
}

# json_get FILE PATH: the value at dotted PATH ("a.b.0.c"): strings raw, others as JSON,
# "<missing>" when absent, "<invalid json>" when the file does not parse.
# json_type FILE PATH: number | string | boolean | object | array | null | missing | invalid.
json_get() { t__json value "$1" "$2"; }
json_type() { t__json type "$1" "$2"; }
t__json() {
	if command -v node >/dev/null 2>&1; then
		node -e '
			const [mode, file, path] = process.argv.slice(1);
			let v;
			try { v = JSON.parse(require("fs").readFileSync(file, "utf8")); }
			catch (e) { console.log(mode === "type" ? "invalid" : "<invalid json>"); process.exit(0); }
			for (const k of path ? path.split(".") : []) {
				if (v === null || typeof v !== "object" || !(k in v)) {
					console.log(mode === "type" ? "missing" : "<missing>"); process.exit(0);
				}
				v = v[k];
			}
			if (mode === "type") console.log(v === null ? "null" : Array.isArray(v) ? "array" : typeof v);
			else console.log(typeof v === "string" ? v : JSON.stringify(v));' "$@"
	else
		python3 -c '
import json, sys
mode, file, path = sys.argv[1:4]
try:
    v = json.load(open(file))
except Exception:
    print("invalid" if mode == "type" else "<invalid json>"); sys.exit(0)
for k in (path.split(".") if path else []):
    if isinstance(v, list) and k.isdigit() and int(k) < len(v): v = v[int(k)]
    elif isinstance(v, dict) and k in v: v = v[k]
    else: print("missing" if mode == "type" else "<missing>"); sys.exit(0)
if mode == "type":
    print({type(None): "null", bool: "boolean", int: "number", float: "number", str: "string",
           list: "array", dict: "object"}[type(v)])
else:
    print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))' "$@"
	fi
}

# poll_status T METHOD URL WANT: retry until the status is WANT (bounded); leaves the last response.
poll_status() {
	local t=$1 method=$2 url=$3 want=$4
	local deadline=$((SECONDS + t))
	while :; do
		http "$method" "$url"
		[ "$HTTP_STATUS" = "$want" ] && return 0
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

# t_wait_output WANT CMD...: until CMD prints WANT, for 5 s at most (writes that follow an
# event, such as the call-end rows after session:finalized). 1 if it never did.
t_wait_output() {
	local want=$1 i; shift
	for i in $(seq 50); do
		[ "$("$@")" = "$want" ] && return 0
		sleep 0.1
	done
	return 1
}

# The whole stack, for scripts that test through nginx. Bails out (with logs) on failure.
t_start_stack() {
	local api_workers=${1:-2} gateways=${2:-0}
	stack_init || t_bail "stack_init failed"
	stack_start_pg >"$T_TMP/stack.log" 2>&1 || t_bail "PostgreSQL did not start: $(tail -3 "$T_TMP/stack.log")"
	stack_start_redis >>"$T_TMP/stack.log" 2>&1 || t_bail "Redis did not start"
	stack_migrate >>"$T_TMP/stack.log" 2>&1 || t_bail "migrations failed: $(tail -5 "$T_TMP/stack.log")"
	stack_start_api "$api_workers" >>"$T_TMP/stack.log" 2>&1 || t_bail "API workers did not start: $(tail -5 "$T_TMP/stack.log")"
	if [ "$gateways" -gt 0 ]; then
		stack_start_gateways "$gateways" >>"$T_TMP/stack.log" 2>&1 || t_bail "gateways did not start: $(tail -5 "$T_TMP/stack.log")"
	fi
	stack_start_nginx >>"$T_TMP/stack.log" 2>&1 || t_bail "nginx did not start: $(tail -5 "$T_TMP/stack.log")"
}

# t_node_check LABEL CHECKER ARGS...: run a node checker script that prints "PASS <what>" /
# "FAIL <what>: <detail>" lines and turn them into TAP; a crash or no output fails too.
# The checker gets T_NODE_TIMEOUT seconds (90).
t_node_check() {
	local label=$1 checker=$2 out rc line; shift 2
	out=$(timeout "${T_NODE_TIMEOUT:-90}" node "$checker" "$@" 2>"$T_TMP/node.err"); rc=$?
	while IFS= read -r line; do
		case $line in
		"PASS "*) t_pass "$label: ${line#PASS }" ;;
		"FAIL "*) t_fail "$label: ${line#FAIL }" ;;
		esac
	done <<<"$out"
	[ "$rc" -eq 0 ] || t_fail "$label: checker exited $rc" "$(tail -5 "$T_TMP/node.err")"
	[ -n "$out" ] || t_fail "$label: checker printed nothing" "$(tail -5 "$T_TMP/node.err")"
}

# Node with the test dependencies (socket.io-client, ws): NS_NODE_MODULES, else the
# checkout's tests/integration/node/node_modules. Returns 1 when they are not installed.
t_node_ready() {
	command -v node >/dev/null 2>&1 || return 1
	NODE_PATH=${NS_NODE_MODULES:-$top_srcdir/tests/integration/node/node_modules}
	export NODE_PATH
	[ -d "$NODE_PATH/socket.io-client" ] && [ -d "$NODE_PATH/ws" ]
}
