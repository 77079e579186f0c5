/* stripe: the two ends of Stripe (contract §2.8): webhook signatures (Stripe-Signature, HMAC-
 * SHA256 over "<t>.<raw body>") and the Checkout Sessions call made with libcurl. The
 * signature code is pure, so the fuzz target and the guard use it without any storage. */
#ifndef API_STRIPE_H
#define API_STRIPE_H
#include <stddef.h>
#include <stdint.h>
#include "err.h"

#define STRIPE_SIG_TOLERANCE_S 300	/* §4.1: webhook timestamp tolerance */
#define STRIPE_SIG_HEADER_MAX 8192	/* Stripe-Signature bytes accepted */
#define STRIPE_SIG_V1_MAX 8		/* v1 signatures kept from one header */
#define STRIPE_HEX_LEN 64		/* hex of a SHA-256 HMAC */
#define STRIPE_TS_DIGITS_MAX 12		/* t= digits: seconds far past year 2100 */
#define STRIPE_URL_MAX 2048		/* checkout URL returned by Stripe */
#define STRIPE_ID_MAX 256		/* checkout session id */
#define STRIPE_TIMEOUT_MS 10000		/* §2.8: the whole Stripe call */
#define STRIPE_TEXT_CTYPE "text/plain; charset=utf-8"	/* the webhook's error bodies */

/* One parsed Stripe-Signature header. */
struct stripe_sig {
	int64_t t;				/* the t= item */
	int nv1;				/* well-formed v1 items kept */
	char v1[STRIPE_SIG_V1_MAX][STRIPE_HEX_LEN + 1];	/* lowercase hex */
};

/* Parse hdr[0..len): comma-separated key=value items with exactly one t=<digits> and at least
 * one v1=<64 hex>. NULL on success, else the reason (static text) for "Webhook Error: ...".
 * Other keys are ignored, as are v1 items that are not 64 hex digits (they cannot match). */
const char *stripe_sig_parse(const char *hdr, size_t len, struct stripe_sig *out);

/* The whole check: parse, compare every v1 with HMAC-SHA256(secret, "<t>.<body>") in
 * constant time, then the timestamp within tolerance_s of now_s. NULL when valid. */
const char *stripe_sig_verify(const char *secret, const char *hdr, const char *body,
    size_t body_len, int64_t now_s, int tolerance_s);

/* What a Checkout Session is created for. */
struct stripe_checkout {
	const char *api_base;		/* cfg stripe_api_base */
	const char *secret_key;		/* bearer; "" refuses */
	const char *frontend_url;	/* return URLs */
	const char *user_id;
	const char *user_name;
};

/* POST <api_base>/v1/checkout/sessions, form-encoded, within STRIPE_TIMEOUT_MS. On success
 * url and id hold Stripe's `url` and `id`; any failure (logged) is NS_E_INTERNAL. */
enum ns_err stripe_checkout_create(const struct stripe_checkout *in, char url[STRIPE_URL_MAX],
    char id[STRIPE_ID_MAX]);

#endif
