/*
 * test_config.c: cfg_load() from flags and the environment: defaults,
 * precedence, value forms, every validator's error path, the cross-field
 * rules and secrecy of the API key.  Command-line handling, actions, usage
 * text and cleanup are in test_config_cli.c; the JSON file, reload and TTL
 * lookups in test_config_file.c.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/fixtures/config/config_fixture.h"

static void
test_defaults(void **state)
{
	struct fx *fx = *state;
	struct cfg *c = &fx->c;

	fx_base(fx);
	FX_LOAD_OK(fx);
	assert_string_equal(c->listen, "127.0.0.1:8080");
	assert_string_equal(c->listen_host, "127.0.0.1");
	assert_int_equal(c->listen_port, 8080);
	assert_null(c->admin_listen);
	assert_null(c->admin_host);
	assert_int_equal(c->admin_port, 0);
	assert_string_equal(c->upstream_url, "https://sm.example.test");
	assert_string_equal(c->iam_url, "https://iam.cloud.ibm.com");
	assert_string_equal(c->api_key_file, fx->api_key_path);
	assert_string_equal(c->api_key, FX_API_KEY);
	assert_string_equal(c->cache_path, "./smproxy-cache.db");
	assert_string_equal(c->cache_key_file, fx->cache_key_path);
	assert_null(c->cache_old_key_file);
	assert_false(c->cache_reset_on_key_mismatch);
	assert_int_equal(c->cache_max_entries, 100000);
	assert_int_equal(c->cache_max_bytes, 268435456);
	assert_int_equal(c->cache_max_entry_bytes, 1048576);
	assert_int_equal(c->rate_limit, 20);
	assert_int_equal(c->ttl_s, 300);
	assert_int_equal(c->max_stale_s, 86400);
	assert_int_equal(c->negative_ttl_s, 30);
	assert_int_equal(c->list_ttl_s, 60);
	assert_int_equal(c->idle_ttl_s, 7200);
	assert_int_equal(c->deadline_ms, 30000);
	assert_int_equal(c->queue_max, 10000);
	assert_int_equal(c->upstream_timeout_ms, 10000);
	assert_int_equal(c->threads, 2);
	assert_int_equal(c->drain_timeout_s, 20);
	assert_int_equal(c->auth, CFG_AUTH_LOCAL);
	assert_false(c->allow_insecure_none);
	assert_null(c->token_key_file);
	assert_int_equal(c->token_ttl_s, 3600);
	assert_null(c->tls_cert_file);
	assert_null(c->tls_key_file);
	assert_int_equal(c->log_level, CFG_LOG_INFO);
	assert_string_equal(c->config_path, fx->config_path);
	assert_int_equal(c->n_clients, 1);
	assert_false(c->check);
	assert_false(c->help);
	assert_false(c->version);
}

static void
test_precedence(void **state)
{
	struct fx *fx = *state;
	char path[320];

	fx_write(fx, "prec.json", "{\"rate_limit\": 5, \"ttl\": 50, "
	    "\"log_level\": \"warn\", \"clients\": [{\"name\": \"a\", "
	    "\"api_key_sha256\": \"" FX_CLIENT_HASH "\"}]}", path,
	    sizeof(path));
	fx_base(fx);
	fx_unenv(fx, "SMPROXY_CONFIG");
	fx_env(fx, "SMPROXY_CONFIG", path);
	fx_env(fx, "SMPROXY_RATE_LIMIT", "6");
	fx_env(fx, "SMPROXY_TTL", "60");
	fx_arg(fx, "--rate-limit");
	fx_arg(fx, "7");
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.rate_limit, 7);		/* flag */
	assert_int_equal(fx->c.ttl_s, 60);		/* env over file */
	assert_int_equal(fx->c.log_level, CFG_LOG_WARN);	/* file */
	assert_int_equal(fx->c.negative_ttl_s, 30);	/* default */

	fx_clear_args(fx);
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.rate_limit, 6);

	fx_unenv(fx, "SMPROXY_RATE_LIMIT");
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.rate_limit, 5);

	/* --config on the command line wins over SMPROXY_CONFIG. */
	fx_arg(fx, "--config");
	fx_arg(fx, fx->config_path);
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.rate_limit, 20);
	assert_string_equal(fx->c.config_path, fx->config_path);
	assert_non_null(cfg_client_by_name(&fx->c, "kes"));
	assert_null(cfg_client_by_name(&fx->c, "a"));
}

