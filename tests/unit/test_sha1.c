/* test_sha1: the FIPS 180 examples and the block-boundary lengths, against known digests;
 * the gateway names its scripts with it, so a wrong digest means every EVALSHA fails. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "sha1.h"
#include "tap.h"

static const char *
hex(const void *data, size_t len)
{
	static char out[SHA1_HEX_LEN + 1];

	sha1_hex(data, len, out);
	return out;
}

int
main(void)
{
	static const char two_blocks[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char *million = malloc(1000000);

	tap_is_str(hex("", 0), "da39a3ee5e6b4b0d3255bfef95601890afd80709", "empty input");
	tap_is_str(hex("abc", 3), "a9993e364706816aba3e25717850c26c9cd0d89d", "FIPS 180 'abc'");
	tap_is_str(hex(two_blocks, strlen(two_blocks)),
	    "84983e441c3bd26ebaae4aa1f95129e5e54670f1", "FIPS 180 56 bytes: padding in a second block");
	tap_is_str(hex("The quick brown fox jumps over the lazy dog", 43),
	    "2fd4e1c67a2d28fced849ee1bb76e7391b93eb12", "43 bytes");
	tap_is_str(hex("0123456701234567012345670123456701234567012345670123456701234567", 64),
	    "e0c094e867ef46c350ef54a7f59dd60bed92ae83", "exactly one block");
	if (million) {
		memset(million, 'a', 1000000);
		tap_is_str(hex(million, 1000000), "34aa973cd4c4daa4f61eeb2bdbad27316534016f",
		    "FIPS 180 a million 'a'");
	}
	free(million);
	return tap_done();
}
