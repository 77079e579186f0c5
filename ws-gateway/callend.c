/* callend: durable writes after call outcomes (see callend.h).
 *
 * A job is one write and what to send once it committed. The call-end statement does
 * everything of §3.8 step 2 in one transaction (one statement, data-modifying CTEs) for up
 * to CALLEND_BATCH_MAX call ends of one loop turn, and is safe to repeat: history and
 * completion rows are unique per (room, user) and metrics move only for the users whose
 * history row this run inserted. So a retry after a lost reply changes nothing twice. While
 * PostgreSQL is down, session:finalized still goes out after the first failure (clients are
 * not kept on a frozen call screen); the metrics events follow whenever the write finally
 * commits. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsconfig.h"
#include "clock.h"
#include "json.h"
#include "keys.h"
#include "log.h"
#include "rand.h"
#include "bus.h"
#include "callend.h"
#include "conn.h"
#include "gw.h"
#include "gwlua.h"
#include "pg.h"

#define NUM_MAX 24		/* an int64 in decimal */
#define SESSION_ID_MAX 48	/* "session-<ms>-disconnected" */
#define INVITE_CODE_LEN 16	/* §1.1 invite code */
#define QR_MESSAGE "\xF0\x9F\x8E\x89 Congratulations! You've unlocked your QR code!"
#define SYSTEM_MESSAGE "Call ended due to disconnection"

/* ARGV: quads (socketId or "", userId or "", event, data JSON or ""). */
static const char deliver_lua[] =
	GWLUA_PRELUDE
	"for i = 1, #ARGV - 3, 4 do\n"
	"  local s = pick(ARGV[i], ARGV[i + 1])\n"
	"  if s then send_raw(s, ARGV[i + 2], ARGV[i + 3]) end\n"
	"end\n"
	"return 1\n";

/* $1 a, $2 b, $3 expiry ms. Nothing when either user is gone. */
static const char cooldown_sql[] =
	"INSERT INTO cooldowns (user_id_1, user_id_2, expires_at)"
	" SELECT least($1::uuid, $2::uuid), greatest($1::uuid, $2::uuid),"
	"  to_timestamp($3::bigint / 1000.0)"
	" WHERE (SELECT count(*) FROM users WHERE user_id IN ($1::uuid, $2::uuid)) = 2"
	" ON CONFLICT ON CONSTRAINT cooldowns_pair_key DO UPDATE"
	"  SET expires_at = greatest(cooldowns.expires_at, EXCLUDED.expires_at)";

/* $1 an array of {room, u1, u2, sid, started, now, d, save, complete, msgs, cd, unlock,
 * codes{uid:code}}, no user in two of them (an UPDATE ... FROM applies one match per row, and
 * a pair's cooldown can be upserted once per statement). One row per participant of each room
 * whose users both exist: roomId, userId, timer_total_seconds, session_count, last_sessions,
 * unlocked by this call, successful_sessions. Per call end, starting the statement's executor
 * cost as much as running it, so the call ends of one loop turn share one. */
