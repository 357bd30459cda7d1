/*
 * Unit tests for api/route list queries (canonical form, validation),
 * route_from_key() round trips and route_set_groups_filter().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "api/route.h"

#define SID	"0b5571f7-21e6-42b7-91c5-3f5ac9793a46"

static struct route		 r, back;
static struct route_error	 e;

static void
parse_ok(const char *method, const char *target)
{
	if (route_parse(&r, method, target, &e) != 0)
		fail_msg("%s %s: refused with %d %s (%s)", method, target,
		    e.status, e.code, e.message);
}

static void
parse_err(const char *target, int status)
{
	if (route_parse(&r, "GET", target, &e) != -1)
		fail_msg("%s: accepted, key '%s'", target, r.key);
	if (e.status != status)
		fail_msg("%s: status %d, want %d (%s)", target, e.status,
		    status, e.message);
	assert_string_equal(r.key, "");
	assert_string_equal(r.target, "");
	assert_int_equal(r.op, ROUTE_NOT_FOUND);
}

static void
expect_key(const char *target, const char *key)
{
	parse_ok("GET", target);
	if (strcmp(r.key, key) != 0)
		fail_msg("%s: key '%s', want '%s'", target, r.key, key);
}

static void
test_canonical_order(void **state)
{
	static const char *const same[] = {
		"/api/v2/secrets?limit=10&groups=default,abc&search=db+creds",
		"/api/v2/secrets?search=db%20creds&groups=default%2Cabc&limit=10",
		"/api/v2/secrets?groups=default,abc&search=db%20creds&limit=010",
		"/api/v2/secrets?&search=db+creds&&limit=10&groups=default,,abc,&",
		"/api/v2/secrets?%67roups=default,abc&limit=10&search=db%20creds",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		expect_key(same[i],
		    "v2/list?groups=default,abc&limit=10&search=db%20creds");
		assert_int_equal(r.op, ROUTE_V2_LIST);
		assert_true(r.cacheable);
		assert_int_equal(r.kind, ROUTE_KIND_LIST);
		assert_string_equal(r.target, "/api/v2/secrets?"
		    "groups=default,abc&limit=10&search=db%20creds");
		assert_string_equal(r.groups_filter, "default,abc");
	}
	/* Element order inside a comma list is kept. */
	expect_key("/api/v2/secrets?groups=abc,default",
	    "v2/list?groups=abc,default");
	assert_string_equal(r.groups_filter, "abc,default");
}

static void
test_every_v2_parameter(void **state)
{
	(void)state;
	expect_key("/api/v2/secrets?sort=-created_at&secret_types=kv,"
	    "arbitrary&search=a%2cb&offset=0&match_all_labels=env:prod,"
	    "team%20a&limit=1000&groups=default",
	    "v2/list?groups=default&limit=1000&match_all_labels=env%3Aprod,"
	    "team%20a&offset=0&search=a%2Cb&secret_types=kv,arbitrary&"
	    "sort=-created_at");
	assert_string_equal(r.target, "/api/v2/secrets?groups=default&"
	    "limit=1000&match_all_labels=env%3Aprod,team%20a&offset=0&"
	    "search=a%2Cb&secret_types=kv,arbitrary&sort=-created_at");
	expect_key("/api/v2/secrets?search=a%2Bb", "v2/list?search=a%2Bb");
	expect_key("/api/v2/secrets?search=%C3%A9t%C3%A9",
	    "v2/list?search=%C3%A9t%C3%A9");
	expect_key("/api/v2/secrets?search=caf\xc3\xa9",
	    "v2/list?search=caf%C3%A9");
	expect_key("/api/v2/secrets?", "v2/list");
	assert_string_equal(r.target, "/api/v2/secrets");
	/* Empty values are dropped. */
	expect_key("/api/v2/secrets?search=&groups=,&limit=5", "v2/list?limit=5");
	assert_string_equal(r.groups_filter, "");
}

