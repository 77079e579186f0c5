/* api_report: reports, automatic bans, their review, and the ban lookups (contract §2.7, §4.4).
 *
 * A report and the auto-ban it may trigger are one transaction that starts by locking the
 * reported user's row: concurrent reports of one user serialise there, so the distinct-reporter
 * count is exact and the ban happens once. The one-report-per-pair rule is the unique
 * constraint reports_pair_key (ON CONFLICT DO NOTHING: nothing inserted = already reported).
 * After COMMIT the caches are invalidated and the gateways told (user:banned on ns:ctl), so
 * the banned user is refused by every worker and disconnected from every gateway at once. */
#include "config.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "routes.h"
#include "app.h"
#include "cache.h"
#include "excl.h"
#include "clock.h"
#include "ctl.h"
#include "db.h"
#include "json.h"
#include "log.h"
#include "rand.h"
#include "respond.h"
#include "valid.h"

#define AUTO_BAN_REPORTERS 4		/* distinct reporters for a temporary ban (§4.1) */
#define REPORT_LIST_MAX 1000		/* reports GET /report/all returns (newest first) */
#define PENDING_MAX 500			/* ban records GET /report/pending returns */
#define PENDING_ROWS_MAX 20000		/* record × report rows read for /report/pending */
#define BLACKLIST_MAX 1000		/* entries GET /report/blacklist returns */
#define BAN_REASON_MAX 64		/* "Auto-banned: <n> reports received" */
#define NUM_MAX 24			/* a decimal int64 */

#define NFIELDS(a) (sizeof(a) / sizeof((a)[0]))
#define SQL_MS(x) "(extract(epoch FROM " x ") * 1000)::bigint"

#define CTL_USER_BANNED "user:banned"
#define DEFAULT_REASON "No reason provided"

/* Report columns (11), in the order report_json() reads them. */
#define REPORT_COLS \
	"r.report_id, r.reported_user_id, r.reported_user_name, r.reported_user_selfie, " \
	"r.reported_user_video, r.reporter_user_id, r.reporter_name, host(r.reporter_ip), " \
	"r.reason, r.room_id, " SQL_MS("r.\"timestamp\"")
#define REPORT_NCOLS 11
/* BanRecord columns (12), in the order ban_json() reads them. */
#define BAN_COLS \
	"b.user_id, b.user_name, b.user_selfie, b.user_video, b.ban_status, " \
	SQL_MS("b.banned_at") ", b.banned_reason, b.report_count, b.review_status, " \
	SQL_MS("b.reviewed_at") ", b.reviewed_by, b.ip_addresses::text"
#define BAN_NCOLS 12

/* ---- helpers ------------------------------------------------------------------------- */



/* An integer column, or null. */
static void
set_int_col(json_object *o, const char *key, const PGresult *res, int row, int c)
{
	if (PQgetisnull(res, row, c))
		ns_json_set_null(o, key);
	else
		ns_json_set_int(o, key, ns_db_col_int(res, row, c));
}

static enum ns_err
respond_msg(struct api_req *req, enum ns_err e, const char *msg)
{
	api_respond_error(req, e, msg);
	return e;
}

static enum ns_err
exec_only(struct api_req *req, const char *sql, int n, const char *const *params)
{
	enum ns_err e = NS_OK;
	PGresult *res = ns_db_exec(req->app->db, sql, n, params, &e);

	PQclear(res);
	return res ? NS_OK : e;
}

static json_object *
new_array(void)
{
	json_object *a = json_object_new_array();

	if (a == NULL)
		abort();	/* as the ns_json builders: a half-built answer is worse */
	return a;
}

