/*
 * store_keys.c: the master key file and the subkeys derived from it.
 *
 * The master key never touches the database.  It is read from a file that
 * holds base64 of 32 bytes (what `openssl rand -base64 32` prints), and
 * crypto_kdf derives, under the context "smproxy1":
 *   1  the XChaCha20-Poly1305 key that seals rows and the key check,
 *   2  the BLAKE2b key that turns a canonical route key into a row key k,
 *   3  the BLAKE2b key that turns a tag (secret id) into the tag column,
 *   4  a fingerprint, the key_id stored in clear with each row so that the
 *      right key is chosen while a rotation is in progress.
 * Subkeys live in one sodium_malloc'd ring, made read-only once filled.
 *
 * Thread rules: store_key_load and keys_ring_new/free are called by the
 * main thread; the hash and lookup helpers only read the ring and may be
 * called from any thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"

#define KDF_CONTEXT		"smproxy1"
#define KDF_ID_SEAL		1
#define KDF_ID_ROW_HASH		2
#define KDF_ID_TAG_HASH		3
#define KDF_ID_FINGERPRINT	4

/* A key file is 44 characters plus whitespace; anything much longer is not
 * a key file. */
#define KEY_FILE_MAX		4096

static void
set_why(char *why, size_t whylen, const char *path, const char *reason)
{
	if (why != NULL && whylen > 0)
		snprintf(why, whylen, "\"%s\": %s", path, reason);
}

static bool
is_space(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\v' ||
	    c == '\f';
}

int
store_key_load(const char *path, uint8_t **key, bool *too_open, char *why,
    size_t whylen)
{
	uint8_t		*text = NULL, *decoded = NULL;
	const uint8_t	*start, *end;
	const char	*b64_end = NULL;
	size_t		 text_len = 0, decoded_len = 0;
	struct stat	 st;
	ssize_t		 n;
	int		 fd = -1, ret = -1;
	char		 reason[128];

	if (key != NULL)
		*key = NULL;
	if (too_open != NULL)
		*too_open = false;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (path == NULL || key == NULL || too_open == NULL) {
		set_why(why, whylen, path ? path : "(null)", "no key file given");
		return -1;
	}
	if (sodium_init() < 0) {
		set_why(why, whylen, path, "libsodium failed to initialise");
		return -1;
	}

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd == -1 || fstat(fd, &st) == -1) {
		snprintf(reason, sizeof(reason), "cannot read the key file: %s",
		    strerror(errno));
		set_why(why, whylen, path, reason);
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		set_why(why, whylen, path, "is not a regular file");
		goto done;
	}
	*too_open = (st.st_mode & 077) != 0;

	/* The text holds the key too, so it lives in guarded memory. */
	if ((text = sodium_malloc(KEY_FILE_MAX + 1)) == NULL ||
	    (decoded = sodium_malloc(KEY_FILE_MAX)) == NULL) {
		set_why(why, whylen, path, "out of memory");
		goto done;
	}
	for (;;) {
		n = read(fd, text + text_len, KEY_FILE_MAX + 1 - text_len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(reason, sizeof(reason),
			    "cannot read the key file: %s", strerror(errno));
			set_why(why, whylen, path, reason);
			goto done;
		}
		if (n == 0)
			break;
		text_len += (size_t)n;
		if (text_len > KEY_FILE_MAX)
			goto bad_content;
	}

	start = text;
	end = text + text_len;
	while (start < end && is_space(*start))
		start++;
	while (end > start && is_space(end[-1]))
		end--;
	if (start == end)
		goto bad_content;
	if (sodium_base642bin(decoded, KEY_FILE_MAX, (const char *)start,
	    (size_t)(end - start), NULL, &decoded_len, &b64_end,
	    sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    b64_end != (const char *)end || decoded_len != STORE_KEY_BYTES)
		goto bad_content;

	if ((*key = sodium_malloc(STORE_KEY_BYTES)) == NULL) {
		set_why(why, whylen, path, "out of memory");
		goto done;
	}
	memcpy(*key, decoded, STORE_KEY_BYTES);
	sodium_mprotect_readonly(*key);
	ret = 0;
	goto done;

bad_content:
	set_why(why, whylen, path, "does not hold base64 of exactly 32 bytes "
	    "(create one with: openssl rand -base64 32)");
done:
	if (fd != -1)
		close(fd);
	/* sodium_free wipes before releasing. */
	sodium_free(text);
	sodium_free(decoded);
	if (ret != 0)
		*too_open = false;
	return ret;
}