static const char end_sql[] =
	"WITH p AS (SELECT e.j, (e.j->>'room')::uuid AS room"
	"  FROM jsonb_array_elements($1::jsonb) AS e(j)),"
	" u AS (SELECT p.room, x.user_id, x.name, x.timer_total_seconds, x.session_count,"
	"  x.last_sessions, x.qr_unlocked, x.my_invite_code, x.successful_sessions FROM p, users x"
	"  WHERE x.user_id IN ((p.j->>'u1')::uuid, (p.j->>'u2')::uuid) FOR UPDATE OF x),"
	" pair AS (SELECT a.*, b.user_id AS pid, b.name AS pname FROM u a JOIN u b"
	"  ON a.room = b.room AND a.user_id <> b.user_id),"
	" hist AS (INSERT INTO chat_history (session_id, user_id, partner_id, partner_name, room_id,"
	"  started_at, duration, messages)"
	"  SELECT p.j->>'sid', pr.user_id, pr.pid, pr.pname, p.room,"
	"   to_timestamp((p.j->>'started')::bigint / 1000.0), (p.j->>'d')::int, p.j->'msgs'"
	"  FROM pair pr JOIN p ON p.room = pr.room WHERE (p.j->>'save')::boolean"
	"  ON CONFLICT (room_id, user_id) DO NOTHING RETURNING room_id, user_id),"
	" comp AS (INSERT INTO session_completions (user_id, partner_id, room_id, duration_seconds)"
	"  SELECT pr.user_id, pr.pid, p.room, (p.j->>'d')::int"
	"  FROM pair pr JOIN p ON p.room = pr.room WHERE (p.j->>'complete')::boolean"
	"  ON CONFLICT (user_id, room_id) DO NOTHING RETURNING room_id, user_id),"
	" m AS (SELECT pr.*, p.j,"
	"  EXISTS (SELECT 1 FROM hist h WHERE h.room_id = pr.room AND h.user_id = pr.user_id)"
	"   AS saved,"
	"  EXISTS (SELECT 1 FROM comp c WHERE c.room_id = pr.room AND c.user_id = pr.user_id)"
	"   AS completed,"
	"  (SELECT count(*) FROM session_completions c WHERE c.user_id = pr.user_id)"
	"   + (SELECT count(*) FROM comp c WHERE c.user_id = pr.user_id) AS done,"
	"  p.j->'codes'->>(pr.user_id::text) AS code"
	"  FROM pair pr JOIN p ON p.room = pr.room),"
	" m2 AS (SELECT m.*, (m.completed AND m.done >= (m.j->>'unlock')::int"
	"  AND NOT m.qr_unlocked) AS unlock FROM m),"
	" upd AS (UPDATE users x SET"
	"  timer_total_seconds = x.timer_total_seconds"
	"   + CASE WHEN m.saved THEN (m.j->>'d')::int ELSE 0 END,"
	"  session_count = x.session_count + CASE WHEN m.saved THEN 1 ELSE 0 END,"
	"  last_sessions = CASE WHEN NOT m.saved THEN x.last_sessions ELSE"
	"   (SELECT coalesce(jsonb_agg(e ORDER BY i), '[]'::jsonb) FROM"
	"    (SELECT e, i FROM jsonb_array_elements(x.last_sessions || jsonb_build_array("
	"     jsonb_build_object('at', (m.j->>'now')::bigint, 'duration', (m.j->>'d')::int)))"
	"     WITH ORDINALITY AS t(e, i) ORDER BY i DESC LIMIT 10) s) END,"
	"  streak_days = CASE WHEN NOT m.saved THEN x.streak_days"
	"   WHEN jsonb_array_length(x.last_sessions) = 0 THEN 1"
	"   WHEN ((x.last_sessions->-1->>'at')::bigint / 86400000)"
	"    = ((m.j->>'now')::bigint / 86400000) - 1 THEN x.streak_days + 1"
	"   WHEN ((x.last_sessions->-1->>'at')::bigint / 86400000)"
	"    = ((m.j->>'now')::bigint / 86400000) THEN greatest(x.streak_days, 1)"
	"   ELSE 1 END,"
	"  successful_sessions = CASE WHEN m.completed THEN m.done::int"
	"   ELSE x.successful_sessions END,"
	"  qr_unlocked = x.qr_unlocked OR m.unlock,"
	"  qr_unlocked_at = CASE WHEN m.unlock THEN now() ELSE x.qr_unlocked_at END,"
	"  paid_status = CASE WHEN m.unlock AND x.paid_status = 'qr_grace_period'"
	"   THEN 'qr_verified' ELSE x.paid_status END,"
	"  my_invite_code = CASE WHEN m.unlock AND x.my_invite_code IS NULL THEN m.code"
	"   ELSE x.my_invite_code END,"
	"  invite_code_uses_remaining = CASE WHEN m.unlock AND x.my_invite_code IS NULL THEN 4"
	"   ELSE x.invite_code_uses_remaining END,"
	"  updated_at = now()"
	"  FROM m2 m WHERE x.user_id = m.user_id AND (m.saved OR m.completed)"
	"  RETURNING x.user_id, x.timer_total_seconds, x.session_count, x.last_sessions,"
	"   m.unlock, x.successful_sessions),"
	" codes AS (INSERT INTO invite_codes (code, created_by, created_by_name, type, max_uses,"
	"  uses_remaining)"
	"  SELECT m.code, m.user_id, m.name, 'user', 4, 4 FROM m2 m"
	"  WHERE m.unlock AND m.my_invite_code IS NULL RETURNING code),"
	" cd AS (INSERT INTO cooldowns (user_id_1, user_id_2, expires_at)"
	"  SELECT least((p.j->>'u1')::uuid, (p.j->>'u2')::uuid),"
	"   greatest((p.j->>'u1')::uuid, (p.j->>'u2')::uuid),"
	"   to_timestamp((p.j->>'cd')::bigint / 1000.0)"
	"  FROM p WHERE (SELECT count(*) FROM u WHERE u.room = p.room) = 2"
	"  ON CONFLICT ON CONSTRAINT cooldowns_pair_key DO UPDATE"
	"   SET expires_at = greatest(cooldowns.expires_at, EXCLUDED.expires_at) RETURNING 1)"
	" SELECT pr.room::text, pr.user_id::text,"
	"  coalesce(upd.timer_total_seconds, pr.timer_total_seconds),"
	"  coalesce(upd.session_count, pr.session_count),"
	"  coalesce(upd.last_sessions, pr.last_sessions)::text, coalesce(upd.unlock, false),"
	"  coalesce(upd.successful_sessions, pr.successful_sessions),"
	"  (SELECT count(*) FROM codes) + (SELECT count(*) FROM cd)"
	" FROM pair pr LEFT JOIN upd ON upd.user_id = pr.user_id";

