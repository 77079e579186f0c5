/* app: the per-process context. */
#include "config.h"

#include <stdlib.h>

#include "app.h"
#include "nsconfig.h"
#include "db.h"
#include "kv.h"

struct app *
app_new(const struct ns_config *cfg)
{
	struct app *app = calloc(1, sizeof(*app));

	if (!app)
		return NULL;
	app->cfg = cfg;
	app->db = ns_db_new(cfg->database_url, cfg->database_read_url,
	    cfg->db_statement_timeout_ms, cfg->db_connect_timeout_s);
	app->kv = ns_kv_new(cfg->redis_url, cfg->redis_timeout_ms);
	if (!app->db || !app->kv) {
		app_free(app);
		return NULL;
	}
	return app;
}

void
app_free(struct app *app)
{
	if (!app)
		return;
	if (app->db)
		ns_db_free(app->db);
	if (app->kv)
		ns_kv_free(app->kv);
	free(app);
}
