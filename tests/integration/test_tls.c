/*
 * HTTPS on the main listener: the proxy serves health and secrets over
 * TLS with the configured certificate, refuses plain HTTP on that port,
 * and on SIGHUP swaps in a new certificate for new handshakes while a
 * keep-alive connection opened before the reload goes on working.  A
 * reload with a broken file keeps the current certificate and logs an
 * error naming the option; a certificate without its key, or a key that
 * does not belong to the certificate, stops the proxy at start.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness_util.h"

static struct fake *fake;

static int
setup(void **state)
{
	(void)state;
	fake = fake_start(fake_fixtures_default(), NULL);
	return fake == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	fake_stop(fake);
	return 0;
}

static void
run(const char *cmd)
{
	int rc = system(cmd);

	if (rc != 0)
		fail_msg("command failed (%d): %s", rc, cmd);
}

/* A self-signed certificate for 127.0.0.1 and localhost in dir/NAME.crt
 * and dir/NAME.key; algo is an openssl -newkey argument. */
static void
make_cert(const char *dir, const char *name, const char *algo)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd),
	    "openssl req -x509 -nodes -newkey %s -days 2 -subj /CN=smproxy-%s "
	    "-addext subjectAltName=IP:127.0.0.1,DNS:localhost "
	    "-keyout %s/%s.key -out %s/%s.crt 2>/dev/null",
	    algo, name, dir, name, dir, name);
	run(cmd);
}

static void
copy_file(const char *from, const char *to)
{
	char cmd[2048];

	snprintf(cmd, sizeof(cmd), "cp %s %s.tmp && mv %s.tmp %s", from, to, to, to);
	run(cmd);
}

/* A file's bytes without whitespace (malloc'd). */
static char *
squeezed_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	size_t n = 0;
	int c;

	assert_non_null(f);
	buf = calloc(1, 65536);
	assert_non_null(buf);
	while ((c = fgetc(f)) != EOF && n < 65535)
		if (!isspace(c))
			buf[n++] = (char)c;
	fclose(f);
	return buf;
}

/* Bodies are not looked at here. */
static size_t
discard(char *ptr, size_t size, size_t nmemb, void *arg)
{
	(void)ptr;
	(void)arg;
	return size * nmemb;
}

/*
 * GET url on c, trusting the certificate in ca.  Returns the curl result;
 * *status is the HTTP status (0 without an answer), *connects the number
 * of new connections this request made.
 */
static CURLcode
tls_get(CURL *c, const char *url, const char *ca, long *status, long *connects)
{
	CURLcode rc;

	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CERTINFO, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	rc = curl_easy_perform(c);
	*status = 0;
	*connects = -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, connects);
	return rc;
}

/* The server's leaf certificate as seen by the last handshake on c,
 * without whitespace (malloc'd), or NULL. */
static char *
leaf_cert(CURL *c)
{
	struct curl_certinfo *ci = NULL;
	struct curl_slist *e;
	char *out = NULL;
	size_t n = 0;
	const char *p;

	if (curl_easy_getinfo(c, CURLINFO_CERTINFO, &ci) != CURLE_OK || ci == NULL ||
	    ci->num_of_certs < 1)
		return NULL;
	for (e = ci->certinfo[0]; e != NULL; e = e->next) {
		if (strncmp(e->data, "Cert:", 5) != 0)
			continue;
		out = calloc(1, strlen(e->data));
		if (out == NULL)
			return NULL;
		for (p = e->data + 5; *p != '\0'; p++)
			if (!isspace((unsigned char)*p))
				out[n++] = *p;
		break;
	}
	return out;
}

/* A new connection to url trusting ca: returns the curl result, and on
 * success asserts status 200 and that the server showed want_crt. */
static CURLcode
fresh_get(const char *url, const char *ca, const char *want_crt)
{
	CURL *c = curl_easy_init();
	long status, connects;
	CURLcode rc;

	assert_non_null(c);
	rc = tls_get(c, url, ca, &status, &connects);
	if (rc == CURLE_OK) {
		char *got = leaf_cert(c), *want = squeezed_file(want_crt);

		assert_int_equal(status, 200);
		assert_int_equal(connects, 1);
		assert_non_null(got);
		assert_string_equal(got, want);
		free(got);
		free(want);
	}
	curl_easy_cleanup(c);
	return rc;
}

