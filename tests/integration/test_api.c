/*
 * API compatibility, read side: every v2 and v1 read path answers exactly
 * what the upstream answers (status, bytes, a JSON Content-Type the Go SDK
 * accepts, secret_type on every secret, version and list item) and is then
 * served from the cache; Go-style and Node-style percent-encodings of one
 * name, and any query parameter order, share one cache entry; pagination
 * keeps SM's shape; Accept-Encoding: gzip is never mislabeled; a client's
 * Authorization header never goes upstream.
 *
 * Writes, invalidation and non-idempotent reads are in test_api_writes.c;
 * body limits, unknown paths and errors in test_api_errors.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/integration/harness_util.h"

#define ARB_ID		"0b5c1e7a-3f2d-4c8e-9a1b-2c3d4e5f6a70"	/* app-config */
#define TEAM_ARB_ID	"1c6d2f8b-4a3e-4d9f-8b2c-3d4e5f6a7b81"	/* team-a-token */
#define UP_ID		"2d7e3a9c-5b4f-4eaa-9c3d-4e5f6a7b8c92"	/* db-creds */
#define KV_ID		"3e8f4bad-6c5a-4fbb-8d4e-5f6a7b8c9da3"	/* feature-flags */
#define IAM_ID		"4f9a5cbe-7d6b-4acc-9e5f-6a7b8c9daeb4"	/* ci-apikey */
#define CERT_ID		"6b1c7ed0-9f8d-4cee-b07b-8c9daebfc0d6"	/* example-cert */
#define TEAM_A		"6a1f0c55-2d3b-4e8a-9c7d-1b2e3f4a5b6c"

static struct fake *fake;
static struct proxy *proxy;
static char *direct_token;
static char up_version_id[64];	/* db-creds' first version */

/* ---- helpers ---- */

/* The Go core's rule for a body it will decode (core/utils.go). */
static bool
json_content_type(const char *ct)
{
	static regex_t re;
	static bool ready;

	if (!ready) {
		assert_int_equal(regcomp(&re, "^application/((json)|(merge-patch\\+json)|"
		    "(vnd\\..*\\+json))([[:space:]]*;.*)?$", REG_EXTENDED | REG_ICASE |
		    REG_NOSUB), 0);
		ready = true;
	}
	return regexec(&re, ct, 0, NULL, 0) == 0;
}

enum shape { SH_SECRET, SH_VERSION, SH_LIST, SH_VERSIONS, SH_V1, SH_GROUPS };

static void
need_type(const char *what, json_t *o)
{
	const char *t = json_string_value(json_object_get(o, "secret_type"));

	if (t == NULL || t[0] == '\0')
		fail_msg("%s: an object without secret_type: %s", what,
		    json_dumps(o, JSON_COMPACT));
}

/* The Go SDK's discriminator rule, for the shape the path returns. */
static void
check_discriminators(const char *what, const struct http_resp *r, enum shape s)
{
	json_t *j = http_json(r), *a, *e;
	size_t i;

	if (j == NULL)
		fail_msg("%s: the body is not JSON", what);
	switch (s) {
	case SH_SECRET:
	case SH_VERSION:
		need_type(what, j);
		break;
	case SH_LIST:
	case SH_VERSIONS:
	case SH_V1:
		a = json_object_get(j, s == SH_LIST ? "secrets" :
		    s == SH_VERSIONS ? "versions" : "resources");
		if (!json_is_array(a))
			fail_msg("%s: no item array", what);
		json_array_foreach(a, i, e)
			need_type(what, e);
		break;
	case SH_GROUPS:
		break;
	}
	json_decref(j);
}

/*
 * Read path through the proxy twice and once straight from the fake: the
 * first proxy read is a miss that reached upstream once, the second a hit
 * that did not, and both carry the upstream's status and bytes.
 */
