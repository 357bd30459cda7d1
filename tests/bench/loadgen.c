/*
 * loadgen: a small, bounded HTTP load generator for the scheduler benchmark
 * (sched.sh) and the cache warm-up of hits.sh.
 *
 *   loadgen -u BASE -f PATHFMT [-a FIRST] [-n COUNT] [-c CONC] [-s]
 *           [-I SRCADDR] [-S START_WALL_MS] [-w WARMPATH] [-T TOTAL_S]
 *           [-t REQ_S] [-l LABEL] [-o OUT.json]
 *
 * Request i (0 <= i < COUNT) asks BASE + PATHFMT formatted with FIRST + i
 * (or FIRST for every request with -s), at most CONC at a time, on
 * keep-alive connections.  -I binds the client sockets to a source address
 * (e.g. 127.0.0.2, a second identity on Linux loopback).  -S waits for a
 * wall-clock time (ms since the epoch) before the first request.  -w first
 * opens CONC connections by asking WARMPATH on each (not counted), so a
 * burst does not include connection set-up.  The whole run stops after
 * TOTAL_S seconds (default 120) and each request after REQ_S (default 90);
 * unfinished requests count as timed out.
 *
 * Output: one JSON object (stdout, or -o FILE) with counts by status, by
 * cache header (X-Smproxy-Cache or X-Cache), transport errors, wall-clock
 * start/end of the counted requests, latency percentiles in ms (libcurl's
 * total time of each request) and, in done_after_ms, when the requests
 * finished counted from the start of the run (for a burst: from the moment
 * all requests were handed to libcurl).
 */
#define _GNU_SOURCE
#include <curl/curl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

struct one {
	CURL	*easy;
	long	 idx;
	int	 status;
	int	 curl_rc;
	int	 done;
	double	 lat_ms;
	int64_t	 end_wall_us;
	char	 cache[16];
	char	 url[512];
};

struct opts {
	const char	*base, *fmt, *iface, *warm, *label, *out;
	long		 first, count, conc;
	int		 same;
	int64_t		 start_wall_ms;
	long		 total_s, req_s;
};

static int64_t
wall_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int64_t
mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static size_t
discard(char *p, size_t sz, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return sz * n;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct one *o = arg;
	size_t len = sz * n, k, skip;
	const char *v;

	if (len > 16 && strncasecmp(p, "X-Smproxy-Cache:", 16) == 0)
		skip = 16;
	else if (len > 8 && strncasecmp(p, "X-Cache:", 8) == 0)
		skip = 8;
	else
		return len;
	v = p + skip;
	while (v < p + len && (*v == ' ' || *v == '\t'))
		v++;
	for (k = 0; k + 1 < sizeof(o->cache) && v + k < p + len &&
	    v[k] != '\r' && v[k] != '\n'; k++)
		o->cache[k] = (char)(v[k] >= 'A' && v[k] <= 'Z' ? v[k] + 32 : v[k]);
	o->cache[k] = '\0';
	return len;
}

static CURL *
make_easy(const struct opts *o, const char *url, struct one *rec)
{
	CURL *e = curl_easy_init();

	if (e == NULL)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->req_s * 1000L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, rec);
	if (rec != NULL) {
		curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
		curl_easy_setopt(e, CURLOPT_HEADERDATA, rec);
	}
	if (o->iface != NULL)
		curl_easy_setopt(e, CURLOPT_INTERFACE, o->iface);
	return e;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const double *v, long n, double p)
{
	long i;

	if (n == 0)
		return 0;
	i = (long)(p * (double)n + 0.999999) - 1;	/* nearest rank */
	if (i < 0)
		i = 0;
	if (i >= n)
		i = n - 1;
	return v[i];
}

static void
usage(void)
{
	fprintf(stderr, "usage: loadgen -u BASE -f PATHFMT [-a FIRST] [-n COUNT] "
	    "[-c CONC] [-s] [-I SRCADDR]\n"
	    "               [-S START_WALL_MS] [-w WARMPATH] [-T TOTAL_S] "
	    "[-t REQ_S] [-l LABEL] [-o OUT]\n");
	exit(2);
}

