/*
 * harness_util: what several integration tests do the same way on top of
 * harness.h and harness_fake.h: start a proxy in front of a fake, call it
 * and the fake directly, count what the fake saw, read /metrics text,
 * check log files, and keep track of live processes so that a failed
 * assertion leaves nothing running.
 *
 * Most calls check their own work with cmocka assertions, so they are
 * for a test's main thread, inside a cmocka test, setup or teardown.
 * hu_call and hu_get keep no state and also serve harness_parallel
 * workers, where they fail only if the proxy does not answer at all.
 */
#ifndef SMPROXY_HARNESS_UTIL_H
#define SMPROXY_HARNESS_UTIL_H

#include <jansson.h>
#include <stddef.h>

#include "tests/integration/harness.h"
#include "tests/integration/harness_fake.h"

/* ---- the default fixtures ---- */

/* cmocka group setup and teardown: load (0, or -1 if that fails) and
 * free the default fixtures that hu_fixtures() returns in between. */
int		 hu_fixtures_setup(void **state);
int		 hu_fixtures_teardown(void **state);
/* The parsed default fixtures (a borrowed reference), or NULL. */
json_t		*hu_fixtures(void);
/* The id of the nth (from 0) fixture secret of a type; asserts that it
 * exists.  Static storage, valid for the next 7 calls. */
const char	*hu_fixture_id(const char *type, int nth);

/* ---- proxies in front of a fake ---- */

/* Start smproxy with f as SM and IAM, in state folder dir (NULL: a new
 * one) with extra flags args (NULL-terminated, or NULL).  Returns the
 * proxy, or NULL on failure. */
struct proxy	*hu_proxy_start(struct fake *f, const char *dir,
		    const char *const *args);
/*
 * Start a fake with the default fixtures and extra flags fake_args (or
 * NULL); then, when token is not NULL, fetch the fake's own token into
 * *token (see fake_token; the caller frees it); then a proxy in front of
 * the fake.  Returns 0, or -1 when a step failed; what did start is in
 * *f and *p either way, for hu_stop.
 */
int		 hu_pair_start(const char *fake_args, struct fake **f, char **token,
		    struct proxy **p);
/* Stop p, asserting that it exits 0, and free it; then stop f.  Either
 * may be NULL. */
void		 hu_stop(struct proxy *p, struct fake *f);
/* Start a proxy that must refuse to run: asserts that it exits with a
 * failure within timeout_ms and returns its log (malloc'd). */
char		*hu_proxy_refused(struct fake *f, const char *dir,
		    const char *const *args, int timeout_ms);

/*
 * Live processes.  What a test starts with these calls is killed and
 * freed by hu_live_cleanup(), a cmocka teardown, unless the test ended
 * it itself; at most 8 fakes and 8 proxies at a time.  The log of every
 * proxy started here is remembered for hu_live_log_path().
 */
struct fake	*hu_live_fake(const char *fixtures_path, const char *args);
void		 hu_live_fake_stop(struct fake *f);
struct proxy	*hu_live_proxy(struct fake *f, const char *dir,
		    const char *const *args);
/* Stop p (asserting exit status 0), forget it and free it. */
void		 hu_live_proxy_stop(struct proxy *p);
/* Forget p, which the caller then reaps and frees itself. */
void		 hu_live_proxy_forget(struct proxy *p);
int		 hu_live_cleanup(void **state);
/* How many logs were remembered, and the path of log i (static). */
int		 hu_live_log_count(void);
const char	*hu_live_log_path(int i);

/* ---- HTTP ---- */

/* method base+path with body (or NULL) and headers (NULL-terminated, or
 * NULL) into *r, which the caller frees; fails the test when no HTTP
 * answer arrives. */
void		 hu_call(const char *base, const char *method, const char *path,
		    const char *body, const char *const *hdrs, struct http_resp *r);
void		 hu_get(const char *base, const char *path, struct http_resp *r);
/* The same straight to the fake, bypassing any proxy, with the fake's
 * token (see fake_token) and a JSON Content-Type. */
void		 hu_direct(struct fake *f, const char *token, const char *method,
		    const char *path, const char *body, struct http_resp *r);
/* POST an IAM-style API key exchange for key to base/identity/token,
 * with extra_header (or NULL) too.  Returns http_do's result. */
int		 hu_token_request(const char *base, const char *key,
		    const char *extra_header, struct http_resp *r);

/* ---- what the fake saw ---- */

/* SM calls the fake logged with this method and exactly this path;
 * asserts that the log can be read. */
int		 hu_calls(struct fake *f, const char *method, const char *path);
/* The path part of a request target, copied into buf; returns buf. */
const char	*hu_path_of(const char *target, char *buf, size_t len);
/* Fails the test unless a and b have the same status and the same bytes,
 * the value of "trace" aside (SM error bodies carry a fresh one). */
void		 hu_assert_same_bytes(const char *what, const struct http_resp *a,
		    const struct http_resp *b);

/* ---- metrics ---- */

/* The value of one series ("name" or "name{labels}" exactly as rendered)
 * in exposition text, or missing when it is not there. */
double		 hu_series(const char *text, const char *name, double missing);

/* ---- logs and files ---- */

/* A whole file (malloc'd, NUL-terminated; *len is its size when len is
 * not NULL), or NULL. */
char		*hu_read_file(const char *path, size_t *len);
/* Fails the test unless line is logfmt with ts= and level= first, and a
 * request or audit line is tagged log=access or log=audit.  file names
 * the log in the failure message. */
void		 hu_check_log_line(const char *file, const char *line);
/* Fails the test if text holds the upstream key, a bearer token or a
 * secret value of the default fixtures (hu_fixtures_setup first). */
void		 hu_check_no_secret(const char *file, const char *text);
/* Replace path with text, mode 0600, atomically (write, then rename). */
void		 hu_write_file(const char *path, const char *text);
/* Lower-case hex SHA-256 of s (static storage, valid until the next
 * call). */
const char	*hu_sha256_hex(const char *s);

#endif
