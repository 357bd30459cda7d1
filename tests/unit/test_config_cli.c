/*
 * test_config_cli.c: the command line (unknown flags, missing values, stray
 * arguments), the --help/--version/--check actions, environment quirks,
 * the usage and dump texts, and freeing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "tests/unit/fixtures/config/config_fixture.h"

static void
test_command_line_errors(void **state)
{
	struct fx *fx = *state;

	fx_base(fx);
	fx_arg(fx, "--no-such-flag=1");
	fx_arg(fx, "stray-SECRET-word");
	fx_arg(fx, "--check=yes");
	fx_arg(fx, "--ttl");
	fx_arg(fx, "--threads");
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx_has_exact(fx,
	    "unknown option \"--no-such-flag\" (see --help)"));
	assert_true(fx_has_exact(fx, "unexpected argument 2 on the command "
	    "line (options start with \"--\"; see --help)"));
	assert_true(fx_has_exact(fx, "--check takes no value"));
	assert_true(fx_has_exact(fx, "SMPROXY_TTL (--ttl): missing value"));
	assert_true(fx_has_exact(fx,
	    "SMPROXY_THREADS (--threads): missing value"));
	assert_int_equal(fx->errs.n, 5);
	assert_int_equal(fx_count(fx, "SECRET"), 0);

	/* Everything after "--" is positional. */
	fx_clear_args(fx);
	fx_arg(fx, "--");
	fx_arg(fx, "--ttl=5");
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx_has_exact(fx, "unexpected argument 2 on the command "
	    "line (options start with \"--\"; see --help)"));
	assert_int_equal(fx->c.ttl_s, 300);
}

static void
test_actions(void **state)
{
	struct fx *fx = *state;

	/* --help and --version need nothing else. */
	fx_arg(fx, "--help");
	assert_int_equal(fx_load(fx), 0);
	assert_true(fx->c.help);
	assert_false(fx->c.version);
	fx_clear_args(fx);
	fx_arg(fx, "--version");
	assert_int_equal(fx_load(fx), 0);
	assert_true(fx->c.version);
	assert_false(fx->c.help);
	/* Command-line mistakes are still reported. */
	fx_arg(fx, "--nope");
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx->c.version);
	assert_int_equal(fx->errs.n, 1);

	/* --check validates everything. */
	fx_clear_args(fx);
	fx_arg(fx, "--check");
	assert_int_equal(fx_load(fx), -1);
	assert_true(fx->c.check);
	FX_EXPECT(fx, "SMPROXY_UPSTREAM_URL (--upstream-url): required");
	fx_base(fx);
	FX_LOAD_OK(fx);
	assert_true(fx->c.check);
}

static void
test_environment_rules(void **state)
{
	struct fx *fx = *state;

	fx_base(fx);
	/* Kubernetes service variables are not options. */
	fx_env(fx, "SMPROXY_PORT", "tcp://10.0.0.1:8080");
	fx_env(fx, "SMPROXY_SERVICE_HOST", "10.0.0.1");
	/* The first of a repeated name wins, as with getenv(). */
	fx_env(fx, "SMPROXY_TTL", "11");
	fx_env(fx, "SMPROXY_TTL", "22");
	fx_env(fx, "NOT_SMPROXY_TTL", "33");
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.ttl_s, 11);

	/* An empty value falls back to the default. */
	fx_unenv(fx, "SMPROXY_TTL");
	fx_env(fx, "SMPROXY_TTL", "");
	FX_LOAD_OK(fx);
	assert_int_equal(fx->c.ttl_s, 300);
}

/* Run fn with a memory stream and return what it wrote (caller frees).
 * Not inlined: gcc -O2 otherwise mistakes the returned buffer for a
 * pointer to the local that open_memstream filled. */
static __attribute__((noinline)) char *
capture(void (*fn)(const struct cfg *, void *), const struct cfg *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *fp = open_memstream(&buf, &len);

	assert_non_null(fp);
	fn(c, fp);
	assert_int_equal(fclose(fp), 0);
	return buf;
}

static void
usage_adapter(const struct cfg *c, void *fp)
{
	(void)c;
	cfg_usage(fp);
}

