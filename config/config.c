/*
 * config.c: the option table and cfg_load(), which walks it.
 *
 * Design: every option is one row of cfg_options[] (flag, environment
 * variable, JSON key, type, default, limits, check, offset of its field in
 * struct cfg).  Loading first collects one text value per row from each
 * source (command line, environment, JSON file), keeps the one with the
 * highest precedence (flag > env > file > default), then converts each
 * winner with the row's type and check.  Because a value stays text until
 * that last step, all sources share one parser and one error wording, and
 * an error can say exactly where the bad value came from.  Problems are
 * collected, never fatal, so one run reports all of them.
 *
 * Environment variables come only from the envp argument, so tests are
 * hermetic.  Unknown SMPROXY_* variables are ignored on purpose: Kubernetes
 * injects SMPROXY_PORT, SMPROXY_SERVICE_HOST and so on for a Service named
 * "smproxy".
 *
 * Thread rules: main thread only, at startup (see config.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "config/config_int.h"

#define MAX_SECONDS	CFG_MAX_SECONDS
#define MAX_MS		(CFG_MAX_SECONDS * 1000)

#define FIELD(f)	offsetof(struct cfg, f)

const struct cfg_option cfg_options[CFG_OPT_COUNT] = {
	[CFG_OPT_LISTEN] = { "--listen", "SMPROXY_LISTEN", "listen",
	    CFG_TYPE_STRING, "127.0.0.1:8080", 0, 0, cfg_check_listen,
	    FIELD(listen), "HOST:PORT",
	    "address of the proxy listener; [v6addr]:port for IPv6, port 0 "
	    "picks a free port" },
	[CFG_OPT_ADMIN_LISTEN] = { "--admin-listen", "SMPROXY_ADMIN_LISTEN",
	    "admin_listen", CFG_TYPE_STRING, NULL, 0, 0,
	    cfg_check_admin_listen, FIELD(admin_listen), "HOST:PORT",
	    "separate listener for /metrics, /healthz and /readyz; unset: "
	    "the main listener serves them" },
	[CFG_OPT_UPSTREAM_URL] = { "--upstream-url", "SMPROXY_UPSTREAM_URL",
	    "upstream_url", CFG_TYPE_STRING, NULL, 0, 0, cfg_check_url,
	    FIELD(upstream_url), "URL",
	    "base URL of the Secrets Manager instance (required)" },
	[CFG_OPT_IAM_URL] = { "--iam-url", "SMPROXY_IAM_URL", "iam_url",
	    CFG_TYPE_STRING, "https://iam.cloud.ibm.com", 0, 0,
	    cfg_check_iam_url, FIELD(iam_url), "URL",
	    "base URL of IBM Cloud IAM" },
	[CFG_OPT_API_KEY_FILE] = { "--api-key-file", "SMPROXY_API_KEY_FILE",
	    "api_key_file", CFG_TYPE_STRING, NULL, 0, 0,
	    cfg_check_api_key_file, FIELD(api_key_file), "PATH",
	    "file holding the proxy's own IBM Cloud API key (required; or "
	    "give the key itself in SMPROXY_API_KEY)" },
	[CFG_OPT_CACHE_PATH] = { "--cache-path", "SMPROXY_CACHE_PATH",
	    "cache_path", CFG_TYPE_STRING, "./smproxy-cache.db", 0, 0,
	    cfg_check_nonempty, FIELD(cache_path), "PATH",
	    "encrypted cache database; :memory: keeps nothing on disk" },
	[CFG_OPT_CACHE_KEY_FILE] = { "--cache-key-file",
	    "SMPROXY_CACHE_KEY_FILE", "cache_key_file", CFG_TYPE_STRING, NULL,
	    0, 0, cfg_check_readable, FIELD(cache_key_file), "PATH",
	    "file holding the cache encryption key (required unless "
	    "--cache-path is :memory:)" },
	[CFG_OPT_CACHE_OLD_KEY_FILE] = { "--cache-old-key-file",
	    "SMPROXY_CACHE_OLD_KEY_FILE", "cache_old_key_file",
	    CFG_TYPE_STRING, NULL, 0, 0, cfg_check_readable,
	    FIELD(cache_old_key_file), "PATH",
	    "previous cache key, to re-seal the cache after a key rotation" },
	[CFG_OPT_CACHE_RESET_ON_KEY_MISMATCH] = {
	    "--cache-reset-on-key-mismatch",
	    "SMPROXY_CACHE_RESET_ON_KEY_MISMATCH",
	    "cache_reset_on_key_mismatch", CFG_TYPE_BOOL, "false", 0, 0, NULL,
	    FIELD(cache_reset_on_key_mismatch), NULL,
	    "start with an empty cache instead of refusing to start when the "
	    "cache key does not match" },
	[CFG_OPT_CACHE_MAX_ENTRIES] = { "--cache-max-entries",
	    "SMPROXY_CACHE_MAX_ENTRIES", "cache_max_entries", CFG_TYPE_INT64,
	    "100000", 1, INT64_MAX, NULL, FIELD(cache_max_entries), "N",
	    "most entries kept in the cache" },
	[CFG_OPT_CACHE_MAX_BYTES] = { "--cache-max-bytes",
	    "SMPROXY_CACHE_MAX_BYTES", "cache_max_bytes", CFG_TYPE_INT64,
	    "268435456", 1, INT64_MAX, NULL, FIELD(cache_max_bytes), "BYTES",
	    "most bytes of cached bodies" },
	[CFG_OPT_CACHE_MAX_ENTRY_BYTES] = { "--cache-max-entry-bytes",
	    "SMPROXY_CACHE_MAX_ENTRY_BYTES", "cache_max_entry_bytes",
	    CFG_TYPE_INT64, "1048576", 1, INT64_MAX, NULL,
	    FIELD(cache_max_entry_bytes), "BYTES",
	    "largest body that is cached" },
	[CFG_OPT_RATE_LIMIT] = { "--rate-limit", "SMPROXY_RATE_LIMIT",
	    "rate_limit", CFG_TYPE_INT, "20", 1, 10000, NULL,
	    FIELD(rate_limit), "N",
	    "upstream Secrets Manager requests per rolling second" },
	[CFG_OPT_TTL] = { "--ttl", "SMPROXY_TTL", "ttl", CFG_TYPE_INT64,
	    "300", 1, MAX_SECONDS, NULL, FIELD(ttl_s), "SECONDS",
	    "how long a cached answer is fresh" },
	[CFG_OPT_MAX_STALE] = { "--max-stale", "SMPROXY_MAX_STALE",
	    "max_stale", CFG_TYPE_INT64, "86400", 0, MAX_SECONDS, NULL,
	    FIELD(max_stale_s), "SECONDS",
	    "how long past freshness a cached answer may be served when the "
	    "upstream fails" },
	[CFG_OPT_NEGATIVE_TTL] = { "--negative-ttl", "SMPROXY_NEGATIVE_TTL",
	    "negative_ttl", CFG_TYPE_INT64, "30", 0, MAX_SECONDS, NULL,
	    FIELD(negative_ttl_s), "SECONDS",
	    "how long an upstream 404 is cached" },
	[CFG_OPT_LIST_TTL] = { "--list-ttl", "SMPROXY_LIST_TTL", "list_ttl",
	    CFG_TYPE_INT64, "60", 1, MAX_SECONDS, NULL, FIELD(list_ttl_s),
	    "SECONDS", "how long a cached list answer is fresh" },
	[CFG_OPT_IDLE_TTL] = { "--idle-ttl", "SMPROXY_IDLE_TTL", "idle_ttl",
	    CFG_TYPE_INT64, "7200", 1, MAX_SECONDS, NULL, FIELD(idle_ttl_s),
	    "SECONDS",
	    "entries nobody asked for in this long are no longer refreshed" },
	[CFG_OPT_DEADLINE_MS] = { "--deadline-ms", "SMPROXY_DEADLINE_MS",
	    "deadline_ms", CFG_TYPE_INT64, "30000", 1, MAX_MS, NULL,
	    FIELD(deadline_ms), "MS",
	    "how long a client may wait in the upstream queue" },
	[CFG_OPT_QUEUE_MAX] = { "--queue-max", "SMPROXY_QUEUE_MAX",
	    "queue_max", CFG_TYPE_INT, "10000", 1, INT32_MAX, NULL,
	    FIELD(queue_max), "N", "most jobs waiting for the upstream" },
	[CFG_OPT_UPSTREAM_TIMEOUT_MS] = { "--upstream-timeout-ms",
	    "SMPROXY_UPSTREAM_TIMEOUT_MS", "upstream_timeout_ms",
	    CFG_TYPE_INT64, "10000", 1, MAX_MS, NULL,
	    FIELD(upstream_timeout_ms), "MS",
	    "timeout of one upstream request" },
	[CFG_OPT_THREADS] = { "--threads", "SMPROXY_THREADS", "threads",
	    CFG_TYPE_INT, "2", 1, 64, NULL, FIELD(threads), "N",
	    "HTTP worker threads" },
	[CFG_OPT_DRAIN_TIMEOUT] = { "--drain-timeout",
	    "SMPROXY_DRAIN_TIMEOUT", "drain_timeout", CFG_TYPE_INT64, "20", 0,
	    MAX_SECONDS, NULL, FIELD(drain_timeout_s), "SECONDS",
	    "how long shutdown waits for requests in flight" },
	[CFG_OPT_AUTH] = { "--auth", "SMPROXY_AUTH", "auth", CFG_TYPE_AUTH,
	    "local", 0, 0, NULL, FIELD(auth), "local|iam|none",
	    "how clients authenticate: proxy API keys (local), IAM tokens "
	    "(iam), or not at all (none, loopback only)" },
	[CFG_OPT_ALLOW_INSECURE_NONE] = { "--allow-insecure-none",
	    "SMPROXY_ALLOW_INSECURE_NONE", "allow_insecure_none",
	    CFG_TYPE_BOOL, "false", 0, 0, NULL, FIELD(allow_insecure_none),
	    NULL, "allow --auth none on a non-loopback listener" },
	[CFG_OPT_TOKEN_KEY_FILE] = { "--token-key-file",
	    "SMPROXY_TOKEN_KEY_FILE", "token_key_file", CFG_TYPE_STRING, NULL,
	    0, 0, cfg_check_readable, FIELD(token_key_file), "PATH",
	    "signing key for proxy tokens; unset: a key kept in memory" },
	[CFG_OPT_TOKEN_TTL] = { "--token-ttl", "SMPROXY_TOKEN_TTL",
	    "token_ttl", CFG_TYPE_INT64, "3600", 60, 86400, NULL,
	    FIELD(token_ttl_s), "SECONDS", "lifetime of a proxy token" },
	[CFG_OPT_TLS_CERT_FILE] = { "--tls-cert-file", "SMPROXY_TLS_CERT_FILE",
	    "tls_cert_file", CFG_TYPE_STRING, NULL, 0, 0, cfg_check_readable,
	    FIELD(tls_cert_file), "PATH",
	    "PEM certificate chain; serve HTTPS (needs --tls-key-file)" },
	[CFG_OPT_TLS_KEY_FILE] = { "--tls-key-file", "SMPROXY_TLS_KEY_FILE",
	    "tls_key_file", CFG_TYPE_STRING, NULL, 0, 0, cfg_check_readable,
	    FIELD(tls_key_file), "PATH",
	    "PEM private key (needs --tls-cert-file)" },
	[CFG_OPT_LOG_LEVEL] = { "--log-level", "SMPROXY_LOG_LEVEL",
	    "log_level", CFG_TYPE_LOG_LEVEL, "info", 0, 0, NULL,
	    FIELD(log_level), "debug|info|warn|error", "least severe level logged" },
	[CFG_OPT_CONFIG] = { "--config", "SMPROXY_CONFIG", NULL,
	    CFG_TYPE_STRING, NULL, 0, 0, cfg_check_nonempty,
	    FIELD(config_path), "PATH",
	    "JSON file with clients, TTL overrides and any option above" },
	[CFG_OPT_CHECK] = { "--check", NULL, NULL, CFG_TYPE_ACTION, NULL, 0, 0,
	    NULL, FIELD(check), NULL, "validate the configuration and exit" },
	[CFG_OPT_HELP] = { "--help", NULL, NULL, CFG_TYPE_ACTION, NULL, 0, 0,
	    NULL, FIELD(help), NULL, "print this help and exit" },
	[CFG_OPT_VERSION] = { "--version", NULL, NULL, CFG_TYPE_ACTION, NULL,
	    0, 0, NULL, FIELD(version), NULL, "print the version and exit" },
};

/* The environment variable that carries the upstream API key itself. */
#define ENV_API_KEY	"SMPROXY_API_KEY"