enum { E_ROOM, E_USER, E_TIMER, E_COUNT, E_LAST, E_UNLOCK, E_DONE, E_WRITES, E__COUNT };

enum job_kind { JOB_COOLDOWN, JOB_END };

struct member {
	char uid[NS_UUID_LEN + 1];
	char sock[CONN_SID_LEN + 1];	/* the socket the room recorded */
	int joined;
	int gone;			/* the member whose cleanup ended the call */
};

struct job {
	lws_dll2_t list;		/* in gw->jobs */
	lws_sorted_usec_list_t sul;	/* retry timer */
	struct gw *g;
	struct pg_req *req;
	enum job_kind kind;
	int64_t first_at;		/* monotonic ms */
	int backoff_ms;
	int finalized;			/* session:finalized sent */
	const char *sql;
	int nparams;
	char *params[3];
	/* JOB_END */
	struct callend_batch *batch;	/* the statement it is written by, while in one */
	int alone;			/* retried in a statement of its own */
	char room[NS_UUID_LEN + 1];
	char session_id[SESSION_ID_MAX];
	struct member m[2];
	json_object *socks;		/* joined socketIds (array), owned */
};

/* Call ends written by one statement: waiting in gw->end_batch, then in flight. */
struct callend_batch {
	struct gw *g;
	struct pg_req *req;
	int n;
	struct job *jobs[CALLEND_BATCH_MAX];	/* NULL once a job is freed (shutdown) */
	char *param;				/* the JSON array, while in flight */
};

static void job_run(struct job *j);
static void ends_detach(struct job *j);

static const char *
num(char buf[NUM_MAX], int64_t v)
{
	snprintf(buf, NUM_MAX, "%" PRId64, v);
	return buf;
}

