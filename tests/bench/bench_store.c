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
 *   - store_get on one reader: ops/s, p50 and p99 for random present keys
 * The files go to dir (default: a fresh directory under $TMPDIR or /tmp)
 * and are removed at the end unless BENCH_KEEP is set.  Times are
 * wall-clock, single thread.
 */
#include <ftw.h>
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

static struct store *
open_store(const char *path, struct store_open_report *rep)
{
	struct store_opts o;
	struct store *s = NULL;
	char why[512];

	memset(&o, 0, sizeof(o));
	o.path = path;
	o.key = bench_key;
	if (store_open(&s, &o, T0, rep, why, sizeof(why)) != STORE_OK) {
		fprintf(stderr, "store_open: %s\n", why);
		exit(1);
	}
	return s;
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

static void
bench_gets(const char *path, int n)
{
	static uint64_t lat[GETS];
	struct store *s = open_store(path, NULL);
	struct store_reader *r = store_reader_new(s);
	struct store_entry *e;
	uint32_t rnd = 0x9e3779b9u;
	char key[96];
	uint64_t t0, total = 0;
	int i, misses = 0;

	if (r == NULL)
		exit(1);
	/* Warm the page cache the way a running proxy would be. */
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
			misses++;
		lat[i] = now_ns() - t0;
		total += lat[i];
	}
	qsort(lat, GETS, sizeof(lat[0]), cmp_u64);
	printf("get   %6d entries: %8.0f ops/s  p50 %5.1f us  p99 %5.1f us"
	    "%s\n", n, GETS / (total / 1e9), lat[GETS / 2] / 1e3,
	    lat[GETS * 99 / 100] / 1e3, misses ? "  (misses!)" : "");
	store_reader_free(r);
	store_close(s);
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
		snprintf(path, sizeof(path), "%s/cache-%d.db", dir, sizes[k]);
		bench_gets(path, sizes[k]);
	}

	if (getenv("BENCH_KEEP") == NULL)
		nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	else
		printf("kept %s\n", dir);
	return 0;
}
