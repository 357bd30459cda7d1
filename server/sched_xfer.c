/*
 * sched_xfer: upstream transfers for the scheduler (see sched.h).
 *
 * Every SM request is one curl easy handle on the scheduler's multi handle,
 * carrying `Authorization: Bearer <proxy token>` (never a client's).  When
 * it completes, the answer is classified:
 *   2xx/3xx/4xx  -> answered to every waiter; cacheable reads are sealed into
 *                   the store (404 as a short negative entry); successful
 *                   writes invalidate what they change;
 *   401          -> the token is dropped and the request retried once;
 *   429          -> the limiter slows down and the request waits Retry-After;
 *   5xx, network -> bounded retries with jittered backoff, then stale copies
 *                   or the error; the circuit breaker counts them.
 * The IAM token exchange is a separate transfer outside the limiter.
 *
 * Thread rules: the scheduler thread only.
 */
#include "server/sched_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/respinfo.h"
#include "store/store.h"

void
buf_free(struct buf *b)
{
	if (b->data != NULL) {
		sodium_memzero(b->data, b->len);
		free(b->data);
	}
	memset(b, 0, sizeof(*b));
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct buf *b = arg;
	size_t n = size * nmemb, cap;
	uint8_t *p;

	if (n == 0)
		return 0;
	if (b->len + n > SCHED_MAX_RESPONSE)
		return 0;	/* aborts the transfer */
	if (b->len + n > b->cap) {
		cap = b->cap ? b->cap : 4096;
		while (cap < b->len + n)
			cap *= 2;
		p = malloc(cap);
		if (p == NULL)
			return 0;
		if (b->data != NULL) {
			memcpy(p, b->data, b->len);
			sodium_memzero(b->data, b->len);
			free(b->data);
		}
		b->data = p;
		b->cap = cap;
	}
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	return n;
}

struct sched_result *
result_new(int status, const char *ctype, const uint8_t *body, size_t len)
{
	struct sched_result *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return NULL;
	atomic_init(&r->refs, 1);
	r->status = status;
	r->content_type = strdup(ctype != NULL ? ctype : "application/json");
	r->body = malloc(len > 0 ? len : 1);
	r->secret_id = strdup("");
	r->group_id = strdup("");
	if (r->content_type == NULL || r->body == NULL || r->secret_id == NULL ||
	    r->group_id == NULL) {
		sched_result_release(r);
		return NULL;
	}
	if (len > 0)
		memcpy(r->body, body, len);
	r->body_len = len;
	return r;
}

static int
append_header(struct curl_slist **list, const char *line)
{
	struct curl_slist *n = curl_slist_append(*list, line);

	if (n == NULL)
		return -1;
	*list = n;
	return 0;
}

int
xfer_start(struct sched *s, struct job *j, int64_t now)
{
	char url[4096], *auth = NULL;
	size_t alen;
	CURL *e;
	int rc = -1;

	if (snprintf(url, sizeof(url), "%s%s", s->cfg->upstream_url, j->target) >=
	    (int)sizeof(url))
		return -1;
	e = curl_easy_init();
	if (e == NULL)
		return -1;
	buf_free(&j->resp);
	if (j->headers != NULL) {
		struct curl_slist *h;
		for (h = j->headers; h != NULL; h = h->next)
			sodium_memzero(h->data, strlen(h->data));
		curl_slist_free_all(j->headers);
		j->headers = NULL;
	}
	alen = strlen(s->token.access) + sizeof("Authorization: Bearer ");
	auth = sodium_malloc(alen);
	if (auth == NULL)
		goto done;
	snprintf(auth, alen, "Authorization: Bearer %s", s->token.access);
	if (append_header(&j->headers, auth) != 0 ||
	    append_header(&j->headers, "Accept: application/json") != 0 ||
	    append_header(&j->headers, "Expect:") != 0)
		goto done;
	if (j->content_type != NULL) {
		char ct[512];
		snprintf(ct, sizeof(ct), "Content-Type: %s", j->content_type);
		if (append_header(&j->headers, ct) != 0)
			goto done;
	}
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, j);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &j->resp);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)s->cfg->upstream_timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(s->cfg->upstream_timeout_ms < 5000 ? s->cfg->upstream_timeout_ms : 5000));
	curl_easy_setopt(e, CURLOPT_USERAGENT, "smproxy/" SMPROXY_VERSION);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (strcmp(j->method, "GET") == 0) {
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	} else if (strcmp(j->method, "HEAD") == 0) {
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	} else {
		if (strcmp(j->method, "POST") != 0)
			curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, j->method);
		else
			curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, j->body != NULL ? (char *)j->body : "");
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)j->body_len);
	}
	if (curl_multi_add_handle(s->multi, e) != CURLM_OK)
		goto done;
	j->easy = e;
	e = NULL;
	j->started = true;
	j->where = JOB_INFLIGHT;
	if (j->attempts == 0)
		metrics_queue_wait((double)(now - j->queued_at) / 1000.0);
	j->started_at = now;
	j->attempts++;
	j->token_gen = s->token.generation;
	j->epoch_at_start = s->inval_epoch;
	j->inflight_prev = NULL;
	j->inflight_next = s->inflight_head;
	if (s->inflight_head != NULL)
		s->inflight_head->inflight_prev = j;
	s->inflight_head = j;
	s->inflight++;
	rc = 0;
