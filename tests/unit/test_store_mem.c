/*
 * test_store_mem.c: the hot index in front of SQLite (store/store_mem.c).
 *
 * The index must be invisible: after every writer operation, a lookup
 * through it gives exactly what a lookup in SQLite alone gives
 * (store_get_disk).  Also: a hit returns the bytes a database read
 * returns; a failed write leaves no phantom entry; a blob altered in
 * memory fails to open; bounds hold; a rotation in progress and the
 * in-memory mode behave; and reader threads racing the writer never get
 * a version that was replaced or invalidated before their lookup began
 * (run it under TSan too).
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
#include <sqlite3.h>

#include "api/route.h"
#include "store/store.h"
#include "store/store_int.h"
#include "tests/unit/store_fixture.h"

static int
setup_path(void **state, bool memory)
{
	struct fx *f;

	if (fx_setup(state, "test_store_mem", memory) != 0)
		return -1;
	f = *state;
	memset(f->key, 0x21, sizeof(f->key));
	memset(f->key2, 0x43, sizeof(f->key2));
	fx_open(f);
	return 0;
}

static int
setup(void **state)
{
	return setup_path(state, false);
}

static int
setup_memory(void **state)
{
	return setup_path(state, true);
}

/* An index with room for a few small entries: readers miss often and
 * refill it while the writer changes the same rows. */
static int
setup_small_index(void **state)
{
	struct fx *f;

	if (setup_path(state, false) != 0)
		return -1;
	f = *state;
	fx_close(f);
	f->opts.mem_max_bytes = 600;
	fx_open(f);
	return 0;
}

static int
put_full(struct store *s, const char *key, const char *tag, const char *body,
    int64_t now, int64_t ttl, unsigned kind)
{
	struct store_entry e;

	memset(&e, 0, sizeof(e));
	store_meta_set(&e.meta, now, ttl, HOUR, (uint32_t)now);
	e.meta.kind = kind;
	e.status = 200;
	e.content_type = (char *)"application/json";
	e.secret_id = (char *)(tag != NULL ? tag : "");
	e.group_id = (char *)"default";
	e.body = (uint8_t *)body;
	e.body_len = strlen(body);
	return store_put(s, key, tag, &e);
}

static void
put_text(struct store *s, const char *key, const char *tag, const char *body,
    int64_t now)
{
	assert_int_equal(put_full(s, key, tag, body, now, MIN,
	    ROUTE_KIND_SECRET), STORE_OK);
}

static void
expect_same_entry(const struct store_entry *a, const struct store_entry *b)
{
	assert_int_equal(a->status, b->status);
	assert_string_equal(a->content_type, b->content_type);
	assert_string_equal(a->secret_id, b->secret_id);
	assert_string_equal(a->group_id, b->group_id);
	assert_int_equal(a->body_len, b->body_len);
	assert_memory_equal(a->body, b->body, a->body_len);
	assert_int_equal(a->meta.fetched_at, b->meta.fetched_at);
	assert_int_equal(a->meta.fresh_until, b->meta.fresh_until);
	assert_int_equal(a->meta.refresh_at, b->meta.refresh_at);
	assert_int_equal(a->meta.stale_until, b->meta.stale_until);
	assert_int_equal(a->meta.last_access, b->meta.last_access);
	assert_int_equal(a->meta.kind, b->meta.kind);
}

/* store_get (index first) agrees with SQLite alone; returns the rc. */
static int
expect_consistent(struct fx *f, const char *key)
{
	struct store_entry *mem = NULL, *disk = NULL;
	int rc_mem, rc_disk;

	rc_disk = store_get_disk(f->r, key, &disk);
	rc_mem = store_get(f->r, key, &mem);
	assert_int_equal(rc_mem, rc_disk);
	if (rc_mem == STORE_OK)
		expect_same_entry(mem, disk);
	store_entry_free(mem);
	store_entry_free(disk);
	return rc_mem;
}

