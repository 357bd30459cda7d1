/*
 * fake_iam: token exchange, JWKS and bearer-token checks.
 *
 * Issued tokens are remembered as a 16-byte BLAKE2b digest of the whole
 * token string plus its expiry, in an open-addressing table.  Checking a
 * bearer token is one digest and one probe; no JWT parsing is needed since
 * only tokens we issued can be valid.  When the table fills up it is
 * rebuilt without the expired entries, so a long benchmark that fetches a
 * token per request (as KES does) stays bounded by the token lifetime.
 *
 * RSA signing takes about a millisecond, so it happens outside the server
 * lock; the key is immutable after startup.
 *
 * Thread rules: see fake_iam.h.
 */
#include "tests/fake/fake_iam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

#define DIGEST_LEN	16
#define GRANT_APIKEY	"urn:ibm:params:oauth:grant-type:apikey"

struct token_slot {
	unsigned char	 digest[DIGEST_LEN];
	int64_t		 expires_ms;	/* wall clock */
	bool		 used;
};

struct fiam {
	EVP_PKEY		*key;
	char			**api_keys;
	size_t			  napi_keys;
	long			  token_ttl_s;
	char			 *jwks;		/* JSON text */
	struct token_slot	 *slots;	/* behind the server lock */
	size_t			  cap;		/* power of two */
	size_t			  used;
};

static char *
b64url(const unsigned char *bin, size_t len)
{
	size_t	 n = sodium_base64_ENCODED_LEN(len,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	char	*out = malloc(n);

	if (out != NULL)
		sodium_bin2base64(out, n, bin, len,
		    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	return out;
}

static char *
bn_b64url(const BIGNUM *bn)
{
	int		 len = BN_num_bytes(bn);
	unsigned char	*bin = malloc(len > 0 ? (size_t)len : 1);
	char		*out = NULL;

	if (bin != NULL && BN_bn2bin(bn, bin) == len)
		out = b64url(bin, (size_t)len);
	free(bin);
	return out;
}

static char *
make_jwks(EVP_PKEY *key)
{
	BIGNUM	*n = NULL, *e = NULL;
	char	*n64 = NULL, *e64 = NULL, *text = NULL;
	json_t	*jwks = NULL;

	if (EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n) != 1 ||
	    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e) != 1)
		goto done;
	if ((n64 = bn_b64url(n)) == NULL || (e64 = bn_b64url(e)) == NULL)
		goto done;
	jwks = json_pack("{s:[{s:s,s:s,s:s,s:s,s:s,s:s}]}", "keys",
	    "kty", "RSA", "kid", FIAM_KID, "alg", "RS256", "use", "sig",
	    "n", n64, "e", e64);
	if (jwks != NULL)
		text = json_dumps(jwks, JSON_COMPACT);
done:
	BN_free(n);
	BN_free(e);
	free(n64);
	free(e64);
	json_decref(jwks);
	return text;
}

struct fiam *
fiam_new(const json_t *api_keys, long token_ttl_s, char *err, size_t errlen)
{
	struct fiam	*iam;
	size_t		 i, n;

	if ((iam = calloc(1, sizeof(*iam))) == NULL)
		goto nomem;
	iam->token_ttl_s = token_ttl_s;
	n = api_keys ? json_array_size(api_keys) : 1;
	if ((iam->api_keys = calloc(n ? n : 1, sizeof(char *))) == NULL)
		goto nomem;
	for (i = 0; i < n; i++) {
		const char *k = api_keys ?
		    json_string_value(json_array_get(api_keys, i)) :
		    FIAM_DEFAULT_API_KEY;

		if (k == NULL || k[0] == '\0') {
			snprintf(err, errlen, "api_keys[%zu] must be a non-empty string", i);
			goto fail;
		}
		if ((iam->api_keys[i] = strdup(k)) == NULL)
			goto nomem;
		iam->napi_keys++;
	}
	if ((iam->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048)) == NULL) {
		snprintf(err, errlen, "RSA key generation failed");
		goto fail;
	}
	if ((iam->jwks = make_jwks(iam->key)) == NULL)
		goto nomem;
	iam->cap = 1024;
	if ((iam->slots = calloc(iam->cap, sizeof(*iam->slots))) == NULL)
		goto nomem;
	return iam;
nomem:
	snprintf(err, errlen, "out of memory");
fail:
	fiam_free(iam);
	return NULL;
}

void
fiam_free(struct fiam *iam)
{
	size_t i;

	if (iam == NULL)
		return;
	for (i = 0; i < iam->napi_keys; i++) {
		sodium_memzero(iam->api_keys[i], strlen(iam->api_keys[i]));
		free(iam->api_keys[i]);
	}
	free(iam->api_keys);
	EVP_PKEY_free(iam->key);
	free(iam->jwks);
	free(iam->slots);
	free(iam);
}

