/* qfeed: delivery of presence:update and queue:update (from ns:bcast) to this gateway's
 * sockets, coalesced per interval and scoped to what each user can see.
 *
 * Updates are recorded per userId (last state wins; queue and presence apart) and
 * published every queue_update_interval_ms into a bounded change log. Each local user has a
 * cursor per kind into that log; every interval its active sockets (presence:join or
 * queue:join since the last presence:leave) get at most one frame per kind: the oldest
 * change past the cursor about a user it can see. The rest waits for the next intervals.
 * A user sees the users on the last /room/queue page it fetched (ns:qview:<userId>), or
 * without one the first page of ns:available; never its own changes.
 * queue_update_interval_ms = 0 sends every update at once to every authenticated socket.
 *
 * Memory: per socket two pointers and a flag (struct conn); per local user one struct
 * qfeed_user (~64 bytes); a view costs 16 bytes per listed user plus one allocation
 * (1.6 KB for a default page of 100). See docs/ARCHITECTURE.md, "Queue feed". */
#ifndef NS_QFEED_H
#define NS_QFEED_H
#include <stdint.h>
#include <json-c/json.h>

#define QFEED_USER_BUCKETS 4096		/* local-user index (power of two) */
#define QFEED_CHANGE_BUCKETS 1024	/* per kind: userId → change (power of two) */
#define QFEED_LOG_MAX 4096		/* published changes kept per kind (carry-over) */
#define QFEED_PENDING_MAX 4096		/* distinct users recorded per kind within one interval */
#define QFEED_VIEW_MAX 1000		/* userIds kept from one recorded view */
#define QFEED_VIEW_TEXT_MAX 65536	/* longer ns:qview values are ignored */
#define QFEED_FRAME_MAX 128		/* one encoded update frame */

struct gw;
struct conn;

/* The feed's counters (monotonic since start). */
struct qfeed_stats {
	uint64_t frames;	/* update frames queued on sockets by the feed */
	uint64_t bytes;		/* their bytes */
	uint64_t bcast_bytes;	/* broadcast-equivalent: each flushed change's frame size times
				 * the authenticated sockets at that moment */
	uint64_t dropped;	/* changes dropped over QFEED_LOG_MAX / QFEED_PENDING_MAX */
};

/* A {"event","data"} message from ns:bcast (presence:update or queue:update). */
void qfeed_update(struct gw *g, const char *event, json_object *data);
/* {"type":"queue:view","userId"} on ns:ctl: re-read that user's view if it is local. */
void qfeed_view_changed(struct gw *g, const char *user_id);

/* c was bound to c->user_id (again, or to another user): index it under that user. */
void qfeed_bind(struct gw *g, struct conn *c);
/* c is no longer bound (closing, or handed off): drop it from the index. */
void qfeed_unbind(struct gw *g, struct conn *c);
/* c sent presence:join or queue:join (on = 1), or presence:leave (on = 0). */
void qfeed_active(struct conn *c, int on);

void qfeed_stats(const struct gw *g, struct qfeed_stats *out);
/* Cancel the timer and free everything; call before lws_context_destroy. This also
 * happens by itself whenever no socket is bound (made again by the next one). */
void qfeed_free(struct gw *g);

#endif
