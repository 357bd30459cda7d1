/*
 * jwt: HS256 client tokens and the JWT parsing shared with jwks.c (see
 * jwt.h).
 *
 * Verification runs in a fixed order so that the cheap, unauthenticated
 * checks come first and the payload is parsed only once the signature is
 * known to be good: size and shape (three parts of canonical base64url),
 * then the header (a JSON object whose alg must equal the one the caller
 * expects; "none" or a public-key alg never reaches the MAC), then the
 * signature, and only then the payload claims and the clock.  JSON is read
 * with duplicate keys rejected, so {"alg":"HS256","alg":"none"} cannot
 * mean two things to two parsers.
 *
 * Thread rules: any thread; no state between calls.  Keys are only read.
 */
#include "server/jwt.h"
#include "store/store.h"

#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Decoded header or payload: never longer than the token itself. */
#define PART_MAX		JWT_TOKEN_MAX
/* Leeway beyond a day is a configuration mistake; clamp it. */
#define LEEWAY_MAX_S		86400
/* Times beyond this are nonsense and would risk overflow in checks. */
#define TIME_ABS_MAX		((int64_t)1 << 40)
#define HEADER_HS256		"{\"alg\":\"HS256\",\"typ\":\"JWT\"}"

const char *
jwt_result_str(int result)
{
	switch (result) {
	case JWT_OK:		return "ok";
	case JWT_EMALFORMED:	return "malformed token";
	case JWT_EBADSIG:	return "bad signature";
	case JWT_EEXPIRED:	return "expired";
	case JWT_ENOTYET:	return "not yet valid";
	case JWT_EALG:		return "unexpected algorithm";
	case JWT_EUNKNOWNKID:	return "unknown key id";
	default:		return "unknown result";
	}
}

/*
 * Decode canonical unpadded base64url of len bytes into out (room for
 * outmax).  Returns 0 with *outlen set, or -1 on any other character,
 * padding, non-zero trailing bits, or when out is too small.
 */
static int
b64url_decode(const char *in, size_t len, uint8_t *out, size_t outmax,
    size_t *outlen)
{
	const char	*end = NULL;

	*outlen = 0;
	if (len == 0)
		return 0;
	if (sodium_base642bin(out, outmax, in, len, NULL, outlen, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || end != in + len) {
		*outlen = 0;
		return -1;
	}
	return 0;
}

/* True when s (NUL-terminated) holds no control characters. */
static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return false;
	return true;
}

/*
 * Copy the string member name of obj into buf.  Returns 1 when copied, 0
 * when the member is absent (buf is ""), -1 when it is not a string, does
 * not fit, or holds control characters.
 */
static int
get_string(json_t *obj, const char *name, char *buf, size_t buflen)
{
	json_t	*v = json_object_get(obj, name);
	size_t	 n;

	buf[0] = '\0';
	if (v == NULL)
		return 0;
	if (!json_is_string(v))
		return -1;
	n = json_string_length(v);
	if (n >= buflen || strlen(json_string_value(v)) != n)
		return -1;
	memcpy(buf, json_string_value(v), n + 1);
	if (!printable(buf)) {
		buf[0] = '\0';
		return -1;
	}
	return 1;
}

/*
 * Read the numeric date member name (RFC 7519 NumericDate: integer or
 * fractional seconds).  Returns 1 with *t set, 0 when absent, -1 when not a
 * number or out of range.
 */
static int
get_time(json_t *obj, const char *name, int64_t *t)
{
	json_t	*v = json_object_get(obj, name);
	double	 d;

	*t = 0;
	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		json_int_t i = json_integer_value(v);
		if (i > TIME_ABS_MAX || i < -TIME_ABS_MAX)
			return -1;
		*t = (int64_t)i;
		return 1;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (!isfinite(d) || d > (double)TIME_ABS_MAX ||
		    d < -(double)TIME_ABS_MAX)
			return -1;
		*t = (int64_t)floor(d);
		return 1;
	}
	return -1;
}

