/*
 * bench_store: how fast store/ opens, writes and reads.
 *
 *   bench_store [dir]
 *
 * Fills caches of 1k, 10k and 100k entries (about 520-byte JSON bodies,
 * like a typical Secrets Manager answer), then prints:
 *   - put rate, one transaction per put and 1000 puts per store_begin/commit
 *   - touch rate inside a batch
 *   - store_open time on the 100k cache (median of 5, closed in between)
 *   - store_get on one reader: ops/s, p50 and p99 for random present keys,
 *     with the hot index (after one pass that fills it) and without it
 *     (every get reads SQLite, as before the index), and their ratio
 *   - store_get from GET_THREADS reader threads at once, with and without
 *     the index: total ops/s
 * The files go to dir (default: a fresh directory under $TMPDIR or /tmp)
 * and are removed at the end unless BENCH_KEEP is set.  Times are
 * wall-clock.
 */
#include <ftw.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/route.h"
#include "store/store.h"

#define T0	((int64_t)1700000000000)
#define HOUR	((int64_t)3600 * 1000)
#define GETS	200000
#define OPENS	5
#define GET_THREADS	2

static uint8_t bench_key[STORE_KEY_BYTES];

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint32_t
xorshift(uint32_t *state)
{
	uint32_t x = *state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return *state = x;
}

static void
key_for(char *buf, size_t len, int i)
{
	snprintf(buf, len, "v2/secret/%08x-1f2e-4d3c-8b7a-%012d",
	    (unsigned)i * 2654435761u, i);
}

static void
body_for(char *buf, size_t len, int i)
{
	snprintf(buf, len, "{\"created_by\":\"iam-ServiceId-0f1e2d3c-4b5a\","
	    "\"creation_date\":\"2024-01-01T00:00:00Z\",\"crn\":\"crn:v1:"
	    "bluemix:public:secrets-manager:us-south:a/0123456789:0000-1111:"
	    "secret:%08x\",\"downloaded\":true,\"id\":\"%08x-1f2e-4d3c-8b7a\","
	    "\"labels\":[],\"locks_total\":0,\"name\":\"bench-secret-%d\","
	    "\"secret_group_id\":\"default\",\"secret_type\":\"arbitrary\","
	    "\"state\":1,\"state_description\":\"active\",\"updated_at\":"
	    "\"2024-01-01T00:00:00Z\",\"versions_total\":1,\"payload\":"
	    "\"s3cr3t-value-%d-padding-padding-padding-padding\"}",
	    (unsigned)i, (unsigned)i, i, i);
}

/* mem_max_bytes < 0 turns the hot index off. */
static struct store *
open_store_mem(const char *path, struct store_open_report *rep,
    int64_t mem_max_bytes)
{
	struct store_opts o;
	struct store *s = NULL;
	char why[512];

	memset(&o, 0, sizeof(o));
	o.path = path;
	o.key = bench_key;
	o.mem_max_bytes = mem_max_bytes;
	if (store_open(&s, &o, T0, rep, why, sizeof(why)) != STORE_OK) {
		fprintf(stderr, "store_open: %s\n", why);
		exit(1);
	}
	return s;
}

static struct store *
open_store(const char *path, struct store_open_report *rep)
{
	return open_store_mem(path, rep, 0);
}

static int
put_one(struct store *s, int i)
{
	char key[96], body[1024];
	struct store_entry e;

	key_for(key, sizeof(key), i);
	body_for(body, sizeof(body), i);
	memset(&e, 0, sizeof(e));
	store_meta_set(&e.meta, T0, HOUR, 24 * HOUR, (uint32_t)i);
	e.meta.kind = ROUTE_KIND_SECRET;
	e.status = 200;
	e.content_type = (char *)"application/json";
	e.secret_id = key + 10;
	e.group_id = (char *)"default";
	e.body = (uint8_t *)body;
	e.body_len = strlen(body);
	return store_put(s, key, key + 10, &e);
}

