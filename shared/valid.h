/* valid: field tables for JSON request bodies (contract §1.3, §1.10) and the text rules behind them.
 * A route declares an array of struct ns_valid_field; ns_valid_check() walks it in order and
 * reports the first failing field's message, the contract's exact string. */
#ifndef NS_VALID_H
#define NS_VALID_H
#include <stddef.h>
#include <json-c/json.h>
#include "err.h"
#include "rand.h"

#define NS_VALID_NAME_MAX 50		/* §1.10 name, code points */
#define NS_VALID_EMAIL_MAX 254		/* §1.10 email, code points */
#define NS_VALID_PASSWORD_MIN 8		/* §1.10 password, code points */
#define NS_VALID_PASSWORD_MAX 128
#define NS_VALID_SOCIALS_KEYS_MAX 10	/* §1.10 socials */
#define NS_VALID_SOCIALS_KEY_MAX 32
#define NS_VALID_SOCIALS_VALUE_MAX 200
#define NS_VALID_REASON_MAX 500		/* §1.10 report reason */
#define NS_VALID_LABEL_MAX 100		/* §1.10 admin code label */
#define NS_VALID_INVITE_CODE_LEN 16	/* §1.1 invite code */
#define NS_VALID_INTRO_CODE_LEN 10	/* §1.1 intro (referral) code */
#define NS_VALID_CODE_MAX 16		/* longest code; code buffers hold this + 1 */

enum ns_valid_kind {
	NS_VALID_STRING,	/* trimmed; min..max code points */
	NS_VALID_INT,		/* JSON integer in min..max */
	NS_VALID_BOOL,
	NS_VALID_OBJECT,	/* any object; max > 0 caps the number of keys */
	NS_VALID_UUID,		/* §1.1, normalised to lowercase */
	NS_VALID_EMAIL,		/* §1.10, trimmed, normalised to lowercase */
	NS_VALID_PASSWORD,	/* §1.10, not trimmed, min..max code points */
	NS_VALID_ENUM,		/* one of values[], exact match */
	NS_VALID_SOCIALS,	/* §1.10 */
	NS_VALID_CODE		/* §1.1, trimmed, upper-cased, [A-Z0-9]{max} */
};

/* Flags of a field. */
#define NS_VALID_NO_CTRL 0x1		/* STRING: control characters are invalid (§1.10 name) */
#define NS_VALID_DROP_INVALID 0x2	/* optional field: a bad value is removed, not an error
					 * (§2.2 referralCode: malformed is ignored) */

struct ns_valid_field {
	const char *name;		/* JSON key */
	enum ns_valid_kind kind;
	int required;			/* absent/null/empty/wrong type → msg_required */
	unsigned flags;			/* NS_VALID_* flags */
	long long min, max;		/* code points (strings), value (INT), keys (OBJECT), length (CODE) */
	const char *const *values;	/* ENUM: NULL-terminated list */
	const char *msg_required;	/* may be NULL for optional fields */
	const char *msg_invalid;	/* right type, bad value */
	const char *msg_too_long;	/* over max when it has its own string (password); NULL → msg_invalid */
};

/* Rows of §1.10, for route tables. REQ is the route's "required" string where it has one. */
#define NS_VALID_F_NAME { .name = "name", .kind = NS_VALID_STRING, .required = 1, \
	.flags = NS_VALID_NO_CTRL, .min = 1, .max = NS_VALID_NAME_MAX, \
	.msg_required = "Name is required", .msg_invalid = "Name must be 1-50 characters" }
#define NS_VALID_F_GENDER { .name = "gender", .kind = NS_VALID_ENUM, .required = 1, \
	.values = ns_valid_genders, .msg_required = "Invalid gender", .msg_invalid = "Invalid gender" }
#define NS_VALID_F_EMAIL(REQ) { .name = "email", .kind = NS_VALID_EMAIL, .required = 1, \
	.max = NS_VALID_EMAIL_MAX, .msg_required = (REQ), .msg_invalid = "Invalid email address" }
