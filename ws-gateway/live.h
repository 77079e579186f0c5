/* live: the gateway's share of the Redis state (docs/ARCHITECTURE.md): socket registrations
 * (§3.11), presence and availability (§3.5) and the disconnect grace (§3.9). Each change is
 * one server-side script, so it is atomic and its broadcast (PUBLISH on ns:bcast) leaves
 * with it; none of them waits for a reply on the loop. */
#ifndef NS_LIVE_H
#define NS_LIVE_H
#include <json-c/json.h>

#define LIVE_DEBOUNCE_MS "2000"		/* presence:join broadcast, per user across gateways */

struct gw;
struct conn;

/* c was just bound (c->user_id, c->token): register it, set the user online (available
 * unchanged) and disconnect the user's oldest sockets over the per-user cap, wherever they
 * are. old_token: the session c was bound to before (its registration is moved), or NULL. */
void live_register(struct gw *g, struct conn *c, const char *old_token);
/* c (authenticated) is closing: remove its registration; then an explicit disconnect cleans
 * the user up at once when no other socket is left, a transport loss makes the user
 * unavailable at once and schedules the grace check (sched.c: full cleanup after
 * disconnect_grace_ms unless a socket came back, run by whichever gateway claims it). */
void live_unregister(struct gw *g, struct conn *c);

/* How many of this gateway's sockets should be registered in Redis. */
unsigned live_count(struct gw *g);
/* Register every authenticated socket of this gateway again (Redis lost them, or another
 * gateway took this one for dead and reaped them): queued, and sent by the pump. A
 * registration the link drops in flight is queued the same way, on its own. */
void live_reregister_all(struct gw *g);
/* Send a batch of the queued registrations; once per loop turn. Paced by the replies: no
 * more while the command link has many waiting. */
void live_reregister_pump(struct gw *g);
/* Registrations still queued (nonzero while a full re-registration is pending). */
unsigned live_reregister_pending(struct gw *g);
/* Drop the queue (shutdown). */
void live_reregister_free(struct gw *g);

/* Event handlers (§3.3); unauthenticated sockets are ignored. */
void live_presence_join(struct gw *g, struct conn *c, json_object *payload);
void live_presence_leave(struct gw *g, struct conn *c, json_object *payload);
void live_queue_join(struct gw *g, struct conn *c, json_object *payload);
void live_queue_leave(struct gw *g, struct conn *c, json_object *payload);

#endif
