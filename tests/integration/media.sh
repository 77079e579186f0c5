#!/usr/bin/env bash
# POST /media/selfie and /media/video (contract §2.4) through nginx with 2 workers, against real
# PostgreSQL and Redis: every accepted type is stored, recorded on the user row and served back
# by nginx byte for byte with its type; the type comes from the content only; bad, truncated,
# oversize and file-less bodies are refused with the contract's errors and leave nothing in the
# media directory; a second upload removes the first file; the workers survive all of it.
. "${top_srcdir:-$(dirname "$0")/../..}/tests/integration/lib.sh"

SELFIE_LIMIT=65536	# small limits keep the oversize cases cheap
VIDEO_LIMIT=1048576
FRAMING=65536		# what the handler allows beyond the file (MEDIA_FRAMING_MAX)

stack_init || t_bail "stack_init failed"
export SELFIE_MAX=$SELFIE_LIMIT VIDEO_MAX=$VIDEO_LIMIT RL_API_MAX=100000
export PUBLIC_BASE_URL="http://$STACK_HOST:$NGINX_PORT"
stack_start_pg >"$T_TMP/stack.log" 2>&1 || t_bail "PostgreSQL did not start: $(tail -3 "$T_TMP/stack.log")"
stack_start_redis >>"$T_TMP/stack.log" 2>&1 || t_bail "Redis did not start"
stack_migrate >>"$T_TMP/stack.log" 2>&1 || t_bail "migrations failed: $(tail -5 "$T_TMP/stack.log")"
stack_start_api 2 >>"$T_TMP/stack.log" 2>&1 || t_bail "API workers did not start: $(tail -5 "$T_TMP/stack.log")"
stack_start_nginx >>"$T_TMP/stack.log" 2>&1 || t_bail "nginx did not start: $(tail -5 "$T_TMP/stack.log")"
workers_before=$(stack_pids api | sort | tr '\n' ' ')