/* Fill path with n entries in batches; returns puts per second. */
static double
fill(const char *path, int n)
{
	struct store *s = open_store(path, NULL);
	double t = now_s();
	int i;

	for (i = 0; i < n; i++) {
		if (i % 1000 == 0 && store_begin(s) != STORE_OK)
			exit(1);
		if (put_one(s, i) != STORE_OK)
			exit(1);
		if ((i % 1000 == 999 || i == n - 1) && store_commit(s) != STORE_OK)
			exit(1);
	}
	t = now_s() - t;
	store_close(s);
	return n / t;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

struct get_result {
	double	 ops;		/* per second */
	double	 p50_us, p99_us;
	int	 misses;
};

/* GETS random present keys on one reader after one pass over the keys
 * (which warms the page cache and fills the index). */
static void
bench_gets(const char *path, int n, bool mem, struct get_result *res)
{
	static uint64_t lat[GETS];
	struct store *s = open_store_mem(path, NULL, mem ? 0 : -1);
	struct store_reader *r = store_reader_new(s);
	struct store_entry *e;
	uint32_t rnd = 0x9e3779b9u;
	char key[96];
	uint64_t t0, total = 0;
	int i;

	if (r == NULL)
		exit(1);
	memset(res, 0, sizeof(*res));
	for (i = 0; i < n && i < GETS; i++) {
		key_for(key, sizeof(key), i);
		if (store_get(r, key, &e) == STORE_OK)
			store_entry_free(e);
	}
	for (i = 0; i < GETS; i++) {
		key_for(key, sizeof(key), (int)(xorshift(&rnd) % (uint32_t)n));
		t0 = now_ns();
		if (store_get(r, key, &e) == STORE_OK)
			store_entry_free(e);
		else
			res->misses++;
		lat[i] = now_ns() - t0;
		total += lat[i];
	}
	qsort(lat, GETS, sizeof(lat[0]), cmp_u64);
	res->ops = GETS / (total / 1e9);
	res->p50_us = lat[GETS / 2] / 1e3;
	res->p99_us = lat[GETS * 99 / 100] / 1e3;
	store_reader_free(r);
	store_close(s);
}

static void
print_get(const char *what, int n, const struct get_result *res)
{
	printf("get   %-9s %6d entries: %8.0f ops/s  p50 %5.1f us  p99 %5.1f us"
	    "%s\n", what, n, res->ops, res->p50_us, res->p99_us,
	    res->misses ? "  (misses!)" : "");
}

struct get_thread {
	struct store	*s;
	int		 n;
	uint32_t	 seed;
	int		 misses;
};

static void *
get_thread_main(void *p)
{
	struct get_thread *t = p;
	struct store_reader *r = store_reader_new(t->s);
	struct store_entry *e;
	char key[96];
	int i;

	if (r == NULL)
		exit(1);
	for (i = 0; i < GETS; i++) {
		key_for(key, sizeof(key), (int)(xorshift(&t->seed) %
		    (uint32_t)t->n));
		if (store_get(r, key, &e) == STORE_OK)
			store_entry_free(e);
		else
			t->misses++;
	}
	store_reader_free(r);
	return NULL;
}

/* Total gets per second of GET_THREADS readers, GETS gets each. */
static double
bench_threads(const char *path, int n, bool mem, int *misses)
{
	struct get_thread t[GET_THREADS];
	pthread_t tid[GET_THREADS];
	struct store *s = open_store_mem(path, NULL, mem ? 0 : -1);
	struct store_reader *r = store_reader_new(s);
	struct store_entry *e;
	char key[96];
	double start;
	int i;

	if (r == NULL)
		exit(1);
	for (i = 0; i < n; i++) {
		key_for(key, sizeof(key), i);
		if (store_get(r, key, &e) == STORE_OK)
			store_entry_free(e);
	}
	store_reader_free(r);
	start = now_s();
	for (i = 0; i < GET_THREADS; i++) {
		t[i].s = s;
		t[i].n = n;
		t[i].seed = 0x9e3779b9u + (uint32_t)i * 7919u;
		t[i].misses = 0;
		if (pthread_create(&tid[i], NULL, get_thread_main, &t[i]) != 0)
			exit(1);
	}
	*misses = 0;
	for (i = 0; i < GET_THREADS; i++) {
		pthread_join(tid[i], NULL);
		*misses += t[i].misses;
	}
	start = now_s() - start;
	store_close(s);
	return GET_THREADS * (double)GETS / start;
}

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

int
main(int argc, char **argv)
{
	static const int sizes[] = { 1000, 10000, 100000 };
	struct store_open_report rep;
	struct store *s;
	char dir[512], path[600];
	const char *tmp = getenv("TMPDIR");
	double opens[OPENS], t, rate;
	size_t k;
	int i;

	memset(bench_key, 0x42, sizeof(bench_key));
	if (argc > 1)
		snprintf(dir, sizeof(dir), "%s/bench_store.XXXXXX", argv[1]);
	else
		snprintf(dir, sizeof(dir), "%s/bench_store.XXXXXX",
		    tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		perror(dir);
		return 1;
	}

	/* Unbatched puts: one commit each. */
	snprintf(path, sizeof(path), "%s/single.db", dir);
	s = open_store(path, NULL);
	t = now_s();
	for (i = 0; i < 5000; i++)
		if (put_one(s, i) != STORE_OK)
			return 1;
	t = now_s() - t;
	printf("put   one per transaction:       %8.0f puts/s\n", 5000 / t);
	if (store_begin(s) != STORE_OK)
		return 1;
	t = now_s();
	for (i = 0; i < 100000; i++) {
		char key[96];

		key_for(key, sizeof(key), i % 5000);
		store_touch(s, key, T0 + i);
	}
	if (store_commit(s) != STORE_OK)
		return 1;
	t = now_s() - t;
	printf("touch in one batch:              %8.0f touches/s\n", 100000 / t);
	t = now_s();
	for (i = 0; i < 2000; i++) {
		char key[96];

		key_for(key, sizeof(key), i);
		store_touch(s, key, T0 + 200000 + i);
	}
	t = now_s() - t;
	printf("touch one per transaction:       %8.0f touches/s\n", 2000 / t);
	store_close(s);

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		snprintf(path, sizeof(path), "%s/cache-%d.db", dir, sizes[k]);
		rate = fill(path, sizes[k]);
		printf("put   batched 1000/txn, %6d: %8.0f puts/s\n", sizes[k],
		    rate);
	}

	snprintf(path, sizeof(path), "%s/cache-100000.db", dir);
	for (i = 0; i < OPENS; i++) {
		t = now_s();
		s = open_store(path, &rep);
		opens[i] = now_s() - t;
		store_close(s);
	}
	qsort(opens, OPENS, sizeof(opens[0]), cmp_double);
	printf("open  100000 entries (%lld):     median %.1f ms (min %.1f, "
	    "max %.1f)\n", (long long)rep.entries, opens[OPENS / 2] * 1e3,
	    opens[0] * 1e3, opens[OPENS - 1] * 1e3);

	for (k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct get_result with, without;

		snprintf(path, sizeof(path), "%s/cache-%d.db", dir, sizes[k]);
		bench_gets(path, sizes[k], false, &without);
		bench_gets(path, sizes[k], true, &with);
		print_get("no index", sizes[k], &without);
		print_get("index", sizes[k], &with);
		printf("      index/no index %6d entries: %.1fx ops/s, p50 "
		    "%.1fx lower\n", sizes[k], with.ops / without.ops,
		    without.p50_us / with.p50_us);
	}
	snprintf(path, sizeof(path), "%s/cache-100000.db", dir);
	{
		int m1, m2;
		double without = bench_threads(path, 100000, false, &m1);
		double with = bench_threads(path, 100000, true, &m2);

		printf("get   %d threads, 100000 entries: no index %8.0f ops/s, "
		    "index %8.0f ops/s (%.1fx)%s\n", GET_THREADS, without, with,
		    with / without, m1 + m2 ? "  (misses!)" : "");
	}

	if (getenv("BENCH_KEEP") == NULL)
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	else
		printf("kept %s\n", dir);
	return 0;
}
