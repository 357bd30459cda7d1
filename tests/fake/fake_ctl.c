/*
 * fake_ctl: fault injection, the rate limiter, the request log.
 *
 * The limiter is a sliding log: a ring of the arrival times of the calls
 * it admitted, at most rate_limit long.  A call is refused when the ring
 * is full and its oldest entry is still inside the window, i.e. when
 * rate_limit calls were admitted in the last window_ms.  max_in_window is
 * computed exactly and incrementally from a second ring of every SM
 * arrival (admitted or not) inside the current window: the busiest window
 * always ends at an arrival, so the largest ring length ever seen is the
 * answer.  Times are monotonic microseconds; the log also shows them as
 * t_ms.
 *
 * The log keeps the last FCTL_LOG_MAX calls in a ring that grows on
 * demand.
 *
 * Thread rules: see fake_ctl.h; the state is guarded by the server lock.
 */
#include "tests/fake/fake_ctl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tests/fake/fake_iam.h"

struct log_entry {
	int64_t	 t_us;
	char	*path;
	char	*query;
	char	 method[12];
	int	 status;
	bool	 sm;
};

/* A ring of monotonic timestamps. */
struct ring {
	int64_t	*t;
	size_t	 head;
	size_t	 count;
	size_t	 cap;
};

struct fctl {
	long			 latency_ms;
	int			 error_status;
	long			 error_count;	/* -1: until cleared */
	int			 error_retry_after_s;
	bool			 down;

	int			 rate_limit;
	int			 window_ms;
	struct ring		 admitted;	/* limiter, cap = rate_limit */
	struct ring		 arrivals;	/* every SM arrival in the window */

	uint64_t		 sm_calls;
	uint64_t		 iam_calls;
	uint64_t		 count_429;
	uint64_t		 dropped;
	size_t			 max_in_window;

	struct log_entry	*log;
	size_t			 log_head;
	size_t			 log_count;
	size_t			 log_cap;
};

static int64_t
ring_oldest(const struct ring *r)
{
	return r->t[r->head];
}

static void
ring_pop(struct ring *r)
{
	r->head = (r->head + 1) % r->cap;
	r->count--;
}

/* Push; a full ring grows when grow is set, else the push is refused. */
static int
ring_push(struct ring *r, int64_t t, bool grow)
{
	if (r->count == r->cap) {
		size_t	 cap = r->cap ? r->cap * 2 : 64, i;
		int64_t	*nt;

		if (!grow)
			return -1;
		if ((nt = malloc(cap * sizeof(*nt))) == NULL)
			return -1;
		for (i = 0; i < r->count; i++)
			nt[i] = r->t[(r->head + i) % r->cap];
		free(r->t);
		r->t = nt;
		r->head = 0;
		r->cap = cap;
	}
	r->t[(r->head + r->count) % r->cap] = t;
	r->count++;
	return 0;
}

static void
ring_clear(struct ring *r)
{
	r->head = 0;
	r->count = 0;
}

/* Size the limiter ring for limit; 0 on success. */
static int
set_rate_limit(struct fctl *ctl, int limit, int window_ms)
{
	int64_t *t = NULL;

	if (limit > 0 && (t = malloc((size_t)limit * sizeof(*t))) == NULL)
		return -1;
	free(ctl->admitted.t);
	ctl->admitted.t = t;
	ctl->admitted.cap = (size_t)limit;
	ring_clear(&ctl->admitted);
	ctl->rate_limit = limit;
	ctl->window_ms = window_ms;
	return 0;
}

struct fctl *
fctl_new(int rate_limit, int window_ms)
{
	struct fctl *ctl;

	if ((ctl = calloc(1, sizeof(*ctl))) == NULL)
		return NULL;
	ctl->error_retry_after_s = -1;
	if (set_rate_limit(ctl, rate_limit, window_ms) == -1) {
		fctl_free(ctl);
		return NULL;
	}
	return ctl;
}

static void
clear_log(struct fctl *ctl)
{
	size_t i;

	for (i = 0; i < ctl->log_count; i++) {
		free(ctl->log[i].path);
		free(ctl->log[i].query);
	}
	free(ctl->log);
	ctl->log = NULL;
	ctl->log_head = ctl->log_count = ctl->log_cap = 0;
}

void
fctl_free(struct fctl *ctl)
{
	if (ctl == NULL)
		return;
	clear_log(ctl);
	free(ctl->admitted.t);
	free(ctl->arrivals.t);
	free(ctl);
}

bool
fctl_is_down(const struct fctl *ctl)
{
	return ctl->down;
}

void
fctl_count_dropped(struct fctl *ctl)
{
	ctl->dropped++;
}

