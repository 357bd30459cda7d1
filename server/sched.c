/*
 * sched: the scheduler thread (see sched.h for the design).
 *
 * This file holds the thread loop, the inbox that other threads write to,
 * singleflight (a map from cache key to the one job that fetches it), the
 * limiter-gated start of jobs, and housekeeping (touch batches,
 * refresh-ahead, store maintenance).  sched_queue.c holds the priority
 * classes, round-robin fairness and deadlines; sched_xfer.c the transfers
 * and what their answers do.
 *
 * Thread rules: sched_submit, sched_refresh, sched_touch,
 * sched_result_release, sched_get_stats and the clocks may be called from
 * any thread; everything else runs in the scheduler thread.
 */
#include "server/sched_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "config/config.h"
#include "store/store.h"

#define DEADLINE_SCAN_MS	50
#define TOUCH_FLUSH_MS		1000
#define MAINTAIN_MS		60000
#define REFRESH_SCAN_MS		1000

int64_t
sched_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
sched_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *
sched_cache_state_name(enum sched_cache_state cs)
{
	static const char *names[CACHE__COUNT] = {
		"bypass", "hit", "stale", "miss", "coalesced"
	};

	return (unsigned)cs < CACHE__COUNT ? names[cs] : "bypass";
}

void
sched_result_release(struct sched_result *r)
{
	if (r == NULL || atomic_fetch_sub(&r->refs, 1) != 1)
		return;
	if (r->body != NULL) {
		sodium_memzero(r->body, r->body_len);
		free(r->body);
	}
	free(r->content_type);
	free(r->secret_id);
	free(r->group_id);
	free(r);
}

/* ---- inbox (any thread) ---- */

static void
inbox_push(struct sched *s, struct inbox_item *it)
{
	it->next = NULL;
	pthread_mutex_lock(&s->inbox_lock);
	if (s->inbox_tail != NULL)
		s->inbox_tail->next = it;
	else
		s->inbox_head = it;
	s->inbox_tail = it;
	pthread_mutex_unlock(&s->inbox_lock);
	curl_multi_wakeup(s->multi);
}

void
sched_submit(struct sched *s, struct sched_waiter *w)
{
	struct inbox_item *it;

	w->next = NULL;
	w->result = NULL;
	w->outcome = SCHED_ANSWER;
	w->cache_state = CACHE_MISS;
	it = malloc(sizeof(*it) + 1);
	if (it == NULL || atomic_load(&s->stopping)) {
		free(it);
		w->result = sched_error_result(503, "service_unavailable",
		    "The proxy is shutting down or out of memory.", 1);
		w->done(w);
		return;
	}
	it->kind = INBOX_SUBMIT;
	it->w = w;
	it->key[0] = '\0';
	inbox_push(s, it);
}

static void
push_key(struct sched *s, enum inbox_kind kind, const char *key, int64_t when)
{
	size_t len = strlen(key);
	struct inbox_item *it;

	if (atomic_load(&s->stopping))
		return;
	it = malloc(sizeof(*it) + len + 1);
	if (it == NULL)
		return;
	it->kind = kind;
	it->w = NULL;
	it->when = when;
	memcpy(it->key, key, len + 1);
	inbox_push(s, it);
}

void
sched_set_ttls(struct sched *s, struct cfg *fresh)
{
	struct inbox_item *it = calloc(1, sizeof(*it) + 1);

	if (it == NULL) {
		cfg_free(fresh);
		free(fresh);
		return;
	}
	it->kind = INBOX_TTLS;
	it->cfg = fresh;
	inbox_push(s, it);
}

static void
install_ttls(struct sched *s, struct cfg *fresh)
{
	if (s->ttl_cfg != NULL) {
		cfg_free(s->ttl_cfg);
		free(s->ttl_cfg);
	}
	s->ttl_cfg = fresh;
}

void
sched_refresh(struct sched *s, const char *key)
{
	push_key(s, INBOX_REFRESH, key, 0);
}

void
sched_touch(struct sched *s, const char *key, int64_t now_wall)
{
	push_key(s, INBOX_TOUCH, key, now_wall);
}

