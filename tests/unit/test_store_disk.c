/*
 * test_store_disk.c: what store/ leaves on disk and how it copes with bad
 * disks: file modes, quarantine of files that are not usable, no
 * plaintext in the database or its WAL, write failures (SQLITE_FULL via
 * max_page_count) that heal, and kill -9 in the middle of writes and of a
 * key rotation.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
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
	struct fx *f;

	if (fx_setup(state, "test_store_disk", false) != 0)
		return -1;
	f = *state;
	memset(f->key, 0x33, sizeof(f->key));
	memset(f->key2, 0x77, sizeof(f->key2));
	return 0;
}

static struct store *
open_ok(struct fx *f, struct store_open_report *rep)
{
	struct store_open_report scratch;
	struct store *s = NULL;
	char why[512];

	assert_int_equal(store_open(&s, &f->opts, T0, rep ? rep : &scratch,
	    why, sizeof(why)), STORE_OK);
	return s;
}

static int
put_body(struct store *s, const char *key, const char *tag, const char *sid,
    const char *body)
{
	struct store_entry e;

	memset(&e, 0, sizeof(e));
	store_meta_set(&e.meta, T0, HOUR, HOUR, 3);
	e.meta.kind = ROUTE_KIND_SECRET;
	e.status = 200;
	e.content_type = (char *)"application/json";
	e.secret_id = (char *)sid;
	e.group_id = (char *)"default";
	e.body = (uint8_t *)body;
	e.body_len = strlen(body);
	return store_put(s, key, tag, &e);
}

static void
expect_mode_0600(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void
test_file_modes(void **state)
{
	struct fx *f = *state;
	struct store_open_report rep;
	struct store *s;
	char side[400];
	int i;

	s = open_ok(f, &rep);
	assert_true(rep.created);
	for (i = 0; i < 20; i++) {
		char k[32];

		snprintf(k, sizeof(k), "v2/secret/%d", i);
		assert_int_equal(put_body(s, k, k, "x", "{}"), STORE_OK);
	}
	expect_mode_0600(f->path);
	snprintf(side, sizeof(side), "%s-wal", f->path);
	expect_mode_0600(side);
	snprintf(side, sizeof(side), "%s-shm", f->path);
	expect_mode_0600(side);
	store_close(s);
	expect_mode_0600(f->path);

	/* A database made too open by someone else is tightened. */
	assert_int_equal(chmod(f->path, 0644), 0);
	s = open_ok(f, &rep);
	assert_false(rep.created);
	assert_int_equal(rep.entries, 20);
	expect_mode_0600(f->path);
	snprintf(side, sizeof(side), "%s-wal", f->path);
	expect_mode_0600(side);
	store_close(s);
}

static void
write_bytes(const char *path, const void *bytes, size_t len, off_t at,
    bool truncate)
{
	int fd = open(path, O_WRONLY | O_CREAT | (truncate ? O_TRUNC : 0), 0600);

	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, bytes, len, at), (ssize_t)len);
	close(fd);
}

static void
expect_quarantined(struct fx *f, const char *what)
{
	struct store_open_report rep;
	struct store_reader *r;
	struct store_entry *e = NULL;
	struct store *s;
	struct stat st;
	char why[512];

	assert_int_equal(store_open(&s, &f->opts, T0 + 5000, &rep, why,
	    sizeof(why)), STORE_OK);
	assert_true(rep.quarantined);
	assert_false(rep.key_mismatch);
	assert_true(rep.created);
	assert_int_equal(rep.entries, 0);
	assert_non_null(strstr(rep.quarantine_path, ".corrupt-1700000005"));
	assert_int_equal(stat(rep.quarantine_path, &st), 0);
	assert_non_null(strstr(why, rep.quarantine_path));
	if (what != NULL)
		assert_non_null(strstr(why, what));
	/* And the new one works. */
	assert_int_equal(put_body(s, "v2/secret/new", "new", "new", "{}"),
	    STORE_OK);
	assert_non_null(r = store_reader_new(s));
	assert_int_equal(store_get(r, "v2/secret/new", &e), STORE_OK);
	store_entry_free(e);
	store_reader_free(r);
	store_close(s);
	expect_mode_0600(f->path);
	unlink(rep.quarantine_path);
}

