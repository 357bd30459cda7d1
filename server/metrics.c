/*
 * metrics: fixed-size atomic series and a Prometheus text renderer
 * (see metrics.h).
 *
 * Status codes are folded into a small table of the codes SM and smproxy
 * actually produce plus one "other" slot per class, so the series count is
 * bounded whatever upstream sends.
 *
 * Thread rules: any thread.
 */
#include "server/metrics.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const int codes[] = {
	200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 413, 414, 429, 499,
	500, 501, 502, 503, 504, 0
};
#define NCODES	(int)(sizeof(codes) / sizeof(codes[0]))	/* last = other/none */

static const double buckets[] = {
	0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30
};
#define NBUCKETS	(int)(sizeof(buckets) / sizeof(buckets[0]))

struct histo {
	atomic_ullong	counts[NBUCKETS + 1];	/* last = +Inf */
	atomic_ullong	sum_us;
};

static atomic_ullong http_total[ROUTE__COUNT][NCODES][CACHE__COUNT];
static struct histo http_dur[ROUTE__COUNT];
static atomic_ullong up_total[ROUTE__COUNT][NCODES];
static struct histo up_dur[ROUTE__COUNT];
static struct histo queue_wait;
static atomic_ullong coalesced_total, stale_total, refresh_ok, refresh_err;
static atomic_ullong cache_write_errors;
static atomic_ullong auth_failures[AUTH_FAIL__COUNT];

static const char *auth_reason_names[AUTH_FAIL__COUNT] = {
	"missing", "invalid", "expired", "unknown_key", "throttled", "forbidden"
};

int64_t
metrics_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
code_slot(int status)
{
	int i;

	for (i = 0; i < NCODES - 1; i++)
		if (codes[i] == status)
			return i;
	return NCODES - 1;
}

static void
observe(struct histo *h, double s)
{
	int i;

	for (i = 0; i < NBUCKETS; i++)
		if (s <= buckets[i])
			break;
	atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_us, (unsigned long long)(s * 1e6),
	    memory_order_relaxed);
}

static unsigned
op_slot(enum route_op op)
{
	return (unsigned)op < ROUTE__COUNT ? (unsigned)op : 0;
}

void
metrics_http_request(enum route_op op, int status, enum sched_cache_state cs,
    double seconds)
{
	unsigned o = op_slot(op);

	if ((unsigned)cs >= CACHE__COUNT)
		cs = CACHE_BYPASS;
	atomic_fetch_add_explicit(&http_total[o][code_slot(status)][cs], 1,
	    memory_order_relaxed);
	observe(&http_dur[o], seconds);
}

void
metrics_upstream_request(enum route_op op, int status, double seconds)
{
	unsigned o = op_slot(op);

	atomic_fetch_add_explicit(&up_total[o][code_slot(status)], 1, memory_order_relaxed);
	observe(&up_dur[o], seconds);
}

void metrics_queue_wait(double s) { observe(&queue_wait, s); }
void metrics_coalesced(void) { atomic_fetch_add(&coalesced_total, 1); }
void metrics_stale_served(void) { atomic_fetch_add(&stale_total, 1); }
void metrics_refresh(int ok) { atomic_fetch_add(ok ? &refresh_ok : &refresh_err, 1); }
void metrics_cache_write_error(void) { atomic_fetch_add(&cache_write_errors, 1); }

void
metrics_auth_failure(enum metrics_auth_reason r)
{
	if ((unsigned)r < AUTH_FAIL__COUNT)
		atomic_fetch_add(&auth_failures[r], 1);
}

/* ---- rendering ---- */

struct out {
	char	*buf;
	size_t	 len, cap;
	int	 failed;
};

static void
outf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
outf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->failed)
		return;
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			o->failed = 1;
			return;
		}
		if ((size_t)n < o->cap - o->len) {
			o->len += (size_t)n;
			return;
		}
		{
			size_t cap = o->cap * 2 + (size_t)n;
			char *p = realloc(o->buf, cap);
			if (p == NULL) {
				o->failed = 1;
				return;
			}
			o->buf = p;
			o->cap = cap;
		}
	}
}

static void
code_label(char *dst, size_t len, int slot)
{
	if (slot == NCODES - 1)
		snprintf(dst, len, "other");
	else
		snprintf(dst, len, "%d", codes[slot]);
}