/* Parse decoded JSON that must be an object; NULL otherwise. */
static json_t *
load_object(const uint8_t *buf, size_t len)
{
	json_error_t	 err;
	json_t		*v;

	v = json_loadb((const char *)buf, len, JSON_REJECT_DUPLICATES, &err);
	if (v != NULL && !json_is_object(v)) {
		json_decref(v);
		v = NULL;
	}
	return v;
}

/*
 * Decode and read a header of hlen base64url bytes.  Fills alg and kid
 * (kid "" and *has_kid 0 when absent).  Returns JWT_OK or JWT_EMALFORMED.
 */
static int
read_header(const char *h, size_t hlen, char *alg, size_t alglen, char *kid,
    size_t kidlen, int *has_kid)
{
	uint8_t		 buf[PART_MAX];
	size_t		 n;
	json_t		*hdr = NULL;
	int		 ret = JWT_EMALFORMED, got;

	alg[0] = '\0';
	kid[0] = '\0';
	*has_kid = 0;
	if (hlen == 0 || b64url_decode(h, hlen, buf, sizeof(buf), &n) != 0)
		goto done;
	if ((hdr = load_object(buf, n)) == NULL)
		goto done;
	/* Extensions we do not understand must not be ignored (RFC 7515). */
	if (json_object_get(hdr, "crit") != NULL)
		goto done;
	if (get_string(hdr, "alg", alg, alglen) != 1)
		goto done;
	if ((got = get_string(hdr, "kid", kid, kidlen)) == -1)
		goto done;
	*has_kid = got;
	ret = JWT_OK;
done:
	json_decref(hdr);
	if (ret != JWT_OK) {
		alg[0] = '\0';
		kid[0] = '\0';
		*has_kid = 0;
	}
	return ret;
}

int
jwt_split(const char *token, size_t len, const char *want_alg,
    struct jwt_parts *p)
{
	const char	*dot1, *dot2, *payload, *sig;
	size_t		 hlen, plen, slen, n;
	uint8_t		 scratch[PART_MAX];
	char		 alg[32];
	int		 r;

	memset(p, 0, sizeof(*p));
	if (token == NULL || want_alg == NULL || len == 0 ||
	    len > JWT_TOKEN_MAX)
		return JWT_EMALFORMED;
	if ((dot1 = memchr(token, '.', len)) == NULL)
		return JWT_EMALFORMED;
	payload = dot1 + 1;
	if ((dot2 = memchr(payload, '.', len - (size_t)(payload - token))) ==
	    NULL)
		return JWT_EMALFORMED;
	sig = dot2 + 1;
	hlen = (size_t)(dot1 - token);
	plen = (size_t)(dot2 - payload);
	slen = len - (size_t)(sig - token);
	/* A fourth part (JWE has five) is not a JWS. */
	if (memchr(sig, '.', slen) != NULL || hlen == 0 || plen == 0)
		return JWT_EMALFORMED;

	r = read_header(token, hlen, alg, sizeof(alg), p->kid, sizeof(p->kid),
	    &p->has_kid);
	if (r != JWT_OK)
		goto fail;
	if (strcmp(alg, want_alg) != 0) {
		r = JWT_EALG;
		goto fail;
	}
	/* The payload is only decoded here to reject bad base64 early; it is
	 * parsed after the signature check. */
	r = JWT_EMALFORMED;
	if (b64url_decode(payload, plen, scratch, sizeof(scratch), &n) != 0 ||
	    n == 0)
		goto fail;
	if (b64url_decode(sig, slen, p->sig, sizeof(p->sig), &p->sig_len) != 0)
		goto fail;

	p->token = token;
	p->signed_len = (size_t)(dot2 - token);
	p->payload_b64 = payload;
	p->payload_b64_len = plen;
	return JWT_OK;
fail:
	memset(p, 0, sizeof(*p));
	return r;
}

int
jwt_claims_read(const struct jwt_parts *p, int64_t wall_now, int64_t leeway_s,
    struct jwt_claims *out)
{
	struct jwt_claims	 c;
	uint8_t			 buf[PART_MAX];
	size_t			 n;
	json_t			*payload = NULL;
	int64_t			 nbf = 0;
	int			 ret = JWT_EMALFORMED, has_nbf = 0;

