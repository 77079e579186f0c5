/* fuzz_cache_entry: libFuzzer target for the cache's entry codecs (fcgi/cache_entry.c), which
 * read back whatever Redis holds. Every input goes through each decoder. Invariants: no decoder
 * reads past its input; a decoded field is its slice of the entry (an integer wholly in
 * strtoll's syntax); a decoded session or user re-encodes (within the sizes cache.c uses)
 * and decodes to the same fields; a user entry splits into contiguous slices of the input at
 * the separators; a card's fields stay inside the input and agree with the user decoder's;
 * a user with the separator in a text field is refused by the encoder until blanked; an
 * IP-ban value's reason stays within its buffer; address normalising is idempotent. */
#include <config.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"

#define SEP '\x1f'
#define TOKEN "00000000-0000-4000-8000-000000000000"
#define NFIELDS (API_CACHE_USER_FIELDS + 2)	/* "u2", the fill, the fields */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
field(struct api_user *u, int i)
{
	return (char *)u + api_cache_ufields[i].off;
}

static int64_t
ifield(const struct api_user *u, int i)
{
	int64_t v;

	memcpy(&v, (const char *)u + api_cache_ufields[i].off, sizeof(v));
	return v;
}

static void
same_user(const struct api_user *a, const struct api_user *b)
{
	int i;

	for (i = 0; i < API_CACHE_USER_FIELDS; i++)
		if (api_cache_ufields[i].is_int ? ifield(a, i) != ifield(b, i) :
		    strcmp(field((struct api_user *)a, i), field((struct api_user *)b, i)) != 0)
			abort();
}

/* A decoded field is its slice of the entry: an integer all of it in strtoll's base-10
 * syntax, a text the slice up to any NUL in it. */
static int64_t
slice_int(const char *s, size_t n)
{
	char num[32], *end;
	int64_t v;

	if (n == 0 || n >= sizeof(num))
		abort();
	memcpy(num, s, n);
	num[n] = '\0';
	v = strtoll(num, &end, 10);
	if (*end != '\0')
		abort();
	return v;
}

static void
check_text(const char *s, size_t n, const char *want)
{
	size_t l = strlen(want);

	if (l > n || memcmp(s, want, l) != 0 || (l < n && s[l] != '\0'))
		abort();
}

/* "s1" US user_id US is_active US expires_ms: four slices, as decoded. */
static void
session_slices(const char *v, size_t len, const struct api_session *s)
{
	const char *a = memchr(v, SEP, len), *b, *c;

	if (a != v + 2 || memcmp(v, "s1", 2) != 0 ||
	    !(b = memchr(a + 1, SEP, (size_t)(v + len - a - 1))) ||
	    !(c = memchr(b + 1, SEP, (size_t)(v + len - b - 1))) ||
	    memchr(c + 1, SEP, (size_t)(v + len - c - 1)))
		abort();
	check_text(a + 1, (size_t)(b - a - 1), s->user_id);
	if ((slice_int(b + 1, (size_t)(c - b - 1)) != 0) != s->is_active ||
	    slice_int(c + 1, (size_t)(v + len - c - 1)) != s->expires_at_ms)
		abort();
}

static void
fuzz_session(const char *v, size_t len)
{
	struct api_session s, t;
	char enc[256];	/* as api_cache_session */
	int n;

	if (api_cache_session_decode(v, len, TOKEN, &s) < 0)
		return;
	if (strnlen(s.user_id, sizeof(s.user_id)) == sizeof(s.user_id) ||
	    (s.is_active & ~1) || strcmp(s.token, TOKEN) != 0)
		abort();
	session_slices(v, len, &s);
	if ((n = api_cache_session_encode(&s, enc, sizeof(enc))) <= 0 || (size_t)n != strlen(enc))
		abort();
	memset(&t, 0x5a, sizeof(t));
	if (api_cache_session_decode(enc, (size_t)n, TOKEN, &t) < 0 ||
	    strcmp(s.user_id, t.user_id) != 0 || s.is_active != t.is_active ||
	    s.expires_at_ms != t.expires_at_ms || strcmp(s.token, t.token) != 0)
		abort();
}

/* The slices must tile v: f[0] == v, one separator between each, the last ending at v + len. */
static void
check_split(const char *v, size_t len, const char **f, const size_t *fl)
{
	const char *p = v;
	int i;

	for (i = 0; i < NFIELDS; i++) {
		if (f[i] != p || fl[i] > (size_t)(v + len - p) || memchr(p, SEP, fl[i]))
			abort();
		p += fl[i];
		if (i < NFIELDS - 1) {
			if (p == v + len || *p != SEP)
				abort();
			p++;
		}
	}
	if (p != v + len || memcmp(v, "u2", 2) != 0 || fl[1] != API_CACHE_FILL_LEN)
		abort();
}

