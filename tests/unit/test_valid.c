/* test_valid: every §1.10 rule and message of shared/valid, and the text helpers behind them. */
#include <config.h>
#include <stdlib.h>
#include <string.h>
#include "valid.h"
#include "tap.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define BUF_MAX 4096	/* longest JSON a test builds */

static const struct ns_valid_field guest[] = {
	NS_VALID_F_NAME,
	NS_VALID_F_GENDER,
	{ .name = "inviteCode", .kind = NS_VALID_CODE, .max = NS_VALID_INVITE_CODE_LEN,
	  .msg_invalid = "Invalid invite code format" },
	{ .name = "referralCode", .kind = NS_VALID_CODE, .max = NS_VALID_INTRO_CODE_LEN,
	  .flags = NS_VALID_DROP_INVALID, .msg_invalid = "Invalid referral code" },
};

#define LINK_REQ "Session token, email, and password are required"
static const struct ns_valid_field link_f[] = {
	{ .name = "sessionToken", .kind = NS_VALID_STRING, .required = 1, .msg_required = LINK_REQ,
	  .msg_invalid = LINK_REQ },
	NS_VALID_F_EMAIL(LINK_REQ),
	NS_VALID_F_PASSWORD(LINK_REQ),
};

static const struct ns_valid_field report[] = {
	NS_VALID_F_UUID("reportedUserId", "reportedUserId is required"),
	NS_VALID_F_REASON,
	NS_VALID_F_UUID_OPT("roomId"),
};

static const struct ns_valid_field profile[] = { NS_VALID_F_SOCIALS };
static const struct ns_valid_field admin_code[] = { NS_VALID_F_LABEL };

static const char *const decisions[] = { "permanent", "vindicated", NULL };
static const struct ns_valid_field misc[] = {
	{ .name = "limit", .kind = NS_VALID_INT, .required = 1, .min = 1, .max = 500,
	  .msg_required = "limit is required", .msg_invalid = "Invalid limit" },
	{ .name = "flag", .kind = NS_VALID_BOOL, .required = 1, .msg_required = "flag is required",
	  .msg_invalid = "Invalid flag" },
	{ .name = "meta", .kind = NS_VALID_OBJECT, .required = 1, .max = 2,
	  .msg_required = "meta is required", .msg_invalid = "Invalid meta" },
	{ .name = "decision", .kind = NS_VALID_ENUM, .required = 1, .values = decisions,
	  .msg_required = "Invalid decision", .msg_invalid = "Invalid decision" },
};

static char buf[BUF_MAX];

/* Parse json, run the table; returns the (possibly normalised) body, *msg the message. */
static json_object *
run(const char *json, const struct ns_valid_field *f, size_t n, const char **msg)
{
	json_object *body = json != NULL ? json_tokener_parse(json) : NULL;
	enum ns_err e = ns_valid_check(body, f, n, msg);

	if ((e == NS_OK) != (*msg == NULL) || (e != NS_OK && e != NS_E_BAD_REQUEST))
		*msg = "(inconsistent return)";
	return body;
}

static void
expect(const struct ns_valid_field *f, size_t n, const char *json, const char *want)
{
	const char *msg;
	json_object *body = run(json, f, n, &msg);

	if (want == NULL)
		tap_ok(msg == NULL, "accepts %.60s%s", json ? json : "(null)", msg ? msg : "");
	else
		tap_is_str(msg, want, "%.60s -> %s", json ? json : "(null)", want);
	json_object_put(body);
}

/* Run and compare one normalised string field (NULL: the key must be gone). */
static void
expect_norm(const struct ns_valid_field *f, size_t n, const char *json, const char *key,
    const char *want)
{
	const char *msg, *got = NULL;
	json_object *body = run(json, f, n, &msg), *v;

	if (json_object_object_get_ex(body, key, &v))
		got = v ? json_object_get_string(v) : "(null)";
	if (want == NULL)
		tap_ok(msg == NULL && got == NULL, "%.60s: %s dropped", json, key);
	else
		tap_ok(msg == NULL && got != NULL && strcmp(got, want) == 0,
		    "%.60s: %s becomes '%s' (got '%s')", json, key, want, got ? got : "(absent)");
	json_object_put(body);
}