static void
read_matches_upstream(const char *path, enum shape s, long want_status)
{
	struct http_resp d, p1, p2;
	char pathonly[2048];
	int before;

	hu_path_of(path, pathonly, sizeof(pathonly));
	hu_direct(fake, direct_token, "GET", path, NULL, &d);
	if (d.status != want_status)
		fail_msg("fake answered %s with %ld: %s", path, d.status, d.body);
	before = hu_calls(fake, "GET", pathonly);
	hu_get(proxy->url, path, &p1);
	hu_assert_same_bytes(path, &p1, &d);
	if (!json_content_type(p1.content_type))
		fail_msg("%s: Content-Type \"%s\" is not JSON to the Go SDK", path,
		    p1.content_type);
	if (strcmp(p1.cache, "miss") != 0)
		fail_msg("%s: first read X-Smproxy-Cache \"%s\"", path, p1.cache);
	if (hu_calls(fake, "GET", pathonly) != before + 1)
		fail_msg("%s: upstream saw %d calls for the first read", path,
		    hu_calls(fake, "GET", pathonly) - before);
	if (want_status == 200)
		check_discriminators(path, &p1, s);
	hu_get(proxy->url, path, &p2);
	hu_assert_same_bytes(path, &p2, &d);
	if (strcmp(p2.cache, "hit") != 0)
		fail_msg("%s: second read X-Smproxy-Cache \"%s\"", path, p2.cache);
	if (!json_content_type(p2.content_type))
		fail_msg("%s: cached Content-Type \"%s\"", path, p2.content_type);
	if (hu_calls(fake, "GET", pathonly) != before + 1)
		fail_msg("%s: the second read reached upstream", path);
	http_resp_free(&d);
	http_resp_free(&p1);
	http_resp_free(&p2);
}

/* ---- setup ---- */

static int
setup(void **state)
{
	json_t *j = NULL, *v;

	(void)state;
	/* No upstream limit: direct reads must never meet a 429. */
	fake = fake_start(fake_fixtures_default(), "--rate-limit 0");
	if (fake == NULL)
		return -1;
	direct_token = fake_token(fake, NULL);
	if (direct_token == NULL)
		return -1;
	/* db-creds gets a second version "from the console", so that
	 * versions/previous exists. */
	if (fake_api(fake, "GET", "/api/v2/secrets/" UP_ID "/versions", NULL, &j) != 200)
		return -1;
	v = json_array_get(json_object_get(j, "versions"), 0);
	snprintf(up_version_id, sizeof(up_version_id), "%s",
	    json_string_value(json_object_get(v, "id")));
	json_decref(j);
	if (fake_api(fake, "POST", "/api/v2/secrets/" UP_ID "/versions",
	    "{\"password\":\"second-password-0001\"}", NULL) != 201)
		return -1;
	proxy = hu_proxy_start(fake, NULL, NULL);
	return proxy == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	hu_stop(proxy, fake);
	free(direct_token);
	return 0;
}

/* ---- every read path ---- */

