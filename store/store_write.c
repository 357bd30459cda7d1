/*
 * store_write.c: the writer's operations.
 *
 * Each operation is one savepoint (store_tx.c): it first drops rows that
 * readers found corrupt, then does its work; a failure rolls it back
 * whole and returns STORE_EIO, and the next call starts clean (a full disk
 * that frees up lets writes succeed again).  A row is always written by
 * one INSERT, so a crash leaves either the old row or the new one.
 *
 * Bounds: after an insert, least recently used rows (last_access, then
 * fetched_at) other than the new one are deleted until the entry count
 * and the sum of sealed blob sizes are within max_entries and max_bytes.
 * The counters come from memory (store_tx.c), not from COUNT queries.
 *
 * While a rotation is unfinished (reseal_pending), a key may still have a
 * row under its old-key hash: put, touch, delete and invalidate act on
 * both hashes.
 *
 * The hot index follows: a put logs its new sealed row, a touch the new
 * last_access, and every DELETE (evictions, invalidation, expiry) the k of
 * each row it removed; the log reaches the index when the transaction
 * commits (store_memlog.c).
 *
 * Thread rules: writer (scheduler) thread only.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* The keysets a key may be stored under right now: 1 or 2. */
static int
live_sets(const struct store *s)
{
	return atomic_load(&s->reseal_pending) ? s->ring->count : 1;
}

static bool
over_bounds(const struct store *s)
{
	int64_t entries = atomic_load(&s->entries) + s->tx.entries +
	    s->op.entries;
	int64_t bytes = atomic_load(&s->bytes) + s->tx.bytes + s->op.bytes;

	return (s->max_entries > 0 && entries > s->max_entries) ||
	    (s->max_bytes > 0 && bytes > s->max_bytes);
}

/* Delete least recently used rows, never the row *keep_id (if keep_id is
 * non-NULL), until within the bounds or nothing else is left.  SQLite
 * code. */
static int
evict(struct store *s, const int64_t *keep_id)
{
	sqlite3_stmt *oldest = s->stmt[W_LRU_OLDEST], *del = s->stmt[W_DELETE_ID];
	int64_t id;
	int rc;

	while (over_bounds(s)) {
		if (keep_id != NULL)
			sqlite3_bind_int64(oldest, 1, *keep_id);
		else
			sqlite3_bind_null(oldest, 1);
		rc = sqlite3_step(oldest);
		id = rc == SQLITE_ROW ? sqlite3_column_int64(oldest, 0) : 0;
		sqlite3_reset(oldest);
		sqlite3_clear_bindings(oldest);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW)
			return rc;
		sqlite3_bind_int64(del, 1, id);
		if ((rc = db_run_delete(s, del)) != SQLITE_DONE)
			return rc;
	}
	return SQLITE_DONE;
}

/* Delete key's row under keyset i.  SQLite code. */
static int
delete_key(struct store *s, int i, const char *key)
{
	sqlite3_stmt *st = s->stmt[W_DELETE];
	uint8_t k[STORE_HASH_BYTES];

	keys_row_hash(&s->ring->set[i], key, k);
	row_bind_key(st, k);
	return db_run_delete(s, st);
}

static int
begin_op(struct store *s)
{
	int rc;

	if ((rc = tx_op_begin(s)) != STORE_OK)
		return rc;
	if ((rc = tx_drain_corrupt(s)) != STORE_OK)
		return tx_op_end(s, rc);
	return STORE_OK;
}

/* Insert the sealed row under k; SQLite code.  Accounts for the row it
 * replaces and sets *id to the new rowid. */
static int
insert_row(struct store *s, const uint8_t k[STORE_HASH_BYTES],
    const uint8_t *tag_hash, const struct seal_plain *p, int64_t last_access,
    const uint8_t *blob, size_t blob_len, int64_t *id)
{
	sqlite3_stmt *st = s->stmt[W_SIZE];
	int rc;

	row_bind_key(st, k);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		s->op.entries--;
		s->op.bytes -= sqlite3_column_int64(st, 0);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE)
		return rc;

	st = s->stmt[W_PUT];
	if (row_bind(st, k, tag_hash, p, last_access, s->ring->set[0].key_id,
	    blob, blob_len) != 0) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return SQLITE_ERROR;
	}
	if ((rc = db_run(st)) != SQLITE_DONE)
		return rc;
	s->op.entries++;
	s->op.bytes += (int64_t)blob_len;
	*id = sqlite3_last_insert_rowid(s->db);
	return SQLITE_DONE;
}

/* Log the row insert_row wrote for the hot index. */
static void
log_put(struct store *s, const uint8_t k[STORE_HASH_BYTES],
    const uint8_t *tag_hash, const struct seal_plain *p, int64_t last_access,
    const uint8_t *blob, size_t blob_len)
{
	struct store_row row;

	memset(&row, 0, sizeof(row));
	row.k = k;
	row.tag = tag_hash;
	row.kind = p->kind;
	row.fetched_at = p->fetched_at;
	row.fresh_until = p->fresh_until;
	row.refresh_at = p->refresh_at;
	row.stale_until = p->stale_until;
	row.last_access = last_access;
	row.size = (int64_t)blob_len;
	row.key_id = s->ring->set[0].key_id;
	row.blob = blob;
	row.blob_len = blob_len;
	memlog_put(s, &row);
}

