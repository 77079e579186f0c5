/* metrics: counters every worker keeps in its own shared-memory slot (one small file per
 * slot under a runtime directory, claimed with flock), summed by GET /metrics, so any
 * worker answers for all of them and the hot path costs a few memory increments. */
#ifndef API_METRICS_H
#define API_METRICS_H
#include <stddef.h>
#include <stdint.h>
#include "router.h"

#define API_METRICS_ROUTES_MAX 96	/* route-table entries counted (plus "unmatched") */
#define API_METRICS_SLOTS 128		/* workers (and CGI runs) at the same time */
#define API_METRICS_OUT_MAX (1024 * 1024)	/* ceiling of one /metrics body */

enum api_cache_kind { API_CACHE_SESSION = 0, API_CACHE_USER, API_CACHE_IPBAN, API_CACHE_EXCL,
	API_CACHE__COUNT };

/* Claim a slot for this process (once; later calls do nothing). Metrics are off, silently
 * apart from one log line, when no slot can be had. */
void api_metrics_init(const struct ns_config *cfg, const struct api_route *routes, size_t n);

/* route: index into the table given to init, or -1 for no route. */
void api_metrics_request(int route, int status, int64_t duration_us);
void api_metrics_cache(enum api_cache_kind kind, int hit);
void api_metrics_cache_n(enum api_cache_kind kind, int hit, size_t n);	/* n lookups at once */
void api_metrics_db_error(void);
void api_metrics_redis_error(void);
void api_metrics_ratelimited(enum api_limiter limiter);

/* Prometheus text (format 0.0.4) of every slot, plus the given extra text (gauges read by
 * the caller). Returns a malloc'd buffer (*len set) or NULL. */
char *api_metrics_render(const char *extra, size_t *len);

/* 1 when addr lies in one of the comma-separated CIDRs of list ("10.0.0.0/8,::1/128"; a bare
 * address means the one host). */
int api_metrics_allowed(const char *list, const char *addr);

#endif
