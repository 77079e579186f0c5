/* log: levelled logging to stderr (foreground) or syslog; untrusted text is escaped. */
#ifndef NS_LOG_H
#define NS_LOG_H
#include <stdarg.h>
#include <stddef.h>

enum ns_log_level { NS_LOG_ERR = 0, NS_LOG_WARN, NS_LOG_INFO, NS_LOG_DEBUG };

/* ident names the program in syslog; foreground=1 writes to stderr. */
void ns_log_init(const char *ident, int foreground, enum ns_log_level level);
void ns_log_set_level(enum ns_log_level level);
int ns_log_level_parse(const char *s, enum ns_log_level *out);	/* "err|warn|info|debug" */
/* Every formatted message has control and non-ASCII bytes escaped (\xNN) before it is written,
 * so client-supplied strings can be logged with %s without forging lines. */
void ns_log(enum ns_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ns_vlog(enum ns_log_level level, const char *fmt, va_list ap);
/* Escape src into dst (always NUL-terminated); returns dst. */
char *ns_log_sanitize(char *dst, size_t dstlen, const char *src);

#define ns_log_err(...)   ns_log(NS_LOG_ERR, __VA_ARGS__)
#define ns_log_warn(...)  ns_log(NS_LOG_WARN, __VA_ARGS__)
#define ns_log_info(...)  ns_log(NS_LOG_INFO, __VA_ARGS__)
#define ns_log_debug(...) ns_log(NS_LOG_DEBUG, __VA_ARGS__)

#endif
