/* sha256: SHA-256 (FIPS 180-4) of a byte string. Our own, for the same reason as the
 * gateway's sha1.h: OpenSSL 3's one-shot digests set up its provider tables on first use,
 * which left about 1.9 MB more of libcrypto resident in every API worker that served a
 * queue page (the page's ETag is a SHA-256). Keyed MACs (Stripe, TURN) stay on OpenSSL. */
#ifndef NS_SHA256_H
#define NS_SHA256_H
#include <stddef.h>

#define NS_SHA256_LEN 32

void ns_sha256(const void *data, size_t len, unsigned char out[NS_SHA256_LEN]);
/* For the tests: the same digest by the portable code whatever the CPU has, and whether
 * ns_sha256 uses the CPU's SHA instructions (1) or the portable code (0). */
void ns_sha256_portable(const void *data, size_t len, unsigned char out[NS_SHA256_LEN]);
int ns_sha256_accelerated(void);

#endif
