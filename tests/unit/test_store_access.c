/*
 * test_store_access.c: store/ from the readers' side: readers see the
 * writer's commits, batches commit together, the in-memory mode (with and
 * without a key), and reader threads hammering the store while the writer
 * puts, invalidates and evicts (run it under TSan too).
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "api/route.h"
#include "store/store.h"
#include "tests/unit/store_fixture.h"

static int
setup(void **state)
{
	return fx_setup_open(state, false);
}

static int
setup_memory(void **state)
{
	return fx_setup_open(state, true);
}

#define THREAD_KEYS	200
#define THREAD_READERS	3

struct reader_arg {
	struct store	*s;
	atomic_bool	*stop;
	uint32_t	 seed;
	long		 hits, misses, bad;
};

static void
test_readers_see_commits(void **state)
{
	struct fx *f = *state;
	struct store_reader *r2;
	struct store_entry *got = NULL;

	assert_non_null(r2 = store_reader_new(f->s));
	assert_int_equal(store_get(r2, "v2/secret/x", &got), STORE_ENOTFOUND);
	fx_put_text(f->s, "v2/secret/x", "x", "one", T0, MIN,
	    ROUTE_KIND_SECRET);
	assert_int_equal(store_get(r2, "v2/secret/x", &got), STORE_OK);
	assert_memory_equal(got->body, "one", 3);
	store_entry_free(got);
	fx_put_text(f->s, "v2/secret/x", "x", "two", T0 + 1, MIN,
	    ROUTE_KIND_SECRET);
	assert_int_equal(store_get(f->r, "v2/secret/x", &got), STORE_OK);
	assert_memory_equal(got->body, "two", 3);
	store_entry_free(got);
	assert_int_equal(store_get(r2, "v2/secret/x", &got), STORE_OK);
	assert_memory_equal(got->body, "two", 3);
	store_entry_free(got);
	assert_int_equal(store_invalidate(f->s, "x", 0, NULL), STORE_OK);
	assert_int_equal(store_get(r2, "v2/secret/x", &got), STORE_ENOTFOUND);
	store_reader_free(r2);
	store_reader_free(NULL);
}

static void
test_batch(void **state)
{
	struct fx *f = *state;
	struct store_entry *got = NULL;
	int64_t entries;
	char key[32];
	int i;

	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "v2/secret/%d", i);
		fx_put_text(f->s, key, key + 10, "b", T0, MIN,
		    ROUTE_KIND_SECRET);
	}
	assert_int_equal(store_commit(f->s), STORE_EINVAL);
	assert_int_equal(store_begin(f->s), STORE_OK);
	assert_int_equal(store_begin(f->s), STORE_EINVAL);
	for (i = 0; i < 50; i++) {
		snprintf(key, sizeof(key), "v2/secret/%d", i);
		assert_int_equal(store_touch(f->s, key, T0 + 1000 + i), STORE_OK);
	}
	fx_put_text(f->s, "v2/secret/new", "new", "n", T0, MIN,
	    ROUTE_KIND_SECRET);
	/* Readers and counters see only what committed. */
	store_stats(f->s, &entries, NULL);
	assert_int_equal(entries, 50);
	assert_int_equal(store_get(f->r, "v2/secret/new", &got),
	    STORE_ENOTFOUND);
	assert_int_equal(store_commit(f->s), STORE_OK);
	store_stats(f->s, &entries, NULL);
	assert_int_equal(entries, 51);
	assert_int_equal(store_get(f->r, "v2/secret/7", &got), STORE_OK);
	assert_int_equal(got->meta.last_access, T0 + 1007);
	store_entry_free(got);

	/* A batch left open is committed by store_close. */
	assert_int_equal(store_begin(f->s), STORE_OK);
	assert_int_equal(store_delete(f->s, "v2/secret/new"), STORE_OK);
	fx_close(f);
	fx_open(f);
	assert_false(fx_present(f, "v2/secret/new"));
	store_stats(f->s, &entries, NULL);
	assert_int_equal(entries, 50);
}