static void
test_v2_reads(void **state)
{
	char p[512];

	(void)state;
	read_matches_upstream("/api/v2/secrets/" ARB_ID, SH_SECRET, 200);
	read_matches_upstream("/api/v2/secrets/" ARB_ID "/metadata", SH_SECRET, 200);
	read_matches_upstream("/api/v2/secrets/" KV_ID, SH_SECRET, 200);
	read_matches_upstream("/api/v2/secrets/" IAM_ID, SH_SECRET, 200);
	read_matches_upstream("/api/v2/secrets/" CERT_ID, SH_SECRET, 200);
	read_matches_upstream("/api/v2/secrets/" CERT_ID "/metadata", SH_SECRET, 200);
	read_matches_upstream("/api/v2/secrets/" UP_ID, SH_SECRET, 200);
	read_matches_upstream("/api/v2/secrets/" UP_ID "/versions", SH_VERSIONS, 200);
	read_matches_upstream("/api/v2/secrets/" UP_ID "/versions/current", SH_VERSION, 200);
	read_matches_upstream("/api/v2/secrets/" UP_ID "/versions/current/metadata",
	    SH_VERSION, 200);
	read_matches_upstream("/api/v2/secrets/" UP_ID "/versions/previous", SH_VERSION, 200);
	read_matches_upstream("/api/v2/secrets/" UP_ID "/versions/previous/metadata",
	    SH_VERSION, 200);
	snprintf(p, sizeof(p), "/api/v2/secrets/" UP_ID "/versions/%s", up_version_id);
	read_matches_upstream(p, SH_VERSION, 200);
	snprintf(p, sizeof(p), "/api/v2/secrets/" UP_ID "/versions/%s/metadata", up_version_id);
	read_matches_upstream(p, SH_VERSION, 200);
	/* A secret with one version has no previous one: the upstream 404
	 * is passed on and cached like any answer. */
	read_matches_upstream("/api/v2/secrets/" KV_ID "/versions/previous", SH_VERSION, 404);
	read_matches_upstream("/api/v2/secret_groups/default/secret_types/arbitrary/"
	    "secrets/app-config", SH_SECRET, 200);
	read_matches_upstream("/api/v2/secret_groups/team-a/secret_types/kv/secrets/feature-flags",
	    SH_SECRET, 200);
	read_matches_upstream("/api/v2/secret_groups/default/secret_types/username_password/"
	    "secrets/db-creds", SH_SECRET, 200);
	read_matches_upstream("/api/v2/secret_groups", SH_GROUPS, 200);
	read_matches_upstream("/api/v2/secret_groups/default", SH_GROUPS, 200);
	read_matches_upstream("/api/v2/secret_groups/" TEAM_A, SH_GROUPS, 200);
}

static void
test_v2_lists(void **state)
{
	(void)state;
	/* Queries are written in the proxy's canonical order (sorted names,
	 * encoded values), which is what it sends upstream; the list links
	 * echo the query, so only then are the bytes comparable. */
	read_matches_upstream("/api/v2/secrets", SH_LIST, 200);
	read_matches_upstream("/api/v2/secrets?limit=3&offset=1", SH_LIST, 200);
	read_matches_upstream("/api/v2/secrets?limit=4&offset=0&sort=-name", SH_LIST, 200);
	read_matches_upstream("/api/v2/secrets?search=team&sort=created_at", SH_LIST, 200);
	read_matches_upstream("/api/v2/secrets?groups=default," TEAM_A
	    "&limit=5&secret_types=arbitrary,kv,username_password", SH_LIST, 200);
	read_matches_upstream("/api/v2/secrets?match_all_labels=db,env%3Adev", SH_LIST, 200);
	read_matches_upstream("/api/v2/secrets?groups=" TEAM_A "&match_all_labels=team-a"
	    "&secret_types=iam_credentials,arbitrary&sort=name", SH_LIST, 200);
}

static void
test_v1_reads(void **state)
{
	(void)state;
	read_matches_upstream("/api/v1/secrets/arbitrary/" ARB_ID, SH_V1, 200);
	read_matches_upstream("/api/v1/secrets/arbitrary/" ARB_ID "/metadata", SH_V1, 200);
	read_matches_upstream("/api/v1/secrets/username_password/" UP_ID, SH_V1, 200);
	read_matches_upstream("/api/v1/secrets/kv/" KV_ID, SH_V1, 200);
	read_matches_upstream("/api/v1/secrets/iam_credentials/" IAM_ID, SH_V1, 200);
	read_matches_upstream("/api/v1/secrets/iam_credentials/" IAM_ID "/metadata", SH_V1, 200);
	read_matches_upstream("/api/v1/secrets/imported_cert/" CERT_ID, SH_V1, 200);
	/* v1 addresses a secret by type and id: the wrong type is a 404. */
	read_matches_upstream("/api/v1/secrets/kv/" ARB_ID, SH_V1, 404);
	read_matches_upstream("/api/v1/secrets?search=db-creds", SH_V1, 200);
	read_matches_upstream("/api/v1/secrets?limit=2&offset=1", SH_V1, 200);
	read_matches_upstream("/api/v1/secrets?groups=default&limit=3&offset=0&search=e",
	    SH_V1, 200);
	read_matches_upstream("/api/v1/secrets/username_password", SH_V1, 200);
	read_matches_upstream("/api/v1/secrets/arbitrary?limit=1&offset=1", SH_V1, 200);
	read_matches_upstream("/api/v1/secret_groups", SH_GROUPS, 200);
	read_matches_upstream("/api/v1/secret_groups/" TEAM_A, SH_GROUPS, 200);
	read_matches_upstream("/api/v1/secret_groups/default", SH_GROUPS, 200);
}

