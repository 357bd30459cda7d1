/*
 * auth: who is calling, and what they may read or write.
 *
 * Modes (cfg->auth):
 *   local  clients hold a proxy API key (only its SHA-256 is configured),
 *          exchange it at the proxy's IAM-compatible POST /identity/token
 *          for a short-lived HS256 JWT signed by the proxy, and send that
 *          token as "Authorization: Bearer ...";
 *   iam    clients send real IBM Cloud IAM access tokens; the proxy checks
 *          them against IAM's JWKS (RS256) and maps the token's iam_id to
 *          a configured client;
 *   none   no authentication (local development on loopback only).
 *
 * Policies come from the JSON config's "clients".  They live in an
 * immutable, reference-counted snapshot, so SIGHUP can swap in new ones
 * while requests finish with the old.  Proxy tokens never go upstream.
 *
 * Thread rules: auth_new/auth_reload/auth_free run in the main thread;
 * everything else may run on any thread.
 */
#ifndef SMPROXY_AUTH_H
#define SMPROXY_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct auth;
struct auth_policy;

/* One client's policy (read-only; valid while its snapshot is held). */
struct auth_client {
	char	  name[65];
	uint8_t	  key_sha256[32];
	bool	  has_key;
	bool	  all_groups;
	bool	  write;
	char	**groups;	/* allowed secret group ids */
	size_t	  n_groups;
	char	**ids;		/* allowed single secrets */
	size_t	  n_ids;
	char	**iam_ids;
	size_t	  n_iam_ids;
};

enum auth_result {
	AUTH_OK = 0,
	AUTH_MISSING,		/* no bearer token */
	AUTH_INVALID,		/* malformed, bad signature, unknown client */
	AUTH_EXPIRED,
	AUTH_UNAVAILABLE	/* iam mode: no signing keys yet */
};

/* NULL on failure with why filled. */
struct auth *auth_new(const struct cfg *cfg, char *why, size_t whylen);
/* Re-read the --config file's clients and TTL overrides into *cfg and a
 * new policy snapshot; logs the outcome; keeps the old ones on error.
 * Returns 0 or -1. */
int	 auth_reload(struct auth *a, struct cfg *cfg);
void	 auth_free(struct auth *a);

/*
 * Identify the caller from its Authorization header value (may be NULL).
 * On AUTH_OK, *who is the client (NULL in none mode) and *snap holds the
 * snapshot it lives in: release it with auth_release.  wall_s is the
 * current time in epoch seconds.
 */
int	 auth_identify(struct auth *a, const char *authorization, int64_t wall_s,
	    const struct auth_client **who, struct auth_policy **snap);
void	 auth_release(struct auth_policy *snap);

/* May c read a secret with this id and group ("" when unknown)?  A NULL
 * client (mode none) may read everything. */
bool	 auth_may_read(const struct auth_client *c, const char *secret_id,
	    const char *group_id);
bool	 auth_may_read_group(const struct auth_client *c, const char *group_id);

/*
 * The IAM-compatible token endpoint.  body is the form-encoded request.
 * Returns the HTTP status and sets *out (malloc'd JSON, IAM's shape on
 * errors) and *retry_after_s (> 0 when throttled).
 */
int	 auth_token_endpoint(struct auth *a, const char *body, size_t len,
	    const char *peer, int64_t wall_s, int64_t now_ms, char **out,
	    size_t *outlen, int *retry_after_s);

/* Ask for a JWKS refetch (iam mode; rate-limited inside). */
void	 auth_jwks_refresh(struct auth *a);

#endif
