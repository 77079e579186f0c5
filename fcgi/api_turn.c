/* api_turn: GET /turn/credentials and /turn/status (contract §2.9). With TURN_SECRET set the
 * credentials are coturn's REST-API ones (use-auth-secret): username "<expiry>:<userId>",
 * credential base64(HMAC-SHA1(secret, username)), so coturn checks them without any call back
 * to us. Without a secret only the STUN URLs are offered. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "routes.h"
#include "clock.h"
#include "json.h"
#include "log.h"
#include "nsconfig.h"
#include "respond.h"

#define TURN_URLS_MAX 16	/* URLs taken from one comma-separated setting */
#define TURN_URL_MAX 512	/* one URL */
#define TURN_USER_MAX 64	/* "<expiry>:<uuid>" */
#define TURN_CRED_MAX 64	/* base64 of a 20-byte HMAC-SHA1 is 28 */

/* Each URL of the comma-separated list (trimmed, empty items skipped), up to TURN_URLS_MAX. */
static int
split_urls(const char *list, char out[][TURN_URL_MAX], int max)
{
	int n = 0;

	while (*list && n < max) {
		const char *end = strchr(list, ','), *a = list, *b;

		b = end ? end : list + strlen(list);
		list = end ? end + 1 : b;
		while (a < b && (*a == ' ' || *a == '\t'))
			a++;
		while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
			b--;
		if (b > a && (size_t)(b - a) < TURN_URL_MAX) {
			memcpy(out[n], a, (size_t)(b - a));
			out[n++][b - a] = '\0';
		}
	}
	return n;
}

/* TURN is offered when both the shared secret and at least one TURN URL are configured. */
static int
coturn_configured(const struct ns_config *cfg, char urls[][TURN_URL_MAX], int *n)
{
	*n = split_urls(cfg->turn_urls, urls, TURN_URLS_MAX);
	return cfg->turn_secret[0] && *n > 0;
}

/* base64(HMAC-SHA1(secret, user)); -1 on failure. */
static int
turn_credential(const char *secret, const char *user, char out[TURN_CRED_MAX])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;

	if (HMAC(EVP_sha1(), secret, (int)strlen(secret), (const unsigned char *)user,
	    strlen(user), mac, &maclen) == NULL || (maclen + 2) / 3 * 4 >= TURN_CRED_MAX)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, mac, (int)maclen);
	return 0;
}

enum ns_err
api_turn_credentials(struct api_req *req)
{
	static char turn[TURN_URLS_MAX][TURN_URL_MAX], stun[TURN_URLS_MAX][TURN_URL_MAX];
	const struct ns_config *cfg = req->cfg;
	char user[TURN_USER_MAX], cred[TURN_CRED_MAX];
	json_object *body = ns_json_obj(), *servers = json_object_new_array(), *s, *urls;
	int nturn, nstun = split_urls(cfg->stun_urls, stun, TURN_URLS_MAX), i;
	long long expiry = ns_clock_now_ms() / 1000 + cfg->turn_ttl_s;

	if (servers == NULL) {
		json_object_put(body);
		return NS_E_NOMEM;
	}
	for (i = 0; i < nstun; i++) {
		s = ns_json_obj();
		ns_json_set_str(s, "urls", stun[i]);
		json_object_array_add(servers, s);
	}
	if (coturn_configured(cfg, turn, &nturn)) {
		snprintf(user, sizeof(user), "%lld:%s", expiry, req->auth.user_id);
		if (turn_credential(cfg->turn_secret, user, cred) < 0) {
			json_object_put(servers);
			json_object_put(body);
			ns_log_err("turn: HMAC failed");
			return NS_E_INTERNAL;
		}
		s = ns_json_obj();
		urls = json_object_new_array();
		for (i = 0; urls && i < nturn; i++)
			json_object_array_add(urls, json_object_new_string(turn[i]));
		ns_json_set(s, "urls", urls);
		ns_json_set_str(s, "username", user);
		ns_json_set_str(s, "credential", cred);
		json_object_array_add(servers, s);
		ns_json_set(body, "iceServers", servers);
		ns_json_set_int(body, "expiresAt", expiry * 1000);
		ns_json_set_str(body, "provider", "coturn");
	} else {
		ns_json_set(body, "iceServers", servers);
		ns_json_set_int(body, "expiresAt", expiry * 1000);
		ns_json_set_str(body, "provider", "stun");
	}
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}

enum ns_err
api_turn_status(struct api_req *req)
{
	static char turn[TURN_URLS_MAX][TURN_URL_MAX];
	json_object *body = ns_json_obj();
	int n;

	ns_json_set_bool(body, "coturn", coturn_configured(req->cfg, turn, &n));
	ns_json_set_bool(body, "cloudflare", 0);
	ns_json_set_bool(body, "twilio", 0);
	ns_json_set_int(body, "timestamp", ns_clock_now_ms());
	req->no_store = 1;
	api_respond_json(req, 200, body);
	return NS_OK;
}