# A user and a live session, written straight to PostgreSQL (this script tests media only).
USER_ID=$(stack_psql -qtAc "INSERT INTO users (user_id, name, gender)
	VALUES (gen_random_uuid(), 'Media Tester', 'female') RETURNING user_id" | head -1)
TOKEN=$(stack_psql -qtAc "INSERT INTO sessions (session_token, user_id, expires_at)
	VALUES (gen_random_uuid(), '$USER_ID', now() + interval '1 day') RETURNING session_token" | head -1)
if [ -z "$USER_ID" ] || [ -z "$TOKEN" ]; then t_bail "could not create the test user"; fi

# ---- fixtures: the smallest headers each format is recognised by, then filler ----------
FX=$T_TMP/fx
mkdir -p "$FX"
filler() { head -c "$1" /dev/urandom; }
{ printf '\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00'; filler 3000; } >"$FX/a.jpg"
{ printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00'; } >"$FX/a.png"
{ printf 'RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00'; filler 40; } >"$FX/a.webp"
# EBML header (size 31): version, read version, max id/size lengths, DocType "webm", versions.
{ printf '\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\xf2\x81\x04\x42\xf3\x81\x08'
  printf '\x42\x82\x84webm\x42\x87\x81\x02\x42\x85\x81\x02'; filler 5000; } >"$FX/a.webm"
{ printf '\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41'; filler 70000; } >"$FX/a.mp4"
{ printf '\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  '; filler 100; } >"$FX/a.mov"
printf 'just some text, not an image\n' >"$FX/text.jpg"
: >"$FX/empty.jpg"
# Over the selfie limit while the whole body stays under limit + framing (refused mid-stream),
# and over limit + framing (refused from Content-Length alone).
{ printf '\xff\xd8\xff\xe0'; filler $((SELFIE_LIMIT + 1000)); } >"$FX/big.jpg"
{ printf '\xff\xd8\xff\xe0'; filler $((SELFIE_LIMIT + FRAMING + 50000)); } >"$FX/huge.jpg"
{ printf '\xff\xd8\xff\xe0'; filler 900000; } >"$FX/bigimage.jpg"
{ printf '\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41'; filler "$VIDEO_LIMIT"; } >"$FX/big.mp4"
# Exactly at the limit: accepted.
{ printf '\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isommp41'; filler $((VIDEO_LIMIT - 24)); } >"$FX/max.mp4"
{ printf '\xff\xd8\xff\xe0'; filler $((SELFIE_LIMIT - 4)); } >"$FX/max.jpg"

# upload ROUTE [curl args...]: POST /media/ROUTE as the test user.
upload() {
	local route=$1; shift
	http POST "$STACK_URL/media/$route" -H "Authorization: Bearer $TOKEN" "$@"
}
err() { json_get "$T_TMP/body" error; }
media_files() { find "$MEDIA_DIR" -mindepth 1 -printf '%f\n' | sort | tr '\n' ' '; }
# same_bytes FILE DESC: the last response body is FILE, byte for byte.
same_bytes() {
	if cmp -s "$T_TMP/body" "$1"; then t_pass "$2"
	else t_fail "$2" "$(wc -c <"$T_TMP/body") vs $(wc -c <"$1") bytes"; fi
}
db_url() { stack_psql -qtAc "SELECT coalesce($1, '<null>') FROM users WHERE user_id = '$USER_ID'"; }

# check_stored ROUTE KEY FILE MIME EXT DESC: the 200 answer, the row, and nginx serving it.
check_stored() {
	local route=$1 key=$2 file=$3 mime=$4 ext=$5 desc=$6 url name
	t_is "$HTTP_STATUS" 200 "$desc: 200"
	url=$(json_get "$T_TMP/body" "$key")
	t_like "$url" "^$PUBLIC_BASE_URL/uploads/$route-[0-9a-f]{32}\\.$ext\$" "$desc: $key names a $ext file"
	t_like "$(http_header Cache-Control)" 'no-store' "$desc: Cache-Control no-store"
	name=${url##*/}
	# shellcheck disable=SC2086
	t_is "$(media_files)" "$(printf '%s\n' "$name" $OTHER_FILES | sort | tr '\n' ' ')" \
		"$desc: the media dir holds the new file and no other of its kind"
	t_is "$(db_url "${route}_url")" "$url" "$desc: users.${route}_url updated"
	http GET "$url"
	t_is "$HTTP_STATUS" 200 "$desc: nginx serves it"
	t_is "$(http_header Content-Type)|$(http_header X-Content-Type-Options)" "$mime|nosniff" \
		"$desc: served as $mime, with nosniff"
	same_bytes "$file" "$desc: served bytes equal the upload"
	LAST_URL=$url
}

# ---- authentication ----------------------------------------------------------------------
http POST "$STACK_URL/media/selfie" -F "selfie=@$FX/a.jpg;type=image/jpeg"
t_is "$HTTP_STATUS/$(err)" "401/Authorization required" "no token: 401 Authorization required"
http POST "$STACK_URL/media/video" -H "Authorization: Bearer 00000000-0000-4000-8000-000000000000" \
	-F "video=@$FX/a.webm;type=video/webm"
t_is "$HTTP_STATUS/$(err)" "401/Invalid or expired session" "unknown token: 401 Invalid or expired session"
t_is "$(media_files)" "" "refused uploads left no file"

# GET /user/me through both workers fills the users cache, so a stale entry would show below.
for _ in 1 2 3 4; do http GET "$STACK_URL/user/me" -H "Authorization: Bearer $TOKEN"; done
user_me=$HTTP_STATUS

# ---- every accepted type, each replacing the previous file -------------------------------
OTHER_FILES=	# files of the other kind expected beside the new one
upload selfie -F "selfie=@$FX/a.jpg;type=image/jpeg"
check_stored selfie selfieUrl "$FX/a.jpg" image/jpeg jpg "selfie JPEG"
first_url=$LAST_URL
upload selfie -F "selfie=@$FX/a.png;type=image/png"
check_stored selfie selfieUrl "$FX/a.png" image/png png "selfie PNG (replaces the JPEG)"
http GET "$first_url"
t_is "$HTTP_STATUS" 404 "the replaced JPEG is gone (404 through nginx)"
upload selfie -F "selfie=@$FX/a.webp;type=image/webp"
check_stored selfie selfieUrl "$FX/a.webp" image/webp webp "selfie WebP"
selfie_name=${LAST_URL##*/}

# /user/me from any worker shows the new URL at once (cache invalidated on write).
if [ "$user_me" = 200 ]; then
	stale=
	for _ in 1 2 3 4; do
		http GET "$STACK_URL/user/me" -H "Authorization: Bearer $TOKEN"
		[ "$(json_get "$T_TMP/body" selfieUrl)" = "$LAST_URL" ] || stale="$stale $(json_get "$T_TMP/body" selfieUrl)"
	done
	t_is "$stale" "" "GET /user/me on every worker shows the new selfieUrl"
else
	t_skip 1 "GET /user/me not available ($user_me)"
fi

# Other parts are ignored; the file part's declared type and name are ignored too.
upload selfie -F "note=hello" -F "selfie=@$FX/a.png;type=image/jpeg;filename=photo.jpg" -F "extra=1"
check_stored selfie selfieUrl "$FX/a.png" image/png png "PNG declared as image/jpeg x.jpg, among other fields"
upload selfie -F "selfie=@$FX/max.jpg;type=image/jpeg"
check_stored selfie selfieUrl "$FX/max.jpg" image/jpeg jpg "selfie exactly at the limit"
selfie_name=${LAST_URL##*/}

upload video -F "video=@$FX/a.webm;type=video/webm"
t_is "$HTTP_STATUS" 200 "video WebM: 200"
video_url=$(json_get "$T_TMP/body" videoUrl)
t_like "$video_url" "^$PUBLIC_BASE_URL/uploads/video-[0-9a-f]{32}\\.webm\$" "video WebM: videoUrl"
t_is "$(media_files)" "$selfie_name ${video_url##*/} " "video WebM: stored beside the selfie"
t_is "$(db_url video_url)" "$video_url" "video WebM: users.video_url updated"
t_is "$(db_url selfie_url)" "$LAST_URL" "video WebM: selfie_url untouched"
http GET "$video_url"
t_is "$HTTP_STATUS/$(http_header Content-Type)" "200/video/webm" "video WebM: served as video/webm"
same_bytes "$FX/a.webm" "video WebM: bytes equal"
upload video -F "video=@$FX/max.mp4;type=video/mp4"
t_is "$HTTP_STATUS" 200 "video exactly at the limit: 200"
upload video -F "video=@$FX/a.mp4;type=application/octet-stream"
t_is "$HTTP_STATUS" 200 "video MP4: 200"
url=$(json_get "$T_TMP/body" videoUrl)
t_like "$url" '\.mp4$' "video MP4: .mp4"
http GET "$url"
t_is "$HTTP_STATUS/$(http_header Content-Type)" "200/video/mp4" "video MP4: served as video/mp4"
same_bytes "$FX/a.mp4" "video MP4: bytes equal"
http GET "$video_url"
t_is "$HTTP_STATUS" 404 "video MP4: the WebM it replaced is gone"
upload video -F "video=@$FX/a.mov;type=video/mp4"
t_is "$HTTP_STATUS" 200 "video QuickTime: 200"
video_url=$(json_get "$T_TMP/body" videoUrl)
t_like "$video_url" '\.mov$' "video QuickTime: .mov"
http GET "$video_url"
t_is "$HTTP_STATUS/$(http_header Content-Type)" "200/video/quicktime" "video QuickTime: served as video/quicktime"
same_bytes "$FX/a.mov" "video QuickTime: bytes equal"
kept="$selfie_name ${video_url##*/} "
t_is "$(media_files)" "$kept" "one selfie and one video on disk"

# ---- refusals: each leaves the media dir and the row as they were ------------------------
refuse() {	# DESC WANT_STATUS WANT_ERROR ROUTE curl args...
	local desc=$1 want=$2 werr=$3 route=$4; shift 4
	upload "$route" "$@"
	t_is "$HTTP_STATUS/$(err)" "$want/$werr" "$desc: $want $werr"
	t_is "$(media_files)" "$kept" "$desc: nothing left in the media dir"
}
refuse "text file named x.jpg" 415 "Unsupported file type" selfie -F "selfie=@$FX/text.jpg;type=image/jpeg"
refuse "empty file" 415 "Unsupported file type" selfie -F "selfie=@$FX/empty.jpg;type=image/jpeg"
refuse "video sent as selfie" 415 "Unsupported file type" selfie -F "selfie=@$FX/a.mp4;type=image/jpeg"
refuse "image sent as video" 415 "Unsupported file type" video -F "video=@$FX/a.png;type=video/mp4"
refuse "selfie over the limit" 413 "File too large" selfie -F "selfie=@$FX/big.jpg;type=image/jpeg"
refuse "body over limit + framing" 413 "File too large" selfie -F "selfie=@$FX/huge.jpg;type=image/jpeg"
refuse "no file part" 400 "No file uploaded" selfie -F "note=hello"
refuse "file under another name" 400 "No file uploaded" selfie -F "photo=@$FX/a.jpg;type=image/jpeg"
refuse "selfie as a text field" 400 "No file uploaded" selfie -F "selfie=not a file"
refuse "JSON body" 400 "No file uploaded" selfie -H 'Content-Type: application/json' --data-binary '{"selfie":"x"}'
refuse "multipart without boundary" 400 "Invalid multipart body" selfie \
	-H 'Content-Type: multipart/form-data' --data-binary $'--x\r\n'

B=napalmskytestboundary
{ printf -- '--%s\r\nContent-Disposition: form-data; name="selfie"; filename="a.jpg"\r\n' "$B"
  printf 'Content-Type: image/jpeg\r\n\r\n'; cat "$FX/a.jpg"; printf '\r\n--%s--\r\n' "$B"; } >"$T_TMP/ok.body"
head -c -8 "$T_TMP/ok.body" >"$T_TMP/truncated.body"	# the final boundary cut short
refuse "missing final boundary" 400 "Invalid multipart body" selfie \
	-H "Content-Type: multipart/form-data; boundary=$B" --data-binary "@$T_TMP/truncated.body"
{ printf -- '--%s\r\nContent-Disposition: form-data; name="selfie"; filename="a.jpg"\r\n' "$B"
  printf 'Broken header line\r\n\r\n'; cat "$FX/a.jpg"; printf '\r\n--%s--\r\n' "$B"; } >"$T_TMP/bad.body"
refuse "malformed part header" 400 "Invalid multipart body" selfie \
	-H "Content-Type: multipart/form-data; boundary=$B" --data-binary "@$T_TMP/bad.body"
# The hand-built body itself is fine: the same bytes with the final boundary are accepted.
upload selfie -H "Content-Type: multipart/form-data; boundary=$B" --data-binary "@$T_TMP/ok.body"
OTHER_FILES=${video_url##*/}
check_stored selfie selfieUrl "$FX/a.jpg" image/jpeg jpg "hand-built multipart body"
kept="${LAST_URL##*/} ${video_url##*/} "
refuse "JPEG sent as video" 415 "Unsupported file type" video -F "video=@$FX/a.jpg;type=video/webm"
# Refused from the first bytes or mid-stream, the rest of a large body is read and dropped, so
# nginx delivers the answer (no 502 from an unread request).
refuse "900 KB JPEG sent as video" 415 "Unsupported file type" video -F "video=@$FX/bigimage.jpg;type=video/mp4"
refuse "video over the limit" 413 "File too large" video -F "video=@$FX/big.mp4;type=video/mp4"
t_is "$(db_url video_url)" "$video_url" "refusals left users.video_url alone"

# ---- the row cannot be written: the new file is removed, the old one kept ----------------
# A write the database refuses answers the route's own 500 string (contract §1.4, §2.4).
stack_psql -q >/dev/null 2>&1 <<'EOF'
CREATE FUNCTION media_test_refuse() RETURNS trigger LANGUAGE plpgsql AS
	$$BEGIN RAISE EXCEPTION 'refused by the media test'; END$$;
CREATE TRIGGER media_test_refuse BEFORE UPDATE OF selfie_url, video_url ON users
	FOR EACH ROW WHEN (NEW.selfie_url LIKE '%.webp' OR NEW.video_url LIKE '%.webm')
	EXECUTE FUNCTION media_test_refuse();
EOF
refuse "UPDATE fails" 500 "Failed to upload image" selfie -F "selfie=@$FX/a.webp;type=image/webp"
t_is "$(db_url selfie_url)" "$LAST_URL" "UPDATE fails: selfie_url unchanged"
refuse "UPDATE fails (video)" 500 "Failed to upload video" video -F "video=@$FX/a.webm;type=video/webm"
t_is "$(db_url video_url)" "$video_url" "UPDATE fails (video): video_url unchanged"
stack_psql -qc 'DROP TRIGGER media_test_refuse ON users' >/dev/null
# The file cannot be created: the same strings. Root ignores directory permissions.
if [ "$(id -u)" != 0 ]; then
	media_mode=$(stat -c %a "$MEDIA_DIR")
	chmod 0555 "$MEDIA_DIR"
	refuse "media dir not writable" 500 "Failed to upload image" selfie -F "selfie=@$FX/a.png;type=image/png"
	refuse "media dir not writable (video)" 500 "Failed to upload video" video \
		-F "video=@$FX/a.mov;type=video/mp4"
	chmod "$media_mode" "$MEDIA_DIR"
else
	t_skip 4 "running as root: directory permissions do not apply"
fi
stack_stop_pg
refuse "PostgreSQL down" 503 "Service unavailable" selfie -F "selfie=@$FX/a.png;type=image/png"
stack_start_pg >/dev/null 2>&1 || t_bail "PostgreSQL did not restart"
poll_status 15 GET "$STACK_URL/health" 200
upload selfie -F "selfie=@$FX/a.png;type=image/png"
check_stored selfie selfieUrl "$FX/a.png" image/png png "after PostgreSQL is back"

# ---- bodies over nginx's client_max_body_size (55m) --------------------------------------
# nginx refuses them from the Content-Length alone, before a worker sees anything, and must
# still answer the contract's JSON 413, not its HTML page. No body is sent: cheap.
over_nginx() {	# PATH WANT_ERROR
	http POST "$STACK_URL$1" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
		-H 'Content-Length: 60000000' --data-binary ''
	t_is "$HTTP_STATUS/$(err)" "413/$2" "over client_max_body_size, $1: 413 $2"
	t_is "$(http_header Content-Type)/$(http_header X-Content-Type-Options)" \
		"application/json; charset=utf-8/nosniff" "over client_max_body_size, $1: JSON, security headers"
}
over_nginx /media/video "File too large"
over_nginx /media/selfie/ "File too large"
over_nginx /auth/guest "Request body too large"
http GET "$STACK_URL/health"
t_is "$HTTP_STATUS" 200 "over client_max_body_size: nginx still serves (/health 200)"

# ---- the workers survived every bad request ----------------------------------------------
t_is "$(stack_pids api | sort | tr '\n' ' ')" "$workers_before" "the same two workers served throughout"
all=
for _ in 1 2 3 4 5 6; do
	http GET "$STACK_URL/health"; all="$all$HTTP_STATUS "
done
t_is "$all" "200 200 200 200 200 200 " "both workers still answer /health"
t_is "$(grep -c ' 502 ' "$STACK_DIR/logs/nginx-access.log")" 0 "nginx logged no 502"
t_done
