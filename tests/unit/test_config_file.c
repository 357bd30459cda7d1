/*
 * test_config_file.c: the --config JSON file (options, clients, TTL
 * overrides and their errors), cfg_reload_file(), cfg_ttls_for() and
 * cfg_client_by_name().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/fixtures/config/config_fixture.h"

#define GROUP_ID	"0b5571f7-21e6-42b7-91c5-3f5ac9793a46"

/* The environment of fx_base() with the config file replaced by content. */
static void
use_file(struct fx *fx, const char *content)
{
	char path[320];

	fx_write(fx, "test.json", content, path, sizeof(path));
	if (fx->n_env == 0)
		fx_base(fx);
	fx_unenv(fx, "SMPROXY_CONFIG");
	fx_env(fx, "SMPROXY_CONFIG", path);
}

/* Load and expect failure with exactly n messages. */
static void
load_fails_with(struct fx *fx, size_t n)
{
	assert_int_equal(fx_load(fx), -1);
	if (fx->errs.n != n) {
		fx_print_errors(fx);
		fail_msg("expected %zu messages, got %zu", n, fx->errs.n);
	}
}

/* "SMPROXY_CONFIG (--config): \"<dir>/test.json\": " + rest. */
static void
expect_file_error(struct fx *fx, const char *rest)
{
	char msg[1024];

	snprintf(msg, sizeof(msg), "SMPROXY_CONFIG (--config): "
	    "\"%s/test.json\": %s", fx->dir, rest);
	if (!fx_has_exact(fx, msg)) {
		fx_print_errors(fx);
		fail_msg("missing message: %s", msg);
	}
}

static void
test_full_file(void **state)
{
	struct fx *fx = *state;
	const struct cfg_client *cl;
	const char *src = getenv("SMPROXY_SOURCE_DIR");
	char path[1024];

	if (src != NULL && src[0] != '\0')
		snprintf(path, sizeof(path), "%s/tests/unit/fixtures/config/"
		    "full.json", src);
	else {
		/* __FILE__ is absolute in a CMake build. */
		snprintf(path, sizeof(path), "%s", __FILE__);
		*strrchr(path, '/') = '\0';
		strncat(path, "/fixtures/config/full.json",
		    sizeof(path) - strlen(path) - 1);
	}
	fx_base(fx);
	fx_unenv(fx, "SMPROXY_CONFIG");
	fx_arg(fx, "--config");
	fx_arg(fx, path);
	FX_LOAD_OK(fx);

	assert_string_equal(fx->c.listen_host, "127.0.0.1");
	assert_int_equal(fx->c.listen_port, 18080);
	assert_string_equal(fx->c.admin_host, "::1");
	assert_int_equal(fx->c.admin_port, 9100);
	assert_int_equal(fx->c.rate_limit, 15);
	assert_int_equal(fx->c.threads, 4);
	assert_true(fx->c.cache_reset_on_key_mismatch);
	assert_int_equal(fx->c.log_level, CFG_LOG_DEBUG);

	assert_int_equal(fx->c.n_clients, 3);
	cl = cfg_client_by_name(&fx->c, "kes");
	assert_ptr_equal(cl, &fx->c.clients[0]);
	assert_true(cl->has_api_key);
	assert_int_equal(cl->api_key_sha256[0], 0x9f);
	assert_int_equal(cl->api_key_sha256[1], 0x86);
	assert_int_equal(cl->api_key_sha256[31], 0x08);
	assert_int_equal(cl->n_secret_groups, 2);
	assert_string_equal(cl->secret_groups[0], "default");
	assert_string_equal(cl->secret_groups[1], GROUP_ID);
	assert_false(cl->all_groups);
	assert_int_equal(cl->n_secret_ids, 1);
	assert_string_equal(cl->secret_ids[0],
	    "4b0ef2ad-3a5e-4c1a-bb55-0e5c2b0c3b11");
	assert_int_equal(cl->n_iam_ids, 0);
	assert_false(cl->write);

	cl = cfg_client_by_name(&fx->c, "ops.admin-1");
	assert_non_null(cl);
	assert_true(cl->has_api_key);
	assert_int_equal(cl->api_key_sha256[0], 0x60);
	assert_int_equal(cl->api_key_sha256[3], 0xe2);
	assert_int_equal(cl->api_key_sha256[31], 0x52);
	assert_true(cl->all_groups);
	assert_true(cl->write);

	cl = cfg_client_by_name(&fx->c, "eso");
	assert_non_null(cl);
	assert_false(cl->has_api_key);
	assert_int_equal(cl->n_iam_ids, 2);
	assert_string_equal(cl->iam_ids[1], "IBMid-5678");
	assert_null(cfg_client_by_name(&fx->c, "nobody"));
	assert_null(cfg_client_by_name(&fx->c, NULL));

	assert_int_equal(fx->c.n_ttl_overrides, 3);
	assert_string_equal(fx->c.ttl_overrides[0].secret_group, GROUP_ID);
	assert_null(fx->c.ttl_overrides[0].secret_type);
	assert_int_equal(fx->c.ttl_overrides[0].ttl_s, 60);
	assert_int_equal(fx->c.ttl_overrides[0].max_stale_s, 3600);
	assert_int_equal(fx->c.ttl_overrides[0].negative_ttl_s, 10);
	assert_string_equal(fx->c.ttl_overrides[1].secret_type,
	    "iam_credentials");
	assert_int_equal(fx->c.ttl_overrides[1].ttl_s, 30);
	assert_int_equal(fx->c.ttl_overrides[1].max_stale_s, -1);
	assert_int_equal(fx->c.ttl_overrides[1].negative_ttl_s, -1);
	assert_int_equal(fx->c.ttl_overrides[2].ttl_s, -1);
	assert_int_equal(fx->c.ttl_overrides[2].max_stale_s, 0);
}

