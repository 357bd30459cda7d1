/*
 * Unit tests for api/route: paths, methods, parameters, keys, targets,
 * invalidation sets, malformed input, and the percent-encoding helpers.
 * Query strings, route_from_key() and route_set_groups_filter() are in
 * test_route_query.c.
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
#define VID	"7c1f0a3e-9b1d-4f5e-8a2b-6c3d4e5f6a7b"
#define GID	"d898bb90-82f6-4d61-b5cc-b079b66cfa76"

static struct route		 r;
static struct route_error	 e;

static void
parse_ok(const char *method, const char *target)
{
	if (route_parse(&r, method, target, &e) != 0)
		fail_msg("%s %s: refused with %d %s (%s)", method, target,
		    e.status, e.code, e.message);
	assert_int_equal(e.status, 0);
	assert_non_null(r.tmpl);
}

/* A refusal leaves no route behind. */
static void
parse_err(const char *method, const char *target, int status)
{
	if (route_parse(&r, method, target, &e) != -1)
		fail_msg("%s %s: accepted as op %d key '%s'", method, target,
		    r.op, r.key);
	if (e.status != status)
		fail_msg("%s %s: status %d, want %d (%s)", method, target,
		    e.status, status, e.message);
	assert_non_null(e.code);
	assert_true(e.message[0] != '\0');
	assert_int_equal(r.op, ROUTE_NOT_FOUND);
	assert_false(r.cacheable);
	assert_false(r.is_write);
	assert_string_equal(r.key, "");
	assert_string_equal(r.target, "");
	assert_string_equal(r.secret_id, "");
	assert_string_equal(r.tmpl, "other");
}

struct read_case {
	const char	*target;
	enum route_op	 op;
	const char	*tmpl;
	int		 api_version;
	unsigned	 kind;
	const char	*key;
	const char	*upstream;
	const char	*secret_id, *secret_type, *group, *name, *version;
};

static const struct read_case reads[] = {
	{ "/api/v2/secrets/" SID, ROUTE_V2_SECRET, "/api/v2/secrets/{id}", 2,
	    ROUTE_KIND_SECRET, "v2/secret/" SID, "/api/v2/secrets/" SID,
	    SID, "", "", "", "" },
	{ "/api/v2/secrets/" SID "/metadata", ROUTE_V2_SECRET_METADATA,
	    "/api/v2/secrets/{id}/metadata", 2, ROUTE_KIND_SECRET,
	    "v2/secret/" SID "/metadata", "/api/v2/secrets/" SID "/metadata",
	    SID, "", "", "", "" },
	{ "/api/v2/secrets/" SID "/versions", ROUTE_V2_VERSIONS,
	    "/api/v2/secrets/{id}/versions", 2, ROUTE_KIND_SECRET,
	    "v2/secret/" SID "/versions", "/api/v2/secrets/" SID "/versions",
	    SID, "", "", "", "" },
	{ "/api/v2/secrets/" SID "/versions/" VID, ROUTE_V2_VERSION,
	    "/api/v2/secrets/{id}/versions/{version_id}", 2, ROUTE_KIND_SECRET,
	    "v2/secret/" SID "/version/" VID,
	    "/api/v2/secrets/" SID "/versions/" VID, SID, "", "", "", VID },
	{ "/api/v2/secrets/" SID "/versions/current", ROUTE_V2_VERSION,
	    "/api/v2/secrets/{id}/versions/{version_id}", 2, ROUTE_KIND_SECRET,
	    "v2/secret/" SID "/version/current",
	    "/api/v2/secrets/" SID "/versions/current", SID, "", "", "",
	    "current" },
	{ "/api/v2/secrets/" SID "/versions/previous/metadata",
	    ROUTE_V2_VERSION_METADATA,
	    "/api/v2/secrets/{id}/versions/{version_id}/metadata", 2,
	    ROUTE_KIND_SECRET, "v2/secret/" SID "/version/previous/metadata",
	    "/api/v2/secrets/" SID "/versions/previous/metadata", SID, "", "",
	    "", "previous" },
	{ "/api/v2/secret_groups/default/secret_types/arbitrary/secrets/db-pass",
	    ROUTE_V2_BYNAME,
	    "/api/v2/secret_groups/{group}/secret_types/{type}/secrets/{name}",
	    2, ROUTE_KIND_SECRET, "v2/byname/default/arbitrary/db-pass",
	    "/api/v2/secret_groups/default/secret_types/arbitrary/secrets/db-pass",
	    "", "arbitrary", "default", "db-pass", "" },
	{ "/api/v2/secrets", ROUTE_V2_LIST, "/api/v2/secrets", 2,
	    ROUTE_KIND_LIST, "v2/list", "/api/v2/secrets", "", "", "", "", "" },
	{ "/api/v2/secret_groups", ROUTE_V2_GROUPS, "/api/v2/secret_groups",
	    2, ROUTE_KIND_GROUPS, "v2/groups", "/api/v2/secret_groups", "", "",
	    "", "", "" },
	{ "/api/v2/secret_groups/" GID, ROUTE_V2_GROUP,
	    "/api/v2/secret_groups/{id}", 2, ROUTE_KIND_GROUPS,
	    "v2/group/" GID, "/api/v2/secret_groups/" GID, "", "", GID, "",
	    "" },
	{ "/api/v1/secrets/username_password/" SID, ROUTE_V1_SECRET,
	    "/api/v1/secrets/{type}/{id}", 1, ROUTE_KIND_SECRET,
	    "v1/secret/username_password/" SID,
	    "/api/v1/secrets/username_password/" SID, SID,
	    "username_password", "", "", "" },
	{ "/api/v1/secrets/arbitrary/" SID "/metadata",
	    ROUTE_V1_SECRET_METADATA, "/api/v1/secrets/{type}/{id}/metadata",
	    1, ROUTE_KIND_SECRET, "v1/secret/arbitrary/" SID "/metadata",
	    "/api/v1/secrets/arbitrary/" SID "/metadata", SID, "arbitrary",
	    "", "", "" },
	{ "/api/v1/secrets", ROUTE_V1_LIST, "/api/v1/secrets", 1,
	    ROUTE_KIND_LIST, "v1/list", "/api/v1/secrets", "", "", "", "", "" },
	{ "/api/v1/secrets/kv", ROUTE_V1_LIST_TYPE, "/api/v1/secrets/{type}",
	    1, ROUTE_KIND_LIST, "v1/list/kv", "/api/v1/secrets/kv", "", "kv",
	    "", "", "" },
	{ "/api/v1/secret_groups", ROUTE_V1_GROUPS, "/api/v1/secret_groups",
	    1, ROUTE_KIND_GROUPS, "v1/groups", "/api/v1/secret_groups", "", "",
	    "", "", "" },
	{ "/api/v1/secret_groups/" GID, ROUTE_V1_GROUP,
	    "/api/v1/secret_groups/{id}", 1, ROUTE_KIND_GROUPS,
	    "v1/group/" GID, "/api/v1/secret_groups/" GID, "", "", GID, "",
	    "" },
};

