/*
 * store_tx.c: writer transactions, published counters, and the hand-off of
 * corrupt rows from readers to the writer.
 *
 * Every writer operation runs inside a savepoint, so it is atomic whether
 * or not the caller opened a batch with store_begin.  Outside a batch the
 * operation also opens the transaction around its savepoint, and commits
 * it after the release.  Transactions (batches too) start with BEGIN
 * IMMEDIATE: a deferred one takes the write lock only at its first write,
 * after it has read, and SQLite cannot wait for a lock it upgrades to, so
 * a reader that briefly held the WAL write lock (to recheck a wal-index
 * header it read mid-update) failed the write at once with SQLITE_BUSY.
 * Taken first, the lock is waited for (busy_timeout).  The entry
 * and byte counters move in three steps: an operation adds to s->op; a
 * released operation moves s->op to s->tx; when SQLite is back in
 * autocommit (the transaction committed) s->tx is published to the atomic
 * counters that store_stats reads.  A failure discards what did not
 * commit, and SQLite may roll back the whole transaction on SQLITE_FULL or
 * SQLITE_IOERR, which is detected with sqlite3_get_autocommit.  The
 * changes for the hot index (store_memlog.c) take the same three steps:
 * logged, released, replayed at the commit, or discarded with the rest.
 *
 * Readers never write.  A reader that meets a row that does not open puts
 * its k in a short mutex-guarded list; the writer's next operation checks
 * each listed row again (it may have been replaced meanwhile) and deletes
 * the ones that still fail.  A full list drops further reports: those
 * rows are reported again on their next read.
 *
 * Thread rules: tx_report_corrupt and store_stats from any thread;
 * everything else in the writer (scheduler) thread.
 */
#include <string.h>

#include "store/store_int.h"

static void
publish(struct store *s, const struct store_delta *d)
{
	atomic_fetch_add(&s->entries, d->entries);
	atomic_fetch_add(&s->bytes, d->bytes);
}

int
tx_op_begin(struct store *s)
{
	memset(&s->op, 0, sizeof(s->op));
	s->op_owns_tx = sqlite3_get_autocommit(s->db) != 0;
	if (s->op_owns_tx && db_run(s->stmt[W_BEGIN]) != SQLITE_DONE)
		return STORE_EIO;
	if (db_run(s->stmt[W_SAVEPOINT]) != SQLITE_DONE) {
		if (s->op_owns_tx && !sqlite3_get_autocommit(s->db))
			db_run(s->stmt[W_ROLLBACK]);
		return STORE_EIO;
	}
	return STORE_OK;
}

static bool
keeps_changes(int rc)
{
	return rc == STORE_OK || rc == STORE_ENOTFOUND || rc == STORE_ECORRUPT;
}

int
tx_op_end(struct store *s, int rc)
{
	if (keeps_changes(rc) && (db_run(s->stmt[W_RELEASE]) != SQLITE_DONE ||
	    (s->op_owns_tx && db_run(s->stmt[W_COMMIT]) != SQLITE_DONE)))
		rc = STORE_EIO;
	if (!keeps_changes(rc)) {
		if (!sqlite3_get_autocommit(s->db)) {
			if (!s->op_owns_tx) {
				db_run(s->stmt[W_ROLLBACK_TO]);
				db_run(s->stmt[W_RELEASE]);
			} else
				db_run(s->stmt[W_ROLLBACK]);
		}
		memset(&s->op, 0, sizeof(s->op));
		memlog_discard(s, false);
		if (sqlite3_get_autocommit(s->db)) {
			/* Whatever the open batch held is gone too. */
			memset(&s->tx, 0, sizeof(s->tx));
			memlog_discard(s, true);
			if (s->in_batch)
				s->batch_failed = true;
		}
		return rc;
	}
	s->tx.entries += s->op.entries;
	s->tx.bytes += s->op.bytes;
	memset(&s->op, 0, sizeof(s->op));
	memlog_release(s);
	if (sqlite3_get_autocommit(s->db)) {
		publish(s, &s->tx);
		memset(&s->tx, 0, sizeof(s->tx));
		memlog_apply(s);
	}
	return rc;
}

int
store_begin(struct store *s)
{
	if (s == NULL || s->in_batch)
		return STORE_EINVAL;
	if (db_run(s->stmt[W_BEGIN]) != SQLITE_DONE)
		return STORE_EIO;
	memset(&s->tx, 0, sizeof(s->tx));
	s->in_batch = true;
	s->batch_failed = false;
	return STORE_OK;
}

int
store_commit(struct store *s)
{
	int rc = STORE_OK;

	if (s == NULL || !s->in_batch)
		return STORE_EINVAL;
	s->in_batch = false;
	if (!sqlite3_get_autocommit(s->db) &&
	    db_run(s->stmt[W_COMMIT]) != SQLITE_DONE) {
		if (!sqlite3_get_autocommit(s->db))
			db_run(s->stmt[W_ROLLBACK]);
		memset(&s->tx, 0, sizeof(s->tx));
		memlog_discard(s, true);
		return STORE_EIO;
	}
	publish(s, &s->tx);
	memset(&s->tx, 0, sizeof(s->tx));
	memlog_apply(s);
	if (s->batch_failed)
		rc = STORE_EIO;
	s->batch_failed = false;
	return rc;
}

void
tx_report_corrupt(struct store *s, const uint8_t k[STORE_HASH_BYTES])
{
	int i;

	pthread_mutex_lock(&s->corrupt_lock);
	for (i = 0; i < s->corrupt_count; i++)
		if (memcmp(s->corrupt_k[i], k, STORE_HASH_BYTES) == 0)
			goto done;
	if (s->corrupt_count < STORE_CORRUPT_MAX)
		memcpy(s->corrupt_k[s->corrupt_count++], k, STORE_HASH_BYTES);
done:
	pthread_mutex_unlock(&s->corrupt_lock);
}

/* Delete the row under k if it still fails to open.  SQLite code. */
static int
drop_if_corrupt(struct store *s, const uint8_t k[STORE_HASH_BYTES])
{
	sqlite3_stmt	*st = s->stmt[W_GET];
	struct store_row row;
	struct seal_plain plain;
	bool		 bad = false;
	int		 rc;

	memset(&plain, 0, sizeof(plain));
	row_bind_key(st, k);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		bad = row_read(st, &row) != 0 ||
		    row_open(s->ring, &row, &plain) == STORE_ECORRUPT;
		seal_plain_wipe(&plain);
		rc = SQLITE_DONE;
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE || !bad)
		return rc;
	st = s->stmt[W_DELETE];
	row_bind_key(st, k);
	return db_run_delete(s, st);
}

int
tx_drain_corrupt(struct store *s)
{
	uint8_t	 list[STORE_CORRUPT_MAX][STORE_HASH_BYTES];
	int	 n, i;

	pthread_mutex_lock(&s->corrupt_lock);
	n = s->corrupt_count;
	if (n > 0)
		memcpy(list, s->corrupt_k, (size_t)n * STORE_HASH_BYTES);
	s->corrupt_count = 0;
	pthread_mutex_unlock(&s->corrupt_lock);

	for (i = 0; i < n; i++)
		if (drop_if_corrupt(s, list[i]) != SQLITE_DONE)
			return STORE_EIO;
	return STORE_OK;
}

void
store_stats(struct store *s, int64_t *entries, int64_t *bytes)
{
	if (entries != NULL)
		*entries = s != NULL ? atomic_load(&s->entries) : 0;
	if (bytes != NULL)
		*bytes = s != NULL ? atomic_load(&s->bytes) : 0;
}
