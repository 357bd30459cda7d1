/*
 * sched queueing, without the thread or the network: singleflight,
 * priority classes, round robin between clients, deadlines and the
 * bounded queue.  Time is passed in; nothing sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "config/config.h"
#include "server/sched_int.h"

struct tw {
	struct sched_waiter	w;
	struct route		r;
	int			done;
};

static struct cfg cfg;
static char api_key[] = "k";

static void
on_done(struct sched_waiter *w)
{
	struct tw *t = w->arg;

	t->done++;
}

static struct tw *
waiter(const char *client, const char *target, int64_t deadline, bool stale)
{
	struct tw *t = calloc(1, sizeof(*t));
	struct route_error err;

	assert_int_equal(route_parse(&t->r, "GET", target, &err), 0);
	t->w.route = &t->r;
	t->w.method = "GET";
	snprintf(t->w.client, sizeof(t->w.client), "%s", client);
	t->w.deadline = deadline;
	t->w.has_stale = stale;
	t->w.done = on_done;
	t->w.arg = t;
	return t;
}

static void
tw_free(struct tw *t)
{
	sched_result_release(t->w.result);
	free(t);
}

static struct sched *
new_sched(int queue_max)
{
	struct sched *s;

	memset(&cfg, 0, sizeof(cfg));
	cfg.rate_limit = 20;
	cfg.queue_max = queue_max;
	cfg.api_key = api_key;
	cfg.upstream_url = "http://127.0.0.1:9";
	cfg.iam_url = "http://127.0.0.1:9";
	s = sched_new(&cfg, NULL);
	assert_non_null(s);
	return s;
}

static void
test_singleflight(void **state)
{
	struct sched *s = new_sched(100);
	struct tw *t[200];
	struct job *j;
	int i;

	(void)state;
	for (i = 0; i < 200; i++) {
		t[i] = waiter(i % 2 ? "a" : "b",
		    "/api/v2/secrets/11111111-2222-4333-8444-555555555555", 10000, false);
		sched_accept_waiter(s, &t[i]->w, 0);
	}
	assert_int_equal(s->queued_total, 1);
	j = sched_next_job(s);
	assert_non_null(j);
	assert_int_equal(j->nwaiters, 200);
	assert_null(sched_next_job(s));
	/* One answer reaches everyone: one miss, the rest coalesced. */
	{
		struct sched_result *r = result_new(200, "application/json",
		    (const uint8_t *)"{}", 2);
		int misses = 0, coalesced = 0;
		sched_answer(s, j, r);
		sched_result_release(r);
		for (i = 0; i < 200; i++) {
			assert_int_equal(t[i]->done, 1);
			assert_int_equal(t[i]->w.result->status, 200);
			misses += t[i]->w.cache_state == CACHE_MISS;
			coalesced += t[i]->w.cache_state == CACHE_COALESCED;
			tw_free(t[i]);
		}
		assert_int_equal(misses, 1);
		assert_int_equal(coalesced, 199);
	}
	sched_free(s);
}

static void
test_writes_never_coalesce(void **state)
{
	struct sched *s = new_sched(100);
	struct tw *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	struct route_error err;
	struct job *j;

	(void)state;
	assert_int_equal(route_parse(&a->r, "POST",
	    "/api/v2/secrets/11111111-2222-4333-8444-555555555555/versions", &err), 0);
	b->r = a->r;
	a->w = (struct sched_waiter){ .route = &a->r, .method = "POST",
	    .deadline = 1000, .done = on_done, .arg = a };
	b->w = (struct sched_waiter){ .route = &b->r, .method = "POST",
	    .deadline = 1000, .done = on_done, .arg = b };
	snprintf(a->w.client, sizeof(a->w.client), "x");
	snprintf(b->w.client, sizeof(b->w.client), "x");
	sched_accept_waiter(s, &a->w, 0);
	sched_accept_waiter(s, &b->w, 0);
	assert_int_equal(s->queued_total, 2);
	j = sched_next_job(s);
	assert_int_equal(j->prio, SCHED_PRIO_WRITE);
	assert_int_equal(j->nwaiters, 1);
	sched_answer_error(s, j, 503, NULL, "x", 0);
	j = sched_next_job(s);
	assert_int_equal(j->nwaiters, 1);
	sched_answer_error(s, j, 503, NULL, "x", 0);
	tw_free(a);
	tw_free(b);
	sched_free(s);
}

static void
test_fair_between_clients(void **state)
{
	struct sched *s = new_sched(5000);
	struct tw *noisy[1000], *quiet[10];
	int i, slot, quiet_done = 0, last_quiet_slot = -1;
	char target[128];

	(void)state;
	for (i = 0; i < 1000; i++) {
		snprintf(target, sizeof(target),
		    "/api/v2/secrets/00000000-0000-4000-8000-%012d", i);
		noisy[i] = waiter("noisy", target, 100000, false);
		sched_accept_waiter(s, &noisy[i]->w, 0);
	}
	/* The quiet client arrives after the flood. */
	for (i = 0; i < 10; i++) {
		snprintf(target, sizeof(target),
		    "/api/v2/secrets/99999999-0000-4000-8000-%012d", i);
		quiet[i] = waiter("quiet", target, 100000, false);
		sched_accept_waiter(s, &quiet[i]->w, 1);
	}
	for (slot = 0; quiet_done < 10; slot++) {
		struct job *j = sched_next_job(s);
		assert_non_null(j);
		if (strcmp(j->client, "quiet") == 0) {
			quiet_done++;
			last_quiet_slot = slot;
		}
		sched_answer_error(s, j, 503, NULL, "x", 0);
	}
	/* Round robin: the quiet client's 10 jobs are done within 20 slots. */
	assert_true(last_quiet_slot < 20);
	while (s->queued_total > 0) {
		struct job *j = sched_next_job(s);
		sched_answer_error(s, j, 503, NULL, "x", 0);
	}
	for (i = 0; i < 1000; i++)
		tw_free(noisy[i]);
	for (i = 0; i < 10; i++)
		tw_free(quiet[i]);
	sched_free(s);
}