static void
test_hit_same_bytes(void **state)
{
	struct fx *f = *state;
	static const uint8_t body[] = { '{', 0, 1, 0xfe, 0x80, '"', '}' };
	struct store_entry e, *hit = NULL, *disk = NULL, *filled = NULL;

	memset(&e, 0, sizeof(e));
	store_meta_set(&e.meta, T0, 5 * MIN, HOUR, 11);
	e.meta.kind = ROUTE_KIND_SECRET;
	e.meta.last_access = T0 + 3;
	e.status = 203;
	e.content_type = (char *)"application/json; charset=utf-8";
	e.secret_id = (char *)"0b5571f7";
	e.group_id = (char *)"d898bb90";
	e.body = (uint8_t *)body;
	e.body_len = sizeof(body);
	assert_int_equal(store_put(f->s, "v2/secret/0b5571f7", "0b5571f7", &e),
	    STORE_OK);
	/* The writer's put went into the index. */
	assert_true(store_mem_holds(f->s, "v2/secret/0b5571f7"));
	assert_int_equal(store_get(f->r, "v2/secret/0b5571f7", &hit), STORE_OK);
	assert_int_equal(store_get_disk(f->r, "v2/secret/0b5571f7", &disk),
	    STORE_OK);
	expect_same_entry(hit, disk);
	assert_memory_equal(hit->body, body, sizeof(body));
	assert_int_equal(hit->meta.last_access, T0 + 3);

	/* A miss reads SQLite and fills the index with the same row. */
	store_mem_clear(f->s);
	assert_false(store_mem_holds(f->s, "v2/secret/0b5571f7"));
	assert_int_equal(store_get(f->r, "v2/secret/0b5571f7", &filled),
	    STORE_OK);
	expect_same_entry(filled, disk);
	assert_true(store_mem_holds(f->s, "v2/secret/0b5571f7"));
	store_entry_free(filled);
	assert_int_equal(store_get(f->r, "v2/secret/0b5571f7", &filled),
	    STORE_OK);
	expect_same_entry(filled, disk);
	store_entry_free(filled);
	store_entry_free(hit);
	store_entry_free(disk);

	/* Absent keys are not remembered. */
	assert_int_equal(store_get(f->r, "v2/secret/none", &hit),
	    STORE_ENOTFOUND);
	assert_false(store_mem_holds(f->s, "v2/secret/none"));
}

#define OPS_KEYS	40

static void
read_all(struct fx *f)
{
	char key[32];
	int i;

	for (i = 0; i < OPS_KEYS; i++) {
		snprintf(key, sizeof(key), "v2/secret/%d", i);
		expect_consistent(f, key);
	}
}

/* A random walk of writer calls; after each, index and SQLite agree on
 * every key (and reads in between fill the index). */