static void
test_corrupt_files_quarantined(void **state)
{
	struct fx *f = *state;
	uint8_t garbage[8192];
	struct store *s;
	sqlite3 *db;
	size_t i;

	/* Not a database at all. */
	for (i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)(i * 131 + 7);
	write_bytes(f->path, garbage, sizeof(garbage), 0, true);
	expect_quarantined(f, NULL);

	/* A real cache with its pages overwritten past the header page. */
	unlink(f->path);
	s = open_ok(f, NULL);
	for (i = 0; i < 200; i++) {
		char k[32];

		snprintf(k, sizeof(k), "v2/secret/%zu", i);
		assert_int_equal(put_body(s, k, k, "x",
		    "{\"a fairly long body to take some pages\":true}"),
		    STORE_OK);
	}
	store_close(s);
	write_bytes(f->path, garbage, sizeof(garbage), 4096, false);
	expect_quarantined(f, NULL);

	/* An SQLite database that is not an smproxy cache. */
	unlink(f->path);
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t(x)", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	expect_quarantined(f, "not an smproxy cache");

	/* A cache from a future schema. */
	unlink(f->path);
	store_close(open_ok(f, NULL));
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = 99 WHERE "
	    "name = 'schema_version'", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	expect_quarantined(f, "schema version");
}

/* Read a whole file; *len 0 if it does not exist. */
static uint8_t *
slurp(const char *path, size_t *len)
{
	struct stat st;
	uint8_t *buf;
	int fd;

	*len = 0;
	if ((fd = open(path, O_RDONLY)) == -1) {
		assert_int_equal(errno, ENOENT);
		return NULL;
	}
	assert_int_equal(fstat(fd, &st), 0);
	assert_non_null(buf = malloc((size_t)st.st_size + 1));
	assert_int_equal(read(fd, buf, (size_t)st.st_size), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

/* None of the files of the cache holds marker; returns how many bytes were
 * looked at. */
static size_t
expect_absent(struct fx *f, const char *marker)
{
	static const char *const sides[] = { "", "-wal", "-shm" };
	char path[400];
	size_t i, len, total = 0;
	uint8_t *buf;

	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", f->path, sides[i]);
		buf = slurp(path, &len);
		if (buf != NULL)
			assert_null(memmem(buf, len, marker, strlen(marker)));
		total += len;
		free(buf);
	}
	return total;
}

static void
test_no_plaintext_on_disk(void **state)
{
	struct fx *f = *state;
	static const char *const markers[] = {
		"MARKERKEY", "MARKERTAG", "MARKERBODY", "0f1e2d3c-MARKER-SECRETID",
		"MARKERGROUP", "application/x-marker",
	};
	struct store_entry e;
	struct store *s;
	char key[64], tag[64], body[256];
	size_t i, seen;
	int n;

	s = open_ok(f, NULL);
	for (n = 0; n < 300; n++) {
		snprintf(key, sizeof(key), "v2/secret/MARKERKEY-%d", n);
		snprintf(tag, sizeof(tag), "MARKERTAG-%d", n);
		snprintf(body, sizeof(body), "{\"payload\":\"MARKERBODY-%d\","
		    "\"id\":\"0f1e2d3c-MARKER-SECRETID\"}", n);
		memset(&e, 0, sizeof(e));
		store_meta_set(&e.meta, T0, HOUR, HOUR, (uint32_t)n);
		e.status = 200;
		e.content_type = (char *)"application/x-marker";
		e.secret_id = (char *)"0f1e2d3c-MARKER-SECRETID";
		e.group_id = (char *)"MARKERGROUP";
		e.body = (uint8_t *)body;
		e.body_len = strlen(body);
		assert_int_equal(store_put(s, key, tag, &e), STORE_OK);
		if (n % 3 == 0)
			assert_int_equal(store_delete(s, key), STORE_OK);
		assert_int_equal(store_touch(s, key, T0 + n), STORE_OK);
	}
	assert_int_equal(store_invalidate(s, "MARKERTAG-5", 0, NULL), STORE_OK);
	/* While open, with a WAL full of recent writes ... */
	for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++) {
		seen = expect_absent(f, markers[i]);
		assert_true(seen > 100000);
	}
	store_close(s);
	/* ... and after the checkpoint at close. */
	for (i = 0; i < sizeof(markers) / sizeof(markers[0]); i++)
		assert_true(expect_absent(f, markers[i]) > 50000);
	/* The test would see a marker if one were there. */
	{
		char probe[400];

		snprintf(probe, sizeof(probe), "%s/probe", f->dir);
		write_bytes(probe, "xxMARKERBODYxx", 14, 0, true);
		{
			size_t len;
			uint8_t *buf = slurp(probe, &len);

			assert_non_null(memmem(buf, len, "MARKERBODY", 10));
			free(buf);
		}
	}
}

