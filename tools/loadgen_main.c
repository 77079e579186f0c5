/* napalmsky-loadgen: capacity tool for the realtime gateway. The parent reads the options and
 * the users, forks the worker processes (loadgen_flow.c), starts and stops their phase
 * together, reads the gateways' RSS and reports the merged figures (stdout and --json). */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <curl/curl.h>

#include "loadgen.h"

#define MAIN_LINE_MAX 512		/* one line of --users or /proc/PID/status */
#define MAIN_USERS_MAX 2000000		/* users one run can hold */
#define MAIN_BODY_MAX 16384		/* a POST /auth/guest response */
#define MAIN_ENV_MAX 65536		/* /proc/PID/environ read for GATEWAY_PORT */
#define MAIN_FD_RESERVE 64		/* descriptors a worker keeps for itself */
#define MAIN_STOP_GRACE_S 30
#define MAIN_UPDATE_FRAME_EST 88	/* 42["queue:update",{"userId":"<uuid>","available":false}] + header */		/* a worker's figures must arrive within this after stop */

static void
usage(FILE *out)
{
	fprintf(out,
	    "usage: " LG_PROG " --url ws://HOST:PORT/socket.io/ [--url ...]\n"
	    "           (--users FILE | --create N --api URL [--invite-code CODE])\n"
	    "           [--mode connect|flows|churn] [--duration S] [--procs P]\n"
	    "           [--source A.B.C.D[-A.B.C.E]] [--flows M] [--rate R] [--interval-ms MS]\n"
	    "           [--concurrency N] [--retries N] [--connect-timeout S] [--step-timeout-ms MS]\n"
	    "           [--gateway-pid PID ...] [--json FILE] [--verbose]\n");
}

static int
parse_int(const char *s, long min, long max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* ws://HOST[:PORT][/PATH] (IPv4 or a name resolving to IPv4). */
static int
parse_url(const char *s, struct lg_url *u)
{
	const char *h, *p, *colon;
	struct addrinfo hints, *res;
	size_t hl;

	memset(u, 0, sizeof(*u));
	if (strncmp(s, "ws://", 5) != 0)
		return -1;
	h = s + 5;
	p = strchr(h, '/');
	if (!p)
		p = h + strlen(h);
	colon = memchr(h, ':', (size_t)(p - h));
	hl = (size_t)((colon ? colon : p) - h);
	if (hl == 0 || hl >= sizeof(u->host))
		return -1;
	memcpy(u->host, h, hl);
	u->port = 80;
	if (colon) {
		char port[8];

		if ((size_t)(p - colon - 1) >= sizeof(port))
			return -1;
		memcpy(port, colon + 1, (size_t)(p - colon - 1));
		port[p - colon - 1] = '\0';
		if (parse_int(port, 1, 65535, &u->port) < 0)
			return -1;
	}
	snprintf(u->path, sizeof(u->path), "%s", *p ? p : "/socket.io/");
	if (strlen(*p ? p : "/socket.io/") >= sizeof(u->path) || strpbrk(u->path, " \r\n?#"))
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_INET;
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(u->host, NULL, &hints, &res) != 0)
		return -1;
	memcpy(&u->addr, res->ai_addr, sizeof(u->addr));
	u->addr.sin_port = htons((uint16_t)u->port);
	freeaddrinfo(res);
	return 0;
}

/* A.B.C.D or A.B.C.D-A.B.C.E (an inclusive range). */
static int
parse_sources(const char *s, struct lg_opts *o)
{
	char a[INET_ADDRSTRLEN], b[INET_ADDRSTRLEN];
	const char *dash = strchr(s, '-');
	struct in_addr from, to;
	uint32_t x;

	if (dash) {
		if ((size_t)(dash - s) >= sizeof(a) || strlen(dash + 1) >= sizeof(b))
			return -1;
		memcpy(a, s, (size_t)(dash - s));
		a[dash - s] = '\0';
		snprintf(b, sizeof(b), "%s", dash + 1);
	} else {
		if (strlen(s) >= sizeof(a))
			return -1;
		snprintf(a, sizeof(a), "%s", s);
		snprintf(b, sizeof(b), "%s", s);
	}
	if (inet_pton(AF_INET, a, &from) != 1 || inet_pton(AF_INET, b, &to) != 1 ||
	    ntohl(to.s_addr) < ntohl(from.s_addr) ||
	    ntohl(to.s_addr) - ntohl(from.s_addr) >= LG_SOURCES_MAX)
		return -1;
	for (x = ntohl(from.s_addr); x <= ntohl(to.s_addr); x++)
		o->sources[o->nsources++].s_addr = htonl(x);
	return 0;
}

