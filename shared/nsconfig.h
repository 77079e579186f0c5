/* config: one table of settings (key, type, bounds, default, environment override).
 * Sources, later wins: built-in defaults < config file (key = value) < environment. */
#ifndef NS_CONFIG_H
#define NS_CONFIG_H
#include <stdio.h>
#include "err.h"

#define NS_CFG_STR_MAX 1024	/* ceiling for any string setting */
#define NS_CFG_LINE_MAX 4096	/* ceiling for one config-file line */

struct ns_config {
	/* storage */
	char database_url[NS_CFG_STR_MAX];	/* DATABASE_URL (libpq conninfo or URI) */
	char database_read_url[NS_CFG_STR_MAX];	/* DATABASE_READ_URL, optional replica */
	int db_statement_timeout_ms;		/* DB_STATEMENT_TIMEOUT_MS */
	int db_connect_timeout_s;		/* DB_CONNECT_TIMEOUT_S */
	char redis_url[NS_CFG_STR_MAX];		/* REDIS_URL: redis://host:port/db or unix:/path */
	int redis_timeout_ms;			/* REDIS_TIMEOUT_MS: connect and command */
	/* process */
	char log_level[16];			/* LOG_LEVEL: err|warn|info|debug */
	char environment[32];			/* NODE_ENV / ENVIRONMENT: development|production */
	char media_dir[NS_CFG_STR_MAX];		/* MEDIA_DIR */
	char migrations_dir[NS_CFG_STR_MAX];	/* MIGRATIONS_DIR */
	/* HTTP API */
	char allowed_origins[NS_CFG_STR_MAX];	/* ALLOWED_ORIGINS, comma separated */
	char metrics_allow[NS_CFG_STR_MAX];	/* METRICS_ALLOW, comma separated CIDRs */
	int json_body_max;			/* JSON_BODY_MAX bytes */
	int webhook_body_max;			/* WEBHOOK_BODY_MAX bytes */
	int selfie_max;				/* SELFIE_MAX bytes */
	int video_max;				/* VIDEO_MAX bytes */
	int api_workers;			/* API_WORKERS for the prefork supervisor */
	/* gateway */
	char gateway_host[64];			/* GATEWAY_HOST */
	int gateway_port;			/* GATEWAY_PORT */
	char gateway_id[64];			/* GATEWAY_ID, random when empty */
	char gateway_path[64];			/* GATEWAY_PATH, default /socket.io/ */
	int gateway_max_connections;		/* GATEWAY_MAX_CONNECTIONS */
	int gateway_redis_backlog_max;		/* GATEWAY_REDIS_BACKLOG_MAX: commands awaiting Redis */
	int ping_interval_ms;			/* PING_INTERVAL_MS */
	int ping_timeout_ms;			/* PING_TIMEOUT_MS */
	int max_payload;			/* MAX_PAYLOAD bytes per message */
	int connect_timeout_ms;			/* CONNECT_TIMEOUT_MS: no CONNECT packet → close */
	int sockets_per_user;			/* SOCKETS_PER_USER */
	int send_queue_max;			/* SEND_QUEUE_MAX bytes per socket */
	int socket_events_per_second;		/* messages a socket may send per second, sustained */
	int socket_events_burst;		/* ... and in a burst, before it is closed */
	int queue_update_interval_ms;		/* QUEUE_UPDATE_INTERVAL_MS: queue feed flush period (0 = at once) */
	char trusted_proxies[NS_CFG_STR_MAX];	/* TRUSTED_PROXIES, CIDRs whose X-Real-IP is used */
	/* calls (contract §3.6-§3.9, §4.1) */
	int invite_window_ms;			/* INVITE_WINDOW_MS: response window, ttlMs of call:notify */
	int invite_extend_ms;			/* INVITE_EXTEND_MS: one call:extend-wait */
	int invite_cap_ms;			/* INVITE_CAP_MS: expiry never later than createdAt + this */
	int invite_tolerance_ms;		/* INVITE_TOLERANCE_MS: expiry acted on this late */
	int call_grace_s;			/* CALL_GRACE_S: server deadline after agreedSeconds */
	int call_seconds_min;			/* CALL_SECONDS_MIN: 60 (fixed); lower only in tests */
	int call_save_min_s;			/* CALL_SAVE_MIN_S: history and metrics from this length */
	int call_complete_min_s;		/* CALL_COMPLETE_MIN_S: a completion from this length */
	int qr_unlock_completions;		/* QR_UNLOCK_COMPLETIONS */
	int cooldown_long_s;			/* COOLDOWN_LONG_S: decline, call end */
	int cooldown_short_s;			/* COOLDOWN_SHORT_S: rescind, caller gone */
	int disconnect_grace_ms;		/* DISCONNECT_GRACE_MS: transport loss → full cleanup */
	int sched_tick_ms;			/* SCHED_TICK_MS: timed actions are claimed this often */
	int gateway_heartbeat_ttl_ms;		/* GATEWAY_HEARTBEAT_TTL_MS: silent this long = dead gateway */
	int gateway_check_ms;			/* GATEWAY_CHECK_MS: dead gateways are looked for this often */
	/* third parties */
	char turn_secret[256];			/* TURN_SECRET */
	char turn_urls[NS_CFG_STR_MAX];		/* TURN_URLS, comma separated */
	char stun_urls[NS_CFG_STR_MAX];		/* STUN_URLS, comma separated */
	int turn_ttl_s;				/* TURN_TTL_S: lifetime of TURN credentials */
	char stripe_secret_key[256];		/* STRIPE_SECRET_KEY */
	char stripe_webhook_secret[256];	/* STRIPE_WEBHOOK_SECRET */
	char stripe_api_base[NS_CFG_STR_MAX];	/* STRIPE_API_BASE */
	char frontend_url[NS_CFG_STR_MAX];	/* FRONTEND_URL */
	char public_base_url[NS_CFG_STR_MAX];	/* PUBLIC_BASE_URL: prefix of /uploads/ URLs ("" = relative) */
	/* REST behaviour (contract §4.1) */
	int guest_session_days;			/* GUEST_SESSION_DAYS */
	int permanent_session_days;		/* PERMANENT_SESSION_DAYS */
	int bcrypt_cost;			/* BCRYPT_COST (12; tests may lower it) */
	int cache_ttl_s;			/* CACHE_TTL_S: query-cache entry lifetime */
	int queue_page_default;			/* QUEUE_PAGE_DEFAULT */
	int queue_page_max;			/* QUEUE_PAGE_MAX */
	/* rate limits (contract §1.8) */
	int rl_auth_window_s, rl_auth_max;
	int rl_api_window_s, rl_api_max, rl_api_enabled;
	int rl_turn_window_s, rl_turn_max;
	int rl_report_window_s, rl_report_max, rl_report_enabled;
	int rl_validate_window_s, rl_validate_max;
};

/* Fill cfg from defaults, then path (NULL: $NAPALMSKY_CONFIG, else the default file if it
 * exists), then the environment. On failure err names the key and the problem. */
enum ns_err ns_config_load(struct ns_config *cfg, const char *path, char *err, size_t errlen);
/* Set one key from text, checking type and bounds (used by the loader and by tests). */
enum ns_err ns_config_set(struct ns_config *cfg, const char *key, const char *value,
    char *err, size_t errlen);
/* Print the effective configuration (secrets masked) as key = value lines. */
void ns_config_print(const struct ns_config *cfg, FILE *out);
/* The default config-file path: SYSCONFDIR "/napalmsky/napalmsky.conf". */
const char *ns_config_default_path(void);

#endif