static void
test_cacheable_reads(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++) {
		const struct read_case	*c = &reads[i];

		parse_ok("GET", c->target);
		assert_int_equal(r.op, c->op);
		assert_string_equal(r.tmpl, c->tmpl);
		assert_string_equal(route_op_template(r.op), c->tmpl);
		assert_int_equal(r.api_version, c->api_version);
		assert_true(r.cacheable);
		assert_false(r.is_write);
		assert_int_equal(r.kind, c->kind);
		assert_string_equal(r.key, c->key);
		assert_string_equal(r.target, c->upstream);
		assert_string_equal(r.secret_id, c->secret_id);
		assert_string_equal(r.secret_type, c->secret_type);
		assert_string_equal(r.group, c->group);
		assert_string_equal(r.name, c->name);
		assert_string_equal(r.version, c->version);
		assert_string_equal(r.groups_filter, "");
		assert_string_equal(r.invalidate_id, "");
		assert_int_equal(r.invalidate_kinds, 0);
	}
}

/* A trailing '/' is ignored; the key and target never carry it. */
static void
test_trailing_slash(void **state)
{
	(void)state;
	parse_ok("GET", "/api/v2/secrets/" SID "/");
	assert_int_equal(r.op, ROUTE_V2_SECRET);
	assert_string_equal(r.key, "v2/secret/" SID);
	assert_string_equal(r.target, "/api/v2/secrets/" SID);
	parse_ok("GET", "/healthz/");
	assert_int_equal(r.op, ROUTE_HEALTHZ);
}

struct encoding_pair {
	const char	*go, *node, *key;
};

/*
 * Go's url.PathEscape leaves :@&=+$ alone and escapes !'()*; Node's
 * encodeURIComponent does the opposite.  Both must give one key.
 */