void
sched_get_stats(struct sched *s, struct sched_stats *st)
{
	pthread_mutex_lock(&s->stats_lock);
	*st = s->stats;
	pthread_mutex_unlock(&s->stats_lock);
}

/*
 * The HTTP thread missed the cache, but an answer may have landed since
 * (a flight that ended between its lookup and now).  Serve that rather
 * than asking upstream again.  Returns true when w was answered.
 */
static bool
answer_from_store(struct sched *s, struct sched_waiter *w)
{
	struct store_entry *e = NULL;
	struct sched_result *r;
	enum store_freshness f;

	if (s->reader == NULL || store_get(s->reader, w->route->key, &e) != STORE_OK)
		return false;
	f = store_classify(&e->meta, sched_wall_ms());
	if (f != STORE_FRESH && f != STORE_REFRESH) {
		store_entry_free(e);
		return false;
	}
	r = result_new(e->status, e->content_type, e->body, e->body_len);
	if (r != NULL) {
		free(r->secret_id);
		free(r->group_id);
		r->secret_id = strdup(e->secret_id != NULL ? e->secret_id : "");
		r->group_id = strdup(e->group_id != NULL ? e->group_id : "");
	}
	store_entry_free(e);
	if (r == NULL || r->secret_id == NULL || r->group_id == NULL) {
		sched_result_release(r);
		return false;
	}
	w->outcome = SCHED_ANSWER;
	w->cache_state = CACHE_HIT;
	w->result = r;
	w->done(w);
	return true;
}

void
sched_accept_waiter(struct sched *s, struct sched_waiter *w, int64_t now)
{
	const struct route *r = w->route;
	struct job *j;
	bool coalesce;
	enum sched_prio prio;

	w->enqueued_at = now;
	coalesce = r->cacheable && strmap_get(s->nonidem, r->key) == NULL;
	if (coalesce) {
		j = strmap_get(s->by_key, r->key);
		if (j != NULL) {
			/* Singleflight: wait for the request already on its way. */
			w->next = j->waiters;
			j->waiters = w;
			j->nwaiters++;
			if (j->prio == SCHED_PRIO_REFRESH) {
				/* A client now waits for it: promote.  A queued job
				 * moves to the client class; a delayed or running one
				 * keeps its place and retries as a client job. */
				bool queued = j->where == JOB_QUEUED;
				if (queued)
					sched_unqueue(s, j);
				j->prio = SCHED_PRIO_CLIENT;
				snprintf(j->client, sizeof(j->client), "%s", w->client);
				if (queued)
					sched_enqueue(s, j, false);
			}
			return;
		}
	}
	if (coalesce && answer_from_store(s, w))
		return;
	if (s->queued_total >= s->cfg->queue_max) {
		sched_give_up(w, 429, "too_many_requests",
		    "The proxy's upstream queue is full; retry later.",
		    sched_backlog_retry_after(s));
		return;
	}
	if (s->breaker_until != 0 && now < s->breaker_until) {
		sched_give_up(w, 503, "service_unavailable",
		    "Secrets Manager is unavailable; the proxy is backing off.",
		    (int)((s->breaker_until - now) / 1000 + 1));
		return;
	}
	if (s->token.access == NULL && s->token.failures > 0 && !s->token.fetching) {
		/* IAM is failing and the next try is a backoff away: do not
		 * park the client until then. */
		sched_give_up(w, 503, "service_unavailable",
		    "The proxy cannot obtain an IAM token for Secrets Manager.",
		    (int)((s->token.next_attempt - now) / 1000 + 1));
		return;
	}
	prio = r->is_write || !r->cacheable ? SCHED_PRIO_WRITE : SCHED_PRIO_CLIENT;
	j = sched_job_for_route(r, w->method, prio, w->client);
	if (j == NULL) {
		sched_give_up(w, 503, "service_unavailable", "The proxy is out of memory.", 1);
		return;
	}
	if (w->body_len > 0) {
		j->body = malloc(w->body_len);
		if (j->body == NULL) {
			sched_job_free(s, j);
			sched_give_up(w, 503, "service_unavailable", "The proxy is out of memory.", 1);
			return;
		}
		memcpy(j->body, w->body, w->body_len);
		j->body_len = w->body_len;
	}
	if (w->content_type != NULL)
		j->content_type = strdup(w->content_type);
	j->waiters = w;
	j->nwaiters = 1;
	j->queued_at = now;
	if (coalesce && strmap_put(s->by_key, r->key, j) == 0)
		j->coalesce = true;
	sched_enqueue(s, j, false);
}

