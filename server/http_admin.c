/*
 * http_admin: /healthz, /readyz and /metrics.
 *
 * /healthz answers 200 while the process serves HTTP.  /readyz answers 200
 * when the store is open and the proxy can answer secrets: it holds an
 * upstream token or a warm cache; never while draining.
 *
 * Thread rules: libmicrohttpd pool threads.
 */
#include <stdlib.h>
#include <string.h>

#include "server/http_int.h"
#include "server/metrics.h"
#include "store/store.h"

static void
free_cb(void *cls)
{
	free(cls);
}

static bool
is_ready(struct http *h, const struct sched_stats *st, int64_t entries)
{
	if (atomic_load(&h->draining))
		return false;
	return st->have_token || entries > 0;
}

enum MHD_Result
http_serve_admin(struct req *q)
{
	struct http *h = q->h;
	struct sched_stats st;
	struct metrics_gauges g;
	struct MHD_Response *resp;
	enum MHD_Result rc;
	int64_t entries = 0, bytes = 0;
	char *text;
	size_t len;

	q->quiet_log = true;	/* probes and scrapes would drown the access log */
	if (strcmp(q->method, "GET") != 0 && strcmp(q->method, "HEAD") != 0)
		return http_send_error(q, 405, "method_not_allowed", "Use GET.", 0);
	sched_get_stats(h->sched, &st);
	store_stats(h->store, &entries, &bytes);
	switch (q->route.op) {
	case ROUTE_HEALTHZ:
		return http_send_bytes(q, 200, "application/json", "{\"status\":\"ok\"}", 15, 0);
	case ROUTE_READYZ:
		if (is_ready(h, &st, entries))
			return http_send_bytes(q, 200, "application/json",
			    "{\"status\":\"ready\"}", 18, 0);
		return http_send_error(q, 503, "service_unavailable",
		    atomic_load(&h->draining) ? "The proxy is shutting down." :
		    "The proxy has no upstream token and an empty cache yet.", 0);
	case ROUTE_METRICS:
		memset(&g, 0, sizeof(g));
		g.sched = st;
		g.cache_entries = entries;
		g.cache_bytes = bytes;
		g.ready = is_ready(h, &st, entries);
		text = metrics_render(&g, &len);
		if (text == NULL)
			return http_send_error(q, 500, "internal_error", "Out of memory.", 0);
		resp = MHD_create_response_from_buffer_with_free_callback_cls(len, text,
		    free_cb, text);
		if (resp == NULL) {
			free(text);
			return MHD_NO;
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    "text/plain; version=0.0.4; charset=utf-8");
		q->status = 200;
		http_count(q);
		rc = MHD_queue_response(q->conn, 200, resp);
		MHD_destroy_response(resp);
		return rc;
	default:
		return http_send_error(q, 404, "not_found", "Not found.", 0);
	}
}
