/*
 * sched_queue: the scheduler's jobs and queues (see sched.h).
 *
 * Jobs wait in one queue per priority class; inside a class each client
 * has its own FIFO, and the FIFOs form a ring served round robin, so a
 * client with a thousand jobs gets one slot per round like a client with
 * one.  Waiters carry deadlines; a job nobody waits for any more leaves
 * its queue.  Jobs waiting out a retry backoff sit in a separate list and
 * go back to the front of their queue when it ends.
 *
 * Thread rules: the scheduler thread only.
 */
#include "server/sched_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/smerr.h"
#include "config/config.h"
#include "server/metrics.h"

struct sched_result *
sched_error_result(int status, const char *code, const char *message, int retry_after_s)
{
	struct sched_result *r;
	size_t len;
	char *body = smerr_body(status, code, message, &len);

	r = result_new(status, "application/json", (const uint8_t *)body, body ? len : 0);
	free(body);
	if (r != NULL)
		r->retry_after_s = retry_after_s;
	return r;
}

/* ---- jobs and queues (scheduler thread) ---- */

static char *
xstrdup(const char *v)
{
	return strdup(v != NULL ? v : "");
}

struct job *
sched_job_for_route(const struct route *r, const char *method,
    enum sched_prio prio, const char *client)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return NULL;
	j->prio = prio;
	snprintf(j->client, sizeof(j->client), "%s", client);
	j->op = r->op;
	j->tmpl = r->tmpl;
	j->cacheable = r->cacheable;
	j->is_write = r->is_write;
	j->kind = r->kind;
	j->key = r->cacheable ? strdup(r->key) : NULL;
	j->target = strdup(r->target);
	j->method = strdup(method);
	j->route_secret_id = xstrdup(r->secret_id);
	j->route_type = xstrdup(r->secret_type);
	j->invalidate_id = xstrdup(r->invalidate_id);
	j->invalidate_kinds = r->invalidate_kinds;
	if ((r->cacheable && j->key == NULL) || j->target == NULL ||
	    j->method == NULL || j->route_secret_id == NULL ||
	    j->route_type == NULL || j->invalidate_id == NULL) {
		free(j->key);
		free(j->target);
		free(j->method);
		free(j->route_secret_id);
		free(j->route_type);
		free(j->invalidate_id);
		free(j);
		return NULL;
	}
	return j;
}

void
sched_forget_key(struct sched *s, struct job *j)
{
	if (j->coalesce && j->key != NULL && strmap_get(s->by_key, j->key) == j)
		strmap_del(s->by_key, j->key);
	j->coalesce = false;
}

void
sched_job_free(struct sched *s, struct job *j)
{
	if (j == NULL)
		return;
	sched_forget_key(s, j);
	if (j->easy != NULL) {
		curl_multi_remove_handle(s->multi, j->easy);
		curl_easy_cleanup(j->easy);
		s->inflight--;
		if (j->inflight_prev != NULL)
			j->inflight_prev->inflight_next = j->inflight_next;
		else
			s->inflight_head = j->inflight_next;
		if (j->inflight_next != NULL)
			j->inflight_next->inflight_prev = j->inflight_prev;
	}
	if (j->headers != NULL) {
		struct curl_slist *h;
		for (h = j->headers; h != NULL; h = h->next)
			sodium_memzero(h->data, strlen(h->data));
		curl_slist_free_all(j->headers);
	}
	buf_free(&j->resp);
	if (j->body != NULL) {
		sodium_memzero(j->body, j->body_len);
		free(j->body);
	}
	free(j->key);
	free(j->target);
	free(j->method);
	free(j->content_type);
	free(j->route_secret_id);
	free(j->route_type);
	free(j->invalidate_id);
	free(j);
}

