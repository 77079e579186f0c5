/* valid: table-driven checks of JSON bodies, before any database or cache call (§1.3, §1.10). */
#include <config.h>
#include <stdint.h>
#include <string.h>
#include "valid.h"

#define CP_INVALID UINT32_MAX	/* decoder result for a stray byte */

const char *const ns_valid_genders[] = { "female", "male", "nonbinary", "unspecified", NULL };

static const char msg_fallback[] = "Invalid request";

/* Decode the code point at s[i] (i < len); returns its byte length, 1 for a stray byte.
 * Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF. */
static size_t
cp_at(const char *str, size_t len, size_t i, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str + i;
	size_t avail = len - i, n, k;
	unsigned char lo = 0x80, hi = 0xBF;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xC2 && s[0] <= 0xDF) {
		n = 2;
		c = s[0] & 0x1F;
	} else if (s[0] >= 0xE0 && s[0] <= 0xEF) {
		n = 3;
		c = s[0] & 0x0F;
		if (s[0] == 0xE0)
			lo = 0xA0;
		else if (s[0] == 0xED)
			hi = 0x9F;	/* U+D800..DFFF are not characters */
	} else if (s[0] >= 0xF0 && s[0] <= 0xF4) {
		n = 4;
		c = s[0] & 0x07;
		if (s[0] == 0xF0)
			lo = 0x90;
		else if (s[0] == 0xF4)
			hi = 0x8F;
	} else {
		*cp = CP_INVALID;
		return 1;
	}
	if (avail < n)
		goto stray;
	for (k = 1; k < n; k++) {
		if (s[k] < lo || s[k] > hi)
			goto stray;
		lo = 0x80;
		hi = 0xBF;
		c = (c << 6) | (s[k] & 0x3F);
	}
	*cp = c;
	return n;
stray:
	*cp = CP_INVALID;
	return 1;
}

/* JavaScript's WhiteSpace and LineTerminator: what String.prototype.trim and \s cover. */
static int
is_space(uint32_t c)
{
	return c == 0x20 || (c >= 0x09 && c <= 0x0D) || c == 0xA0 || c == 0x1680 ||
	    (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
	    c == 0x205F || c == 0x3000 || c == 0xFEFF;
}

static int
is_ctrl(uint32_t c)
{
	return c < 0x20 || c == 0x7F || (c >= 0x80 && c <= 0x9F);
}

int
ns_valid_utf8(const char *s, size_t len)
{
	size_t i = 0;
	uint32_t c;

	while (i < len) {
		i += cp_at(s, len, i, &c);
		if (c == CP_INVALID)
			return 0;
	}
	return 1;
}

size_t
ns_valid_utf8_len(const char *s, size_t len)
{
	size_t i = 0, n = 0;
	uint32_t c;

	while (i < len) {
		i += cp_at(s, len, i, &c);
		n++;
	}
	return n;
}

size_t
ns_valid_utf8_truncate(const char *s, size_t len, size_t max)
{
	size_t i = 0, n = 0;
	uint32_t c;

	while (i < len && n < max) {
		i += cp_at(s, len, i, &c);
		n++;
	}
	return i;
}

const char *
ns_valid_trim(const char *s, size_t *len)
{
	size_t start = 0, end = 0, i = 0, step;
	int seen = 0;
	uint32_t c;

	/* One forward pass: start = first non-space, end = just after the last non-space. */
	while (i < *len) {
		step = cp_at(s, *len, i, &c);
		if (!is_space(c)) {
			if (!seen)
				start = i;
			seen = 1;
			end = i + step;
		}
		i += step;
	}
	*len = end - start;	/* both 0 when everything is space */
	return s + start;
}

int
ns_valid_has_ctrl(const char *s, size_t len)
{
	size_t i = 0;
	uint32_t c;

	while (i < len) {
		i += cp_at(s, len, i, &c);
		if (c != CP_INVALID && is_ctrl(c))
			return 1;
	}
	return 0;
}

int
ns_valid_email(const char *s, size_t len)
{
	size_t i = 0, at = len, ats = 0, step;
	uint32_t c;

	if (ns_valid_utf8_len(s, len) > NS_VALID_EMAIL_MAX)
		return 0;
	while (i < len) {
		step = cp_at(s, len, i, &c);
		if (c == CP_INVALID || is_space(c) || is_ctrl(c))
			return 0;
		if (c == '@') {
			at = i;
			ats++;
		}
		i += step;
	}
	if (ats != 1 || at == 0)
		return 0;
	/* The domain needs a dot with something on both sides of it. */
	for (i = at + 2; i + 1 < len; i++)
		if (s[i] == '.')
			return 1;
	return 0;
}

int
ns_valid_socials(json_object *obj)
{
	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    json_object_object_length(obj) > NS_VALID_SOCIALS_KEYS_MAX)
		return 0;
	json_object_object_foreach(obj, key, val) {
		size_t klen = strlen(key), kcp = ns_valid_utf8_len(key, klen);
		const char *v;
		size_t vlen;

		if (kcp < 1 || kcp > NS_VALID_SOCIALS_KEY_MAX)
			return 0;
		if (val == NULL || !json_object_is_type(val, json_type_string))
			return 0;
		v = json_object_get_string(val);
		vlen = (size_t)json_object_get_string_len(val);
		if (memchr(v, '\0', vlen) != NULL ||
		    ns_valid_utf8_len(v, vlen) > NS_VALID_SOCIALS_VALUE_MAX)
			return 0;
	}
	return 1;
}

