/* metrics: per-worker counters in shared memory, summed on demand (see metrics.h).
 *
 * Directory: $RUNTIME_DIRECTORY (systemd) else /dev/shm else /tmp, then
 * napalmsky-metrics-<uid>-<hash of the storage URLs>, so the workers of one deployment
 * meet there and two stacks on one host (tests) do not. A worker takes the first slot file
 * it can flock exclusively and keeps the lock until it exits; a respawned worker inherits
 * the slot and its counts. Each slot has one writer. Slots are claimed and the directory
 * removed (by the last worker to exit) under the directory's lock file, so two workers
 * stopping together cannot both leave it behind. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "metrics.h"
#include "cidr.h"
#include "log.h"
#include "nsconfig.h"

#define MAGIC 0x6e736d6574726963ULL	/* "nsmetric" */
#define PATH_MAX_LEN 512
#define DIR_PREFIX "napalmsky-metrics-"
#define SWEEP_AGE_S 60		/* an unused directory younger than this may be starting up */
#define NSTATUS (sizeof(statuses) / sizeof(statuses[0]) + 1)	/* + "other" */
#define NBUCKETS (sizeof(bucket_us) / sizeof(bucket_us[0]) + 1)	/* + "+Inf" */
#define NLIMITERS (API_RL_VALIDATE + 1)
#define NROUTES (API_METRICS_ROUTES_MAX + 1)	/* + unmatched */

static const int statuses[] = { 200, 204, 304, 400, 401, 402, 403, 404, 405, 409, 413, 415,
    429, 500, 503 };
static const int64_t bucket_us[] = { 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000,
    250000, 500000, 1000000, 2500000, 5000000 };
static const char *const cache_names[API_CACHE__COUNT] = { "session", "user", "ipban", "exclusions" };
static const char *const limiter_names[NLIMITERS] = { "none", "auth", "api", "turn", "report",
    "validate" };

struct slot {
	uint64_t magic;
	uint64_t layout;	/* hash of the route table: a different build starts afresh */
	uint64_t requests[NROUTES][NSTATUS];
	uint64_t latency[NROUTES][NBUCKETS];	/* per bucket, not cumulative */
	uint64_t latency_sum_us[NROUTES];
	uint64_t cache[API_CACHE__COUNT][2];	/* [miss, hit] */
	uint64_t db_errors, redis_errors;
	uint64_t ratelimited[NLIMITERS];
};

static struct {
	int tried;
	struct slot *s;
	int fd;
	const struct api_route *routes;
	size_t n;
	uint64_t layout;
	char dir[PATH_MAX_LEN];
} m;

static uint64_t
fnv(uint64_t h, const char *s)
{
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

#define ADD(field) do { if (m.s) __atomic_fetch_add(&(field), 1, __ATOMIC_RELAXED); } while (0)

/* The base directory and our directory's name in it. */
static int
metrics_dir(const struct ns_config *cfg, char *base, size_t bcap, char *out, size_t cap)
{
	const char *b = getenv("RUNTIME_DIRECTORY");
	uint64_t h = fnv(0xcbf29ce484222325ULL, cfg->database_url);
	int n;

	h = fnv(h, "|");
	h = fnv(h, cfg->redis_url);
	if (b && *b)
		n = snprintf(base, bcap, "%.*s", (int)strcspn(b, ":"), b);
	else
		n = snprintf(base, bcap, "%s", access("/dev/shm", W_OK | X_OK) == 0 ? "/dev/shm" :
		    "/tmp");
	if (n < 0 || (size_t)n >= bcap)
		return -1;
	n = snprintf(out, cap, "%s/" DIR_PREFIX "%lu-%016" PRIx64, base, (unsigned long)getuid(), h);
	return n < 0 || (size_t)n >= cap ? -1 : 0;
}

/* Lock dir's lock file exclusively (blocking when wait): its fd, or -1. Every change to the
 * set of slot files happens under this lock. */
static int
dir_lock(const char *dir, int wait)
{
	char path[PATH_MAX_LEN + 32];
	struct stat st;
	int fd;

	snprintf(path, sizeof(path), "%s/lock", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600)) < 0)
		return -1;
	if (flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) < 0 || fstat(fd, &st) < 0 ||
	    st.st_nlink == 0) {	/* removed while we waited */
		close(fd);
		return -1;
	}
	return fd;
}