static void
test_go_and_node_encodings(void **state)
{
	static const struct encoding_pair pairs[] = {
		{ "/api/v2/secret_groups/default/secret_types/arbitrary/secrets/a:b@c%20d",
		  "/api/v2/secret_groups/default/secret_types/arbitrary/secrets/a%3Ab%40c%20d",
		  "v2/byname/default/arbitrary/a%3Ab%40c%20d" },
		{ "/api/v2/secret_groups/my%20group+1/secret_types/kv/secrets/x$y&z=1",
		  "/api/v2/secret_groups/my%20group%2B1/secret_types/kv/secrets/x%24y%26z%3D1",
		  "v2/byname/my%20group%2B1/kv/x%24y%26z%3D1" },
		{ "/api/v2/secret_groups/default/secret_types/kv/secrets/x%21y%27z%281%29%2A",
		  "/api/v2/secret_groups/default/secret_types/kv/secrets/x!y'z(1)*",
		  "v2/byname/default/kv/x%21y%27z%281%29%2A" },
		{ "/api/v2/secret_groups/default/secret_types/kv/secrets/%C3%A9t%C3%A9",
		  "/api/v2/secret_groups/default/secret_types/kv/secrets/%c3%a9t%c3%a9",
		  "v2/byname/default/kv/%C3%A9t%C3%A9" },
		{ "/api/v2/secrets/abc%2Dd", "/api/v2/secrets/abc-d",
		  "v2/secret/abc-d" },
	};
	char	 key[ROUTE_KEY_MAX + 1], target[ROUTE_TARGET_MAX + 1];
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		parse_ok("GET", pairs[i].go);
		snprintf(key, sizeof(key), "%s", r.key);
		snprintf(target, sizeof(target), "%s", r.target);
		parse_ok("GET", pairs[i].node);
		assert_string_equal(r.key, key);
		assert_string_equal(r.target, target);
		assert_string_equal(r.key, pairs[i].key);
	}
	parse_ok("GET", pairs[0].node);
	assert_string_equal(r.name, "a:b@c d");
	assert_string_equal(r.target, "/api/v2/secret_groups/default/"
	    "secret_types/arbitrary/secrets/a%3Ab%40c%20d");
	parse_ok("GET", pairs[1].go);
	assert_string_equal(r.group, "my group+1");
	assert_string_equal(r.name, "x$y&z=1");
}

struct pass_case {
	const char	*method, *target, *upstream;
	bool		 is_write;
	int		 api_version;
	const char	*invalidate_id;
	unsigned	 invalidate_kinds;
	const char	*secret_id, *group;
};

#define LN	(ROUTE_KIND_LIST | ROUTE_KIND_NEGATIVE)
#define GLN	(ROUTE_KIND_GROUPS | ROUTE_KIND_LIST | ROUTE_KIND_NEGATIVE)

