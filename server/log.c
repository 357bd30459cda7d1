/*
 * log: logfmt lines on stderr (see log.h).
 *
 * Each line is assembled in a stack buffer and written with one write(2),
 * so lines from different threads never interleave.  Over-long lines are
 * cut and marked with `truncated=1`.
 *
 * Thread rules: any thread; the level is an atomic.
 */
#include "server/log.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#define LINE_MAX_BYTES	4096

static atomic_int min_level = LOG_INFO;

static const char *level_names[] = { "debug", "info", "warn", "error" };

struct line {
	char	buf[LINE_MAX_BYTES];
	size_t	len;
	bool	cut;
};

static void
put(struct line *l, const char *s, size_t n)
{
	if (l->len + n >= sizeof(l->buf) - 16) {
		n = sizeof(l->buf) - 16 > l->len ? sizeof(l->buf) - 16 - l->len : 0;
		l->cut = true;
	}
	memcpy(l->buf + l->len, s, n);
	l->len += n;
}

static void
puts_(struct line *l, const char *s)
{
	put(l, s, strlen(s));
}

static bool
needs_quotes(const char *v)
{
	if (*v == '\0')
		return true;
	for (; *v; v++)
		if (*v <= ' ' || *v == '"' || *v == '=' || *v == '\\' || *v == 0x7f)
			return true;
	return false;
}

static void
put_value(struct line *l, const char *v)
{
	if (v == NULL)
		v = "";
	if (!needs_quotes(v)) {
		puts_(l, v);
		return;
	}
	put(l, "\"", 1);
	for (; *v; v++) {
		unsigned char c = (unsigned char)*v;
		char esc[8];
		if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put(l, esc, 2);
		} else if (c == '\n') {
			put(l, "\\n", 2);
		} else if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			put(l, esc, 4);
		} else {
			put(l, (const char *)&c, 1);
		}
	}
	put(l, "\"", 1);
}

static void
put_field(struct line *l, const char *key, const char *value)
{
	put(l, " ", 1);
	puts_(l, key);
	put(l, "=", 1);
	put_value(l, value);
}

static void
begin(struct line *l, enum log_level level, const char *stream)
{
	struct timeval tv;
	struct tm tm;
	char ts[64];

	l->len = 0;
	l->cut = false;
	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	snprintf(ts, sizeof(ts), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(tv.tv_usec / 1000));
	puts_(l, "ts=");
	puts_(l, ts);
	put_field(l, "level", level_names[level]);
	if (stream != NULL)
		put_field(l, "log", stream);
}

static void
finish(struct line *l)
{
	ssize_t n;
	size_t off = 0;

	if (l->cut)
		memcpy(l->buf + l->len, " truncated=1", 12), l->len += 12;
	l->buf[l->len++] = '\n';
	while (off < l->len) {
		n = write(STDERR_FILENO, l->buf + off, l->len - off);
		if (n <= 0)
			break;
		off += (size_t)n;
	}
}

void
log_set_level(enum log_level level)
{
	atomic_store(&min_level, (int)level);
}

int
log_enabled(enum log_level level)
{
	return (int)level >= atomic_load(&min_level);
}

static void
pairs(struct line *l, const char *first_key, va_list ap)
{
	const char *k = first_key, *v;

	while (k != NULL) {
		v = va_arg(ap, const char *);
		put_field(l, k, v);
		k = va_arg(ap, const char *);
	}
}

void
log_kvv(enum log_level level, const char *stream, const char *msg, va_list ap)
{
	struct line l;

	if (!log_enabled(level))
		return;
	begin(&l, level, stream);
	if (msg != NULL)
		put_field(&l, "msg", msg);
	pairs(&l, va_arg(ap, const char *), ap);
	finish(&l);
}

void
log_kv(enum log_level level, const char *msg, ...)
{
	va_list ap;

	va_start(ap, msg);
	log_kvv(level, NULL, msg, ap);
	va_end(ap);
}

static void
logf_(enum log_level level, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
logf_(enum log_level level, const char *fmt, va_list ap)
{
	struct line l;
	char msg[1024];

	if (!log_enabled(level))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	begin(&l, level, NULL);
	put_field(&l, "msg", msg);
	finish(&l);
}

#define LOGF(name, level)				\
void							\
name(const char *fmt, ...)				\
{							\
	va_list ap;					\
	va_start(ap, fmt);				\
	logf_(level, fmt, ap);				\
	va_end(ap);					\
}
LOGF(log_info, LOG_INFO)
LOGF(log_warnx, LOG_WARN)
LOGF(log_errorx, LOG_ERROR)
LOGF(log_debug, LOG_DEBUG)

static void
stream_line(const char *stream, const char *first_key, va_list ap)
{
	struct line l;

	if (!log_enabled(LOG_INFO))
		return;
	begin(&l, LOG_INFO, stream);
	pairs(&l, first_key, ap);
	finish(&l);
}

void
log_access(const char *first_key, ...)
{
	va_list ap;

	va_start(ap, first_key);
	stream_line("access", first_key, ap);
	va_end(ap);
}

void
log_audit(const char *first_key, ...)
{
	va_list ap;

	va_start(ap, first_key);
	stream_line("audit", first_key, ap);
	va_end(ap);
}
