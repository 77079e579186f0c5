/* tap: minimal Test Anything Protocol output for the unit tests (automake's TAP driver reads it). */
#ifndef NS_TAP_H
#define NS_TAP_H
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define tap_plan(n) printf("1..%d\n", (n))
#define tap_ok(cond, ...) do { \
	int tap_c_ = (cond) ? 1 : 0; \
	printf("%sok %d - ", tap_c_ ? "" : "not ", ++tap_n); \
	printf(__VA_ARGS__); printf("\n"); \
	if (!tap_c_) { tap_failed++; printf("#   failed at %s:%d\n", __FILE__, __LINE__); } \
} while (0)
#define tap_is_int(got, want, ...) do { \
	long long tap_g_ = (long long)(got), tap_w_ = (long long)(want); \
	tap_ok(tap_g_ == tap_w_, __VA_ARGS__); \
	if (tap_g_ != tap_w_) printf("#   got %lld, want %lld\n", tap_g_, tap_w_); \
} while (0)
#define tap_is_str(got, want, ...) do { \
	const char *tap_g_ = (got), *tap_w_ = (want); \
	int tap_eq_ = tap_g_ && tap_w_ && strcmp(tap_g_, tap_w_) == 0; \
	tap_ok(tap_eq_, __VA_ARGS__); \
	if (!tap_eq_) printf("#   got '%s', want '%s'\n", tap_g_ ? tap_g_ : "(null)", tap_w_ ? tap_w_ : "(null)"); \
} while (0)
/* Ends the test; plan printed last ("done_testing" style) when n == 0 was not planned. */
#define tap_done() (printf("1..%d\n", tap_n), tap_failed ? 1 : 0)

#endif
