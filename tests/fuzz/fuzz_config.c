/* fuzz_config: the hand-written text parsers of shared/: the config file reader (through a
 * memfd, so the real file path is exercised), ns_config_set, the secret-masking printer and
 * the Redis URL parser. The first byte picks the target. */
#include "config.h"
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "nsconfig.h"
#include "kv.h"

#define FUZZ_INPUT_MAX (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_file(const uint8_t *data, size_t size)
{
	static struct ns_config cfg;
	static FILE *devnull;
	char path[64], err[256];
	int fd = memfd_create("fuzz-config", MFD_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, data, size) == (ssize_t)size) {
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
		if (ns_config_load(&cfg, path, err, sizeof err) == NS_OK) {
			if (devnull == NULL)
				devnull = fopen("/dev/null", "w");
			if (devnull != NULL)
				ns_config_print(&cfg, devnull);
		}
	}
	close(fd);
}

static void
fuzz_set(const char *s)
{
	static struct ns_config cfg;
	static FILE *devnull;
	char key[NS_CFG_LINE_MAX], err[256];
	const char *eq = strchr(s, '=');
	size_t klen = eq != NULL ? (size_t)(eq - s) : strlen(s);

	if (klen >= sizeof key)
		return;
	memcpy(key, s, klen);
	key[klen] = '\0';
	if (ns_config_set(&cfg, key, eq != NULL ? eq + 1 : "", err, sizeof err) == NS_OK) {
		if (devnull == NULL)
			devnull = fopen("/dev/null", "w");
		if (devnull != NULL)
			ns_config_print(&cfg, devnull);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ns_kv_addr addr;
	char *s;

	if (size < 1 || size > FUZZ_INPUT_MAX)
		return 0;
	if (data[0] % 3 == 0) {
		fuzz_file(data + 1, size - 1);
		return 0;
	}
	/* The string parsers take C strings: stop at the first NUL as a caller would. */
	if ((s = malloc(size)) == NULL)
		return 0;
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] % 3 == 1) {
		if (ns_kv_parse_url(s, &addr) == NS_OK &&
		    (addr.port < 0 || addr.port > 65535 || addr.db < 0 ||
		    (addr.host[0] == '\0') == (addr.path[0] == '\0')))
			abort();	/* a parse that succeeds must describe exactly one endpoint */
	} else {
		fuzz_set(s);
	}
	free(s);
	return 0;
}
