/*
 * API compatibility, write side: every kind of write through the proxy
 * (v2 rotation, metadata merge-patch, delete, create, v1 rotate) makes the
 * very next read of everything derived from the secret show the new state;
 * reads that mint a credential are never cached or coalesced; writes are
 * never coalesced.
 *
 * Body limits, unknown paths and errors are in test_api_errors.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/integration/harness_util.h"

#define ARB_ID		"0b5c1e7a-3f2d-4c8e-9a1b-2c3d4e5f6a70"	/* app-config */
#define TEAM_ARB_ID	"1c6d2f8b-4a3e-4d9f-8b2c-3d4e5f6a7b81"	/* team-a-token */
#define UP_ID		"2d7e3a9c-5b4f-4eaa-9c3d-4e5f6a7b8c92"	/* db-creds */
#define KV_ID		"3e8f4bad-6c5a-4fbb-8d4e-5f6a7b8c9da3"	/* feature-flags */
#define EPH_ID		"5a0b6dcf-8e7c-4bdd-af6a-7b8c9daebfc5"	/* ephemeral-apikey */

static struct fake *fake;
static struct proxy *proxy;

static const char *const json_hdr[] = { "Content-Type: application/json", NULL };

/* ---- helpers ---- */

/* Read path until it is a cache hit (at most twice). */
static void
warm(const char *path)
{
	int i;

	for (i = 0; i < 3; i++) {
		struct http_resp r;
		bool hit;

		hu_get(proxy->url, path, &r);
		hit = strcmp(r.cache, "hit") == 0;
		http_resp_free(&r);
		if (hit)
			return;
	}
	fail_msg("%s never became a cache hit", path);
}

/*
 * The very next read of path after a write: it must go upstream (one new
 * call, X-Smproxy-Cache miss) and answer want_status; the parsed body is
 * returned (NULL unless JSON).
 */
static json_t *
fresh_read(const char *path, long want_status)
{
	struct http_resp r;
	char p[2048];
	int before;
	json_t *j;

	hu_path_of(path, p, sizeof(p));
	before = hu_calls(fake, "GET", p);
	hu_get(proxy->url, path, &r);
	if (r.status != want_status)
		fail_msg("after the write, %s answered %ld: %s", path, r.status, r.body);
	if (strcmp(r.cache, "miss") != 0)
		fail_msg("after the write, %s was served with X-Smproxy-Cache \"%s\"", path,
		    r.cache);
	if (hu_calls(fake, "GET", p) != before + 1)
		fail_msg("after the write, %s did not reach upstream", path);
	j = http_json(&r);
	http_resp_free(&r);
	return j;
}

static const char *
str_at(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));

	return s != NULL ? s : "";
}

/* The list item with this id, or NULL. */
static json_t *
list_item(json_t *list, const char *field, const char *id)
{
	json_t *e;
	size_t i;

	json_array_foreach(json_object_get(list, field), i, e)
		if (strcmp(str_at(e, "id"), id) == 0)
			return e;
	return NULL;
}

static char *
create_secret(const char *name, const char *payload)
{
	struct http_resp r;
	char body[1024];
	json_t *j;
	char *id;

	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"secret_type\":\"arbitrary\","
	    "\"payload\":\"%s\",\"labels\":[\"made-by-test\"]}", name, payload);
	hu_call(proxy->url, "POST", "/api/v2/secrets", body, json_hdr, &r);
	if (r.status != 201)
		fail_msg("create %s answered %ld: %s", name, r.status, r.body);
	j = http_json(&r);
	id = strdup(str_at(j, "id"));
	json_decref(j);
	http_resp_free(&r);
	return id;
}

/* ---- setup ---- */

static int
setup(void **state)
{
	(void)state;
	return hu_pair_start("--rate-limit 0", &fake, NULL, &proxy);
}

static int
teardown(void **state)
{
	(void)state;
	hu_stop(proxy, fake);
	return 0;
}

/* ---- invalidation ---- */

