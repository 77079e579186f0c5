/* auth: binding a socket to a user (contract §3.2): the session lookup for the Socket.IO
 * CONNECT and for the `auth` event, run on PostgreSQL without blocking the loop, and the
 * outcomes (44 refusals, auth:success, auth:failed, auth:banned). */
#ifndef NS_AUTH_H
#define NS_AUTH_H
#include <json-c/json.h>

struct gw;
struct conn;

/* A CONNECT to "/" with token (or NULL): look it up, then answer the CONNECT. */
int auth_connect(struct gw *g, struct conn *c, const char *token);
/* The `auth {sessionToken}` event. */
void auth_event(struct gw *g, struct conn *c, json_object *payload);
/* `referral:notification {message, notification}` to c. */
void auth_referral_emit(struct gw *g, struct conn *c, json_object *notification);
/* The socket is closing: a lookup in flight must not call back into it. */
void auth_closed(struct gw *g, struct conn *c);

#endif
