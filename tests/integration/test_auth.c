/*
 * Clients and authorization, end to end: the IAM-compatible token
 * endpoint, bearer tokens (good, tampered, forged, expired), a matrix of
 * clients x secrets x routes checked cold and warm, narrowed lists,
 * writes, brute-force limiting, iam mode against the fake's RS256 tokens,
 * and no key or token in any log line.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "tests/integration/harness_util.h"

#define TEAM_A	"6a1f0c55-2d3b-4e8a-9c7d-1b2e3f4a5b6c"
#define ONE_ID	"7c2d8fe1-a09e-4dff-817c-9daebfc0d1e7"	/* team-a-db */

struct client {
	const char	*name;
	char		 key[65];
	char		 token[2048];
	bool		 all;
	const char	*group;		/* the one allowed group, or NULL */
	const char	*id;		/* the one allowed secret, or NULL */
	bool		 write;
};

static struct client clients[] = {
	{ .name = "kes", .group = "default" },
	{ .name = "team", .group = TEAM_A, .write = true },
	{ .name = "one", .id = ONE_ID },
	{ .name = "admin", .all = true, .write = true },
};
#define NCLIENTS	(sizeof(clients) / sizeof(clients[0]))

static struct fake *fake;
static struct proxy *proxy;
static uint8_t signing_key[32];
static char dir[512];

static int
get_token(const char *key, const char *extra_header, struct http_resp *r)
{
	return hu_token_request(proxy->url, key, extra_header, r);
}

