/*
 * config_parse.c: turning one option's text into a field of struct cfg,
 * and the checks the option table names (listen addresses, URLs, readable
 * files), plus the problem report they all write to.
 *
 * Design: parsers and checks never print and never build the whole
 * message; they return -1 and a reason ("\"abc\" is not a positive
 * integer"), and the caller prefixes the option's names and the source of
 * the value.  Values are quoted with cfg_quote(), which escapes control
 * characters and shortens long input, so a message is always one line.
 *
 * Thread rules: main thread only (called from cfg_load()).
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config_int.h"

/* Longest part of a value quoted back in a message. */
#define QUOTE_MAX_CHARS	64

void
cfg_report_add(struct cfg_report *rep, const char *fmt, ...)
{
	va_list ap;
	char *msg = NULL, **grown;
	int len;

	rep->problems++;
	if (rep->errs == NULL)
		return;
	va_start(ap, fmt);
	len = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (len < 0 || (msg = malloc((size_t)len + 1)) == NULL)
		goto done;
	va_start(ap, fmt);
	vsnprintf(msg, (size_t)len + 1, fmt, ap);
	va_end(ap);
	grown = realloc(rep->errs->msgs,
	    (rep->errs->n + 1) * sizeof(*rep->errs->msgs));
	if (grown == NULL)
		goto done;
	rep->errs->msgs = grown;
	rep->errs->msgs[rep->errs->n++] = msg;
	msg = NULL;
done:
	free(msg);
}

void
cfg_option_where(const struct cfg_option *o, enum cfg_source src, char *buf,
    size_t len)
{
	if (src == CFG_SRC_FILE && o->json_key != NULL)
		snprintf(buf, len, "%s (%s, config file key \"%s\")", o->env,
		    o->flag, o->json_key);
	else if (o->env != NULL)
		snprintf(buf, len, "%s (%s)", o->env, o->flag);
	else
		snprintf(buf, len, "%s", o->flag);
}

void
cfg_quote(const char *value, char *buf, size_t len)
{
	char piece[8];
	size_t out = 0, i, piecelen;
	unsigned char ch;

	if (len < 8) {
		if (len > 0)
			buf[0] = '\0';
		return;
	}
	buf[out++] = '"';
	for (i = 0; value[i] != '\0'; i++) {
		ch = (unsigned char)value[i];
		if (ch == '"' || ch == '\\')
			snprintf(piece, sizeof(piece), "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			snprintf(piece, sizeof(piece), "\\x%02x", ch);
		else
			snprintf(piece, sizeof(piece), "%c", ch);
		piecelen = strlen(piece);
		/* Keep room for "...", the closing quote and the NUL. */
		if (i >= QUOTE_MAX_CHARS || out + piecelen + 5 > len) {
			memcpy(buf + out, "...", 3);
			out += 3;
			break;
		}
		memcpy(buf + out, piece, piecelen);
		out += piecelen;
	}
	buf[out++] = '"';
	buf[out] = '\0';
}

int
cfg_parse_bool(const char *text, bool *out)
{
	static const char *const yes[] = { "true", "1", "yes" };
	static const char *const no[] = { "false", "0", "no" };
	size_t i;

	*out = false;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0)
			return 0;
	}
	return -1;
}

/* Describe the integers a row accepts, for messages. */
static void
describe_range(int64_t min, int64_t max, char *buf, size_t len)
{
	if (min == 1)
		snprintf(buf, len, "a positive integer");
	else if (min == 0)
		snprintf(buf, len, "a non-negative integer");
	else
		snprintf(buf, len, "an integer from %" PRId64 " to %" PRId64,
		    min, max);
}

/*
 * Parse a decimal integer within [min, max].  Returns 0 with *out set, or
 * -1 with a reason.
 */
