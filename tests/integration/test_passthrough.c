/*
 * The first end-to-end path: client -> smproxy -> fake SM -> client.
 * Bytes pass through unchanged, the proxy exchanges its API key once,
 * refreshes its token once on an upstream 401, turns a dead upstream into
 * an SM-shaped error, and never forwards malformed ids.
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

static struct fake *fake;
static struct proxy *proxy;

static int
setup(void **state)
{
	(void)state;
	return hu_pair_start(NULL, &fake, NULL, &proxy);
}

static int
teardown(void **state)
{
	(void)state;
	hu_stop(proxy, fake);
	return 0;
}

static void
test_bytes_pass_through(void **state)
{
	const char *types[] = { "arbitrary", "username_password", "kv", "imported_cert" };
	char url[512], auth[4096];
	char *tok = fake_token(fake, NULL);
	size_t i;

	(void)state;
	assert_non_null(tok);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		struct http_resp via, direct;
		const char *hdr[] = { auth, NULL };
		const char *id = hu_fixture_id(types[i], 0);

		snprintf(url, sizeof(url), "%s/api/v2/secrets/%s", proxy->url, id);
		assert_int_equal(http_get(url, &via), 0);
		snprintf(url, sizeof(url), "%s/api/v2/secrets/%s", fake_url(fake), id);
		assert_int_equal(http_do("GET", url, NULL, hdr, &direct), 0);
		assert_int_equal(via.status, 200);
		assert_int_equal(via.status, direct.status);
		assert_string_equal(via.content_type, direct.content_type);
		assert_int_equal(via.len, direct.len);
		/* retrieved-at style fields could differ between reads; the fake
		 * renders the same bytes for the same secret, so compare all. */
		assert_memory_equal(via.body, direct.body, via.len);
		http_resp_free(&via);
		http_resp_free(&direct);
	}
	free(tok);
}

static void
test_one_token_for_many_requests(void **state)
{
	int before = fake_iam_calls(fake), i;
	char url[512];

	(void)state;
	for (i = 0; i < 40; i++) {
		struct http_resp r;
		snprintf(url, sizeof(url), "%s/api/v2/secrets/%s%s", proxy->url,
		    hu_fixture_id(i % 2 ? "kv" : "arbitrary", 0), i % 3 ? "" : "/metadata");
		assert_int_equal(http_get(url, &r), 0);
		assert_int_equal(r.status, 200);
		http_resp_free(&r);
	}
	/* The proxy fetched its token once, at start; the only other IAM
	 * call is the first test's own fake_token(). */
	assert_int_equal(fake_iam_calls(fake) - before, 0);
	assert_int_equal(fake_iam_calls(fake), 2);
}

static void
test_401_refreshes_token_once(void **state)
{
	int before_iam = fake_iam_calls(fake);
	const char *id = hu_fixture_id("username_password", 0);
	struct http_resp r;
	char url[512], path[256];

	(void)state;
	assert_int_equal(fake_ctl(fake, "POST", "/__fake/revoke_tokens"), 200);
	snprintf(url, sizeof(url), "%s/api/v2/secrets/%s/versions", proxy->url, id);
	assert_int_equal(http_get(url, &r), 0);
	assert_int_equal(r.status, 200);
	http_resp_free(&r);
	assert_int_equal(fake_iam_calls(fake) - before_iam, 1);
	snprintf(path, sizeof(path), "/api/v2/secrets/%s/versions", id);
	/* One 401 with the old token, one 200 with the new one. */
	assert_int_equal(fake_count(fake, "GET", path), 2);
}

static void
test_malformed_ids_never_reach_upstream(void **state)
{
	const char *bad[] = {
		"/api/v2/secrets/..%2F..%2Fetc%2Fpasswd",
		"/api/v2/secrets/a%00b",
		"/api/v2/secrets/%zz",
		"/api/v2/secrets/abc/versions/..",
		"/api/v1/secrets/not_a_type/abc",
		"/api/v2/secret_groups/default/secret_types/nope/secrets/x",
	};
	int before = fake_count(fake, NULL, "/api/");
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct http_resp r;
		char url[512];

		snprintf(url, sizeof(url), "%s%s", proxy->url, bad[i]);
		assert_int_equal(http_get(url, &r), 0);
		if (r.status != 400 && r.status != 404)
			fail_msg("%s answered %ld", bad[i], r.status);
		assert_true(is_sm_error(&r, r.status));
		http_resp_free(&r);
	}
	assert_int_equal(fake_count(fake, NULL, "/api/"), before);
}

static void
test_unknown_path_is_404(void **state)
{
	struct http_resp r;
	char url[512];

	(void)state;
	snprintf(url, sizeof(url), "%s/not/an/endpoint", proxy->url);
	assert_int_equal(http_get(url, &r), 0);
	assert_true(is_sm_error(&r, 404));
	http_resp_free(&r);
}

static void
test_upstream_down_is_sm_error(void **state)
{
	const char *id = hu_fixture_id("arbitrary", 1);
	struct http_resp r;
	char url[512];
	long long t0;

	(void)state;
	assert_int_equal(fake_ctl(fake, "POST", "/__fake/down"), 200);
	snprintf(url, sizeof(url), "%s/api/v2/secrets/%s/metadata", proxy->url, id);
	t0 = harness_now_ms();
	assert_int_equal(http_get(url, &r), 0);
	assert_true(harness_now_ms() - t0 < 15000);
	if (r.status != 502 && r.status != 503 && r.status != 504)
		fail_msg("upstream down answered %ld", r.status);
	assert_true(is_sm_error(&r, r.status));
	http_resp_free(&r);
	assert_int_equal(fake_ctl(fake, "POST", "/__fake/up"), 200);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bytes_pass_through),
		cmocka_unit_test(test_one_token_for_many_requests),
		cmocka_unit_test(test_401_refreshes_token_once),
		cmocka_unit_test(test_malformed_ids_never_reach_upstream),
		cmocka_unit_test(test_unknown_path_is_404),
		cmocka_unit_test(test_upstream_down_is_sm_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
