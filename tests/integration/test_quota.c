/*
 * The scheduler against the fake upstream at its real 20-per-second limit:
 * a storm of distinct misses never exceeds the quota and never draws a
 * 429; a burst for one secret costs one upstream call; upstream 429s and
 * outages are covered by stale copies; refresh-ahead keeps hot entries
 * fresh without clients waiting.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness_util.h"

struct storm {
	const char	*base;
	int		 ok;
	int		 bad;
	int		 spread;	/* distinct secrets */
	pthread_mutex_t	 lock;
};

static void
storm_one(void *arg, int i)
{
	struct storm *st = arg;
	struct http_resp r;
	char url[300];

	snprintf(url, sizeof(url), "%s/api/v2/secrets/00000000-0000-4000-8000-%012d",
	    st->base, st->spread > 0 ? i % st->spread : 0);
	if (http_get(url, &r) == 0 && r.status == 200) {
		pthread_mutex_lock(&st->lock);
		st->ok++;
		pthread_mutex_unlock(&st->lock);
	} else {
		pthread_mutex_lock(&st->lock);
		st->bad++;
		pthread_mutex_unlock(&st->lock);
		fprintf(stderr, "request %d: status %ld %s\n", i, r.status, r.body ? r.body : "");
	}
	http_resp_free(&r);
}

static void
test_storm_stays_under_quota(void **state)
{
	struct fake *f = fake_start(NULL, "--generate 300");
	struct storm st = { 0 };
	struct proxy *p;
	long long t0, took;

	(void)state;
	assert_non_null(f);
	p = hu_proxy_start(f, NULL, NULL);
	assert_non_null(p);
	usleep(200000);		/* let the proxy fetch its token */
	fake_ctl(f, "POST", "/__fake/reset");
	st.base = p->url;
	st.spread = 300;
	pthread_mutex_init(&st.lock, NULL);
	t0 = harness_now_ms();
	harness_parallel(60, 300, storm_one, &st);
	took = harness_now_ms() - t0;
	fprintf(stderr, "300 misses from 60 clients: %lld ms, upstream max in window %d, 429s %d\n",
	    took, fake_max_in_window(f), fake_count_429(f));
	assert_int_equal(st.ok, 300);
	assert_int_equal(st.bad, 0);
	assert_true(fake_max_in_window(f) <= 20);
	assert_int_equal(fake_count_429(f), 0);
	assert_int_equal(fake_count(f, "GET", "/api/v2/secrets/"), 300);
	/* Using the quota: 300 calls at 20/s need about 15 s, not much more. */
	assert_true(took < 17500);
	hu_stop(p, f);
}

static void
test_burst_for_one_secret_costs_one_call(void **state)
{
	struct fake *f = fake_start(NULL, "--generate 5");
	struct storm st = { 0 };
	struct proxy *p;

	(void)state;
	assert_non_null(f);
	p = hu_proxy_start(f, NULL, NULL);
	assert_non_null(p);
	assert_int_equal(fake_ctl(f, "POST", "/__fake/latency?ms=300"), 200);
	st.base = p->url;
	st.spread = 0;		/* everyone asks for secret 0 */
	pthread_mutex_init(&st.lock, NULL);
	harness_parallel(200, 200, storm_one, &st);
	assert_int_equal(st.ok, 200);
	assert_int_equal(fake_count(f, "GET",
	    "/api/v2/secrets/00000000-0000-4000-8000-000000000000"), 1);
	hu_stop(p, f);
}

/* GET every generated secret; all must be 200 and served as `want`. */
static void
read_all(const struct proxy *p, int n, const char *want)
{
	int i;

	for (i = 0; i < n; i++) {
		struct http_resp r;
		char url[300];

		snprintf(url, sizeof(url), "%s/api/v2/secrets/00000000-0000-4000-8000-%012d",
		    p->url, i);
		assert_int_equal(http_get(url, &r), 0);
		if (r.status != 200)
			fail_msg("secret %d: %ld %s", i, r.status, r.body);
		if (want != NULL)
			assert_string_equal(r.cache, want);
		http_resp_free(&r);
	}
}

