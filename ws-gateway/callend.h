/* callend: what follows a script's "effects" (gwlua.h) — the PostgreSQL side of a call end
 * (§3.8 step 2, §3.9 cleanup step 2: history, completions, QR unlock, metrics, cooldown) in
 * one statement, shared by the call ends of one loop turn, then metrics:update,
 * qr:unlocked and session:finalized; and the pair
 * cooldowns of declines, rescinds and caller cleanups (§4.2). Writes that fail (PostgreSQL
 * down) are retried with backoff rather than dropped; the statements are idempotent. */
#ifndef NS_CALLEND_H
#define NS_CALLEND_H
#include <json-c/json.h>
#include <hiredis/hiredis.h>

#define CALLEND_RETRY_MIN_MS 500
#define CALLEND_RETRY_MAX_MS 30000
#define CALLEND_GIVE_UP_MS 3600000	/* a write still failing after an hour is dropped (logged) */
#define CALLEND_DELIVER_MAX 32		/* events sent at one call end */
#define CALLEND_BATCH_MAX 16		/* call ends written by one statement */

struct gw;

/* A bus_reply_fn for scripts answering effects: sets the cooldowns, ends the claimed rooms. */
void callend_effects(struct gw *g, redisReply *reply, void *arg);
/* Pair cooldown until now + the long or short cooldown; keeps a later existing expiry. */
void callend_cooldown(struct gw *g, const char *a, const char *b, int long_kind);
/* Send event (data may be NULL) to socket sid while it is live, else to the current socket
 * of user uid (either may be "" or NULL), wherever it is. */
void callend_send(struct gw *g, const char *sid, const char *uid, const char *event,
    json_object *data);
/* End of a loop turn: send the call ends it gathered (one statement). */
void callend_flush(struct gw *g);
/* Shutdown: forget the writes still waiting (logged). */
void callend_shutdown(struct gw *g);

#endif
