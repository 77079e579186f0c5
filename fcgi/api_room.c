/* api_room: history, own card, the matchmaking queue and reel (contract §2.5). */
#include "config.h"

#include "routes.h"

enum ns_err api_room_history(struct api_req *req) { (void)req; return NS_E_INTERNAL; }
enum ns_err api_room_me(struct api_req *req) { (void)req; return NS_E_INTERNAL; }
enum ns_err api_room_queue(struct api_req *req) { (void)req; return NS_E_INTERNAL; }
enum ns_err api_room_reel(struct api_req *req) { (void)req; return NS_E_INTERNAL; }
