# shellcheck shell=bash
# stack.sh: start and stop a complete napalmsky stack (PostgreSQL, Redis, FastCGI workers,
# gateways, nginx) on loopback, inside one directory. Sourced by scripts/dev and the
# integration tests; bash only. Every process started is recorded under $STACK_DIR/pids
# as "PID EXE" lines, and stack_stop stops exactly those (checking EXE, so a reused pid
# is never signalled).
#
#   stack_init [DIR]   then stack_start_pg, stack_start_redis, stack_migrate,
#   stack_start_api [N], stack_start_gateways [N], stack_start_nginx, stack_stop.
#
# DIR is reused when it already holds a stack (ports and data are kept: scripts/dev).
# Environment honoured: NS_BIN (where the binaries are), STACK_KEEP=1 (keep DIR on stop),
# STACK_HOST (default 127.0.0.1), STACK_NGINX_PORT (fixed nginx port), STACK_TIMEOUT (seconds, 20),
# STACK_NGINX_ETC (directory of the napalmsky-*.conf nginx snippets, default etc/nginx),
# STACK_PG_OPTS (more postgres -c settings, for benchmarks: pg_stat_statements, auto_explain).

STACK_SRC=${STACK_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
STACK_HOST=${STACK_HOST:-127.0.0.1}
STACK_TIMEOUT=${STACK_TIMEOUT:-20}
STACK_NGINX_CONNECTIONS_MAX=65536	# per nginx worker, before the fd limit caps it

# nginx (and other daemons) live in /usr/sbin, which a normal user's PATH on Debian lacks.
case ":$PATH:" in
*:/usr/sbin:*) ;;
*) PATH=$PATH:/usr/local/sbin:/usr/sbin:/sbin ;;
esac

stack__log() { printf 'stack: %s\n' "$*" >&2; }
stack__die() { stack__log "$*"; return 1; }
stack__is_root() { [ "$(id -u)" = 0 ]; }

# A free TCP port on loopback, not handed out before by this stack.
stack__free_port() {
	local p
	for _ in $(seq 50); do
		if command -v python3 >/dev/null 2>&1; then
			p=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' 2>/dev/null) || p=
		fi
		[ -n "$p" ] || p=$((20000 + RANDOM % 12000))
		if ! grep -qx "$p" "$STACK_DIR/ports.used" 2>/dev/null &&
		   ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p" >>"$STACK_DIR/ports.used"
			echo "$p"
			return 0
		fi
		p=
	done
	stack__die "no free port found"
}

# Locate a built program: $NS_BIN/NAME or $NS_BIN/<subdir>/NAME (a build tree), else PATH.
stack_bin() {
	local name=$1 d
	for d in "" fcgi/ ws-gateway/ tools/; do
		[ -x "$NS_BIN/$d$name" ] && { echo "$NS_BIN/$d$name"; return 0; }
	done
	command -v "$name" 2>/dev/null && return 0
	stack__die "$name not found under $NS_BIN (build it first)"
}