static void
test_rotation_invalidates_everything(void **state)
{
	const char *paths[] = {
		"/api/v2/secrets/" ARB_ID,
		"/api/v2/secrets/" ARB_ID "/metadata",
		"/api/v2/secrets/" ARB_ID "/versions",
		"/api/v2/secrets/" ARB_ID "/versions/current",
		"/api/v2/secrets/" ARB_ID "/versions/current/metadata",
		"/api/v2/secrets/" ARB_ID "/versions/previous",
		"/api/v2/secret_groups/default/secret_types/arbitrary/secrets/app-config",
		"/api/v1/secrets/arbitrary/" ARB_ID,
		"/api/v1/secrets/arbitrary/" ARB_ID "/metadata",
		"/api/v2/secrets",
		"/api/v2/secrets?search=app-config",
		"/api/v1/secrets?search=app-config",
	};
	struct http_resp r;
	json_t *j, *it;
	char old_payload[256];
	long long versions;
	size_t i;

	(void)state;
	hu_get(proxy->url, "/api/v2/secrets/" ARB_ID, &r);
	j = http_json(&r);
	snprintf(old_payload, sizeof(old_payload), "%s", str_at(j, "payload"));
	versions = json_integer_value(json_object_get(j, "versions_total"));
	assert_int_equal(versions, 1);
	json_decref(j);
	http_resp_free(&r);
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		warm(paths[i]);	/* versions/previous is a cached 404 */

	hu_call(proxy->url, "POST", "/api/v2/secrets/" ARB_ID "/versions",
	    "{\"payload\":\"rotated-through-proxy-1\"}", json_hdr, &r);
	if (r.status != 201)
		fail_msg("rotation answered %ld: %s", r.status, r.body);
	http_resp_free(&r);

	j = fresh_read(paths[0], 200);
	assert_string_equal(str_at(j, "payload"), "rotated-through-proxy-1");
	assert_int_equal(json_integer_value(json_object_get(j, "versions_total")), 2);
	json_decref(j);
	j = fresh_read(paths[1], 200);
	assert_int_equal(json_integer_value(json_object_get(j, "versions_total")), 2);
	assert_null(json_object_get(j, "payload"));
	json_decref(j);
	j = fresh_read(paths[2], 200);
	assert_int_equal(json_integer_value(json_object_get(j, "total_count")), 2);
	json_decref(j);
	j = fresh_read(paths[3], 200);
	assert_string_equal(str_at(j, "payload"), "rotated-through-proxy-1");
	assert_string_equal(str_at(j, "alias"), "current");
	json_decref(j);
	j = fresh_read(paths[4], 200);
	assert_string_equal(str_at(j, "alias"), "current");
	json_decref(j);
	j = fresh_read(paths[5], 200);
	assert_string_equal(str_at(j, "payload"), old_payload);
	assert_string_equal(str_at(j, "alias"), "previous");
	json_decref(j);
	j = fresh_read(paths[6], 200);
	assert_string_equal(str_at(j, "payload"), "rotated-through-proxy-1");
	json_decref(j);
	j = fresh_read(paths[7], 200);
	it = json_array_get(json_object_get(j, "resources"), 0);
	assert_string_equal(str_at(json_object_get(it, "secret_data"), "payload"),
	    "rotated-through-proxy-1");
	json_decref(j);
	j = fresh_read(paths[8], 200);
	it = json_array_get(json_object_get(j, "resources"), 0);
	assert_int_equal(json_integer_value(json_object_get(it, "versions_total")), 2);
	json_decref(j);
	for (i = 9; i < 11; i++) {
		j = fresh_read(paths[i], 200);
		it = list_item(j, "secrets", ARB_ID);
		assert_non_null(it);
		assert_int_equal(json_integer_value(json_object_get(it, "versions_total")), 2);
		json_decref(j);
	}
	j = fresh_read(paths[11], 200);
	it = list_item(j, "resources", ARB_ID);
	assert_non_null(it);
	assert_int_equal(json_integer_value(json_object_get(it, "versions_total")), 2);
	json_decref(j);
}

