/* supervisor: the prefork parent of --workers N --socket PATH. It forks N workers that all
 * accept on one listening socket, replaces a worker that exits (after a backoff when it
 * died young, so a crash loop cannot spin) and on SIGTERM/SIGINT stops them gracefully. */
#ifndef API_SUPERVISOR_H
#define API_SUPERVISOR_H

#define API_WORKERS_MAX 64		/* ceiling for N */
#define API_SUP_YOUNG_MS 1000		/* a worker dying sooner than this is respawned late */
#define API_SUP_BACKOFF_MS 1000		/* first delay for such a respawn, doubling */
#define API_SUP_BACKOFF_MAX_MS 30000	/* ceiling of that delay */
#define API_SUP_STOP_MS 10000		/* graceful stop budget before SIGKILL */

/* Runs in each child with all signals unblocked and default dispositions; its return value
 * is the child's exit status. */
typedef int (*api_worker_fn)(int listen_fd, void *arg);

/* Returns the parent's exit status once every worker is gone (0 after a requested stop). */
int api_supervisor_run(int listen_fd, int nworkers, api_worker_fn fn, void *arg);

#endif