static size_t
text_len(const char *s)
{
	return s != NULL ? strlen(s) : 0;
}

int
store_put(struct store *s, const char *key, const char *tag,
    const struct store_entry *e)
{
	const struct store_keyset *ks;
	struct seal_plain p;
	uint8_t	 k[STORE_HASH_BYTES], tag_hash[STORE_HASH_BYTES];
	uint8_t	*blob = NULL;
	size_t	 blob_len = 0;
	int64_t	 id = 0;
	int	 rc;

	if (s == NULL || key == NULL || key[0] == '\0' || e == NULL ||
	    (e->body == NULL && e->body_len > 0))
		return STORE_EINVAL;
	memset(&p, 0, sizeof(p));
	p.status = e->status;
	p.kind = e->meta.kind;
	p.fetched_at = e->meta.fetched_at;
	p.fresh_until = e->meta.fresh_until;
	p.refresh_at = e->meta.refresh_at;
	p.stale_until = e->meta.stale_until;
	p.key = key;
	p.key_len = strlen(key);
	p.tag = tag != NULL ? tag : "";
	p.tag_len = text_len(tag);
	p.content_type = e->content_type != NULL ? e->content_type : "";
	p.content_type_len = text_len(e->content_type);
	p.secret_id = e->secret_id != NULL ? e->secret_id : "";
	p.secret_id_len = text_len(e->secret_id);
	p.group_id = e->group_id != NULL ? e->group_id : "";
	p.group_id_len = text_len(e->group_id);
	p.body = e->body;
	p.body_len = e->body_len;
	if (p.status < 0 || p.status > 0xffff)
		return STORE_EINVAL;

	blob_len = seal_blob_len(&p);
	if (blob_len == 0 ||
	    (s->max_entry_bytes > 0 && (int64_t)blob_len > s->max_entry_bytes) ||
	    (s->max_bytes > 0 && (int64_t)blob_len > s->max_bytes))
		return STORE_ETOOBIG;

	ks = &s->ring->set[0];
	keys_row_hash(ks, key, k);
	if (p.tag_len > 0)
		keys_tag_hash(ks, p.tag, p.tag_len, tag_hash);
	if (seal_make(ks, k, p.tag_len > 0 ? tag_hash : NULL, &p, &blob,
	    &blob_len) != 0)
		return STORE_EIO;

	if ((rc = begin_op(s)) != STORE_OK)
		goto done;
	if (live_sets(s) == 2 && delete_key(s, 1, key) != SQLITE_DONE)
		rc = STORE_EIO;
	else if (insert_row(s, k, p.tag_len > 0 ? tag_hash : NULL, &p,
	    e->meta.last_access, blob, blob_len, &id) != SQLITE_DONE ||
	    evict(s, &id) != SQLITE_DONE)
		rc = STORE_EIO;
	else
		/* After the evictions, so the index never holds one too many. */
		log_put(s, k, p.tag_len > 0 ? tag_hash : NULL, &p,
		    e->meta.last_access, blob, blob_len);
	rc = tx_op_end(s, rc);
done:
	free(blob);
	return rc;
}

int
store_touch(struct store *s, const char *key, int64_t now)
{
	sqlite3_stmt *st;
	uint8_t	 k[STORE_HASH_BYTES];
	int	 rc, i;

	if (s == NULL || key == NULL || key[0] == '\0')
		return STORE_EINVAL;
	if ((rc = begin_op(s)) != STORE_OK)
		return rc;
	st = s->stmt[W_TOUCH];
	for (i = 0; i < live_sets(s) && rc == STORE_OK; i++) {
		keys_row_hash(&s->ring->set[i], key, k);
		row_bind_key(st, k);
		sqlite3_bind_int64(st, 2, now);
		if (db_run(st) != SQLITE_DONE)
			rc = STORE_EIO;
		else if (sqlite3_changes(s->db) > 0)
			memlog_touch(s, k, now);
	}
	return tx_op_end(s, rc);
}

int
store_delete(struct store *s, const char *key)
{
	int64_t	 before;
	int	 rc, i;

	if (s == NULL || key == NULL || key[0] == '\0')
		return STORE_EINVAL;
	if ((rc = begin_op(s)) != STORE_OK)
		return rc;
	before = s->op.entries;
	for (i = 0; i < live_sets(s) && rc == STORE_OK; i++)
		if (delete_key(s, i, key) != SQLITE_DONE)
			rc = STORE_EIO;
	if (rc == STORE_OK && s->op.entries == before)
		rc = STORE_ENOTFOUND;
	return tx_op_end(s, rc);
}

