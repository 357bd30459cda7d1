/*
 * http: libmicrohttpd glue (see http.h).
 *
 * Request life:
 *   uri_log()   the first thing libmicrohttpd tells us: allocate the
 *               per-request state and keep the raw request target (we
 *               decode it ourselves, so the unescape callback is a no-op);
 *   handle()    called several times: the first call only records (a
 *               response queued there would make libmicrohttpd close the
 *               connection), later calls gather the body, the last one
 *               routes and answers, or suspends and submits to the
 *               scheduler; after the scheduler resumes the connection it is
 *               called once more to send the answer;
 *   completed() access log line, metrics, free.
 *
 * Thread rules: handlers run on libmicrohttpd's pool threads; each pool
 * thread lazily opens its own store reader.  The waiter's done() callback
 * runs on the scheduler thread and only resumes the connection.
 */
#include "server/http.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stddef.h>
#include <microhttpd.h>
#include <netdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/route.h"
#include "api/smerr.h"
#include "config/config.h"
#include "server/auth.h"
#include "server/http_int.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/sched.h"
#include "store/store.h"

#define MAX_BODY		(1024 * 1024)
#define BODY_BUDGET		(64LL * 1024 * 1024)	/* all bodies being read */
#define TOUCH_EVERY_MS		60000
#define REFRESH_SLOTS		4096
#define REFRESH_ASK_EVERY_MS	1000

/* Recently asked refreshes, so a hot key asks once a second, not per hit.
 * Races only cause an extra (deduplicated) ask. */
static _Atomic int64_t refresh_asked[REFRESH_SLOTS];

static _Thread_local struct store_reader *tl_reader;

struct store_reader *
http_reader(struct http *h)
{
	struct reader_node *n;

	if (tl_reader != NULL)
		return tl_reader;
	tl_reader = store_reader_new(h->store);
	if (tl_reader == NULL)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return tl_reader;	/* leaks one reader at exit, still works */
	n->reader = tl_reader;
	pthread_mutex_lock(&h->readers_lock);
	n->next = h->readers;
	h->readers = n;
	pthread_mutex_unlock(&h->readers_lock);
	return tl_reader;
}

/* ---- responses ---- */

static void
free_result_cb(void *cls)
{
	sched_result_release(cls);
}

static void
free_entry_cb(void *cls)
{
	store_entry_free(cls);
}

static void
free_plain_cb(void *cls)
{
	free(cls);
}

enum MHD_Result
http_send_response(struct req *q, struct MHD_Response *resp, int status,
    const char *ctype, int retry_after_s)
{
	enum MHD_Result rc;
	char ra[16];

	if (resp == NULL)
		return MHD_NO;
	if (ctype != NULL && ctype[0] != '\0')
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (retry_after_s > 0) {
		snprintf(ra, sizeof(ra), "%d", retry_after_s);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
	}
	if (q->route.cacheable)
		MHD_add_response_header(resp, "X-Smproxy-Cache",
		    sched_cache_state_name(q->cache_state));
	q->status = status;
	http_count(q);
	rc = MHD_queue_response(q->conn, (unsigned int)status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/*
 * Count the request in the metrics when its answer is queued, so a client
 * that reads /metrics right after its answer already sees it.
 */
void
http_count(struct req *q)
{
	if (q->counted)
		return;
	q->counted = true;
	metrics_http_request(q->route.op, q->status, q->cache_state,
	    (double)(metrics_now_ns() - q->started_ns) / 1e9);
}

enum MHD_Result
http_send_bytes(struct req *q, int status, const char *ctype,
    const void *body, size_t len, int retry_after_s)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	return http_send_response(q, resp, status, ctype, retry_after_s);
}

enum MHD_Result
http_send_error(struct req *q, int status, const char *code, const char *message,
    int retry_after_s)
{
	struct MHD_Response *resp;
	size_t len;
	char *body = smerr_body(status, code != NULL ? code : smerr_code_for(status),
	    message, &len);

	if (body == NULL)
		return MHD_NO;
	resp = MHD_create_response_from_buffer_with_free_callback_cls(len, body,
	    free_plain_cb, body);
	if (resp == NULL)
		free(body);
	return http_send_response(q, resp, status, "application/json", retry_after_s);
}

enum MHD_Result
http_send_entry_raw(struct req *q, struct store_entry *e)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer_with_free_callback_cls(e->body_len,
	    e->body, free_entry_cb, e);
	if (resp == NULL) {
		store_entry_free(e);
		return MHD_NO;
	}
	return http_send_response(q, resp, e->status, e->content_type, 0);
}

