/* ctl: what arrives on the bus (pub/sub): broadcasts on ns:bcast handed to the queue feed
 * (qfeed.h), control messages from the REST workers on ns:ctl (session
 * invalidation, logout, referral notifications, queue views), and messages on this gateway's own
 * channel (disconnect one socket). */
#ifndef NS_CTL_H
#define NS_CTL_H
#include <stddef.h>

#define CTL_MESSAGE_MAX 65536	/* longer bus messages are dropped */
#define CTL_TOKENS_MAX 1024	/* tokens acted on from one control message */

struct gw;

/* The bus_message_fn of the gateway. */
void ctl_on_message(struct gw *g, const char *channel, const char *msg, size_t len);

#endif
