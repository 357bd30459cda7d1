/*
 * route_text: the byte-level rules behind api/route.h: percent-decoding and
 * percent-encoding, and the validators for decoded ids, secret types, names
 * and free text.
 *
 * Design: clients encode differently (Go's url.PathEscape leaves :@&=+$ as
 * they are, Node's encodeURIComponent escapes them but leaves !'()*), so
 * everything is decoded first and then encoded again by one rule: keep the
 * RFC 3986 unreserved set (A-Z a-z 0-9 - . _ ~), escape every other byte as
 * %XX with upper-case hex.  A decoded string therefore has exactly one
 * encoding, and an encoded component never holds '/', '?', '&', '=' or ','
 * except as an escape, which is what lets cache keys and canonical queries
 * be split again unambiguously.
 *
 * Decoded text is checked as UTF-8 and for control characters before it is
 * used anywhere, so nothing downstream (keys, logs, upstream requests) sees
 * a NUL, a CR/LF or a malformed sequence.
 *
 * Thread rules: pure functions, callable from any thread.
 */
#include <limits.h>
#include <string.h>

#include "api/route.h"

static const char *const secret_types[] = {
	"arbitrary", "custom_credentials", "iam_credentials", "imported_cert",
	"kv", "private_cert", "public_cert", "service_credentials",
	"username_password",
};

/* The value of hex digit c, or -1. */
static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Byte classes, looked up once per byte because encoding and id checks run
 * on every key and target: UNRESERVED is the RFC 3986 unreserved set
 * (A-Z a-z 0-9 - . _ ~), ID the id alphabet (the same without '~').
 * Bytes from 0x80 up are in neither.
 */
#define C_UNRESERVED	0x01
#define C_ID		0x02
#define U		(C_UNRESERVED | C_ID)

static const unsigned char char_class[256] = {
	/* 0x00 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x10 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	/* 0x20 */ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, U, U, 0,	/* - . */
	/* 0x30 */ U, U, U, U, U, U, U, U, U, U, 0, 0, 0, 0, 0, 0,	/* 0-9 */
	/* 0x40 */ 0, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,	/* A-O */
	/* 0x50 */ U, U, U, U, U, U, U, U, U, U, U, 0, 0, 0, 0, U,	/* P-Z _ */
	/* 0x60 */ 0, U, U, U, U, U, U, U, U, U, U, U, U, U, U, U,	/* a-o */
	/* 0x70 */ U, U, U, U, U, U, U, U, U, U, U, 0, 0, 0,		/* p-z */
	    C_UNRESERVED, 0,						/* ~ */
};

/* The shared decoder; plus_is_space selects query-string rules. */
static int
decode(char *dst, size_t dstlen, const char *src, size_t len,
    int plus_is_space)
{
	size_t	 in, out = 0;

	if (dst == NULL || dstlen == 0)
		return -1;
	dst[0] = '\0';
	if (src == NULL || len >= (size_t)INT_MAX)
		return -1;
	for (in = 0; in < len; in++) {
		unsigned char	 c = (unsigned char)src[in];

		if (c == '%') {
			int	 high, low;

			if (len - in < 3)
				goto fail;
			high = hex_value((unsigned char)src[in + 1]);
			low = hex_value((unsigned char)src[in + 2]);
			if (high < 0 || low < 0)
				goto fail;
			c = (unsigned char)(high << 4 | low);
			in += 2;
		} else if (c == '+' && plus_is_space)
			c = ' ';
		if (c == '\0' || out + 1 >= dstlen)
			goto fail;
		dst[out++] = (char)c;
	}
	dst[out] = '\0';
	return (int)out;
fail:
	dst[0] = '\0';
	return -1;
}

int
route_pct_decode(char *dst, size_t dstlen, const char *src, size_t len)
{
	return decode(dst, dstlen, src, len, 0);
}

int
route_form_decode(char *dst, size_t dstlen, const char *src, size_t len)
{
	return decode(dst, dstlen, src, len, 1);
}

int
route_pct_encode(char *dst, size_t dstlen, const char *src)
{
	static const char	 hex[] = "0123456789ABCDEF";
	size_t			 out = 0;

	if (dst == NULL || dstlen == 0)
		return -1;
	dst[0] = '\0';
	if (src == NULL)
		return -1;
	if (dstlen > (size_t)INT_MAX)
		dstlen = (size_t)INT_MAX;	/* the length must fit the int */
	for (; *src != '\0'; src++) {
		unsigned char	 c = (unsigned char)*src;

		if (char_class[c] & C_UNRESERVED) {
			if (out + 1 >= dstlen)
				goto fail;
			dst[out++] = (char)c;
		} else {
			if (out + 3 >= dstlen)
				goto fail;
			dst[out++] = '%';
			dst[out++] = hex[c >> 4];
			dst[out++] = hex[c & 0x0f];
		}
	}
	dst[out] = '\0';
	return (int)out;
fail:
	dst[0] = '\0';
	return -1;
}

bool
route_valid_text(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	const unsigned char	*end = p + len;

	if (s == NULL)
		return false;
	while (p < end) {
		unsigned	 c = *p, cp, min;
		size_t		 extra, i;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			extra = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			extra = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			extra = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else
			return false;
		if ((size_t)(end - p) <= extra)
			return false;
		for (i = 1; i <= extra; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3fu);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		if (cp <= 0x9f)		/* C1 controls U+0080..U+009F */
			return false;
		p += extra + 1;
	}
	return true;
}

/* strlen(s), or max + 1 when s is longer than max. */
static size_t
bounded_len(const char *s, size_t max)
{
	size_t	 n;

	for (n = 0; n <= max && s[n] != '\0'; n++)
		;
	return n;
}

static bool
is_dot_segment(const char *s)
{
	return strcmp(s, ".") == 0 || strcmp(s, "..") == 0;
}

bool
route_valid_id(const char *s)
{
	size_t	 i;

	if (s == NULL || s[0] == '\0')
		return false;
	for (i = 0; s[i] != '\0'; i++)
		if (i >= ROUTE_ID_MAX ||
		    !(char_class[(unsigned char)s[i]] & C_ID))
			return false;
	return !is_dot_segment(s);
}

bool
route_valid_type(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return false;
	for (i = 0; i < sizeof(secret_types) / sizeof(secret_types[0]); i++)
		if (strcmp(s, secret_types[i]) == 0)
			return true;
	return false;
}

bool
route_valid_name(const char *s)
{
	size_t	 len;

	if (s == NULL)
		return false;
	len = bounded_len(s, ROUTE_NAME_MAX);
	if (len == 0 || len > ROUTE_NAME_MAX)
		return false;
	if (memchr(s, '/', len) != NULL || is_dot_segment(s))
		return false;
	return route_valid_text(s, len);
}
