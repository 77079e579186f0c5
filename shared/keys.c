/* keys: Redis key and channel names (see keys.h). */
#include <config.h>

#include <stdio.h>

#include "keys.h"

static char *
build(char buf[NS_KEY_MAX], const char *a, const char *b, const char *c)
{
	int n = snprintf(buf, NS_KEY_MAX, "%s%s%s", a, b, c ? c : "");
	return (n < 0 || n >= NS_KEY_MAX) ? NULL : buf;
}

char *ns_keys_presence(char buf[NS_KEY_MAX], const char *id) { return build(buf, "ns:presence:", id, NULL); }
char *ns_keys_socket(char buf[NS_KEY_MAX], const char *id) { return build(buf, "ns:sock:", id, NULL); }
char *ns_keys_user_sockets(char buf[NS_KEY_MAX], const char *id) { return build(buf, "ns:usocks:", id, NULL); }
char *ns_keys_session_sockets(char buf[NS_KEY_MAX], const char *t) { return build(buf, "ns:ssocks:", t, NULL); }
char *ns_keys_gateway(char buf[NS_KEY_MAX], const char *id) { return build(buf, "ns:gw:", id, NULL); }
char *ns_keys_gateway_sockets(char buf[NS_KEY_MAX], const char *id) { return build(buf, NS_KEYP_GATEWAY_SOCKETS, id, NULL); }
char *ns_keys_presence_debounce(char buf[NS_KEY_MAX], const char *id) { return build(buf, "ns:pjoin:", id, NULL); }

char *
ns_keys_ratelimit(char buf[NS_KEY_MAX], const char *limiter, const char *subject)
{
	char mid[NS_KEY_MAX];
	if (!build(mid, limiter, ":", subject))
		return NULL;
	return build(buf, "ns:rl:", mid, NULL);
}

char *
ns_keys_cache(char buf[NS_KEY_MAX], const char *kind, const char *id)
{
	char mid[NS_KEY_MAX];
	if (!build(mid, kind, ":", id))
		return NULL;
	return build(buf, "ns:c:", mid, NULL);
}

char *ns_keys_queue_view(char buf[NS_KEY_MAX], const char *id) { return build(buf, "ns:qview:", id, NULL); }

char *
ns_keys_reel(char buf[NS_KEY_MAX], const char *user_id, const char *cursor)
{
	char mid[NS_KEY_MAX];
	if (!build(mid, user_id, ":", cursor))
		return NULL;
	return build(buf, "ns:reel:", mid, NULL);
}

char *ns_keys_invite(char buf[NS_KEY_MAX], const char *id) { return build(buf, NS_KEYP_INVITE, id, NULL); }
char *ns_keys_invites_from(char buf[NS_KEY_MAX], const char *id) { return build(buf, NS_KEYP_INVITES_FROM, id, NULL); }
char *ns_keys_invites_to(char buf[NS_KEY_MAX], const char *id) { return build(buf, NS_KEYP_INVITES_TO, id, NULL); }
char *ns_keys_room(char buf[NS_KEY_MAX], const char *id) { return build(buf, NS_KEYP_ROOM, id, NULL); }
char *ns_keys_room_sockets(char buf[NS_KEY_MAX], const char *id) { return build(buf, NS_KEYP_ROOM, id, ":socks"); }
char *ns_keys_room_messages(char buf[NS_KEY_MAX], const char *id) { return build(buf, NS_KEYP_ROOM, id, ":msgs"); }
char *ns_keys_user_room(char buf[NS_KEY_MAX], const char *id) { return build(buf, NS_KEYP_USER_ROOM, id, NULL); }
