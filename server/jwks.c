/*
 * jwks: IAM's RSA public keys and RS256 token checks (see jwks.h).
 *
 * The idea: parse once, verify many times.  jwks_parse turns every usable
 * JWK into an OpenSSL EVP_PKEY built from its modulus and exponent with
 * the OpenSSL 3 parameter API (no deprecated RSA_* calls), and the set is
 * never changed afterwards.  Verification shares the shape, header and
 * claim rules with the HS256 tokens through jwt_split/jwt_claims_read, so
 * the two paths cannot drift apart; only the signature step differs.
 *
 * One bad entry does not spoil the set: IAM may publish keys of other
 * types or for other uses next to the RSA signing keys, and skipping them
 * keeps the good keys usable.  A set with no usable key is an error, so a
 * broken fetch never silently replaces a working set.
 *
 * Thread rules: see jwks.h.  OpenSSL errors raised here are cleared before
 * returning so that they do not leak into unrelated code on this thread.
 */
#include "server/jwks.h"

#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/rsa.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Modulus bytes, plus one for a (tolerated) leading zero. */
#define N_BYTES_MAX		(JWKS_RSA_MAX_BITS / 8 + 1)
#define E_BYTES_MAX		8

struct jwks_key {
	char		 kid[65];
	EVP_PKEY	*pkey;
};

struct jwks {
	int		 count;
	struct jwks_key	 keys[JWKS_KEYS_MAX];
};

static void
set_why(char *why, size_t whylen, const char *reason)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "%s", reason);
}

