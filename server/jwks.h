/*
 * jwks: verifying real IAM access tokens (RS256) against IAM's published
 * key set (`GET {iam_url}/identity/keys`, a JSON Web Key Set).
 *
 * A struct jwks is an immutable set of RSA public keys, each with its kid.
 * The caller fetches the document, parses it here, and swaps the whole set
 * when IAM rotates keys: a token whose kid is not in the set gives
 * JWT_EUNKNOWNKID, which is the cue to refetch once (and, since anyone can
 * send such a token, to rate-limit refetches).
 *
 * Times are wall-clock epoch seconds, as in jwt.h.
 *
 * Thread rules: jwks_parse and jwks_free from any one thread; a parsed set
 * is read-only, so jwks_verify_rs256 and jwks_count may run on many
 * threads at once.  Do not free a set while another thread verifies with
 * it (the caller keeps a reference count or swaps under its own lock).
 */
#ifndef SMPROXY_JWKS_H
#define SMPROXY_JWKS_H

#include <stddef.h>
#include <stdint.h>

#include "server/jwt.h"

#define JWKS_DOC_MAX		((size_t)256 * 1024)	/* longest document accepted */
#define JWKS_KEYS_MAX		64		/* usable keys kept at most */
#define JWKS_RSA_MIN_BITS	2048
#define JWKS_RSA_MAX_BITS	8192

struct jwks;

/*
 * Parse a JWKS document of len bytes: {"keys":[{"kty":"RSA","kid":"...",
 * "n":"<b64url>","e":"<b64url>", ...}, ...]}.  Keys that are not RSA, are
 * marked for another use ("use" other than "sig") or another alg ("alg"
 * other than "RS256"), lack a kid, or whose n/e are malformed or outside
 * JWKS_RSA_MIN_BITS..JWKS_RSA_MAX_BITS are skipped.
 * Returns a set owned by the caller (free with jwks_free), or NULL with why
 * filled when the document is not a JWKS or holds no usable key.
 */
struct jwks	*jwks_parse(const char *json, size_t len, char *why,
		    size_t whylen);

/* Free a set; NULL is a no-op. */
void		 jwks_free(struct jwks *k);

/* Number of usable keys in the set (0 for NULL). */
int		 jwks_count(const struct jwks *k);

/*
 * Check an IAM access token of len bytes: the jwt_split shape rules, alg
 * exactly "RS256", a kid that is in the set (else JWT_EUNKNOWNKID; a token
 * without kid is JWT_EMALFORMED), an RSASSA-PKCS1-v1_5 SHA-256 signature,
 * then exp/iat/nbf as in jwt_verify_hs256.
 * Returns a jwt_result.  *out (may be NULL) is cleared on entry and filled
 * on JWT_OK (iam_id, sub, iss, jti, kid, iat, exp).
 */
int		 jwks_verify_rs256(const struct jwks *k, const char *token,
		    size_t len, int64_t wall_now, int64_t leeway_s,
		    struct jwt_claims *out);

#endif
