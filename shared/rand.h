/* rand: CSPRNG ids and tokens from getrandom(2). */
#ifndef NS_RAND_H
#define NS_RAND_H
#include <stddef.h>
#include "err.h"

#define NS_UUID_LEN 36	/* canonical lowercase text, without the NUL */

enum ns_err ns_rand_bytes(void *buf, size_t n);
/* UUID v4, lowercase canonical; out must hold NS_UUID_LEN + 1 bytes. */
enum ns_err ns_rand_uuid(char out[NS_UUID_LEN + 1]);
/* n characters uniformly from [A-Z0-9] (rejection sampling), NUL-terminated. */
enum ns_err ns_rand_code(char *out, size_t n);
/* n characters of base64url (sids), NUL-terminated. */
enum ns_err ns_rand_b64url(char *out, size_t n);
/* 1 if s is a UUID in any case; when out is given, writes it lowercased. */
int ns_rand_uuid_parse(const char *s, char out[NS_UUID_LEN + 1]);

#endif