static void
job_free(struct job *j)
{
	int i;

	lws_sul_cancel(&j->sul);
	lws_dll2_remove(&j->list);
	ends_detach(j);
	pg_forget(j->req);
	for (i = 0; i < 3; i++)
		free(j->params[i]);
	json_object_put(j->socks);
	free(j);
}

/* ---- delivery ---------------------------------------------------------------------------- */

struct batch {
	int n;
	const char *args[CALLEND_DELIVER_MAX * 4];
	char *texts[CALLEND_DELIVER_MAX];	/* owned data JSON */
};

static void
batch_add(struct batch *b, const char *sid, const char *uid, const char *event, json_object *data)
{
	size_t len;
	char *t = NULL;

	if (b->n >= CALLEND_DELIVER_MAX)
		return;
	if (data && !(t = strdup(ns_json_text(data, &len))))
		return;
	b->texts[b->n] = t;
	b->args[b->n * 4] = sid ? sid : "";
	b->args[b->n * 4 + 1] = uid ? uid : "";
	b->args[b->n * 4 + 2] = event;
	b->args[b->n * 4 + 3] = t ? t : "";
	b->n++;
}

static void
batch_send(struct gw *g, struct batch *b)
{
	int i;

	if (b->n > 0)
		gwlua_eval(g, "event delivery", deliver_lua, 0, b->n * 4, b->args, NULL, NULL);
	for (i = 0; i < b->n; i++)
		free(b->texts[i]);
	b->n = 0;
}

void
callend_send(struct gw *g, const char *sid, const char *uid, const char *event,
    json_object *data)
{
	struct batch b = { 0 };

	batch_add(&b, sid, uid, event, data);
	batch_send(g, &b);
}

/* session:finalized to the joined sockets, and to the current socket of a member who never
 * joined; not to the member whose cleanup ended the call. */
static void
add_finalized(struct job *j, struct batch *b)
{
	json_object *o = ns_json_obj();
	size_t i, n = json_object_is_type(j->socks, json_type_array) ?
	    json_object_array_length(j->socks) : 0;
	int k;

	ns_json_set_str(o, "sessionId", j->session_id);
	for (i = 0; i < n; i++) {
		const char *s = json_object_get_string(json_object_array_get_idx(j->socks, i));

		if (s && *s)
			batch_add(b, s, NULL, "session:finalized", o);
	}
	for (k = 0; k < 2; k++)
		if (!j->m[k].joined && !j->m[k].gone)
			batch_add(b, NULL, j->m[k].uid, "session:finalized", o);
	json_object_put(o);
	j->finalized = 1;
}

/* ---- completion -------------------------------------------------------------------------- */

/* A users row (NS_CACHE_USER) or a user's cooldowns (NS_CACHE_EXCL) changed: the REST
 * cache entry is overwritten with a tombstone (a user entry's fill goes with it, keys.h). */
static void
invalidate(struct gw *g, const char *kind, const char *uid)
{
	char key[NS_KEY_MAX], fkey[NS_KEY_MAX], stone[NS_UUID_LEN + 2], ttl[NUM_MAX];
	const char *a[4] = { key, fkey, stone, ttl };
	int rc;

	if (!ns_keys_cache(key, kind, uid) || !ns_keys_cache(fkey, NS_CACHE_FILL, uid) ||
	    ns_rand_uuid(stone + 1) != NS_OK)
		return;
	stone[0] = NS_CACHE_TOMBSTONE[0];
	num(ttl, NS_CACHE_TOMBSTONE_TTL_S);
	if (strcmp(kind, NS_CACHE_USER) == 0)
		rc = gwlua_eval(g, "cache invalidation", NS_CACHE_USER_INVALIDATE_LUA, 2, 4, a,
		    NULL, NULL);
	else
		rc = bus_cmd(g->bus, NULL, NULL, "SET %s %s EX %s", key, stone, ttl);
	if (rc < 0)
		ns_log_warn("gateway: redis down: cache %s of %s not invalidated", kind, uid);
}