int
fctl_admit_sm(struct fctl *ctl, int64_t now_us, int *retry_after_s)
{
	int64_t window_us = (int64_t)ctl->window_ms * 1000;

	*retry_after_s = -1;
	ctl->sm_calls++;
	while (ctl->arrivals.count > 0 &&
	    ring_oldest(&ctl->arrivals) <= now_us - window_us)
		ring_pop(&ctl->arrivals);
	if (ring_push(&ctl->arrivals, now_us, true) == 0 &&
	    ctl->arrivals.count > ctl->max_in_window)
		ctl->max_in_window = ctl->arrivals.count;

	if (ctl->rate_limit <= 0)
		return 0;
	while (ctl->admitted.count > 0 &&
	    ring_oldest(&ctl->admitted) <= now_us - window_us)
		ring_pop(&ctl->admitted);
	if (ctl->admitted.count >= (size_t)ctl->rate_limit) {
		int64_t wait_us = ring_oldest(&ctl->admitted) + window_us - now_us;

		*retry_after_s = (int)((wait_us + 999999) / 1000000);
		if (*retry_after_s < 1)
			*retry_after_s = 1;
		return -1;
	}
	ring_push(&ctl->admitted, now_us, false);
	return 0;
}

long
fctl_latency_ms(const struct fctl *ctl)
{
	return ctl->latency_ms;
}

int
fctl_take_error(struct fctl *ctl, int *retry_after_s)
{
	int status = ctl->error_status;

	*retry_after_s = -1;
	if (status == 0)
		return 0;
	*retry_after_s = ctl->error_retry_after_s;
	if (ctl->error_count > 0 && --ctl->error_count == 0)
		ctl->error_status = 0;
	return status;
}

void
fctl_log(struct fctl *ctl, bool sm, int64_t arrival_us, const char *method,
    const char *path, const char *query, int status)
{
	struct log_entry *e;

	if (sm && status == 429)
		ctl->count_429++;
	if (!sm)
		ctl->iam_calls++;
	if (ctl->log_count < FCTL_LOG_MAX) {
		if (ctl->log_count == ctl->log_cap) {
			size_t			 cap = ctl->log_cap ? ctl->log_cap * 2 : 1024;
			struct log_entry	*nl;

			if (cap > FCTL_LOG_MAX)
				cap = FCTL_LOG_MAX;
			if ((nl = realloc(ctl->log, cap * sizeof(*nl))) == NULL)
				return;
			ctl->log = nl;
			ctl->log_cap = cap;
		}
		e = &ctl->log[ctl->log_count++];
	} else {
		e = &ctl->log[ctl->log_head];
		ctl->log_head = (ctl->log_head + 1) % FCTL_LOG_MAX;
		free(e->path);
		free(e->query);
	}
	memset(e, 0, sizeof(*e));
	e->t_us = arrival_us;
	e->sm = sm;
	e->status = status;
	snprintf(e->method, sizeof(e->method), "%s", method);
	e->path = strdup(path);
	e->query = strdup(query);
}

static json_t *
stats_json(const struct fctl *ctl)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:i,s:b}",
	    "sm_calls", (json_int_t)ctl->sm_calls,
	    "iam_calls", (json_int_t)ctl->iam_calls,
	    "count_429", (json_int_t)ctl->count_429,
	    "max_in_window", (json_int_t)ctl->max_in_window,
	    "dropped", (json_int_t)ctl->dropped,
	    "log_entries", (json_int_t)ctl->log_count,
	    "latency_ms", (json_int_t)ctl->latency_ms,
	    "rate_limit", ctl->rate_limit,
	    "window_ms", ctl->window_ms,
	    "down", ctl->down);
}

static json_t *
log_json(const struct fctl *ctl)
{
	json_t	*body = stats_json(ctl), *list = json_array();
	size_t	 i;

	if (body == NULL || list == NULL ||
	    json_object_set_new(body, "requests", list) == -1) {
		json_decref(body);
		return NULL;
	}
	for (i = 0; i < ctl->log_count; i++) {
		const struct log_entry *e =
		    &ctl->log[(ctl->log_head + i) % ctl->log_count];

		if (json_array_append_new(list, json_pack(
		    "{s:I,s:I,s:s,s:s,s:s?,s:s?,s:i}",
		    "t_ms", (json_int_t)(e->t_us / 1000),
		    "t_us", (json_int_t)e->t_us,
		    "kind", e->sm ? "sm" : "iam",
		    "method", e->method, "path", e->path, "query", e->query,
		    "status", e->status)) == -1) {
			json_decref(body);
			return NULL;
		}
	}
	return body;
}

/* Parse an optional integer parameter; -1 on a bad value. */
static int
int_param(const char *query, const char *key, long long min, long long max,
    long long *out, bool *present)
{
	char		*v = fhttp_form_value(query, key);
	long long	 val;
	bool		 neg;
	int		 rc = 0;

	*present = fhttp_form_has(query, key);
	if (v == NULL)
		return *present ? -1 : 0;
	neg = v[0] == '-';
	if (fhttp_parse_uint(v + (neg ? 1 : 0), 1000000000LL, &val) == -1)
		rc = -1;
	else {
		val = neg ? -val : val;
		if (val < min || val > max)
			rc = -1;
		else
			*out = val;
	}
	free(v);
	return rc;
}