static void
test_stale_covers_429_and_outage(void **state)
{
	struct fake *f = fake_start(NULL, "--generate 10");
	const char *args[] = { "--ttl", "1", "--deadline-ms", "3000", NULL };
	struct proxy *p;

	(void)state;
	assert_non_null(f);
	p = hu_proxy_start(f, NULL, args);
	assert_non_null(p);
	read_all(p, 10, "miss");
	/* Upstream throttles from now on, so background refreshes fail too
	 * and every entry goes stale. */
	assert_int_equal(fake_ctl(f, "POST", "/__fake/error?status=429&count=-1&retry_after=1"), 200);
	usleep(1300000);
	read_all(p, 10, "stale");
	assert_int_equal(fake_ctl(f, "POST", "/__fake/error?status=0"), 200);
	assert_int_equal(fake_ctl(f, "POST", "/__fake/down"), 200);
	read_all(p, 10, "stale");
	assert_int_equal(fake_ctl(f, "POST", "/__fake/up"), 200);
	hu_stop(p, f);
}

static void
test_refresh_ahead_keeps_hits(void **state)
{
	struct fake *f = fake_start(NULL, "--generate 3");
	const char *args[] = { "--ttl", "4", NULL };
	struct proxy *p;
	long long until;
	int rounds = 0;

	(void)state;
	assert_non_null(f);
	p = hu_proxy_start(f, NULL, args);
	assert_non_null(p);
	read_all(p, 3, "miss");
	until = harness_now_ms() + 9000;
	while (harness_now_ms() < until) {
		read_all(p, 3, "hit");	/* clients never wait */
		usleep(100000);
		rounds++;
	}
	/* Nine seconds at a 4 s TTL: each secret was refreshed in the
	 * background, at least twice. */
	assert_true(fake_count(f, "GET", "/api/v2/secrets/00000000-0000-4000-8000-000000000000") >= 3);
	assert_true(rounds > 10);
	hu_stop(p, f);
}

static int
dropped(struct fake *f)
{
	json_t *j = fake_log(f);
	int n = (int)json_integer_value(json_object_get(j, "dropped"));

	json_decref(j);
	return n;
}

/* A dead upstream: after a few failures the breaker opens, requests fail
 * fast without reaching upstream, and a probe closes it once SM is back. */
static void
test_circuit_breaker(void **state)
{
	struct fake *f = fake_start(NULL, "--generate 40");
	struct proxy *p;
	char url[300];
	int i, before;
	long long t0, until;
	bool ok = false;

	(void)state;
	assert_non_null(f);
	p = hu_proxy_start(f, NULL, NULL);
	assert_non_null(p);
	usleep(200000);			/* token first */
	assert_int_equal(fake_ctl(f, "POST", "/__fake/down"), 200);
	for (i = 0; i < 4; i++) {	/* 4 requests x up to 3 attempts */
		struct http_resp r;
		snprintf(url, sizeof(url), "%s/api/v2/secrets/00000000-0000-4000-8000-%012d", p->url, i);
		assert_int_equal(http_get(url, &r), 0);
		assert_true(is_sm_error(&r, r.status));
		http_resp_free(&r);
	}
	/* Open: fast SM-shaped 503s, and upstream is left alone. */
	before = dropped(f);
	t0 = harness_now_ms();
	for (i = 10; i < 30; i++) {
		struct http_resp r;
		snprintf(url, sizeof(url), "%s/api/v2/secrets/00000000-0000-4000-8000-%012d", p->url, i);
		assert_int_equal(http_get(url, &r), 0);
		assert_true(is_sm_error(&r, 503));
		assert_true(atoi(r.retry_after) >= 1);
		http_resp_free(&r);
	}
	assert_true(harness_now_ms() - t0 < 1000);
	assert_true(dropped(f) - before <= 1);	/* at most one probe */
	/* Back up: a probe closes the circuit within the backoff. */
	assert_int_equal(fake_ctl(f, "POST", "/__fake/up"), 200);
	until = harness_now_ms() + 35000;
	while (!ok && harness_now_ms() < until) {
		struct http_resp r;
		snprintf(url, sizeof(url), "%s/api/v2/secrets/00000000-0000-4000-8000-%012d", p->url, 39);
		assert_int_equal(http_get(url, &r), 0);
		ok = r.status == 200;
		http_resp_free(&r);
		if (!ok)
			usleep(250000);
	}
	assert_true(ok);
	hu_stop(p, f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_for_one_secret_costs_one_call),
		cmocka_unit_test(test_stale_covers_429_and_outage),
		cmocka_unit_test(test_refresh_ahead_keeps_hits),
		cmocka_unit_test(test_circuit_breaker),
		cmocka_unit_test(test_storm_stays_under_quota),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