static void
end_done(struct job *j, const PGresult *res)
{
	struct gw *g = j->g;
	struct batch b = { 0 };
	int r, k, rows = PQntuples(res);

	for (r = 0; r < rows && PQnfields(res) == E__COUNT; r++) {
		const char *uid = PQgetvalue(res, r, E_USER);
		json_object *o, *last;

		if (strcmp(PQgetvalue(res, r, E_ROOM), j->room) != 0)
			continue;	/* another call end of the same statement */
		invalidate(g, NS_CACHE_USER, uid);
		invalidate(g, NS_CACHE_EXCL, uid);	/* the pair's cooldown */
		for (k = 0; k < 2 && strcmp(j->m[k].uid, uid) != 0; k++)
			;
		if (k == 2 || j->m[k].gone)
			continue;
		o = ns_json_obj();
		ns_json_set_int(o, "timerTotalSeconds", strtoll(PQgetvalue(res, r, E_TIMER), NULL, 10));
		ns_json_set_int(o, "sessionCount", strtoll(PQgetvalue(res, r, E_COUNT), NULL, 10));
		last = json_tokener_parse(PQgetvalue(res, r, E_LAST));
		ns_json_set(o, "lastSessions", last ? last : json_object_new_array());
		batch_add(&b, j->m[k].sock, uid, "metrics:update", o);
		json_object_put(o);
		if (PQgetvalue(res, r, E_UNLOCK)[0] == 't') {
			o = ns_json_obj();
			ns_json_set_str(o, "message", QR_MESSAGE);
			ns_json_set_int(o, "sessionsCompleted",
			    strtoll(PQgetvalue(res, r, E_DONE), NULL, 10));
			batch_add(&b, j->m[k].sock, uid, "qr:unlocked", o);
			json_object_put(o);
		}
	}
	if (!j->finalized)
		add_finalized(j, &b);
	batch_send(g, &b);
}

static void
retry(lws_sorted_usec_list_t *sul)
{
	job_run(lws_container_of(sul, struct job, sul));
}

static void
failed(struct job *j)
{
	struct batch b = { 0 };

	if (j->kind == JOB_END && !j->finalized) {
		add_finalized(j, &b);
		batch_send(j->g, &b);
	}
	if (j->g->draining || ns_clock_mono_ms() - j->first_at > CALLEND_GIVE_UP_MS) {
		ns_log_err("gateway: %s write given up (%s)",
		    j->kind == JOB_END ? "call-end" : "cooldown", j->session_id);
		job_free(j);
		return;
	}
	ns_log_warn("gateway: %s write failed; retrying in %d ms",
	    j->kind == JOB_END ? "call-end" : "cooldown", j->backoff_ms);
	lws_sul_schedule(j->g->ctx, 0, &j->sul, retry, (lws_usec_t)j->backoff_ms * LWS_US_PER_MS);
	j->backoff_ms = j->backoff_ms * 2 > CALLEND_RETRY_MAX_MS ? CALLEND_RETRY_MAX_MS :
	    j->backoff_ms * 2;
}

static void
on_result(struct gw *g, const PGresult *res, void *arg)
{
	struct job *j = arg;

	j->req = NULL;
	if (!res) {
		failed(j);
		return;
	}
	if (j->kind == JOB_END) {
		end_done(j, res);
	} else {
		invalidate(g, NS_CACHE_EXCL, j->params[0]);
		invalidate(g, NS_CACHE_EXCL, j->params[1]);
	}
	job_free(j);
}

/* ---- call ends in batches -------------------------------------------------------------- */

static void ends_free(struct callend_batch *e);

/* A job freed while in a statement (shutdown): the statement forgets it, and is forgotten
 * itself once it holds no job. */
static void
ends_detach(struct job *j)
{
	struct callend_batch *e = j->batch;
	int k, left = 0;

	if (!e)
		return;
	for (k = 0; k < e->n; k++) {
		if (e->jobs[k] == j)
			e->jobs[k] = NULL;
		left += e->jobs[k] != NULL;
	}
	j->batch = NULL;
	if (!left)
		ends_free(e);
}

