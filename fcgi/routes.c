/* routes: every REST route in one place, in contract order (§2). */
#include "config.h"

#include "routes.h"

#define G_NONE API_GUARD_NONE
#define G_U API_GUARD_USER
#define G_P API_GUARD_PAYWALL
#define G_B API_GUARD_BODY
#define G_SESS API_GUARD_SESSION
#define B_NONE API_BODY_NONE
#define B_JSON API_BODY_JSON
#define B_MULTI API_BODY_MULTIPART

const struct api_route api_routes[] = {
	/* method  pattern           guard   limiter      body     max  handler */
	/* §2.1 service */
	{ "GET",  "/",               G_NONE, API_RL_NONE, B_NONE,  0, api_service_root },
	{ "GET",  "/health",         G_NONE, API_RL_NONE, B_NONE,  0, api_service_health },
	{ "GET",  "/stats/live",     G_NONE, API_RL_NONE, B_NONE,  0, api_service_stats_live },
	{ "GET",  "/metrics",        G_NONE, API_RL_NONE, B_NONE,  0, api_service_metrics },
	/* §2.2 auth */
	{ "POST", "/auth/guest",     G_NONE, API_RL_AUTH, B_JSON,  0, api_auth_guest },
	{ "POST", "/auth/link",      G_B,    API_RL_AUTH, B_JSON,  0, api_auth_link },
	{ "POST", "/auth/login",     G_NONE, API_RL_AUTH, B_JSON,  0, api_auth_login },
	{ "POST", "/auth/logout",    G_SESS, API_RL_AUTH, B_NONE,  0, api_auth_logout },
	/* §2.3 user */
	{ "GET",  "/user/me",        G_U,    API_RL_API,  B_NONE,  0, api_user_get },
	{ "PUT",  "/user/me",        G_U,    API_RL_API,  B_JSON,  0, api_user_put },
	/* §2.4 media: ceilings are the largest SELFIE_MAX/VIDEO_MAX the settings allow, plus room
	 * for the framing; api_media.c holds each body to the configured limit (413 'File too large') */
	{ "POST", "/media/selfie",   G_U,    API_RL_API,  B_MULTI, (100u << 20) + 65536, api_media_selfie },
	{ "POST", "/media/video",    G_U,    API_RL_API,  B_MULTI, (1024u << 20) + 65536, api_media_video },
	/* §2.5 room lists and history */
	{ "GET",  "/room/history",   G_U,    API_RL_API,  B_NONE,  0, api_room_history },
	{ "GET",  "/room/me",        G_U,    API_RL_API,  B_NONE,  0, api_room_me },
	{ "GET",  "/room/queue",     G_P,    API_RL_API,  B_NONE,  0, api_room_queue },
	{ "GET",  "/room/reel",      G_P,    API_RL_API,  B_NONE,  0, api_room_reel },
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