/* The Report object (§2.7) from REPORT_COLS starting at column c. */
static json_object *
report_json(const PGresult *res, int row, int c)
{
	json_object *o = ns_json_obj();

	ns_json_set_str(o, "reportId", ns_db_col(res, row, c));
	ns_json_set_str(o, "reportedUserId", ns_db_col(res, row, c + 1));
	ns_json_set_str(o, "reportedUserName", ns_db_col(res, row, c + 2));
	ns_json_set_str(o, "reportedUserSelfie", ns_db_col(res, row, c + 3));
	ns_json_set_str(o, "reportedUserVideo", ns_db_col(res, row, c + 4));
	ns_json_set_str(o, "reporterUserId", ns_db_col(res, row, c + 5));
	ns_json_set_str(o, "reporterName", ns_db_col(res, row, c + 6));
	ns_json_set_str(o, "reporterIp", ns_db_col(res, row, c + 7));
	ns_json_set_str(o, "reason", ns_db_col(res, row, c + 8));
	ns_json_set_str(o, "roomId", ns_db_col(res, row, c + 9));
	set_int_col(o, "timestamp", res, row, c + 10);
	return o;
}

/* The BanRecord object (§2.7) from BAN_COLS starting at column c; with_ips adds ipAddresses. */
static json_object *
ban_json(const PGresult *res, int row, int c, int with_ips)
{
	json_object *o = ns_json_obj();

	ns_json_set_str(o, "userId", ns_db_col(res, row, c));
	ns_json_set_str(o, "userName", ns_db_col(res, row, c + 1));
	ns_json_set_str(o, "userSelfie", ns_db_col(res, row, c + 2));
	ns_json_set_str(o, "userVideo", ns_db_col(res, row, c + 3));
	ns_json_set_str(o, "banStatus", ns_db_col(res, row, c + 4));
	set_int_col(o, "bannedAt", res, row, c + 5);
	ns_json_set_str(o, "bannedReason", ns_db_col(res, row, c + 6));
	set_int_col(o, "reportCount", res, row, c + 7);
	ns_json_set_str(o, "reviewStatus", ns_db_col(res, row, c + 8));
	set_int_col(o, "reviewedAt", res, row, c + 9);
	ns_json_set_str(o, "reviewedBy", ns_db_col(res, row, c + 10));
	if (with_ips) {
		/* written by us as a JSON array of strings; anything else reads as [] */
		json_object *ips = json_tokener_parse(PQgetvalue(res, row, c + 11));

		if (ips == NULL || !json_object_is_type(ips, json_type_array)) {
			json_object_put(ips);
			ips = new_array();
		}
		ns_json_set(o, "ipAddresses", ips);
	}
	return o;
}

/* REMOTE_ADDR when it parses as an address, else NULL (§1.5: never fails an insert). */
static const char *
client_ip(const struct api_req *req)
{
	unsigned char buf[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, req->remote_addr, buf) == 1 ||
	    inet_pton(AF_INET6, req->remote_addr, buf) == 1)
		return req->remote_addr;
	return NULL;
}

/* After COMMIT: every worker re-reads the user, every gateway closes their sockets. */
static void
announce_ban(struct api_req *req, const char *user_id)
{
	json_object *msg = ns_json_obj();

	api_cache_user_invalidate(req->app, user_id);
	api_cache_ip_bans_invalidate(req->app);
	ns_json_set_str(msg, "type", CTL_USER_BANNED);
	ns_json_set_str(msg, "userId", user_id);
	(void)api_ctl_publish(req->app, msg);
}

/* ---- POST /report/user ---------------------------------------------------------------- */

static const struct ns_valid_field report_fields[] = {
	NS_VALID_F_UUID("reportedUserId", "reportedUserId is required"),
	NS_VALID_F_REASON,
	NS_VALID_F_UUID_OPT("roomId"),
};

/* Columns of the locked lookup. */
enum { RU_NAME, RU_SELFIE, RU_VIDEO, RU_BAN, RU_REPORTER };