static void
test_flag_forms(void **state)
{
	struct fx *fx = *state;

	fx_base(fx);
	fx_arg(fx, "--threads=8");
	fx_arg(fx, "--ttl");
	fx_arg(fx, "77");
	fx_arg(fx, "--cache-reset-on-key-mismatch");
	fx_arg(fx, "--listen=[::1]:9090");
	fx_arg(fx, "--max-stale=0");
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.threads, 8);
	assert_int_equal(fx->c.ttl_s, 77);
	assert_true(fx->c.cache_reset_on_key_mismatch);
	assert_string_equal(fx->c.listen_host, "::1");
	assert_int_equal(fx->c.listen_port, 9090);
	assert_int_equal(fx->c.max_stale_s, 0);

	/* A later flag wins; "--bool=false" overrides a true env value. */
	fx_clear_args(fx);
	fx_env(fx, "SMPROXY_CACHE_RESET_ON_KEY_MISMATCH", "yes");
	fx_arg(fx, "--threads=3");
	fx_arg(fx, "--threads=4");
	fx_arg(fx, "--cache-reset-on-key-mismatch=false");
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.threads, 4);
	assert_false(fx->c.cache_reset_on_key_mismatch);
}

static void
test_bool_words(void **state)
{
	static const char *const truthy[] = { "true", "1", "yes", "TRUE",
	    "Yes" };
	static const char *const falsy[] = { "false", "0", "no", "NO" };
	struct fx *fx = *state;
	size_t i;

	fx_base(fx);
	for (i = 0; i < sizeof(truthy) / sizeof(*truthy); i++) {
		fx_unenv(fx, "SMPROXY_CACHE_RESET_ON_KEY_MISMATCH");
		fx_env(fx, "SMPROXY_CACHE_RESET_ON_KEY_MISMATCH", truthy[i]);
		FX_LOAD_OK(fx);
		assert_true(fx->c.cache_reset_on_key_mismatch);
	}
	for (i = 0; i < sizeof(falsy) / sizeof(*falsy); i++) {
		fx_unenv(fx, "SMPROXY_CACHE_RESET_ON_KEY_MISMATCH");
		fx_env(fx, "SMPROXY_CACHE_RESET_ON_KEY_MISMATCH", falsy[i]);
		FX_LOAD_OK(fx);
		assert_false(fx->c.cache_reset_on_key_mismatch);
	}
	fx_env(fx, "SMPROXY_ALLOW_INSECURE_NONE", "maybe");
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx_has_exact(fx, "SMPROXY_ALLOW_INSECURE_NONE "
	    "(--allow-insecure-none): \"maybe\" is not a boolean (true, false, "
	    "yes, no, 1 or 0)"));
}

/* Load with one extra environment value and expect exactly one message. */
static void
expect_env_error(struct fx *fx, const char *name, const char *value,
    const char *message)
{
	fx_unenv(fx, name);
	fx_env(fx, name, value);
	assert_int_equal(fx_load(fx), -1);
	if (!fx_has_exact(fx, message)) {
		fx_print_errors(fx);
		fail_msg("missing message: %s", message);
	}
	if (fx->errs.n != 1) {
		fx_print_errors(fx);
		fail_msg("expected one message, got %zu", fx->errs.n);
	}
	fx_unenv(fx, name);
}

