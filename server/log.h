/*
 * log: structured logfmt lines on stderr.
 *
 *   ts=2026-11-28T10:00:00.123Z level=info msg="listening" addr=127.0.0.1:8080
 *
 * Three streams share the format and are told apart by `log=`: the
 * ordinary log (no log= field), `log=access` (one line per HTTP request)
 * and `log=audit` (one line per secret read or write).  Values are quoted
 * and escaped when needed.  Nothing here ever receives a key, token,
 * payload or Authorization value: callers pass ids and route templates.
 *
 * Thread rules: any thread; each line is written with a single write(2).
 */
#ifndef SMPROXY_LOG_H
#define SMPROXY_LOG_H

#include <stdarg.h>

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void	log_set_level(enum log_level level);
int	log_enabled(enum log_level level);

/*
 * Log msg with extra key/value pairs given as a NULL-terminated list of
 * const char * (key, value, key, value, ..., NULL).
 */
void	log_kv(enum log_level level, const char *msg, ...);
void	log_kvv(enum log_level level, const char *stream, const char *msg, va_list ap);

/* printf-style message (no extra fields). */
void	log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* An access or audit line: key/value pairs as in log_kv. */
void	log_access(const char *first_key, ...);
void	log_audit(const char *first_key, ...);

#endif
