/*
 * http_int.h: state shared by the http_*.c files.
 *
 * Thread rules: struct http is read by every pool thread; its mutable
 * fields are atomics or guarded by readers_lock / tls_lock.  A struct req
 * belongs to one connection (one thread at a time: the pool thread, or the
 * scheduler while the connection is suspended).
 */
#ifndef SMPROXY_HTTP_INT_H
#define SMPROXY_HTTP_INT_H

#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "api/route.h"
#include "server/sched.h"

struct cfg;
struct store;
struct store_reader;
struct store_entry;
struct auth;
struct auth_client;
struct auth_policy;

struct reader_node {
	struct reader_node	*next;
	struct store_reader	*reader;
};

struct http {
	const struct cfg	*cfg;
	struct sched		*sched;
	struct store		*store;
	struct auth		*auth;
	struct MHD_Daemon	*main;
	struct MHD_Daemon	*admin;
	int			 admin_tag;	/* its address marks the admin daemon */
	int			 port;
	int			 admin_port;
	atomic_bool		 draining;
	atomic_llong		 inflight;
	atomic_llong		 body_bytes;	/* buffered request bodies */

	pthread_mutex_t		 readers_lock;
	struct reader_node	*readers;

	/* TLS material (see http_tls.c). */
	pthread_mutex_t		 tls_lock;
	void			*tls_cert;	/* opaque; NULL without TLS */
};

enum req_phase { REQ_NEW = 0, REQ_WAITING, REQ_RESUMED, REQ_DONE };

struct req {
	struct http		*h;
	struct MHD_Connection	*conn;
	char			*uri;		/* raw request target */
	char			 method[16];
	bool			 seen;
	bool			 on_admin;
	bool			 quiet_log;
	atomic_int		 phase;
	int64_t			 started_ns;
	char			 peer[64];
	char			 client[64];	/* authenticated name, or the peer */
	const struct auth_client *who;		/* NULL without auth */
	struct auth_policy	*policy;	/* holds who; released at the end */
	bool			 audit;		/* an SM API call: audit it */
	char			 known_group[ROUTE_ID_MAX + 1];
	const char		*tmpl;		/* for logs */
	char			 shape[128];	/* tmpl of a passed-through path */
	uint8_t			*body;
	size_t			 body_len, body_cap;
	bool			 body_too_big;
	bool			 body_busy;	/* over the shared body budget */
	struct store_entry	*stale;
	struct sched_waiter	 waiter;
	int			 status;
	bool			 counted;	/* in the metrics already */
	enum sched_cache_state	 cache_state;
	char			 audit_secret[ROUTE_ID_MAX + 1];
	const char		*audit_outcome;
	/* Last and not zeroed on allocation (it is large): route_parse()
	 * fills it; uri_log() sets the few fields read before that. */
	struct route		 route;
};

/* http.c */
/* Record the request in the metrics (once). */
void	 http_count(struct req *q);
/* This pool thread's store reader (opened on first use), or NULL. */
struct store_reader *http_reader(struct http *h);
/* Queue resp (consumed) with the usual headers. */
enum MHD_Result http_send_response(struct req *q, struct MHD_Response *resp,
	    int status, const char *ctype, int retry_after_s);
enum MHD_Result http_send_bytes(struct req *q, int status, const char *ctype,
	    const void *body, size_t len, int retry_after_s);
enum MHD_Result http_send_error(struct req *q, int status, const char *code,
	    const char *message, int retry_after_s);
enum MHD_Result http_send_entry_raw(struct req *q, struct store_entry *e);
enum MHD_Result http_send_result_raw(struct req *q, struct sched_result *r);

/* http_admin.c: /healthz, /readyz, /metrics. */
enum MHD_Result http_serve_admin(struct req *q);

/* http_auth.c: identity and authorization. */
enum MHD_Result http_serve_identity(struct req *q);
/* 0: go on; -1: an error answer was queued. */
int	 http_authenticate(struct req *q);
enum MHD_Result http_authorize_and_send_entry(struct req *q, struct store_entry *e);
enum MHD_Result http_authorize_and_send_result(struct req *q, struct sched_result *r);
void	 http_audit(struct req *q);

/*
 * http_tls.c: HTTPS for the main listener.  http_tls_load reads the
 * certificate and key named in the configuration (and sets h->tls_cert
 * when TLS is on); http_tls_options fills libmicrohttpd options for
 * MHD_OPTION_ARRAY and returns how many; http_tls_reload re-reads the
 * files (SIGHUP) so new handshakes use them while open connections go on.
 */
int	 http_tls_load(struct http *h, char *why, size_t whylen);
size_t	 http_tls_options(struct http *h, struct MHD_OptionItem *items, size_t max);
int	 http_tls_reload(struct http *h, char *why, size_t whylen);
void	 http_tls_free(struct http *h);

#endif
