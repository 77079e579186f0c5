/* test_sha256: the FIPS 180 examples and the padding boundaries (55, 56, 63, 64 bytes),
 * against known digests; the queue's ETag is made with it. */
#include "config.h"
#include <stdlib.h>
#include <string.h>
#include "sha256.h"
#include "tap.h"

static const char *
hex(const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	static char out[2 * NS_SHA256_LEN + 1];
	unsigned char md[NS_SHA256_LEN];
	size_t i;

	ns_sha256(data, len, md);
	for (i = 0; i < NS_SHA256_LEN; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * NS_SHA256_LEN] = '\0';
	return out;
}

int
main(void)
{
	static const char two_blocks[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char *million = malloc(1000000);
	char a[64];

	memset(a, 'a', sizeof a);
	tap_is_str(hex("", 0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "empty input");
	tap_is_str(hex("abc", 3), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "FIPS 180 'abc'");
	tap_is_str(hex(two_blocks, strlen(two_blocks)),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	    "FIPS 180 56 bytes: the length in a second block");
	tap_is_str(hex(a, 55), "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
	    "55 bytes: padding and length fill one block");
	tap_is_str(hex(a, 63), "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34",
	    "63 bytes");
	tap_is_str(hex(a, 64), "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
	    "exactly one block");
	if (million) {
		memset(million, 'a', 1000000);
		tap_is_str(hex(million, 1000000),
		    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
		    "FIPS 180 a million 'a'");
	}
	free(million);
	return tap_done();
}