static const char *
rep(const char *unit, int times)
{
	static char r[BUF_MAX];
	size_t ul = strlen(unit), o = 0;

	while (times-- > 0 && o + ul < sizeof r) {
		memcpy(r + o, unit, ul);
		o += ul;
	}
	r[o] = '\0';
	return r;
}

static void
test_text(void)
{
	size_t len;
	const char *s;
	char out[NS_UUID_LEN + 1], code[NS_VALID_CODE_MAX + 1];

	tap_is_int(ns_valid_utf8_len("abc", 3), 3, "utf8_len ascii");
	tap_is_int(ns_valid_utf8_len("a\xc3\xa9\xf0\x9f\x98\x80", 7), 3, "utf8_len counts code points");
	tap_is_int(ns_valid_utf8_len("\xff\xe2\x82", 3), 3, "utf8_len: stray bytes count one each");
	tap_ok(ns_valid_utf8("a\xc3\xa9\xf0\x9f\x98\x80", 7), "utf8 valid multibyte");
	tap_ok(!ns_valid_utf8("\xc0\xaf", 2), "utf8 rejects overlong");
	tap_ok(!ns_valid_utf8("\xed\xa0\x80", 3), "utf8 rejects surrogates");
	tap_ok(!ns_valid_utf8("\xf4\x90\x80\x80", 4), "utf8 rejects > U+10FFFF");
	tap_ok(!ns_valid_utf8("\xe2\x82", 2), "utf8 rejects a truncated sequence");

	/* "aé😀b": 1 + 2 + 4 + 1 bytes */
	s = "a\xc3\xa9\xf0\x9f\x98\x80" "b";
	tap_is_int(ns_valid_utf8_truncate(s, 8, 0), 0, "truncate to 0");
	tap_is_int(ns_valid_utf8_truncate(s, 8, 2), 3, "truncate keeps whole 2-byte char");
	tap_is_int(ns_valid_utf8_truncate(s, 8, 3), 7, "truncate keeps whole 4-byte char");
	tap_is_int(ns_valid_utf8_truncate(s, 8, 99), 8, "truncate longer than text");
	tap_is_int(ns_valid_utf8_truncate(s, 5, 2), 3, "truncate within len");
	tap_is_int(ns_valid_utf8_truncate(s, 5, 3), 4, "truncate: a char cut by len counts as stray bytes");

	len = 9;
	s = ns_valid_trim("  a b \t\n\r", &len);
	tap_ok(len == 3 && memcmp(s, "a b", 3) == 0, "trim ASCII whitespace");
	s = "\xc2\xa0x\xe3\x80\x80\xef\xbb\xbf";
	len = strlen(s);
	s = ns_valid_trim(s, &len);
	tap_ok(len == 1 && *s == 'x', "trim NBSP, ideographic space, BOM");
	len = 4;
	ns_valid_trim(" \t \n", &len);
	tap_is_int(len, 0, "trim all-space to empty");

	tap_ok(ns_valid_has_ctrl("a\x01", 2), "ctrl: C0");
	tap_ok(ns_valid_has_ctrl("a\x7f", 2), "ctrl: DEL");
	tap_ok(ns_valid_has_ctrl("\xc2\x85", 2), "ctrl: C1 (NEL)");
	tap_ok(ns_valid_has_ctrl("a\0b", 3), "ctrl: NUL inside");
	tap_ok(!ns_valid_has_ctrl("h\xc3\xa9llo w", 7), "ctrl: plain text has none");

#define EMAIL_OK(e) tap_ok(ns_valid_email(e, strlen(e)), "email ok: %s", e)
#define EMAIL_BAD(e) tap_ok(!ns_valid_email(e, strlen(e)), "email bad: %s", e)
	EMAIL_OK("a@b.co");
	EMAIL_OK("first.last+tag@sub.example.org");
	EMAIL_OK("x@.b.c");	/* a dot with text on both sides somewhere in the domain */
	EMAIL_BAD("ab.co");
	EMAIL_BAD("@b.co");
	EMAIL_BAD("a@bco");
	EMAIL_BAD("a@b.");
	EMAIL_BAD("a@.b");
	EMAIL_BAD("a@");
	EMAIL_BAD("a b@c.d");
	EMAIL_BAD("a@b@c.d");
	EMAIL_BAD("a@b.c\x01");
	EMAIL_BAD("a@b\xc2\xa0.cd");
	snprintf(buf, sizeof buf, "%s@b.c", rep("a", 250));
	EMAIL_OK(buf);	/* 254 characters */
	snprintf(buf, sizeof buf, "%s@b.c", rep("a", 251));
	EMAIL_BAD(buf);	/* 255 */
	snprintf(buf, sizeof buf, "%s@b.c", rep("\xc3\xa9", 250));
	EMAIL_OK(buf);	/* 254 characters in 504 bytes */

	tap_ok(ns_valid_uuid("3F2504E0-4F89-41D3-9A0C-0305E82C3301", 36, out) &&
	    strcmp(out, "3f2504e0-4f89-41d3-9a0c-0305e82c3301") == 0, "uuid normalised to lowercase");
	tap_ok(!ns_valid_uuid("3f2504e0-4f89-41d3-9a0c-0305e82c330", 35, out), "uuid: short");
	tap_ok(!ns_valid_uuid("3f2504e0-4f89-41d3-9a0c-0305e82c3301x", 37, out), "uuid: long");
	tap_ok(!ns_valid_uuid("3f2504e0-4f89-41d3-9a0c-0305e82c33g1", 36, out), "uuid: non-hex");
	tap_ok(!ns_valid_uuid("3f2504e0-4f89-41d3-9a0c-0305e82c33\0""1", 36, out), "uuid: NUL inside");
	tap_ok(!ns_valid_uuid("3f2504e0a4f89-41d3-9a0c-0305e82c3301", 36, out), "uuid: dash missing");

	tap_ok(ns_valid_code(" abcd1234EFGH5678 ", 18, 16, code) && strcmp(code, "ABCD1234EFGH5678") == 0,
	    "code trimmed and upper-cased");
	tap_ok(ns_valid_code("abcde12345", 10, 10, code) && strcmp(code, "ABCDE12345") == 0,
	    "intro code of 10");
	tap_ok(!ns_valid_code("ABCD1234EFGH567", 15, 16, code), "code: 15 of 16");
	tap_ok(!ns_valid_code("ABCD-234EFGH5678", 16, 16, code), "code: bad character");
	tap_ok(!ns_valid_code("ABCD1234\xc3\xa9" "FGH56", 16, 16, code), "code: non-ASCII");
	tap_ok(!ns_valid_code("ABCDE12345", 10, 16, code), "code: 10 where 16 wanted");
}

