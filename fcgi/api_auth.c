/* api_auth: POST /auth/guest, /auth/link, /auth/login, /auth/logout (contract §2.2). */
#include "config.h"

#include "routes.h"

enum ns_err api_auth_guest(struct api_req *req) { (void)req; return NS_E_INTERNAL; }
enum ns_err api_auth_link(struct api_req *req) { (void)req; return NS_E_INTERNAL; }
enum ns_err api_auth_login(struct api_req *req) { (void)req; return NS_E_INTERNAL; }
enum ns_err api_auth_logout(struct api_req *req) { (void)req; return NS_E_INTERNAL; }
