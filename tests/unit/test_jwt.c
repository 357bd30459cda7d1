/*
 * test_jwt.c: the proxy's HS256 client tokens: sign/verify round trip,
 * what an SDK sees when it decodes the payload, tampering, algorithm
 * confusion, the clock rules, malformed input, and key files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "server/jwt.h"
#include "tests/unit/jwt_fixture.h"

#define T0	((int64_t)1700000000)
#define LEEWAY	30

static uint8_t	 key_a[JWT_KEY_BYTES];
static uint8_t	 key_b[JWT_KEY_BYTES];

static int
group_setup(void **state)
{
	int i;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (i = 0; i < JWT_KEY_BYTES; i++) {
		key_a[i] = (uint8_t)i;
		key_b[i] = (uint8_t)(0x5a ^ (i * 3));
	}
	return 0;
}

/* A token with arbitrary header and payload text, HMAC-signed with key. */
static char *
make_token(const uint8_t *key, const char *header, const char *payload)
{
	char *tok = jwtfx_signing_input(header, payload);
	uint8_t mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256(mac, (const unsigned char *)tok, strlen(tok),
	    key);
	return jwtfx_add_signature(tok, mac, sizeof(mac));
}

static int
verify_at(const uint8_t *key, const char *tok, int64_t now)
{
	struct jwt_claims c;

	return jwt_verify_hs256(key, tok, strlen(tok), now, LEEWAY, &c);
}

static char *
sign(const uint8_t *key, const char *sub, int64_t iat, int64_t exp)
{
	char jti[JWT_JTI_BYTES], *tok = NULL;

	assert_int_equal(jwt_sign_hs256(key, sub, "smproxy", iat, exp, jti,
	    &tok), 0);
	assert_non_null(tok);
	return tok;
}

static void
test_round_trip(void **state)
{
	struct jwt_claims c;
	char jti[JWT_JTI_BYTES], *tok = NULL;
	size_t i;

	(void)state;
	assert_int_equal(jwt_sign_hs256(key_a, "app-1", "smproxy", T0,
	    T0 + 3600, jti, &tok), 0);
	assert_int_equal(strlen(jti), 32);
	for (i = 0; i < 32; i++)
		assert_non_null(strchr("0123456789abcdef", jti[i]));
	memset(&c, 0x55, sizeof(c));
	assert_int_equal(jwt_verify_hs256(key_a, tok, strlen(tok), T0 + 10,
	    LEEWAY, &c), JWT_OK);
	assert_string_equal(c.sub, "app-1");
	assert_string_equal(c.iss, "smproxy");
	assert_string_equal(c.jti, jti);
	assert_string_equal(c.iam_id, "smproxy-client-app-1");
	assert_string_equal(c.kid, "");
	assert_int_equal(c.iat, T0);
	assert_int_equal(c.exp, T0 + 3600);
	/* out may be NULL; the token needs no NUL after len bytes. */
	assert_int_equal(jwt_verify_hs256(key_a, tok, strlen(tok), T0, 0,
	    NULL), JWT_OK);
	jwt_token_free(tok);
	jwt_token_free(NULL);
}

static void
test_jti_unique(void **state)
{
	char j1[JWT_JTI_BYTES], j2[JWT_JTI_BYTES], *t1 = NULL, *t2 = NULL;

	(void)state;
	assert_int_equal(jwt_sign_hs256(key_a, "a", "i", T0, T0 + 1, j1, &t1),
	    0);
	assert_int_equal(jwt_sign_hs256(key_a, "a", "i", T0, T0 + 1, j2, &t2),
	    0);
	assert_string_not_equal(j1, j2);
	assert_string_not_equal(t1, t2);
	jwt_token_free(t1);
	jwt_token_free(t2);
}

/* What the Node core does: split on '.', base64url-decode the payload,
 * JSON.parse it and read numeric exp and iat. */