enum MHD_Result
http_send_result_raw(struct req *q, struct sched_result *r)
{
	struct MHD_Response *resp;

	resp = MHD_create_response_from_buffer_with_free_callback_cls(r->body_len,
	    r->body, free_result_cb, r);
	if (resp == NULL) {
		sched_result_release(r);
		return MHD_NO;
	}
	return http_send_response(q, resp, r->status, r->content_type, r->retry_after_s);
}

/* ---- the scheduler's answer ---- */

static void
waiter_done(struct sched_waiter *w)
{
	struct req *q = w->arg;

	/* Runs on the scheduler thread: only hand the connection back. */
	atomic_store(&q->phase, REQ_RESUMED);
	MHD_resume_connection(q->conn);
}

static enum MHD_Result
answer_resumed(struct req *q)
{
	struct sched_waiter *w = &q->waiter;
	struct sched_result *r = w->result;

	q->cache_state = w->cache_state;
	w->result = NULL;
	if (w->outcome == SCHED_USE_STALE && q->stale != NULL) {
		struct store_entry *e = q->stale;
		q->stale = NULL;
		q->cache_state = CACHE_STALE;
		metrics_stale_served();
		if (r != NULL)
			sched_result_release(r);
		return http_authorize_and_send_entry(q, e);
	}
	if (r == NULL)
		return http_send_error(q, 503, NULL, "The proxy could not complete the request.", 1);
	if (q->route.cacheable && r->status >= 200 && r->status < 300)
		return http_authorize_and_send_result(q, r);
	return http_send_result_raw(q, r);
}

/* ---- cache path ---- */

static void
maybe_ask_refresh(struct http *h, const char *key, int64_t now_wall)
{
	uint32_t slot = 2166136261u;
	const char *p;

	for (p = key; *p; p++)
		slot = (slot ^ (unsigned char)*p) * 16777619u;
	slot %= REFRESH_SLOTS;
	if (now_wall - atomic_load(&refresh_asked[slot]) < REFRESH_ASK_EVERY_MS)
		return;
	atomic_store(&refresh_asked[slot], now_wall);
	sched_refresh(h->sched, key);
}

static enum MHD_Result
submit(struct req *q)
{
	struct http *h = q->h;
	struct sched_waiter *w = &q->waiter;

	w->route = &q->route;
	w->method = q->method;
	w->body = q->body;
	w->body_len = q->body_len;
	w->content_type = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_CONTENT_TYPE);
	snprintf(w->client, sizeof(w->client), "%s", q->client);
	w->deadline = sched_now_ms() + h->cfg->deadline_ms;
	w->has_stale = q->stale != NULL;
	w->done = waiter_done;
	w->arg = q;
	atomic_store(&q->phase, REQ_WAITING);
	MHD_suspend_connection(q->conn);
	sched_submit(h->sched, w);
	return MHD_YES;
}

static enum MHD_Result
serve_cacheable(struct req *q)
{
	struct http *h = q->h;
	struct store_reader *rd = http_reader(h);
	struct store_entry *e = NULL;
	int64_t now_wall;
	int rc;

	if (rd == NULL)
		return submit(q);
	rc = store_get(rd, q->route.key, &e);
	if (rc != STORE_OK || e == NULL)
		return submit(q);
	now_wall = sched_wall_ms();
	switch (store_classify(&e->meta, now_wall)) {
	case STORE_REFRESH:
		maybe_ask_refresh(h, q->route.key, now_wall);
		/* FALLTHROUGH */
	case STORE_FRESH:
		if (now_wall - e->meta.last_access > TOUCH_EVERY_MS)
			sched_touch(h->sched, q->route.key, now_wall);
		q->cache_state = CACHE_HIT;
		return http_authorize_and_send_entry(q, e);
	case STORE_STALE:
		/* Refresh first; the copy is the fallback. */
		q->stale = e;
		return submit(q);
	case STORE_EXPIRED:
	default:
		store_entry_free(e);
		return submit(q);
	}
}

