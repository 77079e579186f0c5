/* http: the plain-HTTP side of the gateway port: GET /health, the checks that admit or
 * refuse a WebSocket upgrade, and JSON errors for everything else. */
#ifndef NS_HTTP_H
#define NS_HTTP_H
#include <stddef.h>
#include <libwebsockets.h>

struct gw;

/* LWS_CALLBACK_HTTP: answer the request whose path is uri. Returns the callback's value. */
int http_serve(struct gw *g, struct lws *wsi, const char *uri);
/* LWS_CALLBACK_HTTP_CONFIRM_UPGRADE: 0 admits the upgrade; >0 means a refusal was written. */
int http_confirm_upgrade(struct gw *g, struct lws *wsi);
/* The client's address as text: the TCP peer, or X-Real-IP when the peer is in
 * trusted_proxies. IPv4-mapped IPv6 is written as IPv4; "" when unknown or unparsable. */
void http_client_ip(struct gw *g, struct lws *wsi, char *out, size_t cap);

#endif
