#!/usr/bin/env bash
# Rate limits (contract §1.8), the query cache and the service routes GET /metrics and
# GET /stats/live (§2.1), through nginx with two workers: limits are shared by the workers,
# the auth limiter counts failures only, Redis down means PostgreSQL answers and nothing is
# limited, Redis back means the cache is used again; /metrics is for allowed addresses only.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

API_MAX=5
AUTH_MAX=3
PARALLEL=20	# concurrent requests against the api limiter
export RL_API_MAX=$API_MAX RL_AUTH_MAX=$AUTH_MAX BCRYPT_COST=4
t_start_stack 2

U=40000000-0000-4000-8000-000000000001
S=50000000-0000-4000-8000-000000000001
stack_psql -qv ON_ERROR_STOP=1 >"$T_TMP/seed.log" 2>&1 <<SQL || t_bail "seeding failed: $(cat "$T_TMP/seed.log")"
INSERT INTO users (user_id, name, gender) VALUES ('$U', 'Cache', 'female');
INSERT INTO sessions (session_token, user_id, expires_at) VALUES ('$S', '$U', now() + interval '1 day');
SQL
AUTH=(-H "Authorization: Bearer $S")

# metric NAME_AND_LABELS: its value in /metrics (0 when absent).
metric() {
	curl -sS --max-time 10 "$STACK_URL/metrics" | awk -v k="$1" '$1 == k { v = $2 } END { print v + 0 }'
}
redis_cli() { stack_redis_cli --raw "$@"; }
# A new window for the limiters of 127.0.0.1, so a section starts from zero.
fresh_window() { redis_cli del ns:rl:api:127.0.0.1 ns:rl:auth:127.0.0.1 >/dev/null; }

# --- api limiter: one counter for both workers ---
: >"$T_TMP/codes"
seq "$PARALLEL" | xargs -P "$PARALLEL" -I{} curl -sS -o /dev/null -w '%{http_code}\n' \
	--max-time 10 "${AUTH[@]}" "$STACK_URL/user/me" >>"$T_TMP/codes"
t_is "$(grep -c '^200$' "$T_TMP/codes")" "$API_MAX" "api: exactly RL_API_MAX requests of $PARALLEL allowed across workers"
t_is "$(grep -c '^429$' "$T_TMP/codes")" "$((PARALLEL - API_MAX))" "api: the rest refused with 429"
# Each worker has its own Redis connection, and a refused request ends with the limiter's
# script. Under load one worker can take the whole burst, or end on a 200's cache read, so
# more refused bursts are sent until both connections last ran the script (or 10 rounds).
extra=0
for _ in $(seq 10); do
	[ "$(redis_cli client list | grep -c 'cmd=evalsha')" = 2 ] && break
	seq 4 | xargs -P 4 -I{} curl -sS -o /dev/null --max-time 10 "${AUTH[@]}" "$STACK_URL/user/me"
	extra=$((extra + 4))
done
t_is "$(redis_cli client list | grep -c 'cmd=evalsha')" 2 "api: both workers served the limited requests"
http GET "$STACK_URL/user/me" "${AUTH[@]}"
t_is "$HTTP_STATUS $(http_body)" \
	'429 {"error":"Too many requests","message":"Rate limit exceeded. Please wait 1 minute.","retryAfter":60,"retryAfterMinutes":1}' \
	"api: 429 body"
t_is "$(http_header RateLimit-Limit)/$(http_header RateLimit-Remaining)" "$API_MAX/0" "api: RateLimit-Limit and -Remaining on the 429"
t_like "$(http_header RateLimit-Reset)" '^[1-9][0-9]*$' "api: RateLimit-Reset in seconds"
t_is "$(http_header Retry-After)" "$(http_header RateLimit-Reset)" "api: Retry-After on the 429"
http GET "$STACK_URL/health"
t_is "$HTTP_STATUS:$(http_header RateLimit-Limit)" "200:" "api: unlimited routes are answered, without RateLimit headers"
t_is "$(metric 'napalmsky_ratelimit_rejections_total{limiter="api"}')" "$((PARALLEL - API_MAX + extra + 1))" \
	"metrics: api rejections summed over both workers"
n_200=$(metric 'napalmsky_http_requests_total{method="GET",route="/user/me",status="200"}')
n_429=$(metric 'napalmsky_http_requests_total{method="GET",route="/user/me",status="429"}')
t_is "$n_200/$n_429" "$API_MAX/$((PARALLEL - API_MAX + extra + 1))" "metrics: requests by route and status"
t_like "$(metric 'napalmsky_http_request_duration_seconds_count{method="GET",route="/user/me"}')" \
	"^$((PARALLEL + extra + 1))\$" "metrics: latency histogram counts every request"

