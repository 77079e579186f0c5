/* http: the plain-HTTP side of the gateway port: GET /health, the checks that admit or
 * refuse a WebSocket upgrade, and JSON errors for everything else. */
#ifndef NS_HTTP_H
#define NS_HTTP_H
#include <libwebsockets.h>

struct gw;

/* LWS_CALLBACK_HTTP: answer the request whose path is uri. Returns the callback's value. */
int http_serve(struct gw *g, struct lws *wsi, const char *uri);
/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: 0 admits the upgrade; >0 means a refusal was written. */
int http_confirm_upgrade(struct gw *g, struct lws *wsi);

#endif
