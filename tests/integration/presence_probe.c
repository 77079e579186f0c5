/* presence_probe: sets and reads presence through shared/presence, so the integration tests
 * exercise the same writer the benchmarks and gateways rely on. REDIS_URL names the server.
 * Usage: presence_probe set USER_ID ONLINE AVAILABLE [SINCE_MS]   (default: now)
 *        presence_probe get USER_ID        prints "online=N available=N"
 *        presence_probe clear USER_ID
 * Exit 0 on success, 1 on a Redis error, 2 on bad usage. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "err.h"
#include "kv.h"
#include "presence.h"

#define PROBE_TIMEOUT_MS 2000

static int
usage(void)
{
	fprintf(stderr, "usage: presence_probe set USER_ID ONLINE AVAILABLE [SINCE_MS] |"
	    " get USER_ID | clear USER_ID\n");
	return 2;
}

static int
parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return 0;
	*out = v;
	return 1;
}

int
main(int argc, char **argv)
{
	const char *url = getenv("REDIS_URL");
	struct ns_kv *kv;
	enum ns_err err;
	int64_t online = 0, avail = 0, since;
	int on = 0, av = 0;

	if (argc < 3 || url == NULL)
		return usage();
	if ((kv = ns_kv_new(url, PROBE_TIMEOUT_MS)) == NULL) {
		fprintf(stderr, "presence_probe: bad REDIS_URL\n");
		return 1;
	}
	if (strcmp(argv[1], "set") == 0 && (argc == 5 || argc == 6)) {
		since = ns_clock_now_ms();
		if (!parse_i64(argv[3], &online) || !parse_i64(argv[4], &avail) ||
		    (argc == 6 && !parse_i64(argv[5], &since))) {
			ns_kv_free(kv);
			return usage();
		}
		err = ns_presence_set(kv, argv[2], online != 0, avail != 0, since);
	} else if (strcmp(argv[1], "get") == 0 && argc == 3) {
		err = ns_presence_get(kv, argv[2], &on, &av);
		if (err == NS_OK)
			printf("online=%d available=%d\n", on, av);
	} else if (strcmp(argv[1], "clear") == 0 && argc == 3) {
		err = ns_presence_clear(kv, argv[2]);
	} else {
		ns_kv_free(kv);
		return usage();
	}
	ns_kv_free(kv);
	if (err != NS_OK) {
		fprintf(stderr, "presence_probe: %s\n", ns_err_str(err));
		return 1;
	}
	return 0;
}
