/*
 * limiter: rolling-window start limiter (see limiter.h for the idea).
 *
 * Thread rules: the scheduler thread only.
 */
#include "server/limiter.h"

#include <stdlib.h>

int
limiter_init(struct limiter *l, int rate, int64_t window_ms)
{
	l->starts = NULL;
	if (rate < 1)
		rate = 1;
	l->starts = calloc((size_t)rate, sizeof(*l->starts));
	if (l->starts == NULL)
		return -1;
	l->max_rate = rate;
	l->eff_rate = rate;
	l->window_ms = window_ms;
	l->head = 0;
	l->total = 0;
	l->paused_until = 0;
	l->last_penalty = INT64_MIN / 2;
	l->last_recover = 0;
	return 0;
}

void
limiter_cleanup(struct limiter *l)
{
	free(l->starts);
	l->starts = NULL;
}

/* The k-th most recent start (k >= 1); only valid when k <= total. */
static int64_t
kth_recent(const struct limiter *l, int k)
{
	int idx = l->head - k;

	while (idx < 0)
		idx += l->max_rate;
	return l->starts[idx];
}

int64_t
limiter_next_start(const struct limiter *l, int64_t now)
{
	int64_t t = now;

	if (l->paused_until > t)
		t = l->paused_until;
	if (l->total >= l->eff_rate) {
		int64_t free_at = kth_recent(l, l->eff_rate) + l->window_ms;
		if (free_at > t)
			t = free_at;
	}
	return t;
}

void
limiter_record(struct limiter *l, int64_t now)
{
	l->starts[l->head] = now;
	l->head = (l->head + 1) % l->max_rate;
	l->total++;
}

void
limiter_penalize(struct limiter *l, int64_t now, int64_t retry_after_ms)
{
	/* Several 429s from one burst count once. */
	if (now - l->last_penalty >= 1000) {
		l->eff_rate /= 2;
		if (l->eff_rate < 1)
			l->eff_rate = 1;
	}
	l->last_penalty = now;
	/* The first +1 comes LIMITER_CALM_MS after the last 429. */
	l->last_recover = now + LIMITER_CALM_MS - LIMITER_RECOVER_MS;
	if (retry_after_ms < 1000)
		retry_after_ms = 1000;
	if (now + retry_after_ms > l->paused_until)
		l->paused_until = now + retry_after_ms;
}

void
limiter_tick(struct limiter *l, int64_t now)
{
	if (l->eff_rate >= l->max_rate)
		return;
	if (now - l->last_penalty < LIMITER_CALM_MS)
		return;
	while (l->eff_rate < l->max_rate &&
	    now - l->last_recover >= LIMITER_RECOVER_MS) {
		l->eff_rate++;
		l->last_recover += LIMITER_RECOVER_MS;
	}
}

int
limiter_in_window(const struct limiter *l, int64_t now)
{
	int n = 0;
	int64_t k, have = l->total < l->max_rate ? l->total : l->max_rate;

	for (k = 1; k <= have; k++) {
		if (kth_recent(l, (int)k) <= now - l->window_ms)
			break;
		n++;
	}
	return n;
}
