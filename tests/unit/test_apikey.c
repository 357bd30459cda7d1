/*
 * test_apikey.c: key digests (known vectors, constant-time compare, the
 * all-entries lookup) and the per-peer failure throttle, driven by an
 * injected clock.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "server/apikey.h"

#define T0		((int64_t)5000000)	/* monotonic ms */
#define MINUTE		((int64_t)60000)
#define NKEYS		1000

static void
hex_digest(const char *s, char out[65])
{
	uint8_t d[APIKEY_DIGEST_BYTES];

	apikey_sha256(s, strlen(s), d);
	sodium_bin2hex(out, 65, d, sizeof(d));
}

static void
test_sha256_vectors(void **state)
{
	char hex[65];
	uint8_t d[APIKEY_DIGEST_BYTES];

	(void)state;
	hex_digest("abc", hex);
	assert_string_equal(hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	hex_digest("", hex);
	assert_string_equal(hex,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	hex_digest("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	    hex);
	assert_string_equal(hex,
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	/* Only len bytes count. */
	apikey_sha256("abcdef", 3, d);
	sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
	assert_string_equal(hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_matches(void **state)
{
	uint8_t a[APIKEY_DIGEST_BYTES], b[APIKEY_DIGEST_BYTES];

	(void)state;
	apikey_sha256("key-1", 5, a);
	apikey_sha256("key-1", 5, b);
	assert_true(apikey_matches(a, b));
	b[31] ^= 1;
	assert_false(apikey_matches(a, b));
	b[31] ^= 1;
	b[0] ^= 0x80;
	assert_false(apikey_matches(a, b));
	apikey_sha256("key-2", 5, b);
	assert_false(apikey_matches(a, b));
}

static void
test_find(void **state)
{
	uint8_t (*hashes)[APIKEY_DIGEST_BYTES];
	uint8_t d[APIKEY_DIGEST_BYTES];
	char key[32];
	int i;

	(void)state;
	hashes = calloc(NKEYS, sizeof(*hashes));
	assert_non_null(hashes);
	for (i = 0; i < NKEYS; i++) {
		snprintf(key, sizeof(key), "client-key-%d", i);
		apikey_sha256(key, strlen(key), hashes[i]);
	}
	for (i = 0; i < NKEYS; i += 37) {
		snprintf(key, sizeof(key), "client-key-%d", i);
		apikey_sha256(key, strlen(key), d);
		assert_int_equal(apikey_find(d, (const uint8_t (*)[32])hashes,
		    NKEYS), i);
	}
	apikey_sha256("client-key-999", 14, d);
	assert_int_equal(apikey_find(d, (const uint8_t (*)[32])hashes, NKEYS),
	    NKEYS - 1);
	apikey_sha256("client-key-0", 12, d);
	assert_int_equal(apikey_find(d, (const uint8_t (*)[32])hashes, NKEYS),
	    0);
	/* Not there; only a prefix of the list; an empty list. */
	apikey_sha256("client-key-1000", 15, d);
	assert_int_equal(apikey_find(d, (const uint8_t (*)[32])hashes, NKEYS),
	    -1);
	apikey_sha256("client-key-500", 14, d);
	assert_int_equal(apikey_find(d, (const uint8_t (*)[32])hashes, 500),
	    -1);
	assert_int_equal(apikey_find(d, (const uint8_t (*)[32])hashes, 501),
	    500);
	assert_int_equal(apikey_find(d, (const uint8_t (*)[32])hashes, 0), -1);
	assert_int_equal(apikey_find(d, NULL, 10), -1);
	assert_int_equal(apikey_find(NULL, (const uint8_t (*)[32])hashes, 10),
	    -1);
	/* A duplicate digest: the first index wins. */
	memcpy(hashes[700], hashes[300], APIKEY_DIGEST_BYTES);
	apikey_sha256("client-key-300", 14, d);
	assert_int_equal(apikey_find(d, (const uint8_t (*)[32])hashes, NKEYS),
	    300);
	free(hashes);
}

static void
fail_n(struct apikey_throttle *t, const char *peer, int n, int64_t now)
{
	int i;

	for (i = 0; i < n; i++)
		apikey_throttle_failure(t, peer, now);
}

static void
test_throttle_lockout(void **state)
{
	struct apikey_throttle *t;
	int i;

	(void)state;
	t = apikey_throttle_new(10, MINUTE, MINUTE, 100);
	assert_non_null(t);
	assert_true(apikey_throttle_allowed(t, "10.0.0.1", T0));
	assert_int_equal(apikey_throttle_count(t), 0);
	for (i = 0; i < 9; i++) {
		apikey_throttle_failure(t, "10.0.0.1", T0 + i * 1000);
		assert_true(apikey_throttle_allowed(t, "10.0.0.1",
		    T0 + i * 1000));
	}
	apikey_throttle_failure(t, "10.0.0.1", T0 + 9000);
	assert_false(apikey_throttle_allowed(t, "10.0.0.1", T0 + 9000));
	assert_int_equal(apikey_throttle_locked_for(t, "10.0.0.1", T0 + 9000),
	    MINUTE);
	assert_int_equal(apikey_throttle_locked_for(t, "10.0.0.1", T0 + 10000),
	    MINUTE - 1000);
	/* Others are not affected. */
	assert_true(apikey_throttle_allowed(t, "10.0.0.2", T0 + 9000));
	assert_int_equal(apikey_throttle_locked_for(t, "10.0.0.2", T0), 0);
	/* Failures during the lockout do not extend it. */
	fail_n(t, "10.0.0.1", 50, T0 + 30000);
	assert_false(apikey_throttle_allowed(t, "10.0.0.1",
	    T0 + 9000 + MINUTE - 1));
	assert_true(apikey_throttle_allowed(t, "10.0.0.1", T0 + 9000 + MINUTE));
	/* After the lockout the count starts again from zero. */
	fail_n(t, "10.0.0.1", 9, T0 + 9000 + MINUTE);
	assert_true(apikey_throttle_allowed(t, "10.0.0.1",
	    T0 + 9000 + MINUTE));
	apikey_throttle_failure(t, "10.0.0.1", T0 + 9000 + MINUTE);
	assert_false(apikey_throttle_allowed(t, "10.0.0.1",
	    T0 + 9000 + MINUTE));
	apikey_throttle_free(t);
	apikey_throttle_free(NULL);
}

static void
test_throttle_window(void **state)
{
	struct apikey_throttle *t = apikey_throttle_new(10, MINUTE, MINUTE, 10);

	(void)state;
	assert_non_null(t);
	/* Nine failures, then the window runs out: the count restarts. */
	fail_n(t, "p", 9, T0);
	apikey_throttle_failure(t, "p", T0 + MINUTE);
	assert_true(apikey_throttle_allowed(t, "p", T0 + MINUTE));
	fail_n(t, "p", 8, T0 + MINUTE + 59999);
	assert_true(apikey_throttle_allowed(t, "p", T0 + MINUTE + 59999));
	apikey_throttle_failure(t, "p", T0 + MINUTE + 59999);
	assert_false(apikey_throttle_allowed(t, "p", T0 + MINUTE + 59999));
	/* Slow guessing (one try per window) is never locked out. */
	fail_n(t, "slow", 1, T0);
	fail_n(t, "slow", 1, T0 + MINUTE);
	fail_n(t, "slow", 1, T0 + 2 * MINUTE);
	assert_true(apikey_throttle_allowed(t, "slow", T0 + 2 * MINUTE));
	apikey_throttle_free(t);
}

static void
test_throttle_success(void **state)
{
	struct apikey_throttle *t = apikey_throttle_new(10, MINUTE, MINUTE, 10);

	(void)state;
	fail_n(t, "p", 9, T0);
	apikey_throttle_success(t, "p", T0);
	assert_int_equal(apikey_throttle_count(t), 0);
	fail_n(t, "p", 9, T0 + 1);
	assert_true(apikey_throttle_allowed(t, "p", T0 + 1));
	apikey_throttle_success(t, "unknown", T0);
	apikey_throttle_free(t);
}

static void
test_throttle_bounded(void **state)
{
	struct apikey_throttle *t = apikey_throttle_new(10, MINUTE, MINUTE, 4);
	char peer[32];
	int i;

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(peer, sizeof(peer), "192.0.2.%d", i);
		apikey_throttle_failure(t, peer, T0 + i);
		assert_true(apikey_throttle_count(t) <= 4);
	}
	assert_int_equal(apikey_throttle_count(t), 4);
	/* The newest peers are still tracked: 9 more failures lock one. */
	fail_n(t, "192.0.2.999", 9, T0 + 1000);
	assert_false(apikey_throttle_allowed(t, "192.0.2.999", T0 + 1000));
	apikey_throttle_free(t);
}

/* When full, an entry that has nothing left to remember goes before the
 * oldest one, so a locked-out peer is not released by a flood of new
 * addresses while stale entries exist. */
static void
test_throttle_evicts_stale_first(void **state)
{
	struct apikey_throttle *t = apikey_throttle_new(2, 1000, 100000, 3);

	(void)state;
	fail_n(t, "A", 2, T0);			/* locked until T0+100000 */
	apikey_throttle_failure(t, "B", T0 + 10);	/* stale from T0+1010 */
	apikey_throttle_failure(t, "C", T0 + 5000);	/* fresh at T0+5500 */
	assert_int_equal(apikey_throttle_count(t), 3);
	apikey_throttle_failure(t, "D", T0 + 5500);
	assert_int_equal(apikey_throttle_count(t), 3);
	assert_false(apikey_throttle_allowed(t, "A", T0 + 5500));
	/* C and D each have one failure in their window: one more locks. */
	apikey_throttle_failure(t, "C", T0 + 5600);
	apikey_throttle_failure(t, "D", T0 + 5600);
	assert_false(apikey_throttle_allowed(t, "C", T0 + 5600));
	assert_false(apikey_throttle_allowed(t, "D", T0 + 5600));
	/* Nothing is stale now: the oldest (A) goes. */
	apikey_throttle_failure(t, "E", T0 + 5700);
	assert_true(apikey_throttle_allowed(t, "A", T0 + 5700));
	apikey_throttle_free(t);
}

static void
test_throttle_names(void **state)
{
	struct apikey_throttle *t = apikey_throttle_new(1, MINUTE, MINUTE, 10);
	char long_a[200], long_b[200];

	(void)state;
	memset(long_a, 'x', sizeof(long_a) - 1);
	long_a[sizeof(long_a) - 1] = '\0';
	memcpy(long_b, long_a, sizeof(long_b));
	long_b[150] = 'y';
	apikey_throttle_failure(t, long_a, T0);
	assert_false(apikey_throttle_allowed(t, long_a, T0));
	assert_true(apikey_throttle_allowed(t, long_b, T0));
	/* A NULL peer is the empty name. */
	apikey_throttle_failure(t, NULL, T0);
	assert_false(apikey_throttle_allowed(t, NULL, T0));
	assert_false(apikey_throttle_allowed(t, "", T0));
	/* Arguments below 1 are raised to 1. */
	apikey_throttle_free(t);
	t = apikey_throttle_new(0, 0, 0, 0);
	assert_non_null(t);
	apikey_throttle_failure(t, "a", T0);
	assert_false(apikey_throttle_allowed(t, "a", T0));
	assert_true(apikey_throttle_allowed(t, "a", T0 + 1));
	assert_true(apikey_throttle_allowed(NULL, "a", T0));
	apikey_throttle_free(t);
}

struct worker {
	struct apikey_throttle	*t;
	int			 id;
};

static void *
hammer(void *arg)
{
	struct worker *w = arg;
	char peer[32];
	int i;

	for (i = 0; i < 2000; i++) {
		snprintf(peer, sizeof(peer), "w%d-%d", w->id, i % 50);
		if (apikey_throttle_allowed(w->t, peer, T0 + i))
			apikey_throttle_failure(w->t, peer, T0 + i);
		if (i % 7 == 0)
			apikey_throttle_success(w->t, peer, T0 + i);
	}
	return NULL;
}

static void
test_throttle_threads(void **state)
{
	struct apikey_throttle *t = apikey_throttle_new(5, MINUTE, MINUTE, 64);
	struct worker w[4];
	pthread_t th[4];
	int i;

	(void)state;
	for (i = 0; i < 4; i++) {
		w[i].t = t;
		w[i].id = i;
		assert_int_equal(pthread_create(&th[i], NULL, hammer, &w[i]), 0);
	}
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_true(apikey_throttle_count(t) <= 64);
	apikey_throttle_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_matches),
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_throttle_lockout),
		cmocka_unit_test(test_throttle_window),
		cmocka_unit_test(test_throttle_success),
		cmocka_unit_test(test_throttle_bounded),
		cmocka_unit_test(test_throttle_evicts_stale_first),
		cmocka_unit_test(test_throttle_names),
		cmocka_unit_test(test_throttle_threads),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