static int
add_user(struct lg_user **users, size_t *n, size_t *cap, const char *id, const char *token)
{
	struct lg_user *p;

	if (strlen(id) >= LG_ID_MAX || strlen(token) >= LG_ID_MAX || *n >= MAIN_USERS_MAX)
		return -1;
	/* the token goes into a JSON string as it is: keep it to token characters */
	if (strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") !=
	    strlen(token) || strspn(id, "abcdefABCDEF0123456789-") != strlen(id))
		return -1;
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 1024;
		if (!(p = realloc(*users, *cap * sizeof(**users))))
			return -1;
		*users = p;
	}
	snprintf((*users)[*n].id, LG_ID_MAX, "%s", id);
	snprintf((*users)[*n].token, LG_ID_MAX, "%s", token);
	(*n)++;
	return 0;
}

static int
load_users(const char *path, struct lg_user **users, size_t *n)
{
	char line[MAIN_LINE_MAX], id[MAIN_LINE_MAX], token[MAIN_LINE_MAX];
	size_t cap = 0, lineno = 0;
	FILE *f = fopen(path, "r");

	if (!f) {
		fprintf(stderr, LG_PROG ": %s: %s\n", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		lineno++;
		if (line[0] == '#' || strspn(line, " \t\r\n") == strlen(line))
			continue;
		if (sscanf(line, "%511s %511s", id, token) != 2 ||
		    add_user(users, n, &cap, id, token) < 0) {
			fprintf(stderr, LG_PROG ": %s:%zu: expected \"userId sessionToken\"\n", path,
			    lineno);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	return 0;
}

struct body {
	char buf[MAIN_BODY_MAX];
	size_t len;
};

static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;

	if (n > sizeof(b->buf) - 1 - b->len)
		return 0;
	memcpy(b->buf + b->len, data, n);
	b->len += n;
	b->buf[b->len] = '\0';
	return n;
}

/* N guests through POST /auth/guest (an admin invite code gives them paid access). */
static int
create_users(const struct lg_opts *o, struct lg_user **users, size_t *n)
{
	char url[LG_HOST_MAX + LG_PATH_MAX], req[256];
	struct curl_slist *hdr = NULL;
	struct body b;
	size_t cap = 0;
	long status = 0;
	CURL *curl;
	int i, rc = -1;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 || !(curl = curl_easy_init()))
		return -1;
	snprintf(url, sizeof(url), "%s/auth/guest", o->api_url);
	hdr = curl_slist_append(hdr, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
	for (i = 0; i < o->create; i++) {
		json_object *r, *id, *tok;

		snprintf(req, sizeof(req), "{\"name\":\"Load %d\",\"gender\":\"%s\"%s%s%s}", i + 1,
		    i % 2 ? "male" : "female", o->invite_code ? ",\"inviteCode\":\"" : "",
		    o->invite_code ? o->invite_code : "", o->invite_code ? "\"" : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req);
		b.len = 0;
		b.buf[0] = '\0';
		if (curl_easy_perform(curl) != CURLE_OK ||
		    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) != CURLE_OK ||
		    status != 200) {
			fprintf(stderr, LG_PROG ": POST %s: status %ld: %.200s\n", url, status, b.buf);
			goto done;
		}
		r = json_tokener_parse(b.buf);
		if (!r || !json_object_object_get_ex(r, "userId", &id) ||
		    !json_object_object_get_ex(r, "sessionToken", &tok) ||
		    add_user(users, n, &cap, json_object_get_string(id),
		    json_object_get_string(tok)) < 0) {
			json_object_put(r);
			fprintf(stderr, LG_PROG ": POST %s: unexpected answer: %.200s\n", url, b.buf);
			goto done;
		}
		json_object_put(r);
	}
	rc = 0;
done:
	curl_slist_free_all(hdr);
	curl_easy_cleanup(curl);
	curl_global_cleanup();
	return rc;
}

/* VmRSS of PID in KB, or -1. */
static long
rss_kb(int pid)
{
	char path[64], line[MAIN_LINE_MAX];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	if (!(f = fopen(path, "r")))
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* GATEWAY_PORT from PID's environment, or 0. */
static int
env_port(int pid)
{
	static char env[MAIN_ENV_MAX];
	char path[64];
	size_t len, off;
	int port = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/environ", pid);
	if (!(f = fopen(path, "r")))
		return 0;
	len = fread(env, 1, sizeof(env) - 1, f);
	fclose(f);
	env[len] = '\0';
	for (off = 0; off < len; off += strlen(env + off) + 1)
		if (strncmp(env + off, "GATEWAY_PORT=", 13) == 0 &&
		    parse_int(env + off + 13, 1, 65535, &port) < 0)
			port = 0;
	return port;
}

/* Gateways by process name. Several stacks may run on one machine: when some of them
 * listen on a port of a --url, only those are kept. */
static void
find_gateways(struct lg_opts *o)
{
	int all[LG_PIDS_MAX], nall = 0, k, u, keep;
	char path[300], comm[64];
	struct dirent *de;
	DIR *d = opendir("/proc");
	FILE *f;

	if (!d)
		return;
	while ((de = readdir(d)) && nall < LG_PIDS_MAX) {
		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/comm", de->d_name);
		if (!(f = fopen(path, "r")))
			continue;
		/* comm is cut to 15 characters: "napalmsky-gatew" */
		if (fgets(comm, sizeof(comm), f) && strncmp(comm, "napalmsky-gatew", 15) == 0)
			all[nall++] = atoi(de->d_name);
		fclose(f);
	}
	closedir(d);
	for (k = 0; k < nall; k++)
		for (u = 0; u < o->nurls; u++)
			if (env_port(all[k]) == o->urls[u].port && o->npids < LG_PIDS_MAX) {
				o->gateway_pids[o->npids++] = all[k];
				break;
			}
	keep = o->npids == 0;
	for (k = 0; keep && k < nall; k++)
		o->gateway_pids[o->npids++] = all[k];
}

static long
rss_sum(const struct lg_opts *o, long *each)
{
	long sum = 0;
	int k;

	for (k = 0; k < o->npids; k++) {
		each[k] = rss_kb(o->gateway_pids[k]);
		if (each[k] > 0)
			sum += each[k];
	}
	return sum;
}

struct child {
	pid_t pid;
	int ctl, res;		/* our ends of the two pipes */
	int ready, done;
	uint64_t held_ready;
	struct lg_stats st;
};

static int
read_full(int fd, void *buf, size_t len, int timeout_ms)
{
	char *p = buf;
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	ssize_t n;

	while (len > 0) {
		if (poll(&pfd, 1, timeout_ms) <= 0)
			return -1;
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void
tell(struct child *ch, int n, char cmd)
{
	int k;

	for (k = 0; k < n; k++)
		if (ch[k].ctl >= 0 && write(ch[k].ctl, &cmd, 1) != 1) {
			close(ch[k].ctl);
			ch[k].ctl = -1;
		}
}

static int
spawn(const struct lg_opts *o, struct lg_user *users, size_t nusers, struct child *ch)
{
	size_t per = nusers / (size_t)o->procs, extra = nusers % (size_t)o->procs, from = 0;
	int k, j, c2p[2], p2c[2];

	for (k = 0; k < o->procs; k++) {
		size_t cnt = per + ((size_t)k < extra);

		if (pipe(c2p) < 0 || pipe(p2c) < 0)
			return -1;
		fflush(NULL);
		ch[k].pid = fork();
		if (ch[k].pid < 0)
			return -1;
		if (ch[k].pid == 0) {
			static struct lg_worker w;

			for (j = 0; j < k; j++) {
				close(ch[j].ctl);
				close(ch[j].res);
			}
			close(c2p[0]);
			close(p2c[1]);
			w.o = o;
			w.index = k;
			w.users = users + from;
			w.nusers = (uint32_t)cnt;
			w.base = (uint32_t)from;
			w.flows_max = o->flows / o->procs + (k < o->flows % o->procs);
			w.rate = o->rate / o->procs;
			if (!(w.conns = calloc(cnt ? cnt : 1, sizeof(*w.conns))))
				_exit(1);
			_exit(lg_worker_run(&w, p2c[0], c2p[1]));
		}
		close(c2p[1]);
		close(p2c[0]);
		ch[k].ctl = p2c[1];
		ch[k].res = c2p[0];
		from += cnt;
	}
	return 0;
}

static void
hist_json(json_object *into, const char *key, const struct lg_hist *h)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "n", json_object_new_int64((int64_t)h->n));
	json_object_object_add(o, "p50_ms", json_object_new_double(lg_hist_pct(h, 50) / 1000.0));
	json_object_object_add(o, "p90_ms", json_object_new_double(lg_hist_pct(h, 90) / 1000.0));
	json_object_object_add(o, "p99_ms", json_object_new_double(lg_hist_pct(h, 99) / 1000.0));
	json_object_object_add(o, "max_ms", json_object_new_double((double)h->max_us / 1000.0));
	json_object_object_add(into, key, o);
}

static void
hist_text(const char *label, const struct lg_hist *h)
{
	if (h->n == 0) {
		printf("  %-15s %8s\n", label, "-");
		return;
	}
	printf("  %-15s %8llu %8.2f %8.2f %8.2f %8.2f\n", label, (unsigned long long)h->n,
	    lg_hist_pct(h, 50) / 1000.0, lg_hist_pct(h, 90) / 1000.0, lg_hist_pct(h, 99) / 1000.0,
	    (double)h->max_us / 1000.0);
}

static const char *const mode_names[] = { "connect", "flows", "churn" };

struct report {
	struct lg_stats t;		/* merged */
	double connect_s, phase_s;
	long rss0, rss1, rss2;		/* before, connected, at the end of the hold */
	long each0[LG_PIDS_MAX], each1[LG_PIDS_MAX], each2[LG_PIDS_MAX];
};

static void
report(const struct lg_opts *o, size_t nusers, const struct report *r)
{
	const struct lg_stats *t = &r->t;
	double per_conn = t->held ? (double)(r->rss2 - r->rss0) / (double)t->held : 0;
	double rate = r->connect_s > 0 ? (double)t->authed / r->connect_s : 0;
	/* a broadcast design sends one frame per change: the smallest frame seen carries one */
	uint64_t bcast_frame = t->q_min_bytes ? t->q_min_bytes : MAIN_UPDATE_FRAME_EST;
	double bcast = (double)t->toggles * (double)t->held * (double)bcast_frame;
	uint64_t upd_bytes = t->q_bytes + t->p_bytes;
	json_object *j = json_object_new_object(), *o2, *o3, *arr;
	int k, s, u;

	printf(LG_PROG ": mode %s, %zu users over %d URL%s, %d process%s, %d s\n",
	    mode_names[o->mode], nusers, o->nurls, o->nurls > 1 ? "s" : "", o->procs,
	    o->procs > 1 ? "es" : "", o->duration_s);
	printf("connect: %llu of %zu held at the end (%llu authenticated, %llu failed, %llu retries,"
	    " %llu dropped), %.0f connections/s over %.2f s\n",
	    (unsigned long long)t->held, nusers, (unsigned long long)t->authed,
	    (unsigned long long)t->failed, (unsigned long long)t->retries,
	    (unsigned long long)t->dropped, rate, r->connect_s);
	printf("  handshake (connect to auth:success) ms: p50 %.2f  p99 %.2f  max %.2f\n",
	    lg_hist_pct(&t->handshake, 50) / 1000.0, lg_hist_pct(&t->handshake, 99) / 1000.0,
	    (double)t->handshake.max_us / 1000.0);
	if (o->npids > 0) {
		printf("gateway RSS (%d process%s): before %ld KB, connected %ld KB, holding %ld KB;"
		    " %.2f KB per connection\n", o->npids, o->npids > 1 ? "es" : "", r->rss0, r->rss1,
		    r->rss2, per_conn);
		for (k = 0; k < o->npids; k++)
			printf("  pid %d: %ld → %ld KB\n", o->gateway_pids[k], r->each0[k], r->each2[k]);
	} else {
		printf("gateway RSS: no gateway process found (give --gateway-pid)\n");
	}
	json_object_object_add(j, "mode", json_object_new_string(mode_names[o->mode]));
	json_object_object_add(j, "users", json_object_new_int64((int64_t)nusers));
	json_object_object_add(j, "procs", json_object_new_int(o->procs));
	json_object_object_add(j, "duration_s", json_object_new_int(o->duration_s));
	arr = json_object_new_array();
	for (u = 0; u < o->nurls; u++) {
		char url[LG_HOST_MAX + LG_PATH_MAX + 16];

		snprintf(url, sizeof(url), "ws://%s:%d%s", o->urls[u].host, o->urls[u].port,
		    o->urls[u].path);
		json_object_array_add(arr, json_object_new_string(url));
	}
	json_object_object_add(j, "urls", arr);
	o2 = json_object_new_object();
	json_object_object_add(o2, "requested", json_object_new_int64((int64_t)nusers));
	json_object_object_add(o2, "held", json_object_new_int64((int64_t)t->held));
	json_object_object_add(o2, "authenticated", json_object_new_int64((int64_t)t->authed));
	json_object_object_add(o2, "failed", json_object_new_int64((int64_t)t->failed));
	json_object_object_add(o2, "retries", json_object_new_int64((int64_t)t->retries));
	json_object_object_add(o2, "dropped", json_object_new_int64((int64_t)t->dropped));
	json_object_object_add(o2, "seconds", json_object_new_double(r->connect_s));
	json_object_object_add(o2, "rate_per_s", json_object_new_double(rate));
	hist_json(o2, "handshake", &t->handshake);
	json_object_object_add(j, "connect", o2);
	o2 = json_object_new_object();
	arr = json_object_new_array();
	for (k = 0; k < o->npids; k++) {
		o3 = json_object_new_object();
		json_object_object_add(o3, "pid", json_object_new_int(o->gateway_pids[k]));
		json_object_object_add(o3, "before_kb", json_object_new_int64(r->each0[k]));
		json_object_object_add(o3, "connected_kb", json_object_new_int64(r->each1[k]));
		json_object_object_add(o3, "holding_kb", json_object_new_int64(r->each2[k]));
		json_object_array_add(arr, o3);
	}
	json_object_object_add(o2, "gateways", arr);
	json_object_object_add(o2, "before_kb", json_object_new_int64(r->rss0));
	json_object_object_add(o2, "connected_kb", json_object_new_int64(r->rss1));
	json_object_object_add(o2, "holding_kb", json_object_new_int64(r->rss2));
	json_object_object_add(o2, "kb_per_connection", json_object_new_double(per_conn));
	json_object_object_add(j, "rss", o2);

	if (o->mode == LG_MODE_FLOWS) {
		double fps = r->phase_s > 0 ? (double)t->flows_done / r->phase_s : 0;

		printf("flows: %llu completed (%llu same-URL, %llu cross-URL) of %llu started in %.1f s:"
		    " %.1f flows/s, %d concurrent\n", (unsigned long long)t->flows_done,
		    (unsigned long long)t->flows_same, (unsigned long long)t->flows_cross,
		    (unsigned long long)t->flows_started, r->phase_s, fps, o->flows);
		o2 = json_object_new_object();
		json_object_object_add(o2, "concurrency", json_object_new_int(o->flows));
		json_object_object_add(o2, "started", json_object_new_int64((int64_t)t->flows_started));
		json_object_object_add(o2, "completed", json_object_new_int64((int64_t)t->flows_done));
		json_object_object_add(o2, "same_gateway", json_object_new_int64((int64_t)t->flows_same));
		json_object_object_add(o2, "cross_gateway", json_object_new_int64((int64_t)t->flows_cross));
		json_object_object_add(o2, "seconds", json_object_new_double(r->phase_s));
		json_object_object_add(o2, "per_s", json_object_new_double(fps));
		o3 = json_object_new_object();
		for (s = 0; s < 2; s++) {
			printf("  %-15s %8s %8s %8s %8s %8s   (ms, %s pairs)\n", "step", "n", "p50", "p90",
			    "p99", "max", s ? "cross-URL" : "same-URL");
			for (k = 0; k < LG_STEP__COUNT; k++)
				hist_text(lg_step_names[k], &t->step[k][s]);
		}
		for (k = 0; k < LG_STEP__COUNT; k++) {
			json_object *st = json_object_new_object();

			hist_json(st, "same", &t->step[k][0]);
			hist_json(st, "cross", &t->step[k][1]);
			json_object_object_add(o3, lg_step_names[k], st);
		}
		json_object_object_add(o2, "steps", o3);
		json_object_object_add(j, "flows", o2);
	}
	if (o->mode == LG_MODE_CHURN) {
		printf("churn: %llu toggles in %.1f s (%.0f/s asked); received %llu queue:update"
		    " (%llu bytes) and %llu presence:update (%llu bytes) frames on %llu sockets\n",
		    (unsigned long long)t->toggles, r->phase_s, o->rate,
		    (unsigned long long)t->q_frames, (unsigned long long)t->q_bytes,
		    (unsigned long long)t->p_frames, (unsigned long long)t->p_bytes,
		    (unsigned long long)t->held);
		printf("  most queue:update frames one client got in one %d ms interval: %llu\n",
		    o->interval_ms, (unsigned long long)t->q_max_interval);
		printf("  a broadcast to every socket would have sent %.0f bytes"
		    " (%llu changes x %llu sockets x %llu-byte frame): %.1f x what was received\n",
		    bcast, (unsigned long long)t->toggles, (unsigned long long)t->held,
		    (unsigned long long)bcast_frame, upd_bytes ? bcast / (double)upd_bytes : 0);
		o2 = json_object_new_object();
		json_object_object_add(o2, "rate", json_object_new_double(o->rate));
		json_object_object_add(o2, "toggles", json_object_new_int64((int64_t)t->toggles));
		json_object_object_add(o2, "seconds", json_object_new_double(r->phase_s));
		json_object_object_add(o2, "interval_ms", json_object_new_int(o->interval_ms));
		json_object_object_add(o2, "queue_update_frames", json_object_new_int64((int64_t)t->q_frames));
		json_object_object_add(o2, "queue_update_bytes", json_object_new_int64((int64_t)t->q_bytes));
		json_object_object_add(o2, "presence_update_frames", json_object_new_int64((int64_t)t->p_frames));
		json_object_object_add(o2, "presence_update_bytes", json_object_new_int64((int64_t)t->p_bytes));
		json_object_object_add(o2, "update_frames", json_object_new_int64((int64_t)(t->q_frames + t->p_frames)));
		json_object_object_add(o2, "update_bytes", json_object_new_int64((int64_t)upd_bytes));
		json_object_object_add(o2, "max_queue_updates_per_client_interval",
		    json_object_new_int64((int64_t)t->q_max_interval));
		json_object_object_add(o2, "broadcast_frame_bytes", json_object_new_int64((int64_t)bcast_frame));
		json_object_object_add(o2, "broadcast_bytes", json_object_new_double(bcast));
		json_object_object_add(o2, "broadcast_ratio",
		    json_object_new_double(upd_bytes ? bcast / (double)upd_bytes : 0));
		json_object_object_add(j, "churn", o2);
	}
	printf("errors: %llu\n", (unsigned long long)lg_errs_total(&t->errs));
	o2 = json_object_new_object();
	json_object_object_add(o2, "total", json_object_new_int64((int64_t)lg_errs_total(&t->errs)));
	o3 = json_object_new_object();
	for (k = 0; k < (int)t->errs.n; k++) {
		printf("  %-48s %llu\n", t->errs.e[k].kind, (unsigned long long)t->errs.e[k].count);
		json_object_object_add(o3, t->errs.e[k].kind,
		    json_object_new_int64((int64_t)t->errs.e[k].count));
	}
	json_object_object_add(o2, "by_kind", o3);
	json_object_object_add(j, "errors", o2);
	fflush(stdout);
	if (o->json_path && json_object_to_file_ext(o->json_path, j, JSON_C_TO_STRING_PRETTY |
	    JSON_C_TO_STRING_NOSLASHESCAPE) < 0)
		fprintf(stderr, LG_PROG ": cannot write %s\n", o->json_path);
	json_object_put(j);
}

static void
merge(struct lg_stats *t, const struct lg_stats *s)
{
	int k, x;

	t->users += s->users;
	t->authed += s->authed;
	t->held += s->held;
	t->failed += s->failed;
	t->retries += s->retries;
	t->dropped += s->dropped;
	if (s->first_ms && (!t->first_ms || s->first_ms < t->first_ms))
		t->first_ms = s->first_ms;
	if (s->last_auth_ms > t->last_auth_ms)
		t->last_auth_ms = s->last_auth_ms;
	lg_hist_merge(&t->handshake, &s->handshake);
	t->flows_started += s->flows_started;
	t->flows_done += s->flows_done;
	t->flows_same += s->flows_same;
	t->flows_cross += s->flows_cross;
	for (k = 0; k < LG_STEP__COUNT; k++)
		for (x = 0; x < 2; x++)
			lg_hist_merge(&t->step[k][x], &s->step[k][x]);
	t->toggles += s->toggles;
	t->q_frames += s->q_frames;
	t->q_bytes += s->q_bytes;
	t->p_frames += s->p_frames;
	t->p_bytes += s->p_bytes;
	if (s->q_min_bytes && (!t->q_min_bytes || s->q_min_bytes < t->q_min_bytes))
		t->q_min_bytes = s->q_min_bytes;
	if (s->q_max_interval > t->q_max_interval)
		t->q_max_interval = s->q_max_interval;
	if (s->phase_ms > t->phase_ms)
		t->phase_ms = s->phase_ms;
	lg_errs_merge(&t->errs, &s->errs);
}

static int
run(struct lg_opts *o, struct lg_user *users, size_t nusers)
{
	static struct child ch[LG_PROCS_MAX];
	static struct report r;
	uint64_t held = 0;
	int k, rc = 0, timeout_ms = (o->connect_timeout_s + MAIN_STOP_GRACE_S) * 1000;
	char tag;

	signal(SIGPIPE, SIG_IGN);
	r.rss0 = rss_sum(o, r.each0);
	if (spawn(o, users, nusers, ch) < 0) {
		fprintf(stderr, LG_PROG ": cannot start the worker processes: %s\n", strerror(errno));
		return 1;
	}
	/* 1. every worker connected its users (or gave up on some) */
	for (k = 0; k < o->procs; k++) {
		uint64_t rd[2];

		if (read_full(ch[k].res, &tag, 1, timeout_ms) < 0 || tag != 'R' ||
		    read_full(ch[k].res, rd, sizeof(rd), timeout_ms) < 0) {
			fprintf(stderr, LG_PROG ": worker %d did not finish connecting\n", k);
			rc = 1;
			continue;
		}
		held += rd[0];
	}
	r.rss1 = rss_sum(o, r.each1);
	if (o->verbose)
		fprintf(stderr, LG_PROG ": %llu of %zu connected; running %s for %d s\n",
		    (unsigned long long)held, nusers, mode_names[o->mode], o->duration_s);
	/* 2. the mode, on every worker at once, for the duration */
	tell(ch, o->procs, 'G');
	sleep((unsigned)o->duration_s);
	r.rss2 = rss_sum(o, r.each2);
	tell(ch, o->procs, 'S');
	/* 3. figures */
	for (k = 0; k < o->procs; k++) {
		if (read_full(ch[k].res, &tag, 1, MAIN_STOP_GRACE_S * 1000) < 0 || tag != 'F' ||
		    read_full(ch[k].res, &ch[k].st, sizeof(ch[k].st), MAIN_STOP_GRACE_S * 1000) < 0) {
			fprintf(stderr, LG_PROG ": worker %d sent no figures\n", k);
			lg_err(&r.t.errs, "worker process lost");
			rc = 1;
			continue;
		}
		merge(&r.t, &ch[k].st);
	}
	for (k = 0; k < o->procs; k++) {
		int status;

		if (ch[k].ctl >= 0)
			close(ch[k].ctl);
		close(ch[k].res);
		if (waitpid(ch[k].pid, &status, 0) == ch[k].pid &&
		    (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
			fprintf(stderr, LG_PROG ": worker %d exited abnormally\n", k);
			rc = 1;
		}
	}
	r.connect_s = r.t.last_auth_ms > r.t.first_ms ? (double)(r.t.last_auth_ms - r.t.first_ms) / 1000.0 : 0;
	r.phase_s = (double)r.t.phase_ms / 1000.0;
	report(o, nusers, &r);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "mode", required_argument, NULL, 'm' },
		{ "duration", required_argument, NULL, 'd' },
		{ "url", required_argument, NULL, 'u' },
		{ "source", required_argument, NULL, 's' },
		{ "procs", required_argument, NULL, 'p' },
		{ "users", required_argument, NULL, 'U' },
		{ "create", required_argument, NULL, 'n' },
		{ "api", required_argument, NULL, 'a' },
		{ "invite-code", required_argument, NULL, 'i' },
		{ "flows", required_argument, NULL, 'f' },
		{ "rate", required_argument, NULL, 'r' },
		{ "interval-ms", required_argument, NULL, 'I' },
		{ "json", required_argument, NULL, 'j' },
		{ "gateway-pid", required_argument, NULL, 'g' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "retries", required_argument, NULL, 'R' },
		{ "connect-timeout", required_argument, NULL, 'T' },
		{ "step-timeout-ms", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct lg_opts o;
	struct lg_user *users = NULL;
	struct rlimit rl;
	size_t nusers = 0, per;
	char *end;
	int ch, v;

	o.mode = LG_MODE_CONNECT;
	o.procs = 1;
	o.duration_s = 10;
	o.flows = 10;
	o.rate = 10;
	o.interval_ms = 1000;
	o.concurrency = 500;
	o.connect_timeout_s = 300;
	o.step_timeout_ms = 10000;
	o.retries_max = 5;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		v = 0;
		switch (ch) {
		case 'm':
			if (strcmp(optarg, "connect") == 0)
				o.mode = LG_MODE_CONNECT;
			else if (strcmp(optarg, "flows") == 0)
				o.mode = LG_MODE_FLOWS;
			else if (strcmp(optarg, "churn") == 0)
				o.mode = LG_MODE_CHURN;
			else
				v = -1;
			break;
		case 'd': v = parse_int(optarg, 0, 86400, &o.duration_s); break;
		case 'u':
			v = o.nurls == LG_URLS_MAX ? -1 : parse_url(optarg, &o.urls[o.nurls++]);
			break;
		case 's': v = parse_sources(optarg, &o); break;
		case 'p': v = parse_int(optarg, 1, LG_PROCS_MAX, &o.procs); break;
		case 'U': o.users_path = optarg; break;
		case 'n': v = parse_int(optarg, 1, MAIN_USERS_MAX, &o.create); break;
		case 'a': o.api_url = optarg; break;
		case 'i': o.invite_code = optarg; break;
		case 'f': v = parse_int(optarg, 1, 1000000, &o.flows); break;
		case 'r':
			o.rate = strtod(optarg, &end);
			v = *end || end == optarg || !(o.rate > 0 && o.rate <= 1e7) ? -1 : 0;
			break;
		case 'I': v = parse_int(optarg, 10, 3600000, &o.interval_ms); break;
		case 'j': o.json_path = optarg; break;
		case 'g':
			v = o.npids == LG_PIDS_MAX ? -1 :
			    parse_int(optarg, 1, 1 << 30, &o.gateway_pids[o.npids++]);
			break;
		case 'c': v = parse_int(optarg, 1, 100000, &o.concurrency); break;
		case 'R': v = parse_int(optarg, 0, 100, &o.retries_max); break;
		case 'T': v = parse_int(optarg, 1, 86400, &o.connect_timeout_s); break;
		case 't': v = parse_int(optarg, 100, 3600000, &o.step_timeout_ms); break;
		case 'v': o.verbose = 1; break;
		case 'V':
			printf(LG_PROG " %s\n", PACKAGE_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (v < 0) {
			fprintf(stderr, LG_PROG ": invalid option value: %s\n", optarg ? optarg : "");
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || o.nurls == 0 || (!o.users_path == !o.create) ||
	    (o.create && (!o.api_url || strncmp(o.api_url, "http", 4) != 0)) ||
	    (o.invite_code && strspn(o.invite_code, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") !=
	    strlen(o.invite_code))) {
		usage(stderr);
		return 2;
	}
	if (o.users_path ? load_users(o.users_path, &users, &nusers) < 0 :
	    create_users(&o, &users, &nusers) < 0)
		return 1;
	if (nusers == 0) {
		fprintf(stderr, LG_PROG ": no users\n");
		return 1;
	}
	if (o.procs > (int)nusers)
		o.procs = (int)nusers;
	per = (nusers + (size_t)o.procs - 1) / (size_t)o.procs;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY &&
	    per + MAIN_FD_RESERVE > rl.rlim_max) {
		fprintf(stderr, LG_PROG ": %zu sockets per process exceed the open-file limit %llu:"
		    " use more --procs\n", per, (unsigned long long)rl.rlim_max);
		return 2;
	}
	if (o.npids == 0)
		find_gateways(&o);
	v = run(&o, users, nusers);
	free(users);
	return v;
}