static void
test_ops_keep_index_exact(void **state)
{
	struct fx *f = *state;
	uint32_t rnd = 12345;
	int64_t now = T0, mem_entries, mem_bytes, entries;
	char key[32], tag[32], body[96];
	int step, i, in_batch = 0;

	fx_close(f);
	f->opts.max_entries = 25;
	fx_open(f);
	for (step = 0; step < 1500; step++) {
		rnd = rnd * 1103515245u + 12345u;
		i = (int)((rnd >> 8) % OPS_KEYS);
		snprintf(key, sizeof(key), "v2/secret/%d", i);
		snprintf(tag, sizeof(tag), "t%d", i % 7);
		snprintf(body, sizeof(body), "{\"k\":%d,\"step\":%d}", i, step);
		now += 1000;
		switch ((rnd >> 20) % 10) {
		case 0: case 1: case 2:
			assert_int_equal(put_full(f->s, key, tag, body, now,
			    (int64_t)(rnd % 7) * MIN, (rnd >> 3) % 4 == 0 ?
			    ROUTE_KIND_SECRET | ROUTE_KIND_NEGATIVE :
			    ROUTE_KIND_SECRET), STORE_OK);
			break;
		case 3:
			assert_true(store_delete(f->s, key) != STORE_EIO);
			break;
		case 4:
			assert_int_equal(store_invalidate(f->s, tag,
			    (rnd >> 4) % 3 == 0 ? ROUTE_KIND_NEGATIVE : 0,
			    NULL), STORE_OK);
			break;
		case 5: case 6:
			assert_int_equal(store_touch(f->s, key, now), STORE_OK);
			break;
		case 7:
			assert_int_equal(store_maintain(f->s, now,
			    (rnd >> 5) % 2 ? 5 * MIN : 0), STORE_OK);
			break;
		case 8:
			/* memdb readers wait while a batch is open. */
			if (strcmp(f->path, ":memory:") == 0)
				break;
			if (!in_batch)
				assert_int_equal(store_begin(f->s), STORE_OK);
			else
				assert_int_equal(store_commit(f->s), STORE_OK);
			in_batch = !in_batch;
			break;
		default:
			expect_consistent(f, key);
			break;
		}
		if (step % 5 == 0)
			read_all(f);
	}
	if (in_batch)
		assert_int_equal(store_commit(f->s), STORE_OK);
	read_all(f);
	store_stats(f->s, &entries, NULL);
	store_mem_stats(f->s, &mem_entries, &mem_bytes);
	assert_true(mem_entries <= entries);
	assert_true(entries <= 25);
}

static void
test_touch_and_batch(void **state)
{
	struct fx *f = *state;
	struct store_entry *e = NULL;

	put_text(f->s, "v2/secret/t", "t", "body", T0);
	assert_int_equal(store_touch(f->s, "v2/secret/t", T0 + 100), STORE_OK);
	assert_int_equal(store_get(f->r, "v2/secret/t", &e), STORE_OK);
	assert_int_equal(e->meta.last_access, T0 + 100);
	store_entry_free(e);
	/* An older touch does not move it back, in memory either. */
	assert_int_equal(store_touch(f->s, "v2/secret/t", T0 + 50), STORE_OK);
	assert_int_equal(expect_consistent(f, "v2/secret/t"), STORE_OK);

	/* Inside a batch nothing shows before the commit. */
	assert_int_equal(store_begin(f->s), STORE_OK);
	assert_int_equal(store_touch(f->s, "v2/secret/t", T0 + 200), STORE_OK);
	put_text(f->s, "v2/secret/u", "u", "new", T0);
	assert_int_equal(store_delete(f->s, "v2/secret/t"), STORE_OK);
	put_text(f->s, "v2/secret/t", "t", "again", T0 + 1);
	assert_int_equal(store_get(f->r, "v2/secret/t", &e), STORE_OK);
	assert_memory_equal(e->body, "body", 4);
	assert_int_equal(e->meta.last_access, T0 + 100);
	store_entry_free(e);
	assert_int_equal(store_get(f->r, "v2/secret/u", &e), STORE_ENOTFOUND);
	assert_false(store_mem_holds(f->s, "v2/secret/u"));
	assert_int_equal(store_commit(f->s), STORE_OK);
	assert_int_equal(store_get(f->r, "v2/secret/t", &e), STORE_OK);
	assert_memory_equal(e->body, "again", 5);
	store_entry_free(e);
	assert_int_equal(expect_consistent(f, "v2/secret/t"), STORE_OK);
	assert_int_equal(expect_consistent(f, "v2/secret/u"), STORE_OK);
}

static int
refuse_commit(void *arg)
{
	return *(const bool *)arg;
}