done:
	if (auth != NULL)
		sodium_free(auth);
	if (e != NULL)
		curl_easy_cleanup(e);
	return rc;
}

/* Detach j's finished transfer (keeping the job) so it can be retried. */
static void
detach(struct sched *s, struct job *j)
{
	curl_multi_remove_handle(s->multi, j->easy);
	curl_easy_cleanup(j->easy);
	j->easy = NULL;
	j->started = false;
	j->where = JOB_NOWHERE;
	s->inflight--;
	if (j->inflight_prev != NULL)
		j->inflight_prev->inflight_next = j->inflight_next;
	else
		s->inflight_head = j->inflight_next;
	if (j->inflight_next != NULL)
		j->inflight_next->inflight_prev = j->inflight_prev;
	j->inflight_next = j->inflight_prev = NULL;
}

static void
delay(struct sched *s, struct job *j, int64_t until)
{
	j->not_before = until;
	j->next = s->delayed;
	s->delayed = j;
	j->where = JOB_DELAYED;
}

/*
 * Upstream failed for now: waiters holding a stale copy get it at once
 * (stale-if-error) instead of waiting for retries.  A job nobody waits
 * for any more carries on as a background refresh.
 */
static void
release_stale_waiters(struct sched *s, struct job *j)
{
	struct sched_waiter *w, *next, *keep = NULL;

	for (w = j->waiters; w != NULL; w = next) {
		next = w->next;
		if (w->has_stale) {
			w->next = NULL;
			w->outcome = SCHED_USE_STALE;
			w->cache_state = CACHE_STALE;
			w->result = NULL;
			j->nwaiters--;
			w->done(w);
		} else {
			w->next = keep;
			keep = w;
		}
	}
	j->waiters = keep;
	if (j->nwaiters == 0 && j->cacheable && j->prio != SCHED_PRIO_REFRESH) {
		j->prio = SCHED_PRIO_REFRESH;
		snprintf(j->client, sizeof(j->client), "refresh");
	}
	(void)s;
}

/* Earliest deadline among j's waiters (INT64_MAX when none). */
static int64_t
earliest_deadline(const struct job *j)
{
	const struct sched_waiter *w;
	int64_t d = INT64_MAX;

	for (w = j->waiters; w != NULL; w = w->next)
		if (w->deadline < d)
			d = w->deadline;
	return d;
}

static void
breaker_success(struct sched *s)
{
	if (s->breaker_until != 0)
		log_kv(LOG_INFO, "upstream recovered; circuit closed", NULL);
	s->failures = 0;
	s->breaker_until = 0;
	s->breaker_backoff = 0;
	s->probe_inflight = false;
}

/*
 * A failed request.  BREAKER_THRESHOLD failures in a row open the circuit
 * for BREAKER_FIRST_MS; a failed probe doubles that (up to BREAKER_MAX_MS).
 * Requests that were already in flight when it opened only count.
 */
static void
breaker_failure(struct sched *s, int64_t now, bool probe)
{
	char ms[32];

	s->failures++;
	if (s->breaker_until == 0) {
		if (s->failures < BREAKER_THRESHOLD)
			return;
		s->breaker_backoff = BREAKER_FIRST_MS;
	} else if (probe) {
		s->probe_inflight = false;
		s->breaker_backoff *= 2;
		if (s->breaker_backoff > BREAKER_MAX_MS)
			s->breaker_backoff = BREAKER_MAX_MS;
	} else {
		return;
	}
	s->breaker_until = now + s->breaker_backoff;
	snprintf(ms, sizeof(ms), "%lld", (long long)s->breaker_backoff);
	log_kv(LOG_WARN, probe ? "upstream still failing; circuit stays open" :
	    "upstream failing; circuit open", "probe_in_ms", ms, NULL);
}

/* Answer every queued job of the client and write classes now (stale
 * copies win) rather than at their deadlines; refreshes are dropped. */