/* Canonical unpadded base64url; 0 with *outlen, or -1. */
static int
b64url_decode(const char *in, size_t len, uint8_t *out, size_t outmax,
    size_t *outlen)
{
	const char	*end = NULL;

	*outlen = 0;
	if (len == 0 || sodium_base642bin(out, outmax, in, len, NULL, outlen,
	    &end, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    end != in + len) {
		*outlen = 0;
		return -1;
	}
	return 0;
}

/* The string member name of obj, or NULL when absent or not a string. */
static const char *
member_string(json_t *obj, const char *name)
{
	return json_string_value(json_object_get(obj, name));
}

/* Decode the base64url member name into a new BIGNUM of at most max
 * bytes; NULL when absent or malformed. */
static BIGNUM *
member_bignum(json_t *jwk, const char *name, size_t max)
{
	json_t		*v = json_object_get(jwk, name);
	uint8_t		 buf[N_BYTES_MAX];
	size_t		 n;

	if (!json_is_string(v) || max > sizeof(buf))
		return NULL;
	if (b64url_decode(json_string_value(v), json_string_length(v), buf,
	    max, &n) != 0)
		return NULL;
	return BN_bin2bn(buf, (int)n, NULL);
}

/* A public RSA key from the n and e of a JWK, or NULL when they are
 * malformed or out of bounds. */
static EVP_PKEY *
rsa_from_jwk(json_t *jwk)
{
	OSSL_PARAM_BLD	*bld = NULL;
	OSSL_PARAM	*params = NULL;
	EVP_PKEY_CTX	*ctx = NULL;
	EVP_PKEY	*pkey = NULL;
	BIGNUM		*n = NULL, *e = NULL;
	int		 bits;

	if ((n = member_bignum(jwk, "n", N_BYTES_MAX)) == NULL ||
	    (e = member_bignum(jwk, "e", E_BYTES_MAX)) == NULL)
		goto done;
	bits = BN_num_bits(n);
	if (bits < JWKS_RSA_MIN_BITS || bits > JWKS_RSA_MAX_BITS ||
	    !BN_is_odd(n) || !BN_is_odd(e) || BN_is_one(e))
		goto done;

	if ((bld = OSSL_PARAM_BLD_new()) == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto done;
	if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL ||
	    EVP_PKEY_fromdata_init(ctx) != 1 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
done:
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(n);
	BN_free(e);
	return pkey;
}

/* Add jwk to k when it is a usable RS256 signing key; otherwise skip it. */
static void
add_key(struct jwks *k, json_t *jwk)
{
	const char	*kty, *use, *alg, *kid;
	EVP_PKEY	*pkey;
	size_t		 kidlen, i;

	if (!json_is_object(jwk) || k->count >= JWKS_KEYS_MAX)
		return;
	kty = member_string(jwk, "kty");
	use = member_string(jwk, "use");
	alg = member_string(jwk, "alg");
	kid = member_string(jwk, "kid");
	if (kty == NULL || strcmp(kty, "RSA") != 0)
		return;
	if ((json_object_get(jwk, "use") != NULL &&
	    (use == NULL || strcmp(use, "sig") != 0)) ||
	    (json_object_get(jwk, "alg") != NULL &&
	    (alg == NULL || strcmp(alg, "RS256") != 0)))
		return;
	if (kid == NULL)
		return;
	kidlen = json_string_length(json_object_get(jwk, "kid"));
	if (kidlen == 0 || kidlen >= sizeof(k->keys[0].kid) ||
	    strlen(kid) != kidlen)
		return;
	for (i = 0; i < kidlen; i++)
		if ((unsigned char)kid[i] < 0x20 || kid[i] == 0x7f)
			return;
	if ((pkey = rsa_from_jwk(jwk)) == NULL)
		return;
	memcpy(k->keys[k->count].kid, kid, kidlen + 1);
	k->keys[k->count].pkey = pkey;
	k->count++;
}

struct jwks *
jwks_parse(const char *json, size_t len, char *why, size_t whylen)
{
	struct jwks	*k = NULL;
	json_t		*doc = NULL, *keys, *jwk;
	json_error_t	 err;
	size_t		 i;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (json == NULL || len == 0 || len > JWKS_DOC_MAX) {
		set_why(why, whylen, "key set is empty or too large");
		return NULL;
	}
	doc = json_loadb(json, len, JSON_REJECT_DUPLICATES, &err);
	if (doc == NULL || !json_is_object(doc)) {
		set_why(why, whylen, "key set is not a JSON object");
		goto done;
	}
	keys = json_object_get(doc, "keys");
	if (!json_is_array(keys)) {
		set_why(why, whylen, "key set has no \"keys\" array");
		goto done;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL) {
		set_why(why, whylen, "out of memory");
		goto done;
	}
	json_array_foreach(keys, i, jwk)
		add_key(k, jwk);
	if (k->count == 0) {
		set_why(why, whylen, "key set holds no usable RS256 key");
		jwks_free(k);
		k = NULL;
	}
done:
	json_decref(doc);
	ERR_clear_error();
	return k;
}

void
jwks_free(struct jwks *k)
{
	int	 i;

	if (k == NULL)
		return;
	for (i = 0; i < k->count; i++)
		EVP_PKEY_free(k->keys[i].pkey);
	free(k);
}

int
jwks_count(const struct jwks *k)
{
	return k == NULL ? 0 : k->count;
}

/* 1 when sig is a valid RSASSA-PKCS1-v1_5 SHA-256 signature of tbs. */
static int
rsa_sha256_ok(EVP_PKEY *pkey, const uint8_t *tbs, size_t tbslen,
    const uint8_t *sig, size_t siglen)
{
	EVP_MD_CTX	*md = NULL;
	EVP_PKEY_CTX	*pctx = NULL;
	int		 ok = 0;

	/* A signature is exactly as long as the modulus. */
	if (siglen == 0 || siglen != (size_t)EVP_PKEY_get_size(pkey))
		return 0;
	if ((md = EVP_MD_CTX_new()) == NULL)
		goto done;
	if (EVP_DigestVerifyInit_ex(md, &pctx, "SHA256", NULL, NULL, pkey,
	    NULL) != 1 ||
	    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1)
		goto done;
	ok = EVP_DigestVerify(md, sig, siglen, tbs, tbslen) == 1;
done:
	EVP_MD_CTX_free(md);
	return ok;
}

int
jwks_verify_rs256(const struct jwks *k, const char *token, size_t len,
    int64_t wall_now, int64_t leeway_s, struct jwt_claims *out)
{
	struct jwt_parts	 p;
	int			 i, r, found = 0, good = 0;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if ((r = jwt_split(token, len, "RS256", &p)) != JWT_OK)
		return r;
	if (!p.has_kid)
		return JWT_EMALFORMED;
	if (k == NULL)
		return JWT_EUNKNOWNKID;
	/* A kid should be unique, but try every key that carries it. */
	for (i = 0; i < k->count && !good; i++) {
		if (strcmp(k->keys[i].kid, p.kid) != 0)
			continue;
		found = 1;
		good = rsa_sha256_ok(k->keys[i].pkey,
		    (const uint8_t *)p.token, p.signed_len, p.sig, p.sig_len);
	}
	ERR_clear_error();
	if (!found)
		return JWT_EUNKNOWNKID;
	if (!good)
		return JWT_EBADSIG;
	return jwt_claims_read(&p, wall_now, leeway_s, out);
}
