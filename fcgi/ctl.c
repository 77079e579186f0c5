/* ctl: JSON control messages on the gateways' control channel. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "ctl.h"
#include "app.h"
#include "json.h"
#include "keys.h"
#include "kv.h"
#include "log.h"

#define CTL_TEXT_MAX 512	/* the referral event's message line */

enum ns_err
api_ctl_publish(struct app *app, json_object *msg)
{
	enum ns_err err = NS_OK;
	redisReply *r;
	const char *text;
	size_t len;

	text = ns_json_text(msg, &len);
	if (len > API_CTL_MSG_MAX) {
		ns_log_err("ctl: message of %zu bytes over the ceiling, dropped", len);
		json_object_put(msg);
		return NS_E_INTERNAL;
	}
	r = ns_kv_cmd(app->kv, &err, "PUBLISH %s %b", NS_CHAN_CTL, text, len);
	if (r == NULL)
		ns_log_warn("ctl: publish failed (%s): %s", ns_err_str(err), text);
	else
		freeReplyObject(r);
	json_object_put(msg);
	return r ? NS_OK : err;
}

enum ns_err
api_ctl_sessions(struct app *app, const char *type, const char *const *tokens, size_t n)
{
	json_object *msg, *arr;
	size_t i;

	if (n == 0)
		return NS_OK;
	msg = ns_json_obj();
	ns_json_set_str(msg, "type", type);
	if ((arr = json_object_new_array()) == NULL) {
		json_object_put(msg);
		return NS_E_NOMEM;
	}
	for (i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(tokens[i]));
	ns_json_set(msg, "tokens", arr);
	return api_ctl_publish(app, msg);
}

enum ns_err
api_ctl_referral(struct app *app, const char *user_id, const char *referred_name,
    json_object *notification)
{
	char text[CTL_TEXT_MAX];
	json_object *msg = ns_json_obj();

	/* The event's text (§3.4); names are ≤ 50 characters, so it always fits. */
	snprintf(text, sizeof(text), "%s wants to connect with you!", referred_name);
	ns_json_set_str(msg, "type", API_CTL_REFERRAL);
	ns_json_set_str(msg, "userId", user_id);
	ns_json_set_str(msg, "message", text);
	ns_json_set(msg, "notification", notification);
	return api_ctl_publish(app, msg);
}

enum ns_err
api_ctl_queue_view(struct app *app, const char *user_id)
{
	json_object *msg = ns_json_obj();

	ns_json_set_str(msg, "type", API_CTL_QUEUE_VIEW);
	ns_json_set_str(msg, "userId", user_id);
	return api_ctl_publish(app, msg);
}
