/*
 * test_jwks.c: IAM-style RS256 tokens against a JWKS built in the test
 * from freshly generated RSA-2048 keys: good tokens, unknown kid,
 * tampering, a token signed by the wrong key, algorithm confusion, the
 * clock, and key sets with junk in them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "server/jwks.h"
#include "server/jwt.h"
#include "tests/unit/jwt_fixture.h"

#define T0		((int64_t)1700000000)
#define LEEWAY		60
#define IAM_PAYLOAD	"{\"iam_id\":\"IBMid-2700001\",\"id\":\"IBMid-2700001\"," \
	"\"sub\":\"ServiceId-1234\",\"iss\":\"https://iam.cloud.ibm.com/identity\"," \
	"\"grant_type\":\"urn:ibm:params:oauth:grant-type:apikey\"," \
	"\"scope\":\"ibm openid\",\"iat\":1700000000,\"exp\":1700003600}"

struct keys {
	EVP_PKEY	*a;		/* kid "k-a" */
	EVP_PKEY	*b;		/* kid "k-b" */
	EVP_PKEY	*stranger;	/* in no set */
	char		*n_a, *e_a, *n_b, *e_b;
	char		*jwks;		/* both keys plus junk */
};

static struct keys K;

static char *
bn_param_b64(EVP_PKEY *pkey, const char *name)
{
	BIGNUM *bn = NULL;
	uint8_t buf[1024];
	int n;
	char *s;

	if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1)
		return NULL;
	n = BN_bn2bin(bn, buf);
	BN_free(bn);
	s = jwtfx_b64url(buf, (size_t)n);
	return s;
}

static int
group_setup(void **state)
{
	size_t n;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	K.a = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	K.b = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	K.stranger = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	if (K.a == NULL || K.b == NULL || K.stranger == NULL)
		return -1;
	K.n_a = bn_param_b64(K.a, OSSL_PKEY_PARAM_RSA_N);
	K.e_a = bn_param_b64(K.a, OSSL_PKEY_PARAM_RSA_E);
	K.n_b = bn_param_b64(K.b, OSSL_PKEY_PARAM_RSA_N);
	K.e_b = bn_param_b64(K.b, OSSL_PKEY_PARAM_RSA_E);
	if (K.n_a == NULL || K.e_a == NULL || K.n_b == NULL || K.e_b == NULL)
		return -1;
	n = 8 * strlen(K.n_a) + strlen(K.n_b) + 2048;
	if ((K.jwks = malloc(n)) == NULL)
		return -1;
	/* IAM's shape: kty, n, e, alg, kid; an EC key and junk around them. */
	snprintf(K.jwks, n, "{\"keys\":["
	    "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec-1\",\"x\":\"AA\",\"y\":\"AA\"},"
	    "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\",\"alg\":\"RS256\",\"kid\":\"k-a\"},"
	    "42, null, \"junk\", [],"
	    "{\"kty\":\"RSA\",\"kid\":\"no-n\",\"e\":\"AQAB\"},"
	    "{\"kty\":\"RSA\",\"kid\":\"bad-n\",\"n\":\"!!!\",\"e\":\"AQAB\"},"
	    "{\"kty\":\"RSA\",\"kid\":\"short-n\",\"n\":\"AQAB\",\"e\":\"AQAB\"},"
	    "{\"kty\":\"RSA\",\"kid\":7,\"n\":\"%s\",\"e\":\"%s\"},"
	    "{\"kty\":\"RSA\",\"kid\":\"enc\",\"use\":\"enc\",\"n\":\"%s\",\"e\":\"%s\"},"
	    "{\"kty\":\"RSA\",\"kid\":\"rs512\",\"alg\":\"RS512\",\"n\":\"%s\",\"e\":\"%s\"},"
	    "{\"kty\":\"RSA\",\"kid\":\"even-e\",\"n\":\"%s\",\"e\":\"AQAA\"},"
	    "{\"kid\":\"no-kty\",\"n\":\"%s\",\"e\":\"%s\"},"
	    "{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"%s\",\"use\":\"sig\",\"kid\":\"k-b\",\"extra\":{}}"
	    "]}",
	    K.n_a, K.e_a, K.n_a, K.e_a, K.n_a, K.e_a, K.n_a, K.e_a, K.n_a,
	    K.n_a, K.e_a, K.n_b, K.e_b);
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(K.a);
	EVP_PKEY_free(K.b);
	EVP_PKEY_free(K.stranger);
	free(K.n_a);
	free(K.e_a);
	free(K.n_b);
	free(K.e_b);
	free(K.jwks);
	return 0;
}

