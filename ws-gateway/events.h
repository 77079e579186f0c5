/* events: the table of client → server Socket.IO events and their handlers. */
#ifndef NS_EVENTS_H
#define NS_EVENTS_H
#include <json-c/json.h>

struct gw;
struct conn;

/* Run the handler for name; unknown events are ignored. payload may be NULL. */
void events_dispatch(struct gw *g, struct conn *c, const char *name, json_object *payload);

#endif