int
ns_valid_uuid(const char *s, size_t len, char out[NS_UUID_LEN + 1])
{
	char buf[NS_UUID_LEN + 1];

	if (len != NS_UUID_LEN)
		return 0;
	memcpy(buf, s, NS_UUID_LEN);
	buf[NS_UUID_LEN] = '\0';
	return ns_rand_uuid_parse(buf, out);
}

int
ns_valid_code(const char *s, size_t len, size_t want, char *out)
{
	size_t i;

	s = ns_valid_trim(s, &len);
	if (want == 0 || want > NS_VALID_CODE_MAX || len != want)
		return 0;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		else if (!((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return 0;
		out[i] = c;
	}
	out[len] = '\0';
	return 1;
}

static enum json_type
kind_type(enum ns_valid_kind k)
{
	switch (k) {
	case NS_VALID_INT:
		return json_type_int;
	case NS_VALID_BOOL:
		return json_type_boolean;
	case NS_VALID_OBJECT:
	case NS_VALID_SOCIALS:
		return json_type_object;
	default:
		return json_type_string;
	}
}

static int
kind_trims(enum ns_valid_kind k)
{
	return k == NS_VALID_STRING || k == NS_VALID_EMAIL || k == NS_VALID_CODE;
}

static int
in_enum(const char *const *values, const char *s, size_t len)
{
	for (; values != NULL && *values != NULL; values++)
		if (strlen(*values) == len && memcmp(*values, s, len) == 0)
			return 1;
	return 0;
}

static int
replace_str(json_object *body, const char *key, const char *s, size_t len)
{
	json_object *v = json_object_new_string_len(s, (int)len);

	if (v == NULL)
		return -1;
	if (json_object_object_add(body, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

/* Outcome of one field. */
enum verdict { V_OK, V_ABSENT, V_REQUIRED, V_INVALID, V_TOO_LONG, V_NOMEM };

/* Check a string value; s/len are already trimmed for the kinds that trim. */
static enum verdict
check_string(json_object *body, const struct ns_valid_field *f, json_object *v, const char *s,
    size_t len)
{
	char norm[NS_UUID_LEN + 1];	/* holds a UUID or a code */
	char lower[NS_VALID_EMAIL_MAX * 4 + 1];
	size_t cp, i;

	/* NUL cannot travel through C strings, libpq or jsonb: never a valid character. */
	if (memchr(s, '\0', len) != NULL)
		return V_INVALID;
	switch (f->kind) {
	case NS_VALID_STRING:
		cp = ns_valid_utf8_len(s, len);
		if ((f->flags & NS_VALID_NO_CTRL) && ns_valid_has_ctrl(s, len))
			return V_INVALID;
		if ((long long)cp < f->min || (f->max > 0 && (long long)cp > f->max))
			return V_INVALID;
		if (len != (size_t)json_object_get_string_len(v))
			return replace_str(body, f->name, s, len) == 0 ? V_OK : V_NOMEM;
		return V_OK;
	case NS_VALID_EMAIL:
		if (!ns_valid_email(s, len) || len >= sizeof lower)
			return V_INVALID;
		/* Stored lowercase (§1.10); the unique index compares case-insensitively anyway. */
		for (i = 0; i < len; i++)
			lower[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] - 'A' + 'a') : s[i];
		return replace_str(body, f->name, lower, len) == 0 ? V_OK : V_NOMEM;
	case NS_VALID_PASSWORD:
		cp = ns_valid_utf8_len(s, len);
		if ((long long)cp < f->min)
			return V_INVALID;
		if (f->max > 0 && (long long)cp > f->max)
			return V_TOO_LONG;
		return V_OK;
	case NS_VALID_ENUM:
		return in_enum(f->values, s, len) ? V_OK : V_INVALID;
	case NS_VALID_UUID:
		if (!ns_valid_uuid(s, len, norm))
			return V_INVALID;
		return replace_str(body, f->name, norm, NS_UUID_LEN) == 0 ? V_OK : V_NOMEM;
	case NS_VALID_CODE:
		if (f->max < 1 || f->max > NS_VALID_CODE_MAX || !ns_valid_code(s, len, (size_t)f->max, norm))
			return V_INVALID;
		return replace_str(body, f->name, norm, (size_t)f->max) == 0 ? V_OK : V_NOMEM;
	default:
		return V_INVALID;
	}
}

static enum verdict
check_field(json_object *body, const struct ns_valid_field *f)
{
	json_object *v = NULL;
	const char *s;
	size_t len;
	int64_t iv;

	/* json-c represents a JSON null as a NULL value: null counts as absent (§1.3). */
	if (body == NULL || !json_object_object_get_ex(body, f->name, &v) || v == NULL)
		return f->required ? V_REQUIRED : V_ABSENT;
	if (!json_object_is_type(v, kind_type(f->kind))) {
		/* A fractional number for an integer field has the right JSON type, a bad value. */
		if (f->kind == NS_VALID_INT && json_object_is_type(v, json_type_double))
			return V_INVALID;
		return f->required ? V_REQUIRED : V_INVALID;
	}
	switch (f->kind) {
	case NS_VALID_INT:
		iv = json_object_get_int64(v);
		return iv < f->min || iv > f->max ? V_INVALID : V_OK;
	case NS_VALID_BOOL:
		return V_OK;
	case NS_VALID_OBJECT:
		return f->max > 0 && (long long)json_object_object_length(v) > f->max ? V_INVALID : V_OK;
	case NS_VALID_SOCIALS:
		return ns_valid_socials(v) ? V_OK : V_INVALID;
	default:
		break;
	}
	s = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	if (kind_trims(f->kind))
		s = ns_valid_trim(s, &len);
	if (len == 0) {
		if (f->required)
			return V_REQUIRED;
		json_object_object_del(body, f->name);	/* empty = absent */
		return V_ABSENT;
	}
	return check_string(body, f, v, s, len);
}

enum ns_err
ns_valid_check(json_object *body, const struct ns_valid_field *fields, size_t n, const char **msg)
{
	size_t i;

	*msg = NULL;
	if (body != NULL && !json_object_is_type(body, json_type_object))
		body = NULL;
	for (i = 0; i < n; i++) {
		const struct ns_valid_field *f = &fields[i];
		const char *m;

		switch (check_field(body, f)) {
		case V_OK:
		case V_ABSENT:
			continue;
		case V_NOMEM:
			return NS_E_NOMEM;
		case V_REQUIRED:
			m = f->msg_required != NULL ? f->msg_required : f->msg_invalid;
			break;
		case V_TOO_LONG:
			m = f->msg_too_long != NULL ? f->msg_too_long : f->msg_invalid;
			break;
		case V_INVALID:
		default:
			if (!f->required && (f->flags & NS_VALID_DROP_INVALID)) {
				json_object_object_del(body, f->name);
				continue;
			}
			m = f->msg_invalid;
			break;
		}
		*msg = m != NULL ? m : msg_fallback;
		return NS_E_BAD_REQUEST;
	}
	return NS_OK;
}
