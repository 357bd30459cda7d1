/*
 * The encrypted cache, end to end: hits cost no upstream calls, the cache
 * survives a restart while the upstream is down, the files on disk hold no
 * payload, name or id, a wrong key is refused (or reset when asked), a
 * corrupt file is moved aside, and kill -9 during a write burst never
 * leads to wrong bytes being served.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/integration/harness_util.h"

static void
get_ok(const struct proxy *p, const char *path, struct http_resp *r)
{
	char url[600];

	snprintf(url, sizeof(url), "%s%s", p->url, path);
	assert_int_equal(http_get(url, r), 0);
	if (r->status != 200)
		fail_msg("GET %s answered %ld: %s", path, r->status, r->body);
}

/* Read every fixture secret by id and by v1 through p.  Secrets whose
 * reads mint a new credential are never cached, so they are skipped when
 * the upstream is down. */
static void
read_all_secrets(const struct proxy *p, bool skip_minting)
{
	json_t *s;
	size_t i;
	char path[600];

	json_array_foreach(json_object_get(hu_fixtures(), "secrets"), i, s) {
		const char *id = json_string_value(json_object_get(s, "id"));
		const char *type = json_string_value(json_object_get(s, "secret_type"));
		struct http_resp r;

		if (skip_minting && json_is_false(json_object_get(s, "reuse_api_key")))
			continue;
		snprintf(path, sizeof(path), "/api/v2/secrets/%s", id);
		get_ok(p, path, &r);
		http_resp_free(&r);
		snprintf(path, sizeof(path), "/api/v1/secrets/%s/%s", type, id);
		get_ok(p, path, &r);
		http_resp_free(&r);
	}
}

static void
test_hits_cost_no_upstream_calls(void **state)
{
	struct fake *f = fake_start(fake_fixtures_default(), NULL);
	struct proxy *p;
	const char *id;
	char path[300];
	int i;

	(void)state;
	assert_non_null(f);
	p = hu_proxy_start(f, NULL, NULL);
	assert_non_null(p);
	id = json_string_value(json_object_get(json_array_get(
	    json_object_get(hu_fixtures(), "secrets"), 0), "id"));
	snprintf(path, sizeof(path), "/api/v2/secrets/%s", id);
	for (i = 0; i < 100; i++) {
		struct http_resp r;
		get_ok(p, path, &r);
		assert_string_equal(r.cache, i == 0 ? "miss" : "hit");
		http_resp_free(&r);
	}
	assert_int_equal(fake_count(f, "GET", path), 1);
	hu_stop(p, f);
}

static bool
contains(const char *hay, size_t len, const char *needle)
{
	size_t n = strlen(needle), i;

	if (n == 0 || n > len)
		return false;
	for (i = 0; i + n <= len; i++)
		if (memcmp(hay + i, needle, n) == 0)
			return true;
	return false;
}

/* No payload, name or id of any fixture secret in the cache files. */
static void
assert_files_clean(const char *dir)
{
	const char *suffixes[] = { "", "-wal", "-shm", "-journal" };
	size_t k, i;
	json_t *s;

	for (k = 0; k < 4; k++) {
		char path[700];
		size_t len;
		char *data;

		snprintf(path, sizeof(path), "%s/cache.db%s", dir, suffixes[k]);
		data = hu_read_file(path, &len);
		if (data == NULL)
			continue;
		json_array_foreach(json_object_get(hu_fixtures(), "secrets"), i, s) {
			const char *fields[] = { "id", "name", "payload", "password",
			    "api_key", "private_key", "username" };
			size_t f;
			for (f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
				const char *v = json_string_value(json_object_get(s, fields[f]));
				if (v != NULL && strlen(v) >= 6 && contains(data, len, v))
					fail_msg("%s holds the %s of a secret in clear", path, fields[f]);
			}
		}
		free(data);
	}
}

