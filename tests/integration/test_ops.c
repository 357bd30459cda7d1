/*
 * Operations: Prometheus metrics with exact counter deltas for hits,
 * misses, coalesced and stale answers and upstream 429s, label values that
 * never carry a secret id or name, text that promtool accepts; the admin
 * listener; /healthz and /readyz through start-up, an unreachable upstream
 * and shutdown; and log lines that are logfmt and hold no secret.
 *
 * Signals (SIGTERM draining, SIGHUP reloads) are in test_ops_signals.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness_util.h"

#define ARB_ID		"0b5c1e7a-3f2d-4c8e-9a1b-2c3d4e5f6a70"	/* app-config */
#define UP_ID		"2d7e3a9c-5b4f-4eaa-9c3d-4e5f6a7b8c92"	/* db-creds */
#define KV_ID		"3e8f4bad-6c5a-4fbb-8d4e-5f6a7b8c9da3"	/* feature-flags */
#define IAM_ID		"4f9a5cbe-7d6b-4acc-9e5f-6a7b8c9daeb4"	/* ci-apikey */
#define EPH_ID		"5a0b6dcf-8e7c-4bdd-af6a-7b8c9daebfc5"	/* ephemeral-apikey */

#define ROUTE_ID	"route=\"/api/v2/secrets/{id}\""
/* smproxy_http_requests_total for GET /api/v2/secrets/{id} answered 200. */
#define HTTP_200(cache) \
	"smproxy_http_requests_total{" ROUTE_ID ",code=\"200\",cache=\"" cache "\"}"
#define UPSTREAM(code)	"smproxy_upstream_requests_total{" ROUTE_ID ",code=\"" code "\"}"

/* ---- helpers ---- */

static long
status_at(const char *base, const char *path)
{
	struct http_resp r;
	long st;

	hu_get(base, path, &r);
	st = r.status;
	http_resp_free(&r);
	return st;
}

static long
wait_ready(const char *base, long want, int timeout_ms)
{
	long long until = harness_now_ms() + timeout_ms;
	long st;

	do {
		st = status_at(base, "/readyz");
		if (st == want)
			return st;
		usleep(50 * 1000);
	} while (harness_now_ms() < until);
	return st;
}

static void
admin_base(const struct proxy *p, char *buf, size_t len)
{
	snprintf(buf, len, "http://127.0.0.1:%d", p->admin_port);
}

/* The scraped exposition text (malloc'd). */
static char *
scrape(const char *base)
{
	struct http_resp r;
	char *text;

	hu_get(base, "/metrics", &r);
	assert_int_equal(r.status, 200);
	if (strncmp(r.content_type, "text/plain; version=0.0.4", 25) != 0)
		fail_msg("/metrics Content-Type is \"%s\"", r.content_type);
	text = r.body;
	r.body = NULL;
	return text;
}

static void
assert_delta(const char *before, const char *after, const char *name, double want)
{
	double d = hu_series(after, name, 0) - hu_series(before, name, 0);

	if (d - want > 1e-9 || want - d > 1e-9)
		fail_msg("%s went up by %g, want %g", name, d, want);
}

struct par_get {
	const char	*url;
	char		 cache[16][32];
	long		 status[16];
};

static void
par_get_one(void *arg, int i)
{
	struct par_get *g = arg;
	struct http_resp r;

	if (http_get(g->url, &r) == 0) {
		g->status[i] = r.status;
		snprintf(g->cache[i], sizeof(g->cache[i]), "%s", r.cache);
	}
	http_resp_free(&r);
}

static void
run_promtool(const char *text)
{
	char *dir = harness_mkdtemp("promtool"), out[700], cmd[1600];
	FILE *p;
	int rc;

	if (access("/usr/bin/promtool", X_OK) != 0) {
		fprintf(stderr, "promtool is missing (Debian package prometheus); "
		    "skipping the exposition format check\n");
		free(dir);
		return;
	}
	assert_non_null(dir);
	snprintf(out, sizeof(out), "%s/promtool.out", dir);
	snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics >'%s' 2>&1", out);
	p = popen(cmd, "w");
	assert_non_null(p);
	fwrite(text, 1, strlen(text), p);
	rc = pclose(p);
	if (rc != 0) {
		FILE *f = fopen(out, "r");
		char line[512];

		fprintf(stderr, "promtool check metrics failed (status %d):\n", rc);
		while (f != NULL && fgets(line, sizeof(line), f) != NULL)
			fputs(line, stderr);
		if (f != NULL)
			fclose(f);
		fail_msg("promtool rejected the exposition text");
	}
	unlink(out);
	rmdir(dir);
	free(dir);
}

