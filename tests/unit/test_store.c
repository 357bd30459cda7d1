/*
 * test_store.c: store/ behaviour through its public API: sealing round
 * trips, tamper and swap detection, freshness with a moving clock,
 * invalidation, eviction, size limits and due refreshes.  Readers,
 * threads, batches and the in-memory mode are in test_store_access.c;
 * keys and rotation in test_store_keys.c; files on disk in
 * test_store_disk.c.
 *
 * Each test gets a fresh temporary directory and a store in it; time is
 * an injected number, never the clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "api/route.h"
#include "store/store.h"
#include "store/store_int.h"
#include "tests/unit/store_fixture.h"

static int
setup(void **state)
{
	return fx_setup_open(state, false);
}

/* The integer a query on the database file gives. */
static int64_t
raw_int(struct fx *f, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static int64_t
raw_count(struct fx *f)
{
	return raw_int(f, "SELECT count(*) FROM entries");
}

/* Edit the file behind the store's back.  The hot index keeps serving
 * the rows it holds (they were checked when they entered it), so it is
 * emptied: the next lookups read what is now on disk. */
static void
raw_exec(struct fx *f, const char *sql)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	store_mem_clear(f->s);
}

static void
test_round_trip(void **state)
{
	struct fx *f = *state;
	static const uint8_t body[] = { '{', 0, 1, 2, 0xff, 0x80, '"', '}' };
	struct store_entry e, *got = NULL;
	int64_t entries, bytes;

	memset(&e, 0, sizeof(e));
	store_meta_set(&e.meta, T0, 5 * MIN, HOUR, 99);
	e.meta.kind = ROUTE_KIND_SECRET;
	e.meta.last_access = T0 + 5;
	e.status = 203;
	e.content_type = (char *)"application/json; charset=utf-8";
	e.secret_id = (char *)"0b5571f7-21e6-42b7-91c5-3f5ac9793a46";
	e.group_id = (char *)"d898bb90-82f6-4d61-b5cc-b079b66cfa76";
	e.body = (uint8_t *)body;
	e.body_len = sizeof(body);
	assert_int_equal(store_put(f->s, "v2/secret/0b5571f7", "0b5571f7", &e),
	    STORE_OK);

	assert_int_equal(store_get(f->r, "v2/secret/0b5571f7", &got), STORE_OK);
	assert_non_null(got);
	assert_int_equal(got->status, 203);
	assert_string_equal(got->content_type, e.content_type);
	assert_string_equal(got->secret_id, e.secret_id);
	assert_string_equal(got->group_id, e.group_id);
	assert_int_equal(got->body_len, sizeof(body));
	assert_memory_equal(got->body, body, sizeof(body));
	assert_int_equal(got->meta.fetched_at, e.meta.fetched_at);
	assert_int_equal(got->meta.fresh_until, e.meta.fresh_until);
	assert_int_equal(got->meta.refresh_at, e.meta.refresh_at);
	assert_int_equal(got->meta.stale_until, e.meta.stale_until);
	assert_int_equal(got->meta.last_access, T0 + 5);
	assert_int_equal(got->meta.kind, ROUTE_KIND_SECRET);
	store_entry_free(got);

	store_stats(f->s, &entries, &bytes);
	assert_int_equal(entries, 1);
	assert_true(bytes > (int64_t)sizeof(body) + 40);

	/* An empty body and NULL strings come back as "" and 0 bytes. */
	memset(&e, 0, sizeof(e));
	store_meta_set(&e.meta, T0, MIN, 0, 0);
	e.status = 204;
	assert_int_equal(store_put(f->s, "v2/groups", NULL, &e), STORE_OK);
	assert_int_equal(store_get(f->r, "v2/groups", &got), STORE_OK);
	assert_int_equal(got->status, 204);
	assert_int_equal(got->body_len, 0);
	assert_string_equal(got->content_type, "");
	assert_string_equal(got->secret_id, "");
	store_entry_free(got);

	assert_int_equal(store_get(f->r, "v2/secret/other", &got),
	    STORE_ENOTFOUND);
	assert_null(got);
	assert_int_equal(store_get(f->r, "", &got), STORE_EINVAL);
	store_entry_free(NULL);
}