static void
test_integer_errors(void **state)
{
	struct fx *fx = *state;

	fx_base(fx);
	expect_env_error(fx, "SMPROXY_RATE_LIMIT", "abc",
	    "SMPROXY_RATE_LIMIT (--rate-limit): \"abc\" is not a positive "
	    "integer");
	expect_env_error(fx, "SMPROXY_RATE_LIMIT", "0",
	    "SMPROXY_RATE_LIMIT (--rate-limit): \"0\" is not a positive "
	    "integer");
	expect_env_error(fx, "SMPROXY_RATE_LIMIT", "10001",
	    "SMPROXY_RATE_LIMIT (--rate-limit): \"10001\" is out of range "
	    "(1 to 10000)");
	expect_env_error(fx, "SMPROXY_MAX_STALE", "-1",
	    "SMPROXY_MAX_STALE (--max-stale): \"-1\" is not a non-negative "
	    "integer");
	expect_env_error(fx, "SMPROXY_TTL", "-5",
	    "SMPROXY_TTL (--ttl): \"-5\" is not a positive integer");
	expect_env_error(fx, "SMPROXY_TTL", "12s",
	    "SMPROXY_TTL (--ttl): \"12s\" is not a positive integer");
	expect_env_error(fx, "SMPROXY_TTL", " 12",
	    "SMPROXY_TTL (--ttl): \" 12\" is not a positive integer");
	expect_env_error(fx, "SMPROXY_THREADS", "65",
	    "SMPROXY_THREADS (--threads): \"65\" is out of range (1 to 64)");
	expect_env_error(fx, "SMPROXY_THREADS", "0",
	    "SMPROXY_THREADS (--threads): \"0\" is not a positive integer");
	expect_env_error(fx, "SMPROXY_TOKEN_TTL", "59",
	    "SMPROXY_TOKEN_TTL (--token-ttl): \"59\" is out of range (60 to "
	    "86400)");
	expect_env_error(fx, "SMPROXY_TOKEN_TTL", "86401",
	    "SMPROXY_TOKEN_TTL (--token-ttl): \"86401\" is out of range (60 "
	    "to 86400)");
	expect_env_error(fx, "SMPROXY_CACHE_MAX_BYTES",
	    "99999999999999999999",
	    "SMPROXY_CACHE_MAX_BYTES (--cache-max-bytes): "
	    "\"99999999999999999999\" is too large");
	expect_env_error(fx, "SMPROXY_NEGATIVE_TTL", "x",
	    "SMPROXY_NEGATIVE_TTL (--negative-ttl): \"x\" is not a "
	    "non-negative integer");
	expect_env_error(fx, "SMPROXY_DRAIN_TIMEOUT", "-3",
	    "SMPROXY_DRAIN_TIMEOUT (--drain-timeout): \"-3\" is not a "
	    "non-negative integer");
	expect_env_error(fx, "SMPROXY_QUEUE_MAX", "0",
	    "SMPROXY_QUEUE_MAX (--queue-max): \"0\" is not a positive "
	    "integer");
	expect_env_error(fx, "SMPROXY_DEADLINE_MS", "1.5",
	    "SMPROXY_DEADLINE_MS (--deadline-ms): \"1.5\" is not a positive "
	    "integer");

	/* Every other integer option rejects zero or text the same way. */
	expect_env_error(fx, "SMPROXY_CACHE_MAX_ENTRIES", "0",
	    "SMPROXY_CACHE_MAX_ENTRIES (--cache-max-entries): \"0\" is not a "
	    "positive integer");
	expect_env_error(fx, "SMPROXY_CACHE_MAX_ENTRY_BYTES", "-1",
	    "SMPROXY_CACHE_MAX_ENTRY_BYTES (--cache-max-entry-bytes): \"-1\" "
	    "is not a positive integer");
	expect_env_error(fx, "SMPROXY_LIST_TTL", "0",
	    "SMPROXY_LIST_TTL (--list-ttl): \"0\" is not a positive integer");
	expect_env_error(fx, "SMPROXY_IDLE_TTL", "never",
	    "SMPROXY_IDLE_TTL (--idle-ttl): \"never\" is not a positive "
	    "integer");
	expect_env_error(fx, "SMPROXY_UPSTREAM_TIMEOUT_MS", "0",
	    "SMPROXY_UPSTREAM_TIMEOUT_MS (--upstream-timeout-ms): \"0\" is "
	    "not a positive integer");

	/* A flag value gets the same message. */
	fx_arg(fx, "--rate-limit=abc");
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx_has_exact(fx, "SMPROXY_RATE_LIMIT (--rate-limit): "
	    "\"abc\" is not a positive integer"));
}

