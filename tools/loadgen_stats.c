/* loadgen_stats: latency histograms, error counts by kind, clocks. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "loadgen.h"

const char *const lg_step_names[LG_STEP__COUNT] = {
	"invite_notify", "accept_start", "join", "offer_relay", "answer_relay", "ice_relay",
	"chat_echo", "end_finalized",
};

uint64_t
lg_now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t
lg_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Bucket of v: values below LG_HIST_SUB are exact, then LG_HIST_SUB buckets per power of two. */
static unsigned
bucket_of(uint64_t v)
{
	unsigned p = 0;

	if (v < LG_HIST_SUB)
		return (unsigned)v;
	while ((v >> p) >= 2 * LG_HIST_SUB)
		p++;
	/* v >> p is in [SUB, 2 SUB): p + 1 groups above the exact range */
	if (p + 1 >= LG_HIST_POW)
		return LG_HIST_BUCKETS - 1;
	return (p + 1) * LG_HIST_SUB + (unsigned)((v >> p) - LG_HIST_SUB);
}

/* The upper bound of bucket b (the value reported for it). */
static uint64_t
bucket_top(unsigned b)
{
	unsigned p;

	if (b < LG_HIST_SUB)
		return b;
	p = b / LG_HIST_SUB - 1;
	return ((uint64_t)(LG_HIST_SUB + b % LG_HIST_SUB + 1) << p) - 1;
}

void
lg_hist_add(struct lg_hist *h, uint64_t us)
{
	h->n++;
	h->sum_us += us;
	if (us > h->max_us)
		h->max_us = us;
	h->bucket[bucket_of(us)]++;
}

void
lg_hist_merge(struct lg_hist *into, const struct lg_hist *from)
{
	unsigned b;

	into->n += from->n;
	into->sum_us += from->sum_us;
	if (from->max_us > into->max_us)
		into->max_us = from->max_us;
	for (b = 0; b < LG_HIST_BUCKETS; b++)
		into->bucket[b] += from->bucket[b];
}

uint64_t
lg_hist_pct(const struct lg_hist *h, double pct)
{
	uint64_t want, seen = 0, top;
	unsigned b;

	if (h->n == 0)
		return 0;
	want = (uint64_t)(pct / 100.0 * (double)h->n + 0.999999);
	if (want < 1)
		want = 1;
	for (b = 0; b < LG_HIST_BUCKETS; b++) {
		seen += h->bucket[b];
		if (seen >= want) {
			top = bucket_top(b);
			return top < h->max_us ? top : h->max_us;
		}
	}
	return h->max_us;
}

static void
errs_add(struct lg_errs *errs, const char *kind, uint64_t count)
{
	uint32_t i;

	for (i = 0; i < errs->n; i++)
		if (strcmp(errs->e[i].kind, kind) == 0)
			break;
	if (i == errs->n) {
		if (errs->n == LG_ERR_KINDS_MAX) {
			i = LG_ERR_KINDS_MAX - 1;	/* the last slot collects the overflow */
			snprintf(errs->e[i].kind, LG_ERR_KIND_LEN, "other");
		} else {
			snprintf(errs->e[i].kind, LG_ERR_KIND_LEN, "%s", kind);
			errs->e[i].count = 0;
			errs->n++;
		}
	}
	errs->e[i].count += count;
}

void
lg_err(struct lg_errs *errs, const char *fmt, ...)
{
	char kind[LG_ERR_KIND_LEN];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(kind, sizeof(kind), fmt, ap);
	va_end(ap);
	errs_add(errs, kind, 1);
}

void
lg_errs_merge(struct lg_errs *into, const struct lg_errs *from)
{
	uint32_t i;

	for (i = 0; i < from->n && i < LG_ERR_KINDS_MAX; i++)
		errs_add(into, from->e[i].kind, from->e[i].count);
}

uint64_t
lg_errs_total(const struct lg_errs *errs)
{
	uint64_t t = 0;
	uint32_t i;

	for (i = 0; i < errs->n; i++)
		t += errs->e[i].count;
	return t;
}
