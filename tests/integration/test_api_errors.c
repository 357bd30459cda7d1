/*
 * API compatibility, limits and errors: write bodies up to 1 MiB pass and
 * larger ones get an SM-shaped 413 without reaching upstream; paths the
 * proxy does not know are passed through with the upstream's status and
 * body untouched; every error the proxy makes itself is SM-shaped JSON;
 * upstream errors (404, 409, a 500 that outlasts the retries) pass through
 * unchanged.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness_util.h"

#define ARB_ID		"0b5c1e7a-3f2d-4c8e-9a1b-2c3d4e5f6a70"	/* app-config */
#define CERT_ID		"6b1c7ed0-9f8d-4cee-b07b-8c9daebfc0d6"	/* example-cert */
#define MISSING_ID	"9f9f9f9f-0000-4000-8000-000000000404"

static struct fake *fake;
static struct proxy *proxy;
static char *direct_token;

static const char *const json_hdr[] = { "Content-Type: application/json", NULL };

/* ---- helpers ---- */

/* Same status, Content-Type and bytes (trace aside) as the upstream. */
static void
assert_same_answer(const char *what, const struct http_resp *a,
    const struct http_resp *b)
{
	hu_assert_same_bytes(what, a, b);
	if (strcmp(a->content_type, b->content_type) != 0)
		fail_msg("%s: Content-Type %s, upstream said %s", what, a->content_type,
		    b->content_type);
}

/* ---- setup ---- */

static int
setup(void **state)
{
	(void)state;
	return hu_pair_start("--rate-limit 0", &fake, &direct_token, &proxy);
}

static int
teardown(void **state)
{
	(void)state;
	hu_stop(proxy, fake);
	free(direct_token);
	return 0;
}

/* ---- body limits ---- */

/* A create body of exactly total bytes. */
static char *
create_body(const char *name, size_t total)
{
	char *b = malloc(total + 1);
	int n;

	assert_non_null(b);
	n = snprintf(b, 256, "{\"name\":\"%s\",\"secret_type\":\"arbitrary\",\"payload\":\"", name);
	assert_true((size_t)n + 2 < total);
	memset(b + n, 'x', total - (size_t)n - 2);
	strcpy(b + total - 2, "\"}");
	assert_int_equal(strlen(b), total);
	return b;
}

static void
test_body_limits(void **state)
{
	char *ok = create_body("big-900k", 900 * 1024);
	char *edge = create_body("exactly-1mib", 1024 * 1024);
	char *big = create_body("too-big", 1024 * 1024 + 1);
	const char *rotate = "/api/v2/secrets/" ARB_ID "/versions";
	struct http_resp r;
	json_t *j;
	int before = hu_calls(fake, "POST", "/api/v2/secrets");
	int before_rotate = hu_calls(fake, "POST", rotate);

	(void)state;
	hu_call(proxy->url, "POST", "/api/v2/secrets", ok, json_hdr, &r);
	if (r.status != 201)
		fail_msg("a 900 KiB create answered %ld", r.status);
	j = http_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "name")), "big-900k");
	json_decref(j);
	http_resp_free(&r);
	hu_call(proxy->url, "POST", "/api/v2/secrets", edge, json_hdr, &r);
	if (r.status != 201)
		fail_msg("a create of exactly 1 MiB answered %ld", r.status);
	http_resp_free(&r);
	assert_int_equal(hu_calls(fake, "POST", "/api/v2/secrets"), before + 2);

	/* One byte more: the proxy refuses it itself. */
	hu_call(proxy->url, "POST", "/api/v2/secrets", big, json_hdr, &r);
	assert_true(is_sm_error(&r, 413));
	http_resp_free(&r);
	hu_call(proxy->url, "POST", rotate, big, json_hdr, &r);
	assert_true(is_sm_error(&r, 413));
	http_resp_free(&r);
	hu_call(proxy->url, "PATCH", "/api/v2/secrets/" ARB_ID "/metadata", big, json_hdr, &r);
	assert_true(is_sm_error(&r, 413));
	http_resp_free(&r);
	assert_int_equal(hu_calls(fake, "POST", "/api/v2/secrets"), before + 2);
	assert_int_equal(hu_calls(fake, "POST", rotate), before_rotate);
	assert_int_equal(hu_calls(fake, "PATCH", "/api/v2/secrets/" ARB_ID "/metadata"), 0);
	free(ok);
	free(edge);
	free(big);
}

/* ---- unknown paths ---- */

/* A path the proxy does not know: passed through, answered by the fake. */
static void
passes_through(const char *method, const char *path, const char *body, long want)
{
	struct http_resp via, direct;
	char p[2048];
	int before;

	hu_path_of(path, p, sizeof(p));
	before = hu_calls(fake, method, p);
	hu_call(proxy->url, method, path, body, json_hdr, &via);
	if (hu_calls(fake, method, p) != before + 1)
		fail_msg("%s %s did not reach upstream exactly once", method, path);
	hu_direct(fake, direct_token, method, path, body, &direct);
	if (direct.status != want)
		fail_msg("the fake answered %s %s with %ld", method, path, direct.status);
	assert_same_answer(path, &via, &direct);
	http_resp_free(&via);
	http_resp_free(&direct);
}

