/* clock: wall-clock and monotonic milliseconds. */
#ifndef NS_CLOCK_H
#define NS_CLOCK_H
#include <stdint.h>

int64_t ns_clock_now_ms(void);	/* CLOCK_REALTIME, ms since the epoch */
int64_t ns_clock_now_us(void);	/* CLOCK_REALTIME, µs: latencies between processes */
int64_t ns_clock_mono_ms(void);	/* CLOCK_MONOTONIC, for durations and deadlines */
int64_t ns_clock_mono_us(void);	/* CLOCK_MONOTONIC, µs, for latency figures */

#endif
