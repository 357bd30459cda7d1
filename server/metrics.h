/*
 * metrics: Prometheus counters, gauges and histograms.
 *
 * Every series is a fixed array of atomics indexed by small enums (route
 * op, status-code slot, cache state), so recording on the hot path is one
 * or two relaxed atomic adds and never allocates.  Labels are route
 * templates and enum names only: never a secret id, name or key.
 *
 * Thread rules: recording functions from any thread; metrics_render from
 * any thread (it reads a consistent-enough snapshot).
 */
#ifndef SMPROXY_METRICS_H
#define SMPROXY_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "api/route.h"
#include "server/sched.h"

enum metrics_auth_reason {
	AUTH_FAIL_MISSING = 0,	/* no Authorization header */
	AUTH_FAIL_INVALID,	/* bad signature, malformed */
	AUTH_FAIL_EXPIRED,
	AUTH_FAIL_UNKNOWN_KEY,	/* token endpoint: unknown API key */
	AUTH_FAIL_THROTTLED,	/* token endpoint: too many failures */
	AUTH_FAIL_FORBIDDEN,	/* authenticated, not allowed */
	AUTH_FAIL__COUNT
};

int64_t	 metrics_now_ns(void);

void	 metrics_http_request(enum route_op op, int status,
	    enum sched_cache_state cs, double seconds);
/* status 0 means no HTTP answer (network error or timeout). */
void	 metrics_upstream_request(enum route_op op, int status, double seconds);
void	 metrics_queue_wait(double seconds);
void	 metrics_coalesced(void);
void	 metrics_stale_served(void);
void	 metrics_refresh(int ok);
void	 metrics_cache_write_error(void);
void	 metrics_auth_failure(enum metrics_auth_reason reason);

/* Gauges the renderer asks for. */
struct metrics_gauges {
	struct sched_stats	sched;
	int64_t			cache_entries;
	int64_t			cache_bytes;
	int			ready;
};

/* Render the exposition text; malloc'd, caller frees; NULL on failure. */
char	*metrics_render(const struct metrics_gauges *g, size_t *len);

#endif
