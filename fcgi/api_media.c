/* api_media: POST /media/selfie and /media/video (contract §2.4). The multipart body is
 * streamed into a temporary file in the media directory (never held in memory), typed by its
 * first bytes, renamed to its final random name, and only then recorded on the user row; any
 * failure removes what was written.
 * Choices the contract leaves open:
 *  - a Content-Type that is not multipart/form-data carries no file: 400 'No file uploaded', as
 *    the original's multipart middleware skipped such bodies; multipart/form-data without a
 *    usable boundary is 400 'Invalid multipart body';
 *  - the file is the first part named selfie|video that has a filename (one without is a text
 *    field); other parts, and later ones of that name, are read and ignored;
 *  - every 413 of these routes says 'File too large', also when the Content-Length alone shows
 *    the body cannot fit (the configured limit, not a compile-time one, decides);
 *  - every 500 says the route's own string (§1.4), whatever failed: the file, the directory,
 *    memory or the UPDATE; PostgreSQL unreachable or slow is 503 'Service unavailable'. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "routes.h"
#include "app.h"
#include "cache.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "multipart.h"
#include "nsconfig.h"
#include "rand.h"
#include "respond.h"
#include "sniff.h"

#define MEDIA_CHUNK 65536		/* request bytes read per call */
#define MEDIA_FRAMING_MAX 65536		/* body bytes allowed beyond the file: boundaries, part
					 * headers, small text fields */
#define MEDIA_PATH_MAX 4096		/* media_dir + "/" + a name */
#define MEDIA_NAME_MAX 64		/* "selfie-<32 hex>.webp", ".upload-<32 hex>.tmp" */
#define MEDIA_RAND_BYTES 16		/* 32 hex characters of CSPRNG output per name */
#define MEDIA_TMP_TRIES 4		/* fresh temporary names tried on EEXIST */
#define MEDIA_URL_MAX API_URL_MAX	/* what the users cache keeps of a URL */
#define MEDIA_TMP_PREFIX ".upload-"	/* a leading dot: nginx never serves such names */

struct media_kind {
	const char *field;	/* part name, and prefix of the stored file name */
	enum sniff_category cat;
	int video;		/* limit: video_max, else selfie_max */
	const char *json_key;
	const char *fail_msg;	/* 500 when the file cannot be written */
	const char *sql;	/* set the URL ($2) of user $1, returning the previous one */
};

/* The row lock in the CTE makes concurrent uploads of one user each see the URL the other
 * replaced, so every superseded file is removed exactly once. */
static const struct media_kind kind_selfie = {
	"selfie", SNIFF_CAT_IMAGE, 0, "selfieUrl", "Failed to upload image",
	"WITH old AS (SELECT selfie_url FROM users WHERE user_id = $1 FOR UPDATE) "
	"UPDATE users u SET selfie_url = $2 FROM old WHERE u.user_id = $1 "
	"RETURNING old.selfie_url"
};
static const struct media_kind kind_video = {
	"video", SNIFF_CAT_VIDEO, 1, "videoUrl", "Failed to upload video",
	"WITH old AS (SELECT video_url FROM users WHERE user_id = $1 FOR UPDATE) "
	"UPDATE users u SET video_url = $2 FROM old WHERE u.user_id = $1 "
	"RETURNING old.video_url"
};

/* Why a callback stopped the parse. */
enum media_fail { MF_NONE = 0, MF_TOO_LARGE, MF_TYPE, MF_IO };

struct upload {
	const struct media_kind *kind;
	const char *dir;
	size_t file_max;
	int fd;				/* the temporary file, -1 when none is open */
	int started;			/* the file part was found (later ones are ignored) */
	int in_file;			/* the current part is the file */
	int have_file;			/* the file part ended */
	char tmp_path[MEDIA_PATH_MAX];	/* "" when nothing is on disk */
	size_t file_len;
	unsigned char head[SNIFF_HEAD_MAX];
	size_t head_len;
	int typed;			/* type decided */
	enum sniff_type type;
	enum media_fail fail;
};

static char media_buf[MEDIA_CHUNK];	/* one request per process at a time */