static void
digest_token(const char *token, size_t len, unsigned char out[DIGEST_LEN])
{
	crypto_generichash(out, DIGEST_LEN, (const unsigned char *)token, len,
	    NULL, 0);
}

static size_t
slot_of(const struct fiam *iam, const unsigned char digest[DIGEST_LEN])
{
	uint64_t h;

	memcpy(&h, digest, sizeof(h));
	return (size_t)(h & (iam->cap - 1));
}

static void
place(struct fiam *iam, const unsigned char digest[DIGEST_LEN],
    int64_t expires_ms)
{
	size_t i = slot_of(iam, digest);

	while (iam->slots[i].used)
		i = (i + 1) & (iam->cap - 1);
	memcpy(iam->slots[i].digest, digest, DIGEST_LEN);
	iam->slots[i].expires_ms = expires_ms;
	iam->slots[i].used = true;
	iam->used++;
}

/* Rebuild the table without expired tokens, sized for what is left. */
static int
rebuild(struct fiam *iam, int64_t now_ms)
{
	struct token_slot	*old = iam->slots;
	size_t			 oldcap = iam->cap, live = 0, cap = 1024, i;

	for (i = 0; i < oldcap; i++)
		if (old[i].used && old[i].expires_ms > now_ms)
			live++;
	while (cap < 4 * (live + 1))
		cap *= 2;
	if ((iam->slots = calloc(cap, sizeof(*iam->slots))) == NULL) {
		iam->slots = old;
		return -1;
	}
	iam->cap = cap;
	iam->used = 0;
	for (i = 0; i < oldcap; i++)
		if (old[i].used && old[i].expires_ms > now_ms)
			place(iam, old[i].digest, old[i].expires_ms);
	free(old);
	return 0;
}

/* Record an issued token; server lock held. */
static int
remember(struct fiam *iam, const unsigned char digest[DIGEST_LEN],
    int64_t expires_ms, int64_t now_ms)
{
	if ((iam->used + 1) * 2 > iam->cap && rebuild(iam, now_ms) == -1)
		return -1;
	place(iam, digest, expires_ms);
	return 0;
}

bool
fiam_bearer_ok(struct fiam *iam, const char *authorization, int64_t now_ms)
{
	unsigned char	 digest[DIGEST_LEN];
	const char	*token;
	size_t		 i;

	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return false;
	token = authorization + 7;
	while (*token == ' ')
		token++;
	if (*token == '\0')
		return false;
	digest_token(token, strlen(token), digest);
	for (i = slot_of(iam, digest); iam->slots[i].used;
	    i = (i + 1) & (iam->cap - 1)) {
		if (memcmp(iam->slots[i].digest, digest, DIGEST_LEN) == 0)
			return iam->slots[i].expires_ms > now_ms;
	}
	return false;
}

void
fiam_revoke_all(struct fiam *iam)
{
	memset(iam->slots, 0, iam->cap * sizeof(*iam->slots));
	iam->used = 0;
}

/* RS256 over input; returns the base64url signature or NULL. */
static char *
sign_rs256(EVP_PKEY *key, const char *input)
{
	EVP_MD_CTX	*ctx = EVP_MD_CTX_new();
	unsigned char	*sig = NULL;
	size_t		 siglen = 0;
	char		*out = NULL;

	if (ctx == NULL ||
	    EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)input,
	    strlen(input)) != 1 ||
	    (sig = malloc(siglen)) == NULL ||
	    EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)input,
	    strlen(input)) != 1)
		goto done;
	out = b64url(sig, siglen);
done:
	free(sig);
	EVP_MD_CTX_free(ctx);
	return out;
}

/* A signed JWT for API key number key_index, or NULL. */
static char *
make_jwt(const struct fiam *iam, size_t key_index, int64_t iat, int64_t exp)
{
	static const char header[] =
	    "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"" FIAM_KID "\"}";
	char	 jti[FHTTP_UUID_LEN], iam_id[80], sub[64];
	char	*h64 = NULL, *p64 = NULL, *payload = NULL, *input = NULL;
	char	*sig = NULL, *jwt = NULL;
	json_t	*claims;

	fhttp_uuid(jti);
	snprintf(sub, sizeof(sub), "ServiceId-fake-%zu", key_index);
	snprintf(iam_id, sizeof(iam_id), "iam-%s", sub);
	claims = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:b,s:s},"
	    "s:I,s:I,s:s,s:s,s:s,s:s,s:i,s:[s]}",
	    "iam_id", iam_id, "id", iam_id, "realmid", "iam", "jti", jti,
	    "identifier", sub, "sub", sub, "sub_type", "ServiceId",
	    "account", "valid", 1, "bss", "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
	    "iat", (json_int_t)iat, "exp", (json_int_t)exp,
	    "iss", FIAM_ISSUER, "grant_type", GRANT_APIKEY,
	    "scope", "ibm openid", "client_id", "default", "acr", 1,
	    "amr", "pwd");
	if (claims == NULL || (payload = json_dumps(claims, JSON_COMPACT)) == NULL)
		goto done;
	h64 = b64url((const unsigned char *)header, strlen(header));
	p64 = b64url((const unsigned char *)payload, strlen(payload));
	if (h64 == NULL || p64 == NULL ||
	    asprintf(&input, "%s.%s", h64, p64) == -1) {
		input = NULL;
		goto done;
	}
	if ((sig = sign_rs256(iam->key, input)) == NULL ||
	    asprintf(&jwt, "%s.%s", input, sig) == -1)
		jwt = NULL;
