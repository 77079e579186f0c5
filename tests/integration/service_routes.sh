#!/usr/bin/env bash
# The service routes through nginx: GET / shape, unknown path 404 JSON, wrong method 405 JSON
# with Allow, the trailing-slash and query-string rules of routing; CORS (contract §1.9) with a
# configured list of two origins; a JSON body in another charset than UTF-8 (415).
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

ORIGIN_A=http://localhost:3000 ORIGIN_B=https://app.example.test
export ALLOWED_ORIGINS="$ORIGIN_A,$ORIGIN_B"
t_start_stack 2
B=$T_TMP/body

http GET "$STACK_URL/"
t_is "$HTTP_STATUS" 200 "GET / is 200"
t_like "$(http_header Content-Type)" '^application/json; *charset=utf-8' "GET / content type"
t_is "$(json_get "$B" name)" "Napalm Sky API" "GET / name"
t_is "$(json_get "$B" version)" "1.0.0" "GET / version"
t_is "$(json_get "$B" status)" running "GET / status"
t_is "$(json_type "$B" timestamp)" number "GET / timestamp is a number"
t_is "$(json_type "$B" environment)" string "GET / environment is a string"
t_is "$(json_get "$B" endpoints)" \
	'{"health":"/health","auth":"/auth/*","user":"/user/*","matchmaking":"/room/queue","payment":"/payment/*","admin":"/admin/*"}' \
	"GET / endpoints"
t_is "$(json_get "$B" databases.postgresql)/$(json_get "$B" databases.redis)" connected/connected \
	"GET / databases connected"
t_is "$(json_get "$B" message)" "Napalm Sky Backend API - For frontend integration only" "GET / message"

http GET "$STACK_URL/no/such/route"
t_is "$HTTP_STATUS" 404 "unknown path is 404"
t_like "$(http_header Content-Type)" '^application/json' "404 is JSON"
t_is "$(json_get "$B" error)" "Not found" "404 body"

http DELETE "$STACK_URL/health"
t_is "$HTTP_STATUS" 405 "DELETE /health is 405"
t_is "$(json_get "$B" error)" "Method not allowed" "405 body"
t_like "$(http_header Allow)" '(^|[ ,])GET([ ,]|$)' "405 Allow header lists GET"

http POST "$STACK_URL/" -H 'Content-Type: application/json' --data '{}'
t_is "$HTTP_STATUS" 405 "POST / is 405"
t_is "$(json_get "$B" error)" "Method not allowed" "POST / body"

http GET "$STACK_URL/health/"
t_is "$HTTP_STATUS" 200 "one trailing slash is tolerated"
http GET "$STACK_URL/health?x=1&y=%00"
t_is "$HTTP_STATUS" 200 "query string is ignored by routing"

# --- CORS (§1.9) ---
# every_header NAME: all values of header NAME in the last response, joined by ", ".
every_header() {
	tr -d '\r' <"$T_TMP/headers" | awk -v n="$(printf '%s' "$1" | tr 'A-Z' 'a-z')" \
		'{ i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v } }' |
		paste -sd, - | sed 's/,/, /g'
}
NOT_ALLOWED='{"error":"Origin not allowed"}'
for o in https://evil.example "$ORIGIN_A.evil.example" http://localhost:3001 null; do
	http GET "$STACK_URL/health" -H "Origin: $o"
	t_is "$HTTP_STATUS $(http_body)" "403 $NOT_ALLOWED" "CORS: Origin '$o' → 403 not allowed"
done
t_like "$(http_header Content-Type)" '^application/json' "CORS: the refusal is JSON"
t_is "$(http_header Access-Control-Allow-Origin)" "" "CORS: no Access-Control-Allow-Origin on the refusal"
http GET "$STACK_URL/" -H "Origin: $ORIGIN_A"
t_is "$HTTP_STATUS $(json_get "$B" name)" "200 Napalm Sky API" "CORS: allowed Origin (first of the list) → answered"
t_is "$(http_header Access-Control-Allow-Origin)" "$ORIGIN_A" "CORS: Access-Control-Allow-Origin echoes the origin"
t_is "$(http_header Access-Control-Allow-Credentials)" true "CORS: Access-Control-Allow-Credentials: true"
t_like "$(every_header Vary)" '(^|[ ,])Origin(,|$)' "CORS: Vary names Origin"
http GET "$STACK_URL/no/such/route" -H "Origin: $ORIGIN_B"
t_is "$HTTP_STATUS $(http_header Access-Control-Allow-Origin) $(http_header Access-Control-Allow-Credentials)" \
	"404 $ORIGIN_B true" "CORS: second origin of the list allowed, headers on an error answer too"
http GET "$STACK_URL/health"
t_is "$HTTP_STATUS" 200 "CORS: no Origin → allowed"
: >"$B"
http OPTIONS "$STACK_URL/auth/guest" -H "Origin: $ORIGIN_A" -H 'Access-Control-Request-Method: POST' \
	-H 'Access-Control-Request-Headers: content-type,authorization'
t_is "$HTTP_STATUS/$(wc -c <"$B" | tr -d ' ')" 204/0 "CORS preflight: 204 without a body"
t_is "$(http_header Access-Control-Allow-Methods)" GET,HEAD,PUT,PATCH,POST,DELETE "CORS preflight: Access-Control-Allow-Methods"
t_is "$(http_header Access-Control-Allow-Headers)" content-type,authorization \
	"CORS preflight: Access-Control-Allow-Headers echoes the request"
t_is "$(http_header Access-Control-Allow-Origin)/$(http_header Access-Control-Allow-Credentials)" "$ORIGIN_A/true" \
	"CORS preflight: Allow-Origin and Allow-Credentials"
t_like "$(every_header Vary)" '(^|[ ,])Origin(,|$)' "CORS preflight: Vary names Origin"
http OPTIONS "$STACK_URL/auth/guest" -H 'Origin: https://evil.example' -H 'Access-Control-Request-Method: POST'
t_is "$HTTP_STATUS $(http_body)" "403 $NOT_ALLOWED" "CORS preflight: disallowed Origin → 403 not allowed"
t_is "$(http_header Access-Control-Allow-Methods)" "" "CORS preflight: no Allow-Methods on the refusal"
# The Stripe webhook ignores Origin: the same answer with a disallowed Origin as without one.
http POST "$STACK_URL/payment/webhook" -H 'Content-Type: application/json' --data '{}'
plain="$HTTP_STATUS $(http_body)"
http POST "$STACK_URL/payment/webhook" -H 'Content-Type: application/json' --data '{}' -H 'Origin: https://evil.example'
t_is "$HTTP_STATUS $(http_body)" "$plain" "CORS: the webhook ignores a disallowed Origin"

# --- JSON bodies must be UTF-8: another charset is 415 (the auth limiter allows 6 failures) ---
LOGIN='{"email":"nobody@example.com","password":"whatever1"}'
for ct in 'application/json; charset=latin1' 'application/json;charset="ISO-8859-1"'; do
	http POST "$STACK_URL/auth/login" -H "Content-Type: $ct" --data "$LOGIN"
	t_is "$HTTP_STATUS $(http_body)" '415 {"error":"Unsupported media type"}' "JSON body with '$ct' → 415"
done
http POST "$STACK_URL/auth/login" -H 'Content-Type: application/json; charset=UTF-8' --data "$LOGIN"
t_is "$HTTP_STATUS $(json_get "$B" error)" "401 Invalid credentials - No account found with this email" \
	"JSON body with charset=UTF-8 is read (the handler's 401)"
t_done
