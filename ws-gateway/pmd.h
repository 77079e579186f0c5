/* pmd: permessage-deflate (RFC 7692) with bounded per-socket zlib memory.
 *
 * lws' own extension sizes the inflater (what clients send) and the deflater (what we send)
 * from one setting, server_max_window_bits. Clients compress with up to 15 bits unless the
 * server's answer says otherwise, and lws' answer never does, so the inflater must keep a
 * 15-bit window, while the deflater's window is ours to choose. This wrapper sets 15 bits
 * before every inflate and 9 bits before every deflate, and has the deflater's state freed
 * after each message (a fresh deflater is always readable by the peer), so a socket carries
 * no compression state between sends. */
#ifndef NS_PMD_H
#define NS_PMD_H
#include <libwebsockets.h>

extern const struct lws_extension pmd_extensions[];

#endif
