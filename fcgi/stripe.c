/* stripe: webhook signatures and the Checkout Sessions call (see stripe.h). */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "stripe.h"
#include "dso.h"
#include "json.h"
#include "log.h"

#define FORM_MAX 16384		/* the form-encoded checkout request */
#define RESP_MAX (256 * 1024)	/* Stripe's answer kept for parsing */
#define AUTH_HDR_MAX 320	/* "Authorization: Bearer " + a secret key (≤ 255) */
#define ENDPOINT_MAX (STRIPE_URL_MAX + 32)
#define TS_TEXT_MAX 24		/* a decimal int64 */
#define ERR_TEXT_MAX 200	/* Stripe's error message, logged */
#define CURL_SONAME "libcurl.so.4"	/* the ABI the headers describe */

/* Price and wording of the one product (contract §2.8, §4.1). */
#define PRICE_CENTS "50"
#define PRODUCT_NAME "Napalm Sky Access"
#define PRODUCT_DESC "One-time payment for platform access + 4 friend invites"

/* ---- Stripe-Signature ------------------------------------------------------------------ */

#define MSG_SIG_MISSING "No stripe-signature header value was provided."
#define MSG_SIG_MALFORMED "Unable to extract timestamp and signatures from header"
#define MSG_SIG_NO_V1 "No signatures found with expected scheme"
#define MSG_SIG_MISMATCH "No signatures found matching the expected signature for payload"
#define MSG_SIG_STALE "Timestamp outside the tolerance zone"

static int
is_space(char c)
{
	return c == ' ' || c == '\t';
}

static int
hex_lower(char c)
{
	if (c >= '0' && c <= '9')
		return c;
	if (c >= 'a' && c <= 'f')
		return c;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 'a';
	return -1;
}

/* One item s[0..n) (spaces already trimmed) into out; 0, or -1 when the header is unusable. */
static int
parse_item(const char *s, size_t n, struct stripe_sig *out, int *seen_t, int *seen_v1)
{
	const char *eq = memchr(s, '=', n);
	size_t kl, vl, i;
	const char *v;

	if (!eq)
		return 0;	/* not key=value: ignored */
	kl = (size_t)(eq - s);
	v = eq + 1;
	vl = n - kl - 1;
	if (kl == 1 && s[0] == 't') {
		int64_t t = 0;

		if (*seen_t || vl == 0 || vl > STRIPE_TS_DIGITS_MAX)
			return -1;
		for (i = 0; i < vl; i++) {
			if (v[i] < '0' || v[i] > '9')
				return -1;
			t = t * 10 + (v[i] - '0');
		}
		out->t = t;
		*seen_t = 1;
		return 0;
	}
	if (kl == 2 && s[0] == 'v' && s[1] == '1') {
		char hex[STRIPE_HEX_LEN + 1];

		*seen_v1 = 1;
		if (vl != STRIPE_HEX_LEN || out->nv1 >= STRIPE_SIG_V1_MAX)
			return 0;	/* cannot match, or one too many: ignored */
		for (i = 0; i < vl; i++) {
			int c = hex_lower(v[i]);

			if (c < 0)
				return 0;
			hex[i] = (char)c;
		}
		hex[vl] = '\0';
		memcpy(out->v1[out->nv1++], hex, sizeof(hex));
	}
	return 0;
}

const char *
stripe_sig_parse(const char *hdr, size_t len, struct stripe_sig *out)
{
	int seen_t = 0, seen_v1 = 0;
	size_t i = 0;

	memset(out, 0, sizeof(*out));
	while (len > 0 && is_space(hdr[0])) {
		hdr++;
		len--;
	}
	if (len == 0)
		return MSG_SIG_MISSING;
	if (len > STRIPE_SIG_HEADER_MAX)
		return MSG_SIG_MALFORMED;
	while (i <= len) {
		const char *comma = memchr(hdr + i, ',', len - i);
		size_t end = comma ? (size_t)(comma - hdr) : len, a = i, b = end;

		while (a < b && is_space(hdr[a]))
			a++;
		while (b > a && is_space(hdr[b - 1]))
			b--;
		if (parse_item(hdr + a, b - a, out, &seen_t, &seen_v1) < 0)
			return MSG_SIG_MALFORMED;
		i = end + 1;
	}
	if (!seen_t)
		return MSG_SIG_MALFORMED;
	if (!seen_v1)
		return MSG_SIG_NO_V1;
	return NULL;
}