static void
test_socials(void)
{
	json_object *o;
	int i;

#define SOC(json, want) do { o = json_tokener_parse(json); \
	tap_is_int(ns_valid_socials(o), want, "socials %s %.50s", (want) ? "ok" : "bad", json); \
	json_object_put(o); } while (0)
	SOC("{}", 1);
	SOC("{\"instagram\":\"@me\",\"x\":\"\"}", 1);
	SOC("{\"a\":1}", 0);
	SOC("{\"a\":null}", 0);
	SOC("{\"a\":{}}", 0);
	SOC("{\"\":\"v\"}", 0);
	SOC("{\"a\":\"x\\u0000y\"}", 0);
	SOC("[]", 0);
	SOC("\"str\"", 0);
	for (i = 10; i <= 11; i++) {
		int k, o2 = snprintf(buf, sizeof buf, "{");

		for (k = 0; k < i; k++)
			o2 += snprintf(buf + o2, sizeof buf - (size_t)o2, "%s\"k%d\":\"v\"", k ? "," : "", k);
		snprintf(buf + o2, sizeof buf - (size_t)o2, "}");
		SOC(buf, i <= NS_VALID_SOCIALS_KEYS_MAX);
	}
	snprintf(buf, sizeof buf, "{\"%s\":\"v\"}", rep("k", 32));
	SOC(buf, 1);
	snprintf(buf, sizeof buf, "{\"%s\":\"v\"}", rep("\xc3\xa9", 32));
	SOC(buf, 1);	/* 32 characters, 64 bytes */
	snprintf(buf, sizeof buf, "{\"%s\":\"v\"}", rep("k", 33));
	SOC(buf, 0);
	snprintf(buf, sizeof buf, "{\"k\":\"%s\"}", rep("v", 200));
	SOC(buf, 1);
	snprintf(buf, sizeof buf, "{\"k\":\"%s\"}", rep("v", 201));
	SOC(buf, 0);
}