void
store_key_free(uint8_t *key)
{
	sodium_free(key);
}

static int
derive_keyset(struct store_keyset *ks, const uint8_t *key)
{
	uint8_t	 fingerprint[crypto_kdf_BYTES_MIN];
	uint64_t id = 0;
	int	 ret = -1;
	size_t	 i;

	if (crypto_kdf_derive_from_key(ks->seal, sizeof(ks->seal), KDF_ID_SEAL,
	    KDF_CONTEXT, key) != 0 ||
	    crypto_kdf_derive_from_key(ks->row_hash, sizeof(ks->row_hash),
	    KDF_ID_ROW_HASH, KDF_CONTEXT, key) != 0 ||
	    crypto_kdf_derive_from_key(ks->tag_hash, sizeof(ks->tag_hash),
	    KDF_ID_TAG_HASH, KDF_CONTEXT, key) != 0 ||
	    crypto_kdf_derive_from_key(fingerprint, sizeof(fingerprint),
	    KDF_ID_FINGERPRINT, KDF_CONTEXT, key) != 0)
		goto done;
	for (i = 0; i < 8; i++)
		id = (id << 8) | fingerprint[i];
	/* Positive and non-zero, so it reads well in SQL and 0 means none. */
	ks->key_id = (int64_t)(id >> 1);
	if (ks->key_id == 0)
		ks->key_id = 1;
	ret = 0;
done:
	sodium_memzero(fingerprint, sizeof(fingerprint));
	return ret;
}

struct store_keyring *
keys_ring_new(const uint8_t *key, const uint8_t *old_key)
{
	struct store_keyring *ring;

	if (key == NULL)
		return NULL;
	if ((ring = sodium_malloc(sizeof(*ring))) == NULL)
		return NULL;
	memset(ring, 0, sizeof(*ring));
	if (derive_keyset(&ring->set[0], key) != 0)
		goto fail;
	ring->count = 1;
	if (old_key != NULL &&
	    sodium_memcmp(old_key, key, STORE_KEY_BYTES) != 0) {
		if (derive_keyset(&ring->set[1], old_key) != 0)
			goto fail;
		ring->count = 2;
	}
	sodium_mprotect_readonly(ring);
	return ring;
fail:
	sodium_free(ring);
	return NULL;
}

void
keys_ring_free(struct store_keyring *ring)
{
	/* sodium_free lifts the protection and wipes. */
	sodium_free(ring);
}

const struct store_keyset *
keys_by_id(const struct store_keyring *ring, int64_t key_id)
{
	int i;

	for (i = 0; i < ring->count; i++)
		if (ring->set[i].key_id == key_id)
			return &ring->set[i];
	return NULL;
}

void
keys_row_hash(const struct store_keyset *ks, const char *key,
    uint8_t out[STORE_HASH_BYTES])
{
	crypto_generichash(out, STORE_HASH_BYTES, (const uint8_t *)key,
	    strlen(key), ks->row_hash, sizeof(ks->row_hash));
}

void
keys_tag_hash(const struct store_keyset *ks, const char *tag, size_t tag_len,
    uint8_t out[STORE_HASH_BYTES])
{
	crypto_generichash(out, STORE_HASH_BYTES, (const uint8_t *)tag,
	    tag_len, ks->tag_hash, sizeof(ks->tag_hash));
}
