/* test_rand: formats, alphabets, uniqueness, and the UUID parser. */
#include "config.h"
#include <ctype.h>
#include <stdlib.h>
#include "rand.h"
#include "tap.h"

#define N_IDS 2000

static int
cmp(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

static int
is_v4(const char *u)
{
	char low[NS_UUID_LEN + 1];

	return strlen(u) == NS_UUID_LEN && ns_rand_uuid_parse(u, low) && strcmp(u, low) == 0 &&
	    u[14] == '4' && strchr("89ab", u[19]) != NULL;
}

int
main(void)
{
	static char ids[N_IDS][NS_UUID_LEN + 1];
	unsigned char zero[64] = { 0 }, buf[64] = { 0 };
	char code[301], sid[65], low[NS_UUID_LEN + 1];
	int i, all_v4 = 1, dup = 0, code_ok = 1, sid_ok = 1, seen[36] = { 0 }, all_seen = 1;

	tap_is_int(ns_rand_bytes(buf, sizeof buf), NS_OK, "random bytes");
	tap_ok(memcmp(buf, zero, sizeof buf) != 0, "random bytes are not all zero");
	tap_is_int(ns_rand_bytes(buf, 0), NS_OK, "zero bytes is fine");

	for (i = 0; i < N_IDS; i++) {
		if (ns_rand_uuid(ids[i]) != NS_OK || !is_v4(ids[i]))
			all_v4 = 0;
	}
	tap_ok(all_v4, "%d UUIDs are lowercase v4 with the RFC variant", N_IDS);
	qsort(ids, N_IDS, sizeof ids[0], cmp);
	for (i = 1; i < N_IDS; i++)
		dup |= strcmp(ids[i - 1], ids[i]) == 0;
	tap_ok(!dup, "no duplicate UUIDs");

	for (i = 0; i < 50; i++) {
		size_t j;

		if (ns_rand_code(code, 300) != NS_OK || strlen(code) != 300)
			code_ok = 0;
		for (j = 0; j < 300; j++) {
			const char *p = strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", code[j]);

			if (code[j] == '\0' || p == NULL)
				code_ok = 0;
			else
				seen[p - "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"]++;
		}
	}
	for (i = 0; i < 36; i++)
		all_seen &= seen[i] > 0;
	tap_ok(code_ok, "codes are exactly n characters of [A-Z0-9]");
	tap_ok(all_seen, "every one of the 36 symbols occurs in 15000 draws");
	tap_is_int(ns_rand_code(code, 0), NS_OK, "empty code");
	tap_is_str(code, "", "empty code is an empty string");

	for (i = 0; i < 50; i++) {
		size_t j;

		if (ns_rand_b64url(sid, 64) != NS_OK || strlen(sid) != 64)
			sid_ok = 0;
		for (j = 0; j < 64; j++)
			if (!isalnum((unsigned char)sid[j]) && sid[j] != '-' && sid[j] != '_')
				sid_ok = 0;
	}
	tap_ok(sid_ok, "b64url ids use only the URL-safe alphabet");

	tap_ok(ns_rand_uuid_parse("123E4567-E89B-42D3-A456-426614174000", low), "uppercase UUID parses");
	tap_is_str(low, "123e4567-e89b-42d3-a456-426614174000", "and is lowercased");
	tap_ok(!ns_rand_uuid_parse("123e4567-e89b-42d3-a456-42661417400", NULL), "short UUID rejected");
	tap_ok(!ns_rand_uuid_parse("123e4567-e89b-42d3-a456-4266141740000", NULL), "long UUID rejected");
	tap_ok(!ns_rand_uuid_parse("123e4567xe89b-42d3-a456-426614174000", NULL), "misplaced dash rejected");
	tap_ok(!ns_rand_uuid_parse("123e4567-e89b-42d3-a456-42661417400g", NULL), "non-hex rejected");
	tap_ok(!ns_rand_uuid_parse("", NULL), "empty rejected");
	tap_ok(!ns_rand_uuid_parse(NULL, NULL), "NULL rejected");
	return tap_done();
}