static void
test_replace_keeps_counters(void **state)
{
	struct fx *f = *state;
	struct store_entry *got = NULL;
	int64_t entries, bytes1, bytes2;

	fx_put_text(f->s, "v2/secret/a", "a", "short", T0, MIN,
	    ROUTE_KIND_SECRET);
	store_stats(f->s, &entries, &bytes1);
	assert_int_equal(entries, 1);
	fx_put_text(f->s, "v2/secret/a", "a", "a longer body than before",
	    T0 + 1, MIN, ROUTE_KIND_SECRET);
	store_stats(f->s, &entries, &bytes2);
	assert_int_equal(entries, 1);
	assert_int_equal(bytes2 - bytes1, strlen("a longer body than before") -
	    strlen("short"));
	assert_int_equal(store_get(f->r, "v2/secret/a", &got), STORE_OK);
	assert_memory_equal(got->body, "a longer body than before", got->body_len);
	store_entry_free(got);
	assert_int_equal(store_delete(f->s, "v2/secret/a"), STORE_OK);
	assert_int_equal(store_delete(f->s, "v2/secret/a"), STORE_ENOTFOUND);
	store_stats(f->s, &entries, &bytes2);
	assert_int_equal(entries, 0);
	assert_int_equal(bytes2, 0);
}

static void
test_tamper_detected(void **state)
{
	struct fx *f = *state;
	struct store_entry *got = NULL;
	int64_t entries;

	fx_put_text(f->s, "v2/secret/a", "a", "{\"payload\":\"s3cr3t\"}", T0,
	    MIN, ROUTE_KIND_SECRET);
	fx_put_text(f->s, "v2/secret/b", "b", "{\"payload\":\"other\"}", T0 + 1,
	    MIN, ROUTE_KIND_SECRET);
	/* Flip one bit in the middle of a's ciphertext. */
	raw_exec(f, "UPDATE entries SET blob = CAST(substr(blob, 1, 29) || "
	    "CASE WHEN substr(blob, 30, 1) = x'00' THEN x'01' ELSE x'00' END "
	    "|| substr(blob, 31) AS BLOB) WHERE fetched_at = 1700000000000");
	/* Still a blob of the right size: only the AEAD tag can tell. */
	assert_int_equal(raw_int(f, "SELECT count(*) FROM entries WHERE "
	    "typeof(blob) = 'blob' AND length(blob) = size"), 2);
	assert_int_equal(store_get(f->r, "v2/secret/a", &got), STORE_ECORRUPT);
	assert_null(got);
	assert_true(fx_present(f, "v2/secret/b"));
	store_stats(f->s, &entries, NULL);
	assert_int_equal(entries, 2);

	/* The writer's next call drops the bad row, and only it. */
	assert_int_equal(store_touch(f->s, "v2/secret/b", T0 + 1), STORE_OK);
	assert_int_equal(raw_count(f), 1);
	store_stats(f->s, &entries, NULL);
	assert_int_equal(entries, 1);
	assert_int_equal(store_get(f->r, "v2/secret/a", &got), STORE_ENOTFOUND);

	/* A clear column edited to look fresher fails too. */
	raw_exec(f, "UPDATE entries SET fresh_until = fresh_until + 3600000, "
	    "stale_until = stale_until + 3600000");
	assert_int_equal(store_get(f->r, "v2/secret/b", &got), STORE_ECORRUPT);
	/* So does a changed tag, which would dodge invalidation. */
	fx_put_text(f->s, "v2/secret/c", "c", "x", T0, MIN, ROUTE_KIND_SECRET);
	raw_exec(f, "UPDATE entries SET tag = NULL WHERE tag IS NOT NULL");
	assert_int_equal(store_get(f->r, "v2/secret/c", &got), STORE_ECORRUPT);
	assert_int_equal(store_maintain(f->s, T0 + 2, 0), STORE_OK);
	assert_int_equal(raw_count(f), 0);
}

