/*
 * store_int.h: what the files of store/ share and nobody else needs.
 *
 * The public contract is store.h; this header holds the layout of struct
 * store and struct store_reader, the key ring, the sealed-row codec, the
 * hot index and the SQLite plumbing.  Tests may include it to reach the
 * writer's connection (store_writer_db) for fault injection and the hot
 * index through the store_mem_* hooks; nothing outside store/ and its
 * tests should.
 */
#ifndef SMPROXY_STORE_INT_H
#define SMPROXY_STORE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sodium.h>
#include <sqlite3.h>

#include "store/store.h"

#define STORE_HASH_BYTES	32	/* keyed BLAKE2b of a row key or tag */
#define STORE_SCHEMA_VERSION	1
#define STORE_CORRUPT_MAX	64	/* k hashes readers may hand the writer */
#define STORE_RESEAL_BATCH	512	/* rows per reseal transaction */

/* ---- keys (store_keys.c) --------------------------------------------- */

/* The subkeys derived from one master key. */
struct store_keyset {
	int64_t	 key_id;	/* public fingerprint, stored with each row */
	uint8_t	 seal[crypto_aead_xchacha20poly1305_ietf_KEYBYTES];
	uint8_t	 row_hash[crypto_generichash_KEYBYTES];
	uint8_t	 tag_hash[crypto_generichash_KEYBYTES];
};

/*
 * sodium_malloc'd and read-only once derived.  set[0] is the current key;
 * set[1], when count is 2, the old key of a rotation.  Shared read-only by
 * the writer and every reader; freed by store_close.
 */
struct store_keyring {
	struct store_keyset	 set[2];
	int			 count;
};

/* Derive the ring from key (and old_key, may be NULL or equal to key).
 * Returns NULL when sodium cannot allocate. */
struct store_keyring *keys_ring_new(const uint8_t *key, const uint8_t *old_key);
void	 keys_ring_free(struct store_keyring *ring);
/* The keyset whose key_id is id, or NULL. */
const struct store_keyset *keys_by_id(const struct store_keyring *ring,
	    int64_t key_id);
void	 keys_row_hash(const struct store_keyset *ks, const char *key,
	    uint8_t out[STORE_HASH_BYTES]);
void	 keys_tag_hash(const struct store_keyset *ks, const char *tag,
	    size_t tag_len, uint8_t out[STORE_HASH_BYTES]);

/* ---- sealed rows (store_seal.c) -------------------------------------- */

/*
 * The fields of one sealed blob.  For seal_make the pointers are the
 * caller's; after seal_open they point into plain (the decrypted buffer),
 * which seal_plain_wipe wipes and frees.  Strings are not NUL-terminated.
 */
struct seal_plain {
	int		 status;
	unsigned	 kind;
	int64_t		 fetched_at, fresh_until, refresh_at, stale_until;
	const char	*key;		size_t key_len;
	const char	*tag;		size_t tag_len;
	const char	*content_type;	size_t content_type_len;
	const char	*secret_id;	size_t secret_id_len;
	const char	*group_id;	size_t group_id_len;
	const uint8_t	*body;		size_t body_len;
	uint8_t		*plain;		size_t plain_len;	/* seal_open only */
};

/* Sealed size of p (nonce + ciphertext + tag), or 0 if a field is too
 * long to encode. */
size_t	 seal_blob_len(const struct seal_plain *p);
/* The associated data of row k is k, then tag_hash (NULL for a row
 * without tag), then a schema tag: the tag column cannot be edited. */
/* Seal p for row k under ks.  On 0 *blob (malloc'd, *blob_len bytes) is the
 * caller's.  -1 on allocation failure or an unencodable field. */
int	 seal_make(const struct store_keyset *ks, const uint8_t k[STORE_HASH_BYTES],
	    const uint8_t *tag_hash, const struct seal_plain *p, uint8_t **blob,
	    size_t *blob_len);
/* Open blob for row k under ks.  0 with *p filled (free with
 * seal_plain_wipe), or -1 when the blob does not authenticate or does not
 * parse (p is then empty).  -2 on allocation failure. */
