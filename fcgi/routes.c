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
	/* method  pattern           guard   limiter      body     max  handler, prefetch */
	/* §2.1 service */
	{ "GET",  "/",               G_NONE, API_RL_NONE, B_NONE,  0, api_service_root, NULL },
	{ "GET",  "/health",         G_NONE, API_RL_NONE, B_NONE,  0, api_service_health, NULL },
	{ "GET",  "/stats/live",     G_NONE, API_RL_NONE, B_NONE,  0, api_service_stats_live, NULL },
	{ "GET",  "/metrics",        G_NONE, API_RL_NONE, B_NONE,  0, api_service_metrics, NULL },
	/* §2.2 auth */
	{ "POST", "/auth/guest",     G_NONE, API_RL_AUTH, B_JSON,  0, api_auth_guest, NULL },
	{ "POST", "/auth/link",      G_B,    API_RL_AUTH, B_JSON,  0, api_auth_link, NULL },
	{ "POST", "/auth/login",     G_NONE, API_RL_AUTH, B_JSON,  0, api_auth_login, NULL },
	{ "POST", "/auth/logout",    G_SESS, API_RL_AUTH, B_NONE,  0, api_auth_logout, NULL },
	/* §2.3 user */
	{ "GET",  "/user/me",        G_U,    API_RL_API,  B_NONE,  0, api_user_get, NULL },
	{ "PUT",  "/user/me",        G_U,    API_RL_API,  B_JSON,  0, api_user_put, NULL },
	/* §2.4 media: ceilings are the largest SELFIE_MAX/VIDEO_MAX the settings allow, plus room
	 * for the framing; api_media.c holds each body to the configured limit (413 'File too large') */
	{ "POST", "/media/selfie",   G_U,    API_RL_API,  B_MULTI, (100u << 20) + 65536, api_media_selfie, NULL },
	{ "POST", "/media/video",    G_U,    API_RL_API,  B_MULTI, (1024u << 20) + 65536, api_media_video, NULL },
	/* §2.5 room lists and history */
	{ "GET",  "/room/history",   G_U,    API_RL_API,  B_NONE,  0, api_room_history, NULL },
	{ "GET",  "/room/me",        G_U,    API_RL_API,  B_NONE,  0, api_room_me, NULL },
	{ "GET",  "/room/queue",     G_P,    API_RL_API,  B_NONE,  0, api_room_queue,
	    api_room_queue_prefetch },
	{ "GET",  "/room/reel",      G_P,    API_RL_API,  B_NONE,  0, api_room_reel, NULL },
	/* §2.6 introductions */
	{ "POST", "/referral/generate", G_U, API_RL_API, B_JSON, 0, api_referral_generate, NULL },
	{ "GET",  "/referral/info/:code", G_NONE, API_RL_API, B_NONE, 0, api_referral_info, NULL },
	{ "GET",  "/referral/notifications", G_U, API_RL_API, B_NONE, 0,
	  api_referral_notifications, NULL },
	{ "PUT",  "/referral/notifications/:id/read", G_U, API_RL_API, B_NONE, 0,
	  api_referral_notification_read, NULL },
	{ "GET",  "/referral/target-status/:code", G_NONE, API_RL_API, B_NONE, 0,
	  api_referral_target_status, NULL },
	{ "POST", "/referral/direct-match", G_U, API_RL_API, B_JSON, 0,
	  api_referral_direct_match, NULL },
	{ "GET",  "/referral/my-introductions", G_U, API_RL_API, B_NONE, 0,
	  api_referral_my_introductions, NULL },
	/* §2.7 reports and bans */
	{ "POST", "/report/user",    G_U,    API_RL_REPORT, B_JSON, 0, api_report_user, NULL },
	{ "GET",  "/report/pending", API_GUARD_ADMIN, API_RL_REPORT, B_NONE, 0,
	  api_report_pending, NULL },
	{ "GET",  "/report/all",     API_GUARD_ADMIN, API_RL_REPORT, B_NONE, 0, api_report_all, NULL },
	{ "POST", "/report/review/:userId", API_GUARD_ADMIN, API_RL_REPORT, B_JSON, 0,
	  api_report_review, NULL },
	{ "GET",  "/report/blacklist", G_NONE, API_RL_REPORT, B_NONE, 0, api_report_blacklist, NULL },
	{ "GET",  "/report/check-ban", API_GUARD_USER_NOBAN, API_RL_REPORT, B_NONE, 0,
	  api_report_check_ban, NULL },
	{ "GET",  "/report/check-ip/:ip", G_NONE, API_RL_REPORT, B_NONE, 0, api_report_check_ip, NULL },
	{ "GET",  "/report/stats",   API_GUARD_ADMIN, API_RL_REPORT, B_NONE, 0, api_report_stats, NULL },
	/* §2.8 payments and invite codes (guard S reads the raw body itself) */
	{ "POST", "/payment/create-checkout", G_U, API_RL_NONE, B_NONE, 0, api_payment_checkout, NULL },
	{ "POST", "/payment/webhook", API_GUARD_STRIPE, API_RL_NONE, API_BODY_RAW, 0,
	  api_payment_webhook, NULL },
	{ "POST", "/payment/apply-code", G_U, API_RL_NONE, B_JSON, 0, api_payment_apply_code, NULL },
	{ "POST", "/payment/validate-code", G_NONE, API_RL_VALIDATE, B_JSON, 0,
	  api_payment_validate_code, NULL },
	{ "GET",  "/payment/status", G_U, API_RL_NONE, B_NONE, 0, api_payment_status, NULL },
	{ "POST", "/payment/admin/generate-code", API_GUARD_ADMIN, API_RL_NONE, B_JSON, 0,
	  api_payment_admin_generate, NULL },
	{ "GET",  "/payment/admin/codes", API_GUARD_ADMIN, API_RL_NONE, B_NONE, 0,
	  api_payment_admin_codes, NULL },
	{ "POST", "/payment/admin/deactivate-code", API_GUARD_ADMIN, API_RL_NONE, B_JSON, 0,
	  api_payment_admin_deactivate, NULL },
	{ "GET",  "/payment/qr/:code", G_NONE, API_RL_NONE, B_NONE, 0, api_payment_qr, NULL },
	/* §2.9 TURN: the limiter is keyed by user, after the guard */
	{ "GET",  "/turn/credentials", G_U, API_RL_TURN, B_NONE, 0, api_turn_credentials, NULL },
	{ "GET",  "/turn/status",  G_U,    API_RL_TURN, B_NONE,  0, api_turn_status, NULL },
	/* §2.10 admin */
	{ "POST", "/admin/login",    G_NONE, API_RL_AUTH, B_JSON,  0, api_admin_login, NULL },
	{ "POST", "/admin/logout",   G_NONE, API_RL_AUTH, B_NONE,  0, api_admin_logout, NULL },
	{ "GET",  "/admin/verify",   G_NONE, API_RL_AUTH, B_NONE,  0, api_admin_verify, NULL },
};

const size_t api_routes_count = sizeof(api_routes) / sizeof(api_routes[0]);