# True while PID exists and is not a zombie (PID 1 reaps orphans late here, so kill -0 lies).
stack__alive() {
	local st
	st=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$1/status" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

stack__exe() { readlink "/proc/$1/exe" 2>/dev/null | sed 's/ (deleted)$//'; }

# Record PID under NAME with the program it runs (EXE), so a later stop can verify it.
# A fresh child may not have exec'd yet, so wait (bounded) until it runs EXE.
stack__record() {
	local name=$1 pid=$2 exe
	exe=$(readlink -f "$3")
	stack_wait_for 5 stack__runs "$pid" "$exe" || true
	echo "$pid $exe" >>"$STACK_DIR/pids/$name"
}
stack__runs() { [ "$(stack__exe "$1")" = "$2" ]; }

# Pids recorded under NAME that are still the processes we started.
stack_pids() {
	local f="$STACK_DIR/pids/$1" pid exe
	[ -f "$f" ] || return 0
	while read -r pid exe; do
		[ -n "$pid" ] || continue
		stack__alive "$pid" || continue
		stack__runs "$pid" "$exe" || continue
		echo "$pid"
	done <"$f"
}

stack_running() { [ -n "$(stack_pids "$1")" ]; }

# Wait (bounded) until none of the given pids is alive.
stack__wait_gone() {
	local t=$1 pid left; shift
	local deadline=$((SECONDS + t))
	while :; do
		left=
		for pid in "$@"; do stack__alive "$pid" && left=1; done
		[ -z "$left" ] && return 0
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.05
	done
}

# Stop everything recorded under NAME: SIGTERM (or SIG), then SIGKILL after the timeout.
stack__stop_name() {
	local name=$1 sig=${2:-TERM} pids
	pids=$(stack_pids "$name")
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086
		kill -s "$sig" $pids 2>/dev/null || true
		# shellcheck disable=SC2086
		if ! stack__wait_gone 10 $pids; then
			stack__log "$name did not stop in 10 s; killing"
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null || true
			# shellcheck disable=SC2086
			stack__wait_gone 5 $pids || true
		fi
	fi
	rm -f "$STACK_DIR/pids/$name"
}

# Poll CMD... until it succeeds or T seconds pass.
stack_wait_for() {
	local t=$1; shift
	local deadline=$((SECONDS + t))
	until "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.1
	done
}

stack__save_env() {
	{
		echo "# written by scripts/lib/stack.sh"
		local v
		for v in STACK_DIR PG_PORT PG_SOCKDIR PG_DATA REDIS_PORT NGINX_PORT GATEWAY_PORTS \
			DATABASE_URL REDIS_URL REDIS_SOCKET MEDIA_DIR STACK_URL API_SOCKET; do
			if [ -n "${!v:-}" ]; then printf 'export %s=%q\n' "$v" "${!v}"; fi
		done
	} >"$STACK_DIR/stack.env"
}

stack_init() {
	if [ -n "${1:-}" ]; then
		STACK_DIR=$1
		mkdir -p "$STACK_DIR"
	else
		STACK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/napalmsky-stack.XXXXXX")
		chmod 0755 "$STACK_DIR"	# PostgreSQL (user postgres) must reach its data dir inside
	fi
	STACK_DIR=$(cd "$STACK_DIR" && pwd -P)
	mkdir -p "$STACK_DIR/pids" "$STACK_DIR/logs" "$STACK_DIR/media" "$STACK_DIR/nginx"
	NS_BIN=${NS_BIN:-${top_builddir:-$STACK_SRC}}
	# Never inherit another stack's ports or URLs from the environment.
	unset PG_PORT PG_SOCKDIR PG_DATA REDIS_PORT NGINX_PORT GATEWAY_PORTS DATABASE_URL \
		DATABASE_READ_URL REDIS_URL REDIS_SOCKET STACK_URL API_SOCKET
	# An existing stack directory keeps its ports and paths (the persistent dev stack).
	# shellcheck disable=SC1091
	if [ -f "$STACK_DIR/stack.env" ]; then . "$STACK_DIR/stack.env"; fi
	: "${PG_PORT:=$(stack__free_port)}" "${REDIS_PORT:=$(stack__free_port)}"
	NGINX_PORT=${STACK_NGINX_PORT:-${NGINX_PORT:-$(stack__free_port)}}
	MEDIA_DIR=$STACK_DIR/media
	LOG_LEVEL=${LOG_LEVEL:-info}
	MIGRATIONS_DIR=${MIGRATIONS_DIR:-$STACK_SRC/sql}
	export STACK_DIR NS_BIN MEDIA_DIR LOG_LEVEL MIGRATIONS_DIR
	stack__save_env
}

# ---- PostgreSQL -------------------------------------------------------------------------

stack__pg_bindir() {
	if command -v pg_config >/dev/null 2>&1 && [ -x "$(pg_config --bindir)/initdb" ]; then
		pg_config --bindir
	else
		ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
	fi
}

# Run a PostgreSQL server program as the right user (it refuses to run as root).
stack__pg_as() {
	# From /: the caller's directory may be unreadable to postgres.
	if stack__is_root; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

# The cluster lives in $STACK_DIR/pg. As root it must be owned by postgres, and every
# parent must be traversable by postgres; when it is not (a checkout under /root), the
# cluster goes under /var/tmp and $STACK_DIR/pg is a symlink to it.
stack__pg_dir() {
	local d=$STACK_DIR/pg
	if [ -L "$d" ] || [ -d "$d" ]; then
		(cd "$d" 2>/dev/null && pwd -P) && return 0
	fi
	if stack__is_root; then
		mkdir -p "$d"
		chown postgres:postgres "$d"
		if ! runuser -u postgres -- test -w "$d"; then
			rmdir "$d"
			local key alt
			key=$(printf '%s' "$STACK_DIR" | cksum | cut -d' ' -f1)
			alt=/var/tmp/napalmsky-pg-$key
			mkdir -p "$alt"
			chown postgres:postgres "$alt"
			chmod 0700 "$alt"
			ln -s "$alt" "$d"
			stack__log "PostgreSQL data kept in $alt ($STACK_DIR is not reachable by postgres)"
			echo "$alt"
			return 0
		fi
	else
		mkdir -p "$d"
	fi
	(cd "$d" && pwd -P)
}

stack_start_pg() {
	local bin dir
	bin=$(stack__pg_bindir) && [ -x "$bin/initdb" ] || { stack__die "PostgreSQL server binaries not found"; return 1; }
	dir=$(stack__pg_dir) || return 1
	PG_SOCKDIR=$dir
	PG_DATA=$dir/data
	if [ ! -f "$PG_DATA/PG_VERSION" ]; then
		stack__pg_as "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust --no-sync -E UTF8 \
			--locale=C >"$dir/initdb.log" 2>&1 || {
			stack__log "initdb failed:"; cat "$dir/initdb.log" >&2; return 1; }
	fi
	if ! stack_running postgres; then
		rm -f "$STACK_DIR/pids/postgres"
		stack__pg_as "$bin/pg_ctl" -D "$PG_DATA" -l "$dir/postgresql.log" -w -t "$STACK_TIMEOUT" start \
			-o "-k $dir -p $PG_PORT -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off ${STACK_PG_OPTS:-}" \
			>/dev/null || { stack__log "PostgreSQL did not start:"; tail -20 "$dir/postgresql.log" >&2; return 1; }
		stack__record postgres "$(head -1 "$PG_DATA/postmaster.pid")" "$bin/postgres"
	fi
	DATABASE_URL="postgresql://postgres@/napalmsky?host=$dir&port=$PG_PORT"
	export DATABASE_URL PG_PORT PG_SOCKDIR PG_DATA
	if [ "$(stack_psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = 'napalmsky'")" != 1 ]; then
		stack_psql_admin -qc 'CREATE DATABASE napalmsky' >/dev/null || return 1
	fi
	stack__save_env
}

# psql against the maintenance database (as superuser postgres).
stack_psql_admin() { psql -X -h "$PG_SOCKDIR" -p "$PG_PORT" -U postgres -d postgres "$@"; }
stack_psql() { psql -X -h "$PG_SOCKDIR" -p "$PG_PORT" -U postgres -d napalmsky "$@"; }

stack_stop_pg() {
	local bin pids
	pids=$(stack_pids postgres)
	[ -n "$pids" ] || { rm -f "$STACK_DIR/pids/postgres"; return 0; }
	bin=$(stack__pg_bindir)
	# fast keeps the data consistent for the persistent dev stack; tests do not care.
	stack__pg_as "$bin/pg_ctl" -D "$PG_DATA" -m fast -w -t "$STACK_TIMEOUT" stop >/dev/null 2>&1 ||
		stack__pg_as "$bin/pg_ctl" -D "$PG_DATA" -m immediate -w stop >/dev/null 2>&1 || true
	stack__stop_name postgres KILL
}

# ---- Redis --------------------------------------------------------------------------------

# Programs reach Redis over its unix socket (REDIS_URL=unix:PATH, cheaper per command than
# loopback TCP, as recommended for production); the TCP port stays open for redis-cli, node
# and the tests. STACK_REDIS_TCP=1, or a socket path too long for sun_path, keeps REDIS_URL on TCP.
STACK_REDIS_SOCK_MAX=100	# sun_path holds 108 bytes
stack_start_redis() {
	local sock="$STACK_DIR/redis.sock"
	REDIS_SOCKET=
	if [ "${STACK_REDIS_TCP:-0}" != 1 ] && [ "${#sock}" -le "$STACK_REDIS_SOCK_MAX" ]; then
		REDIS_SOCKET=$sock
		REDIS_URL="unix:$sock"
	else
		REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
	fi
	export REDIS_URL REDIS_PORT REDIS_SOCKET
	if ! stack_running redis; then
		rm -f "$STACK_DIR/pids/redis"
		redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
			${REDIS_SOCKET:+--unixsocket "$REDIS_SOCKET" --unixsocketperm 700} \
			--dir "$STACK_DIR" --logfile "$STACK_DIR/logs/redis.log" --daemonize no \
			</dev/null >/dev/null 2>&1 &
		stack__record redis $! "$(command -v redis-server)"
		stack_wait_for "$STACK_TIMEOUT" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping ||
			{ stack__log "Redis did not start:"; tail -20 "$STACK_DIR/logs/redis.log" >&2; return 1; }
		if [ -n "$REDIS_SOCKET" ]; then
			stack_wait_for "$STACK_TIMEOUT" redis-cli -s "$REDIS_SOCKET" ping ||
				{ stack__log "Redis socket $REDIS_SOCKET did not answer"; return 1; }
		fi
	fi
	stack__save_env
}

stack_stop_redis() { stack__stop_name redis TERM; }

stack_redis_cli() { redis-cli -h 127.0.0.1 -p "$REDIS_PORT" "$@"; }

# ---- napalmsky programs --------------------------------------------------------------------

stack_migrate() {
	local admin
	admin=$(stack_bin napalmsky-admin) || return 1
	MIGRATIONS_DIR=$MIGRATIONS_DIR "$admin" migrate
}

# A /health request straight to a FastCGI socket; prints the raw CGI response.
stack_fcgi_get() {
	local sock=$1 uri=${2:-/health}
	local path=${uri%%\?*} query=
	[ "$path" = "$uri" ] || query=${uri#*\?}
	env -i PATH="$PATH" REQUEST_METHOD=GET REQUEST_URI="$uri" DOCUMENT_URI="$path" \
		SCRIPT_NAME="$path" QUERY_STRING="$query" SERVER_PROTOCOL=HTTP/1.1 \
		GATEWAY_INTERFACE=CGI/1.1 REMOTE_ADDR=127.0.0.1 REMOTE_PORT=1 SERVER_NAME=localhost \
		SERVER_PORT=80 timeout 5 cgi-fcgi -bind -connect "$sock" </dev/null
}

stack__fcgi_ready() { stack_fcgi_get "$1" /health | grep -qi '^status:\|^content-type:'; }

# N FastCGI workers (spawn-fcgi) on $STACK_DIR/api.sock.
stack_start_api() {
	local n=${1:-2} api pid
	api=$(stack_bin napalmsky-api) || return 1
	if stack_running api; then stack__log "api already running"; return 0; fi
	rm -f "$STACK_DIR/pids/api" "$STACK_DIR/api.sock"
	# 0666: nginx workers may run as another user; the directory is ours anyway.
	spawn-fcgi -s "$STACK_DIR/api.sock" -M 0666 -F "$n" -P "$STACK_DIR/api.pid" -- "$api" \
		</dev/null >>"$STACK_DIR/logs/api.log" 2>&1 || { stack__log "spawn-fcgi failed:"; tail -20 "$STACK_DIR/logs/api.log" >&2; return 1; }
	# spawn-fcgi writes the pids without a final newline.
	for pid in $(cat "$STACK_DIR/api.pid"); do stack__record api "$pid" "$api"; done
	stack_wait_for "$STACK_TIMEOUT" stack__fcgi_ready "$STACK_DIR/api.sock" ||
		{ stack__log "api workers not answering:"; tail -20 "$STACK_DIR/logs/api.log" >&2; return 1; }
	export API_SOCKET=$STACK_DIR/api.sock
	stack__save_env
}

stack__gw_ready() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/health"; }

# N gateways on free ports; GATEWAY_PORTS lists them (kept across restarts of the stack).
stack_start_gateways() {
	local n=${1:-2} gw k port pid ports=() old
	gw=$(stack_bin napalmsky-gateway) || return 1
	if stack_running gateway; then stack__log "gateways already running"; return 0; fi
	rm -f "$STACK_DIR/pids/gateway"
	read -r -a old <<<"${GATEWAY_PORTS:-}"
	for k in $(seq "$n"); do
		port=${old[$((k - 1))]:-$(stack__free_port)}
		GATEWAY_HOST=$STACK_HOST GATEWAY_PORT=$port GATEWAY_ID=gw$k \
			"$gw" </dev/null >>"$STACK_DIR/logs/gateway-$k.log" 2>&1 &
		stack__record gateway $! "$gw"
		ports+=("$port")
	done
	GATEWAY_PORTS="${ports[*]}"
	export GATEWAY_PORTS
	for port in "${ports[@]}"; do
		stack_wait_for "$STACK_TIMEOUT" stack__gw_ready "$port" ||
			{ stack__log "gateway on $port not healthy:"; tail -20 "$STACK_DIR"/logs/gateway-*.log >&2; return 1; }
	done
	stack__save_env
}

stack__nginx_conf() {
	local conf=$STACK_DIR/nginx/nginx.conf nofile conns port d=$STACK_DIR/nginx
	nofile=$(ulimit -Hn)
	[ "$nofile" = unlimited ] && nofile=1048576
	[ "$nofile" -gt 1048576 ] && nofile=1048576
	conns=$nofile
	[ "$conns" -gt "$STACK_NGINX_CONNECTIONS_MAX" ] && conns=$STACK_NGINX_CONNECTIONS_MAX
	mkdir -p "$d/tmp"
	{
		echo "# generated by scripts/lib/stack.sh for $STACK_DIR"
		# Root: worker processes stay root so they can reach sockets and files in a 0700 directory.
		stack__is_root && echo "user root;"
		cat <<EOF
daemon off;
master_process on;
worker_processes ${NGINX_WORKERS:-auto};
worker_rlimit_nofile $nofile;
pid $d/nginx.pid;
error_log $STACK_DIR/logs/nginx-error.log warn;
events { worker_connections $conns; multi_accept on; }
http {
	# upstream= shows which worker socket or gateway served each request (tests read it).
	log_format napalmsky '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent '
		'\$request_time upstream=\$upstream_addr';
	access_log ${NGINX_ACCESS_LOG:-$STACK_DIR/logs/nginx-access.log napalmsky};
	keepalive_requests 1000000;
	client_body_temp_path $d/tmp/body;
	proxy_temp_path $d/tmp/proxy;
	fastcgi_temp_path $d/tmp/fastcgi;
	uwsgi_temp_path $d/tmp/uwsgi;
	scgi_temp_path $d/tmp/scgi;
	types_hash_max_size 2048;
	include /etc/nginx/mime.types;
	default_type application/octet-stream;

	upstream napalmsky_api { server unix:$STACK_DIR/api.sock; }
	upstream napalmsky_gateway {
EOF
		if [ -n "${GATEWAY_PORTS:-}" ]; then
			for port in $GATEWAY_PORTS; do echo "		server 127.0.0.1:$port;"; done
		else
			echo "		server 127.0.0.1:9 down;"
		fi
		cat <<EOF
	}
	include ${STACK_NGINX_ETC:-$STACK_SRC/etc/nginx}/napalmsky-http.conf;

	server {
		listen $STACK_HOST:$NGINX_PORT;
		server_name localhost;
		set \$napalmsky_media $STACK_DIR/media;
		include ${STACK_NGINX_ETC:-$STACK_SRC/etc/nginx}/napalmsky-locations.conf;
	}
}
EOF
	} >"$conf"
}

stack__nginx_ready() { curl -sS -o /dev/null --max-time 2 "$STACK_URL/health"; }

stack_start_nginx() {
	local pid conf=$STACK_DIR/nginx/nginx.conf
	STACK_URL="http://$STACK_HOST:$NGINX_PORT"
	export STACK_URL NGINX_PORT
	if stack_running nginx; then stack__log "nginx already running"; return 0; fi
	rm -f "$STACK_DIR/pids/nginx"
	stack__nginx_conf
	nginx -t -q -p "$STACK_DIR/nginx" -c "$conf" -e "$STACK_DIR/logs/nginx-error.log" \
		2>>"$STACK_DIR/logs/nginx-error.log" || {
		stack__log "nginx config test failed:"; tail -20 "$STACK_DIR/logs/nginx-error.log" >&2; return 1; }
	nginx -p "$STACK_DIR/nginx" -c "$conf" -e "$STACK_DIR/logs/nginx-error.log" \
		</dev/null >/dev/null 2>>"$STACK_DIR/logs/nginx-error.log" &
	stack__record nginx $! "$(command -v nginx)"
	stack_wait_for "$STACK_TIMEOUT" stack__nginx_ready ||
		{ stack__log "nginx not answering:"; tail -20 "$STACK_DIR/logs/nginx-error.log" >&2; return 1; }
	stack__save_env
}

stack_stop_nginx() { stack__stop_name nginx QUIT; }

# Stop what this stack started, newest first; remove the directory unless STACK_KEEP=1.
stack_stop() {
	[ -n "${STACK_DIR:-}" ] && [ -d "$STACK_DIR/pids" ] || return 0
	stack__stop_name nginx QUIT
	stack__stop_name gateway TERM
	stack__stop_name api TERM
	stack__stop_name redis TERM
	stack_stop_pg
	local name
	for name in "$STACK_DIR"/pids/*; do	# anything a caller recorded itself
		if [ -e "$name" ]; then stack__stop_name "$(basename "$name")" TERM; fi
	done
	rm -f "$STACK_DIR/api.sock" "$STACK_DIR/api.pid"
	if [ "${STACK_KEEP:-0}" != 1 ]; then
		local link
		link=$(readlink "$STACK_DIR/pg" 2>/dev/null) && case $link in /var/tmp/napalmsky-pg-*) rm -rf "$link" ;; esac
		rm -rf "$STACK_DIR"
	fi
	return 0
}

# Print the tail of every log in the stack, each line prefixed (TAP comments by default).
stack_dump_logs() {
	local prefix=${1:-# } f
	for f in "$STACK_DIR"/logs/*.log "${PG_SOCKDIR:-/nonexistent}/postgresql.log"; do
		[ -s "$f" ] || continue
		echo "${prefix}--- $f"
		tail -n "${STACK_LOG_LINES:-30}" "$f" | sed "s/^/$prefix/"
	done
}
