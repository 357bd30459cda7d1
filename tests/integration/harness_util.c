/*
 * harness_util: helpers shared by the integration tests (see
 * harness_util.h).
 *
 * The live-process table and the list of remembered logs are plain
 * globals: a test binary is one process whose tests run one at a time on
 * the main thread.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/integration/harness_util.h"

#define LIVE_MAX	8
#define LOGS_MAX	16

static json_t		*fixtures;
static struct proxy	*live_proxies[LIVE_MAX];
static struct fake	*live_fakes[LIVE_MAX];
static char		 log_paths[LOGS_MAX][600];
static int		 nlogs;

/* ---- the default fixtures ---- */

int
hu_fixtures_setup(void **state)
{
	(void)state;
	fixtures = json_load_file(fake_fixtures_default(), 0, NULL);
	return fixtures == NULL ? -1 : 0;
}

int
hu_fixtures_teardown(void **state)
{
	(void)state;
	json_decref(fixtures);
	fixtures = NULL;
	return 0;
}

json_t *
hu_fixtures(void)
{
	return fixtures;
}

const char *
hu_fixture_id(const char *type, int nth)
{
	static char ids[8][64];
	static int next;
	json_t *root = json_load_file(fake_fixtures_default(), 0, NULL), *s;
	size_t i;
	const char *found = NULL;

	assert_non_null(root);
	json_array_foreach(json_object_get(root, "secrets"), i, s) {
		if (strcmp(json_string_value(json_object_get(s, "secret_type")), type) != 0)
			continue;
		if (nth-- > 0)
			continue;
		snprintf(ids[next % 8], sizeof(ids[0]), "%s",
		    json_string_value(json_object_get(s, "id")));
		found = ids[next++ % 8];
		break;
	}
	json_decref(root);
	assert_non_null(found);
	return found;
}

/* ---- proxies in front of a fake ---- */

struct proxy *
hu_proxy_start(struct fake *f, const char *dir, const char *const *args)
{
	struct proxy_opts o = { 0 };

	o.upstream = fake_url(f);
	o.dir = dir;
	o.args = args;
	return proxy_start(&o);
}

int
hu_pair_start(const char *fake_args, struct fake **f, char **token,
    struct proxy **p)
{
	*p = NULL;
	if (token != NULL)
		*token = NULL;
	*f = fake_start(fake_fixtures_default(), fake_args);
	if (*f == NULL)
		return -1;
	if (token != NULL && (*token = fake_token(*f, NULL)) == NULL)
		return -1;
	*p = hu_proxy_start(*f, NULL, NULL);
	return *p == NULL ? -1 : 0;
}

void
hu_stop(struct proxy *p, struct fake *f)
{
	if (p != NULL)
		assert_int_equal(proxy_stop(p), 0);
	proxy_free(p);
	fake_stop(f);
}

char *
hu_proxy_refused(struct fake *f, const char *dir, const char *const *args,
    int timeout_ms)
{
	struct proxy_opts o = { 0 };
	struct proxy *p;
	char *log;

	o.upstream = fake_url(f);
	o.dir = dir;
	o.args = args;
	o.expect_fail = true;
	p = proxy_start(&o);
	assert_non_null(p);
	assert_true(proxy_wait(p, timeout_ms) > 0);
	log = proxy_log(p);
	proxy_free(p);
	return log;
}

/* ---- live processes ---- */

/* Put x in the slot that holds want (NULL: a free one). */
static void
track(void **slots, void *x, void *want)
{
	int i;

	for (i = 0; i < LIVE_MAX; i++)
		if (slots[i] == want) {
			slots[i] = x;
			return;
		}
	if (want == NULL)
		fail_msg("more than %d live processes", LIVE_MAX);
	fail_msg("a process that was never started");
}

struct fake *
hu_live_fake(const char *fixtures_path, const char *args)
{
	struct fake *f = fake_start(fixtures_path, args);

	assert_non_null(f);
	track((void **)live_fakes, f, NULL);
	return f;
}

void
hu_live_fake_stop(struct fake *f)
{
	track((void **)live_fakes, NULL, f);
	fake_stop(f);
}