static void
test_numbers(void **state)
{
	(void)state;
	expect_key("/api/v2/secrets?limit=1", "v2/list?limit=1");
	expect_key("/api/v2/secrets?limit=1000", "v2/list?limit=1000");
	expect_key("/api/v2/secrets?limit=0001", "v2/list?limit=1");
	expect_key("/api/v2/secrets?offset=0", "v2/list?offset=0");
	expect_key("/api/v2/secrets?offset=000", "v2/list?offset=0");
	expect_key("/api/v2/secrets?offset=007", "v2/list?offset=7");
	expect_key("/api/v2/secrets?offset=2147483647",
	    "v2/list?offset=2147483647");
	parse_err("/api/v2/secrets?limit=0", 400);
	assert_non_null(strstr(e.message, "'limit'"));
	parse_err("/api/v2/secrets?limit=1001", 400);
	parse_err("/api/v2/secrets?limit=-1", 400);
	parse_err("/api/v2/secrets?limit=+5", 400);
	parse_err("/api/v2/secrets?limit=5.0", 400);
	parse_err("/api/v2/secrets?limit=", 400);
	parse_err("/api/v2/secrets?limit", 400);
	parse_err("/api/v2/secrets?limit=abc", 400);
	parse_err("/api/v2/secrets?limit=99999999999999999999999", 400);
	parse_err("/api/v2/secrets?offset=-1", 400);
	assert_non_null(strstr(e.message, "'offset'"));
	parse_err("/api/v2/secrets?offset=2147483648", 400);
	parse_err("/api/v2/secrets?offset=1e3", 400);
	parse_err("/api/v1/secrets?limit=1001", 400);
	parse_err("/api/v1/secrets/kv?offset=x", 400);
}

static void
test_sort(void **state)
{
	static const char *const good[] = { "id", "created_at", "updated_at",
	    "retrieved_at", "expiration_date", "secret_type", "name", "-name",
	    "-id" };
	char	 t[128], k[128];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(t, sizeof(t), "/api/v2/secrets?sort=%s", good[i]);
		snprintf(k, sizeof(k), "v2/list?sort=%s", good[i]);
		expect_key(t, k);
	}
	parse_err("/api/v2/secrets?sort=bogus", 400);
	assert_non_null(strstr(e.message, "'sort'"));
	parse_err("/api/v2/secrets?sort=--name", 400);
	parse_err("/api/v2/secrets?sort=-", 400);
	parse_err("/api/v2/secrets?sort=Name", 400);
	parse_err("/api/v2/secrets?sort=creation_date", 400);

	expect_key("/api/v1/secrets?sort_by=creation_date",
	    "v1/list?sort_by=creation_date");
	expect_key("/api/v1/secrets?sort_by=name", "v1/list?sort_by=name");
	parse_err("/api/v1/secrets?sort_by=created_at", 400);
	parse_err("/api/v1/secrets?sort_by=-name", 400);
	parse_err("/api/v1/secrets?sort=name", 400);
	parse_err("/api/v2/secrets?sort_by=name", 400);
}

static void
test_duplicates_and_unknown(void **state)
{
	(void)state;
	parse_err("/api/v2/secrets?limit=1&limit=2", 400);
	assert_non_null(strstr(e.message, "'limit'"));
	parse_err("/api/v2/secrets?limit=1&limit=1", 400);
	parse_err("/api/v2/secrets?search=a&search=", 400);
	parse_err("/api/v2/secrets?groups=a&%67roups=b", 400);
	parse_err("/api/v2/secrets?color=blue", 400);
	assert_string_equal(e.code, "bad_request");
	assert_null(strstr(e.message, "color"));
	parse_err("/api/v2/secrets?%3Cscript%3E=1", 400);
	assert_null(strstr(e.message, "script"));
	parse_err("/api/v2/secrets?LIMIT=10", 400);
	parse_err("/api/v2/secrets?=10", 400);
	parse_err("/api/v1/secrets/kv?search=x", 400);
	parse_err("/api/v1/secrets/kv?groups=default", 400);
	parse_err("/api/v1/secrets?secret_types=kv", 400);
	parse_err("/api/v1/secrets?match_all_labels=x", 400);
}