	memset(&c, 0, sizeof(c));
	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (p == NULL || p->payload_b64 == NULL)
		return JWT_EMALFORMED;
	if (leeway_s < 0)
		leeway_s = 0;
	if (leeway_s > LEEWAY_MAX_S)
		leeway_s = LEEWAY_MAX_S;

	if (b64url_decode(p->payload_b64, p->payload_b64_len, buf, sizeof(buf),
	    &n) != 0)
		goto done;
	if ((payload = load_object(buf, n)) == NULL)
		goto done;
	if (get_time(payload, "exp", &c.exp) != 1 ||
	    get_time(payload, "iat", &c.iat) != 1 ||
	    (has_nbf = get_time(payload, "nbf", &nbf)) == -1)
		goto done;
	if (get_string(payload, "sub", c.sub, sizeof(c.sub)) == -1 ||
	    get_string(payload, "iss", c.iss, sizeof(c.iss)) == -1 ||
	    get_string(payload, "jti", c.jti, sizeof(c.jti)) == -1 ||
	    get_string(payload, "iam_id", c.iam_id, sizeof(c.iam_id)) == -1)
		goto done;
	memcpy(c.kid, p->kid, sizeof(c.kid));

	/* Times are bounded by TIME_ABS_MAX, so these sums cannot overflow. */
	if (c.exp + leeway_s <= wall_now) {
		ret = JWT_EEXPIRED;
		goto done;
	}
	if (c.iat - leeway_s > wall_now ||
	    (has_nbf == 1 && nbf - leeway_s > wall_now)) {
		ret = JWT_ENOTYET;
		goto done;
	}
	if (out != NULL)
		*out = c;
	ret = JWT_OK;
done:
	json_decref(payload);
	return ret;
}

int
jwt_verify_hs256(const uint8_t key[JWT_KEY_BYTES], const char *token,
    size_t len, int64_t wall_now, int64_t leeway_s, struct jwt_claims *out)
{
	struct jwt_parts	 p;
	uint8_t			 mac[crypto_auth_hmacsha256_BYTES];
	int			 r;

	if (out != NULL)
		memset(out, 0, sizeof(*out));
	if (key == NULL)
		return JWT_EBADSIG;
	if ((r = jwt_split(token, len, "HS256", &p)) != JWT_OK)
		return r;
	if (p.sig_len != sizeof(mac))
		return JWT_EBADSIG;
	crypto_auth_hmacsha256(mac, (const unsigned char *)token, p.signed_len,
	    key);
	r = crypto_verify_32(mac, p.sig) == 0 ? JWT_OK : JWT_EBADSIG;
	sodium_memzero(mac, sizeof(mac));
	if (r != JWT_OK)
		return r;
	return jwt_claims_read(&p, wall_now, leeway_s, out);
}

/* Printable, 1..max bytes, and valid in JSON (jansson checks UTF-8). */
static bool
claim_ok(const char *s, size_t max)
{
	size_t n;

	if (s == NULL)
		return false;
	n = strlen(s);
	return n > 0 && n <= max && printable(s);
}