static void
test_url_errors(void **state)
{
	struct fx *fx = *state;

	fx_base(fx);
	expect_env_error(fx, "SMPROXY_UPSTREAM_URL", "ftp://sm.example",
	    "SMPROXY_UPSTREAM_URL (--upstream-url): \"ftp://sm.example\" is "
	    "not an http:// or https:// URL");
	expect_env_error(fx, "SMPROXY_UPSTREAM_URL", "sm.example",
	    "SMPROXY_UPSTREAM_URL (--upstream-url): \"sm.example\" is not an "
	    "http:// or https:// URL");
	expect_env_error(fx, "SMPROXY_UPSTREAM_URL", "https://",
	    "SMPROXY_UPSTREAM_URL (--upstream-url): \"https://\" does not "
	    "have a valid host and port");
	expect_env_error(fx, "SMPROXY_UPSTREAM_URL", "https://h:99999",
	    "SMPROXY_UPSTREAM_URL (--upstream-url): \"https://h:99999\" does "
	    "not have a valid host and port");
	expect_env_error(fx, "SMPROXY_UPSTREAM_URL", "https://h/a b",
	    "SMPROXY_UPSTREAM_URL (--upstream-url): \"https://h/a b\" holds a "
	    "space or control character");
	fx_env(fx, "SMPROXY_UPSTREAM_URL", "https://sm.example.test");
	expect_env_error(fx, "SMPROXY_IAM_URL", "https://iam/x?y=1",
	    "SMPROXY_IAM_URL (--iam-url): \"https://iam/x?y=1\" must not have "
	    "a query or fragment");
	/* Credentials in a URL are refused and never echoed. */
	expect_env_error(fx, "SMPROXY_UPSTREAM_URL",
	    "https://user:hunter2pw@sm.example",
	    "SMPROXY_UPSTREAM_URL (--upstream-url): the URL holds credentials "
	    "(user@host), which are not allowed");
	assert_int_equal(fx_count(fx, "hunter2pw"), 0);

	fx_unenv(fx, "SMPROXY_UPSTREAM_URL");
	fx_env(fx, "SMPROXY_UPSTREAM_URL", "http://[fd00::1]:8443/sm///");
	fx_env(fx, "SMPROXY_IAM_URL", "https://iam.test:443/identity/token/");
	FX_LOAD_OK(fx);
	assert_string_equal(fx->c.upstream_url, "http://[fd00::1]:8443/sm");
	assert_string_equal(fx->c.iam_url, "https://iam.test:443");

	fx_unenv(fx, "SMPROXY_IAM_URL");
	fx_env(fx, "SMPROXY_IAM_URL", "https://iam.test/");
	FX_LOAD_OK(fx);
	assert_string_equal(fx->c.iam_url, "https://iam.test");
}

static void
test_listen(void **state)
{
	struct fx *fx = *state;

	fx_base(fx);
	fx_env(fx, "SMPROXY_LISTEN", "0.0.0.0:0");
	fx_env(fx, "SMPROXY_ADMIN_LISTEN", "localhost:9100");
	FX_LOAD_OK(fx);
	assert_string_equal(fx->c.listen_host, "0.0.0.0");
	assert_int_equal(fx->c.listen_port, 0);
	assert_string_equal(fx->c.admin_listen, "localhost:9100");
	assert_string_equal(fx->c.admin_host, "localhost");
	assert_int_equal(fx->c.admin_port, 9100);
	fx_unenv(fx, "SMPROXY_ADMIN_LISTEN");
	fx_unenv(fx, "SMPROXY_LISTEN");

	expect_env_error(fx, "SMPROXY_LISTEN", "8080",
	    "SMPROXY_LISTEN (--listen): \"8080\" is not host:port");
	expect_env_error(fx, "SMPROXY_LISTEN", ":8080",
	    "SMPROXY_LISTEN (--listen): \":8080\" does not start with a host "
	    "name or address");
	expect_env_error(fx, "SMPROXY_LISTEN", "::1:8080",
	    "SMPROXY_LISTEN (--listen): \"::1:8080\": an IPv6 address needs "
	    "brackets, as in [::1]:8080");
	expect_env_error(fx, "SMPROXY_LISTEN", "host:65536",
	    "SMPROXY_LISTEN (--listen): \"host:65536\" does not end with a "
	    "port from 0 to 65535");
	expect_env_error(fx, "SMPROXY_LISTEN", "host:http",
	    "SMPROXY_LISTEN (--listen): \"host:http\" does not end with a "
	    "port from 0 to 65535");
	expect_env_error(fx, "SMPROXY_LISTEN", "[::1]8080",
	    "SMPROXY_LISTEN (--listen): \"[::1]8080\" is not [address]:port");
	expect_env_error(fx, "SMPROXY_LISTEN", "[nope]:80",
	    "SMPROXY_LISTEN (--listen): \"[nope]:80\" does not hold an IPv6 "
	    "address in brackets");
	expect_env_error(fx, "SMPROXY_ADMIN_LISTEN", "admin",
	    "SMPROXY_ADMIN_LISTEN (--admin-listen): \"admin\" is not "
	    "host:port");
}