/* ---- metrics ---- */

static void
test_metrics_counters(void **state)
{
	struct fake *f = hu_live_fake(fake_fixtures_default(), "--rate-limit 0");
	struct proxy *p;
	struct par_get g;
	char *m0, *m1, url[512];
	int i, misses = 0, coalesced = 0;
	json_t *s;
	size_t k;

	(void)state;
	assert_non_null(f);
	p = hu_live_proxy(f, NULL, NULL);
	m0 = scrape(p->url);

	/* One miss, three hits. */
	for (i = 0; i < 4; i++) {
		struct http_resp r;
		hu_get(p->url, "/api/v2/secrets/" ARB_ID, &r);
		assert_int_equal(r.status, 200);
		assert_string_equal(r.cache, i == 0 ? "miss" : "hit");
		http_resp_free(&r);
	}
	/* Six readers of one cold key while upstream is slow: one goes
	 * upstream, five ride along. */
	memset(&g, 0, sizeof(g));
	snprintf(url, sizeof(url), "%s/api/v2/secrets/" KV_ID, p->url);
	g.url = url;
	assert_int_equal(fake_ctl(f, "POST", "/__fake/latency?ms=800"), 200);
	harness_parallel(6, 6, par_get_one, &g);
	assert_int_equal(fake_ctl(f, "POST", "/__fake/latency?ms=0"), 200);
	for (i = 0; i < 6; i++) {
		assert_int_equal(g.status[i], 200);
		misses += strcmp(g.cache[i], "miss") == 0;
		coalesced += strcmp(g.cache[i], "coalesced") == 0;
	}
	assert_int_equal(misses, 1);
	assert_int_equal(coalesced, 5);
	assert_int_equal(fake_count(f, "GET", "/api/v2/secrets/" KV_ID), 1);
	/* Upstream says 429 once; the proxy waits and tries again. */
	assert_int_equal(fake_ctl(f, "POST", "/__fake/error?status=429&count=1&retry_after=1"),
	    200);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" UP_ID), 200);
	assert_int_equal(fake_count(f, "GET", "/api/v2/secrets/" UP_ID), 2);
	/* Other routes, so that their labels show up too. */
	assert_int_equal(status_at(p->url,
	    "/api/v2/secret_groups/default/secret_types/arbitrary/secrets/app-config"), 200);
	assert_int_equal(status_at(p->url, "/api/v1/secrets/iam_credentials/" IAM_ID), 200);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" EPH_ID), 200);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" ARB_ID "/locks"), 404);
	assert_int_equal(status_at(p->url, "/unknown/" ARB_ID), 404);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/bad%20" ARB_ID), 400);
	assert_int_equal(status_at(p->url, "/api/v1/secrets?search=db-creds"), 200);
	m1 = scrape(p->url);

	assert_delta(m0, m1, HTTP_200("miss"), 3);
	assert_delta(m0, m1, HTTP_200("hit"), 3);
	assert_delta(m0, m1, HTTP_200("coalesced"), 5);
	assert_delta(m0, m1, HTTP_200("stale"), 0);
	assert_delta(m0, m1, HTTP_200("bypass"), 1);	/* the minting read */
	assert_delta(m0, m1, "smproxy_http_requests_total{route=\"/api/v2/secret_groups/{group}/"
	    "secret_types/{type}/secrets/{name}\",code=\"200\",cache=\"miss\"}", 1);
	assert_delta(m0, m1, "smproxy_http_requests_total{route=\"/api/v1/secrets/{type}/{id}\","
	    "code=\"200\",cache=\"miss\"}", 1);
	assert_delta(m0, m1, "smproxy_coalesced_requests_total", 5);
	assert_delta(m0, m1, "smproxy_stale_served_total", 0);
	assert_delta(m0, m1, UPSTREAM("429"), 1);
	/* ARB, KV, UP (after its 429) and EPH. */
	assert_delta(m0, m1, UPSTREAM("200"), 4);
	assert_true(hu_series(m1, "smproxy_upstream_rate_window_max", 0) >= 1);
	assert_true(hu_series(m1, "smproxy_upstream_rate_window_max", 0) <= 20);
	assert_true(fake_max_in_window(f) <= 20);
	/* ARB, KV, UP, the by-name read, the v1 read and the v1 list; the
	 * minting read is never stored. */
	/* The cache write follows the answer on the scheduler thread: give
	 * the last one a moment. */
	{
		long long until = harness_now_ms() + 2000;
		char *m2 = scrape(p->url);

		while (hu_series(m2, "smproxy_cache_entries", 0) < 6 &&
		    harness_now_ms() < until) {
			free(m2);
			usleep(20000);
			m2 = scrape(p->url);
		}
		assert_int_equal(hu_series(m2, "smproxy_cache_entries", 0), 6);
		free(m2);
	}
	assert_true(hu_series(m1, "smproxy_iam_token_expiry_timestamp_seconds", 0) >
	    (double)time(NULL));
	{
		const char *b = strstr(m1, "\nsmproxy_build_info{version=\"");
		assert_non_null(b);
		b = strchr(b, '}');
		assert_non_null(b);
		assert_int_equal(strncmp(b, "} 1\n", 4), 0);
	}
	/* No label value (nor anything else) names a secret. */
	json_array_foreach(json_object_get(hu_fixtures(), "secrets"), k, s) {
		const char *id = json_string_value(json_object_get(s, "id"));
		const char *name = json_string_value(json_object_get(s, "name"));

		if (strstr(m1, id) != NULL)
			fail_msg("/metrics holds the secret id %s", id);
		if (strstr(m1, name) != NULL)
			fail_msg("/metrics holds the secret name %s", name);
	}
	run_promtool(m1);
	free(m0);
	free(m1);
	hu_live_proxy_stop(p);
	hu_live_fake_stop(f);
}