#define NS_VALID_F_PASSWORD(REQ) { .name = "password", .kind = NS_VALID_PASSWORD, .required = 1, \
	.min = NS_VALID_PASSWORD_MIN, .max = NS_VALID_PASSWORD_MAX, .msg_required = (REQ), \
	.msg_invalid = "Password must be at least 8 characters", \
	.msg_too_long = "Password must be at most 128 characters" }
#define NS_VALID_F_SOCIALS { .name = "socials", .kind = NS_VALID_SOCIALS, \
	.msg_invalid = "Invalid socials" }
/* NAME must be a string literal: the message is "Invalid <fieldName>" (§1.1). */
#define NS_VALID_F_UUID(NAME, REQ) { .name = NAME, .kind = NS_VALID_UUID, .required = 1, \
	.msg_required = (REQ), .msg_invalid = "Invalid " NAME }
#define NS_VALID_F_UUID_OPT(NAME) { .name = NAME, .kind = NS_VALID_UUID, \
	.msg_invalid = "Invalid " NAME }
#define NS_VALID_F_REASON { .name = "reason", .kind = NS_VALID_STRING, .max = NS_VALID_REASON_MAX, \
	.msg_invalid = "Invalid reason" }
#define NS_VALID_F_LABEL { .name = "label", .kind = NS_VALID_STRING, .max = NS_VALID_LABEL_MAX, \
	.msg_invalid = "Invalid label" }

extern const char *const ns_valid_genders[];	/* §1.10: female, male, nonbinary, unspecified */

/* Check body against fields[0..n) in table order. NS_OK, or NS_E_BAD_REQUEST with *msg set to
 * the first failing field's message (static storage), or NS_E_NOMEM. Accepted values are
 * normalised in place so handlers read them back with ns_json_get_*: strings trimmed, email
 * lowercased, UUIDs lowercased, codes upper-cased; an optional string that is empty after
 * trimming (and a DROP_INVALID field with a bad value) is removed from the body. A NULL body
 * counts as {} (§1.3: other content types). */
enum ns_err ns_valid_check(json_object *body, const struct ns_valid_field *fields, size_t n,
    const char **msg);

/* Text helpers. Lengths are in bytes; "characters" are code points (§1.2). They never read
 * past len and tolerate invalid UTF-8 (each stray byte counts as one character). */
int ns_valid_utf8(const char *s, size_t len);		/* 1 if well-formed UTF-8, no surrogates */
size_t ns_valid_utf8_len(const char *s, size_t len);	/* code points */
/* Bytes of the longest prefix holding at most max code points, never splitting one. */
size_t ns_valid_utf8_truncate(const char *s, size_t len, size_t max);
/* Strip leading and trailing whitespace (ASCII and the Unicode spaces JavaScript trims):
 * returns the first kept byte and sets *len to the kept length. */
const char *ns_valid_trim(const char *s, size_t *len);
/* 1 if s holds a control character: C0, DEL or C1 (also NUL). */
int ns_valid_has_ctrl(const char *s, size_t len);
/* §1.10 email syntax on an already trimmed string: ≤ 254 characters, exactly one '@', non-empty
 * local part, a dot inside the domain, no whitespace or control characters. */
int ns_valid_email(const char *s, size_t len);
/* §1.10 socials: object, ≤ 10 keys of 1-32 characters, every value a string ≤ 200 characters
 * (NUL is refused in both: it cannot be stored). */
int ns_valid_socials(json_object *obj);
/* §1.1 UUID in any case; when out is given, writes it lowercased. */
int ns_valid_uuid(const char *s, size_t len, char out[NS_UUID_LEN + 1]);
/* §1.1 codes: trim, upper-case, then exactly want characters of [A-Z0-9] (want ≤ NS_VALID_CODE_MAX).
 * out (want + 1 bytes) receives the normalised code. */
int ns_valid_code(const char *s, size_t len, size_t want, char *out);

#endif
