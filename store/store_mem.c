/*
 * store_mem.c: the hot index, an in-memory copy of recently used rows in
 * front of SQLite.
 *
 * Why: a lookup through SQLite costs several microseconds and a handful of
 * system calls (file locks, fstat on the WAL), which caps a cache hit far
 * below what the HTTP layer can serve.  The hot index answers a hit from
 * memory, with no SQLite call and no system call.
 *
 * What it holds: for a row key hash k, the row exactly as the database
 * holds it: the sealed blob (nonce and ciphertext, never plaintext), the
 * clear freshness columns, the tag hash and the key_id that sealed it.  A
 * hit opens the blob with row_open as a database read does, with the same
 * associated data and the same checks of the clear columns against the
 * sealed copy, so a blob altered in memory fails to open just as one
 * altered on disk.  The index is a subset of the committed database:
 * anything it lacks is read from SQLite and offered to it afterwards.
 *
 * Layout: MEM_SHARDS shards chosen by the first byte of k (a keyed hash,
 * so shards fill evenly), each a chained hash table with its own rwlock
 * and its own CLOCK ring for eviction.  Entries and sealed bytes are
 * counted globally; an insert that takes the index over its bounds
 * evicts entries not read since the hand last passed them, from its own
 * shard first and then from any other shard whose lock is free (it never
 * waits for a second lock).  The bounds are the store's max_entries and
 * the smaller of max_bytes and the index budget (sealed bytes, as the
 * database counts them; each entry costs about 190 bytes more: header,
 * malloc, bucket).
 *
 * Consistency: only the writer changes what a key maps to, and only after
 * the change committed in SQLite (store_memlog.c replays the changes of a
 * transaction once it commits).  Each such change bumps its shard's
 * generation under the shard lock.  A reader that misses notes the
 * generation before it reads SQLite and inserts what it read only if the
 * generation has not moved, so it cannot put back a row that a write
 * committed after its read replaced or deleted.  A reader may also remove
 * an entry that failed to open, and may evict: removing is always safe,
 * the next lookup reads SQLite.
 *
 * Thread rules: mem_get, mem_offer and mem_forget from reader threads;
 * mem_put, mem_drop, mem_touch and mem_clear from the writer thread (and
 * tests); mem_new and mem_free in the main thread.  Readers of one shard
 * share its read lock; readers of different shards touch no common cache
 * line on a hit.  A hit holds the read lock while it decrypts, so entries
 * are freed only under the write lock.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

#define MEM_SHARDS		64
#define MEM_MIN_BUCKETS		16
#define MEM_DEFAULT_BYTES	((int64_t)256 * 1024 * 1024)
#define MEM_ALIGN		128	/* keeps shards off each other's lines */

struct mem_entry {
	struct mem_entry	*chain;		/* next in the bucket */
	struct mem_entry	*prev, *next;	/* the shard's clock ring */
	atomic_bool		 referenced;	/* read since the hand passed */
	bool			 has_tag;
	uint8_t			 k[STORE_HASH_BYTES];
	uint8_t			 tag[STORE_HASH_BYTES];
	struct store_meta	 meta;
	int64_t			 key_id;
	size_t			 blob_len;
	uint8_t			 blob[];
};

struct mem_shard {
	_Alignas(MEM_ALIGN) pthread_rwlock_t lock;
	_Atomic uint64_t	 gen;		/* bumped by every writer change */
	struct mem_entry	**buckets;
	size_t			 nbuckets;	/* 0 or a power of two */
	size_t			 count;
	struct mem_entry	*hand;		/* NULL when the shard is empty */
};

struct store_mem {
	struct mem_shard	 shard[MEM_SHARDS];
	_Alignas(MEM_ALIGN) _Atomic int64_t entries;
	_Atomic int64_t		 bytes;
	int64_t			 max_entries;	/* <= 0: no bound on the count */
	int64_t			 max_bytes;	/* > 0 */
};