static void
test_sdk_can_decode(void **state)
{
	char *tok = sign(key_a, "app-1", T0, T0 + 3600);
	char *dot1, *dot2;
	uint8_t buf[1024];
	size_t n;
	json_t *v;
	json_error_t err;

	(void)state;
	assert_null(strpbrk(tok, "=+/ \n"));
	dot1 = strchr(tok, '.');
	assert_non_null(dot1);
	dot2 = strchr(dot1 + 1, '.');
	assert_non_null(dot2);
	assert_null(strchr(dot2 + 1, '.'));

	assert_int_equal(sodium_base642bin(buf, sizeof(buf), tok,
	    (size_t)(dot1 - tok), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	v = json_loadb((const char *)buf, n, 0, &err);
	assert_non_null(v);
	assert_string_equal(json_string_value(json_object_get(v, "alg")),
	    "HS256");
	assert_string_equal(json_string_value(json_object_get(v, "typ")),
	    "JWT");
	json_decref(v);

	assert_int_equal(sodium_base642bin(buf, sizeof(buf), dot1 + 1,
	    (size_t)(dot2 - dot1 - 1), NULL, &n, NULL,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING), 0);
	v = json_loadb((const char *)buf, n, 0, &err);
	assert_non_null(v);
	assert_true(json_is_integer(json_object_get(v, "exp")));
	assert_true(json_is_integer(json_object_get(v, "iat")));
	assert_int_equal(json_integer_value(json_object_get(v, "exp")),
	    T0 + 3600);
	assert_int_equal(json_integer_value(json_object_get(v, "iat")), T0);
	assert_string_equal(json_string_value(json_object_get(v, "sub")),
	    "app-1");
	assert_string_equal(json_string_value(json_object_get(v, "iam_id")),
	    "smproxy-client-app-1");
	json_decref(v);
	jwt_token_free(tok);
}

static void
test_tampered(void **state)
{
	char *tok = sign(key_a, "app-1", T0, T0 + 3600);
	char *forged, *dot1, *dot2, *sig;
	char *other = make_token(key_b, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
	    "{\"iat\":1700000000,\"exp\":1900000000,\"sub\":\"admin\"}");
	size_t n;

	(void)state;
	/* Another payload under the original signature. */
	dot1 = strchr(other, '.');
	dot2 = strchr(dot1 + 1, '.');
	sig = strrchr(tok, '.');
	n = (size_t)(dot2 - other) + strlen(sig) + 1;
	forged = malloc(n);
	assert_non_null(forged);
	memcpy(forged, other, (size_t)(dot2 - other));
	strcpy(forged + (dot2 - other), sig);
	assert_int_equal(verify_at(key_a, forged, T0), JWT_EBADSIG);
	free(forged);

	/* One payload character changed (kept canonical base64url). */
	forged = strdup(tok);
	dot1 = strchr(forged, '.');
	dot1[5] = dot1[5] == 'A' ? 'B' : 'A';
	assert_int_equal(verify_at(key_a, forged, T0), JWT_EBADSIG);
	free(forged);

	/* One signature character changed. */
	forged = strdup(tok);
	sig = strrchr(forged, '.') + 1;
	sig[0] = sig[0] == 'A' ? 'B' : 'A';
	assert_int_equal(verify_at(key_a, forged, T0), JWT_EBADSIG);
	/* A signature of the wrong length. */
	sig[20] = '\0';
	assert_int_equal(verify_at(key_a, forged, T0), JWT_EBADSIG);
	sig[0] = '\0';
	assert_int_equal(verify_at(key_a, forged, T0), JWT_EBADSIG);
	free(forged);

	/* The wrong key. */
	assert_int_equal(verify_at(key_b, tok, T0), JWT_EBADSIG);
	assert_int_equal(verify_at(key_a, other, T0), JWT_EBADSIG);
	assert_int_equal(verify_at(key_b, other, T0), JWT_OK);
	assert_int_equal(verify_at(NULL, tok, T0), JWT_EBADSIG);
	free(other);
	jwt_token_free(tok);
}

static void
test_alg(void **state)
{
	static const char *payload =
	    "{\"iat\":1700000000,\"exp\":1700003600,\"sub\":\"x\"}";
	static const char *bad_algs[] = {
		"{\"alg\":\"none\",\"typ\":\"JWT\"}",
		"{\"alg\":\"None\"}",
		"{\"alg\":\"RS256\",\"typ\":\"JWT\"}",
		"{\"alg\":\"HS512\"}",
		"{\"alg\":\"hs256\"}",
		"{\"alg\":\"HS256 \"}",
		"{\"alg\":\"\"}",
	};
	static const char *bad_headers[] = {
		"{\"typ\":\"JWT\"}",				/* no alg */
		"{\"alg\":256}",
		"{\"alg\":null}",
		"{\"alg\":\"HS256\",\"alg\":\"none\"}",	/* duplicate */
		"{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}",
		"{\"alg\":\"HS256\",\"kid\":7}",
		"[\"HS256\"]",
		"\"HS256\"",
		"{\"alg\":\"HS256\"",
	};
	char *tok, *h, *p, buf[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad_algs) / sizeof(bad_algs[0]); i++) {
		tok = make_token(key_a, bad_algs[i], payload);
		assert_int_equal(verify_at(key_a, tok, T0), JWT_EALG);
		free(tok);
	}
	for (i = 0; i < sizeof(bad_headers) / sizeof(bad_headers[0]); i++) {
		tok = make_token(key_a, bad_headers[i], payload);
		assert_int_equal(verify_at(key_a, tok, T0), JWT_EMALFORMED);
		free(tok);
	}
	/* The classic unsigned token: alg none and an empty signature. */
	h = jwtfx_b64url("{\"alg\":\"none\"}", 14);
	p = jwtfx_b64url(payload, strlen(payload));
	snprintf(buf, sizeof(buf), "%s.%s.", h, p);
	assert_int_equal(verify_at(key_a, buf, T0), JWT_EALG);
	free(h);
	h = jwtfx_b64url("{\"alg\":\"HS256\"}", 15);
	snprintf(buf, sizeof(buf), "%s.%s.", h, p);
	assert_int_equal(verify_at(key_a, buf, T0), JWT_EBADSIG);
	free(h);
	free(p);
	/* A header with a kid and extra members is fine. */
	tok = make_token(key_a, "{\"alg\":\"HS256\",\"kid\":\"k1\",\"x\":[1]}",
	    payload);
	{
		struct jwt_claims c;
		assert_int_equal(jwt_verify_hs256(key_a, tok, strlen(tok), T0,
		    0, &c), JWT_OK);
		assert_string_equal(c.kid, "k1");
	}
	free(tok);
}

static void
test_clock(void **state)
{
	char *tok = sign(key_a, "app-1", T0, T0 + 100);
	char *nbf;

	(void)state;
	assert_int_equal(verify_at(key_a, tok, T0), JWT_OK);
	assert_int_equal(verify_at(key_a, tok, T0 + 99), JWT_OK);
	assert_int_equal(verify_at(key_a, tok, T0 + 100 + LEEWAY - 1), JWT_OK);
	assert_int_equal(verify_at(key_a, tok, T0 + 100 + LEEWAY),
	    JWT_EEXPIRED);
	assert_int_equal(verify_at(key_a, tok, T0 + 100000), JWT_EEXPIRED);
	assert_int_equal(verify_at(key_a, tok, T0 - LEEWAY), JWT_OK);
	assert_int_equal(verify_at(key_a, tok, T0 - LEEWAY - 1), JWT_ENOTYET);
	assert_int_equal(verify_at(key_a, tok, 0), JWT_ENOTYET);
	/* Without leeway, exp itself is already too late. */
	assert_int_equal(jwt_verify_hs256(key_a, tok, strlen(tok), T0 + 100, 0,
	    NULL), JWT_EEXPIRED);
	assert_int_equal(jwt_verify_hs256(key_a, tok, strlen(tok), T0 + 99, 0,
	    NULL), JWT_OK);
	/* Negative leeway counts as none; a huge one is clamped to a day. */
	assert_int_equal(jwt_verify_hs256(key_a, tok, strlen(tok), T0 + 100,
	    -5, NULL), JWT_EEXPIRED);
	assert_int_equal(jwt_verify_hs256(key_a, tok, strlen(tok),
	    T0 + 100 + 86400, INT64_MAX, NULL), JWT_EEXPIRED);
	assert_int_equal(jwt_verify_hs256(key_a, tok, strlen(tok), INT64_MAX,
	    10, NULL), JWT_EEXPIRED);
	assert_int_equal(jwt_verify_hs256(key_a, tok, strlen(tok), INT64_MIN,
	    10, NULL), JWT_ENOTYET);
	jwt_token_free(tok);

	nbf = make_token(key_a, "{\"alg\":\"HS256\"}",
	    "{\"iat\":1700000000,\"nbf\":1700000100,\"exp\":1700003600}");
	assert_int_equal(verify_at(key_a, nbf, T0), JWT_ENOTYET);
	assert_int_equal(verify_at(key_a, nbf, T0 + 70), JWT_OK);
	free(nbf);
	/* Fractional NumericDates are allowed. */
	nbf = make_token(key_a, "{\"alg\":\"HS256\"}",
	    "{\"iat\":1700000000.5,\"exp\":1700003600.9}");
	assert_int_equal(verify_at(key_a, nbf, T0), JWT_OK);
	free(nbf);
}

static void
test_bad_claims(void **state)
{
	static const char *payloads[] = {
		"[1,2,3]",
		"\"a string\"",
		"42",
		"null",
		"{",
		"",
		"{\"iat\":1700000000,\"exp\":\"1700003600\"}",
		"{\"iat\":\"1700000000\",\"exp\":1700003600}",
		"{\"iat\":1700000000}",
		"{\"exp\":1700003600}",
		"{\"iat\":1700000000,\"exp\":1700003600,\"nbf\":\"x\"}",
		"{\"iat\":1700000000,\"exp\":1e300}",
		"{\"iat\":1700000000,\"exp\":9223372036854775807}",
		"{\"iat\":1700000000,\"exp\":true}",
		"{\"iat\":1700000000,\"exp\":null}",
		"{\"iat\":1700000000,\"exp\":1700003600,\"sub\":17}",
		"{\"iat\":1700000000,\"exp\":1700003600,\"iss\":[]}",
		"{\"iat\":1700000000,\"exp\":1700003600,\"jti\":{}}",
		"{\"iat\":1700000000,\"exp\":1700003600,\"iam_id\":false}",
		"{\"iat\":1700000000,\"exp\":1700003600,\"sub\":\"a\\nb\"}",
		"{\"iat\":1700000000,\"exp\":1700003600,\"sub\":\"a\\u0000b\"}",
		"{\"iat\":1700000000,\"exp\":1700003600,\"exp\":1900000000}",
		"{\"iat\":1700000000,\"exp\":1700003600,\"sub\":\""
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
		    "\"}",
	};
	char *tok;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		tok = make_token(key_a, "{\"alg\":\"HS256\"}", payloads[i]);
		if (verify_at(key_a, tok, T0) != JWT_EMALFORMED)
			fail_msg("payload %zu (%s) was not malformed", i,
			    payloads[i]);
		free(tok);
	}
	/* A 64-byte sub just fits. */
	tok = make_token(key_a, "{\"alg\":\"HS256\"}",
	    "{\"iat\":1700000000,\"exp\":1700003600,\"sub\":\""
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}");
	assert_int_equal(verify_at(key_a, tok, T0), JWT_OK);
	free(tok);
}

