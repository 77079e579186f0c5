#!/usr/bin/env bash
# The service routes through nginx: GET / shape, unknown path 404 JSON, wrong method 405 JSON
# with Allow, the trailing-slash and query-string rules of routing.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

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
t_done