static void
fuzz_user(const char *v, size_t len)
{
	static struct api_user u, w;
	static char enc[API_CACHE_ENTRY_MAX];	/* as api_cache_user */
	const char **f = malloc(NFIELDS * sizeof(*f));	/* exact size, for ASan */
	size_t *fl = malloc(NFIELDS * sizeof(*fl));
	struct api_card card;
	int split_ok, card_ok, user_ok, i, k, n;

	if (!f || !fl)
		goto out;
	split_ok = api_cache_user_split(v, len, f, fl) == 0;
	if (split_ok)
		check_split(v, len, f, fl);
	memset(&card, 0, sizeof(card));
	card_ok = api_cache_card_decode(v, len, &card) == 0;
	memset(&u, 0x5a, sizeof(u));
	user_ok = api_cache_user_decode(v, len, &u) == 0;
	if ((card_ok || user_ok) && !split_ok)
		abort();
	if (card_ok) {
		for (k = 0; k < API_CARD__COUNT; k++)
			if (card.f[k] < v || card.len[k] > len ||
			    (size_t)(card.f[k] - v) > len - card.len[k])
				abort();
		if (card.f[API_CARD_FILL] != f[1] || card.len[API_CARD_FILL] != API_CACHE_FILL_LEN)
			abort();
	}
	if (!user_ok)
		goto out;
	if (!card_ok)
		abort();	/* the card's fields are a subset, with the same limits */
	for (i = 0; i < API_CACHE_USER_FIELDS; i++) {
		if (api_cache_ufields[i].is_int) {
			if (slice_int(f[i + 2], fl[i + 2]) != ifield(&u, i))
				abort();
			continue;
		}
		if (strnlen(field(&u, i), api_cache_ufields[i].cap) == api_cache_ufields[i].cap)
			abort();
		check_text(f[i + 2], fl[i + 2], field(&u, i));
	}
	/* A card field is the user's field as it was in the entry (NULs included). */
	for (k = 0; k < API_CARD_FILL; k++) {
		for (i = 0; i < API_CACHE_USER_FIELDS && f[i + 2] != card.f[k]; i++)
			;
		if (i == API_CACHE_USER_FIELDS || api_cache_ufields[i].is_int ||
		    memcmp(field(&u, i), card.f[k], card.len[k]) != 0 ||
		    field(&u, i)[card.len[k]] != '\0')
			abort();
	}
	if ((n = api_cache_user_encode(&u, enc, sizeof(enc))) <= 0 || (size_t)n != strlen(enc))
		abort();
	memset(&w, 0xa5, sizeof(w));
	if (api_cache_user_decode(enc, (size_t)n, &w) < 0)
		abort();
	same_user(&u, &w);
	/* The separator in a text field: refused, then encoded blanked. */
	for (i = (int)(len % API_CACHE_USER_FIELDS); api_cache_ufields[i].is_int; )
		i = (i + 1) % API_CACHE_USER_FIELDS;
	if (field(&u, i)[0] != '\0') {
		field(&u, i)[0] = SEP;
		if (api_cache_user_encode(&u, enc, sizeof(enc)) >= 0)
			abort();
		api_cache_user_blank_sep(&u);
		if (field(&u, i)[0] != ' ' ||
		    (n = api_cache_user_encode(&u, enc, sizeof(enc))) <= 0 ||
		    api_cache_user_decode(enc, (size_t)n, &w) < 0)
			abort();
		same_user(&u, &w);
	}
out:
	free(f);
	free(fl);
}

static void
fuzz_ip_reason(const char *v, size_t len)
{
	static const size_t caps[] = { 0, 1, 2, 16, API_IP_REASON_MAX };
	size_t c, cap, want;

	for (c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		char *reason;

		cap = caps[c];
		if (!(reason = malloc(cap ? cap : 1)))	/* exact size, for ASan */
			return;
		reason[0] = 'X';
		api_cache_ip_reason(v, len, reason, cap);
		if (cap == 0) {
			if (reason[0] != 'X')
				abort();
		} else if (len == 0 || v[0] == 'n') {
			if (cap == 1 ? reason[0] != '\0' :
			    reason[0] != API_CACHE_NULL_REASON || reason[1] != '\0')
				abort();
		} else {
			want = len - 1 < cap - 1 ? len - 1 : cap - 1;
			if (memcmp(reason, v + 1, want) != 0 || reason[want] != '\0')
				abort();
		}
		free(reason);
	}
}

static void
fuzz_ip_normalise(const char *v, size_t len)
{
	size_t n = strnlen(v, len);
	char *ip = malloc(n + 1), once[API_IP_MAX], twice[API_IP_MAX];

	if (!ip)
		return;
	memcpy(ip, v, n);
	ip[n] = '\0';	/* a C string of exactly its size, for ASan */
	api_cache_ip_normalise(ip, once, sizeof(once));
	if (strnlen(once, sizeof(once)) == sizeof(once))
		abort();
	api_cache_ip_normalise(once, twice, sizeof(twice));
	if (strcmp(once, twice) != 0)
		abort();
	free(ip);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size ? size : 1);

	if (!copy)
		return 0;
	memcpy(copy, data, size);	/* exact size: ASan sees any read past it */
	fuzz_session(copy, size);
	fuzz_user(copy, size);
	fuzz_ip_reason(copy, size);
	fuzz_ip_normalise(copy, size);
	free(copy);
	return 0;
}