static void
test_parse_error_position(void **state)
{
	struct fx *fx = *state;

	use_file(fx, "{\n  \"ttl\": 5,\n  oops\n}\n");
	load_fails_with(fx, 1);
	FX_EXPECT(fx, "SMPROXY_CONFIG (--config): \"");
	FX_EXPECT(fx, "test.json\" line 3, column ");

	/* Duplicate keys are refused with their position too. */
	use_file(fx, "{\"ttl\": 5,\n\"ttl\": 6}");
	load_fails_with(fx, 1);
	FX_EXPECT(fx, "test.json\" line 2, column ");
	FX_EXPECT(fx, "duplicate");

	use_file(fx, "");
	load_fails_with(fx, 1);
	FX_EXPECT(fx, "test.json\" line ");

	use_file(fx, "[1, 2]");
	load_fails_with(fx, 1);
	expect_file_error(fx, "the file must hold one JSON object");
}

static void
test_file_unreadable(void **state)
{
	struct fx *fx = *state;
	char msg[1024];

	fx_base(fx);
	fx_unenv(fx, "SMPROXY_CONFIG");
	fx_env(fx, "SMPROXY_CONFIG", "/nonexistent/smproxy.json");
	load_fails_with(fx, 1);
	assert_true(fx_has_exact(fx, "SMPROXY_CONFIG (--config): "
	    "\"/nonexistent/smproxy.json\": cannot read the file: No such "
	    "file or directory"));

	fx_unenv(fx, "SMPROXY_CONFIG");
	fx_env(fx, "SMPROXY_CONFIG", fx->dir);
	load_fails_with(fx, 1);
	snprintf(msg, sizeof(msg), "SMPROXY_CONFIG (--config): \"%s\": cannot "
	    "read the file: Is a directory", fx->dir);
	assert_true(fx_has_exact(fx, msg));

	fx_arg(fx, "--config=");
	load_fails_with(fx, 1);
	assert_true(fx_has_exact(fx,
	    "SMPROXY_CONFIG (--config): the value is empty"));
}

static void
test_unknown_and_mistyped_keys(void **state)
{
	struct fx *fx = *state;

	use_file(fx, "{\"rate_limt\": 5, \"api_key\": \"x\", \"config\": \"y\", "
	    "\"listen\": [1], \"clients\": {}, \"ttl_overrides\": 3}");
	load_fails_with(fx, 6);
	expect_file_error(fx, "unknown key \"rate_limt\"");
	expect_file_error(fx, "unknown key \"api_key\" (the API key belongs "
	    "in a file named by \"api_key_file\")");
	expect_file_error(fx, "unknown key \"config\"");
	assert_true(fx_has_exact(fx, "SMPROXY_LISTEN (--listen, config file "
	    "key \"listen\"): must be a string, number or boolean"));
	expect_file_error(fx, "\"clients\" must be an array of objects");
	expect_file_error(fx, "\"ttl_overrides\" must be an array of objects");
	/* The file is bad, so the default listener was used. */
	assert_string_equal(fx->c.listen, "127.0.0.1:8080");
}