static int
random_hex(char *out, size_t outlen)
{
	unsigned char r[MEDIA_RAND_BYTES];
	size_t i;

	if (outlen < 2 * sizeof(r) + 1 || ns_rand_bytes(r, sizeof(r)) != NS_OK)
		return -1;
	for (i = 0; i < sizeof(r); i++)
		snprintf(out + 2 * i, 3, "%02x", r[i]);
	return 0;
}

/* dir + "/" + name into out; -1 when it does not fit. */
static int
join_path(char *out, size_t outlen, const char *dir, const char *name)
{
	int n = snprintf(out, outlen, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static int
write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t w = write(fd, buf, len);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		len -= (size_t)w;
	}
	return 0;
}

static int
open_temp(struct upload *u)
{
	char name[MEDIA_NAME_MAX], hex[2 * MEDIA_RAND_BYTES + 1];
	int i;

	for (i = 0; i < MEDIA_TMP_TRIES; i++) {
		if (random_hex(hex, sizeof(hex)) < 0)
			return -1;
		snprintf(name, sizeof(name), MEDIA_TMP_PREFIX "%s.tmp", hex);
		if (join_path(u->tmp_path, sizeof(u->tmp_path), u->dir, name) < 0) {
			ns_log_err("media: MEDIA_DIR path too long");
			u->tmp_path[0] = '\0';
			return -1;
		}
		u->fd = open(u->tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
		if (u->fd >= 0) {
			/* readable by the web server whatever the worker's umask */
			if (fchmod(u->fd, 0644) < 0)
				ns_log_warn("media: fchmod %s: %s", u->tmp_path, strerror(errno));
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	ns_log_err("media: cannot create a file in %s: %s", u->dir, strerror(errno));
	u->tmp_path[0] = '\0';
	return -1;
}

/* Nothing of a failed upload stays on disk. */
static void
discard_temp(struct upload *u)
{
	if (u->fd >= 0)
		close(u->fd);
	u->fd = -1;
	if (u->tmp_path[0] && unlink(u->tmp_path) < 0 && errno != ENOENT)
		ns_log_err("media: unlink %s: %s", u->tmp_path, strerror(errno));
	u->tmp_path[0] = '\0';
}

static int
check_type(struct upload *u)
{
	u->type = sniff_detect(u->head, u->head_len);
	u->typed = 1;
	if (sniff_category(u->type) != u->kind->cat) {
		u->fail = MF_TYPE;
		return -1;
	}
	return 0;
}

static int
on_part_begin(void *ctx, const struct mp_part *part)
{
	struct upload *u = ctx;

	u->in_file = 0;
	if (u->started || !part->has_filename || strcmp(part->name, u->kind->field) != 0)
		return 0;
	u->started = 1;
	if (open_temp(u) < 0) {
		u->fail = MF_IO;
		return -1;
	}
	u->in_file = 1;
	return 0;
}

static int
on_part_data(void *ctx, const char *data, size_t len)
{
	struct upload *u = ctx;

	if (!u->in_file)
		return 0;
	if (len > u->file_max - u->file_len) {
		u->fail = MF_TOO_LARGE;
		return -1;
	}
	if (u->head_len < SNIFF_HEAD_MAX) {
		size_t n = SNIFF_HEAD_MAX - u->head_len;

		if (n > len)
			n = len;
		memcpy(u->head + u->head_len, data, n);
		u->head_len += n;
		/* refuse a wrong type as soon as its first bytes are in */
		if (u->head_len == SNIFF_HEAD_MAX && check_type(u) < 0)
			return -1;
	}
	if (write_all(u->fd, data, len) < 0) {
		ns_log_err("media: write %s: %s", u->tmp_path, strerror(errno));
		u->fail = MF_IO;
		return -1;
	}
	u->file_len += len;
	return 0;
}

static int
on_part_end(void *ctx)
{
	struct upload *u = ctx;

	if (!u->in_file)
		return 0;
	u->in_file = 0;
	u->have_file = 1;
	return u->typed ? 0 : check_type(u);	/* a file shorter than SNIFF_HEAD_MAX */
}

/* Read and drop the rest of the body, so the web server's write of it never fails and turns
 * our answer into a 502. Content-Length is bounded by the router. */
static void
drain(struct api_req *req)
{
	while (api_req_read(req, media_buf, sizeof(media_buf)) > 0)
		;
}

static enum mp_err
stream(struct api_req *req, struct mp_parser *p)
{
	for (;;) {
		ssize_t r = api_req_read(req, media_buf, sizeof(media_buf));
		enum mp_err e;

		if (r < 0)
			return MP_E_TRUNCATED;	/* the client went away */
		if (r == 0)
			return mp_finish(p);
		if ((e = mp_feed(p, media_buf, (size_t)r)) != MP_OK)
			return e;
	}
}

static enum ns_err
answer(struct api_req *req, enum ns_err e, const char *msg)
{
	api_respond_error(req, e, msg);
	return e;
}

/* 1 when name is one this route could have stored: "<field>-<32 hex>.<ext of its kind>". */
static int
stored_name_ok(const struct media_kind *k, const char *name)
{
	size_t fl = strlen(k->field), i;
	int t;

	if (strncmp(name, k->field, fl) != 0 || name[fl] != '-')
		return 0;
	name += fl + 1;
	for (i = 0; i < 2 * MEDIA_RAND_BYTES; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return 0;
	if (name[i] != '.')
		return 0;
	name += i + 1;
	for (t = SNIFF_UNKNOWN + 1; t < SNIFF__COUNT; t++)
		if (sniff_category((enum sniff_type)t) == k->cat &&
		    strcmp(name, sniff_ext((enum sniff_type)t)) == 0)
			return 1;
	return 0;
}

/* Delete the file a replaced URL named, only when it is one of ours: our URL prefix and a
 * name we generate (so no path can lead out of the media directory). */
static void
remove_previous(const struct ns_config *cfg, const struct media_kind *k, const char *old_url)
{
	size_t bl = strlen(cfg->public_base_url);
	char path[MEDIA_PATH_MAX];
	const char *name;

	if (strncmp(old_url, cfg->public_base_url, bl) != 0 ||
	    strncmp(old_url + bl, "/uploads/", 9) != 0)
		return;
	name = old_url + bl + 9;
	if (!stored_name_ok(k, name) || join_path(path, sizeof(path), cfg->media_dir, name) < 0)
		return;
	if (unlink(path) < 0 && errno != ENOENT)
		ns_log_warn("media: unlink previous %s: %s", path, strerror(errno));
}

/* Best effort: make the rename durable before the row points at the new name. */
static void
sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (fsync(fd) < 0)
		ns_log_warn("media: fsync %s: %s", dir, strerror(errno));
	close(fd);
}

/* The file is complete and typed: make it durable, give it its final name, point the user at
 * it, and drop the file it replaces. */
static enum ns_err
commit(struct api_req *req, struct upload *u)
{
	const struct media_kind *k = u->kind;
	const struct ns_config *cfg = req->cfg;
	char name[MEDIA_NAME_MAX], hex[2 * MEDIA_RAND_BYTES + 1], path[MEDIA_PATH_MAX];
	char url[MEDIA_URL_MAX], old[MEDIA_URL_MAX];
	const char *params[2];
	int n, had_old = 0;
	PGresult *res;
	enum ns_err e;

	n = fsync(u->fd);
	if (n < 0)
		ns_log_err("media: fsync %s: %s", u->tmp_path, strerror(errno));
	if (close(u->fd) < 0 && n == 0) {
		ns_log_err("media: close %s: %s", u->tmp_path, strerror(errno));
		n = -1;
	}
	u->fd = -1;
	if (n < 0 || random_hex(hex, sizeof(hex)) < 0)
		goto fail_file;
	snprintf(name, sizeof(name), "%s-%s.%s", k->field, hex, sniff_ext(u->type));
	n = snprintf(url, sizeof(url), "%s/uploads/%s", cfg->public_base_url, name);
	if (n < 0 || (size_t)n >= sizeof(url)) {
		ns_log_err("media: PUBLIC_BASE_URL too long for a media URL (%d bytes max)",
		    MEDIA_URL_MAX - 1);
		goto fail_file;
	}
	if (join_path(path, sizeof(path), cfg->media_dir, name) < 0 ||
	    rename(u->tmp_path, path) < 0) {
		ns_log_err("media: rename to %s: %s", name, strerror(errno));
		goto fail_file;
	}
	u->tmp_path[0] = '\0';	/* now it is the final file; this function owns it */
	sync_dir(cfg->media_dir);

	params[0] = req->auth.user_id;
	params[1] = url;
	res = ns_db_exec(req->app->db, k->sql, 2, params, &e);
	if (res == NULL || PQntuples(res) != 1) {
		if (res != NULL) {
			PQclear(res);
			e = NS_E_NOT_FOUND;
		}
		if (unlink(path) < 0)
			ns_log_err("media: unlink %s: %s", path, strerror(errno));
		if (e == NS_E_NOT_FOUND)
			return answer(req, e, "User not found");
		/* unreachable or slow: 503 'Service unavailable'; anything else is ours, never
		 * the client's: the route's own 500 string (contract §1.4, §2.4) */
		if (e == NS_E_DB || e == NS_E_TIMEOUT)
			return answer(req, e, NULL);
		return answer(req, NS_E_INTERNAL, k->fail_msg);
	}
	if (!PQgetisnull(res, 0, 0)) {
		snprintf(old, sizeof(old), "%s", PQgetvalue(res, 0, 0));
		had_old = 1;
	}
	PQclear(res);
	api_cache_user_invalidate(req->app, req->auth.user_id);
	if (had_old)
		remove_previous(cfg, k, old);

	{
		json_object *body = ns_json_obj();

		ns_json_set_str(body, k->json_key, url);
		api_respond_json(req, 200, body);
	}
	return NS_OK;

fail_file:
	discard_temp(u);
	return answer(req, NS_E_INTERNAL, k->fail_msg);
}

static enum ns_err
media_upload(struct api_req *req, const struct media_kind *k)
{
	char boundary[MP_BOUNDARY_MAX + 1];
	struct mp_callbacks cb = { on_part_begin, on_part_data, on_part_end, NULL };
	struct mp_parser *p;
	struct upload u;
	enum mp_err me;
	size_t body_max;

	req->no_store = 1;
	memset(&u, 0, sizeof(u));
	u.kind = k;
	u.dir = req->cfg->media_dir;
	u.fd = -1;
	u.file_max = (size_t)(k->video ? req->cfg->video_max : req->cfg->selfie_max);
	body_max = u.file_max + MEDIA_FRAMING_MAX;

	me = mp_boundary_from_content_type(req->content_type, boundary);
	if (me != MP_OK) {
		drain(req);
		return answer(req, NS_E_BAD_REQUEST, me == MP_E_CONTENT_TYPE ?
		    "No file uploaded" : "Invalid multipart body");
	}
	if (req->content_length > 0 && (unsigned long long)req->content_length > body_max) {
		drain(req);
		return answer(req, NS_E_TOO_LARGE, "File too large");
	}
	if ((p = mp_new(boundary, body_max, &cb, &u)) == NULL) {
		drain(req);
		return answer(req, NS_E_NOMEM, k->fail_msg);
	}
	me = stream(req, p);
	mp_free(p);
	if (me != MP_OK) {
		ns_log_info("%s upload refused: %s", k->field, me == MP_E_ABORTED ?
		    (u.fail == MF_TOO_LARGE ? "file too large" : u.fail == MF_TYPE ?
		    "unsupported type" : "write failed") : mp_strerror(me));
		drain(req);
		discard_temp(&u);
	}
	switch (me) {
	case MP_OK:
		if (!u.have_file) {
			discard_temp(&u);
			return answer(req, NS_E_BAD_REQUEST, "No file uploaded");
		}
		return commit(req, &u);
	case MP_E_ABORTED:
		if (u.fail == MF_TOO_LARGE)
			return answer(req, NS_E_TOO_LARGE, "File too large");
		if (u.fail == MF_TYPE)
			return answer(req, NS_E_MEDIA_TYPE, "Unsupported file type");
		return answer(req, NS_E_INTERNAL, k->fail_msg);
	case MP_E_BODY_TOO_LARGE:
		return answer(req, NS_E_TOO_LARGE, "File too large");
	case MP_E_NOMEM:
		return answer(req, NS_E_NOMEM, k->fail_msg);
	default:
		return answer(req, NS_E_BAD_REQUEST, "Invalid multipart body");
	}
}

enum ns_err
api_media_selfie(struct api_req *req)
{
	return media_upload(req, &kind_selfie);
}

enum ns_err
api_media_video(struct api_req *req)
{
	return media_upload(req, &kind_video);
}
