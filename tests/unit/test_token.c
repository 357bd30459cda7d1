/*
 * token: the proxy's upstream IAM token cache, with an injected clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/token.h"

static const char *good =
    "{\"access_token\":\"aaa.bbb.ccc\",\"refresh_token\":\"r\",\"token_type\":\"Bearer\","
    "\"expires_in\":3600,\"expiration\":1000003600}";

static int
setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void
test_fetch_refresh_expiry(void **state)
{
	struct token t;
	char why[128];

	(void)state;
	token_init(&t);
	assert_true(token_should_fetch(&t, 0));
	assert_false(token_usable(&t, 0));
	t.fetching = true;
	assert_false(token_should_fetch(&t, 0));	/* one exchange at a time */
	assert_int_equal(token_accept(&t, good, strlen(good), 1000, 1000000000,
	    why, sizeof(why)), 0);
	assert_string_equal(t.access, "aaa.bbb.ccc");
	assert_true(token_usable(&t, 1000));
	/* Refresh from 80 % of the lifetime, not before. */
	assert_false(token_should_fetch(&t, 1000 + 3600 * 800 - 1));
	assert_true(token_should_fetch(&t, 1000 + 3600 * 800));
	/* Still usable until 10 s before expiry. */
	assert_true(token_usable(&t, 1000 + 3600000 - TOKEN_EARLY_EXPIRY_MS - 1));
	assert_false(token_usable(&t, 1000 + 3600000 - TOKEN_EARLY_EXPIRY_MS));
	assert_int_equal(t.expiry_wall, 1000003600);
	token_cleanup(&t);
}

static void
test_expiration_shortens_life(void **state)
{
	struct token t;
	char why[128];

	(void)state;
	token_init(&t);
	/* IAM's absolute expiration says 100 s left although expires_in says 3600. */
	assert_int_equal(token_accept(&t, good, strlen(good), 0, 1000003500,
	    why, sizeof(why)), 0);
	assert_false(token_usable(&t, 100000));
	assert_true(token_usable(&t, 89999));
	token_cleanup(&t);
}

static void
test_bad_responses_back_off(void **state)
{
	const char *bad[] = {
		"not json", "[]", "{\"expires_in\":3600}",
		"{\"access_token\":\"\",\"expires_in\":3600}",
		"{\"access_token\":\"x\"}",
		"{\"access_token\":\"x\",\"expires_in\":-5}",
		"{\"access_token\":7,\"expires_in\":60}",
	};
	struct token t;
	char why[128];
	size_t i;

	(void)state;
	token_init(&t);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(token_accept(&t, bad[i], strlen(bad[i]), 0, 0,
		    why, sizeof(why)), -1);
		assert_null(t.access);
		assert_null(strstr(why, "aaa"));
	}
	/* Backoff doubled with each failure, capped at 30 s. */
	assert_int_equal(t.failures, (int)(sizeof(bad) / sizeof(bad[0])));
	assert_int_equal(t.next_attempt, 30000);
	assert_false(token_should_fetch(&t, 29999));
	assert_true(token_should_fetch(&t, 30000));
	token_failed(&t, 100000);
	assert_int_equal(t.next_attempt, 130000);
	token_cleanup(&t);
}

static void
test_backoff_sequence(void **state)
{
	struct token t;

	(void)state;
	token_init(&t);
	token_failed(&t, 0);
	assert_int_equal(t.next_attempt, 1000);
	token_failed(&t, 0);
	assert_int_equal(t.next_attempt, 2000);
	token_failed(&t, 0);
	assert_int_equal(t.next_attempt, 4000);
	token_cleanup(&t);
}

static void
test_invalidate_only_current_generation(void **state)
{
	struct token t;
	char why[128];
	uint64_t gen;

	(void)state;
	token_init(&t);
	assert_int_equal(token_accept(&t, good, strlen(good), 0, 1000000000, why, sizeof(why)), 0);
	gen = t.generation;
	assert_int_equal(token_accept(&t, good, strlen(good), 5, 1000000000, why, sizeof(why)), 0);
	/* A 401 for a request sent with the old token does not drop the new one. */
	token_invalidate(&t, gen);
	assert_non_null(t.access);
	token_invalidate(&t, t.generation);
	assert_null(t.access);
	assert_true(token_should_fetch(&t, 6));
	token_cleanup(&t);
}

static void
test_form_encodes_key(void **state)
{
	size_t len;
	char *form = token_form("a+b&c=d ~x", &len);

	(void)state;
	assert_non_null(form);
	assert_string_equal(form,
	    "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey"
	    "&apikey=a%2Bb%26c%3Dd%20~x&response_type=cloud_iam");
	assert_int_equal(len, strlen(form));
	token_form_free(form);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fetch_refresh_expiry),
		cmocka_unit_test(test_expiration_shortens_life),
		cmocka_unit_test(test_bad_responses_back_off),
		cmocka_unit_test(test_backoff_sequence),
		cmocka_unit_test(test_invalidate_only_current_generation),
		cmocka_unit_test(test_form_encodes_key),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