done:
	json_decref(claims);
	free(payload);
	free(h64);
	free(p64);
	free(input);
	free(sig);
	return jwt;
}

static void
token_exchange(struct fsrv *srv, const struct freq *rq, struct fresp *rs)
{
	struct fiam	*iam = srv->iam;
	char		*grant = NULL, *apikey = NULL, *jwt = NULL, *refresh = NULL;
	unsigned char	 digest[DIGEST_LEN], raw[32];
	int64_t		 now_ms, iat, exp;
	size_t		 i;
	int		 rc;

	grant = fhttp_form_value(rq->body, "grant_type");
	apikey = fhttp_form_value(rq->body, "apikey");
	if (grant == NULL || grant[0] == '\0') {
		fhttp_resp_iam_error(rs, 400, "BXNIM0109E",
		    "Property missing or empty. Property name: grant_type");
		goto done;
	}
	if (strcmp(grant, GRANT_APIKEY) != 0) {
		fhttp_resp_iam_error(rs, 400, "BXNIM0103E",
		    "Unsupported grant type.");
		goto done;
	}
	if (apikey == NULL || apikey[0] == '\0') {
		fhttp_resp_iam_error(rs, 400, "BXNIM0109E",
		    "Property missing or empty. Property name: apikey");
		goto done;
	}
	for (i = 0; i < iam->napi_keys; i++)
		if (strcmp(iam->api_keys[i], apikey) == 0)
			break;
	if (i == iam->napi_keys) {
		fhttp_resp_iam_error(rs, 400, "BXNIM0415E",
		    "Provided API key could not be found.");
		goto done;
	}
	now_ms = fhttp_wall_ms();
	iat = now_ms / 1000;
	exp = iat + iam->token_ttl_s;
	randombytes_buf(raw, sizeof(raw));
	if ((jwt = make_jwt(iam, i, iat, exp)) == NULL ||
	    (refresh = b64url(raw, sizeof(raw))) == NULL) {
		fhttp_resp_iam_error(rs, 500, "BXNIM0500E", "Token signing failed.");
		goto done;
	}
	digest_token(jwt, strlen(jwt), digest);
	pthread_mutex_lock(&srv->lock);
	/* The fake honours a token for the full TTL from issue, in ms; the
	 * exp claim, in whole seconds, can only end earlier. */
	rc = remember(iam, digest, now_ms + iam->token_ttl_s * 1000, now_ms);
	pthread_mutex_unlock(&srv->lock);
	if (rc == -1) {
		fhttp_resp_iam_error(rs, 500, "BXNIM0500E", "Out of memory.");
		goto done;
	}
	fhttp_resp_json(rs, 200, json_pack("{s:s,s:s,s:s,s:I,s:I,s:s}",
	    "access_token", jwt, "refresh_token", refresh, "token_type", "Bearer",
	    "expires_in", (json_int_t)iam->token_ttl_s,
	    "expiration", (json_int_t)exp, "scope", "ibm openid"));
done:
	if (apikey != NULL)
		sodium_memzero(apikey, strlen(apikey));
	free(grant);
	free(apikey);
	free(jwt);
	free(refresh);
}

void
fiam_handle(struct fsrv *srv, const struct freq *rq, struct fresp *rs)
{
	bool token = rq->nsegs == 2 && strcmp(rq->segs[1], "token") == 0;
	bool keys = rq->nsegs == 2 && strcmp(rq->segs[1], "keys") == 0;

	if (!token && !keys) {
		fhttp_resp_iam_error(rs, 404, "BXNIM0404E", "Not found.");
		return;
	}
	if (token && strcmp(rq->method, "POST") != 0) {
		fhttp_resp_iam_error(rs, 405, "BXNIM0405E", "Method not allowed.");
		rs->allow = "POST";
		return;
	}
	if (keys && strcmp(rq->method, "GET") != 0) {
		fhttp_resp_iam_error(rs, 405, "BXNIM0405E", "Method not allowed.");
		rs->allow = "GET";
		return;
	}
	if (keys) {
		fhttp_resp_empty(rs, 200);
		if ((rs->body = strdup(srv->iam->jwks)) == NULL) {
			fhttp_resp_iam_error(rs, 500, "BXNIM0500E", "Out of memory.");
			return;
		}
		rs->body_len = strlen(rs->body);
		rs->content_type = FHTTP_JSON;
		return;
	}
	token_exchange(srv, rq, rs);
}
