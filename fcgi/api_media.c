/* api_media: POST /media/selfie and /media/video (contract §2.4). */
#include "config.h"

#include "routes.h"

enum ns_err api_media_selfie(struct api_req *req) { (void)req; return NS_E_INTERNAL; }
enum ns_err api_media_video(struct api_req *req) { (void)req; return NS_E_INTERNAL; }