static void
test_metadata_patch_invalidates(void **state)
{
	const char *hdr[] = { "Content-Type: application/merge-patch+json", NULL };
	struct http_resp r;
	json_t *j, *it;

	(void)state;
	warm("/api/v2/secrets/" ARB_ID "/metadata");
	warm("/api/v2/secrets/" ARB_ID);
	warm("/api/v2/secrets");
	warm("/api/v2/secrets?match_all_labels=patched-label");
	hu_call(proxy->url, "PATCH", "/api/v2/secrets/" ARB_ID "/metadata",
	    "{\"description\":\"patched through the proxy\",\"labels\":[\"patched-label\"]}",
	    hdr, &r);
	if (r.status != 200)
		fail_msg("PATCH answered %ld: %s", r.status, r.body);
	http_resp_free(&r);

	j = fresh_read("/api/v2/secrets/" ARB_ID "/metadata", 200);
	assert_string_equal(str_at(j, "description"), "patched through the proxy");
	assert_string_equal(json_string_value(json_array_get(json_object_get(j, "labels"), 0)),
	    "patched-label");
	json_decref(j);
	j = fresh_read("/api/v2/secrets/" ARB_ID, 200);
	assert_string_equal(str_at(j, "description"), "patched through the proxy");
	json_decref(j);
	j = fresh_read("/api/v2/secrets", 200);
	it = list_item(j, "secrets", ARB_ID);
	assert_non_null(it);
	assert_string_equal(str_at(it, "description"), "patched through the proxy");
	json_decref(j);
	j = fresh_read("/api/v2/secrets?match_all_labels=patched-label", 200);
	assert_int_equal(json_integer_value(json_object_get(j, "total_count")), 1);
	json_decref(j);
}

static void
test_delete_then_404_is_cached(void **state)
{
	char *id = create_secret("delete-me", "short-lived-payload");
	char path[256], meta[256], v1path[256];
	struct http_resp r;
	json_t *j;
	int before;

	(void)state;
	snprintf(path, sizeof(path), "/api/v2/secrets/%s", id);
	snprintf(meta, sizeof(meta), "/api/v2/secrets/%s/metadata", id);
	warm(path);
	warm(meta);
	warm("/api/v2/secret_groups/default/secret_types/arbitrary/secrets/delete-me");
	snprintf(v1path, sizeof(v1path), "/api/v1/secrets/arbitrary/%s", id);
	warm(v1path);
	warm("/api/v2/secrets?search=delete-me");
	warm("/api/v1/secrets?search=delete-me");
	hu_call(proxy->url, "DELETE", path, NULL, NULL, &r);
	if (r.status != 204)
		fail_msg("DELETE answered %ld: %s", r.status, r.body);
	assert_int_equal(r.len, 0);
	http_resp_free(&r);

	j = fresh_read(path, 404);
	assert_non_null(j);
	json_decref(j);
	j = fresh_read(meta, 404);
	json_decref(j);
	j = fresh_read("/api/v2/secret_groups/default/secret_types/arbitrary/secrets/delete-me",
	    404);
	json_decref(j);
	j = fresh_read(v1path, 404);
	json_decref(j);
	j = fresh_read("/api/v2/secrets?search=delete-me", 200);
	assert_int_equal(json_integer_value(json_object_get(j, "total_count")), 0);
	json_decref(j);
	j = fresh_read("/api/v1/secrets?search=delete-me", 200);
	assert_int_equal(json_array_size(json_object_get(j, "resources")), 0);
	json_decref(j);
	/* The 404 is now cached briefly: no second trip upstream. */
	before = hu_calls(fake, "GET", path);
	hu_get(proxy->url, path, &r);
	assert_int_equal(r.status, 404);
	assert_true(is_sm_error(&r, 404));
	assert_string_equal(r.cache, "hit");
	http_resp_free(&r);
	assert_int_equal(hu_calls(fake, "GET", path), before);
	free(id);
}

static void
test_create_clears_cached_404(void **state)
{
	const char *byname =
	    "/api/v2/secret_groups/default/secret_types/arbitrary/secrets/made-later";
	struct http_resp r;
	json_t *j;
	char *id;
	int before;

	(void)state;
	hu_get(proxy->url, byname, &r);
	assert_int_equal(r.status, 404);
	http_resp_free(&r);
	before = hu_calls(fake, "GET", byname);
	hu_get(proxy->url, byname, &r);
	assert_int_equal(r.status, 404);
	assert_string_equal(r.cache, "hit");
	http_resp_free(&r);
	assert_int_equal(hu_calls(fake, "GET", byname), before);
	hu_get(proxy->url, "/api/v2/secrets?search=made-later", &r);
	j = http_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "total_count")), 0);
	json_decref(j);
	http_resp_free(&r);
	warm("/api/v2/secrets?search=made-later");
	warm("/api/v1/secrets?search=made-later");

	id = create_secret("made-later", "created-after-a-404");
	j = fresh_read(byname, 200);
	assert_string_equal(str_at(j, "payload"), "created-after-a-404");
	assert_string_equal(str_at(j, "id"), id);
	json_decref(j);
	j = fresh_read("/api/v2/secrets?search=made-later", 200);
	assert_int_equal(json_integer_value(json_object_get(j, "total_count")), 1);
	json_decref(j);
	j = fresh_read("/api/v1/secrets?search=made-later", 200);
	assert_int_equal(json_array_size(json_object_get(j, "resources")), 1);
	json_decref(j);
	free(id);
}