static void
test_enum_errors(void **state)
{
	struct fx *fx = *state;

	fx_base(fx);
	expect_env_error(fx, "SMPROXY_AUTH", "ldap",
	    "SMPROXY_AUTH (--auth): \"ldap\" is not one of local, iam, none");
	expect_env_error(fx, "SMPROXY_LOG_LEVEL", "verbose",
	    "SMPROXY_LOG_LEVEL (--log-level): \"verbose\" is not one of "
	    "debug, info, warn, error");
	fx_env(fx, "SMPROXY_LOG_LEVEL", "DEBUG");
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.log_level, CFG_LOG_DEBUG);
	fx_unenv(fx, "SMPROXY_LOG_LEVEL");
	fx_env(fx, "SMPROXY_LOG_LEVEL", "error");
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.log_level, CFG_LOG_ERROR);
}

static void
test_unreadable_files(void **state)
{
	struct fx *fx = *state;
	char msg[1024];

	fx_base(fx);
	expect_env_error(fx, "SMPROXY_CACHE_KEY_FILE", "/x/y",
	    "SMPROXY_CACHE_KEY_FILE (--cache-key-file): cannot read \"/x/y\": "
	    "No such file or directory");
	fx_env(fx, "SMPROXY_CACHE_KEY_FILE", fx->cache_key_path);
	expect_env_error(fx, "SMPROXY_CACHE_OLD_KEY_FILE", "/nonexistent/old",
	    "SMPROXY_CACHE_OLD_KEY_FILE (--cache-old-key-file): cannot read "
	    "\"/nonexistent/old\": No such file or directory");
	expect_env_error(fx, "SMPROXY_TOKEN_KEY_FILE", "/nonexistent/tok",
	    "SMPROXY_TOKEN_KEY_FILE (--token-key-file): cannot read "
	    "\"/nonexistent/tok\": No such file or directory");
	snprintf(msg, sizeof(msg), "SMPROXY_TOKEN_KEY_FILE (--token-key-file): "
	    "cannot read \"%s\": Is a directory", fx->dir);
	expect_env_error(fx, "SMPROXY_TOKEN_KEY_FILE", fx->dir, msg);
	fx_unenv(fx, "SMPROXY_API_KEY_FILE");
	expect_env_error(fx, "SMPROXY_API_KEY_FILE", "/nonexistent/api",
	    "SMPROXY_API_KEY_FILE (--api-key-file): cannot read "
	    "\"/nonexistent/api\": No such file or directory");
	snprintf(msg, sizeof(msg), "SMPROXY_API_KEY_FILE (--api-key-file): "
	    "cannot read \"%s\": not a regular file", fx->dir);
	expect_env_error(fx, "SMPROXY_API_KEY_FILE", fx->dir, msg);

	/* Both TLS files given, one missing: only that one is reported. */
	fx_env(fx, "SMPROXY_API_KEY_FILE", fx->api_key_path);
	fx_env(fx, "SMPROXY_TLS_CERT_FILE", fx->cache_key_path);
	expect_env_error(fx, "SMPROXY_TLS_KEY_FILE", "/nonexistent/tls.key",
	    "SMPROXY_TLS_KEY_FILE (--tls-key-file): cannot read "
	    "\"/nonexistent/tls.key\": No such file or directory");
}

