/* events: client → server event dispatch; the handlers live in their domain files. */
#include "config.h"

#include <string.h>

#include "log.h"
#include "auth.h"
#include "conn.h"
#include "events.h"
#include "invite.h"
#include "live.h"
#include "metrics.h"
#include "room.h"

struct handler {
	const char *name;
	void (*fn)(struct gw *g, struct conn *c, json_object *payload);
};

static const struct handler handlers[] = {
	{ "auth", auth_event },
	{ "presence:join", live_presence_join },
	{ "presence:leave", live_presence_leave },
	{ "queue:join", live_queue_join },
	{ "queue:leave", live_queue_leave },
	{ "call:invite", invite_call },
	{ "call:accept", invite_accept },
	{ "call:decline", invite_decline },
	{ "call:rescind", invite_rescind },
	{ "call:extend-wait", invite_extend },
	{ "room:join", room_join },
	{ "rtc:offer", room_offer },
	{ "rtc:answer", room_answer },
	{ "rtc:ice", room_ice },
	{ "room:chat", room_chat },
	{ "room:giveSocial", room_give_social },
	{ "call:end", room_end },
	{ NULL, NULL }
};

void
events_dispatch(struct gw *g, struct conn *c, const char *name, json_object *payload)
{
	const struct handler *h;

	for (h = handlers; h->name; h++)
		if (strcmp(h->name, name) == 0) {
			metrics_event((size_t)(h - handlers), h->name);
			h->fn(g, c, payload);
			return;
		}
	metrics_inc(METRICS_EVENTS_UNKNOWN);
	ns_log_debug("gateway: %s: ignored event '%s'", c->sid, name);
}