static void
test_restart_with_upstream_down_and_no_plaintext(void **state)
{
	struct fake *f = fake_start(fake_fixtures_default(), NULL);
	struct proxy *p;
	char dir[512];
	int before;

	(void)state;
	assert_non_null(f);
	p = hu_proxy_start(f, NULL, NULL);
	assert_non_null(p);
	snprintf(dir, sizeof(dir), "%s", p->dir);
	read_all_secrets(p, false);
	assert_files_clean(dir);	/* while running: WAL too */
	hu_stop(p, NULL);
	assert_files_clean(dir);

	/* Upstream gone; a new process serves from the cache alone. */
	assert_int_equal(fake_ctl(f, "POST", "/__fake/down"), 200);
	before = fake_count(f, NULL, "/api/");
	p = hu_proxy_start(f, dir, NULL);
	assert_non_null(p);
	read_all_secrets(p, true);
	assert_int_equal(fake_count(f, NULL, "/api/"), before);
	hu_stop(p, f);
}

static void
write_key(const char *dir, const char *b64)
{
	char path[700];

	snprintf(path, sizeof(path), "%s/cache.key", dir);
	hu_write_file(path, b64);
}

/* A first proxy in front of f reads every secret and stops; dir (len
 * bytes) gets its state folder, which now holds a full cache. */
static void
fill_cache(struct fake *f, char *dir, size_t len)
{
	struct proxy *p = hu_proxy_start(f, NULL, NULL);

	assert_non_null(p);
	snprintf(dir, len, "%s", p->dir);
	read_all_secrets(p, false);
	hu_stop(p, NULL);
}

/* Fails the test unless p's log holds needle. */
static void
assert_log_has(const struct proxy *p, const char *needle)
{
	char *log = proxy_log(p);

	assert_non_null(strstr(log, needle));
	free(log);
}

