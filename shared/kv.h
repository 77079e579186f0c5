/* kv: blocking Redis client (hiredis 0.14) for the FastCGI workers and tools: connect and
 * command timeouts, lazy reconnect after a failure, rate-limited so a dead Redis costs one
 * connect attempt per interval rather than one per request. */
#ifndef NS_KV_H
#define NS_KV_H
#include <stddef.h>
#include <hiredis/hiredis.h>
#include "err.h"

#define NS_KV_RETRY_MS 250	/* minimum gap between reconnect attempts */

struct ns_kv;	/* opaque */

/* Where a Redis URL points. Parsed from redis://[:password@]host[:port][/db] or
 * unix:/path/to.sock[?db=N] (also redis+unix:///path). */
struct ns_kv_addr {
	char host[256];		/* host name or address; empty for unix sockets */
	int port;
	char path[256];		/* unix socket path; empty for TCP */
	char password[128];
	int db;
};
enum ns_err ns_kv_parse_url(const char *url, struct ns_kv_addr *out);

/* Nothing is connected yet; the first command connects. */
struct ns_kv *ns_kv_new(const char *url, int timeout_ms);
void ns_kv_free(struct ns_kv *kv);

/* Run a command (printf-style, as redisCommand) or an argv command. Returns the reply, or
 * NULL with *err = NS_E_REDIS (unreachable, I/O error, timeout) or NS_E_INTERNAL (error
 * reply; the reply text is logged). The caller freeReplyObject()s the reply. */
redisReply *ns_kv_cmd(struct ns_kv *kv, enum ns_err *err, const char *fmt, ...);
redisReply *ns_kv_argv(struct ns_kv *kv, enum ns_err *err, int argc, const char **argv,
    const size_t *argvlen);

/* One command of a transaction: argv as for ns_kv_argv (argvlen NULL: C strings). */
struct ns_kv_command {
	int argc;
	const char **argv;
	const size_t *argvlen;
};
#define NS_KV_EXEC_MAX 8	/* commands in one transaction */

/* Run n commands as MULTI … EXEC in one round trip: they run together, nothing in between.
 * Returns EXEC's reply, an array of the n replies (any of which may be an error reply, as
 * Redis answers a command that fails inside EXEC), or NULL with *err as ns_kv_argv. */
redisReply *ns_kv_exec(struct ns_kv *kv, enum ns_err *err, size_t n,
    const struct ns_kv_command *cmds);

enum ns_err ns_kv_ping(struct ns_kv *kv, double *latency_ms);
const char *ns_kv_last_error(const struct ns_kv *kv);

#endif