static void
test_row_swap_fails(void **state)
{
	struct fx *f = *state;
	struct store_entry *got = NULL;

	fx_put_text(f->s, "v2/secret/a", "same", "body a", T0, MIN,
	    ROUTE_KIND_SECRET);
	fx_put_text(f->s, "v2/secret/b", "same", "body b", T0 + 1, MIN,
	    ROUTE_KIND_SECRET);
	/* Everything of row a but its k, copied over row b. */
	raw_exec(f, "UPDATE entries SET (tag, kind, fetched_at, fresh_until, "
	    "refresh_at, stale_until, last_access, size, key_id, blob) = "
	    "(SELECT tag, kind, fetched_at, fresh_until, refresh_at, "
	    "stale_until, last_access, size, key_id, blob FROM entries "
	    "WHERE fetched_at = 1700000000000) WHERE fetched_at = 1700000000001");
	assert_int_equal(raw_count(f), 2);
	assert_int_equal(store_get(f->r, "v2/secret/b", &got), STORE_ECORRUPT);
	assert_null(got);
	assert_int_equal(store_get(f->r, "v2/secret/a", &got), STORE_OK);
	assert_memory_equal(got->body, "body a", 6);
	store_entry_free(got);
}

static void
test_freshness_transitions(void **state)
{
	struct fx *f = *state;
	struct store_entry e, *got = NULL;
	const int64_t ttl = 5 * MIN, max_stale = HOUR;
	int64_t now;

	memset(&e, 0, sizeof(e));
	store_meta_set(&e.meta, T0, ttl, max_stale, 123456789u);
	assert_int_equal(e.meta.fetched_at, T0);
	assert_int_equal(e.meta.fresh_until, T0 + ttl);
	assert_int_equal(e.meta.stale_until, T0 + ttl + max_stale);
	assert_int_equal(e.meta.last_access, T0);
	assert_true(e.meta.refresh_at >= T0 + ttl / 2);
	assert_true(e.meta.refresh_at < T0 + ttl * 3 / 4);
	e.meta.kind = ROUTE_KIND_SECRET;
	e.status = 200;
	e.body = (uint8_t *)"x";
	e.body_len = 1;
	assert_int_equal(store_put(f->s, "v2/secret/t", "t", &e), STORE_OK);
	assert_int_equal(store_get(f->r, "v2/secret/t", &got), STORE_OK);

	/* Walk the clock across every boundary, using the stored copy. */
	for (now = T0; now < got->meta.refresh_at; now += 7919)
		assert_int_equal(store_classify(&got->meta, now), STORE_FRESH);
	assert_int_equal(store_classify(&got->meta, got->meta.refresh_at - 1),
	    STORE_FRESH);
	assert_int_equal(store_classify(&got->meta, got->meta.refresh_at),
	    STORE_REFRESH);
	assert_int_equal(store_classify(&got->meta, T0 + ttl - 1),
	    STORE_REFRESH);
	assert_int_equal(store_classify(&got->meta, T0 + ttl), STORE_STALE);
	assert_int_equal(store_classify(&got->meta, T0 + ttl + max_stale - 1),
	    STORE_STALE);
	assert_int_equal(store_classify(&got->meta, T0 + ttl + max_stale),
	    STORE_EXPIRED);
	assert_int_equal(store_classify(&got->meta, INT64_MAX), STORE_EXPIRED);
	store_entry_free(got);

	/* Expired rows go at the next maintenance, not before. */
	assert_int_equal(store_maintain(f->s, T0 + ttl + max_stale - 1, 0),
	    STORE_OK);
	assert_true(fx_present(f, "v2/secret/t"));
	assert_int_equal(store_maintain(f->s, T0 + ttl + max_stale, 0),
	    STORE_OK);
	assert_false(fx_present(f, "v2/secret/t"));

	/* A zero TTL is born stale; a negative max_stale counts as zero. */
	store_meta_set(&e.meta, T0, 0, -5, 1);
	assert_int_equal(store_classify(&e.meta, T0), STORE_EXPIRED);
	store_meta_set(&e.meta, T0, 0, 10, 1);
	assert_int_equal(store_classify(&e.meta, T0), STORE_STALE);
	assert_int_equal(store_classify(&e.meta, T0 + 10), STORE_EXPIRED);
	store_meta_set(&e.meta, T0, -100, 10, 1);
	assert_int_equal(e.meta.fresh_until, T0);
	/* Huge values do not overflow. */
	store_meta_set(&e.meta, T0, INT64_MAX, INT64_MAX, 1);
	assert_true(e.meta.stale_until > e.meta.fresh_until);
	assert_true(e.meta.refresh_at > T0);
}

