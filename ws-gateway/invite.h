/* invite: the invite events of §3.6 — call:invite (checks 1-7 in order), call:accept (the
 * atomic claim that creates the room), call:decline, call:rescind, call:extend-wait. The
 * invite lives in Redis (ns:inv:*), its expiry in ns:sched:inv (sched.c). */
#ifndef NS_INVITE_H
#define NS_INVITE_H
#include <json-c/json.h>

#define INVITE_SECONDS_MAX 1800	/* requestedSeconds ceiling (fixed, §4.1) */

struct gw;
struct conn;

void invite_call(struct gw *g, struct conn *c, json_object *payload);
void invite_accept(struct gw *g, struct conn *c, json_object *payload);
void invite_decline(struct gw *g, struct conn *c, json_object *payload);
void invite_rescind(struct gw *g, struct conn *c, json_object *payload);
void invite_extend(struct gw *g, struct conn *c, json_object *payload);

/* `error {message}` to c (also used by the room events). */
void invite_error(struct gw *g, struct conn *c, const char *message);

#endif
