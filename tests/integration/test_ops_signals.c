/*
 * Operations, signals: SIGTERM stops taking new work and reports not
 * ready, yet finishes every request already in flight and exits 0; SIGHUP
 * reloads clients and TTL overrides from a good file, and a bad file
 * changes nothing and stops nothing.  The logs of these runs are logfmt,
 * with access and audit lines, and hold no key, token or payload.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness_util.h"

#define ARB_ID		"0b5c1e7a-3f2d-4c8e-9a1b-2c3d4e5f6a70"	/* app-config */
#define TEAM_ARB_ID	"1c6d2f8b-4a3e-4d9f-8b2c-3d4e5f6a7b81"	/* team-a-token, arbitrary */
#define UP_ID		"2d7e3a9c-5b4f-4eaa-9c3d-4e5f6a7b8c92"	/* db-creds */
#define KV_ID		"3e8f4bad-6c5a-4fbb-8d4e-5f6a7b8c9da3"	/* feature-flags */
#define NSLOW		50

/* Client keys and tokens that must never show in a log. */
static char secrets_seen[8][2048];
static int nsecrets;

static void
remember_secret(const char *s)
{
	assert_true(nsecrets < 8);
	snprintf(secrets_seen[nsecrets++], sizeof(secrets_seen[0]), "%s", s);
}

static long
status_at(const char *base, const char *path, const char *token)
{
	struct http_resp r;
	char url[1024], auth[2200];
	const char *hdr[] = { auth, NULL };
	long st;

	snprintf(url, sizeof(url), "%s%s", base, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token != NULL ? token : "");
	if (http_do("GET", url, NULL, token != NULL ? hdr : NULL, &r) != 0)
		st = -1;
	else
		st = r.status;
	http_resp_free(&r);
	return st;
}

/* A series' value from the admin listener's /metrics, or -1. */
static double
admin_series(const struct proxy *p, const char *name)
{
	struct http_resp r;
	char url[128];
	double v = -1;

	snprintf(url, sizeof(url), "http://127.0.0.1:%d/metrics", p->admin_port);
	if (http_get(url, &r) == 0 && r.status == 200)
		v = hu_series(r.body, name, -1);
	http_resp_free(&r);
	return v;
}

static int
setup(void **state)
{
	if (sodium_init() < 0)
		return -1;
	return hu_fixtures_setup(state);
}

/* ---- SIGTERM ---- */

struct slow {
	const struct proxy	*p;
	long			 status[NSLOW];
	char			 path[NSLOW][128];
	int			 n;
};

static void
slow_one(void *arg, int i)
{
	struct slow *s = arg;

	s->status[i] = status_at(s->p->url, s->path[i], NULL);
}

static void *
slow_thread(void *arg)
{
	struct slow *s = arg;

	harness_parallel(s->n, s->n, slow_one, s);
	return NULL;
}

/* Wait until n requests sit in the proxy's upstream queue or in flight. */
static void
wait_pending(const struct proxy *p, int n)
{
	long long until = harness_now_ms() + 5000;

	while (harness_now_ms() < until) {
		double q = admin_series(p, "smproxy_upstream_queue_depth{priority=\"client\"}");
		double f = admin_series(p, "smproxy_upstream_inflight");

		if (q >= 0 && f >= 0 && q + f >= n)
			return;
		usleep(10 * 1000);
	}
	fail_msg("the proxy never had %d requests pending", n);
}

static void
test_sigterm_finishes_inflight_request(void **state)
{
	struct fake *f = hu_live_fake(fake_fixtures_default(), NULL);
	const char *args[] = { "--admin-listen", "127.0.0.1:0", NULL };
	struct proxy *p;
	struct slow s;
	pthread_t t;
	char admin[64];
	long st;
	int i;

	(void)state;
	assert_non_null(f);
	p = hu_live_proxy(f, NULL, args);
	snprintf(admin, sizeof(admin), "http://127.0.0.1:%d", p->admin_port);
	for (i = 0; i < 100 && status_at(admin, "/readyz", NULL) != 200; i++)
		usleep(50 * 1000);
	assert_int_equal(status_at(admin, "/readyz", NULL), 200);
	assert_int_equal(fake_ctl(f, "POST", "/__fake/latency?ms=1500"), 200);
	memset(&s, 0, sizeof(s));
	s.p = p;
	s.n = 1;
	snprintf(s.path[0], sizeof(s.path[0]), "/api/v2/secrets/" ARB_ID);
	assert_int_equal(pthread_create(&t, NULL, slow_thread, &s), 0);
	wait_pending(p, 1);
	assert_int_equal(kill(p->pid, SIGTERM), 0);
	usleep(200 * 1000);
	/* Draining: not ready, and the main listener takes no new work. */
	assert_int_equal(status_at(admin, "/readyz", NULL), 503);
	st = status_at(p->url, "/readyz", NULL);
	assert_true(st == -1 || st == 503);
	st = status_at(p->url, "/api/v2/secrets/" KV_ID, NULL);
	assert_true(st == -1 || st == 503);
	pthread_join(t, NULL);
	assert_int_equal(s.status[0], 200);
	assert_int_equal(proxy_wait(p, 15000), 0);
	hu_live_proxy_forget(p);
	proxy_free(p);
	hu_live_fake_stop(f);
}

