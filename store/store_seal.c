/*
 * store_seal.c: the sealed blob of a row, and the key check.
 *
 * A blob is nonce (24 bytes, random per write) followed by the
 * XChaCha20-Poly1305 (IETF) ciphertext of the plaintext below.  The
 * associated data is the row's key hash k, its tag hash (when it has a
 * tag) and "smproxy-entry-v1", so a blob copied under another row key, a
 * tag column edited to dodge invalidation, or a blob moved into another
 * kind of record, fails to open.
 *
 * Plaintext layout, version 1, integers little-endian:
 *   u8  layout version (1)       u8  reserved (0)
 *   u16 status                   u32 kind
 *   i64 fetched_at, fresh_until, refresh_at, stale_until
 *   then six fields, each u32 length + bytes:
 *   canonical key, tag, content type, secret id, group id, body.
 * The times and kind are also stored in clear for the SQL queries; the
 * sealed copy is the truth and row_open rejects a row whose clear columns
 * disagree with it.  The key and tag are inside so that the refresher can
 * get keys back and a rotation can recompute both hashes.
 *
 * Thread rules: pure functions of their arguments; any thread.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define SEAL_LAYOUT_VERSION	1
#define SEAL_AD_TAG		"smproxy-entry-v1"
#define CHECK_AD_TAG		"smproxy-keycheck-v1"
#define CHECK_TEXT		"smproxy cache key check v1"
#define SEAL_FIXED_BYTES	(1 + 1 + 2 + 4 + 4 * 8)
#define SEAL_FIELDS		6
#define SEAL_OVERHEAD		(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + \
				 crypto_aead_xchacha20poly1305_ietf_ABYTES)
/* The largest plaintext we agree to handle (SQLite's blob limit is 1e9). */
#define SEAL_PLAIN_MAX		((size_t)512 * 1024 * 1024)

static size_t
plain_len(const struct seal_plain *p)
{
	size_t lens[SEAL_FIELDS] = { p->key_len, p->tag_len,
	    p->content_type_len, p->secret_id_len, p->group_id_len,
	    p->body_len };
	size_t total = SEAL_FIXED_BYTES;
	int i;

	for (i = 0; i < SEAL_FIELDS; i++) {
		if (lens[i] > SEAL_PLAIN_MAX)
			return 0;
		total += 4 + lens[i];
		if (total > SEAL_PLAIN_MAX)
			return 0;
	}
	return total;
}

size_t
seal_blob_len(const struct seal_plain *p)
{
	size_t n = plain_len(p);

	return n == 0 ? 0 : n + SEAL_OVERHEAD;
}

static uint8_t *
put_u16(uint8_t *w, uint16_t v)
{
	w[0] = (uint8_t)v;
	w[1] = (uint8_t)(v >> 8);
	return w + 2;
}

static uint8_t *
put_u32(uint8_t *w, uint32_t v)
{
	int i;

	for (i = 0; i < 4; i++)
		w[i] = (uint8_t)(v >> (8 * i));
	return w + 4;
}

static uint8_t *
put_i64(uint8_t *w, int64_t v)
{
	uint64_t u = (uint64_t)v;
	int i;

	for (i = 0; i < 8; i++)
		w[i] = (uint8_t)(u >> (8 * i));
	return w + 8;
}

static uint8_t *
put_field(uint8_t *w, const void *bytes, size_t len)
{
	w = put_u32(w, (uint32_t)len);
	if (len > 0)
		memcpy(w, bytes, len);
	return w + len;
}

static uint32_t
get_u32(const uint8_t *r)
{
	return (uint32_t)r[0] | (uint32_t)r[1] << 8 | (uint32_t)r[2] << 16 |
	    (uint32_t)r[3] << 24;
}

static int64_t
get_i64(const uint8_t *r)
{
	uint64_t u = 0;
	int i;

	for (i = 7; i >= 0; i--)
		u = (u << 8) | r[i];
	return (int64_t)u;
}