int	 seal_open(const struct store_keyset *ks, const uint8_t k[STORE_HASH_BYTES],
	    const uint8_t *tag_hash, const uint8_t *blob, size_t blob_len,
	    struct seal_plain *p);
void	 seal_plain_wipe(struct seal_plain *p);
/* The key check kept in meta: a known text sealed under ks. */
int	 seal_check_make(const struct store_keyset *ks, uint8_t **blob,
	    size_t *blob_len);
bool	 seal_check_opens(const struct store_keyset *ks, const uint8_t *blob,
	    size_t blob_len);

/* ---- rows as SQLite gives them (store_row.c) ------------------------- */

/*
 * Every statement that reads or writes whole rows names these, in this
 * order, as columns 0..10 and parameters ?1..?11; statements that also
 * need the rowid select it after them (column ROW_ID_COLUMN).  Lookups by
 * key bind k as ?1.
 */
#define ROW_COLUMNS	"k, tag, kind, fetched_at, fresh_until, refresh_at, " \
			"stale_until, last_access, size, key_id, blob"
#define ROW_ID_COLUMN	11

/* Bind k as ?1 (for lookups by key). */
int	 row_bind_key(sqlite3_stmt *st, const uint8_t k[STORE_HASH_BYTES]);

/* One row; the pointers are SQLite's and die at the next step/reset. */
struct store_row {
	const uint8_t	*k;		/* STORE_HASH_BYTES, checked */
	const uint8_t	*tag;		/* NULL or STORE_HASH_BYTES */
	unsigned	 kind;
	int64_t		 fetched_at, fresh_until, refresh_at, stale_until;
	int64_t		 last_access;
	int64_t		 size;
	int64_t		 key_id;
	const uint8_t	*blob;
	size_t		 blob_len;
};

/* Read ROW_COLUMNS from the current row of st.  -1 if a column has the
 * wrong shape (the row is then corrupt). */
int	 row_read(sqlite3_stmt *st, struct store_row *row);
/*
 * Open row with the ring's key named by its key_id (its k and tag columns
 * are the associated data) and check that the other clear columns agree
 * with the sealed copy.  STORE_OK with *p filled (free
 * with seal_plain_wipe), STORE_ECORRUPT, or STORE_EIO (out of memory).
 */
int	 row_open(const struct store_keyring *ring, const struct store_row *row,
	    struct seal_plain *p);
/* Build a caller-owned entry from an opened row.  NULL on ENOMEM. */
struct store_entry *row_entry(const struct seal_plain *p, int64_t last_access);
/* The canonical key of an opened row as a C string (malloc'd; free with
 * row_key_free, which wipes it).  NULL on ENOMEM. */
char	*row_key_dup(const struct seal_plain *p);
void	 row_key_free(char *key);
/* Bind the columns of a row to st in ROW_COLUMNS order (?1..?11). */
int	 row_bind(sqlite3_stmt *st, const uint8_t k[STORE_HASH_BYTES],
	    const uint8_t *tag_hash, const struct seal_plain *p,
	    int64_t last_access, int64_t key_id, const uint8_t *blob,
	    size_t blob_len);

/* ---- the hot index (store_mem.c) ------------------------------------- */

struct store_mem;
struct mem_entry;

/*
 * An empty index bounded by max_entries (<= 0: by bytes only) and by the
 * smaller of max_bytes (<= 0: none) and budget (0: the default, 256 MiB)
 * sealed bytes.  NULL when budget < 0 (no index) or out of memory.
 */
struct store_mem *mem_new(int64_t max_entries, int64_t max_bytes,
	    int64_t budget);
void	 mem_free(struct store_mem *m);
/* A copy of row (its sealed blob and clear columns); NULL on ENOMEM. */
struct mem_entry *mem_entry_new(const struct store_row *row);
void	 mem_entry_free(struct mem_entry *e);
/*
 * Reader: open the entry for k as row_open opens a database row.
 * STORE_OK with *p filled (free with seal_plain_wipe) and *last_access
 * set; STORE_ENOTFOUND; STORE_ECORRUPT (the caller then calls
 * mem_forget); STORE_EIO (out of memory).  *gen is the shard's generation,
 * to pass to mem_offer after a database read.
 */
