/*
 * test_fake: the fake Secrets Manager + IAM upstream, driven directly over
 * HTTP with libcurl and checked against SM-API.md: the token exchange and
 * JWT shape, 401s, every v2 and v1 read path and its JSON shape,
 * pagination, writes, non-reusable iam_credentials, the rate limiter and
 * its accounting, fault injection, keep-alive, --generate and the process
 * contract (port file, "listening" line, SIGTERM exits 0).
 *
 * Most tests share one fake loaded with tests/fake/fixtures/default.json
 * and the limiter off; tests that need the limiter or other flags start
 * their own.  Tests that write create their own secrets, so the fixture
 * secrets stay as the file describes them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "tests/integration/harness_fake.h"

#define ID_APP_CONFIG	"0b5c1e7a-3f2d-4c8e-9a1b-2c3d4e5f6a70"
#define ID_TEAM_TOKEN	"1c6d2f8b-4a3e-4d9f-8b2c-3d4e5f6a7b81"
#define ID_DB_CREDS	"2d7e3a9c-5b4f-4eaa-9c3d-4e5f6a7b8c92"
#define ID_TEAM_DB	"7c2d8fe1-a09e-4dff-817c-9daebfc0d1e7"
#define ID_FLAGS	"3e8f4bad-6c5a-4fbb-8d4e-5f6a7b8c9da3"
#define ID_CI_KEY	"4f9a5cbe-7d6b-4acc-9e5f-6a7b8c9daeb4"
#define ID_EPHEMERAL	"5a0b6dcf-8e7c-4bdd-af6a-7b8c9daebfc5"
#define ID_CERT		"6b1c7ed0-9f8d-4cee-b07b-8c9daebfc0d6"
#define TEAM_A		"6a1f0c55-2d3b-4e8a-9c7d-1b2e3f4a5b6c"
#define FIXTURE_SECRETS	8
#define GRANT		"grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey"
#define FORM		"application/x-www-form-urlencoded"
#define V1_SECRET	"application/vnd.ibm.secrets-manager.secret+json"
#define V1_GROUP	"application/vnd.ibm.secrets-manager.secret.group+json"

struct http {
	CURLcode	 cc;
	long		 status;
	char		*body;
	size_t		 len;
	char		 retry_after[32];
	char		 content_type[128];
	long		 connects;	/* new connections this request made */
	json_t		*json;
};

static struct fake	*g_fake;	/* default fixtures, limiter off */
static char		*g_token;
static struct http	 R;		/* the last call(); freed by the next */

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http	*h = userdata;
	size_t		 n = size * nmemb;
	char		*nb = realloc(h->body, h->len + n + 1);

	if (nb == NULL)
		return 0;
	h->body = nb;
	memcpy(h->body + h->len, ptr, n);
	h->len += n;
	h->body[h->len] = '\0';
	return n;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct http	*h = userdata;
	size_t		 n = size * nmemb, vlen;
	const char	*v = ptr + 12;

	if (n > 12 && strncasecmp(ptr, "Retry-After:", 12) == 0) {
		for (vlen = n - 12; vlen > 0 && *v == ' '; vlen--)
			v++;
		while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
			vlen--;
		snprintf(h->retry_after, sizeof(h->retry_after), "%.*s",
		    (int)vlen, v);
	}
	return n;
}

static void
http_free(struct http *h)
{
	free(h->body);
	json_decref(h->json);
	memset(h, 0, sizeof(*h));
}

/*
 * One request into *h.  c: a handle to reuse (keep-alive) or NULL.  token
 * NULL sends no Authorization.  A body goes with ctype (NULL: JSON).
 */
static void
http_do(CURL *c, const char *method, const char *url, const char *token,
    const char *body, const char *ctype, struct http *h)
{
	struct curl_slist	*hdrs = NULL;
	char			 line[4096], *ct = NULL;
	bool			 own = c == NULL;

	memset(h, 0, sizeof(*h));
	if (own)
		c = curl_easy_init();
	assert_non_null(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 20000L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	if (token != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, line);
	}
	if (body != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s",
		    ctype ? ctype : "application/json");
		hdrs = curl_slist_append(hdrs, line);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	} else
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	h->cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &h->status);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &h->connects);
	if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
		snprintf(h->content_type, sizeof(h->content_type), "%s", ct);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(hdrs);
	if (own)
		curl_easy_cleanup(c);
	if (h->body != NULL)
		h->json = json_loads(h->body, 0, NULL);
}

/* A request to the shared fake with the shared token; the answer is R. */
static json_t *
call(const char *method, const char *body, const char *fmt, ...)
{
	char	url[2048];
	int	n;
	va_list	ap;

	n = snprintf(url, sizeof(url), "%s", fake_url(g_fake));
	va_start(ap, fmt);
	vsnprintf(url + n, sizeof(url) - (size_t)n, fmt, ap);
	va_end(ap);
	http_free(&R);
	http_do(NULL, method, url, g_token, body, NULL, &R);
	return R.json;
}

#define GET(...)	call("GET", NULL, __VA_ARGS__)

static const char *
str(const json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static json_int_t
num(const json_t *obj, const char *key)
{
	assert_true(json_is_integer(json_object_get(obj, key)));
	return json_integer_value(json_object_get(obj, key));
}

static size_t
count(const json_t *obj, const char *key)
{
	assert_true(json_is_array(json_object_get(obj, key)));
	return json_array_size(json_object_get(obj, key));
}

static const json_t *
at(const json_t *obj, const char *key, size_t i)
{
	return json_array_get(json_object_get(obj, key), i);
}

static bool
looks_rfc3339_ms(const char *s)
{
	return s != NULL && strlen(s) == 24 && s[4] == '-' && s[7] == '-' &&
	    s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' &&
	    s[23] == 'Z';
}

static bool
looks_uuid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != 36)
		return false;
	for (i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : strchr("0123456789abcdef", s[i]) == NULL)
			return false;
	}
	return true;
}

/* h is a JSON answer with this status. */
static void
expect_json(const struct http *h, long status)
{
	if (h->status != status)
		fail_msg("status %ld, wanted %ld: %s", h->status, status,
		    h->body ? h->body : "(no body)");
	assert_int_equal(h->cc, CURLE_OK);
	assert_string_equal(h->content_type, "application/json");
	assert_non_null(h->json);
}

/* h is an SM-shaped error: non-empty errors[] with code, status, trace. */
static void
expect_error(const struct http *h, long status, const char *code)
{
	const json_t *e0;

	expect_json(h, status);
	e0 = at(h->json, "errors", 0);
	assert_non_null(e0);
	assert_string_equal(str(e0, "code"), code);
	assert_non_null(str(e0, "message"));
	assert_int_equal(num(h->json, "status_code"), status);
	assert_true(looks_uuid(str(h->json, "trace")));
}

