/*
 * harness_fake: start, drive and inspect the fake Secrets Manager + IAM
 * server (tests/fake, binary $FAKE_SM_BIN) from C integration tests.
 *
 * fake_start() runs the binary on 127.0.0.1 with a free port in a fresh
 * temp dir under $SMPROXY_TEST_TMP (default /tmp) and waits, at most 10 s,
 * for its port file.  The other calls talk to its control API
 * (/__fake/...) with libcurl and read its request log, so tests can assert
 * on what the upstream saw: call counts, 429s, the busiest rate window.
 *
 * Thread rules: a struct fake belongs to one test thread.
 */
#ifndef HARNESS_FAKE_H
#define HARNESS_FAKE_H

#include <jansson.h>

struct fake;

/*
 * Start fake_sm with --fixtures fixtures_path (NULL: no fixtures) and the
 * space-separated extra_args (NULL: none), e.g. "--rate-limit 5".  Returns
 * the running fake, to be released with fake_stop(), or NULL on failure
 * (the reason is printed on stderr).
 */
struct fake	*fake_start(const char *fixtures_path, const char *extra_args);

/* SIGTERM, wait (bounded, then SIGKILL), remove the temp dir and free f.
 * NULL is a no-op; also fine after fake_kill9(). */
void		 fake_stop(struct fake *f);

/* SIGKILL and reap the process now, keeping f (its port and URL) for
 * fake_stop(); used to make the upstream vanish mid-test. */
void		 fake_kill9(struct fake *f);

int		 fake_port(const struct fake *f);
/* "http://127.0.0.1:PORT", owned by f. */
const char	*fake_url(const struct fake *f);

/* Send method to path_and_query (e.g. "/__fake/latency?ms=100") with an
 * empty body.  Returns the HTTP status, or -1 if there was no answer. */
int		 fake_ctl(struct fake *f, const char *method, const char *path_and_query);

/* The parsed GET /__fake/log body (a new reference the caller
 * json_decref's), or NULL. */
json_t		*fake_log(struct fake *f);

/* How many logged SM calls have this method (NULL: any) and a path
 * starting with path_prefix (NULL: any).  -1 on error. */
int		 fake_count(struct fake *f, const char *method, const char *path_prefix);

/* Counters from GET /__fake/stats; -1 on error. */
int		 fake_max_in_window(struct fake *f);
int		 fake_count_429(struct fake *f);
int		 fake_iam_calls(struct fake *f);

/* Exchange api_key (NULL: "demo-upstream-key") for an access token at the
 * fake's IAM.  Returns a malloc'd token the caller frees, or NULL. */
char		*fake_token(struct fake *f, const char *api_key);

/*
 * An authenticated SM API call straight to the fake, bypassing any proxy,
 * e.g. to rotate or delete a secret "from the console".  The first call
 * fetches a token (one IAM call) and f keeps it; the call itself shows in
 * the fake's log and counts against its rate limit.  body is JSON or NULL.
 * Returns the HTTP status, or -1 with no answer; when json is not NULL,
 * *json is the parsed body (the caller json_decref's; NULL if not JSON).
 */
int		 fake_api(struct fake *f, const char *method, const char *path,
		    const char *body, json_t **json);

/* $SMPROXY_SOURCE_DIR/tests/fake/fixtures/default.json (static storage). */
const char	*fake_fixtures_default(void);

#endif