static const struct pass_case passes[] = {
	/* Uncached reads. */
	{ "GET", "/api/v2/secrets/" SID "/locks?limit=10&sort=name",
	    "/api/v2/secrets/" SID "/locks?limit=10&sort=name", false, 2, "",
	    0, SID, "" },
	{ "GET", "/api/v2/secrets/" SID "/tasks", "/api/v2/secrets/" SID
	    "/tasks", false, 2, "", 0, SID, "" },
	{ "GET", "/api/v2/configurations", "/api/v2/configurations", false, 2,
	    "", 0, "", "" },
	{ "GET", "/api/v2/configurations/my%20config",
	    "/api/v2/configurations/my%20config", false, 2, "", 0, "", "" },
	{ "GET", "/api/v2/configurations/a:b", "/api/v2/configurations/a%3Ab",
	    false, 2, "", 0, "", "" },
	{ "GET", "/api/v2/secrets_locks?groups=default",
	    "/api/v2/secrets_locks?groups=default", false, 2, "", 0, "", "" },
	{ "HEAD", "/api/v2/secrets/" SID, "/api/v2/secrets/" SID, false, 2,
	    "", 0, SID, "" },
	{ "GET", "/api/v1/secrets/arbitrary/" SID "/policies?policy=rotation",
	    "/api/v1/secrets/arbitrary/" SID "/policies?policy=rotation", false,
	    1, "", 0, SID, "" },
	/* Writes. */
	{ "POST", "/api/v2/secrets", "/api/v2/secrets", true, 2, "", LN, "",
	    "" },
	{ "DELETE", "/api/v2/secrets/" SID "?force_delete=true",
	    "/api/v2/secrets/" SID "?force_delete=true", true, 2, SID, LN, SID,
	    "" },
	{ "PATCH", "/api/v2/secrets/" SID "/metadata", "/api/v2/secrets/" SID
	    "/metadata", true, 2, SID, LN, SID, "" },
	{ "POST", "/api/v2/secrets/" SID "/versions", "/api/v2/secrets/" SID
	    "/versions", true, 2, SID, LN, SID, "" },
	{ "POST", "/api/v2/secrets/" SID "/actions", "/api/v2/secrets/" SID
	    "/actions", true, 2, SID, LN, SID, "" },
	{ "DELETE", "/api/v2/secrets/" SID "/versions/" VID "/secret_data",
	    "/api/v2/secrets/" SID "/versions/" VID "/secret_data", true, 2,
	    SID, LN, SID, "" },
	{ "PATCH", "/api/v2/secrets/" SID "/versions/current/metadata",
	    "/api/v2/secrets/" SID "/versions/current/metadata", true, 2, SID,
	    LN, SID, "" },
	{ "POST", "/api/v2/secrets/" SID "/locks_bulk?mode=remove_previous",
	    "/api/v2/secrets/" SID "/locks_bulk?mode=remove_previous", true, 2,
	    SID, LN, SID, "" },
	{ "PUT", "/api/v2/secrets/" SID "/tasks/t1", "/api/v2/secrets/" SID
	    "/tasks/t1", true, 2, SID, LN, SID, "" },
	{ "POST", "/api/v2/secret_groups", "/api/v2/secret_groups", true, 2,
	    "", GLN, "", "" },
	{ "PATCH", "/api/v2/secret_groups/" GID, "/api/v2/secret_groups/" GID,
	    true, 2, "", GLN, "", GID },
	{ "DELETE", "/api/v2/secret_groups/" GID, "/api/v2/secret_groups/"
	    GID, true, 2, "", GLN, "", GID },
	{ "POST", "/api/v2/configurations", "/api/v2/configurations", true, 2,
	    "", LN, "", "" },
	{ "POST", "/api/v2/notifications/registration",
	    "/api/v2/notifications/registration", true, 2, "", LN, "", "" },
	{ "DELETE", "/api/v2/secrets_locks", "/api/v2/secrets_locks", true, 2,
	    "", LN, "", "" },
	{ "POST", "/api/v1/secrets/username_password",
	    "/api/v1/secrets/username_password", true, 1, "", LN, "", "" },
	{ "POST", "/api/v1/secrets/arbitrary/" SID "?action=rotate",
	    "/api/v1/secrets/arbitrary/" SID "?action=rotate", true, 1, SID, LN,
	    SID, "" },
	{ "DELETE", "/api/v1/secrets/arbitrary/" SID,
	    "/api/v1/secrets/arbitrary/" SID, true, 1, SID, LN, SID, "" },
	{ "PUT", "/api/v1/secrets/arbitrary/" SID "/metadata",
	    "/api/v1/secrets/arbitrary/" SID "/metadata", true, 1, SID, LN, SID,
	    "" },
	{ "PUT", "/api/v1/secret_groups/" GID, "/api/v1/secret_groups/" GID,
	    true, 1, "", GLN, "", GID },
	{ "POST", "/api/v1/secret_groups", "/api/v1/secret_groups", true, 1,
	    "", GLN, "", "" },
	{ "PUT", "/api/v1/config/public_cert", "/api/v1/config/public_cert",
	    true, 1, "", LN, "", "" },
};

static void
test_passthrough_and_writes(void **state)
{
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(passes) / sizeof(passes[0]); i++) {
		const struct pass_case	*c = &passes[i];

		parse_ok(c->method, c->target);
		assert_int_equal(r.op, ROUTE_PASSTHROUGH);
		assert_string_equal(r.tmpl, "/api/passthrough");
		assert_int_equal(r.api_version, c->api_version);
		assert_false(r.cacheable);
		assert_int_equal(r.kind, 0);
		assert_string_equal(r.key, "");
		assert_string_equal(r.target, c->upstream);
		if (r.is_write != c->is_write)
			fail_msg("%s %s: is_write %d", c->method, c->target,
			    r.is_write);
		assert_string_equal(r.invalidate_id, c->invalidate_id);
		if (r.invalidate_kinds != c->invalidate_kinds)
			fail_msg("%s %s: kinds %#x, want %#x", c->method,
			    c->target, r.invalidate_kinds, c->invalidate_kinds);
		assert_string_equal(r.secret_id, c->secret_id);
		assert_string_equal(r.group, c->group);
	}
}

/* Every read path, with another method, is a passthrough: GET only caches. */
static void
test_read_paths_with_other_methods(void **state)
{
	static const char *const methods[] = { "HEAD", "POST", "PUT", "PATCH",
	    "DELETE" };
	size_t	 i, m;

	(void)state;
	for (i = 0; i < sizeof(reads) / sizeof(reads[0]); i++)
		for (m = 0; m < sizeof(methods) / sizeof(methods[0]); m++) {
			parse_ok(methods[m], reads[i].target);
			assert_int_equal(r.op, ROUTE_PASSTHROUGH);
			assert_false(r.cacheable);
			assert_string_equal(r.key, "");
			assert_string_equal(r.target, reads[i].upstream);
			assert_int_equal(r.is_write, m > 0);
			assert_string_equal(r.secret_id, reads[i].secret_id);
			if (m == 0) {
				assert_int_equal(r.invalidate_kinds, 0);
				assert_string_equal(r.invalidate_id, "");
			} else {
				assert_true(r.invalidate_kinds & ROUTE_KIND_LIST);
				assert_true(r.invalidate_kinds &
				    ROUTE_KIND_NEGATIVE);
				assert_string_equal(r.invalidate_id,
				    reads[i].secret_id);
			}
		}
}