static void
ends_free(struct callend_batch *e)
{
	int k;

	for (k = 0; k < e->n; k++)
		if (e->jobs[k])
			e->jobs[k]->batch = NULL;
	if (e->g->end_batch == e)
		e->g->end_batch = NULL;
	pg_forget(e->req);
	free(e->param);
	free(e);
}

static void
on_ends(struct gw *g, const PGresult *res, void *arg)
{
	struct callend_batch *e = arg;
	int k;

	(void)g;
	e->req = NULL;
	for (k = 0; k < e->n; k++) {
		struct job *j = e->jobs[k];

		if (!j)
			continue;
		j->batch = NULL;
		e->jobs[k] = NULL;
		if (!res) {
			/* one bad call end must not hold back the others at every retry */
			j->alone |= e->n > 1;
			failed(j);
			continue;
		}
		end_done(j, res);
		job_free(j);
	}
	ends_free(e);
}

/* Send the waiting call ends as one statement. */
static void
ends_send(struct gw *g)
{
	struct callend_batch *e = g->end_batch;
	const char *param;
	size_t len = 2;
	char *at;
	int k, live = 0;

	/* a waiting statement holds a job: ends_detach frees one that holds none */
	if (!e)
		return;
	g->end_batch = NULL;
	for (k = 0; k < e->n; k++)
		if (e->jobs[k]) {
			len += strlen(e->jobs[k]->params[0]) + 1;
			live++;
		}
	if (!(e->param = malloc(len))) {
		for (k = 0; k < e->n; k++)
			if (e->jobs[k]) {
				e->jobs[k]->batch = NULL;
				failed(e->jobs[k]);
			}
		e->n = 0;
		ends_free(e);
		return;
	}
	at = e->param;
	*at++ = '[';
	for (k = 0; k < e->n; k++)
		if (e->jobs[k]) {
			size_t n = strlen(e->jobs[k]->params[0]);

			if (at > e->param + 1)
				*at++ = ',';
			memcpy(at, e->jobs[k]->params[0], n);
			at += n;
		}
	*at++ = ']';
	*at = '\0';
	param = e->param;
	ns_log_debug("gateway: %d call end(s) in one statement", live);
	if (!(e->req = pg_query(g->pg, end_sql, 1, &param, on_ends, e)))
		on_ends(g, NULL, e);
}

static int
shares_user(const struct job *x, const struct job *y)
{
	int a, b;

	for (a = 0; a < 2; a++)
		for (b = 0; b < 2; b++)
			if (strcmp(x->m[a].uid, y->m[b].uid) == 0)
				return 1;
	return 0;
}

static int
ends_has_user(const struct callend_batch *e, const struct job *j)
{
	int k;

	for (k = 0; k < e->n; k++)
		if (e->jobs[k] && shares_user(e->jobs[k], j))
			return 1;
	return 0;
}

/* A call end joins the waiting statement, which goes out when full, when one of its users
 * would appear twice, or at the end of the loop turn (callend_flush). One whose shared
 * statement failed is retried alone from then on. */
static void
ends_add(struct job *j)
{
	struct gw *g = j->g;
	struct callend_batch *e = g->end_batch;

	if (e && (j->alone || ends_has_user(e, j))) {
		ends_send(g);
		e = NULL;
	}
	if (!e) {
		if (!(e = calloc(1, sizeof(*e)))) {
			failed(j);
			return;
		}
		e->g = g;
		g->end_batch = e;
	}
	e->jobs[e->n++] = j;
	j->batch = e;
	if (e->n == CALLEND_BATCH_MAX || j->alone)
		ends_send(g);
}

static void
job_run(struct job *j)
{
	if (j->kind == JOB_END) {
		ends_add(j);
		return;
	}
	j->req = pg_query(j->g->pg, j->sql, j->nparams, (const char *const *)j->params,
	    on_result, j);
	if (!j->req)
		failed(j);
}