/* With dir locked: remove it when no slot is held (except own, already released). Returns 1
 * when removed. */
static int
remove_if_idle(const char *dir)
{
	char path[PATH_MAX_LEN + 32];
	int k;

	for (k = 0; k < API_METRICS_SLOTS; k++) {
		int fd, held;

		snprintf(path, sizeof(path), "%s/slot-%d", dir, k);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			break;
		held = flock(fd, LOCK_EX | LOCK_NB) < 0;
		close(fd);
		if (held)
			return 0;
	}
	while (k-- > 0) {
		snprintf(path, sizeof(path), "%s/slot-%d", dir, k);
		unlink(path);
	}
	snprintf(path, sizeof(path), "%s/lock", dir);
	unlink(path);
	rmdir(dir);
	return 1;
}

/* The last worker out removes the directory, so test stacks leave nothing behind; the
 * counters of a deployment restart from zero then, as Prometheus expects of a restart. */
static void
cleanup(void)
{
	int lk = dir_lock(m.dir, 1);

	if (lk < 0)
		return;
	flock(m.fd, LOCK_UN);	/* our slot is free from here on */
	remove_if_idle(m.dir);
	close(lk);
}

/* Directories of ours that no process uses any more (workers killed, or ended by _exit,
 * which skips cleanup): removed when older than SWEEP_AGE_S. */
static void
sweep(const char *base)
{
	char prefix[64], path[PATH_MAX_LEN + 300];
	struct dirent *de;
	DIR *d = opendir(base);

	if (!d)
		return;
	snprintf(prefix, sizeof(prefix), DIR_PREFIX "%lu-", (unsigned long)getuid());
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		int lk;

		if (strncmp(de->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", base, de->d_name);
		if (strcmp(path, m.dir) == 0 || lstat(path, &st) < 0 || !S_ISDIR(st.st_mode) ||
		    time(NULL) - st.st_mtime < SWEEP_AGE_S)
			continue;
		if ((lk = dir_lock(path, 0)) < 0)
			continue;
		remove_if_idle(path);
		close(lk);
	}
	closedir(d);
}

/* With the directory locked: the first free slot, mapped; 0 or -1. */
static int
claim_slot(void)
{
	char path[PATH_MAX_LEN + 32];
	int k;

	for (k = 0; k < API_METRICS_SLOTS; k++) {
		struct stat st;
		void *p;
		int fd;

		snprintf(path, sizeof(path), "%s/slot-%d", m.dir, k);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		if (fd < 0)
			return -1;
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			close(fd);
			continue;
		}
		if (fstat(fd, &st) < 0 ||
		    ((size_t)st.st_size != sizeof(struct slot) &&
		    ftruncate(fd, sizeof(struct slot)) < 0) ||
		    (p = mmap(NULL, sizeof(struct slot), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		    0)) == MAP_FAILED) {
			close(fd);
			return -1;
		}
		m.s = p;	/* the fd stays open: it holds the lock for our lifetime */
		m.fd = fd;
		if (m.s->magic != MAGIC || m.s->layout != m.layout) {
			memset(m.s, 0, sizeof(*m.s));
			m.s->layout = m.layout;
			m.s->magic = MAGIC;
		}
		return 0;
	}
	return -1;
}

void
api_metrics_init(const struct ns_config *cfg, const struct api_route *routes, size_t n)
{
	char base[PATH_MAX_LEN];
	size_t i;
	int tries, lk = -1;

	if (m.tried)
		return;
	m.tried = 1;
	m.routes = routes;
	m.n = n < API_METRICS_ROUTES_MAX ? n : API_METRICS_ROUTES_MAX;
	m.layout = fnv(0xcbf29ce484222325ULL, "v1");
	for (i = 0; i < m.n; i++) {
		m.layout = fnv(m.layout, routes[i].method);
		m.layout = fnv(m.layout, routes[i].pattern);
	}
	if (metrics_dir(cfg, base, sizeof(base), m.dir, sizeof(m.dir)) < 0) {
		ns_log_warn("metrics off: no runtime directory");
		m.dir[0] = '\0';
		return;
	}
	/* the last worker of a previous run may be removing the directory right now */
	for (tries = 0; tries < 3 && lk < 0; tries++)
		if (mkdir(m.dir, 0700) == 0 || errno == EEXIST)
			lk = dir_lock(m.dir, 1);
	if (lk < 0 || claim_slot() < 0) {
		ns_log_warn("metrics off: no slot in %s", m.dir);
		if (lk >= 0)
			close(lk);
		m.dir[0] = '\0';
		return;
	}
	close(lk);
	atexit(cleanup);
	sweep(base);
}

