/* gwlua: EVAL on the bus (see gwlua.h). */
#include "config.h"

#include <stdio.h>

#include "log.h"
#include "bus.h"
#include "gw.h"
#include "gwlua.h"

int
gwlua_eval(struct gw *g, const char *what, const char *src, int nkeys, int nargs,
    const char **args, bus_reply_fn fn, void *arg)
{
	const char *argv[GWLUA_ARGS_MAX + 3];
	char nk[12];
	int i;

	if (nargs < 0 || nargs > GWLUA_ARGS_MAX || nkeys < 0 || nkeys > nargs) {
		ns_log_err("gateway: %s: %d script arguments, over the ceiling", what, nargs);
		return -1;
	}
	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = "EVAL";
	argv[1] = src;
	argv[2] = nk;
	for (i = 0; i < nargs; i++)
		argv[3 + i] = args[i];
	if (bus_cmd_argv(g->bus, fn, arg, nargs + 3, argv, NULL) < 0) {
		ns_log_warn("gateway: redis down: %s not done", what);
		return -1;
	}
	return 0;
}
