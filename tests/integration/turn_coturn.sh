#!/usr/bin/env bash
# turn_coturn: the TURN credentials of GET /turn/credentials (contract §2.9) against a real
# coturn on loopback (use-auth-secret with the same secret): the returned username and
# credential allocate a relay and carry data; a forged credential and an expired one (built
# here with openssl: base64(HMAC-SHA1(secret, "<past>:<userId>"))) are refused.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

TURN_TIMEOUT=15	# seconds for any one coturn client run
if ! command -v turnserver >/dev/null 2>&1 || ! command -v turnutils_uclient >/dev/null 2>&1 ||
   ! command -v turnutils_stunclient >/dev/null 2>&1; then
	echo "1..0 # SKIP coturn (turnserver, turnutils_uclient) not installed"
	exit 0
fi

B=$T_TMP/body
SECRET=$(openssl rand -hex 24) || t_bail "openssl rand failed"
stack_init || t_bail "stack_init failed"
TURN_PORT=$(stack__free_port) || t_bail "no free port"
export TURN_SECRET=$SECRET TURN_URLS="turn:127.0.0.1:$TURN_PORT" TURN_TTL_S=600
export RL_AUTH_MAX=100000 RL_API_MAX=100000 RL_TURN_MAX=100000
# t_start_stack would pick a new stack dir; the port above must stay reserved in this one.
{ stack_start_pg && stack_start_redis && stack_migrate && stack_start_api 2 && stack_start_nginx; } \
	>"$T_TMP/stack.log" 2>&1 || t_bail "the stack did not start: $(tail -5 "$T_TMP/stack.log")"

# coturn: loopback only, no TLS/DTLS, no CLI, its user database and log in the stack dir.
# Loopback peers are allowed because the test client relays to its own second allocation.
TURN_DIR=$STACK_DIR/turn
mkdir -p "$TURN_DIR"
turnserver -n --listening-ip 127.0.0.1 --relay-ip 127.0.0.1 --listening-port "$TURN_PORT" \
	--use-auth-secret --static-auth-secret "$SECRET" --realm napalmsky.test \
	--no-tls --no-dtls --no-cli --allow-loopback-peers --no-stdout-log --simple-log \
	--log-file "$STACK_DIR/logs/turnserver.log" --pidfile "$TURN_DIR/turnserver.pid" \
	--userdb "$TURN_DIR/turndb" </dev/null >>"$STACK_DIR/logs/turnserver.out" 2>&1 &
stack__record turnserver $! "$(command -v turnserver)"	# stack_stop ends it, whatever happens
stun_ok() { timeout 3 turnutils_stunclient -p "$TURN_PORT" 127.0.0.1 | grep -q 'UDP reflexive addr'; }
stack_wait_for 15 stun_ok || t_bail "coturn did not answer on 127.0.0.1:$TURN_PORT"
t_pass "coturn answers STUN on 127.0.0.1:$TURN_PORT"

# allocate USER PASSWORD: one client pair allocating relays and exchanging a message; the
# client's output in $T_TMP/uclient.out, its exit status returned.
allocate() {
	timeout "$TURN_TIMEOUT" turnutils_uclient -p "$TURN_PORT" -u "$1" -w "$2" -y -n 1 -m 1 \
		127.0.0.1 >"$T_TMP/uclient.out" 2>&1
}
relayed() { grep -Eq 'tot_recv_msgs=[1-9]' "$T_TMP/uclient.out" && ! grep -q 'ERROR' "$T_TMP/uclient.out"; }
refused() { grep -q 'Cannot complete Allocation' "$T_TMP/uclient.out" && ! relayed; }

http POST "$STACK_URL/auth/guest" -H 'Content-Type: application/json' \
	--data-binary '{"name":"Turner","gender":"male"}'
U=$(json_get "$B" userId) U_T=$(json_get "$B" sessionToken)
[ "$HTTP_STATUS" = 200 ] || t_bail "guest signup failed: $HTTP_STATUS $(http_body)"
http GET "$STACK_URL/turn/credentials" -H "Authorization: Bearer $U_T"
t_is "$HTTP_STATUS|$(json_get "$B" provider)|$(json_get "$B" iceServers.2.urls)" \
	"200|coturn|[\"$TURN_URLS\"]" "the API hands out coturn credentials for our server"
user=$(json_get "$B" iceServers.2.username) cred=$(json_get "$B" iceServers.2.credential)
t_is "${user#*:}" "$U" "the TURN username names the user"

allocate "$user" "$cred"; st=$?
if [ $st -eq 0 ] && relayed; then t_pass "coturn allocates with the API's credential and relays data"
else t_fail "coturn allocates with the API's credential and relays data" "exit $st" "$(tail -5 "$T_TMP/uclient.out")"
fi

# A credential that is not the HMAC of the username under our secret.
forged=$(printf '%s' "$user" | openssl dgst -sha1 -hmac "not-$SECRET" -binary | base64)
allocate "$user" "$forged"; st=$?
if [ $st -ne 0 ] && refused; then t_pass "a forged credential is refused (exit $st)"
else t_fail "a forged credential is refused" "exit $st" "$(tail -5 "$T_TMP/uclient.out")"
fi
# The same username with another expiry but the old credential: the signature covers it.
later="$(( ${user%%:*} + 60 )):$U"
allocate "$later" "$cred"; st=$?
if [ $st -ne 0 ] && refused; then t_pass "the credential does not carry over to another expiry (exit $st)"
else t_fail "the credential does not carry over to another expiry" "exit $st" "$(tail -5 "$T_TMP/uclient.out")"
fi
# Correctly signed, but expired a minute ago.
past="$(( $(date +%s) - 60 )):$U"
expired=$(printf '%s' "$past" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64)
allocate "$past" "$expired"; st=$?
if [ $st -ne 0 ] && refused; then t_pass "a correctly signed but expired credential is refused (exit $st)"
else t_fail "a correctly signed but expired credential is refused" "exit $st" "$(tail -5 "$T_TMP/uclient.out")"
fi
# Control for the two refusals above: a credential signed here the same way, unexpired, works.
future="$(( $(date +%s) + 300 )):$U"
fresh=$(printf '%s' "$future" | openssl dgst -sha1 -hmac "$SECRET" -binary | base64)
allocate "$future" "$fresh"; st=$?
if [ $st -eq 0 ] && relayed; then t_pass "the same construction with a future expiry is accepted"
else t_fail "the same construction with a future expiry is accepted" "exit $st" "$(tail -5 "$T_TMP/uclient.out")"
fi

stack__stop_name turnserver TERM
t_ok "coturn stopped" test -z "$(stack_pids turnserver)"
t_done
