/*
 * store: the encrypted SQLite cache.
 *
 * Rows are keyed by a keyed BLAKE2b hash of the canonical route key (see
 * api/route.h) and hold one sealed blob: XChaCha20-Poly1305 (IETF) with a
 * random nonce, the associated data being the row's key hash plus a schema
 * tag, so a row copied under another key fails to open.  The plaintext of a
 * blob carries the canonical key, the upstream status, content type, the
 * secret id and group id used for authorization, and the body bytes.  The
 * freshness timestamps are stored in clear (they say nothing about the
 * secret); secret ids, names and payloads never reach the disk unsealed.
 * Invalidation uses a second keyed hash, the tag (normally the secret id).
 *
 * Subkeys are derived from the 32-byte master key with crypto_kdf; keys
 * live in sodium_malloc memory; decrypted buffers are wiped before free.
 *
 * In front of SQLite sits the hot index: recently read or written rows,
 * still sealed, in a sharded in-memory hash table, so that a cache hit
 * costs one decryption and no SQLite call.  It only ever holds rows the
 * database committed, and every write that commits updates or drops the
 * rows it changed (store_mem.c); callers do not see it.
 *
 * Time: every function that decides freshness takes `now`, wall-clock
 * milliseconds since the epoch (entries outlive the process).
 *
 * Thread rules: one writer, the scheduler thread, calls store_put,
 * store_touch, store_invalidate, store_maintain and store_due_refreshes on
 * the struct store.  Each HTTP thread owns one struct store_reader (its own
 * SQLite connection) and calls only store_get on it.  store_open and
 * store_close run in the main thread.
 */
#ifndef SMPROXY_STORE_H
#define SMPROXY_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_KEY_BYTES	32

enum store_result {
	STORE_OK = 0,
	STORE_ENOTFOUND,	/* no such row */
	STORE_ECORRUPT,		/* a row failed to open (and was dropped) */
	STORE_EIO,		/* SQLite failed: disk full, read-only, ... */
	STORE_EKEY,		/* the key does not match the database */
	STORE_ETOOBIG,		/* entry larger than the per-entry limit */
	STORE_EINVAL
};

struct store_opts {
	const char	*path;		/* file path, or ":memory:" */
	const uint8_t	*key;		/* STORE_KEY_BYTES; copied (NULL with
					 * ":memory:": a random key) */
	const uint8_t	*old_key;	/* previous key during rotation, or NULL */
	bool		 reset_on_key_mismatch;	/* quarantine and start empty */
	int64_t		 max_entries;
	int64_t		 max_bytes;	/* sum of sealed blob sizes */
	int64_t		 max_entry_bytes;
	int64_t		 mem_max_bytes;	/* hot index budget in sealed bytes,
					 * also capped by max_bytes: 0 means
					 * 256 MiB, < 0 no hot index */
};

/* What happened while opening, for the caller to log once. */
struct store_open_report {
	bool	 created;		/* a new database was made */
	bool	 quarantined;		/* the old file was moved aside */
	char	 quarantine_path[512];
	bool	 key_mismatch;		/* the key did not match (and we reset) */
	int64_t	 entries;
	int64_t	 resealed;		/* rows moved from the old key */
};

/* Freshness bookkeeping, wall-clock ms since the epoch. */
struct store_meta {
	int64_t	 fetched_at;
	int64_t	 fresh_until;
	int64_t	 refresh_at;	/* jittered, fetched_at < refresh_at <= fresh_until */
	int64_t	 stale_until;
	int64_t	 last_access;
	unsigned kind;		/* ROUTE_KIND_* */
};

struct store_entry {
	struct store_meta meta;
	int	 status;	/* upstream HTTP status (200, 404 ...) */
	char	*content_type;	/* as upstream sent it */
	char	*secret_id;	/* "" when unknown (lists) */
	char	*group_id;	/* "" when unknown */
	uint8_t	*body;		/* exact upstream bytes; wiped on free */
	size_t	 body_len;
};

enum store_freshness {
	STORE_FRESH,		/* serve */
	STORE_REFRESH,		/* serve, and ask for a background refresh */
	STORE_STALE,		/* refresh first; serve this copy if that fails */
	STORE_EXPIRED		/* unusable */
};

struct store;
struct store_reader;

/*
 * Load a master key file: base64 of exactly 32 bytes (whitespace around it
 * is ignored).  On 0, *key is sodium_malloc'd (free with store_key_free)
 * and *too_open is set when group or others may read the file.  On -1, why
 * says what is wrong without echoing the file's content.
 */
