/* log: one line per message, to stderr in the foreground or to syslog(3) as a daemon.
 * Messages are escaped after formatting, so a client-supplied %s cannot forge a line. */
#include <config.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>
#include "log.h"

#define LOG_MSG_MAX 2048	/* formatted message, before escaping */
#define LOG_ESC_MAX (LOG_MSG_MAX * 2)	/* escaped message; longer ones are cut with "..." */
#define LOG_IDENT_MAX 64
#define LOG_LINE_MAX (LOG_ESC_MAX + LOG_IDENT_MAX + 64)	/* timestamp, ident, pid, level */

static char log_ident[LOG_IDENT_MAX] = "napalmsky";
static int log_foreground = 1;
static enum ns_log_level log_level = NS_LOG_INFO;

static const char *const level_names[] = { "err", "warn", "info", "debug" };

void
ns_log_init(const char *ident, int foreground, enum ns_log_level level)
{
	if (ident != NULL)
		snprintf(log_ident, sizeof log_ident, "%s", ident);
	log_foreground = foreground;
	log_level = level;
	if (!foreground)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void
ns_log_set_level(enum ns_log_level level)
{
	log_level = level;
}

int
ns_log_level_parse(const char *s, enum ns_log_level *out)
{
	static const struct { const char *name; enum ns_log_level level; } names[] = {
		{ "err", NS_LOG_ERR }, { "error", NS_LOG_ERR },
		{ "warn", NS_LOG_WARN }, { "warning", NS_LOG_WARN },
		{ "info", NS_LOG_INFO }, { "debug", NS_LOG_DEBUG },
	};
	size_t i;

	if (s == NULL)
		return 0;
	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcasecmp(s, names[i].name) == 0) {
			if (out != NULL)
				*out = names[i].level;
			return 1;
		}
	return 0;
}

static int
is_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '\\';
}

char *
ns_log_sanitize(char *dst, size_t dstlen, const char *src)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p;
	size_t o = 0, total = 0, limit, dots = 0;

	if (dstlen == 0)
		return dst;
	for (p = (const unsigned char *)src; *p != '\0'; p++)
		total += is_plain(*p) ? 1 : 4;
	limit = dstlen - 1;
	if (total > limit) {
		/* Mark the cut so a reader knows the message is incomplete. */
		dots = limit < 3 ? limit : 3;
		limit -= dots;
	}
	for (p = (const unsigned char *)src; *p != '\0'; p++) {
		if (is_plain(*p)) {
			if (o + 1 > limit)
				break;
			dst[o++] = (char)*p;
		} else {
			if (o + 4 > limit)
				break;
			dst[o++] = '\\';
			dst[o++] = 'x';
			dst[o++] = hex[*p >> 4];
			dst[o++] = hex[*p & 0x0f];
		}
	}
	memset(dst + o, '.', dots);
	dst[o + dots] = '\0';
	return dst;
}

void
ns_vlog(enum ns_log_level level, const char *fmt, va_list ap)
{
	char msg[LOG_MSG_MAX], esc[LOG_ESC_MAX], line[LOG_LINE_MAX];
	int saved = errno;

	if (level > log_level || (unsigned)level >= sizeof level_names / sizeof level_names[0])
		return;
	/* fmt is checked at each ns_log() call site by its format attribute. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(msg, sizeof msg, fmt, ap);
#pragma GCC diagnostic pop
	ns_log_sanitize(esc, sizeof esc, msg);

	if (log_foreground) {
		char ts[sizeof "2026-11-23T12:00:00Z"];
		struct tm tm;
		time_t t = time(NULL);
		int n;

		gmtime_r(&t, &tm);
		strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
		n = snprintf(line, sizeof line, "%s %s[%ld] %s: %s\n", ts, log_ident,
		    (long)getpid(), level_names[level], esc);
		if (n > 0) {
			size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;

			/* One write per line keeps lines from different processes whole. */
			if (write(STDERR_FILENO, line, len) < 0) {
				/* Nowhere left to report it. */
			}
		}
	} else {
		static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };

		syslog(prio[level], "%s: %s", level_names[level], esc);
	}
	errno = saved;
}

void
ns_log(enum ns_log_level level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ns_vlog(level, fmt, ap);
	va_end(ap);
}
