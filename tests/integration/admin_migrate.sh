#!/bin/bash
# admin_migrate: napalmsky-admin against a throwaway PostgreSQL. Migrations apply once (also
# with two concurrent runs), a failing or malformed one changes nothing, the schema enforces
# its key constraints. Then, with Redis, two workers and nginx: create/passwd/remove-admin
# (cost-12 bcrypt; a changed password or a removed admin ends its tokens at once) and
# grant/revoke-admin, seen by the next request despite the workers' user cache.
set -u
top_srcdir=${top_srcdir:-$(cd "$(dirname "$0")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir}
. "$top_srcdir/scripts/lib/stack.sh"

n=0 failed=0
ok() {	# ok COND-STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
is() {	# is GOT WANT DESCRIPTION
	[ "$1" = "$2" ]; local st=$?
	ok $st "$3"
	[ $st -eq 0 ] || printf '#   got "%s", want "%s"\n' "$1" "$2"
}
# SQLSTATE of a statement that must fail ("" when it succeeded).
sqlstate() {
	stack_psql -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -qc "$1" 2>&1 >/dev/null |
		sed -n 's/^ERROR: *\([0-9A-Z]\{5\}\):.*/\1/p' | head -1
}

if [ ! -x "$(stack__pg_bindir 2>/dev/null)/initdb" ]; then
	echo "1..0 # SKIP PostgreSQL server binaries not installed"
	exit 0
fi
stack_init
trap stack_stop EXIT
stack_start_pg >/dev/null || { echo "Bail out! PostgreSQL did not start"; exit 1; }
ADMIN=$(stack_bin napalmsky-admin) || { echo "Bail out! napalmsky-admin not built"; exit 1; }
export MIGRATIONS_DIR=$top_srcdir/sql NAPALMSKY_CONFIG=/dev/null
T=$STACK_DIR/admin-test
mkdir -p "$T"
nfiles=$(ls "$MIGRATIONS_DIR" | grep -c '^[0-9][0-9][0-9]_.*\.sql$')

# --- migrate: first run applies every file, second run is a no-op
out=$("$ADMIN" migrate 2>&1); st=$?
ok $st "first migrate exits 0"
is "$(printf '%s\n' "$out" | grep -c '^applied ')" "$nfiles" "first migrate applies all $nfiles files"
is "$(stack_psql -tAc 'SELECT count(*) FROM schema_migrations')" "$nfiles" "schema_migrations records each file"
out=$("$ADMIN" migrate 2>&1); st=$?
ok $st "second migrate exits 0"
printf '%s\n' "$out" | grep -q '^up to date' && ! printf '%s\n' "$out" | grep -q '^applied '
ok $? "second migrate is a no-op that says up to date"
tables="admin_sessions admins ban_records chat_history cooldowns intro_codes invite_code_redemptions
invite_codes ip_bans referral_notifications reports session_completions sessions stripe_events user_ips users"
missing=
for t in $tables; do
	[ "$(stack_psql -tAc "SELECT to_regclass('public.$t') IS NOT NULL")" = t ] || missing="$missing $t"
done
is "$missing" "" "every table of the contract exists"

# --- constraints
A=00000000-0000-4000-8000-00000000000a B=00000000-0000-4000-8000-00000000000b
stack_psql -qc "INSERT INTO users (user_id, name, gender, email) VALUES
	('$A', 'Ann', 'female', 'Ann@Example.org'), ('$B', 'Bob', 'male', NULL)" >/dev/null
ok $? "users insert with defaults"
is "$(stack_psql -tAc "SELECT paid_status, ban_status, role, socials, last_sessions, streak_days FROM users WHERE user_id = '$A'")" \
	"unpaid|none|user|{}|[]|0" "user defaults"
is "$(sqlstate "INSERT INTO users (user_id, name, gender, email) VALUES (gen_random_uuid(), 'X', 'male', 'ann@EXAMPLE.org')")" \
	23505 "email unique case-insensitively"
is "$(sqlstate "INSERT INTO users (user_id, name, gender) VALUES (gen_random_uuid(), 'X', 'robot')")" \
	23514 "gender CHECK"
is "$(sqlstate "INSERT INTO users (user_id, name, gender) VALUES (gen_random_uuid(), '', 'male')")" \
	23514 "empty name rejected"
is "$(sqlstate "UPDATE users SET account_type = 'permanent' WHERE user_id = '$B'")" \
	23514 "permanent account needs email and password hash"
is "$(sqlstate "INSERT INTO cooldowns (user_id_1, user_id_2, expires_at) VALUES ('$A', '$B', now() + interval '1 day')")" \
	"" "cooldown with the smaller id first accepted"
is "$(sqlstate "INSERT INTO cooldowns (user_id_1, user_id_2, expires_at) VALUES ('$B', '$A', now() + interval '1 day')")" \
	23514 "cooldown pair CHECK rejects user_id_1 > user_id_2"
is "$(sqlstate "INSERT INTO cooldowns (user_id_1, user_id_2, expires_at) VALUES ('$A', '$B', now())")" \
	23505 "cooldown pair unique"
is "$(sqlstate "INSERT INTO reports (report_id, reported_user_id, reported_user_name, reporter_user_id, reporter_name)
	VALUES (gen_random_uuid(), '$B', 'Bob', '$A', 'Ann'), (gen_random_uuid(), '$B', 'Bob', '$A', 'Ann')")" \
	23505 "one report per (reporter, reported)"
is "$(sqlstate "INSERT INTO invite_codes (code, type, max_uses, uses_remaining) VALUES ('ABCDEFGH12345678', 'user', 4, 4)")" \
	"" "user invite code accepted"
is "$(sqlstate "UPDATE invite_codes SET uses_remaining = uses_remaining - 5 WHERE code = 'ABCDEFGH12345678'")" \
	23514 "invite code cannot be over-used"
is "$(sqlstate "INSERT INTO invite_codes (code, type, max_uses, uses_remaining) VALUES ('abc', 'admin', -1, -1)")" \
	23514 "invite code format CHECK"
is "$(sqlstate "INSERT INTO chat_history (session_id, user_id, partner_id, partner_name, room_id, started_at, duration)
	VALUES ('session-1', '$A', '$B', 'Bob', '$A', now(), 10), ('session-1', '$A', '$B', 'Bob', '$A', now(), 10)")" \
	23505 "chat_history unique (room_id, user_id)"
is "$(sqlstate "INSERT INTO ip_bans (ip_address, user_id) VALUES ('192.0.2.7', '$B'); DELETE FROM users WHERE user_id = '$B'")" \
	"" "deleting a user cascades"
is "$(stack_psql -tAc "SELECT (SELECT count(*) FROM cooldowns) || ',' || (SELECT user_id IS NULL FROM ip_bans)::text")" \
	"0,true" "cooldowns cascade, ip_bans keep the address with user_id NULL"

# --- migration safety: bad names, failing files and transaction control change nothing
mkdir -p "$T/bad" "$T/broken" "$T/txn"
cp "$MIGRATIONS_DIR"/[0-9]*.sql "$T/bad/"; echo 'CREATE TABLE never_bad (x int);' >"$T/bad/6_Bad.sql"
MIGRATIONS_DIR=$T/bad "$ADMIN" migrate >/dev/null 2>"$T/err"; st=$?
[ $st -eq 1 ] && grep -q '6_Bad.sql' "$T/err"; ok $? "a .sql file with a bad name is refused"
cp "$MIGRATIONS_DIR"/[0-9]*.sql "$T/broken/"
printf 'CREATE TABLE half_done (x int);\nSELECT no_such_function();\n' >"$T/broken/900_broken.sql"
MIGRATIONS_DIR=$T/broken "$ADMIN" migrate >/dev/null 2>"$T/err"; st=$?
[ $st -eq 1 ] && grep -q '900_broken.sql:2' "$T/err"; ok $? "a failing migration exits 1 naming file and line"
is "$(stack_psql -tAc "SELECT to_regclass('public.half_done') IS NULL AND NOT EXISTS (SELECT 1 FROM schema_migrations WHERE version = '900')")" \
	t "a failing migration is rolled back entirely"
cp "$MIGRATIONS_DIR"/[0-9]*.sql "$T/txn/"
printf 'CREATE TABLE escaped (x int);\nCOMMIT;\n' >"$T/txn/901_commits.sql"
MIGRATIONS_DIR=$T/txn "$ADMIN" migrate >/dev/null 2>"$T/err"; st=$?
[ $st -eq 1 ] && grep -q 'BEGIN/COMMIT' "$T/err"; ok $? "a migration that commits by itself is refused"

# --- two concurrent runs on a fresh database apply each file exactly once
stack_psql_admin -qc 'CREATE DATABASE napalmsky_race' >/dev/null
race_url="postgresql://postgres@/napalmsky_race?host=$PG_SOCKDIR&port=$PG_PORT"
DATABASE_URL=$race_url "$ADMIN" migrate >"$T/race1" 2>&1 & p1=$!
DATABASE_URL=$race_url "$ADMIN" migrate >"$T/race2" 2>&1 & p2=$!
wait $p1; s1=$?; wait $p2; s2=$?
is "$s1,$s2" "0,0" "concurrent migrate runs both succeed"
is "$(cat "$T/race1" "$T/race2" | grep -c '^applied ')" "$nfiles" "concurrent runs apply each file once in total"

# --- the rest runs against the real REST stack (Redis, 2 workers, nginx): an account or role
# change must be seen by the very next request through any worker.
export RL_AUTH_MAX=100000 RL_API_MAX=100000 RL_REPORT_MAX=100000 CACHE_TTL_S=300
{ stack_start_redis && stack_start_api 2 && stack_start_nginx; } >"$T/stack.log" 2>&1 ||
	{ echo "Bail out! the REST stack did not start: $(tail -5 "$T/stack.log")"; exit 1; }
# req METHOD PATH TOKEN [JSON]: prints "<status> <body>".
req() {
	local auth=() data=()
	[ -n "$3" ] && auth=(-H "Authorization: Bearer $3")
	[ -n "${4:-}" ] && data=(-H 'Content-Type: application/json' --data-binary "$4")
	curl -sS --max-time 10 -X "$1" -w ' %{http_code}' "${auth[@]}" "${data[@]}" "$STACK_URL$2" 2>&1 |
		sed 's/^\(.*\) \([0-9]\{3\}\)$/\2 \1/'
}
status() { req "$@" | cut -d' ' -f1; }
login() {	# USER PASSWORD: prints the admin token, or the status on failure
	local out
	out=$(req POST /admin/login '' "{\"username\":\"$1\",\"password\":\"$2\"}")
	case $out in "200 "*) printf '%s\n' "$out" | sed -n 's/.*"adminToken": *"\([^"]*\)".*/\1/p' ;;
	*) printf '%s\n' "${out%% *}" ;; esac
}

# --- create-admin
printf 'correct horse battery\n' | "$ADMIN" create-admin ops >/dev/null 2>"$T/err"
ok $? "create-admin reads the password from stdin"
hash=$(stack_psql -tAc "SELECT password_hash FROM admins WHERE username = 'ops'")
case $hash in '$2b$12$'*) st=0 ;; *) st=1 ;; esac
ok $st "admin hash is bcrypt cost 12"
[ ${#hash} -eq 60 ]; ok $? "admin hash has 60 characters"
tok1=$(login ops 'correct horse battery')
is "${#tok1}" 36 "the admin logs in with the password from stdin"
"$ADMIN" create-admin ops2 'password as argument' >/dev/null 2>&1
ok $? "create-admin takes the password as an argument"
tok2=$(login ops2 'password as argument')
is "${#tok2}" 36 "the admin logs in with the password given as an argument"
out=$("$ADMIN" create-admin ops 'another long password' 2>&1); st=$?
is "$st,$(stack_psql -tAc "SELECT password_hash <> '$hash' FROM admins WHERE username = 'ops'"),$(status GET /admin/verify "$tok1")" \
	"0,t,401" "create-admin on an existing admin changes its password and ends its tokens"
printf '%s\n' "$out" | grep -q '^changed password of admin ops; 1 session(s) ended'; ok $? "and says so ($out)"
tok1=$(login ops 'another long password')
is "${#tok1}" 36 "the admin logs in with the changed password"
printf 'short\n' | "$ADMIN" create-admin weak >/dev/null 2>&1; st=$?
is "$st,$(stack_psql -tAc "SELECT count(*) FROM admins WHERE username = 'weak'")" "1,0" "a password under 8 characters is refused"
"$ADMIN" create-admin weak2 'short' >/dev/null 2>&1; st=$?
is "$st,$(stack_psql -tAc "SELECT count(*) FROM admins WHERE username = 'weak2'")" "1,0" "a short password argument is refused"
printf 'long enough password\n' | "$ADMIN" create-admin 'bad name' >/dev/null 2>&1
is "$?" 1 "an invalid username is refused"
"$ADMIN" create-admin nopass </dev/null >/dev/null 2>&1
is "$?" 1 "no password on stdin is refused"
"$ADMIN" create-admin x y z >/dev/null 2>&1
is "$?" 2 "create-admin with three arguments is a bad command line"

# --- passwd-admin: new password, and every token of that admin ends at once
out=$("$ADMIN" passwd-admin ops 'a brand new password' 2>&1); st=$?
is "$st,$(status GET /admin/verify "$tok1"),$(status GET /report/stats "$tok1")" "0,401,403" \
	"passwd-admin ends the admin's tokens immediately"
printf '%s\n' "$out" | grep -q '1 session(s) ended'; ok $? "passwd-admin says how many sessions it ended ($out)"
is "$(status GET /admin/verify "$tok2")" 200 "another admin's token is untouched"
is "$(login ops 'correct horse battery')" 401 "the old password no longer logs in"
tok1=$(login ops 'a brand new password')
is "${#tok1}" 36 "the new password logs in"
printf 'from stdin this time\n' | "$ADMIN" passwd-admin ops >/dev/null 2>&1
is "$?,$(status GET /admin/verify "$tok1"),${#tok1}" "0,401,36" "passwd-admin reads stdin when the password is omitted"
tok1=$(login ops 'from stdin this time')
"$ADMIN" passwd-admin nobody 'long enough password' >/dev/null 2>&1
is "$?" 1 "passwd-admin of an unknown admin fails"
"$ADMIN" passwd-admin ops 'short' >/dev/null 2>&1
is "$?,$(status GET /admin/verify "$tok1")" "1,200" "passwd-admin refuses a short password and keeps the sessions"

"$ADMIN" list-admins >"$T/list" 2>&1
grep -q '^ops	.*	1$' "$T/list" && grep -q '^ops2	' "$T/list"; ok $? "list-admins shows the admins and their live sessions"

# --- remove-admin (and its alias delete-admin): the account and its tokens go
out=$("$ADMIN" remove-admin ops2 2>&1); st=$?
is "$st,$(status GET /admin/verify "$tok2"),$(status GET /report/stats "$tok2")" "0,401,403" \
	"remove-admin ends the admin's tokens immediately"
is "$(login ops2 'password as argument')" 401 "a removed admin cannot log in"
"$ADMIN" remove-admin ops2 >/dev/null 2>&1
is "$?" 1 "removing an unknown admin fails"
"$ADMIN" delete-admin ops >/dev/null
is "$?,$(stack_psql -tAc "SELECT count(*) FROM admins") $(stack_psql -tAc "SELECT count(*) FROM admin_sessions")" "0,0 0" \
	"delete-admin still works as an alias"

# --- grant-admin / revoke-admin: the workers' user cache must not hide the change
out=$(req POST /auth/guest '' '{"name":"Gina","gender":"female"}')
G=$(printf '%s\n' "$out" | sed -n 's/.*"userId": *"\([^"]*\)".*/\1/p')
GT=$(printf '%s\n' "$out" | sed -n 's/.*"sessionToken": *"\([^"]*\)".*/\1/p')
[ ${#G} -eq 36 ] && [ ${#GT} -eq 36 ] || { echo "Bail out! guest signup failed: $out"; exit 1; }
is "$(status GET /report/stats "$GT")" 403 "a plain user cannot read the report stats"
is "$(stack_redis_cli EXISTS "ns:c:u:$G")" 1 "the workers now cache that user's row"
"$ADMIN" grant-admin "$G" >"$T/out" 2>&1
is "$?,$(status GET /report/stats "$GT"),$(status GET /report/stats "$GT")" "0,200,200" \
	"after grant-admin the user's next requests pass guard A"
grep -q warning "$T/out"; is "$?" 1 "no warning while Redis is up"
"$ADMIN" revoke-admin "${G^^}" >/dev/null 2>&1
is "$?,$(status GET /report/stats "$GT")" "0,403" "after revoke-admin (upper-case id) the next request is refused"
"$ADMIN" grant-admin ANN@example.ORG >/dev/null && \
	is "$(stack_psql -tAc "SELECT role FROM users WHERE user_id = '$A'")" admin "grant-admin by email sets the role"
"$ADMIN" revoke-admin "$A" >/dev/null && \
	is "$(stack_psql -tAc "SELECT role FROM users WHERE user_id = '$A'")" user "revoke-admin by id clears it"
"$ADMIN" grant-admin nobody@example.org >/dev/null 2>&1
is "$?" 1 "grant-admin of an unknown email fails"
"$ADMIN" grant-admin not-a-uuid >/dev/null 2>&1
is "$?" 1 "grant-admin of something that is neither id nor email fails"
# Redis down: the role is still written, and the output says the cache was not invalidated.
stack_stop_redis >/dev/null 2>&1
timeout 20 "$ADMIN" grant-admin "$G" >"$T/out" 2>&1; st=$?
is "$st,$(stack_psql -tAc "SELECT role FROM users WHERE user_id = '$G'")" "0,admin" \
	"grant-admin with Redis down still sets the role"
grep -q '^warning: .*not invalidated' "$T/out"; ok $? "and warns that the cache was not invalidated"
stack_start_redis >/dev/null 2>&1
is "$(status GET /report/stats "$GT")" 200 "with Redis back the user passes guard A"

# --- configuration
"$ADMIN" check-config >"$T/cfg" 2>&1; ok $? "check-config exits 0 on a valid configuration"
grep -q '^migrations_dir' "$T/cfg"; ok $? "check-config prints the effective configuration"
LOG_LEVEL=loud "$ADMIN" --check-config >/dev/null 2>&1
is "$?" 1 "--check-config exits 1 on an invalid value"
sample=$top_builddir/etc/napalmsky.conf.sample
if [ -f "$sample" ]; then
	# Uncomment every "# key = value" line: the sample must name only real keys and valid defaults.
	sed -n 's/^# \([a-z_]* =.*\)$/\1/p' "$sample" >"$T/sample.conf"
	env -u DATABASE_URL -u MIGRATIONS_DIR -u LOG_LEVEL -u MEDIA_DIR \
		"$ADMIN" --config "$T/sample.conf" check-config >"$T/sample.out" 2>&1
	ok $? "every key of napalmsky.conf.sample is valid"
	is "$(sed 's/ =.*//' "$T/sample.conf" | sort | tr '\n' ' ')" \
		"$(sed 's/ =.*//' "$T/sample.out" | sort | tr '\n' ' ')" \
		"the sample documents every configuration key"
else
	n=$((n + 1)); echo "ok $n # SKIP $sample not built"
	n=$((n + 1)); echo "ok $n # SKIP $sample not built"
fi
"$ADMIN" frobnicate >/dev/null 2>&1
is "$?" 2 "an unknown command exits 2"

echo "1..$n"
[ $failed -eq 0 ]