# --- auth limiter: failures only ---
guest() {
	http POST "$STACK_URL/auth/guest" -H 'Content-Type: application/json' \
		--data '{"name":"Guest","gender":"female"}'
}
codes=
for _ in $(seq $((AUTH_MAX + 2))); do guest; codes="$codes$HTTP_STATUS "; done
t_like "$codes" '^(200 )+$' "auth: successes are not counted (more than RL_AUTH_MAX signups)"
t_is "$(http_header RateLimit-Limit)" "$AUTH_MAX" "auth: RateLimit-Limit on auth routes"
login() {
	http POST "$STACK_URL/auth/login" -H 'Content-Type: application/json' \
		--data '{"email":"nobody@example.com","password":"wrong-password"}'
}
codes=
for _ in $(seq "$AUTH_MAX"); do login; codes="$codes$HTTP_STATUS "; done
t_is "$codes" "$(printf '401 %.0s' $(seq "$AUTH_MAX"))" "auth: RL_AUTH_MAX failures answered"
login
t_is "$HTTP_STATUS $(http_body)" \
	'429 {"error":"Too many login attempts","message":"Please try again in 10 minutes","retryAfter":600}' \
	"auth: the next attempt gets the 429 body"
t_is "$(http_header RateLimit-Remaining)" 0 "auth: RateLimit-Remaining 0"
guest
t_is "$HTTP_STATUS" 429 "auth: once over, every auth route is refused"
http GET "$STACK_URL/stats/live"
t_is "$HTTP_STATUS" 200 "auth: other limiters' routes unaffected"

# --- the limiters apply to whole prefixes, matched route or not ---
fresh_window
http GET "$STACK_URL/auth/no-such-route"
# (the auth limiter's RateLimit-Remaining counts the request it answers)
t_is "$HTTP_STATUS:$(http_header RateLimit-Limit):$(http_header RateLimit-Remaining)" \
	"404:$AUTH_MAX:$((AUTH_MAX - 1))" "prefix: a 404 under /auth/ is counted by the auth limiter"
http GET "$STACK_URL/auth/login"
t_is "$HTTP_STATUS:$(http_header RateLimit-Remaining)" "405:$((AUTH_MAX - 2))" \
	"prefix: ... as is a 405 on an auth route"
http DELETE "$STACK_URL/admin/nothing-here"
t_is "$HTTP_STATUS:$(http_header RateLimit-Remaining)" "404:$((AUTH_MAX - 3))" "prefix: /admin/ shares the auth budget"
login
t_is "$HTTP_STATUS" 429 "prefix: those failures used up the budget of failed logins"
http GET "$STACK_URL/user/no-such-route"
t_is "$HTTP_STATUS:$(http_header RateLimit-Limit)" "404:$API_MAX" "prefix: a 404 under /user/ is counted by the api limiter"
http GET "$STACK_URL/payment/no-such-route"
t_is "$HTTP_STATUS:$(http_header RateLimit-Limit)" "404:" "prefix: /payment/ stays unlimited"

# --- the query cache, Redis down and back ---
fresh_window
hits0=$(metric 'napalmsky_cache_requests_total{cache="session",result="hit"}')
for _ in 1 2 3 4; do http GET "$STACK_URL/user/me" "${AUTH[@]}"; done
hits1=$(metric 'napalmsky_cache_requests_total{cache="session",result="hit"}')
t_is "$HTTP_STATUS" 200 "cache: session served"
t_like "$((hits1 - hits0))" '^[2-4]$' "cache: repeated requests hit the session cache ($((hits1 - hits0)) of 4)"

# Coherence: a write through one worker is read back through any worker at once.
put_socials() {
	http PUT "$STACK_URL/user/me" "${AUTH[@]}" -H 'Content-Type: application/json' \
		--data "{\"socials\":{\"site\":\"$1\"}}"
}
fresh_window
put_socials one
t_is "$HTTP_STATUS" 200 "cache: PUT /user/me"
put_socials two
fresh_window
same=0
for _ in 1 2 3 4 5; do
	http GET "$STACK_URL/user/me" "${AUTH[@]}"
	[ "$(json_get "$T_TMP/body" socials.site)" = two ] && same=$((same + 1))
done
t_is "$same" 5 "cache: every worker reads the latest write"

# Redis stopped: authenticated requests are answered from PostgreSQL, nothing is limited.
stack_stop_redis
codes='' limited=''
for _ in $(seq $((API_MAX + 3))); do
	http GET "$STACK_URL/user/me" "${AUTH[@]}"
	codes="$codes$HTTP_STATUS "
	limited="$limited$(http_header RateLimit-Limit)"