/* Append base64url of bin to out at *pos (room was computed by caller). */
static void
put_b64(char *out, size_t outlen, size_t *pos, const uint8_t *bin,
    size_t binlen)
{
	sodium_bin2base64(out + *pos, outlen - *pos, bin, binlen,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*pos += strlen(out + *pos);
}

int
jwt_sign_hs256(const uint8_t key[JWT_KEY_BYTES], const char *sub,
    const char *iss, int64_t iat, int64_t exp, char *jti_out,
    char **token_out)
{
	const int	 v = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
	uint8_t		 jti_bin[16], mac[crypto_auth_hmacsha256_BYTES];
	char		 jti[JWT_JTI_BYTES];
	char		 iam_id[sizeof(JWT_IAM_ID_PREFIX) + 64];
	char		*payload = NULL, *tok = NULL;
	json_t		*claims = NULL;
	size_t		 hlen, plen, total, pos = 0;
	int		 ret = -1;

	if (jti_out != NULL)
		jti_out[0] = '\0';
	if (token_out != NULL)
		*token_out = NULL;
	if (key == NULL || jti_out == NULL || token_out == NULL ||
	    !claim_ok(sub, 64) || !claim_ok(iss, 128) || exp <= iat ||
	    iat < 0 || exp > TIME_ABS_MAX)
		return -1;
	if (sodium_init() < 0)
		return -1;

	randombytes_buf(jti_bin, sizeof(jti_bin));
	sodium_bin2hex(jti, sizeof(jti), jti_bin, sizeof(jti_bin));
	snprintf(iam_id, sizeof(iam_id), "%s%s", JWT_IAM_ID_PREFIX, sub);

	claims = json_pack("{s:I, s:I, s:s, s:s, s:s, s:s}",
	    "iat", (json_int_t)iat, "exp", (json_int_t)exp, "sub", sub,
	    "iss", iss, "jti", jti, "iam_id", iam_id);
	if (claims == NULL)		/* also: sub or iss not UTF-8 */
		goto done;
	if ((payload = json_dumps(claims, JSON_COMPACT)) == NULL)
		goto done;

	hlen = strlen(HEADER_HS256);
	plen = strlen(payload);
	/* Each *_ENCODED_LEN counts a NUL; two of them pay for the dots. */
	total = sodium_base64_ENCODED_LEN(hlen, v) +
	    sodium_base64_ENCODED_LEN(plen, v) +
	    sodium_base64_ENCODED_LEN(sizeof(mac), v);
	if ((tok = malloc(total)) == NULL)
		goto done;
	put_b64(tok, total, &pos, (const uint8_t *)HEADER_HS256, hlen);
	tok[pos++] = '.';
	put_b64(tok, total, &pos, (const uint8_t *)payload, plen);
	crypto_auth_hmacsha256(mac, (const unsigned char *)tok, pos, key);
	tok[pos++] = '.';
	put_b64(tok, total, &pos, mac, sizeof(mac));
	/* Never hand out a token that jwt_verify_hs256 would refuse. */
	if (pos > JWT_TOKEN_MAX)
		goto done;

	memcpy(jti_out, jti, sizeof(jti));
	*token_out = tok;
	tok = NULL;
	ret = 0;
done:
	sodium_memzero(mac, sizeof(mac));
	jwt_token_free(tok);
	free(payload);
	json_decref(claims);
	return ret;
}

void
jwt_token_free(char *token)
{
	if (token == NULL)
		return;
	sodium_memzero(token, strlen(token));
	free(token);
}

int
jwt_peek_kid(const char *token, size_t len, char *kid, size_t kidlen)
{
	const char	*dot;
	char		 alg[32];
	int		 has_kid;

	if (kid == NULL || kidlen == 0)
		return -1;
	kid[0] = '\0';
	if (token == NULL || len == 0 || len > JWT_TOKEN_MAX ||
	    (dot = memchr(token, '.', len)) == NULL)
		return -1;
	if (read_header(token, (size_t)(dot - token), alg, sizeof(alg), kid,
	    kidlen, &has_kid) != JWT_OK)
		return -1;
	return 0;
}

int
jwt_key_load(const char *path, uint8_t **key, char *why, size_t whylen)
{
	bool too_open = false;

	/* Same file format as the cache key: base64 of 32 random bytes. */
	if (store_key_load(path, key, &too_open, why, whylen) != 0)
		return -1;
	sodium_mprotect_readonly(*key);
	return 0;
}

uint8_t *
jwt_key_random(void)
{
	uint8_t	*key;

	if (sodium_init() < 0 || (key = sodium_malloc(JWT_KEY_BYTES)) == NULL)
		return NULL;
	randombytes_buf(key, JWT_KEY_BYTES);
	sodium_mprotect_readonly(key);
	return key;
}

void
jwt_key_free(uint8_t *key)
{
	sodium_free(key);
}
