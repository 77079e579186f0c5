/* test_log: the escaper, and the shape and filtering of stderr lines. */
#include "config.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "log.h"
#include "tap.h"

/* Run ns_log with stderr sent to a temporary file; return what was written. */
static char *
capture(enum ns_log_level level, const char *msg)
{
	static char out[8192];
	FILE *tmp = tmpfile();
	int saved = dup(STDERR_FILENO);
	size_t n;

	fflush(stderr);
	dup2(fileno(tmp), STDERR_FILENO);
	ns_log(level, "%s", msg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(tmp);
	n = fread(out, 1, sizeof out - 1, tmp);
	out[n] = '\0';
	fclose(tmp);
	return out;
}

/* "YYYY-MM-DDTHH:MM:SSZ ident[pid] level: " */
static int
line_shape(const char *line, const char *ident, const char *level, const char *msg)
{
	char want[512];
	int i;

	for (i = 0; i < 20; i++) {
		int digit = line[i] >= '0' && line[i] <= '9';

		if (i == 4 || i == 7) { if (line[i] != '-') return 0; }
		else if (i == 10) { if (line[i] != 'T') return 0; }
		else if (i == 13 || i == 16) { if (line[i] != ':') return 0; }
		else if (i == 19) { if (line[i] != 'Z') return 0; }
		else if (!digit) return 0;
	}
	snprintf(want, sizeof want, " %s[%ld] %s: %s\n", ident, (long)getpid(), level, msg);
	return strcmp(line + 20, want) == 0;
}

int
main(void)
{
	char dst[64], big[5000];
	enum ns_log_level lv;
	char *got;

	tap_is_str(ns_log_sanitize(dst, sizeof dst, "plain text 123"), "plain text 123", "plain ASCII kept");
	tap_is_str(ns_log_sanitize(dst, sizeof dst, "a\nb\rc\td"), "a\\x0ab\\x0dc\\x09d", "controls escaped");
	tap_is_str(ns_log_sanitize(dst, sizeof dst, "back\\slash"), "back\\x5cslash", "backslash escaped");
	tap_is_str(ns_log_sanitize(dst, sizeof dst, "\x1b[31mred"), "\\x1b[31mred", "ESC escaped");
	tap_is_str(ns_log_sanitize(dst, sizeof dst, "caf\xc3\xa9 \x7f"), "caf\\xc3\\xa9 \\x7f",
	    "non-ASCII and DEL escaped");
	tap_is_str(ns_log_sanitize(dst, 8, "abcdefghijkl"), "abcd...", "cut marked with dots");
	tap_is_str(ns_log_sanitize(dst, 8, "abc\n\n\n"), "abc...", "cut never splits an escape");
	tap_is_str(ns_log_sanitize(dst, 3, "abcdef"), "..", "tiny buffer");
	tap_is_str(ns_log_sanitize(dst, 1, "abcdef"), "", "one-byte buffer");
	tap_is_str(ns_log_sanitize(dst, sizeof dst, ""), "", "empty string");

	tap_ok(ns_log_level_parse("warn", &lv) && lv == NS_LOG_WARN, "parse warn");
	tap_ok(ns_log_level_parse("DEBUG", &lv) && lv == NS_LOG_DEBUG, "parse is case-insensitive");
	tap_ok(ns_log_level_parse("error", &lv) && lv == NS_LOG_ERR, "error is an alias of err");
	tap_ok(!ns_log_level_parse("verbose", &lv), "unknown level rejected");
	tap_ok(!ns_log_level_parse("", &lv), "empty level rejected");

	ns_log_init("test-log", 1, NS_LOG_INFO);
	got = capture(NS_LOG_WARN, "disk \"full\"");
	tap_ok(line_shape(got, "test-log", "warn", "disk \"full\""), "stderr line shape: %s", got);
	got = capture(NS_LOG_INFO, "evil\nforged line");
	tap_ok(line_shape(got, "test-log", "info", "evil\\x0aforged line"),
	    "newline in a message cannot forge a line");
	got = capture(NS_LOG_DEBUG, "hidden");
	tap_is_str(got, "", "debug suppressed at info level");
	ns_log_set_level(NS_LOG_DEBUG);
	got = capture(NS_LOG_DEBUG, "shown");
	tap_ok(line_shape(got, "test-log", "debug", "shown"), "debug shown after set_level");
	ns_log_set_level(NS_LOG_ERR);
	got = capture(NS_LOG_WARN, "hidden");
	tap_is_str(got, "", "warn suppressed at err level");

	memset(big, 'x', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	got = capture(NS_LOG_ERR, big);
	tap_ok(strlen(got) < sizeof big && strlen(got) > 1000 && got[strlen(got) - 1] == '\n',
	    "an overlong message is capped and still ends the line (%zu bytes)", strlen(got));
	return tap_done();
}