static void
test_local_routes(void **state)
{
	static const struct {
		const char	*method, *target;
		enum route_op	 op;
	} cases[] = {
		{ "POST", "/identity/token", ROUTE_IAM_TOKEN },
		{ "GET", "/identity/keys", ROUTE_IAM_KEYS },
		{ "GET", "/healthz", ROUTE_HEALTHZ },
		{ "HEAD", "/healthz", ROUTE_HEALTHZ },
		{ "GET", "/readyz", ROUTE_READYZ },
		{ "GET", "/metrics", ROUTE_METRICS },
		{ "GET", "/metrics?name=x", ROUTE_METRICS },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_ok(cases[i].method, cases[i].target);
		assert_int_equal(r.op, cases[i].op);
		assert_string_equal(r.tmpl, route_op_template(cases[i].op));
		assert_string_equal(r.target, r.tmpl);
		assert_int_equal(r.api_version, 0);
		assert_false(r.cacheable);
		assert_false(r.is_write);
		assert_string_equal(r.key, "");
	}
	parse_err("GET", "/identity/token", 405);
	assert_string_equal(e.code, "method_not_allowed");
	parse_err("PUT", "/identity/token", 405);
	parse_err("POST", "/healthz", 405);
	parse_err("DELETE", "/metrics", 405);
	parse_err("POST", "/identity/keys", 405);
	parse_err("GET", "/identity", 404);
	parse_err("GET", "/identity/token/x", 404);
}

static void
test_not_found(void **state)
{
	static const char *const targets[] = {
		"/", "/nope", "/api", "/api/v2", "/api/v1", "/api/v3/secrets",
		"/API/v2/secrets", "/api/V2/secrets", "/secrets",
		"/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q",
		"/api/v2/a/b/c/d/e/f/g/h/i/j/k/l/m/n/o",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		parse_err("GET", targets[i], 404);
		assert_string_equal(e.code, "not_found");
	}
}

static void
test_methods(void **state)
{
	(void)state;
	parse_err("OPTIONS", "/api/v2/secrets", 405);
	parse_err("TRACE", "/api/v2/secrets/" SID, 405);
	parse_err("get", "/api/v2/secrets/" SID, 405);
	parse_err("", "/api/v1/secrets", 405);
	assert_int_equal(route_parse(&r, NULL, "/healthz", &e), -1);
	assert_int_equal(e.status, 400);
	assert_int_equal(route_parse(&r, "GET", NULL, &e), -1);
	assert_int_equal(e.status, 400);
}

/* Malformed paths: refused, never a route (parse_err checks). */
static void
test_malformed_paths(void **state)
{
	static const char *const targets[] = {
		"/api/v2/secrets/%zz", "/api/v2/secrets/ab%4", "/api/v2/secrets/%",
		"/api/v2/secrets/ab%G1", "/api/v2/secrets/a%00b",
		"/api/v2/secrets/a%2Fb", "/api/v2/secrets/a%2fb",
		"/api/v2/secrets/..", "/api/v2/secrets/.", "/api/v2/secrets/%2e%2E",
		"/api/v2/secrets/%2E", "/api/v2/../v2/secrets", "/api/./v2/secrets",
		"/api/v2//secrets", "//api/v2/secrets", "/api/v2/secrets//",
		"/api/v2/secrets/" SID "//metadata", "/api/v2/secrets/a%0Ab",
		"/api/v2/secrets/a%0D%0AX-Evil:%201", "/api/v2/secrets/a%7Fb",
		"/api/v2/secrets/a%C2%85b", "/api/v2/secrets/a%C0%AFb",
		"/api/v2/secrets/a%ED%A0%80b", "/api/v2/secrets/a%FFb",
		"/api/v2/secrets/a%E2%82", "/api/v2/secrets/a b",
		"/api/v2/secrets/a\tb", "/api/v2/secrets/a#frag",
		"/api/v2/configurations/%00", "/api/v2/configurations/x%2Fy",
		"/nope/%zz", "api/v2/secrets", "", "*",
		"http://sm.example/api/v2/secrets",
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		parse_err("GET", targets[i], 400);
		assert_string_equal(e.code, "bad_request");
		parse_err("DELETE", targets[i], 400);
	}
}

