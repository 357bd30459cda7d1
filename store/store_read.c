/*
 * store_read.c: lookups on a reader's connection.
 *
 * A lookup hashes the canonical key with the current row-hash subkey (and,
 * while a rotation is unfinished, with the old one), reads the row by its
 * k, opens the blob with k as associated data and checks the clear
 * columns against the sealed copy (row_open).  The decrypted plaintext is
 * copied into the caller's entry and wiped.  A row that fails any check is
 * never returned: its k goes to the writer, which deletes it.
 *
 * Thread rules: a struct store_reader belongs to one thread at a time;
 * store_get touches the shared struct store only through the read-only key
 * ring, the atomic reseal flag and tx_report_corrupt.
 */
#include <string.h>

#include "store/store_int.h"

/* Look key up under one keyset.  STORE_OK, STORE_ENOTFOUND,
 * STORE_ECORRUPT or STORE_EIO. */
static int
get_under(struct store_reader *r, const struct store_keyset *ks,
    const char *key, size_t key_len, struct store_entry **out)
{
	sqlite3_stmt	*st = r->get;
	struct store_row row;
	struct seal_plain plain;
	uint8_t		 k[STORE_HASH_BYTES];
	int		 rc, ret;

	keys_row_hash(ks, key, k);
	row_bind_key(st, k);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE)
		ret = STORE_ENOTFOUND;
	else if (rc != SQLITE_ROW)
		ret = STORE_EIO;
	else if (row_read(st, &row) != 0)
		ret = STORE_ECORRUPT;
	else if ((ret = row_open(r->s->ring, &row, &plain)) == STORE_OK) {
		if (plain.key_len != key_len ||
		    memcmp(plain.key, key, key_len) != 0)
			ret = STORE_ECORRUPT;
		else if ((*out = row_entry(&plain, row.last_access)) == NULL)
			ret = STORE_EIO;
		seal_plain_wipe(&plain);
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (ret == STORE_ECORRUPT)
		tx_report_corrupt(r->s, k);
	return ret;
}

int
store_get(struct store_reader *r, const char *key, struct store_entry **out)
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
		rc = get_under(r, &ring->set[i], key, key_len, out);
	return rc;
}