/* ---- routing ---- */

/*
 * A template for a passed-through path, for the access and audit logs:
 * the words SM uses in paths stay, everything else (ids, names, versions)
 * becomes {id}.  Metrics keep the single "/api/passthrough" label.
 */
static void
passthrough_shape(char *dst, size_t len, const char *target)
{
	static const char *const words[] = {
		"api", "v1", "v2", "secrets", "secret_groups", "secret_types",
		"versions", "metadata", "locks", "locks_bulk", "actions", "tasks",
		"configurations", "notifications", "registration", "test",
		"secrets_locks", "secret_data", "policies", "config", "current",
		"previous", NULL
	};
	size_t used = 0, n, i;
	const char *p = target, *end;

	dst[0] = '\0';
	while (*p == '/' && used + 1 < len) {
		p++;
		end = p + strcspn(p, "/?");
		n = (size_t)(end - p);
		for (i = 0; words[i] != NULL; i++)
			if (strlen(words[i]) == n && memcmp(words[i], p, n) == 0)
				break;
		used += (size_t)snprintf(dst + used, len - used, "/%.*s",
		    words[i] != NULL ? (int)n : 4, words[i] != NULL ? p : "{id}");
		if (used >= len)
			break;
		p = end;
	}
}

static enum MHD_Result
process(struct req *q)
{
	struct http *h = q->h;
	struct route_error err;

	if (route_parse(&q->route, q->method, q->uri, &err) != 0)
		return http_send_error(q, err.status, err.code, err.message, 0);
	q->tmpl = q->route.tmpl;
	if (q->route.op == ROUTE_PASSTHROUGH) {
		passthrough_shape(q->shape, sizeof(q->shape), q->route.target);
		q->tmpl = q->shape;
	}
	switch (q->route.op) {
	case ROUTE_HEALTHZ:
	case ROUTE_READYZ:
	case ROUTE_METRICS:
		if (h->cfg->admin_listen != NULL && !q->on_admin && q->route.op == ROUTE_METRICS)
			return http_send_error(q, 404, "not_found",
			    "Metrics are served on the admin listener.", 0);
		return http_serve_admin(q);
	case ROUTE_IAM_TOKEN:
	case ROUTE_IAM_KEYS:
		if (q->on_admin)
			break;
		return http_serve_identity(q);
	default:
		break;
	}
	if (q->on_admin)
		return http_send_error(q, 404, "not_found",
		    "The admin listener serves only /healthz, /readyz and /metrics.", 0);
	if (q->body_too_big)
		return http_send_error(q, 413, "payload_too_large",
		    "The request body is larger than 1 MiB.", 0);
	if (q->body_busy)
		return http_send_error(q, 503, "service_unavailable",
		    "The proxy is receiving too many request bodies; retry shortly.", 1);
	if (http_authenticate(q) != 0)
		return MHD_YES;		/* the 401/403 is queued */
	if (q->route.cacheable)
		return serve_cacheable(q);
	q->cache_state = CACHE_BYPASS;
	return submit(q);
}