static void
test_refresh_jitter_bounds(void **state)
{
	static const int64_t ttls[] = { 1, 2, 3, 4, 5, 7, 100, 1000, 5 * MIN,
	    24 * HOUR };
	struct store_meta m;
	int64_t lo, hi, seen_min, seen_max;
	uint32_t rnd = 2463534242u;
	size_t t;
	int i;

	(void)state;
	for (t = 0; t < sizeof(ttls) / sizeof(ttls[0]); t++) {
		seen_min = INT64_MAX;
		seen_max = INT64_MIN;
		for (i = 0; i < 20000; i++) {
			/* xorshift32, plus the extremes. */
			rnd ^= rnd << 13;
			rnd ^= rnd >> 17;
			rnd ^= rnd << 5;
			memset(&m, 0, sizeof(m));
			store_meta_set(&m, T0, ttls[t], MIN,
			    i == 0 ? 0 : i == 1 ? UINT32_MAX : rnd);
			assert_true(m.fetched_at < m.refresh_at);
			assert_true(m.refresh_at <= m.fresh_until);
			assert_int_equal(m.fresh_until, T0 + ttls[t]);
			if (ttls[t] >= 2) {
				lo = T0 + ttls[t] / 2;
				hi = T0 + ttls[t] * 3 / 4;
				if (hi <= lo)
					hi = lo + 1;
				assert_true(m.refresh_at >= lo);
				assert_true(m.refresh_at < hi);
			}
			if (m.refresh_at < seen_min)
				seen_min = m.refresh_at;
			if (m.refresh_at > seen_max)
				seen_max = m.refresh_at;
		}
		/* The draws cover the window, not a corner of it. */
		if (ttls[t] >= 100) {
			int64_t window = ttls[t] * 3 / 4 - ttls[t] / 2;

			assert_true(seen_min - (T0 + ttls[t] / 2) < window / 50 + 1);
			assert_true(T0 + ttls[t] * 3 / 4 - 1 - seen_max < window / 50 + 1);
		}
	}
	/* Same rnd, same draw. */
	store_meta_set(&m, T0, 5 * MIN, 0, 42);
	lo = m.refresh_at;
	store_meta_set(&m, T0, 5 * MIN, 0, 42);
	assert_int_equal(m.refresh_at, lo);
}

static void
test_negative_caching(void **state)
{
	struct fx *f = *state;
	struct store_entry e, *got = NULL;
	const int64_t negative_ttl = 30 * 1000;

	memset(&e, 0, sizeof(e));
	store_meta_set(&e.meta, T0, negative_ttl, 0, 5);
	e.meta.kind = ROUTE_KIND_SECRET | ROUTE_KIND_NEGATIVE;
	e.status = 404;
	e.content_type = (char *)"application/json";
	e.body = (uint8_t *)"{\"errors\":[]}";
	e.body_len = strlen((char *)e.body);
	assert_int_equal(store_put(f->s, "v2/secret/missing", "missing", &e),
	    STORE_OK);
	assert_int_equal(store_get(f->r, "v2/secret/missing", &got), STORE_OK);
	assert_int_equal(got->status, 404);
	assert_int_equal(got->meta.kind, ROUTE_KIND_SECRET | ROUTE_KIND_NEGATIVE);
	assert_int_equal(got->meta.fresh_until, T0 + negative_ttl);
	assert_true(got->meta.refresh_at >= T0 + negative_ttl / 2);
	assert_int_equal(store_classify(&got->meta, T0 + negative_ttl - 1),
	    STORE_REFRESH);
	assert_int_equal(store_classify(&got->meta, T0 + negative_ttl),
	    STORE_EXPIRED);
	store_entry_free(got);

	/* A write anywhere drops cached 404s. */
	fx_put_text(f->s, "v2/secret/present", "present", "{}", T0, MIN,
	    ROUTE_KIND_SECRET);
	assert_int_equal(store_invalidate(f->s, NULL, ROUTE_KIND_NEGATIVE, NULL),
	    STORE_OK);
	assert_false(fx_present(f, "v2/secret/missing"));
	assert_true(fx_present(f, "v2/secret/present"));
}

