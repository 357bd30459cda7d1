/*
 * store_db.c: SQLite connections, schema, migrations, files.
 *
 * One writer connection (struct store) and one read-only connection per
 * reader.  A file database runs in WAL mode so readers never wait for the
 * writer and always see its last commit.  ":memory:" is a named database
 * of SQLite's memdb VFS ("file:/smproxy-...?vfs=memdb"), shared by every
 * connection of the process: readers then wait (busy_timeout) while the
 * writer commits, which is fine for the development mode it serves.
 *
 * The file is created by us with mode 0600 before SQLite opens it; SQLite
 * gives the -wal and -shm files the mode of the database file.  Existing
 * files that are too open are tightened; files we may not open count as
 * unusable (moved aside), a missing directory or a path that is not a
 * regular file as a plain failure.
 *
 * Schema changes are migrations: migrations[n] takes a database from
 * version n to n + 1 inside one transaction, and meta.schema_version says
 * where a database stands.  A database from a newer smproxy, or one that is
 * not ours, is reported DB_UNUSABLE and the caller moves it aside: it is
 * only a cache.
 *
 * Integrity at open: `PRAGMA quick_check` reads the whole file, which
 * costs about as much as the file is big; it runs when the database is at
 * most QUICK_CHECK_MAX_BYTES, and otherwise the open relies on the header,
 * schema and aggregate reads (a damaged page met later fails that
 * statement with STORE_EIO, and a row that does not authenticate is
 * dropped).
 *
 * Statements are prepared once per connection and reused.  Every DELETE
 * returns the k of each row it removes, so that the hot index drops
 * exactly the rows the database dropped (store_memlog.c).
 *
 * Thread rules: db_open_writer/db_close_writer in the main thread;
 * db_open_reader in any thread (the connection is then that thread's).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/store_int.h"

#define BUSY_TIMEOUT_MS		5000
#define QUICK_CHECK_MAX_BYTES	((int64_t)128 * 1024 * 1024)
#define READER_MMAP_BYTES	"1073741824"

static const char *const writer_sql[W__COUNT] = {
	[W_GET] = "SELECT " ROW_COLUMNS ", id FROM entries WHERE k = ?1",
	[W_SIZE] = "SELECT size FROM entries WHERE k = ?1",
	[W_PUT] = "INSERT OR REPLACE INTO entries(" ROW_COLUMNS ") VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[W_PUT_IGNORE] = "INSERT OR IGNORE INTO entries(" ROW_COLUMNS ") VALUES "
	    "(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[W_TOUCH] = "UPDATE entries SET last_access = ?2 "
	    "WHERE k = ?1 AND last_access < ?2",
	[W_DELETE] = "DELETE FROM entries WHERE k = ?1 RETURNING size, k",
	[W_DELETE_ID] = "DELETE FROM entries WHERE id = ?1 RETURNING size, k",
	[W_INVAL_TAG] = "DELETE FROM entries WHERE tag IN (?1, ?2) "
	    "RETURNING size, k",
	[W_INVAL_KIND] = "DELETE FROM entries WHERE id IN (SELECT id FROM "
	    "entries WHERE (kind & ?1) != 0) RETURNING size, k",
	[W_LRU_OLDEST] = "SELECT id FROM entries WHERE id IS NOT ?1 "
	    "ORDER BY last_access, fetched_at LIMIT 1",
	[W_EXPIRE] = "DELETE FROM entries WHERE stale_until <= ?1 "
	    "RETURNING size, k",
	[W_IDLE] = "DELETE FROM entries WHERE last_access < ?1 "
	    "RETURNING size, k",
	[W_DUE] = "SELECT " ROW_COLUMNS ", id FROM entries WHERE refresh_at <= ?1 "
	    "AND last_access >= ?2 AND stale_until > ?1 "
	    "ORDER BY refresh_at LIMIT ?3",
	[W_RESEAL_NEXT] = "SELECT " ROW_COLUMNS ", id FROM entries "
	    "WHERE id >= ?1 AND key_id = ?2 ORDER BY id LIMIT 1",
	[W_SAVEPOINT] = "SAVEPOINT store_op",
	[W_RELEASE] = "RELEASE store_op",
	[W_ROLLBACK_TO] = "ROLLBACK TO store_op",
	[W_BEGIN] = "BEGIN IMMEDIATE",
	[W_COMMIT] = "COMMIT",
	[W_ROLLBACK] = "ROLLBACK",
	[W_META_SET] = "INSERT OR REPLACE INTO meta(name, value) VALUES (?1, ?2)",
};

static const char reader_get_sql[] =
    "SELECT " ROW_COLUMNS " FROM entries WHERE k = ?1";

/* Version 0 (empty file) to 1. */
static const char migrate_to_1[] =
    "CREATE TABLE meta("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  value) WITHOUT ROWID;"
    /* A rowid table with a unique index on k.  WITHOUT ROWID would put
     * whole rows, blobs included, into interior pages; rowids made from k
     * save one index search per lookup (2% measured) but scatter inserts
     * over the table (half the put rate, a 12% bigger file). */
    "CREATE TABLE entries("
    "  id INTEGER PRIMARY KEY,"
    "  k BLOB NOT NULL UNIQUE,"
    "  tag BLOB,"
    "  kind INTEGER NOT NULL,"
    "  fetched_at INTEGER NOT NULL,"
    "  fresh_until INTEGER NOT NULL,"
    "  refresh_at INTEGER NOT NULL,"
    "  stale_until INTEGER NOT NULL,"
    "  last_access INTEGER NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  key_id INTEGER NOT NULL,"
    "  blob BLOB NOT NULL);"
    "CREATE INDEX entries_tag ON entries(tag);"
    "CREATE INDEX entries_kind ON entries(kind);"
    /* Eviction order, and the covering index for count(*) and sum(size). */
    "CREATE INDEX entries_lru ON entries(last_access, fetched_at, size);"
    "CREATE INDEX entries_refresh ON entries(refresh_at);"
    "CREATE INDEX entries_stale ON entries(stale_until);";