/* Inside the report transaction: the temporary ban of §4.4 (record, user row, IP bans). */
static enum ns_err
auto_ban(struct api_req *req, const PGresult *target, const char *user_id, int64_t count)
{
	static const char sql_record[] =
	    "INSERT INTO ban_records (user_id, user_name, user_selfie, user_video, ban_status, "
	    "banned_at, banned_reason, report_count, review_status, reviewed_at, reviewed_by, "
	    "ip_addresses) VALUES ($1, $2, $3, $4, 'temporary', now(), $5, $6::int, 'pending', "
	    "NULL, NULL, (SELECT coalesce(jsonb_agg(host(ip_address) ORDER BY first_seen, "
	    "ip_address), '[]') FROM user_ips WHERE user_id = $1)) "
	    "ON CONFLICT (user_id) DO UPDATE SET user_name = excluded.user_name, "
	    "user_selfie = excluded.user_selfie, user_video = excluded.user_video, "
	    "ban_status = excluded.ban_status, banned_at = excluded.banned_at, "
	    "banned_reason = excluded.banned_reason, report_count = excluded.report_count, "
	    "review_status = excluded.review_status, reviewed_at = NULL, reviewed_by = NULL, "
	    "ip_addresses = excluded.ip_addresses";
	static const char sql_user[] =
	    "UPDATE users SET ban_status = 'temporary', banned_at = now(), banned_reason = $2, "
	    "review_status = 'pending' WHERE user_id = $1";
	static const char sql_ips[] =
	    "INSERT INTO ip_bans (ip_address, user_id, reason) "
	    "SELECT ip_address, $1, $2 FROM user_ips WHERE user_id = $1 "
	    "ON CONFLICT (ip_address) DO UPDATE SET banned_at = now(), "
	    "user_id = excluded.user_id, reason = excluded.reason";
	char reason[BAN_REASON_MAX], n[NUM_MAX];
	enum ns_err e;

	snprintf(reason, sizeof(reason), "Auto-banned: %lld reports received", (long long)count);
	snprintf(n, sizeof(n), "%lld", (long long)count);
	{
		const char *p[] = { user_id, ns_db_col(target, 0, RU_NAME), ns_db_col(target, 0, RU_SELFIE),
		    ns_db_col(target, 0, RU_VIDEO), reason, n };

		if ((e = exec_only(req, sql_record, 6, p)) != NS_OK)
			return e;
	}
	{
		const char *p[] = { user_id, reason };

		if ((e = exec_only(req, sql_user, 2, p)) != NS_OK)
			return e;
		return exec_only(req, sql_ips, 2, p);
	}
}

enum ns_err
api_report_user(struct api_req *req)
{
	static const char sql_lock[] =
	    "SELECT t.name, t.selfie_url, t.video_url, t.ban_status, "
	    "(SELECT name FROM users WHERE user_id = $2) "
	    "FROM users t WHERE t.user_id = $1 FOR UPDATE OF t";
	static const char sql_insert[] =
	    "INSERT INTO reports (report_id, reported_user_id, reported_user_name, "
	    "reported_user_selfie, reported_user_video, reporter_user_id, reporter_name, "
	    "reporter_ip, reason, room_id) "
	    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8::inet, $9, $10::uuid) "
	    "ON CONFLICT ON CONSTRAINT reports_pair_key DO NOTHING";
	static const char sql_count[] =
	    "SELECT count(DISTINCT reporter_user_id) FROM reports WHERE reported_user_id = $1";
	char report_id[NS_UUID_LEN + 1];
	const char *target, *reason, *room, *msg, *ban;
	PGresult *t = NULL, *res;
	json_object *body;
	int64_t count;
	int banned = 0, inserted;
	enum ns_err e;

	if ((e = ns_valid_check(req->json, report_fields, NFIELDS(report_fields), &msg)) != NS_OK)
		return respond_msg(req, e, msg);
	target = ns_json_get_str(req->json, "reportedUserId");
	reason = ns_json_get_str(req->json, "reason");
	room = ns_json_get_str(req->json, "roomId");
	if (reason == NULL)
		reason = DEFAULT_REASON;
	if (strcmp(target, req->auth.user_id) == 0)
		return respond_msg(req, NS_E_BAD_REQUEST, "Cannot report yourself");
	if ((e = ns_rand_uuid(report_id)) != NS_OK)
		return e;

	if ((e = ns_db_begin(req->app->db)) != NS_OK)
		return e;
	{
		const char *p[] = { target, req->auth.user_id };

		if ((t = ns_db_exec(req->app->db, sql_lock, 2, p, &e)) == NULL)
			goto fail;
	}
	if (PQntuples(t) == 0 || PQgetisnull(t, 0, RU_REPORTER)) {
		e = NS_E_NOT_FOUND;
		goto fail;
	}
	{
		const char *p[] = { report_id, target, ns_db_col(t, 0, RU_NAME), ns_db_col(t, 0, RU_SELFIE),
		    ns_db_col(t, 0, RU_VIDEO), req->auth.user_id, ns_db_col(t, 0, RU_REPORTER), client_ip(req),
		    reason, room };

		if ((res = ns_db_exec(req->app->db, sql_insert, 10, p, &e)) == NULL)
			goto fail;
	}
	inserted = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (!inserted) {
		ns_db_rollback(req->app->db);
		PQclear(t);
		body = ns_json_obj();
		ns_json_set_str(body, "error", "You have already reported this user");
		ns_json_set_bool(body, "alreadyReported", 1);
		api_respond_error_body(req, NS_E_BAD_REQUEST, body);
		return NS_E_BAD_REQUEST;
	}
	{
		const char *p[] = { target };

		if ((res = ns_db_exec(req->app->db, sql_count, 1, p, &e)) == NULL)
			goto fail;
	}
	count = ns_db_col_int(res, 0, 0);
	PQclear(res);
	ban = PQgetvalue(t, 0, RU_BAN);
	if (count >= AUTO_BAN_REPORTERS && strcmp(ban, "temporary") != 0 &&
	    strcmp(ban, "permanent") != 0) {
		if ((e = auto_ban(req, t, target, count)) != NS_OK)
			goto fail;
		banned = 1;
	}
	PQclear(t);
	t = NULL;
	if ((e = ns_db_commit(req->app->db)) != NS_OK)
		return e;
	api_excl_invalidate(req->app, req->auth.user_id);	/* hidden from the reporter's list */
	if (banned) {
		ns_log_info("report: user %s auto-banned after %lld reports", target,
		    (long long)count);
		announce_ban(req, target);
	}

	body = ns_json_obj();
	ns_json_set_bool(body, "success", 1);
	ns_json_set_str(body, "reportId", report_id);
	if (banned)
		ns_json_set_bool(body, "autoBanned", 1);
	ns_json_set_int(body, "reportCount", count);
	ns_json_set_str(body, "message", banned ?
	    "Report submitted. User has been temporarily banned pending review." :
	    "Report submitted successfully.");
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;

