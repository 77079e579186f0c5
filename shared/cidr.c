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

int
ns_cidr_list_match(const char *list, int fam, const unsigned char addr[16])
{
	char item[CIDR_ITEM_MAX], *slash, *end;
	unsigned char net[16];
	const char *s = list, *e;
	size_t n;
	long bits;
	int nfam, full;

	while (*s) {
		while (*s == ' ' || *s == '\t' || *s == ',')
			s++;
		for (e = s; *e && *e != ','; e++)
			;
		if (e == s)
			break;
		for (n = (size_t)(e - s); s[n - 1] == ' ' || s[n - 1] == '\t'; n--)
			;
		/* Too long for item: skipped, since a cut item could read as another
		 * (".../0000...0032" as /0). */
		if (n >= sizeof(item)) {
			s = e;
			continue;
		}
		memcpy(item, s, n);
		item[n] = '\0';
		s = e;
		if ((slash = strchr(item, '/')))
			*slash++ = '\0';
		if ((nfam = ns_cidr_ip_parse(item, net)) != fam)
			continue;
		full = fam == AF_INET ? 32 : 128;
		/* Digits only: strtol would also take "" (a "10.0.0.0/" typo read as /0, trusting
		 * every address), signs and spaces. */
		if (slash && (*slash < '0' || *slash > '9'))
			continue;
		bits = slash ? strtol(slash, &end, 10) : full;
		if ((slash && *end) || bits > full)
			continue;
		if (memcmp(addr, net, (size_t)bits / 8) != 0)
			continue;
		if (bits % 8 && ((addr[bits / 8] ^ net[bits / 8]) & (0xff00 >> (bits % 8))) != 0)
			continue;
		return 1;
	}
	return 0;
}

void
ns_cidr_ip_text(int fam, const unsigned char addr[16], char *out, size_t cap)
{
	if (!inet_ntop(fam, addr, out, (socklen_t)cap))
		out[0] = '\0';
}
