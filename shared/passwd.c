/* passwd: bcrypt via libxcrypt. struct crypt_data is about 32 KiB, so it lives on the heap. */
#include <config.h>
#include <crypt.h>
#include <stdlib.h>
#include <string.h>
#include "passwd.h"
#include "rand.h"

#define PASSWD_SALT_BYTES 16	/* bcrypt uses 128 bits of salt */

static void
free_data(struct crypt_data *cd)
{
	/* The work area holds key-derived state: wipe it before it goes back to malloc. */
	explicit_bzero(cd, sizeof *cd);
	free(cd);
}

enum ns_err
ns_passwd_hash(const char *password, int cost, char out[NS_PASSWD_HASH_MAX])
{
	char setting[CRYPT_GENSALT_OUTPUT_SIZE];
	unsigned char salt[PASSWD_SALT_BYTES];
	struct crypt_data *cd;
	const char *h;
	enum ns_err rc = NS_E_INTERNAL;

	out[0] = '\0';
	if (password == NULL || cost < 4 || cost > 31)
		return NS_E_INTERNAL;
	if (ns_rand_bytes(salt, sizeof salt) != NS_OK)
		return NS_E_INTERNAL;
	if (crypt_gensalt_rn("$2b$", (unsigned long)cost, (const char *)salt, (int)sizeof salt,
	    setting, (int)sizeof setting) == NULL)
		return NS_E_INTERNAL;
	if ((cd = calloc(1, sizeof *cd)) == NULL)
		return NS_E_NOMEM;
	h = crypt_r(password, setting, cd);
	/* Failure is NULL or a string starting with '*', depending on the build. */
	if (h != NULL && strncmp(h, "$2b$", 4) == 0 && strlen(h) < NS_PASSWD_HASH_MAX) {
		memcpy(out, h, strlen(h) + 1);
		rc = NS_OK;
	}
	free_data(cd);
	return rc;
}

int
ns_passwd_verify(const char *password, const char *hash)
{
	struct crypt_data *cd;
	const char *h;
	size_t len, i;
	unsigned char diff = 0;
	int ok = 0;

	if (password == NULL || hash == NULL || hash[0] != '$')
		return 0;
	len = strnlen(hash, NS_PASSWD_HASH_MAX);
	if (len == NS_PASSWD_HASH_MAX)
		return 0;
	if ((cd = calloc(1, sizeof *cd)) == NULL)
		return 0;
	h = crypt_r(password, hash, cd);
	if (h != NULL && h[0] == '$' && strlen(h) == len) {
		/* Touch every byte whatever the differences, so timing says nothing about them. */
		for (i = 0; i < len; i++)
			diff |= (unsigned char)(h[i] ^ hash[i]);
		ok = diff == 0;
	}
	free_data(cd);
	return ok;
}