static void
test_guest(void)
{
	size_t n = ARRAY_LEN(guest);

	expect(guest, n, "{}", "Name is required");
	expect(guest, n, NULL, "Name is required");	/* no JSON body: treated as {} */
	expect(guest, n, "[1]", "Name is required");
	expect(guest, n, "{\"name\":null,\"gender\":\"male\"}", "Name is required");
	expect(guest, n, "{\"name\":\"\",\"gender\":\"male\"}", "Name is required");
	expect(guest, n, "{\"name\":\" \\t \",\"gender\":\"male\"}", "Name is required");
	expect(guest, n, "{\"name\":5,\"gender\":\"male\"}", "Name is required");
	expect(guest, n, "{\"name\":[\"a\"],\"gender\":\"male\"}", "Name is required");
	expect(guest, n, "{\"name\":\"a\\u0001b\",\"gender\":\"male\"}", "Name must be 1-50 characters");
	expect(guest, n, "{\"name\":\"a\\u0085b\",\"gender\":\"male\"}", "Name must be 1-50 characters");
	expect(guest, n, "{\"name\":\"a\\u0000b\",\"gender\":\"male\"}", "Name must be 1-50 characters");
	snprintf(buf, sizeof buf, "{\"name\":\"%s\",\"gender\":\"male\"}", rep("n", 51));
	expect(guest, n, buf, "Name must be 1-50 characters");
	snprintf(buf, sizeof buf, "{\"name\":\"%s\",\"gender\":\"male\"}", rep("n", 50));
	expect(guest, n, buf, NULL);
	snprintf(buf, sizeof buf, "{\"name\":\"%s\",\"gender\":\"male\"}", rep("\xc3\xa9", 50));
	expect(guest, n, buf, NULL);	/* 50 characters in 100 bytes */
	snprintf(buf, sizeof buf, "{\"name\":\"  %s  \",\"gender\":\"male\"}", rep("n", 50));
	expect(guest, n, buf, NULL);	/* length counted after trimming */
	expect_norm(guest, n, "{\"name\":\"  Bob \\n\",\"gender\":\"female\"}", "name", "Bob");

	expect(guest, n, "{\"name\":\"Bob\"}", "Invalid gender");
	expect(guest, n, "{\"name\":\"Bob\",\"gender\":null}", "Invalid gender");
	expect(guest, n, "{\"name\":\"Bob\",\"gender\":\"\"}", "Invalid gender");
	expect(guest, n, "{\"name\":\"Bob\",\"gender\":\"Male\"}", "Invalid gender");
	expect(guest, n, "{\"name\":\"Bob\",\"gender\":\"male \"}", "Invalid gender");
	expect(guest, n, "{\"name\":\"Bob\",\"gender\":1}", "Invalid gender");
	expect(guest, n, "{\"name\":\"Bob\",\"gender\":\"nonbinary\"}", NULL);
	expect(guest, n, "{\"name\":\"Bob\",\"gender\":\"unspecified\"}", NULL);
	expect(guest, n, "{\"gender\":\"x\"}", "Name is required");	/* table order */

#define G "{\"name\":\"Bob\",\"gender\":\"male\","
	expect_norm(guest, n, G "\"inviteCode\":\"\"}", "inviteCode", NULL);
	expect_norm(guest, n, G "\"inviteCode\":\"  \"}", "inviteCode", NULL);
	expect_norm(guest, n, G "\"inviteCode\":null}", "inviteCode", "(null)");
	expect_norm(guest, n, G "\"inviteCode\":\" abcd1234efgh5678 \"}", "inviteCode", "ABCD1234EFGH5678");
	expect(guest, n, G "\"inviteCode\":\"abc\"}", "Invalid invite code format");
	expect(guest, n, G "\"inviteCode\":\"ABCD1234EFGH567!\"}", "Invalid invite code format");
	expect(guest, n, G "\"inviteCode\":1234}", "Invalid invite code format");
	expect_norm(guest, n, G "\"referralCode\":\"bad!\"}", "referralCode", NULL);
	expect_norm(guest, n, G "\"referralCode\":7}", "referralCode", NULL);
	expect_norm(guest, n, G "\"referralCode\":\" abcde12345\"}", "referralCode", "ABCDE12345");
	expect(guest, n, G "\"unknown\":{\"x\":[1,2]}}", NULL);
}

