/* napalmsky-api: the FastCGI worker. Three ways to run: under spawn-fcgi (fd 0 is the
 * listening socket), as its own prefork supervisor (--workers N --socket PATH), or as a CGI
 * program answering one request. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "nsconfig.h"
#include "app.h"
#include "log.h"
#include "routes.h"
#include "supervisor.h"

#define PROG "napalmsky-api"
#define LISTEN_BACKLOG 1024	/* pending FastCGI connections on our own socket */
#define CFG_ERR_MAX 512		/* a configuration error message */
#define ACCEPT_WAKE_S 1		/* an idle accept() returns this often to look at the stop flag */

#define NO_GNUTLS_INIT_ENV "GNUTLS_NO_IMPLICIT_INIT"

static volatile sig_atomic_t stopping;

/* libpq links libldap, which links GnuTLS, and GnuTLS initialises itself in a library
 * constructor: about 0.7 MB of every worker's resident memory for TLS it never does through
 * GnuTLS (libpq and libcurl use OpenSSL; libldap initialises GnuTLS itself if it is ever
 * asked for TLS). GnuTLS skips that when GNUTLS_NO_IMPLICIT_INIT is set at start-up, which
 * only an exec can arrange: a long-running worker or supervisor execs itself once with it.
 * It execs the binary's path, not /proc/self/exe, so that ps and top still show its name. */
static void
exec_without_gnutls_init(char **argv)
{
	char self[PATH_MAX];
	ssize_t n;

	if (getenv(NO_GNUTLS_INIT_ENV))
		return;
	n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n <= 0 || (size_t)n >= sizeof(self) - 1)
		return;
	self[n] = '\0';
	if (setenv(NO_GNUTLS_INIT_ENV, "1", 1) == 0)
		execv(self, argv);
	/* still here (no /proc, or the binary replaced since): go on; it costs memory only */
	unsetenv(NO_GNUTLS_INIT_ENV);
}

static void
on_term(int sig)
{
	(void)sig;
	stopping = 1;
	FCGX_ShutdownPending();
}

/* FastCGI backend of struct api_io. */
static const char *
fcgx_param(void *ctx, const char *name)
{
	return FCGX_GetParam(name, ((FCGX_Request *)ctx)->envp);
}

static ssize_t
fcgx_read(void *ctx, char *buf, size_t n)
{
	FCGX_Request *r = ctx;
	int got = FCGX_GetStr(buf, n > INT_MAX ? INT_MAX : (int)n, r->in);

	if (got == 0 && FCGX_GetError(r->in) != 0)
		return -1;
	return got;
}

