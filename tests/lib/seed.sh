# seed.sh: fast bulk seeding of users, sessions and presence for tests and benchmarks
# (sourced, bash). Needs DATABASE_URL and REDIS_URL (as exported by scripts/lib/stack.sh),
# psql, redis-cli and md5sum. 10,000 users take one INSERT ... SELECT generate_series per
# table and one redis-cli --pipe.
#
#   seed_user_id I / seed_token I    the deterministic userId / session token of seed user I
#   seed_users FROM TO [PAID]        users FROM..TO ("Seed I", paid_status PAID, default
#                                    paid) with one active session each (expires in 1 day)
#   seed_available FROM TO BASE_MS [STEP]
#                                    mark them online and available, availableSince
#                                    BASE_MS + (I - FROM) * STEP (STEP 0 gives ties)
#
# Ids are UUID v4-shaped digests of "seed-user-I" / "seed-token-I", so a script can name a
# seed user without asking the database. The Redis key shapes are those of shared/keys.h
# (docs/ARCHITECTURE.md); shared/presence.c writes the same ones.

seed__uuid() {	# KIND I
	local h
	h=$(printf 'seed-%s-%s' "$1" "$2" | md5sum)
	h=${h:0:12}4${h:13:3}8${h:17:15}
	printf '%s-%s-%s-%s-%s\n' "${h:0:8}" "${h:8:4}" "${h:12:4}" "${h:16:4}" "${h:20:12}"
}
seed_user_id() { seed__uuid user "$1"; }
seed_token() { seed__uuid token "$1"; }

# The same digest in SQL, for column i of generate_series.
seed__sql_uuid() {
	echo "overlay(overlay(md5('seed-$1-' || i) placing '4' from 13 for 1) placing '8' from 17 for 1)::uuid"
}

# redis-cli takes no unix: URL (stack.sh exports one): give it the socket path instead.
seed__redis_cli() {
	case $REDIS_URL in
	unix:*) redis-cli -s "${REDIS_URL#unix:}" "$@" ;;
	*) redis-cli -u "$REDIS_URL" "$@" ;;
	esac
}

seed__psql() { psql -X -q -v ON_ERROR_STOP=1 "$DATABASE_URL" "$@"; }

seed_users() {
	local from=$1 to=$2 paid=${3:-paid}
	local uid tok
	uid=$(seed__sql_uuid user) tok=$(seed__sql_uuid token)
	seed__psql -v from="$from" -v to="$to" -v paid="$paid" <<EOF
BEGIN;
INSERT INTO users (user_id, name, gender, paid_status)
SELECT $uid, 'Seed ' || i,
       (ARRAY['female', 'male', 'nonbinary', 'unspecified'])[1 + i % 4], :'paid'
FROM generate_series(:from::int, :to::int) AS i;
INSERT INTO sessions (session_token, user_id, expires_at)
SELECT $tok, $uid, now() + interval '1 day'
FROM generate_series(:from::int, :to::int) AS i;
COMMIT;
EOF
}

seed_available() {
	local from=$1 to=$2 base=$3 step=${4:-1} out
	local uid
	uid=$(seed__sql_uuid user)
	# psql interpolates variables in scripts read from stdin, not in -c commands.
	out=$(printf 'SELECT %s, i - :from::int FROM generate_series(:from::int, :to::int) AS i;\n' \
		"$uid" | seed__psql -tA -F ' ' -v from="$from" -v to="$to" |
	awk -v base="$base" -v step="$step" '
		function cmd(n, a,   i, s) {	# RESP array of n bulk strings
			s = "*" n "\r\n"
			for (i = 1; i <= n; i++) s = s "$" length(a[i]) "\r\n" a[i] "\r\n"
			printf "%s", s
		}
		NF == 2 {
			since = sprintf("%.0f", base + $2 * step)
			split("HSET ns:presence:" $1 " online 1 available 1 lastActiveAt " since \
			    " availableSince " since, a, " "); cmd(10, a)
			split("SADD ns:online " $1, a, " "); cmd(3, a)
			split("ZADD ns:available " since " " $1, a, " "); cmd(4, a)
		}' | seed__redis_cli --pipe 2>&1) || { echo "$out" >&2; return 1; }
	case $out in *"errors: 0,"*) return 0 ;; *) echo "$out" >&2; return 1 ;; esac
}