#define SEAL_AD_MAX	(2 * STORE_HASH_BYTES + sizeof(SEAL_AD_TAG) - 1)

/* k, the tag hash if any, the schema tag; returns the length. */
static size_t
make_ad(uint8_t *ad, const uint8_t k[STORE_HASH_BYTES],
    const uint8_t *tag_hash)
{
	size_t n = 0;

	memcpy(ad, k, STORE_HASH_BYTES);
	n += STORE_HASH_BYTES;
	if (tag_hash != NULL) {
		memcpy(ad + n, tag_hash, STORE_HASH_BYTES);
		n += STORE_HASH_BYTES;
	}
	memcpy(ad + n, SEAL_AD_TAG, sizeof(SEAL_AD_TAG) - 1);
	return n + sizeof(SEAL_AD_TAG) - 1;
}

int
seal_make(const struct store_keyset *ks, const uint8_t k[STORE_HASH_BYTES],
    const uint8_t *tag_hash, const struct seal_plain *p, uint8_t **blob,
    size_t *blob_len)
{
	uint8_t	 ad[SEAL_AD_MAX];
	uint8_t	*plain = NULL, *out = NULL, *w;
	size_t	 n, ad_len;
	unsigned long long clen = 0;
	int	 ret = -1;

	*blob = NULL;
	*blob_len = 0;
	if ((n = plain_len(p)) == 0 || p->status < 0 || p->status > 0xffff)
		goto done;
	if ((plain = malloc(n)) == NULL || (out = malloc(n + SEAL_OVERHEAD)) == NULL)
		goto done;

	w = plain;
	*w++ = SEAL_LAYOUT_VERSION;
	*w++ = 0;
	w = put_u16(w, (uint16_t)p->status);
	w = put_u32(w, p->kind);
	w = put_i64(w, p->fetched_at);
	w = put_i64(w, p->fresh_until);
	w = put_i64(w, p->refresh_at);
	w = put_i64(w, p->stale_until);
	w = put_field(w, p->key, p->key_len);
	w = put_field(w, p->tag, p->tag_len);
	w = put_field(w, p->content_type, p->content_type_len);
	w = put_field(w, p->secret_id, p->secret_id_len);
	w = put_field(w, p->group_id, p->group_id_len);
	w = put_field(w, p->body, p->body_len);

	ad_len = make_ad(ad, k, tag_hash);
	randombytes_buf(out, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen, plain, n,
	    ad, ad_len, NULL, out, ks->seal);
	*blob = out;
	*blob_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
	out = NULL;
	ret = 0;
done:
	if (plain != NULL) {
		sodium_memzero(plain, n);
		free(plain);
	}
	free(out);
	return ret;
}

/* Take one length-prefixed field from [*r, end). */
static int
take_field(const uint8_t **r, const uint8_t *end, const void **bytes,
    size_t *len)
{
	uint32_t n;

	if (end - *r < 4)
		return -1;
	n = get_u32(*r);
	*r += 4;
	if ((size_t)(end - *r) < n)
		return -1;
	*bytes = *r;
	*len = n;
	*r += n;
	return 0;
}

/* Strings handed back as C strings must not hold a NUL. */
static bool
has_nul(const char *s, size_t len)
{
	return len > 0 && memchr(s, '\0', len) != NULL;
}

int
seal_open(const struct store_keyset *ks, const uint8_t k[STORE_HASH_BYTES],
    const uint8_t *tag_hash, const uint8_t *blob, size_t blob_len,
    struct seal_plain *p)
{
	uint8_t		 ad[SEAL_AD_MAX];
	size_t		 ad_len;
	const uint8_t	*r, *end;
	const void	*field[SEAL_FIELDS];
	size_t		 flen[SEAL_FIELDS];
	unsigned long long mlen = 0;
	size_t		 cap;
	int		 i;