static void
test_failed_writes_leave_no_phantom(void **state)
{
	struct fx *f = *state;
	struct store_entry *e = NULL;
	sqlite3 *db = store_writer_db(f->s);
	bool refuse = false;
	int64_t mem_entries, mem_bytes;
	char key[32];
	int i;

	put_text(f->s, "v2/secret/old", "old", "old body", T0);
	put_text(f->s, "v2/secret/gone", "gone", "gone body", T0);
	assert_true(store_mem_holds(f->s, "v2/secret/old"));
	sqlite3_commit_hook(db, refuse_commit, &refuse);
	refuse = true;

	/* A new key that did not commit is nowhere. */
	assert_int_equal(put_full(f->s, "v2/secret/new", "new", "n", T0, MIN,
	    ROUTE_KIND_SECRET), STORE_EIO);
	assert_false(store_mem_holds(f->s, "v2/secret/new"));
	assert_int_equal(store_get(f->r, "v2/secret/new", &e), STORE_ENOTFOUND);
	/* A replacement that did not commit: the old row it is. */
	assert_int_equal(put_full(f->s, "v2/secret/old", "old", "replaced",
	    T0 + 1, MIN, ROUTE_KIND_SECRET), STORE_EIO);
	assert_false(store_mem_holds(f->s, "v2/secret/old"));
	assert_int_equal(store_get(f->r, "v2/secret/old", &e), STORE_OK);
	assert_memory_equal(e->body, "old body", 8);
	store_entry_free(e);
	/* Failed deletes, invalidations and touches change nothing. */
	assert_int_equal(store_delete(f->s, "v2/secret/gone"), STORE_EIO);
	assert_int_equal(store_invalidate(f->s, "old", 0, NULL), STORE_EIO);
	assert_int_equal(store_touch(f->s, "v2/secret/old", T0 + 9), STORE_EIO);
	assert_int_equal(expect_consistent(f, "v2/secret/gone"), STORE_OK);
	assert_int_equal(expect_consistent(f, "v2/secret/old"), STORE_OK);

	/* A batch whose commit fails leaves none of its puts behind. */
	assert_int_equal(store_begin(f->s), STORE_OK);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "v2/secret/b%d", i);
		put_text(f->s, key, key, "batch", T0);
	}
	put_text(f->s, "v2/secret/old", "old", "in batch", T0 + 2);
	assert_int_equal(store_commit(f->s), STORE_EIO);
	for (i = 0; i < 10; i++) {
		snprintf(key, sizeof(key), "v2/secret/b%d", i);
		assert_false(store_mem_holds(f->s, key));
		assert_int_equal(expect_consistent(f, key), STORE_ENOTFOUND);
	}
	assert_int_equal(store_get(f->r, "v2/secret/old", &e), STORE_OK);
	assert_memory_equal(e->body, "old body", 8);
	store_entry_free(e);

	/* Healed: writes reach the index again. */
	refuse = false;
	put_text(f->s, "v2/secret/new", "new", "n", T0);
	assert_true(store_mem_holds(f->s, "v2/secret/new"));
	assert_int_equal(expect_consistent(f, "v2/secret/new"), STORE_OK);
	sqlite3_commit_hook(db, NULL, NULL);
	store_mem_stats(f->s, &mem_entries, &mem_bytes);
	assert_true(mem_entries <= 3);
}

static void
test_disk_full_no_phantom(void **state)
{
	struct fx *f = *state;
	sqlite3 *db = store_writer_db(f->s);
	char body[3000], key[32];
	int i, rc, failures = 0;

	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	put_text(f->s, "v2/secret/before", "before", body, T0);
	fx_set_max_pages(db, fx_page_count(db));
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "v2/secret/full-%d", i);
		rc = put_full(f->s, key, key, body, T0, MIN, ROUTE_KIND_SECRET);
		assert_true(rc == STORE_OK || rc == STORE_EIO);
		if (rc == STORE_EIO) {
			failures++;
			assert_false(store_mem_holds(f->s, key));
		}
		assert_int_equal(expect_consistent(f, key),
		    rc == STORE_OK ? STORE_OK : STORE_ENOTFOUND);
	}
	assert_true(failures > 0);
	assert_int_equal(expect_consistent(f, "v2/secret/before"), STORE_OK);
	fx_set_max_pages(db, 1073741823);
}