static void
test_invalidate(void **state)
{
	struct fx *f = *state;
	int64_t dropped = -1, entries;

	fx_put_text(f->s, "v2/secret/A", "A", "a", T0, MIN, ROUTE_KIND_SECRET);
	fx_put_text(f->s, "v2/secret/A/metadata", "A", "am", T0, MIN,
	    ROUTE_KIND_SECRET);
	fx_put_text(f->s, "v1/secret/arbitrary/A", "A", "a1", T0, MIN,
	    ROUTE_KIND_SECRET);
	fx_put_text(f->s, "v2/secret/B", "B", "b", T0, MIN, ROUTE_KIND_SECRET);
	fx_put_text(f->s, "v2/list?limit=10", "", "l", T0, MIN,
	    ROUTE_KIND_LIST);
	fx_put_text(f->s, "v2/groups", NULL, "g", T0, MIN, ROUTE_KIND_GROUPS);
	fx_put_text(f->s, "v2/secret/C", "C", "404", T0, MIN,
	    ROUTE_KIND_SECRET | ROUTE_KIND_NEGATIVE);

	assert_int_equal(store_invalidate(f->s, "A",
	    ROUTE_KIND_LIST | ROUTE_KIND_NEGATIVE, &dropped), STORE_OK);
	assert_int_equal(dropped, 5);
	assert_false(fx_present(f, "v2/secret/A"));
	assert_false(fx_present(f, "v2/secret/A/metadata"));
	assert_false(fx_present(f, "v1/secret/arbitrary/A"));
	assert_false(fx_present(f, "v2/list?limit=10"));
	assert_false(fx_present(f, "v2/secret/C"));
	assert_true(fx_present(f, "v2/secret/B"));
	assert_true(fx_present(f, "v2/groups"));

	/* An empty tag matches nothing (untagged rows are not one group). */
	assert_int_equal(store_invalidate(f->s, "", 0, &dropped), STORE_OK);
	assert_int_equal(dropped, 0);
	assert_int_equal(store_invalidate(f->s, "b", 0, &dropped), STORE_OK);
	assert_int_equal(dropped, 0);
	assert_int_equal(store_invalidate(f->s, NULL, ROUTE_KIND_GROUPS,
	    &dropped), STORE_OK);
	assert_int_equal(dropped, 1);
	assert_false(fx_present(f, "v2/groups"));
	assert_int_equal(store_invalidate(f->s, "B", 0, NULL), STORE_OK);
	store_stats(f->s, &entries, NULL);
	assert_int_equal(entries, 0);
}

/* Put key with last_access and fetched_at set explicitly. */
static void
put_at(struct store *s, const char *key, int64_t fetched_at,
    int64_t last_access, const char *body)
{
	struct store_entry e;

	fx_make_entry(&e, body, fetched_at, HOUR, ROUTE_KIND_SECRET);
	e.meta.last_access = last_access;
	assert_int_equal(store_put(s, key, key, &e), STORE_OK);
}