static const char *const migrations[STORE_SCHEMA_VERSION] = {
	[0] = migrate_to_1,
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

static enum db_status
status_of(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
	case SQLITE_SCHEMA:
		return DB_UNUSABLE;
	default:
		return DB_FAIL;
	}
}

/*
 * Make sure name exists (when create is set) as a regular file with mode
 * 0600, tightening it if it is more open.  side is NULL for the database
 * itself, else "-wal" or "-shm" (for messages).  *created (if non-NULL)
 * says the file was made or was empty.  DB_UNUSABLE when we may not open
 * the file (moving it aside lets a new one be made), DB_FAIL otherwise.
 */
static enum db_status
prepare_file(const char *name, const char *side, bool create, bool *created,
    char *why, size_t whylen)
{
	struct stat st;
	int fd, flags = O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;

	if (create)
		flags |= O_CREAT;
	if ((fd = open(name, flags, 0600)) == -1) {
		if (!create && errno == ENOENT)
			return DB_OK;
		set_why(why, whylen, "cannot open %s: %s",
		    side ? side : "the database file", strerror(errno));
		return errno == EACCES || errno == EPERM ? DB_UNUSABLE : DB_FAIL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		set_why(why, whylen, "%s is not a regular file",
		    side ? side : "the database file");
		close(fd);
		return DB_FAIL;
	}
	if ((st.st_mode & 077) != 0 && fchmod(fd, 0600) == -1) {
		set_why(why, whylen, "cannot make %s private: %s",
		    side ? side : "the database file", strerror(errno));
		close(fd);
		return DB_UNUSABLE;
	}
	if (created != NULL)
		*created = st.st_size == 0;
	close(fd);
	return DB_OK;
}