static void
test_malformed(void **state)
{
	char *tok = sign(key_a, "app-1", T0, T0 + 3600);
	char *s, *big;
	size_t n = strlen(tok), i;
	struct jwt_claims c;

	(void)state;
	/* Two parts, four parts, five parts (JWE). */
	s = strdup(tok);
	*strrchr(s, '.') = '\0';
	assert_int_equal(verify_at(key_a, s, T0), JWT_EMALFORMED);
	free(s);
	s = malloc(n + 8);
	snprintf(s, n + 8, "%s.abcd", tok);
	assert_int_equal(verify_at(key_a, s, T0), JWT_EMALFORMED);
	snprintf(s, n + 8, "%s..", tok);
	assert_int_equal(verify_at(key_a, s, T0), JWT_EMALFORMED);
	free(s);

	/* Empty parts. */
	assert_int_equal(verify_at(key_a, "..", T0), JWT_EMALFORMED);
	assert_int_equal(verify_at(key_a, strchr(tok, '.'), T0),
	    JWT_EMALFORMED);
	assert_int_equal(verify_at(key_a, "", T0), JWT_EMALFORMED);
	assert_int_equal(jwt_verify_hs256(key_a, NULL, 10, T0, 0, &c),
	    JWT_EMALFORMED);
	assert_int_equal(jwt_verify_hs256(key_a, tok, 0, T0, 0, &c),
	    JWT_EMALFORMED);

	/* Bad base64url: standard alphabet, padding, junk, whitespace. */
	for (i = 0; i < 4; i++) {
		static const char bad[] = { '+', '/', '=', ' ' };
		size_t at[] = { 3, (size_t)(strchr(tok, '.') - tok) + 4, n - 3 };
		size_t k;

		for (k = 0; k < 3; k++) {
			s = strdup(tok);
			s[at[k]] = bad[i];
			if (verify_at(key_a, s, T0) != JWT_EMALFORMED)
				fail_msg("'%c' at %zu accepted", bad[i], at[k]);
			free(s);
		}
	}
	/* A NUL inside the given length. */
	s = strdup(tok);
	s[10] = '\0';
	assert_int_equal(jwt_verify_hs256(key_a, s, n, T0, 0, NULL),
	    JWT_EMALFORMED);
	free(s);
	/* Not base64 at all, and a trailing newline. */
	assert_int_equal(verify_at(key_a, "not a token", T0), JWT_EMALFORMED);
	assert_int_equal(verify_at(key_a, "a.b.c", T0), JWT_EMALFORMED);
	s = malloc(n + 2);
	snprintf(s, n + 2, "%s\n", tok);
	assert_int_equal(verify_at(key_a, s, T0), JWT_EMALFORMED);
	free(s);

	/* Length: a huge token is refused before anything is decoded. */
	big = malloc(JWT_TOKEN_MAX + 2);
	memset(big, 'A', JWT_TOKEN_MAX + 1);
	big[JWT_TOKEN_MAX + 1] = '\0';
	memcpy(big, tok, n);
	assert_int_equal(jwt_verify_hs256(key_a, big, JWT_TOKEN_MAX + 1, T0, 0,
	    NULL), JWT_EMALFORMED);
	free(big);
	/* The same token with a shorter len is cut: the MAC no longer fits. */
	assert_int_not_equal(jwt_verify_hs256(key_a, tok, n - 1, T0, 0, NULL),
	    JWT_OK);
	jwt_token_free(tok);
}