static void
test_file_option_values(void **state)
{
	struct fx *fx = *state;

	use_file(fx, "{\"rate_limit\": \"abc\", \"ttl\": 1.5, \"threads\": 0, "
	    "\"auth\": \"magic\", \"max_stale\": null, \"upstream_url\": "
	    "\"ftp://x\", \"clients\": [{\"name\": \"a\", \"api_key_sha256\": "
	    "\"" FX_CLIENT_HASH "\"}]}");
	/* An env value hides the file's bad upstream_url. */
	load_fails_with(fx, 5);
	assert_true(fx_has_exact(fx, "SMPROXY_RATE_LIMIT (--rate-limit, "
	    "config file key \"rate_limit\"): \"abc\" is not a positive "
	    "integer"));
	assert_true(fx_has_exact(fx, "SMPROXY_TTL (--ttl, config file key "
	    "\"ttl\"): \"1.5\" is not a positive integer"));
	assert_true(fx_has_exact(fx, "SMPROXY_THREADS (--threads, config file "
	    "key \"threads\"): \"0\" is not a positive integer"));
	assert_true(fx_has_exact(fx, "SMPROXY_AUTH (--auth, config file key "
	    "\"auth\"): \"magic\" is not one of local, iam, none"));
	assert_true(fx_has_exact(fx, "SMPROXY_MAX_STALE (--max-stale, config "
	    "file key \"max_stale\"): must be a string, number or boolean"));

	/* Typed JSON values and their string forms both work. */
	use_file(fx, "{\"allow_insecure_none\": 1, "
	    "\"cache_reset_on_key_mismatch\": \"yes\", \"threads\": \"6\", "
	    "\"cache_max_bytes\": 1099511627776, \"auth\": \"none\"}");
	FX_LOAD_OK(fx);
	assert_true(fx->c.allow_insecure_none);
	assert_true(fx->c.cache_reset_on_key_mismatch);
	assert_int_equal(fx->c.threads, 6);
	assert_int_equal(fx->c.cache_max_bytes, INT64_C(1099511627776));
	assert_int_equal(fx->c.auth, CFG_AUTH_NONE);

	/* A flag hides a bad file value: only the winner is checked. */
	use_file(fx, "{\"rate_limit\": -4, \"auth\": \"none\"}");
	fx_arg(fx, "--rate-limit=9");
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.rate_limit, 9);
}

static void
test_client_errors(void **state)
{
	struct fx *fx = *state;

	use_file(fx, "{\"clients\": ["
	    "{\"api_key_sha256\": \"" FX_CLIENT_HASH "\"},"
	    "{\"name\": \"has space\"},"
	    "{\"name\": \"a\", \"api_key_sha256\": \"abc\", \"colour\": 1},"
	    "{\"name\": \"a\", \"api_key_sha256\": \"" FX_CLIENT_HASH "\"},"
	    "{\"name\": \"b\", \"api_key_sha256\": "
	    "\"g" FX_CLIENT_HASH "\"},"
	    "{\"name\": \"c\", \"secret_groups\": \"default\", "
	    "\"secret_ids\": [1, \"\"], \"write\": \"yes\"},"
	    "{\"name\": \"d\", \"api_key_sha256\": 5, \"iam_ids\": [\"u1\"]},"
	    "{\"name\": \"e\", \"iam_ids\": [\"u1\"]},"
	    "{\"name\": \"" "0123456789012345678901234567890123456789"
	    "012345678901234567890123456789" "\"},"
	    "7"
	    "]}");
	load_fails_with(fx, 15);
	expect_file_error(fx, "clients[0]: \"name\" is required");
	expect_file_error(fx, "clients[1]: \"name\" must be 1 to 64 "
	    "characters from A-Z, a-z, 0-9, '.', '_' and '-'");
	expect_file_error(fx, "clients[2] (\"a\"): \"api_key_sha256\" must be "
	    "exactly 64 hex characters (the SHA-256 of the client's API key)");
	expect_file_error(fx, "clients[2] (\"a\"): unknown key \"colour\" (a "
	    "client has name, api_key_sha256, secret_groups, secret_ids, "
	    "iam_ids, write)");
	expect_file_error(fx, "clients[3] (\"a\"): the name is also used by "
	    "clients[2]");
	expect_file_error(fx, "clients[3] (\"a\"): has the same "
	    "\"api_key_sha256\" as clients[0]");
	expect_file_error(fx, "clients[4] (\"b\"): \"api_key_sha256\" must be "
	    "exactly 64 hex characters (the SHA-256 of the client's API key)");
	expect_file_error(fx, "clients[5] (\"c\"): \"secret_groups\" must be "
	    "an array of strings");
	expect_file_error(fx, "clients[5] (\"c\"): \"secret_ids\"[0] must be a "
	    "non-empty string");
	expect_file_error(fx, "clients[5] (\"c\"): \"secret_ids\"[1] must be a "
	    "non-empty string");
	expect_file_error(fx, "clients[5] (\"c\"): \"write\" must be true or "
	    "false");
	expect_file_error(fx, "clients[6] (\"d\"): \"api_key_sha256\" must be "
	    "exactly 64 hex characters (the SHA-256 of the client's API key)");
	expect_file_error(fx, "clients[7] (\"e\"): iam_id \"u1\" is also "
	    "mapped to clients[6] (\"d\")");
	expect_file_error(fx, "clients[8]: \"name\" must be 1 to 64 "
	    "characters from A-Z, a-z, 0-9, '.', '_' and '-'");
	expect_file_error(fx, "clients[9] must be an object");

	/* 64 characters is the longest name. */
	use_file(fx, "{\"clients\": [{\"name\": \""
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "\", \"api_key_sha256\": \"" FX_CLIENT_HASH "\"}]}");
	FX_LOAD_OK(fx);
	assert_int_equal(strlen(fx->c.clients[0].name), 64);
}