/* Ids, types and names are checked before anything goes upstream. */
static void
test_parameter_validation(void **state)
{
	static const struct {
		const char	*method, *target, *param;
	} cases[] = {
		{ "GET", "/api/v2/secrets/bad$id", "'id'" },
		{ "GET", "/api/v2/secrets/a%20b", "'id'" },
		{ "GET", "/api/v2/secrets/%C3%A9", "'id'" },
		{ "DELETE", "/api/v2/secrets/bad$id", "'id'" },
		{ "GET", "/api/v2/secrets/bad$id/locks", "'id'" },
		{ "GET", "/api/v2/secrets/" SID "/versions/v%21", "'version_id'" },
		{ "GET", "/api/v2/secret_groups/my%20group", "'id'" },
		{ "GET", "/api/v2/secret_groups/default/secret_types/bogus/secrets/x",
		  "'type'" },
		{ "GET", "/api/v1/secrets/not_a_type", "'type'" },
		{ "GET", "/api/v1/secrets/not_a_type/" SID, "'type'" },
		{ "POST", "/api/v1/secrets/not_a_type", "'type'" },
		{ "GET", "/api/v1/secrets/kv/bad%2Cid", "'id'" },
		{ "GET", "/api/v1/secret_groups/a+b", "'id'" },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		parse_err(cases[i].method, cases[i].target, 400);
		if (strstr(e.message, cases[i].param) == NULL)
			fail_msg("%s: message '%s' does not name %s",
			    cases[i].target, e.message, cases[i].param);
	}
	/* The message never echoes the input. */
	parse_err("GET", "/api/v2/secrets/%3Cscript%3Eevil", 400);
	assert_null(strstr(e.message, "script"));
	assert_null(strstr(e.message, "evil"));
	parse_err("GET", "/api/v2/secrets/" SID "?x=1", 400);
	parse_err("GET", "/api/v2/secret_groups?limit=1", 400);
	parse_err("GET", "/api/v1/secrets/kv/" SID "?version=1", 400);
}

static void
fill(char *buf, const char *prefix, char c, size_t n, const char *suffix)
{
	size_t	 plen = strlen(prefix);

	memcpy(buf, prefix, plen);
	memset(buf + plen, c, n);
	strcpy(buf + plen + n, suffix);
}

/* Length limits: refused with an error, never truncated or overflowed. */
static void
test_lengths(void **state)
{
	static char	 t[8192], big[8192];
	char		 name[1024];
	size_t		 i;

	(void)state;
	fill(t, "/api/v2/secrets/", 'a', ROUTE_ID_MAX, "");
	parse_ok("GET", t);
	assert_int_equal(strlen(r.secret_id), ROUTE_ID_MAX);
	fill(t, "/api/v2/secrets/", 'a', ROUTE_ID_MAX + 1, "");
	parse_err("GET", t, 400);

	/* Names: 256 bytes of two-byte UTF-8, encoded three times over. */
	name[0] = '\0';
	for (i = 0; i < ROUTE_NAME_MAX / 2; i++)
		strcat(name, "%C3%A9");
	snprintf(t, sizeof(t), "/api/v2/secret_groups/%s/secret_types/"
	    "username_password/secrets/%s", name, name);
	parse_ok("GET", t);
	assert_int_equal(strlen(r.name), ROUTE_NAME_MAX);
	assert_int_equal(strlen(r.group), ROUTE_NAME_MAX);
	assert_true(strlen(r.key) <= ROUTE_KEY_MAX);
	snprintf(t, sizeof(t), "/api/v2/secret_groups/default/secret_types/"
	    "kv/secrets/%sa", name);
	parse_err("GET", t, 400);
	assert_non_null(strstr(e.message, "'name'"));
	snprintf(t, sizeof(t), "/api/v2/secret_groups/%sa/secret_types/"
	    "kv/secrets/x", name);
	parse_err("GET", t, 400);
	assert_non_null(strstr(e.message, "'group'"));

	/* The whole target. */
	fill(t, "/api/v2/configurations/", 'a', ROUTE_TARGET_MAX -
	    strlen("/api/v2/configurations/"), "");
	assert_int_equal(strlen(t), ROUTE_TARGET_MAX);
	parse_ok("GET", t);
	assert_string_equal(r.target, t);
	fill(t, "/api/v2/configurations/", 'a', ROUTE_TARGET_MAX -
	    strlen("/api/v2/configurations/") + 1, "");
	parse_err("GET", t, 414);
	assert_string_equal(e.code, "uri_too_long");
	fill(big, "/api/v2/secrets/", 'a', sizeof(big) - 40, "");
	parse_err("GET", big, 414);

	/* Re-encoding can grow a passthrough target past the limit. */
	fill(t, "/api/v2/configurations/", '!', ROUTE_TARGET_MAX - 100, "");
	parse_err("GET", t, 414);

	/* The query alone. */
	fill(t, "/api/v2/configurations?q=", 'a', ROUTE_QUERY_MAX - 2, "");
	parse_ok("GET", t);
	fill(t, "/api/v2/configurations?q=", 'a', ROUTE_QUERY_MAX - 1, "");
	parse_err("GET", t, 414);

	/* Passthrough queries are printable ASCII with sound escapes. */
	parse_err("GET", "/api/v2/configurations?q=a b", 400);
	parse_err("GET", "/api/v2/configurations?q=%zz", 400);
	parse_err("GET", "/api/v2/configurations?q=\x80", 400);
	parse_err("POST", "/api/v2/secrets?x=%4", 400);
	parse_ok("GET", "/api/v2/configurations?");
	assert_string_equal(r.target, "/api/v2/configurations");
}