static void
test_unknown_paths_pass_through(void **state)
{
	(void)state;
	passes_through("GET", "/api/v2/secrets/" ARB_ID "/locks", NULL, 404);
	passes_through("GET", "/api/v2/secrets/" ARB_ID "/locks?limit=10&offset=0", NULL, 404);
	passes_through("GET", "/api/v2/secrets_locks", NULL, 404);
	passes_through("GET", "/api/v2/configurations", NULL, 404);
	passes_through("POST", "/api/v2/notifications/registration",
	    "{\"event_notifications_instance_crn\":\"crn:v1:x\"}", 404);
	passes_through("PUT", "/api/v2/secrets/" ARB_ID, "{}", 405);
	passes_through("POST", "/api/v2/secret_groups", "{\"name\":\"g\"}", 405);
	passes_through("GET", "/api/v1/secrets/arbitrary/" ARB_ID "/versions", NULL, 404);
}

/* ---- errors ---- */

/* The proxy's own answer: SM-shaped, and nothing went upstream. */
static void
own_error(const char *method, const char *path, long want)
{
	struct http_resp r;
	int before = fake_count(fake, NULL, "/api/");

	hu_call(proxy->url, method, path, NULL, NULL, &r);
	if (!is_sm_error(&r, want))
		fail_msg("%s %.80s: want an SM-shaped %ld, got %ld %s: %.300s", method, path,
		    want, r.status, r.content_type, r.body);
	http_resp_free(&r);
	if (fake_count(fake, NULL, "/api/") != before)
		fail_msg("%s %.80s reached upstream", method, path);
}

static void
test_own_errors_are_sm_shaped(void **state)
{
	char *longpath = malloc(9000), *longquery = malloc(9000);

	(void)state;
	own_error("GET", "/api/v2/secrets/not%20an%20id", 400);
	own_error("GET", "/api/v2/secrets/abc%zz", 400);
	own_error("GET", "/api/v2/secrets/" ARB_ID "?unexpected=1", 400);
	own_error("GET", "/api/v2/secrets?limit=abc", 400);
	own_error("GET", "/api/v1/secrets/not_a_type/" ARB_ID, 400);
	own_error("GET", "/nope/" ARB_ID, 404);
	own_error("GET", "/", 404);
	own_error("GET", "/api/v3/secrets", 404);
	own_error("OPTIONS", "/api/v2/secrets", 405);
	own_error("TRACE", "/api/v2/secrets/" ARB_ID, 405);
	own_error("POST", "/healthz", 405);
	own_error("DELETE", "/readyz", 405);
	snprintf(longpath, 9000, "/api/v2/secrets/");
	memset(longpath + 16, 'a', 8000);
	longpath[8016] = '\0';
	own_error("GET", longpath, 414);
	snprintf(longquery, 9000, "/api/v2/secrets?search=");
	memset(longquery + 23, 'b', 4000);
	longquery[4023] = '\0';
	own_error("GET", longquery, 414);
	free(longpath);
	free(longquery);
}

static void
test_upstream_errors_pass_through(void **state)
{
	struct http_resp via, direct;

	(void)state;
	/* A 404 from upstream, cold and then cached. */
	hu_get(proxy->url, "/api/v2/secrets/" MISSING_ID, &via);
	hu_direct(fake, direct_token, "GET", "/api/v2/secrets/" MISSING_ID, NULL, &direct);
	assert_int_equal(direct.status, 404);
	assert_same_answer("upstream 404", &via, &direct);
	http_resp_free(&via);
	hu_get(proxy->url, "/api/v2/secrets/" MISSING_ID, &via);
	assert_same_answer("cached upstream 404", &via, &direct);
	http_resp_free(&via);
	http_resp_free(&direct);
	hu_get(proxy->url, "/api/v1/secrets/arbitrary/" MISSING_ID, &via);
	hu_direct(fake, direct_token, "GET", "/api/v1/secrets/arbitrary/" MISSING_ID, NULL,
	    &direct);
	assert_same_answer("upstream v1 404", &via, &direct);
	http_resp_free(&via);
	http_resp_free(&direct);
	/* A write the upstream refuses (409 conflict on a duplicate name). */
	hu_call(proxy->url, "POST", "/api/v2/secrets", "{\"name\":\"app-config\",\"secret_type\":"
	    "\"arbitrary\",\"payload\":\"dup\"}", json_hdr, &via);
	hu_direct(fake, direct_token, "POST", "/api/v2/secrets",
	    "{\"name\":\"app-config\",\"secret_type\":\"arbitrary\",\"payload\":\"dup\"}",
	    &direct);
	assert_int_equal(direct.status, 409);
	assert_same_answer("upstream 409", &via, &direct);
	http_resp_free(&via);
	http_resp_free(&direct);

	/* A 500 that outlasts the proxy's retries. */
	assert_int_equal(fake_ctl(fake, "POST", "/__fake/error?status=500&count=10"), 200);
	hu_get(proxy->url, "/api/v2/secrets/" CERT_ID "/versions/current", &via);
	hu_direct(fake, direct_token, "GET", "/api/v2/secrets/" CERT_ID "/versions/current",
	    NULL, &direct);
	assert_int_equal(fake_ctl(fake, "POST", "/__fake/error?status=0"), 200);
	assert_int_equal(direct.status, 500);
	assert_same_answer("upstream 500", &via, &direct);
	assert_true(hu_calls(fake, "GET", "/api/v2/secrets/" CERT_ID "/versions/current") >= 2);
	http_resp_free(&via);
	http_resp_free(&direct);
	/* The error was not cached: the next read gets the real answer. */
	hu_get(proxy->url, "/api/v2/secrets/" CERT_ID "/versions/current", &via);
	assert_int_equal(via.status, 200);
	http_resp_free(&via);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_limits),
		cmocka_unit_test(test_unknown_paths_pass_through),
		cmocka_unit_test(test_own_errors_are_sm_shaped),
		cmocka_unit_test(test_upstream_errors_pass_through),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
