/* fuzz_cidr: libFuzzer target for the gateway's address and CIDR list parsing
 * (shared/cidr.c): trusted_proxies and metrics_allow from the configuration, addresses
 * from the peer and the proxy's X-Real-IP. Input: an address, a newline, a list.
 * Invariants: nothing is read past the input; a parsed address prints as text that parses
 * back to itself; a list made of that text (bare, /32 or /128, /0, padded) matches it and a
 * neighbour's /32 or /128 does not; on any list, ns_cidr_list_match agrees with a strict reading
 * (items trimmed of spaces, a prefix length of decimal digits only, no length limit) for the
 * parsed address and for every address the list names, and their neighbours. */
#include <config.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

#define PROBES_MAX 16	/* addresses tried against one list */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REF_ITEM_MAX 64	/* as CIDR_ITEM_MAX in shared/cidr.c */

struct probe {
	int fam;
	unsigned char a[16];
};

/* A NUL-terminated copy of s[0..n) up to its first NUL, of exactly its size (for ASan). */
static char *
cstr(const char *s, size_t n)
{
	size_t l = strnlen(s, n);
	char *c = malloc(l + 1);

	if (c) {
		memcpy(c, s, l);
		c[l] = '\0';
	}
	return c;
}

static int
full_bits(int fam)
{
	return fam == AF_INET ? 32 : 128;
}

/* The strict reading of one item s[0..n): 1 match, 0 not, -1 not an item; *fam and *net
 * its address when it parses. */
static int
ref_item(const char *s, size_t n, int fam, const unsigned char a[16], struct probe *named)
{
	const char *slash;
	char *text;
	long bits = 0;
	int nfam, i;
	size_t k;

	while (n > 0 && (s[0] == ' ' || s[0] == '\t'))
		s++, n--;
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	if (n >= REF_ITEM_MAX)	/* too long to be read: matches nothing */
		return -1;
	slash = memchr(s, '/', n);
	if (!(text = cstr(s, slash ? (size_t)(slash - s) : n)))
		return -1;
	nfam = ns_cidr_ip_parse(text, named->a);
	free(text);
	if (!(named->fam = nfam))
		return -1;
	if (slash) {
		size_t digits = n - (size_t)(slash + 1 - s);

		if (digits == 0)
			return -1;
		for (k = 0; k < digits; k++) {
			if (slash[1 + k] < '0' || slash[1 + k] > '9')
				return -1;
			if (bits <= full_bits(nfam))
				bits = bits * 10 + (slash[1 + k] - '0');
		}
		if (bits > full_bits(nfam))
			return -1;
	} else {
		bits = full_bits(nfam);
	}
	if (nfam != fam)
		return 0;
	for (i = 0; i < bits; i++)
		if (((a[i / 8] ^ named->a[i / 8]) >> (7 - i % 8)) & 1)
			return 0;
	return 1;
}

/* The strict reading of a list; the addresses it names go to named[*nnamed..]. */
static int
ref_match(const char *list, int fam, const unsigned char a[16], struct probe *named,
    size_t *nnamed)
{
	const char *s = list, *e;
	int hit = 0;

	for (; ; s = e + 1) {
		struct probe p = { 0 };

		e = strchr(s, ',');
		if (!e)
			e = s + strlen(s);
		if (ref_item(s, (size_t)(e - s), fam, a, &p) == 1)
			hit = 1;
		if (p.fam && named && *nnamed < PROBES_MAX)
			named[(*nnamed)++] = p;
		if (*e == '\0')
			return hit;
	}
}

/* The strict reading's verdict on a whole list: every non-blank item is an item. */
static int
ref_valid(const char *list)
{
	const char *s = list, *e;
	unsigned char none[16] = { 0 };
	struct probe p;
	size_t n;

	for (; ; s = e + 1) {
		e = strchr(s, ',');
		if (!e)
			e = s + strlen(s);
		n = strspn(s, " \t");
		if (s + n < e && ref_item(s, (size_t)(e - s), AF_INET, none, &p) < 0)
			return 0;
		if (*e == '\0')
			return 1;
	}
}

/* Text lists built from the parsed address itself. */
static void
self_lists(int fam, const unsigned char a[16])
{
	char text[INET6_ADDRSTRLEN], list[4 * INET6_ADDRSTRLEN + 64];
	unsigned char b[16], other[16];
	int full = full_bits(fam), bfam;

	ns_cidr_ip_text(fam, a, text, sizeof(text));
	if (text[0] == '\0' || (bfam = ns_cidr_ip_parse(text, b)) != fam ||
	    memcmp(a, b, fam == AF_INET ? 4 : 16) != 0)
		abort();
	if (!ns_cidr_list_match(text, fam, a))
		abort();
	snprintf(list, sizeof(list), "%s/%d", text, full);
	if (!ns_cidr_list_match(list, fam, a))
		abort();
	snprintf(list, sizeof(list), " , ,%s/0 ", fam == AF_INET ? "0.0.0.0" : "::");
	if (!ns_cidr_list_match(list, fam, a))
		abort();
	snprintf(list, sizeof(list), "garbage, %s/%d ,::1/129", text, full);
	if (!ns_cidr_list_match(list, fam, a))
		abort();
	/* The neighbour differing in the last bit is outside the /32 or /128. */
	memcpy(other, a, 16);
	other[full / 8 - 1] ^= 1;
	if (ns_cidr_list_match(list, fam, other))
		abort();
	ns_cidr_ip_text(fam, other, text, sizeof(text));
	snprintf(list, sizeof(list), "%s/%d", text, full);
	if (ns_cidr_list_match(list, fam, a))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *nl = memchr(in, '\n', size);
	size_t alen = nl ? (size_t)(nl - in) : size, i, n = 0, nnamed;
	char *addr = cstr(in, alen), *list = nl ? cstr(nl + 1, size - alen - 1) : cstr("", 0);
	struct probe probe[1 + 2 * PROBES_MAX];
	unsigned char a[16];
	int fam;

	if (!addr || !list)
		goto out;
	if (ns_cidr_list_valid(list) != ref_valid(list))
		abort();
	memset(a, 0, sizeof(a));
	if ((fam = ns_cidr_ip_parse(addr, a)) != 0) {
		if (fam != AF_INET && fam != AF_INET6)
			abort();
		self_lists(fam, a);
		probe[n].fam = fam;
		memcpy(probe[n++].a, a, 16);
	}
	/* Every address the list names, and the one just past it, as probes. */
	nnamed = 0;
	(void)ref_match(list, AF_INET, a, probe + n, &nnamed);
	for (i = 0; i < nnamed; i++) {
		probe[n + nnamed + i] = probe[n + i];
		probe[n + nnamed + i].a[full_bits(probe[n + i].fam) / 8 - 1] ^= 1;
	}
	n += 2 * nnamed;
	for (i = 0; i < n; i++)
		if (ns_cidr_list_match(list, probe[i].fam, probe[i].a) !=
		    ref_match(list, probe[i].fam, probe[i].a, NULL, NULL))
			abort();
out:
	free(addr);
	free(list);
	return 0;
}