/* Wait (at most 10 s) until the proxy's log holds every needle. */
static bool
log_has(const struct proxy *p, const char *const *needles)
{
	long long until = harness_now_ms() + 10000;

	while (harness_now_ms() < until) {
		char *log = proxy_log(p);
		size_t i;
		bool all = true;

		for (i = 0; needles[i] != NULL; i++)
			if (strstr(log, needles[i]) == NULL)
				all = false;
		free(log);
		if (all)
			return true;
		usleep(20000);
	}
	return false;
}

static void
test_https_and_reload(void **state)
{
	char *dir = harness_mkdtemp("proxy");
	char crt[600], key[600], crt1[600], key1[600], crt2[600], key2[600];
	char base[64], healthz[128], secret[256], plain[128];
	struct proxy *p;
	struct http_resp r;
	CURL *keep;
	long status, connects;
	long long until;
	char *log;

	(void)state;
	assert_non_null(dir);
	make_cert(dir, "one", "rsa:2048");
	make_cert(dir, "two", "ec -pkeyopt ec_paramgen_curve:P-256");
	snprintf(crt1, sizeof(crt1), "%s/one.crt", dir);
	snprintf(key1, sizeof(key1), "%s/one.key", dir);
	snprintf(crt2, sizeof(crt2), "%s/two.crt", dir);
	snprintf(key2, sizeof(key2), "%s/two.key", dir);
	snprintf(crt, sizeof(crt), "%s/tls.crt", dir);
	snprintf(key, sizeof(key), "%s/tls.key", dir);
	copy_file(crt1, crt);
	copy_file(key1, key);

	{
		const char *args[] = { "--tls-cert-file", crt, "--tls-key-file", key, NULL };

		p = hu_proxy_start(fake, dir, args);
	}
	assert_non_null(p);
	snprintf(base, sizeof(base), "https://127.0.0.1:%d", p->port);
	snprintf(healthz, sizeof(healthz), "%s/healthz", base);
	snprintf(secret, sizeof(secret), "%s/api/v2/secrets/%s", base,
	    hu_fixture_id("arbitrary", 0));
	snprintf(plain, sizeof(plain), "http://127.0.0.1:%d/healthz", p->port);

	/* HTTPS with certificate one: health and a secret. */
	assert_int_equal(fresh_get(healthz, crt1, crt1), CURLE_OK);
	assert_int_equal(fresh_get(secret, crt1, crt1), CURLE_OK);
	assert_int_equal(fake_count(fake, "GET", "/api/v2/secrets/"), 1);
	/* Trusting only certificate two, the handshake fails. */
	assert_int_not_equal(fresh_get(healthz, crt2, crt2), CURLE_OK);
	/* Plain HTTP to the TLS port gets no HTTP answer. */
	assert_int_equal(http_get(plain, &r), -1);
	http_resp_free(&r);

	/* One keep-alive connection opened before the reload. */
	keep = curl_easy_init();
	assert_non_null(keep);
	assert_int_equal(tls_get(keep, secret, crt1, &status, &connects), CURLE_OK);
	assert_int_equal(status, 200);
	assert_int_equal(connects, 1);
	{
		char *got = leaf_cert(keep), *want = squeezed_file(crt1);

		assert_non_null(got);
		assert_string_equal(got, want);
		free(got);
		free(want);
	}

	/* Certificate two on disk, then SIGHUP. */
	copy_file(crt2, crt);
	copy_file(key2, key);
	assert_int_equal(kill(p->pid, SIGHUP), 0);
	until = harness_now_ms() + 10000;
	while (fresh_get(healthz, crt2, crt2) != CURLE_OK && harness_now_ms() < until)
		usleep(20000);
	/* New connections present certificate two, and only it. */
	assert_int_equal(fresh_get(healthz, crt2, crt2), CURLE_OK);
	assert_int_equal(fresh_get(secret, crt2, crt2), CURLE_OK);
	assert_int_not_equal(fresh_get(healthz, crt1, crt1), CURLE_OK);
	/* The old connection goes on, without a new handshake. */
	assert_int_equal(tls_get(keep, secret, crt1, &status, &connects), CURLE_OK);
	assert_int_equal(status, 200);
	assert_int_equal(connects, 0);
	assert_int_equal(tls_get(keep, healthz, crt1, &status, &connects), CURLE_OK);
	assert_int_equal(status, 200);
	assert_int_equal(connects, 0);

	/* A broken certificate file: the reload fails, certificate two stays. */
	{
		FILE *f = fopen(crt, "w");
		const char *needles[] = { "TLS reload failed", "--tls-cert-file", NULL };

		assert_non_null(f);
		fputs("-----BEGIN CERTIFICATE-----\nnot a certificate\n-----END CERTIFICATE-----\n", f);
		fclose(f);
		assert_int_equal(kill(p->pid, SIGHUP), 0);
		assert_true(log_has(p, needles));
	}
	assert_int_equal(fresh_get(healthz, crt2, crt2), CURLE_OK);
	assert_int_equal(fresh_get(secret, crt2, crt2), CURLE_OK);
	assert_int_not_equal(fresh_get(healthz, crt1, crt1), CURLE_OK);
	assert_int_equal(tls_get(keep, healthz, crt1, &status, &connects), CURLE_OK);
	assert_int_equal(status, 200);
	assert_int_equal(connects, 0);

	/* Certificate one with key two: refused as a mismatch. */
	copy_file(crt1, crt);
	assert_int_equal(kill(p->pid, SIGHUP), 0);
	{
		const char *needles[] = { "does not match", NULL };

		assert_true(log_has(p, needles));
	}
	assert_int_equal(fresh_get(healthz, crt2, crt2), CURLE_OK);

	curl_easy_cleanup(keep);
	assert_int_equal(proxy_stop(p), 0);
	log = proxy_log(p);
	assert_null(strstr(log, "PRIVATE KEY"));
	free(log);
	proxy_free(p);
	free(dir);
}

