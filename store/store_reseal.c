/*
 * store_reseal.c: moving rows from the old key to the current one.
 *
 * A rotation changes every derived key, so a row gets a new k, a new tag
 * hash and a new blob: reseal opens it with the old key (its key_id says
 * so), seals it again under the current key, deletes the old row and
 * inserts the new one with INSERT OR IGNORE (a row the writer already put
 * under the new key is newer and wins).  A row that does not open is
 * dropped.  Rows are visited in rowid order from a cursor kept in struct
 * store, STORE_RESEAL_BATCH rows per transaction; the transaction that
 * finds no row left also replaces the key check, so the database says
 * "current key" only once every row is under it.
 *
 * Thread rules: the writer (store_open, then store_maintain).
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* Move one row (the current row of the reseal statement).  Returns an
 * SQLite code (SQLITE_DONE on success); *moved says it was resealed and
 * *old_id is the rowid it had. */
static int
reseal_row(struct store *s, bool *moved, int64_t *old_id)
{
	sqlite3_stmt	*next = s->stmt[W_RESEAL_NEXT], *st;
	const struct store_keyset *ks = &s->ring->set[0];
	struct store_row row;
	struct seal_plain plain;
	uint8_t		 new_k[STORE_HASH_BYTES], new_tag[STORE_HASH_BYTES];
	uint8_t		*blob = NULL;
	char		*key;
	size_t		 blob_len = 0;
	int64_t		 id, last_access;
	bool		 opened = false;
	int		 rc;

	*moved = false;
	memset(&plain, 0, sizeof(plain));
	id = *old_id = sqlite3_column_int64(next, ROW_ID_COLUMN);
	if (row_read(next, &row) == 0) {
		last_access = row.last_access;
		rc = row_open(s->ring, &row, &plain);
		if (rc == STORE_EIO) {
			sqlite3_reset(next);
			return SQLITE_NOMEM;
		}
		opened = rc == STORE_OK;
	} else
		last_access = 0;
	sqlite3_reset(next);

	st = s->stmt[W_DELETE_ID];
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_run_delete(s, st)) != SQLITE_DONE || !opened)
		goto done;

	if ((key = row_key_dup(&plain)) == NULL) {
		rc = SQLITE_NOMEM;
		goto done;
	}
	keys_row_hash(ks, key, new_k);
	row_key_free(key);
	if (plain.tag_len > 0)
		keys_tag_hash(ks, plain.tag, plain.tag_len, new_tag);
	if (seal_make(ks, new_k, plain.tag_len > 0 ? new_tag : NULL, &plain,
	    &blob, &blob_len) != 0) {
		rc = SQLITE_NOMEM;
		goto done;
	}
	st = s->stmt[W_PUT_IGNORE];
	if (row_bind(st, new_k, plain.tag_len > 0 ? new_tag : NULL, &plain,
	    last_access, ks->key_id, blob, blob_len) != 0) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		rc = SQLITE_ERROR;
		goto done;
	}
	if ((rc = db_run(st)) == SQLITE_DONE &&
	    sqlite3_changes(s->db) == 1) {
		s->op.entries++;
		s->op.bytes += (int64_t)blob_len;
		*moved = true;
	}
done:
	seal_plain_wipe(&plain);
	free(blob);
	return rc;
}

int
reseal_step(struct store *s, int64_t max_rows, int64_t *resealed)
{
	sqlite3_stmt	*next = s->stmt[W_RESEAL_NEXT];
	int64_t		 done_rows = 0, batch_moved, last_id;
	bool		 finished = false, moved;
	int		 rc, n, sqlrc;

	if (!atomic_load(&s->reseal_pending) || s->ring->count < 2)
		return STORE_OK;
	while (!finished && done_rows < max_rows) {
		if ((rc = tx_op_begin(s)) != STORE_OK)
			return rc;
		batch_moved = 0;
		for (n = 0; n < STORE_RESEAL_BATCH && done_rows + n < max_rows;
		    n++) {
			sqlite3_bind_int64(next, 1, s->reseal_cursor);
			sqlite3_bind_int64(next, 2, s->ring->set[1].key_id);
			sqlrc = sqlite3_step(next);
			if (sqlrc == SQLITE_DONE) {
				sqlite3_reset(next);
				finished = true;
				break;
			}
			if (sqlrc != SQLITE_ROW) {
				sqlite3_reset(next);
				rc = STORE_EIO;
				break;
			}
			if (reseal_row(s, &moved, &last_id) != SQLITE_DONE) {
				rc = STORE_EIO;
				break;
			}
			batch_moved += moved;
			if (last_id == INT64_MAX) {
				finished = true;
				n++;
				break;
			}
			s->reseal_cursor = last_id + 1;
		}
		sqlite3_clear_bindings(next);
		if (rc == STORE_OK && finished) {
			const struct store_keyset *ks = &s->ring->set[0];
			uint8_t	*check = NULL;
			size_t	 len = 0;

			if (seal_check_make(ks, &check, &len) != 0 ||
			    db_meta_set_blob(s, "key_check", check, len) != 0 ||
			    db_meta_set_int(s, "key_id", ks->key_id) != 0)
				rc = STORE_EIO;
			free(check);
		}
		if ((rc = tx_op_end(s, rc)) != STORE_OK) {
			/* The cursor may be past rows that were rolled back. */
			s->reseal_cursor = INT64_MIN;
			return rc;
		}
		done_rows += n;
		if (resealed != NULL)
			*resealed += batch_moved;
	}
	if (finished)
		atomic_store(&s->reseal_pending, false);
	return STORE_OK;
}