/* header.payload signed with RSASSA-PKCS1-v1_5 SHA-256 by pkey. */
static char *
rs256(EVP_PKEY *pkey, const char *header, const char *payload)
{
	char *tok = jwtfx_signing_input(header, payload);
	uint8_t sig[1024];
	size_t siglen = sizeof(sig);
	EVP_MD_CTX *md = EVP_MD_CTX_new();

	assert_non_null(md);
	assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL,
	    pkey), 1);
	assert_int_equal(EVP_DigestSign(md, sig, &siglen,
	    (const uint8_t *)tok, strlen(tok)), 1);
	EVP_MD_CTX_free(md);
	return jwtfx_add_signature(tok, sig, siglen);
}

static struct jwks *
parse_set(void)
{
	char why[256];
	struct jwks *k = jwks_parse(K.jwks, strlen(K.jwks), why, sizeof(why));

	if (k == NULL)
		fail_msg("jwks_parse: %s", why);
	return k;
}

static int
verify(const struct jwks *k, const char *tok, int64_t now)
{
	struct jwt_claims c;

	return jwks_verify_rs256(k, tok, strlen(tok), now, LEEWAY, &c);
}

static void
test_parse(void **state)
{
	struct jwks *k = parse_set();

	(void)state;
	assert_int_equal(jwks_count(k), 2);
	jwks_free(k);
	assert_int_equal(jwks_count(NULL), 0);
	jwks_free(NULL);
}

static void
test_parse_bad(void **state)
{
	static const char *docs[] = {
		"",
		"not json",
		"[]",
		"{}",
		"{\"keys\":{}}",
		"{\"keys\":[]}",
		"{\"keys\":[1,2,{\"kty\":\"oct\",\"k\":\"AAAA\"}]}",
		"{\"keys\":[],\"keys\":[]}",
	};
	char why[256];
	size_t i;
	char *big;

	(void)state;
	for (i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
		strcpy(why, "");
		assert_null(jwks_parse(docs[i], strlen(docs[i]), why,
		    sizeof(why)));
		assert_true(strlen(why) > 0);
	}
	assert_null(jwks_parse(NULL, 10, why, sizeof(why)));
	assert_null(jwks_parse("{}", 2, NULL, 0));
	big = malloc(JWKS_DOC_MAX + 1);
	memset(big, ' ', JWKS_DOC_MAX + 1);
	assert_null(jwks_parse(big, JWKS_DOC_MAX + 1, why, sizeof(why)));
	free(big);
}

static void
test_verify_ok(void **state)
{
	struct jwks *k = parse_set();
	struct jwt_claims c;
	char *tok;
	char kid[65];

	(void)state;
	tok = rs256(K.a, "{\"kid\":\"k-a\",\"alg\":\"RS256\"}", IAM_PAYLOAD);
	memset(&c, 0x33, sizeof(c));
	assert_int_equal(jwks_verify_rs256(k, tok, strlen(tok), T0 + 5, LEEWAY,
	    &c), JWT_OK);
	assert_string_equal(c.iam_id, "IBMid-2700001");
	assert_string_equal(c.sub, "ServiceId-1234");
	assert_string_equal(c.iss, "https://iam.cloud.ibm.com/identity");
	assert_string_equal(c.kid, "k-a");
	assert_string_equal(c.jti, "");
	assert_int_equal(c.iat, T0);
	assert_int_equal(c.exp, T0 + 3600);
	assert_int_equal(jwt_peek_kid(tok, strlen(tok), kid, sizeof(kid)), 0);
	assert_string_equal(kid, "k-a");
	free(tok);

	/* The second key of the set (listed after the junk). */
	tok = rs256(K.b, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k-b\"}",
	    IAM_PAYLOAD);
	assert_int_equal(jwks_verify_rs256(k, tok, strlen(tok), T0, 0, NULL),
	    JWT_OK);
	free(tok);
	jwks_free(k);
}

