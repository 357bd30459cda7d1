/*
 * store_open.c: opening and closing the cache, the key check, readers.
 *
 * Opening is cheap whatever the size of the cache: the schema is read and
 * migrated, the file is checked (see store_db.c for how far), the key is
 * checked against one sealed value in meta, and one aggregate query over
 * a small covering index gives the entry and byte counters.  No row is
 * decrypted, except during a key rotation.
 *
 * The key check is a known text sealed with the key's sealing subkey.  It
 * opens with the current key: go on.  It opens with the old key (rotation):
 * every row is resealed under the current key, batch by batch, and the
 * check is replaced in the transaction that moves the last row, so a crash
 * part-way leaves a database that the next start (again with both keys)
 * finishes.  Until then each row's key_id says which key sealed it, and
 * readers look a key up under both keys.  It opens with neither: refuse
 * (STORE_EKEY), or, when asked, move the database aside and start empty.
 *
 * A file that is not a database, is damaged, or is not an smproxy cache is
 * moved aside as <path>.corrupt-<unix seconds> (with its -wal and -shm) and
 * a new one is made; a key mismatch with reset uses .mismatch-<seconds>.
 *
 * Thread rules: store_open and store_close in the main thread, with every
 * reader freed before store_close.  store_reader_new/free and store_get in
 * the reader's own thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store_int.h"

enum key_check {
	KC_CURRENT,	/* sealed with the current key (or just written) */
	KC_OLD,		/* sealed with the old key: rotate */
	KC_MISMATCH,	/* neither */
	KC_UNUSABLE,	/* rows but no check value: not a database we made */
	KC_FAIL		/* SQLite failed */
};

