/*
 * test_store_keys.c: the cache key: key files, a wrong key, starting over
 * on a mismatch, and rotation to a new key (complete, and interrupted by
 * failing commits, then finished by maintenance).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "api/route.h"
#include "store/store.h"
#include "tests/unit/store_fixture.h"

#define ROWS	1000	/* more than one reseal batch */

static int
setup(void **state)
{
	struct fx *f;
	int i;

	if (fx_setup(state, "test_store_keys", false) != 0)
		return -1;
	f = *state;
	for (i = 0; i < STORE_KEY_BYTES; i++) {
		f->key[i] = (uint8_t)i;
		f->key2[i] = (uint8_t)(0xa0 ^ (i * 7));
	}
	return 0;
}

static void
write_file(const char *path, const char *text, mode_t mode)
{
	FILE *fp;

	unlink(path);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
b64(const uint8_t *bin, size_t len, char *out, size_t outlen)
{
	assert_non_null(sodium_bin2base64(out, outlen, bin, len,
	    sodium_base64_VARIANT_ORIGINAL));
}

/* Expect the key file to be refused, without its content in why. */
static void
expect_refused(const char *path, const char *content)
{
	uint8_t	*key = (uint8_t *)1;
	bool	 too_open = true;
	char	 why[512];

	assert_int_equal(store_key_load(path, &key, &too_open, why,
	    sizeof(why)), -1);
	assert_null(key);
	assert_false(too_open);
	assert_non_null(strstr(why, path));
	if (content != NULL) {
		assert_non_null(strstr(why, "does not hold base64 of exactly "
		    "32 bytes (create one with: openssl rand -base64 32)"));
		if (strlen(content) >= 4)
			assert_null(strstr(why, content));
	}
}

static void
test_key_file(void **state)
{
	struct fx *f = *state;
	uint8_t	 bytes[40], *key = NULL;
	char	 path[400], text[160], good[64], why[512];
	bool	 too_open = true;

	snprintf(path, sizeof(path), "%s/cache.key", f->dir);
	b64(f->key, 32, good, sizeof(good));
	assert_int_equal(strlen(good), 44);

	/* As `openssl rand -base64 32` writes it. */
	snprintf(text, sizeof(text), "%s\n", good);
	write_file(path, text, 0600);
	assert_int_equal(store_key_load(path, &key, &too_open, why,
	    sizeof(why)), 0);
	assert_memory_equal(key, f->key, 32);
	assert_false(too_open);
	store_key_free(key);

	/* Whitespace around it, and a mode others can read. */
	snprintf(text, sizeof(text), " \t\r\n%s \r\n\n", good);
	write_file(path, text, 0644);
	assert_int_equal(store_key_load(path, &key, &too_open, why,
	    sizeof(why)), 0);
	assert_memory_equal(key, f->key, 32);
	assert_true(too_open);
	store_key_free(key);
	write_file(path, text, 0640);
	assert_int_equal(store_key_load(path, &key, &too_open, why,
	    sizeof(why)), 0);
	assert_true(too_open);
	store_key_free(key);
	store_key_free(NULL);

	/* Wrong lengths. */
	memset(bytes, 0x42, sizeof(bytes));
	b64(bytes, 31, text, sizeof(text));
	write_file(path, text, 0600);
	expect_refused(path, text);
	b64(bytes, 33, text, sizeof(text));
	write_file(path, text, 0600);
	expect_refused(path, text);
	b64(bytes, 16, text, sizeof(text));
	write_file(path, text, 0600);
	expect_refused(path, text);
	/* Not base64, or not the standard padded alphabet. */
	write_file(path, "this is not base64 at all, is it? not at all!!\n",
	    0600);
	expect_refused(path, "this is not base64");
	snprintf(text, sizeof(text), "%.43s", good);	/* no padding */
	write_file(path, text, 0600);
	expect_refused(path, text);
	memset(bytes, 0xfb, 32);			/* '+' and '/' ... */
	b64(bytes, 32, text, sizeof(text));
	assert_non_null(strchr(text, '+') ? strchr(text, '+') : strchr(text, '/'));
	text[strcspn(text, "+/")] = '-';		/* ... as URL-safe */
	write_file(path, text, 0600);
	expect_refused(path, text);
	snprintf(text, sizeof(text), "%.20s %s", good, good + 20);
	write_file(path, text, 0600);
	expect_refused(path, text);
	snprintf(text, sizeof(text), "%s\n%s\n", good, good);
	write_file(path, text, 0600);
	expect_refused(path, good);
	write_file(path, "", 0600);
	expect_refused(path, "");
	write_file(path, " \n", 0600);
	expect_refused(path, " \n");

	/* Too big to be a key file. */
	{
		char *huge = malloc(10000);

		assert_non_null(huge);
		memset(huge, 'A', 9999);
		huge[9999] = '\0';
		write_file(path, huge, 0600);
		expect_refused(path, "AAAAAAAA");
		free(huge);
	}

	/* Missing file: the reason, no format advice. */
	snprintf(path, sizeof(path), "%s/absent.key", f->dir);
	assert_int_equal(store_key_load(path, &key, &too_open, why,
	    sizeof(why)), -1);
	assert_null(key);
	assert_non_null(strstr(why, path));
	assert_non_null(strstr(why, "No such file"));
	/* A directory is not a key file. */
	assert_int_equal(store_key_load(f->dir, &key, &too_open, why,
	    sizeof(why)), -1);
}

static void
set_opts(struct fx *f, struct store_opts *o, const uint8_t *key,
    const uint8_t *old_key)
{
	memset(o, 0, sizeof(*o));
	o->path = f->path;
	o->key = key;
	o->old_key = old_key;
}

static void
fill(struct fx *f, const uint8_t *key, int rows)
{
	struct store_opts o;
	struct store_open_report rep;
	struct store *s = NULL;
	struct store_entry e;
	char k[64], tag[32], body[64], why[256];
	int i;

	set_opts(f, &o, key, NULL);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_int_equal(store_begin(s), STORE_OK);
	for (i = 0; i < rows; i++) {
		snprintf(k, sizeof(k), "v2/secret/id-%d", i);
		snprintf(tag, sizeof(tag), "id-%d", i);
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		memset(&e, 0, sizeof(e));
		store_meta_set(&e.meta, T0, HOUR, HOUR, (uint32_t)i);
		e.meta.last_access = T0 + i;
		e.meta.kind = ROUTE_KIND_SECRET;
		e.status = 200;
		e.content_type = (char *)"application/json";
		e.secret_id = tag;
		e.body = (uint8_t *)body;
		e.body_len = strlen(body);
		assert_int_equal(store_put(s, k, tag, &e), STORE_OK);
	}
	assert_int_equal(store_commit(s), STORE_OK);
	store_close(s);
}

/* Every row i in [0, rows) except `missing` reads back exactly. */
static void
check_rows(struct store *s, int rows, int missing)
{
	struct store_reader *r;
	struct store_entry *e = NULL;
	char k[64], body[64], tag[32];
	int i;

	assert_non_null(r = store_reader_new(s));
	for (i = 0; i < rows; i++) {
		snprintf(k, sizeof(k), "v2/secret/id-%d", i);
		if (i == missing) {
			assert_int_equal(store_get(r, k, &e), STORE_ENOTFOUND);
			continue;
		}
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		snprintf(tag, sizeof(tag), "id-%d", i);
		assert_int_equal(store_get(r, k, &e), STORE_OK);
		assert_int_equal(e->body_len, strlen(body));
		assert_memory_equal(e->body, body, e->body_len);
		assert_string_equal(e->secret_id, tag);
		assert_int_equal(e->meta.last_access, T0 + i);
		store_entry_free(e);
	}
	store_reader_free(r);
}

static void
test_wrong_key(void **state)
{
	struct fx *f = *state;
	struct store_opts o;
	struct store_open_report rep;
	struct store *s = (struct store *)1;
	char why[512];

	fill(f, f->key, 3);
	set_opts(f, &o, f->key2, NULL);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_EKEY);
	assert_null(s);
	assert_non_null(strstr(why, "does not match"));
	assert_non_null(strstr(why, "SMPROXY_CACHE_KEY_FILE (--cache-key-file)"));
	assert_non_null(strstr(why, "--cache-reset-on-key-mismatch"));
	assert_false(rep.quarantined);

	/* Nothing was touched: the right key still opens it. */
	set_opts(f, &o, f->key, NULL);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_int_equal(rep.entries, 3);
	assert_false(rep.created);
	check_rows(s, 3, -1);
	store_close(s);

	/* An "old key" that is not the one either. */
	set_opts(f, &o, f->key2, f->key2);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_EKEY);
}

