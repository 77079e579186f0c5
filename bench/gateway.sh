#!/usr/bin/env bash
# bench/gateway.sh: the realtime gateway's capacity benchmark in one command, driven by
# napalmsky-loadgen (tools/loadgen*.c, man/napalmsky-loadgen.1). Runs by itself, or sourced by
# bench/run (then call gateway_capacity_bench after the stack helpers are loaded).
#
# Builds what it needs out of tree, starts a throwaway stack (PostgreSQL, Redis, gateways: no
# API or nginx, users are seeded in SQL), then measures, each phase on fresh gateways and an
# empty Redis:
#   one:   GWB_ONE (19000) authenticated, queued connections on ONE gateway: RSS per connection;
#   many:  GWB_GATEWAYS (6) gateways x GWB_PER_GATEWAY (17000), loadgen with one process per
#          gateway and source addresses 127.0.0.2-127.0.0.40: total RSS;
#   flows: GWB_FLOWS (200) concurrent call flows among GWB_FLOW_USERS (4000) users on 2
#          gateways: flows/s and latency per step, same- and cross-gateway;
#   light: the same with GWB_LIGHT_FLOWS (2) concurrent flows and other users: the latency
#          of each step when nothing queues behind it;
#   churn: GWB_CHURN_USERS (10000) queued users on 2 gateways, GWB_RATE (100) queue toggles/s:
#          update frames and bytes received versus a broadcast to every socket;
#   drain: (not in the default list) GWB_PER_GATEWAY sockets held on one gateway, then
#          SIGTERM: the time to exit, slow loop turns, and the registrations it left in Redis.
# Sourced, it needs stack.sh and tests/lib/seed.sh loaded, PostgreSQL (migrated) and Redis up.
# Environment: GWB_SCALE (percent of every size above, default 100), GWB_PHASES ("one many
#   flows light churn"), GWB_HOLD (s a phase runs, 20), GWB_OUT (results directory, kept),
#   GWB_CONCURRENCY (handshakes in flight per loadgen process, 100), GWB_CONNECT_S (600),
#   BENCH_BUILD / BENCH_NO_BUILD as for bench/run. GWB_PG_STATS=1 prints PostgreSQL's top
#   statements after each phase; it needs
#   STACK_PG_OPTS="-c shared_preload_libraries=pg_stat_statements".
# Exit: 0 measured (figures printed, errors counted in them), 1 setup failed.
set -u

GWB_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
GWB_SOURCES=127.0.0.2-127.0.0.40	# loopback source addresses (Linux routes all of 127/8)
GWB_FD_RESERVE=200			# descriptors a gateway keeps beside its sockets
GWB_STEP_TIMEOUT_S=1800		# bound on one loadgen run
# Connect phases: a slow gateway still works on a handshake the client gave up on, so wait
# long and keep fewer in flight rather than retry into a storm.
GWB_CONNECT_ARGS=(--concurrency "${GWB_CONCURRENCY:-100}" --step-timeout-ms 60000
	--connect-timeout "${GWB_CONNECT_S:-600}")

gwb_say() { printf 'bench/gateway: %s\n' "$*" >&2; }
gwb_die() { gwb_say "$*"; exit 1; }
gwb_scaled() { echo $(((${1} * ${GWB_SCALE:-100} + 99) / 100)); }

# gwb_users FROM TO FILE: paid seed users with sessions (one INSERT ... generate_series per
# table, tests/lib/seed.sh), listed as "userId token" lines.
gwb_users() {
	seed_users "$1" "$2" paid >/dev/null || return 1
	printf 'SELECT %s, %s FROM generate_series(:from::int, :to::int) AS i;\n' \
		"$(seed__sql_uuid user)" "$(seed__sql_uuid token)" |
		seed__psql -tA -F ' ' -v from="$1" -v to="$2" >"$3"
}