static int
setup(void **state)
{
	char path[700], cfgtext[4096], b64[64];
	size_t i, used = 0;
	char *d;

	if (sodium_init() < 0 || hu_fixtures_setup(state) != 0)
		return -1;
	fake = fake_start(fake_fixtures_default(), NULL);
	if (fake == NULL)
		return -1;
	d = harness_mkdtemp("auth");
	snprintf(dir, sizeof(dir), "%s", d);
	free(d);
	used += (size_t)snprintf(cfgtext, sizeof(cfgtext), "{\"clients\": [");
	for (i = 0; i < NCLIENTS; i++) {
		uint8_t raw[16];
		struct client *c = &clients[i];

		randombytes_buf(raw, sizeof(raw));
		sodium_bin2hex(c->key, sizeof(c->key), raw, sizeof(raw));
		used += (size_t)snprintf(cfgtext + used, sizeof(cfgtext) - used,
		    "%s{\"name\":\"%s\",\"api_key_sha256\":\"%s\",\"secret_groups\":[%s%s%s],"
		    "\"secret_ids\":[%s%s%s],\"write\":%s}", i ? "," : "", c->name,
		    hu_sha256_hex(c->key), c->all ? "\"*\"" : c->group ? "\"" : "",
		    c->all ? "" : c->group ? c->group : "", c->group && !c->all ? "\"" : "",
		    c->id ? "\"" : "", c->id ? c->id : "", c->id ? "\"" : "",
		    c->write ? "true" : "false");
	}
	snprintf(cfgtext + used, sizeof(cfgtext) - used, "]}");
	snprintf(path, sizeof(path), "%s/config.json", dir);
	hu_write_file(path, cfgtext);
	randombytes_buf(signing_key, sizeof(signing_key));
	sodium_bin2base64(b64, sizeof(b64), signing_key, sizeof(signing_key),
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(path, sizeof(path), "%s/token.key", dir);
	hu_write_file(path, b64);
	{
		static char cfgarg[700], keyarg[700];
		static const char *args[8];
		snprintf(cfgarg, sizeof(cfgarg), "%s/config.json", dir);
		snprintf(keyarg, sizeof(keyarg), "%s/token.key", dir);
		args[0] = "--auth"; args[1] = "local";
		args[2] = "--config"; args[3] = cfgarg;
		args[4] = "--token-key-file"; args[5] = keyarg;
		args[6] = NULL;
		proxy = hu_proxy_start(fake, dir, args);
	}
	if (proxy == NULL)
		return -1;
	for (i = 0; i < NCLIENTS; i++) {
		struct http_resp r;
		json_t *j;

		if (get_token(clients[i].key, NULL, &r) != 0 || r.status != 200)
			return -1;
		j = http_json(&r);
		snprintf(clients[i].token, sizeof(clients[i].token), "%s",
		    json_string_value(json_object_get(j, "access_token")));
		json_decref(j);
		http_resp_free(&r);
	}
	return 0;
}

static int
teardown(void **state)
{
	hu_stop(proxy, fake);
	return hu_fixtures_teardown(state);
}

static long
call(const struct client *c, const char *method, const char *path,
    const char *body, struct http_resp *r)
{
	char url[700], auth[2100];
	const char *hdr[] = { auth, "Content-Type: application/json", NULL };

	snprintf(url, sizeof(url), "%s%s", proxy->url, path);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", c != NULL ? c->token : "");
	assert_int_equal(http_do(method, url, body, c != NULL ? hdr : NULL, r), 0);
	return r->status;
}

static long
status_of(const struct client *c, const char *method, const char *path, const char *body)
{
	struct http_resp r;
	long st = call(c, method, path, body, &r);

	http_resp_free(&r);
	return st;
}

/* ---- token endpoint ---- */

static void
test_token_endpoint_speaks_iam(void **state)
{
	struct http_resp r;
	json_t *j, *payload;
	const char *tok, *dot1, *dot2;
	char b64[2048];
	unsigned char raw[2048];
	size_t rawlen;

	(void)state;
	/* With and without the legacy Basic header. */
	assert_int_equal(get_token(clients[0].key, "Authorization: Basic Yng6Yng=", &r), 0);
	assert_int_equal(r.status, 200);
	assert_string_equal(r.content_type, "application/json");
	j = http_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "token_type")), "Bearer");
	assert_true(json_is_string(json_object_get(j, "refresh_token")));
	assert_true(json_integer_value(json_object_get(j, "expires_in")) > 0);
	tok = json_string_value(json_object_get(j, "access_token"));
	dot1 = strchr(tok, '.');
	assert_non_null(dot1);
	dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	assert_null(strchr(dot2 + 1, '.'));
	/* The payload is what Node's SDK decodes: numeric iat and exp. */
	snprintf(b64, sizeof(b64), "%.*s", (int)(dot2 - dot1 - 1), dot1 + 1);
	assert_int_equal(sodium_base642bin(raw, sizeof(raw), b64, strlen(b64), NULL, &rawlen,
	    NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	payload = json_loadb((const char *)raw, rawlen, 0, NULL);
	assert_non_null(payload);
	assert_true(json_is_integer(json_object_get(payload, "iat")));
	assert_true(json_is_integer(json_object_get(payload, "exp")));
	assert_string_equal(json_string_value(json_object_get(payload, "sub")), "kes");
	assert_true(json_is_string(json_object_get(payload, "jti")));
	assert_true(json_is_string(json_object_get(payload, "iss")));
	assert_int_equal(json_integer_value(json_object_get(payload, "exp")),
	    json_integer_value(json_object_get(j, "expiration")));
	json_decref(payload);
	json_decref(j);
	http_resp_free(&r);

	assert_int_equal(get_token("not-a-client-key", NULL, &r), 0);
	assert_int_equal(r.status, 400);
	j = http_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "errorCode")), "BXNIM0415E");
	assert_string_equal(json_string_value(json_object_get(j, "errorMessage")),
	    "Provided API key could not be found.");
	json_decref(j);
	http_resp_free(&r);
}

/* ---- bearer tokens ---- */

