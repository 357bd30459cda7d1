/*
 * store_row.c: between SQLite rows and sealed plaintext.
 *
 * The entries table keeps the freshness times and kind in clear so that
 * SQL can find due, expired and invalidated rows.  Those columns are an
 * index only: row_open takes the values from the sealed copy and refuses a
 * row whose clear columns (times, kind, size) disagree with it, and the k
 * and tag columns are associated data of the blob, so editing the file
 * cannot make an entry look fresher or dodge an invalidation.  last_access is the one column that is not sealed (it
 * changes on every read and only steers eviction and refreshes).
 *
 * Thread rules: any thread, on its own connection's statements.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

int
row_bind_key(sqlite3_stmt *st, const uint8_t k[STORE_HASH_BYTES])
{
	return sqlite3_bind_blob(st, 1, k, STORE_HASH_BYTES, SQLITE_STATIC) ==
	    SQLITE_OK ? 0 : -1;
}

int
row_read(sqlite3_stmt *st, struct store_row *row)
{
	memset(row, 0, sizeof(*row));
	if (sqlite3_column_type(st, 0) != SQLITE_BLOB ||
	    sqlite3_column_bytes(st, 0) != STORE_HASH_BYTES)
		return -1;
	row->k = sqlite3_column_blob(st, 0);
	if (sqlite3_column_type(st, 1) == SQLITE_BLOB) {
		if (sqlite3_column_bytes(st, 1) != STORE_HASH_BYTES)
			return -1;
		row->tag = sqlite3_column_blob(st, 1);
	} else if (sqlite3_column_type(st, 1) != SQLITE_NULL)
		return -1;
	row->kind = (unsigned)sqlite3_column_int64(st, 2);
	row->fetched_at = sqlite3_column_int64(st, 3);
	row->fresh_until = sqlite3_column_int64(st, 4);
	row->refresh_at = sqlite3_column_int64(st, 5);
	row->stale_until = sqlite3_column_int64(st, 6);
	row->last_access = sqlite3_column_int64(st, 7);
	row->size = sqlite3_column_int64(st, 8);
	row->key_id = sqlite3_column_int64(st, 9);
	if (sqlite3_column_type(st, 10) != SQLITE_BLOB)
		return -1;
	row->blob = sqlite3_column_blob(st, 10);
	row->blob_len = (size_t)sqlite3_column_bytes(st, 10);
	return 0;
}

int
row_open(const struct store_keyring *ring, const struct store_row *row,
    struct seal_plain *p)
{
	const struct store_keyset *ks;
	int	 rc;

	memset(p, 0, sizeof(*p));
	if ((ks = keys_by_id(ring, row->key_id)) == NULL)
		return STORE_ECORRUPT;
	rc = seal_open(ks, row->k, row->tag, row->blob, row->blob_len, p);
	if (rc == -2)
		return STORE_EIO;
	if (rc != 0)
		return STORE_ECORRUPT;
	if (p->kind != row->kind || p->fetched_at != row->fetched_at ||
	    p->fresh_until != row->fresh_until ||
	    p->refresh_at != row->refresh_at ||
	    p->stale_until != row->stale_until ||
	    (int64_t)row->blob_len != row->size ||
	    (p->tag_len == 0) != (row->tag == NULL)) {
		seal_plain_wipe(p);
		return STORE_ECORRUPT;
	}
	return STORE_OK;
}

static void wipe_text(char *);

static char *
dup_text(const char *s, size_t len)
{
	char *out;

	if ((out = malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(out, s, len);
	out[len] = '\0';
	return out;
}

struct store_entry *
row_entry(const struct seal_plain *p, int64_t last_access)
{
	struct store_entry *e;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->meta.fetched_at = p->fetched_at;
	e->meta.fresh_until = p->fresh_until;
	e->meta.refresh_at = p->refresh_at;
	e->meta.stale_until = p->stale_until;
	e->meta.last_access = last_access;
	e->meta.kind = p->kind;
	e->status = p->status;
	/* One spare byte keeps a text body NUL-terminated for the caller. */
	e->body = (uint8_t *)dup_text((const char *)p->body, p->body_len);
	e->body_len = p->body_len;
	e->content_type = dup_text(p->content_type, p->content_type_len);
	e->secret_id = dup_text(p->secret_id, p->secret_id_len);
	e->group_id = dup_text(p->group_id, p->group_id_len);
	if (e->body == NULL || e->content_type == NULL ||
	    e->secret_id == NULL || e->group_id == NULL) {
		store_entry_free(e);
		return NULL;
	}
	return e;
}

char *
row_key_dup(const struct seal_plain *p)
{
	return dup_text(p->key, p->key_len);
}

void
row_key_free(char *key)
{
	wipe_text(key);
}

static void
wipe_text(char *s)
{
	if (s != NULL) {
		sodium_memzero(s, strlen(s));
		free(s);
	}
}

void
store_entry_free(struct store_entry *e)
{
	if (e == NULL)
		return;
	if (e->body != NULL) {
		sodium_memzero(e->body, e->body_len);
		free(e->body);
	}
	wipe_text(e->content_type);
	wipe_text(e->secret_id);
	wipe_text(e->group_id);
	sodium_memzero(e, sizeof(*e));
	free(e);
}

int
row_bind(sqlite3_stmt *st, const uint8_t k[STORE_HASH_BYTES],
    const uint8_t *tag_hash, const struct seal_plain *p, int64_t last_access,
    int64_t key_id, const uint8_t *blob, size_t blob_len)
{
	int rc = SQLITE_OK;

	rc |= sqlite3_bind_blob(st, 1, k, STORE_HASH_BYTES, SQLITE_STATIC);
	if (tag_hash != NULL)
		rc |= sqlite3_bind_blob(st, 2, tag_hash, STORE_HASH_BYTES,
		    SQLITE_STATIC);
	else
		rc |= sqlite3_bind_null(st, 2);
	rc |= sqlite3_bind_int64(st, 3, (sqlite3_int64)p->kind);
	rc |= sqlite3_bind_int64(st, 4, p->fetched_at);
	rc |= sqlite3_bind_int64(st, 5, p->fresh_until);
	rc |= sqlite3_bind_int64(st, 6, p->refresh_at);
	rc |= sqlite3_bind_int64(st, 7, p->stale_until);
	rc |= sqlite3_bind_int64(st, 8, last_access);
	rc |= sqlite3_bind_int64(st, 9, (sqlite3_int64)blob_len);
	rc |= sqlite3_bind_int64(st, 10, key_id);
	rc |= sqlite3_bind_blob64(st, 11, blob, blob_len, SQLITE_STATIC);
	return rc == SQLITE_OK ? 0 : -1;
}
