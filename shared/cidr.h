/* cidr: addresses and comma-separated CIDR lists (metrics_allow of the workers and the
 * gateways, the gateways' trusted_proxies) as read from the configuration, REMOTE_ADDR and
 * the proxy's X-Real-IP. No I/O. */
#ifndef NS_CIDR_H
#define NS_CIDR_H
#include <stddef.h>

/* Parse an IPv4 or IPv6 address; IPv4-mapped IPv6 becomes IPv4 (addr[0..4)). Returns the
 * family (AF_INET, AF_INET6) or 0. */
int ns_cidr_ip_parse(const char *s, unsigned char addr[16]);
/* 1 when addr (of family fam) is inside one of list's comma-separated CIDRs (a bare address
 * is a /32 or /128); items that do not parse match nothing. */
int ns_cidr_list_match(const char *list, int fam, const unsigned char addr[16]);
/* 1 when every item of list is an address or a CIDR (the configuration refuses others). */
int ns_cidr_list_valid(const char *list);
/* The address as text into out (cap ≥ 1); "" when it does not fit. */
void ns_cidr_ip_text(int fam, const unsigned char addr[16], char *out, size_t cap);

#endif