static void
test_disk_full_heals(void **state)
{
	struct fx *f = *state;
	struct store *s;
	struct store_reader *r;
	struct store_entry *e = NULL;
	int64_t entries, bytes, entries2, bytes2;
	char body[3000], key[32];
	sqlite3 *db;
	int i, rc, failures = 0;

	s = open_ok(f, NULL);
	assert_non_null(r = store_reader_new(s));
	memset(body, 'b', sizeof(body) - 1);
	body[sizeof(body) - 1] = '\0';
	assert_int_equal(put_body(s, "v2/secret/before", "before", "x", body),
	    STORE_OK);
	store_stats(s, &entries, &bytes);

	/* No room for another page: writes fail with EIO, nothing crashes,
	 * reads go on, counters do not move. */
	db = store_writer_db(s);
	fx_set_max_pages(db, fx_page_count(db));
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "v2/secret/full-%d", i);
		rc = put_body(s, key, key, "x", body);
		assert_true(rc == STORE_OK || rc == STORE_EIO);
		failures += rc == STORE_EIO;
	}
	assert_true(failures > 0);
	assert_int_equal(store_get(r, "v2/secret/before", &e), STORE_OK);
	store_entry_free(e);
	assert_int_equal(store_maintain(s, T0, HOUR), STORE_OK);
	store_stats(s, &entries2, &bytes2);
	assert_int_equal(entries2, entries + (20 - failures));

	/* The same inside a batch: the commit reports it. */
	assert_int_equal(store_begin(s), STORE_OK);
	for (i = 0; i < 5; i++) {
		snprintf(key, sizeof(key), "v2/secret/batch-%d", i);
		rc = put_body(s, key, key, "x", body);
		assert_true(rc == STORE_OK || rc == STORE_EIO);
	}
	rc = store_commit(s);
	assert_true(rc == STORE_OK || rc == STORE_EIO);

	/* Room again: writes work, and the counters match the table. */
	fx_set_max_pages(db, 1 << 30);
	for (i = 0; i < 20; i++) {
		snprintf(key, sizeof(key), "v2/secret/after-%d", i);
		assert_int_equal(put_body(s, key, key, "x", body), STORE_OK);
	}
	assert_int_equal(store_get(r, "v2/secret/after-19", &e), STORE_OK);
	store_entry_free(e);
	store_stats(s, &entries, &bytes);
	store_reader_free(r);
	store_close(s);
	s = open_ok(f, NULL);
	store_stats(s, &entries2, &bytes2);
	assert_int_equal(entries, entries2);
	assert_int_equal(bytes, bytes2);
	store_close(s);
}

static void
body_for(char *buf, size_t len, int n)
{
	snprintf(buf, len, "{\"n\":%d,\"pad\":\"%0*d\"}", n, 200 + n % 300, n);
}

/*
 * The child writes rows 0, 1, 2 ... and reports each commit on the pipe;
 * the parent kills it at some point.  No row may then open to other bytes
 * than the child wrote, and every reported row must be there.
 */
static void
child_writer(struct fx *f, int ack_fd)
{
	struct store_open_report rep;
	struct store *s = NULL;
	char key[32], body[600], why[256];
	int n;

	if (store_open(&s, &f->opts, T0, &rep, why, sizeof(why)) != STORE_OK)
		_exit(2);
	for (n = 0; n < 200000; n++) {
		snprintf(key, sizeof(key), "v2/secret/%d", n);
		body_for(body, sizeof(body), n);
		if (put_body(s, key, key, key, body) != STORE_OK)
			_exit(3);
		if (n % 7 == 0)
			store_touch(s, key, T0 + n);
		if (write(ack_fd, &n, sizeof(n)) != sizeof(n))
			_exit(4);
	}
	_exit(0);
}