static void
fail_queued(struct sched *s, int status, const char *code, const char *msg,
    int retry_after_s)
{
	struct job *j;
	int p;

	for (p = 0; p < SCHED_NPRIO; p++)
		while ((j = sched_dequeue(s, p)) != NULL) {
			if (p == SCHED_PRIO_REFRESH && j->nwaiters == 0)
				sched_job_free(s, j);
			else
				sched_answer_error(s, j, status, code, msg, retry_after_s);
		}
}

void
xfer_breaker_fail_fast(struct sched *s)
{
	fail_queued(s, 503, "service_unavailable",
	    "Secrets Manager is unavailable; the proxy is backing off.",
	    (int)(s->breaker_backoff / 1000 + 1));
}

static int64_t
jittered_backoff(int attempt)
{
	int64_t base = 100LL << (attempt < 6 ? attempt : 6);

	return base / 2 + (int64_t)randombytes_uniform((uint32_t)base);
}

/* Retry j after a failure if its waiters can afford it; else fail it.
 * upstream_answer (may be NULL) is what upstream said; waiters without a
 * stale copy get it when the retries run out. */
static void
retry_or_fail(struct sched *s, struct job *j, int64_t now, int status,
    const char *code, const char *msg, struct sched_result *upstream_answer)
{
	int64_t at = now + jittered_backoff(j->attempts);

	release_stale_waiters(s, j);
	if (j->attempts < SCHED_MAX_ATTEMPTS && at < earliest_deadline(j) &&
	    !atomic_load(&s->stopping)) {
		delay(s, j, at);
		if (upstream_answer != NULL)
			sched_result_release(upstream_answer);
		return;
	}
	if (j->refresh || j->nwaiters == 0)
		metrics_refresh(0);
	if (upstream_answer != NULL) {
		sched_answer(s, j, upstream_answer);
		sched_result_release(upstream_answer);
		return;
	}
	sched_answer_error(s, j, status, code, msg, 0);
}

/* Invalidate what a successful write changed. */
static int
detach_affected(const char *key, void *value, void *arg)
{
	struct job *j = value;
	const char *id = arg;

	(void)key;
	if (!j->started)
		return 0;	/* not sent yet: it will see the new data */
	if ((id[0] != '\0' && strcmp(j->route_secret_id, id) == 0) ||
	    j->op == ROUTE_V2_BYNAME || (j->kind & (ROUTE_KIND_LIST | ROUTE_KIND_GROUPS))) {
		j->coalesce = false;	/* later readers get a new request */
		return 1;
	}
	return 0;
}

static void
invalidate_for_write(struct sched *s, struct job *j)
{
	int64_t dropped = 0;

	s->inval_epoch++;
	strmap_filter(s->by_key, detach_affected, j->invalidate_id);
	if (store_invalidate(s->store, j->invalidate_id, j->invalidate_kinds,
	    &dropped) != STORE_OK)
		log_kv(LOG_WARN, "cache invalidation failed", "route", j->tmpl, NULL);
}

/* Seal a cacheable answer into the store. */
static void
cache_answer(struct sched *s, struct job *j, const struct sched_result *r,
    const struct respinfo *info)
{
	struct store_entry e;
	const struct cfg *tc = s->ttl_cfg != NULL ? s->ttl_cfg : s->cfg;
	int64_t ttl_s, max_stale_s, neg_s, wall = sched_wall_ms();
	const char *tag;
	int rc;

	if (j->epoch_at_start != s->inval_epoch)
		return;		/* a write raced this read: do not keep it */
	memset(&e, 0, sizeof(e));
	cfg_ttls_for(tc, info->group_id[0] ? info->group_id : NULL,
	    info->secret_type[0] ? info->secret_type :
	    (j->route_type[0] ? j->route_type : NULL), &ttl_s, &max_stale_s, &neg_s);
	e.meta.kind = j->kind;
	if (r->status == 404) {
		ttl_s = neg_s;
		max_stale_s = 0;
		e.meta.kind |= ROUTE_KIND_NEGATIVE;
	} else if (j->kind & ROUTE_KIND_LIST) {
		ttl_s = tc->list_ttl_s;
	}
	if (ttl_s <= 0)
		return;
	store_meta_set(&e.meta, wall, ttl_s * 1000, max_stale_s * 1000,
	    randombytes_random());
	e.meta.last_access = wall;
	e.status = r->status;
	e.content_type = r->content_type;
	e.secret_id = info->secret_id[0] ? (char *)info->secret_id : j->route_secret_id;
	e.group_id = (char *)info->group_id;
	e.body = r->body;
	e.body_len = r->body_len;
	tag = e.secret_id;
	rc = store_put(s->store, j->key, tag, &e);
	if (rc != STORE_OK && rc != STORE_ETOOBIG) {
		metrics_cache_write_error();
		log_kv(LOG_WARN, "cache write failed", "route", j->tmpl, NULL);
	}
}

