/* http: /health, /metrics, upgrade admission and JSON errors on the gateway port. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nsconfig.h"
#include "json.h"
#include "log.h"
#include "bus.h"
#include "cidr.h"
#include "gw.h"
#include "http.h"
#include "metrics.h"

#define HTTP_HDR_MAX 512	/* ceiling for our response headers */
#define HTTP_BODY_MAX 512	/* ceiling for our response bodies */
#define HTTP_ARG_MAX 256	/* ceiling for one query argument or the Origin header */
#define HTTP_URI_MAX 256	/* longer paths are not ours */
#define HTTP_IP_MAX 64		/* ceiling for an address as text (X-Real-IP, peer) */

/* Write the headers of a response with a body of len bytes. Returns 0, or -1. */
static int
headers(struct lws *wsi, unsigned int status, const char *type, size_t len)
{
	unsigned char hdr[LWS_PRE + HTTP_HDR_MAX];
	unsigned char *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof(hdr) - 1;

	if (lws_add_http_common_headers(wsi, status, type, len, &p, end) ||
	    lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
	    (const unsigned char *)"no-store", 8, &p, end))
		return -1;
	if (status == HTTP_STATUS_SERVICE_UNAVAILABLE &&
	    lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
	    (const unsigned char *)"5", 1, &p, end))
		return -1;
	return lws_finalize_write_http_header(wsi, start, &p, end) ? -1 : 0;
}

/* Write one complete JSON response. Returns 0, or -1 if the connection failed. */
static int
reply(struct lws *wsi, unsigned int status, const char *body)
{
	unsigned char out[LWS_PRE + HTTP_BODY_MAX];
	size_t len = strlen(body);

	if (len > HTTP_BODY_MAX ||
	    headers(wsi, status, "application/json; charset=utf-8", len) < 0)
		return -1;
	memcpy(out + LWS_PRE, body, len);
	if (lws_write(wsi, out + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) != (int)len)
		return -1;
	return 0;
}

/* The value of query argument name (lws has already split and URL-decoded them). */
static int
query_arg(struct lws *wsi, const char *name, char *out, size_t cap)
{
	char frag[HTTP_ARG_MAX];
	size_t nl = strlen(name);
	int i, n;

	for (i = 0; lws_hdr_fragment_length(wsi, WSI_TOKEN_HTTP_URI_ARGS, i) > 0; i++) {
		n = lws_hdr_copy_fragment(wsi, frag, sizeof(frag), WSI_TOKEN_HTTP_URI_ARGS, i);
		if (n < 0 || (size_t)n <= nl || strncmp(frag, name, nl) != 0 || frag[nl] != '=')
			continue;
		if ((size_t)n - nl - 1 >= cap)
			return -1;
		memcpy(out, frag + nl + 1, (size_t)n - nl);
		return 0;
	}
	return -1;
}

/* Is uri the Socket.IO path, with or without its trailing slash? */
static int
is_gateway_path(const struct gw *g, const char *uri)
{
	const char *path = g->cfg->gateway_path;
	size_t pl = strlen(path), ul = strlen(uri);

	if (strcmp(uri, path) == 0)
		return 1;
	return pl > 1 && path[pl - 1] == '/' && ul == pl - 1 && strncmp(uri, path, ul) == 0;
}

/* Engine.IO query checks; on failure returns the 400 body, else NULL. */
static const char *
check_query(struct lws *wsi)
{
	char v[HTTP_ARG_MAX];

	if (query_arg(wsi, "EIO", v, sizeof(v)) < 0 || strcmp(v, "4") != 0)
		return "{\"code\":5,\"message\":\"Unsupported protocol version\"}";
	if (query_arg(wsi, "transport", v, sizeof(v)) < 0 || strcmp(v, "websocket") != 0)
		return "{\"code\":0,\"message\":\"Transport unknown\"}";
	return NULL;
}

/* No Origin header, or one listed in allowed_origins ("*" allows any). */
static int
origin_allowed(const struct gw *g, struct lws *wsi)
{
	char origin[HTTP_ARG_MAX];
	const char *s = g->cfg->allowed_origins, *e;
	size_t ol;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_ORIGIN) <= 0)
		return 1;
	if (lws_hdr_copy(wsi, origin, sizeof(origin), WSI_TOKEN_ORIGIN) < 0)
		return 0;
	ol = strlen(origin);
	while (*s) {
		while (*s == ' ' || *s == ',')
			s++;
		for (e = s; *e && *e != ','; e++)
			;
		size_t n = (size_t)(e - s);
		while (n > 0 && s[n - 1] == ' ')
			n--;
		if ((n == 1 && *s == '*') || (n == ol && n > 0 && strncmp(s, origin, n) == 0))
			return 1;
		s = e;
	}
	return 0;
}

static int
health(struct gw *g, struct lws *wsi)
{
	json_object *o = ns_json_obj(), *redis = ns_json_obj();
	int up = g->bus && bus_is_up(g->bus), rc;

	ns_json_set_str(o, "status", g->draining ? "draining" : up ? "ok" : "unavailable");
	ns_json_set_str(o, "gatewayId", g->id);
	ns_json_set_int(o, "connections", (int64_t)g->conns.count);
	ns_json_set_str(redis, "status", up ? "up" : "down");
	ns_json_set(o, "redis", redis);
	rc = reply(wsi, up && !g->draining ? HTTP_STATUS_OK : HTTP_STATUS_SERVICE_UNAVAILABLE,
	    ns_json_text(o, NULL));
	json_object_put(o);
	return rc;
}