fail:
	ns_db_rollback(req->app->db);
	PQclear(t);
	if (e == NS_E_NOT_FOUND)
		return respond_msg(req, e, "User not found");
	if (e == NS_E_BAD_REQUEST || e == NS_E_CONFLICT) {
		/* a user deleted mid-way (foreign key) or a report id collision */
		ns_log_warn("report: constraint failure: %s", ns_db_last_error(req->app->db));
		e = NS_E_INTERNAL;
	}
	return e;
}

/* ---- admin listings ------------------------------------------------------------------- */

enum ns_err
api_report_pending(struct api_req *req)
{
	static const char sql[] =
	    "SELECT " BAN_COLS ", " REPORT_COLS " FROM (SELECT * FROM ban_records "
	    "WHERE review_status = 'pending' ORDER BY banned_at DESC, user_id LIMIT $1::int) b "
	    "LEFT JOIN reports r ON r.reported_user_id = b.user_id "
	    "ORDER BY b.banned_at DESC, b.user_id, r.\"timestamp\" DESC, r.report_id "
	    "LIMIT $2::int";
	char max[NUM_MAX], rows[NUM_MAX];
	const char *p[] = { max, rows };
	json_object *body, *list, *reports = NULL;
	PGresult *res;
	enum ns_err e = NS_OK;
	int i, n, count = 0;

	snprintf(max, sizeof(max), "%d", PENDING_MAX);
	snprintf(rows, sizeof(rows), "%d", PENDING_ROWS_MAX);
	if ((res = ns_db_exec(req->app->db, sql, 2, p, &e)) == NULL)
		return e;
	list = new_array();
	n = PQntuples(res);
	/* rows come grouped by record: a new user_id starts a new BanRecord */
	for (i = 0; i < n; i++) {
		if (i == 0 || strcmp(PQgetvalue(res, i, 0), PQgetvalue(res, i - 1, 0)) != 0) {
			json_object *rec = ban_json(res, i, 0, 1);

			reports = new_array();
			ns_json_set(rec, "reports", reports);
			json_object_array_add(list, rec);
			count++;
		}
		if (!PQgetisnull(res, i, BAN_NCOLS))
			json_object_array_add(reports, report_json(res, i, BAN_NCOLS));
	}
	PQclear(res);
	body = ns_json_obj();
	ns_json_set(body, "pending", list);
	ns_json_set_int(body, "count", count);
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}