static char *
forge(const char *sub, int64_t iat, int64_t exp, const uint8_t *key)
{
	char header[128], payload[512], h64[256], p64[700], sig64[64], *out;
	uint8_t mac[32];
	crypto_auth_hmacsha256_state st;

	snprintf(header, sizeof(header), "{\"alg\":\"HS256\",\"typ\":\"JWT\"}");
	snprintf(payload, sizeof(payload),
	    "{\"sub\":\"%s\",\"iss\":\"smproxy\",\"jti\":\"00112233445566778899aabbccddeeff\","
	    "\"iat\":%lld,\"exp\":%lld}", sub, (long long)iat, (long long)exp);
	sodium_bin2base64(h64, sizeof(h64), (const uint8_t *)header, strlen(header),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_bin2base64(p64, sizeof(p64), (const uint8_t *)payload, strlen(payload),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	out = malloc(2048);
	snprintf(out, 2048, "%s.%s", h64, p64);
	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)out, strlen(out));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(sig64, sizeof(sig64), mac, sizeof(mac),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	strcat(out, ".");
	strcat(out, sig64);
	return out;
}

static void
test_bad_tokens_get_401(void **state)
{
	const char *path = "/api/v2/secrets/0b5c1e7a-3f2d-4c8e-9a1b-2c3d4e5f6a70";
	struct client fake_client = { .name = "x" };
	uint8_t other[32];
	int64_t now = time(NULL);
	char *t;
	struct http_resp r;

	(void)state;
	assert_int_equal(call(NULL, "GET", path, NULL, &r), 401);
	assert_true(is_sm_error(&r, 401));
	http_resp_free(&r);
	snprintf(fake_client.token, sizeof(fake_client.token), "garbage");
	assert_int_equal(status_of(&fake_client, "GET", path, NULL), 401);
	/* Tampered signature. */
	snprintf(fake_client.token, sizeof(fake_client.token), "%s", clients[3].token);
	fake_client.token[strlen(fake_client.token) - 2] ^= 1;
	assert_int_equal(status_of(&fake_client, "GET", path, NULL), 401);
	/* Signed with another key. */
	randombytes_buf(other, sizeof(other));
	t = forge("admin", now, now + 600, other);
	snprintf(fake_client.token, sizeof(fake_client.token), "%s", t);
	free(t);
	assert_int_equal(status_of(&fake_client, "GET", path, NULL), 401);
	/* Expired, with the right key. */
	t = forge("admin", now - 7200, now - 3600, signing_key);
	snprintf(fake_client.token, sizeof(fake_client.token), "%s", t);
	free(t);
	assert_int_equal(call(&fake_client, "GET", path, NULL, &r), 401);
	assert_non_null(strstr(r.body, "expired"));
	http_resp_free(&r);
	/* Right key, a client that does not exist. */
	t = forge("nobody", now, now + 600, signing_key);
	snprintf(fake_client.token, sizeof(fake_client.token), "%s", t);
	free(t);
	assert_int_equal(status_of(&fake_client, "GET", path, NULL), 401);
	/* Right key, a real client: the signature scheme is what we think. */
	t = forge("admin", now, now + 600, signing_key);
	snprintf(fake_client.token, sizeof(fake_client.token), "%s", t);
	free(t);
	assert_int_equal(status_of(&fake_client, "GET", path, NULL), 200);
}

/* ---- the matrix ---- */

static bool
allowed(const struct client *c, const char *id, const char *group)
{
	return c->all || (c->group != NULL && strcmp(c->group, group) == 0) ||
	    (c->id != NULL && strcmp(c->id, id) == 0);
}

static void
check_matrix(const char *phase)
{
	json_t *s;
	size_t i, k, ci;

	json_array_foreach(json_object_get(hu_fixtures(), "secrets"), i, s) {
		const char *id = json_string_value(json_object_get(s, "id"));
		const char *name = json_string_value(json_object_get(s, "name"));
		const char *type = json_string_value(json_object_get(s, "secret_type"));
		const char *group = json_string_value(json_object_get(s, "secret_group_id"));
		const char *gname = strcmp(group, "default") == 0 ? "default" : "team-a";
		char routes[7][600];

		snprintf(routes[0], 600, "/api/v2/secrets/%s", id);
		snprintf(routes[1], 600, "/api/v2/secrets/%s/metadata", id);
		snprintf(routes[2], 600, "/api/v2/secrets/%s/versions", id);
		snprintf(routes[3], 600, "/api/v2/secrets/%s/versions/current", id);
		snprintf(routes[4], 600, "/api/v2/secret_groups/%s/secret_types/%s/secrets/%s",
		    gname, type, name);
		snprintf(routes[5], 600, "/api/v1/secrets/%s/%s", type, id);
		snprintf(routes[6], 600, "/api/v1/secrets/%s/%s/metadata", type, id);
		for (ci = 0; ci < NCLIENTS; ci++)
			for (k = 0; k < 7; k++) {
				long want = allowed(&clients[ci], id, group) ? 200 : 403;
				struct http_resp r;
				long got = call(&clients[ci], "GET", routes[k], NULL, &r);

				if (got != want)
					fail_msg("%s: client %s GET %s: %ld, want %ld",
					    phase, clients[ci].name, routes[k], got, want);
				if (want == 403)
					assert_true(is_sm_error(&r, 403));
				http_resp_free(&r);
			}
	}
}

static void
test_matrix_cold_and_warm(void **state)
{
	(void)state;
	/* First pass: each secret is first read (cold) by "kes", which is
	 * denied for team-a secrets; later clients read warm entries. */
	check_matrix("first pass");
	check_matrix("second pass");
}

static void
test_lists_are_narrowed(void **state)
{
	struct http_resp r;
	json_t *j, *s;
	size_t i;

	(void)state;
	/* team sees only team-a secrets, with a consistent total. */
	assert_int_equal(call(&clients[1], "GET", "/api/v2/secrets", NULL, &r), 200);
	j = http_json(&r);
	assert_true(json_array_size(json_object_get(j, "secrets")) > 0);
	json_array_foreach(json_object_get(j, "secrets"), i, s)
		assert_string_equal(json_string_value(json_object_get(s, "secret_group_id")), TEAM_A);
	assert_int_equal(json_integer_value(json_object_get(j, "total_count")),
	    json_array_size(json_object_get(j, "secrets")));
	json_decref(j);
	http_resp_free(&r);
	/* Asking for someone else's group only: denied. */
	assert_int_equal(status_of(&clients[1], "GET", "/api/v2/secrets?groups=default", NULL), 403);
	/* KES-style search by name: a team-a name is not found by kes. */
	assert_int_equal(call(&clients[0], "GET", "/api/v1/secrets?search=team-a-db", NULL, &r), 200);
	j = http_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "resources")), 0);
	json_decref(j);
	http_resp_free(&r);
	assert_int_equal(call(&clients[3], "GET", "/api/v1/secrets?search=team-a-db", NULL, &r), 200);
	j = http_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "resources")), 1);
	json_decref(j);
	http_resp_free(&r);
	/* Group lists show only the caller's groups. */
	assert_int_equal(call(&clients[1], "GET", "/api/v2/secret_groups", NULL, &r), 200);
	j = http_json(&r);
	assert_int_equal(json_array_size(json_object_get(j, "secret_groups")), 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "secret_groups"), 0), "id")), TEAM_A);
	json_decref(j);
	http_resp_free(&r);
	assert_int_equal(status_of(&clients[0], "GET", "/api/v2/secret_groups/" TEAM_A, NULL), 403);
}