struct store_mem *
mem_new(int64_t max_entries, int64_t max_bytes, int64_t budget)
{
	struct store_mem	*m;
	pthread_rwlockattr_t	 attr;
	int			 i;

	if (budget < 0)
		return NULL;
	if (budget == 0)
		budget = MEM_DEFAULT_BYTES;
	if (max_bytes > 0 && max_bytes < budget)
		budget = max_bytes;
	if ((m = aligned_alloc(MEM_ALIGN, sizeof(*m))) == NULL)
		return NULL;
	memset(m, 0, sizeof(*m));
	/* A steady stream of hits must not starve the writer. */
	pthread_rwlockattr_init(&attr);
	pthread_rwlockattr_setkind_np(&attr,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
	for (i = 0; i < MEM_SHARDS; i++) {
		pthread_rwlock_init(&m->shard[i].lock, &attr);
		atomic_init(&m->shard[i].gen, 0);
	}
	pthread_rwlockattr_destroy(&attr);
	atomic_init(&m->entries, 0);
	atomic_init(&m->bytes, 0);
	m->max_entries = max_entries;
	m->max_bytes = budget;
	return m;
}

static struct mem_shard *
shard_of(struct store_mem *m, const uint8_t k[STORE_HASH_BYTES])
{
	return &m->shard[k[0] % MEM_SHARDS];
}

static size_t
bucket_of(const struct mem_shard *sh, const uint8_t k[STORE_HASH_BYTES])
{
	uint64_t h;

	memcpy(&h, k + 8, sizeof(h));
	return (size_t)h & (sh->nbuckets - 1);
}

/* The entry for k, or NULL.  Shard lock held (either mode). */
static struct mem_entry *
find(const struct mem_shard *sh, const uint8_t k[STORE_HASH_BYTES])
{
	struct mem_entry *e;

	if (sh->count == 0)
		return NULL;
	for (e = sh->buckets[bucket_of(sh, k)]; e != NULL; e = e->chain)
		if (memcmp(e->k, k, STORE_HASH_BYTES) == 0)
			return e;
	return NULL;
}

/* Take e out of its bucket, the clock ring and the counters, and free
 * it.  Write lock held. */
static void
unlink_entry(struct store_mem *m, struct mem_shard *sh, struct mem_entry *e)
{
	struct mem_entry **pp = &sh->buckets[bucket_of(sh, e->k)];

	while (*pp != e)
		pp = &(*pp)->chain;
	*pp = e->chain;
	if (e->next == e)
		sh->hand = NULL;
	else {
		e->prev->next = e->next;
		e->next->prev = e->prev;
		if (sh->hand == e)
			sh->hand = e->next;
	}
	sh->count--;
	atomic_fetch_sub(&m->entries, 1);
	atomic_fetch_sub(&m->bytes, (int64_t)e->blob_len);
	free(e);
}

/* Double the bucket array (best effort: chains just get longer if memory
 * is short).  Write lock held. */
static void
grow(struct mem_shard *sh)
{
	struct mem_entry **nb, *e, *chain;
	size_t	 n = sh->nbuckets * 2, i, old = sh->nbuckets;

	if ((nb = calloc(n, sizeof(*nb))) == NULL)
		return;
	sh->nbuckets = n;
	for (i = 0; i < old; i++) {
		for (e = sh->buckets[i]; e != NULL; e = chain) {
			size_t b = bucket_of(sh, e->k);

			chain = e->chain;
			e->chain = nb[b];
			nb[b] = e;
		}
	}
	free(sh->buckets);
	sh->buckets = nb;
}

static bool
over_bounds(const struct store_mem *m)
{
	return (m->max_entries > 0 &&
	    atomic_load(&m->entries) > m->max_entries) ||
	    atomic_load(&m->bytes) > m->max_bytes;
}

/* The next entry of the clock that has not been read since the hand last
 * passed it, never keep; NULL when keep is all the shard holds.  Write
 * lock held. */
static struct mem_entry *
clock_victim(struct mem_shard *sh, const struct mem_entry *keep)
{
	struct mem_entry *e;
	size_t	 steps;

	/* Two turns clear every mark, so the second finds a victim. */
	for (steps = 0; sh->hand != NULL && steps <= 2 * sh->count; steps++) {
		e = sh->hand;
		sh->hand = e->next;
		if (e == keep)
			continue;
		if (atomic_load_explicit(&e->referenced, memory_order_relaxed)) {
			atomic_store_explicit(&e->referenced, false,
			    memory_order_relaxed);
			continue;
		}
		return e;
	}
	return NULL;
}

/* Evict from shards other than sh until within the bounds.  Only
 * try-locks them: the caller holds sh's write lock, and waiting for a
 * second lock could deadlock with another inserter. */
static void
evict_elsewhere(struct store_mem *m, const struct mem_shard *sh)
{
	struct mem_shard *other;
	struct mem_entry *victim;
	size_t	 own = (size_t)(sh - m->shard), i;

	for (i = 1; i < MEM_SHARDS && over_bounds(m); i++) {
		other = &m->shard[(own + i) % MEM_SHARDS];
		if (pthread_rwlock_trywrlock(&other->lock) != 0)
			continue;
		while (over_bounds(m) &&
		    (victim = clock_victim(other, NULL)) != NULL)
			unlink_entry(m, other, victim);
		pthread_rwlock_unlock(&other->lock);
	}
}

/* Link e (replacing any entry for its k), then evict until the index is
 * within its bounds: from this shard first, then from others; e itself
 * goes if nothing else can.  Write lock held; e is the index's
 * afterwards. */
static void
insert(struct store_mem *m, struct mem_shard *sh, struct mem_entry *e)
{
	struct mem_entry *old, *victim;
	size_t	 b;

	if (sh->nbuckets == 0) {
		if ((sh->buckets = calloc(MEM_MIN_BUCKETS,
		    sizeof(*sh->buckets))) == NULL) {
			free(e);
			return;
		}
		sh->nbuckets = MEM_MIN_BUCKETS;
	}
	if ((old = find(sh, e->k)) != NULL)
		unlink_entry(m, sh, old);
	if (sh->count >= sh->nbuckets)
		grow(sh);
	b = bucket_of(sh, e->k);
	e->chain = sh->buckets[b];
	sh->buckets[b] = e;
	/* New entries join just behind the hand: the last it reaches. */
	if (sh->hand == NULL) {
		e->prev = e->next = e;
		sh->hand = e;
	} else {
		e->next = sh->hand;
		e->prev = sh->hand->prev;
		e->prev->next = e;
		sh->hand->prev = e;
	}
	sh->count++;
	atomic_fetch_add(&m->entries, 1);
	atomic_fetch_add(&m->bytes, (int64_t)e->blob_len);

	while (over_bounds(m) && (victim = clock_victim(sh, e)) != NULL)
		unlink_entry(m, sh, victim);
	if (over_bounds(m))
		evict_elsewhere(m, sh);
	if (over_bounds(m))
		unlink_entry(m, sh, e);
}

static void
clear_shard(struct store_mem *m, struct mem_shard *sh)
{
	while (sh->hand != NULL)
		unlink_entry(m, sh, sh->hand);
	free(sh->buckets);
	sh->buckets = NULL;
	sh->nbuckets = 0;
}

void
mem_free(struct store_mem *m)
{
	int i;

	if (m == NULL)
		return;
	for (i = 0; i < MEM_SHARDS; i++) {
		clear_shard(m, &m->shard[i]);
		pthread_rwlock_destroy(&m->shard[i].lock);
	}
	free(m);
}

struct mem_entry *
mem_entry_new(const struct store_row *row)
{
	struct mem_entry *e;

	if ((e = malloc(sizeof(*e) + row->blob_len)) == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));
	atomic_init(&e->referenced, false);
	memcpy(e->k, row->k, STORE_HASH_BYTES);
	if (row->tag != NULL) {
		memcpy(e->tag, row->tag, STORE_HASH_BYTES);
		e->has_tag = true;
	}
	e->meta.kind = row->kind;
	e->meta.fetched_at = row->fetched_at;
	e->meta.fresh_until = row->fresh_until;
	e->meta.refresh_at = row->refresh_at;
	e->meta.stale_until = row->stale_until;
	e->meta.last_access = row->last_access;
	e->key_id = row->key_id;
	e->blob_len = row->blob_len;
	memcpy(e->blob, row->blob, row->blob_len);
	return e;
}

