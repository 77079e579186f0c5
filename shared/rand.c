/* rand: everything random comes from getrandom(2), never from rand(3). */
#include <config.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include "rand.h"

#define RAND_CHUNK 256	/* bytes drawn per getrandom call when building codes */

static const char code_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
static const char b64url_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

enum ns_err
ns_rand_bytes(void *buf, size_t n)
{
	unsigned char *p = buf;

	while (n > 0) {
		ssize_t got = getrandom(p, n, 0);

		if (got < 0) {
			if (errno == EINTR)
				continue;
			return NS_E_INTERNAL;
		}
		p += got;
		n -= (size_t)got;
	}
	return NS_OK;
}

enum ns_err
ns_rand_uuid(char out[NS_UUID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];	/* 128 bits */
	size_t i, o = 0;

	if (ns_rand_bytes(b, sizeof b) != NS_OK)
		return NS_E_INTERNAL;
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);	/* version 4 */
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);	/* variant 10xx */
	for (i = 0; i < sizeof b; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 0x0f];
	}
	out[o] = '\0';
	return NS_OK;
}

enum ns_err
ns_rand_code(char *out, size_t n)
{
	/* 252 = 7 * 36: bytes at or above it are dropped so every symbol is equally likely. */
	const unsigned limit = 256 - 256 % (sizeof code_alphabet - 1);
	unsigned char buf[RAND_CHUNK];
	size_t o = 0;

	while (o < n) {
		size_t i;

		if (ns_rand_bytes(buf, sizeof buf) != NS_OK)
			return NS_E_INTERNAL;
		for (i = 0; i < sizeof buf && o < n; i++)
			if (buf[i] < limit)
				out[o++] = code_alphabet[buf[i] % (sizeof code_alphabet - 1)];
	}
	out[n] = '\0';
	explicit_bzero(buf, sizeof buf);
	return NS_OK;
}

enum ns_err
ns_rand_b64url(char *out, size_t n)
{
	unsigned char buf[RAND_CHUNK];
	size_t o = 0;

	/* 64 symbols: the low 6 bits of each byte are already uniform. */
	while (o < n) {
		size_t i, want = n - o < sizeof buf ? n - o : sizeof buf;

		if (ns_rand_bytes(buf, want) != NS_OK)
			return NS_E_INTERNAL;
		for (i = 0; i < want; i++)
			out[o++] = b64url_alphabet[buf[i] & 0x3f];
	}
	out[n] = '\0';
	explicit_bzero(buf, sizeof buf);
	return NS_OK;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
ns_rand_uuid_parse(const char *s, char out[NS_UUID_LEN + 1])
{
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < NS_UUID_LEN; i++) {
		int dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (s[i] == '\0')
			return 0;
		if (dash ? s[i] != '-' : hexval(s[i]) < 0)
			return 0;
	}
	if (s[NS_UUID_LEN] != '\0')
		return 0;
	if (out != NULL) {
		for (i = 0; i < NS_UUID_LEN; i++)
			out[i] = (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] - 'A' + 'a') : s[i];
		out[NS_UUID_LEN] = '\0';
	}
	return 1;
}
