/*
 * limiter: at most `rate` upstream request starts in any rolling window.
 *
 * The limiter remembers the latest `rate` start times.  A new start is allowed at `now` when the eff-th latest start
 * (eff = the current effective rate) lies at least window + margin in the
 * past.  That makes "no more than eff starts in any window" hold exactly,
 * for any arrival pattern, while still allowing a burst of eff starts into
 * an empty window (unlike a leaky bucket, which both smooths bursts and can
 * admit eff + 1 in a rolling window).  The margin absorbs jitter between
 * our start and the upstream's receipt.
 *
 * On an upstream 429 the effective rate halves (not below 1) and starts
 * pause until Retry-After has passed; after a calm period it climbs back by
 * one per recovery step.
 *
 * Time is injected: every function takes `now` in monotonic milliseconds.
 * Thread rules: owned by the scheduler thread.
 */
#ifndef SMPROXY_LIMITER_H
#define SMPROXY_LIMITER_H

#include <stdint.h>

#define LIMITER_CALM_MS		5000	/* no 429 for this long: start recovering */
#define LIMITER_RECOVER_MS	1000	/* then +1 per this interval */

struct limiter {
	int	 max_rate;		/* configured rate */
	int	 eff_rate;		/* current effective rate, 1..max_rate */
	int64_t	 window_ms;		/* window + safety margin */
	int64_t	*starts;		/* the latest max_rate start times */
	int64_t	*seqs;			/* their sequence numbers */
	int64_t	*scratch;		/* for selecting among starts */
	int64_t	 total;			/* starts recorded so far */
	int64_t	 paused_until;		/* no starts before this (Retry-After) */
	int64_t	 last_penalty;		/* time of the last 429 */
	int64_t	 last_recover;
};

/* Returns 0, or -1 on allocation failure. */
int	 limiter_init(struct limiter *l, int rate, int64_t window_ms);
void	 limiter_cleanup(struct limiter *l);

/* The earliest time >= now at which a start is allowed. */
int64_t	 limiter_next_start(const struct limiter *l, int64_t now);

/* Record a start at now (the caller checked limiter_next_start).  Returns
 * the start's sequence number, for limiter_correct(). */
int64_t	 limiter_record(struct limiter *l, int64_t now);

/*
 * The request recorded as seq actually left at `sent` (later than its
 * recorded start when the thread or connection setup was slow).  Moving
 * the record later keeps the window honest at the upstream, which counts
 * arrivals, not our decisions.  Ignored once seq has left the ring.
 */
void	 limiter_correct(struct limiter *l, int64_t seq, int64_t sent);

/* An upstream 429 at now, asking to wait retry_after_ms (0 if absent). */
void	 limiter_penalize(struct limiter *l, int64_t now, int64_t retry_after_ms);

/* Let the effective rate recover; call from time to time. */
void	 limiter_tick(struct limiter *l, int64_t now);

/* Starts recorded within (now - window_ms, now], for metrics and tests. */
int	 limiter_in_window(const struct limiter *l, int64_t now);

#endif