static void
test_v1_rotate_invalidates_v1_and_v2(void **state)
{
	const char *v1 = "/api/v1/secrets/arbitrary/" TEAM_ARB_ID;
	const char *v2 = "/api/v2/secrets/" TEAM_ARB_ID;
	struct http_resp r;
	json_t *j;

	(void)state;
	warm(v1);
	warm(v2);
	warm("/api/v2/secrets/" TEAM_ARB_ID "/versions/current");
	warm("/api/v2/secret_groups/team-a/secret_types/arbitrary/secrets/team-a-token");
	hu_call(proxy->url, "POST", "/api/v1/secrets/arbitrary/" TEAM_ARB_ID "?action=rotate",
	    "{\"payload\":\"rotated-through-v1\"}", json_hdr, &r);
	if (r.status != 200)
		fail_msg("v1 rotate answered %ld: %s", r.status, r.body);
	http_resp_free(&r);
	j = fresh_read(v1, 200);
	assert_string_equal(str_at(json_object_get(json_array_get(json_object_get(j,
	    "resources"), 0), "secret_data"), "payload"), "rotated-through-v1");
	json_decref(j);
	j = fresh_read(v2, 200);
	assert_string_equal(str_at(j, "payload"), "rotated-through-v1");
	json_decref(j);
	j = fresh_read("/api/v2/secrets/" TEAM_ARB_ID "/versions/current", 200);
	assert_string_equal(str_at(j, "payload"), "rotated-through-v1");
	json_decref(j);
	j = fresh_read("/api/v2/secret_groups/team-a/secret_types/arbitrary/secrets/team-a-token",
	    200);
	assert_string_equal(str_at(j, "payload"), "rotated-through-v1");
	json_decref(j);
}

/* ---- reads that mint a credential ---- */

struct mint {
	const char	*path;
	char		 keys[16][128];
	char		 cache[16][32];
	long		 status[16];
};

static void
mint_one(void *arg, int i)
{
	struct mint *m = arg;
	struct http_resp r;
	json_t *j, *o;

	hu_get(proxy->url, m->path, &r);
	m->status[i] = r.status;
	snprintf(m->cache[i], sizeof(m->cache[i]), "%s", r.cache);
	j = http_json(&r);
	o = j;
	if (json_object_get(j, "api_key") == NULL)
		o = json_array_get(json_object_get(j, "resources"), 0);
	snprintf(m->keys[i], sizeof(m->keys[i]), "%s", str_at(o, "api_key"));
	json_decref(j);
	http_resp_free(&r);
}

/* n reads of path, the first `parallel` of them at once: every one reaches
 * upstream and returns a credential of its own. */
static void
every_read_mints(const char *path, int parallel, int sequential)
{
	struct mint m;
	int n = parallel + sequential, i, k;
	int before = hu_calls(fake, "GET", path);

	memset(&m, 0, sizeof(m));
	m.path = path;
	if (parallel > 0) {
		/* Slow upstream: the parallel reads overlap for sure. */
		assert_int_equal(fake_ctl(fake, "POST", "/__fake/latency?ms=400"), 200);
		harness_parallel(parallel, parallel, mint_one, &m);
		assert_int_equal(fake_ctl(fake, "POST", "/__fake/latency?ms=0"), 200);
	}
	for (i = parallel; i < n; i++)
		mint_one(&m, i);
	{
		char states[512] = "";
		int bad = 0, distinct = 0, upstream = hu_calls(fake, "GET", path) - before;

		for (i = 0; i < n; i++) {
			bool dup = false;

			if (m.status[i] != 200)
				fail_msg("%s read %d answered %ld", path, i, m.status[i]);
			if (m.keys[i][0] == '\0')
				fail_msg("%s read %d carries no api_key", path, i);
			for (k = 0; k < i; k++)
				dup |= strcmp(m.keys[i], m.keys[k]) == 0;
			distinct += !dup;
			bad += strcmp(m.cache[i], "hit") == 0 ||
			    strcmp(m.cache[i], "coalesced") == 0 ||
			    strcmp(m.cache[i], "stale") == 0;
			snprintf(states + strlen(states), sizeof(states) - strlen(states),
			    "%s%s", i ? "," : "", m.cache[i]);
		}
		if (bad > 0 || distinct != n || upstream != n)
			fail_msg("%s: %d reads (%d at once): X-Smproxy-Cache [%s], %d distinct "
			    "api_keys, %d upstream calls; want every read upstream with a key "
			    "of its own", path, n, parallel, states, distinct, upstream);
	}
}