static int
parse_int(const char *text, int64_t min, int64_t max, int64_t *out,
    char *why, size_t whylen)
{
	char quoted[96], range[64];
	const char *digits = text[0] == '-' ? text + 1 : text;
	char *end;
	long long n;

	*out = 0;
	cfg_quote(text, quoted, sizeof(quoted));
	describe_range(min, max, range, sizeof(range));
	if (!isdigit((unsigned char)digits[0])) {
		snprintf(why, whylen, "%s is not %s", quoted, range);
		return -1;
	}
	errno = 0;
	n = strtoll(text, &end, 10);
	if (*end != '\0') {
		snprintf(why, whylen, "%s is not %s", quoted, range);
		return -1;
	}
	if (errno == ERANGE || n > max || n < min) {
		if ((min == 1 && n < 1) || (min == 0 && n < 0))
			snprintf(why, whylen, "%s is not %s", quoted,
			    min == 1 ? "a positive integer" :
			    "a non-negative integer");
		else if (max == INT64_MAX)
			snprintf(why, whylen, "%s is too large", quoted);
		else
			snprintf(why, whylen, "%s is out of range (%" PRId64
			    " to %" PRId64 ")", quoted, min, max);
		return -1;
	}
	*out = n;
	return 0;
}

/* Index of text in names (case-insensitive), or -1. */
static int
choice_index(const char *text, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcasecmp(text, names[i]) == 0)
			return (int)i;
	return -1;
}

int
cfg_option_set(struct cfg *c, const struct cfg_option *o, const char *text,
    char *why, size_t whylen)
{
	/* Indexed by enum cfg_auth and enum cfg_log_level. */
	static const char *const auths[] = { "local", "iam", "none" };
	static const char *const levels[] = { "debug", "info", "warn",
	    "error" };
	void *field = (char *)c + o->offset;
	char quoted[96];
	char **string;
	int64_t n;
	bool b;
	int idx;

	why[0] = '\0';
	cfg_quote(text, quoted, sizeof(quoted));
	switch (o->type) {
	case CFG_TYPE_STRING:
		string = field;
		free(*string);
		if ((*string = strdup(text)) == NULL) {
			snprintf(why, whylen, "out of memory");
			return -1;
		}
		if (o->check != NULL && o->check(c, string, why, whylen) == -1) {
			free(*string);
			*string = NULL;
			return -1;
		}
		return 0;
	case CFG_TYPE_INT:
		if (parse_int(text, o->min, o->max, &n, why, whylen) == -1)
			return -1;
		*(int *)field = (int)n;
		return 0;
	case CFG_TYPE_INT64:
		if (parse_int(text, o->min, o->max, &n, why, whylen) == -1)
			return -1;
		*(int64_t *)field = n;
		return 0;
	case CFG_TYPE_BOOL:
		if (cfg_parse_bool(text, &b) == -1) {
			snprintf(why, whylen, "%s is not a boolean (true, "
			    "false, yes, no, 1 or 0)", quoted);
			return -1;
		}
		*(bool *)field = b;
		return 0;
	case CFG_TYPE_AUTH:
		idx = choice_index(text, auths, sizeof(auths) / sizeof(*auths));
		if (idx == -1) {
			snprintf(why, whylen, "%s is not one of local, iam, "
			    "none", quoted);
			return -1;
		}
		*(enum cfg_auth *)field = (enum cfg_auth)idx;
		return 0;
	case CFG_TYPE_LOG_LEVEL:
		idx = choice_index(text, levels,
		    sizeof(levels) / sizeof(*levels));
		if (idx == -1) {
			snprintf(why, whylen, "%s is not one of debug, info, "
			    "warn, error", quoted);
			return -1;
		}
		*(enum cfg_log_level *)field = (enum cfg_log_level)idx;
		return 0;
	case CFG_TYPE_ACTION:
		if (cfg_parse_bool(text, &b) == -1) {
			snprintf(why, whylen, "%s is not a boolean", quoted);
			return -1;
		}
		*(bool *)field = b;
		return 0;
	}
	snprintf(why, whylen, "unknown option type");
	return -1;
}

/* Whether s (len bytes) is a plausible host name or IPv4 address. */
static bool
is_host_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 253)
		return false;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '.' &&
		    s[i] != '-' && s[i] != '_')
			return false;
	return true;
}