static void
test_sign_args(void **state)
{
	char jti[JWT_JTI_BYTES], *tok = (char *)"x";
	char long_sub[66], long_iss[130];

	(void)state;
	memset(long_sub, 's', 65);
	long_sub[65] = '\0';
	memset(long_iss, 'i', 129);
	long_iss[129] = '\0';
	strcpy(jti, "junk");
	assert_int_equal(jwt_sign_hs256(key_a, NULL, "i", T0, T0 + 1, jti,
	    &tok), -1);
	assert_null(tok);
	assert_string_equal(jti, "");
	assert_int_equal(jwt_sign_hs256(key_a, "", "i", T0, T0 + 1, jti, &tok),
	    -1);
	assert_int_equal(jwt_sign_hs256(key_a, long_sub, "i", T0, T0 + 1, jti,
	    &tok), -1);
	assert_int_equal(jwt_sign_hs256(key_a, "a", long_iss, T0, T0 + 1, jti,
	    &tok), -1);
	assert_int_equal(jwt_sign_hs256(key_a, "a\nb", "i", T0, T0 + 1, jti,
	    &tok), -1);
	assert_int_equal(jwt_sign_hs256(key_a, "\xff\xfe", "i", T0, T0 + 1, jti,
	    &tok), -1);
	assert_int_equal(jwt_sign_hs256(key_a, "a", "i", T0, T0, jti, &tok),
	    -1);
	assert_int_equal(jwt_sign_hs256(NULL, "a", "i", T0, T0 + 1, jti, &tok),
	    -1);
	assert_int_equal(jwt_sign_hs256(key_a, "a", "i", T0, T0 + 1, NULL,
	    &tok), -1);
	assert_int_equal(jwt_sign_hs256(key_a, "a", "i", T0, T0 + 1, jti,
	    NULL), -1);
	assert_null(tok);
	/* The longest claims still make a verifiable token. */
	long_sub[64] = '\0';
	long_iss[128] = '\0';
	assert_int_equal(jwt_sign_hs256(key_a, long_sub, long_iss, T0, T0 + 1,
	    jti, &tok), 0);
	assert_int_equal(verify_at(key_a, tok, T0), JWT_OK);
	jwt_token_free(tok);
	/* UTF-8 is fine. */
	tok = NULL;
	assert_int_equal(jwt_sign_hs256(key_a, "caf\xc3\xa9", "i", T0, T0 + 1,
	    jti, &tok), 0);
	assert_int_equal(verify_at(key_a, tok, T0), JWT_OK);
	jwt_token_free(tok);
}