static void
test_pct_decode(void **state)
{
	char	 out[16];

	(void)state;
	assert_int_equal(route_pct_decode(out, sizeof(out), "a%20b", 5), 3);
	assert_string_equal(out, "a b");
	assert_int_equal(route_pct_decode(out, sizeof(out), "%41%62%7e", 9), 3);
	assert_string_equal(out, "Ab~");
	assert_int_equal(route_pct_decode(out, sizeof(out), "a+b", 3), 3);
	assert_string_equal(out, "a+b");
	assert_int_equal(route_form_decode(out, sizeof(out), "a+b%2B", 6), 4);
	assert_string_equal(out, "a b+");
	assert_int_equal(route_pct_decode(out, sizeof(out), "abcdef", 3), 3);
	assert_string_equal(out, "abc");
	assert_int_equal(route_pct_decode(out, sizeof(out), "", 0), 0);
	assert_string_equal(out, "");
	assert_int_equal(route_pct_decode(out, sizeof(out), "%2F", 3), 1);
	assert_string_equal(out, "/");

	/* Bad escapes, NUL, overflow: -1 and an empty result. */
	assert_int_equal(route_pct_decode(out, sizeof(out), "%", 1), -1);
	assert_string_equal(out, "");
	assert_int_equal(route_pct_decode(out, sizeof(out), "ab%4", 4), -1);
	assert_int_equal(route_pct_decode(out, sizeof(out), "%zz", 3), -1);
	assert_int_equal(route_pct_decode(out, sizeof(out), "%4g", 3), -1);
	assert_int_equal(route_pct_decode(out, sizeof(out), "%00", 3), -1);
	assert_int_equal(route_pct_decode(out, sizeof(out), "a\0b", 3), -1);
	/* "%41" cut after two bytes is a bad escape, not an 'A'. */
	assert_int_equal(route_pct_decode(out, sizeof(out), "%41", 2), -1);
	assert_int_equal(route_pct_decode(out, 4, "abcd", 4), -1);
	assert_string_equal(out, "");
	assert_int_equal(route_pct_decode(out, 4, "abc", 3), 3);
	assert_int_equal(route_pct_decode(out, 4, "%41%42%43", 9), 3);
	assert_int_equal(route_pct_decode(out, 1, "", 0), 0);
	assert_int_equal(route_pct_decode(out, 0, "", 0), -1);
	assert_int_equal(route_pct_decode(NULL, 4, "a", 1), -1);
}

static void
test_pct_encode(void **state)
{
	char	 out[64];

	(void)state;
	assert_int_equal(route_pct_encode(out, sizeof(out), "a b/c"), 9);
	assert_string_equal(out, "a%20b%2Fc");
	assert_int_equal(route_pct_encode(out, sizeof(out), "AZaz09-._~"), 10);
	assert_string_equal(out, "AZaz09-._~");
	assert_int_equal(route_pct_encode(out, sizeof(out), "\xc3\xa9"), 6);
	assert_string_equal(out, "%C3%A9");
	assert_int_equal(route_pct_encode(out, sizeof(out),
	    ":@&=+$,;?!'()*%#"), 48);
	assert_string_equal(out, "%3A%40%26%3D%2B%24%2C%3B%3F%21%27%28%29%2A"
	    "%25%23");
	assert_int_equal(route_pct_encode(out, sizeof(out), ""), 0);
	assert_string_equal(out, "");

	/* Exact fit and overflow. */
	assert_int_equal(route_pct_encode(out, 4, "abc"), 3);
	assert_int_equal(route_pct_encode(out, 3, "abc"), -1);
	assert_string_equal(out, "");
	assert_int_equal(route_pct_encode(out, 4, " "), 3);
	assert_int_equal(route_pct_encode(out, 3, " "), -1);
	assert_int_equal(route_pct_encode(out, 0, "a"), -1);
	assert_int_equal(route_pct_encode(out, 4, NULL), -1);

	/* Decoding the encoding gives the input back. */
	{
		const char	*in = "db creds/2024 \xe2\x82\xac 100%";
		char		 back[64];

		assert_true(route_pct_encode(out, sizeof(out), in) > 0);
		assert_int_equal(route_pct_decode(back, sizeof(back), out,
		    strlen(out)), (int)strlen(in));
		assert_string_equal(back, in);
	}
}