struct proxy *
hu_live_proxy(struct fake *f, const char *dir, const char *const *args)
{
	struct proxy *p = hu_proxy_start(f, dir, args);

	assert_non_null(p);
	track((void **)live_proxies, p, NULL);
	assert_true(nlogs < LOGS_MAX);
	snprintf(log_paths[nlogs++], sizeof(log_paths[0]), "%s", p->log_path);
	return p;
}

void
hu_live_proxy_stop(struct proxy *p)
{
	assert_int_equal(proxy_stop(p), 0);
	hu_live_proxy_forget(p);
	proxy_free(p);
}

void
hu_live_proxy_forget(struct proxy *p)
{
	track((void **)live_proxies, NULL, p);
}

int
hu_live_cleanup(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < LIVE_MAX; i++) {
		if (live_proxies[i] != NULL) {
			proxy_kill9(live_proxies[i]);
			proxy_free(live_proxies[i]);
			live_proxies[i] = NULL;
		}
		if (live_fakes[i] != NULL) {
			fake_stop(live_fakes[i]);
			live_fakes[i] = NULL;
		}
	}
	return 0;
}

int
hu_live_log_count(void)
{
	return nlogs;
}

const char *
hu_live_log_path(int i)
{
	return log_paths[i];
}

/* ---- HTTP ---- */

void
hu_call(const char *base, const char *method, const char *path,
    const char *body, const char *const *hdrs, struct http_resp *r)
{
	char url[16384];

	snprintf(url, sizeof(url), "%s%s", base, path);
	if (http_do(method, url, body, hdrs, r) != 0)
		fail_msg("%s %s%.200s: no answer", method, base, path);
}

void
hu_get(const char *base, const char *path, struct http_resp *r)
{
	hu_call(base, "GET", path, NULL, NULL, r);
}

