/*
 * auth: client authentication and authorization policy.
 *
 * Holds the current set of clients (from the JSON config) behind a
 * reference-counted snapshot, so SIGHUP can swap in new clients while
 * requests keep reading the old ones.
 *
 * Thread rules: auth_new/auth_reload/auth_free in the main thread; the
 * lookups from any thread.
 */
#ifndef SMPROXY_AUTH_H
#define SMPROXY_AUTH_H

#include <stddef.h>

struct cfg;
struct auth;

/* NULL on failure with why filled. */
struct auth *auth_new(const struct cfg *cfg, char *why, size_t whylen);
/* Re-read the config file's clients and TTL overrides; logs the outcome;
 * keeps the old ones on error.  Returns 0 or -1. */
int	 auth_reload(struct auth *a, struct cfg *cfg);
void	 auth_free(struct auth *a);

#endif