void
sched_enqueue(struct sched *s, struct job *j, bool front)
{
	struct pq *q = &s->queues[j->prio];
	struct cq *c = strmap_get(q->by_client, j->client);

	if (c == NULL) {
		c = calloc(1, sizeof(*c));
		if (c == NULL || strmap_put(q->by_client, j->client, c) != 0) {
			free(c);
			sched_answer_error(s, j, 503, "service_unavailable",
			    "The proxy is out of memory.", 1);
			return;
		}
		snprintf(c->client, sizeof(c->client), "%s", j->client);
		/* New clients join at the end of the current round. */
		if (q->cursor == NULL) {
			c->next = c;
		} else {
			c->next = q->cursor->next;
			q->cursor->next = c;
		}
		q->cursor = c;
	}
	j->next = NULL;
	if (front) {
		j->next = c->head;
		c->head = j;
		if (c->tail == NULL)
			c->tail = j;
	} else {
		if (c->tail != NULL)
			c->tail->next = j;
		else
			c->head = j;
		c->tail = j;
	}
	q->njobs++;
	s->queued_total++;
	j->where = JOB_QUEUED;
}

/* Take the next job of a class, round robin across clients; NULL if none. */
struct job *
sched_dequeue(struct sched *s, int prio)
{
	struct pq *q = &s->queues[prio];
	struct cq *c;
	struct job *j;

	if (q->cursor == NULL)
		return NULL;
	c = q->cursor->next;
	j = c->head;
	c->head = j->next;
	if (c->head == NULL) {
		c->tail = NULL;
		if (c == q->cursor) {
			q->cursor = NULL;
		} else {
			q->cursor->next = c->next;
		}
		strmap_del(q->by_client, c->client);
		free(c);
	} else {
		q->cursor = c;
	}
	j->next = NULL;
	j->where = JOB_NOWHERE;
	q->njobs--;
	s->queued_total--;
	return j;
}

/* Remove one job from its class queue (for deadlines); it must be there. */
void
sched_unqueue(struct sched *s, struct job *j)
{
	struct pq *q = &s->queues[j->prio];
	struct cq *c = strmap_get(q->by_client, j->client), *p;
	struct job **pp;

	if (c == NULL)
		return;
	for (pp = &c->head; *pp != NULL; pp = &(*pp)->next) {
		if (*pp != j)
			continue;
		*pp = j->next;
		if (c->tail == j) {
			struct job *t = c->head;
			while (t != NULL && t->next != NULL)
				t = t->next;
			c->tail = t;
		}
		j->next = NULL;
		j->where = JOB_NOWHERE;
		q->njobs--;
		s->queued_total--;
		break;
	}
	if (c->head != NULL)
		return;
	/* Unlink the now empty client queue from the ring. */
	if (c->next == c) {
		q->cursor = NULL;
	} else {
		for (p = c; p->next != c; p = p->next)
			;
		p->next = c->next;
		if (q->cursor == c)
			q->cursor = p;
	}
	strmap_del(q->by_client, c->client);
	free(c);
}

/* Hand r to every waiter of j and free j. */
void
sched_answer(struct sched *s, struct job *j, struct sched_result *r)
{
	sched_answer_waiters(s, j, r);
	sched_job_free(s, j);
}

/* Hand r to every waiter of j; j stays. */
void
sched_answer_waiters(struct sched *s, struct job *j, struct sched_result *r)
{
	struct sched_waiter *w, *next;
	bool first = true;

	(void)s;
	for (w = j->waiters; w != NULL; w = next) {
		next = w->next;
		w->outcome = SCHED_ANSWER;
		if (r != NULL)
			atomic_fetch_add(&r->refs, 1);
		w->result = r;
		if (!j->cacheable)
			w->cache_state = CACHE_BYPASS;
		else
			w->cache_state = first ? CACHE_MISS : CACHE_COALESCED;
		if (w->cache_state == CACHE_COALESCED)
			metrics_coalesced();
		first = false;
		w->done(w);
	}
	j->waiters = NULL;
	j->nwaiters = 0;
}

/* Answer one waiter that gives up (deadline, full queue, dead upstream). */
void
sched_give_up(struct sched_waiter *w, int status, const char *code,
    const char *message, int retry_after_s)
{
	w->next = NULL;
	if (w->has_stale) {
		w->outcome = SCHED_USE_STALE;
		w->cache_state = CACHE_STALE;
		w->result = NULL;
	} else {
		w->outcome = SCHED_ANSWER;
		w->result = sched_error_result(status, code, message, retry_after_s);
	}
	w->done(w);
}