int	 mem_get(struct store_mem *m, const struct store_keyring *ring,
	    const uint8_t k[STORE_HASH_BYTES], struct seal_plain *p,
	    int64_t *last_access, uint64_t *gen);
/* Reader: insert e, read from the database after mem_get gave gen, unless
 * a write changed the shard since.  Takes e in every case. */
void	 mem_offer(struct store_mem *m, struct mem_entry *e, uint64_t gen);
/* Reader: remove k's entry (one that failed to open). */
void	 mem_forget(struct store_mem *m, const uint8_t k[STORE_HASH_BYTES]);
/* Writer, once the change committed: insert or replace (takes e), remove,
 * raise last_access, remove everything. */
void	 mem_put(struct store_mem *m, struct mem_entry *e);
void	 mem_drop(struct store_mem *m, const uint8_t k[STORE_HASH_BYTES]);
void	 mem_touch(struct store_mem *m, const uint8_t k[STORE_HASH_BYTES],
	    int64_t last_access);
void	 mem_clear(struct store_mem *m);

/* ---- the writer's pending index changes (store_memlog.c) -------------- */

enum memlog_kind { MEMLOG_PUT, MEMLOG_DROP, MEMLOG_TOUCH };

struct memlog_rec {
	enum memlog_kind	 kind;
	uint8_t			 k[STORE_HASH_BYTES];
	int64_t			 last_access;	/* MEMLOG_TOUCH */
	struct mem_entry	*entry;		/* MEMLOG_PUT; the log's */
};

struct memlog {
	struct memlog_rec	*rec;
	size_t			 n, cap;
	size_t			 op_start;	/* first record of the open op */
	bool			 lost;		/* a record could not be kept */
};

/* Log a change of the current operation (no-ops without an index). */
void	 memlog_put(struct store *s, const struct store_row *row);
void	 memlog_drop(struct store *s, const uint8_t k[STORE_HASH_BYTES]);
void	 memlog_touch(struct store *s, const uint8_t k[STORE_HASH_BYTES],
	    int64_t last_access);
/* The operation was released: its records join the transaction's. */
void	 memlog_release(struct store *s);
/* The operation (or, with whole_tx, the transaction) was rolled back:
 * forget its records and drop every key they name from the index. */
void	 memlog_discard(struct store *s, bool whole_tx);
/* The transaction committed: replay the log into the index. */
void	 memlog_apply(struct store *s);
void	 memlog_cleanup(struct store *s);

/* ---- connections (store_db.c) ---------------------------------------- */

enum wstmt {
	W_GET, W_SIZE, W_PUT, W_PUT_IGNORE, W_TOUCH, W_DELETE, W_DELETE_ID,
	W_INVAL_TAG, W_INVAL_KIND, W_LRU_OLDEST, W_EXPIRE, W_IDLE, W_DUE,
	W_RESEAL_NEXT,
	W_SAVEPOINT, W_RELEASE, W_ROLLBACK_TO, W_BEGIN, W_COMMIT,
	W_ROLLBACK, W_META_SET,
	W__COUNT
};

/* Changes made by the current operation or transaction, applied to the
 * published counters once they commit. */
struct store_delta {
	int64_t	 entries;
	int64_t	 bytes;
};

struct store {
	sqlite3			*db;
	sqlite3_stmt		*stmt[W__COUNT];
	char			*path;		/* file path or memdb URI */
	bool			 memory;
	struct store_keyring	*ring;
	int64_t			 max_entries;	/* <= 0: unbounded */
	int64_t			 max_bytes;
	int64_t			 max_entry_bytes;

	/* Published counters: written by the writer, read by anyone. */
	_Atomic int64_t		 entries;
	_Atomic int64_t		 bytes;
	/* Writer-only transaction state. */
	struct store_delta	 op;		/* current operation */
	struct store_delta	 tx;		/* released ops of an open batch */
	bool			 in_batch;	/* between store_begin and store_commit */
	bool			 op_owns_tx;	/* the current op began the transaction */
	bool			 batch_failed;	/* the batch was rolled back */

