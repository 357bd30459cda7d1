/*
 * fake_http: request and response plumbing shared by every part of the
 * fake Secrets Manager + IAM server (tests/fake).
 *
 * A struct freq holds one HTTP request as the handlers see it: the raw
 * request target exactly as the client sent it, the path split into
 * percent-decoded segments (so Go url.PathEscape and JS encodeURIComponent
 * spellings of the same name land on the same segment), the raw query, the
 * headers the handlers care about and the request body.  A struct fresp is
 * what a handler produces: status, body, content type and the optional
 * Retry-After and Allow headers.  fake_main.c turns it into an MHD response.
 *
 * Also here: SM-shaped error bodies, UUIDv4s, RFC 3339 timestamps with
 * milliseconds and the clocks.
 *
 * Thread rules: every function is safe from any thread; a freq or fresp
 * belongs to the connection thread that handles the request.
 */
#ifndef FAKE_HTTP_H
#define FAKE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define FHTTP_MAX_SEGS		12
#define FHTTP_TIME_LEN		25	/* "2024-01-01T00:00:00.000Z" + NUL */
#define FHTTP_UUID_LEN		37	/* 36 chars + NUL */
#define FHTTP_BODY_MAX		(1024 * 1024)

#define FHTTP_JSON		"application/json"

struct freq {
	char		*target;	/* raw request target (path + query) */
	char		*path;		/* raw path, before '?' */
	char		*query;		/* raw query without '?'; "" if none */
	char		*segs[FHTTP_MAX_SEGS];	/* decoded path segments */
	size_t		 nsegs;
	bool		 bad_path;	/* a segment has a bad %-escape */
	bool		 long_path;	/* more than FHTTP_MAX_SEGS segments */
	const char	*method;	/* libmicrohttpd's storage */
	const char	*host;		/* Host header or NULL (MHD's storage) */
	const char	*authorization;	/* Authorization header or NULL */
	char		*body;		/* NUL-terminated request body */
	size_t		 body_len;
	size_t		 body_cap;
	bool		 body_too_large;
	bool		 started;	/* the first access callback has run */
};

struct fresp {
	int		 status;	/* HTTP status; 0 means "no answer yet" */
	char		*body;		/* malloc'd body or NULL */
	size_t		 body_len;
	const char	*content_type;	/* static string or NULL */
	int		 retry_after_s;	/* < 0: no Retry-After header */
	const char	*allow;		/* static Allow header value or NULL */
};

/*
 * A request for the raw target (e.g. "/api/v2/secrets/x?limit=2"): split
 * into path, query and decoded segments.  Returns a request the caller frees
 * with fhttp_req_free(), or NULL on allocation failure.  A malformed path
 * does not fail here; it sets bad_path or long_path.
 */
struct freq	*fhttp_req_new(const char *target);
void		 fhttp_req_free(struct freq *rq);	/* NULL is a no-op */

/* Append upload data; past FHTTP_BODY_MAX the rest is dropped and
 * body_too_large is set.  Returns 0, or -1 on allocation failure. */
int		 fhttp_req_append_body(struct freq *rq, const char *data, size_t len);

/*
 * Percent-decode len bytes of in ("+" becomes a space only when
 * plus_is_space, as in form and query encoding).  On 0 *out is a malloc'd
 * NUL-terminated string the caller frees; on -1 (bad escape, embedded NUL,
 * no memory) *out is NULL.
 */
int		 fhttp_decode(const char *in, size_t len, bool plus_is_space,
		    char **out);

/*
 * The decoded value of the first key=value pair named key in a raw
 * "a=1&b=2" string (a query or a form body).  Returns a malloc'd string the
 * caller frees ("" for "key" or "key="), or NULL when the key is absent or
 * its value is badly encoded.
 */
char		*fhttp_form_value(const char *form, const char *key);

/* True when the form or query string has the key at all. */
bool		 fhttp_form_has(const char *form, const char *key);

/*
 * Parse a whole string of decimal digits, 0 <= value <= max.  Returns 0 and
 * sets *out, or -1 (with *out = 0) for anything else (sign, spaces, empty,
 * overflow).
 */
int		 fhttp_parse_uint(const char *s, long long max, long long *out);

/* Response builders.  Each replaces everything the response held before
 * (headers included), so set retry_after_s or allow afterwards. */
void		 fhttp_resp_json(struct fresp *rs, int status, json_t *body);	/* steals body */
void		 fhttp_resp_sm_error(struct fresp *rs, int status, const char *code,
		    const char *message);
void		 fhttp_resp_iam_error(struct fresp *rs, int status, const char *code,
		    const char *message);
void		 fhttp_resp_empty(struct fresp *rs, int status);
void		 fhttp_resp_init(struct fresp *rs);
void		 fhttp_resp_cleanup(struct fresp *rs);

/* The SM error code for a status: 400 bad_request, 401 unauthorized, ... */
const char	*fhttp_code_for(int status);

/* A fresh random lowercase UUIDv4. */
void		 fhttp_uuid(char out[FHTTP_UUID_LEN]);

/* RFC 3339 UTC with milliseconds for a wall-clock time in ms since 1970. */
void		 fhttp_rfc3339(int64_t unix_ms, char out[FHTTP_TIME_LEN]);

int64_t		 fhttp_mono_us(void);	/* CLOCK_MONOTONIC in microseconds */
int64_t		 fhttp_wall_ms(void);	/* CLOCK_REALTIME in milliseconds */

#endif
