/*
 * http: the libmicrohttpd front end.
 *
 * One daemon (thread pool, epoll) serves the SM API, the IAM-compatible
 * token endpoint and, unless an admin listener is configured, /healthz,
 * /readyz and /metrics.  A request is routed (api/route), checked, and
 * answered from the cache when it can be; otherwise its connection is
 * suspended and handed to the scheduler, which resumes it with the answer.
 * No libmicrohttpd thread ever waits for the upstream.
 *
 * Thread rules: http_new/start/quiesce/stop/free run in the main thread;
 * the handlers run on libmicrohttpd's threads.
 */
#ifndef SMPROXY_HTTP_H
#define SMPROXY_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cfg;
struct sched;
struct store;
struct auth;

struct http;

/* Returns a server (not yet listening), or NULL. */
struct http *http_new(const struct cfg *cfg, struct sched *sched,
	    struct store *store, struct auth *auth);
/* Bind and start serving; returns 0 or -1 (why filled). */
int	 http_start(struct http *h, char *why, size_t whylen);
/* The bound port of the main (or admin) listener. */
int	 http_port(const struct http *h);
int	 http_admin_port(const struct http *h);
/* Stop accepting new connections; /readyz turns 503. */
void	 http_quiesce(struct http *h);
/* Requests currently being handled (including suspended ones). */
int64_t	 http_inflight(const struct http *h);
void	 http_stop(struct http *h);
/* Re-read TLS certificate and key (SIGHUP); 0 or -1 with why filled (the
 * old ones stay). */
int	 http_reload_tls(struct http *h, char *why, size_t whylen);
void	 http_free(struct http *h);

#endif