static void
test_required(void **state)
{
	struct fx *fx = *state;

	fx_env(fx, "SMPROXY_CONFIG", fx->config_path);
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx_has_exact(fx, "SMPROXY_UPSTREAM_URL (--upstream-url): "
	    "required (the base URL of the Secrets Manager instance)"));
	assert_true(fx_has_exact(fx, "SMPROXY_API_KEY_FILE (--api-key-file) "
	    "or SMPROXY_API_KEY: required (the proxy's own IBM Cloud API "
	    "key)"));
	assert_true(fx_has_exact(fx, "SMPROXY_CACHE_KEY_FILE "
	    "(--cache-key-file): required unless SMPROXY_CACHE_PATH "
	    "(--cache-path) is :memory:"));
	assert_int_equal(fx->errs.n, 3);

	/* An empty environment value counts as unset. */
	fx_env(fx, "SMPROXY_UPSTREAM_URL", "");
	assert_int_equal(fx_load(fx), -1);
	FX_EXPECT(fx, "SMPROXY_UPSTREAM_URL (--upstream-url): required");
	fx_unenv(fx, "SMPROXY_UPSTREAM_URL");

	/* A :memory: cache needs no key. */
	fx_env(fx, "SMPROXY_UPSTREAM_URL", "https://sm.example.test");
	fx_env(fx, "SMPROXY_API_KEY_FILE", fx->api_key_path);
	fx_env(fx, "SMPROXY_CACHE_PATH", ":memory:");
	FX_LOAD_OK(fx);
	assert_string_equal(fx->c.cache_path, ":memory:");
	assert_null(fx->c.cache_key_file);
}

static void
test_tls_pair(void **state)
{
	struct fx *fx = *state;

	fx_base(fx);
	fx_env(fx, "SMPROXY_TLS_CERT_FILE", fx->cache_key_path);
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx_has_exact(fx, "SMPROXY_TLS_KEY_FILE (--tls-key-file): "
	    "required when SMPROXY_TLS_CERT_FILE (--tls-cert-file) is set"));
	assert_int_equal(fx->errs.n, 1);

	fx_unenv(fx, "SMPROXY_TLS_CERT_FILE");
	fx_arg(fx, "--tls-key-file");
	fx_arg(fx, fx->cache_key_path);
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx_has_exact(fx, "SMPROXY_TLS_CERT_FILE "
	    "(--tls-cert-file): required when SMPROXY_TLS_KEY_FILE "
	    "(--tls-key-file) is set"));
	assert_int_equal(fx->errs.n, 1);

	fx_env(fx, "SMPROXY_TLS_CERT_FILE", fx->api_key_path);
	FX_LOAD_OK(fx);
	assert_string_equal(fx->c.tls_cert_file, fx->api_key_path);
	assert_string_equal(fx->c.tls_key_file, fx->cache_key_path);
}

static void
test_auth_none_listener(void **state)
{
	static const char *const loopback[] = { "127.0.0.1:80",
	    "127.9.8.7:80", "[::1]:80", "localhost:80", "LOCALHOST:80",
	    "[::ffff:127.0.0.1]:80" };
	struct fx *fx = *state;
	size_t i;

	fx_base(fx);
	fx_unenv(fx, "SMPROXY_CONFIG");	/* none needs no clients */
	fx_env(fx, "SMPROXY_AUTH", "none");
	fx_env(fx, "SMPROXY_LISTEN", "0.0.0.0:8080");
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx_has_exact(fx, "SMPROXY_AUTH (--auth): \"none\" is "
	    "refused on the non-loopback listener \"0.0.0.0:8080\"; listen on "
	    "127.0.0.1, ::1 or localhost, or set SMPROXY_ALLOW_INSECURE_NONE "
	    "(--allow-insecure-none)"));
	assert_int_equal(fx->errs.n, 1);

	fx_arg(fx, "--allow-insecure-none");
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.auth, CFG_AUTH_NONE);
	assert_true(fx->c.allow_insecure_none);
	fx_clear_args(fx);

	fx_arg(fx, "--listen=[::]:8080");
	assert_int_equal(fx_load(fx), -1);
	FX_EXPECT(fx, "\"none\" is refused on the non-loopback listener "
	    "\"[::]:8080\"");
	fx_clear_args(fx);

	fx_unenv(fx, "SMPROXY_LISTEN");
	for (i = 0; i < sizeof(loopback) / sizeof(*loopback); i++) {
		fx_clear_args(fx);
		fx_arg(fx, "--listen");
		fx_arg(fx, loopback[i]);
		FX_LOAD_OK(fx);
	}
}