static void
test_usage_lists_every_option(void **state)
{
	static const char *const names[][3] = {
		{ "--listen", "SMPROXY_LISTEN", "127.0.0.1:8080" },
		{ "--admin-listen", "SMPROXY_ADMIN_LISTEN", "none" },
		{ "--upstream-url", "SMPROXY_UPSTREAM_URL", "none" },
		{ "--iam-url", "SMPROXY_IAM_URL", "https://iam.cloud.ibm.com" },
		{ "--api-key-file", "SMPROXY_API_KEY_FILE", "none" },
		{ "--cache-path", "SMPROXY_CACHE_PATH", "./smproxy-cache.db" },
		{ "--cache-key-file", "SMPROXY_CACHE_KEY_FILE", "none" },
		{ "--cache-old-key-file", "SMPROXY_CACHE_OLD_KEY_FILE", "none" },
		{ "--cache-reset-on-key-mismatch",
		    "SMPROXY_CACHE_RESET_ON_KEY_MISMATCH", "false" },
		{ "--cache-max-entries", "SMPROXY_CACHE_MAX_ENTRIES", "100000" },
		{ "--cache-max-bytes", "SMPROXY_CACHE_MAX_BYTES", "268435456" },
		{ "--cache-max-entry-bytes", "SMPROXY_CACHE_MAX_ENTRY_BYTES",
		    "1048576" },
		{ "--rate-limit", "SMPROXY_RATE_LIMIT", "20" },
		{ "--ttl", "SMPROXY_TTL", "300" },
		{ "--max-stale", "SMPROXY_MAX_STALE", "86400" },
		{ "--negative-ttl", "SMPROXY_NEGATIVE_TTL", "30" },
		{ "--list-ttl", "SMPROXY_LIST_TTL", "60" },
		{ "--idle-ttl", "SMPROXY_IDLE_TTL", "7200" },
		{ "--deadline-ms", "SMPROXY_DEADLINE_MS", "30000" },
		{ "--queue-max", "SMPROXY_QUEUE_MAX", "10000" },
		{ "--upstream-timeout-ms", "SMPROXY_UPSTREAM_TIMEOUT_MS",
		    "10000" },
		{ "--threads", "SMPROXY_THREADS", "2" },
		{ "--drain-timeout", "SMPROXY_DRAIN_TIMEOUT", "20" },
		{ "--auth", "SMPROXY_AUTH", "local" },
		{ "--allow-insecure-none", "SMPROXY_ALLOW_INSECURE_NONE",
		    "false" },
		{ "--token-key-file", "SMPROXY_TOKEN_KEY_FILE", "none" },
		{ "--token-ttl", "SMPROXY_TOKEN_TTL", "3600" },
		{ "--tls-cert-file", "SMPROXY_TLS_CERT_FILE", "none" },
		{ "--tls-key-file", "SMPROXY_TLS_KEY_FILE", "none" },
		{ "--log-level", "SMPROXY_LOG_LEVEL", "info" },
		{ "--config", "SMPROXY_CONFIG", "none" },
	};
	struct fx *fx = *state;
	char *text = capture(usage_adapter, &fx->c), *at, line[160];
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(*names); i++) {
		/* "  --flag ...\n      help\n      env NAME [...], default D" */
		size_t off;

		snprintf(line, sizeof(line), "\n  %s", names[i][0]);
		at = strstr(text, line);
		if (at == NULL)
			fail_msg("usage lacks %s", names[i][0]);
		off = (size_t)(at - text);
		at = strstr(text + off, "env ");
		assert_non_null(at);
		off = (size_t)(at - text);
		assert_memory_equal(text + off + 4, names[i][1], strlen(names[i][1]));
		at = strstr(text + off, ", default ");
		assert_non_null(at);
		off = (size_t)(at - text);
		assert_memory_equal(text + off + 10, names[i][2], strlen(names[i][2]));
	}
	assert_non_null(strstr(text, "SMPROXY_API_KEY:"));
	assert_non_null(strstr(text, "\n  --check"));
	assert_non_null(strstr(text, "\n  --help"));
	assert_non_null(strstr(text, "\n  --version"));
	free(text);
}

static void
dump_adapter(const struct cfg *c, void *fp)
{
	cfg_dump(c, fp);
}

static void
test_dump_hides_secrets(void **state)
{
	struct fx *fx = *state;
	char *text;

	fx_base(fx);
	FX_LOAD_OK(fx);
	text = capture(dump_adapter, &fx->c);
	assert_non_null(strstr(text, "rate_limit = 20\n"));
	assert_non_null(strstr(text, "auth = local\n"));
	assert_non_null(strstr(text, "api_key = (hidden, from api_key_file)"));
	assert_non_null(strstr(text, "client \"kes\""));
	assert_null(strstr(text, FX_API_KEY));
	assert_null(strstr(text, FX_CLIENT_HASH));
	free(text);
}

static void
test_free_is_safe(void **state)
{
	struct fx *fx = *state;
	struct cfg zero;
	struct cfg_errors no_errors;

	memset(&zero, 0, sizeof(zero));
	memset(&no_errors, 0, sizeof(no_errors));
	cfg_free(&zero);
	cfg_free(&zero);
	cfg_free(NULL);
	cfg_errors_free(&no_errors);
	cfg_errors_free(&no_errors);
	cfg_errors_free(NULL);

	/* A struct filled part way by a failed load frees cleanly. */
	fx_env(fx, "SMPROXY_API_KEY_FILE", fx->api_key_path);
	fx_env(fx, "SMPROXY_LISTEN", "bad");
	assert_int_equal(fx_load(fx), -1);
	assert_non_null(fx->c.api_key);
	cfg_free(&fx->c);
	assert_null(fx->c.api_key);
	assert_null(fx->c.iam_url);
	cfg_free(&fx->c);
	cfg_errors_free(&fx->errs);
	assert_int_equal(fx->errs.n, 0);
	assert_null(fx->errs.msgs);
}

#define T(fn)	cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_command_line_errors),
		T(test_actions),
		T(test_environment_rules),
		T(test_usage_lists_every_option),
		T(test_dump_hides_secrets),
		T(test_free_is_safe),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