/* The text that won for one row so far, and where it came from. */
struct option_value {
	const char	*text;		/* NULL: not given (default applies) */
	enum cfg_source	 source;
};

const struct cfg_option *
cfg_option_by_json_key(const char *key)
{
	size_t i;

	for (i = 0; i < CFG_OPT_COUNT; i++)
		if (cfg_options[i].json_key != NULL &&
		    strcmp(cfg_options[i].json_key, key) == 0)
			return &cfg_options[i];
	return NULL;
}

/* The row whose flag is the first namelen bytes of name, or -1. */
static int
option_by_flag(const char *name, size_t namelen)
{
	size_t i;

	for (i = 0; i < CFG_OPT_COUNT; i++)
		if (strlen(cfg_options[i].flag) == namelen &&
		    strncmp(cfg_options[i].flag, name, namelen) == 0)
			return (int)i;
	return -1;
}

/* The row whose environment variable is name (namelen bytes), or -1. */
static int
option_by_env(const char *name, size_t namelen)
{
	size_t i;

	for (i = 0; i < CFG_OPT_COUNT; i++)
		if (cfg_options[i].env != NULL &&
		    strlen(cfg_options[i].env) == namelen &&
		    strncmp(cfg_options[i].env, name, namelen) == 0)
			return (int)i;
	return -1;
}