static void
test_unknown_kid(void **state)
{
	struct jwks *k = parse_set();
	char *tok;

	(void)state;
	tok = rs256(K.stranger, "{\"alg\":\"RS256\",\"kid\":\"k-new\"}",
	    IAM_PAYLOAD);
	assert_int_equal(verify(k, tok, T0), JWT_EUNKNOWNKID);
	/* No set yet counts as unknown too, so the caller fetches one. */
	assert_int_equal(verify(NULL, tok, T0), JWT_EUNKNOWNKID);
	free(tok);
	/* Kids that were skipped while parsing are unknown. */
	tok = rs256(K.a, "{\"alg\":\"RS256\",\"kid\":\"enc\"}", IAM_PAYLOAD);
	assert_int_equal(verify(k, tok, T0), JWT_EUNKNOWNKID);
	free(tok);
	/* A token without kid is not an IAM token. */
	tok = rs256(K.a, "{\"alg\":\"RS256\"}", IAM_PAYLOAD);
	assert_int_equal(verify(k, tok, T0), JWT_EMALFORMED);
	free(tok);
	jwks_free(k);
}

static void
test_tampered(void **state)
{
	struct jwks *k = parse_set();
	char *tok, *s, *dot;
	char *other;
	size_t n;

	(void)state;
	tok = rs256(K.a, "{\"alg\":\"RS256\",\"kid\":\"k-a\"}", IAM_PAYLOAD);
	/* One character of the payload. */
	s = strdup(tok);
	dot = strchr(s, '.');
	dot[7] = dot[7] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(k, s, T0), JWT_EBADSIG);
	free(s);
	/* One character of the signature. */
	s = strdup(tok);
	dot = strrchr(s, '.');
	dot[10] = dot[10] == 'A' ? 'B' : 'A';
	assert_int_equal(verify(k, s, T0), JWT_EBADSIG);
	/* A signature cut short (still canonical base64url). */
	dot[1 + 340] = '\0';
	assert_int_equal(verify(k, s, T0), JWT_EBADSIG);
	dot[1] = '\0';
	assert_int_equal(verify(k, s, T0), JWT_EBADSIG);
	free(s);
	/* Another payload under the original signature. */
	other = rs256(K.a, "{\"alg\":\"RS256\",\"kid\":\"k-a\"}",
	    "{\"iam_id\":\"IBMid-admin\",\"iat\":1700000000,\"exp\":1900000000}");
	dot = strrchr(other, '.');
	n = (size_t)(dot - other) + strlen(strrchr(tok, '.')) + 1;
	s = malloc(n);
	memcpy(s, other, (size_t)(dot - other));
	strcpy(s + (dot - other), strrchr(tok, '.'));
	assert_int_equal(verify(k, s, T0), JWT_EBADSIG);
	free(s);
	free(other);
	free(tok);
	/* Signed by a key that is not the one its kid names. */
	tok = rs256(K.b, "{\"alg\":\"RS256\",\"kid\":\"k-a\"}", IAM_PAYLOAD);
	assert_int_equal(verify(k, tok, T0), JWT_EBADSIG);
	free(tok);
	tok = rs256(K.stranger, "{\"alg\":\"RS256\",\"kid\":\"k-b\"}",
	    IAM_PAYLOAD);
	assert_int_equal(verify(k, tok, T0), JWT_EBADSIG);
	free(tok);
	jwks_free(k);
}