static void
test_evict_by_entries(void **state)
{
	struct fx *f = *state;
	int64_t entries;

	fx_close(f);
	f->opts.max_entries = 3;
	fx_open(f);
	put_at(f->s, "k1", T0, T0 + 1, "1");
	put_at(f->s, "k2", T0, T0 + 2, "2");
	put_at(f->s, "k3", T0, T0 + 3, "3");
	/* A read moves k1 to the back of the line. */
	assert_int_equal(store_touch(f->s, "k1", T0 + 10), STORE_OK);
	put_at(f->s, "k4", T0, T0 + 11, "4");
	assert_false(fx_present(f, "k2"));
	assert_true(fx_present(f, "k1") && fx_present(f, "k3") &&
	    fx_present(f, "k4"));
	put_at(f->s, "k5", T0, T0 + 12, "5");
	assert_false(fx_present(f, "k3"));
	store_stats(f->s, &entries, NULL);
	assert_int_equal(entries, 3);
	/* An older touch does not move a row back in time. */
	assert_int_equal(store_touch(f->s, "k4", T0), STORE_OK);
	put_at(f->s, "k6", T0, T0 + 13, "6");
	assert_false(fx_present(f, "k1"));
	assert_true(fx_present(f, "k4"));

	/* Equal last_access: the older fetch goes first. */
	put_at(f->s, "n1", T0 + 50, T0 + 100, "x");
	put_at(f->s, "n2", T0 + 40, T0 + 100, "y");
	put_at(f->s, "n3", T0 + 60, T0 + 100, "z");
	assert_true(fx_present(f, "n1") && fx_present(f, "n2") &&
	    fx_present(f, "n3"));
	put_at(f->s, "n4", T0, T0 + 101, "w");
	assert_false(fx_present(f, "n2"));
	assert_true(fx_present(f, "n1") && fx_present(f, "n3") &&
	    fx_present(f, "n4"));
}

