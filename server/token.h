/*
 * token: the proxy's own upstream IAM access token.
 *
 * smproxy exchanges its API key for an IAM token once, keeps it, and
 * refreshes it in the background at 80 % of its lifetime (as the IBM Go
 * core does), or at once after an upstream 401.  A failed exchange backs
 * off exponentially (1 s doubling to 30 s).  This module is the state
 * machine and the response parser; the scheduler performs the HTTP call.
 *
 * Time is injected: `now` is monotonic milliseconds; `wall_now` (epoch
 * seconds) is used only to read IAM's absolute `expiration`.
 * Thread rules: the scheduler thread owns a struct token.  The token text
 * lives in sodium_malloc memory and is wiped when replaced.
 */
#ifndef SMPROXY_TOKEN_H
#define SMPROXY_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TOKEN_EARLY_EXPIRY_MS	10000	/* treat as expired 10 s early */

struct token {
	char	*access;		/* "Bearer " header value source; NULL if none */
	int64_t	 expires_at;		/* monotonic ms */
	int64_t	 refresh_at;		/* monotonic ms */
	int64_t	 expiry_wall;		/* epoch seconds, for metrics */
	bool	 fetching;		/* an exchange is in flight */
	int	 failures;		/* consecutive failed exchanges */
	int64_t	 next_attempt;		/* no exchange before this (backoff) */
	uint64_t generation;		/* bumps on every new token */
};

void	 token_init(struct token *t);
void	 token_cleanup(struct token *t);

/* True when a request may be sent with the current token. */
bool	 token_usable(const struct token *t, int64_t now);

/* True when an exchange should be started now (none in flight, and the
 * token is missing, due for refresh, or was invalidated; backoff allows). */
bool	 token_should_fetch(const struct token *t, int64_t now);

/*
 * Take an IAM token response body.  Returns 0 and installs the token, or
 * -1 when the body is not a usable token response (why says what is wrong,
 * never the token).
 */
int	 token_accept(struct token *t, const char *body, size_t len, int64_t now,
	    int64_t wall_now, char *why, size_t whylen);

/* The exchange failed (network, 4xx/5xx): back off. */
void	 token_failed(struct token *t, int64_t now);

/* Upstream said 401 for a request sent with generation gen: drop the
 * token if it is still that one, so the next request fetches a new one. */
void	 token_invalidate(struct token *t, uint64_t gen);

/*
 * Build the form body for an API-key exchange into a sodium_malloc'd
 * buffer (it holds the key; free with token_form_free).  NULL on failure.
 */
char	*token_form(const char *api_key, size_t *len);
void	 token_form_free(char *form);

#endif