	memset(p, 0, sizeof(*p));
	if (blob == NULL || blob_len < SEAL_OVERHEAD + SEAL_FIXED_BYTES ||
	    blob_len - SEAL_OVERHEAD > SEAL_PLAIN_MAX)
		return -1;
	cap = blob_len - SEAL_OVERHEAD;
	if ((p->plain = malloc(cap)) == NULL)
		return -2;
	p->plain_len = cap;

	ad_len = make_ad(ad, k, tag_hash);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(p->plain, &mlen, NULL,
	    blob + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	    blob_len - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, ad,
	    ad_len, blob, ks->seal) != 0 || mlen != cap)
		goto bad;

	r = p->plain;
	end = p->plain + cap;
	if (r[0] != SEAL_LAYOUT_VERSION || r[1] != 0)
		goto bad;
	p->status = r[2] | r[3] << 8;
	p->kind = get_u32(r + 4);
	p->fetched_at = get_i64(r + 8);
	p->fresh_until = get_i64(r + 16);
	p->refresh_at = get_i64(r + 24);
	p->stale_until = get_i64(r + 32);
	r += SEAL_FIXED_BYTES;
	for (i = 0; i < SEAL_FIELDS; i++)
		if (take_field(&r, end, &field[i], &flen[i]) != 0)
			goto bad;
	if (r != end)
		goto bad;
	p->key = field[0];		p->key_len = flen[0];
	p->tag = field[1];		p->tag_len = flen[1];
	p->content_type = field[2];	p->content_type_len = flen[2];
	p->secret_id = field[3];	p->secret_id_len = flen[3];
	p->group_id = field[4];		p->group_id_len = flen[4];
	p->body = field[5];		p->body_len = flen[5];
	if (p->key_len == 0 || has_nul(p->key, p->key_len) ||
	    has_nul(p->tag, p->tag_len) ||
	    has_nul(p->content_type, p->content_type_len) ||
	    has_nul(p->secret_id, p->secret_id_len) ||
	    has_nul(p->group_id, p->group_id_len))
		goto bad;
	return 0;
bad:
	seal_plain_wipe(p);
	return -1;
}

void
seal_plain_wipe(struct seal_plain *p)
{
	if (p->plain != NULL) {
		sodium_memzero(p->plain, p->plain_len);
		free(p->plain);
	}
	memset(p, 0, sizeof(*p));
}

int
seal_check_make(const struct store_keyset *ks, uint8_t **blob, size_t *blob_len)
{
	const size_t text_len = sizeof(CHECK_TEXT) - 1;
	unsigned long long clen = 0;
	uint8_t *out;

	*blob = NULL;
	*blob_len = 0;
	if ((out = malloc(text_len + SEAL_OVERHEAD)) == NULL)
		return -1;
	randombytes_buf(out, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    out + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen,
	    (const uint8_t *)CHECK_TEXT, text_len,
	    (const uint8_t *)CHECK_AD_TAG, sizeof(CHECK_AD_TAG) - 1, NULL, out,
	    ks->seal);
	*blob = out;
	*blob_len = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen;
	return 0;
}

bool
seal_check_opens(const struct store_keyset *ks, const uint8_t *blob,
    size_t blob_len)
{
	uint8_t	 text[sizeof(CHECK_TEXT)];
	unsigned long long mlen = 0;

	if (blob == NULL || blob_len != sizeof(CHECK_TEXT) - 1 + SEAL_OVERHEAD)
		return false;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(text, &mlen, NULL,
	    blob + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	    blob_len - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
	    (const uint8_t *)CHECK_AD_TAG, sizeof(CHECK_AD_TAG) - 1, blob,
	    ks->seal) != 0)
		return false;
	return mlen == sizeof(CHECK_TEXT) - 1 &&
	    memcmp(text, CHECK_TEXT, sizeof(CHECK_TEXT) - 1) == 0;
}