static void
test_override_errors(void **state)
{
	struct fx *fx = *state;

	use_file(fx, "{\"clients\": [{\"name\": \"a\", \"api_key_sha256\": \""
	    FX_CLIENT_HASH "\"}], \"ttl_overrides\": ["
	    "{\"ttl\": 5},"
	    "{\"secret_group\": \"g\", \"secret_type\": \"kv\"},"
	    "{\"secret_type\": \"password\"},"
	    "{\"secret_group\": \"g2\", \"ttl\": 0, \"max_stale\": -1, "
	    "\"negative_ttl\": \"10\", \"stale\": 1},"
	    "{\"secret_group\": \"g2\"},"
	    "{\"secret_type\": 4},"
	    "{\"secret_group\": \"\"},"
	    "[]"
	    "]}");
	load_fails_with(fx, 11);
	expect_file_error(fx, "ttl_overrides[0]: needs \"secret_group\" or "
	    "\"secret_type\"");
	expect_file_error(fx, "ttl_overrides[1]: has both \"secret_group\" and "
	    "\"secret_type\"; give one per override");
	expect_file_error(fx, "ttl_overrides[2]: \"secret_type\" \"password\" "
	    "is not one of arbitrary, custom_credentials, iam_credentials, "
	    "imported_cert, kv, private_cert, public_cert, "
	    "service_credentials, username_password");
	expect_file_error(fx, "ttl_overrides[3]: \"ttl\" must be a positive "
	    "integer of seconds up to 315360000 (leave it out to inherit the "
	    "global value)");
	expect_file_error(fx, "ttl_overrides[3]: \"max_stale\" must be a "
	    "non-negative integer of seconds up to 315360000 (leave it out to "
	    "inherit the global value)");
	expect_file_error(fx, "ttl_overrides[3]: \"negative_ttl\" must be a "
	    "non-negative integer of seconds up to 315360000 (leave it out to "
	    "inherit the global value)");
	expect_file_error(fx, "ttl_overrides[3]: unknown key \"stale\" (an "
	    "override has secret_group or secret_type, and ttl, max_stale, "
	    "negative_ttl)");
	expect_file_error(fx, "ttl_overrides[4]: secret_group \"g2\" is "
	    "already overridden by ttl_overrides[3]");
	expect_file_error(fx, "ttl_overrides[5]: \"secret_type\" (not a "
	    "string) is not one of arbitrary, custom_credentials, "
	    "iam_credentials, imported_cert, kv, private_cert, public_cert, "
	    "service_credentials, username_password");
	expect_file_error(fx, "ttl_overrides[6]: \"secret_group\" must be a "
	    "non-empty string");
	expect_file_error(fx, "ttl_overrides[7] must be an object");

	use_file(fx, "{\"clients\": [{\"name\": \"a\", \"api_key_sha256\": \""
	    FX_CLIENT_HASH "\"}], \"ttl_overrides\": ["
	    "{\"secret_type\": \"kv\", \"ttl\": 1}, {\"secret_type\": \"kv\"}]}");
	load_fails_with(fx, 1);
	expect_file_error(fx, "ttl_overrides[1]: secret_type \"kv\" is already "
	    "overridden by ttl_overrides[0]");
}

