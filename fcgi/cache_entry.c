/* cache_entry: the text of the cache's session and user entries and of an IP ban's hash value
 * (formats in cache.c), apart from any I/O so that it can be fuzzed. */
#include "config.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cidr.h"
#include "rand.h"

#define SEP '\x1f'
#define SEP_S "\x1f"

static int
has_sep(const char *s)
{
	return strchr(s, SEP) != NULL;
}

static int
copy_field(char *dst, size_t cap, const char *src, size_t n)
{
	if (n >= cap)
		return -1;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

static int
parse_i64(const char *s, size_t n, int64_t *out)
{
	char num[32];
	char *end;

	if (n == 0 || n >= sizeof(num))
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	*out = strtoll(num, &end, 10);
	return *end ? -1 : 0;
}

/* Split v into at most max fields at SEP; returns the count. */
static int
split(const char *v, size_t len, const char **f, size_t *fl, int max)
{
	const char *p = v, *end = v + len;
	int n = 0;

	while (n < max) {
		const char *s = memchr(p, SEP, (size_t)(end - p));

		f[n] = p;
		fl[n] = s ? (size_t)(s - p) : (size_t)(end - p);
		n++;
		if (!s)
			return n;
		p = s + 1;
	}
	return n + 1;	/* more fields than expected */
}

int
api_cache_session_encode(const struct api_session *s, char *buf, size_t cap)
{
	int n = snprintf(buf, cap, "s1" SEP_S "%s" SEP_S "%d" SEP_S "%" PRId64, s->user_id,
	    s->is_active, s->expires_at_ms);

	return n < 0 || (size_t)n >= cap ? -1 : n;
}

int
api_cache_session_decode(const char *v, size_t len, const char *token, struct api_session *s)
{
	const char *f[5];
	size_t fl[5];
	int64_t act;

	if (split(v, len, f, fl, 4) != 4 || fl[0] != 2 || memcmp(f[0], "s1", 2) != 0 ||
	    copy_field(s->user_id, sizeof(s->user_id), f[1], fl[1]) < 0 ||
	    parse_i64(f[2], fl[2], &act) < 0 || parse_i64(f[3], fl[3], &s->expires_at_ms) < 0)
		return -1;
	s->is_active = act != 0;
	snprintf(s->token, sizeof(s->token), "%s", token);
	return 0;
}

#define U_STR(f) { #f, offsetof(struct api_user, f), sizeof(((struct api_user *)0)->f), 0 }
#define U_INT(f) { #f, offsetof(struct api_user, f), 0, 1 }
const struct api_cache_ufield api_cache_ufields[API_CACHE_USER_FIELDS] = {
	U_STR(user_id), U_STR(name), U_STR(gender), U_STR(account_type), U_STR(email),
	U_STR(selfie_url), U_STR(video_url), U_STR(socials), U_STR(role), U_STR(paid_status),
	U_STR(ban_status), U_STR(review_status), U_STR(introduced_to), U_STR(introduced_by),
	U_INT(timer_total_seconds), U_INT(session_count), U_INT(streak_days),
	U_STR(last_sessions), U_INT(created_at_ms),
};

int
api_cache_user_encode(const struct api_user *u, char *buf, size_t cap)
{
	size_t o = 3 + API_CACHE_FILL_LEN;
	int i;

	if (cap < o + 1 || ns_rand_b64url(buf + 3, API_CACHE_FILL_LEN) != NS_OK)
		return -1;
	memcpy(buf, "u2" SEP_S, 3);
	for (i = 0; i < API_CACHE_USER_FIELDS; i++) {
		const char *p = (const char *)u + api_cache_ufields[i].off;
		char num[32];
		size_t n;

		if (api_cache_ufields[i].is_int) {
			snprintf(num, sizeof(num), "%" PRId64, *(const int64_t *)(const void *)p);
			p = num;
		} else if (has_sep(p)) {
			return -1;
		}
		n = strlen(p);
		if (o + 1 + n + 1 > cap)
			return -1;
		buf[o++] = SEP;
		memcpy(buf + o, p, n);
		o += n;
	}
	buf[o] = '\0';
	return (int)o;
}

int
api_cache_user_split(const char *v, size_t len, const char **f, size_t *fl)
{
	if (split(v, len, f, fl, API_CACHE_USER_FIELDS + 2) != API_CACHE_USER_FIELDS + 2 ||
	    fl[0] != 2 || memcmp(f[0], "u2", 2) != 0 || fl[1] != API_CACHE_FILL_LEN)
		return -1;
	return 0;
}

int
api_cache_user_decode(const char *v, size_t len, struct api_user *u)
{
	const char *f[API_CACHE_USER_FIELDS + 2];
	size_t fl[API_CACHE_USER_FIELDS + 2];
	int i;

	if (api_cache_user_split(v, len, f, fl) < 0)
		return -1;
	for (i = 0; i < API_CACHE_USER_FIELDS; i++) {
		char *p = (char *)u + api_cache_ufields[i].off;

		if (api_cache_ufields[i].is_int) {
			if (parse_i64(f[i + 2], fl[i + 2], (int64_t *)(void *)p) < 0)
				return -1;
		} else if (copy_field(p, api_cache_ufields[i].cap, f[i + 2], fl[i + 2]) < 0) {
			return -1;
		}
	}
	return 0;
}

void
api_cache_user_blank_sep(struct api_user *u)
{
	int i;

	for (i = 0; i < API_CACHE_USER_FIELDS; i++) {
		char *p = (char *)u + api_cache_ufields[i].off;

		if (!api_cache_ufields[i].is_int)
			for (; (p = strchr(p, SEP)) != NULL; p++)
				*p = ' ';
	}
}

/* The card fields of a user entry, in enum order; their places in the entry are looked up
 * in api_cache_ufields once (+2: the "u2" header and the fill). */
static const char *const card_names[API_CARD_FILL] = { "user_id", "name", "gender",
	"selfie_url", "video_url", "introduced_to", "introduced_by" };
static int card_field[API_CARD_FILL];

static void
card_fields_init(void)
{
	int i, k;

	for (i = 0; i < API_CARD_FILL; i++)
		for (k = 0; k < API_CACHE_USER_FIELDS; k++)
			if (strcmp(api_cache_ufields[k].name, card_names[i]) == 0)
				card_field[i] = k + 2;
}

int
api_cache_card_decode(const char *v, size_t len, struct api_card *out)
{
	const char *f[API_CACHE_USER_FIELDS + 2];
	size_t fl[API_CACHE_USER_FIELDS + 2];
	int i;

	if (card_field[0] == 0)
		card_fields_init();
	if (api_cache_user_split(v, len, f, fl) < 0)
		return -1;
	for (i = 0; i < API_CARD_FILL; i++) {
		out->f[i] = f[card_field[i]];
		out->len[i] = fl[card_field[i]];
		if (out->len[i] >= api_cache_ufields[card_field[i] - 2].cap)
			return -1;
	}
	out->f[API_CARD_FILL] = f[1];
	out->len[API_CARD_FILL] = fl[1];
	return 0;
}

void
api_cache_ip_reason(const char *v, size_t len, char *reason, size_t reasonlen)
{
	if (reasonlen == 0)
		return;
	if (len == 0 || v[0] == 'n') {
		snprintf(reason, reasonlen, "%c", API_CACHE_NULL_REASON);
		return;
	}
	len--, v++;
	if (len >= reasonlen)
		len = reasonlen - 1;
	memcpy(reason, v, len);
	reason[len] = '\0';
}

void
api_cache_ip_normalise(const char *ip, char *out, size_t cap)
{
	unsigned char a[16];
	char t[INET6_ADDRSTRLEN] = "";
	int fam = ns_cidr_ip_parse(ip, a);

	if (fam)
		ns_cidr_ip_text(fam, a, t, sizeof(t));
	snprintf(out, cap, "%s", t[0] ? t : ip);
}