static void
test_memory_tamper_detected(void **state)
{
	struct fx *f = *state;
	static const size_t offsets[] = { 0, 5, 23, 24, 40, 70, 1000000 };
	struct store_entry *e = NULL;
	size_t i;

	put_text(f->s, "v2/secret/m", "m", "{\"payload\":\"s3cr3t\"}", T0);
	for (i = 0; i < sizeof(offsets) / sizeof(offsets[0]); i++) {
		/* Index it (a read fills it after the last flip dropped it). */
		assert_int_equal(store_get(f->r, "v2/secret/m", &e), STORE_OK);
		store_entry_free(e);
		assert_int_equal(store_mem_flip(f->s, "v2/secret/m", offsets[i]),
		    0);
		assert_int_equal(store_get(f->r, "v2/secret/m", &e),
		    STORE_ECORRUPT);
		assert_null(e);
		/* The bad copy is gone; the row on disk is intact. */
		assert_false(store_mem_holds(f->s, "v2/secret/m"));
		assert_int_equal(expect_consistent(f, "v2/secret/m"), STORE_OK);
	}
	/* The writer checks the reported row, finds it sound, keeps it. */
	assert_int_equal(store_maintain(f->s, T0, 0), STORE_OK);
	assert_int_equal(expect_consistent(f, "v2/secret/m"), STORE_OK);
	assert_int_equal(store_mem_flip(f->s, "v2/secret/nothing", 1), -1);
}

static void
test_bounds(void **state)
{
	struct fx *f = *state;
	int64_t entries, bytes, mem_entries, mem_bytes, one;
	char key[32], body[200];
	int i;

	/* Bounded by max_entries and max_bytes like the database. */
	fx_close(f);
	f->opts.max_entries = 30;
	fx_open(f);
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "v2/secret/%d", i);
		snprintf(body, sizeof(body), "{\"n\":%d,\"pad\":\"%090d\"}", i, i);
		put_text(f->s, key, key + 10, body, T0 + i);
		store_mem_stats(f->s, &mem_entries, NULL);
		assert_true(mem_entries <= 30);
	}
	store_stats(f->s, &entries, &one);
	one /= entries;

	/* A budget smaller than the database: misses fall back to SQLite. */
	fx_close(f);
	f->opts.max_entries = 0;
	f->opts.mem_max_bytes = 10 * one;
	fx_open(f);
	for (i = 0; i < 100; i++) {
		snprintf(key, sizeof(key), "v2/secret/%d", i);
		if (i >= 70)
			assert_int_equal(expect_consistent(f, key), STORE_OK);
		else
			assert_int_equal(expect_consistent(f, key),
			    STORE_ENOTFOUND);
		store_mem_stats(f->s, &mem_entries, &mem_bytes);
		assert_true(mem_bytes <= 10 * one);
	}
	assert_true(mem_entries >= 5);
	/* Entries read again survive the clock; the index keeps serving. */
	for (i = 0; i < 300; i++) {
		snprintf(key, sizeof(key), "v2/secret/%d", 70 + i % 30);
		assert_int_equal(expect_consistent(f, key), STORE_OK);
		store_mem_stats(f->s, &mem_entries, &mem_bytes);
		assert_true(mem_bytes <= 10 * one);
	}

	/* No index at all. */
	fx_close(f);
	f->opts.mem_max_bytes = -1;
	fx_open(f);
	assert_int_equal(expect_consistent(f, "v2/secret/99"), STORE_OK);
	assert_false(store_mem_holds(f->s, "v2/secret/99"));
	put_text(f->s, "v2/secret/x", "x", "x", T0);
	assert_false(store_mem_holds(f->s, "v2/secret/x"));
	store_mem_stats(f->s, &mem_entries, &mem_bytes);
	assert_int_equal(mem_entries, 0);
	store_stats(f->s, &entries, &bytes);
	assert_int_equal(entries, 31);
}

