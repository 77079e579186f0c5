#!/usr/bin/env bash
# napalmsky-api started as a CGI program (GATEWAY_INTERFACE set, fd 0 not a socket) answers
# one request from its environment and exits.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

stack_init || t_bail "stack_init failed"
stack_start_pg >"$T_TMP/stack.log" 2>&1 || t_bail "PostgreSQL did not start"
stack_start_redis >>"$T_TMP/stack.log" 2>&1 || t_bail "Redis did not start"
stack_migrate >>"$T_TMP/stack.log" 2>&1 || t_bail "migrations failed: $(tail -5 "$T_TMP/stack.log")"
API=$(stack_bin napalmsky-api) || t_bail "napalmsky-api not built"

# cgi METHOD URI: run one CGI request; headers in $T_TMP/cgi.head, body in $T_TMP/body.
cgi() {
	local method=$1 uri=$2 path=${2%%\?*} query=
	[ "$path" = "$uri" ] || query=${uri#*\?}
	env -i PATH="$PATH" DATABASE_URL="$DATABASE_URL" REDIS_URL="$REDIS_URL" MEDIA_DIR="$MEDIA_DIR" \
		LOG_LEVEL=info GATEWAY_INTERFACE=CGI/1.1 SERVER_PROTOCOL=HTTP/1.1 REQUEST_METHOD="$method" \
		REQUEST_URI="$uri" DOCUMENT_URI="$path" SCRIPT_NAME="$path" QUERY_STRING="$query" \
		REMOTE_ADDR=127.0.0.1 REMOTE_PORT=40000 SERVER_NAME=localhost SERVER_PORT=80 \
		timeout 10 "$API" </dev/null >"$T_TMP/cgi.out" 2>>"$STACK_DIR/logs/cgi.log"
	CGI_RC=$?
	# Split at the first empty line (CRLF or LF).
	awk 'BEGIN { h = 1 } h && /^\r?$/ { h = 0; next } h { sub(/\r$/, ""); print > "/dev/stderr"; next } { print }' \
		"$T_TMP/cgi.out" >"$T_TMP/body" 2>"$T_TMP/cgi.head"
}
cgi_header() {
	awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" \
		'{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v } }' \
		"$T_TMP/cgi.head" | tail -1
}
diag_cgi() { t_diag "exit $CGI_RC; stdout:" "$(head -c 2000 "$T_TMP/cgi.out")" "stderr:" "$(tail -20 "$STACK_DIR/logs/cgi.log")"; }

cgi GET /health
t_is "$CGI_RC" 0 "CGI /health exits 0" || true
t_like "$(cgi_header Status)" '^200( |$)' "CGI /health Status: 200"
t_like "$(cgi_header Content-Type)" '^application/json' "CGI /health content type"
t_is "$(json_get "$T_TMP/body" status)" ok "CGI /health status ok"
t_is "$(json_get "$T_TMP/body" postgresql.status)/$(json_get "$T_TMP/body" redis.status)" up/up \
	"CGI /health: postgresql and redis up"
[ "$T_FAILED" -eq 0 ] || diag_cgi

cgi GET /no/such/route
t_like "$(cgi_header Status)" '^404( |$)' "CGI unknown path Status: 404"
t_is "$(json_get "$T_TMP/body" error)" "Not found" "CGI 404 body"

stack_stop_redis
cgi GET /health
t_like "$(cgi_header Status)" '^503( |$)' "CGI /health with Redis stopped: Status 503"
t_is "$(json_get "$T_TMP/body" redis.status)" down "CGI /health names redis down"
t_done