void
sched_accept_refresh(struct sched *s, const char *key, int64_t now)
{
	struct route r;
	struct job *j;

	if (strmap_get(s->by_key, key) != NULL || strmap_get(s->nonidem, key) != NULL)
		return;
	if (s->queues[SCHED_PRIO_REFRESH].njobs >= SCHED_REFRESH_QUEUE_MAX)
		return;
	if (route_from_key(&r, key) != 0 || !r.cacheable)
		return;
	j = sched_job_for_route(&r, "GET", SCHED_PRIO_REFRESH, "refresh");
	if (j == NULL)
		return;
	j->refresh = true;
	j->queued_at = now;
	if (strmap_put(s->by_key, key, j) != 0) {
		sched_job_free(s, j);
		return;
	}
	j->coalesce = true;
	sched_enqueue(s, j, false);
}

static void
drain_inbox(struct sched *s, int64_t now)
{
	struct inbox_item *it, *next;

	pthread_mutex_lock(&s->inbox_lock);
	it = s->inbox_head;
	s->inbox_head = s->inbox_tail = NULL;
	pthread_mutex_unlock(&s->inbox_lock);
	for (; it != NULL; it = next) {
		next = it->next;
		switch (it->kind) {
		case INBOX_SUBMIT:
			sched_accept_waiter(s, it->w, now);
			break;
		case INBOX_REFRESH:
			sched_accept_refresh(s, it->key, now);
			break;
		case INBOX_TOUCH:
			strmap_put(s->touches, it->key, (void *)(intptr_t)it->when);
			break;
		case INBOX_TTLS:
			install_ttls(s, it->cfg);
			break;
		}
		free(it);
	}
}

/* ---- starting jobs ---- */

static int64_t
start_jobs(struct sched *s, int64_t now)
{
	struct job *j;
	int64_t t;

	if (s->queued_total == 0)
		return INT64_MAX;
	if (!token_usable(&s->token, now))
		return INT64_MAX;	/* the token exchange wakes us */
	if (s->breaker_until != 0) {
		if (now < s->breaker_until) {
			xfer_breaker_fail_fast(s);
			return s->breaker_until;
		}
		if (s->probe_inflight)
			return INT64_MAX;
	}
	for (;;) {
		t = limiter_next_start(&s->limiter, now);
		if (t > now)
			return t;
		j = sched_next_job(s);
		if (j == NULL)
			return INT64_MAX;
		j->probe = s->breaker_until != 0;
		if (j->probe)
			s->probe_inflight = true;
		j->limiter_seq = limiter_record(&s->limiter, now);
		if (xfer_start(s, j, now) != 0) {
			sched_answer_error(s, j, 503, "service_unavailable",
			    "The proxy could not start an upstream request.", 1);
			continue;
		}
		if (s->breaker_until != 0)
			return INT64_MAX;
	}
}

/* ---- housekeeping ---- */

static int
flush_one_touch(const char *key, void *value, void *arg)
{
	struct sched *s = arg;

	store_touch(s->store, key, (int64_t)(intptr_t)value);
	return 1;
}

