/* passwd: bcrypt password hashes ($2b$, cost 12) through libxcrypt's crypt_r. */
#ifndef NS_PASSWD_H
#define NS_PASSWD_H
#include <stddef.h>
#include "err.h"

#define NS_PASSWD_HASH_MAX 128	/* a bcrypt hash is 60 characters */
#define NS_PASSWD_COST 12

/* Hash password with a fresh salt at cost (NS_PASSWD_COST in production; tests may lower it). */
enum ns_err ns_passwd_hash(const char *password, int cost, char out[NS_PASSWD_HASH_MAX]);
/* 1 when password matches hash (constant-time compare), 0 otherwise (also for malformed hashes). */
int ns_passwd_verify(const char *password, const char *hash);

#endif