# gwb_gateways N: fresh gateways (the previous ones stopped, Redis emptied).
gwb_gateways() {
	stack__stop_name gateway TERM
	stack_redis_cli FLUSHALL >/dev/null
	unset GATEWAY_PORTS
	stack_start_gateways "$1" >>"$GWB_OUT/stack.log" 2>&1 || gwb_die "gateways did not start: $(tail -5 "$GWB_OUT/stack.log")"
	GWB_URLS=() GWB_PIDS=()
	local port pid
	for port in $GATEWAY_PORTS; do GWB_URLS+=(--url "ws://127.0.0.1:$port/socket.io/"); done
	for pid in $(stack_pids gateway); do GWB_PIDS+=(--gateway-pid "$pid"); done
}

# gwb_run NAME ARGS...: one loadgen run; human output to the terminal and $GWB_OUT/NAME.txt.
gwb_run() {
	local name=$1; shift
	gwb_say "$name: napalmsky-loadgen $*"
	{
		echo "### $name: napalmsky-loadgen $*"
		echo "### load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
		timeout "$GWB_STEP_TIMEOUT_S" "$GWB_LG" --json "$GWB_OUT/$name.json" "$@" 2>&1
		echo "### exit $?, load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
	} | tee "$GWB_OUT/$name.txt"
}

# gwb_pg_stats PHASE: the statements PostgreSQL spent the phase on (wall time, so it includes
# waiting for a core), then a fresh count for the next phase.
gwb_pg_stats() {
	stack_psql -c "SELECT calls, round(total_exec_time::numeric, 1) AS ms,
		round((total_exec_time / calls)::numeric, 3) AS ms_per_call, rows,
		left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query
		FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15" | tee "$GWB_OUT/pgstats-$1.txt"
	stack_psql -qc 'SELECT pg_stat_statements_reset()' >/dev/null
}