enum ns_err
api_report_all(struct api_req *req)
{
	static const char sql[] =
	    "SELECT " REPORT_COLS " FROM reports r "
	    "ORDER BY r.\"timestamp\" DESC, r.report_id LIMIT $1::int";
	char max[NUM_MAX];
	const char *p[] = { max };
	json_object *body, *list;
	PGresult *res;
	enum ns_err e = NS_OK;
	int i, n;

	snprintf(max, sizeof(max), "%d", REPORT_LIST_MAX);
	if ((res = ns_db_exec(req->app->db, sql, 1, p, &e)) == NULL)
		return e;
	list = new_array();
	n = PQntuples(res);
	for (i = 0; i < n; i++)
		json_object_array_add(list, report_json(res, i, 0));
	PQclear(res);
	body = ns_json_obj();
	ns_json_set(body, "reports", list);
	ns_json_set_int(body, "count", n);
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}

enum ns_err
api_report_stats(struct api_req *req)
{
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM reports), count(*), "
	    "count(*) FILTER (WHERE review_status = 'pending'), "
	    "count(*) FILTER (WHERE ban_status = 'permanent'), "
	    "count(*) FILTER (WHERE ban_status = 'temporary'), "
	    "count(*) FILTER (WHERE ban_status = 'vindicated') FROM ban_records";
	static const char *const keys[] = { "totalReports", "totalBans", "pendingReviews",
	    "permanentBans", "temporaryBans", "vindicated" };
	json_object *body;
	PGresult *res;
	enum ns_err e = NS_OK;
	size_t i;

	if ((res = ns_db_exec(req->app->db, sql, 0, NULL, &e)) == NULL)
		return e;
	body = ns_json_obj();
	for (i = 0; i < NFIELDS(keys); i++)
		ns_json_set_int(body, keys[i], ns_db_col_int(res, 0, (int)i));
	PQclear(res);
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}

/* ---- POST /report/review/:userId ------------------------------------------------------- */

static const char *const decisions[] = { "permanent", "vindicated", NULL };

static const struct ns_valid_field review_fields[] = {
	{ .name = "decision", .kind = NS_VALID_ENUM, .required = 1, .values = decisions,
	  .msg_required = "Invalid decision. Must be \"permanent\" or \"vindicated\"",
	  .msg_invalid = "Invalid decision. Must be \"permanent\" or \"vindicated\"" },
};

/* Permanent: the record and the user become permanent; the record's IPs stay (or are put
 * back) in ip_bans, so a ban once vindicated and later made permanent bans them again. */
static enum ns_err
review_permanent(struct api_req *req, const char *user_id, const char *by)
{
	static const char sql_record[] =
	    "UPDATE ban_records SET ban_status = 'permanent', review_status = 'reviewed_ban', "
	    "reviewed_at = now(), reviewed_by = $2 WHERE user_id = $1";
	static const char sql_user[] =
	    "UPDATE users SET ban_status = 'permanent', review_status = 'reviewed_ban', "
	    "banned_at = coalesce(banned_at, now()) WHERE user_id = $1";
	static const char sql_ips[] =
	    "INSERT INTO ip_bans (ip_address, user_id, reason) "
	    "SELECT ip::inet, b.user_id, b.banned_reason "
	    "FROM ban_records b, jsonb_array_elements_text(b.ip_addresses) ip "
	    "WHERE b.user_id = $1 ON CONFLICT (ip_address) DO NOTHING";
	const char *p[] = { user_id, by };
	enum ns_err e;

	if ((e = exec_only(req, sql_record, 2, p)) != NS_OK ||
	    (e = exec_only(req, sql_user, 1, p)) != NS_OK)
		return e;
	return exec_only(req, sql_ips, 1, p);
}

/* Vindicated: the ban is lifted; each of the record's IPs leaves ip_bans unless another
 * temporary or permanent record lists it (§4.4). */