/*
 * Command line: "--flag value", "--flag=value"; a boolean flag alone means
 * true (and "--flag=false" is accepted); an action flag takes no value.
 * Arguments are never echoed whole: a stray word might be a secret typed
 * in the wrong place.
 */
static void
read_flags(struct cfg *c, int argc, char **argv, struct option_value *values,
    struct cfg_report *rep)
{
	const struct cfg_option *o;
	const char *arg, *eq, *value;
	char shown[96];
	bool options_ended = false;
	size_t namelen;
	int i, id;

	for (i = 1; i < argc && argv[i] != NULL; i++) {
		arg = argv[i];
		if (!options_ended && strcmp(arg, "--") == 0) {
			options_ended = true;
			continue;
		}
		if (options_ended || strncmp(arg, "--", 2) != 0) {
			cfg_report_add(rep, "unexpected argument %d on the "
			    "command line (options start with \"--\"; see "
			    "--help)", i);
			continue;
		}
		eq = strchr(arg, '=');
		namelen = eq != NULL ? (size_t)(eq - arg) : strlen(arg);
		id = option_by_flag(arg, namelen);
		if (id == -1) {
			char name[64];

			snprintf(name, sizeof(name), "%.*s",
			    (int)(namelen < 60 ? namelen : 60), arg);
			cfg_quote(name, shown, sizeof(shown));
			cfg_report_add(rep, "unknown option %s (see --help)",
			    shown);
			continue;
		}
		o = &cfg_options[id];
		value = eq != NULL ? eq + 1 : NULL;
		if (o->type == CFG_TYPE_ACTION) {
			if (value != NULL)
				cfg_report_add(rep, "%s takes no value",
				    o->flag);
			else
				*(bool *)((char *)c + o->offset) = true;
			continue;
		}
		if (value == NULL && o->type == CFG_TYPE_BOOL)
			value = "true";
		if (value == NULL) {
			if (i + 1 < argc && argv[i + 1] != NULL &&
			    strncmp(argv[i + 1], "--", 2) != 0)
				value = argv[++i];
			else {
				cfg_report_add(rep, "%s (%s): missing value",
				    o->env, o->flag);
				continue;
			}
		}
		values[id].text = value;
		values[id].source = CFG_SRC_FLAG;
	}
}

