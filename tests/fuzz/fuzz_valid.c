/* fuzz_valid: libFuzzer target for shared/valid. The input is run through the text helpers as
 * raw bytes (checking their invariants), then parsed as JSON the way the API does and checked
 * against route-like tables; an accepted body must hold exactly the normalised values. */
#include <config.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"
#include "valid.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const decisions[] = { "permanent", "vindicated", NULL };
static const struct ns_valid_field guest[] = {
	NS_VALID_F_NAME,
	NS_VALID_F_GENDER,
	{ .name = "inviteCode", .kind = NS_VALID_CODE, .max = NS_VALID_INVITE_CODE_LEN,
	  .msg_invalid = "Invalid invite code format" },
	{ .name = "referralCode", .kind = NS_VALID_CODE, .max = NS_VALID_INTRO_CODE_LEN,
	  .flags = NS_VALID_DROP_INVALID, .msg_invalid = "x" },
};
static const struct ns_valid_field account[] = {
	NS_VALID_F_EMAIL("required"),
	NS_VALID_F_PASSWORD("required"),
	NS_VALID_F_SOCIALS,
};
static const struct ns_valid_field report[] = {
	NS_VALID_F_UUID("reportedUserId", "reportedUserId is required"),
	NS_VALID_F_REASON,
	NS_VALID_F_UUID_OPT("roomId"),
	NS_VALID_F_LABEL,
	{ .name = "limit", .kind = NS_VALID_INT, .min = 1, .max = 500, .msg_invalid = "Invalid limit" },
	{ .name = "flag", .kind = NS_VALID_BOOL, .msg_invalid = "Invalid flag" },
	{ .name = "meta", .kind = NS_VALID_OBJECT, .max = 3, .msg_invalid = "Invalid meta" },
	{ .name = "decision", .kind = NS_VALID_ENUM, .values = decisions, .msg_invalid = "Invalid decision" },
};

static void
check_text(const char *s, size_t len)
{
	size_t all = ns_valid_utf8_len(s, len), k, cut, tl;
	const char *t;
	char out[NS_UUID_LEN + 1], code[NS_VALID_CODE_MAX + 1];

	if (all > len || (len > 0 && all == 0))
		abort();
	for (k = 0; k <= 3 && k <= all; k++) {
		size_t max = k == 3 ? all / 2 : k;

		cut = ns_valid_utf8_truncate(s, len, max);
		/* A split code point would change the count of the two halves. */
		if (cut > len || ns_valid_utf8_len(s, cut) != max ||
		    ns_valid_utf8_len(s, cut) + ns_valid_utf8_len(s + cut, len - cut) != all)
			abort();
	}
	tl = len;
	t = ns_valid_trim(s, &tl);
	if (t < s || t + tl > s + len)
		abort();
	{
		size_t tl2 = tl;
		const char *t2 = ns_valid_trim(t, &tl2);

		if (t2 != t || tl2 != tl)
			abort();	/* trimming is idempotent */
	}
	if (ns_valid_utf8(s, len) && ns_valid_utf8_len(s, len) != ns_valid_utf8_len(t, tl) +
	    ns_valid_utf8_len(s, (size_t)(t - s)) + ns_valid_utf8_len(t + tl, len - (size_t)(t - s) - tl))
		abort();
	if (ns_valid_email(s, len) && (memchr(s, '@', len) == NULL || ns_valid_has_ctrl(s, len)))
		abort();
	if (ns_valid_uuid(s, len, out)) {
		char again[NS_UUID_LEN + 1];

		if (strlen(out) != NS_UUID_LEN || !ns_valid_uuid(out, NS_UUID_LEN, again) ||
		    strcmp(out, again) != 0)
			abort();
	}
	for (k = 10; k <= 16; k += 6)
		if (ns_valid_code(s, len, k, code)) {
			size_t i;

			if (strlen(code) != k)
				abort();
			for (i = 0; i < k; i++)
				if (!((code[i] >= 'A' && code[i] <= 'Z') || (code[i] >= '0' && code[i] <= '9')))
					abort();
		}
}

/* After a successful check, string fields hold their normalised forms. */
static void
check_normalised(json_object *body, const struct ns_valid_field *f, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_object *v;
		const char *s;
		size_t len, tl;

		if (!json_object_object_get_ex(body, f[i].name, &v) || v == NULL)
			continue;
		if (!json_object_is_type(v, json_type_string))
			continue;
		s = json_object_get_string(v);
		len = (size_t)json_object_get_string_len(v);
		tl = len;
		switch (f[i].kind) {
		case NS_VALID_STRING:
		case NS_VALID_EMAIL:
		case NS_VALID_CODE:
			if (ns_valid_trim(s, &tl) != s || tl != len || len == 0)
				abort();
			break;
		default:
			break;
		}
		if (f[i].kind == NS_VALID_UUID && !ns_valid_uuid(s, len, NULL))
			abort();
		if (f[i].kind == NS_VALID_CODE && len != (size_t)f[i].max)
			abort();
		if (f[i].kind == NS_VALID_STRING && f[i].max > 0 &&
		    ns_valid_utf8_len(s, len) > (size_t)f[i].max)
			abort();
	}
}

static void
check_table(const char *json, size_t len, const struct ns_valid_field *f, size_t n)
{
	struct json_tokener *tok = json_tokener_new_ex(NS_JSON_DEPTH_MAX);
	json_object *body;
	const char *msg;
	enum ns_err e;

	if (tok == NULL)
		abort();
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	body = json_tokener_parse_ex(tok, json, (int)len);
	json_tokener_free(tok);
	e = ns_valid_check(body, f, n, &msg);
	if (e == NS_OK) {
		if (msg != NULL)
			abort();
		if (body != NULL && json_object_is_type(body, json_type_object)) {
			check_normalised(body, f, n);
			/* Normalised values are fixed points: a second pass changes nothing. */
			if (ns_valid_check(body, f, n, &msg) != NS_OK)
				abort();
		}
	} else if (e != NS_E_BAD_REQUEST || msg == NULL || *msg == '\0') {
		abort();
	}
	json_object_put(body);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data;

	if (size > 1 << 16)
		return 0;
	check_text(s, size);
	check_table(s, size, guest, ARRAY_LEN(guest));
	check_table(s, size, account, ARRAY_LEN(account));
	check_table(s, size, report, ARRAY_LEN(report));
	return 0;
}
