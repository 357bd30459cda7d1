/*
 * config_int.h: private to config/.  The option table, the problem report
 * that every config file appends to, the value parsers, and the JSON file
 * reader.  Nothing outside config/ includes this header.
 */
#ifndef SMPROXY_CONFIG_INT_H
#define SMPROXY_CONFIG_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

/*
 * Durations are capped (at ten years) so that later arithmetic in
 * milliseconds cannot overflow.
 */
#define CFG_MAX_SECONDS	(INT64_C(10) * 365 * 24 * 3600)

/* Longest upstream API key accepted, in bytes. */
#define CFG_API_KEY_MAX	4096

/* The index of every row of the option table. */
enum cfg_opt_id {
	CFG_OPT_LISTEN,
	CFG_OPT_ADMIN_LISTEN,
	CFG_OPT_UPSTREAM_URL,
	CFG_OPT_IAM_URL,
	CFG_OPT_API_KEY_FILE,
	CFG_OPT_CACHE_PATH,
	CFG_OPT_CACHE_KEY_FILE,
	CFG_OPT_CACHE_OLD_KEY_FILE,
	CFG_OPT_CACHE_RESET_ON_KEY_MISMATCH,
	CFG_OPT_CACHE_MAX_ENTRIES,
	CFG_OPT_CACHE_MAX_BYTES,
	CFG_OPT_CACHE_MAX_ENTRY_BYTES,
	CFG_OPT_RATE_LIMIT,
	CFG_OPT_TTL,
	CFG_OPT_MAX_STALE,
	CFG_OPT_NEGATIVE_TTL,
	CFG_OPT_LIST_TTL,
	CFG_OPT_IDLE_TTL,
	CFG_OPT_DEADLINE_MS,
	CFG_OPT_QUEUE_MAX,
	CFG_OPT_UPSTREAM_TIMEOUT_MS,
	CFG_OPT_THREADS,
	CFG_OPT_DRAIN_TIMEOUT,
	CFG_OPT_AUTH,
	CFG_OPT_ALLOW_INSECURE_NONE,
	CFG_OPT_TOKEN_KEY_FILE,
	CFG_OPT_TOKEN_TTL,
	CFG_OPT_TLS_CERT_FILE,
	CFG_OPT_TLS_KEY_FILE,
	CFG_OPT_LOG_LEVEL,
	CFG_OPT_CONFIG,
	CFG_OPT_CHECK,
	CFG_OPT_HELP,
	CFG_OPT_VERSION,
	CFG_OPT_COUNT
};

/* How a row's text value becomes a field of struct cfg. */
enum cfg_opt_type {
	CFG_TYPE_STRING,	/* char *, strdup'd, then checked */
	CFG_TYPE_INT,		/* int within [min, max] */
	CFG_TYPE_INT64,		/* int64_t within [min, max] */
	CFG_TYPE_BOOL,		/* bool: true/false/1/0/yes/no */
	CFG_TYPE_AUTH,		/* enum cfg_auth */
	CFG_TYPE_LOG_LEVEL,	/* enum cfg_log_level */
	CFG_TYPE_ACTION		/* bool set by a bare command-line flag */
};

/* Where the value that won came from, lowest precedence first. */
enum cfg_source { CFG_SRC_DEFAULT, CFG_SRC_FILE, CFG_SRC_ENV, CFG_SRC_FLAG };

/*
 * A check run on a CFG_TYPE_STRING field after it was set.  *field is the
 * field's strdup'd value; the check may replace it (for instance to strip a
 * trailing slash) and may fill other fields of *c.  Returns 0, or -1 with a
 * sentence in why (which names the value, never a secret).
 */
typedef int (*cfg_check_fn)(struct cfg *c, char **field, char *why,
    size_t whylen);

struct cfg_option {
	const char	*flag;		/* "--rate-limit" */
	const char	*env;		/* "SMPROXY_RATE_LIMIT"; NULL for actions */
	const char	*json_key;	/* "rate_limit"; NULL: not in the file */
	enum cfg_opt_type type;
	const char	*default_value;	/* text form; NULL: unset */
	int64_t		 min, max;	/* integer rows */
	cfg_check_fn	 check;		/* string rows; may be NULL */
	size_t		 offset;	/* the field in struct cfg */
	const char	*metavar;	/* for --help: "N", "URL", "PATH" */
	const char	*help;
};

/* The table, indexed by enum cfg_opt_id (config.c). */
extern const struct cfg_option cfg_options[CFG_OPT_COUNT];