/*
 * Environment: the first "NAME=value" of a name wins, as with getenv().
 * An empty value counts as unset.  The API key itself is returned through
 * *api_key; it is not a row because it has no flag.
 */
static void
read_env(char **envp, struct option_value *values, const char **api_key)
{
	bool seen[CFG_OPT_COUNT] = { false }, seen_api_key = false;
	const char *eq;
	size_t i, namelen;
	int id;

	*api_key = NULL;
	for (i = 0; envp != NULL && envp[i] != NULL; i++) {
		if (strncmp(envp[i], "SMPROXY_", 8) != 0 ||
		    (eq = strchr(envp[i], '=')) == NULL)
			continue;
		namelen = (size_t)(eq - envp[i]);
		if (namelen == strlen(ENV_API_KEY) &&
		    strncmp(envp[i], ENV_API_KEY, namelen) == 0) {
			if (!seen_api_key && eq[1] != '\0')
				*api_key = eq + 1;
			seen_api_key = true;
			continue;
		}
		if ((id = option_by_env(envp[i], namelen)) == -1 || seen[id])
			continue;
		seen[id] = true;
		if (eq[1] == '\0' || values[id].source > CFG_SRC_ENV)
			continue;
		values[id].text = eq + 1;
		values[id].source = CFG_SRC_ENV;
	}
}

