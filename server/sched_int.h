/*
 * sched_int.h: the scheduler's private structures, shared by sched.c
 * (thread loop, inbox, singleflight, housekeeping), sched_queue.c (jobs,
 * priority classes, fairness, deadlines) and sched_xfer.c (curl transfers,
 * token exchange, answers and cache writes).
 *
 * Thread rules: everything here belongs to the scheduler thread, except
 * the inbox (guarded by inbox_lock) and stats (guarded by stats_lock).
 */
#ifndef SMPROXY_SCHED_INT_H
#define SMPROXY_SCHED_INT_H

#include <curl/curl.h>
#include <pthread.h>

#include "server/limiter.h"
#include "server/sched.h"
#include "server/strmap.h"
#include "server/token.h"

#define SCHED_RATE_MARGIN_MS	20	/* limiter window = 1000 + this */
#define SCHED_MAX_RESPONSE	(16 * 1024 * 1024)
#define SCHED_MAX_ATTEMPTS	3	/* for 5xx and network errors */
#define SCHED_REFRESH_QUEUE_MAX	1024
#define BREAKER_THRESHOLD	5
#define BREAKER_FIRST_MS	1000
#define BREAKER_MAX_MS		30000

struct buf {
	uint8_t	*data;
	size_t	 len;
	size_t	 cap;
};

struct job {
	struct job		*next;		/* client queue or delayed list */
	struct job		*inflight_next, *inflight_prev;
	enum sched_prio		 prio;
	char			 client[64];

	/* What to send. */
	enum route_op		 op;
	const char		*tmpl;
	bool			 cacheable;	/* store the answer */
	bool			 coalesce;	/* registered in the key map */
	bool			 is_write;
	unsigned		 kind;
	char			*key;		/* cache key, or NULL */
	char			*target;
	char			*method;
	uint8_t			*body;
	size_t			 body_len;
	char			*content_type;
	char			*route_secret_id;	/* tag for secret routes */
	char			*route_type;		/* secret type in the path, or "" */
	char			*invalidate_id;
	unsigned		 invalidate_kinds;

	/* Who waits. */
	struct sched_waiter	*waiters;
	int			 nwaiters;

	/* State. */
	int			 attempts;
	int			 auth_retries;
	int64_t			 not_before;	/* retry backoff */
	int64_t			 queued_at;
	uint64_t		 epoch_at_start;
	uint64_t		 token_gen;
	int64_t			 limiter_seq;	/* this attempt's limiter record */
	bool			 started;
	bool			 probe;
	enum { JOB_NOWHERE, JOB_QUEUED, JOB_DELAYED, JOB_INFLIGHT } where;
	bool			 refresh;	/* began as a background refresh */

	/* Transfer. */
	CURL			*easy;
	struct curl_slist	*headers;
	struct buf		 resp;
	int64_t			 started_at;
	char			 errbuf[CURL_ERROR_SIZE];
};

/* One client's FIFO inside a priority class; ring-linked for round robin. */
struct cq {
	struct cq	*next;
	struct job	*head, *tail;
	char		 client[64];
};

struct pq {
	struct cq	*cursor;	/* last served; cursor->next is served next */
	struct strmap	*by_client;
	int64_t		 njobs;
};

enum inbox_kind { INBOX_SUBMIT, INBOX_REFRESH, INBOX_TOUCH, INBOX_TTLS };

struct inbox_item {
	struct inbox_item	*next;
	enum inbox_kind		 kind;
	struct sched_waiter	*w;
	struct cfg		*cfg;		/* INBOX_TTLS */
	int64_t			 when;
	char			 key[];
};

struct sched {
	const struct cfg	*cfg;
	struct cfg		*ttl_cfg;	/* reloaded TTLs, or NULL: cfg's */
	struct store		*store;
	struct store_reader	*reader;	/* the scheduler thread's own */
	pthread_t		 thread;
	bool			 running;
	atomic_bool		 stopping;

	CURLM			*multi;
	struct limiter		 limiter;
	struct token		 token;
	CURL			*token_easy;
	struct buf		 token_resp;
	char			*token_form;
	size_t			 token_form_len;

	struct pq		 queues[SCHED_NPRIO];
	struct job		*delayed;	/* waiting for not_before */
	struct strmap		*by_key;	/* coalescing: key -> job */
	struct strmap		*nonidem;	/* keys whose reads mint secrets */
	struct strmap		*touches;	/* key -> last access (wall ms) */
	int64_t			 inflight;
	struct job		*inflight_head;	/* jobs with a transfer */
	int64_t			 queued_total;
	uint64_t		 inval_epoch;

	/* Circuit breaker. */
	int			 failures;	/* consecutive */
	int64_t			 breaker_until;	/* open until; 0 = closed */
	int64_t			 breaker_backoff;
	bool			 probe_inflight;

	int64_t			 next_deadline_scan;
	int64_t			 next_touch_flush;
	int64_t			 next_maintain;
	int64_t			 next_refresh_scan;
	int			 window_max;

	pthread_mutex_t		 inbox_lock;
	struct inbox_item	*inbox_head, *inbox_tail;

	pthread_mutex_t		 stats_lock;
	struct sched_stats	 stats;
};

/* sched_queue.c */
struct job *sched_job_for_route(const struct route *r, const char *method,
	    enum sched_prio prio, const char *client);
void	 sched_job_free(struct sched *s, struct job *j);
void	 sched_forget_key(struct sched *s, struct job *j);
void	 sched_enqueue(struct sched *s, struct job *j, bool front);
struct job *sched_dequeue(struct sched *s, int prio);
void	 sched_unqueue(struct sched *s, struct job *j);
/* The next job to start: the highest class first, round robin inside. */
struct job *sched_next_job(struct sched *s);
/* Hand r to every waiter of j (sched_answer also frees j). */
void	 sched_answer_waiters(struct sched *s, struct job *j, struct sched_result *r);
void	 sched_answer(struct sched *s, struct job *j, struct sched_result *r);
void	 sched_answer_error(struct sched *s, struct job *j, int status,
	    const char *code, const char *message, int retry_after_s);
struct sched_result *sched_error_result(int status, const char *code,
	    const char *message, int retry_after_s);
/* Answer one waiter that gives up: its stale copy, else an error. */
void	 sched_give_up(struct sched_waiter *w, int status, const char *code,
	    const char *message, int retry_after_s);
int	 sched_backlog_retry_after(struct sched *s);
void	 sched_scan_deadlines(struct sched *s, int64_t now);
/* Requeue retry jobs whose backoff ended; returns the next end, or INT64_MAX. */
int64_t	 sched_release_delayed(struct sched *s, int64_t now);

/* sched.c: inbox handlers, exposed for unit tests (scheduler thread). */
void	 sched_accept_waiter(struct sched *s, struct sched_waiter *w, int64_t now);
void	 sched_accept_refresh(struct sched *s, const char *key, int64_t now);

/* sched_xfer.c */
int	 xfer_start(struct sched *s, struct job *j, int64_t now);
void	 xfer_done(struct sched *s, CURL *easy, CURLcode code, int64_t now);
void	 xfer_token_start(struct sched *s, int64_t now);
void	 xfer_token_done(struct sched *s, CURLcode code, int64_t now);
void	 xfer_breaker_fail_fast(struct sched *s);
void	 buf_free(struct buf *b);

struct sched_result *result_new(int status, const char *ctype,
	    const uint8_t *body, size_t len);

#endif