static struct job *
job_new(struct gw *g, enum job_kind kind)
{
	struct job *j = calloc(1, sizeof(*j));

	if (!j)
		return NULL;
	j->g = g;
	j->kind = kind;
	j->first_at = ns_clock_mono_ms();
	j->backoff_ms = CALLEND_RETRY_MIN_MS;
	lws_dll2_add_tail(&j->list, &g->jobs);
	return j;
}

void
callend_cooldown(struct gw *g, const char *a, const char *b, int long_kind)
{
	char ua[NS_UUID_LEN + 1], ub[NS_UUID_LEN + 1], until[NUM_MAX];
	int64_t secs = long_kind ? g->cfg->cooldown_long_s : g->cfg->cooldown_short_s;
	struct job *j;

	if (!ns_rand_uuid_parse(a, ua) || !ns_rand_uuid_parse(b, ub) || strcmp(ua, ub) == 0 ||
	    !(j = job_new(g, JOB_COOLDOWN)))
		return;
	num(until, ns_clock_now_ms() + secs * 1000);
	j->sql = cooldown_sql;
	j->nparams = 3;
	j->params[0] = strdup(ua);
	j->params[1] = strdup(ub);
	j->params[2] = strdup(until);
	snprintf(j->session_id, sizeof(j->session_id), "cooldown");
	if (!j->params[0] || !j->params[1] || !j->params[2]) {
		job_free(j);
		return;
	}
	job_run(j);
}

/* ---- room end ---------------------------------------------------------------------------- */

/* A number the script wrote as a string (hash fields) or as a number. */
static int64_t
field_num(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		return 0;
	if (json_object_is_type(v, json_type_string))
		return strtoll(json_object_get_string(v), NULL, 10);
	return json_object_get_int64(v);
}

static void
member_set(struct member *m, json_object *room, const char *user, const char *sock,
    const char *joined, const char *gone)
{
	const char *s;

	if (!ns_rand_uuid_parse(ns_json_get_str(room, user), m->uid))
		m->uid[0] = '\0';
	s = ns_json_get_str(room, sock);
	snprintf(m->sock, sizeof(m->sock), "%s", s ? s : "");
	s = ns_json_get_str(room, joined);
	m->joined = s && strcmp(s, "1") == 0;
	m->gone = gone && strcmp(gone, m->uid) == 0;
}

