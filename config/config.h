/*
 * config: smproxy's configuration, from defaults, a JSON file, the
 * environment and command-line flags (later sources win: flag > env >
 * file > default).
 *
 * Every option is one row of a table (name, flag, env, JSON key, type,
 * validator); cfg_load() walks the table, so an option cannot have a flag
 * but no env name, and every error names both.  Secrets (the upstream API
 * key) are read from a file or the environment and are never echoed in an
 * error message or by cfg_dump().
 *
 * Thread rules: cfg_load() runs at startup or on SIGHUP in the main thread;
 * a loaded struct cfg is immutable afterwards and may be read from any
 * thread.
 */
#ifndef SMPROXY_CONFIG_H
#define SMPROXY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum cfg_auth { CFG_AUTH_LOCAL, CFG_AUTH_IAM, CFG_AUTH_NONE };
enum cfg_log_level { CFG_LOG_DEBUG, CFG_LOG_INFO, CFG_LOG_WARN, CFG_LOG_ERROR };

/* One client of the proxy (JSON "clients" array). */
struct cfg_client {
	char	 *name;
	uint8_t	  api_key_sha256[32];	/* sha256 of the client's API key */
	bool	  has_api_key;		/* api_key_sha256 was given */
	char	**secret_groups;	/* group ids; "*" means all */
	size_t	  n_secret_groups;
	bool	  all_groups;		/* secret_groups contains "*" */
	char	**secret_ids;		/* single secrets allowed besides groups */
	size_t	  n_secret_ids;
	char	**iam_ids;		/* IAM identities mapped to this client (auth=iam) */
	size_t	  n_iam_ids;
	bool	  write;		/* may call write routes */
};

/*
 * A TTL override (JSON "ttl_overrides" array).  Exactly one of group_id and
 * secret_type is set.  A value < 0 means "inherit the global value".
 */
struct cfg_ttl_override {
	char	*secret_group;		/* group id, or NULL */
	char	*secret_type;		/* secret type, or NULL */
	int64_t	 ttl_s;
	int64_t	 max_stale_s;
	int64_t	 negative_ttl_s;
};

struct cfg {
	/* Listener: "host:port"; port 0 binds a free port. */
	char	*listen;
	char	*listen_host;		/* parsed from listen */
	int	 listen_port;
	char	*admin_listen;		/* NULL: admin endpoints on the main listener */
	char	*admin_host;
	int	 admin_port;

	char	*upstream_url;		/* SM instance base URL, no trailing slash */
	char	*iam_url;		/* IAM base URL, no trailing slash */
	char	*api_key_file;
	char	*api_key;		/* upstream API key; secret, sodium_malloc'd */

	char	*cache_path;		/* ":memory:" for an unpersisted cache */
	char	*cache_key_file;
	char	*cache_old_key_file;
	bool	 cache_reset_on_key_mismatch;
	int64_t	 cache_max_entries;
	int64_t	 cache_max_bytes;
	int64_t	 cache_max_entry_bytes;

	int	 rate_limit;		/* upstream requests per rolling second */
	int64_t	 ttl_s;
	int64_t	 max_stale_s;
	int64_t	 negative_ttl_s;
	int64_t	 list_ttl_s;
	int64_t	 idle_ttl_s;
	int64_t	 deadline_ms;		/* how long a client may wait in the queue */
	int	 queue_max;		/* waiting jobs, all classes together */
	int64_t	 upstream_timeout_ms;
	int	 threads;		/* HTTP worker threads */
	int64_t	 drain_timeout_s;

	enum cfg_auth auth;
	bool	 allow_insecure_none;
	char	*token_key_file;	/* signing key for proxy tokens; NULL: in memory */
	int64_t	 token_ttl_s;
	char	*tls_cert_file;
	char	*tls_key_file;

	enum cfg_log_level log_level;
	char	*config_path;		/* --config / SMPROXY_CONFIG */

	struct cfg_client	*clients;
	size_t			 n_clients;
	struct cfg_ttl_override	*ttl_overrides;
	size_t			 n_ttl_overrides;

	/* Actions asked for on the command line. */
	bool	 check;
	bool	 help;
	bool	 version;
};

/* A list of problems found while loading; each is one human sentence. */
struct cfg_errors {
	char	**msgs;
	size_t	  n;
};

/*
 * Load the configuration.  envp is a NULL-terminated "NAME=value" array
 * (environ in main, a fixed array in tests).  On return *c is filled as far
 * as possible.  Returns 0 when there were no problems, -1 otherwise; every
 * problem is appended to errs (one message per problem, each naming the
 * option's flag and environment variable).  The caller frees *c with
 * cfg_free() and errs with cfg_errors_free() in both cases.
 *
 * *c is cleared on entry (free an earlier load first); errs must be zeroed
 * (or hold earlier messages, which are kept).  With --help or --version
 * only the command line is read: the return value then covers command-line
 * problems only, and the other fields stay zero.
 */
int	 cfg_load(struct cfg *c, int argc, char **argv, char **envp,
	    struct cfg_errors *errs);
void	 cfg_free(struct cfg *c);
void	 cfg_errors_free(struct cfg_errors *errs);

/* Print --help text to the stream. */
void	 cfg_usage(void *file);

/*
 * Print the effective configuration to the stream (a FILE *), one
 * "key = value" line per option, then the clients and TTL overrides; for
 * --check.  The API key is shown only as set or unset, client key hashes
 * not at all.
 */
void	 cfg_dump(const struct cfg *c, void *file);

/*
 * Load only the JSON file's clients and TTL overrides into *c, replacing
 * the ones there (for SIGHUP).  Returns 0 or -1 with errs filled and *c
 * unchanged.
 *
 * The file's other option values are checked as well (a bad one would
 * stop the next start) but not applied: they need a restart.
 */
int	 cfg_reload_file(struct cfg *c, struct cfg_errors *errs);

/*
 * The TTLs (in seconds) that apply to a secret of the given group and type
 * (either may be NULL).  A group override wins over a type override.
 */
void	 cfg_ttls_for(const struct cfg *c, const char *group, const char *type,
	    int64_t *ttl_s, int64_t *max_stale_s, int64_t *negative_ttl_s);

/* Find a client by name; NULL if none. */
const struct cfg_client *cfg_client_by_name(const struct cfg *c, const char *name);

#endif
