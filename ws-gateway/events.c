/* events: client → server event dispatch. Handlers are added here by the domain files. */
#include "config.h"

#include <string.h>

#include "json.h"
#include "log.h"
#include "auth.h"
#include "conn.h"
#include "events.h"
#include "live.h"

struct handler {
	const char *name;
	void (*fn)(struct gw *g, struct conn *c, json_object *payload);
};

/* Answer an event that needs authentication (the two listed errors of §3.3). */
static void
error_reply(struct gw *g, struct conn *c, const char *message)
{
	json_object *o = ns_json_obj();

	ns_json_set_str(o, "message", message);
	conn_emit(g, c, "error", o);
	json_object_put(o);
}

static void
on_call_invite(struct gw *g, struct conn *c, json_object *payload)
{
	(void)payload;
	if (!c->authed)
		error_reply(g, c, "Please wait for authentication to complete");
	/* invites: not in this phase */
}

static void
on_room_join(struct gw *g, struct conn *c, json_object *payload)
{
	(void)payload;
	/* No rooms are kept yet, so every authenticated room:join names an unknown room. */
	error_reply(g, c, c->authed ? "Room not found" : "Not authenticated");
}

static const struct handler handlers[] = {
	{ "auth", auth_event },
	{ "presence:join", live_presence_join },
	{ "presence:leave", live_presence_leave },
	{ "queue:join", live_queue_join },
	{ "queue:leave", live_queue_leave },
	{ "call:invite", on_call_invite },
	{ "room:join", on_room_join },
	{ NULL, NULL }	/* the call and room handlers go above */
};

void
events_dispatch(struct gw *g, struct conn *c, const char *name, json_object *payload)
{
	const struct handler *h;

	for (h = handlers; h->name; h++)
		if (strcmp(h->name, name) == 0) {
			h->fn(g, c, payload);
			return;
		}
	ns_log_debug("gateway: %s: ignored event '%s'", c->sid, name);
}