void
mem_entry_free(struct mem_entry *e)
{
	free(e);
}

int
mem_get(struct store_mem *m, const struct store_keyring *ring,
    const uint8_t k[STORE_HASH_BYTES], struct seal_plain *p,
    int64_t *last_access, uint64_t *gen)
{
	struct mem_shard *sh = shard_of(m, k);
	struct mem_entry *e;
	struct store_row row;
	int	 rc;

	memset(p, 0, sizeof(*p));
	*last_access = 0;
	pthread_rwlock_rdlock(&sh->lock);
	*gen = atomic_load_explicit(&sh->gen, memory_order_acquire);
	if ((e = find(sh, k)) == NULL) {
		pthread_rwlock_unlock(&sh->lock);
		return STORE_ENOTFOUND;
	}
	if (!atomic_load_explicit(&e->referenced, memory_order_relaxed))
		atomic_store_explicit(&e->referenced, true,
		    memory_order_relaxed);
	memset(&row, 0, sizeof(row));
	row.k = e->k;
	row.tag = e->has_tag ? e->tag : NULL;
	row.kind = e->meta.kind;
	row.fetched_at = e->meta.fetched_at;
	row.fresh_until = e->meta.fresh_until;
	row.refresh_at = e->meta.refresh_at;
	row.stale_until = e->meta.stale_until;
	row.last_access = e->meta.last_access;
	row.size = (int64_t)e->blob_len;
	row.key_id = e->key_id;
	row.blob = e->blob;
	row.blob_len = e->blob_len;
	/* The plaintext lands in a buffer of our own: the lock can go. */
	rc = row_open(ring, &row, p);
	*last_access = e->meta.last_access;
	pthread_rwlock_unlock(&sh->lock);
	return rc;
}

