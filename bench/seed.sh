# seed.sh: bulk data for the benchmark (sourced by bench/run, after scripts/lib/stack.sh).
# shellcheck shell=bash
# One INSERT ... generate_series for the users, one redis-cli --pipe for their presence, so
# 10,000 users take about a second. Key names follow shared/keys.h (docs/ARCHITECTURE.md).

BENCH_KEY_PRESENCE=ns:presence:	# + userId: hash online/available/lastActiveAt/availableSince
BENCH_KEY_AVAILABLE=ns:available	# zset userId → availableSince ms
BENCH_KEY_ONLINE=ns:online		# set of online userIds

# bench_seed_users N: N available users (PostgreSQL rows with media URLs, Redis presence).
# availableSince is spread one millisecond apart, so the queue order is fixed.
bench_seed_users() {
	local n=$1 base ids
	base=$(($(date +%s%3N) - n - 60000))
	ids=$STACK_DIR/bench-ids
	stack_psql -qtA -v ON_ERROR_STOP=1 -v n="$n" >"$ids" <<'SQL' || return 1
INSERT INTO users (user_id, name, gender, selfie_url, video_url, paid_status)
SELECT gen_random_uuid(), 'Bench user ' || i,
       (ARRAY['female', 'male', 'nonbinary', 'unspecified'])[1 + i % 4],
       'http://127.0.0.1/uploads/selfie-' || md5('s' || i) || '.jpg',
       'http://127.0.0.1/uploads/video-' || md5('v' || i) || '.webm',
       CASE WHEN i % 3 = 0 THEN 'paid' ELSE 'unpaid' END
FROM generate_series(1, :n) AS i
RETURNING user_id;
SQL
	[ "$(wc -l <"$ids")" -eq "$n" ] || { stack__log "seed: expected $n users"; return 1; }
	awk -v base="$base" -v pres="$BENCH_KEY_PRESENCE" -v avail="$BENCH_KEY_AVAILABLE" \
	    -v online="$BENCH_KEY_ONLINE" '
		function resp(n, a,   i, s) {	# one command in the Redis protocol
			s = "*" n "\r\n"
			for (i = 1; i <= n; i++) s = s "$" length(a[i]) "\r\n" a[i] "\r\n"
			printf "%s", s
		}
		NF {
			t = sprintf("%.0f", base + NR)	# not CONVFMT: mawk would print 1.7e+12
			split("HSET|" pres $1 "|online|1|available|1|lastActiveAt|" t "|availableSince|" t, c, "|")
			resp(10, c)
			split("ZADD|" avail "|" t "|" $1, c, "|"); resp(4, c)
			split("SADD|" online "|" $1, c, "|"); resp(3, c)
		}' "$ids" | stack_redis_cli --pipe >"$STACK_DIR/logs/bench-seed-redis.log" 2>&1 || {
		stack__log "seed: redis-cli --pipe failed"; cat "$STACK_DIR/logs/bench-seed-redis.log" >&2; return 1; }
	grep -q 'errors: 0,' "$STACK_DIR/logs/bench-seed-redis.log" ||
		{ stack__log "seed: redis errors"; cat "$STACK_DIR/logs/bench-seed-redis.log" >&2; return 1; }
	# Distinct integer scores, or the order would silently fall back to userId.
	if [ "$(stack_redis_cli ZCARD "$BENCH_KEY_AVAILABLE")" != "$n" ] ||
	   [ "$(stack_redis_cli ZCOUNT "$BENCH_KEY_AVAILABLE" "$((base + 1))" "$((base + 1))")" != 1 ]; then
		stack__log "seed: $BENCH_KEY_AVAILABLE does not hold $n users scored from $((base + 1))"
		return 1
	fi
}

# bench_seed_requester: a paid guest with a 7-day session (not in the queue itself); prints
# "USERID TOKEN". Made directly in SQL so the queue runs do not depend on POST /auth/guest.
bench_seed_requester() {
	stack_psql -qtA -v ON_ERROR_STOP=1 -F ' ' <<'SQL'
WITH u AS (
	INSERT INTO users (user_id, name, gender, paid_status, paid_at, socials, selfie_url)
	VALUES (gen_random_uuid(), 'Bench requester', 'female', 'paid', now(),
	        '{"instagram":"bench"}', 'http://127.0.0.1/uploads/selfie-bench.jpg')
	RETURNING user_id)
INSERT INTO sessions (session_token, user_id, ip_address, device_info, expires_at)
SELECT gen_random_uuid(), user_id, '127.0.0.1', 'bench', now() + interval '7 days' FROM u
RETURNING user_id, session_token;
SQL
}