static void
bad_param(struct fresp *rs, const char *what)
{
	char msg[128];

	snprintf(msg, sizeof(msg), "Bad or missing parameter: %s.", what);
	fhttp_resp_sm_error(rs, 400, "bad_request", msg);
}

/* The POST endpoints; called with the lock held. */
static void
ctl_post(struct fsrv *srv, const char *what, const char *query, struct fresp *rs)
{
	struct fctl	*ctl = srv->ctl;
	long long	 a = 0, b = 0, c = -1;
	bool		 has_a, has_b, has_c;
	const char	*bad = NULL;

	if (strcmp(what, "latency") == 0) {
		if (int_param(query, "ms", 0, 3600000, &a, &has_a) == -1 || !has_a)
			bad = "ms";
		else
			ctl->latency_ms = (long)a;
	} else if (strcmp(what, "error") == 0) {
		b = 1;
		if (int_param(query, "status", 0, 599, &a, &has_a) == -1 ||
		    !has_a || (a != 0 && a < 100))
			bad = "status";
		else if (int_param(query, "count", -1, 1000000000, &b,
		    &has_b) == -1 || b == 0)
			bad = "count";
		else if (int_param(query, "retry_after", 0, 86400, &c,
		    &has_c) == -1)
			bad = "retry_after";
		else {
			ctl->error_status = (int)a;
			ctl->error_count = a == 0 ? 0 : (long)b;
			ctl->error_retry_after_s = has_c ? (int)c :
			    (a == 429 ? 1 : -1);
		}
	} else if (strcmp(what, "down") == 0) {
		ctl->down = true;
	} else if (strcmp(what, "up") == 0) {
		ctl->down = false;
	} else if (strcmp(what, "revoke_tokens") == 0) {
		fiam_revoke_all(srv->iam);
	} else if (strcmp(what, "rate_limit") == 0) {
		b = ctl->window_ms;
		if (int_param(query, "limit", 0, 1000000, &a, &has_a) == -1 ||
		    !has_a)
			bad = "limit";
		else if (int_param(query, "window_ms", 1, 3600000, &b,
		    &has_b) == -1)
			bad = "window_ms";
		else if (set_rate_limit(ctl, (int)a, (int)b) == -1) {
			fhttp_resp_sm_error(rs, 500, NULL, "Out of memory.");
			return;
		} else
			ring_clear(&ctl->arrivals);
	} else if (strcmp(what, "reset") == 0) {
		clear_log(ctl);
		ctl->sm_calls = ctl->iam_calls = ctl->count_429 = ctl->dropped = 0;
		ctl->max_in_window = 0;
		ring_clear(&ctl->arrivals);
		ring_clear(&ctl->admitted);
	}
	if (bad != NULL)
		bad_param(rs, bad);
	else
		fhttp_resp_json(rs, 200, json_pack("{s:b}", "ok", 1));
}

void
fctl_handle(struct fsrv *srv, const struct freq *rq, struct fresp *rs)
{
	static const char *const posts[] = { "latency", "error", "down", "up",
	    "revoke_tokens", "rate_limit", "reset", NULL };
	const char	*what = rq->nsegs == 2 ? rq->segs[1] : "";
	bool		 is_get = strcmp(what, "log") == 0 || strcmp(what, "stats") == 0;
	bool		 is_post = false;
	json_t		*body;
	size_t		 i;

	for (i = 0; posts[i] != NULL; i++)
		if (strcmp(what, posts[i]) == 0)
			is_post = true;
	if (!is_get && !is_post) {
		fhttp_resp_sm_error(rs, 404, "not_found", "Unknown control endpoint.");
		return;
	}
	if (is_get && strcmp(rq->method, "GET") != 0) {
		fhttp_resp_sm_error(rs, 405, "method_not_allowed", "Use GET.");
		rs->allow = "GET";
		return;
	}
	if (!is_get && strcmp(rq->method, "POST") != 0) {
		fhttp_resp_sm_error(rs, 405, "method_not_allowed", "Use POST.");
		rs->allow = "POST";
		return;
	}
	pthread_mutex_lock(&srv->lock);
	if (is_get) {
		body = strcmp(what, "log") == 0 ? log_json(srv->ctl) :
		    stats_json(srv->ctl);
		if (body == NULL)
			fhttp_resp_sm_error(rs, 500, NULL, "Out of memory.");
		else
			fhttp_resp_json(rs, 200, body);
	} else
		ctl_post(srv, what, rq->query, rs);
	pthread_mutex_unlock(&srv->lock);
}