static size_t
status_index(int status)
{
	size_t i;

	for (i = 0; i < NSTATUS - 1; i++)
		if (statuses[i] == status)
			return i;
	return NSTATUS - 1;
}

void
api_metrics_request(int route, int status, int64_t us)
{
	size_t r = route >= 0 && (size_t)route < m.n ? (size_t)route : API_METRICS_ROUTES_MAX;
	size_t b;

	if (!m.s)
		return;
	for (b = 0; b < NBUCKETS - 1 && us > bucket_us[b]; b++)
		;
	ADD(m.s->requests[r][status_index(status)]);
	ADD(m.s->latency[r][b]);
	__atomic_fetch_add(&m.s->latency_sum_us[r], (uint64_t)(us > 0 ? us : 0),
	    __ATOMIC_RELAXED);
}

void
api_metrics_cache(enum api_cache_kind kind, int hit)
{
	api_metrics_cache_n(kind, hit, 1);
}

void
api_metrics_cache_n(enum api_cache_kind kind, int hit, size_t n)
{
	if ((unsigned)kind < API_CACHE__COUNT && n > 0 && m.s)
		__atomic_fetch_add(&m.s->cache[kind][hit ? 1 : 0], (uint64_t)n, __ATOMIC_RELAXED);
}

void api_metrics_db_error(void) { ADD(m.s->db_errors); }
void api_metrics_redis_error(void) { ADD(m.s->redis_errors); }

void
api_metrics_ratelimited(enum api_limiter l)
{
	if ((unsigned)l < NLIMITERS)
		ADD(m.s->ratelimited[l]);
}

/* ---- rendering ----------------------------------------------------------------------------- */

struct buf {
	char *p;
	size_t len, cap;
	int failed;
};

static void __attribute__((format(printf, 2, 3)))
out(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->failed = 1;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		if (b->cap >= API_METRICS_OUT_MAX) {
			b->failed = 1;
			return;
		}
		{
			size_t cap = b->cap * 2 > API_METRICS_OUT_MAX ? API_METRICS_OUT_MAX :
			    b->cap * 2;
			char *p = realloc(b->p, cap);

			if (!p) {
				b->failed = 1;
				return;
			}
			b->p = p;
			b->cap = cap;
		}
	}
}

/* Sum every slot of this layout into total; *live counts slots held by a running process. */
static void
sum_slots(struct slot *total, int *live)
{
	char path[PATH_MAX_LEN + 32];
	static struct slot one;
	int k;

	memset(total, 0, sizeof(*total));
	*live = 0;
	for (k = 0; k < API_METRICS_SLOTS && m.dir[0]; k++) {
		const uint64_t *src = (const uint64_t *)(const void *)&one;
		uint64_t *dst = (uint64_t *)(void *)total;
		size_t i;
		int fd;

		snprintf(path, sizeof(path), "%s/slot-%d", m.dir, k);
		if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
			break;	/* slots are created in order: no file, no later ones */
		if (flock(fd, LOCK_SH | LOCK_NB) < 0)
			(*live)++;
		else
			flock(fd, LOCK_UN);
		if (pread(fd, &one, sizeof(one), 0) != (ssize_t)sizeof(one) ||
		    one.magic != MAGIC || one.layout != m.layout) {
			close(fd);
			continue;
		}
		close(fd);
		for (i = 2; i < sizeof(one) / sizeof(uint64_t); i++)
			dst[i] += src[i];
	}
}

static void
route_label(size_t r, const char **method, const char **pattern)
{
	if (r < m.n) {
		*method = m.routes[r].method;
		*pattern = m.routes[r].pattern;
	} else {
		*method = "";
		*pattern = "unmatched";
	}
}