static void
test_link(void)
{
	size_t n = ARRAY_LEN(link_f);

#define L "{\"sessionToken\":\"t\","
	expect(link_f, n, "{}", LINK_REQ);
	expect(link_f, n, L "\"password\":\"12345678\"}", LINK_REQ);
	expect(link_f, n, L "\"email\":\"\",\"password\":\"12345678\"}", LINK_REQ);
	expect(link_f, n, L "\"email\":[],\"password\":\"12345678\"}", LINK_REQ);
	expect(link_f, n, L "\"email\":\"a@b.co\"}", LINK_REQ);
	expect(link_f, n, L "\"email\":\"a@b.co\",\"password\":\"\"}", LINK_REQ);
	expect(link_f, n, L "\"email\":\"a@b.co\",\"password\":12345678}", LINK_REQ);
	expect(link_f, n, L "\"email\":\"nope\",\"password\":\"12345678\"}", "Invalid email address");
	expect(link_f, n, L "\"email\":\"a@b\",\"password\":\"x\"}", "Invalid email address");
	snprintf(buf, sizeof buf, L "\"email\":\"%s@b.c\",\"password\":\"12345678\"}", rep("a", 251));
	expect(link_f, n, buf, "Invalid email address");
	expect_norm(link_f, n, L "\"email\":\"  Alice@Example.COM \",\"password\":\"12345678\"}",
	    "email", "alice@example.com");
	expect(link_f, n, L "\"email\":\"a@b.co\",\"password\":\"1234567\"}",
	    "Password must be at least 8 characters");
	expect(link_f, n, L "\"email\":\"a@b.co\",\"password\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}",
	    "Password must be at least 8 characters");	/* 8 bytes, 4 characters */
	snprintf(buf, sizeof buf, L "\"email\":\"a@b.co\",\"password\":\"%s\"}", rep("\xc3\xa9", 8));
	expect(link_f, n, buf, NULL);
	snprintf(buf, sizeof buf, L "\"email\":\"a@b.co\",\"password\":\"%s\"}", rep("p", 128));
	expect(link_f, n, buf, NULL);
	snprintf(buf, sizeof buf, L "\"email\":\"a@b.co\",\"password\":\"%s\"}", rep("p", 129));
	expect(link_f, n, buf, "Password must be at most 128 characters");
	expect_norm(link_f, n, L "\"email\":\"a@b.co\",\"password\":\"  spaced  \"}", "password",
	    "  spaced  ");	/* passwords are not trimmed */
}