static void set_why(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
set_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static int
write_key_check(struct store *s)
{
	const struct store_keyset *ks = &s->ring->set[0];
	uint8_t	*blob = NULL;
	size_t	 len = 0;
	int	 rc;

	if (seal_check_make(ks, &blob, &len) != 0)
		return STORE_EIO;
	if ((rc = tx_op_begin(s)) == STORE_OK) {
		if (db_meta_set_blob(s, "key_check", blob, len) != 0 ||
		    db_meta_set_int(s, "key_id", ks->key_id) != 0)
			rc = STORE_EIO;
		rc = tx_op_end(s, rc);
	}
	free(blob);
	return rc;
}

static enum key_check
key_check(struct store *s)
{
	sqlite3_stmt	*st = NULL;
	uint8_t		*blob = NULL;
	size_t		 len = 0;
	enum key_check	 kc = KC_FAIL;
	int		 rc;

	if (db_meta_get_blob(s->db, "key_check", &blob, &len) != 0)
		goto done;
	if (blob == NULL) {
		if (sqlite3_prepare_v2(s->db, "SELECT EXISTS (SELECT 1 FROM "
		    "entries)", -1, &st, NULL) != SQLITE_OK ||
		    sqlite3_step(st) != SQLITE_ROW)
			goto done;
		if (sqlite3_column_int(st, 0) != 0) {
			kc = KC_UNUSABLE;
			goto done;
		}
		if (write_key_check(s) == STORE_OK)
			kc = KC_CURRENT;
		goto done;
	}
	if (seal_check_opens(&s->ring->set[0], blob, len))
		kc = KC_CURRENT;
	else if (s->ring->count == 2 &&
	    seal_check_opens(&s->ring->set[1], blob, len))
		kc = KC_OLD;
	else
		kc = KC_MISMATCH;
done:
	rc = sqlite3_finalize(st);
	(void)rc;
	free(blob);
	return kc;
}

static int
count_rows(struct store *s)
{
	sqlite3_stmt *st = NULL;
	int ret = -1;

	/* total() over the covering index entries_lru: no blob is read. */
	if (sqlite3_prepare_v2(s->db, "SELECT count(*), total(size) FROM "
	    "entries", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW) {
		atomic_store(&s->entries, sqlite3_column_int64(st, 0));
		atomic_store(&s->bytes, (int64_t)sqlite3_column_double(st, 1));
		ret = 0;
	}
	sqlite3_finalize(st);
	return ret;
}

/* A name for the memdb database, unique within the process. */
static char *
memory_uri(void)
{
	static atomic_uint counter;
	char	 uri[128];

	snprintf(uri, sizeof(uri), "file:/smproxy-%ld-%u-%08x?vfs=memdb",
	    (long)getpid(), atomic_fetch_add(&counter, 1), randombytes_random());
	return strdup(uri);
}

static char *
file_name(const char *path)
{
	char	*name;
	size_t	 n = strlen(path) + 3;

	/* SQLite would take "file:..." for a URI. */
	if (strncmp(path, "file:", 5) != 0)
		return strdup(path);
	if ((name = malloc(n)) != NULL)
		snprintf(name, n, "./%s", path);
	return name;
}

static void
store_free(struct store *s)
{
	if (s == NULL)
		return;
	db_close_writer(s);
	memlog_cleanup(s);
	mem_free(s->mem);
	keys_ring_free(s->ring);
	free(s->path);
	pthread_mutex_destroy(&s->corrupt_lock);
	free(s);
}

static struct store *
store_new(const struct store_opts *o)
{
	struct store *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	pthread_mutex_init(&s->corrupt_lock, NULL);
	atomic_init(&s->entries, 0);
	atomic_init(&s->bytes, 0);
	atomic_init(&s->reseal_pending, false);
	s->memory = strcmp(o->path, ":memory:") == 0;
	s->path = s->memory ? memory_uri() : file_name(o->path);
	if (o->key != NULL)
		s->ring = keys_ring_new(o->key, o->old_key);
	else if (s->memory) {
		/* Nothing outlives the process: any key will do. */
		uint8_t *key = sodium_malloc(STORE_KEY_BYTES);

		if (key != NULL) {
			randombytes_buf(key, STORE_KEY_BYTES);
			s->ring = keys_ring_new(key, NULL);
			sodium_free(key);
		}
	}
	s->max_entries = o->max_entries;
	s->max_bytes = o->max_bytes;
	s->max_entry_bytes = o->max_entry_bytes;
	/* Empty at every open: a quarantined or reset database leaves nothing
	 * behind in memory. */
	if (o->mem_max_bytes >= 0)
		s->mem = mem_new(o->max_entries, o->max_bytes, o->mem_max_bytes);
	if (s->path == NULL || s->ring == NULL ||
	    (o->mem_max_bytes >= 0 && s->mem == NULL)) {
		store_free(s);
		return NULL;
	}
	return s;
}

int
store_open(struct store **out, const struct store_opts *o, int64_t now,
    struct store_open_report *rep, char *why, size_t whylen)
{
	struct store_open_report scratch;
	struct store	*s = NULL;
	enum db_status	 dbst;
	enum key_check	 kc = KC_FAIL;
	char		 reason[256];
	bool		 created = false;
	int		 attempt, rc = STORE_EIO;

	if (out != NULL)
		*out = NULL;
	if (rep == NULL)
		rep = &scratch;
	memset(rep, 0, sizeof(*rep));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (out == NULL || o == NULL || o->path == NULL || o->path[0] == '\0' ||
	    (o->key == NULL && strcmp(o->path, ":memory:") != 0)) {
		set_why(why, whylen, "no cache path or key given");
		return STORE_EINVAL;
	}
	if (sodium_init() < 0 || (s = store_new(o)) == NULL) {
		set_why(why, whylen, "\"%s\": out of memory", o->path);
		return STORE_EIO;
	}

	for (attempt = 0; attempt < 2; attempt++) {
		const char *aside = "corrupt";

		reason[0] = '\0';
		dbst = db_open_writer(s, &created, reason, sizeof(reason));
		if (dbst == DB_FAIL) {
			set_why(why, whylen, "\"%s\": %s", o->path, reason);
			goto fail;
		}
		if (dbst == DB_OK) {
			kc = key_check(s);
			if (kc == KC_CURRENT || kc == KC_OLD)
				break;
			if (kc == KC_FAIL) {
				set_why(why, whylen, "\"%s\": cannot read or "
				    "write the key check: %s", o->path,
				    sqlite3_errmsg(s->db));
				goto fail;
			}
			if (kc == KC_MISMATCH && !o->reset_on_key_mismatch) {
				set_why(why, whylen, "\"%s\": the cache key does "
				    "not match this database; give the key it "
				    "was made with in SMPROXY_CACHE_KEY_FILE "
				    "(--cache-key-file), or start with an empty "
				    "cache with --cache-reset-on-key-mismatch",
				    o->path);
				rc = STORE_EKEY;
				goto fail;
			}
			if (kc == KC_MISMATCH) {
				aside = "mismatch";
				rep->key_mismatch = true;
				snprintf(reason, sizeof(reason), "the cache key "
				    "does not match this database");
			} else
				snprintf(reason, sizeof(reason), "the database "
				    "holds rows but no key check");
			db_close_writer(s);
		}
		/* Unusable as it is: move it aside once and start afresh. */
		if (attempt > 0 || s->memory) {
			set_why(why, whylen, "\"%s\": %s", o->path, reason);
			goto fail;
		}
		if (db_quarantine(s->path, aside, now, rep->quarantine_path,
		    sizeof(rep->quarantine_path)) != 0) {
			set_why(why, whylen, "\"%s\": %s, and it could not be "
			    "moved aside", o->path, reason);
			goto fail;
		}
		rep->quarantined = true;
		set_why(why, whylen, "\"%s\": %s; moved it to \"%s\" and "
		    "started an empty cache", o->path, reason,
		    rep->quarantine_path);
	}
	if (attempt == 2) {
		set_why(why, whylen, "\"%s\": cannot make a usable cache",
		    o->path);
		goto fail;
	}

	if (count_rows(s) != 0) {
		set_why(why, whylen, "\"%s\": cannot count the cache rows: %s",
		    o->path, sqlite3_errmsg(s->db));
		goto fail;
	}
	if (kc == KC_OLD) {
		s->reseal_cursor = INT64_MIN;
		atomic_store(&s->reseal_pending, true);
		if (reseal_step(s, INT64_MAX, &rep->resealed) != STORE_OK)
			set_why(why, whylen, "\"%s\": resealed %lld rows under "
			    "the new cache key, then writing failed; the rest "
			    "follow during maintenance", o->path,
			    (long long)rep->resealed);
	}
	rep->created = created || rep->quarantined;
	store_stats(s, &rep->entries, NULL);
	*out = s;
	return STORE_OK;
fail:
	store_free(s);
	return rc;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	if (s->in_batch)
		store_commit(s);
	store_free(s);
}

struct store_reader *
store_reader_new(struct store *s)
{
	struct store_reader *r;

	if (s == NULL || (r = calloc(1, sizeof(*r))) == NULL)
		return NULL;
	r->s = s;
	if (db_open_reader(s, &r->db, &r->get) != 0) {
		free(r);
		return NULL;
	}
	return r;
}

void
store_reader_free(struct store_reader *r)
{
	if (r == NULL)
		return;
	sqlite3_finalize(r->get);
	sqlite3_close(r->db);
	free(r);
}