static void
test_minting_reads_never_cached(void **state)
{
	struct http_resp r;
	int before;

	(void)state;
	/* Cold: the proxy has never seen this secret when five readers
	 * arrive together; then five more, one by one. */
	every_read_mints("/api/v2/secrets/" EPH_ID, 5, 5);
	assert_int_equal(hu_calls(fake, "GET", "/api/v2/secrets/" EPH_ID), 10);
	every_read_mints("/api/v2/secret_groups/team-a/secret_types/iam_credentials/"
	    "secrets/ephemeral-apikey", 3, 2);
	every_read_mints("/api/v1/secrets/iam_credentials/" EPH_ID, 3, 2);

	/* Its metadata mints nothing and is cached. */
	before = hu_calls(fake, "GET", "/api/v2/secrets/" EPH_ID "/metadata");
	hu_get(proxy->url, "/api/v2/secrets/" EPH_ID "/metadata", &r);
	assert_int_equal(r.status, 200);
	assert_null(strstr(r.body, "\"api_key\""));
	http_resp_free(&r);
	hu_get(proxy->url, "/api/v2/secrets/" EPH_ID "/metadata", &r);
	assert_string_equal(r.cache, "hit");
	http_resp_free(&r);
	assert_int_equal(hu_calls(fake, "GET", "/api/v2/secrets/" EPH_ID "/metadata"), before + 1);
}

static void
test_minting_version_reads_never_cached(void **state)
{
	(void)state;
	/* A version read of a reuse_api_key:false secret mints a key too;
	 * SM's version objects do not repeat reuse_api_key. */
	every_read_mints("/api/v2/secrets/" EPH_ID "/versions/current", 2, 2);
}

/* ---- writes ---- */

struct twin {
	long status[2];
};

static void
post_twin(void *arg, int i)
{
	struct twin *t = arg;
	struct http_resp r;

	hu_call(proxy->url, "POST", "/api/v2/secrets/" KV_ID "/versions",
	    "{\"data\":{\"same\":\"body\"}}", json_hdr, &r);
	t->status[i] = r.status;
	http_resp_free(&r);
}

static void
test_writes_never_coalesced(void **state)
{
	struct twin t = { { 0, 0 } };
	int before = hu_calls(fake, "POST", "/api/v2/secrets/" KV_ID "/versions");
	struct http_resp r;
	json_t *j;

	(void)state;
	assert_int_equal(fake_ctl(fake, "POST", "/__fake/latency?ms=500"), 200);
	harness_parallel(2, 2, post_twin, &t);
	assert_int_equal(fake_ctl(fake, "POST", "/__fake/latency?ms=0"), 200);
	assert_int_equal(t.status[0], 201);
	assert_int_equal(t.status[1], 201);
	assert_int_equal(hu_calls(fake, "POST", "/api/v2/secrets/" KV_ID "/versions"), before + 2);
	hu_get(proxy->url, "/api/v2/secrets/" KV_ID "/metadata", &r);
	j = http_json(&r);
	assert_int_equal(json_integer_value(json_object_get(j, "versions_total")), 3);
	json_decref(j);
	http_resp_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rotation_invalidates_everything),
		cmocka_unit_test(test_metadata_patch_invalidates),
		cmocka_unit_test(test_delete_then_404_is_cached),
		cmocka_unit_test(test_create_clears_cached_404),
		cmocka_unit_test(test_v1_rotate_invalidates_v1_and_v2),
		cmocka_unit_test(test_minting_reads_never_cached),
		cmocka_unit_test(test_minting_version_reads_never_cached),
		cmocka_unit_test(test_writes_never_coalesced),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