static void
test_value_rules(void **state)
{
	char	 t[1024];

	(void)state;
	parse_err("/api/v2/secrets?groups=bad$id", 400);
	assert_non_null(strstr(e.message, "'groups'"));
	parse_err("/api/v2/secrets?groups=a,..", 400);
	parse_err("/api/v2/secrets?groups=a%20b", 400);
	parse_err("/api/v2/secrets?secret_types=kv,bogus", 400);
	assert_non_null(strstr(e.message, "'secret_types'"));
	parse_err("/api/v2/secrets?match_all_labels=a%0Ab", 400);
	parse_err("/api/v2/secrets?search=a%0Ab", 400);
	assert_non_null(strstr(e.message, "'search'"));
	parse_err("/api/v2/secrets?search=%FF", 400);
	parse_err("/api/v2/secrets?search=%zz", 400);
	parse_err("/api/v2/secrets?search=a%00", 400);
	parse_err("/api/v2/secrets?se%rch=a", 400);
	parse_err("/api/v2/secrets?search=a b", 400);
	parse_err("/api/v2/secrets?search=a#b", 400);

	/* search: 256 bytes at most. */
	memset(t, 0, sizeof(t));
	strcpy(t, "/api/v2/secrets?search=");
	memset(t + strlen(t), 'x', 256);
	parse_ok("GET", t);
	strcat(t, "x");
	parse_err(t, 400);
}

/* KES: GET /api/v1/secrets?search=NAME, and the v1 typed list. */
static void
test_v1_lists(void **state)
{
	(void)state;
	expect_key("/api/v1/secrets?search=my-creds", "v1/list?search=my-creds");
	assert_int_equal(r.op, ROUTE_V1_LIST);
	assert_string_equal(r.target, "/api/v1/secrets?search=my-creds");
	expect_key("/api/v1/secrets?search=my+creds&groups=g1&limit=200&"
	    "offset=0&sort_by=name", "v1/list?groups=g1&limit=200&offset=0&"
	    "search=my%20creds&sort_by=name");
	assert_string_equal(r.groups_filter, "g1");
	expect_key("/api/v1/secrets/username_password?offset=20&limit=10",
	    "v1/list/username_password?limit=10&offset=20");
	assert_int_equal(r.op, ROUTE_V1_LIST_TYPE);
	assert_string_equal(r.secret_type, "username_password");
	assert_string_equal(r.target,
	    "/api/v1/secrets/username_password?limit=10&offset=20");
}

static void
test_query_lengths(void **state)
{
	static char	 t[4096];
	size_t		 i;

	(void)state;
	/* Raw query over ROUTE_QUERY_MAX. */
	strcpy(t, "/api/v2/secrets?groups=");
	for (i = 0; i < ROUTE_QUERY_MAX / 8; i++)
		strcat(t, "abcdefg,");
	parse_err(t, 414);
	assert_string_equal(e.code, "uri_too_long");

	/* Fits raw, but the canonical form would grow past the limit. */
	strcpy(t, "/api/v2/secrets?match_all_labels=");
	for (i = 0; i < 6; i++) {
		size_t	 at = strlen(t);

		memset(t + at, '!', 200);
		strcpy(t + at + 200, ",");
	}
	assert_true(strlen(t) < ROUTE_TARGET_MAX);
	parse_err(t, 414);

	/* Many groups that fit. */
	strcpy(t, "/api/v2/secrets?groups=");
	for (i = 0; i < 100; i++)
		strcat(t, i ? ",g123456789" : "g123456789");
	parse_ok("GET", t);
	assert_int_equal(strlen(r.groups_filter), 100 * 11 - 1);
}

/* Every cacheable route survives route_from_key(). */
static const char *const round_trip[] = {
	"/api/v2/secrets/" SID,
	"/api/v2/secrets/" SID "/metadata",
	"/api/v2/secrets/" SID "/versions",
	"/api/v2/secrets/" SID "/versions/current",
	"/api/v2/secrets/" SID "/versions/previous/metadata",
	"/api/v2/secret_groups/default/secret_types/kv/secrets/a:b@c%20d",
	"/api/v2/secret_groups/my%2Bgroup/secret_types/imported_cert/secrets/x!y",
	"/api/v2/secret_groups/default/secret_types/kv/secrets/%C3%A9%25",
	"/api/v2/secrets",
	"/api/v2/secrets?limit=10&groups=default,abc&search=db+creds",
	"/api/v2/secrets?sort=-name&match_all_labels=a:b,c&secret_types=kv",
	"/api/v2/secret_groups",
	"/api/v2/secret_groups/default",
	"/api/v1/secrets/username_password/" SID,
	"/api/v1/secrets/iam_credentials/" SID "/metadata",
	"/api/v1/secrets",
	"/api/v1/secrets?search=my-creds",
	"/api/v1/secrets?sort_by=name&offset=5&groups=a",
	"/api/v1/secrets/kv",
	"/api/v1/secrets/kv?limit=5",
	"/api/v1/secret_groups",
	"/api/v1/secret_groups/g1",
};

