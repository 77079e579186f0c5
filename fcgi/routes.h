/* routes: THE route table of the REST API, and the handlers it names (one banner per file). */
#ifndef API_ROUTES_H
#define API_ROUTES_H
#include <stddef.h>
#include "err.h"
#include "request.h"
#include "router.h"

extern const struct api_route api_routes[];
extern const size_t api_routes_count;

/* api_service.c */
enum ns_err api_service_root(struct api_req *req);
enum ns_err api_service_health(struct api_req *req);
enum ns_err api_service_stats_live(struct api_req *req);
enum ns_err api_service_metrics(struct api_req *req);

/* api_auth.c */
enum ns_err api_auth_guest(struct api_req *req);
enum ns_err api_auth_link(struct api_req *req);
enum ns_err api_auth_login(struct api_req *req);
enum ns_err api_auth_logout(struct api_req *req);

/* api_user.c */
enum ns_err api_user_get(struct api_req *req);
enum ns_err api_user_put(struct api_req *req);

/* api_media.c */
enum ns_err api_media_selfie(struct api_req *req);
enum ns_err api_media_video(struct api_req *req);

/* api_room.c */
enum ns_err api_room_history(struct api_req *req);
enum ns_err api_room_me(struct api_req *req);

/* api_queue.c */
enum ns_err api_room_queue(struct api_req *req);
int api_room_queue_prefetch(const struct api_req *req, struct api_cache_ask *ask);

/* api_reel.c */
enum ns_err api_room_reel(struct api_req *req);

/* api_referral.c */
enum ns_err api_referral_generate(struct api_req *req);
enum ns_err api_referral_info(struct api_req *req);
enum ns_err api_referral_notifications(struct api_req *req);
enum ns_err api_referral_notification_read(struct api_req *req);
enum ns_err api_referral_target_status(struct api_req *req);
enum ns_err api_referral_direct_match(struct api_req *req);
enum ns_err api_referral_my_introductions(struct api_req *req);

/* api_report.c */
enum ns_err api_report_user(struct api_req *req);
enum ns_err api_report_pending(struct api_req *req);
enum ns_err api_report_all(struct api_req *req);
enum ns_err api_report_review(struct api_req *req);
enum ns_err api_report_blacklist(struct api_req *req);
enum ns_err api_report_check_ban(struct api_req *req);
enum ns_err api_report_check_ip(struct api_req *req);
enum ns_err api_report_stats(struct api_req *req);

/* api_payment.c */
enum ns_err api_payment_checkout(struct api_req *req);
enum ns_err api_payment_webhook(struct api_req *req);
enum ns_err api_payment_apply_code(struct api_req *req);
enum ns_err api_payment_validate_code(struct api_req *req);
enum ns_err api_payment_status(struct api_req *req);
enum ns_err api_payment_admin_generate(struct api_req *req);
enum ns_err api_payment_admin_codes(struct api_req *req);
enum ns_err api_payment_admin_deactivate(struct api_req *req);
enum ns_err api_payment_qr(struct api_req *req);

/* api_turn.c */
enum ns_err api_turn_credentials(struct api_req *req);
enum ns_err api_turn_status(struct api_req *req);

/* api_admin.c */
enum ns_err api_admin_login(struct api_req *req);
enum ns_err api_admin_logout(struct api_req *req);
enum ns_err api_admin_verify(struct api_req *req);

#endif
