/*
 * store_memlog.c: the writer's changes to the hot index, held back until
 * they commit.
 *
 * Readers see only what SQLite committed, and the hot index (store_mem.c)
 * must never show them more, nor keep what a commit removed.  So a writer
 * operation does not touch the index; it logs what it did to each key:
 * put (with the new sealed row), drop (every DELETE returns the k of each
 * row it removed, see db_run_delete), or touch.  The log follows the
 * counters of store_tx.c: records of the current operation sit after
 * op_start; a released operation moves op_start to the end; when the
 * transaction commits the whole log is replayed into the index, in order.
 *
 * What did not commit is discarded, and every key it named is dropped
 * from the index as well: dropping is always safe (the next lookup reads
 * SQLite), and it makes sure a failed write leaves nothing in memory that
 * the database does not hold.  When a record cannot be logged (out of
 * memory), the log is marked lost and the whole index is cleared when the
 * transaction ends instead.
 *
 * Thread rules: writer (scheduler) thread only; store_open and store_close
 * act as the writer.
 */
#include <stdlib.h>
#include <string.h>

#include "store/store_int.h"

/* A log longer than this is freed once replayed rather than kept. */
#define MEMLOG_KEEP	4096

static struct memlog_rec *
append(struct store *s, enum memlog_kind kind,
    const uint8_t k[STORE_HASH_BYTES])
{
	struct memlog *log = &s->log;
	struct memlog_rec *r;

	if (log->n == log->cap) {
		size_t cap = log->cap == 0 ? 64 : log->cap * 2;

		if ((r = realloc(log->rec, cap * sizeof(*r))) == NULL) {
			log->lost = true;
			return NULL;
		}
		log->rec = r;
		log->cap = cap;
	}
	r = &log->rec[log->n++];
	r->kind = kind;
	memcpy(r->k, k, STORE_HASH_BYTES);
	r->last_access = 0;
	r->entry = NULL;
	return r;
}

void
memlog_put(struct store *s, const struct store_row *row)
{
	struct memlog_rec *r;
	struct mem_entry *e;

	if (s->mem == NULL)
		return;
	/* Without a copy the key still has to leave the index. */
	if ((e = mem_entry_new(row)) == NULL) {
		memlog_drop(s, row->k);
		return;
	}
	if ((r = append(s, MEMLOG_PUT, row->k)) == NULL) {
		mem_entry_free(e);
		return;
	}
	r->entry = e;
}

void
memlog_drop(struct store *s, const uint8_t k[STORE_HASH_BYTES])
{
	if (s->mem != NULL)
		append(s, MEMLOG_DROP, k);
}

void
memlog_touch(struct store *s, const uint8_t k[STORE_HASH_BYTES],
    int64_t last_access)
{
	struct memlog_rec *r;

	if (s->mem != NULL && (r = append(s, MEMLOG_TOUCH, k)) != NULL)
		r->last_access = last_access;
}

void
memlog_release(struct store *s)
{
	s->log.op_start = s->log.n;
}

static void
reset(struct memlog *log)
{
	log->n = 0;
	log->op_start = 0;
	if (log->cap > MEMLOG_KEEP) {
		free(log->rec);
		log->rec = NULL;
		log->cap = 0;
	}
}

void
memlog_discard(struct store *s, bool whole_tx)
{
	struct memlog *log = &s->log;
	size_t	 from = whole_tx ? 0 : log->op_start, i;

	for (i = from; i < log->n; i++) {
		mem_drop(s->mem, log->rec[i].k);
		mem_entry_free(log->rec[i].entry);
	}
	log->n = from;
	if (log->lost)
		mem_clear(s->mem);
	if (whole_tx) {
		log->lost = false;
		reset(log);
	}
}

void
memlog_apply(struct store *s)
{
	struct memlog *log = &s->log;
	struct memlog_rec *r;
	size_t	 i;

	for (i = 0; i < log->n; i++) {
		r = &log->rec[i];
		switch (r->kind) {
		case MEMLOG_PUT:
			mem_put(s->mem, r->entry);
			r->entry = NULL;
			break;
		case MEMLOG_DROP:
			mem_drop(s->mem, r->k);
			break;
		case MEMLOG_TOUCH:
			mem_touch(s->mem, r->k, r->last_access);
			break;
		}
	}
	if (log->lost)
		mem_clear(s->mem);
	log->lost = false;
	reset(log);
}

void
memlog_cleanup(struct store *s)
{
	struct memlog *log = &s->log;
	size_t	 i;

	for (i = 0; i < log->n; i++)
		mem_entry_free(log->rec[i].entry);
	free(log->rec);
	memset(log, 0, sizeof(*log));
}
