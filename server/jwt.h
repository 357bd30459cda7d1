/*
 * jwt: the proxy's own client tokens (HS256 JSON Web Tokens).
 *
 * In local auth mode a client trades its API key at the token endpoint for
 * a short-lived token that smproxy signs with a 32-byte HMAC key; later
 * requests carry it as a Bearer token and are checked here without any
 * lookup.  The tokens look like IAM's: header.payload.signature in
 * unpadded base64url, with numeric `iat` and `exp` in the payload, which is
 * what the IBM SDKs decode to plan their refreshes (SM-API.md 4.3).  They
 * are never sent upstream.
 *
 * The parsing half (jwt_split, jwt_claims_read) is shared with jwks.c,
 * which checks real IAM tokens (RS256) with the same rules.
 *
 * Times in this module are wall-clock epoch seconds (`wall_now`), because
 * that is what `iat` and `exp` hold; only the caller reads the clock.
 *
 * Thread rules: every function may be called from any thread; none keeps
 * state between calls.
 */
#ifndef SMPROXY_JWT_H
#define SMPROXY_JWT_H

#include <stddef.h>
#include <stdint.h>

#define JWT_KEY_BYTES		32
#define JWT_TOKEN_MAX		4096	/* longest token accepted, bytes */
#define JWT_SIG_MAX		1024	/* an RSA-8192 signature */
#define JWT_JTI_BYTES		33	/* 32 hex digits and a NUL */
#define JWT_IAM_ID_PREFIX	"smproxy-client-"

enum jwt_result {
	JWT_OK = 0,
	JWT_EMALFORMED,		/* not a JWT, or claims of the wrong type/size */
	JWT_EBADSIG,		/* signature does not match */
	JWT_EEXPIRED,		/* exp <= wall_now - leeway */
	JWT_ENOTYET,		/* iat (or nbf) > wall_now + leeway */
	JWT_EALG,		/* header alg is not the one expected */
	JWT_EUNKNOWNKID		/* RS256 only: kid not in the key set */
};

/*
 * Claims of a verified token.  String claims that the token lacks are
 * empty; a present one is always shorter than its buffer and free of
 * control characters (a longer one makes the token JWT_EMALFORMED).
 * kid comes from the header.
 */
struct jwt_claims {
	char	 sub[65];
	char	 iss[129];
	char	 jti[65];
	char	 iam_id[129];
	char	 kid[65];
	int64_t	 iat;
	int64_t	 exp;
};

/* A short fixed English name for a jwt_result ("expired"); never NULL. */
const char	*jwt_result_str(int result);

/*
 * Sign a token for client sub, issued by iss, valid from iat until exp
 * (epoch seconds, exp > iat).  The payload holds iat, exp, sub, iss, a
 * fresh random jti and iam_id = JWT_IAM_ID_PREFIX + sub.  sub is 1..64
 * bytes and iss 1..128 bytes of printable text.
 * On 0, jti_out (JWT_JTI_BYTES) holds the jti and *token_out is a
 * malloc'd NUL-terminated token that the caller frees with
 * jwt_token_free.  On -1 (bad arguments, out of memory) jti_out is empty
 * and *token_out NULL.
 */
int	 jwt_sign_hs256(const uint8_t key[JWT_KEY_BYTES], const char *sub,
	    const char *iss, int64_t iat, int64_t exp, char *jti_out,
	    char **token_out);

/* Wipe and free a token from jwt_sign_hs256; NULL is a no-op. */
void	 jwt_token_free(char *token);

/*
 * Check a client token of len bytes (no NUL needed): three base64url
 * parts, header alg exactly "HS256", the MAC (compared in constant time),
 * then exp > wall_now - leeway_s and iat <= wall_now + leeway_s (both
 * claims are required; nbf is honoured when present).
 * Returns a jwt_result.  *out is cleared on entry and filled only on
 * JWT_OK; out may be NULL.
 */
int	 jwt_verify_hs256(const uint8_t key[JWT_KEY_BYTES], const char *token,
	    size_t len, int64_t wall_now, int64_t leeway_s,
	    struct jwt_claims *out);

/*
 * Read the header's kid without checking anything else.  Returns 0 with
 * kid filled ("" when the header has none), or -1 when the header cannot
 * be read or the kid does not fit in kidlen (kid is then "").
 */
int	 jwt_peek_kid(const char *token, size_t len, char *kid, size_t kidlen);

/*
 * Load an HMAC key file: base64 of exactly 32 bytes, as printed by
 * `openssl rand -base64 32` (whitespace around it is ignored).  On 0 *key
 * is sodium_malloc'd and read-only; free it with jwt_key_free.  On -1
 * *key is NULL and why says what is wrong, never echoing the file.
 */
int	 jwt_key_load(const char *path, uint8_t **key, char *why,
	    size_t whylen);

/* A fresh random key (sodium_malloc'd, read-only), or NULL.  Tokens
 * signed with it die with the process.  Free with jwt_key_free. */
uint8_t	*jwt_key_random(void);

/* Wipe and free a key; NULL is a no-op. */
void	 jwt_key_free(uint8_t *key);

/*
 * The shared parsing half, used by jwt.c and jwks.c.
 *
 * jwt_split checks the shape of a token: at most JWT_TOKEN_MAX bytes, three
 * dot-separated parts of canonical unpadded base64url, a header that is a
 * JSON object with a string alg (equal to want_alg, else JWT_EALG) and an
 * optional string kid, no "crit" header, and a signature of at most
 * JWT_SIG_MAX bytes.  Nothing is verified.  Returns a jwt_result; *p is
 * cleared on entry and borrows from token (which must outlive it).
 */
struct jwt_parts {
	const char	*token;
	size_t		 signed_len;	/* bytes of "header.payload" */
	const char	*payload_b64;	/* inside token, not NUL-terminated */
	size_t		 payload_b64_len;
	uint8_t		 sig[JWT_SIG_MAX];
	size_t		 sig_len;
	char		 kid[65];
	int		 has_kid;
};

int	 jwt_split(const char *token, size_t len, const char *want_alg,
	    struct jwt_parts *p);

/*
 * After the signature over p has been verified: decode the payload, read
 * the claims and check the times as jwt_verify_hs256 does.  Returns a
 * jwt_result; *out (may be NULL) is cleared on entry, filled on JWT_OK.
 */
int	 jwt_claims_read(const struct jwt_parts *p, int64_t wall_now,
	    int64_t leeway_s, struct jwt_claims *out);

#endif