static void
test_wrong_alg(void **state)
{
	struct jwks *k = parse_set();
	static const char *headers[] = {
		"{\"alg\":\"HS256\",\"kid\":\"k-a\"}",
		"{\"alg\":\"none\",\"kid\":\"k-a\"}",
		"{\"alg\":\"RS512\",\"kid\":\"k-a\"}",
		"{\"alg\":\"PS256\",\"kid\":\"k-a\"}",
		"{\"alg\":\"rs256\",\"kid\":\"k-a\"}",
	};
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	const char *hdr;
	char *tok, *h, *p, *s, buf[4096];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		tok = rs256(K.a, headers[i], IAM_PAYLOAD);
		assert_int_equal(verify(k, tok, T0), JWT_EALG);
		free(tok);
	}
	/* Key confusion: HS256 keyed with the public modulus. */
	hdr = "{\"alg\":\"HS256\",\"kid\":\"k-a\"}";
	h = jwtfx_b64url(hdr, strlen(hdr));
	p = jwtfx_b64url(IAM_PAYLOAD, strlen(IAM_PAYLOAD));
	snprintf(buf, sizeof(buf), "%s.%s", h, p);
	crypto_auth_hmacsha256(mac, (const uint8_t *)buf, strlen(buf),
	    (const uint8_t *)K.n_a);
	s = jwtfx_b64url(mac, sizeof(mac));
	strcat(buf, ".");
	strcat(buf, s);
	free(s);
	assert_int_equal(verify(k, buf, T0), JWT_EALG);
	/* And the unsigned form. */
	free(h);
	hdr = "{\"alg\":\"none\",\"kid\":\"k-a\"}";
	h = jwtfx_b64url(hdr, strlen(hdr));
	snprintf(buf, sizeof(buf), "%s.%s.", h, p);
	assert_int_equal(verify(k, buf, T0), JWT_EALG);
	free(h);
	free(p);
	/* An RS256 token is not an HS256 client token either. */
	tok = rs256(K.a, "{\"alg\":\"RS256\",\"kid\":\"k-a\"}", IAM_PAYLOAD);
	{
		uint8_t key[JWT_KEY_BYTES] = { 0 };
		assert_int_equal(jwt_verify_hs256(key, tok, strlen(tok), T0,
		    0, NULL), JWT_EALG);
	}
	free(tok);
	jwks_free(k);
}

static void
test_clock(void **state)
{
	struct jwks *k = parse_set();
	char *tok;

	(void)state;
	tok = rs256(K.a, "{\"alg\":\"RS256\",\"kid\":\"k-a\"}", IAM_PAYLOAD);
	assert_int_equal(verify(k, tok, T0 + 3600 + LEEWAY - 1), JWT_OK);
	assert_int_equal(verify(k, tok, T0 + 3600 + LEEWAY), JWT_EEXPIRED);
	assert_int_equal(verify(k, tok, T0 + 86400), JWT_EEXPIRED);
	assert_int_equal(verify(k, tok, T0 - LEEWAY), JWT_OK);
	assert_int_equal(verify(k, tok, T0 - LEEWAY - 1), JWT_ENOTYET);
	free(tok);
	/* Claims of the wrong type, under a good signature. */
	tok = rs256(K.a, "{\"alg\":\"RS256\",\"kid\":\"k-a\"}",
	    "{\"iam_id\":[],\"iat\":1700000000,\"exp\":1700003600}");
	assert_int_equal(verify(k, tok, T0), JWT_EMALFORMED);
	free(tok);
	tok = rs256(K.a, "{\"alg\":\"RS256\",\"kid\":\"k-a\"}",
	    "{\"iat\":1700000000,\"exp\":\"1700003600\"}");
	assert_int_equal(verify(k, tok, T0), JWT_EMALFORMED);
	free(tok);
	jwks_free(k);
}

static void
test_malformed(void **state)
{
	struct jwks *k = parse_set();
	char *tok, *s;
	size_t n;

	(void)state;
	tok = rs256(K.a, "{\"alg\":\"RS256\",\"kid\":\"k-a\"}", IAM_PAYLOAD);
	n = strlen(tok);
	assert_int_equal(verify(k, "a.b", T0), JWT_EMALFORMED);
	assert_int_equal(verify(k, "", T0), JWT_EMALFORMED);
	assert_int_equal(jwks_verify_rs256(k, NULL, 5, T0, 0, NULL),
	    JWT_EMALFORMED);
	s = malloc(n + 8);
	snprintf(s, n + 8, "%s.x", tok);
	assert_int_equal(verify(k, s, T0), JWT_EMALFORMED);
	free(s);
	s = strdup(tok);
	s[2] = '=';
	assert_int_equal(verify(k, s, T0), JWT_EMALFORMED);
	free(s);
	/* A signature longer than any RSA key we accept. */
	s = malloc(n + 2000);
	snprintf(s, n + 2000, "%s", tok);
	memset(s + n, 'A', 1500);
	s[n + 1500] = '\0';
	assert_int_equal(verify(k, s, T0), JWT_EMALFORMED);
	free(s);
	free(tok);
	jwks_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_verify_ok),
		cmocka_unit_test(test_unknown_kid),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_wrong_alg),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