static void
test_sigterm_loses_no_request(void **state)
{
	struct fake *f = hu_live_fake(NULL, "--generate 60 --rate-limit 0");
	const char *args[] = { "--admin-listen", "127.0.0.1:0", NULL };
	struct proxy *p;
	struct slow s;
	pthread_t t;
	int i;

	(void)state;
	assert_non_null(f);
	p = hu_live_proxy(f, NULL, args);
	assert_int_equal(fake_ctl(f, "POST", "/__fake/latency?ms=1000"), 200);
	memset(&s, 0, sizeof(s));
	s.p = p;
	s.n = NSLOW;
	for (i = 0; i < NSLOW; i++)
		snprintf(s.path[i], sizeof(s.path[i]),
		    "/api/v2/secrets/00000000-0000-4000-8000-%012d", i);
	assert_int_equal(pthread_create(&t, NULL, slow_thread, &s), 0);
	wait_pending(p, NSLOW);
	assert_int_equal(kill(p->pid, SIGTERM), 0);
	pthread_join(t, NULL);
	for (i = 0; i < NSLOW; i++)
		if (s.status[i] != 200)
			fail_msg("%s answered %ld during the drain", s.path[i], s.status[i]);
	assert_int_equal(proxy_wait(p, 20000), 0);
	assert_int_equal(fake_count(f, "GET", "/api/v2/secrets/"), NSLOW);
	hu_live_proxy_forget(p);
	proxy_free(p);
	hu_live_fake_stop(f);
}

/* ---- SIGHUP ---- */

struct client {
	const char	*name;
	char		 key[65];
	char		 token[2048];
};

static void
write_config(const char *path, struct client *const *cl, const char *extra)
{
	char text[4096];
	size_t used = 0;
	int i;

	used += (size_t)snprintf(text, sizeof(text), "{\"clients\":[");
	for (i = 0; cl[i] != NULL; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used,
		    "%s{\"name\":\"%s\",\"api_key_sha256\":\"%s\",\"secret_groups\":[\"*\"],"
		    "\"secret_ids\":[],\"write\":false}", i ? "," : "", cl[i]->name,
		    hu_sha256_hex(cl[i]->key));
	snprintf(text + used, sizeof(text) - used, "]%s}", extra != NULL ? extra : "");
	hu_write_file(path, text);
}

static long
token_for(const struct proxy *p, struct client *c)
{
	struct http_resp r;
	long st;

	assert_int_equal(hu_token_request(p->url, c->key, NULL, &r), 0);
	st = r.status;
	if (st == 200) {
		json_t *j = http_json(&r);
		snprintf(c->token, sizeof(c->token), "%s",
		    json_string_value(json_object_get(j, "access_token")));
		json_decref(j);
		remember_secret(c->token);
		remember_secret(strrchr(c->token, '.') + 1);
	}
	http_resp_free(&r);
	return st;
}

static int
count_in_log(const struct proxy *p, const char *what)
{
	char *log = proxy_log(p), *s;
	int n = 0;

	for (s = log; (s = strstr(s, what)) != NULL; s++)
		n++;
	free(log);
	return n;
}

/* SIGHUP, then wait until the log shows the nth occurrence of what. */
static void
hup_and_wait(const struct proxy *p, const char *what, int nth)
{
	long long until = harness_now_ms() + 5000;

	assert_int_equal(kill(p->pid, SIGHUP), 0);
	while (count_in_log(p, what) < nth) {
		if (harness_now_ms() > until)
			fail_msg("no \"%s\" in the log after SIGHUP", what);
		usleep(20 * 1000);
	}
}

