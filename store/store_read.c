/*
 * store_read.c: lookups on a reader's connection.
 *
 * A lookup hashes the canonical key with the current row-hash subkey (and,
 * while a rotation is unfinished, with the old one) and asks the hot index
 * (store_mem.c) for that k.  On a hit the indexed sealed row is opened
 * there; on a miss the row is read by its k from SQLite, opened, and a
 * copy of the sealed row is offered to the index.  Either way the blob is
 * opened with k as associated data and the clear columns are checked
 * against the sealed copy (row_open), then the canonical key inside is
 * compared with the one asked for.  The decrypted plaintext is copied into
 * the caller's entry and wiped.  A row that fails any check is never
 * returned: it leaves the index at once, and its k goes to the writer,
 * which deletes the database row if it fails there too.
 *
 * Thread rules: a struct store_reader belongs to one thread at a time;
 * store_get touches the shared struct store only through the read-only key
 * ring, the atomic reseal flag, the hot index and tx_report_corrupt.
 */
#include <string.h>

#include "store/store_int.h"

/* Turn an opened row into the caller's entry.  STORE_OK, STORE_ECORRUPT
 * (the row is another key's) or STORE_EIO. */
static int
entry_of(const struct seal_plain *plain, int64_t last_access, const char *key,
    size_t key_len, struct store_entry **out)
{
	if (plain->key_len != key_len || memcmp(plain->key, key, key_len) != 0)
		return STORE_ECORRUPT;
	if ((*out = row_entry(plain, last_access)) == NULL)
		return STORE_EIO;
	return STORE_OK;
}

/* Look key up in SQLite under k.  On STORE_OK and when fill is set,
 * *copy (if memory allows) is the sealed row for the index.  STORE_OK,
 * STORE_ENOTFOUND, STORE_ECORRUPT or STORE_EIO. */
static int
get_disk(struct store_reader *r, const uint8_t k[STORE_HASH_BYTES],
    const char *key, size_t key_len, bool fill, struct mem_entry **copy,
    struct store_entry **out)
{
	sqlite3_stmt	*st = r->get;
	struct store_row row;
	struct seal_plain plain;
	int		 rc, ret;

	*copy = NULL;
	row_bind_key(st, k);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		ret = STORE_ENOTFOUND;
	else if (rc != SQLITE_ROW)
		ret = STORE_EIO;
	else if (row_read(st, &row) != 0)
		ret = STORE_ECORRUPT;
	else if ((ret = row_open(r->s->ring, &row, &plain)) == STORE_OK) {
		ret = entry_of(&plain, row.last_access, key, key_len, out);
		seal_plain_wipe(&plain);
		if (ret == STORE_OK && fill)
			*copy = mem_entry_new(&row);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return ret;
}

/* Look key up under one keyset, in the index first when use_mem is set.
 * STORE_OK, STORE_ENOTFOUND, STORE_ECORRUPT or STORE_EIO. */
static int
get_under(struct store_reader *r, const struct store_keyset *ks,
    const char *key, size_t key_len, bool use_mem, struct store_entry **out)
{
	struct store_mem *mem = use_mem ? r->s->mem : NULL;
	struct mem_entry *copy = NULL;
	struct seal_plain plain;
	uint8_t		 k[STORE_HASH_BYTES];
	uint64_t	 gen = 0;
	int64_t		 last_access;
	int		 ret;

	keys_row_hash(ks, key, k);
	if (mem != NULL) {
		ret = mem_get(mem, r->s->ring, k, &plain, &last_access, &gen);
		if (ret == STORE_OK) {
			ret = entry_of(&plain, last_access, key, key_len, out);
			seal_plain_wipe(&plain);
		}
		if (ret == STORE_ECORRUPT)
			mem_forget(mem, k);
		if (ret != STORE_ENOTFOUND)
			goto done;
	}
	ret = get_disk(r, k, key, key_len, mem != NULL, &copy, out);
	if (copy != NULL)
		mem_offer(mem, copy, gen);
done:
	if (ret == STORE_ECORRUPT)
		tx_report_corrupt(r->s, k);
	return ret;
}

static int
get(struct store_reader *r, const char *key, bool use_mem,
    struct store_entry **out)
{
	const struct store_keyring *ring;
	size_t	 key_len;
	int	 rc, i, sets;

	if (out != NULL)
		*out = NULL;
	if (r == NULL || key == NULL || out == NULL ||
	    (key_len = strlen(key)) == 0)
		return STORE_EINVAL;
	ring = r->s->ring;
	sets = atomic_load(&r->s->reseal_pending) ? ring->count : 1;
	rc = STORE_ENOTFOUND;
	for (i = 0; i < sets && rc == STORE_ENOTFOUND; i++)
		rc = get_under(r, &ring->set[i], key, key_len, use_mem, out);
	return rc;
}

int
store_get(struct store_reader *r, const char *key, struct store_entry **out)
{
	return get(r, key, true, out);
}

int
store_get_disk(struct store_reader *r, const char *key,
    struct store_entry **out)
{
	return get(r, key, false, out);
}