/* The Prometheus page, for metrics_allow only; anyone else gets the 404 of an unknown path.
 * Judged on the peer (or the X-Real-IP of a trusted proxy), like the REST workers. */
static int
metrics_page(struct gw *g, struct lws *wsi)
{
	char ip[HTTP_IP_MAX];
	unsigned char addr[16], *buf;
	size_t len;
	char *page;
	int fam, rc;

	http_client_ip(g, wsi, ip, sizeof(ip));
	if (!(fam = ns_cidr_ip_parse(ip, addr)) ||
	    !ns_cidr_list_match(g->cfg->metrics_allow, fam, addr))
		return reply(wsi, HTTP_STATUS_NOT_FOUND, "{\"error\":\"Not found\"}");
	if (!(page = metrics_render(g, &len)))
		return reply(wsi, HTTP_STATUS_INTERNAL_SERVER_ERROR,
		    "{\"error\":\"Internal server error\"}");
	/* lws_write wants LWS_PRE bytes of headroom before the data. */
	rc = -1;
	if ((buf = malloc(LWS_PRE + len))) {
		memcpy(buf + LWS_PRE, page, len);
		if (headers(wsi, HTTP_STATUS_OK, "text/plain; version=0.0.4; charset=utf-8",
		    len) == 0 &&
		    lws_write(wsi, buf + LWS_PRE, len, LWS_WRITE_HTTP_FINAL) == (int)len)
			rc = 0;
		free(buf);
	}
	free(page);
	return rc;
}

int
http_serve(struct gw *g, struct lws *wsi, const char *uri)
{
	const char *err;
	int rc;

	if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0)
		rc = reply(wsi, HTTP_STATUS_NOT_FOUND, "{\"error\":\"Not found\"}");
	else if (strcmp(uri, "/health") == 0)
		rc = health(g, wsi);
	else if (strcmp(uri, "/metrics") == 0)
		rc = metrics_page(g, wsi);
	else if (is_gateway_path(g, uri))
		/* Right path without an upgrade: the polling transport, which is not offered. */
		rc = reply(wsi, HTTP_STATUS_BAD_REQUEST, (err = check_query(wsi)) ? err :
		    "{\"code\":3,\"message\":\"Bad request\"}");
	else
		rc = reply(wsi, HTTP_STATUS_NOT_FOUND, "{\"error\":\"Not found\"}");
	if (rc < 0)
		return -1;
	return lws_http_transaction_completed(wsi) ? -1 : 0;
}

/* Why a new socket is refused now (HTTP 503, so a proxy tries another gateway), or NULL. */
static const char *
refusal(const struct gw *g, enum metrics_counter *counter)
{
	if (g->draining) {
		*counter = METRICS_REFUSED_DRAINING;
		return "draining";
	}
	if (g->conns.count >= (uint32_t)g->cfg->gateway_max_connections) {
		*counter = METRICS_REFUSED_CAPACITY;
		return "at capacity";
	}
	/* Each socket costs scripts that would queue behind the backlog; the client retries
	 * with backoff (Socket.IO reconnection) instead. */
	if (g->bus && bus_behind(g->bus)) {
		*counter = METRICS_REFUSED_BACKLOG;
		return "redis behind";
	}
	return NULL;
}

int
http_confirm_upgrade(struct gw *g, struct lws *wsi)
{
	char uri[HTTP_URI_MAX];
	const char *err, *why;
	enum metrics_counter counter;

	if (lws_hdr_copy(wsi, uri, sizeof(uri), WSI_TOKEN_GET_URI) < 0 ||
	    !is_gateway_path(g, uri)) {
		metrics_inc(METRICS_REFUSED_OTHER);
		return reply(wsi, HTTP_STATUS_NOT_FOUND, "{\"error\":\"Not found\"}") ? -1 : 1;
	}
	if ((err = check_query(wsi))) {
		metrics_inc(METRICS_REFUSED_OTHER);
		return reply(wsi, HTTP_STATUS_BAD_REQUEST, err) ? -1 : 1;
	}
	if (!origin_allowed(g, wsi)) {
		metrics_inc(METRICS_REFUSED_OTHER);
		return reply(wsi, HTTP_STATUS_FORBIDDEN, "{\"error\":\"Origin not allowed\"}") ?
		    -1 : 1;
	}
	if ((why = refusal(g, &counter))) {
		metrics_inc(counter);
		ns_log_debug("gateway: upgrade refused: %s", why);
		return reply(wsi, HTTP_STATUS_SERVICE_UNAVAILABLE,
		    "{\"error\":\"Service unavailable\"}") ? -1 : 1;
	}
	return 0;
}

void
http_client_ip(struct gw *g, struct lws *wsi, char *out, size_t cap)
{
	char peer[HTTP_IP_MAX], hdr[HTTP_IP_MAX];
	unsigned char addr[16], real[16];
	int fam, rfam;

	out[0] = '\0';
	if (!lws_get_peer_simple(wsi, peer, sizeof(peer)) || !(fam = ns_cidr_ip_parse(peer, addr)))
		return;
	if (ns_cidr_list_match(g->cfg->trusted_proxies, fam, addr) &&
	    lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_X_REAL_IP) > 0 &&
	    lws_hdr_copy(wsi, hdr, sizeof(hdr), WSI_TOKEN_HTTP_X_REAL_IP) > 0 &&
	    (rfam = ns_cidr_ip_parse(hdr, real))) {
		ns_cidr_ip_text(rfam, real, out, cap);
		return;
	}
	ns_cidr_ip_text(fam, addr, out, cap);
}
