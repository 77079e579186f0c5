/* dso: dlopen and dlsym into a table (see dso.h). */
#include "config.h"

#include <dlfcn.h>
#include <string.h>

#include "dso.h"
#include "log.h"

int
ns_dso_open(const char *soname, const struct ns_dso_sym *syms, size_t n, void *table)
{
	void *h, *f;
	size_t i;

	if ((h = dlopen(soname, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		ns_log_err("cannot open %s: %s", soname, dlerror());
		return -1;
	}
	for (i = 0; i < n; i++) {
		if ((f = dlsym(h, syms[i].name)) == NULL) {
			ns_log_err("%s has no %s", soname, syms[i].name);
			dlclose(h);
			return -1;
		}
		/* POSIX guarantees a function's address survives the trip through void * */
		memcpy((char *)table + syms[i].off, &f, sizeof(f));
	}
	return 0;
}
