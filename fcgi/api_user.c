/* api_user: GET and PUT /user/me (contract §2.3). */
#include "config.h"

#include "routes.h"

enum ns_err api_user_get(struct api_req *req) { (void)req; return NS_E_INTERNAL; }
enum ns_err api_user_put(struct api_req *req) { (void)req; return NS_E_INTERNAL; }
