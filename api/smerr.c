/*
 * smerr: the error bodies clients expect, written by hand.
 *
 * Design: two fixed shapes (the IBM Cloud API Handbook one for Secrets
 * Manager, the IAM one for the token endpoint), so the body is assembled
 * with a small escaping writer instead of building a JSON tree.  Strings are
 * escaped for JSON (quote, backslash, control characters as \n or \u00XX);
 * bytes that are not well-formed UTF-8 become U+FFFD, so the output is
 * always valid JSON whatever the caller passes.  The errors array always
 * holds exactly one element: Go clients index errors[0] without checking.
 *
 * Trace ids are random version 4 UUIDs from libsodium's generator.
 *
 * Thread rules: any thread.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api/smerr.h"

/* A growing output buffer; on allocation failure p is NULL. */
struct jbuf {
	char	*p;
	size_t	 len, cap;
};

static void
jb_reserve(struct jbuf *b, size_t more)
{
	char	*np;
	size_t	 ncap;

	if (b->p == NULL || b->len + more < b->cap)
		return;
	ncap = b->cap * 2;
	while (ncap <= b->len + more)
		ncap *= 2;
	np = realloc(b->p, ncap);
	if (np == NULL) {
		free(b->p);
		b->p = NULL;
		return;
	}
	b->p = np;
	b->cap = ncap;
}

static void
jb_put(struct jbuf *b, const char *s, size_t n)
{
	jb_reserve(b, n);
	if (b->p == NULL)
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void
jb_str(struct jbuf *b, const char *s)
{
	jb_put(b, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at p (of at most avail bytes),
 * or 0 if the bytes there are not one. */
static size_t
utf8_seq(const unsigned char *p, size_t avail)
{
	size_t		 extra, i;
	unsigned	 cp, min;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		extra = 1;
		cp = p[0] & 0x1fu;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		extra = 2;
		cp = p[0] & 0x0fu;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		extra = 3;
		cp = p[0] & 0x07u;
		min = 0x10000;
	} else
		return 0;
	if (avail <= extra)
		return 0;
	for (i = 1; i <= extra; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3fu);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return extra + 1;
}

/* Append s as a JSON string literal, quotes included. */
static void
jb_json_string(struct jbuf *b, const char *s)
{
	const unsigned char	*p = (const unsigned char *)(s != NULL ? s : "");
	size_t			 left = strlen((const char *)p);
	char			 esc[8];

	jb_put(b, "\"", 1);
	while (left > 0) {
		size_t	 n;

		switch (*p) {
		case '"':
			jb_put(b, "\\\"", 2);
			n = 1;
			break;
		case '\\':
			jb_put(b, "\\\\", 2);
			n = 1;
			break;
		case '\n':
			jb_put(b, "\\n", 2);
			n = 1;
			break;
		case '\r':
			jb_put(b, "\\r", 2);
			n = 1;
			break;
		case '\t':
			jb_put(b, "\\t", 2);
			n = 1;
			break;
		default:
			if (*p < 0x20 || *p == 0x7f) {
				snprintf(esc, sizeof(esc), "\\u%04x", *p);
				jb_put(b, esc, 6);
				n = 1;
			} else if ((n = utf8_seq(p, left)) == 0) {
				jb_put(b, "\\ufffd", 6);
				n = 1;
			} else
				jb_put(b, (const char *)p, n);
		}
		p += n;
		left -= n;
	}
	jb_put(b, "\"", 1);
}

static int
jb_start(struct jbuf *b)
{
	b->cap = 256;
	b->len = 0;
	b->p = malloc(b->cap);
	if (b->p == NULL)
		return -1;
	b->p[0] = '\0';
	return 0;
}

void
smerr_trace(char out[37])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 raw[16];
	size_t			 i, o = 0;
	int			 init;

	/*
	 * Idempotent and locked: the first call picks the generator safely
	 * even from several threads.  randombytes_buf() works whatever it
	 * returns, so the result is not needed.
	 */
	init = sodium_init();
	(void)init;
	randombytes_buf(raw, sizeof(raw));
	raw[6] = (unsigned char)((raw[6] & 0x0f) | 0x40);	/* version 4 */
	raw[8] = (unsigned char)((raw[8] & 0x3f) | 0x80);	/* RFC 4122 variant */
	for (i = 0; i < sizeof(raw); i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[raw[i] >> 4];
		out[o++] = hex[raw[i] & 0x0f];
	}
	out[o] = '\0';
	sodium_memzero(raw, sizeof(raw));
}

char *
smerr_body(int status, const char *code, const char *message, size_t *len)
{
	struct jbuf	 b;
	char		 trace[37], num[16];

	if (len != NULL)
		*len = 0;
	if (jb_start(&b) == -1)
		return NULL;
	if (code == NULL || code[0] == '\0')
		code = smerr_code_for(status);
	smerr_trace(trace);
	snprintf(num, sizeof(num), "%d", status);
	jb_str(&b, "{\"errors\":[{\"code\":");
	jb_json_string(&b, code);
	jb_str(&b, ",\"message\":");
	jb_json_string(&b, message);
	jb_str(&b, "}],\"status_code\":");
	jb_str(&b, num);
	jb_str(&b, ",\"trace\":\"");
	jb_str(&b, trace);
	jb_str(&b, "\"}");
	if (b.p != NULL && len != NULL)
		*len = b.len;
	return b.p;
}

char *
smerr_iam_body(const char *error_code, const char *message, size_t *len)
{
	struct jbuf	 b;
	char		 trace[37];

	if (len != NULL)
		*len = 0;
	if (jb_start(&b) == -1)
		return NULL;
	smerr_trace(trace);
	jb_str(&b, "{\"errorCode\":");
	jb_json_string(&b, error_code);
	jb_str(&b, ",\"errorMessage\":");
	jb_json_string(&b, message);
	jb_str(&b, ",\"context\":{\"requestId\":\"");
	jb_str(&b, trace);
	jb_str(&b, "\",\"requestType\":\"incoming.Identity_Token\"}}");
	if (b.p != NULL && len != NULL)
		*len = b.len;
	return b.p;
}

const char *
smerr_code_for(int status)
{
	switch (status) {
	case 400:
		return "bad_request";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "not_found";
	case 413:
		return "payload_too_large";
	case 429:
		return "too_many_requests";
	case 502:
		return "bad_gateway";
	case 503:
		return "service_unavailable";
	case 504:
		return "gateway_timeout";
	default:
		return "internal_error";
	}
}