/* Give file values to the rows that have nothing better. */
static void
take_file_values(const struct cfg_file *file, struct option_value *values)
{
	size_t i;

	for (i = 0; i < CFG_OPT_COUNT; i++) {
		if (file->option_texts[i] == NULL || values[i].text != NULL)
			continue;
		values[i].text = file->option_texts[i];
		values[i].source = CFG_SRC_FILE;
	}
}

/*
 * The API key may come from a file (flag, env or JSON) or directly from
 * SMPROXY_API_KEY, which sits at the env level of precedence.  Returns
 * true when the env key should be used; the file row is then dropped.
 */
static bool
choose_api_key_source(const char *env_api_key, struct option_value *values,
    struct cfg_report *rep)
{
	struct option_value *file = &values[CFG_OPT_API_KEY_FILE];
	const struct cfg_option *o = &cfg_options[CFG_OPT_API_KEY_FILE];

	if (env_api_key == NULL || (file->text != NULL &&
	    file->source == CFG_SRC_FLAG))
		return false;
	if (file->text != NULL && file->source == CFG_SRC_ENV) {
		cfg_report_add(rep, "%s and %s (%s) are both set; set only one",
		    ENV_API_KEY, o->env, o->flag);
		file->text = NULL;
		return false;
	}
	file->text = NULL;
	return true;
}

/* Convert every row's winning text; valid[i] says whether row i is usable. */
static void
apply_options(struct cfg *c, const struct option_value *values,
    bool *valid, struct cfg_report *rep)
{
	const struct cfg_option *o;
	const char *text;
	enum cfg_source source;
	char why[512], where[160];
	size_t i;

	for (i = 0; i < CFG_OPT_COUNT; i++) {
		o = &cfg_options[i];
		valid[i] = true;
		if (o->type == CFG_TYPE_ACTION)
			continue;
		text = values[i].text != NULL ? values[i].text :
		    o->default_value;
		source = values[i].text != NULL ? values[i].source :
		    CFG_SRC_DEFAULT;
		if (text == NULL)
			continue;
		if (cfg_option_set(c, o, text, why, sizeof(why)) == -1) {
			valid[i] = false;
			cfg_option_where(o, source, where, sizeof(where));
			cfg_report_add(rep, "%s: %s", where, why);
		}
	}
}

int
cfg_load(struct cfg *c, int argc, char **argv, char **envp,
    struct cfg_errors *errs)
{
	struct cfg_report rep = { errs, 0 };
	struct option_value values[CFG_OPT_COUNT];
	struct cfg_file file;
	bool given[CFG_OPT_COUNT], valid[CFG_OPT_COUNT];
	bool file_ok = true, use_env_key;
	const char *env_api_key, *config_path;
	char why[256];
	size_t i;

	memset(c, 0, sizeof(*c));
	memset(values, 0, sizeof(values));
	memset(&file, 0, sizeof(file));
	if (sodium_init() < 0) {
		cfg_report_add(&rep, "libsodium could not be initialised");
		goto done;
	}

	read_flags(c, argc, argv, values, &rep);
	if (c->help || c->version)
		goto done;
	read_env(envp, values, &env_api_key);

	config_path = values[CFG_OPT_CONFIG].text;
	if (config_path != NULL && config_path[0] != '\0') {
		if (cfg_file_read(config_path, &file, &rep) == -1)
			file_ok = false;
		take_file_values(&file, values);
		c->clients = file.clients;
		c->n_clients = file.n_clients;
		c->ttl_overrides = file.ttl_overrides;
		c->n_ttl_overrides = file.n_ttl_overrides;
		file.clients = NULL;
		file.n_clients = 0;
		file.ttl_overrides = NULL;
		file.n_ttl_overrides = 0;
	}

