/*
 * fake_http: request/response plumbing for the fake SM + IAM server.
 *
 * The server installs a no-op unescape callback in libmicrohttpd, so the
 * path we get is byte-for-byte what the client sent.  We split it on '/'
 * first and percent-decode each segment afterwards: an encoded "%2F" stays
 * inside its segment, and Go (url.PathEscape) and Node
 * (encodeURIComponent) spellings of one name decode to the same bytes.
 *
 * Thread rules: no shared state; callable from any thread.
 */
#include "tests/fake/fake_http.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
fhttp_decode(const char *in, size_t len, bool plus_is_space, char **out)
{
	char	*buf;
	size_t	 i, n = 0;
	int	 rc = -1;

	*out = NULL;
	if ((buf = malloc(len + 1)) == NULL)
		goto done;
	for (i = 0; i < len; i++) {
		int c = (unsigned char)in[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				goto done;
			hi = hexval((unsigned char)in[i + 1]);
			lo = hexval((unsigned char)in[i + 2]);
			if (hi < 0 || lo < 0)
				goto done;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && plus_is_space)
			c = ' ';
		if (c == '\0')
			goto done;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	*out = buf;
	buf = NULL;
	rc = 0;
done:
	free(buf);
	return rc;
}

struct freq *
fhttp_req_new(const char *target)
{
	struct freq	*rq;
	const char	*q, *p, *end;

	if ((rq = calloc(1, sizeof(*rq))) == NULL)
		return NULL;
	if ((rq->target = strdup(target)) == NULL)
		goto fail;
	q = strchr(target, '?');
	if (q != NULL) {
		rq->path = strndup(target, (size_t)(q - target));
		rq->query = strdup(q + 1);
	} else {
		rq->path = strdup(target);
		rq->query = strdup("");
	}
	if (rq->path == NULL || rq->query == NULL)
		goto fail;

	/* "/a/b%2Fc" -> {"a", "b/c"}; "" segments (from "//" or a trailing
	 * '/') are kept so that such paths match nothing. */
	if (rq->path[0] != '/') {
		rq->bad_path = true;
		return rq;
	}
	p = rq->path + 1;
	if (*p == '\0')
		return rq;
	for (;;) {
		end = strchr(p, '/');
		if (end == NULL)
			end = p + strlen(p);
		if (rq->nsegs == FHTTP_MAX_SEGS) {
			rq->long_path = true;
			break;
		}
		if (fhttp_decode(p, (size_t)(end - p), false,
		    &rq->segs[rq->nsegs]) == -1) {
			rq->bad_path = true;
			break;
		}
		rq->nsegs++;
		if (*end == '\0')
			break;
		p = end + 1;
	}
	return rq;
fail:
	fhttp_req_free(rq);
	return NULL;
}

void
fhttp_req_free(struct freq *rq)
{
	size_t i;

	if (rq == NULL)
		return;
	for (i = 0; i < rq->nsegs; i++)
		free(rq->segs[i]);
	free(rq->target);
	free(rq->path);
	free(rq->query);
	if (rq->body != NULL)
		sodium_memzero(rq->body, rq->body_cap);
	free(rq->body);
	free(rq);
}

int
fhttp_req_append_body(struct freq *rq, const char *data, size_t len)
{
	if (rq->body_too_large)
		return 0;
	if (len > FHTTP_BODY_MAX - rq->body_len) {
		rq->body_too_large = true;
		return 0;
	}
	if (rq->body_len + len + 1 > rq->body_cap) {
		size_t	 cap = rq->body_cap ? rq->body_cap : 1024;
		char	*nb;

		while (cap < rq->body_len + len + 1)
			cap *= 2;
		if ((nb = malloc(cap)) == NULL)
			return -1;
		if (rq->body != NULL) {
			memcpy(nb, rq->body, rq->body_len);
			sodium_memzero(rq->body, rq->body_cap);
			free(rq->body);
		}
		rq->body = nb;
		rq->body_cap = cap;
	}
	memcpy(rq->body + rq->body_len, data, len);
	rq->body_len += len;
	rq->body[rq->body_len] = '\0';
	return 0;
}

/* Find key in "a=1&b=2"; on success val and vlen give the raw value. */
static bool
form_find(const char *form, const char *key, const char **val, size_t *vlen)
{
	size_t		 klen = strlen(key);
	const char	*p = form;

	*val = NULL;
	*vlen = 0;
	if (form == NULL)
		return false;
	while (*p != '\0') {
		const char *amp = strchr(p, '&');
		const char *end = amp ? amp : p + strlen(p);
		const char *eq = memchr(p, '=', (size_t)(end - p));
		const char *kend = eq ? eq : end;

		if ((size_t)(kend - p) == klen && memcmp(p, key, klen) == 0) {
			*val = eq ? eq + 1 : end;
			*vlen = (size_t)(end - *val);
			return true;
		}
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	return false;
}

char *
fhttp_form_value(const char *form, const char *key)
{
	const char	*val;
	size_t		 vlen;
	char		*out;

	if (!form_find(form, key, &val, &vlen))
		return NULL;
	if (fhttp_decode(val, vlen, true, &out) == -1)
		return NULL;
	return out;
}

bool
fhttp_form_has(const char *form, const char *key)
{
	const char	*val;
	size_t		 vlen;

	return form_find(form, key, &val, &vlen);
}

int
fhttp_parse_uint(const char *s, long long max, long long *out)
{
	long long v = 0;

	*out = 0;
	if (s == NULL || *s == '\0')
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		if (v > (max - (*s - '0')) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	*out = v;
	return 0;
}

void
fhttp_resp_init(struct fresp *rs)
{
	memset(rs, 0, sizeof(*rs));
	rs->retry_after_s = -1;
}

void
fhttp_resp_cleanup(struct fresp *rs)
{
	if (rs->body != NULL)
		sodium_memzero(rs->body, rs->body_len);
	free(rs->body);
	fhttp_resp_init(rs);
}

void
fhttp_resp_empty(struct fresp *rs, int status)
{
	fhttp_resp_cleanup(rs);
	rs->status = status;
}

void
fhttp_resp_json(struct fresp *rs, int status, json_t *body)
{
	char *text;

	fhttp_resp_empty(rs, status);
	text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (text == NULL) {
		static const char oom[] = "{\"errors\":[{\"code\":\"internal_error\","
		    "\"message\":\"out of memory\"}],\"status_code\":500}";

		rs->status = 500;
		text = strdup(oom);
		if (text == NULL)
			return;
	}
	rs->body = text;
	rs->body_len = strlen(text);
	rs->content_type = FHTTP_JSON;
}

const char *
fhttp_code_for(int status)
{
	switch (status) {
	case 400: return "bad_request";
	case 401: return "unauthorized";
	case 403: return "forbidden";
	case 404: return "not_found";
	case 405: return "method_not_allowed";
	case 409: return "conflict";
	case 413: return "payload_too_large";
	case 415: return "unsupported_media_type";
	case 429: return "too_many_requests";
	case 500: return "internal_error";
	case 502: return "bad_gateway";
	case 503: return "service_unavailable";
	case 504: return "gateway_timeout";
	default: return status >= 500 ? "internal_error" : "bad_request";
	}
}

void
fhttp_resp_sm_error(struct fresp *rs, int status, const char *code,
    const char *message)
{
	char	 trace[FHTTP_UUID_LEN];
	json_t	*body;

	fhttp_uuid(trace);
	if (code == NULL)
		code = fhttp_code_for(status);
	body = json_pack("{s:[{s:s,s:s}],s:i,s:s}",
	    "errors", "code", code, "message", message,
	    "status_code", status, "trace", trace);
	fhttp_resp_json(rs, status, body);
}

void
fhttp_resp_iam_error(struct fresp *rs, int status, const char *code,
    const char *message)
{
	char	 request_id[FHTTP_UUID_LEN];
	json_t	*body;

	fhttp_uuid(request_id);
	body = json_pack("{s:s,s:s,s:{s:s,s:s}}",
	    "errorCode", code, "errorMessage", message,
	    "context", "requestId", request_id,
	    "requestType", "incoming.Identity_Token");
	fhttp_resp_json(rs, status, body);
}

void
fhttp_uuid(char out[FHTTP_UUID_LEN])
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, FHTTP_UUID_LEN,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7],
	    b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

void
fhttp_rfc3339(int64_t unix_ms, char out[FHTTP_TIME_LEN])
{
	time_t		secs = (time_t)(unix_ms / 1000);
	struct tm	tm;
	char		buf[64];

	gmtime_r(&secs, &tm);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec, (int)(unix_ms % 1000));
	snprintf(out, FHTTP_TIME_LEN, "%.24s", buf);
}

int64_t
fhttp_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

int64_t
fhttp_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