static void
test_from_key_round_trip(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(round_trip) / sizeof(round_trip[0]); i++) {
		parse_ok("GET", round_trip[i]);
		assert_true(r.cacheable);
		if (route_from_key(&back, r.key) != 0)
			fail_msg("route_from_key(%s) failed", r.key);
		assert_int_equal(back.op, r.op);
		assert_string_equal(back.tmpl, r.tmpl);
		assert_int_equal(back.api_version, r.api_version);
		assert_true(back.cacheable);
		assert_false(back.is_write);
		assert_int_equal(back.kind, r.kind);
		assert_string_equal(back.key, r.key);
		assert_string_equal(back.target, r.target);
		assert_string_equal(back.secret_id, r.secret_id);
		assert_string_equal(back.secret_type, r.secret_type);
		assert_string_equal(back.group, r.group);
		assert_string_equal(back.name, r.name);
		assert_string_equal(back.version, r.version);
		assert_string_equal(back.groups_filter, r.groups_filter);
	}
}

static void
test_from_key_rejects(void **state)
{
	static const char *const bad[] = {
		"", "v2", "v2/", "v2/secret", "v2/secret/", "v2/secret/" SID "/",
		"v2/secret/a/b", "v2/secret/a/version", "v2/secret/a/versions/x",
		"v2/secret/a/version/x/y", "v2/secret/a%2Fb", "v2/secret/a%2fb",
		"v2/secret/a b", "v2/secret/..", "v2/secret/a?x=1",
		"v2/list?", "v2/list?limit=10&groups=a", "v2/list?limit=010",
		"v2/list?search=a+b", "v2/list?search=%c3%a9", "v2/list?bogus=1",
		"v2/list/x", "v2/byname/g/bogus/n", "v2/byname/g/kv",
		"v2/byname/g/kv/n%3a", "v2/groups/x", "v2/group",
		"v1/secret/kv", "v1/secret/bogus/" SID, "v1/list/kv?search=x",
		"v1/list/kv/x", "v1/groups?limit=1", "v3/secret/a",
		"/v2/secret/a", "api/v2/secrets/a", "v2/passthrough",
		"v2/secret/a//metadata", "other",
	};
	static char	 big[ROUTE_KEY_MAX + 64];
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (route_from_key(&back, bad[i]) != -1)
			fail_msg("route_from_key(%s) accepted", bad[i]);
		assert_int_equal(back.op, ROUTE_NOT_FOUND);
		assert_string_equal(back.key, "");
		assert_string_equal(back.target, "");
	}
	assert_int_equal(route_from_key(&back, NULL), -1);
	memcpy(big, "v2/secret/", 10);
	memset(big + 10, 'a', sizeof(big) - 11);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(route_from_key(&back, big), -1);
}

static void
set_groups(const char *target, const char *groups, const char *key,
    const char *filter)
{
	const char	*q;
	char		 want_target[ROUTE_TARGET_MAX + 1];

	parse_ok("GET", target);
	if (route_set_groups_filter(&r, groups) != 0)
		fail_msg("%s: route_set_groups_filter(%s) failed", target,
		    groups);
	assert_string_equal(r.key, key);
	assert_string_equal(r.groups_filter, filter);
	q = strchr(key, '?');
	snprintf(want_target, sizeof(want_target), "%s%s",
	    r.op == ROUTE_V2_LIST ? "/api/v2/secrets" : "/api/v1/secrets",
	    q != NULL ? q : "");
	assert_string_equal(r.target, want_target);
	/* The new key is canonical: route_from_key() rebuilds it. */
	assert_int_equal(route_from_key(&back, r.key), 0);
	assert_string_equal(back.key, r.key);
	assert_string_equal(back.target, r.target);
	assert_string_equal(back.groups_filter, r.groups_filter);
}