static void
test_writes_need_rights(void **state)
{
	const char *rotate = "{\"payload\":\"rotated-by-test\"}";
	char body[256];

	(void)state;
	assert_int_equal(status_of(&clients[0], "POST",
	    "/api/v2/secrets/0b5c1e7a-3f2d-4c8e-9a1b-2c3d4e5f6a70/versions", rotate), 403);
	/* team may write in team-a (its metadata was read above) ... */
	assert_int_equal(status_of(&clients[1], "POST",
	    "/api/v2/secrets/1c6d2f8b-4a3e-4d9f-8b2c-3d4e5f6a7b81/versions", rotate), 201);
	/* ... and the very next read sees the rotation. */
	{
		struct http_resp r;
		json_t *j;
		assert_int_equal(call(&clients[1], "GET",
		    "/api/v2/secrets/1c6d2f8b-4a3e-4d9f-8b2c-3d4e5f6a7b81", NULL, &r), 200);
		j = http_json(&r);
		assert_string_equal(json_string_value(json_object_get(j, "payload")), "rotated-by-test");
		json_decref(j);
		http_resp_free(&r);
	}
	/* ... but not in default. */
	assert_int_equal(status_of(&clients[1], "POST",
	    "/api/v2/secrets/0b5c1e7a-3f2d-4c8e-9a1b-2c3d4e5f6a70/versions", rotate), 403);
	snprintf(body, sizeof(body), "{\"name\":\"made-by-team\",\"secret_type\":\"arbitrary\","
	    "\"secret_group_id\":\"%s\",\"payload\":\"x\"}", TEAM_A);
	assert_int_equal(status_of(&clients[1], "POST", "/api/v2/secrets", body), 201);
	assert_int_equal(status_of(&clients[1], "POST", "/api/v2/secrets",
	    "{\"name\":\"nope\",\"secret_type\":\"arbitrary\",\"payload\":\"x\"}"), 403);
	assert_int_equal(status_of(&clients[3], "POST", "/api/v2/secrets",
	    "{\"name\":\"made-by-admin\",\"secret_type\":\"arbitrary\",\"payload\":\"x\"}"), 201);
}