/* Non-idempotent answer: the first waiter keeps it; every other waiter
 * gets a request of its own. */
static void
split_nonidempotent(struct sched *s, struct job *j, int64_t now)
{
	struct sched_waiter *w, *next, *first = NULL;

	strmap_put(s->nonidem, j->key, (void *)1);
	sched_forget_key(s, j);
	for (w = j->waiters; w != NULL; w = next) {
		next = w->next;
		if (w->next == NULL) {	/* the list is LIFO: the last is first */
			first = w;
			break;
		}
		w->next = NULL;
		{
			struct job *own = sched_job_for_route(w->route, w->method,
			    SCHED_PRIO_CLIENT, w->client);
			if (own == NULL) {
				w->result = NULL;
				w->outcome = SCHED_ANSWER;
				w->done(w);
				continue;
			}
			own->cacheable = false;
			own->waiters = w;
			own->nwaiters = 1;
			own->queued_at = now;
			sched_enqueue(s, own, true);
		}
	}
	j->waiters = first;
	j->nwaiters = first != NULL;
	j->cacheable = false;
}

void
xfer_done(struct sched *s, CURL *easy, CURLcode code, int64_t now)
{
	struct job *j = NULL;
	long status = 0;
	char *ct = NULL, ctype[256];
	curl_off_t retry_after = 0;
	struct sched_result *r;
	struct respinfo info;
	bool have_info = false;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&j);
	if (j == NULL)
		return;
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &ct);
	/* curl owns ct until the handle goes away in detach(). */
	snprintf(ctype, sizeof(ctype), "%s", ct != NULL ? ct : "application/json");
	curl_easy_getinfo(easy, CURLINFO_RETRY_AFTER, &retry_after);
	metrics_upstream_request(j->op, code == CURLE_OK ? (int)status : 0,
	    (double)(now - j->started_at) / 1000.0);
	{
		/* Tell the limiter when the request really left: curl's clock
		 * starts when it picks the transfer up, so count back from now. */
		curl_off_t total_us = 0, pre_us = 0;
		if (curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us) == CURLE_OK &&
		    curl_easy_getinfo(easy, CURLINFO_PRETRANSFER_TIME_T, &pre_us) == CURLE_OK &&
		    total_us >= pre_us && pre_us > 0)
			limiter_correct(&s->limiter, j->limiter_seq,
			    sched_now_ms() - (int64_t)((total_us - pre_us) / 1000));
	}
	detach(s, j);
	if (j->probe)
		s->probe_inflight = false;

	if (code != CURLE_OK) {
		bool timeout = code == CURLE_OPERATION_TIMEDOUT;
		bool never_sent = code == CURLE_COULDNT_CONNECT ||
		    code == CURLE_COULDNT_RESOLVE_HOST;

		log_kv(LOG_WARN, "upstream request failed", "route", j->tmpl,
		    "error", curl_easy_strerror(code), NULL);
		breaker_failure(s, now, j->probe);
		if (j->is_write && !never_sent) {
			/* A write may have happened: never repeat it. */
			sched_answer_error(s, j, timeout ? 504 : 502,
			    timeout ? "gateway_timeout" : "bad_gateway",
			    "Secrets Manager did not answer the write; its outcome is unknown.", 0);
			return;
		}
		retry_or_fail(s, j, now, timeout ? 504 : 502,
		    timeout ? "gateway_timeout" : "bad_gateway",
		    timeout ? "Secrets Manager did not answer in time." :
		    "Secrets Manager could not be reached.", NULL);
		return;
	}

	if (status == 401 && j->auth_retries == 0) {
		/* Our token went bad: get a new one and try again. */
		j->auth_retries++;
		token_invalidate(&s->token, j->token_gen);
		sched_enqueue(s, j, true);
		return;
	}
	if (status == 429) {
		int64_t at = now + (retry_after > 0 ? (int64_t)retry_after * 1000 : 1000);

		limiter_penalize(&s->limiter, now, (int64_t)retry_after * 1000);
		log_kv(LOG_WARN, "upstream rate limited the proxy", "route", j->tmpl, NULL);
		release_stale_waiters(s, j);
		if (j->nwaiters > 0 ? at < earliest_deadline(j) :
		    j->attempts < SCHED_MAX_ATTEMPTS) {
			delay(s, j, at);
			return;
		}
	}

	r = result_new((int)status, ctype, j->resp.data, j->resp.len);
	buf_free(&j->resp);
	if (r == NULL) {
		sched_answer_error(s, j, 503, "service_unavailable", "The proxy is out of memory.", 1);
		return;
	}
	if (status == 429)
		r->retry_after_s = retry_after > 0 ? (int)retry_after : 1;

	if (status >= 500 && status != 501) {
		breaker_failure(s, now, j->probe);
		if (j->is_write) {
			sched_answer(s, j, r);
			sched_result_release(r);
			return;
		}
		retry_or_fail(s, j, now, (int)status, NULL, NULL, r);
		return;
	}
	breaker_success(s);

	if (status == 429) {
		/* Out of time: stale copies win, others see the 429. */
		retry_or_fail(s, j, now, 429, NULL, NULL, r);
		return;
	}

	if (j->cacheable && status >= 200 && status < 300 &&
	    respinfo_parse(j->op, r->body, r->body_len, &info) == 0) {
		have_info = true;
		free(r->secret_id);
		free(r->group_id);
		r->secret_id = strdup(info.secret_id[0] ? info.secret_id : j->route_secret_id);
		r->group_id = strdup(info.group_id);
		if (info.non_idempotent)
			split_nonidempotent(s, j, now);
	}
	/* A write's effects are dropped before anyone hears it succeeded, so
	 * the very next read cannot find the old entry. */
	if (j->is_write && status >= 200 && status < 300)
		invalidate_for_write(s, j);
	if (j->refresh && j->nwaiters == 0)
		metrics_refresh(status < 500);
	if (r->secret_id == NULL || r->group_id == NULL) {
		sched_result_release(r);
		sched_answer_error(s, j, 503, "service_unavailable", "The proxy is out of memory.", 1);
		return;
	}
	/* Waiters first, then the disk: a reader arriving in between misses
	 * the cache and is answered from the store by this same thread once
	 * the write is done (sched_accept_waiter). */
	sched_answer_waiters(s, j, r);
	if (j->cacheable && j->key != NULL &&
	    ((status >= 200 && status < 300 && have_info) || status == 404)) {
		if (!have_info)
			memset(&info, 0, sizeof(info));
		cache_answer(s, j, r, &info);
	}
	sched_job_free(s, j);
	sched_result_release(r);
}