char *
api_metrics_render(const char *extra, size_t *len)
{
	static struct slot t;
	struct buf b = { malloc(16384), 0, 16384, 0 };
	size_t r, i;
	int live;

	if (!b.p)
		return NULL;
	sum_slots(&t, &live);
	out(&b, "# HELP napalmsky_http_requests_total REST requests answered, by route and status.\n"
	    "# TYPE napalmsky_http_requests_total counter\n");
	for (r = 0; r < NROUTES; r++) {
		const char *method, *pattern;

		route_label(r, &method, &pattern);
		for (i = 0; i < NSTATUS; i++) {
			char st[16];

			if (!t.requests[r][i])
				continue;
			if (i < NSTATUS - 1)
				snprintf(st, sizeof(st), "%d", statuses[i]);
			else
				snprintf(st, sizeof(st), "other");
			out(&b, "napalmsky_http_requests_total{method=\"%s\",route=\"%s\","
			    "status=\"%s\"} %" PRIu64 "\n", method, pattern, st, t.requests[r][i]);
		}
	}
	out(&b, "# HELP napalmsky_http_request_duration_seconds REST request latency in the worker.\n"
	    "# TYPE napalmsky_http_request_duration_seconds histogram\n");
	for (r = 0; r < NROUTES; r++) {
		const char *method, *pattern;
		uint64_t cum = 0;

		for (i = 0; i < NBUCKETS; i++)
			cum += t.latency[r][i];
		if (!cum)
			continue;
		route_label(r, &method, &pattern);
		cum = 0;
		for (i = 0; i < NBUCKETS; i++) {
			char le[24];

			cum += t.latency[r][i];
			if (i < NBUCKETS - 1)
				snprintf(le, sizeof(le), "%g", (double)bucket_us[i] / 1e6);
			else
				snprintf(le, sizeof(le), "+Inf");
			out(&b, "napalmsky_http_request_duration_seconds_bucket{method=\"%s\","
			    "route=\"%s\",le=\"%s\"} %" PRIu64 "\n", method, pattern, le, cum);
		}
		out(&b, "napalmsky_http_request_duration_seconds_sum{method=\"%s\",route=\"%s\"}"
		    " %.6f\n", method, pattern, (double)t.latency_sum_us[r] / 1e6);
		out(&b, "napalmsky_http_request_duration_seconds_count{method=\"%s\",route=\"%s\"}"
		    " %" PRIu64 "\n", method, pattern, cum);
	}
	out(&b, "# HELP napalmsky_cache_requests_total Query-cache lookups by cache and result.\n"
	    "# TYPE napalmsky_cache_requests_total counter\n");
	for (i = 0; i < API_CACHE__COUNT; i++)
		out(&b, "napalmsky_cache_requests_total{cache=\"%s\",result=\"hit\"} %" PRIu64 "\n"
		    "napalmsky_cache_requests_total{cache=\"%s\",result=\"miss\"} %" PRIu64 "\n",
		    cache_names[i], t.cache[i][1], cache_names[i], t.cache[i][0]);
	out(&b, "# HELP napalmsky_ratelimit_rejections_total Requests refused with 429, by limiter.\n"
	    "# TYPE napalmsky_ratelimit_rejections_total counter\n");
	for (i = 1; i < NLIMITERS; i++)
		out(&b, "napalmsky_ratelimit_rejections_total{limiter=\"%s\"} %" PRIu64 "\n",
		    limiter_names[i], t.ratelimited[i]);
	out(&b, "# HELP napalmsky_db_errors_total PostgreSQL failures seen by the guard and cache.\n"
	    "# TYPE napalmsky_db_errors_total counter\n"
	    "napalmsky_db_errors_total %" PRIu64 "\n"
	    "# HELP napalmsky_redis_errors_total Redis failures seen by the guard, cache and limiters.\n"
	    "# TYPE napalmsky_redis_errors_total counter\n"
	    "napalmsky_redis_errors_total %" PRIu64 "\n"
	    "# HELP napalmsky_api_workers REST worker processes holding a metrics slot.\n"
	    "# TYPE napalmsky_api_workers gauge\n"
	    "napalmsky_api_workers %d\n", t.db_errors, t.redis_errors, live);
	if (extra)
		out(&b, "%s", extra);
	if (b.failed) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* ---- allowlist ------------------------------------------------------------------------------ */

int
api_metrics_allowed(const char *list, const char *addr)
{
	unsigned char a[16];
	int fam = ns_cidr_ip_parse(addr, a);

	return fam != 0 && ns_cidr_list_match(list, fam, a);
}
