/*
 * limiter: rolling-window start limiter (see limiter.h for the idea).
 *
 * Thread rules: the scheduler thread only.
 */
#include "server/limiter.h"

#include <stdlib.h>
#include <string.h>

int
limiter_init(struct limiter *l, int rate, int64_t window_ms)
{
	l->starts = NULL;
	if (rate < 1)
		rate = 1;
	l->starts = calloc((size_t)rate, sizeof(*l->starts));
	l->seqs = calloc((size_t)rate, sizeof(*l->seqs));
	l->scratch = calloc((size_t)rate, sizeof(*l->scratch));
	if (l->starts == NULL || l->seqs == NULL || l->scratch == NULL) {
		free(l->starts);
		free(l->seqs);
		free(l->scratch);
		l->starts = NULL;
		l->seqs = NULL;
		l->scratch = NULL;
		return -1;
	}
	l->max_rate = rate;
	l->eff_rate = rate;
	l->window_ms = window_ms;
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
	free(l->seqs);
	free(l->scratch);
	l->starts = NULL;
	l->seqs = NULL;
	l->scratch = NULL;
}

/*
 * The k-th latest start time among those remembered (1 <= k <= the number
 * remembered).  Corrections move starts later out of insertion order, so
 * this is a selection: quickselect on a scratch copy, linear on average,
 * so even a rate of thousands stays cheap.
 */
static int64_t
kth_latest(const struct limiter *l, int k)
{
	int n = l->total < l->max_rate ? (int)l->total : l->max_rate;
	int lo = 0, hi = n - 1, want = k - 1, i, j;
	int64_t *a = l->scratch, pivot, t;

	if (k < 1 || k > n)
		return INT64_MIN / 2;	/* fewer starts than k: no constraint */
	memcpy(a, l->starts, (size_t)n * sizeof(*a));
	/* Partition in descending order until position want is settled. */
	while (lo < hi) {
		pivot = a[lo + (hi - lo) / 2];
		i = lo;
		j = hi;
		while (i <= j) {
			while (a[i] > pivot)
				i++;
			while (a[j] < pivot)
				j--;
			if (i <= j) {
				t = a[i];
				a[i] = a[j];
				a[j] = t;
				i++;
				j--;
			}
		}
		if (want <= j)
			hi = j;
		else if (want >= i)
			lo = i;
		else
			break;
	}
	return a[want];
}

int64_t
limiter_next_start(const struct limiter *l, int64_t now)
{
	int64_t t = now;

	if (l->paused_until > t)
		t = l->paused_until;
	if (l->total >= l->eff_rate) {
		int64_t free_at = kth_latest(l, l->eff_rate) + l->window_ms;
		if (free_at > t)
			t = free_at;
	}
	return t;
}

int64_t
limiter_record(struct limiter *l, int64_t now)
{
	int i, slot = 0;

	/* Remember the latest max_rate starts by time: replace the earliest. */
	if (l->total < l->max_rate) {
		slot = (int)l->total;
	} else {
		for (i = 1; i < l->max_rate; i++)
			if (l->starts[i] < l->starts[slot])
				slot = i;
	}
	l->starts[slot] = now;
	l->seqs[slot] = l->total;
	return l->total++;
}

void
limiter_correct(struct limiter *l, int64_t seq, int64_t sent)
{
	int i, n = l->total < l->max_rate ? (int)l->total : l->max_rate;

	for (i = 0; i < n; i++)
		if (l->seqs[i] == seq) {
			if (sent > l->starts[i])
				l->starts[i] = sent;
			return;
		}
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
	int i, n = 0, have = l->total < l->max_rate ? (int)l->total : l->max_rate;

	for (i = 0; i < have; i++)
		if (l->starts[i] > now - l->window_ms && l->starts[i] <= now)
			n++;
	return n;
}