static void
test_evict_by_bytes(void **state)
{
	struct fx *f = *state;
	int64_t entries, bytes, one;
	char big[161];

	/* Keys of one length, so rows of one body length have one size. */
	put_at(f->s, "b0", T0, T0, "0123456789");
	store_stats(f->s, NULL, &one);
	fx_close(f);
	f->opts.max_bytes = 3 * one + one / 2;
	fx_open(f);
	assert_int_equal(store_delete(f->s, "b0"), STORE_OK);

	put_at(f->s, "b1", T0, T0 + 1, "0123456789");
	put_at(f->s, "b2", T0, T0 + 2, "0123456789");
	put_at(f->s, "b3", T0, T0 + 3, "0123456789");
	store_stats(f->s, &entries, &bytes);
	assert_int_equal(entries, 3);
	assert_int_equal(bytes, 3 * one);
	assert_int_equal(store_touch(f->s, "b1", T0 + 9), STORE_OK);
	put_at(f->s, "b4", T0, T0 + 10, "0123456789");
	assert_false(fx_present(f, "b2"));
	assert_true(fx_present(f, "b1"));
	/* A row of one + 150 bytes pushes out the two oldest: b3, then b1. */
	memset(big, 'y', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	put_at(f->s, "bb", T0, T0 + 11, big);
	store_stats(f->s, &entries, &bytes);
	assert_int_equal(entries, 2);
	assert_int_equal(bytes, 2 * one + 150);
	assert_true(fx_present(f, "bb") && fx_present(f, "b4"));
	assert_false(fx_present(f, "b3"));
	assert_false(fx_present(f, "b1"));

	/* Maintenance enforces bounds lowered since the rows were written. */
	fx_close(f);
	f->opts.max_bytes = one + one / 2;
	fx_open(f);
	store_stats(f->s, &entries, NULL);
	assert_true(entries >= 2);
	assert_int_equal(store_maintain(f->s, T0 + 20, 0), STORE_OK);
	store_stats(f->s, &entries, &bytes);
	assert_true(bytes <= f->opts.max_bytes);
	assert_int_equal(entries, raw_count(f));
}

static void
test_too_big(void **state)
{
	struct fx *f = *state;
	struct store_entry e;
	char body[2048];
	int64_t entries;

	fx_close(f);
	f->opts.max_entry_bytes = 1000;
	fx_open(f);
	memset(body, 'x', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	fx_make_entry(&e, body, T0, MIN, ROUTE_KIND_SECRET);
	assert_int_equal(store_put(f->s, "big", "big", &e), STORE_ETOOBIG);
	body[700] = '\0';
	fx_make_entry(&e, body, T0, MIN, ROUTE_KIND_SECRET);
	assert_int_equal(store_put(f->s, "fits", "fits", &e), STORE_OK);
	assert_false(fx_present(f, "big"));
	store_stats(f->s, &entries, NULL);
	assert_int_equal(entries, 1);
	/* The limit is on the sealed size, which exceeds the body. */
	body[700] = 'x';
	body[990] = '\0';
	fx_make_entry(&e, body, T0, MIN, ROUTE_KIND_SECRET);
	assert_int_equal(store_put(f->s, "edge", "edge", &e), STORE_ETOOBIG);
}

static void
test_due_refreshes(void **state)
{
	struct fx *f = *state;
	struct store_entry e;
	char **keys = NULL;
	const int64_t idle = 10 * MIN;
	int n;

	/* due, recently read, refresh_at T0+100 */
	fx_make_entry(&e, "a", T0, MIN, ROUTE_KIND_SECRET);
	e.meta.refresh_at = T0 + 100;
	e.meta.last_access = T0 + 20 * MIN;
	assert_int_equal(store_put(f->s, "due-late", "a", &e), STORE_OK);
	/* due earlier */
	e.meta.refresh_at = T0 + 50;
	assert_int_equal(store_put(f->s, "due-early", "b", &e), STORE_OK);
	/* not due yet */
	fx_make_entry(&e, "c", T0 + 20 * MIN, MIN, ROUTE_KIND_SECRET);
	assert_int_equal(store_put(f->s, "fresh", "c", &e), STORE_OK);
	/* due but nobody read it within idle */
	fx_make_entry(&e, "d", T0, MIN, ROUTE_KIND_SECRET);
	e.meta.last_access = T0;
	assert_int_equal(store_put(f->s, "idle", "d", &e), STORE_OK);
	/* due and read, but past stale_until */
	fx_make_entry(&e, "e", T0, MIN, ROUTE_KIND_SECRET);
	e.meta.stale_until = T0 + 2 * MIN;
	e.meta.last_access = T0 + 20 * MIN;
	assert_int_equal(store_put(f->s, "expired", "e", &e), STORE_OK);

	n = store_due_refreshes(f->s, T0 + 20 * MIN + 1, idle, &keys, 10);
	assert_int_equal(n, 2);
	assert_string_equal(keys[0], "due-early");
	assert_string_equal(keys[1], "due-late");
	store_keys_free(keys, n);

	n = store_due_refreshes(f->s, T0 + 20 * MIN + 1, idle, &keys, 1);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0], "due-early");
	store_keys_free(keys, n);

	/* Before anything is due: none, and keys stays NULL. */
	n = store_due_refreshes(f->s, T0, idle, &keys, 10);
	assert_int_equal(n, 0);
	assert_null(keys);

	/* A refreshed entry is no longer due; the others still are. */
	fx_put_text(f->s, "due-early", "b", "new", T0 + 20 * MIN + 2, MIN,
	    ROUTE_KIND_SECRET);
	n = store_due_refreshes(f->s, T0 + 20 * MIN + 3, idle, &keys, 10);
	assert_int_equal(n, 1);
	assert_string_equal(keys[0], "due-late");
	store_keys_free(keys, n);

	/* A row that fails to open is skipped and dropped. */
	raw_exec(f, "UPDATE entries SET blob = zeroblob(length(blob)) "
	    "WHERE refresh_at = 1700000000100");
	n = store_due_refreshes(f->s, T0 + 20 * MIN + 3, idle, &keys, 10);
	assert_int_equal(n, 0);
	assert_false(fx_present(f, "due-late"));
	assert_int_equal(store_due_refreshes(f->s, T0, idle, &keys, 0), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_round_trip, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_replace_keeps_counters,
		    setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_tamper_detected, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_row_swap_fails, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_freshness_transitions,
		    setup, fx_teardown),
		cmocka_unit_test(test_refresh_jitter_bounds),
		cmocka_unit_test_setup_teardown(test_negative_caching, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_invalidate, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_evict_by_entries, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_evict_by_bytes, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_too_big, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_due_refreshes, setup,
		    fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