gateway_capacity_bench() {
	local hold=${GWB_HOLD:-20} phases=${GWB_PHASES:-one many flows light churn}
	local one per ngw flows light flow_users churn_users rate nofile max
	# sourced by bench/run: its build and results directory, and the seeding helpers
	declare -F seed_users >/dev/null || . "$GWB_SRC/tests/lib/seed.sh"
	GWB_LG=${GWB_LG:-$(stack_bin napalmsky-loadgen)} || gwb_die "napalmsky-loadgen is not built"
	GWB_OUT=${GWB_OUT:-${OUT:-${TMPDIR:-/tmp}}/gateway-capacity}
	mkdir -p "$GWB_OUT"
	one=$(gwb_scaled 19000) per=$(gwb_scaled 17000) ngw=${GWB_GATEWAYS:-6}
	flows=$(gwb_scaled "${GWB_FLOWS:-200}") flow_users=$(gwb_scaled "${GWB_FLOW_USERS:-4000}")
	light=${GWB_LIGHT_FLOWS:-2}
	churn_users=$(gwb_scaled "${GWB_CHURN_USERS:-10000}") rate=${GWB_RATE:-100}
	[ -n "${GWB_ONE:-}" ] && one=$GWB_ONE
	[ -n "${GWB_PER_GATEWAY:-}" ] && per=$GWB_PER_GATEWAY

	# Every gateway may hold as many sockets as its descriptors allow.
	ulimit -n "$(ulimit -Hn)" 2>/dev/null
	nofile=$(ulimit -n)
	[ "$nofile" = unlimited ] && nofile=1048576
	max=$((nofile - GWB_FD_RESERVE))
	export GATEWAY_MAX_CONNECTIONS=$max
	[ "$one" -gt "$max" ] && { gwb_say "one gateway can hold $max sockets here (ulimit -n $nofile): one = $max"; one=$max; }
	[ "$per" -gt "$max" ] && per=$max

	# Users: the largest phase's, then disjoint ranges for flows (pairs talk once a day).
	local total=$((ngw * per)) t0=$SECONDS
	[ "$one" -gt "$total" ] && total=$one
	[ "$churn_users" -gt "$total" ] && total=$churn_users
	gwb_say "seeding $total + 2 x $flow_users users"
	gwb_users 1 "$total" "$GWB_OUT/users.txt" || gwb_die "seeding failed"
	gwb_users $((total + 1)) $((total + flow_users)) "$GWB_OUT/flow-users.txt" || gwb_die "seeding failed"
	gwb_users $((total + flow_users + 1)) $((total + 2 * flow_users)) "$GWB_OUT/light-users.txt" ||
		gwb_die "seeding failed"
	stack_psql -qc 'VACUUM ANALYZE' >/dev/null 2>&1
	if [ -n "${GWB_PG_STATS:-}" ]; then
		stack_psql -q -c 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements' \
			-c 'SELECT pg_stat_statements_reset()' >/dev/null
	fi
	gwb_say "seeded in $((SECONDS - t0)) s"

	local procs phase
	for phase in $phases; do
		case $phase in
		one)
			gwb_gateways 1
			procs=$(((one + 9499) / 9500))
			head -n "$one" "$GWB_OUT/users.txt" >"$GWB_OUT/one-users.txt"
			gwb_run one --mode connect --users "$GWB_OUT/one-users.txt" "${GWB_URLS[@]}" \
				"${GWB_PIDS[@]}" --procs "$procs" --source "$GWB_SOURCES" --duration "$hold" "${GWB_CONNECT_ARGS[@]}"
			;;
		many)
			gwb_gateways "$ngw"
			head -n $((ngw * per)) "$GWB_OUT/users.txt" >"$GWB_OUT/many-users.txt"
			gwb_run many --mode connect --users "$GWB_OUT/many-users.txt" "${GWB_URLS[@]}" \
				"${GWB_PIDS[@]}" --procs "$ngw" --source "$GWB_SOURCES" --duration "$hold" "${GWB_CONNECT_ARGS[@]}"
			;;
		flows)
			gwb_gateways 2
			gwb_run flows --mode flows --flows "$flows" --users "$GWB_OUT/flow-users.txt" \
				"${GWB_URLS[@]}" "${GWB_PIDS[@]}" --procs 2 --duration "$hold" "${GWB_CONNECT_ARGS[@]}"
			;;
		light)
			gwb_gateways 2
			gwb_run light --mode flows --flows "$light" --users "$GWB_OUT/light-users.txt" \
				"${GWB_URLS[@]}" "${GWB_PIDS[@]}" --procs 2 --duration "$hold" "${GWB_CONNECT_ARGS[@]}"
			;;
		churn)
			gwb_gateways 2
			head -n "$churn_users" "$GWB_OUT/users.txt" >"$GWB_OUT/churn-users.txt"
			gwb_run churn --mode churn --rate "$rate" --users "$GWB_OUT/churn-users.txt" \
				"${GWB_URLS[@]}" "${GWB_PIDS[@]}" --procs 2 --source "$GWB_SOURCES" --duration "$hold" "${GWB_CONNECT_ARGS[@]}"
			;;
		drain) gwb_drain "$per" ;;
		*) gwb_say "unknown phase $phase (one many flows light churn drain)" ;;
		esac
		if [ -n "${GWB_PG_STATS:-}" ]; then gwb_pg_stats "$phase"; fi
	done
	stack__stop_name gateway TERM
	gwb_summary | tee "$GWB_OUT/summary.md"
}