static void
test_kill_during_writes(void **state)
{
	struct fx *f = *state;
	struct store_reader *r;
	struct store_entry *e = NULL;
	struct store *s;
	char key[32], body[600];
	int round, fds[2], n, last, status, i, present;
	pid_t pid;

	for (round = 0; round < 3; round++) {
		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			child_writer(f, fds[1]);
		}
		close(fds[1]);
		/* Let it get well into its stride, then kill it mid-write. */
		last = -1;
		while (last < 200 + round * 150 &&
		    read(fds[0], &n, sizeof(n)) == sizeof(n))
			last = n;
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		close(fds[0]);

		s = open_ok(f, NULL);
		assert_non_null(r = store_reader_new(s));
		present = 0;
		for (i = 0; i < 200000; i++) {
			snprintf(key, sizeof(key), "v2/secret/%d", i);
			n = store_get(r, key, &e);
			if (n == STORE_ENOTFOUND) {
				assert_true(i > last);
				break;
			}
			assert_int_equal(n, STORE_OK);
			body_for(body, sizeof(body), i);
			assert_int_equal(e->body_len, strlen(body));
			assert_memory_equal(e->body, body, e->body_len);
			store_entry_free(e);
			present++;
		}
		assert_true(present > last);
		store_reader_free(r);
		store_close(s);
	}
}

/* In the rotating child: tell the parent about every commit as it
 * happens, so the parent can kill it between two reseal batches or in
 * the middle of one. */
static int commit_ack_fd = -1;

static int
ack_commit(void *arg)
{
	char c = 'c';

	(void)arg;
	if (write(commit_ack_fd, &c, 1) != 1)
		_exit(5);
	return 0;
}

static int
install_ack_hook(sqlite3 *db, const char **err, const void *api)
{
	(void)err; (void)api;
	sqlite3_commit_hook(db, ack_commit, NULL);
	return SQLITE_OK;
}

static void
test_kill_during_rotation(void **state)
{
	struct fx *f = *state;
	struct store_open_report rep;
	struct store_reader *r;
	struct store_entry *e = NULL;
	struct store *s;
	char key[32], body[600], why[256], c;
	int i, round, status, fds[2];
	int64_t resealed_before_kill = 0;
	pid_t pid;

	s = open_ok(f, NULL);
	assert_int_equal(store_begin(s), STORE_OK);
	for (i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "v2/secret/%d", i);
		body_for(body, sizeof(body), i);
		assert_int_equal(put_body(s, key, key, key, body), STORE_OK);
	}
	assert_int_equal(store_commit(s), STORE_OK);
	store_close(s);

	f->opts.key = f->key2;
	f->opts.old_key = f->key;
	/* 3000 rows are six reseal batches; kill after the first, then
	 * after the second of what is left. */
	for (round = 0; round < 2; round++) {
		assert_int_equal(pipe(fds), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			commit_ack_fd = fds[1];
			sqlite3_auto_extension((void (*)(void))install_ack_hook);
			if (store_open(&s, &f->opts, T0, &rep, why,
			    sizeof(why)) != STORE_OK)
				_exit(2);
			_exit(0);
		}
		close(fds[1]);
		for (i = 0; i <= round; i++)
			assert_int_equal(read(fds[0], &c, 1), 1);
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		close(fds[0]);
		resealed_before_kill += (round + 1) * STORE_RESEAL_BATCH;
	}

	assert_int_equal(store_open(&s, &f->opts, T0, &rep, why, sizeof(why)),
	    STORE_OK);
	assert_int_equal(rep.entries, 3000);
	/* The killed runs got somewhere, and not to the end. */
	assert_true(rep.resealed > 0 && rep.resealed < 3000);
	assert_true(rep.resealed >= 3000 - resealed_before_kill);
	assert_non_null(r = store_reader_new(s));
	for (i = 0; i < 3000; i++) {
		snprintf(key, sizeof(key), "v2/secret/%d", i);
		assert_int_equal(store_get(r, key, &e), STORE_OK);
		body_for(body, sizeof(body), i);
		assert_memory_equal(e->body, body, e->body_len);
		store_entry_free(e);
	}
	store_reader_free(r);
	store_close(s);
	f->opts.old_key = NULL;
	s = open_ok(f, &rep);
	assert_int_equal(rep.entries, 3000);
	store_close(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_file_modes, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_files_quarantined,
		    setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_no_plaintext_on_disk, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_disk_full_heals, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_kill_during_writes, setup,
		    fx_teardown),
		cmocka_unit_test_setup_teardown(test_kill_during_rotation, setup,
		    fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
