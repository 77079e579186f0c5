/* payload: see payload.h. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "valid.h"
#include "payload.h"

#define PAYLOAD_SECONDS_ABS 1e9	/* a double beyond this is refused before any conversion */

int
payload_uuid(json_object *payload, const char *key, char out[NS_UUID_LEN + 1])
{
	return json_object_is_type(payload, json_type_object) &&
	    ns_rand_uuid_parse(ns_json_get_str(payload, key), out);
}

int
payload_seconds(json_object *payload, int64_t min, int64_t max, int64_t *out)
{
	json_object *v;
	double d;

	if (!json_object_is_type(payload, json_type_object) ||
	    !json_object_object_get_ex(payload, "requestedSeconds", &v))
		return 0;
	if (json_object_is_type(v, json_type_int)) {
		*out = json_object_get_int64(v);
	} else if (json_object_is_type(v, json_type_double)) {
		d = json_object_get_double(v);
		/* the range test also refuses NaN, and keeps the cast defined */
		if (!(d >= -PAYLOAD_SECONDS_ABS && d <= PAYLOAD_SECONDS_ABS) ||
		    d != (double)(int64_t)d)
			return 0;
		*out = (int64_t)d;
	} else {
		return 0;
	}
	return *out >= min && *out <= max;
}

int
payload_rtc(json_object *payload, const char *field, int null_ok, json_object **value)
{
	json_object *v = NULL;

	*value = NULL;
	if (!json_object_is_type(payload, json_type_object))
		return 0;
	if (!json_object_object_get_ex(payload, field, &v) && !null_ok)
		return 0;
	if (v ? !json_object_is_type(v, json_type_object) : !null_ok)
		return 0;
	*value = v;
	return 1;
}

char *
payload_chat_text(const char *s, size_t len, size_t max)
{
	char *out = malloc(len + 1);
	const char *t;
	size_t i, n = 0, keep;

	if (!out)
		return NULL;
	for (i = 0; i < len; i++) {
		const char *gt;

		if (s[i] == '<' && (gt = memchr(s + i + 1, '>', len - i - 1))) {
			i = (size_t)(gt - s);
			continue;
		}
		if (s[i] != '\0')	/* a \u0000 would cut the line where it is sent on */
			out[n++] = s[i];
	}
	n = ns_valid_utf8_truncate(out, n, max);
	keep = n;
	t = ns_valid_trim(out, &keep);
	if (keep == 0) {
		free(out);
		return NULL;
	}
	memmove(out, t, keep);
	out[keep] = '\0';
	return out;
}
