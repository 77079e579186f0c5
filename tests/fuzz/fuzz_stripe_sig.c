/* fuzz_stripe_sig: libFuzzer target for the Stripe-Signature parser and check (fcgi/stripe.c).
 * Input: the header up to the first newline, then the body. Invariants: the parser never
 * reads past its input and accepts only headers with a timestamp and a v1 item; every kept
 * v1 is 64 lowercase hex digits; the full check never accepts a header that was not made with
 * the secret, and always accepts the header made for the same body and time. */
#include <config.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "stripe.h"

#define SECRET "whsec_fuzz"
#define NOW 1700000000

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The header Stripe would send for body at time t. */
static void
sign(const char *body, size_t len, long long t, char *out, size_t cap)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0, i;
	char pre[32];
	size_t pl = (size_t)snprintf(pre, sizeof(pre), "%lld.", t), o;
	unsigned char *msg = malloc(pl + len + 1);

	memcpy(msg, pre, pl);
	memcpy(msg + pl, body, len);
	HMAC(EVP_sha256(), SECRET, (int)strlen(SECRET), msg, pl + len, mac, &maclen);
	free(msg);
	o = (size_t)snprintf(out, cap, "t=%lld,v1=", t);
	for (i = 0; i < maclen && o + 2 < cap; i++)
		o += (size_t)snprintf(out + o, cap - o, "%02x", mac[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *nl = memchr(data, '\n', size);
	size_t hlen = nl ? (size_t)(nl - (const char *)data) : size;
	const char *body = nl ? nl + 1 : "";
	size_t blen = nl ? size - hlen - 1 : 0;
	char *hdr = malloc(hlen + 1), good[160];
	struct stripe_sig sig;
	int i, j;

	memcpy(hdr, data, hlen);
	hdr[hlen] = '\0';
	if (stripe_sig_parse((const char *)data, hlen, &sig) == NULL) {
		if (sig.nv1 < 0 || sig.nv1 > STRIPE_SIG_V1_MAX)
			abort();
		for (i = 0; i < sig.nv1; i++)
			for (j = 0; j < STRIPE_HEX_LEN + 1; j++)
				if (j == STRIPE_HEX_LEN ? sig.v1[i][j] != '\0' :
				    !strchr("0123456789abcdef", sig.v1[i][j]) || sig.v1[i][j] == '\0')
					abort();
	}
	/* whatever passes must hold the genuine HMAC among its v1 items */
	if (stripe_sig_verify(SECRET, hdr, body, blen, NOW, STRIPE_SIG_TOLERANCE_S) == NULL) {
		int found = 0;

		if (stripe_sig_parse(hdr, strlen(hdr), &sig) != NULL)
			abort();
		sign(body, blen, sig.t, good, sizeof(good));
		for (i = 0; i < sig.nv1; i++)
			found |= strcmp(sig.v1[i], strstr(good, "v1=") + 3) == 0;
		if (!found)
			abort();
	}
	sign(body, blen, NOW - 10, good, sizeof(good));
	if (stripe_sig_verify(SECRET, good, body, blen, NOW, STRIPE_SIG_TOLERANCE_S) != NULL)
		abort();
	if (stripe_sig_verify("whsec_other", good, body, blen, NOW, STRIPE_SIG_TOLERANCE_S) ==
	    NULL)
		abort();
	free(hdr);
	return 0;
}