static void
test_metrics_stale(void **state)
{
	struct fake *f = hu_live_fake(fake_fixtures_default(), "--rate-limit 0");
	const char *ttl1[] = { "--ttl", "1", NULL };
	struct proxy *p;
	struct http_resp first, r;
	char *m0, *m1;

	(void)state;
	assert_non_null(f);
	p = hu_live_proxy(f, NULL, ttl1);
	hu_get(p->url, "/api/v2/secrets/" UP_ID, &first);
	assert_int_equal(first.status, 200);
	/* From now on upstream refuses everything with 429. */
	assert_int_equal(fake_ctl(f, "POST",
	    "/__fake/error?status=429&count=1000&retry_after=1"), 200);
	usleep(1500 * 1000);
	m0 = scrape(p->url);
	hu_get(p->url, "/api/v2/secrets/" UP_ID, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.cache, "stale");
	assert_int_equal(r.len, first.len);
	assert_memory_equal(r.body, first.body, first.len);
	http_resp_free(&r);
	m1 = scrape(p->url);
	assert_delta(m0, m1, "smproxy_stale_served_total", 1);
	assert_delta(m0, m1, HTTP_200("stale"), 1);
	assert_true(hu_series(m1, UPSTREAM("429"), 0) >= 1);
	assert_true(hu_series(m1, "smproxy_upstream_rate_window_max", 0) <= 20);
	run_promtool(m1);
	assert_int_equal(fake_ctl(f, "POST", "/__fake/error?status=0"), 200);
	free(m0);
	free(m1);
	http_resp_free(&first);
	hu_live_proxy_stop(p);
	hu_live_fake_stop(f);
}

/* ---- admin listener ---- */