/* Open conc connections by asking o->warm on each; all at once. */
static void
warm_connections(CURLM *m, const struct opts *o)
{
	char url[512];
	long i, left;
	int running;
	CURLMsg *msg;
	int64_t until = mono_us() + 10 * 1000000LL;

	snprintf(url, sizeof(url), "%s%s", o->base, o->warm);
	for (i = 0; i < o->conc; i++) {
		CURL *e = make_easy(o, url, NULL);
		if (e != NULL)
			curl_multi_add_handle(m, e);
	}
	left = o->conc;
	while (left > 0 && mono_us() < until) {
		curl_multi_perform(m, &running);
		while ((msg = curl_multi_info_read(m, &(int){0})) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_multi_remove_handle(m, msg->easy_handle);
			curl_easy_cleanup(msg->easy_handle);
			left--;
		}
		if (left > 0)
			curl_multi_poll(m, NULL, 0, 100, NULL);
	}
}

int
main(int argc, char **argv)
{
	struct opts o = { .first = 0, .count = 1, .conc = 1, .total_s = 120,
	    .req_s = 90, .label = "run" };
	struct one *recs;
	CURLM *m;
	CURLMsg *msg;
	FILE *out = stdout;
	long next = 0, active = 0, finished = 0, i, nlat = 0, ok = 0;
	long timed_out = 0, transport = 0;
	int running, c, progressed;
	int64_t deadline, t0_wall, t_end_wall = 0;
	double *lat, *since;

	while ((c = getopt(argc, argv, "u:f:a:n:c:sI:S:w:T:t:l:o:")) != -1) {
		switch (c) {
		case 'u': o.base = optarg; break;
		case 'f': o.fmt = optarg; break;
		case 'a': o.first = atol(optarg); break;
		case 'n': o.count = atol(optarg); break;
		case 'c': o.conc = atol(optarg); break;
		case 's': o.same = 1; break;
		case 'I': o.iface = optarg; break;
		case 'S': o.start_wall_ms = atoll(optarg); break;
		case 'w': o.warm = optarg; break;
		case 'T': o.total_s = atol(optarg); break;
		case 't': o.req_s = atol(optarg); break;
		case 'l': o.label = optarg; break;
		case 'o': o.out = optarg; break;
		default: usage();
		}
	}
	if (o.base == NULL || o.fmt == NULL || o.count < 1 || o.conc < 1 ||
	    o.count > 10000000 || o.conc > 4096 || o.total_s < 1 || o.req_s < 1)
		usage();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;
	recs = calloc((size_t)o.count, sizeof(*recs));
	lat = calloc((size_t)o.count, sizeof(*lat));
	since = calloc((size_t)o.count, sizeof(*since));
	m = curl_multi_init();
	if (recs == NULL || lat == NULL || since == NULL || m == NULL)
		return 1;
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, o.conc + 16);
	curl_multi_setopt(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, o.conc);
	for (i = 0; i < o.count; i++) {
		recs[i].idx = i;
		recs[i].status = 0;
		recs[i].curl_rc = -1;
		snprintf(recs[i].url, sizeof(recs[i].url), "%s", o.base);
		snprintf(recs[i].url + strlen(recs[i].url),
		    sizeof(recs[i].url) - strlen(recs[i].url), o.fmt,
		    o.same ? o.first : o.first + i);
	}
	if (o.warm != NULL)
		warm_connections(m, &o);
	if (o.start_wall_ms > 0) {
		int64_t wait = o.start_wall_ms * 1000 - wall_us();
		if (wait > 0 && wait < 600 * 1000000LL)
			usleep((useconds_t)wait);
	}
	t0_wall = wall_us();
	deadline = mono_us() + (int64_t)o.total_s * 1000000;
	while (finished < o.count && mono_us() < deadline) {
		while (active < o.conc && next < o.count) {
			struct one *r = &recs[next++];
			r->easy = make_easy(&o, r->url, r);
			if (r->easy == NULL) {
				r->done = 1;
				finished++;
				continue;
			}
			curl_multi_add_handle(m, r->easy);
			active++;
		}
		curl_multi_perform(m, &running);
		progressed = 0;
		while ((msg = curl_multi_info_read(m, &(int){0})) != NULL) {
			struct one *r;
			curl_off_t tt = 0;
			long code = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&r);
			r->curl_rc = (int)msg->data.result;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &code);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_TOTAL_TIME_T, &tt);
			r->status = (int)code;
			r->lat_ms = (double)tt / 1000.0;
			r->end_wall_us = wall_us();
			r->done = 1;
			curl_multi_remove_handle(m, msg->easy_handle);
			curl_easy_cleanup(msg->easy_handle);
			r->easy = NULL;
			active--;
			finished++;
			progressed = 1;
		}
		/* Wait only when nothing finished: a free slot is refilled at
		 * once, not after the poll's timeout. */
		if (finished < o.count && !(progressed && next < o.count))
			curl_multi_poll(m, NULL, 0, 50, NULL);
	}
	/* Whatever is left ran out of time. */
	for (i = 0; i < o.count; i++) {
		if (recs[i].easy != NULL) {
			curl_multi_remove_handle(m, recs[i].easy);
			curl_easy_cleanup(recs[i].easy);
			recs[i].easy = NULL;
		}
	}

	if (o.out != NULL && (out = fopen(o.out, "w")) == NULL) {
		perror(o.out);
		return 1;
	}
	{
		/* status and cache-header counts; small fixed tables */
		int codes[64], ncodes = 0, k;
		long code_n[64];
		char caches[16][16];
		long cache_n[16];
		int ncache = 0;
		const char *name;

		for (i = 0; i < o.count; i++) {
			struct one *r = &recs[i];
			if (!r->done) {
				timed_out++;
				continue;
			}
			if (r->curl_rc != CURLE_OK) {
				if (r->curl_rc == CURLE_OPERATION_TIMEDOUT)
					timed_out++;
				else
					transport++;
				continue;
			}
			if (r->end_wall_us > t_end_wall)
				t_end_wall = r->end_wall_us;
			since[nlat] = (double)(r->end_wall_us - t0_wall) / 1000.0;
			lat[nlat++] = r->lat_ms;
			if (r->status >= 200 && r->status < 300)
				ok++;
			for (k = 0; k < ncodes && codes[k] != r->status; k++)
				;
			if (k == ncodes && ncodes < 64) {
				codes[ncodes] = r->status;
				code_n[ncodes++] = 0;
			}
			if (k < 64)
				code_n[k]++;
			name = r->cache[0] ? r->cache : "none";
			for (k = 0; k < ncache && strcmp(caches[k], name) != 0; k++)
				;
			if (k == ncache && ncache < 16) {
				snprintf(caches[ncache], sizeof(caches[0]), "%s", name);
				cache_n[ncache++] = 0;
			}
			if (k < 16)
				cache_n[k]++;
		}
		qsort(lat, (size_t)nlat, sizeof(*lat), cmp_double);
		qsort(since, (size_t)nlat, sizeof(*since), cmp_double);
		fprintf(out, "{\"label\":\"%s\",\"count\":%ld,\"ok\":%ld,"
		    "\"errors\":%ld,\"timed_out\":%ld,\"transport_errors\":%ld,"
		    "\"start_wall_ms\":%.3f,\"end_wall_ms\":%.3f,\"elapsed_ms\":%.3f,",
		    o.label, o.count, ok, o.count - ok, timed_out, transport,
		    (double)t0_wall / 1000.0, (double)t_end_wall / 1000.0,
		    t_end_wall > 0 ? (double)(t_end_wall - t0_wall) / 1000.0 : -1.0);
		fprintf(out, "\"lat_ms\":{\"min\":%.3f,\"p50\":%.3f,\"p90\":%.3f,"
		    "\"p99\":%.3f,\"max\":%.3f},",
		    nlat ? lat[0] : 0.0, pct(lat, nlat, 0.50), pct(lat, nlat, 0.90),
		    pct(lat, nlat, 0.99), nlat ? lat[nlat - 1] : 0.0);
		fprintf(out, "\"done_after_ms\":{\"min\":%.3f,\"p50\":%.3f,"
		    "\"p99\":%.3f,\"max\":%.3f},",
		    nlat ? since[0] : 0.0, pct(since, nlat, 0.50),
		    pct(since, nlat, 0.99), nlat ? since[nlat - 1] : 0.0);
		fprintf(out, "\"status\":{");
		for (k = 0; k < ncodes; k++)
			fprintf(out, "%s\"%d\":%ld", k ? "," : "", codes[k], code_n[k]);
		fprintf(out, "},\"cache\":{");
		for (k = 0; k < ncache; k++)
			fprintf(out, "%s\"%s\":%ld", k ? "," : "", caches[k],
			    cache_n[k]);
		fprintf(out, "}}\n");
	}
	if (out != stdout)
		fclose(out);
	curl_multi_cleanup(m);
	curl_global_cleanup();
	free(recs);
	free(lat);
	free(since);
	return 0;
}
