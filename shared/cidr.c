/* cidr: address and CIDR list parsing (see cidr.h). */
#include "config.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"

#define CIDR_ITEM_MAX 64	/* one list item as text */

int
ns_cidr_ip_parse(const char *s, unsigned char addr[16])
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (inet_pton(AF_INET, s, addr) == 1)
		return AF_INET;
	if (inet_pton(AF_INET6, s, addr) != 1)
		return 0;
	if (memcmp(addr, mapped, sizeof(mapped)) == 0) {
		memmove(addr, addr + 12, 4);
		return AF_INET;
	}
	return AF_INET6;
}

/* The next item of a list at *s (moved past it): 1 with its text in item, 0 at the end.
 * Blanks around an item are dropped; an item too long for item comes back as "" (a cut
 * item could read as another: ".../0000...0032" as /0). */
static int
next_item(const char **s, char item[CIDR_ITEM_MAX])
{
	const char *p = *s, *e;
	size_t n;

	while (*p == ' ' || *p == '\t' || *p == ',')
		p++;
	for (e = p; *e && *e != ','; e++)
		;
	*s = e;
	if (e == p)
		return 0;
	for (n = (size_t)(e - p); p[n - 1] == ' ' || p[n - 1] == '\t'; n--)
		;
	if (n >= CIDR_ITEM_MAX)
		n = 0;
	memcpy(item, p, n);
	item[n] = '\0';
	return 1;
}

/* An item as network and prefix length: its family, or 0 when it is not one. */
static int
item_parse(char *item, unsigned char net[16], long *bits)
{
	char *slash = strchr(item, '/'), *end;
	int fam;

	if (slash)
		*slash++ = '\0';
	if (!(fam = ns_cidr_ip_parse(item, net)))
		return 0;
	*bits = fam == AF_INET ? 32 : 128;
	if (!slash)
		return fam;
	/* Digits only: strtol would also take "" (a "10.0.0.0/" typo read as /0, trusting every
	 * address), signs and spaces. */
	if (*slash < '0' || *slash > '9')
		return 0;
	{
		long v = strtol(slash, &end, 10);

		if (*end || v > *bits)
			return 0;
		*bits = v;
	}
	return fam;
}

int
ns_cidr_list_match(const char *list, int fam, const unsigned char addr[16])
{
	char item[CIDR_ITEM_MAX];
	unsigned char net[16];
	const char *s = list;
	long bits;

	while (next_item(&s, item)) {
		if (item_parse(item, net, &bits) != fam)
			continue;
		if (memcmp(addr, net, (size_t)bits / 8) != 0)
			continue;
		if (bits % 8 && ((addr[bits / 8] ^ net[bits / 8]) & (0xff00 >> (bits % 8))) != 0)
			continue;
		return 1;
	}
	return 0;
}

int
ns_cidr_list_valid(const char *list)
{
	char item[CIDR_ITEM_MAX];
	unsigned char net[16];
	const char *s = list;
	long bits;

	while (next_item(&s, item))
		if (!item_parse(item, net, &bits))
			return 0;
	return 1;
}

void
ns_cidr_ip_text(int fam, const unsigned char addr[16], char *out, size_t cap)
{
	if (!inet_ntop(fam, addr, out, (socklen_t)cap))
		out[0] = '\0';
}