/* base64url -> malloc'd NUL-terminated bytes. */
static char *
b64url_decode(const char *in, size_t len)
{
	static const char alpha[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char		*out = malloc(len * 3 / 4 + 4);
	uint32_t	 acc = 0;
	int		 bits = 0;
	size_t		 i, n = 0;

	assert_non_null(out);
	for (i = 0; i < len; i++) {
		const char *p = strchr(alpha, in[i]);

		assert_non_null(p);
		acc = (acc << 6) | (uint32_t)(p - alpha);
		if ((bits += 6) >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	out[n] = '\0';
	return out;
}

static json_t *
jwt_part(const char *start, const char *end)
{
	char	*text = b64url_decode(start, (size_t)(end - start));
	json_t	*j = json_loads(text, 0, NULL);

	free(text);
	assert_non_null(j);
	return j;
}

static void
token_request(const char *form, const char *basic, struct http *h)
{
	char	 url[256];
	CURL	*c = curl_easy_init();

	snprintf(url, sizeof(url), "%s/identity/token", fake_url(g_fake));
	if (basic != NULL)
		curl_easy_setopt(c, CURLOPT_USERPWD, basic);
	http_do(c, "POST", url, NULL, form, FORM, h);
	curl_easy_cleanup(c);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static int
group_setup(void **state)
{
	(void)state;
	if ((g_fake = fake_start(fake_fixtures_default(), "--rate-limit 0")) == NULL)
		return -1;
	g_token = fake_token(g_fake, NULL);
	return g_token == NULL ? -1 : 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	http_free(&R);
	free(g_token);
	fake_stop(g_fake);
	return 0;
}

static void
test_token_exchange(void **state)
{
	struct http	 h;
	const char	*tok, *dot1, *dot2;
	json_t		*hdr, *claims;
	json_int_t	 iat;

	(void)state;
	token_request(GRANT "&apikey=demo-upstream-key&response_type=cloud_iam",
	    NULL, &h);
	expect_json(&h, 200);
	assert_string_equal(str(h.json, "token_type"), "Bearer");
	assert_string_equal(str(h.json, "scope"), "ibm openid");
	assert_non_null(str(h.json, "refresh_token"));
	assert_int_equal(num(h.json, "expires_in"), 3600);

	/* header.payload.signature, base64url, RS256 with numeric iat/exp. */
	tok = str(h.json, "access_token");
	assert_non_null(tok);
	assert_non_null(dot1 = strchr(tok, '.'));
	assert_non_null(dot2 = strchr(dot1 + 1, '.'));
	assert_null(strchr(dot2 + 1, '.'));
	assert_int_equal(strlen(dot2 + 1), 342);	/* 256-byte signature */
	hdr = jwt_part(tok, dot1);
	claims = jwt_part(dot1 + 1, dot2);
	assert_string_equal(str(hdr, "alg"), "RS256");
	assert_string_equal(str(hdr, "typ"), "JWT");
	assert_string_equal(str(hdr, "kid"), "fake-key-1");
	iat = num(claims, "iat");
	assert_int_equal(num(claims, "exp") - iat, num(h.json, "expires_in"));
	assert_int_equal(num(h.json, "expiration"), iat + num(h.json, "expires_in"));
	assert_true(llabs((long long)(iat - time(NULL))) <= 5);
	assert_string_equal(str(claims, "iam_id"), "iam-ServiceId-fake-0");
	assert_string_equal(str(claims, "iss"), "https://iam.cloud.ibm.com/identity");
	assert_true(looks_uuid(str(claims, "jti")));
	assert_non_null(str(claims, "sub"));
	json_decref(hdr);
	json_decref(claims);
	http_free(&h);

	/* Basic auth (the legacy bx:bx client) is accepted too. */
	token_request(GRANT "&apikey=demo-upstream-key", "bx:bx", &h);
	expect_json(&h, 200);
	http_free(&h);

	token_request(GRANT "&apikey=not-a-key", NULL, &h);
	expect_json(&h, 400);
	assert_string_equal(str(h.json, "errorCode"), "BXNIM0415E");
	assert_string_equal(str(h.json, "errorMessage"),
	    "Provided API key could not be found.");
	assert_true(looks_uuid(str(json_object_get(h.json, "context"), "requestId")));
	http_free(&h);

	/* Missing apikey, bad grant type, missing grant type. */
	token_request(GRANT, NULL, &h);
	expect_json(&h, 400);
	assert_int_equal(strncmp(str(h.json, "errorCode"), "BXNIM", 5), 0);
	assert_non_null(str(h.json, "errorMessage"));
	http_free(&h);
	token_request("grant_type=password&apikey=demo-upstream-key", NULL, &h);
	expect_json(&h, 400);
	assert_int_equal(strncmp(str(h.json, "errorCode"), "BXNIM", 5), 0);
	http_free(&h);
	token_request("apikey=demo-upstream-key", NULL, &h);
	expect_json(&h, 400);
	http_free(&h);
}

static void
test_jwks(void **state)
{
	const json_t *k;

	(void)state;
	GET("/identity/keys");
	expect_json(&R, 200);
	k = at(R.json, "keys", 0);
	assert_string_equal(str(k, "kty"), "RSA");
	assert_string_equal(str(k, "kid"), "fake-key-1");
	assert_string_equal(str(k, "alg"), "RS256");
	assert_string_equal(str(k, "use"), "sig");
	assert_string_equal(str(k, "e"), "AQAB");
	assert_int_equal(strlen(str(k, "n")), 342);	/* 2048-bit modulus */
}

static void
test_unauthorized(void **state)
{
	struct http	 h;
	char		 url[256];
	const char	*bad[] = { NULL, "bogus-token",
	    "eyJhbGciOiJSUzI1NiJ9.eyJleHAiOjk5OTk5OTk5OTl9.c2ln" };
	size_t		 i;

	(void)state;
	snprintf(url, sizeof(url), "%s/api/v2/secrets/" ID_APP_CONFIG,
	    fake_url(g_fake));
	/* No token, a bogus one, a well-formed JWT the fake never issued. */
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		http_do(NULL, "GET", url, bad[i], NULL, NULL, &h);
		expect_error(&h, 401, "unauthorized");
		http_free(&h);
	}
	GET("/api/v2/secrets/" ID_APP_CONFIG);
	expect_json(&R, 200);

	/* After revoke_tokens every earlier token is refused. */
	assert_int_equal(fake_ctl(g_fake, "POST", "/__fake/revoke_tokens"), 200);
	GET("/api/v1/secrets/arbitrary/" ID_APP_CONFIG);
	expect_error(&R, 401, "unauthorized");
	free(g_token);
	assert_non_null(g_token = fake_token(g_fake, NULL));
	GET("/api/v2/secrets/" ID_APP_CONFIG);
	expect_json(&R, 200);
}

static void
test_token_expiry(void **state)
{
	struct fake	*f;
	struct http	 h;
	char		*tok, url[256];

	(void)state;
	assert_non_null(f = fake_start(NULL, "--token-ttl 1"));
	assert_non_null(tok = fake_token(f, NULL));
	snprintf(url, sizeof(url), "%s/api/v2/secret_groups", fake_url(f));
	http_do(NULL, "GET", url, tok, NULL, NULL, &h);
	expect_json(&h, 200);
	http_free(&h);
	usleep(1300 * 1000);
	http_do(NULL, "GET", url, tok, NULL, NULL, &h);
	expect_error(&h, 401, "unauthorized");
	http_free(&h);
	free(tok);
	fake_stop(f);
}

/* The common v2 fields of a secret (metadata or full). */
static void
expect_v2_secret(const char *id, const char *type)
{
	const json_t *s = R.json;

	expect_json(&R, 200);
	assert_string_equal(str(s, "id"), id);
	assert_string_equal(str(s, "secret_type"), type);
	assert_int_equal(num(s, "state"), 1);
	assert_string_equal(str(s, "state_description"), "active");
	assert_true(looks_rfc3339_ms(str(s, "created_at")));
	assert_true(looks_rfc3339_ms(str(s, "updated_at")));
	assert_non_null(str(s, "crn"));
	assert_non_null(str(s, "created_by"));
	assert_non_null(str(s, "secret_group_id"));
	count(s, "labels");
	num(s, "versions_total");
	assert_int_equal(num(s, "locks_total"), 0);
	assert_true(json_is_boolean(json_object_get(s, "downloaded")));
}

static void
test_v2_secret_by_id(void **state)
{
	const json_t *d;

	(void)state;
	GET("/api/v2/secrets/" ID_APP_CONFIG);
	expect_v2_secret(ID_APP_CONFIG, "arbitrary");
	assert_string_equal(str(R.json, "name"), "app-config");
	assert_string_equal(str(R.json, "payload"), "app-config-payload-v1");
	assert_true(json_is_true(json_object_get(R.json, "downloaded")));

	GET("/api/v2/secrets/" ID_DB_CREDS);
	expect_v2_secret(ID_DB_CREDS, "username_password");
	assert_string_equal(str(R.json, "username"), "dbuser");
	assert_string_equal(str(R.json, "password"), "cloudy-rainy-coffee-book");
	assert_true(json_is_object(json_object_get(R.json, "rotation")));

	GET("/api/v2/secrets/" ID_FLAGS);
	expect_v2_secret(ID_FLAGS, "kv");
	assert_string_equal(str(R.json, "secret_group_id"), TEAM_A);
	d = json_object_get(R.json, "data");
	assert_string_equal(str(d, "owner"), "team-a");
	assert_true(json_is_object(json_object_get(d, "limits")));

	GET("/api/v2/secrets/" ID_CI_KEY);
	expect_v2_secret(ID_CI_KEY, "iam_credentials");
	assert_string_equal(str(R.json, "api_key"), "static-fake-iam-api-key-0001");
	assert_string_equal(str(R.json, "ttl"), "1d");
	assert_true(json_is_true(json_object_get(R.json, "reuse_api_key")));
	assert_non_null(str(R.json, "service_id"));

	GET("/api/v2/secrets/" ID_CERT);
	expect_v2_secret(ID_CERT, "imported_cert");
	assert_int_equal(strncmp(str(R.json, "certificate"),
	    "-----BEGIN CERTIFICATE-----", 27), 0);
	assert_non_null(strstr(str(R.json, "private_key"), "PRIVATE KEY"));
	assert_non_null(str(R.json, "intermediate"));
	assert_string_equal(str(R.json, "common_name"), "example.com");
	assert_true(json_is_true(json_object_get(R.json, "intermediate_included")));
	assert_true(json_is_object(json_object_get(R.json, "validity")));

	/* Metadata: the same without secret data. */
	GET("/api/v2/secrets/" ID_DB_CREDS "/metadata");
	expect_v2_secret(ID_DB_CREDS, "username_password");
	assert_null(json_object_get(R.json, "password"));
	assert_null(json_object_get(R.json, "username"));
	GET("/api/v2/secrets/" ID_CERT "/metadata");
	expect_v2_secret(ID_CERT, "imported_cert");
	assert_null(json_object_get(R.json, "certificate"));
	assert_null(json_object_get(R.json, "private_key"));

	/* Percent-encoded path segments, either case; bad escapes. */
	GET("/api/v2/secrets/%%30b5c1e7a-3f2d-4c8e-9a1b-2c3d4e5f6a70");
	expect_v2_secret(ID_APP_CONFIG, "arbitrary");
	GET("/api/v2/secrets/0b5c1e7a%%2d3f2d%%2D4c8e-9a1b-2c3d4e5f6a70/metadata");
	expect_v2_secret(ID_APP_CONFIG, "arbitrary");
	GET("/api/v2/secrets/bad%%zzescape");
	expect_error(&R, 400, "bad_request");

	GET("/api/v2/secrets/00000000-0000-4000-8000-00000000dead");
	expect_error(&R, 404, "not_found");
	assert_string_equal(str(at(R.json, "errors", 0), "message"), "Secret not found");
	call("PUT", "{}", "/api/v2/secrets/" ID_APP_CONFIG);
	expect_error(&R, 405, "method_not_allowed");
	GET("/api/v2/nothing-here");
	expect_error(&R, 404, "not_found");
	GET("/api/v2/secrets/" ID_APP_CONFIG "/a/b/c/d/e/f/g/h/i/j/k/l/m");
	expect_error(&R, 404, "not_found");
}

static void
test_v2_versions(void **state)
{
	const json_t	*v;
	char		 vid[64];

	(void)state;
	GET("/api/v2/secrets/" ID_TEAM_DB "/versions");
	expect_json(&R, 200);
	assert_int_equal(num(R.json, "total_count"), 1);
	v = at(R.json, "versions", 0);
	assert_string_equal(str(v, "secret_type"), "username_password");
	assert_string_equal(str(v, "secret_id"), ID_TEAM_DB);
	assert_string_equal(str(v, "alias"), "current");
	assert_true(looks_uuid(str(v, "id")));
	assert_true(looks_rfc3339_ms(str(v, "created_at")));
	assert_null(json_object_get(v, "password"));
	snprintf(vid, sizeof(vid), "%s", str(v, "id"));

	GET("/api/v2/secrets/" ID_TEAM_DB "/versions/current");
	expect_json(&R, 200);
	assert_string_equal(str(R.json, "id"), vid);
	assert_string_equal(str(R.json, "alias"), "current");
	assert_string_equal(str(R.json, "secret_type"), "username_password");
	assert_string_equal(str(R.json, "password"), "sunny-windy-tea-lamp");
	assert_true(json_is_true(json_object_get(R.json, "payload_available")));
	GET("/api/v2/secrets/" ID_TEAM_DB "/versions/%s", vid);
	expect_json(&R, 200);
	assert_string_equal(str(R.json, "username"), "team_a_user");
	GET("/api/v2/secrets/" ID_TEAM_DB "/versions/%s/metadata", vid);
	expect_json(&R, 200);
	assert_string_equal(str(R.json, "secret_type"), "username_password");
	assert_null(json_object_get(R.json, "password"));
	GET("/api/v2/secrets/" ID_TEAM_DB "/versions/current/metadata");
	expect_json(&R, 200);
	assert_string_equal(str(R.json, "id"), vid);

	/* One version only: no previous. */
	GET("/api/v2/secrets/" ID_TEAM_DB "/versions/previous");
	expect_error(&R, 404, "not_found");
	GET("/api/v2/secrets/" ID_TEAM_DB "/versions/nope");
	expect_error(&R, 404, "not_found");
}

static void
test_v2_by_name_and_groups(void **state)
{
	(void)state;
	GET("/api/v2/secret_groups/default/secret_types/username_password/secrets/db-creds");
	expect_v2_secret(ID_DB_CREDS, "username_password");
	assert_string_equal(str(R.json, "password"), "cloudy-rainy-coffee-book");
	/* The group is addressed by NAME, percent-encoded either way. */
	GET("/api/v2/secret_groups/team%%2Da/secret_types/kv/secrets/feature%%2dflags");
	expect_v2_secret(ID_FLAGS, "kv");
	/* By id instead of name, wrong group, wrong type, bad type. */
	GET("/api/v2/secret_groups/" TEAM_A "/secret_types/kv/secrets/feature-flags");
	expect_error(&R, 404, "not_found");
	GET("/api/v2/secret_groups/default/secret_types/kv/secrets/feature-flags");
	expect_error(&R, 404, "not_found");
	GET("/api/v2/secret_groups/default/secret_types/arbitrary/secrets/db-creds");
	expect_error(&R, 404, "not_found");
	GET("/api/v2/secret_groups/default/secret_types/bogus/secrets/x");
	expect_error(&R, 400, "bad_request");

	GET("/api/v2/secret_groups");
	expect_json(&R, 200);
	assert_int_equal(num(R.json, "total_count"), 2);
	assert_int_equal(count(R.json, "secret_groups"), 2);
	GET("/api/v2/secret_groups/" TEAM_A);
	expect_json(&R, 200);
	assert_string_equal(str(R.json, "name"), "team-a");
	assert_true(looks_rfc3339_ms(str(R.json, "created_at")));
	assert_non_null(str(R.json, "description"));
	GET("/api/v2/secret_groups/default");
	expect_json(&R, 200);
	assert_string_equal(str(R.json, "id"), "default");
	GET("/api/v2/secret_groups/no-such-group");
	expect_error(&R, 404, "not_found");
}

/* The offset query parameter of a {"href": ...} link, or -1. */
static long
href_offset(const json_t *link)
{
	const char *href = str(link, "href"), *p;

	if (href == NULL || (p = strstr(href, "offset=")) == NULL)
		return -1;
	return strtol(p + 7, NULL, 10);
}

/* GET a list and check its total. */
static void
expect_total(json_int_t total, const char *query)
{
	GET("/api/v2/secrets?%s", query);
	expect_json(&R, 200);
	assert_int_equal(num(R.json, "total_count"), total);
}

static void
test_v2_list(void **state)
{
	const json_t	*s;
	size_t		 i, seen = 0;
	long		 offset = 0;
	char		 prev[128] = "";
	const char	*bad[] = { "limit=0", "limit=1001", "limit=ten", "offset=-1",
	    "sort=color", "secret_types=bogus" };

	(void)state;
	expect_total(FIXTURE_SECRETS, "limit=3");
	assert_int_equal(num(R.json, "limit"), 3);
	assert_int_equal(num(R.json, "offset"), 0);
	assert_int_equal(count(R.json, "secrets"), 3);
	assert_int_equal(href_offset(json_object_get(R.json, "first")), 0);
	assert_int_equal(href_offset(json_object_get(R.json, "last")), 6);
	assert_int_equal(href_offset(json_object_get(R.json, "next")), 3);
	assert_null(json_object_get(R.json, "previous"));
	assert_int_equal(strncmp(str(json_object_get(R.json, "next"), "href"),
	    "http://", 7), 0);
	assert_non_null(strstr(str(json_object_get(R.json, "next"), "href"), "limit=3"));
	json_array_foreach(json_object_get(R.json, "secrets"), i, s) {
		assert_non_null(str(s, "secret_type"));
		assert_null(json_object_get(s, "payload"));
	}
	/* The last page has no next. */
	expect_total(FIXTURE_SECRETS, "limit=3&offset=6");
	assert_int_equal(count(R.json, "secrets"), 2);
	assert_null(json_object_get(R.json, "next"));
	assert_int_equal(href_offset(json_object_get(R.json, "previous")), 3);

	/* Follow next links to the end, as the Go pager does. */
	do {
		expect_total(FIXTURE_SECRETS, offset == 0 ? "limit=2&sort=name" :
		    strstr(str(json_object_get(R.json, "next"), "href"), "?") + 1);
		json_array_foreach(json_object_get(R.json, "secrets"), i, s) {
			assert_true(strcmp(prev, str(s, "name")) < 0);
			snprintf(prev, sizeof(prev), "%s", str(s, "name"));
			seen++;
		}
		offset = href_offset(json_object_get(R.json, "next"));
	} while (offset > 0);
	assert_int_equal(seen, FIXTURE_SECRETS);

	expect_total(FIXTURE_SECRETS, "sort=-name&limit=1");
	assert_string_equal(str(at(R.json, "secrets", 0), "name"), "team-a-token");
	expect_total(4, "groups=" TEAM_A);
	json_array_foreach(json_object_get(R.json, "secrets"), i, s)
		assert_string_equal(str(s, "secret_group_id"), TEAM_A);
	expect_total(1, "groups=default&secret_types=iam_credentials");
	assert_string_equal(str(at(R.json, "secrets", 0), "id"), ID_CI_KEY);
	expect_total(3, "secret_types=kv,arbitrary");
	expect_total(1, "match_all_labels=db,team-a");
	assert_string_equal(str(at(R.json, "secrets", 0), "id"), ID_TEAM_DB);
	expect_total(1, "search=db-creds");
	expect_total(2, "search=env%3Adev");	/* a label */
	expect_total(0, "search=no-such-thing");
	assert_int_equal(count(R.json, "secrets"), 0);
	assert_null(json_object_get(R.json, "next"));
	expect_total(FIXTURE_SECRETS, "limit=1000");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		GET("/api/v2/secrets?%s", bad[i]);
		expect_error(&R, 400, "bad_request");
	}
}

/* R is a v1 envelope of this type; its first resource. */
static const json_t *
v1_first(const char *collection_type)
{
	const json_t *meta = json_object_get(R.json, "metadata");

	expect_json(&R, 200);
	assert_string_equal(str(meta, "collection_type"), collection_type);
	assert_int_equal(num(meta, "collection_total"), count(R.json, "resources"));
	return at(R.json, "resources", 0);
}

static void
test_v1_reads(void **state)
{
	const json_t	*r, *sd;
	size_t		 i;
	bool		 found = false;

	(void)state;
	GET("/api/v1/secrets/username_password/" ID_DB_CREDS);
	r = v1_first(V1_SECRET);
	assert_int_equal(count(R.json, "resources"), 1);
	assert_string_equal(str(r, "id"), ID_DB_CREDS);
	assert_string_equal(str(r, "secret_type"), "username_password");
	assert_string_equal(str(r, "state_description"), "Active");
	assert_int_equal(num(r, "state"), 1);
	assert_true(looks_rfc3339_ms(str(r, "creation_date")));
	assert_true(looks_rfc3339_ms(str(r, "last_update_date")));
	assert_null(json_object_get(r, "created_at"));
	count(r, "versions");
	sd = json_object_get(r, "secret_data");
	assert_string_equal(str(sd, "username"), "dbuser");
	assert_string_equal(str(sd, "password"), "cloudy-rainy-coffee-book");

	GET("/api/v1/secrets/arbitrary/" ID_TEAM_TOKEN);
	assert_string_equal(str(json_object_get(v1_first(V1_SECRET), "secret_data"),
	    "payload"), "team-a-token-value");
	GET("/api/v1/secrets/kv/" ID_FLAGS);
	sd = json_object_get(json_object_get(v1_first(V1_SECRET), "secret_data"),
	    "payload");
	assert_true(json_is_true(json_object_get(sd, "flag_a")));
	GET("/api/v1/secrets/imported_cert/" ID_CERT);
	sd = json_object_get(v1_first(V1_SECRET), "secret_data");
	assert_non_null(str(sd, "certificate"));
	assert_non_null(str(sd, "private_key"));
	assert_non_null(str(sd, "intermediate"));
	/* iam_credentials: api_key at the top level of the resource. */
	GET("/api/v1/secrets/iam_credentials/" ID_CI_KEY);
	r = v1_first(V1_SECRET);
	assert_string_equal(str(r, "api_key"), "static-fake-iam-api-key-0001");
	assert_null(json_object_get(r, "secret_data"));
	GET("/api/v1/secrets/username_password/" ID_DB_CREDS "/metadata");
	r = v1_first(V1_SECRET);
	assert_null(json_object_get(r, "secret_data"));
	assert_null(json_object_get(r, "password"));

	/* Wrong type for the id, unknown id, unknown type. */
	GET("/api/v1/secrets/arbitrary/" ID_DB_CREDS);
	expect_error(&R, 404, "not_found");
	GET("/api/v1/secrets/arbitrary/00000000-0000-4000-8000-00000000dead");
	expect_error(&R, 404, "not_found");
	GET("/api/v1/secrets/bogus/" ID_DB_CREDS);
	expect_error(&R, 400, "bad_request");

	/* KES keyByName: list with search, then filter by name and type. */
	GET("/api/v1/secrets?search=db-creds");
	v1_first(V1_SECRET);
	json_array_foreach(json_object_get(R.json, "resources"), i, r) {
		assert_null(json_object_get(r, "secret_data"));
		found |= strcmp(str(r, "name"), "db-creds") == 0 &&
		    strcmp(str(r, "secret_type"), "username_password") == 0;
	}
	assert_true(found);
	GET("/api/v1/secrets?search=no-such-secret");
	assert_null(v1_first(V1_SECRET));
	assert_int_equal(count(R.json, "resources"), 0);
	GET("/api/v1/secrets?limit=2&offset=1");
	v1_first(V1_SECRET);
	assert_int_equal(count(R.json, "resources"), 2);
	GET("/api/v1/secrets?groups=" TEAM_A);
	v1_first(V1_SECRET);
	assert_int_equal(count(R.json, "resources"), 4);
	GET("/api/v1/secrets/iam_credentials");
	v1_first(V1_SECRET);
	assert_int_equal(count(R.json, "resources"), 2);
	json_array_foreach(json_object_get(R.json, "resources"), i, r)
		assert_string_equal(str(r, "secret_type"), "iam_credentials");
	GET("/api/v1/secrets/public_cert");
	assert_null(v1_first(V1_SECRET));

	GET("/api/v1/secret_groups");
	v1_first(V1_GROUP);
	assert_int_equal(count(R.json, "resources"), 2);
	GET("/api/v1/secret_groups/" TEAM_A);
	assert_string_equal(str(v1_first(V1_GROUP), "name"), "team-a");
}

/* Create an arbitrary secret; its id goes to id. */
static void
create_arbitrary(const char *name, const char *payload, char id[64])
{
	char body[512];

	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"secret_type\":\"arbitrary\","
	    "\"payload\":\"%s\",\"labels\":[\"test\"]}", name, payload);
	call("POST", body, "/api/v2/secrets");
	expect_json(&R, 201);
	assert_string_equal(str(R.json, "secret_type"), "arbitrary");
	assert_string_equal(str(R.json, "name"), name);
	assert_string_equal(str(R.json, "payload"), payload);
	assert_string_equal(str(R.json, "secret_group_id"), "default");
	assert_true(looks_uuid(str(R.json, "id")));
	snprintf(id, 64, "%s", str(R.json, "id"));
}

static void
test_v2_rotation(void **state)
{
	char id[64], v1id[64], v2id[64];

	(void)state;
	create_arbitrary("rotate-me", "first", id);
	GET("/api/v2/secrets/%s/versions/current", id);
	snprintf(v1id, sizeof(v1id), "%s", str(R.json, "id"));

	call("POST", "{\"payload\":\"second\"}", "/api/v2/secrets/%s/versions", id);
	expect_json(&R, 201);
	assert_string_equal(str(R.json, "secret_type"), "arbitrary");
	assert_string_equal(str(R.json, "alias"), "current");
	assert_string_equal(str(R.json, "payload"), "second");
	snprintf(v2id, sizeof(v2id), "%s", str(R.json, "id"));
	assert_string_not_equal(v1id, v2id);

	GET("/api/v2/secrets/%s/versions/current", id);
	assert_string_equal(str(R.json, "id"), v2id);
	assert_string_equal(str(R.json, "payload"), "second");
	GET("/api/v2/secrets/%s/versions/previous", id);
	expect_json(&R, 200);
	assert_string_equal(str(R.json, "id"), v1id);
	assert_string_equal(str(R.json, "alias"), "previous");
	assert_string_equal(str(R.json, "payload"), "first");
	GET("/api/v2/secrets/%s", id);
	assert_string_equal(str(R.json, "payload"), "second");
	assert_int_equal(num(R.json, "versions_total"), 2);

	/* No payload: a generated one; the old current becomes previous. */
	call("POST", "{}", "/api/v2/secrets/%s/versions", id);
	expect_json(&R, 201);
	assert_string_not_equal(str(R.json, "payload"), "second");
	GET("/api/v2/secrets/%s/versions/previous", id);
	assert_string_equal(str(R.json, "id"), v2id);
	GET("/api/v2/secrets/%s/versions", id);
	assert_int_equal(num(R.json, "total_count"), 3);
	/* Only current and previous keep their payload. */
	assert_true(json_is_false(json_object_get(at(R.json, "versions", 2),
	    "payload_available")));
	GET("/api/v2/secrets/%s/versions/%s", id, v1id);
	expect_json(&R, 200);
	assert_null(json_object_get(R.json, "payload"));

	call("POST", "{\"payload\":7}", "/api/v2/secrets/%s/versions", id);
	expect_error(&R, 400, "bad_request");
	call("POST", "not json", "/api/v2/secrets/%s/versions", id);
	expect_error(&R, 400, "bad_request");

	/* username_password: the username stays, the password changes. */
	call("POST", "{\"name\":\"rot-user\",\"secret_type\":\"username_password\","
	    "\"username\":\"ru\",\"password\":\"p1\"}", "/api/v2/secrets");
	expect_json(&R, 201);
	snprintf(id, sizeof(id), "%s", str(R.json, "id"));
	call("POST", "{}", "/api/v2/secrets/%s/versions", id);
	expect_json(&R, 201);
	assert_string_equal(str(R.json, "username"), "ru");
	assert_string_not_equal(str(R.json, "password"), "p1");

	/* v1 rotate. */
	create_arbitrary("rotate-v1", "one", id);
	call("POST", "{\"payload\":\"two\"}",
	    "/api/v1/secrets/arbitrary/%s?action=rotate", id);
	assert_string_equal(str(json_object_get(v1_first(V1_SECRET), "secret_data"),
	    "payload"), "two");
	GET("/api/v2/secrets/%s", id);
	assert_string_equal(str(R.json, "payload"), "two");
	call("POST", "{}", "/api/v1/secrets/arbitrary/%s?action=explode", id);
	expect_error(&R, 400, "bad_request");
}

static void
test_v2_create_patch_delete(void **state)
{
	char id[64];

	(void)state;
	create_arbitrary("short-lived", "bye", id);
	/* Same name and type: 409; same name, other type: fine. */
	call("POST", "{\"name\":\"short-lived\",\"secret_type\":\"arbitrary\","
	    "\"payload\":\"again\"}", "/api/v2/secrets");
	expect_error(&R, 409, "conflict");
	call("POST", "{\"name\":\"short-lived\",\"secret_type\":\"kv\",\"data\":"
	    "{\"a\":1},\"secret_group_id\":\"" TEAM_A "\"}", "/api/v2/secrets");
	expect_json(&R, 201);
	assert_true(json_is_object(json_object_get(R.json, "data")));
	assert_string_equal(str(R.json, "secret_group_id"), TEAM_A);
	/* Invalid bodies; an unknown group. */
	call("POST", "{\"name\":\"x1\",\"secret_type\":\"arbitrary\"}", "/api/v2/secrets");
	expect_error(&R, 400, "bad_request");
	call("POST", "{\"name\":\"x2\",\"secret_type\":\"kv\",\"data\":\"s\"}",
	    "/api/v2/secrets");
	expect_error(&R, 400, "bad_request");
	call("POST", "[1,2]", "/api/v2/secrets");
	expect_error(&R, 400, "bad_request");
	call("POST", "{\"name\":\"x3\",\"secret_type\":\"arbitrary\",\"payload\":"
	    "\"p\",\"secret_group_id\":\"no-such-group\"}", "/api/v2/secrets");
	expect_error(&R, 404, "not_found");

	/* Merge-patch metadata. */
	call("PATCH", "{\"description\":\"patched\",\"labels\":[\"a\",\"b\"],"
	    "\"custom_metadata\":{\"k\":\"v\",\"n\":{\"x\":1}}}",
	    "/api/v2/secrets/%s/metadata", id);
	expect_v2_secret(id, "arbitrary");
	assert_string_equal(str(R.json, "description"), "patched");
	assert_int_equal(count(R.json, "labels"), 2);
	assert_string_equal(str(json_object_get(R.json, "custom_metadata"), "k"), "v");
	assert_null(json_object_get(R.json, "payload"));
	call("PATCH", "{\"custom_metadata\":{\"k\":null,\"n\":{\"y\":2}},"
	    "\"name\":\"renamed\"}", "/api/v2/secrets/%s/metadata", id);
	expect_json(&R, 200);
	assert_null(json_object_get(json_object_get(R.json, "custom_metadata"), "k"));
	assert_int_equal(json_object_size(json_object_get(json_object_get(R.json,
	    "custom_metadata"), "n")), 2);
	GET("/api/v2/secret_groups/default/secret_types/arbitrary/secrets/renamed");
	expect_v2_secret(id, "arbitrary");
	call("PATCH", "{\"name\":\"app-config\"}", "/api/v2/secrets/%s/metadata", id);
	expect_error(&R, 409, "conflict");
	call("PATCH", "{\"labels\":\"nope\"}", "/api/v2/secrets/%s/metadata", id);
	expect_error(&R, 400, "bad_request");

	/* Delete: 204 without a body, then 404 everywhere. */
	call("DELETE", NULL, "/api/v2/secrets/%s", id);
	assert_int_equal(R.status, 204);
	assert_int_equal(R.len, 0);
	GET("/api/v2/secrets/%s", id);
	expect_error(&R, 404, "not_found");
	GET("/api/v2/secrets/%s/versions/current", id);
	expect_error(&R, 404, "not_found");
	GET("/api/v2/secret_groups/default/secret_types/arbitrary/secrets/renamed");
	expect_error(&R, 404, "not_found");
	call("DELETE", NULL, "/api/v2/secrets/%s", id);
	expect_error(&R, 404, "not_found");

	/* v1 create (200, not 201) and delete. */
	call("POST", "{\"metadata\":{\"collection_type\":\"" V1_SECRET "\","
	    "\"collection_total\":1},\"resources\":[{\"name\":\"v1-made\","
	    "\"payload\":\"v1-payload\"}]}", "/api/v1/secrets/arbitrary");
	assert_string_equal(str(json_object_get(v1_first(V1_SECRET), "secret_data"),
	    "payload"), "v1-payload");
	snprintf(id, sizeof(id), "%s", str(v1_first(V1_SECRET), "id"));
	call("DELETE", NULL, "/api/v1/secrets/username_password/%s", id);
	expect_error(&R, 404, "not_found");
	call("DELETE", NULL, "/api/v1/secrets/arbitrary/%s", id);
	assert_int_equal(R.status, 204);
	assert_int_equal(R.len, 0);
	GET("/api/v1/secrets/arbitrary/%s", id);
	expect_error(&R, 404, "not_found");

	/* The harness's direct upstream call. */
	assert_int_equal(fake_api(g_fake, "GET", "/api/v2/secrets/" ID_APP_CONFIG,
	    NULL, NULL), 200);
}

static void
test_iam_reuse_false(void **state)
{
	const char	*paths[] = { "/api/v2/secrets/" ID_EPHEMERAL,
	    "/api/v2/secrets/" ID_EPHEMERAL, "/api/v2/secrets/" ID_EPHEMERAL
	    "/versions/current", "/api/v1/secrets/iam_credentials/" ID_EPHEMERAL };
	char		 keys[4][128];
	size_t		 i, j;

	(void)state;
	/* Every read mints a new key, whatever the path. */
	for (i = 0; i < 4; i++) {
		GET("%s", paths[i]);
		expect_json(&R, 200);
		snprintf(keys[i], sizeof(keys[i]), "%s", str(i == 3 ?
		    v1_first(V1_SECRET) : R.json, "api_key"));
		assert_true(strlen(keys[i]) > 20);
		for (j = 0; j < i; j++)
			assert_string_not_equal(keys[i], keys[j]);
	}
	assert_true(json_is_false(json_object_get(v1_first(V1_SECRET),
	    "reuse_api_key")));
	/* reuse_api_key true: the same key every time. */
	GET("/api/v2/secrets/" ID_CI_KEY);
	snprintf(keys[0], sizeof(keys[0]), "%s", str(R.json, "api_key"));
	GET("/api/v2/secrets/" ID_CI_KEY);
	assert_string_equal(str(R.json, "api_key"), keys[0]);
}

static void
test_log_and_counts(void **state)
{
	json_t		*log;
	const json_t	*e;
	char		*tok;

	(void)state;
	assert_int_equal(fake_ctl(g_fake, "POST", "/__fake/reset"), 200);
	assert_int_equal(fake_count(g_fake, NULL, NULL), 0);
	GET("/api/v2/secrets/" ID_APP_CONFIG);
	GET("/api/v2/secrets/" ID_APP_CONFIG "/metadata");
	GET("/api/v2/secrets?limit=2&offset=0");
	GET("/api/v1/secrets/arbitrary/" ID_APP_CONFIG);
	assert_non_null(tok = fake_token(g_fake, NULL));
	free(tok);
	assert_int_equal(fake_ctl(g_fake, "GET", "/__fake/stats"), 200);

	assert_int_equal(fake_count(g_fake, NULL, NULL), 4);
	assert_int_equal(fake_count(g_fake, "GET", "/api/v2/secrets/" ID_APP_CONFIG), 2);
	assert_int_equal(fake_count(g_fake, "GET", "/api/v1/"), 1);
	assert_int_equal(fake_count(g_fake, "POST", "/api/"), 0);
	assert_int_equal(fake_iam_calls(g_fake), 1);
	assert_int_equal(fake_count_429(g_fake), 0);
	assert_int_equal(fake_max_in_window(g_fake), 4);

	assert_non_null(log = fake_log(g_fake));
	assert_int_equal(num(log, "sm_calls"), 4);
	assert_int_equal(count(log, "requests"), 5);
	e = at(log, "requests", 2);
	assert_string_equal(str(e, "method"), "GET");
	assert_string_equal(str(e, "path"), "/api/v2/secrets");
	assert_string_equal(str(e, "query"), "limit=2&offset=0");
	assert_int_equal(num(e, "status"), 200);
	assert_true(num(e, "t_ms") >= num(at(log, "requests", 0), "t_ms"));
	assert_string_equal(str(at(log, "requests", 4), "path"), "/identity/token");
	assert_string_equal(str(at(log, "requests", 4), "kind"), "iam");
	json_decref(log);

	assert_int_equal(fake_ctl(g_fake, "POST", "/__fake/nope"), 404);
	assert_int_equal(fake_ctl(g_fake, "GET", "/__fake/reset"), 405);
	assert_int_equal(fake_ctl(g_fake, "POST", "/__fake/latency?ms=abc"), 400);
	assert_int_equal(fake_ctl(g_fake, "POST", "/__fake/error?status=42"), 400);
}

static void
test_latency_injection(void **state)
{
	double t0;

	(void)state;
	assert_int_equal(fake_ctl(g_fake, "POST", "/__fake/latency?ms=300"), 200);
	t0 = now_ms();
	GET("/api/v2/secrets/" ID_APP_CONFIG);
	expect_json(&R, 200);
	assert_true(now_ms() - t0 >= 295);
	/* Control calls are not delayed; 0 turns it off. */
	t0 = now_ms();
	assert_int_equal(fake_ctl(g_fake, "POST", "/__fake/latency?ms=0"), 200);
	assert_true(now_ms() - t0 < 250);
	t0 = now_ms();
	GET("/api/v2/secrets/" ID_APP_CONFIG);
	expect_json(&R, 200);
	assert_true(now_ms() - t0 < 250);
}

static void
test_error_injection(void **state)
{
	char	*tok;
	int	 i;

	(void)state;
	assert_int_equal(fake_ctl(g_fake, "POST", "/__fake/error?status=503&count=2"), 200);
	GET("/api/v2/secrets/" ID_APP_CONFIG);
	expect_error(&R, 503, "service_unavailable");
	GET("/api/v1/secrets/arbitrary/" ID_APP_CONFIG);
	expect_error(&R, 503, "service_unavailable");
	GET("/api/v2/secrets/" ID_APP_CONFIG);
	expect_json(&R, 200);

	assert_int_equal(fake_ctl(g_fake, "POST",
	    "/__fake/error?status=429&count=1&retry_after=7"), 200);
	GET("/api/v2/secrets/" ID_APP_CONFIG);
	expect_error(&R, 429, "too_many_requests");
	assert_string_equal(R.retry_after, "7");
	GET("/api/v2/secrets/" ID_APP_CONFIG);
	expect_json(&R, 200);
	assert_string_equal(R.retry_after, "");

	/* count=-1 holds until cleared; IAM is not affected. */
	assert_int_equal(fake_ctl(g_fake, "POST", "/__fake/error?status=500&count=-1"), 200);
	for (i = 0; i < 3; i++) {
		GET("/api/v2/secret_groups");
		expect_error(&R, 500, "internal_error");
	}
	assert_non_null(tok = fake_token(g_fake, NULL));
	free(tok);
	assert_int_equal(fake_ctl(g_fake, "POST", "/__fake/error?status=0"), 200);
	GET("/api/v2/secret_groups");
	expect_json(&R, 200);
}

static void
test_down_up(void **state)
{
	struct http h;

	(void)state;
	assert_int_equal(fake_ctl(g_fake, "POST", "/__fake/down"), 200);
	GET("/api/v2/secrets/" ID_APP_CONFIG);
	assert_int_not_equal(R.cc, CURLE_OK);
	token_request(GRANT "&apikey=demo-upstream-key", NULL, &h);
	assert_int_not_equal(h.cc, CURLE_OK);
	http_free(&h);
	/* The control API still answers. */
	assert_int_equal(fake_ctl(g_fake, "GET", "/__fake/stats"), 200);
	assert_int_equal(fake_ctl(g_fake, "POST", "/__fake/up"), 200);
	GET("/api/v2/secrets/" ID_APP_CONFIG);
	expect_json(&R, 200);
}

static void
test_keep_alive(void **state)
{
	struct http	 h;
	CURL		*c = curl_easy_init();
	char		 url[256], meta[300];
	struct {
		const char *method, *url, *token, *body;
		long status;
	} steps[] = {
		{ "GET", url, g_token, NULL, 200 },
		{ "GET", meta, g_token, NULL, 200 },
		{ "PATCH", meta, g_token, "{\"description\":\"ka\"}", 200 },
		{ "GET", url, "bogus", NULL, 401 },	/* errors keep it too */
		{ "GET", url, g_token, NULL, 200 },
	};
	size_t		 i;

	(void)state;
	snprintf(url, sizeof(url), "%s/api/v2/secrets/" ID_APP_CONFIG, fake_url(g_fake));
	snprintf(meta, sizeof(meta), "%s/metadata", url);
	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		http_do(c, steps[i].method, steps[i].url, steps[i].token,
		    steps[i].body, NULL, &h);
		assert_int_equal(h.status, steps[i].status);
		assert_int_equal(h.connects, i == 0 ? 1 : 0);
		http_free(&h);
	}
	curl_easy_cleanup(c);
}