void
mem_offer(struct store_mem *m, struct mem_entry *e, uint64_t gen)
{
	struct mem_shard *sh = shard_of(m, e->k);

	pthread_rwlock_wrlock(&sh->lock);
	/* A write committed since the caller's read: its copy may be old. */
	if (atomic_load_explicit(&sh->gen, memory_order_relaxed) != gen ||
	    find(sh, e->k) != NULL)
		free(e);
	else
		insert(m, sh, e);
	pthread_rwlock_unlock(&sh->lock);
}

void
mem_forget(struct store_mem *m, const uint8_t k[STORE_HASH_BYTES])
{
	struct mem_shard *sh = shard_of(m, k);
	struct mem_entry *e;

	pthread_rwlock_wrlock(&sh->lock);
	if ((e = find(sh, k)) != NULL)
		unlink_entry(m, sh, e);
	pthread_rwlock_unlock(&sh->lock);
}

/* Writer changes: each bumps the shard's generation under its lock. */

void
mem_put(struct store_mem *m, struct mem_entry *e)
{
	struct mem_shard *sh = shard_of(m, e->k);

	pthread_rwlock_wrlock(&sh->lock);
	insert(m, sh, e);
	atomic_fetch_add_explicit(&sh->gen, 1, memory_order_release);
	pthread_rwlock_unlock(&sh->lock);
}

void
mem_drop(struct store_mem *m, const uint8_t k[STORE_HASH_BYTES])
{
	struct mem_shard *sh = shard_of(m, k);
	struct mem_entry *e;

	pthread_rwlock_wrlock(&sh->lock);
	if ((e = find(sh, k)) != NULL)
		unlink_entry(m, sh, e);
	atomic_fetch_add_explicit(&sh->gen, 1, memory_order_release);
	pthread_rwlock_unlock(&sh->lock);
}

void
mem_touch(struct store_mem *m, const uint8_t k[STORE_HASH_BYTES],
    int64_t last_access)
{
	struct mem_shard *sh = shard_of(m, k);
	struct mem_entry *e;

	pthread_rwlock_wrlock(&sh->lock);
	if ((e = find(sh, k)) != NULL && e->meta.last_access < last_access)
		e->meta.last_access = last_access;
	atomic_fetch_add_explicit(&sh->gen, 1, memory_order_release);
	pthread_rwlock_unlock(&sh->lock);
}

void
mem_clear(struct store_mem *m)
{
	int i;

	if (m == NULL)
		return;
	for (i = 0; i < MEM_SHARDS; i++) {
		pthread_rwlock_wrlock(&m->shard[i].lock);
		clear_shard(m, &m->shard[i]);
		atomic_fetch_add_explicit(&m->shard[i].gen, 1,
		    memory_order_release);
		pthread_rwlock_unlock(&m->shard[i].lock);
	}
}

/* ---- test hooks ------------------------------------------------------ */

void
store_mem_clear(struct store *s)
{
	mem_clear(s->mem);
}

void
store_mem_stats(struct store *s, int64_t *entries, int64_t *bytes)
{
	if (entries != NULL)
		*entries = s->mem != NULL ? atomic_load(&s->mem->entries) : 0;
	if (bytes != NULL)
		*bytes = s->mem != NULL ? atomic_load(&s->mem->bytes) : 0;
}

/* Find key's entry under any live keyset and apply fn to it under the
 * write lock.  0 when found, -1 otherwise. */
static int
with_entry(struct store *s, const char *key,
    void (*fn)(struct mem_entry *, size_t), size_t arg)
{
	struct mem_shard *sh;
	struct mem_entry *e;
	uint8_t	 k[STORE_HASH_BYTES];
	int	 i;

	if (s->mem == NULL)
		return -1;
	for (i = 0; i < s->ring->count; i++) {
		keys_row_hash(&s->ring->set[i], key, k);
		sh = shard_of(s->mem, k);
		pthread_rwlock_wrlock(&sh->lock);
		if ((e = find(sh, k)) != NULL && fn != NULL)
			fn(e, arg);
		pthread_rwlock_unlock(&sh->lock);
		if (e != NULL)
			return 0;
	}
	return -1;
}

static void
flip(struct mem_entry *e, size_t at)
{
	e->blob[at % e->blob_len] ^= 0x01;
}

bool
store_mem_holds(struct store *s, const char *key)
{
	return with_entry(s, key, NULL, 0) == 0;
}

int
store_mem_flip(struct store *s, const char *key, size_t at)
{
	return with_entry(s, key, flip, at);
}