static void
test_memory_mode(void **state)
{
	struct fx *f = *state;
	struct store_opts o = f->opts;
	struct store_open_report rep;
	struct store *other = NULL;
	struct store_reader *other_r;
	struct store_entry *got = NULL;
	char why[256];

	fx_put_text(f->s, "v2/secret/m", "m", "in memory", T0, MIN,
	    ROUTE_KIND_SECRET);
	assert_int_equal(store_get(f->r, "v2/secret/m", &got), STORE_OK);
	assert_memory_equal(got->body, "in memory", 9);
	store_entry_free(got);
	assert_int_equal(access(":memory:", F_OK), -1);

	/* A second in-memory store is a separate database. */
	assert_int_equal(store_open(&other, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_true(rep.created);
	assert_int_equal(rep.entries, 0);
	assert_non_null(other_r = store_reader_new(other));
	assert_int_equal(store_get(other_r, "v2/secret/m", &got),
	    STORE_ENOTFOUND);
	store_reader_free(other_r);
	store_close(other);

	assert_int_equal(store_invalidate(f->s, "m", 0, NULL), STORE_OK);
	assert_false(fx_present(f, "v2/secret/m"));
	store_close(NULL);
}

static void
test_memory_without_key(void **state)
{
	struct store_opts o;
	struct store_open_report rep;
	struct store *s = NULL;
	struct store_reader *r;
	struct store_entry *got = NULL;
	char why[256];

	(void)state;
	memset(&o, 0, sizeof(o));
	o.path = ":memory:";
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_non_null(r = store_reader_new(s));
	fx_put_text(s, "v2/secret/k", "k", "body", T0, MIN, ROUTE_KIND_SECRET);
	assert_int_equal(store_get(r, "v2/secret/k", &got), STORE_OK);
	store_entry_free(got);
	store_reader_free(r);
	store_close(s);
	/* A file cache needs its key. */
	o.path = "/tmp/never-created.db";
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_EINVAL);
	assert_int_equal(access(o.path, F_OK), -1);
}

static void
thread_body(char *buf, size_t len, int i)
{
	snprintf(buf, len, "{\"id\":%d,\"pad\":\"%0*d\"}", i, 10 + i % 90, i);
}

/* Read random keys until told to stop; any answer must be exact. */
static void *
reader_thread(void *p)
{
	struct reader_arg *a = p;
	struct store_reader *r = store_reader_new(a->s);
	struct store_entry *e;
	char key[32], body[160];
	int64_t entries, bytes;
	int i, rc;

	if (r == NULL) {
		a->bad++;
		return NULL;
	}
	/* At least some reads each, however fast the writer is done. */
	while (!atomic_load(a->stop) || a->hits + a->misses < 500) {
		a->seed = a->seed * 1103515245u + 12345u;
		i = (int)((a->seed >> 8) % THREAD_KEYS);
		snprintf(key, sizeof(key), "v2/secret/%d", i);
		rc = store_get(r, key, &e);
		if (rc == STORE_OK) {
			thread_body(body, sizeof(body), i);
			if (e->body_len != strlen(body) ||
			    memcmp(e->body, body, e->body_len) != 0)
				a->bad++;
			store_entry_free(e);
			a->hits++;
		} else if (rc == STORE_ENOTFOUND)
			a->misses++;
		else
			a->bad++;
		store_stats(a->s, &entries, &bytes);
		if (entries < 0 || bytes < 0)
			a->bad++;
	}
	store_reader_free(r);
	return NULL;
}

static void
test_threads(void **state)
{
	struct fx *f = *state;
	struct reader_arg args[THREAD_READERS];
	pthread_t tid[THREAD_READERS];
	atomic_bool stop;
	char key[32], tag[32], body[160];
	int i, round;

	atomic_init(&stop, false);
	for (i = 0; i < THREAD_READERS; i++) {
		memset(&args[i], 0, sizeof(args[i]));
		args[i].s = f->s;
		args[i].stop = &stop;
		args[i].seed = (uint32_t)i + 1;
		assert_int_equal(pthread_create(&tid[i], NULL, reader_thread,
		    &args[i]), 0);
	}
	/* The writer puts, touches, invalidates and evicts meanwhile. */
	for (round = 0; round < 5; round++) {
		for (i = 0; i < THREAD_KEYS; i++) {
			snprintf(key, sizeof(key), "v2/secret/%d", i);
			snprintf(tag, sizeof(tag), "%d", i);
			thread_body(body, sizeof(body), i);
			fx_put_text(f->s, key, tag, body, T0 + round, MIN,
			    ROUTE_KIND_SECRET);
			if (i % 10 == 0)
				assert_int_equal(store_invalidate(f->s, tag, 0,
				    NULL), STORE_OK);
		}
		assert_int_equal(store_begin(f->s), STORE_OK);
		for (i = 0; i < THREAD_KEYS; i += 3) {
			snprintf(key, sizeof(key), "v2/secret/%d", i);
			assert_int_equal(store_touch(f->s, key, T0 + round),
			    STORE_OK);
		}
		assert_int_equal(store_commit(f->s), STORE_OK);
		assert_int_equal(store_maintain(f->s, T0 + round, 0), STORE_OK);
	}
	atomic_store(&stop, true);
	for (i = 0; i < THREAD_READERS; i++) {
		assert_int_equal(pthread_join(tid[i], NULL), 0);
		assert_int_equal(args[i].bad, 0);
		assert_true(args[i].hits + args[i].misses > 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_readers_see_commits, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_readers_see_commits,
		    setup_memory, fx_teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_memory_mode, setup_memory,
		    fx_teardown),
		cmocka_unit_test(test_memory_without_key),
		cmocka_unit_test_setup_teardown(test_threads, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_threads, setup_memory,
		    fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
