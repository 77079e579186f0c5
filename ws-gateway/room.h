/* room: the room events of §3.7-§3.8 — room:join, the rtc:offer/answer/ice relays, room:chat,
 * room:giveSocial and call:end. The room lives in Redis (ns:room:*); only sockets joined to
 * it (its ":socks" set) may relay or chat, and they reach every other joined socket on any
 * gateway. */
#ifndef NS_ROOM_H
#define NS_ROOM_H
#include <json-c/json.h>

#define ROOM_CHAT_MAX 500		/* characters of one chat message (§4.1) */
#define ROOM_MESSAGES_MAX "1000"	/* messages stored per room; later ones only relayed */

struct gw;
struct conn;

void room_join(struct gw *g, struct conn *c, json_object *payload);
void room_offer(struct gw *g, struct conn *c, json_object *payload);
void room_answer(struct gw *g, struct conn *c, json_object *payload);
void room_ice(struct gw *g, struct conn *c, json_object *payload);
void room_chat(struct gw *g, struct conn *c, json_object *payload);
void room_give_social(struct gw *g, struct conn *c, json_object *payload);
void room_end(struct gw *g, struct conn *c, json_object *payload);

#endif