	/* Rows sealed with set[1] remain; readers then look under both keys. */
	atomic_bool		 reseal_pending;
	int64_t			 reseal_cursor;	/* next rowid to look at */

	/* Row hashes that failed to open in a reader, for the writer to drop. */
	pthread_mutex_t		 corrupt_lock;
	uint8_t			 corrupt_k[STORE_CORRUPT_MAX][STORE_HASH_BYTES];
	int			 corrupt_count;

	/* The hot index (NULL when disabled; set at open, then read-only)
	 * and the writer's changes to it that wait for their commit. */
	struct store_mem	*mem;
	struct memlog		 log;
};

struct store_reader {
	struct store	*s;
	sqlite3		*db;
	sqlite3_stmt	*get;
};

enum db_status {
	DB_OK,
	DB_UNUSABLE,	/* not a database, corrupt, or not ours: quarantine */
	DB_FAIL		/* cannot be used, and moving it aside would not help */
};

/* Open s->path as the writer: create it 0600, set the pragmas, migrate the
 * schema, check it, prepare the statements.  why is filled when not DB_OK. */
enum db_status db_open_writer(struct store *s, bool *created, char *why,
	    size_t whylen);
void	 db_close_writer(struct store *s);
/* Open a read-only connection on s->path with the reader statement. */
int	 db_open_reader(struct store *s, sqlite3 **db, sqlite3_stmt **get);
/* Move path (and -wal, -shm) to path.<what>-<unix seconds>[-n]; 0 or -1. */
int	 db_quarantine(const char *path, const char *what, int64_t now,
	    char *dst, size_t dstlen);
/* Run one prepared statement that returns no rows (or whose rows are
 * ignored); returns the final SQLite code, SQLITE_DONE on success. */
int	 db_run(sqlite3_stmt *st);
/* Step a DELETE ... RETURNING size, k to the end, counting the rows in
 * s->op and logging each k for the hot index.  SQLITE_DONE on success. */
int	 db_run_delete(struct store *s, sqlite3_stmt *st);
int	 db_meta_get_blob(sqlite3 *db, const char *name, uint8_t **blob,
	    size_t *len);
int	 db_meta_set_blob(struct store *s, const char *name, const void *blob,
	    size_t len);
int	 db_meta_set_int(struct store *s, const char *name, int64_t value);

/* ---- writer transactions (store_tx.c) -------------------------------- */

/* Start one writer operation (a savepoint).  STORE_OK or STORE_EIO. */
int	 tx_op_begin(struct store *s);
/* End it: release on rc == STORE_OK, roll back otherwise.  Returns rc, or
 * STORE_EIO when the release itself failed.  Publishes the counters when
 * the release committed. */
int	 tx_op_end(struct store *s, int rc);
/* Drop the rows readers reported as failing to open (within an op). */
int	 tx_drain_corrupt(struct store *s);
/* Hand a bad row hash to the writer (any thread). */
void	 tx_report_corrupt(struct store *s, const uint8_t k[STORE_HASH_BYTES]);

/* ---- rotation (store_reseal.c) --------------------------------------- */

/* Reseal up to max_rows rows still sealed with the old key; when none are
 * left, replace the key check and clear reseal_pending.  Adds the number
 * moved to *resealed.  STORE_OK or STORE_EIO. */
int	 reseal_step(struct store *s, int64_t max_rows, int64_t *resealed);

/* For tests: the writer's connection. */
sqlite3	*store_writer_db(struct store *s);
/* For tests: look key up in SQLite only, neither reading nor filling the
 * hot index (results as store_get). */
int	 store_get_disk(struct store_reader *r, const char *key,
	    struct store_entry **out);
/* For tests: empty the hot index; its entry and sealed byte counts; does
 * it hold key; flip one bit of key's indexed blob (byte at modulo its
 * length): 0, or -1 when key is not indexed.  Any thread. */
void	 store_mem_clear(struct store *s);
void	 store_mem_stats(struct store *s, int64_t *entries, int64_t *bytes);
bool	 store_mem_holds(struct store *s, const char *key);
int	 store_mem_flip(struct store *s, const char *key, size_t at);

#endif