int
store_invalidate(struct store *s, const char *tag, unsigned kinds,
    int64_t *dropped)
{
	sqlite3_stmt *st;
	uint8_t	 hash[2][STORE_HASH_BYTES];
	int64_t	 before, count;
	int	 rc, i;

	if (dropped != NULL)
		*dropped = 0;
	if (s == NULL)
		return STORE_EINVAL;
	if ((rc = begin_op(s)) != STORE_OK)
		return rc;
	before = s->op.entries;
	if (tag != NULL && tag[0] != '\0') {
		st = s->stmt[W_INVAL_TAG];
		for (i = 0; i < 2; i++) {
			if (i < live_sets(s)) {
				keys_tag_hash(&s->ring->set[i], tag, strlen(tag),
				    hash[i]);
				sqlite3_bind_blob(st, i + 1, hash[i],
				    STORE_HASH_BYTES, SQLITE_STATIC);
			} else
				sqlite3_bind_null(st, i + 1);
		}
		if (db_run_delete(s, st) != SQLITE_DONE)
			rc = STORE_EIO;
	}
	if (rc == STORE_OK && kinds != 0) {
		st = s->stmt[W_INVAL_KIND];
		sqlite3_bind_int64(st, 1, (sqlite3_int64)kinds);
		if (db_run_delete(s, st) != SQLITE_DONE)
			rc = STORE_EIO;
	}
	count = before - s->op.entries;
	if ((rc = tx_op_end(s, rc)) == STORE_OK && dropped != NULL)
		*dropped = count;
	return rc;
}

/* now - span without overflow. */
static int64_t
minus(int64_t now, int64_t span)
{
	if (span > 0 && now < INT64_MIN + span)
		return INT64_MIN;
	return now - span;
}

int
store_maintain(struct store *s, int64_t now, int64_t idle_ttl_ms)
{
	sqlite3_stmt *st;
	int rc;

	if (s == NULL)
		return STORE_EINVAL;
	if ((rc = begin_op(s)) != STORE_OK)
		return rc;
	st = s->stmt[W_EXPIRE];
	sqlite3_bind_int64(st, 1, now);
	if (db_run_delete(s, st) != SQLITE_DONE)
		rc = STORE_EIO;
	if (rc == STORE_OK && idle_ttl_ms > 0) {
		st = s->stmt[W_IDLE];
		sqlite3_bind_int64(st, 1, minus(now, idle_ttl_ms));
		if (db_run_delete(s, st) != SQLITE_DONE)
			rc = STORE_EIO;
	}
	if (rc == STORE_OK && evict(s, NULL) != SQLITE_DONE)
		rc = STORE_EIO;
	if ((rc = tx_op_end(s, rc)) != STORE_OK)
		return rc;
	return reseal_step(s, STORE_RESEAL_BATCH, NULL);
}

int
store_due_refreshes(struct store *s, int64_t now, int64_t idle_ttl_ms,
    char ***keys, int max)
{
	sqlite3_stmt	*st;
	struct store_row row;
	struct seal_plain plain;
	char		**out = NULL;
	int64_t		*bad = NULL;
	int		 n = 0, nbad = 0, rc, sqlrc, i;

	if (keys != NULL)
		*keys = NULL;
	if (s == NULL || keys == NULL)
		return -1;
	if (max <= 0)
		return 0;
	if ((out = calloc((size_t)max, sizeof(*out))) == NULL ||
	    (bad = calloc((size_t)max, sizeof(*bad))) == NULL) {
		free(out);
		free(bad);
		return -1;
	}
	if ((rc = begin_op(s)) != STORE_OK)
		goto done;

	st = s->stmt[W_DUE];
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, idle_ttl_ms > 0 ? minus(now, idle_ttl_ms) :
	    INT64_MIN);
	sqlite3_bind_int(st, 3, max);
	while ((sqlrc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, ROW_ID_COLUMN);
		int open_rc = row_read(st, &row) != 0 ? STORE_ECORRUPT :
		    row_open(s->ring, &row, &plain);

		if (open_rc == STORE_ECORRUPT) {
			bad[nbad++] = id;
			continue;
		}
		if (open_rc == STORE_OK)
			out[n] = row_key_dup(&plain);
		seal_plain_wipe(&plain);
		if (open_rc != STORE_OK || out[n] == NULL) {
			rc = STORE_EIO;
			break;
		}
		n++;
	}
	if (sqlrc != SQLITE_ROW && sqlrc != SQLITE_DONE)
		rc = STORE_EIO;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);

	st = s->stmt[W_DELETE_ID];
	for (i = 0; i < nbad && rc == STORE_OK; i++) {
		sqlite3_bind_int64(st, 1, bad[i]);
		if (db_run_delete(s, st) != SQLITE_DONE)
			rc = STORE_EIO;
	}
	rc = tx_op_end(s, rc);
done:
	free(bad);
	if (rc != STORE_OK || n == 0) {
		store_keys_free(out, n);
		return rc == STORE_OK ? 0 : -1;
	}
	*keys = out;
	return n;
}

void
store_keys_free(char **keys, int n)
{
	int i;

	if (keys == NULL)
		return;
	for (i = 0; i < n; i++)
		row_key_free(keys[i]);
	free(keys);
}
