/* app: what one worker process owns: its configuration and its own PostgreSQL and Redis
 * handles. Created after fork, so no connection is ever shared between processes. */
#ifndef API_APP_H
#define API_APP_H

struct ns_config;
struct ns_db;
struct ns_kv;

struct app {
	const struct ns_config *cfg;
	struct ns_db *db;	/* connects lazily, reconnects after failures */
	struct ns_kv *kv;	/* likewise */
};

/* NULL on allocation failure; nothing is connected yet. */
struct app *app_new(const struct ns_config *cfg);
void app_free(struct app *app);

#endif