static void
test_brute_force_limited(void **state)
{
	struct http_resp r;
	int i;

	(void)state;
	/* One failure happened in the first test; nine more reach the limit. */
	for (i = 0; i < 9; i++) {
		assert_int_equal(get_token("wrong-key-attempt", NULL, &r), 0);
		assert_int_equal(r.status, 400);
		http_resp_free(&r);
	}
	/* Locked out, even with a good key. */
	assert_int_equal(get_token(clients[0].key, NULL, &r), 0);
	assert_int_equal(r.status, 429);
	assert_true(atoi(r.retry_after) >= 1);
	http_resp_free(&r);
}

static void
test_audit_and_no_secrets_in_logs(void **state)
{
	char *log = proxy_log(proxy);
	size_t i;

	(void)state;
	assert_non_null(strstr(log, "log=audit client=team"));
	assert_non_null(strstr(log, "secret_id=" ONE_ID));
	assert_non_null(strstr(log, "outcome=denied"));
	for (i = 0; i < NCLIENTS; i++) {
		assert_null(strstr(log, clients[i].key));
		assert_null(strstr(log, clients[i].token));
		/* Nor the token's signature alone. */
		assert_null(strstr(log, strrchr(clients[i].token, '.') + 1));
	}
	assert_null(strstr(log, "demo-upstream-key"));
	assert_null(strstr(log, "rotated-by-test"));
	free(log);
}

/* ---- iam mode ---- */

static void
test_iam_mode(void **state)
{
	struct proxy *p;
	char path[700], url[700], auth[4096];
	const char *hdr[] = { auth, NULL };
	const char *args[] = { "--auth", "iam", "--config", path, NULL };
	struct http_resp r;
	char *tok;

	(void)state;
	snprintf(path, sizeof(path), "%s/iam.json", dir);
	hu_write_file(path, "{\"clients\":[{\"name\":\"eso\","
	    "\"iam_ids\":[\"iam-ServiceId-fake-0\"],\"secret_groups\":[\"default\"]}]}");
	p = hu_proxy_start(fake, NULL, args);
	assert_non_null(p);
	tok = fake_token(fake, "demo-upstream-key");
	assert_non_null(tok);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok);
	snprintf(url, sizeof(url), "%s/api/v2/secrets/0b5c1e7a-3f2d-4c8e-9a1b-2c3d4e5f6a70", p->url);
	assert_int_equal(http_do("GET", url, NULL, hdr, &r), 0);
	assert_int_equal(r.status, 200);
	http_resp_free(&r);
	snprintf(url, sizeof(url), "%s/api/v2/secrets/1c6d2f8b-4a3e-4d9f-8b2c-3d4e5f6a7b81", p->url);
	assert_int_equal(http_do("GET", url, NULL, hdr, &r), 0);
	assert_int_equal(r.status, 403);
	http_resp_free(&r);
	/* A proxy-signed (HS256) token is not an IAM token. */
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", clients[3].token);
	assert_int_equal(http_do("GET", url, NULL, hdr, &r), 0);
	assert_int_equal(r.status, 401);
	http_resp_free(&r);
	/* The token endpoint is IAM's business in this mode. */
	snprintf(url, sizeof(url), "%s/identity/token", p->url);
	assert_int_equal(http_do("POST", url, "grant_type=x", NULL, &r), 0);
	assert_int_equal(r.status, 404);
	http_resp_free(&r);
	free(tok);
	hu_stop(p, NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_token_endpoint_speaks_iam),
		cmocka_unit_test(test_bad_tokens_get_401),
		cmocka_unit_test(test_matrix_cold_and_warm),
		cmocka_unit_test(test_lists_are_narrowed),
		cmocka_unit_test(test_writes_need_rights),
		cmocka_unit_test(test_iam_mode),
		cmocka_unit_test(test_brute_force_limited),
		cmocka_unit_test(test_audit_and_no_secrets_in_logs),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