#define ROT_ROWS	1200

static void
test_rotation_keeps_index_exact(void **state)
{
	struct fx *f = *state;
	struct store_open_report rep;
	int64_t entries, mem_entries, mem_bytes;
	char key[32], why[256];
	int i;

	fx_close(f);
	snprintf(f->path, sizeof(f->path), "%s/rotated.db", f->dir);
	f->opts.key = f->key2;
	fx_open(f);
	assert_int_equal(store_begin(f->s), STORE_OK);
	for (i = 0; i < ROT_ROWS; i++) {
		snprintf(key, sizeof(key), "v2/secret/%d", i);
		put_text(f->s, key, key + 10, key, T0 + i);
	}
	assert_int_equal(store_commit(f->s), STORE_OK);
	fx_close(f);

	/* Open with the new key; only the first reseal batch commits. */
	assert_int_equal(sqlite3_auto_extension(
	    (void (*)(void))fx_install_commit_limit), SQLITE_OK);
	fx_allow_commits(1);
	f->opts.key = f->key;
	f->opts.old_key = f->key2;
	assert_int_equal(store_open(&f->s, &f->opts, T0, &rep, why,
	    sizeof(why)), STORE_OK);
	fx_allow_commits(-1);
	assert_true(rep.resealed > 0 && rep.resealed < ROT_ROWS);
	assert_non_null(f->r = store_reader_new(f->s));
	/* Fill the index with rows under both keys. */
	for (i = 0; i < ROT_ROWS; i++) {
		snprintf(key, sizeof(key), "v2/secret/%d", i);
		assert_int_equal(expect_consistent(f, key), STORE_OK);
	}
	/* Writes during the rotation, then maintenance finishes it. */
	assert_int_equal(store_invalidate(f->s, "7", 0, NULL), STORE_OK);
	put_text(f->s, "v2/secret/1100", "1100", "new", T0);
	assert_int_equal(store_touch(f->s, "v2/secret/1101", T0 + 99999),
	    STORE_OK);
	for (i = 0; i < 5; i++)
		assert_int_equal(store_maintain(f->s, T0, 0), STORE_OK);
	sqlite3_reset_auto_extension();
	for (i = 0; i < ROT_ROWS; i++) {
		snprintf(key, sizeof(key), "v2/secret/%d", i);
		assert_int_equal(expect_consistent(f, key),
		    i == 7 ? STORE_ENOTFOUND : STORE_OK);
	}
	/* Rows under the old key left the index as they were resealed. */
	store_stats(f->s, &entries, NULL);
	store_mem_stats(f->s, &mem_entries, &mem_bytes);
	assert_int_equal(entries, ROT_ROWS - 1);
	assert_true(mem_entries <= entries);
}

#define RACE_KEYS	8
#define RACE_ROUNDS	3000
#define RACE_READERS	2

struct race {
	struct store	*s;
	atomic_bool	 stop;
	/* Per key: a hit must carry at least this version (0: any). */
	_Atomic int	 floor[RACE_KEYS];
	atomic_long	 hits, misses, bad;
};

static void *
race_reader(void *p)
{
	struct race *rc = p;
	struct store_reader *r = store_reader_new(rc->s);
	struct store_entry *e;
	uint32_t seed = (uint32_t)(uintptr_t)&seed;
	char key[32];
	int i, floor, version, got, lookups = 0;

	if (r == NULL) {
		atomic_fetch_add(&rc->bad, 1);
		return NULL;
	}
	/* Some lookups each, however fast the writer is done (memdb readers
	 * wait while it writes). */
	while (!atomic_load(&rc->stop) || lookups++ < 200) {
		seed = seed * 1103515245u + 12345u;
		i = (int)((seed >> 8) % RACE_KEYS);
		snprintf(key, sizeof(key), "v2/secret/r%d", i);
		floor = atomic_load(&rc->floor[i]);
		got = store_get(r, key, &e);
		if (got == STORE_OK) {
			if (sscanf((const char *)e->body, "{\"v\":%d}",
			    &version) != 1 || version < floor)
				atomic_fetch_add(&rc->bad, 1);
			store_entry_free(e);
			atomic_fetch_add(&rc->hits, 1);
		} else if (got == STORE_ENOTFOUND)
			atomic_fetch_add(&rc->misses, 1);
		else
			atomic_fetch_add(&rc->bad, 1);
	}
	store_reader_free(r);
	return NULL;
}

