/* test_json: strict parsing edge cases, typed getters and builders. */
#include "config.h"
#include <stdlib.h>
#include "json.h"
#include "tap.h"

static enum ns_err
parse(const char *s)
{
	json_object *o = NULL;
	enum ns_err e = ns_json_parse_object(s, strlen(s), &o);

	if ((e == NS_OK) != (o != NULL))
		return NS_E__COUNT;	/* result and status disagree: fails the caller's check */
	json_object_put(o);
	return e;
}

static char *
nested(int depth)
{
	char *s = malloc((size_t)depth * 7 + 16);
	size_t o = 0;
	int i;

	for (i = 0; i < depth; i++)
		o += (size_t)sprintf(s + o, "{\"a\":");
	o += (size_t)sprintf(s + o, "1");
	for (i = 0; i < depth; i++)
		s[o++] = '}';
	s[o] = '\0';
	return s;
}

int
main(void)
{
	json_object *o, *inner;
	int64_t n;
	int b;
	size_t len;
	char *s;
	const char *fixture;

	tap_is_int(parse("{}"), NS_OK, "empty object");
	tap_is_int(parse("  {\"a\":1}\r\n\t "), NS_OK, "surrounding whitespace allowed");
	tap_is_int(parse("{\"name\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}"), NS_OK, "valid UTF-8");
	tap_is_int(parse("{\"name\":\"\xc3\x28\"}"), NS_E_INVALID_JSON, "invalid UTF-8 sequence");
	tap_is_int(parse("{\"name\":\"\xff\"}"), NS_E_INVALID_JSON, "byte 0xff");
	tap_is_int(parse("{\"name\":\"\xc0\xaf\"}"), NS_E_INVALID_JSON, "overlong encoding");
	tap_is_int(parse("{\"a\":1}x"), NS_E_INVALID_JSON, "trailing garbage");
	tap_is_int(parse("{\"a\":1}{}"), NS_E_INVALID_JSON, "two objects");
	tap_is_int(parse("{\"a\":1} ,"), NS_E_INVALID_JSON, "garbage after whitespace");
	tap_is_int(parse("[1,2]"), NS_E_INVALID_JSON, "array at top level");
	tap_is_int(parse("\"str\""), NS_E_INVALID_JSON, "string at top level");
	tap_is_int(parse("42"), NS_E_INVALID_JSON, "number at top level");
	tap_is_int(parse("null"), NS_E_INVALID_JSON, "null at top level");
	tap_is_int(parse(""), NS_E_INVALID_JSON, "empty body");
	tap_is_int(parse("   "), NS_E_INVALID_JSON, "whitespace only");
	tap_is_int(parse("{\"a\":1"), NS_E_INVALID_JSON, "truncated object");
	tap_is_int(parse("{'a':1}"), NS_E_INVALID_JSON, "single quotes (strict)");
	tap_is_int(parse("{\"a\":1,}"), NS_E_INVALID_JSON, "trailing comma (strict)");
	tap_is_int(parse("{\"a\":NaN}"), NS_E_INVALID_JSON, "NaN (strict)");
	tap_is_int(parse("{\"a\":01}"), NS_E_INVALID_JSON, "leading zero (strict)");
	tap_is_int(parse("{/*c*/\"a\":1}"), NS_E_INVALID_JSON, "comment (strict)");
	tap_is_int(parse("{\"a\":\"tab\there\"}"), NS_E_INVALID_JSON, "raw control character in string");
	tap_is_int(parse("{\"a\":Infinity}"), NS_E_INVALID_JSON, "Infinity");
	tap_is_int(parse("{\"a\":truex}"), NS_E_INVALID_JSON, "misspelt literal");
	tap_is_int(parse("{\"a\":[true,false,null,-1.5e10,2E+3]}"), NS_OK, "literals and exponents");
	tap_is_int(parse("{\"a\":\"\\u00e9\\n\\\"\\/\"}"), NS_OK, "escapes");
	tap_is_int(parse("{\"a\":\"\\x41\"}"), NS_E_INVALID_JSON, "unknown escape");
	tap_is_int(parse("{\"a\":\"\\u12\"}"), NS_E_INVALID_JSON, "short \\u escape");
	tap_is_int(parse("{\"a\":\"x\\u0000y\"}"), NS_E_INVALID_JSON, "\\u0000 (would cut C strings)");
	tap_is_int(parse("{\"a\":\"\xed\xa0\x80\"}"), NS_E_INVALID_JSON, "UTF-8 surrogate");
	tap_is_int(parse("{\"a\":\"\xf4\x90\x80\x80\"}"), NS_E_INVALID_JSON, "beyond U+10FFFF");
	tap_is_int(parse("{\"a\":\"\xe2\x82\"}"), NS_E_INVALID_JSON, "truncated UTF-8 sequence");
	tap_is_int(parse("{\"\xc3\xa9\":1}"), NS_OK, "UTF-8 in a key");
	tap_is_int(parse("{\"a\":1}\xc3\xa9"), NS_E_INVALID_JSON, "non-ASCII outside strings");
	tap_is_int(ns_json_parse_object("{\"a\":1}\0garbage", 15, &o), NS_E_INVALID_JSON,
	    "NUL then garbage after the value");
	tap_is_int(ns_json_parse_object("{\"a\":\"x\0y\"}", 11, &o), NS_E_INVALID_JSON,
	    "raw NUL inside a string");
	tap_is_int(ns_json_parse_object("{\"a\":1}", 5, &o), NS_E_INVALID_JSON,
	    "length is honoured (no read past len)");

	s = nested(NS_JSON_DEPTH_MAX - 1);
	tap_is_int(parse(s), NS_OK, "depth %d accepted", NS_JSON_DEPTH_MAX - 1);
	free(s);
	s = nested(NS_JSON_DEPTH_MAX + 1);
	tap_is_int(parse(s), NS_E_INVALID_JSON, "depth %d rejected", NS_JSON_DEPTH_MAX + 1);
	free(s);
	s = nested(10000);
	tap_is_int(parse(s), NS_E_INVALID_JSON, "depth 10000 rejected without crashing");
	free(s);

	fixture = "{\"s\":\"x\",\"i\":-7,\"big\":99999999999999999999,\"d\":1.5,\"b\":true,\"n\":null,"
	    "\"o\":{\"k\":1},\"e\":\"\"}";
	tap_is_int(ns_json_parse_object(fixture, strlen(fixture), &o), NS_OK, "getter fixture parses");
	tap_is_str(ns_json_get_str(o, "s"), "x", "string getter");
	tap_is_str(ns_json_get_str(o, "e"), "", "empty string is a string");
	tap_ok(ns_json_get_str(o, "i") == NULL, "number is not a string");
	tap_ok(ns_json_get_str(o, "n") == NULL, "null is not a string");
	tap_ok(ns_json_get_str(o, "missing") == NULL, "missing key");
	tap_ok(ns_json_get_int(o, "i", &n) && n == -7, "int getter");
	tap_ok(!ns_json_get_int(o, "d", &n), "a double is not an integer");
	tap_ok(!ns_json_get_int(o, "s", &n), "a string is not an integer");
	tap_ok(!ns_json_get_int(o, "big", &n), "an integer beyond int64 is not accepted");
	tap_ok(ns_json_get_bool(o, "b", &b) && b == 1, "bool getter");
	tap_ok(!ns_json_get_bool(o, "i", &b), "a number is not a bool");
	inner = ns_json_get_obj(o, "o");
	tap_ok(inner != NULL && ns_json_get_int(inner, "k", &n) && n == 1, "object getter");
	tap_ok(ns_json_get_obj(o, "s") == NULL, "a string is not an object");
	tap_ok(ns_json_get_str(NULL, "s") == NULL, "NULL object is safe");
	json_object_put(o);

	o = ns_json_obj();
	ns_json_set_str(o, "name", "Ann \"A\"/x");
	ns_json_set_str(o, "none", NULL);
	ns_json_set_int(o, "n", 9007199254740993LL);
	ns_json_set_bool(o, "ok", 1);
	ns_json_set_null(o, "z");
	inner = ns_json_obj();
	ns_json_set_int(inner, "k", 2);
	ns_json_set(o, "inner", inner);
	tap_is_str(ns_json_text(o, &len),
	    "{\"name\":\"Ann \\\"A\\\"/x\",\"none\":null,\"n\":9007199254740993,\"ok\":true,"
	    "\"z\":null,\"inner\":{\"k\":2}}", "builders serialise compactly, slashes unescaped");
	tap_is_int(len, strlen(ns_json_text(o, NULL)), "length reported");
	json_object_put(o);
	return tap_done();
}