static void
test_sighup_reloads(void **state)
{
	struct fake *f = hu_live_fake(fake_fixtures_default(), "--rate-limit 0");
	struct client alpha = { .name = "alpha" }, beta = { .name = "beta" };
	struct client *only_alpha[] = { &alpha, NULL }, *both[] = { &alpha, &beta, NULL };
	char *dir = harness_mkdtemp("sighup"), cfg[700], keyfile[700], b64[64];
	const char *args[] = { "--auth", "local", "--config", cfg, "--token-key-file", keyfile,
	    NULL };
	uint8_t raw[32];
	struct proxy *p;
	char *log;

	(void)state;
	assert_non_null(f);
	assert_non_null(dir);
	randombytes_buf(raw, 16);
	sodium_bin2hex(alpha.key, sizeof(alpha.key), raw, 16);
	randombytes_buf(raw, 16);
	sodium_bin2hex(beta.key, sizeof(beta.key), raw, 16);
	remember_secret(alpha.key);
	remember_secret(beta.key);
	snprintf(cfg, sizeof(cfg), "%s/config.json", dir);
	snprintf(keyfile, sizeof(keyfile), "%s/token.key", dir);
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw), sodium_base64_VARIANT_ORIGINAL);
	hu_write_file(keyfile, b64);
	write_config(cfg, only_alpha, NULL);
	p = hu_live_proxy(f, dir, args);

	assert_int_equal(token_for(p, &alpha), 200);
	assert_int_equal(token_for(p, &beta), 400);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" ARB_ID, alpha.token), 200);

	/* A new client. */
	write_config(cfg, both, NULL);
	hup_and_wait(p, "msg=\"configuration reloaded\"", 1);
	assert_int_equal(token_for(p, &beta), 200);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" KV_ID, beta.token), 200);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" ARB_ID, beta.token), 200);

	/* A removed client: its live token stops working at once. */
	write_config(cfg, only_alpha, NULL);
	hup_and_wait(p, "msg=\"configuration reloaded\"", 2);
	{
		struct http_resp r;
		char url[256], auth[2200];
		const char *hdr[] = { auth, NULL };

		snprintf(url, sizeof(url), "%s/api/v2/secrets/" KV_ID, p->url);
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", beta.token);
		assert_int_equal(http_do("GET", url, NULL, hdr, &r), 0);
		assert_true(is_sm_error(&r, 401));
		http_resp_free(&r);
	}
	assert_int_equal(token_for(p, &beta), 400);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" KV_ID, alpha.token), 200);

	/* A broken file: rejected, nothing changes, nothing stops. */
	hu_write_file(cfg, "{ \"clients\": [ this is not json");
	hup_and_wait(p, "reload rejected", 1);
	assert_int_equal(kill(p->pid, 0), 0);
	assert_int_equal(status_at(p->url, "/healthz", NULL), 200);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" KV_ID, alpha.token), 200);
	assert_int_equal(status_at(p->url, "/api/v1/secrets/username_password/" UP_ID,
	    alpha.token), 200);
	assert_int_equal(token_for(p, &alpha), 200);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" KV_ID, beta.token), 401);
	assert_int_equal(count_in_log(p, "msg=\"configuration reloaded\""), 2);

	/* A TTL override for one type, for entries made from now on. */
	write_config(cfg, only_alpha,
	    ",\"ttl_overrides\":[{\"secret_type\":\"arbitrary\",\"ttl\":1}]");
	hup_and_wait(p, "msg=\"configuration reloaded\"", 3);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" TEAM_ARB_ID, alpha.token), 200);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" UP_ID, alpha.token), 200);
	assert_int_equal(fake_count(f, "GET", "/api/v2/secrets/" TEAM_ARB_ID), 1);
	assert_int_equal(fake_count(f, "GET", "/api/v2/secrets/" UP_ID), 1);
	usleep(1500 * 1000);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" TEAM_ARB_ID, alpha.token), 200);
	assert_int_equal(status_at(p->url, "/api/v2/secrets/" UP_ID, alpha.token), 200);
	if (fake_count(f, "GET", "/api/v2/secrets/" TEAM_ARB_ID) < 2)
		fail_msg("an arbitrary secret with a 1 s TTL override was not refetched");
	assert_int_equal(fake_count(f, "GET", "/api/v2/secrets/" UP_ID), 1);

	log = proxy_log(p);
	assert_non_null(strstr(log, " log=audit "));
	assert_non_null(strstr(log, " log=access "));
	free(log);
	hu_live_proxy_stop(p);
	hu_live_fake_stop(f);
	free(dir);
}

/* ---- logs ---- */

static void
test_logs_are_logfmt_and_hold_no_secret(void **state)
{
	int i, j, audit = 0, access_lines = 0;

	(void)state;
	assert_true(hu_live_log_count() > 0);
	for (i = 0; i < hu_live_log_count(); i++) {
		const char *path = hu_live_log_path(i);
		char *text = hu_read_file(path, NULL), *line, *save = NULL;

		assert_non_null(text);
		hu_check_no_secret(path, text);
		for (j = 0; j < nsecrets; j++)
			if (strstr(text, secrets_seen[j]) != NULL)
				fail_msg("%s holds a client key or token", path);
		for (line = strtok_r(text, "\n", &save); line != NULL;
		    line = strtok_r(NULL, "\n", &save)) {
			hu_check_log_line(path, line);
			audit += strstr(line, " log=audit ") != NULL;
			access_lines += strstr(line, " log=access ") != NULL;
		}
		free(text);
	}
	assert_true(audit > 0);
	assert_true(access_lines > 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_sigterm_finishes_inflight_request, hu_live_cleanup),
		cmocka_unit_test_teardown(test_sigterm_loses_no_request, hu_live_cleanup),
		cmocka_unit_test_teardown(test_sighup_reloads, hu_live_cleanup),
		cmocka_unit_test_teardown(test_logs_are_logfmt_and_hold_no_secret,
		    hu_live_cleanup),
	};

	return cmocka_run_group_tests(tests, setup, hu_fixtures_teardown);
}