static void
test_validators(void **state)
{
	char	 s[512];

	(void)state;
	assert_true(route_valid_id("default"));
	assert_true(route_valid_id(SID));
	assert_true(route_valid_id("a.b_c-D9"));
	assert_true(route_valid_id("current"));
	assert_false(route_valid_id(""));
	assert_false(route_valid_id("."));
	assert_false(route_valid_id(".."));
	assert_false(route_valid_id("a b"));
	assert_false(route_valid_id("a/b"));
	assert_false(route_valid_id("a~b"));
	assert_false(route_valid_id(NULL));
	memset(s, 'x', ROUTE_ID_MAX);
	s[ROUTE_ID_MAX] = '\0';
	assert_true(route_valid_id(s));
	s[ROUTE_ID_MAX] = 'x';
	s[ROUTE_ID_MAX + 1] = '\0';
	assert_false(route_valid_id(s));

	assert_true(route_valid_type("arbitrary"));
	assert_true(route_valid_type("username_password"));
	assert_true(route_valid_type("service_credentials"));
	assert_false(route_valid_type("Arbitrary"));
	assert_false(route_valid_type("arbitrary "));
	assert_false(route_valid_type(""));
	assert_false(route_valid_type(NULL));

	assert_true(route_valid_name("my secret: prod (v2)!"));
	assert_true(route_valid_name("\xc3\xa9t\xc3\xa9 \xf0\x9f\x94\x91"));
	assert_true(route_valid_name("..."));
	assert_false(route_valid_name(""));
	assert_false(route_valid_name("."));
	assert_false(route_valid_name(".."));
	assert_false(route_valid_name("a/b"));
	assert_false(route_valid_name("a\nb"));
	assert_false(route_valid_name(NULL));
	memset(s, 'n', ROUTE_NAME_MAX);
	s[ROUTE_NAME_MAX] = '\0';
	assert_true(route_valid_name(s));
	s[ROUTE_NAME_MAX] = 'n';
	s[ROUTE_NAME_MAX + 1] = '\0';
	assert_false(route_valid_name(s));

	assert_true(route_valid_text("", 0));
	assert_true(route_valid_text("\xe2\x82\xac", 3));
	assert_true(route_valid_text("\xf4\x8f\xbf\xbf", 4));	/* U+10FFFF */
	assert_true(route_valid_text("\xc2\xa0", 2));		/* U+00A0 */
	assert_false(route_valid_text("\xc2\x85", 2));		/* C1 NEL */
	assert_false(route_valid_text("\x7f", 1));
	assert_false(route_valid_text("\x1b", 1));
	assert_false(route_valid_text("\xc0\xaf", 2));		/* overlong */
	assert_false(route_valid_text("\xe0\x80\xaf", 3));	/* overlong */
	assert_false(route_valid_text("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(route_valid_text("\xf4\x90\x80\x80", 4));	/* > U+10FFFF */
	assert_false(route_valid_text("\xe2\x82", 2));		/* truncated */
	assert_false(route_valid_text("\xe2\x82\xac", 2));	/* cut by len */
	assert_false(route_valid_text("\x80", 1));
	assert_false(route_valid_text("\xff", 1));
}

static void
test_templates(void **state)
{
	int	 op;

	(void)state;
	for (op = 0; op < ROUTE__COUNT; op++) {
		const char	*t = route_op_template((enum route_op)op);

		assert_non_null(t);
		assert_null(strchr(t, '?'));
	}
	assert_string_equal(route_op_template(ROUTE_NOT_FOUND), "other");
	assert_string_equal(route_op_template(ROUTE__COUNT), "other");
	assert_string_equal(route_op_template((enum route_op)-1), "other");
	assert_string_equal(route_op_template(ROUTE_PASSTHROUGH),
	    "/api/passthrough");
	assert_string_equal(route_op_template(ROUTE_IAM_TOKEN),
	    "/identity/token");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cacheable_reads),
		cmocka_unit_test(test_trailing_slash),
		cmocka_unit_test(test_go_and_node_encodings),
		cmocka_unit_test(test_passthrough_and_writes),
		cmocka_unit_test(test_read_paths_with_other_methods),
		cmocka_unit_test(test_local_routes),
		cmocka_unit_test(test_not_found),
		cmocka_unit_test(test_methods),
		cmocka_unit_test(test_malformed_paths),
		cmocka_unit_test(test_parameter_validation),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_pct_decode),
		cmocka_unit_test(test_pct_encode),
		cmocka_unit_test(test_validators),
		cmocka_unit_test(test_templates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
