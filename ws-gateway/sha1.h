/* sha1: SHA-1 (FIPS 180-4) of a byte string, as hex: the name Redis gives a Lua script, so
 * the gateway can call it by EVALSHA without waiting for SCRIPT LOAD's answer (gwlua.c).
 * Not for anything secret. Our own, because OpenSSL 3's SHA1() sets up its provider tables
 * on first use: 2.2 MB more resident memory in every gateway. */
#ifndef NS_SHA1_H
#define NS_SHA1_H
#include <stddef.h>

#define SHA1_HEX_LEN 40

/* out: SHA1_HEX_LEN lowercase hex digits and a NUL. */
void sha1_hex(const void *data, size_t len, char out[SHA1_HEX_LEN + 1]);

#endif