static enum ns_err
review_vindicate(struct api_req *req, const char *user_id, const char *by)
{
	static const char sql_record[] =
	    "UPDATE ban_records SET ban_status = 'vindicated', "
	    "review_status = 'reviewed_vindicate', reviewed_at = now(), reviewed_by = $2 "
	    "WHERE user_id = $1";
	static const char sql_user[] =
	    "UPDATE users SET ban_status = 'none', review_status = 'reviewed_vindicate' "
	    "WHERE user_id = $1";
	static const char sql_ips[] =
	    "DELETE FROM ip_bans x WHERE x.ip_address IN (SELECT ip::inet FROM ban_records b, "
	    "jsonb_array_elements_text(b.ip_addresses) ip WHERE b.user_id = $1) "
	    "AND NOT EXISTS (SELECT 1 FROM ban_records o WHERE o.user_id <> $1 "
	    "AND o.ban_status IN ('temporary', 'permanent') "
	    "AND o.ip_addresses @> jsonb_build_array(host(x.ip_address)))";
	const char *p[] = { user_id, by };
	enum ns_err e;

	if ((e = exec_only(req, sql_record, 2, p)) != NS_OK ||
	    (e = exec_only(req, sql_user, 1, p)) != NS_OK)
		return e;
	return exec_only(req, sql_ips, 1, p);
}

enum ns_err
api_report_review(struct api_req *req)
{
	static const char sql_lock[] = "SELECT 1 FROM ban_records WHERE user_id = $1 FOR UPDATE";
	char user_id[NS_UUID_LEN + 1];
	const char *raw = api_req_param(req, "userId"), *decision, *msg, *by;
	json_object *body;
	PGresult *res;
	enum ns_err e = NS_OK;
	int permanent;

	if (!raw || !ns_rand_uuid_parse(raw, user_id))
		return respond_msg(req, NS_E_BAD_REQUEST, "Invalid userId");
	if ((e = ns_valid_check(req->json, review_fields, NFIELDS(review_fields), &msg)) != NS_OK)
		return respond_msg(req, e, msg);
	decision = ns_json_get_str(req->json, "decision");
	permanent = strcmp(decision, "permanent") == 0;
	/* reviewedBy: the admin account's username, or the admin-role user's id */
	by = req->auth.admin_token ? req->auth.admin_username : req->auth.user_id;

	if ((e = ns_db_begin(req->app->db)) != NS_OK)
		return e;
	{
		const char *p[] = { user_id };

		if ((res = ns_db_exec(req->app->db, sql_lock, 1, p, &e)) == NULL)
			goto fail;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		ns_db_rollback(req->app->db);
		return respond_msg(req, NS_E_NOT_FOUND, "Ban record not found");
	}
	PQclear(res);
	e = permanent ? review_permanent(req, user_id, by) : review_vindicate(req, user_id, by);
	if (e != NS_OK)
		goto fail;
	if ((e = ns_db_commit(req->app->db)) != NS_OK)
		return e;
	if (permanent) {
		announce_ban(req, user_id);	/* live sockets of a vindicated user go too */
	} else {
		api_cache_user_invalidate(req->app, user_id);
		api_cache_ip_bans_invalidate(req->app);
	}
	ns_log_info("report: user %s reviewed %s by %s", user_id, decision, by);

	body = ns_json_obj();
	ns_json_set_bool(body, "success", 1);
	ns_json_set_str(body, "userId", user_id);
	ns_json_set_str(body, "decision", decision);
	ns_json_set_str(body, "message", permanent ?
	    "User permanently banned and added to blacklist" : "User vindicated and ban lifted");
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;

fail:
	ns_db_rollback(req->app->db);
	if (e == NS_E_BAD_REQUEST || e == NS_E_CONFLICT)
		e = NS_E_INTERNAL;
	return e;
}

/* ---- public and self lookups ---------------------------------------------------------- */

