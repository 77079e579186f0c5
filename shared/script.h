/* script: run a Lua script in Redis by its SHA1 (EVALSHA), loading it on first use and again
 * after Redis forgot it (a restart), so the script text crosses the wire only then. */
#ifndef NS_SCRIPT_H
#define NS_SCRIPT_H
#include <stddef.h>
#include <hiredis/hiredis.h>
#include "err.h"
#include "kv.h"

#define NS_SCRIPT_SHA_LEN 40
#define NS_SCRIPT_ARGS_MAX 64	/* keys + args passed without a heap allocation */

/* One script; declare it static with .src set, the rest zero. Per process (not shared). */
struct ns_script {
	const char *src;
	char sha[NS_SCRIPT_SHA_LEN + 1];	/* "" until loaded */
};

/* EVALSHA s with nkeys keys then nargs args (args[0..nkeys) are the keys); the reply as
 * ns_kv_argv gives it (NULL with *err set on failure; the caller frees the reply). */
redisReply *ns_script_eval(struct ns_kv *kv, struct ns_script *s, enum ns_err *err, int nkeys,
    int nargs, const char **args, const size_t *lens);

/* The same followed by the n plain commands more, all in one MULTI … EXEC (one round trip,
 * nothing runs in between): EXEC's reply, whose first element is the script's and then one
 * per command (NULL when the script failed, as ns_script_eval). After a NOSCRIPT the whole
 * transaction is sent again, so the commands should be reads. */
redisReply *ns_script_eval_exec(struct ns_kv *kv, struct ns_script *s, enum ns_err *err,
    int nkeys, int nargs, const char **args, const size_t *lens, size_t n,
    const struct ns_kv_command *more);

#endif