/* The row whose json_key is key, or NULL. */
const struct cfg_option *cfg_option_by_json_key(const char *key);

/*
 * Problems found so far.  problems counts every problem, even one whose
 * message could not be stored for lack of memory, so a load that ran out of
 * memory still fails.
 */
struct cfg_report {
	struct cfg_errors	*errs;
	size_t			 problems;
};

/* Append one formatted sentence to rep. */
void	 cfg_report_add(struct cfg_report *rep, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/*
 * Write "SMPROXY_X (--x)" or, for a value from the JSON file,
 * "SMPROXY_X (--x, config file key \"x\")" into buf.
 */
void	 cfg_option_where(const struct cfg_option *o, enum cfg_source src,
	    char *buf, size_t len);

/*
 * Write value into buf in double quotes, escaping quotes, backslashes and
 * control characters and shortening it to a readable length.
 */
void	 cfg_quote(const char *value, char *buf, size_t len);

/*
 * Set the field of row o from text.  Returns 0, or -1 with the reason in
 * why (the caller prefixes it with the option's names).  A string field that
 * fails its check is left NULL.
 */
int	 cfg_option_set(struct cfg *c, const struct cfg_option *o,
	    const char *text, char *why, size_t whylen);

/* Parse a boolean word; 0 with *out set, or -1. */
int	 cfg_parse_bool(const char *text, bool *out);

/* Split "host:port" or "[v6]:port"; on 0 *host is the caller's (free). */
int	 cfg_split_listen(const char *text, char **host, int *port, char *why,
	    size_t whylen);

/* Whether a listen host is a loopback name or address. */
bool	 cfg_host_is_loopback(const char *host);

/* Checks used by the table (config_parse.c). */
int	 cfg_check_listen(struct cfg *c, char **field, char *why, size_t whylen);
int	 cfg_check_admin_listen(struct cfg *c, char **field, char *why,
	    size_t whylen);
int	 cfg_check_url(struct cfg *c, char **field, char *why, size_t whylen);
int	 cfg_check_iam_url(struct cfg *c, char **field, char *why,
	    size_t whylen);
int	 cfg_check_nonempty(struct cfg *c, char **field, char *why,
	    size_t whylen);
int	 cfg_check_readable(struct cfg *c, char **field, char *why,
	    size_t whylen);
/* Reads the upstream API key file into c->api_key (config_rules.c). */
int	 cfg_check_api_key_file(struct cfg *c, char **field, char *why,
	    size_t whylen);

/*
 * Copy an API key given directly (SMPROXY_API_KEY) into c->api_key.
 * Returns 0, or -1 with a reason that does not contain the key.
 */
int	 cfg_set_api_key(struct cfg *c, const char *key, char *why,
	    size_t whylen);

/*
 * The parsed JSON file.  option_texts[i] is the text form of the value of
 * row i's JSON key, or NULL when the file does not have it.  Everything is
 * owned by the struct; release with cfg_file_cleanup().
 */
struct cfg_file {
	char			*option_texts[CFG_OPT_COUNT];
	struct cfg_client	*clients;
	size_t			 n_clients;
	struct cfg_ttl_override	*ttl_overrides;
	size_t			 n_ttl_overrides;
};

/*
 * Read and check the JSON file at path into *out (cleared on entry).
 * Returns 0, or -1 with every problem added to rep; *out then holds what
 * could be read and must still be cleaned up.
 */
int	 cfg_file_read(const char *path, struct cfg_file *out,
	    struct cfg_report *rep);
void	 cfg_file_cleanup(struct cfg_file *f);

void	 cfg_clients_free(struct cfg_client *clients, size_t n);
void	 cfg_overrides_free(struct cfg_ttl_override *overrides, size_t n);

/*
 * The cross-field rules about clients: auth local needs a client with an
 * api_key_sha256, auth iam one with iam_ids.  Adds problems to rep.
 */
void	 cfg_check_clients_for_auth(enum cfg_auth auth,
	    const struct cfg_client *clients, size_t n_clients,
	    struct cfg_report *rep);

/*
 * The other cross-field rules, run once every option is set.  given[i]
 * tells whether row i had a value from any source but its default, valid[i]
 * whether its value (given or default) was accepted.
 */
void	 cfg_check_rules(const struct cfg *c, const bool given[CFG_OPT_COUNT],
	    const bool valid[CFG_OPT_COUNT], struct cfg_report *rep);

#endif