/* ---- percent-encoding and query order ---- */

static void
two_forms_one_entry(const char *first, const char *second, const char *upstream_path,
    long want_status)
{
	struct http_resp a, b;
	int before = hu_calls(fake, "GET", upstream_path);

	hu_get(proxy->url, first, &a);
	if (a.status != want_status)
		fail_msg("%s answered %ld: %s", first, a.status, a.body);
	if (strcmp(a.cache, "miss") != 0)
		fail_msg("%s: X-Smproxy-Cache \"%s\", want miss", first, a.cache);
	hu_get(proxy->url, second, &b);
	assert_int_equal(b.status, a.status);
	if (strcmp(b.cache, "hit") != 0)
		fail_msg("%s after %s: X-Smproxy-Cache \"%s\", want hit", second, first,
		    b.cache);
	assert_int_equal(b.len, a.len);
	assert_memory_equal(b.body, a.body, a.len);
	if (hu_calls(fake, "GET", upstream_path) != before + 1)
		fail_msg("%s / %s: upstream saw %d calls, want 1", first, second,
		    hu_calls(fake, "GET", upstream_path) - before);
	http_resp_free(&a);
	http_resp_free(&b);
}

static void
test_percent_encodings_share_an_entry(void **state)
{
	/* Name "enc test:a@b+c=d&e$f", as Go's url.PathEscape and Node's
	 * encodeURIComponent write it. */
	const char *go = "/api/v2/secret_groups/default/secret_types/arbitrary/secrets/"
	    "enc%20test:a@b+c=d&e$f";
	const char *node = "/api/v2/secret_groups/default/secret_types/arbitrary/secrets/"
	    "enc%20test%3Aa%40b%2Bc%3Dd%26e%24f";
	const char *hdr[] = { "Content-Type: application/json", NULL };
	struct http_resp r;
	json_t *j;
	char idpath[256], idpath_enc[300];

	(void)state;
	hu_call(proxy->url, "POST", "/api/v2/secrets", "{\"name\":\"enc test:a@b+c=d&e$f\","
	    "\"secret_type\":\"arbitrary\",\"payload\":\"encoded-name-payload\"}", hdr, &r);
	if (r.status != 201)
		fail_msg("create answered %ld: %s", r.status, r.body);
	j = http_json(&r);
	snprintf(idpath, sizeof(idpath), "/api/v2/secrets/%s",
	    json_string_value(json_object_get(j, "id")));
	json_decref(j);
	http_resp_free(&r);

	two_forms_one_entry(go, node, "/api/v2/secret_groups/default/secret_types/arbitrary/"
	    "secrets/enc%20test%3Aa%40b%2Bc%3Dd%26e%24f", 200);
	hu_get(proxy->url, node, &r);
	j = http_json(&r);
	assert_string_equal(json_string_value(json_object_get(j, "payload")),
	    "encoded-name-payload");
	json_decref(j);
	http_resp_free(&r);

	/* An id with a needlessly encoded character is the same id. */
	snprintf(idpath_enc, sizeof(idpath_enc), "/api/v2/secrets/%%%02X%s",
	    (unsigned char)idpath[16], idpath + 17);
	two_forms_one_entry(idpath, idpath_enc, idpath, 200);
	two_forms_one_entry("/api/v1/secrets/%6Bv/%33e8f4bad-6c5a-4fbb-8d4e-5f6a7b8c9da3/metadata",
	    "/api/v1/secrets/kv/" KV_ID "/metadata", "/api/v1/secrets/kv/" KV_ID "/metadata",
	    200);
	/* Lower- and upper-case escapes are one name. */
	two_forms_one_entry("/api/v2/secret_groups/default/secret_types/arbitrary/secrets/a%3ab",
	    "/api/v2/secret_groups/default/secret_types/arbitrary/secrets/a%3Ab",
	    "/api/v2/secret_groups/default/secret_types/arbitrary/secrets/a%3Ab", 404);
}

