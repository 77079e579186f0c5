/* bus: Redis on the lws loop (hiredis 0.14 async, each socket adopted by lws as a raw file).
 * Two links: one for commands, one subscribed to this gateway's channel, the broadcast
 * channel and the control channel. Either failing drops both and they are re-made with
 * backoff; nothing blocks. Commands run in the order they are queued (one connection). */
#ifndef NS_BUS_H
#define NS_BUS_H
#include <stddef.h>
#include <hiredis/hiredis.h>
#include <libwebsockets.h>
#include "keys.h"

#define BUS_PROTOCOL_NAME "ns-redis"
#define BUS_CHANNEL_BCAST NS_CHAN_BCAST	/* keys.h: the schema's names */
#define BUS_CHANNEL_CTL NS_CHAN_CTL
#define BUS_KEY_PREFIX "ns:gw:"		/* + gateway id: heartbeat key and private channel */
#define BUS_HEARTBEATS_PER_TTL 3	/* heartbeats sent within gateway_heartbeat_ttl_ms */

struct bus;
struct gw;

/* A published message; channel and msg are valid only during the call. */
typedef void (*bus_message_fn)(struct gw *g, const char *channel, const char *msg, size_t len);

/* A command's reply, or NULL when it failed (link down, error reply: logged). The reply is
 * freed after the call returns. Called exactly once for every command bus_cmd accepted. */
typedef void (*bus_reply_fn)(struct gw *g, redisReply *reply, void *arg);

/* Start connecting (in the background) to cfg redis_url. NULL only on a bad URL or no memory. */
struct bus *bus_new(struct gw *g, bus_message_fn on_message);
/* Both links connected and subscribed. */
int bus_is_up(const struct bus *b);
/* Begin shutdown: delete the heartbeat key, then close both links. */
void bus_stop(struct bus *b);
/* Both links are gone (after bus_stop). */
int bus_is_stopped(const struct bus *b);
/* Changes whenever Redis may have forgotten loaded scripts: each new command connection, and
 * each NOSCRIPT error. */
unsigned bus_epoch(const struct bus *b);
/* Commands on the command link still waiting for their reply. */
unsigned bus_pending(const struct bus *b);
/* More than gateway_redis_backlog_max commands wait: Redis is behind. Work that can wait
 * (new sockets, registrations sent again) is held back, so the backlog, and the memory its
 * buffers take, stays bounded. */
int bus_behind(const struct bus *b);
/* Queue a command on the command link (printf-style as redisAsyncCommand, or argv).
 * fn may be NULL: fire and forget. Returns 0, or -1 when Redis is down (fn is not called). */
int bus_cmd(struct bus *b, bus_reply_fn fn, void *arg, const char *fmt, ...);
int bus_cmd_argv(struct bus *b, bus_reply_fn fn, void *arg, int argc, const char **argv,
    const size_t *argvlen);

/* Free everything; safe after lws_context_destroy. */
void bus_free(struct bus *b);

/* The lws protocol callback for the adopted Redis sockets (name BUS_PROTOCOL_NAME). */
int bus_callback(struct lws *wsi, enum lws_callback_reasons reason, void *user, void *in,
    size_t len);

#endif