static int
fcgx_write(void *ctx, const char *buf, size_t n)
{
	FCGX_Request *r = ctx;

	while (n) {
		int chunk = n > INT_MAX ? INT_MAX : (int)n;

		if (FCGX_PutStr(buf, chunk, r->out) != chunk)
			return -1;
		buf += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

/* CGI backend: the environment, stdin and stdout. */
static const char *
cgi_param(void *ctx, const char *name)
{
	(void)ctx;
	return getenv(name);
}

static ssize_t
cgi_read(void *ctx, char *buf, size_t n)
{
	(void)ctx;
	return read(STDIN_FILENO, buf, n);
}

static int
cgi_write(void *ctx, const char *buf, size_t n)
{
	(void)ctx;
	while (n) {
		ssize_t w = write(STDOUT_FILENO, buf, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One worker: accept and serve until SIGTERM. A request in progress is always finished,
 * without masking signals around each request (two system calls per request):
 * the handler has SA_RESTART, so the request's blocking reads and writes resume after it
 * (hiredis and libpq retry their own EINTRs from sockets with timeouts and poll()), while
 * accept() is never restarted, because the listening socket has a receive timeout (socket(7):
 * such calls fail with EINTR whatever SA_RESTART says). The timeout also bounds the window
 * between the stop-flag check and accept(). */
static int
worker(int listen_fd, void *arg)
{
	const struct ns_config *cfg = arg;
	struct api_io io = { NULL, fcgx_param, fcgx_read, fcgx_write };
	struct timeval wake = { ACCEPT_WAKE_S, 0 };
	struct sigaction sa;
	FCGX_Request fr;
	struct app *app;
	int rc = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_term;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (setsockopt(listen_fd, SOL_SOCKET, SO_RCVTIMEO, &wake, sizeof(wake)) != 0) {
		ns_log_err("cannot set a timeout on the FastCGI socket: %s", strerror(errno));
		return 1;
	}

	if ((app = app_new(cfg)) == NULL) {
		ns_log_err("out of memory creating the worker context");
		return 1;
	}
	if (FCGX_Init() != 0 || FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0) {
		ns_log_err("libfcgi initialisation failed");
		app_free(app);
		return 1;
	}
	io.ctx = &fr;
	while (!stopping) {
		int a = FCGX_Accept_r(&fr);

		if (a < 0) {
			if (stopping)
				break;
			if (a == -EINTR || a == -EAGAIN || a == -EWOULDBLOCK)
				continue;	/* a signal, or the idle wake-up */
			ns_log_err("FCGX_Accept_r failed: %d", a);
			rc = 1;
			break;
		}
		api_serve(&io, cfg, app, api_routes, api_routes_count);
		/* libfcgi closes lingeringly: shutdown, then up to 2 s of poll and read until the
		 * web server closes its end. That protects data still on its way to us; once the
		 * request's stdin has ended nothing else is (but an abort of this very request),
		 * so then a plain close saves a sleep and three system calls per request. The
		 * end of stdin follows the body or the parameters at once, in the same write. */
		if (FCGX_GetChar(fr.in) == EOF && FCGX_GetError(fr.in) == 0)
			fr.detached = 1;	/* FCGX_Free: close without the shutdown */
		FCGX_Finish_r(&fr);
		fr.detached = 0;
	}
	FCGX_Free(&fr, 0);
	app_free(app);
	ns_log_info("worker %ld exiting", (long)getpid());
	return rc;
}

static int
run_cgi(const struct ns_config *cfg)
{
	struct api_io io = { NULL, cgi_param, cgi_read, cgi_write };
	struct app *app = app_new(cfg);

	if (!app)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	api_serve(&io, cfg, app, api_routes, api_routes_count);
	app_free(app);
	return 0;
}

static int
run_supervisor(const struct ns_config *cfg, const char *sock, int workers)
{
	int fd, rc;

	if (workers < 1 || workers > API_WORKERS_MAX) {
		ns_log_err("api_workers must be 1-%d, not %d", API_WORKERS_MAX, workers);
		return 1;
	}
	if (FCGX_Init() != 0) {
		ns_log_err("libfcgi initialisation failed");
		return 1;
	}
	/* libfcgi reads "host:port" or ":port" as TCP, anything else as a unix socket path. */
	if ((fd = FCGX_OpenSocket(sock, LISTEN_BACKLOG)) < 0) {
		ns_log_err("cannot listen on %s: %s", sock, strerror(errno));
		return 1;
	}
	rc = api_supervisor_run(fd, workers, worker, (void *)cfg);
	close(fd);
	if (!strchr(sock, ':'))
		unlink(sock);
	return rc;
}

static int
fd0_is_listener(void)
{
	int v = 0;
	socklen_t len = sizeof(v);

	return getsockopt(STDIN_FILENO, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v;
}

/* Log to stderr unless it leads nowhere (spawn-fcgi and daemons point it at /dev/null). */
static int
stderr_is_useful(void)
{
	struct stat st, null;

	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	if (S_ISCHR(st.st_mode) && stat("/dev/null", &null) == 0 && st.st_rdev == null.st_rdev)
		return 0;
	return 1;
}

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [--config FILE] [--check-config] [--version]"
	    " [--workers N --socket PATH]\n", PROG);
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "version", no_argument, NULL, 'V' },
		{ "workers", required_argument, NULL, 'w' },
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	static struct ns_config cfg;
	const char *cfgpath = NULL, *sock = NULL;
	char err[CFG_ERR_MAX];
	enum ns_log_level level = NS_LOG_INFO;
	int check = 0, workers = 0, c;

	while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cfgpath = optarg;
			break;
		case 'C':
			check = 1;
			break;
		case 'V':
			printf("%s %s\n", PROG, PACKAGE_VERSION);
			return 0;
		case 'w': {
			char *end;
			long v;

			errno = 0;
			v = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || v < 1 || v > API_WORKERS_MAX) {
				fprintf(stderr, "%s: --workers must be 1-%d\n", PROG,
				    API_WORKERS_MAX);
				return 2;
			}
			workers = (int)v;
			break;
		}
		case 's':
			sock = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc || (workers && !sock)) {
		usage(stderr);
		return 2;
	}
	if (!check && (sock || fd0_is_listener()))
		exec_without_gnutls_init(argv);

	err[0] = '\0';
	if (ns_config_load(&cfg, cfgpath, err, sizeof(err)) != NS_OK) {
		fprintf(stderr, "%s: invalid configuration: %s\n", PROG, err);
		return 1;
	}
	if (check) {
		ns_config_print(&cfg, stdout);
		return 0;
	}
	if (!ns_log_level_parse(cfg.log_level, &level))
		level = NS_LOG_INFO;
	ns_log_init(PROG, stderr_is_useful(), level);

	if (sock)
		return run_supervisor(&cfg, sock, workers ? workers : cfg.api_workers);
	if (fd0_is_listener())
		return worker(STDIN_FILENO, &cfg);
	if (getenv("GATEWAY_INTERFACE"))
		return run_cgi(&cfg);
	fprintf(stderr, "%s: no FastCGI socket on fd 0, no --socket and not run as CGI\n", PROG);
	usage(stderr);
	return 2;
}