/* ---- the proxy's own IAM token ---- */

void
xfer_token_start(struct sched *s, int64_t now)
{
	char url[2048];
	CURL *e;
	static struct curl_slist *hdrs;

	if (hdrs == NULL) {
		hdrs = curl_slist_append(NULL, "Content-Type: application/x-www-form-urlencoded");
		hdrs = curl_slist_append(hdrs, "Accept: application/json");
	}
	snprintf(url, sizeof(url), "%s/identity/token", s->cfg->iam_url);
	e = curl_easy_init();
	if (e == NULL) {
		token_failed(&s->token, now);
		return;
	}
	buf_free(&s->token_resp);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(e, CURLOPT_POST, 1L);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->token_form);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)s->token_form_len);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &s->token_resp);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)s->cfg->upstream_timeout_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "smproxy/" SMPROXY_VERSION);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		token_failed(&s->token, now);
		return;
	}
	s->token_easy = e;
	s->token.fetching = true;
}

void
xfer_token_done(struct sched *s, CURLcode code, int64_t now)
{
	long status = 0;
	char why[128];
	char st[16];

	curl_easy_getinfo(s->token_easy, CURLINFO_RESPONSE_CODE, &status);
	curl_multi_remove_handle(s->multi, s->token_easy);
	curl_easy_cleanup(s->token_easy);
	s->token_easy = NULL;
	snprintf(st, sizeof(st), "%ld", status);
	if (code != CURLE_OK) {
		log_kv(LOG_WARN, "IAM token exchange failed", "error",
		    curl_easy_strerror(code), NULL);
		token_failed(&s->token, now);
	} else if (status != 200) {
		log_kv(LOG_WARN, "IAM refused the token exchange", "status", st, NULL);
		token_failed(&s->token, now);
	} else if (token_accept(&s->token, (const char *)s->token_resp.data,
	    s->token_resp.len, now, sched_wall_ms() / 1000, why, sizeof(why)) != 0) {
		log_kv(LOG_WARN, "IAM token response unusable", "reason", why, NULL);
	} else {
		log_kv(LOG_DEBUG, "IAM token refreshed", NULL);
	}
	buf_free(&s->token_resp);
	if (s->token.access == NULL && s->token.failures > 0)
		fail_queued(s, 503, "service_unavailable",
		    "The proxy cannot obtain an IAM token for Secrets Manager.", 1);
}