/* Whether s (len bytes) is an IPv6 address. */
static bool
is_ipv6(const char *s, size_t len)
{
	struct in6_addr addr;
	char buf[INET6_ADDRSTRLEN + 1];

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return inet_pton(AF_INET6, buf, &addr) == 1;
}

/* Parse 1 to 5 digits as a port in [min_port, 65535]; -1 if not one. */
static int
parse_port(const char *s, int min_port)
{
	size_t i, len = strlen(s);
	int port = 0;

	if (len == 0 || len > 5)
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		port = port * 10 + (s[i] - '0');
	}
	return port >= min_port && port <= 65535 ? port : -1;
}

int
cfg_split_listen(const char *text, char **host, int *port, char *why,
    size_t whylen)
{
	char quoted[96];
	const char *host_start, *host_end, *port_text, *close;

	*host = NULL;
	*port = 0;
	cfg_quote(text, quoted, sizeof(quoted));
	if (text[0] == '[') {
		if ((close = strchr(text, ']')) == NULL || close[1] != ':') {
			snprintf(why, whylen, "%s is not [address]:port",
			    quoted);
			return -1;
		}
		host_start = text + 1;
		host_end = close;
		port_text = close + 2;
		if (!is_ipv6(host_start, (size_t)(host_end - host_start))) {
			snprintf(why, whylen, "%s does not hold an IPv6 "
			    "address in brackets", quoted);
			return -1;
		}
	} else {
		if ((close = strrchr(text, ':')) == NULL) {
			snprintf(why, whylen, "%s is not host:port", quoted);
			return -1;
		}
		host_start = text;
		host_end = close;
		port_text = close + 1;
		if (memchr(host_start, ':', (size_t)(host_end - host_start))) {
			snprintf(why, whylen, "%s: an IPv6 address needs "
			    "brackets, as in [::1]:8080", quoted);
			return -1;
		}
		if (!is_host_name(host_start, (size_t)(host_end - host_start))) {
			snprintf(why, whylen, "%s does not start with a host "
			    "name or address", quoted);
			return -1;
		}
	}
	if ((*port = parse_port(port_text, 0)) == -1) {
		*port = 0;
		snprintf(why, whylen, "%s does not end with a port from 0 to "
		    "65535", quoted);
		return -1;
	}
	*host = strndup(host_start, (size_t)(host_end - host_start));
	if (*host == NULL) {
		*port = 0;
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	return 0;
}

bool
cfg_host_is_loopback(const char *host)
{
	struct in_addr v4;
	struct in6_addr v6;

	if (strcasecmp(host, "localhost") == 0)
		return true;
	if (inet_pton(AF_INET, host, &v4) == 1)
		return (ntohl(v4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &v6) == 1) {
		if (IN6_IS_ADDR_LOOPBACK(&v6))
			return true;
		/* ::ffff:127.x.y.z */
		return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
	}
	return false;
}

int
cfg_check_listen(struct cfg *c, char **field, char *why, size_t whylen)
{
	free(c->listen_host);
	c->listen_host = NULL;
	c->listen_port = 0;
	return cfg_split_listen(*field, &c->listen_host, &c->listen_port, why,
	    whylen);
}

int
cfg_check_admin_listen(struct cfg *c, char **field, char *why, size_t whylen)
{
	free(c->admin_host);
	c->admin_host = NULL;
	c->admin_port = 0;
	return cfg_split_listen(*field, &c->admin_host, &c->admin_port, why,
	    whylen);
}

/* Check the authority ("host", "host:port", "[v6]:port") of a URL. */
static int
check_authority(const char *auth, size_t len)
{
	const char *colon, *close;
	char port[8];
	size_t portlen;

	if (len > 0 && auth[0] == '[') {
		if ((close = memchr(auth, ']', len)) == NULL ||
		    !is_ipv6(auth + 1, (size_t)(close - auth - 1)))
			return -1;
		colon = close + 1 < auth + len ? close + 1 : NULL;
		if (colon != NULL && *colon != ':')
			return -1;
	} else {
		colon = memchr(auth, ':', len);
		if (!is_host_name(auth, colon != NULL ?
		    (size_t)(colon - auth) : len))
			return -1;
	}
	if (colon == NULL)
		return 0;
	portlen = len - (size_t)(colon + 1 - auth);
	if (portlen >= sizeof(port))
		return -1;
	memcpy(port, colon + 1, portlen);
	port[portlen] = '\0';
	return parse_port(port, 1) == -1 ? -1 : 0;
}

/* Drop trailing slashes of a URL whose path starts at path_start. */
static void
strip_slashes(char *url, size_t path_start)
{
	size_t len = strlen(url);

	while (len > path_start && url[len - 1] == '/')
		url[--len] = '\0';
}

/*
 * Check an http(s) URL and strip its trailing slashes.  When strip_suffix
 * is not NULL, that path suffix is dropped as well.
 */
static int
check_url_text(char *url, const char *strip_suffix, char *why, size_t whylen)
{
	char quoted[96];
	size_t scheme_len, auth_len, len, suffix_len;
	const char *auth;

	cfg_quote(url, quoted, sizeof(quoted));
	if (strncasecmp(url, "http://", 7) == 0)
		scheme_len = 7;
	else if (strncasecmp(url, "https://", 8) == 0)
		scheme_len = 8;
	else {
		snprintf(why, whylen, "%s is not an http:// or https:// URL",
		    quoted);
		return -1;
	}
	auth = url + scheme_len;
	auth_len = strcspn(auth, "/?#");
	if (memchr(auth, '@', auth_len) != NULL) {
		/* Not quoted: the user part may hold a password. */
		snprintf(why, whylen, "the URL holds credentials (user@host), "
		    "which are not allowed");
		return -1;
	}
	for (len = 0; url[len] != '\0'; len++) {
		if ((unsigned char)url[len] <= 0x20 ||
		    (unsigned char)url[len] == 0x7f) {
			snprintf(why, whylen, "%s holds a space or control "
			    "character", quoted);
			return -1;
		}
	}
	if (strpbrk(url, "?#") != NULL) {
		snprintf(why, whylen, "%s must not have a query or fragment",
		    quoted);
		return -1;
	}
	if (auth_len == 0 || check_authority(auth, auth_len) == -1) {
		snprintf(why, whylen, "%s does not have a valid host and port",
		    quoted);
		return -1;
	}
	strip_slashes(url, scheme_len + auth_len);
	if (strip_suffix != NULL) {
		len = strlen(url);
		suffix_len = strlen(strip_suffix);
		if (len >= scheme_len + auth_len + suffix_len &&
		    strcmp(url + len - suffix_len, strip_suffix) == 0) {
			url[len - suffix_len] = '\0';
			strip_slashes(url, scheme_len + auth_len);
		}
	}
	return 0;
}

int
cfg_check_url(struct cfg *c, char **field, char *why, size_t whylen)
{
	(void)c;
	return check_url_text(*field, NULL, why, whylen);
}

int
cfg_check_iam_url(struct cfg *c, char **field, char *why, size_t whylen)
{
	(void)c;
	return check_url_text(*field, "/identity/token", why, whylen);
}

int
cfg_check_nonempty(struct cfg *c, char **field, char *why, size_t whylen)
{
	(void)c;
	if ((*field)[0] != '\0')
		return 0;
	snprintf(why, whylen, "the value is empty");
	return -1;
}

/*
 * The file must exist and open for reading; it is not parsed here (its
 * owner, for instance store/ for cache keys, does that).
 */
int
cfg_check_readable(struct cfg *c, char **field, char *why, size_t whylen)
{
	char quoted[96];
	struct stat st;
	int fd, rc = -1;

	if (cfg_check_nonempty(c, field, why, whylen) == -1)
		return -1;
	cfg_quote(*field, quoted, sizeof(quoted));
	if ((fd = open(*field, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(why, whylen, "cannot read %s: %s", quoted,
		    strerror(errno));
		goto done;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(why, whylen, "cannot read %s: %s", quoted,
		    strerror(errno));
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(why, whylen, "cannot read %s: %s", quoted,
		    strerror(EISDIR));
		goto done;
	}
	rc = 0;
done:
	if (fd != -1)
		close(fd);
	return rc;
}