static void
test_peek_kid(void **state)
{
	char kid[65], tiny[3];
	char *tok = make_token(key_a, "{\"alg\":\"RS256\",\"kid\":\"20240101\"}",
	    "{}");

	(void)state;
	assert_int_equal(jwt_peek_kid(tok, strlen(tok), kid, sizeof(kid)), 0);
	assert_string_equal(kid, "20240101");
	assert_int_equal(jwt_peek_kid(tok, strlen(tok), tiny, sizeof(tiny)),
	    -1);
	assert_string_equal(tiny, "");
	free(tok);
	tok = sign(key_a, "a", T0, T0 + 1);
	strcpy(kid, "junk");
	assert_int_equal(jwt_peek_kid(tok, strlen(tok), kid, sizeof(kid)), 0);
	assert_string_equal(kid, "");
	jwt_token_free(tok);
	assert_int_equal(jwt_peek_kid("!!.a.b", 6, kid, sizeof(kid)), -1);
	assert_int_equal(jwt_peek_kid("nodot", 5, kid, sizeof(kid)), -1);
	assert_int_equal(jwt_peek_kid(NULL, 5, kid, sizeof(kid)), -1);
	assert_int_equal(jwt_peek_kid("a.b", 3, NULL, 0), -1);
}

static void
test_result_str(void **state)
{
	int r;

	(void)state;
	for (r = JWT_OK; r <= JWT_EUNKNOWNKID + 1; r++)
		assert_non_null(jwt_result_str(r));
	assert_string_equal(jwt_result_str(JWT_EEXPIRED), "expired");
}

