/* test_clock: the clocks advance and agree with each other and with time(2). */
#include "config.h"
#include <time.h>
#include "clock.h"
#include "tap.h"

int
main(void)
{
	struct timespec ten_ms = { 0, 10 * 1000 * 1000 };
	int64_t wall = ns_clock_now_ms(), m0 = ns_clock_mono_ms(), u0 = ns_clock_mono_us(), m1, u1;
	int64_t t = (int64_t)time(NULL) * 1000;

	tap_ok(wall >= t - 1000 && wall <= t + 1000, "wall clock in ms matches time(2)");
	nanosleep(&ten_ms, NULL);
	m1 = ns_clock_mono_ms();
	u1 = ns_clock_mono_us();
	tap_ok(m1 - m0 >= 10 && m1 - m0 < 5000, "monotonic ms advances by the sleep (%lld)",
	    (long long)(m1 - m0));
	tap_ok(u1 - u0 >= 10000 && u1 - u0 < 5000000, "monotonic us advances by the sleep");
	tap_ok(u1 / 1000 - m1 <= 1 && m1 - u1 / 1000 <= 1, "ms and us share a time base");
	return tap_done();
}
