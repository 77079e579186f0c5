/* test_sha256: the FIPS 180 examples and the padding boundaries (55, 56, 63, 64 bytes),
 * against known digests, by the portable code and by ns_sha256 (the CPU's SHA instructions
 * where it has them), and the two against each other on every length up to 300 bytes and
 * on a queue-tag-sized input; the queue's ETag is made with it. */
#include "config.h"
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "sha256.h"
#include "tap.h"

typedef void sha_fn(const void *data, size_t len, unsigned char out[NS_SHA256_LEN]);

static const char *
hex_by(sha_fn *fn, const void *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	static char out[2 * NS_SHA256_LEN + 1];
	unsigned char md[NS_SHA256_LEN];
	size_t i;

	fn(data, len, md);
	for (i = 0; i < NS_SHA256_LEN; i++) {
		out[2 * i] = digits[md[i] >> 4];
		out[2 * i + 1] = digits[md[i] & 15];
	}
	out[2 * NS_SHA256_LEN] = '\0';
	return out;
}

static void
known_digests(sha_fn *fn, const char *by)
{
	static const char two_blocks[] =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	char *million = malloc(1000000);
	char a[64];

	printf("# by %s\n", by);
	memset(a, 'a', sizeof a);
	tap_is_str(hex_by(fn, "", 0),
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
	    "empty input");
	tap_is_str(hex_by(fn, "abc", 3),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "FIPS 180 'abc'");
	tap_is_str(hex_by(fn, two_blocks, strlen(two_blocks)),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	    "FIPS 180 56 bytes: the length in a second block");
	tap_is_str(hex_by(fn, a, 55),
	    "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
	    "55 bytes: padding and length fill one block");
	tap_is_str(hex_by(fn, a, 63),
	    "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34",
	    "63 bytes");
	tap_is_str(hex_by(fn, a, 64),
	    "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
	    "exactly one block");
	if (million) {
		memset(million, 'a', 1000000);
		tap_is_str(hex_by(fn, million, 1000000),
		    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0",
		    "FIPS 180 a million 'a'");
	}
	free(million);
}

int
main(void)
{
	static unsigned char data[6000];
	unsigned char x[NS_SHA256_LEN], y[NS_SHA256_LEN];
	uint32_t seed = 12345;
	size_t i, len, differ = 0;

	known_digests(ns_sha256_portable, "the portable code");
	known_digests(ns_sha256, ns_sha256_accelerated() ? "the CPU's SHA instructions" :
	    "ns_sha256 (the portable code: this CPU has no SHA instructions)");
	for (i = 0; i < sizeof data; i++) {
		seed = seed * 1103515245u + 12345u;
		data[i] = (unsigned char)(seed >> 16);
	}
	for (len = 0; len <= 300; len++) {
		ns_sha256(data, len, x);
		ns_sha256_portable(data, len, y);
		differ += memcmp(x, y, sizeof x) != 0;
	}
	tap_ok(differ == 0, "ns_sha256 and the portable code agree on 0..300 bytes (%zu differ)",
	    differ);
	ns_sha256(data, sizeof data, x);
	ns_sha256_portable(data, sizeof data, y);
	tap_ok(memcmp(x, y, sizeof x) == 0, "and on %zu bytes", sizeof data);
	return tap_done();
}
