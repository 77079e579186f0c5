/* test_cidr: trusted_proxies / metrics_allow lists (shared/cidr.c): matches, prefixes, and the
 * malformed items that must match nothing (an empty prefix length once read as /0). */
#include "config.h"
#include <string.h>
#include "cidr.h"
#include "tap.h"

static int
in(const char *list, const char *ip)
{
	unsigned char a[16];
	int fam = ns_cidr_ip_parse(ip, a);

	return fam ? ns_cidr_list_match(list, fam, a) : -1;
}

int
main(void)
{
	char text[64];
	unsigned char a[16];

	tap_is_int(in("127.0.0.1/32,::1/128", "127.0.0.1"), 1, "default list, IPv4 loopback");
	tap_is_int(in("127.0.0.1/32,::1/128", "::1"), 1, "default list, IPv6 loopback");
	tap_is_int(in("127.0.0.1/32,::1/128", "127.0.0.2"), 0, "default list, another address");
	tap_is_int(in(" 10.0.0.0/8 , 192.168.0.0/16 ", "192.168.44.1"), 1, "spaces around items");
	tap_is_int(in("10.0.0.0/8", "::ffff:10.9.8.7"), 1, "IPv4-mapped IPv6 is IPv4");
	tap_is_int(in("172.16.0.0/12", "172.31.255.255"), 1, "/12: last address inside");
	tap_is_int(in("172.16.0.0/12", "172.32.0.0"), 0, "/12: next address outside");
	tap_is_int(in("2001:db8::/33", "2001:db8:7fff::1"), 1, "/33 inside");
	tap_is_int(in("2001:db8::/33", "2001:db8:8000::1"), 0, "/33 outside");
	tap_is_int(in("0.0.0.0/0", "203.0.113.7"), 1, "/0 matches its family");
	tap_is_int(in("0.0.0.0/0", "2001:db8::1"), 0, "/0 does not match the other family");
	tap_is_int(in("203.0.113.7", "203.0.113.7"), 1, "bare address");
	tap_is_int(in("10.0.0.0/", "203.0.113.7"), 0, "empty prefix length matches nothing");
	tap_is_int(in("10.0.0.0/-0", "203.0.113.7"), 0, "signed prefix length matches nothing");
	tap_is_int(in("10.0.0.0/ 8", "10.1.1.1"), 0, "blank in the prefix length matches nothing");
	tap_is_int(in("10.0.0.0/33", "10.0.0.1"), 0, "prefix length over 32 matches nothing");
	tap_is_int(in("1.2.3.4/0000000000000000000000000000000000000000000000000000000032",
	    "9.9.9.9"), 0, "an item too long is not cut into another");
	tap_is_int(in("1.2.3.4/032", "1.2.3.4"), 1, "leading zeros in the prefix length");
	tap_is_int(in("garbage,,1.2.3.4", "1.2.3.4"), 1, "a bad item does not stop the list");
	tap_is_int(in("", "1.2.3.4"), 0, "empty list");
	tap_is_int(ns_cidr_ip_parse("1.2.3", a), 0, "not an address");
	ns_cidr_ip_text(ns_cidr_ip_parse("::FFFF:192.0.2.1", a), a, text, sizeof(text));
	tap_is_str(text, "192.0.2.1", "IPv4-mapped IPv6 printed as IPv4");
	ns_cidr_ip_text(ns_cidr_ip_parse("2001:DB8:0:0:0:0:0:1", a), a, text, sizeof(text));
	tap_is_str(text, "2001:db8::1", "IPv6 printed canonically");
	ns_cidr_ip_text(ns_cidr_ip_parse("2001:db8::1", a), a, text, 4);
	tap_is_str(text, "", "too small a buffer gives \"\"");
	return tap_done();
}