	use_env_key = choose_api_key_source(env_api_key, values, &rep);
	for (i = 0; i < CFG_OPT_COUNT; i++)
		given[i] = values[i].text != NULL;
	apply_options(c, values, valid, &rep);

	if (use_env_key) {
		given[CFG_OPT_API_KEY_FILE] = true;
		if (cfg_set_api_key(c, env_api_key, why, sizeof(why)) == -1)
			cfg_report_add(&rep, "%s: %s", ENV_API_KEY, why);
	} else if (env_api_key != NULL)
		given[CFG_OPT_API_KEY_FILE] = true;

	cfg_check_rules(c, given, valid, &rep);
	if (file_ok && valid[CFG_OPT_CONFIG] && valid[CFG_OPT_AUTH])
		cfg_check_clients_for_auth(c->auth, c->clients, c->n_clients,
		    &rep);

done:
	cfg_file_cleanup(&file);
	return rep.problems == 0 ? 0 : -1;
}

void
cfg_free(struct cfg *c)
{
	size_t i;
	char **field;

	if (c == NULL)
		return;
	for (i = 0; i < CFG_OPT_COUNT; i++) {
		if (cfg_options[i].type != CFG_TYPE_STRING)
			continue;
		field = (char **)(void *)((char *)c + cfg_options[i].offset);
		free(*field);
	}
	free(c->listen_host);
	free(c->admin_host);
	if (c->api_key != NULL) {
		sodium_memzero(c->api_key, strlen(c->api_key));
		sodium_free(c->api_key);
	}
	cfg_clients_free(c->clients, c->n_clients);
	cfg_overrides_free(c->ttl_overrides, c->n_ttl_overrides);
	memset(c, 0, sizeof(*c));
}

void
cfg_errors_free(struct cfg_errors *errs)
{
	size_t i;

	if (errs == NULL)
		return;
	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}

/* Print text wrapped to USAGE_WIDTH columns, every line indented. */
#define USAGE_WIDTH	78
static void
print_wrapped(FILE *fp, const char *text, int indent)
{
	const size_t room = (size_t)(USAGE_WIDTH - indent);
	const char *p = text, *end;

	while (*p != '\0') {
		if (strlen(p) <= room) {
			fprintf(fp, "%*s%s\n", indent, "", p);
			return;
		}
		for (end = p + room; end > p && *end != ' '; end--)
			;
		if (end == p && (end = strchr(p + room, ' ')) == NULL)
			end = p + strlen(p);
		fprintf(fp, "%*s%.*s\n", indent, "", (int)(end - p), p);
		for (p = end; *p == ' '; p++)
			;
	}
}

void
cfg_usage(void *file)
{
	FILE *fp = file;
	const struct cfg_option *o;
	size_t i;

	fprintf(fp, "usage: smproxy [--option value | --option=value ...]\n\n");
	print_wrapped(fp, "Each option can also be set by its environment "
	    "variable and by its key (in brackets) in the JSON --config file; "
	    "a flag wins over the environment, which wins over the file.  A "
	    "boolean flag alone means true; elsewhere a boolean is true, "
	    "false, yes, no, 1 or 0.", 0);
	fprintf(fp, "\n");
	for (i = 0; i < CFG_OPT_COUNT; i++) {
		o = &cfg_options[i];
		fprintf(fp, "  %s%s%s\n", o->flag,
		    o->metavar != NULL ? " " : "",
		    o->metavar != NULL ? o->metavar : "");
		print_wrapped(fp, o->help, 6);
		if (o->env == NULL)
			continue;
		fprintf(fp, "      env %s", o->env);
		if (o->json_key != NULL)
			fprintf(fp, " [%s]", o->json_key);
		fprintf(fp, ", default %s\n",
		    o->default_value != NULL ? o->default_value : "none");
		if (i == CFG_OPT_API_KEY_FILE)
			fprintf(fp, "      env %s: the API key itself, instead "
			    "of a file\n", ENV_API_KEY);
	}
	fprintf(fp, "\n");
	print_wrapped(fp, "The --config file may also hold \"clients\" "
	    "(name, api_key_sha256, secret_groups, secret_ids, iam_ids, "
	    "write) and \"ttl_overrides\" (secret_group or secret_type, with "
	    "ttl, max_stale, negative_ttl).", 0);
}