static void
test_query_order_does_not_matter(void **state)
{
	(void)state;
	two_forms_one_entry("/api/v2/secrets?limit=2&offset=0",
	    "/api/v2/secrets?offset=0&limit=2", "/api/v2/secrets", 200);
	two_forms_one_entry("/api/v2/secrets?sort=name&search=creds&limit=5",
	    "/api/v2/secrets?limit=5&search=creds&sort=name", "/api/v2/secrets", 200);
	two_forms_one_entry("/api/v2/secrets?search=team+a",
	    "/api/v2/secrets?search=team%20a", "/api/v2/secrets", 200);
	/* An empty parameter is no parameter. */
	two_forms_one_entry("/api/v2/secrets?limit=3&search=&offset=1",
	    "/api/v2/secrets?offset=1&limit=3", "/api/v2/secrets", 200);
	two_forms_one_entry("/api/v1/secrets?search=app&limit=3",
	    "/api/v1/secrets?limit=3&search=app", "/api/v1/secrets", 200);
}

/* ---- pagination ---- */

static long long
offset_of(const char *href)
{
	const char *q = strchr(href, '?'), *o;

	assert_non_null(q);
	for (o = q; (o = strstr(o, "offset=")) != NULL; o++)
		if (o[-1] == '?' || o[-1] == '&')
			return atoll(o + 7);
	fail_msg("no offset in %s", href);
	return -1;
}

static void
test_v2_pagination(void **state)
{
	long long offset = 0, total = -1, seen = 0;
	int pages = 0;

	(void)state;
	for (;;) {
		struct http_resp r;
		json_t *j, *next;
		char path[128];

		snprintf(path, sizeof(path), "/api/v2/secrets?limit=2&offset=%lld", offset);
		hu_get(proxy->url, path, &r);
		assert_int_equal(r.status, 200);
		check_discriminators(path, &r, SH_LIST);
		j = http_json(&r);
		assert_true(json_is_integer(json_object_get(j, "total_count")));
		assert_int_equal(json_integer_value(json_object_get(j, "limit")), 2);
		assert_int_equal(json_integer_value(json_object_get(j, "offset")), offset);
		assert_true(json_is_string(json_object_get(json_object_get(j, "first"), "href")));
		assert_true(json_is_string(json_object_get(json_object_get(j, "last"), "href")));
		if (total < 0)
			total = json_integer_value(json_object_get(j, "total_count"));
		assert_int_equal(json_integer_value(json_object_get(j, "total_count")), total);
		seen += (long long)json_array_size(json_object_get(j, "secrets"));
		next = json_object_get(j, "next");
		pages++;
		if (offset + 2 >= total) {
			if (next != NULL)
				fail_msg("the last page (offset %lld of %lld) has a next link",
				    offset, total);
			json_decref(j);
			http_resp_free(&r);
			break;
		}
		assert_non_null(next);
		assert_int_equal(offset_of(json_string_value(json_object_get(next, "href"))),
		    offset + 2);
		offset += 2;
		json_decref(j);
		http_resp_free(&r);
		assert_true(pages < 100);
	}
	assert_true(total >= 8);
	assert_int_equal(seen, total);
	assert_int_equal(pages, (total + 1) / 2);
}