static void
render_histo(struct out *o, const char *name, const char *labels, struct histo *h)
{
	unsigned long long cum = 0;
	int i;
	const char *sep = labels[0] ? "," : "";

	for (i = 0; i < NBUCKETS; i++) {
		cum += atomic_load(&h->counts[i]);
		outf(o, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, buckets[i], cum);
	}
	cum += atomic_load(&h->counts[NBUCKETS]);
	outf(o, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, cum);
	if (labels[0]) {
		outf(o, "%s_sum{%s} %.6f\n", name, labels, (double)atomic_load(&h->sum_us) / 1e6);
		outf(o, "%s_count{%s} %llu\n", name, labels, cum);
	} else {
		outf(o, "%s_sum %.6f\n", name, (double)atomic_load(&h->sum_us) / 1e6);
		outf(o, "%s_count %llu\n", name, cum);
	}
}

static unsigned long long
histo_total(struct histo *h)
{
	unsigned long long n = 0;
	int i;

	for (i = 0; i <= NBUCKETS; i++)
		n += atomic_load(&h->counts[i]);
	return n;
}

char *
metrics_render(const struct metrics_gauges *g, size_t *len)
{
	struct out o = { malloc(16384), 0, 16384, 0 };
	static const char *prio_names[SCHED_NPRIO] = { "client", "write", "refresh" };
	char code[16], labels[256];
	int op, c, cs, p;

	*len = 0;
	if (o.buf == NULL)
		return NULL;
	outf(&o, "# HELP smproxy_build_info Build information.\n"
	    "# TYPE smproxy_build_info gauge\n"
	    "smproxy_build_info{version=\"%s\"} 1\n", SMPROXY_VERSION);

	outf(&o, "# HELP smproxy_http_requests_total HTTP requests answered, by route template, status and cache state.\n"
	    "# TYPE smproxy_http_requests_total counter\n");
	for (op = 0; op < ROUTE__COUNT; op++)
		for (c = 0; c < NCODES; c++)
			for (cs = 0; cs < CACHE__COUNT; cs++) {
				unsigned long long n = atomic_load(&http_total[op][c][cs]);
				if (n == 0)
					continue;
				code_label(code, sizeof(code), c);
				outf(&o, "smproxy_http_requests_total{route=\"%s\",code=\"%s\",cache=\"%s\"} %llu\n",
				    route_op_template((enum route_op)op), code,
				    sched_cache_state_name((enum sched_cache_state)cs), n);
			}
	outf(&o, "# HELP smproxy_http_request_duration_seconds Time to answer an HTTP request.\n"
	    "# TYPE smproxy_http_request_duration_seconds histogram\n");
	for (op = 0; op < ROUTE__COUNT; op++) {
		if (histo_total(&http_dur[op]) == 0)
			continue;
		snprintf(labels, sizeof(labels), "route=\"%s\"", route_op_template((enum route_op)op));
		render_histo(&o, "smproxy_http_request_duration_seconds", labels, &http_dur[op]);
	}

	outf(&o, "# HELP smproxy_upstream_requests_total Requests sent to Secrets Manager, by route template and status (other = no HTTP answer).\n"
	    "# TYPE smproxy_upstream_requests_total counter\n");
	for (op = 0; op < ROUTE__COUNT; op++)
		for (c = 0; c < NCODES; c++) {
			unsigned long long n = atomic_load(&up_total[op][c]);
			if (n == 0)
				continue;
			code_label(code, sizeof(code), c);
			outf(&o, "smproxy_upstream_requests_total{route=\"%s\",code=\"%s\"} %llu\n",
			    route_op_template((enum route_op)op), code, n);
		}
	outf(&o, "# HELP smproxy_upstream_request_duration_seconds Time for one upstream request.\n"
	    "# TYPE smproxy_upstream_request_duration_seconds histogram\n");
	for (op = 0; op < ROUTE__COUNT; op++) {
		if (histo_total(&up_dur[op]) == 0)
			continue;
		snprintf(labels, sizeof(labels), "route=\"%s\"", route_op_template((enum route_op)op));
		render_histo(&o, "smproxy_upstream_request_duration_seconds", labels, &up_dur[op]);
	}

	outf(&o, "# HELP smproxy_upstream_queue_depth Jobs waiting for the upstream rate limit, by priority class.\n"
	    "# TYPE smproxy_upstream_queue_depth gauge\n");
	for (p = 0; p < SCHED_NPRIO; p++)
		outf(&o, "smproxy_upstream_queue_depth{priority=\"%s\"} %lld\n",
		    prio_names[p], (long long)g->sched.queued[p]);
	outf(&o, "# HELP smproxy_upstream_inflight Upstream requests in flight.\n"
	    "# TYPE smproxy_upstream_inflight gauge\n"
	    "smproxy_upstream_inflight %lld\n", (long long)g->sched.inflight);
	outf(&o, "# HELP smproxy_upstream_queue_wait_seconds Time a job waited before its upstream request started.\n"
	    "# TYPE smproxy_upstream_queue_wait_seconds histogram\n");
	render_histo(&o, "smproxy_upstream_queue_wait_seconds", "", &queue_wait);
	outf(&o, "# HELP smproxy_upstream_rate_limit Current effective upstream rate (requests per rolling second).\n"
	    "# TYPE smproxy_upstream_rate_limit gauge\n"
	    "smproxy_upstream_rate_limit %d\n", g->sched.effective_rate);
	outf(&o, "# HELP smproxy_upstream_rate_window_max Most upstream requests started in any rolling second so far.\n"
	    "# TYPE smproxy_upstream_rate_window_max gauge\n"
	    "smproxy_upstream_rate_window_max %d\n", g->sched.window_max);
	outf(&o, "# HELP smproxy_upstream_circuit_open Whether the circuit breaker is open.\n"
	    "# TYPE smproxy_upstream_circuit_open gauge\n"
	    "smproxy_upstream_circuit_open %d\n", g->sched.breaker_open ? 1 : 0);
	outf(&o, "# HELP smproxy_coalesced_requests_total Requests answered by another request's upstream call.\n"
	    "# TYPE smproxy_coalesced_requests_total counter\n"
	    "smproxy_coalesced_requests_total %llu\n", (unsigned long long)atomic_load(&coalesced_total));
	outf(&o, "# HELP smproxy_stale_served_total Answers served from a stale cached copy.\n"
	    "# TYPE smproxy_stale_served_total counter\n"
	    "smproxy_stale_served_total %llu\n", (unsigned long long)atomic_load(&stale_total));
	outf(&o, "# HELP smproxy_refreshes_total Background refreshes, by result.\n"
	    "# TYPE smproxy_refreshes_total counter\n"
	    "smproxy_refreshes_total{result=\"success\"} %llu\n"
	    "smproxy_refreshes_total{result=\"failure\"} %llu\n",
	    (unsigned long long)atomic_load(&refresh_ok), (unsigned long long)atomic_load(&refresh_err));
	outf(&o, "# HELP smproxy_cache_entries Entries in the cache.\n"
	    "# TYPE smproxy_cache_entries gauge\n"
	    "smproxy_cache_entries %lld\n", (long long)g->cache_entries);
	outf(&o, "# HELP smproxy_cache_bytes Sealed bytes in the cache.\n"
	    "# TYPE smproxy_cache_bytes gauge\n"
	    "smproxy_cache_bytes %lld\n", (long long)g->cache_bytes);
	outf(&o, "# HELP smproxy_cache_write_errors_total Failed cache writes (disk full, read-only, I/O).\n"
	    "# TYPE smproxy_cache_write_errors_total counter\n"
	    "smproxy_cache_write_errors_total %llu\n", (unsigned long long)atomic_load(&cache_write_errors));
	outf(&o, "# HELP smproxy_iam_token_expiry_timestamp_seconds When the proxy's upstream IAM token expires (0: none).\n"
	    "# TYPE smproxy_iam_token_expiry_timestamp_seconds gauge\n"
	    "smproxy_iam_token_expiry_timestamp_seconds %lld\n", (long long)g->sched.token_expiry_wall);
	outf(&o, "# HELP smproxy_auth_failures_total Rejected client authentications, by reason.\n"
	    "# TYPE smproxy_auth_failures_total counter\n");
	for (c = 0; c < AUTH_FAIL__COUNT; c++)
		outf(&o, "smproxy_auth_failures_total{reason=\"%s\"} %llu\n",
		    auth_reason_names[c], (unsigned long long)atomic_load(&auth_failures[c]));
	outf(&o, "# HELP smproxy_ready Whether the proxy reports ready.\n"
	    "# TYPE smproxy_ready gauge\n"
	    "smproxy_ready %d\n", g->ready);
	if (o.failed) {
		free(o.buf);
		return NULL;
	}
	*len = o.len;
	return o.buf;
}