static void
test_reload_good(void **state)
{
	struct fx *fx = *state;
	const struct cfg_client *cl;

	use_file(fx, "{\"rate_limit\": 5, \"clients\": [{\"name\": \"old\", "
	    "\"api_key_sha256\": \"" FX_CLIENT_HASH "\"}]}");
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.rate_limit, 5);
	assert_non_null(cfg_client_by_name(&fx->c, "old"));
	assert_int_equal(fx->c.n_ttl_overrides, 0);

	fx_write(fx, "test.json", "{\"rate_limit\": 9, \"clients\": ["
	    "{\"name\": \"new1\", \"api_key_sha256\": \"" FX_CLIENT_HASH "\"},"
	    "{\"name\": \"new2\", \"iam_ids\": [\"x\"], \"write\": true}], "
	    "\"ttl_overrides\": [{\"secret_type\": \"kv\", \"ttl\": 7}]}",
	    fx->config_path, sizeof(fx->config_path));
	assert_int_equal(cfg_reload_file(&fx->c, &fx->errs), 0);
	assert_int_equal(fx->errs.n, 0);
	assert_null(cfg_client_by_name(&fx->c, "old"));
	assert_non_null(cfg_client_by_name(&fx->c, "new1"));
	cl = cfg_client_by_name(&fx->c, "new2");
	assert_non_null(cl);
	assert_true(cl->write);
	assert_int_equal(fx->c.n_clients, 2);
	assert_int_equal(fx->c.n_ttl_overrides, 1);
	assert_string_equal(fx->c.ttl_overrides[0].secret_type, "kv");
	/* Options need a restart: the reload does not change them. */
	assert_int_equal(fx->c.rate_limit, 5);
	assert_string_equal(fx->c.api_key, FX_API_KEY);
}

/* Reload must fail and leave clients and overrides exactly as they were. */
static void
reload_fails_keeping(struct fx *fx, const char *content, const char *needle)
{
	struct cfg_client *clients = fx->c.clients;
	struct cfg_ttl_override *overrides = fx->c.ttl_overrides;
	size_t n_clients = fx->c.n_clients, n_overrides = fx->c.n_ttl_overrides;
	char path[320];

	fx_write(fx, "test.json", content, path, sizeof(path));
	cfg_errors_free(&fx->errs);
	assert_int_equal(cfg_reload_file(&fx->c, &fx->errs), -1);
	if (fx_count(fx, needle) == 0) {
		fx_print_errors(fx);
		fail_msg("no error contains \"%s\"", needle);
	}
	assert_ptr_equal(fx->c.clients, clients);
	assert_int_equal(fx->c.n_clients, n_clients);
	assert_ptr_equal(fx->c.ttl_overrides, overrides);
	assert_int_equal(fx->c.n_ttl_overrides, n_overrides);
	assert_string_equal(fx->c.clients[0].name, "old");
	assert_int_equal(fx->c.ttl_overrides[0].ttl_s, 42);
}

static void
test_reload_bad_keeps_old(void **state)
{
	struct fx *fx = *state;
	char *saved;

	use_file(fx, "{\"clients\": [{\"name\": \"old\", \"api_key_sha256\": \""
	    FX_CLIENT_HASH "\"}], \"ttl_overrides\": [{\"secret_group\": "
	    "\"g\", \"ttl\": 42}]}");
	FX_LOAD_OK(fx);

	reload_fails_keeping(fx, "{\"clients\": [", "line 1, column");
	reload_fails_keeping(fx, "{\"clients\": [{\"name\": \"x\", "
	    "\"api_key_sha256\": \"" FX_CLIENT_HASH "\"}], \"typo\": 1}",
	    "unknown key \"typo\"");
	reload_fails_keeping(fx, "{\"clients\": [{\"name\": \"x\", "
	    "\"api_key_sha256\": \"zz\"}]}", "\"api_key_sha256\" must be");
	/* The cross-field rule: auth local needs a client with a key. */
	reload_fails_keeping(fx, "{\"clients\": [{\"name\": \"x\"}]}",
	    "\"local\" needs at least one client");
	reload_fails_keeping(fx, "{\"clients\": []}",
	    "\"local\" needs at least one client");
	/* A bad option value would stop the next start, so it is refused. */
	reload_fails_keeping(fx, "{\"threads\": 0, \"clients\": [{\"name\": "
	    "\"x\", \"api_key_sha256\": \"" FX_CLIENT_HASH "\"}]}",
	    "SMPROXY_THREADS (--threads, config file key \"threads\"): \"0\" "
	    "is not a positive integer");
	reload_fails_keeping(fx, "{\"ttl_overrides\": [{\"ttl\": 1}], "
	    "\"clients\": [{\"name\": \"x\", \"api_key_sha256\": \""
	    FX_CLIENT_HASH "\"}]}", "needs \"secret_group\" or");

	unlink(fx->c.config_path);
	cfg_errors_free(&fx->errs);
	assert_int_equal(cfg_reload_file(&fx->c, &fx->errs), -1);
	FX_EXPECT(fx, "cannot read the file: No such file or directory");
	assert_string_equal(fx->c.clients[0].name, "old");

	/* Without a config file there is nothing to reload. */
	saved = fx->c.config_path;
	fx->c.config_path = NULL;
	cfg_errors_free(&fx->errs);
	assert_int_equal(cfg_reload_file(&fx->c, &fx->errs), -1);
	assert_true(fx_has_exact(fx, "SMPROXY_CONFIG (--config): not set, so "
	    "there is no file to reload"));
	fx->c.config_path = saved;
}