static void
test_v1_resources_always_an_array(void **state)
{
	const char *paths[] = {
		"/api/v1/secrets?search=no-such-secret-anywhere",
		"/api/v1/secrets?limit=2&offset=0",
		"/api/v1/secrets?limit=2&offset=2",
		"/api/v1/secrets?limit=2&offset=500",
		"/api/v1/secrets/private_cert",
		"/api/v1/secrets/arbitrary",
		"/api/v1/secrets/arbitrary/" ARB_ID,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		struct http_resp r;
		json_t *j;

		hu_get(proxy->url, paths[i], &r);
		if (r.status != 200)
			fail_msg("%s answered %ld", paths[i], r.status);
		j = http_json(&r);
		if (!json_is_array(json_object_get(j, "resources")))
			fail_msg("%s: resources is not an array: %s", paths[i], r.body);
		assert_true(json_is_object(json_object_get(j, "metadata")));
		assert_int_equal(json_integer_value(json_object_get(json_object_get(j,
		    "metadata"), "collection_total")),
		    json_array_size(json_object_get(j, "resources")));
		json_decref(j);
		http_resp_free(&r);
	}
}

/* ---- headers ---- */

struct raw {
	char	*data;
	size_t	 len;
	char	 encoding[64];
	char	 ctype[128];
	long	 status;
};

static size_t
raw_body(char *p, size_t size, size_t n, void *arg)
{
	struct raw *r = arg;
	char *d = realloc(r->data, r->len + size * n + 1);

	if (d == NULL)
		return 0;
	memcpy(d + r->len, p, size * n);
	r->len += size * n;
	d[r->len] = '\0';
	r->data = d;
	return size * n;
}

static size_t
raw_header(char *p, size_t size, size_t n, void *arg)
{
	struct raw *r = arg;
	size_t len = size * n, vl;
	char *dst = NULL;
	size_t dstlen = 0, skip = 0;

	if (len > 17 && strncasecmp(p, "Content-Encoding:", 17) == 0) {
		dst = r->encoding, dstlen = sizeof(r->encoding), skip = 17;
	} else if (len > 13 && strncasecmp(p, "Content-Type:", 13) == 0) {
		dst = r->ctype, dstlen = sizeof(r->ctype), skip = 13;
	}
	if (dst != NULL) {
		while (skip < len && p[skip] == ' ')
			skip++;
		vl = len - skip;
		while (vl > 0 && (p[skip + vl - 1] == '\r' || p[skip + vl - 1] == '\n'))
			vl--;
		if (vl >= dstlen)
			vl = dstlen - 1;
		memcpy(dst, p + skip, vl);
		dst[vl] = '\0';
	}
	return len;
}

/* GET with Accept-Encoding: gzip; decode: let curl undo a Content-Encoding
 * (and fail on a body that does not match its label). */
static CURLcode
gzip_get(const char *path, bool decode, struct raw *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = curl_slist_append(NULL, "Accept-Encoding: gzip");
	char url[1024];
	CURLcode rc;

	memset(out, 0, sizeof(*out));
	snprintf(url, sizeof(url), "%s%s", proxy->url, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_HTTP_CONTENT_DECODING, decode ? 1L : 0L);
	if (decode)
		curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "gzip");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, raw_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, raw_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	if (out->data == NULL)
		out->data = strdup("");
	return rc;
}

static void
check_gzip(const char *path)
{
	struct raw plain, dec;
	struct http_resp ident;
	json_t *j;

	hu_get(proxy->url, path, &ident);
	assert_int_equal(ident.status, 200);
	assert_int_equal(gzip_get(path, false, &plain), CURLE_OK);
	assert_int_equal(plain.status, 200);
	assert_true(json_content_type(plain.ctype));
	if (plain.encoding[0] == '\0' || strcasecmp(plain.encoding, "identity") == 0) {
		/* Uncompressed: the body must be the JSON itself. */
		j = json_loadb(plain.data, plain.len, 0, NULL);
		if (j == NULL)
			fail_msg("%s: no Content-Encoding, yet the body is not JSON", path);
		json_decref(j);
		assert_int_equal(plain.len, ident.len);
		assert_memory_equal(plain.data, ident.body, ident.len);
	} else {
		if (strcasecmp(plain.encoding, "gzip") != 0)
			fail_msg("%s: Content-Encoding %s was never asked for", path,
			    plain.encoding);
		if (plain.len < 2 || (unsigned char)plain.data[0] != 0x1f ||
		    (unsigned char)plain.data[1] != 0x8b)
			fail_msg("%s: labelled gzip but has no gzip header", path);
		if (gzip_get(path, true, &dec) != CURLE_OK)
			fail_msg("%s: labelled gzip but does not gunzip", path);
		j = json_loadb(dec.data, dec.len, 0, NULL);
		if (j == NULL)
			fail_msg("%s: gunzipped body is not JSON", path);
		json_decref(j);
		assert_int_equal(dec.len, ident.len);
		assert_memory_equal(dec.data, ident.body, ident.len);
		free(dec.data);
	}
	free(plain.data);
	http_resp_free(&ident);
}