static enum MHD_Result
handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct req *q = *con_cls;

	(void)url;
	(void)version;
	if (q == NULL)
		return MHD_NO;
	if (!q->seen) {
		q->seen = true;
		q->conn = conn;
		q->on_admin = cls != NULL;
		snprintf(q->method, sizeof(q->method), "%s", method);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		if (q->body_too_big || q->body_busy || q->body_len + n > MAX_BODY) {
			q->body_too_big = !q->body_busy;
			return MHD_YES;
		}
		if (q->body_len + n > q->body_cap) {
			size_t cap = q->body_cap ? q->body_cap * 2 : 4096;
			uint8_t *p;
			while (cap < q->body_len + n)
				cap *= 2;
			/* All request bodies together stay within a budget, so many
			 * slow uploads cannot exhaust memory. */
			if (atomic_fetch_add(&q->h->body_bytes, (long long)(cap - q->body_cap)) +
			    (long long)(cap - q->body_cap) > BODY_BUDGET) {
				atomic_fetch_sub(&q->h->body_bytes, (long long)(cap - q->body_cap));
				q->body_busy = true;
				return MHD_YES;
			}
			p = malloc(cap);
			if (p == NULL) {
				atomic_fetch_sub(&q->h->body_bytes, (long long)(cap - q->body_cap));
				return MHD_NO;
			}
			if (q->body != NULL) {
				memcpy(p, q->body, q->body_len);
				sodium_memzero(q->body, q->body_len);
				free(q->body);
			}
			q->body = p;
			q->body_cap = cap;
		}
		memcpy(q->body + q->body_len, upload_data, n);
		q->body_len += n;
		return MHD_YES;
	}
	switch (atomic_load(&q->phase)) {
	case REQ_NEW:
		return process(q);
	case REQ_RESUMED:
		atomic_store(&q->phase, REQ_DONE);
		return answer_resumed(q);
	default:
		return MHD_YES;
	}
}

static void *
uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct http *h = cls;
	struct req *q = malloc(sizeof(*q));
	const union MHD_ConnectionInfo *ci;

	if (q == NULL)
		return NULL;
	memset(q, 0, offsetof(struct req, route));
	q->route.op = ROUTE_NOT_FOUND;
	q->route.cacheable = false;
	q->route.is_write = false;
	q->route.api_version = 0;
	q->route.tmpl = "other";
	q->route.secret_id[0] = '\0';
	q->route.invalidate_id[0] = '\0';
	q->route.key[0] = '\0';
	q->h = h;
	q->uri = strdup(uri != NULL ? uri : "");
	q->started_ns = metrics_now_ns();
	q->cache_state = CACHE_BYPASS;
	q->tmpl = "other";
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci != NULL && ci->client_addr != NULL) {
		const struct sockaddr *sa = ci->client_addr;
		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr,
			    q->peer, sizeof(q->peer));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr,
			    q->peer, sizeof(q->peer));
	}
	snprintf(q->client, sizeof(q->client), "%s", q->peer[0] ? q->peer : "unknown");
	atomic_fetch_add(&h->inflight, 1);
	return q;
}

static void
completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct http *h = cls;
	struct req *q = *con_cls;
	double secs;

	(void)conn;
	if (q == NULL)
		return;
	secs = (double)(metrics_now_ns() - q->started_ns) / 1e9;
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK && q->status == 0)
		q->status = 499;	/* client went away */
	if (!q->counted)
		http_count(q);	/* no answer was queued: the client went away */
	if (!q->quiet_log && log_enabled(LOG_INFO)) {
		char st[8], ms[24];
		snprintf(st, sizeof(st), "%d", q->status);
		snprintf(ms, sizeof(ms), "%.3f", secs * 1000.0);
		log_access("method", q->method, "route", q->tmpl, "status", st,
		    "ms", ms, "cache", q->route.cacheable ?
		    sched_cache_state_name(q->cache_state) : "bypass",
		    "client", q->client, NULL);
	}
	http_audit(q);
	auth_release(q->policy);
	if (q->stale != NULL)
		store_entry_free(q->stale);
	if (q->waiter.result != NULL)
		sched_result_release(q->waiter.result);
	if (q->body != NULL) {
		sodium_memzero(q->body, q->body_len);
		free(q->body);
		atomic_fetch_sub(&h->body_bytes, (long long)q->body_cap);
	}
	free(q->uri);
	free(q);
	*con_cls = NULL;
	atomic_fetch_sub(&h->inflight, 1);
}

/* libmicrohttpd's own messages (handshake failures, resource limits) go
 * through the log as debug lines, in the same format as the rest. */
static void
mhd_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	if (!log_enabled(LOG_DEBUG))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_kv(LOG_DEBUG, "http server", "detail", msg, NULL);
}

/* Keep the raw target: we decode it ourselves (Go and Node differ). */
static size_t
no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

/* ---- lifecycle ---- */

