/*
 * fake_ctl: what tests control and observe on the fake: fault injection
 * (latency, error statuses, "down"), the upstream rate limiter, the request
 * log and its counters, and the /__fake/... control endpoints that drive
 * them.
 *
 * Control endpoints (no auth, not rate limited, not logged):
 *   POST /__fake/latency?ms=N            every SM call sleeps N ms first
 *   POST /__fake/error?status=S&count=C[&retry_after=R]
 *                                        the next C SM calls (-1: until
 *                                        cleared) answer S; status=0 clears
 *   POST /__fake/down, POST /__fake/up   drop SM and IAM connections
 *   POST /__fake/revoke_tokens           every issued token answers 401
 *   POST /__fake/rate_limit?limit=N[&window_ms=MS]   change the limiter
 *   POST /__fake/reset                   clear the log, counters and limiter
 *   GET  /__fake/log                     {"requests":[...], counters...}
 *   GET  /__fake/stats                   the counters only
 *
 * Thread rules: fctl_new/fctl_free from main.  fctl_handle from any thread
 * without the server lock (it takes it).  Everything else needs the server
 * lock held.
 */
#ifndef FAKE_CTL_H
#define FAKE_CTL_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/fake/fake_http.h"
#include "tests/fake/fake_srv.h"

#define FCTL_LOG_MAX	200000

/* rate_limit 0 disables the limiter.  NULL on allocation failure; free
 * with fctl_free() (NULL is a no-op). */
struct fctl	*fctl_new(int rate_limit, int window_ms);
void		 fctl_free(struct fctl *ctl);

/* True while /__fake/down is in force. */
bool		 fctl_is_down(const struct fctl *ctl);

/* Count a dropped connection (an SM or IAM call while down). */
void		 fctl_count_dropped(struct fctl *ctl);

/*
 * Account for an SM call arriving at now_us (monotonic): it counts toward
 * sm_calls and max_in_window whatever happens next.  Returns 0 when the
 * limiter admits it, or -1 when it must be answered 429, with
 * *retry_after_s (>= 1) set to when the oldest admitted call leaves the
 * window.
 */
int		 fctl_admit_sm(struct fctl *ctl, int64_t now_us, int *retry_after_s);

/* The injected latency for SM calls, in ms (0: none). */
long		 fctl_latency_ms(const struct fctl *ctl);

/*
 * Consume one injected error, if any is armed: returns its status and sets
 * *retry_after_s (< 0: no header), or returns 0 when none is armed.
 */
int		 fctl_take_error(struct fctl *ctl, int *retry_after_s);

/* Append a finished SM (sm true) or IAM call to the log and counters. */
void		 fctl_log(struct fctl *ctl, bool sm, int64_t arrival_us,
		    const char *method, const char *path, const char *query,
		    int status);

/* Answer a /__fake/... request. */
void		 fctl_handle(struct fsrv *srv, const struct freq *rq, struct fresp *rs);

#endif
