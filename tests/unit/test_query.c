/* test_query: the query string, integers and If-None-Match as GET /room/queue and
 * /room/reel read them (fcgi/query.c), and the queue cursor (fcgi/queue_cursor.c). */
#include <config.h>
#include <string.h>
#include "queue.h"
#include "request.h"
#include "tap.h"

#define UID "d4f5e6a7-1b2c-4d3e-8f9a-0b1c2d3e4f5a"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
test_query(void)
{
	char v[API_QVALUE_MAX], small[4];

	tap_is_int(api_req_query("limit=20&cursor=abc", "cursor", v, sizeof v), 1, "second key");
	tap_is_str(v, "abc", "... its value");
	tap_is_int(api_req_query("a=1&limit=5&limit=7", "limit", v, sizeof v), 1, "repeated key");
	tap_is_str(v, "5", "... the first value wins");
	tap_is_int(api_req_query("li%6dit=x+y%2Bz", "limit", v, sizeof v), 1, "escaped key");
	tap_is_str(v, "x y+z", "... '+' is a space, %%2B a plus");
	tap_is_int(api_req_query("limit&x=1", "limit", v, sizeof v), 1, "key without '='");
	tap_is_str(v, "", "... has the empty value");
	tap_is_int(api_req_query("limits=1&xlimit=2", "limit", v, sizeof v), 0, "no prefix match");
	tap_is_int(api_req_query("", "limit", v, sizeof v), 0, "empty query");
	tap_is_int(api_req_query("limit=%zz", "limit", v, sizeof v), -1, "bad escape");
	tap_is_int(api_req_query("limit=%4", "limit", v, sizeof v), -1, "cut escape");
	tap_is_int(api_req_query("limit=a%00b", "limit", v, sizeof v), -1, "NUL refused");
	tap_is_int(api_req_query("limit=abcd", "limit", small, sizeof small), -1,
	    "value over the buffer");
	tap_is_int(api_req_query("limit=abc", "limit", small, sizeof small), 1,
	    "value that just fits");
	tap_is_int(api_req_query("bad%=1&limit=2", "limit", v, sizeof v), 1,
	    "a malformed key elsewhere does not hide the parameter");
}

static void
test_pct_decode(void)
{
	char out[8];

	tap_is_int(api_req_pct_decode(out, sizeof out, "a+b%2f", 6, 0), 0, "path segment");
	tap_is_str(out, "a+b/", "... keeps '+'");
	tap_is_int(api_req_pct_decode(out, sizeof out, "a+b", 3, 1), 0, "form value");
	tap_is_str(out, "a b", "... turns '+' into a space");
	tap_is_int(api_req_pct_decode(out, sizeof out, "12345678", 8, 0), -1, "over the cap");
	tap_is_int(api_req_pct_decode(out, 0, "", 0, 0), -1, "no room for the NUL");
}

static void
test_int(void)
{
	long v = 0;

	tap_ok(api_req_int("42", &v) && v == 42, "42");
	tap_ok(api_req_int("-7", &v) && v == -7, "-7");
	tap_ok(api_req_int("007", &v) && v == 7, "leading zeros");
	tap_ok(!api_req_int("", &v), "empty refused");
	tap_ok(!api_req_int("-", &v), "lone '-' refused");
	tap_ok(!api_req_int("+5", &v), "'+' refused");
	tap_ok(!api_req_int("5 ", &v), "trailing space refused");
	tap_ok(!api_req_int("1e3", &v), "exponent refused");
	tap_ok(api_req_int("99999999999999999999999", &v) && v > 1000000000L &&
	    v <= API_INT_CLAMP * 10 + 9, "huge values clamp instead of overflowing");
}

static void
test_etag(void)
{
	const char *tag = "\"0123\"";

	tap_ok(api_req_etag_matches("\"0123\"", tag), "the tag");
	tap_ok(api_req_etag_matches("W/\"0123\"", tag), "weak comparison");
	tap_ok(api_req_etag_matches("\"aa\", \"0123\"", tag), "in a list");
	tap_ok(api_req_etag_matches("\"aa\",W/\"0123\"", tag), "weak in a list without spaces");
	tap_ok(api_req_etag_matches("*", tag), "*");
	tap_ok(!api_req_etag_matches("\"01234\"", tag), "longer tag");
	tap_ok(!api_req_etag_matches("\"012\"", tag), "shorter tag");
	tap_ok(!api_req_etag_matches("0123", tag), "unquoted");
	tap_ok(!api_req_etag_matches("\"0123", tag), "unterminated");
	tap_ok(!api_req_etag_matches("", tag), "empty header");
	tap_ok(!api_req_etag_matches("\"a,\"0123\"", tag), "a comma inside a tag is the tag's");
}

static void
test_cursor(void)
{
	struct api_queue_pos pos = { "1700000000000", UID }, back;
	char text[API_QUEUE_CURSOR_MAX + 1], bad[API_QUEUE_CURSOR_MAX + 2];

	tap_ok(api_queue_cursor_encode(&pos, text), "encode");
	tap_ok(strspn(text, b64) == strlen(text) && strlen(text) == 67,
	    "... base64url without padding");
	tap_ok(api_queue_cursor_decode(text, &back) && strcmp(back.score, pos.score) == 0 &&
	    strcmp(back.user_id, UID) == 0, "decode gives the position back");
	/* 50 raw bytes: the last character carries 2 padding bits; set the lowest */
	memcpy(bad, text, sizeof text);
	bad[strlen(bad) - 1] = b64[(strchr(b64, bad[strlen(bad) - 1]) - b64) ^ 1];
	tap_ok(!api_queue_cursor_decode(bad, &back), "non-zero padding bits are refused");
	snprintf(bad, sizeof bad, "%s=", text);
	tap_ok(!api_queue_cursor_decode(bad, &back), "padding refused");
	tap_ok(!api_queue_cursor_decode("", &back), "empty refused");
	/* "x:<uid>" and "1e999:<uid>": a score Redis could not have printed */
	tap_ok(!api_queue_cursor_decode("eDpkNGY1ZTZhNy0xYjJjLTRkM2UtOGY5YS0wYjFjMmQzZTRmNWE",
	    &back), "a score that is not a number");
	tap_ok(!api_queue_cursor_decode(
	    "MWU5OTk6ZDRmNWU2YTctMWIyYy00ZDNlLThmOWEtMGIxYzJkM2U0ZjVh", &back),
	    "an infinite score");
	tap_ok(api_queue_score_valid("-1.5e+12"), "negative score with exponent");
	tap_ok(!api_queue_score_valid("1."), "score '1.' refused");
	tap_ok(!api_queue_score_valid("nan"), "nan refused");
	pos.score[0] = '\0';
	tap_ok(!api_queue_cursor_encode(&pos, text), "no cursor without a score");
}

int
main(void)
{
	test_query();
	test_pct_decode();
	test_int();
	test_etag();
	test_cursor();
	return tap_done();
}