static void
housekeeping(struct sched *s, int64_t now)
{
	int64_t wall = sched_wall_ms();

	if (now >= s->next_deadline_scan) {
		sched_scan_deadlines(s, now);
		limiter_tick(&s->limiter, now);
		s->next_deadline_scan = now + DEADLINE_SCAN_MS;
	}
	if (now >= s->next_touch_flush) {
		if (strmap_count(s->touches) > 0) {
			/* One transaction for the whole batch. */
			bool tx = store_begin(s->store) == STORE_OK;
			strmap_filter(s->touches, flush_one_touch, s);
			if (tx)
				store_commit(s->store);
		}
		s->next_touch_flush = now + TOUCH_FLUSH_MS;
	}
	if (now >= s->next_refresh_scan) {
		int room = SCHED_REFRESH_QUEUE_MAX - (int)s->queues[SCHED_PRIO_REFRESH].njobs;
		char **keys = NULL;
		int i, n;

		s->next_refresh_scan = now + REFRESH_SCAN_MS;
		if (room > 0 && s->breaker_until == 0 &&
		    s->queues[SCHED_PRIO_CLIENT].njobs == 0) {
			if (room > s->cfg->rate_limit)
				room = s->cfg->rate_limit;
			n = store_due_refreshes(s->store, wall,
			    s->cfg->idle_ttl_s * 1000, &keys, room);
			for (i = 0; i < n; i++)
				sched_accept_refresh(s, keys[i], now);
			if (n > 0)
				store_keys_free(keys, n);
		}
	}
	if (now >= s->next_maintain) {
		store_maintain(s->store, wall, s->cfg->idle_ttl_s * 1000);
		s->next_maintain = now + MAINTAIN_MS;
	}
}

static void
publish_stats(struct sched *s, int64_t now)
{
	int p, in_window = limiter_in_window(&s->limiter, now);

	if (in_window > s->window_max)
		s->window_max = in_window;
	pthread_mutex_lock(&s->stats_lock);
	for (p = 0; p < SCHED_NPRIO; p++)
		s->stats.queued[p] = s->queues[p].njobs;
	s->stats.inflight = s->inflight;
	s->stats.effective_rate = s->limiter.eff_rate;
	s->stats.window_max = s->window_max;
	s->stats.have_token = s->token.access != NULL;
	s->stats.token_expiry_wall = s->token.access != NULL ? s->token.expiry_wall : 0;
	s->stats.breaker_open = s->breaker_until != 0;
	pthread_mutex_unlock(&s->stats_lock);
}

static void
fail_everything(struct sched *s)
{
	struct job *j;
	int p;

	for (p = 0; p < SCHED_NPRIO; p++)
		while ((j = sched_dequeue(s, p)) != NULL)
			sched_answer_error(s, j, 503, "service_unavailable",
			    "The proxy is shutting down.", 1);
	while ((j = s->delayed) != NULL) {
		s->delayed = j->next;
		sched_answer_error(s, j, 503, "service_unavailable",
		    "The proxy is shutting down.", 1);
	}
}

static void
drain_transfers(struct sched *s, int64_t now)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		if (msg->easy_handle == s->token_easy)
			xfer_token_done(s, msg->data.result, now);
		else
			xfer_done(s, msg->easy_handle, msg->data.result, now);
	}
}

static void *
run(void *arg)
{
	struct sched *s = arg;
	int64_t now, wake, t;
	int running, timeout;

	while (!atomic_load(&s->stopping)) {
		now = sched_now_ms();
		drain_inbox(s, now);
		housekeeping(s, now);
		wake = sched_release_delayed(s, now);
		if (token_should_fetch(&s->token, now) && s->token_easy == NULL)
			xfer_token_start(s, now);
		t = start_jobs(s, now);
		if (t < wake)
			wake = t;
		curl_multi_perform(s->multi, &running);
		drain_transfers(s, sched_now_ms());
		publish_stats(s, now);

		now = sched_now_ms();
		if (s->token.access == NULL && !s->token.fetching &&
		    s->token.next_attempt > now && s->token.next_attempt < wake)
			wake = s->token.next_attempt;
		else if (s->token.access != NULL && s->token.refresh_at < wake)
			wake = s->token.refresh_at;
		if (s->next_deadline_scan < wake && s->queued_total + s->inflight > 0)
			wake = s->next_deadline_scan;
		if (s->next_touch_flush < wake)
			wake = s->next_touch_flush;
		if (s->next_refresh_scan < wake)
			wake = s->next_refresh_scan;
		timeout = wake == INT64_MAX ? 1000 :
		    wake <= now ? 0 : (int)(wake - now > 1000 ? 1000 : wake - now);
		curl_multi_poll(s->multi, NULL, 0, timeout, NULL);
	}
	/* Shutdown: answer everyone, in flight or queued. */
	drain_inbox(s, sched_now_ms());
	fail_everything(s);
	while (s->inflight_head != NULL)
		sched_answer_error(s, s->inflight_head, 503, "service_unavailable",
		    "The proxy is shutting down.", 1);
	strmap_filter(s->touches, flush_one_touch, s);
	return NULL;
}