int	 store_key_load(const char *path, uint8_t **key, bool *too_open,
	    char *why, size_t whylen);
void	 store_key_free(uint8_t *key);

/*
 * Open (creating if needed, mode 0600) the cache.  Returns STORE_OK with
 * *out set; STORE_EKEY when the key does not match and
 * reset_on_key_mismatch is false; STORE_EIO when the file cannot be used
 * even after quarantining it.  why gets a sentence for the log.
 */
int	 store_open(struct store **out, const struct store_opts *o, int64_t now,
	    struct store_open_report *rep, char *why, size_t whylen);
/* Checkpoint and close; free every reader first.  NULL is a no-op. */
void	 store_close(struct store *s);

/* A reader with its own connection; NULL on failure. */
struct store_reader *store_reader_new(struct store *s);
void	 store_reader_free(struct store_reader *r);

/*
 * Look up key, in the hot index first, then in SQLite.  On STORE_OK *out
 * is the caller's; free with store_entry_free.  A row that fails to open
 * is reported as STORE_ECORRUPT (it leaves the hot index at once; the
 * writer drops the database row later if it fails there too).  *out is
 * NULL on every other result.
 */
int	 store_get(struct store_reader *r, const char *key, struct store_entry **out);

/* Insert or replace key.  tag (normally the secret id, may be "") is what
 * store_invalidate() matches.  e->meta must be filled.  Evicts least
 * recently used rows to stay within the bounds.  (STORE_OK, STORE_ETOOBIG,
 * STORE_EINVAL or STORE_EIO; bounds <= 0 in store_opts mean no bound.) */
int	 store_put(struct store *s, const char *key, const char *tag,
	    const struct store_entry *e);

/* Record a read at now (batched by the caller; cheap). */
int	 store_touch(struct store *s, const char *key, int64_t now);

/*
 * Group writer calls into one transaction: store_begin, any number of
 * store_touch (or other writer) calls, store_commit.  Each call stays
 * atomic on its own; the batch saves a commit per call, which is what
 * makes many touches cheap.  Both return STORE_OK; STORE_EINVAL for a
 * nested begin or a commit without begin; store_commit returns STORE_EIO
 * when the commit failed or SQLite rolled the batch back part-way (calls
 * after such a rollback committed on their own).  store_close commits an
 * open batch.  Writer thread only.
 */
int	 store_begin(struct store *s);
int	 store_commit(struct store *s);

/* Drop one key.  (STORE_OK, or STORE_ENOTFOUND when there was none.) */
int	 store_delete(struct store *s, const char *key);

/* Drop every row whose tag is `tag` (if non-NULL and non-empty) or whose
 * kind intersects `kinds`.  *dropped (if non-NULL) gets the count. */
int	 store_invalidate(struct store *s, const char *tag, unsigned kinds,
	    int64_t *dropped);

/*
 * Housekeeping at now: drop rows past stale_until, rows not read within
 * idle_ttl_ms, and rows over the bounds (least recently used first).
 */
int	 store_maintain(struct store *s, int64_t now, int64_t idle_ttl_ms);

/*
 * Up to max keys due for a background refresh at now: refresh_at <= now,
 * last_access >= now - idle_ttl_ms, not yet past stale_until.  Each key is
 * malloc'd; free with store_keys_free.  Returns the count, or -1.
 * (*keys is NULL when the count is 0 or -1.)
 */
int	 store_due_refreshes(struct store *s, int64_t now, int64_t idle_ttl_ms,
	    char ***keys, int max);
void	 store_keys_free(char **keys, int n);

/* Entry count and total sealed bytes (cheap, kept in memory). */
void	 store_stats(struct store *s, int64_t *entries, int64_t *bytes);

void	 store_entry_free(struct store_entry *e);

/* Classify an entry's freshness at now. */
enum store_freshness store_classify(const struct store_meta *m, int64_t now);

/*
 * Fill m's times for an entry fetched at now with the given ttl and
 * max_stale (ms).  refresh_at is drawn from [now + ttl/2, now + ttl*3/4)
 * using rnd (any 32-bit value; tests pass fixed ones).
 */
void	 store_meta_set(struct store_meta *m, int64_t now, int64_t ttl_ms,
	    int64_t max_stale_ms, uint32_t rnd);

#endif
