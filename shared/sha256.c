/* sha256: FIPS 180-4 SHA-256 (see sha256.h). Blocks are compressed by the x86 SHA
 * extensions where the CPU has them (about ten times faster: the queue page's ETag hashes
 * some 6 KB per request), else by the portable code below. */
#include "config.h"

#include <stdint.h>
#include <string.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <cpuid.h>
#include <immintrin.h>
#define HAVE_SHA_NI_PATH 1
#endif

#include "sha256.h"

#define BLOCK 64

typedef void blocks_fn(uint32_t h[8], const unsigned char *p, size_t n);

static const uint32_t k[64] = {
	0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
	0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
	0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
	0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
	0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
	0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
	0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
	0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
	0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
	0xc67178f2
};

static uint32_t
ror(uint32_t x, int n)
{
	return x >> n | x << (32 - n);
}

static void
compress(uint32_t h[8], const unsigned char *p)
{
	uint32_t w[64], a, b, c, d, e, f, g, hh, t1, t2;
	int i;

	for (i = 0; i < 16; i++)
		w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
		    (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
	for (i = 16; i < 64; i++)
		w[i] = (ror(w[i - 2], 17) ^ ror(w[i - 2], 19) ^ w[i - 2] >> 10) + w[i - 7] +
		    (ror(w[i - 15], 7) ^ ror(w[i - 15], 18) ^ w[i - 15] >> 3) + w[i - 16];
	a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
	for (i = 0; i < 64; i++) {
		t1 = hh + (ror(e, 6) ^ ror(e, 11) ^ ror(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
		t2 = (ror(a, 2) ^ ror(a, 13) ^ ror(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
		hh = g, g = f, f = e, e = d + t1, d = c, c = b, b = a, a = t1 + t2;
	}
	h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

static void
blocks_portable(uint32_t h[8], const unsigned char *p, size_t n)
{
	for (; n; n--, p += BLOCK)
		compress(h, p);
}

#ifdef HAVE_SHA_NI_PATH
/* The state lives in two registers as ABEF and CDGH (the order sha256rnds2 takes); each
 * group of four rounds adds four words of the schedule and four of k, and the schedule
 * is extended four words at a time: W[t..t+3] from W[t-16..t-1] by msg1 (σ0), the
 * W[t-7..t-4] lane shift, and msg2 (σ1). */
__attribute__((target("sha,sse4.1,ssse3"))) static void
blocks_sha_ni(uint32_t h[8], const unsigned char *p, size_t n)
{
	const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
	__m128i tmp, abef, cdgh, abef0, cdgh0, m, w[4];
	int i;

	tmp = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[0]), 0xB1);	/* CDAB */
	cdgh = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)&h[4]), 0x1B);	/* EFGH */
	abef = _mm_alignr_epi8(tmp, cdgh, 8);
	cdgh = _mm_blend_epi16(cdgh, tmp, 0xF0);
	for (; n; n--, p += BLOCK) {
		abef0 = abef;
		cdgh0 = cdgh;
		for (i = 0; i < 4; i++)
			w[i] = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(p + 16 * i)), bswap);
		for (i = 0; i < 16; i++) {
			m = _mm_add_epi32(w[i & 3], _mm_loadu_si128((const __m128i *)&k[4 * i]));
			cdgh = _mm_sha256rnds2_epu32(cdgh, abef, m);
			abef = _mm_sha256rnds2_epu32(abef, cdgh, _mm_shuffle_epi32(m, 0x0E));
			if (i < 12) {
				tmp = _mm_sha256msg1_epu32(w[i & 3], w[(i + 1) & 3]);
				tmp = _mm_add_epi32(tmp, _mm_alignr_epi8(w[(i + 3) & 3], w[(i + 2) & 3], 4));
				w[i & 3] = _mm_sha256msg2_epu32(tmp, w[(i + 3) & 3]);
			}
		}
		abef = _mm_add_epi32(abef, abef0);
		cdgh = _mm_add_epi32(cdgh, cdgh0);
	}
	tmp = _mm_shuffle_epi32(abef, 0x1B);	/* FEBA */
	cdgh = _mm_shuffle_epi32(cdgh, 0xB1);	/* DCHG */
	_mm_storeu_si128((__m128i *)&h[0], _mm_blend_epi16(tmp, cdgh, 0xF0));	/* DCBA */
	_mm_storeu_si128((__m128i *)&h[4], _mm_alignr_epi8(cdgh, tmp, 8));	/* HGFE */
}

static int
cpu_has_sha_ni(void)
{
	unsigned a, b, c, d;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_SSE4_1) || !(c & bit_SSSE3))
		return 0;
	return __get_cpuid_count(7, 0, &a, &b, &c, &d) && (b & bit_SHA);
}
#endif

static blocks_fn *
blocks_best(void)
{
	static blocks_fn *best;

	if (!best) {
		best = blocks_portable;
#ifdef HAVE_SHA_NI_PATH
		if (cpu_has_sha_ni())
			best = blocks_sha_ni;
#endif
	}
	return best;
}

static void
digest(blocks_fn *blocks, const void *data, size_t len, unsigned char out[NS_SHA256_LEN])
{
	uint32_t h[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f,
	    0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
	const unsigned char *p = data;
	unsigned char last[2 * BLOCK];
	uint64_t bits = (uint64_t)len * 8;
	size_t rest, n, i;

	blocks(h, p, len / BLOCK);
	p += len / BLOCK * BLOCK;
	len %= BLOCK;
	/* the tail, 0x80, zeros, and the length in bits: one block, or two when the tail
	 * leaves less than 9 bytes */
	rest = len;
	memcpy(last, p, rest);
	last[rest] = 0x80;
	n = rest + 9 <= BLOCK ? BLOCK : 2 * BLOCK;
	memset(last + rest + 1, 0, n - rest - 1);
	for (i = 0; i < 8; i++)
		last[n - 1 - i] = (unsigned char)(bits >> (8 * i));
	blocks(h, last, n / BLOCK);
	for (i = 0; i < 8; i++) {
		out[4 * i] = (unsigned char)(h[i] >> 24);
		out[4 * i + 1] = (unsigned char)(h[i] >> 16);
		out[4 * i + 2] = (unsigned char)(h[i] >> 8);
		out[4 * i + 3] = (unsigned char)h[i];
	}
}

void
ns_sha256(const void *data, size_t len, unsigned char out[NS_SHA256_LEN])
{
	digest(blocks_best(), data, len, out);
}

void
ns_sha256_portable(const void *data, size_t len, unsigned char out[NS_SHA256_LEN])
{
	digest(blocks_portable, data, len, out);
}

int
ns_sha256_accelerated(void)
{
	return blocks_best() != blocks_portable;
}