static void
test_auth_clients(void **state)
{
	struct fx *fx = *state;
	char path[320];

	fx_base(fx);
	fx_unenv(fx, "SMPROXY_CONFIG");
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx_has_exact(fx, "SMPROXY_AUTH (--auth): \"local\" needs "
	    "at least one client with an \"api_key_sha256\"; add clients to "
	    "the --config file (SMPROXY_CONFIG), or use --auth none on a "
	    "loopback listener"));
	assert_int_equal(fx->errs.n, 1);

	/* Clients without key hashes do not count. */
	fx_write(fx, "nokeys.json", "{\"clients\": [{\"name\": \"a\", "
	    "\"iam_ids\": [\"IBMid-1\"]}]}", path, sizeof(path));
	fx_env(fx, "SMPROXY_CONFIG", path);
	assert_int_equal(fx_load(fx), -1);
	FX_EXPECT(fx, "\"local\" needs at least one client");

	/* ...but they are what auth iam needs. */
	fx_env(fx, "SMPROXY_AUTH", "iam");
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.auth, CFG_AUTH_IAM);

	fx_unenv(fx, "SMPROXY_CONFIG");
	fx_env(fx, "SMPROXY_CONFIG", fx->config_path);
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx_has_exact(fx, "SMPROXY_AUTH (--auth): \"iam\" needs at "
	    "least one client with \"iam_ids\" in the --config file "
	    "(SMPROXY_CONFIG)"));
	assert_int_equal(fx->errs.n, 1);
}

static void
test_many_problems_at_once(void **state)
{
	struct fx *fx = *state;

	fx_env(fx, "SMPROXY_CONFIG", fx->config_path);
	fx_env(fx, "SMPROXY_RATE_LIMIT", "lots");
	fx_env(fx, "SMPROXY_THREADS", "100");
	fx_env(fx, "SMPROXY_LOG_LEVEL", "loud");
	fx_arg(fx, "--listen=nowhere");
	fx_arg(fx, "--iam-url");
	fx_arg(fx, "gopher://iam");
	fx_arg(fx, "--bogus");
	assert_int_equal(fx_load(fx), -1);
	FX_EXPECT(fx, "SMPROXY_RATE_LIMIT (--rate-limit): \"lots\"");
	FX_EXPECT(fx, "SMPROXY_THREADS (--threads): \"100\"");
	FX_EXPECT(fx, "SMPROXY_LOG_LEVEL (--log-level): \"loud\"");
	FX_EXPECT(fx, "SMPROXY_LISTEN (--listen): \"nowhere\"");
	FX_EXPECT(fx, "SMPROXY_IAM_URL (--iam-url): \"gopher://iam\"");
	FX_EXPECT(fx, "unknown option \"--bogus\"");
	FX_EXPECT(fx, "SMPROXY_UPSTREAM_URL (--upstream-url): required");
	FX_EXPECT(fx, "SMPROXY_API_KEY: required");
	FX_EXPECT(fx, "SMPROXY_CACHE_KEY_FILE (--cache-key-file): required");
	assert_int_equal(fx->errs.n, 9);
}

/* No message may contain the key, whatever else goes wrong. */
static void
assert_key_not_shown(const struct fx *fx, const char *key)
{
	size_t i;

	for (i = 0; i < fx->errs.n; i++)
		if (strstr(fx->errs.msgs[i], key) != NULL)
			fail_msg("message shows the API key: %s",
			    fx->errs.msgs[i]);
}