static void
test_set_groups_filter(void **state)
{
	char	 groups[4096];
	size_t	 i;

	(void)state;
	/* Add. */
	set_groups("/api/v2/secrets", "a,b", "v2/list?groups=a,b", "a,b");
	set_groups("/api/v2/secrets?limit=5", "default",
	    "v2/list?groups=default&limit=5", "default");
	set_groups("/api/v1/secrets?search=x", "g1", "v1/list?groups=g1&search=x",
	    "g1");
	/* Replace. */
	set_groups("/api/v2/secrets?groups=x&limit=5", "a",
	    "v2/list?groups=a&limit=5", "a");
	set_groups("/api/v2/secrets?groups=x,y", ",b,,c,", "v2/list?groups=b,c",
	    "b,c");
	/* Remove. */
	set_groups("/api/v2/secrets?groups=x&limit=5", "", "v2/list?limit=5",
	    "");
	set_groups("/api/v2/secrets?groups=x", "", "v2/list", "");
	set_groups("/api/v2/secrets", ",", "v2/list", "");

	/* Refused: *r stays as it was. */
	parse_ok("GET", "/api/v2/secrets?groups=x&limit=5");
	assert_int_equal(route_set_groups_filter(&r, "bad$id"), -1);
	assert_int_equal(route_set_groups_filter(&r, "a,.."), -1);
	assert_int_equal(route_set_groups_filter(&r, NULL), -1);
	groups[0] = '\0';
	for (i = 0; i < 20; i++) {
		if (i > 0)
			strcat(groups, ",");
		memset(groups + strlen(groups), 'g', ROUTE_ID_MAX);
		groups[(i + 1) * (ROUTE_ID_MAX + 1) - 1] = '\0';
	}
	assert_int_equal(route_set_groups_filter(&r, groups), -1);
	memset(groups, 'g', ROUTE_ID_MAX + 1);
	groups[ROUTE_ID_MAX + 1] = '\0';
	assert_int_equal(route_set_groups_filter(&r, groups), -1);
	assert_string_equal(r.key, "v2/list?groups=x&limit=5");
	assert_string_equal(r.target, "/api/v2/secrets?groups=x&limit=5");
	assert_string_equal(r.groups_filter, "x");

	/* Not a list that takes groups=. */
	parse_ok("GET", "/api/v2/secrets/" SID);
	assert_int_equal(route_set_groups_filter(&r, "a"), -1);
	assert_string_equal(r.key, "v2/secret/" SID);
	parse_ok("GET", "/api/v1/secrets/kv");
	assert_int_equal(route_set_groups_filter(&r, "a"), -1);
	parse_ok("GET", "/api/v2/secret_groups");
	assert_int_equal(route_set_groups_filter(&r, "a"), -1);
	parse_ok("POST", "/api/v2/secrets");
	assert_int_equal(route_set_groups_filter(&r, "a"), -1);
	assert_int_equal(route_set_groups_filter(NULL, "a"), -1);
}

/* route_canon_query() directly. */
static void
test_canon_query(void **state)
{
	char	 canon[ROUTE_QUERY_MAX + 1], groups[ROUTE_QUERY_MAX + 1];
	char	 tiny[8];
	int	 n;

	(void)state;
	n = route_canon_query(ROUTE_V2_LIST, "limit=5&groups=a", 16, canon,
	    sizeof(canon), groups, sizeof(groups), &e);
	assert_int_equal(n, (int)strlen("groups=a&limit=5"));
	assert_string_equal(canon, "groups=a&limit=5");
	assert_string_equal(groups, "a");
	assert_int_equal(e.status, 0);
	n = route_canon_query(ROUTE_V2_LIST, "", 0, canon, sizeof(canon),
	    groups, sizeof(groups), &e);
	assert_int_equal(n, 0);
	assert_string_equal(canon, "");
	n = route_canon_query(ROUTE_V2_SECRET, "", 0, canon, sizeof(canon),
	    groups, sizeof(groups), &e);
	assert_int_equal(n, -1);
	assert_int_equal(e.status, 400);
	n = route_canon_query(ROUTE_V2_LIST, "limit=5&groups=a", 16, tiny,
	    sizeof(tiny), groups, sizeof(groups), &e);
	assert_int_equal(n, -1);
	assert_int_equal(e.status, 414);
	assert_string_equal(tiny, "");
	assert_string_equal(groups, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_order),
		cmocka_unit_test(test_every_v2_parameter),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_sort),
		cmocka_unit_test(test_duplicates_and_unknown),
		cmocka_unit_test(test_value_rules),
		cmocka_unit_test(test_v1_lists),
		cmocka_unit_test(test_query_lengths),
		cmocka_unit_test(test_from_key_round_trip),
		cmocka_unit_test(test_from_key_rejects),
		cmocka_unit_test(test_set_groups_filter),
		cmocka_unit_test(test_canon_query),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
