/*
 * fake_iam: the IAM side of the fake (SM-API.md section 4): the API-key
 * token exchange at POST /identity/token, the JWKS at GET /identity/keys,
 * and the check that an SM call's bearer token is one this process issued,
 * has not expired and has not been revoked.
 *
 * Access tokens are real RS256 JWTs signed with an RSA-2048 key generated
 * at startup (kid "fake-key-1"), with iat/exp/jti/iss/iam_id claims, so
 * Node clients that decode them and proxies that verify them both work.
 *
 * Thread rules: fiam_new/fiam_free from main only.  fiam_handle from any
 * connection thread without the server lock (it signs unlocked and takes
 * the lock itself to record the token).  fiam_bearer_ok and
 * fiam_revoke_all need the server lock held.
 */
#ifndef FAKE_IAM_H
#define FAKE_IAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tests/fake/fake_http.h"
#include "tests/fake/fake_srv.h"

#define FIAM_DEFAULT_API_KEY	"demo-upstream-key"
#define FIAM_KID		"fake-key-1"
#define FIAM_ISSUER		"https://iam.cloud.ibm.com/identity"

/*
 * An IAM accepting the API keys in api_keys (an array of strings; NULL
 * means just FIAM_DEFAULT_API_KEY), issuing tokens valid for token_ttl_s.
 * Generates the signing key.  Returns NULL with a message in err on
 * failure.  Free with fiam_free() (NULL is a no-op).
 */
struct fiam	*fiam_new(const json_t *api_keys, long token_ttl_s, char *err,
		    size_t errlen);
void		 fiam_free(struct fiam *iam);

/* Answer a request whose path starts with /identity. */
void		 fiam_handle(struct fsrv *srv, const struct freq *rq, struct fresp *rs);

/* True when authorization is "Bearer <token>" for an issued token less than
 * token_ttl_s old and not revoked.  now_ms is wall-clock milliseconds. */
bool		 fiam_bearer_ok(struct fiam *iam, const char *authorization,
		    int64_t now_ms);

/* Forget every token issued so far: they all answer 401 from now on. */
void		 fiam_revoke_all(struct fiam *iam);

#endif