# gwb_drain N: N sockets held on one gateway (the loadgen keeps them), then SIGTERM; the time
# to exit and what its log says about the way there. Written to $GWB_OUT/drain.txt.
gwb_drain() {
	local n=$1 pid lg log from t0 ms i fds left
	gwb_gateways 1
	pid=$(stack_pids gateway) log=$STACK_DIR/logs/gateway-1.log
	head -n "$n" "$GWB_OUT/users.txt" >"$GWB_OUT/drain-users.txt"
	"$GWB_LG" --mode connect --users "$GWB_OUT/drain-users.txt" "${GWB_URLS[@]}" --gateway-pid "$pid" \
		--procs 2 --source "$GWB_SOURCES" --duration 600 "${GWB_CONNECT_ARGS[@]}" \
		>"$GWB_OUT/drain-loadgen.txt" 2>&1 &
	lg=$!
	# held: the gateway has a descriptor for each socket
	for i in $(seq 600); do
		[ "$(find /proc/"$pid"/fd -mindepth 1 2>/dev/null | wc -l)" -ge "$n" ] && break
		sleep 0.2
	done
	sleep 2
	fds=$(find /proc/"$pid"/fd -mindepth 1 2>/dev/null | wc -l)
	from=$(wc -l <"$log")
	t0=$(date +%s%3N)
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null
	ms=$(($(date +%s%3N) - t0))
	left=$(stack_redis_cli SCARD ns:gwsocks:gw1)
	kill "$lg" 2>/dev/null
	wait "$lg" 2>/dev/null
	tail -n +"$((from + 1))" "$log" >"$GWB_OUT/drain-gateway.log"
	{
		echo "drain: $n sockets asked, $fds descriptors open at SIGTERM; exit $ms ms after it"
		echo "  loop turns over 250 ms: $(grep -c 'loop turn took' "$GWB_OUT/drain-gateway.log")" \
			"(longest $(grep -o 'took [0-9]*' "$GWB_OUT/drain-gateway.log" | cut -d' ' -f2 | sort -n | tail -1) ms);" \
			"redis down: $(grep -c 'redis down$' "$GWB_OUT/drain-gateway.log");" \
			"unregistrations not sent: $(grep -c 'unregistration not done' "$GWB_OUT/drain-gateway.log")"
		echo "  registrations left in Redis for the other gateways' sweep: $left"
	} | tee "$GWB_OUT/drain.txt"
}

