/*
 * store_fresh.c: freshness arithmetic.
 *
 * An entry fetched at t with time to live ttl and stale window max_stale:
 *   fresh_until = t + ttl
 *   refresh_at  = t + ttl/2 + (rnd mod ttl/4), in [t + ttl/2, t + ttl*3/4)
 *   stale_until = fresh_until + max_stale
 * and at now it is FRESH before refresh_at, REFRESH (serve, refresh in the
 * background) until fresh_until, STALE (refresh first, serve if that
 * fails) until stale_until, EXPIRED after.  The jitter spreads refreshes of
 * entries fetched together, and at least a quarter of the TTL is left
 * between refresh_at and fresh_until, so a background refresh has time to
 * land before anyone has to wait for one.  A cached 404 uses the same arithmetic with the
 * negative TTL the caller passes.
 *
 * Edge cases: a ttl below zero counts as zero (the entry is born stale);
 * a ttl of 1 ms has no room before fresh_until, so refresh_at is
 * fresh_until; when ttl/4 rounds to 0 refresh_at is t + ttl/2.  TTLs are capped at 100 years so the sums cannot overflow.
 *
 * Thread rules: pure functions; any thread.
 */
#include "store/store_int.h"

#define TTL_CAP_MS	((int64_t)100 * 366 * 24 * 3600 * 1000)

static int64_t
clamp_ttl(int64_t ms)
{
	if (ms < 0)
		return 0;
	return ms > TTL_CAP_MS ? TTL_CAP_MS : ms;
}

void
store_meta_set(struct store_meta *m, int64_t now, int64_t ttl_ms,
    int64_t max_stale_ms, uint32_t rnd)
{
	int64_t ttl = clamp_ttl(ttl_ms), max_stale = clamp_ttl(max_stale_ms);
	int64_t earliest, window;

	m->fetched_at = now;
	m->fresh_until = now + ttl;
	m->stale_until = m->fresh_until + max_stale;
	m->last_access = now;
	earliest = ttl / 2;
	window = ttl * 3 / 4 - earliest;
	if (ttl == 0 || earliest == 0)
		m->refresh_at = m->fresh_until;
	else if (window <= 0)
		m->refresh_at = now + earliest;
	else
		m->refresh_at = now + earliest + (int64_t)(rnd % (uint64_t)window);
}

enum store_freshness
store_classify(const struct store_meta *m, int64_t now)
{
	if (now < m->refresh_at)
		return STORE_FRESH;
	if (now < m->fresh_until)
		return STORE_REFRESH;
	if (now < m->stale_until)
		return STORE_STALE;
	return STORE_EXPIRED;
}
