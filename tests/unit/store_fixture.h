/*
 * store_fixture.h: the fixture the store/ unit tests share (test_store*.c):
 * a fresh temporary folder with a database path and two cache keys in
 * it, the store opened on that path, entries with fixed fields, and an
 * SQLite commit hook that refuses commits after a budget.
 *
 * Each test binary is its own program and there is no shared test
 * library, so everything here is static inline; include it after
 * <cmocka.h>.  Time is an injected number (T0 and on), never the clock.
 * Thread rules: the calls that assert are for the test's main thread.
 */
#ifndef SMPROXY_STORE_FIXTURE_H
#define SMPROXY_STORE_FIXTURE_H

#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "store/store.h"

#define T0	((int64_t)1700000000000)	/* a wall-clock ms origin */
#define MIN	((int64_t)60 * 1000)
#define HOUR	(60 * MIN)

struct fx {
	char		 dir[256];
	char		 path[320];		/* dir/cache.db, or ":memory:" */
	uint8_t		 key[STORE_KEY_BYTES];	/* opts.key */
	uint8_t		 key2[STORE_KEY_BYTES];	/* another key, e.g. to rotate to */
	struct store_opts opts;
	struct store	*s;			/* between fx_open and fx_close */
	struct store_reader *r;
};

static inline int
fx_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

/*
 * Make *state a new fixture: the folder $TMPDIR/NAME.XXXXXX (/tmp when
 * TMPDIR is unset), path dir/cache.db or, when memory, ":memory:", and
 * opts pointing at path and key.  Keys are all zero and nothing is open.
 * Returns 0, or -1 on failure.  fx_teardown frees it.
 */
static inline int
fx_setup(void **state, const char *name, bool memory)
{
	struct fx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/%s.XXXXXX", tmp ? tmp : "/tmp",
	    name);
	if (mkdtemp(f->dir) == NULL) {
		free(f);
		return -1;
	}
	if (memory)
		snprintf(f->path, sizeof(f->path), ":memory:");
	else
		snprintf(f->path, sizeof(f->path), "%s/cache.db", f->dir);
	f->opts.path = f->path;
	f->opts.key = f->key;
	*state = f;
	return 0;
}

/* Open f->s with f->opts at T0, and a reader f->r on it; asserts. */
static inline void
fx_open(struct fx *f)
{
	struct store_open_report rep;
	char why[512];

	assert_int_equal(store_open(&f->s, &f->opts, T0, &rep, why,
	    sizeof(why)), STORE_OK);
	assert_non_null(f->s);
	assert_non_null(f->r = store_reader_new(f->s));
}

/* Close what fx_open opened; nothing open is fine. */
static inline void
fx_close(struct fx *f)
{
	store_reader_free(f->r);
	store_close(f->s);
	f->r = NULL;
	f->s = NULL;
}

/* The setup of test_store.c and test_store_access.c: fx_setup with a
 * fixed key, then fx_open.  0 or -1. */
static inline int
fx_setup_open(void **state, bool memory)
{
	struct fx *f;

	if (fx_setup(state, "test_store", memory) != 0)
		return -1;
	f = *state;
	memset(f->key, 0x5a, sizeof(f->key));
	f->key[0] = 1;
	fx_open(f);
	return 0;
}

/* cmocka teardown: close, remove the folder and free the fixture. */
static inline int
fx_teardown(void **state)
{
	struct fx *f = *state;

	fx_close(f);
	nftw(f->dir, fx_rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

/* An entry fetched at now with the given ttl (ms) and a text body; the
 * strings are borrowed, not copied. */
static inline void
fx_make_entry(struct store_entry *e, const char *body, int64_t now,
    int64_t ttl, unsigned kind)
{
	memset(e, 0, sizeof(*e));
	store_meta_set(&e->meta, now, ttl, HOUR, 7);
	e->meta.kind = kind;
	e->status = 200;
	e->content_type = (char *)"application/json";
	e->secret_id = (char *)"sid";
	e->group_id = (char *)"gid";
	e->body = (uint8_t *)body;
	e->body_len = strlen(body);
}

/* Put fx_make_entry's entry under key and tag; asserts STORE_OK. */
static inline void
fx_put_text(struct store *s, const char *key, const char *tag,
    const char *body, int64_t now, int64_t ttl, unsigned kind)
{
	struct store_entry e;

	fx_make_entry(&e, body, now, ttl, kind);
	assert_int_equal(store_put(s, key, tag, &e), STORE_OK);
}

/* Whether f's reader finds key; asserts the lookup itself works. */
static inline bool
fx_present(struct fx *f, const char *key)
{
	struct store_entry *e = NULL;
	int rc = store_get(f->r, key, &e);

	assert_true(rc == STORE_OK || rc == STORE_ENOTFOUND);
	store_entry_free(e);
	return rc == STORE_OK;
}

/* The database's size in pages (PRAGMA page_count). */
static inline int64_t
fx_page_count(sqlite3 *db)
{
	sqlite3_stmt *st;
	int64_t n;

	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA page_count", -1, &st,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

/* Let the database grow to pages pages at most; further writes fail
 * with SQLITE_FULL. */
static inline void
fx_set_max_pages(sqlite3 *db, int64_t pages)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA max_page_count=%lld",
	    (long long)pages);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/*
 * A commit budget for connections the store opens from now on:
 * register fx_install_commit_limit with sqlite3_auto_extension, then
 * fx_allow_commits(n) lets n more commits through and refuses (rolls
 * back) every one after; n < 0 means no limit, the start value.
 * sqlite3_reset_auto_extension removes the hook from later connections.
 */
static inline int *
fx_commits_left(void)
{
	static int left = -1;

	return &left;
}

static inline void
fx_allow_commits(int n)
{
	*fx_commits_left() = n;
}

static inline int
fx_limit_commit(void *arg)
{
	int *left = fx_commits_left();

	(void)arg;
	if (*left < 0)
		return 0;
	if (*left == 0)
		return 1;
	(*left)--;
	return 0;
}

static inline int
fx_install_commit_limit(sqlite3 *db, const char **err, const void *api)
{
	(void)err; (void)api;
	sqlite3_commit_hook(db, fx_limit_commit, NULL);
	return SQLITE_OK;
}

#endif