void
hu_direct(struct fake *f, const char *token, const char *method,
    const char *path, const char *body, struct http_resp *r)
{
	char url[8192], auth[4096];
	const char *hdrs[] = { auth, "Content-Type: application/json", NULL };

	snprintf(url, sizeof(url), "%s%s", fake_url(f), path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	if (http_do(method, url, body, hdrs, r) != 0)
		fail_msg("%s %s: no answer from the fake", method, path);
}

int
hu_token_request(const char *base, const char *key, const char *extra_header,
    struct http_resp *r)
{
	const char *hdr[] = { "Content-Type: application/x-www-form-urlencoded",
	    extra_header, NULL };
	char url[256], body[512];

	snprintf(url, sizeof(url), "%s/identity/token", base);
	snprintf(body, sizeof(body),
	    "grant_type=urn%%3Aibm%%3Aparams%%3Aoauth%%3Agrant-type%%3Aapikey&apikey=%s"
	    "&response_type=cloud_iam", key);
	return http_do("POST", url, body, hdr, r);
}

/* ---- what the fake saw ---- */

int
hu_calls(struct fake *f, const char *method, const char *path)
{
	json_t *log = fake_log(f), *e;
	size_t i;
	int n = 0;

	assert_non_null(log);
	json_array_foreach(json_object_get(log, "requests"), i, e) {
		const char *k = json_string_value(json_object_get(e, "kind"));
		const char *m = json_string_value(json_object_get(e, "method"));
		const char *p = json_string_value(json_object_get(e, "path"));

		if (k != NULL && strcmp(k, "sm") == 0 && m != NULL && p != NULL &&
		    strcmp(m, method) == 0 && strcmp(p, path) == 0)
			n++;
	}
	json_decref(log);
	return n;
}

const char *
hu_path_of(const char *target, char *buf, size_t len)
{
	const char *q = strchr(target, '?');

	snprintf(buf, len, "%.*s", q ? (int)(q - target) : (int)strlen(target), target);
	return buf;
}

/* The body with the value of "trace" blanked (malloc'd). */
static char *
masked(const struct http_resp *r)
{
	char *b = malloc(r->len + 1), *t;

	assert_non_null(b);
	memcpy(b, r->body, r->len);
	b[r->len] = '\0';
	if ((t = strstr(b, "\"trace\":\"")) != NULL) {
		for (t += 9; *t != '\0' && *t != '"'; t++)
			*t = '0';
	}
	return b;
}

void
hu_assert_same_bytes(const char *what, const struct http_resp *a,
    const struct http_resp *b)
{
	char *ma, *mb;

	if (a->status != b->status)
		fail_msg("%s: status %ld, upstream said %ld", what, a->status, b->status);
	if (a->len != b->len)
		fail_msg("%s: %zu bytes, upstream sent %zu:\n%s\n%s", what, a->len,
		    b->len, a->body, b->body);
	ma = masked(a);
	mb = masked(b);
	if (strcmp(ma, mb) != 0)
		fail_msg("%s: bytes differ:\n%s\n%s", what, a->body, b->body);
	free(ma);
	free(mb);
}

/* ---- metrics ---- */

double
hu_series(const char *text, const char *name, double missing)
{
	size_t n = strlen(name);
	const char *p = text;

	while (p != NULL && *p != '\0') {
		if (strncmp(p, name, n) == 0 && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	return missing;
}

/* ---- logs and files ---- */

char *
hu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (len != NULL)
		*len = 0;
	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		buf[0] = '\0';
		n = 0;
	}
	fclose(f);
	if (len != NULL && buf != NULL)
		*len = (size_t)n;
	return buf;
}

/* One logfmt line: key=value pairs, values bare or quoted with escapes.
 * On false, *why says what is wrong. */
static bool
logfmt_ok(const char *line, const char **why)
{
	const char *p = line;

	*why = "empty line";
	if (*p == '\0')
		return false;
	while (*p != '\0') {
		const char *k = p;

		while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-')
			p++;
		if (p == k || *p != '=') {
			*why = "a key without '='";
			return false;
		}
		p++;
		if (*p == '"') {
			for (p++; *p != '"'; p++) {
				if (*p == '\0') {
					*why = "an unterminated quoted value";
					return false;
				}
				if (*p == '\\' && p[1] != '\0')
					p++;
			}
			p++;
		} else {
			while (*p != '\0' && *p != ' ') {
				if (*p == '"' || *p == '=') {
					*why = "a bare value holding '\"' or '='";
					return false;
				}
				p++;
			}
		}
		if (*p == ' ')
			p++;
		else if (*p != '\0') {
			*why = "no space between pairs";
			return false;
		}
	}
	return true;
}

void
hu_check_log_line(const char *file, const char *line)
{
	const char *why;

	if (strncmp(line, "ts=", 3) != 0 || strstr(line, " level=") == NULL)
		fail_msg("%s: a line without ts= and level=: %s", file, line);
	if (!logfmt_ok(line, &why))
		fail_msg("%s: not logfmt (%s): %s", file, why, line);
	if (strstr(line, " method=") != NULL && strstr(line, " status=") != NULL &&
	    strstr(line, " log=access ") == NULL && strstr(line, " log=audit ") == NULL)
		fail_msg("%s: a request line without log=access: %s", file, line);
	if (strstr(line, " outcome=") != NULL && strstr(line, " log=audit ") == NULL)
		fail_msg("%s: an audit line without log=audit: %s", file, line);
}

void
hu_check_no_secret(const char *file, const char *text)
{
	const char *fixed[] = { "demo-upstream-key", "eyJ", "Bearer ", "generated-payload-",
	    "MIGHAgEAMBMG", NULL };
	const char *fields[] = { "payload", "password", "api_key", "private_key", NULL };
	json_t *s;
	size_t k, f;

	assert_non_null(fixtures);
	for (f = 0; fixed[f] != NULL; f++)
		if (strstr(text, fixed[f]) != NULL)
			fail_msg("%s holds \"%s\"", file, fixed[f]);
	json_array_foreach(json_object_get(fixtures, "secrets"), k, s)
		for (f = 0; fields[f] != NULL; f++) {
			const char *v = json_string_value(json_object_get(s, fields[f]));

			if (v != NULL && strstr(text, v) != NULL)
				fail_msg("%s holds the %s of %s", file, fields[f],
				    json_string_value(json_object_get(s, "name")));
		}
}

void
hu_write_file(const char *path, const char *text)
{
	char tmp[700];
	int fd;

	/* Replace atomically, as a ConfigMap update does. */
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(rename(tmp, path), 0);
}

const char *
hu_sha256_hex(const char *s)
{
	static char hex[65];
	uint8_t d[32];

	crypto_hash_sha256(d, (const uint8_t *)s, strlen(s));
	sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
	return hex;
}
