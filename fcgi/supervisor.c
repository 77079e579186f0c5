/* supervisor: one parent, N children, signals taken synchronously with sigtimedwait() so no
 * handler races with the bookkeeping. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

#include "supervisor.h"
#include "clock.h"
#include "log.h"

#define SUP_TICK_MS 1000	/* longest sleep between checks */
#define SUP_RESEND_MS 500	/* SIGTERM is repeated while stopping: a worker that was just
				 * about to block in accept() when the first one came still exits */

struct slot {
	pid_t pid;		/* 0: empty */
	int64_t started_ms;
	int64_t respawn_ms;	/* when an empty slot may be refilled */
	int backoff_ms;
};

static void
on_chld(int sig)
{
	(void)sig;	/* only so SIGCHLD is never discarded; it is taken by sigtimedwait() */
}

static void
spawn(struct slot *s, int listen_fd, api_worker_fn fn, void *arg, const sigset_t *old)
{
	pid_t pid = fork();

	if (pid < 0) {
		ns_log_err("fork: %s", strerror(errno));
		s->backoff_ms = s->backoff_ms ? s->backoff_ms : API_SUP_BACKOFF_MS;
		s->respawn_ms = ns_clock_mono_ms() + s->backoff_ms;
		return;
	}
	if (pid == 0) {
#ifdef __linux__
		prctl(PR_SET_PDEATHSIG, SIGTERM);	/* no orphaned workers if the parent dies */
#endif
		signal(SIGCHLD, SIG_DFL);
		sigprocmask(SIG_SETMASK, old, NULL);
		_exit(fn(listen_fd, arg));
	}
	s->pid = pid;
	s->started_ms = ns_clock_mono_ms();
	ns_log_info("worker %ld started", (long)pid);
}

static void
signal_all(struct slot *slots, int n, int sig)
{
	int i;

	for (i = 0; i < n; i++)
		if (slots[i].pid > 0)
			kill(slots[i].pid, sig);
}

static void
reap(struct slot *slots, int n, int stopping)
{
	int st, i;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		int64_t now = ns_clock_mono_ms();

		for (i = 0; i < n && slots[i].pid != pid; i++)
			;
		if (i == n)
			continue;
		slots[i].pid = 0;
		if (WIFSIGNALED(st))
			ns_log(stopping ? NS_LOG_INFO : NS_LOG_ERR, "worker %ld killed by signal %d",
			    (long)pid, WTERMSIG(st));
		else
			ns_log(stopping ? NS_LOG_INFO : NS_LOG_WARN, "worker %ld exited with %d",
			    (long)pid, WEXITSTATUS(st));
		if (now - slots[i].started_ms < API_SUP_YOUNG_MS) {
			slots[i].backoff_ms = slots[i].backoff_ms ? slots[i].backoff_ms * 2 :
			    API_SUP_BACKOFF_MS;
			if (slots[i].backoff_ms > API_SUP_BACKOFF_MAX_MS)
				slots[i].backoff_ms = API_SUP_BACKOFF_MAX_MS;
			if (!stopping)
				ns_log_warn("worker died within %d ms; respawn in %d ms",
				    API_SUP_YOUNG_MS, slots[i].backoff_ms);
		} else {
			slots[i].backoff_ms = 0;
		}
		slots[i].respawn_ms = now + slots[i].backoff_ms;
	}
}

int
api_supervisor_run(int listen_fd, int nworkers, api_worker_fn fn, void *arg)
{
	struct slot slots[API_WORKERS_MAX];
	sigset_t set, old;
	int64_t stop_deadline = 0, resend = 0;
	int stopping = 0, i, live;

	if (nworkers < 1 || nworkers > API_WORKERS_MAX)
		return 1;
	memset(slots, 0, sizeof(slots));
	signal(SIGCHLD, on_chld);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, &old);
	ns_log_info("supervisor %ld: %d workers", (long)getpid(), nworkers);

	for (;;) {
		int64_t now, wait_ms = SUP_TICK_MS;
		struct timespec ts;
		siginfo_t si;
		int sig;

		reap(slots, nworkers, stopping);
		now = ns_clock_mono_ms();
		for (live = 0, i = 0; i < nworkers; i++) {
			if (!stopping && slots[i].pid == 0 && slots[i].respawn_ms <= now)
				spawn(&slots[i], listen_fd, fn, arg, &old);
			if (slots[i].pid > 0)
				live++;
			else if (!stopping && slots[i].respawn_ms - now < wait_ms)
				wait_ms = slots[i].respawn_ms - now;
		}
		if (stopping) {
			if (live == 0)
				break;
			if (now >= stop_deadline) {
				ns_log_warn("%d workers still busy after %d ms: killing", live,
				    API_SUP_STOP_MS);
				signal_all(slots, nworkers, SIGKILL);
				stop_deadline = now + API_SUP_STOP_MS;	/* then just reap */
			} else if (now >= resend) {
				signal_all(slots, nworkers, SIGTERM);
				resend = now + SUP_RESEND_MS;
			}
			wait_ms = SUP_RESEND_MS / 5;
		}
		if (wait_ms < 1)
			wait_ms = 1;
		ts.tv_sec = (time_t)(wait_ms / 1000);
		ts.tv_nsec = (long)(wait_ms % 1000) * 1000000L;
		sig = sigtimedwait(&set, &si, &ts);
		if ((sig == SIGTERM || sig == SIGINT) && !stopping) {
			ns_log_info("signal %d: stopping %d workers", sig, nworkers);
			stopping = 1;
			stop_deadline = ns_clock_mono_ms() + API_SUP_STOP_MS;
			resend = 0;
		} else if (sig == SIGHUP) {
			ns_log_info("SIGHUP ignored: restart the service to reload the configuration");
		}
	}
	signal(SIGCHLD, SIG_DFL);
	sigprocmask(SIG_SETMASK, &old, NULL);
	ns_log_info("supervisor stopped");
	return 0;
}
