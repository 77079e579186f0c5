/* gwlua: scripts on the bus by their SHA1 (see gwlua.h).
 *
 * Every script starts with the 4 KB prelude. Sent with EVAL, each call carried it to Redis,
 * which hashed it again to find its cached copy (perf, 580 flows/s: SHA1Transform was the
 * largest symbol of redis-server). So the SHA1 is computed here (sha1.h), a SCRIPT LOAD
 * goes ahead of a script's first call on each connection, and every call is an EVALSHA. The
 * commands share one ordered connection, so an EVALSHA is never ahead of the load it
 * depends on. A new connection or a NOSCRIPT error (an operator's SCRIPT FLUSH; bus_epoch)
 * starts over: the call that met NOSCRIPT is sent again as EVAL from a copy of its
 * arguments, so nothing is lost. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "bus.h"
#include "gw.h"
#include "gwlua.h"
#include "sha1.h"

#define GWLUA_SHA_LEN SHA1_HEX_LEN
#define GWLUA_SCRIPTS_MAX 64	/* distinct script texts; more go as EVAL every time */

struct script {
	const char *src;		/* static text: the script's identity is its address */
	char sha[GWLUA_SHA_LEN + 1];	/* SHA1 of src in hex (sha1.h), computed on first use */
	unsigned loaded;		/* 1 + bus_epoch() of the last SCRIPT LOAD queued, or 0 */
};

static struct script scripts[GWLUA_SCRIPTS_MAX];
static int nscripts;

static struct script *
script_of(const char *src)
{
	int i;

	for (i = 0; i < nscripts; i++)
		if (scripts[i].src == src)
			return &scripts[i];
	if (nscripts == GWLUA_SCRIPTS_MAX)
		return NULL;
	scripts[nscripts].src = src;
	sha1_hex(src, strlen(src), scripts[nscripts].sha);
	return &scripts[nscripts++];
}

/* Redis names a script by the same SHA1 we computed; a different answer is a bug here. */
static void
on_loaded(struct gw *g, redisReply *reply, void *arg)
{
	struct script *s = arg;

	(void)g;
	if (reply && reply->type == REDIS_REPLY_STRING && strcmp(reply->str, s->sha) != 0)
		ns_log_err("gateway: redis loaded a script as %s, we call it %s", reply->str, s->sha);
}

/* An EVALSHA in flight: enough to send it again as EVAL. */
struct resend {
	struct script *s;
	bus_reply_fn fn;
	void *arg;
	unsigned epoch;			/* bus_epoch() when sent */
	int nkeys, nargs;
	const char *args[GWLUA_ARGS_MAX];	/* into buf */
	char buf[];
};

/* EVAL src or EVALSHA sha (body) with nkeys keys then the rest of args. */
static int
send_script(struct gw *g, const char *cmd, const char *body, int nkeys, int nargs,
    const char **args, bus_reply_fn fn, void *arg)
{
	const char *argv[GWLUA_ARGS_MAX + 3];
	char nk[12];
	int i;

	snprintf(nk, sizeof(nk), "%d", nkeys);
	argv[0] = cmd;
	argv[1] = body;
	argv[2] = nk;
	for (i = 0; i < nargs; i++)
		argv[3 + i] = args[i];
	return bus_cmd_argv(g->bus, fn, arg, nargs + 3, argv, NULL);
}

static void
on_evalsha(struct gw *g, redisReply *reply, void *arg)
{
	struct resend *r = arg;

	/* No reply and a changed epoch: this very reply was NOSCRIPT (bus.c bumps the epoch
	 * before the callback). A lost link leaves the epoch alone until the next connect. */
	if (!reply && bus_epoch(g->bus) != r->epoch) {
		ns_log_info("gateway: redis lost its scripts; running the call again as EVAL");
		if (send_script(g, "EVAL", r->s->src, r->nkeys, r->nargs, r->args, r->fn,
		    r->arg) < 0 && r->fn)
			r->fn(g, NULL, r->arg);
	} else if (r->fn)
		r->fn(g, reply, r->arg);
	free(r);
}

static struct resend *
resend_new(struct gw *g, struct script *s, int nkeys, int nargs, const char **args,
    bus_reply_fn fn, void *arg)
{
	struct resend *r;
	size_t need = 0, n;
	char *at;
	int i;

	for (i = 0; i < nargs; i++)
		need += strlen(args[i]) + 1;
	if (!(r = malloc(sizeof(*r) + need)))
		return NULL;
	r->s = s;
	r->fn = fn;
	r->arg = arg;
	r->epoch = bus_epoch(g->bus);
	r->nkeys = nkeys;
	r->nargs = nargs;
	for (i = 0, at = r->buf; i < nargs; i++) {
		n = strlen(args[i]) + 1;
		memcpy(at, args[i], n);
		r->args[i] = at;
		at += n;
	}
	return r;
}

int
gwlua_eval(struct gw *g, const char *what, const char *src, int nkeys, int nargs,
    const char **args, bus_reply_fn fn, void *arg)
{
	struct script *s = script_of(src);
	struct resend *r;
	int rc;

	if (nargs < 0 || nargs > GWLUA_ARGS_MAX || nkeys < 0 || nkeys > nargs) {
		ns_log_err("gateway: %s: %d script arguments, over the ceiling", what, nargs);
		return -1;
	}
	/* SCRIPT LOAD once per connection, then EVALSHA at once: Redis runs one connection's
	 * commands in order, so the script is there when the EVALSHA comes. (Waiting for the
	 * load's reply meant sending the whole text with EVAL meanwhile: 17,000 unregistrations
	 * at a drain sent 70 MB.) */
	if (s && s->loaded != bus_epoch(g->bus) + 1 &&
	    bus_cmd(g->bus, on_loaded, s, "SCRIPT LOAD %s", src) == 0)
		s->loaded = bus_epoch(g->bus) + 1;
	if (s && s->loaded == bus_epoch(g->bus) + 1 &&
	    (r = resend_new(g, s, nkeys, nargs, args, fn, arg))) {
		if ((rc = send_script(g, "EVALSHA", s->sha, nkeys, nargs, args, on_evalsha, r)) < 0)
			free(r);
	} else
		rc = send_script(g, "EVAL", src, nkeys, nargs, args, fn, arg);
	if (rc < 0) {
		ns_log_warn("gateway: redis down: %s not done", what);
		return -1;
	}
	return 0;
}