# One table from the JSON of every phase that ran.
gwb_summary() {
	command -v node >/dev/null 2>&1 || { echo "(node not installed: see $GWB_OUT/*.txt)"; return 0; }
	node - "$GWB_OUT" <<'EOF'
const fs = require('fs'), dir = process.argv[2];
const read = (n) => { try { return JSON.parse(fs.readFileSync(`${dir}/${n}.json`, 'utf8')); } catch (e) { return null; } };
const f = (x, d = 1) => (typeof x === 'number' ? x.toFixed(d) : '-');
console.log(`\nnapalmsky-gateway capacity, ${new Date().toISOString()}, ${require('os').cpus().length} cores\n`);
console.log('| phase | gateways | held / asked | connect/s | handshake p50 / p99 ms | gateway RSS before → holding KB | KB per connection | errors |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
for (const n of ['one', 'many', 'flows', 'light', 'churn']) {
	const j = read(n);
	if (!j) continue;
	const c = j.connect, r = j.rss;
	console.log(`| ${n} | ${r.gateways.length} | ${c.held} / ${c.requested} | ${f(c.rate_per_s, 0)} | ${f(c.handshake.p50_ms)} / ${f(c.handshake.p99_ms)} | ${r.before_kb} → ${r.holding_kb} | ${f(r.kb_per_connection, 2)} | ${j.errors.total} |`);
}
for (const n of ['flows', 'light']) {
	const fl = read(n);
	if (!fl || !fl.flows) continue;
	const x = fl.flows;
	console.log(`\n${n}: ${x.completed} completed in ${f(x.seconds)} s = ${f(x.per_s)} flows/s at ${x.concurrency} concurrent (${x.same_gateway} same-gateway, ${x.cross_gateway} cross-gateway)\n`);
	console.log('| step | same n | same p50 / p90 / p99 / max ms | cross n | cross p50 / p90 / p99 / max ms |');
	console.log('|---|---:|---:|---:|---:|');
	for (const [k, s] of Object.entries(x.steps))
		console.log(`| ${k} | ${s.same.n} | ${f(s.same.p50_ms)} / ${f(s.same.p90_ms)} / ${f(s.same.p99_ms)} / ${f(s.same.max_ms)} | ${s.cross.n} | ${f(s.cross.p50_ms)} / ${f(s.cross.p90_ms)} / ${f(s.cross.p99_ms)} / ${f(s.cross.max_ms)} |`);
}
const ch = read('churn');
if (ch && ch.churn) {
	const x = ch.churn;
	console.log(`\nchurn: ${x.toggles} toggles in ${f(x.seconds)} s on ${ch.connect.held} sockets; received ${x.queue_update_frames} queue:update + ${x.presence_update_frames} presence:update frames, ${x.update_bytes} bytes; at most ${x.max_queue_updates_per_client_interval} queue:update per client per ${x.interval_ms} ms; a broadcast to every socket: ${x.broadcast_bytes.toExponential(2)} bytes (${f(x.broadcast_ratio)} x)`);
}
for (const n of ['one', 'many', 'flows', 'light', 'churn']) {
	const j = read(n);
	if (j && j.errors.total) console.log(`\n${n} errors: ${JSON.stringify(j.errors.by_kind)}`);
}
EOF
}

# ---- standalone -------------------------------------------------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	for tool in psql redis-cli md5sum; do
		command -v "$tool" >/dev/null 2>&1 || gwb_die "$tool is not installed"
	done
	BUILD=${BENCH_BUILD:-${top_builddir:-${TMPDIR:-/tmp}/napalmsky-bench-build}}
	if [ ! -f "$BUILD/config.status" ]; then
		gwb_say "configuring a build in $BUILD"
		mkdir -p "$BUILD" && (cd "$BUILD" && "$GWB_SRC/configure" -q) || gwb_die "configure failed"
	fi
	grep -q -- '--enable-sanitizers' "$BUILD/config.status" 2>/dev/null &&
		gwb_say "warning: $BUILD is a sanitizer build; figures will be far below a release build"
	PROGS="tools/napalmsky-admin tools/napalmsky-loadgen ws-gateway/napalmsky-gateway"
	if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
		# shellcheck disable=SC2086
		timeout 600 make -C "$BUILD" -s -j"$(nproc)" $PROGS >"${TMPDIR:-/tmp}/napalmsky-gwbench-make.log" 2>&1 ||
			{ tail -30 "${TMPDIR:-/tmp}/napalmsky-gwbench-make.log" >&2; gwb_die "build failed"; }
	fi
	GWB_LG=$(readlink -f "$BUILD/tools/napalmsky-loadgen")
	[ -x "$GWB_LG" ] || gwb_die "napalmsky-loadgen is missing"
	export NS_BIN=$BUILD LOG_LEVEL=${LOG_LEVEL:-warn}
	unset STACK_NGINX_PORT NAPALMSKY_CONFIG
	# shellcheck source=../scripts/lib/stack.sh
	. "$GWB_SRC/scripts/lib/stack.sh"
	# shellcheck source=../tests/lib/seed.sh
	. "$GWB_SRC/tests/lib/seed.sh"
	stack_init || gwb_die "stack_init failed"
	trap stack_stop EXIT
	GWB_OUT=${GWB_OUT:-${TMPDIR:-/tmp}/napalmsky-gwbench-$(date +%Y%m%d-%H%M%S)}
	mkdir -p "$GWB_OUT"
	gwb_say "stack in $STACK_DIR, results in $GWB_OUT"
	stack_start_pg >"$GWB_OUT/stack.log" 2>&1 || gwb_die "PostgreSQL did not start: $(tail -3 "$GWB_OUT/stack.log")"
	stack_start_redis >>"$GWB_OUT/stack.log" 2>&1 || gwb_die "Redis did not start"
	stack_migrate >>"$GWB_OUT/stack.log" 2>&1 || gwb_die "migrations failed: $(tail -5 "$GWB_OUT/stack.log")"
	gateway_capacity_bench
	exit 0
fi