/*
 * The writer puts version v of a key, then (every other round) invalidates
 * or deletes it; once a call returns, the floor says which versions are
 * dead.  A reader that read the floor before its lookup must never get an
 * older version.
 */
static void
test_race_never_stale(void **state)
{
	struct fx *f = *state;
	static struct race rc;	/* outlives a failed assertion */
	pthread_t tid[RACE_READERS];
	char key[32], tag[32], body[64];
	int v, i, t;

	memset(&rc, 0, sizeof(rc));
	rc.s = f->s;
	atomic_init(&rc.stop, false);
	for (i = 0; i < RACE_KEYS; i++)
		atomic_init(&rc.floor[i], 0);
	atomic_init(&rc.hits, 0);
	atomic_init(&rc.misses, 0);
	atomic_init(&rc.bad, 0);
	for (t = 0; t < RACE_READERS; t++)
		assert_int_equal(pthread_create(&tid[t], NULL, race_reader,
		    &rc), 0);
	for (v = 1; v <= RACE_ROUNDS; v++) {
		i = v % RACE_KEYS;
		snprintf(key, sizeof(key), "v2/secret/r%d", i);
		snprintf(tag, sizeof(tag), "r%d", i);
		snprintf(body, sizeof(body), "{\"v\":%d}", v);
		put_text(f->s, key, tag, body, T0 + v);
		atomic_store(&rc.floor[i], v);
		switch (v % 6) {
		case 1:
			assert_int_equal(store_invalidate(f->s, tag, 0, NULL),
			    STORE_OK);
			atomic_store(&rc.floor[i], v + 1);
			break;
		case 3:
			assert_int_equal(store_delete(f->s, key), STORE_OK);
			atomic_store(&rc.floor[i], v + 1);
			break;
		case 5:
			assert_int_equal(store_touch(f->s, key, T0 + v + 1),
			    STORE_OK);
			break;
		}
		if (v % 100 == 0)
			assert_int_equal(store_maintain(f->s, T0 + v, 0),
			    STORE_OK);
	}
	atomic_store(&rc.stop, true);
	for (t = 0; t < RACE_READERS; t++)
		assert_int_equal(pthread_join(tid[t], NULL), 0);
	assert_int_equal(atomic_load(&rc.bad), 0);
	assert_true(atomic_load(&rc.hits) > 0);
	for (i = 0; i < RACE_KEYS; i++) {
		snprintf(key, sizeof(key), "v2/secret/r%d", i);
		expect_consistent(f, key);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hit_same_bytes, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_hit_same_bytes,
		    setup_memory, fx_teardown),
		cmocka_unit_test_setup_teardown(test_ops_keep_index_exact, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_ops_keep_index_exact,
		    setup_memory, fx_teardown),
		cmocka_unit_test_setup_teardown(test_touch_and_batch, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_writes_leave_no_phantom, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_writes_leave_no_phantom, setup_memory,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_disk_full_no_phantom, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_memory_tamper_detected,
		    setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bounds, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_rotation_keeps_index_exact,
		    setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_race_never_stale, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_race_never_stale,
		    setup_memory, fx_teardown),
		cmocka_unit_test_setup_teardown(test_race_never_stale,
		    setup_small_index, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