enum ns_err
api_report_blacklist(struct api_req *req)
{
	static const char sql[] =
	    "SELECT user_name, user_selfie, user_video, " SQL_MS("banned_at") ", banned_reason, "
	    "report_count FROM ban_records WHERE ban_status = 'permanent' "
	    "ORDER BY banned_at DESC, user_id LIMIT $1::int";
	char max[NUM_MAX];
	const char *p[] = { max };
	json_object *body, *list;
	PGresult *res;
	enum ns_err e = NS_OK;
	int i, n;

	snprintf(max, sizeof(max), "%d", BLACKLIST_MAX);
	if ((res = ns_db_read(req->app->db, sql, 1, p, &e)) == NULL)
		return e;
	list = new_array();
	n = PQntuples(res);
	for (i = 0; i < n; i++) {
		json_object *o = ns_json_obj();

		ns_json_set_str(o, "userName", ns_db_col(res, i, 0));
		ns_json_set_str(o, "userSelfie", ns_db_col(res, i, 1));
		ns_json_set_str(o, "userVideo", ns_db_col(res, i, 2));
		set_int_col(o, "bannedAt", res, i, 3);
		ns_json_set_str(o, "bannedReason", ns_db_col(res, i, 4));
		set_int_col(o, "reportCount", res, i, 5);
		json_object_array_add(list, o);
	}
	PQclear(res);
	body = ns_json_obj();
	ns_json_set(body, "blacklist", list);
	ns_json_set_int(body, "count", n);
	ns_json_set_int(body, "lastUpdated", ns_clock_now_ms());
	api_respond_json(req, 200, body);
	return NS_OK;
}

enum ns_err
api_report_check_ban(struct api_req *req)
{
	static const char sql[] =
	    "SELECT u.ban_status, " BAN_COLS " FROM users u "
	    "LEFT JOIN ban_records b ON b.user_id = u.user_id WHERE u.user_id = $1";
	const char *p[] = { req->auth.user_id };
	const char *status = "none";
	json_object *body;
	PGresult *res;
	enum ns_err e = NS_OK;
	int found;

	if ((res = ns_db_exec(req->app->db, sql, 1, p, &e)) == NULL)
		return e;
	found = PQntuples(res) == 1;
	if (found)
		status = PQgetvalue(res, 0, 0);
	body = ns_json_obj();
	ns_json_set_bool(body, "isBanned",
	    strcmp(status, "temporary") == 0 || strcmp(status, "permanent") == 0);
	ns_json_set_str(body, "banStatus", status);
	ns_json_set(body, "banRecord", found && !PQgetisnull(res, 0, 1) ?
	    ban_json(res, 0, 1, 0) : NULL);
	PQclear(res);
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}

enum ns_err
api_report_check_ip(struct api_req *req)
{
	static const char sql[] =
	    "SELECT host(ip_address), " SQL_MS("banned_at") ", user_id, reason FROM ip_bans "
	    "WHERE ip_address = $1::inet";
	unsigned char bin[sizeof(struct in6_addr)];
	const char *raw = api_req_param(req, "ip");
	char ip[API_IP_MAX];
	const char *p[] = { ip };
	json_object *body, *ban = NULL;
	PGresult *res;
	enum ns_err e = NS_OK;

	if (!raw || (inet_pton(AF_INET, raw, bin) != 1 && inet_pton(AF_INET6, raw, bin) != 1))
		return respond_msg(req, NS_E_BAD_REQUEST, "Invalid IP address");
	/* the same canonical form as the per-request check (IPv4-mapped IPv6 as IPv4) */
	api_cache_ip_normalise(raw, ip, sizeof(ip));
	if ((res = ns_db_exec(req->app->db, sql, 1, p, &e)) == NULL)
		return e;
	if (PQntuples(res) == 1) {
		ban = ns_json_obj();
		ns_json_set_str(ban, "ipAddress", ns_db_col(res, 0, 0));
		set_int_col(ban, "bannedAt", res, 0, 1);
		ns_json_set_str(ban, "userId", ns_db_col(res, 0, 2));
		ns_json_set_str(ban, "reason", ns_db_col(res, 0, 3));
	}
	PQclear(res);
	body = ns_json_obj();
	ns_json_set_bool(body, "isBanned", ban != NULL);
	ns_json_set(body, "ipBan", ban);
	api_respond_json(req, 200, body);
	return NS_OK;
}