/* Lowercase hex of HMAC-SHA256(secret, "<t>.<body>") into hex; -1 on failure. */
static int
expected_sig(const char *secret, int64_t t, const char *body, size_t body_len,
    char hex[STRIPE_HEX_LEN + 1])
{
	static const char digits[] = "0123456789abcdef";
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0, i;
	char ts[TS_TEXT_MAX];
	size_t tl, n;
	unsigned char *msg;
	int ok;

	tl = (size_t)snprintf(ts, sizeof(ts), "%lld.", (long long)t);
	n = tl + body_len;
	if ((msg = malloc(n ? n : 1)) == NULL)
		return -1;
	memcpy(msg, ts, tl);
	if (body_len)
		memcpy(msg + tl, body, body_len);
	ok = HMAC(EVP_sha256(), secret, (int)strlen(secret), msg, n, mac, &maclen) != NULL &&
	    maclen * 2 == STRIPE_HEX_LEN;
	free(msg);
	if (!ok)
		return -1;
	for (i = 0; i < maclen; i++) {
		hex[2 * i] = digits[mac[i] >> 4];
		hex[2 * i + 1] = digits[mac[i] & 15];
	}
	hex[STRIPE_HEX_LEN] = '\0';
	return 0;
}

const char *
stripe_sig_verify(const char *secret, const char *hdr, const char *body, size_t body_len,
    int64_t now_s, int tolerance_s)
{
	struct stripe_sig sig;
	char want[STRIPE_HEX_LEN + 1];
	const char *why;
	int i, match = 0;
	int64_t age;

	if ((why = stripe_sig_parse(hdr, strlen(hdr), &sig)) != NULL)
		return why;
	if (expected_sig(secret, sig.t, body, body_len, want) < 0)
		return MSG_SIG_MISMATCH;
	for (i = 0; i < sig.nv1; i++)	/* every candidate, so timing tells nothing */
		match |= CRYPTO_memcmp(sig.v1[i], want, STRIPE_HEX_LEN) == 0;
	if (!match)
		return MSG_SIG_MISMATCH;
	age = now_s - sig.t;
	if (age > tolerance_s || age < -(int64_t)tolerance_s)
		return MSG_SIG_STALE;
	return NULL;
}

/* ---- Checkout Sessions ------------------------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;	/* cap: the ceiling, including the NUL */
	int over;
};

/* ---- libcurl, opened at the first checkout ------------------------------------------------ */

/* libcurl is opened on first use instead of being linked: its dependencies (HTTP/2, SSH,
 * RTMP, brotli, zstd, PSL) were 640 KB of resident memory in every worker, and most workers
 * never create a checkout. Once per process; the workers are single-threaded. */
static struct curl_api {
	int state;		/* 0 not tried, 1 ready, -1 unavailable */
	CURLcode (*global_init)(long);
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_perform)(CURL *);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	void (*easy_cleanup)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	char *(*easy_escape)(CURL *, const char *, int);
	void (*free)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
} cu;

static int
curl_load(void)
{
	static const struct ns_dso_sym syms[] = {
#define SYM(f) { "curl_" #f, offsetof(struct curl_api, f) }
		SYM(global_init), SYM(easy_init), SYM(easy_setopt), SYM(easy_perform),
		SYM(easy_getinfo), SYM(easy_cleanup), SYM(easy_strerror), SYM(easy_escape),
		SYM(free), SYM(slist_append), SYM(slist_free_all)
#undef SYM
	};

	if (cu.state != 0)
		return cu.state > 0;
	cu.state = -1;
	if (ns_dso_open(CURL_SONAME, syms, sizeof(syms) / sizeof(syms[0]), &cu) < 0)
		return 0;
	if (cu.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		ns_log_err("stripe: curl_global_init failed");
		return 0;
	}
	cu.state = 1;
	return 1;
}

/* Append key=value (both percent-encoded) with a leading '&' after the first pair. */
static void
form_add(CURL *c, struct buf *f, const char *key, const char *value)
{
	char *k = cu.easy_escape(c, key, 0), *v = cu.easy_escape(c, value, 0);
	int n;

	if (!k || !v) {
		f->over = 1;
	} else {
		n = snprintf(f->p + f->len, f->cap - f->len, "%s%s=%s", f->len ? "&" : "", k, v);
		if (n < 0 || (size_t)n >= f->cap - f->len)
			f->over = 1;
		else
			f->len += (size_t)n;
	}
	cu.free(k);
	cu.free(v);
}

static size_t
on_body(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct buf *b = ctx;
	size_t n = size * nmemb;

	if (b->len + n >= b->cap) {
		b->over = 1;
		return 0;	/* aborts the transfer */
	}
	memcpy(b->p + b->len, data, n);
	b->len += n;
	b->p[b->len] = '\0';
	return n;
}

/* Fill f with the contract's fields; -1 when they do not fit. */
static int
build_form(CURL *c, const struct stripe_checkout *in, struct buf *f)
{
	char url[STRIPE_URL_MAX];

	form_add(c, f, "mode", "payment");
	form_add(c, f, "payment_method_types[]", "card");
	form_add(c, f, "line_items[0][price_data][currency]", "usd");
	form_add(c, f, "line_items[0][price_data][unit_amount]", PRICE_CENTS);
	form_add(c, f, "line_items[0][price_data][product_data][name]", PRODUCT_NAME);
	form_add(c, f, "line_items[0][price_data][product_data][description]", PRODUCT_DESC);
	form_add(c, f, "line_items[0][quantity]", "1");
	if ((size_t)snprintf(url, sizeof(url), "%s/payment-success?session_id={CHECKOUT_SESSION_ID}",
	    in->frontend_url) >= sizeof(url))
		return -1;
	form_add(c, f, "success_url", url);
	if ((size_t)snprintf(url, sizeof(url), "%s/onboarding", in->frontend_url) >= sizeof(url))
		return -1;
	form_add(c, f, "cancel_url", url);
	form_add(c, f, "client_reference_id", in->user_id);
	form_add(c, f, "metadata[userId]", in->user_id);
	form_add(c, f, "metadata[userName]", in->user_name);
	return f->over ? -1 : 0;
}

