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
	if (l->starts == NULL || l->seqs == NULL) {
		free(l->starts);
		free(l->seqs);
		l->starts = NULL;
		l->seqs = NULL;
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
	l->starts = NULL;
	l->seqs = NULL;
}

/*
 * The k-th latest start time among those remembered (k <= remembered).
 * Corrections move starts later out of insertion order, so this is a
 * selection; k is the rate (small), and it runs only when a job waits.
 */
static int64_t
kth_latest(const struct limiter *l, int k)
{
	int64_t top[64] = { 0 }, *buf = top, v, result;
	int n = l->total < l->max_rate ? (int)l->total : l->max_rate, i, j, have = 0;

	if (k > 64) {
		buf = malloc((size_t)k * sizeof(*buf));
		if (buf == NULL)
			return INT64_MAX / 2;	/* refuse to start rather than overrun */
	}
	/* Keep the k largest in descending order. */
	for (i = 0; i < n; i++) {
		v = l->starts[i];
		if (have == k && v <= buf[k - 1])
			continue;
		j = have < k ? have++ : k - 1;
		while (j > 0 && buf[j - 1] < v) {
			buf[j] = buf[j - 1];
			j--;
		}
		buf[j] = v;
	}
	result = have == k ? buf[k - 1] : INT64_MIN / 2;	/* fewer starts than k */
	if (buf != top)
		free(buf);
	return result;
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
