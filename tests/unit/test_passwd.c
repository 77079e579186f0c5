/* test_passwd: bcrypt round trip at low cost, a published vector, malformed hashes. */
#include "config.h"
#include "passwd.h"
#include "tap.h"

int
main(void)
{
	char h1[NS_PASSWD_HASH_MAX], h2[NS_PASSWD_HASH_MAX];
	/* Published bcrypt test vector (password "U*U"), in its $2a$ and $2b$ spellings: the
	 * two differ only for passwords longer than 255 bytes. */
	const char *va = "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";
	const char *vb = "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW";

	tap_is_int(ns_passwd_hash("correct horse", 4, h1), NS_OK, "hash at cost 4");
	tap_is_int(strlen(h1), 60, "a bcrypt hash is 60 characters");
	tap_ok(strncmp(h1, "$2b$04$", 7) == 0, "hash is $2b$ at cost 04 (%s)", h1);
	tap_ok(ns_passwd_verify("correct horse", h1), "right password verifies");
	tap_ok(!ns_passwd_verify("correct horsE", h1), "wrong password fails");
	tap_ok(!ns_passwd_verify("", h1), "empty password fails");
	tap_is_int(ns_passwd_hash("correct horse", 4, h2), NS_OK, "hash again");
	tap_ok(strcmp(h1, h2) != 0, "fresh salt each time");
	tap_ok(ns_passwd_verify("U*U", va), "known $2a$ vector verifies");
	tap_ok(ns_passwd_verify("U*U", vb), "known $2b$ vector verifies");
	tap_ok(!ns_passwd_verify("U*V", vb), "known vector with the wrong password fails");
	tap_ok(!ns_passwd_verify("U*U", "$2b$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeX"),
	    "altered hash fails");
	tap_ok(!ns_passwd_verify("x", ""), "empty hash fails");
	tap_ok(!ns_passwd_verify("x", "*0"), "failure token is not a hash");
	tap_ok(!ns_passwd_verify("x", "$2b$"), "truncated hash fails");
	tap_ok(!ns_passwd_verify("x", "plaintext"), "plain text is not a hash");
	tap_ok(!ns_passwd_verify(NULL, vb), "NULL password fails");
	tap_ok(!ns_passwd_verify("x", NULL), "NULL hash fails");
	tap_ok(ns_passwd_hash("x", 3, h2) != NS_OK, "cost below 4 refused");
	return tap_done();
}