/* Fail every waiter of j (stale copies win) and free j. */
void
sched_answer_error(struct sched *s, struct job *j, int status,
    const char *code, const char *message, int retry_after_s)
{
	struct sched_waiter *w, *next;

	for (w = j->waiters; w != NULL; w = next) {
		next = w->next;
		sched_give_up(w, status, code, message, retry_after_s);
	}
	j->waiters = NULL;
	j->nwaiters = 0;
	sched_job_free(s, j);
}

/* Seconds a client should wait before retrying, from the backlog. */
int
sched_backlog_retry_after(struct sched *s)
{
	int rate = s->limiter.eff_rate > 0 ? s->limiter.eff_rate : 1;
	int64_t secs = s->queued_total / rate + 1;

	return secs > 60 ? 60 : (int)secs;
}

/* ---- deadlines ---- */

/* Detach waiters of j that are past their deadline; returns how many remain. */
static int
expire_waiters(struct sched *s, struct job *j, int64_t now)
{
	struct sched_waiter **pp = &j->waiters, *w;

	while ((w = *pp) != NULL) {
		if (now < w->deadline) {
			pp = &w->next;
			continue;
		}
		*pp = w->next;
		j->nwaiters--;
		sched_give_up(w, 429, "too_many_requests",
		    "The request waited too long for the upstream rate limit; retry later.",
		    sched_backlog_retry_after(s));
	}
	return j->nwaiters;
}

/* Drop the jobs of one client queue that nobody waits for any more. */
static void
scan_client_queue(struct sched *s, struct pq *q, struct cq *c, int64_t now)
{
	struct job **pp = &c->head, *j;

	c->tail = NULL;
	while ((j = *pp) != NULL) {
		if (expire_waiters(s, j, now) == 0) {
			*pp = j->next;
			q->njobs--;
			s->queued_total--;
			j->where = JOB_NOWHERE;
			sched_job_free(s, j);
			continue;
		}
		c->tail = j;
		pp = &j->next;
	}
}

void
sched_scan_deadlines(struct sched *s, int64_t now)
{
	int p;
	struct job *j, **pp;

	for (p = 0; p < SCHED_NPRIO; p++) {
		struct pq *q = &s->queues[p];
		struct cq *c, *prev;

		if (p == SCHED_PRIO_REFRESH || q->cursor == NULL)
			continue;
		c = q->cursor;
		do {
			scan_client_queue(s, q, c, now);
			c = c->next;
		} while (c != q->cursor);
		/* Unlink client queues that became empty. */
		prev = q->cursor;
		c = prev->next;
		for (;;) {
			struct cq *next = c->next;
			bool last = c == q->cursor;

			if (c->head == NULL) {
				if (c == prev) {		/* the only one */
					q->cursor = NULL;
				} else {
					prev->next = next;
					if (q->cursor == c)
						q->cursor = prev;
				}
				strmap_del(q->by_client, c->client);
				free(c);
			} else {
				prev = c;
			}
			if (last || q->cursor == NULL)
				break;
			c = next;
		}
	}
	/* Jobs waiting out a retry backoff. */
	for (pp = &s->delayed; (j = *pp) != NULL; ) {
		if (expire_waiters(s, j, now) == 0 && j->prio != SCHED_PRIO_REFRESH) {
			*pp = j->next;
			sched_job_free(s, j);
			continue;
		}
		pp = &j->next;
	}
}

/* Move retry jobs whose backoff is over back to the front of their queue. */
int64_t
sched_release_delayed(struct sched *s, int64_t now)
{
	struct job **pp = &s->delayed, *j;
	int64_t next_wake = INT64_MAX;

	while ((j = *pp) != NULL) {
		if (j->not_before <= now) {
			*pp = j->next;
			j->where = JOB_NOWHERE;
			sched_enqueue(s, j, true);
		} else {
			if (j->not_before < next_wake)
				next_wake = j->not_before;
			pp = &j->next;
		}
	}
	return next_wake;
}

struct job *
sched_next_job(struct sched *s)
{
	int p;

	for (p = 0; p < SCHED_NPRIO; p++)
		if (s->queues[p].njobs > 0)
			return sched_dequeue(s, p);
	return NULL;
}

