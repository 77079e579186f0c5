#!/usr/bin/env bash
# The shipped Apache site (etc/apache/napalmsky.conf.sample) in front of real workers and
# gateways: the sample's TLS VirtualHost, with its TLS lines dropped and this stack's ports
# and paths put in, served by a real apache2 on loopback. REST through mod_proxy_fcgi, the
# security headers, uploads served from disk, and a Socket.IO session through the balancer
# and mod_proxy_wstunnel.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

APACHE=$(PATH=$PATH:/usr/sbin command -v apache2 || true)
MODS=/usr/lib/apache2/modules
SAMPLE=$top_builddir/etc/apache/napalmsky.conf.sample
[ -n "$APACHE" ] && [ -d "$MODS" ] || { echo "1..0 # SKIP apache2 not installed (Debian: apache2-bin)"; exit 0; }
[ -f "$SAMPLE" ] || { echo "1..0 # SKIP $SAMPLE not built (make builds it)"; exit 0; }

t_start_stack 2 2
read -r GW1 GW2 _ <<<"$GATEWAY_PORTS"
AD=$STACK_DIR/apache
AP_PORT=$(stack__free_port)
AP=http://127.0.0.1:$AP_PORT
mkdir -p "$AD"
chmod 0755 "$AD" "$STACK_DIR/media"	# apache's children run as www-data under root

# The site: the body of <VirtualHost *:443>, as an operator would deploy it behind TLS.
sed -n '/^<VirtualHost \*:443>/,/^<\/VirtualHost>/p' "$SAMPLE" | sed -e '1d;$d' -e '/SSL/d' \
	-e '/ServerName/d' -e "s|\${APACHE_LOG_DIR}|$AD|g" \
	-e "s|/var/lib/napalmsky/media|$STACK_DIR/media|g" \
	-e "s|ws://127.0.0.1:3001|ws://127.0.0.1:$GW1|" -e "s|ws://127.0.0.1:3002|ws://127.0.0.1:$GW2|" \
	-e "s|unix:/run/napalmsky/api.sock|unix:$API_SOCKET|" >"$AD/site.conf"
grep -q "ProxyPass / \"unix:$API_SOCKET" "$AD/site.conf" || t_bail "the sample's FastCGI ProxyPass was not found"
{
	echo "ServerRoot $AD"
	echo "ServerName 127.0.0.1"
	echo "Listen 127.0.0.1:$AP_PORT"
	echo "PidFile $AD/httpd.pid"
	echo "DefaultRuntimeDir $AD"
	echo "Mutex file:$AD default"
	echo "ErrorLog $AD/error.log"
	echo "LogLevel warn"
	echo "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %O\" combined"
	for m in mpm_event authz_core alias mime headers rewrite filter deflate slotmem_shm \
		proxy proxy_fcgi proxy_http proxy_wstunnel proxy_balancer lbmethod_byrequests setenvif; do
		echo "LoadModule ${m}_module $MODS/mod_$m.so"
	done
	[ -f /etc/mime.types ] && echo "TypesConfig /etc/mime.types"
	echo "DocumentRoot $AD"
	stack__is_root && printf 'User www-data\nGroup www-data\n'
	cat "$AD/site.conf"
} >"$AD/httpd.conf"
"$APACHE" -t -f "$AD/httpd.conf" >"$AD/configtest.log" 2>&1 ||
	t_bail "apache2 -t refused the site: $(tail -5 "$AD/configtest.log")"
"$APACHE" -f "$AD/httpd.conf" -DFOREGROUND </dev/null >>"$AD/error.log" 2>&1 &
stack__record apache $! "$APACHE"
ap_up() { [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$AP/health")" = 200 ]; }
stack_wait_for 20 ap_up || t_bail "apache did not answer: $(tail -5 "$AD/error.log")"

# REST through mod_proxy_fcgi
http GET "$AP/health"
t_is "$HTTP_STATUS $(json_get "$T_TMP/body" status)" "200 ok" "apache: /health through mod_proxy_fcgi"
t_is "$(http_header X-Content-Type-Options)/$(http_header X-Frame-Options)" "nosniff/DENY" \
	"apache: the site's security headers"
http POST "$AP/auth/guest" -H 'Content-Type: application/json' -d '{"name":"Apache Test","gender":"female"}'
t_is "$HTTP_STATUS" 200 "apache: POST /auth/guest"
TOK=$(json_get "$T_TMP/body" sessionToken)
http GET "$AP/user/me" -H "Authorization: Bearer $TOK"
t_is "$HTTP_STATUS $(json_get "$T_TMP/body" name)" "200 Apache Test" "apache: GET /user/me with the new session"
http GET "$AP/room/queue?limit=0" -H "Authorization: Bearer $TOK"
t_is "$HTTP_STATUS" 402 "apache: an unpaid user's queue is 402, from the worker"
http GET "$AP/no/such/route"
t_is "$HTTP_STATUS $(http_header Content-Type | cut -d';' -f1)" "404 application/json" \
	"apache: an unknown route is the worker's JSON 404"
http POST "$AP/auth/guest" -H 'Content-Type: application/json' -d '{"name":'
t_is "$HTTP_STATUS $(json_get "$T_TMP/body" error)" "400 Invalid JSON" "apache: malformed JSON is the worker's 400"
# A body over the site's 55 MiB cap, refused by Apache from its Content-Length alone (none
# is sent; without the cap Apache would wait for it): the contract's JSON 413 with each
# route's string, not Apache's HTML page.
for r in "/media/video:File too large" "/auth/guest:Request body too large"; do
	http POST "$AP${r%%:*}" -H "Authorization: Bearer $TOK" -H 'Content-Type: application/json' \
		-H 'Content-Length: 60000000' --data-binary ''
	t_is "$HTTP_STATUS/$(http_header Content-Type)/$(json_get "$T_TMP/body" error)" \
		"413/application/json; charset=utf-8/${r#*:}" "apache: body over 55 MiB, ${r%%:*}: JSON 413"
done
http GET "$AP/health"
t_is "$HTTP_STATUS" 200 "apache: still serving after the 413s"

# uploads straight from the media directory, only names the API writes
printf 'selfie bytes' >"$STACK_DIR/media/selfie-apache.jpg"
printf 'secret' >"$STACK_DIR/media/notes.txt"
chmod 0644 "$STACK_DIR/media/selfie-apache.jpg" "$STACK_DIR/media/notes.txt"
http GET "$AP/uploads/selfie-apache.jpg"
t_is "$HTTP_STATUS $(cat "$T_TMP/body")" "200 selfie bytes" "apache: an uploaded file is served from MEDIA_DIR"
http GET "$AP/uploads/notes.txt"
[ "$HTTP_STATUS" != 200 ] && t_pass "apache: a name the API never writes is not served ($HTTP_STATUS)" ||
	t_fail "apache: a name the API never writes is not served" "got 200"
http POST "$AP/uploads/selfie-apache.jpg" -d x
[ "$HTTP_STATUS" != 200 ] && t_pass "apache: uploads are GET/HEAD only ($HTTP_STATUS)" ||
	t_fail "apache: uploads are GET/HEAD only" "got 200"

# Socket.IO through the balancer and mod_proxy_wstunnel
if t_node_ready; then
	t_node_check "apache" "$top_srcdir/tests/integration/node/proxy_check.js" "$AP" "$TOK"
else
	t_skip 2 "node modules not installed"
fi
t_done