static void
test_wrong_key_refused_or_reset(void **state)
{
	struct fake *f = fake_start(fake_fixtures_default(), NULL);
	struct proxy *p;
	const char *reset[] = { "--cache-reset-on-key-mismatch", NULL };
	char dir[512], *log;

	(void)state;
	assert_non_null(f);
	fill_cache(f, dir, sizeof(dir));

	write_key(dir, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n");
	log = hu_proxy_refused(f, dir, NULL, 10000);
	assert_non_null(strstr(log, "SMPROXY_CACHE_KEY_FILE"));
	free(log);

	p = hu_proxy_start(f, dir, reset);
	assert_non_null(p);
	assert_log_has(p, "moved aside");
	read_all_secrets(p, false);
	hu_stop(p, f);
}

/* Key rotation: the old key as SMPROXY_CACHE_OLD_KEY_FILE keeps the cache
 * readable and re-seals it; afterwards the new key alone is enough. */
static void
test_key_rotation(void **state)
{
	struct fake *f = fake_start(fake_fixtures_default(), NULL);
	struct proxy *p;
	char dir[512], oldpath[700], keypath[700], oldarg[700];
	const char *rotate_args[] = { "--cache-old-key-file", oldarg, NULL };
	int before;

	(void)state;
	assert_non_null(f);
	fill_cache(f, dir, sizeof(dir));

	/* Keep the old key aside, put a new one in place. */
	snprintf(keypath, sizeof(keypath), "%s/cache.key", dir);
	snprintf(oldpath, sizeof(oldpath), "%s/cache.key.old", dir);
	assert_int_equal(rename(keypath, oldpath), 0);
	write_key(dir, "MTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTI=\n");
	snprintf(oldarg, sizeof(oldarg), "%s", oldpath);
	assert_int_equal(fake_ctl(f, "POST", "/__fake/down"), 200);
	before = fake_count(f, NULL, "/api/");
	p = hu_proxy_start(f, dir, rotate_args);
	assert_non_null(p);
	assert_log_has(p, "re-sealed");
	read_all_secrets(p, true);
	hu_stop(p, NULL);

	/* The new key alone now opens everything. */
	p = hu_proxy_start(f, dir, NULL);
	assert_non_null(p);
	read_all_secrets(p, true);
	assert_int_equal(fake_count(f, NULL, "/api/"), before);
	hu_stop(p, f);
}

static void
test_corrupt_file_quarantined(void **state)
{
	struct fake *f = fake_start(fake_fixtures_default(), NULL);
	struct proxy *p;
	char *dir = harness_mkdtemp("corrupt"), path[700];
	char junk[8192];
	int fd;

	(void)state;
	assert_non_null(f);
	snprintf(path, sizeof(path), "%s/cache.db", dir);
	memset(junk, 'x', sizeof(junk));
	memcpy(junk, "SQLite format 3", 16);	/* a header, then garbage */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(write(fd, junk, sizeof(junk)), (ssize_t)sizeof(junk));
	close(fd);
	p = hu_proxy_start(f, dir, NULL);
	assert_non_null(p);
	assert_log_has(p, "moved aside");
	read_all_secrets(p, false);
	hu_stop(p, f);
	free(dir);
}

struct burst {
	const struct proxy *p;
	int n;
};

static void
burst_one(void *arg, int i)
{
	struct burst *b = arg;
	struct http_resp r;
	char url[300];

	snprintf(url, sizeof(url), "%s/api/v2/secrets/00000000-0000-4000-8000-%012d",
	    b->p->url, i % b->n);
	http_get(url, &r);	/* the proxy may die under us */
	http_resp_free(&r);
}

static void *
burst_thread(void *arg)
{
	harness_parallel(8, 3000, burst_one, arg);
	return NULL;
}

static void
test_kill9_during_writes(void **state)
{
	struct fake *f = fake_start(NULL, "--generate 3000 --rate-limit 0");
	const char *fast[] = { "--rate-limit", "5000", NULL };
	struct burst b;
	struct proxy *p;
	char dir[512];
	int i, served = 0;

	(void)state;
	assert_non_null(f);
	p = hu_proxy_start(f, NULL, fast);
	assert_non_null(p);
	snprintf(dir, sizeof(dir), "%s", p->dir);
	b.p = p;
	b.n = 3000;
	/* Kill it while a burst of misses is being written. */
	{
		pthread_t t;
		assert_int_equal(pthread_create(&t, NULL, burst_thread, &b), 0);
		usleep(400000);
		proxy_kill9(p);
		pthread_join(t, NULL);
	}
	proxy_free(p);

	assert_int_equal(fake_ctl(f, "POST", "/__fake/down"), 200);
	p = hu_proxy_start(f, dir, fast);
	assert_non_null(p);
	for (i = 0; i < 600; i++) {
		struct http_resp r;
		char url[300], want[64];
		json_t *j;

		snprintf(url, sizeof(url), "%s/api/v2/secrets/00000000-0000-4000-8000-%012d",
		    p->url, i);
		assert_int_equal(http_get(url, &r), 0);
		if (r.status == 200) {
			j = http_json(&r);
			assert_non_null(j);
			snprintf(want, sizeof(want), "generated-payload-%d", i);
			assert_string_equal(json_string_value(json_object_get(j, "payload")), want);
			json_decref(j);
			served++;
		} else {
			assert_true(is_sm_error(&r, r.status));
		}
		http_resp_free(&r);
	}
	assert_true(served > 0);
	hu_stop(p, f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hits_cost_no_upstream_calls),
		cmocka_unit_test(test_restart_with_upstream_down_and_no_plaintext),
		cmocka_unit_test(test_wrong_key_refused_or_reset),
		cmocka_unit_test(test_key_rotation),
		cmocka_unit_test(test_corrupt_file_quarantined),
		cmocka_unit_test(test_kill9_during_writes),
	};

	return cmocka_run_group_tests(tests, hu_fixtures_setup, hu_fixtures_teardown);
}
