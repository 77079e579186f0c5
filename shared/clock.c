/* clock: thin wrappers over clock_gettime so callers never mix time bases by accident. */
#include <config.h>
#include <time.h>
#include "clock.h"

static struct timespec
now(clockid_t id)
{
	struct timespec ts;

	/* Only fails for an invalid clock id, which these are not. */
	(void)clock_gettime(id, &ts);
	return ts;
}

int64_t
ns_clock_now_ms(void)
{
	struct timespec ts = now(CLOCK_REALTIME);

	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
ns_clock_now_us(void)
{
	struct timespec ts = now(CLOCK_REALTIME);

	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
ns_clock_mono_ms(void)
{
	struct timespec ts = now(CLOCK_MONOTONIC);

	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
ns_clock_mono_us(void)
{
	struct timespec ts = now(CLOCK_MONOTONIC);

	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