static void
test_report(void)
{
	size_t n = ARRAY_LEN(report);

	expect(report, n, "{}", "reportedUserId is required");
	expect(report, n, "{\"reportedUserId\":\"\"}", "reportedUserId is required");
	expect(report, n, "{\"reportedUserId\":42}", "reportedUserId is required");
	expect(report, n, "{\"reportedUserId\":\"42\"}", "Invalid reportedUserId");
	expect(report, n, "{\"reportedUserId\":\" 3f2504e0-4f89-41d3-9a0c-0305e82c3301\"}",
	    "Invalid reportedUserId");
	expect_norm(report, n, "{\"reportedUserId\":\"3F2504E0-4F89-41D3-9A0C-0305E82C3301\"}",
	    "reportedUserId", "3f2504e0-4f89-41d3-9a0c-0305e82c3301");
#define R "{\"reportedUserId\":\"3f2504e0-4f89-41d3-9a0c-0305e82c3301\","
	snprintf(buf, sizeof buf, R "\"reason\":\"%s\"}", rep("r", 500));
	expect(report, n, buf, NULL);
	snprintf(buf, sizeof buf, R "\"reason\":\"%s\"}", rep("r", 501));
	expect(report, n, buf, "Invalid reason");
	expect(report, n, R "\"reason\":5}", "Invalid reason");
	expect_norm(report, n, R "\"reason\":\"   \"}", "reason", NULL);
	expect_norm(report, n, R "\"reason\":\" spam\\n\"}", "reason", "spam");
	expect(report, n, R "\"roomId\":\"room-1\"}", "Invalid roomId");
	expect(report, n, R "\"roomId\":{}}", "Invalid roomId");
	expect(report, n, R "\"roomId\":null}", NULL);
	expect_norm(report, n, R "\"roomId\":\"\"}", "roomId", NULL);
	expect_norm(report, n, R "\"roomId\":\"AAAAAAAA-BBBB-4CCC-8DDD-EEEEEEEEEEEE\"}", "roomId",
	    "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee");
}

static void
test_other(void)
{
	size_t n = ARRAY_LEN(misc);

	expect(profile, 1, "{}", NULL);
	expect(profile, 1, "{\"socials\":null}", NULL);
	expect(profile, 1, "{\"socials\":{}}", NULL);
	expect(profile, 1, "{\"socials\":\"x\"}", "Invalid socials");
	expect(profile, 1, "{\"socials\":[]}", "Invalid socials");
	expect(profile, 1, "{\"socials\":{\"a\":1}}", "Invalid socials");

	snprintf(buf, sizeof buf, "{\"label\":\"%s\"}", rep("l", 100));
	expect(admin_code, 1, buf, NULL);
	snprintf(buf, sizeof buf, "{\"label\":\"%s\"}", rep("l", 101));
	expect(admin_code, 1, buf, "Invalid label");
	expect(admin_code, 1, "{\"label\":true}", "Invalid label");

#define M(rest) "{\"limit\":" rest
	expect(misc, n, M("1,\"flag\":true,\"meta\":{},\"decision\":\"permanent\"}"), NULL);
	expect(misc, n, M("500,\"flag\":false,\"meta\":{\"a\":1,\"b\":2},\"decision\":\"vindicated\"}"), NULL);
	expect(misc, n, M("0}"), "Invalid limit");
	expect(misc, n, M("501}"), "Invalid limit");
	expect(misc, n, M("-3}"), "Invalid limit");
	expect(misc, n, M("1.5}"), "Invalid limit");
	expect(misc, n, M("99999999999999999999999}"), "Invalid limit");
	expect(misc, n, M("\"5\"}"), "limit is required");
	expect(misc, n, M("1,\"flag\":\"true\"}"), "flag is required");
	expect(misc, n, M("1,\"flag\":true,\"meta\":[]}"), "meta is required");
	expect(misc, n, M("1,\"flag\":true,\"meta\":{\"a\":1,\"b\":2,\"c\":3}}"), "Invalid meta");
	expect(misc, n, M("1,\"flag\":true,\"meta\":{},\"decision\":\"maybe\"}"), "Invalid decision");
	expect(misc, n, M("1,\"flag\":true,\"meta\":{}}"), "Invalid decision");
}

int
main(void)
{
	test_text();
	test_socials();
	test_guest();
	test_link();
	test_report();
	test_other();
	return tap_done();
}