static void
test_reset_on_mismatch(void **state)
{
	struct fx *f = *state;
	struct store_opts o;
	struct store_open_report rep;
	struct store *s = NULL;
	struct stat st;
	char why[512];

	fill(f, f->key, 5);
	set_opts(f, &o, f->key2, NULL);
	o.reset_on_key_mismatch = true;
	assert_int_equal(store_open(&s, &o, T0 + 1234, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_true(rep.key_mismatch);
	assert_true(rep.quarantined);
	assert_true(rep.created);
	assert_int_equal(rep.entries, 0);
	assert_non_null(strstr(rep.quarantine_path, ".mismatch-"));
	assert_non_null(strstr(rep.quarantine_path, "1700000001"));
	assert_int_equal(stat(rep.quarantine_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_non_null(strstr(why, rep.quarantine_path));
	check_rows(s, 0, -1);
	store_close(s);

	/* The new database belongs to key2; the old one still to key. */
	set_opts(f, &o, f->key2, NULL);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_false(rep.quarantined);
	store_close(s);
}

static void
test_quarantined_copy_keeps_rows(void **state)
{
	struct fx *f = *state;
	struct store_opts o;
	struct store_open_report rep;
	struct store *s = NULL;
	char why[512], moved[512];

	fill(f, f->key, 4);
	set_opts(f, &o, f->key2, NULL);
	o.reset_on_key_mismatch = true;
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	store_close(s);
	snprintf(moved, sizeof(moved), "%s", rep.quarantine_path);

	/* Moved aside whole: its own key opens it with every row. */
	set_opts(f, &o, f->key, NULL);
	o.path = moved;
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_int_equal(rep.entries, 4);
	check_rows(s, 4, -1);
	store_close(s);
}

static void
test_rotation(void **state)
{
	struct fx *f = *state;
	struct store_opts o;
	struct store_open_report rep;
	struct store *s = NULL;
	int64_t dropped;
	char why[512];

	fill(f, f->key, ROWS);
	set_opts(f, &o, f->key2, f->key);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_int_equal(rep.resealed, ROWS);
	assert_int_equal(rep.entries, ROWS);
	assert_false(rep.key_mismatch);
	check_rows(s, ROWS, -1);
	/* Tags were rehashed under the new key. */
	assert_int_equal(store_invalidate(s, "id-7", 0, &dropped), STORE_OK);
	assert_int_equal(dropped, 1);
	store_close(s);

	/* The new key alone opens it now; the old key alone does not. */
	set_opts(f, &o, f->key2, NULL);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_int_equal(rep.resealed, 0);
	assert_int_equal(rep.entries, ROWS - 1);
	check_rows(s, ROWS, 7);
	store_close(s);
	set_opts(f, &o, f->key, NULL);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_EKEY);
	/* Keeping the old key configured after the rotation is harmless. */
	set_opts(f, &o, f->key2, f->key);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_int_equal(rep.resealed, 0);
	store_close(s);
	/* The same key as "old" key is no rotation. */
	set_opts(f, &o, f->key2, f->key2);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_int_equal(rep.resealed, 0);
	store_close(s);
}

/*
 * ROWS rows under key, then a start rotating them to key2 of which only
 * the first reseal batch commits; the commit hook stays installed, with
 * no limit, until sqlite3_reset_auto_extension.  Returns the open store,
 * with its report in *rep and message in why.
 */
static struct store *
open_half_rotated(struct fx *f, struct store_open_report *rep, char *why,
    size_t whylen)
{
	struct store_opts o;
	struct store *s = NULL;

	fill(f, f->key, ROWS);
	assert_int_equal(sqlite3_auto_extension(
	    (void (*)(void))fx_install_commit_limit), SQLITE_OK);
	fx_allow_commits(1);
	set_opts(f, &o, f->key2, f->key);
	assert_int_equal(store_open(&s, &o, T0, rep, why, whylen), STORE_OK);
	fx_allow_commits(-1);
	return s;
}

static void
test_rotation_interrupted(void **state)
{
	struct fx *f = *state;
	struct store_opts o;
	struct store_open_report rep;
	struct store *s = NULL;
	struct store_entry e;
	int64_t entries, dropped;
	char why[512];
	int i;

	/* The first reseal batch commits, the second is refused. */
	s = open_half_rotated(f, &rep, why, sizeof(why));
	assert_true(rep.resealed > 0 && rep.resealed < ROWS);
	assert_non_null(strstr(why, "resealed"));
	store_stats(s, &entries, NULL);
	assert_int_equal(entries, ROWS);
	/* Rows under either key read back. */
	check_rows(s, ROWS, -1);

	/* Writes during the rotation act on both copies of a key. */
	assert_int_equal(store_invalidate(s, "id-999", 0, &dropped), STORE_OK);
	assert_int_equal(dropped, 1);
	assert_int_equal(store_invalidate(s, "id-0", 0, &dropped), STORE_OK);
	assert_int_equal(dropped, 1);
	for (i = 1; i < ROWS; i += ROWS / 4) {
		char k[64], tag[32], body[64];

		snprintf(k, sizeof(k), "v2/secret/id-%d", i);
		snprintf(tag, sizeof(tag), "id-%d", i);
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		memset(&e, 0, sizeof(e));
		store_meta_set(&e.meta, T0, HOUR, HOUR, 1);
		e.meta.last_access = T0 + i;
		e.secret_id = tag;
		e.status = 200;
		e.body = (uint8_t *)body;
		e.body_len = strlen(body);
		assert_int_equal(store_put(s, k, tag, &e), STORE_OK);
	}
	store_stats(s, &entries, NULL);
	assert_int_equal(entries, ROWS - 2);

	/* Maintenance finishes the job. */
	for (i = 0; i < 10; i++)
		assert_int_equal(store_maintain(s, T0, 0), STORE_OK);
	store_stats(s, &entries, NULL);
	assert_int_equal(entries, ROWS - 2);
	store_close(s);
	sqlite3_reset_auto_extension();

	set_opts(f, &o, f->key2, NULL);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_int_equal(rep.entries, ROWS - 2);
	{
		struct store_reader *r = store_reader_new(s);
		struct store_entry *got = NULL;

		assert_non_null(r);
		assert_int_equal(store_get(r, "v2/secret/id-500", &got),
		    STORE_OK);
		store_entry_free(got);
		assert_int_equal(store_get(r, "v2/secret/id-999", &got),
		    STORE_ENOTFOUND);
		store_reader_free(r);
	}
	store_close(s);
}

static void
test_rotation_resumes_after_restart(void **state)
{
	struct fx *f = *state;
	struct store_opts o;
	struct store_open_report rep;
	struct store *s = NULL;
	char why[512];
	int64_t first;

	s = open_half_rotated(f, &rep, why, sizeof(why));
	first = rep.resealed;
	assert_true(first > 0 && first < ROWS);
	store_close(s);
	sqlite3_reset_auto_extension();

	/* Unfinished: the database still answers to the old key only ... */
	set_opts(f, &o, f->key2, NULL);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_EKEY);
	/* ... and the next start with both keys finishes the rest. */
	set_opts(f, &o, f->key2, f->key);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_int_equal(rep.resealed, ROWS - first);
	assert_int_equal(rep.entries, ROWS);
	check_rows(s, ROWS, -1);
	store_close(s);
	set_opts(f, &o, f->key2, NULL);
	assert_int_equal(store_open(&s, &o, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	check_rows(s, ROWS, -1);
	store_close(s);
}

static void
test_bad_arguments(void **state)
{
	struct fx *f = *state;
	struct store_opts o;
	struct store *s = (struct store *)1;
	char why[256];

	memset(&o, 0, sizeof(o));
	o.path = f->path;
	assert_int_equal(store_open(&s, &o, T0, NULL, why, sizeof(why)),
	    STORE_EINVAL);
	assert_null(s);
	o.key = f->key;
	o.path = "";
	assert_int_equal(store_open(&s, &o, T0, NULL, why, sizeof(why)),
	    STORE_EINVAL);
	/* A directory that does not exist: EIO, nothing moved. */
	o.path = "/nonexistent-dir-for-smproxy/cache.db";
	assert_int_equal(store_open(&s, &o, T0, NULL, why, sizeof(why)),
	    STORE_EIO);
	assert_non_null(strstr(why, "/nonexistent-dir-for-smproxy/cache.db"));
	/* A directory where the file should be: EIO, left alone. */
	o.path = f->dir;
	assert_int_equal(store_open(&s, &o, T0, NULL, why, sizeof(why)),
	    STORE_EIO);
	assert_non_null(strstr(why, "cannot open the database file"));
	assert_int_equal(access(f->dir, F_OK), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_key_file, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_key, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_reset_on_mismatch, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_quarantined_copy_keeps_rows,
		    setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rotation, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_rotation_interrupted, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(
		    test_rotation_resumes_after_restart, setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_bad_arguments, setup,
		    fx_teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
