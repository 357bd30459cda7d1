/*
 * limiter: never more than N starts in any rolling window, whatever the
 * arrival pattern; full use of the budget when demand exceeds it; 429
 * back-off and gradual recovery.  Time is simulated, nothing sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "server/limiter.h"

#define WINDOW	1000

/* Most starts in any half-open window [t, t + WINDOW) over sorted times. */
static int
max_in_window(const int64_t *t, int n)
{
	int i, j = 0, best = 0;

	for (i = 0; i < n; i++) {
		while (t[i] - t[j] >= WINDOW)
			j++;
		if (i - j + 1 > best)
			best = i - j + 1;
	}
	return best;
}

/*
 * Simulate: jobs arrive at the given times (sorted); each ms, start as
 * many queued jobs as the limiter allows.  Returns the number started;
 * start times go to starts[].
 */
static int
simulate(struct limiter *l, const int64_t *arrivals, int n, int64_t horizon,
    int64_t *starts)
{
	int next = 0, queued = 0, started = 0;
	int64_t now;

	for (now = 0; now < horizon; now++) {
		while (next < n && arrivals[next] <= now) {
			queued++;
			next++;
		}
		while (queued > 0 && limiter_next_start(l, now) <= now) {
			limiter_record(l, now);
			starts[started++] = now;
			queued--;
		}
	}
	return started;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_property_random_arrivals(void **state)
{
	int trial;

	(void)state;
	srand(12345);
	for (trial = 0; trial < 200; trial++) {
		int rate = 1 + rand() % 40, n = 1 + rand() % 400, i, started;
		int64_t horizon = 20000, *arr = calloc((size_t)n, sizeof(*arr));
		int64_t *starts = calloc((size_t)n, sizeof(*starts));
		struct limiter l;
		int pattern = rand() % 3;

		assert_int_equal(limiter_init(&l, rate, WINDOW + 15), 0);
		for (i = 0; i < n; i++) {
			if (pattern == 0)		/* uniform */
				arr[i] = rand() % 8000;
			else if (pattern == 1)		/* bursts at a few instants */
				arr[i] = (rand() % 5) * 1733;
			else				/* everything at once */
				arr[i] = 0;
		}
		qsort(arr, (size_t)n, sizeof(*arr), cmp64);
		started = simulate(&l, arr, n, horizon, starts);
		assert_true(max_in_window(starts, started) <= rate);
		limiter_cleanup(&l);
		free(arr);
		free(starts);
	}
}

/*
 * Requests leave late by a random delay (a busy thread, a new
 * connection); once the limiter learns when each really left, arrivals at
 * the upstream still never exceed the rate in any window.
 */
static void
test_property_late_departures(void **state)
{
	int trial;

	(void)state;
	srand(777);
	for (trial = 0; trial < 100; trial++) {
		int rate = 1 + rand() % 30, n = 1 + rand() % (rate * 30), started = 0;
		int64_t *arrivals = calloc((size_t)n, sizeof(*arrivals)), now;
		struct limiter l;

		assert_int_equal(limiter_init(&l, rate, WINDOW + 15), 0);
		for (now = 0; now < 60000 && started < n; now++)
			while (started < n && limiter_next_start(&l, now) <= now) {
				int64_t seq = limiter_record(&l, now);
				int64_t sent = now + rand() % 40;
				limiter_correct(&l, seq, sent);
				arrivals[started++] = sent;
			}
		qsort(arrivals, (size_t)started, sizeof(*arrivals), cmp64);
		assert_true(max_in_window(arrivals, started) <= rate);
		assert_int_equal(started, n);
		limiter_cleanup(&l);
		free(arrivals);
	}
}

/* At a high rate the selection must agree with sorting, and stay cheap. */
static void
test_high_rate_selection(void **state)
{
	struct limiter l;
	int rate = 3000, i, round;
	int64_t *copy = calloc((size_t)rate, sizeof(*copy)), now = 0;

	(void)state;
	srand(99);
	assert_int_equal(limiter_init(&l, rate, WINDOW), 0);
	for (round = 0; round < 3 * rate; round++) {
		int64_t seq = limiter_record(&l, now);
		limiter_correct(&l, seq, now + rand() % 50);
		now += rand() % 3;
		if (round % 500 == 499) {
			int n = l.total < rate ? (int)l.total : rate;
			int64_t want;
			memcpy(copy, l.starts, (size_t)n * sizeof(*copy));
			qsort(copy, (size_t)n, sizeof(*copy), cmp64);
			/* The rate-th latest is the smallest of the ring when full. */
			want = n >= l.eff_rate ? copy[n - l.eff_rate] + l.window_ms : now;
			if (want < now)
				want = now;
			assert_int_equal(limiter_next_start(&l, now), want);
		}
	}
	for (i = 0; i < 1000; i++)	/* 1000 decisions over a full ring */
		(void)limiter_next_start(&l, now + i);
	limiter_cleanup(&l);
	free(copy);
}

static void
test_burst_allowed_into_empty_window(void **state)
{
	struct limiter l;
	int i;

	(void)state;
	assert_int_equal(limiter_init(&l, 20, WINDOW), 0);
	for (i = 0; i < 20; i++) {
		assert_int_equal(limiter_next_start(&l, 5), 5);
		limiter_record(&l, 5);
	}
	assert_int_equal(limiter_next_start(&l, 5), 5 + WINDOW);
	assert_int_equal(limiter_in_window(&l, 500), 20);
	limiter_cleanup(&l);
}

static void
test_utilisation_when_saturated(void **state)
{
	struct limiter l;
	int n = 2000, started;
	int64_t *arr = calloc((size_t)n, sizeof(*arr));
	int64_t *starts = calloc((size_t)n, sizeof(*starts));
	double per_second;

	(void)state;
	assert_int_equal(limiter_init(&l, 20, WINDOW + 15), 0);
	started = simulate(&l, arr, n, 30000, starts);
	/* 30 s of saturated demand: close to 20 per second. */
	per_second = started / 30.0;
	assert_true(per_second >= 20 * 0.97);
	assert_true(max_in_window(starts, started) <= 20);
	limiter_cleanup(&l);
	free(arr);
	free(starts);
}

static void
test_429_backoff_and_recovery(void **state)
{
	struct limiter l;
	int64_t now = 10000;

	(void)state;
	assert_int_equal(limiter_init(&l, 20, WINDOW), 0);
	limiter_penalize(&l, now, 3000);
	assert_int_equal(l.eff_rate, 10);
	/* Nothing starts before Retry-After has passed. */
	assert_int_equal(limiter_next_start(&l, now), now + 3000);
	/* A second 429 of the same burst does not halve again. */
	limiter_penalize(&l, now + 10, 1000);
	assert_int_equal(l.eff_rate, 10);
	/* Another one a second later does. */
	limiter_penalize(&l, now + 1100, 1000);
	assert_int_equal(l.eff_rate, 5);
	now += 1100;
	/* Calm for less than LIMITER_CALM_MS: no recovery yet. */
	limiter_tick(&l, now + LIMITER_CALM_MS - 1);
	assert_int_equal(l.eff_rate, 5);
	/* Then one step per LIMITER_RECOVER_MS. */
	limiter_tick(&l, now + LIMITER_CALM_MS);
	assert_int_equal(l.eff_rate, 6);
	limiter_tick(&l, now + LIMITER_CALM_MS + 3 * LIMITER_RECOVER_MS);
	assert_int_equal(l.eff_rate, 9);
	limiter_tick(&l, now + 600000);
	assert_int_equal(l.eff_rate, 20);
	limiter_cleanup(&l);
}

static void
test_lower_rate_respected_in_window(void **state)
{
	struct limiter l;
	int64_t now;
	int started = 0;
	int64_t starts[200];

	(void)state;
	assert_int_equal(limiter_init(&l, 20, WINDOW), 0);
	limiter_penalize(&l, 0, 1000);		/* eff = 10 */
	for (now = 1000; now < 6000 && started < 200; now++)
		while (limiter_next_start(&l, now) <= now && started < 200) {
			limiter_record(&l, now);
			starts[started++] = now;
		}
	assert_true(max_in_window(starts, started) <= 10);
	limiter_cleanup(&l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_property_random_arrivals),
		cmocka_unit_test(test_property_late_departures),
		cmocka_unit_test(test_high_rate_selection),
		cmocka_unit_test(test_burst_allowed_into_empty_window),
		cmocka_unit_test(test_utilisation_when_saturated),
		cmocka_unit_test(test_429_backoff_and_recovery),
		cmocka_unit_test(test_lower_rate_respected_in_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
