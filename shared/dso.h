/* dso: open a shared library on first use and fill a table of its functions, for libraries
 * only a rare request needs (libcurl for a Stripe checkout, libpng for a QR image). Linked,
 * each would keep its dependency tree resident in every worker. */
#ifndef NS_DSO_H
#define NS_DSO_H
#include <stddef.h>

/* One function: its name in the library and the offset of its pointer in the table. */
struct ns_dso_sym {
	const char *name;
	size_t off;
};

/* dlopen soname and store each symbol's address at table + off. 0, or -1 (logged) when the
 * library or a symbol is missing; the table is then left partly filled and must not be used. */
int ns_dso_open(const char *soname, const struct ns_dso_sym *syms, size_t n, void *table);

#endif