done
t_is "$codes" "$(printf '200 %.0s' $(seq $((API_MAX + 3))))" "redis down: /user/me answered from PostgreSQL, beyond the limit"
t_is "$limited" "" "redis down: no RateLimit headers"
t_is "$(json_get "$T_TMP/body" userId)" "$U" "redis down: the right user"
http GET "$STACK_URL/user/me" -H "Authorization: Bearer 50000000-0000-4000-8000-00000000dead"
t_is "$HTTP_STATUS" 401 "redis down: unknown sessions still refused"
stack_psql -qc "UPDATE users SET ban_status = 'temporary' WHERE user_id = '$U'" >/dev/null
http GET "$STACK_URL/user/me" "${AUTH[@]}"
t_is "$HTTP_STATUS" 403 "redis down: a ban written meanwhile is seen at once (no stale cache)"
stack_psql -qc "UPDATE users SET ban_status = 'none' WHERE user_id = '$U'" >/dev/null
t_like "$(metric napalmsky_redis_errors_total)" '^[1-9][0-9]*$' "metrics: Redis errors counted"

# Redis back (empty): the cache fills and is used again, limits apply again.
stack_start_redis >/dev/null 2>&1 || t_bail "Redis did not restart"
fresh_window
hits0=$(metric 'napalmsky_cache_requests_total{cache="session",result="hit"}')
sleep 0.3	# a worker that saw Redis fail waits NS_KV_RETRY_MS before reconnecting
for _ in 1 2 3 4 5; do http GET "$STACK_URL/user/me" "${AUTH[@]}"; done	# = RL_API_MAX
hits1=$(metric 'napalmsky_cache_requests_total{cache="session",result="hit"}')
t_is "$HTTP_STATUS" 200 "redis back: answered"
t_like "$((hits1 - hits0))" '^[1-4]$' "redis back: the session cache is hit again ($((hits1 - hits0)) of 5)"
t_is "$(redis_cli exists "ns:c:s:$S")" 1 "redis back: the session is cached again"
t_like "$(http_header RateLimit-Limit)" "^$API_MAX\$" "redis back: limited again"

# --- /stats/live counts ns:online ---
redis_cli sadd ns:online "$U" a b >/dev/null
http GET "$STACK_URL/stats/live"
t_is "$HTTP_STATUS/$(json_get "$T_TMP/body" onlineUsers)" 200/3 "/stats/live: onlineUsers = members of the online set"
t_is "$(json_type "$T_TMP/body" timestamp)" number "/stats/live: timestamp"

# --- /metrics: format and allowlist ---
http GET "$STACK_URL/metrics"
t_is "$HTTP_STATUS" 200 "/metrics: allowed from 127.0.0.1 by default"
t_is "$(http_header Content-Type)" "text/plain; version=0.0.4; charset=utf-8" "/metrics: Prometheus text 0.0.4"
t_is "$(awk '$1 == "napalmsky_api_workers" { print $2 }' "$T_TMP/body")" 2 "/metrics: both workers counted"
t_is "$(awk '$1 == "napalmsky_online_users" { print $2 }' "$T_TMP/body")" 3 "/metrics: online users gauge"
bad=$(grep -vE '^(# (HELP|TYPE) napalmsky_[a-z_]+ .+|napalmsky_[a-z_]+(\{[^}]*\})? [0-9.e+-]+)$' "$T_TMP/body" | head -3)
t_is "$bad" "" "/metrics: every line is a comment or a napalmsky_ sample"

stack__stop_name api TERM
METRICS_ALLOW=10.0.0.0/8 stack_start_api 2 >>"$T_TMP/stack.log" 2>&1 || t_bail "API workers did not restart"
http GET "$STACK_URL/metrics"
t_is "$HTTP_STATUS $(http_body)" '404 {"error":"Not found"}' "/metrics: 404 when the address is not allowed"

# --- the api limiter can be switched off ---
stack__stop_name api TERM
RL_API_ENABLED=0 stack_start_api 2 >>"$T_TMP/stack.log" 2>&1 || t_bail "API workers did not restart"
codes='' limited=''
for _ in $(seq $((API_MAX * 2))); do
	http GET "$STACK_URL/user/me" "${AUTH[@]}"
	codes="$codes$HTTP_STATUS "
	limited="$limited$(http_header RateLimit-Limit)"
done
t_is "$codes$limited" "$(printf '200 %.0s' $(seq $((API_MAX * 2))))" "RL_API_ENABLED=0: no limit, no RateLimit headers"

t_done
