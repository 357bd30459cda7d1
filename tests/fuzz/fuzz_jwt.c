/*
 * libFuzzer target for server/jwt and server/jwks: client tokens, IAM
 * tokens and key sets are all bytes an attacker can send.
 *
 * Every input is tried as an HS256 token (under a fixed key), as an RS256
 * token (under a fixed one-key JWKS), as a header to peek a kid from, and
 * as a JWKS document.  Short printable inputs are also signed as a client
 * name and must then verify, and stop verifying once the signature is
 * touched.  Any broken invariant aborts, which libFuzzer reports.
 *
 * Seeds (corpus/jwt) were signed with the key below (bytes 0..31) and with
 * the RSA key whose modulus is FUZZ_N, around NOW.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/jwks.h"
#include "server/jwt.h"

#define NOW		((int64_t)1700000000)
#define LEEWAY		60

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

#define FUZZ_N \
	"p0sh71fxjODI3BKFsEvwZM_-dTOY_LXRHTRVhniZXgo-uBtwfRIcYknRSSUV" \
	"7E349XJuVoVqiJuRhd8rUFGu2eUevkeZuDheQy3xUgESQNdvlqff_gUOGAFn" \
	"NJTnjIe1r0HdTjmUzhRLk3jIOyYrLng9Y5K9IBHBmTey30w3NPkEI-ds_Ugh" \
	"My14Qgo7yky57cF-N_T6VcDBa896dPhiMVp31DAoH257dnW-DMLcOQCYH1SE" \
	"BngUru6pUD6eTFUEB4n3LXKwMGQ187HwifsHyKxS2RlwOn32jGENWxU2NJTe" \
	"yRdk6erQMbpJyFVeHQw-JUE9JZxTfGLorPCHXTJQQw"

static const char jwks_doc[] = "{\"keys\":[{\"kty\":\"RSA\",\"alg\":\"RS256\","
    "\"kid\":\"fuzz-1\",\"e\":\"AQAB\",\"n\":\"" FUZZ_N "\"}]}";

static uint8_t		 key[JWT_KEY_BYTES];
static struct jwks	*set;

static void
init(void)
{
	int	 i;

	for (i = 0; i < JWT_KEY_BYTES; i++)
		key[i] = (uint8_t)i;
	set = jwks_parse(jwks_doc, sizeof(jwks_doc) - 1, NULL, 0);
	CHECK(set != NULL && jwks_count(set) == 1);
}

/* s is NUL-terminated within max bytes and holds no control character. */
static void
check_text(const char *s, size_t max)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		CHECK(i + 1 < max);
		CHECK((unsigned char)s[i] >= 0x20 && s[i] != 0x7f);
	}
}

static void
check_result(int r, const struct jwt_claims *c)
{
	static const struct jwt_claims	 zero;

	CHECK(r >= JWT_OK && r <= JWT_EUNKNOWNKID);
	if (r != JWT_OK) {
		CHECK(memcmp(c, &zero, sizeof(zero)) == 0);
		return;
	}
	check_text(c->sub, sizeof(c->sub));
	check_text(c->iss, sizeof(c->iss));
	check_text(c->jti, sizeof(c->jti));
	check_text(c->iam_id, sizeof(c->iam_id));
	check_text(c->kid, sizeof(c->kid));
	CHECK(c->exp + LEEWAY > NOW);
	CHECK(c->iat - LEEWAY <= NOW);
}

static void
check_split(const char *data, size_t size)
{
	struct jwt_parts	 p;

	if (jwt_split(data, size, "HS256", &p) != JWT_OK) {
		CHECK(p.token == NULL && p.sig_len == 0);
		return;
	}
	CHECK(p.token == data);
	CHECK(p.signed_len < size && data[p.signed_len] == '.');
	CHECK(p.payload_b64 > data &&
	    p.payload_b64 + p.payload_b64_len == data + p.signed_len);
	CHECK(p.sig_len <= sizeof(p.sig));
	check_text(p.kid, sizeof(p.kid));
}

/* A printable name signs into a token that verifies, and not after its
 * signature is changed. */
static void
check_round_trip(const char *name)
{
	struct jwt_claims	 c;
	char			 jti[JWT_JTI_BYTES], *tok = NULL, *sig;
	size_t			 n;

	if (jwt_sign_hs256(key, name, "fuzz", NOW, NOW + 600, jti, &tok) != 0) {
		CHECK(tok == NULL && jti[0] == '\0');
		return;
	}
	n = strlen(tok);
	CHECK(n <= JWT_TOKEN_MAX);
	CHECK(jwt_verify_hs256(key, tok, n, NOW, LEEWAY, &c) == JWT_OK);
	CHECK(strcmp(c.sub, name) == 0 && strcmp(c.jti, jti) == 0);
	CHECK(strncmp(c.iam_id, JWT_IAM_ID_PREFIX,
	    strlen(JWT_IAM_ID_PREFIX)) == 0);
	CHECK(c.iat == NOW && c.exp == NOW + 600);
	sig = strrchr(tok, '.') + 1;
	sig[0] = sig[0] == 'A' ? 'B' : 'A';
	CHECK(jwt_verify_hs256(key, tok, n, NOW, LEEWAY, &c) == JWT_EBADSIG);
	jwt_token_free(tok);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char		 name[65];
	struct jwt_claims	 c;
	struct jwks		*parsed;
	const char		*text = (const char *)data;
	char			 kid[65];
	int			 r;

	if (set == NULL)
		init();
	if (size > 2 * JWT_TOKEN_MAX)
		size = 2 * JWT_TOKEN_MAX;

	r = jwt_verify_hs256(key, text, size, NOW, LEEWAY, &c);
	check_result(r, &c);
	CHECK(r != JWT_EUNKNOWNKID);
	if (size > JWT_TOKEN_MAX)
		CHECK(r == JWT_EMALFORMED);

	r = jwks_verify_rs256(set, text, size, NOW, LEEWAY, &c);
	check_result(r, &c);
	if (r == JWT_OK)
		CHECK(strcmp(c.kid, "fuzz-1") == 0);

	if (jwt_peek_kid(text, size, kid, sizeof(kid)) == 0)
		check_text(kid, sizeof(kid));
	else
		CHECK(kid[0] == '\0');

	check_split(text, size);

	parsed = jwks_parse(text, size, NULL, 0);
	CHECK(parsed == NULL ||
	    (jwks_count(parsed) >= 1 && jwks_count(parsed) <= JWKS_KEYS_MAX));
	jwks_free(parsed);

	if (size >= 1 && size < sizeof(name)) {
		memcpy(name, data, size);
		name[size] = '\0';
		check_round_trip(name);
	}
	return 0;
}