struct http *
http_new(const struct cfg *cfg, struct sched *sched, struct store *store,
    struct auth *auth)
{
	struct http *h = calloc(1, sizeof(*h));

	if (h == NULL)
		return NULL;
	h->cfg = cfg;
	h->sched = sched;
	h->store = store;
	h->auth = auth;
	pthread_mutex_init(&h->readers_lock, NULL);
	return h;
}

static struct MHD_Daemon *
start_daemon(struct http *h, const char *host, int port, bool admin, int threads,
    int *bound_port, char *why, size_t whylen)
{
	struct addrinfo hints, *ai = NULL;
	char portstr[16];
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	    MHD_USE_TURBO | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct MHD_Daemon *d;
	const union MHD_DaemonInfo *di;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &ai);
	if (rc != 0 || ai == NULL) {
		snprintf(why, whylen, "cannot resolve listen address %s: %s", host,
		    gai_strerror(rc));
		return NULL;
	}
	if (ai->ai_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	{
		struct MHD_OptionItem tls[8];
		size_t ntls = 0;

		memset(tls, 0, sizeof(tls));
		if (!admin && h->tls_cert != NULL) {
			flags |= MHD_USE_TLS;
			ntls = http_tls_options(h, tls, sizeof(tls) / sizeof(tls[0]) - 1);
		}
		tls[ntls].option = MHD_OPTION_END;
		d = MHD_start_daemon(flags, 0, NULL, NULL, handle, admin ? &h->admin_tag : NULL,
		    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
		    MHD_OPTION_SOCK_ADDR, ai->ai_addr,
		    MHD_OPTION_THREAD_POOL_SIZE, (unsigned int)(threads > 1 ? threads : 0),
		    MHD_OPTION_URI_LOG_CALLBACK, uri_log, h,
		    MHD_OPTION_NOTIFY_COMPLETED, completed, h,
		    MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)8192,
		    MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024,
		    MHD_OPTION_ARRAY, tls,
		    MHD_OPTION_END);
	}
	freeaddrinfo(ai);
	if (d == NULL) {
		snprintf(why, whylen, "cannot listen on %s:%d (in use, or not a local address?)",
		    host, port);
		return NULL;
	}
	di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
	*bound_port = di != NULL ? di->port : port;
	return d;
}

int
http_start(struct http *h, char *why, size_t whylen)
{
	if (http_tls_load(h, why, whylen) != 0)
		return -1;
	h->main = start_daemon(h, h->cfg->listen_host, h->cfg->listen_port, false,
	    h->cfg->threads, &h->port, why, whylen);
	if (h->main == NULL)
		return -1;
	if (h->cfg->admin_listen != NULL) {
		h->admin = start_daemon(h, h->cfg->admin_host, h->cfg->admin_port,
		    true, 1, &h->admin_port, why, whylen);
		if (h->admin == NULL)
			return -1;
	}
	return 0;
}

int
http_reload_tls(struct http *h, char *why, size_t whylen)
{
	return http_tls_reload(h, why, whylen);
}

int
http_port(const struct http *h)
{
	return h->port;
}

int
http_admin_port(const struct http *h)
{
	return h->admin != NULL ? h->admin_port : h->port;
}

void
http_quiesce(struct http *h)
{
	MHD_socket fd;

	atomic_store(&h->draining, true);
	if (h->main != NULL) {
		fd = MHD_quiesce_daemon(h->main);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
}

int64_t
http_inflight(const struct http *h)
{
	return atomic_load(&((struct http *)h)->inflight);
}

void
http_stop(struct http *h)
{
	if (h->main != NULL)
		MHD_stop_daemon(h->main);
	if (h->admin != NULL)
		MHD_stop_daemon(h->admin);
	h->main = h->admin = NULL;
}

void
http_free(struct http *h)
{
	struct reader_node *n, *next;

	if (h == NULL)
		return;
	http_stop(h);
	for (n = h->readers; n != NULL; n = next) {
		next = n->next;
		store_reader_free(n->reader);
		free(n);
	}
	http_tls_free(h);
	pthread_mutex_destroy(&h->readers_lock);
	free(h);
}
