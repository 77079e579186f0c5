/* json: strict parsing of client JSON and abort-on-OOM builders over json-c. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "json.h"

/* Length of the valid UTF-8 sequence at p (RFC 3629: no overlongs, no surrogates, nothing
 * above U+10FFFF), or 0. */
static size_t
utf8_len(const unsigned char *p, size_t avail)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t n, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		n = 2;
	else if (c >= 0xe0 && c <= 0xef)
		n = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (avail < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

static int
is_hex(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* Token-level checks that json-c's strict mode leaves out: single-quoted strings, NaN and
 * Infinity, raw control characters in strings, malformed UTF-8 and "\u0000" (which would
 * silently cut a C string short). The grammar itself is left to json-c. */
static int
lexically_valid(const unsigned char *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = p[i];

		if (c == '"') {
			for (i++; i < len && p[i] != '"'; ) {
				size_t n;

				if (p[i] == '\\') {
					if (i + 1 >= len)
						return 0;
					if (p[i + 1] == 'u') {
						if (i + 5 >= len || !is_hex(p[i + 2]) || !is_hex(p[i + 3]) ||
						    !is_hex(p[i + 4]) || !is_hex(p[i + 5]) ||
						    memcmp(p + i + 2, "0000", 4) == 0)
							return 0;
						i += 6;
					} else if (strchr("\"\\/bfnrt", p[i + 1]) != NULL && p[i + 1] != '\0') {
						i += 2;
					} else {
						return 0;
					}
				} else if (p[i] < 0x20) {
					return 0;
				} else if ((n = utf8_len(p + i, len - i)) == 0) {
					return 0;
				} else {
					i += n;
				}
			}
			if (i >= len)
				return 0;
			i++;	/* closing quote */
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) {
			size_t start = i, n;
			int after_digit = i > 0 && p[i - 1] >= '0' && p[i - 1] <= '9';

			while (i < len && ((p[i] >= 'a' && p[i] <= 'z') || (p[i] >= 'A' && p[i] <= 'Z')))
				i++;
			n = i - start;
			if (!((n == 4 && memcmp(p + start, "true", 4) == 0) ||
			    (n == 5 && memcmp(p + start, "false", 5) == 0) ||
			    (n == 4 && memcmp(p + start, "null", 4) == 0) ||
			    (n == 1 && after_digit && (c == 'e' || c == 'E'))))
				return 0;
		} else if (strchr(" \t\n\r{}[],:0123456789-+.", c) != NULL && c != '\0') {
			i++;
		} else {
			return 0;
		}
	}
	return 1;
}

/* Made once and reset for each parse: making one per message cost a calloc of the tokener,
 * its stack and its buffer, about 6 % of a busy gateway's time. Its buffer keeps the
 * longest string parsed so far, which the message ceilings bound. */
json_tokener *
ns_json_tokener(void)
{
	static json_tokener *tok;

	if (!tok && !(tok = json_tokener_new_ex(NS_JSON_DEPTH_MAX)))
		return NULL;
	json_tokener_reset(tok);
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	return tok;
}

enum ns_err
ns_json_parse_object(const char *buf, size_t len, json_object **out)
{
	struct json_tokener *tok;
	json_object *obj;
	size_t used, i;

	*out = NULL;
	/* json-c takes an int length; nothing this large is ever a valid client body. */
	if (buf == NULL || len == 0 || len > (size_t)INT32_MAX)
		return NS_E_INVALID_JSON;
	if (!lexically_valid((const unsigned char *)buf, len))
		return NS_E_INVALID_JSON;
	if ((tok = ns_json_tokener()) == NULL)
		return NS_E_NOMEM;
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
		/* json_tokener_continue: the input ended inside a value. */
		json_object_put(obj);
		return NS_E_INVALID_JSON;
	}
	used = json_tokener_get_parse_end(tok);
	for (i = used; i < len; i++)
		if (buf[i] != ' ' && buf[i] != '\t' && buf[i] != '\n' && buf[i] != '\r') {
			json_object_put(obj);
			return NS_E_INVALID_JSON;
		}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return NS_E_INVALID_JSON;
	}
	*out = obj;
	return NS_OK;
}

static json_object *
get_typed(json_object *obj, const char *key, json_type type)
{
	json_object *v;

	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, type))
		return NULL;
	return v;
}

const char *
ns_json_get_str(json_object *obj, const char *key)
{
	json_object *v = get_typed(obj, key, json_type_string);

	return v != NULL ? json_object_get_string(v) : NULL;
}

int
ns_json_get_int(json_object *obj, const char *key, int64_t *out)
{
	json_object *v = get_typed(obj, key, json_type_int);

	if (v == NULL)
		return 0;
	/* json-c saturates integers outside int64 at the limits; treat those as absent rather
	 * than silently using a clamped value. */
	errno = 0;
	*out = json_object_get_int64(v);
	if (errno != 0 || *out == INT64_MAX || *out == INT64_MIN) {
		*out = 0;
		return 0;
	}
	return 1;
}

int
ns_json_get_bool(json_object *obj, const char *key, int *out)
{
	json_object *v = get_typed(obj, key, json_type_boolean);

	if (v == NULL)
		return 0;
	*out = json_object_get_boolean(v) ? 1 : 0;
	return 1;
}

json_object *
ns_json_get_obj(json_object *obj, const char *key)
{
	return get_typed(obj, key, json_type_object);
}

static void *
must(void *p)
{
	if (p == NULL) {
		fputs("napalmsky: out of memory building JSON\n", stderr);
		abort();
	}
	return p;
}

json_object *
ns_json_obj(void)
{
	return must(json_object_new_object());
}

void
ns_json_set(json_object *obj, const char *key, json_object *val)
{
	if (json_object_object_add(obj, key, val) != 0)
		must(NULL);
}

void
ns_json_set_str(json_object *obj, const char *key, const char *val)
{
	ns_json_set(obj, key, val != NULL ? must(json_object_new_string(val)) : NULL);
}

void
ns_json_set_int(json_object *obj, const char *key, int64_t val)
{
	ns_json_set(obj, key, must(json_object_new_int64(val)));
}

void
ns_json_set_bool(json_object *obj, const char *key, int val)
{
	ns_json_set(obj, key, must(json_object_new_boolean(val != 0)));
}

void
ns_json_set_null(json_object *obj, const char *key)
{
	ns_json_set(obj, key, NULL);
}

const char *
ns_json_text(json_object *obj, size_t *len)
{
	return must((void *)json_object_to_json_string_length(obj,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len));
}
