/*
 * jwt_fixture.h: what test_jwt.c and test_jwks.c both need to build
 * tokens by hand: base64url, and header.payload.signature put together
 * around a signature the test computes itself (HMAC or RSA).
 *
 * Each test binary is its own program and there is no shared test
 * library, so everything here is static inline; include it after
 * <cmocka.h>.
 */
#ifndef SMPROXY_JWT_FIXTURE_H
#define SMPROXY_JWT_FIXTURE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

/* Room jwtfx_signing_input leaves for ".signature". */
#define JWTFX_SIG_ROOM	2048

/* base64url (no padding) of len bytes; malloc'd, the caller frees. */
static inline char *
jwtfx_b64url(const void *bin, size_t len)
{
	const int v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	size_t n = sodium_base64_ENCODED_LEN(len, v);
	char *out = malloc(n);

	assert_non_null(out);
	sodium_bin2base64(out, n, bin, len, v);
	return out;
}

/* "base64url(header).base64url(payload)", the bytes a JWS signs;
 * malloc'd with room for jwtfx_add_signature, the caller frees. */
static inline char *
jwtfx_signing_input(const char *header, const char *payload)
{
	char *h = jwtfx_b64url(header, strlen(header));
	char *p = jwtfx_b64url(payload, strlen(payload));
	size_t n = strlen(h) + strlen(p) + JWTFX_SIG_ROOM;
	char *tok = malloc(n);

	assert_non_null(tok);
	snprintf(tok, n, "%s.%s", h, p);
	free(h);
	free(p);
	return tok;
}

/* Append "." and base64url(sig) to a jwtfx_signing_input string;
 * returns tok. */
static inline char *
jwtfx_add_signature(char *tok, const void *sig, size_t len)
{
	char *s = jwtfx_b64url(sig, len);

	assert_true(strlen(s) + 2 <= JWTFX_SIG_ROOM);
	strcat(tok, ".");
	strcat(tok, s);
	free(s);
	return tok;
}

#endif