static void
test_ttls_for(void **state)
{
	struct fx *fx = *state;
	int64_t ttl, stale, neg;

	use_file(fx, "{\"ttl\": 100, \"max_stale\": 1000, \"negative_ttl\": 10,"
	    "\"clients\": [{\"name\": \"a\", \"api_key_sha256\": \""
	    FX_CLIENT_HASH "\"}], \"ttl_overrides\": ["
	    "{\"secret_type\": \"kv\", \"ttl\": 20, \"max_stale\": 200},"
	    "{\"secret_group\": \"g1\", \"ttl\": 5},"
	    "{\"secret_group\": \"g2\", \"negative_ttl\": 0},"
	    "{\"secret_type\": \"iam_credentials\", \"negative_ttl\": 3}]}");
	FX_LOAD_OK(fx);

	cfg_ttls_for(&fx->c, NULL, NULL, &ttl, &stale, &neg);
	assert_int_equal(ttl, 100);
	assert_int_equal(stale, 1000);
	assert_int_equal(neg, 10);

	cfg_ttls_for(&fx->c, "unknown", "arbitrary", &ttl, &stale, &neg);
	assert_int_equal(ttl, 100);
	assert_int_equal(stale, 1000);
	assert_int_equal(neg, 10);

	cfg_ttls_for(&fx->c, NULL, "kv", &ttl, &stale, &neg);
	assert_int_equal(ttl, 20);
	assert_int_equal(stale, 200);
	assert_int_equal(neg, 10);

	cfg_ttls_for(&fx->c, "g1", NULL, &ttl, &stale, &neg);
	assert_int_equal(ttl, 5);
	assert_int_equal(stale, 1000);
	assert_int_equal(neg, 10);

	/* Group wins per field; its unset fields fall to the type. */
	cfg_ttls_for(&fx->c, "g1", "kv", &ttl, &stale, &neg);
	assert_int_equal(ttl, 5);
	assert_int_equal(stale, 200);
	assert_int_equal(neg, 10);

	/* A group's 0 is a value, not "inherit". */
	cfg_ttls_for(&fx->c, "g2", "iam_credentials", &ttl, &stale, &neg);
	assert_int_equal(ttl, 100);
	assert_int_equal(stale, 1000);
	assert_int_equal(neg, 0);
	cfg_ttls_for(&fx->c, "g1", "iam_credentials", &ttl, &stale, &neg);
	assert_int_equal(ttl, 5);
	assert_int_equal(neg, 3);

	/* The group is matched as a group, never as a type. */
	cfg_ttls_for(&fx->c, "kv", NULL, &ttl, &stale, &neg);
	assert_int_equal(ttl, 100);

	/* Any out-parameter may be NULL. */
	ttl = -7;
	cfg_ttls_for(&fx->c, "g1", "kv", &ttl, NULL, NULL);
	assert_int_equal(ttl, 5);
	cfg_ttls_for(&fx->c, "g1", "kv", NULL, NULL, &neg);
	assert_int_equal(neg, 10);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_full_file),
		T(test_parse_error_position),
		T(test_file_unreadable),
		T(test_unknown_and_mistyped_keys),
		T(test_file_option_values),
		T(test_client_errors),
		T(test_override_errors),
		T(test_reload_good),
		T(test_reload_bad_keeps_old),
		T(test_ttls_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