/* One claimed room: job = {roomJSON, message, ...}. */
static void
end_room(struct gw *g, redisReply *job)
{
	const struct ns_config *cfg = g->cfg;
	json_object *room = NULL, *p, *msgs, *codes, *o;
	char code[INVITE_CODE_LEN + 1];
	const char *gone, *rid;
	int64_t started, ended, d;
	struct job *j;
	size_t i, len;
	int k, save;

	if (job->type != REDIS_REPLY_ARRAY || job->elements < 1 ||
	    job->element[0]->type != REDIS_REPLY_STRING ||
	    ns_json_parse_object(job->element[0]->str, job->element[0]->len, &room) != NS_OK)
		return;
	if (!(j = job_new(g, JOB_END))) {
		json_object_put(room);
		return;
	}
	gone = ns_json_get_str(room, "gone");
	rid = ns_json_get_str(room, "id");
	if (!ns_rand_uuid_parse(rid, j->room))
		rid = NULL;
	member_set(&j->m[0], room, "user1", "sock1", "joined1", gone);
	member_set(&j->m[1], room, "user2", "sock2", "joined2", gone);
	if (json_object_object_get_ex(room, "socks", &o) &&
	    json_object_is_type(o, json_type_array))
		j->socks = json_object_get(o);
	started = field_num(room, "startedAt");
	ended = field_num(room, "endedAt");
	d = ended > started ? (ended - started) / 1000 : 0;
	snprintf(j->session_id, sizeof(j->session_id), "session-%" PRId64 "%s", ended,
	    gone ? "-disconnected" : "");
	save = d >= cfg->call_save_min_s;
	ns_log_info("gateway: room %s ended after %" PRId64 " s%s", rid ? rid : "?", d,
	    gone ? " (disconnect)" : "");

	/* §3.9: a disconnect end writes nothing under the minimum length. */
	if ((gone && !save) || !rid || !j->m[0].uid[0] || !j->m[1].uid[0]) {
		struct batch b = { 0 };

		add_finalized(j, &b);
		batch_send(g, &b);
		job_free(j);
		json_object_put(room);
		return;
	}
	p = ns_json_obj();
	ns_json_set_str(p, "room", j->room);
	ns_json_set_str(p, "u1", j->m[0].uid);
	ns_json_set_str(p, "u2", j->m[1].uid);
	ns_json_set_str(p, "sid", j->session_id);
	ns_json_set_int(p, "started", started);
	ns_json_set_int(p, "now", ended);
	ns_json_set_int(p, "d", d);
	ns_json_set_bool(p, "save", save);
	ns_json_set_bool(p, "complete", !gone && d >= cfg->call_complete_min_s);
	ns_json_set_int(p, "cd", ended + (int64_t)cfg->cooldown_long_s * 1000);
	ns_json_set_int(p, "unlock", cfg->qr_unlock_completions);
	msgs = json_object_new_array();
	for (i = 1; i < job->elements; i++)
		if (job->element[i]->type == REDIS_REPLY_STRING &&
		    ns_json_parse_object(job->element[i]->str, job->element[i]->len, &o) == NS_OK)
			json_object_array_add(msgs, o);
	if (gone) {
		o = ns_json_obj();
		ns_json_set_str(o, "from", "system");
		ns_json_set_str(o, "text", SYSTEM_MESSAGE);
		ns_json_set_int(o, "timestamp", ended);
		ns_json_set_str(o, "type", "message");
		json_object_array_add(msgs, o);
	}
	ns_json_set(p, "msgs", msgs);
	/* Own invite codes for a QR unlock, drawn now; used only if the unlock happens. */
	codes = ns_json_obj();
	for (k = 0; k < 2; k++)
		if (ns_rand_code(code, INVITE_CODE_LEN) == NS_OK)
			ns_json_set_str(codes, j->m[k].uid, code);
	ns_json_set(p, "codes", codes);
	j->params[0] = strdup(ns_json_text(p, &len));
	json_object_put(p);
	json_object_put(room);
	if (!j->params[0]) {
		job_free(j);
		return;
	}
	job_run(j);
}

void
callend_effects(struct gw *g, redisReply *reply, void *arg)
{
	redisReply *cd;
	size_t i;

	(void)arg;
	if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2)
		return;
	cd = reply->element[1];
	if (cd->type == REDIS_REPLY_ARRAY)
		for (i = 0; i + 2 < cd->elements; i += 3)
			if (cd->element[i]->type == REDIS_REPLY_STRING &&
			    cd->element[i + 1]->type == REDIS_REPLY_STRING &&
			    cd->element[i + 2]->type == REDIS_REPLY_STRING)
				callend_cooldown(g, cd->element[i]->str, cd->element[i + 1]->str,
				    strcmp(cd->element[i + 2]->str, "long") == 0);
	for (i = 2; i < reply->elements; i++)
		end_room(g, reply->element[i]);
}

static int
forget_one(struct lws_dll2 *d, void *user)
{
	struct job *j = lws_container_of(d, struct job, list);

	(void)user;
	ns_log_err("gateway: shutdown: %s write not done (%s)",
	    j->kind == JOB_END ? "call-end" : "cooldown", j->session_id);
	job_free(j);
	return 0;
}

void
callend_flush(struct gw *g)
{
	ends_send(g);
}

void
callend_shutdown(struct gw *g)
{
	lws_dll2_foreach_safe(&g->jobs, NULL, forget_one);
}