static void
test_admin_listener(void **state)
{
	struct fake *f = hu_live_fake(fake_fixtures_default(), NULL);
	const char *args[] = { "--admin-listen", "127.0.0.1:0", NULL };
	struct proxy *p;
	struct http_resp r;
	char admin[64], *m;
	int before;

	(void)state;
	assert_non_null(f);
	p = hu_live_proxy(f, NULL, args);
	assert_true(p->admin_port > 0);
	assert_true(p->admin_port != p->port);
	admin_base(p, admin, sizeof(admin));
	m = scrape(admin);
	assert_non_null(strstr(m, "smproxy_build_info{"));
	run_promtool(m);
	free(m);
	hu_get(p->url, "/metrics", &r);
	assert_true(is_sm_error(&r, 404));
	http_resp_free(&r);
	assert_int_equal(status_at(p->url, "/healthz"), 200);
	assert_int_equal(status_at(admin, "/healthz"), 200);
	assert_int_equal(wait_ready(admin, 200, 5000), 200);
	assert_int_equal(status_at(p->url, "/readyz"), 200);
	/* The admin port serves nothing else. */
	before = fake_count(f, NULL, "/api/");
	hu_get(admin, "/api/v2/secrets/" ARB_ID, &r);
	assert_true(is_sm_error(&r, 404));
	http_resp_free(&r);
	hu_get(admin, "/identity/token", &r);
	assert_true(r.status == 404 || r.status == 405);
	http_resp_free(&r);
	assert_int_equal(fake_count(f, NULL, "/api/"), before);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" ARB_ID), 200);
	hu_live_proxy_stop(p);
	hu_live_fake_stop(f);
}

/* ---- health ---- */

static void
test_health(void **state)
{
	struct fake *f = hu_live_fake(fake_fixtures_default(), NULL);
	struct proxy *p;
	struct http_resp r;

	(void)state;
	assert_non_null(f);
	/* Healthy: ready as soon as the token is there. */
	p = hu_live_proxy(f, NULL, NULL);
	assert_int_equal(status_at(p->url, "/healthz"), 200);
	assert_int_equal(wait_ready(p->url, 200, 5000), 200);
	hu_get(p->url, "/readyz", &r);
	assert_true(r.content_type[0] != '\0');
	http_resp_free(&r);
	hu_live_proxy_stop(p);

	/* Upstream and IAM unreachable, nothing cached: alive, not ready. */
	assert_int_equal(fake_ctl(f, "POST", "/__fake/down"), 200);
	p = hu_live_proxy(f, NULL, NULL);
	usleep(300 * 1000);
	assert_int_equal(status_at(p->url, "/healthz"), 200);
	hu_get(p->url, "/readyz", &r);
	assert_true(is_sm_error(&r, 503));
	http_resp_free(&r);
	/* Once IAM answers, the proxy gets ready on its own, with no client
	 * traffic (an unready pod gets none). */
	assert_int_equal(fake_ctl(f, "POST", "/__fake/up"), 200);
	assert_int_equal(wait_ready(p->url, 200, 8000), 200);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" ARB_ID), 200);
	hu_live_proxy_stop(p);
	hu_live_fake_stop(f);
}

/* ---- logs ---- */

static void
test_logs_are_logfmt_and_hold_no_secret(void **state)
{
	int i, access_lines = 0;

	(void)state;
	assert_true(hu_live_log_count() > 0);
	for (i = 0; i < hu_live_log_count(); i++) {
		const char *path = hu_live_log_path(i);
		char *text = hu_read_file(path, NULL), *line, *save = NULL;

		assert_non_null(text);
		hu_check_no_secret(path, text);
		for (line = strtok_r(text, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			hu_check_log_line(path, line);
			access_lines += strstr(line, " log=access ") != NULL;
		}
		free(text);
	}
	assert_true(access_lines > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_metrics_counters, hu_live_cleanup),
		cmocka_unit_test_teardown(test_metrics_stale, hu_live_cleanup),
		cmocka_unit_test_teardown(test_admin_listener, hu_live_cleanup),
		cmocka_unit_test_teardown(test_health, hu_live_cleanup),
		cmocka_unit_test_teardown(test_logs_are_logfmt_and_hold_no_secret,
		    hu_live_cleanup),
	};

	return cmocka_run_group_tests(tests, hu_fixtures_setup, hu_fixtures_teardown);
}
