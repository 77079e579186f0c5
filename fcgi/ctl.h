/* ctl: control messages from the REST workers to the gateways, published on NS_CHAN_CTL.
 * Every gateway subscribes to the channel and acts on the sockets it holds, so a request
 * served by any worker reaches sockets on every gateway (contract §3.10, §3.11).
 *
 * Messages are JSON objects with a "type":
 *   {type:'session:invalidated', tokens:[...]}   login elsewhere: emit session:invalidated
 *                                                 to those sessions' sockets, then disconnect
 *   {type:'session:logout', tokens:[...]}        logout: disconnect without an event
 *   {type:'referral:notification', userId, message, notification:{id, forUserId,
 *    referredUserId, referredName, introducedBy, introducedByName, timestamp, read}}
 *                                                 emit referral:notification {message,
 *                                                 notification} to userId's current socket
 *   {type:'queue:view', userId}                  userId's recorded /room/queue page
 *                                                 (ns:qview) changed: gateways holding its
 *                                                 sockets re-read it (scoped queue updates)
 * Publishing is best effort: the state change is already durable in PostgreSQL (guards
 * refuse the session anyway); a lost message only leaves a socket open until its next check. */
#ifndef API_CTL_H
#define API_CTL_H
#include <stddef.h>
#include <json-c/json.h>
#include "err.h"

struct app;

#define API_CTL_MSG_MAX 65536	/* largest control message published */

#define API_CTL_SESSION_INVALIDATED	"session:invalidated"
#define API_CTL_SESSION_LOGOUT		"session:logout"
#define API_CTL_REFERRAL		"referral:notification"
#define API_CTL_QUEUE_VIEW		"queue:view"

/* Publish msg (consumed: json_object_put). NS_E_REDIS when Redis is unreachable. */
enum ns_err api_ctl_publish(struct app *app, json_object *msg);
/* {type, tokens:[tokens[0..n)]} for the two session types above; n == 0 publishes nothing. */
enum ns_err api_ctl_sessions(struct app *app, const char *type, const char *const *tokens,
    size_t n);
/* {type:'referral:notification', userId, message, notification} (notification consumed). */
enum ns_err api_ctl_referral(struct app *app, const char *user_id, const char *referred_name,
    json_object *notification);
/* {type:'queue:view', userId}. */
enum ns_err api_ctl_queue_view(struct app *app, const char *user_id);

#endif
