/*
 * sched: the one thread that talks to the upstream.
 *
 * HTTP threads never block on upstream I/O: they suspend the client's
 * connection and hand a struct sched_waiter to sched_submit().  The
 * scheduler thread joins it to an identical in-flight request
 * (singleflight, per cache key), or queues a new job by priority class
 * (a client waiting with no usable copy > writes > background refresh) and,
 * inside a class, round-robin across client identities.  A rolling-window
 * limiter releases jobs so that no more than rate_limit upstream requests
 * start in any second.  Transfers run on one libcurl multi handle in this
 * thread, carrying the proxy's own IAM token (see token.h).  Answers are
 * sealed into the store and handed to every waiter at once through its
 * done() callback, which resumes the connection.
 *
 * Upstream trouble: 429 slows the limiter and retries after Retry-After;
 * 5xx and network errors retry with jittered backoff, then fail; a circuit
 * breaker stops starts to a dead upstream and probes it.  A waiter past its
 * deadline, or one that cannot be queued, is answered at once: with
 * SCHED_USE_STALE when it holds a stale copy, else an SM-shaped 429.
 *
 * Thread rules: sched_submit, sched_refresh, sched_touch and
 * sched_result_release may be called from any thread; everything else runs
 * in the scheduler thread or in main (new/start/stop/free).
 */
#ifndef SMPROXY_SCHED_H
#define SMPROXY_SCHED_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/route.h"

struct cfg;
struct store;

enum sched_prio {
	SCHED_PRIO_CLIENT = 0,		/* a client waits with no usable copy */
	SCHED_PRIO_WRITE,		/* writes and uncached pass-through */
	SCHED_PRIO_REFRESH,		/* background refresh */
	SCHED_NPRIO
};

enum sched_outcome {
	SCHED_ANSWER = 0,	/* send result */
	SCHED_USE_STALE		/* send the stale copy the waiter holds */
};

/* How a request was served, for logs and metrics. */
enum sched_cache_state {
	CACHE_BYPASS = 0,	/* not cacheable */
	CACHE_HIT,
	CACHE_STALE,
	CACHE_MISS,
	CACHE_COALESCED,
	CACHE__COUNT
};
const char *sched_cache_state_name(enum sched_cache_state cs);

/* An answer; immutable once published; shared by all waiters. */
struct sched_result {
	atomic_int	 refs;
	int		 status;
	char		*content_type;
	uint8_t		*body;		/* wiped on release */
	size_t		 body_len;
	int		 retry_after_s;	/* > 0: send Retry-After */
	char		*secret_id;	/* for authorization; "" if unknown */
	char		*group_id;
};

struct sched_waiter {
	/* Filled by the caller; must stay valid until done() is called. */
	const struct route *route;
	const char	*method;
	const uint8_t	*body;		/* request body for writes (copied) */
	size_t		 body_len;
	const char	*content_type;	/* request Content-Type, or NULL */
	char		 client[64];	/* identity for fair sharing */
	int64_t		 deadline;	/* monotonic ms */
	bool		 has_stale;	/* the caller can serve a stale copy */
	void		(*done)(struct sched_waiter *w);
	void		*arg;

	/* Filled by the scheduler before done(). */
	enum sched_outcome	 outcome;
	struct sched_result	*result;	/* release with sched_result_release */
	enum sched_cache_state	 cache_state;

	/* Scheduler-private. */
	struct sched_waiter	*next;
	int64_t			 enqueued_at;
};

struct sched;

/* Returns a scheduler for the configuration and store (both outlive it),
 * or NULL.  The thread starts in sched_start(). */
struct sched *sched_new(const struct cfg *cfg, struct store *store);
int	 sched_start(struct sched *s);
/* Answer everything still waiting (503), stop the thread, free nothing. */
void	 sched_stop(struct sched *s);
void	 sched_free(struct sched *s);

/* Hand a waiter to the scheduler (any thread). */
void	 sched_submit(struct sched *s, struct sched_waiter *w);
/* Ask for a background refresh of a cache key (any thread; cheap). */
void	 sched_refresh(struct sched *s, const char *key);
/* Record a cache read of key at wall-clock ms now (any thread; batched). */
void	 sched_touch(struct sched *s, const char *key, int64_t now_wall);

void	 sched_result_release(struct sched_result *r);

/* Use fresh's TTLs and TTL overrides from now on (SIGHUP); the scheduler
 * takes ownership of fresh (a cfg_load()ed struct from calloc). */
void	 sched_set_ttls(struct sched *s, struct cfg *fresh);

/* Jobs waiting and in flight (for /readyz and metrics; any thread). */
struct sched_stats {
	int64_t	 queued[SCHED_NPRIO];
	int64_t	 inflight;
	int	 effective_rate;
	int	 window_max;		/* most starts seen in any rolling window */
	int64_t	 token_expiry_wall;	/* epoch s; 0 when no token */
	bool	 have_token;
	bool	 breaker_open;
};
void	 sched_get_stats(struct sched *s, struct sched_stats *st);

/* Monotonic and wall clocks in ms (the outermost layers read these). */
int64_t	 sched_now_ms(void);
int64_t	 sched_wall_ms(void);

#endif