static void
test_gzip_never_mislabeled(void **state)
{
	(void)state;
	/* A miss, then hits, of a large answer and a small one. */
	check_gzip("/api/v2/secrets?limit=50");
	check_gzip("/api/v2/secrets?limit=50");
	check_gzip("/api/v2/secrets/" CERT_ID "/versions");
	check_gzip("/api/v1/secrets/imported_cert/" CERT_ID);
}

/* Every logged upstream call for path answered 200: the fake only takes
 * its own tokens, so a forwarded client token would show as a 401. */
static void
assert_no_401_for(const char *path)
{
	json_t *log = fake_log(fake), *e;
	size_t i;
	int n = 0;

	json_array_foreach(json_object_get(log, "requests"), i, e) {
		const char *p = json_string_value(json_object_get(e, "path"));

		if (p == NULL || strcmp(p, path) != 0)
			continue;
		n++;
		if (json_integer_value(json_object_get(e, "status")) == 401)
			fail_msg("upstream refused a token for %s", path);
	}
	json_decref(log);
	assert_true(n > 0);
}

static void
test_client_authorization_not_forwarded(void **state)
{
	const char *hdr[] = { "Authorization: Bearer client-secret-token",
	    "Content-Type: application/json", NULL };
	int iam_before = fake_iam_calls(fake);
	struct http_resp r;

	(void)state;
	hu_call(proxy->url, "GET", "/api/v2/secrets/" TEAM_ARB_ID "/metadata", NULL, hdr, &r);
	assert_int_equal(r.status, 200);
	http_resp_free(&r);
	assert_no_401_for("/api/v2/secrets/" TEAM_ARB_ID "/metadata");
	hu_call(proxy->url, "GET", "/api/v1/secrets/username_password/" UP_ID "/metadata",
	    NULL, hdr, &r);
	assert_int_equal(r.status, 200);
	http_resp_free(&r);
	assert_no_401_for("/api/v1/secrets/username_password/" UP_ID "/metadata");
	/* Writes and passthrough reads too. */
	hu_call(proxy->url, "POST", "/api/v2/secrets/" TEAM_ARB_ID "/versions",
	    "{\"payload\":\"rotated-with-a-client-header\"}", hdr, &r);
	assert_int_equal(r.status, 201);
	http_resp_free(&r);
	assert_no_401_for("/api/v2/secrets/" TEAM_ARB_ID "/versions");
	hu_call(proxy->url, "GET", "/api/v2/secrets/" TEAM_ARB_ID "/locks", NULL, hdr, &r);
	http_resp_free(&r);
	assert_no_401_for("/api/v2/secrets/" TEAM_ARB_ID "/locks");
	/* No token refresh either: the proxy's own token was never refused. */
	assert_int_equal(fake_iam_calls(fake), iam_before);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v2_reads),
		cmocka_unit_test(test_v2_lists),
		cmocka_unit_test(test_v1_reads),
		cmocka_unit_test(test_percent_encodings_share_an_entry),
		cmocka_unit_test(test_query_order_does_not_matter),
		cmocka_unit_test(test_v2_pagination),
		cmocka_unit_test(test_v1_resources_always_an_array),
		cmocka_unit_test(test_gzip_never_mislabeled),
		cmocka_unit_test(test_client_authorization_not_forwarded),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