/* Key files. */

struct keyfx {
	char	 dir[256];
	char	 path[320];
};

static int
key_setup(void **state)
{
	struct keyfx *f = calloc(1, sizeof(*f));
	const char *tmp = getenv("TMPDIR");

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/test_jwt.XXXXXX",
	    tmp ? tmp : "/tmp");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/token.key", f->dir);
	*state = f;
	return 0;
}

static int
key_teardown(void **state)
{
	struct keyfx *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void
test_key_load_good(void **state)
{
	struct keyfx *f = *state;
	uint8_t raw[JWT_KEY_BYTES], *key = (uint8_t *)1;
	char b64[sodium_base64_ENCODED_LEN(JWT_KEY_BYTES,
	    sodium_base64_VARIANT_ORIGINAL)], text[128], why[256];
	char *tok;
	int i;

	for (i = 0; i < JWT_KEY_BYTES; i++)
		raw[i] = (uint8_t)(255 - i);
	sodium_bin2base64(b64, sizeof(b64), raw, sizeof(raw),
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(text, sizeof(text), "  %s\n\n", b64);
	write_file(f->path, text, strlen(text));
	assert_int_equal(jwt_key_load(f->path, &key, why, sizeof(why)), 0);
	assert_non_null(key);
	assert_memory_equal(key, raw, JWT_KEY_BYTES);
	assert_string_equal(why, "");
	/* The loaded key signs tokens that the same bytes verify. */
	tok = sign(key, "a", T0, T0 + 60);
	assert_int_equal(verify_at(raw, tok, T0), JWT_OK);
	jwt_token_free(tok);
	jwt_key_free(key);
	jwt_key_free(NULL);
}

static void
expect_bad(const char *path, const void *data, size_t len)
{
	uint8_t *key = (uint8_t *)1;
	char why[256];

	if (data != NULL)
		write_file(path, data, len);
	assert_int_equal(jwt_key_load(path, &key, why, sizeof(why)), -1);
	assert_null(key);
	assert_true(strlen(why) > 0);
	assert_non_null(strstr(why, path));
	/* The reason never echoes the file. */
	assert_null(strstr(why, "QUFB"));
}

static void
test_key_load_bad(void **state)
{
	struct keyfx *f = *state;
	uint8_t raw[64], *key;
	char b64[128], *big;
	char why[256];

	memset(raw, 'A', sizeof(raw));
	/* 31 and 33 bytes. */
	sodium_bin2base64(b64, sizeof(b64), raw, 31,
	    sodium_base64_VARIANT_ORIGINAL);
	expect_bad(f->path, b64, strlen(b64));
	sodium_bin2base64(b64, sizeof(b64), raw, 33,
	    sodium_base64_VARIANT_ORIGINAL);
	expect_bad(f->path, b64, strlen(b64));
	/* Not base64, URL-safe alphabet, two keys, empty, spaces only. */
	sodium_bin2base64(b64, sizeof(b64), raw, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	b64[5] = '*';
	expect_bad(f->path, b64, strlen(b64));
	expect_bad(f->path, "QUFB QUFB", 9);
	expect_bad(f->path, "", 0);
	expect_bad(f->path, " \n\t", 3);
	/* Much too long. */
	big = malloc(10000);
	memset(big, 'Q', 10000);
	expect_bad(f->path, big, 10000);
	free(big);
	/* A missing file and a directory. */
	unlink(f->path);
	expect_bad(f->path, NULL, 0);
	expect_bad(f->dir, NULL, 0);
	/* Bad arguments. */
	assert_int_equal(jwt_key_load(NULL, &key, why, sizeof(why)), -1);
	assert_int_equal(jwt_key_load(f->path, NULL, why, sizeof(why)), -1);
	assert_int_equal(jwt_key_load(f->path, &key, NULL, 0), -1);
}

static void
test_key_random(void **state)
{
	uint8_t *k1 = jwt_key_random(), *k2 = jwt_key_random();
	char *tok;

	(void)state;
	assert_non_null(k1);
	assert_non_null(k2);
	assert_memory_not_equal(k1, k2, JWT_KEY_BYTES);
	tok = sign(k1, "a", T0, T0 + 60);
	assert_int_equal(verify_at(k1, tok, T0), JWT_OK);
	assert_int_equal(verify_at(k2, tok, T0), JWT_EBADSIG);
	jwt_token_free(tok);
	jwt_key_free(k1);
	jwt_key_free(k2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_jti_unique),
		cmocka_unit_test(test_sdk_can_decode),
		cmocka_unit_test(test_tampered),
		cmocka_unit_test(test_alg),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_bad_claims),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_sign_args),
		cmocka_unit_test(test_peek_kid),
		cmocka_unit_test(test_result_str),
		cmocka_unit_test_setup_teardown(test_key_load_good, key_setup,
		    key_teardown),
		cmocka_unit_test_setup_teardown(test_key_load_bad, key_setup,
		    key_teardown),
		cmocka_unit_test(test_key_random),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