struct sched *
sched_new(const struct cfg *cfg, struct store *store)
{
	struct sched *s = calloc(1, sizeof(*s));
	int p;

	if (s == NULL)
		return NULL;
	s->cfg = cfg;
	s->store = store;
	pthread_mutex_init(&s->inbox_lock, NULL);
	pthread_mutex_init(&s->stats_lock, NULL);
	token_init(&s->token);
	s->multi = curl_multi_init();
	s->by_key = strmap_new();
	s->nonidem = strmap_new();
	s->touches = strmap_new();
	for (p = 0; p < SCHED_NPRIO; p++)
		s->queues[p].by_client = strmap_new();
	if (s->multi == NULL || s->by_key == NULL || s->nonidem == NULL ||
	    s->touches == NULL || s->queues[0].by_client == NULL ||
	    s->queues[1].by_client == NULL || s->queues[2].by_client == NULL ||
	    limiter_init(&s->limiter, cfg->rate_limit, 1000 + SCHED_RATE_MARGIN_MS) != 0) {
		sched_free(s);
		return NULL;
	}
	curl_multi_setopt(s->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
	    (long)(cfg->rate_limit * 2 > 8 ? cfg->rate_limit * 2 : 8));
	curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS,
	    (long)(cfg->rate_limit * 2 > 8 ? cfg->rate_limit * 2 : 8));
	s->token_form = token_form(cfg->api_key != NULL ? cfg->api_key : "",
	    &s->token_form_len);
	if (store != NULL)
		s->reader = store_reader_new(store);
	if (s->token_form == NULL) {
		sched_free(s);
		return NULL;
	}
	return s;
}

int
sched_start(struct sched *s)
{
	if (pthread_create(&s->thread, NULL, run, s) != 0)
		return -1;
	s->running = true;
	return 0;
}

void
sched_stop(struct sched *s)
{
	if (s == NULL || !s->running)
		return;
	atomic_store(&s->stopping, true);
	curl_multi_wakeup(s->multi);
	pthread_join(s->thread, NULL);
	s->running = false;
}

/* The jobs themselves were answered and freed when the thread stopped. */
static int
forget_entry(const char *key, void *value, void *arg)
{
	(void)key;
	(void)value;
	(void)arg;
	return 1;
}

void
sched_free(struct sched *s)
{
	struct inbox_item *it, *next;
	int p;

	if (s == NULL)
		return;
	sched_stop(s);
	for (it = s->inbox_head; it != NULL; it = next) {
		next = it->next;
		if (it->kind == INBOX_TTLS && it->cfg != NULL) {
			cfg_free(it->cfg);
			free(it->cfg);
		}
		free(it);
	}
	install_ttls(s, NULL);
	if (s->token_easy != NULL) {
		curl_multi_remove_handle(s->multi, s->token_easy);
		curl_easy_cleanup(s->token_easy);
	}
	buf_free(&s->token_resp);
	token_form_free(s->token_form);
	store_reader_free(s->reader);
	token_cleanup(&s->token);
	if (s->by_key != NULL)
		strmap_filter(s->by_key, forget_entry, NULL);
	strmap_free(s->by_key);
	strmap_free(s->nonidem);
	strmap_free(s->touches);
	for (p = 0; p < SCHED_NPRIO; p++)
		strmap_free(s->queues[p].by_client);
	if (s->multi != NULL)
		curl_multi_cleanup(s->multi);
	limiter_cleanup(&s->limiter);
	pthread_mutex_destroy(&s->inbox_lock);
	pthread_mutex_destroy(&s->stats_lock);
	free(s);
}