static enum db_status
prepare_files(const char *path, bool *created, char *why, size_t whylen)
{
	static const char *const sides[] = { "-wal", "-shm" };
	enum db_status st;
	char	 name[4096];
	size_t	 i;

	if ((st = prepare_file(path, NULL, true, created, why, whylen)) != DB_OK)
		return st;
	for (i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		if ((size_t)snprintf(name, sizeof(name), "%s%s", path,
		    sides[i]) >= sizeof(name))
			return DB_FAIL;
		if ((st = prepare_file(name, sides[i], false, NULL, why,
		    whylen)) != DB_OK)
			return st;
	}
	return DB_OK;
}

/* A one-row, one-column integer query; -1 with *rc set on failure. */
static int64_t
query_int(sqlite3 *db, const char *sql, int *rc)
{
	sqlite3_stmt *st = NULL;
	int64_t v = -1;

	*rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
	if (*rc == SQLITE_OK) {
		*rc = sqlite3_step(st);
		if (*rc == SQLITE_ROW) {
			v = sqlite3_column_int64(st, 0);
			*rc = SQLITE_OK;
		} else if (*rc == SQLITE_DONE) {
			v = 0;
			*rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	return v;
}

static enum db_status
set_pragmas(struct store *s, char *why, size_t whylen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *mode;
	char *err = NULL;
	int rc;

	sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
	if (!s->memory) {
		rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1,
		    &st, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		if (rc != SQLITE_ROW) {
			set_why(why, whylen, "cannot use the cache database: %s",
			    sqlite3_errstr(rc));
			sqlite3_finalize(st);
			return status_of(rc);
		}
		mode = sqlite3_column_text(st, 0);
		if (mode == NULL || strcmp((const char *)mode, "wal") != 0) {
			set_why(why, whylen, "cannot switch the cache "
			    "database to WAL mode");
			sqlite3_finalize(st);
			return DB_FAIL;
		}
		sqlite3_finalize(st);
	}
	rc = sqlite3_exec(s->db,
	    "PRAGMA synchronous=NORMAL;"
	    "PRAGMA secure_delete=ON;"
	    "PRAGMA temp_store=MEMORY;"
	    "PRAGMA foreign_keys=OFF;"
	    "PRAGMA journal_size_limit=67108864;", NULL, NULL, &err);
	sqlite3_free(err);
	if (rc != SQLITE_OK) {
		set_why(why, whylen, "cannot configure the cache database: %s",
		    sqlite3_errstr(rc));
		return status_of(rc);
	}
	return DB_OK;
}

static enum db_status
migrate(struct store *s, char *why, size_t whylen)
{
	char	*err = NULL;
	int64_t	 version, n;
	int	 rc;

	n = query_int(s->db, "SELECT count(*) FROM sqlite_schema WHERE "
	    "type = 'table' AND name = 'meta'", &rc);
	if (rc != SQLITE_OK)
		goto sql_failed;
	if (n == 0) {
		n = query_int(s->db, "SELECT count(*) FROM sqlite_schema", &rc);
		if (rc != SQLITE_OK)
			goto sql_failed;
		if (n != 0) {
			set_why(why, whylen, "the file is an SQLite "
			    "database but not an smproxy cache");
			return DB_UNUSABLE;
		}
		version = 0;
	} else {
		version = query_int(s->db, "SELECT value FROM meta WHERE "
		    "name = 'schema_version'", &rc);
		if (rc != SQLITE_OK)
			goto sql_failed;
		if (version <= 0 || version > STORE_SCHEMA_VERSION) {
			set_why(why, whylen, "the cache database has a "
			    "schema version this smproxy does not know");
			return DB_UNUSABLE;
		}
	}

	for (; version < STORE_SCHEMA_VERSION; version++) {
		rc = sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(s->db, migrations[version], NULL, NULL,
			    &err);
		if (rc == SQLITE_OK) {
			char sql[96];

			snprintf(sql, sizeof(sql), "INSERT OR REPLACE INTO meta"
			    "(name, value) VALUES ('schema_version', %d)",
			    (int)version + 1);
			rc = sqlite3_exec(s->db, sql, NULL, NULL, &err);
		}
		if (rc == SQLITE_OK)
			rc = sqlite3_exec(s->db, "COMMIT", NULL, NULL, &err);
		sqlite3_free(err);
		err = NULL;
		if (rc != SQLITE_OK) {
			if (!sqlite3_get_autocommit(s->db))
				sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
			goto sql_failed;
		}
	}
	return DB_OK;

sql_failed:
	set_why(why, whylen, "cannot read the cache database schema: %s",
	    sqlite3_errstr(rc));
	return status_of(rc);
}

static enum db_status
check_integrity(struct store *s, char *why, size_t whylen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *verdict;
	int64_t pages, page_size;
	enum db_status ret = DB_OK;
	int rc;

	pages = query_int(s->db, "PRAGMA page_count", &rc);
	if (rc == SQLITE_OK)
		page_size = query_int(s->db, "PRAGMA page_size", &rc);
	if (rc != SQLITE_OK) {
		set_why(why, whylen, "cannot read the cache database: %s",
		    sqlite3_errstr(rc));
		return status_of(rc);
	}
	if (pages * page_size > QUICK_CHECK_MAX_BYTES)
		return DB_OK;

	rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		set_why(why, whylen, "cannot check the cache database: %s",
		    sqlite3_errstr(rc));
		ret = status_of(rc);
		goto done;
	}
	verdict = sqlite3_column_text(st, 0);
	if (verdict == NULL || strcmp((const char *)verdict, "ok") != 0) {
		set_why(why, whylen, "the cache database failed its "
		    "integrity check");
		ret = DB_UNUSABLE;
	}
done:
	sqlite3_finalize(st);
	return ret;
}

static int
prepare_all(struct store *s)
{
	int i;

	for (i = 0; i < W__COUNT; i++)
		if (sqlite3_prepare_v3(s->db, writer_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &s->stmt[i], NULL) != SQLITE_OK)
			return -1;
	return 0;
}

enum db_status
db_open_writer(struct store *s, bool *created, char *why, size_t whylen)
{
	enum db_status st;
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
	    SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
	int rc;

	*created = s->memory;
	if (!s->memory &&
	    (st = prepare_files(s->path, created, why, whylen)) != DB_OK)
		return st;
	if (s->memory)
		flags |= SQLITE_OPEN_URI;
	rc = sqlite3_open_v2(s->path, &s->db, flags, NULL);
	if (rc != SQLITE_OK) {
		set_why(why, whylen, "cannot open the cache database: %s",
		    sqlite3_errstr(rc));
		st = status_of(rc);
		goto fail;
	}
	if ((st = set_pragmas(s, why, whylen)) != DB_OK ||
	    (st = migrate(s, why, whylen)) != DB_OK ||
	    (st = check_integrity(s, why, whylen)) != DB_OK)
		goto fail;
	if (prepare_all(s) != 0) {
		rc = sqlite3_errcode(s->db);
		set_why(why, whylen, "cannot prepare the cache statements: %s",
		    sqlite3_errmsg(s->db));
		st = rc == SQLITE_ERROR ? DB_UNUSABLE : status_of(rc);
		goto fail;
	}
	return DB_OK;
fail:
	db_close_writer(s);
	return st;
}

void
db_close_writer(struct store *s)
{
	int i;

	for (i = 0; i < W__COUNT; i++) {
		sqlite3_finalize(s->stmt[i]);
		s->stmt[i] = NULL;
	}
	if (s->db != NULL) {
		if (!s->memory)
			sqlite3_exec(s->db, "PRAGMA wal_checkpoint(TRUNCATE)",
			    NULL, NULL, NULL);
		sqlite3_close(s->db);
		s->db = NULL;
	}
}

int
db_open_reader(struct store *s, sqlite3 **db, sqlite3_stmt **get)
{
	int flags = SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX |
	    SQLITE_OPEN_EXRESCODE;

	*db = NULL;
	*get = NULL;
	if (s->memory)
		flags |= SQLITE_OPEN_URI;
	if (sqlite3_open_v2(s->path, db, flags, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
	/* Lookups read pages from the OS page cache through a shared mapping
	 * instead of a read() into a per-connection cache. */
	if (!s->memory)
		sqlite3_exec(*db, "PRAGMA mmap_size=" READER_MMAP_BYTES, NULL,
		    NULL, NULL);
	if (sqlite3_prepare_v3(*db, reader_get_sql, -1,
	    SQLITE_PREPARE_PERSISTENT, get, NULL) != SQLITE_OK)
		goto fail;
	return 0;
fail:
	sqlite3_finalize(*get);
	sqlite3_close(*db);
	*get = NULL;
	*db = NULL;
	return -1;
}

int
db_quarantine(const char *path, const char *what, int64_t now, char *dst,
    size_t dstlen)
{
	static const char *const sides[] = { "-wal", "-shm" };
	char	 from[4096], to[4096];
	struct stat st;
	size_t	 i;
	int	 n;

	if (dstlen > 0)
		dst[0] = '\0';
	for (n = 0; n < 100; n++) {
		int len;

		if (n == 0)
			len = snprintf(dst, dstlen, "%s.%s-%lld", path, what,
			    (long long)(now / 1000));
		else
			len = snprintf(dst, dstlen, "%s.%s-%lld-%d", path, what,
			    (long long)(now / 1000), n);
		if (len < 0 || (size_t)len >= dstlen ||
		    (size_t)len + 5 > sizeof(to))
			return -1;
		if (lstat(dst, &st) == -1 && errno == ENOENT)
			break;
	}
	if (n == 100 || rename(path, dst) == -1)
		return -1;
	for (i = 0; i < sizeof(sides) / sizeof(sides[0]); i++) {
		snprintf(from, sizeof(from), "%s%s", path, sides[i]);
		snprintf(to, sizeof(to), "%s%s", dst, sides[i]);
		if (rename(from, to) == -1 && errno != ENOENT)
			return -1;
	}
	return 0;
}

int
db_run(sqlite3_stmt *st)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

int
db_run_delete(struct store *s, sqlite3_stmt *st)
{
	int rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s->op.entries--;
		s->op.bytes -= sqlite3_column_int64(st, 0);
		/* The index holds only well-formed rows. */
		if (sqlite3_column_type(st, 1) == SQLITE_BLOB &&
		    sqlite3_column_bytes(st, 1) == STORE_HASH_BYTES)
			memlog_drop(s, sqlite3_column_blob(st, 1));
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return rc;
}

int
db_meta_get_blob(sqlite3 *db, const char *name, uint8_t **blob, size_t *len)
{
	sqlite3_stmt *st = NULL;
	int rc, ret = -1;

	*blob = NULL;
	*len = 0;
	if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE name = ?1", -1,
	    &st, NULL) != SQLITE_OK)
		goto done;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = 0;
		goto done;
	}
	if (rc != SQLITE_ROW)
		goto done;
	if (sqlite3_column_type(st, 0) == SQLITE_BLOB &&
	    sqlite3_column_bytes(st, 0) > 0) {
		*len = (size_t)sqlite3_column_bytes(st, 0);
		if ((*blob = malloc(*len)) == NULL) {
			*len = 0;
			goto done;
		}
		memcpy(*blob, sqlite3_column_blob(st, 0), *len);
	}
	ret = 0;
done:
	sqlite3_finalize(st);
	return ret;
}

int
db_meta_set_blob(struct store *s, const char *name, const void *blob,
    size_t len)
{
	sqlite3_stmt *st = s->stmt[W_META_SET];

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, blob, (int)len, SQLITE_STATIC);
	return db_run(st) == SQLITE_DONE ? 0 : -1;
}

int
db_meta_set_int(struct store *s, const char *name, int64_t value)
{
	sqlite3_stmt *st = s->stmt[W_META_SET];

	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, value);
	return db_run(st) == SQLITE_DONE ? 0 : -1;
}

sqlite3 *
store_writer_db(struct store *s)
{
	return s->db;
}