/* Copy the string field key of obj into out[cap]; -1 when absent, empty or too long. */
static int
copy_field(json_object *obj, const char *key, char *out, size_t cap)
{
	const char *s = ns_json_get_str(obj, key);

	if (!s || !s[0] || strlen(s) >= cap)
		return -1;
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* Stripe's answer: 200 with url and id, else log its error. */
static enum ns_err
read_answer(long status, const struct buf *resp, char url[STRIPE_URL_MAX],
    char id[STRIPE_ID_MAX])
{
	json_object *obj = NULL, *err;
	const char *msg = NULL;
	enum ns_err e = NS_E_INTERNAL;

	if (ns_json_parse_object(resp->p, resp->len, &obj) != NS_OK) {
		ns_log_err("stripe: checkout answered %ld with a body that is not a JSON object",
		    status);
		return NS_E_INTERNAL;
	}
	if (status == 200 && copy_field(obj, "url", url, STRIPE_URL_MAX) == 0 &&
	    copy_field(obj, "id", id, STRIPE_ID_MAX) == 0) {
		e = NS_OK;
	} else {
		if ((err = ns_json_get_obj(obj, "error")) != NULL)
			msg = ns_json_get_str(err, "message");
		ns_log_err("stripe: checkout failed with status %ld: %.*s", status, ERR_TEXT_MAX,
		    msg ? msg : "(no url and id in the answer)");
	}
	json_object_put(obj);
	return e;
}

enum ns_err
stripe_checkout_create(const struct stripe_checkout *in, char url[STRIPE_URL_MAX],
    char id[STRIPE_ID_MAX])
{
	char form_mem[FORM_MAX], endpoint[ENDPOINT_MAX], auth[AUTH_HDR_MAX];
	struct buf form = { form_mem, 0, sizeof(form_mem), 0 }, resp = { NULL, 0, RESP_MAX, 0 };
	struct curl_slist *hdrs = NULL, *h;
	enum ns_err e = NS_E_INTERNAL;
	size_t base_len = strlen(in->api_base);
	CURLcode rc;
	long status = 0;
	CURL *c = NULL;

	form_mem[0] = '\0';
	if (!in->secret_key[0]) {
		ns_log_err("stripe: stripe_secret_key is not configured");
		return NS_E_INTERNAL;
	}
	while (base_len > 0 && in->api_base[base_len - 1] == '/')
		base_len--;
	if ((size_t)snprintf(endpoint, sizeof(endpoint), "%.*s/v1/checkout/sessions",
	    (int)base_len, in->api_base) >= sizeof(endpoint) ||
	    (size_t)snprintf(auth, sizeof(auth), "Authorization: Bearer %s", in->secret_key) >=
	    sizeof(auth)) {
		ns_log_err("stripe: API base or key too long");
		return NS_E_INTERNAL;
	}
	if (!curl_load())
		return NS_E_INTERNAL;
	if ((c = cu.easy_init()) == NULL || (resp.p = malloc(RESP_MAX)) == NULL)
		goto out;
	resp.p[0] = '\0';
	if (build_form(c, in, &form) < 0) {
		ns_log_err("stripe: checkout form over %d bytes", FORM_MAX);
		goto out;
	}
	if ((h = cu.slist_append(hdrs, auth)) == NULL)
		goto out;
	hdrs = h;
	if ((h = cu.slist_append(hdrs, "Stripe-Version: 2023-10-16")) == NULL)
		goto out;
	hdrs = h;
	cu.easy_setopt(c, CURLOPT_URL, endpoint);
#if LIBCURL_VERSION_NUM >= 0x075500
	cu.easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	cu.easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	cu.easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	cu.easy_setopt(c, CURLOPT_POSTFIELDS, form.p);
	cu.easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)form.len);
	cu.easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)STRIPE_TIMEOUT_MS);
	cu.easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	cu.easy_setopt(c, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	cu.easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	cu.easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	rc = cu.easy_perform(c);
	if (rc != CURLE_OK) {
		ns_log_err("stripe: checkout request failed: %s%s", cu.easy_strerror(rc),
		    resp.over ? " (answer too large)" : "");
		goto out;
	}
	cu.easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	e = read_answer(status, &resp, url, id);
out:
	if (hdrs)
		cu.slist_free_all(hdrs);
	if (c)
		cu.easy_cleanup(c);
	free(resp.p);
	return e;
}
