/* script: EVALSHA with a reload on NOSCRIPT (see script.h). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"
#include "log.h"

static enum ns_err
load(struct ns_kv *kv, struct ns_script *s)
{
	enum ns_err e;
	redisReply *r = ns_kv_cmd(kv, &e, "SCRIPT LOAD %s", s->src);

	if (!r)
		return e;
	if (r->type != REDIS_REPLY_STRING || r->len != NS_SCRIPT_SHA_LEN) {
		freeReplyObject(r);
		return NS_E_INTERNAL;
	}
	memcpy(s->sha, r->str, NS_SCRIPT_SHA_LEN + 1);
	freeReplyObject(r);
	return NS_OK;
}

/* EVALSHA's argv into av/al, which hold n + 3 (heap when over NS_SCRIPT_ARGS_MAX). */
static int
evalsha_argv(struct ns_script *s, int nkeys, int nargs, const char **args, const size_t *lens,
    char nk[16], const char ***av, size_t **al)
{
	int n = nkeys + nargs, i;

	if (n > NS_SCRIPT_ARGS_MAX) {	/* a bulk load (IP-ban set): heap */
		*av = malloc(sizeof(**av) * (size_t)(n + 3));
		*al = malloc(sizeof(**al) * (size_t)(n + 3));
		if (!*av || !*al)
			return -1;
	}
	snprintf(nk, 16, "%d", nkeys);
	(*av)[0] = "EVALSHA", (*al)[0] = 7;
	(*av)[1] = s->sha, (*al)[1] = NS_SCRIPT_SHA_LEN;
	(*av)[2] = nk, (*al)[2] = strlen(nk);
	for (i = 0; i < n; i++) {
		(*av)[3 + i] = args[i];
		(*al)[3 + i] = lens ? lens[i] : strlen(args[i]);
	}
	return n + 3;
}

/* EVALSHA s alone (n 0), or first in a transaction with the n commands more. */
static redisReply *
evalsha(struct ns_kv *kv, struct ns_script *s, enum ns_err *err, int nkeys, int nargs,
    const char **args, const size_t *lens, size_t n, const struct ns_kv_command *more)
{
	const char *sv[NS_SCRIPT_ARGS_MAX + 3], **av = sv;
	size_t lv[NS_SCRIPT_ARGS_MAX + 3], *al = lv;
	struct ns_kv_command cmds[NS_KV_EXEC_MAX];
	char nk[16];
	int argc = evalsha_argv(s, nkeys, nargs, args, lens, nk, &av, &al);
	redisReply *r = NULL;

	if (argc < 0) {
		*err = NS_E_NOMEM;
	} else if (n == 0) {
		r = ns_kv_argv(kv, err, argc, av, al);
	} else if (n + 1 > NS_KV_EXEC_MAX) {
		*err = NS_E_INTERNAL;
	} else {
		cmds[0].argc = argc, cmds[0].argv = av, cmds[0].argvlen = al;
		memcpy(cmds + 1, more, n * sizeof(*more));
		r = ns_kv_exec(kv, err, n + 1, cmds);
	}
	if (av != sv)
		free(av);
	if (al != lv)
		free(al);
	return r;
}

/* Redis restarted and lost its script cache: the script's error names it. */
static int
noscript(struct ns_kv *kv, const redisReply *r, enum ns_err err)
{
	if (r == NULL)
		return err == NS_E_INTERNAL && strstr(ns_kv_last_error(kv), "NOSCRIPT") != NULL;
	return r->type == REDIS_REPLY_ARRAY && r->elements > 0 &&
	    r->element[0]->type == REDIS_REPLY_ERROR &&
	    strncmp(r->element[0]->str, "NOSCRIPT", 8) == 0;
}

static redisReply *
eval_with(struct ns_kv *kv, struct ns_script *s, enum ns_err *err, int nkeys, int nargs,
    const char **args, const size_t *lens, size_t n, const struct ns_kv_command *more)
{
	redisReply *r;

	if (!s->sha[0] && (*err = load(kv, s)) != NS_OK)
		return NULL;
	r = evalsha(kv, s, err, nkeys, nargs, args, lens, n, more);
	if (!noscript(kv, r, *err))
		return r;
	if (r)
		freeReplyObject(r);
	if ((*err = load(kv, s)) != NS_OK)	/* once */
		return NULL;
	return evalsha(kv, s, err, nkeys, nargs, args, lens, n, more);
}

redisReply *
ns_script_eval(struct ns_kv *kv, struct ns_script *s, enum ns_err *err, int nkeys, int nargs,
    const char **args, const size_t *lens)
{
	return eval_with(kv, s, err, nkeys, nargs, args, lens, 0, NULL);
}

redisReply *
ns_script_eval_exec(struct ns_kv *kv, struct ns_script *s, enum ns_err *err, int nkeys,
    int nargs, const char **args, const size_t *lens, size_t n, const struct ns_kv_command *more)
{
	redisReply *r = eval_with(kv, s, err, nkeys, nargs, args, lens, n, more);

	/* a failed script fails the call, as ns_script_eval's error reply does */
	if (r && r->element[0]->type == REDIS_REPLY_ERROR) {
		ns_log_warn("redis script error: %s", r->element[0]->str);
		freeReplyObject(r);
		r = NULL;
		*err = NS_E_INTERNAL;
	}
	return r;
}