static void
test_cert_without_key_refused(void **state)
{
	char *dir = harness_mkdtemp("proxy");
	char crt[600];
	const char *args[] = { "--tls-cert-file", crt, NULL };
	char *log;

	(void)state;
	assert_non_null(dir);
	make_cert(dir, "one", "ec -pkeyopt ec_paramgen_curve:P-256");
	snprintf(crt, sizeof(crt), "%s/one.crt", dir);
	log = hu_proxy_refused(fake, dir, args, 15000);
	if (strstr(log, "tls-key-file") == NULL)
		fail_msg("the error does not name --tls-key-file:\n%s", log);
	free(log);
	free(dir);
}

static void
test_mismatched_key_refused(void **state)
{
	char *dir = harness_mkdtemp("proxy");
	char crt[600], key[600];
	const char *args[] = { "--tls-cert-file", crt, "--tls-key-file", key, NULL };
	char *log;

	(void)state;
	assert_non_null(dir);
	make_cert(dir, "one", "ec -pkeyopt ec_paramgen_curve:P-256");
	make_cert(dir, "two", "ec -pkeyopt ec_paramgen_curve:P-256");
	snprintf(crt, sizeof(crt), "%s/one.crt", dir);
	snprintf(key, sizeof(key), "%s/two.key", dir);
	log = hu_proxy_refused(fake, dir, args, 15000);
	if (strstr(log, "--tls-key-file") == NULL || strstr(log, "does not match") == NULL)
		fail_msg("the error does not explain the mismatch:\n%s", log);
	assert_null(strstr(log, "PRIVATE KEY"));
	free(log);
	free(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_https_and_reload),
		cmocka_unit_test(test_cert_without_key_refused),
		cmocka_unit_test(test_mismatched_key_refused),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, setup, teardown);
	curl_global_cleanup();
	return rc;
}
