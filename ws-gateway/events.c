/* events: client → server event dispatch. Handlers are added here by the domain files. */
#include "config.h"

#include <string.h>

#include "log.h"
#include "conn.h"
#include "events.h"

struct handler {
	const char *name;
	void (*fn)(struct gw *g, struct conn *c, json_object *payload);
};

static const struct handler handlers[] = {
	{ NULL, NULL }	/* the domain handlers (auth, presence, queue, call, room) go above */
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