static void
test_priority_classes_and_promotion(void **state)
{
	struct sched *s = new_sched(100);
	const char *k1 = "v2/secret/11111111-2222-4333-8444-555555555555";
	struct tw *c, *w;
	struct route_error err;
	struct job *j;

	(void)state;
	sched_accept_refresh(s, k1, 0);
	sched_accept_refresh(s, "v2/secret/aaaaaaaa-2222-4333-8444-555555555555", 0);
	assert_int_equal(s->queues[SCHED_PRIO_REFRESH].njobs, 2);
	/* A duplicate refresh is ignored. */
	sched_accept_refresh(s, k1, 0);
	assert_int_equal(s->queues[SCHED_PRIO_REFRESH].njobs, 2);

	w = calloc(1, sizeof(*w));
	assert_int_equal(route_parse(&w->r, "DELETE",
	    "/api/v2/secrets/bbbbbbbb-2222-4333-8444-555555555555", &err), 0);
	w->w = (struct sched_waiter){ .route = &w->r, .method = "DELETE",
	    .deadline = 1000, .done = on_done, .arg = w };
	sched_accept_waiter(s, &w->w, 0);
	/* A client now waits for k1: the refresh is promoted to the client class. */
	c = waiter("app", "/api/v2/secrets/11111111-2222-4333-8444-555555555555", 1000, false);
	sched_accept_waiter(s, &c->w, 0);
	assert_int_equal(s->queues[SCHED_PRIO_REFRESH].njobs, 1);
	assert_int_equal(s->queues[SCHED_PRIO_CLIENT].njobs, 1);

	j = sched_next_job(s);
	assert_int_equal(j->prio, SCHED_PRIO_CLIENT);
	assert_int_equal(j->nwaiters, 1);
	sched_answer_error(s, j, 503, NULL, "x", 0);
	j = sched_next_job(s);
	assert_int_equal(j->prio, SCHED_PRIO_WRITE);
	sched_answer_error(s, j, 503, NULL, "x", 0);
	j = sched_next_job(s);
	assert_int_equal(j->prio, SCHED_PRIO_REFRESH);
	assert_int_equal(j->nwaiters, 0);
	sched_job_free(s, j);
	assert_null(sched_next_job(s));
	tw_free(c);
	tw_free(w);
	sched_free(s);
}

static void
test_deadlines(void **state)
{
	struct sched *s = new_sched(100);
	struct tw *early = waiter("a", "/api/v2/secrets/11111111-2222-4333-8444-555555555555", 500, false);
	struct tw *stale = waiter("b", "/api/v2/secrets/11111111-2222-4333-8444-555555555555", 600, true);
	struct tw *late = waiter("c", "/api/v2/secrets/22222222-2222-4333-8444-555555555555", 5000, false);
	json_t *body;

	(void)state;
	sched_accept_waiter(s, &early->w, 0);
	sched_accept_waiter(s, &stale->w, 0);
	sched_accept_waiter(s, &late->w, 0);
	sched_scan_deadlines(s, 499);
	assert_int_equal(early->done + stale->done + late->done, 0);
	sched_scan_deadlines(s, 600);
	/* Past its deadline without a copy: an SM-shaped 429 with Retry-After. */
	assert_int_equal(early->done, 1);
	assert_int_equal(early->w.outcome, SCHED_ANSWER);
	assert_int_equal(early->w.result->status, 429);
	assert_true(early->w.result->retry_after_s >= 1);
	body = json_loadb((const char *)early->w.result->body, early->w.result->body_len, 0, NULL);
	assert_non_null(json_array_get(json_object_get(body, "errors"), 0));
	json_decref(body);
	/* With a stale copy: told to serve it. */
	assert_int_equal(stale->done, 1);
	assert_int_equal(stale->w.outcome, SCHED_USE_STALE);
	/* The job nobody waits for is gone, and its key is free again. */
	assert_int_equal(s->queued_total, 1);
	assert_null(strmap_get(s->by_key, early->r.key));
	assert_int_equal(late->done, 0);
	sched_scan_deadlines(s, 5000);
	assert_int_equal(late->done, 1);
	assert_int_equal(s->queued_total, 0);
	tw_free(early);
	tw_free(stale);
	tw_free(late);
	sched_free(s);
}

static void
test_queue_bound(void **state)
{
	struct sched *s = new_sched(3);
	struct tw *t[5];
	char target[128];
	int i;

	(void)state;
	for (i = 0; i < 5; i++) {
		snprintf(target, sizeof(target),
		    "/api/v2/secrets/00000000-0000-4000-8000-%012d", i);
		t[i] = waiter("x", target, 1000, i == 4);
		sched_accept_waiter(s, &t[i]->w, 0);
	}
	assert_int_equal(s->queued_total, 3);
	assert_int_equal(t[3]->done, 1);
	assert_int_equal(t[3]->w.result->status, 429);
	assert_int_equal(t[4]->done, 1);
	assert_int_equal(t[4]->w.outcome, SCHED_USE_STALE);
	sched_scan_deadlines(s, 1000);
	for (i = 0; i < 5; i++)
		tw_free(t[i]);
	sched_free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_singleflight),
		cmocka_unit_test(test_writes_never_coalesce),
		cmocka_unit_test(test_fair_between_clients),
		cmocka_unit_test(test_priority_classes_and_promotion),
		cmocka_unit_test(test_deadlines),
		cmocka_unit_test(test_queue_bound),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
