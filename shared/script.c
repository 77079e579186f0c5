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

static redisReply *
evalsha(struct ns_kv *kv, struct ns_script *s, enum ns_err *err, int nkeys, int nargs,
    const char **args, const size_t *lens)
{
	const char *sv[NS_SCRIPT_ARGS_MAX + 3], **av = sv;
	size_t lv[NS_SCRIPT_ARGS_MAX + 3], *al = lv;
	char nk[16];
	int n = nkeys + nargs, i;
	redisReply *r;

	if (n > NS_SCRIPT_ARGS_MAX) {	/* a bulk load (IP-ban set): heap */
		av = malloc(sizeof(*av) * (size_t)(n + 3));
		al = malloc(sizeof(*al) * (size_t)(n + 3));
		if (!av || !al) {
			free(av);
			free(al);
			*err = NS_E_NOMEM;
			return NULL;
		}
	}
	snprintf(nk, sizeof(nk), "%d", nkeys);
	av[0] = "EVALSHA", al[0] = 7;
	av[1] = s->sha, al[1] = NS_SCRIPT_SHA_LEN;
	av[2] = nk, al[2] = strlen(nk);
	for (i = 0; i < n; i++) {
		av[3 + i] = args[i];
		al[3 + i] = lens ? lens[i] : strlen(args[i]);
	}
	r = ns_kv_argv(kv, err, n + 3, av, al);
	if (av != sv) {
		free(av);
		free(al);
	}
	return r;
}

redisReply *
ns_script_eval(struct ns_kv *kv, struct ns_script *s, enum ns_err *err, int nkeys, int nargs,
    const char **args, const size_t *lens)
{
	redisReply *r;

	if (!s->sha[0] && (*err = load(kv, s)) != NS_OK)
		return NULL;
	r = evalsha(kv, s, err, nkeys, nargs, args, lens);
	if (r || *err != NS_E_INTERNAL || strstr(ns_kv_last_error(kv), "NOSCRIPT") == NULL)
		return r;
	/* Redis restarted and lost its script cache: load again, once. */
	if ((*err = load(kv, s)) != NS_OK)
		return NULL;
	return evalsha(kv, s, err, nkeys, nargs, args, lens);
}