/* Fire n GETs at once (curl multi, one connection each); count statuses
 * and check every 429 is SM-shaped with an integer Retry-After >= 1. */
static void
burst(struct fake *f, const char *token, int n, int *ok, int *limited)
{
	CURLM			*m = curl_multi_init();
	CURL			*easy[64];
	struct http		 res[64];
	struct curl_slist	*hdrs = NULL;
	char			 url[256], auth[2048], *ct;
	int			 running = 0, i;

	assert_true(n <= 64);
	snprintf(url, sizeof(url), "%s/api/v2/secret_groups/default", fake_url(f));
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	hdrs = curl_slist_append(hdrs, auth);
	for (i = 0; i < n; i++) {
		memset(&res[i], 0, sizeof(res[i]));
		easy[i] = curl_easy_init();
		curl_easy_setopt(easy[i], CURLOPT_URL, url);
		curl_easy_setopt(easy[i], CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(easy[i], CURLOPT_WRITEFUNCTION, on_body);
		curl_easy_setopt(easy[i], CURLOPT_WRITEDATA, &res[i]);
		curl_easy_setopt(easy[i], CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(easy[i], CURLOPT_HEADERDATA, &res[i]);
		curl_easy_setopt(easy[i], CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(easy[i], CURLOPT_TIMEOUT_MS, 10000L);
		curl_multi_add_handle(m, easy[i]);
	}
	do {
		curl_multi_perform(m, &running);
		if (running)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	} while (running);
	*ok = *limited = 0;
	for (i = 0; i < n; i++) {
		ct = NULL;
		curl_easy_getinfo(easy[i], CURLINFO_RESPONSE_CODE, &res[i].status);
		curl_easy_getinfo(easy[i], CURLINFO_CONTENT_TYPE, &ct);
		snprintf(res[i].content_type, sizeof(res[i].content_type), "%s",
		    ct ? ct : "");
		res[i].json = res[i].body ? json_loads(res[i].body, 0, NULL) : NULL;
		*ok += res[i].status == 200;
		if (res[i].status == 429) {
			(*limited)++;
			expect_error(&res[i], 429, "too_many_requests");
			assert_true(atoi(res[i].retry_after) >= 1);
			assert_int_equal(strspn(res[i].retry_after, "0123456789"),
			    strlen(res[i].retry_after));
		}
		curl_multi_remove_handle(m, easy[i]);
		curl_easy_cleanup(easy[i]);
		http_free(&res[i]);
	}
	curl_slist_free_all(hdrs);
	curl_multi_cleanup(m);
}

static void
test_rate_limit(void **state)
{
	struct fake	*f;
	struct http	 h;
	CURL		*c;
	char		*tok, url[256];
	int		 ok, limited, i, n200 = 0, n429 = 0;

	(void)state;
	/* The default limit, 20 per 1000 ms: a concurrent burst of 30. */
	assert_non_null(f = fake_start(fake_fixtures_default(), NULL));
	assert_non_null(tok = fake_token(f, NULL));
	burst(f, tok, 30, &ok, &limited);
	assert_int_equal(ok, 20);
	assert_int_equal(limited, 10);
	assert_int_equal(fake_count_429(f), 10);
	assert_int_equal(fake_max_in_window(f), 30);
	assert_int_equal(fake_count(f, "GET", "/api/v2/secret_groups/default"), 30);
	assert_int_equal(fake_iam_calls(f), 1);

	/* Sequential on one connection after a reset (which clears the
	 * limiter too): 20 admitted, then 429 with Retry-After 1. */
	assert_int_equal(fake_ctl(f, "POST", "/__fake/reset"), 200);
	c = curl_easy_init();
	snprintf(url, sizeof(url), "%s/api/v2/secret_groups", fake_url(f));
	for (i = 0; i < 30; i++) {
		http_do(c, "GET", url, tok, NULL, NULL, &h);
		if (h.status == 200) {
			n200++;
		} else {
			expect_error(&h, 429, "too_many_requests");
			assert_string_equal(h.retry_after, "1");
			n429++;
		}
		http_free(&h);
	}
	assert_int_equal(n200, 20);
	assert_int_equal(n429, 10);
	/* IAM is not limited; once the window has passed, calls get in. */
	free(tok);
	assert_non_null(tok = fake_token(f, NULL));
	usleep(1050 * 1000);
	http_do(c, "GET", url, tok, NULL, NULL, &h);
	expect_json(&h, 200);
	http_free(&h);
	curl_easy_cleanup(c);
	assert_int_equal(fake_max_in_window(f), 30);
	assert_int_equal(fake_count_429(f), 10);
	free(tok);
	fake_stop(f);

	/* --rate-limit / --window-ms, and the runtime knob. */
	assert_non_null(f = fake_start(NULL, "--rate-limit 5 --window-ms 400"));
	assert_non_null(tok = fake_token(f, NULL));
	burst(f, tok, 8, &ok, &limited);
	assert_int_equal(ok, 5);
	assert_int_equal(limited, 3);
	usleep(450 * 1000);
	burst(f, tok, 8, &ok, &limited);
	assert_int_equal(ok, 5);
	assert_int_equal(fake_max_in_window(f), 8);
	assert_int_equal(fake_ctl(f, "POST", "/__fake/rate_limit?limit=0"), 200);
	burst(f, tok, 20, &ok, &limited);
	assert_int_equal(ok, 20);
	free(tok);
	fake_stop(f);
}

static void
test_generate(void **state)
{
	struct fake	*f;
	struct http	 h;
	char		*tok, url[256];
	double		 t0 = now_ms();

	(void)state;
	/* No fixtures: the demo key still works; 100k generated secrets. */
	assert_non_null(f = fake_start(NULL, "--generate 100000"));
	print_message("fake_sm with 100000 secrets started in %.0f ms\n", now_ms() - t0);
	assert_non_null(tok = fake_token(f, "demo-upstream-key"));
	snprintf(url, sizeof(url), "%s/api/v2/secrets/"
	    "00000000-0000-4000-8000-000000099999", fake_url(f));
	http_do(NULL, "GET", url, tok, NULL, NULL, &h);
	expect_json(&h, 200);
	assert_string_equal(str(h.json, "name"), "gen-secret-99999");
	assert_string_equal(str(h.json, "payload"), "generated-payload-99999");
	assert_string_equal(str(h.json, "secret_group_id"), "default");
	assert_string_equal(str(h.json, "secret_type"), "arbitrary");
	http_free(&h);
	snprintf(url, sizeof(url), "%s/api/v2/secret_groups/default/secret_types/"
	    "arbitrary/secrets/gen-secret-12345", fake_url(f));
	http_do(NULL, "GET", url, tok, NULL, NULL, &h);
	expect_json(&h, 200);
	assert_string_equal(str(h.json, "id"), "00000000-0000-4000-8000-000000012345");
	http_free(&h);
	snprintf(url, sizeof(url), "%s/api/v2/secrets?limit=1000&offset=99500",
	    fake_url(f));
	http_do(NULL, "GET", url, tok, NULL, NULL, &h);
	expect_json(&h, 200);
	assert_int_equal(num(h.json, "total_count"), 100000);
	assert_int_equal(count(h.json, "secrets"), 500);
	assert_null(json_object_get(h.json, "next"));
	http_free(&h);
	free(tok);
	fake_stop(f);
}

/* The process contract: the stderr line, the port file, SIGTERM -> 0,
 * bad usage -> 2. */
static void
test_process_contract(void **state)
{
	const char	*bin = getenv("FAKE_SM_BIN");
	char		 port_file[256], line[256], expect[128];
	int		 pipefd[2], status, port = 0;
	FILE		*err, *pf;
	pid_t		 pid;

	(void)state;
	assert_non_null(bin);
	snprintf(port_file, sizeof(port_file), "/tmp/test_fake_port_%ld",
	    (long)getpid());
	unlink(port_file);
	assert_int_equal(pipe(pipefd), 0);
	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 2);
		close(pipefd[0]);
		close(pipefd[1]);
		execl(bin, bin, "--listen", "127.0.0.1:0", "--port-file", port_file,
		    (char *)NULL);
		_exit(127);
	}
	close(pipefd[1]);
	assert_non_null(err = fdopen(pipefd[0], "r"));
	assert_non_null(fgets(line, sizeof(line), err));
	assert_non_null(pf = fopen(port_file, "r"));
	assert_int_equal(fscanf(pf, "%d", &port), 1);
	fclose(pf);
	snprintf(expect, sizeof(expect), "fake_sm listening on 127.0.0.1:%d\n", port);
	assert_string_equal(line, expect);
	kill(pid, SIGTERM);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	fclose(err);
	unlink(port_file);

	assert_true((pid = fork()) >= 0);
	if (pid == 0) {
		dup2(open("/dev/null", O_WRONLY), 2);
		execl(bin, bin, "--rate-limit", "lots", (char *)NULL);
		_exit(127);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 2);
}

static void
test_harness_kill9(void **state)
{
	struct fake *f;

	(void)state;
	assert_non_null(f = fake_start(NULL, NULL));
	assert_true(fake_port(f) > 0);
	assert_int_equal(fake_ctl(f, "GET", "/__fake/stats"), 200);
	fake_kill9(f);
	assert_int_equal(fake_ctl(f, "GET", "/__fake/stats"), -1);
	assert_int_equal(fake_count(f, NULL, NULL), -1);
	fake_stop(f);
	fake_stop(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_exchange),
		cmocka_unit_test(test_jwks),
		cmocka_unit_test(test_unauthorized),
		cmocka_unit_test(test_v2_secret_by_id),
		cmocka_unit_test(test_v2_versions),
		cmocka_unit_test(test_v2_by_name_and_groups),
		cmocka_unit_test(test_v2_list),
		cmocka_unit_test(test_v1_reads),
		cmocka_unit_test(test_v2_rotation),
		cmocka_unit_test(test_v2_create_patch_delete),
		cmocka_unit_test(test_iam_reuse_false),
		cmocka_unit_test(test_log_and_counts),
		cmocka_unit_test(test_latency_injection),
		cmocka_unit_test(test_error_injection),
		cmocka_unit_test(test_down_up),
		cmocka_unit_test(test_keep_alive),
		cmocka_unit_test(test_token_expiry),
		cmocka_unit_test(test_rate_limit),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_process_contract),
		cmocka_unit_test(test_harness_kill9),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