static void
test_api_key_sources_and_secrecy(void **state)
{
	struct fx *fx = *state;
	char path[320];

	fx_base(fx);
	fx_unenv(fx, "SMPROXY_API_KEY_FILE");
	fx_env(fx, "SMPROXY_API_KEY", "direct-SECRET-key-77\n");
	FX_LOAD_OK(fx);
	assert_string_equal(fx->c.api_key, "direct-SECRET-key-77");
	assert_null(fx->c.api_key_file);

	/* The flag's file wins over SMPROXY_API_KEY. */
	fx_arg(fx, "--api-key-file");
	fx_arg(fx, fx->api_key_path);
	FX_LOAD_OK(fx);
	assert_string_equal(fx->c.api_key, FX_API_KEY);
	fx_clear_args(fx);

	/* Both environment forms at once is ambiguous. */
	fx_env(fx, "SMPROXY_API_KEY_FILE", fx->api_key_path);
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx_has_exact(fx, "SMPROXY_API_KEY and "
	    "SMPROXY_API_KEY_FILE (--api-key-file) are both set; set only "
	    "one"));
	assert_int_equal(fx->errs.n, 1);
	assert_key_not_shown(fx, "direct-SECRET-key-77");
	fx_unenv(fx, "SMPROXY_API_KEY_FILE");

	/* A bad direct key is reported without its value. */
	fx_unenv(fx, "SMPROXY_API_KEY");
	fx_env(fx, "SMPROXY_API_KEY", "bad SECRET key");
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx_has_exact(fx, "SMPROXY_API_KEY: the API key holds a "
	    "space, a control character or a non-ASCII byte"));
	assert_int_equal(fx->errs.n, 1);
	assert_key_not_shown(fx, "SECRET");
	fx_unenv(fx, "SMPROXY_API_KEY");

	/* A bad key file is reported by path only. */
	fx_write(fx, "tab.key", "tab\tSECRET-in-file\n", path, sizeof(path));
	fx_env(fx, "SMPROXY_API_KEY_FILE", path);
	assert_int_equal(fx_load(fx), -1);
	FX_EXPECT(fx, "SMPROXY_API_KEY_FILE (--api-key-file): \"");
	FX_EXPECT(fx, "tab.key\": the API key holds a space");
	assert_key_not_shown(fx, "SECRET-in-file");
	fx_unenv(fx, "SMPROXY_API_KEY_FILE");

	fx_write(fx, "empty.key", " \n\n", path, sizeof(path));
	fx_env(fx, "SMPROXY_API_KEY_FILE", path);
	assert_int_equal(fx_load(fx), -1);
	FX_EXPECT(fx, "empty.key\": the API key is empty");
	fx_unenv(fx, "SMPROXY_API_KEY_FILE");

	/* A good key together with many other problems never shows up. */
	fx_env(fx, "SMPROXY_API_KEY_FILE", fx->api_key_path);
	fx_env(fx, "SMPROXY_THREADS", "0");
	fx_env(fx, "SMPROXY_AUTH", "bad");
	fx_env(fx, "SMPROXY_TLS_CERT_FILE", fx->api_key_path);
	fx_arg(fx, "--api-key");		/* a flag that does not exist */
	fx_arg(fx, FX_API_KEY);
	fx_arg(fx, "--upstream-url=ftp://x");
	assert_int_equal(fx_load(fx), -1);
	assert_int_equal(fx->errs.n, 6);
	assert_string_equal(fx->c.api_key, FX_API_KEY);
	assert_key_not_shown(fx, FX_API_KEY);

	/* The same through the direct variable. */
	fx_unenv(fx, "SMPROXY_API_KEY_FILE");
	fx_env(fx, "SMPROXY_API_KEY", FX_API_KEY);
	assert_int_equal(fx_load(fx), -1);
	assert_int_equal(fx->errs.n, 6);
	assert_string_equal(fx->c.api_key, FX_API_KEY);
	assert_key_not_shown(fx, FX_API_KEY);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_defaults),
		T(test_precedence),
		T(test_flag_forms),
		T(test_bool_words),
		T(test_integer_errors),
		T(test_url_errors),
		T(test_listen),
		T(test_enum_errors),
		T(test_unreadable_files),
		T(test_required),
		T(test_tls_pair),
		T(test_auth_none_listener),
		T(test_auth_clients),
		T(test_many_problems_at_once),
		T(test_api_key_sources_and_secrecy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
