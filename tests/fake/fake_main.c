/*
 * fake_sm: a fake IBM Cloud Secrets Manager + IAM server for smproxy's
 * integration tests, benchmarks and local demo.
 *
 *   fake_sm --listen HOST:PORT [--fixtures FILE] [--rate-limit N]
 *           [--window-ms MS] [--token-ttl S] [--port-file PATH]
 *           [--generate N]
 *
 * This file is the command line and the HTTP glue.  libmicrohttpd runs a
 * thread per connection, so injected latency is a plain sleep; all shared
 * state sits behind one lock (struct fsrv).  Paths reach us undecoded (a
 * no-op unescape callback) so fake_http can split them into segments
 * before percent-decoding.  Every response is queued on the last access
 * callback of a request, never the first, so keep-alive holds.
 *
 * One SM call (/api/...) goes: down? drop the connection -> rate limiter
 * (429 + Retry-After) -> injected latency (unlocked sleep) -> injected
 * error -> bearer token check (401) -> v1/v2 handler; then it is logged.
 * IAM calls (/identity/...) skip the limiter and injection but are logged
 * and can be dropped while down.  /__fake/... is the control API.
 *
 * Thread rules: main parses options, loads data, starts the daemon and
 * waits for SIGTERM/SIGINT with those signals blocked in every thread;
 * connection threads run the handlers.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>
#include <sodium.h>

#include "tests/fake/fake_ctl.h"
#include "tests/fake/fake_fixtures.h"
#include "tests/fake/fake_http.h"
#include "tests/fake/fake_iam.h"
#include "tests/fake/fake_srv.h"
#include "tests/fake/fake_store.h"
#include "tests/fake/fake_v1.h"
#include "tests/fake/fake_v2.h"

struct options {
	const char	*listen;
	const char	*fixtures;
	const char	*port_file;
	long		 rate_limit;
	long		 window_ms;
	long		 token_ttl_s;
	long		 generate;
};

enum req_kind { KIND_SM, KIND_IAM, KIND_CTL, KIND_OTHER };

static void
usage(void)
{
	fprintf(stderr, "usage: fake_sm [--listen HOST:PORT] [--fixtures FILE] "
	    "[--rate-limit N] [--window-ms MS]\n"
	    "               [--token-ttl S] [--port-file PATH] [--generate N]\n");
	exit(2);
}

static long
number_arg(const char *name, const char *value, long min, long max)
{
	long long v;

	if (fhttp_parse_uint(value, LONG_MAX, &v) == -1 || v < min || v > max) {
		fprintf(stderr, "fake_sm: --%s must be an integer from %ld to %ld\n",
		    name, min, max);
		exit(2);
	}
	return (long)v;
}

static void
parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "fixtures", required_argument, NULL, 'f' },
		{ "rate-limit", required_argument, NULL, 'r' },
		{ "window-ms", required_argument, NULL, 'w' },
		{ "token-ttl", required_argument, NULL, 't' },
		{ "port-file", required_argument, NULL, 'p' },
		{ "generate", required_argument, NULL, 'g' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(o, 0, sizeof(*o));
	o->listen = "127.0.0.1:0";
	o->rate_limit = 20;
	o->window_ms = 1000;
	o->token_ttl_s = 3600;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l': o->listen = optarg; break;
		case 'f': o->fixtures = optarg; break;
		case 'p': o->port_file = optarg; break;
		case 'r': o->rate_limit = number_arg("rate-limit", optarg, 0, 1000000); break;
		case 'w': o->window_ms = number_arg("window-ms", optarg, 1, 3600000); break;
		case 't': o->token_ttl_s = number_arg("token-ttl", optarg, 1, 31536000); break;
		case 'g': o->generate = number_arg("generate", optarg, 0, 10000000); break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
}

/*
 * Resolve "HOST:PORT" or "[V6]:PORT".  Returns 0 with the address in *sa
 * (and the host as given in host), or -1.
 */
static int
resolve_listen(const char *spec, struct sockaddr_storage *sa, socklen_t *salen,
    char *host, size_t hostlen)
{
	struct addrinfo	 hints, *res = NULL;
	const char	*colon, *hstart = spec, *hend;
	long long	 port;

	if (spec[0] == '[') {
		hstart = spec + 1;
		if ((hend = strchr(spec, ']')) == NULL || hend[1] != ':')
			return -1;
		colon = hend + 1;
	} else {
		if ((colon = strrchr(spec, ':')) == NULL)
			return -1;
		hend = colon;
	}
	if ((size_t)(hend - hstart) >= hostlen || hend == hstart ||
	    fhttp_parse_uint(colon + 1, 65535, &port) == -1)
		return -1;
	memcpy(host, hstart, (size_t)(hend - hstart));
	host[hend - hstart] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0 || res == NULL)
		return -1;
	memcpy(sa, res->ai_addr, res->ai_addrlen);
	*salen = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

static int
write_port_file(const char *path, unsigned port)
{
	char	 tmp[PATH_MAX];
	FILE	*f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >=
	    (int)sizeof(tmp))
		return -1;
	if ((f = fopen(tmp, "w")) == NULL)
		return -1;
	if (fprintf(f, "%u\n", port) < 0 || fclose(f) != 0) {
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, path) == -1) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static enum req_kind
classify(const struct freq *rq)
{
	if (strncmp(rq->path, "/api/", 5) == 0)
		return KIND_SM;
	if (strncmp(rq->path, "/identity/", 10) == 0)
		return KIND_IAM;
	if (strncmp(rq->path, "/__fake/", 8) == 0)
		return KIND_CTL;
	return KIND_OTHER;
}

/* Sleep ms milliseconds in short steps, waking early on shutdown. */
static void
sleep_ms(struct fsrv *srv, long ms)
{
	int64_t until = fhttp_mono_us() + (int64_t)ms * 1000;

	while (!atomic_load(&srv->stopping)) {
		int64_t		 left = until - fhttp_mono_us();
		struct timespec	 ts;

		if (left <= 0)
			break;
		if (left > 20000)
			left = 20000;
		ts.tv_sec = 0;
		ts.tv_nsec = (long)left * 1000;
		nanosleep(&ts, NULL);
	}
}

/* The SM API after admission and injection; server lock held. */
static void
sm_route(struct fsrv *srv, const struct freq *rq, struct fresp *rs)
{
	if (rq->body_too_large)
		fhttp_resp_sm_error(rs, 413, NULL, "The request body is too large.");
	else if (rq->bad_path)
		fhttp_resp_sm_error(rs, 400, NULL, "The request path is malformed.");
	else if (rq->long_path)
		fhttp_resp_sm_error(rs, 404, "not_found", "Not found");
	else if (!fiam_bearer_ok(srv->iam, rq->authorization, fhttp_wall_ms()))
		fhttp_resp_sm_error(rs, 401, "unauthorized",
		    "The access token is missing, invalid or expired.");
	else if (rq->nsegs >= 2 && strcmp(rq->segs[1], "v2") == 0)
		fv2_handle(srv, rq, rs);
	else if (rq->nsegs >= 2 && strcmp(rq->segs[1], "v1") == 0)
		fv1_handle(srv, rq, rs);
	else
		fhttp_resp_sm_error(rs, 404, "not_found", "Not found");
}

/* One SM call; rs->status 0 means "drop the connection". */
static void
serve_sm(struct fsrv *srv, const struct freq *rq, struct fresp *rs)
{
	int64_t	 arrival_us = 0;
	int	 retry_after_s = -1, status;
	long	 latency_ms;

	pthread_mutex_lock(&srv->lock);
	if (fctl_is_down(srv->ctl))
		goto drop;
	arrival_us = fhttp_mono_us();
	if (fctl_admit_sm(srv->ctl, arrival_us, &retry_after_s) == -1) {
		fhttp_resp_sm_error(rs, 429, "too_many_requests",
		    "Rate limit exceeded; retry later.");
		rs->retry_after_s = retry_after_s;
		goto log;
	}
	latency_ms = fctl_latency_ms(srv->ctl);
	if (latency_ms > 0) {
		pthread_mutex_unlock(&srv->lock);
		sleep_ms(srv, latency_ms);
		pthread_mutex_lock(&srv->lock);
		if (fctl_is_down(srv->ctl))
			goto drop;
	}
	if ((status = fctl_take_error(srv->ctl, &retry_after_s)) != 0) {
		fhttp_resp_sm_error(rs, status, NULL, "Injected error.");
		rs->retry_after_s = retry_after_s;
	} else
		sm_route(srv, rq, rs);
log:
	fctl_log(srv->ctl, true, arrival_us, rq->method, rq->path, rq->query,
	    rs->status);
	pthread_mutex_unlock(&srv->lock);
	return;
drop:
	fctl_count_dropped(srv->ctl);
	pthread_mutex_unlock(&srv->lock);
	fhttp_resp_cleanup(rs);
}

static void
serve_iam(struct fsrv *srv, const struct freq *rq, struct fresp *rs)
{
	int64_t	arrival_us = fhttp_mono_us();
	bool	down;

	pthread_mutex_lock(&srv->lock);
	if ((down = fctl_is_down(srv->ctl)))
		fctl_count_dropped(srv->ctl);
	pthread_mutex_unlock(&srv->lock);
	if (down)
		return;
	fiam_handle(srv, rq, rs);
	pthread_mutex_lock(&srv->lock);
	fctl_log(srv->ctl, false, arrival_us, rq->method, rq->path, rq->query,
	    rs->status);
	pthread_mutex_unlock(&srv->lock);
}

static enum MHD_Result
queue_response(struct MHD_Connection *conn, struct fresp *rs)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;
	char			 retry_after[24];

	if (rs->status == 0)
		return MHD_NO;
	if (rs->body != NULL) {
		resp = MHD_create_response_from_buffer(rs->body_len, rs->body,
		    MHD_RESPMEM_MUST_FREE);
		if (resp != NULL) {
			rs->body = NULL;
			rs->body_len = 0;
		}
	} else
		resp = MHD_create_response_from_buffer(0, NULL,
		    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL)
		return MHD_NO;
	if (rs->content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    rs->content_type);
	if (rs->retry_after_s >= 0) {
		snprintf(retry_after, sizeof(retry_after), "%d", rs->retry_after_s);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER,
		    retry_after);
	}
	if (rs->allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, rs->allow);
	ret = MHD_queue_response(conn, (unsigned)rs->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
on_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **req_cls)
{
	struct fsrv	*srv = cls;
	struct freq	*rq = *req_cls;
	struct fresp	 rs;
	enum req_kind	 kind;
	enum MHD_Result	 ret;

	(void)url;
	(void)version;
	if (rq == NULL)
		return MHD_NO;
	kind = classify(rq);
	if (!rq->started) {
		rq->started = true;
		rq->method = method;
		rq->host = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_HOST);
		rq->authorization = MHD_lookup_connection_value(conn,
		    MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
		if (kind == KIND_SM || kind == KIND_IAM) {
			bool down;

			pthread_mutex_lock(&srv->lock);
			if ((down = fctl_is_down(srv->ctl)))
				fctl_count_dropped(srv->ctl);
			pthread_mutex_unlock(&srv->lock);
			if (down)
				return MHD_NO;
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		if (fhttp_req_append_body(rq, upload_data, *upload_data_size) == -1)
			return MHD_NO;
		*upload_data_size = 0;
		return MHD_YES;
	}

	fhttp_resp_init(&rs);
	switch (kind) {
	case KIND_SM:
		serve_sm(srv, rq, &rs);
		break;
	case KIND_IAM:
		serve_iam(srv, rq, &rs);
		break;
	case KIND_CTL:
		fctl_handle(srv, rq, &rs);
		break;
	default:
		fhttp_resp_sm_error(&rs, 404, "not_found", "Not found");
		break;
	}
	ret = queue_response(conn, &rs);
	fhttp_resp_cleanup(&rs);
	return ret;
}

static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	(void)cls;
	(void)conn;
	return fhttp_req_new(uri);
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **req_cls,
    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)conn;
	(void)toe;
	fhttp_req_free(*req_cls);
	*req_cls = NULL;
}

static size_t
unescape_none(void *cls, struct MHD_Connection *conn, char *s)
{
	(void)cls;
	(void)conn;
	return strlen(s);
}

int
main(int argc, char **argv)
{
	struct options		 opt;
	struct fsrv		 srv;
	struct sockaddr_storage	 sa;
	socklen_t		 salen = 0;
	struct MHD_Daemon	*daemon = NULL;
	const union MHD_DaemonInfo *info;
	json_t			*api_keys = NULL;
	sigset_t		 sigs;
	char			 host[256], err[512];
	unsigned int		 flags;
	int			 sig, rc = 1;
	int64_t			 now_ms;

	parse_options(argc, argv, &opt);
	memset(&srv, 0, sizeof(srv));
	atomic_init(&srv.stopping, false);
	pthread_mutex_init(&srv.lock, NULL);
	if (sodium_init() < 0) {
		fprintf(stderr, "fake_sm: libsodium failed to initialise\n");
		return 1;
	}
	if (resolve_listen(opt.listen, &sa, &salen, host, sizeof(host)) == -1) {
		fprintf(stderr, "fake_sm: bad --listen address: %s\n", opt.listen);
		return 2;
	}

	/* Block the stop signals before any thread exists; main sigwaits. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	now_ms = fhttp_wall_ms();
	if ((srv.store = fstore_new(now_ms)) == NULL ||
	    (srv.ctl = fctl_new((int)opt.rate_limit, (int)opt.window_ms)) == NULL) {
		fprintf(stderr, "fake_sm: out of memory\n");
		goto done;
	}
	if (opt.fixtures != NULL &&
	    ffix_load(srv.store, opt.fixtures, now_ms, &api_keys, err,
	    sizeof(err)) == -1) {
		fprintf(stderr, "fake_sm: fixtures: %s\n", err);
		goto done;
	}
	if (opt.generate > 0 &&
	    ffix_generate(srv.store, opt.generate, now_ms, err, sizeof(err)) == -1) {
		fprintf(stderr, "fake_sm: --generate: %s\n", err);
		goto done;
	}
	if ((srv.iam = fiam_new(api_keys, opt.token_ttl_s, err, sizeof(err))) == NULL) {
		fprintf(stderr, "fake_sm: iam: %s\n", err);
		goto done;
	}

	flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_POLL;
	if (sa.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	daemon = MHD_start_daemon(flags, 0, NULL, NULL, on_access, &srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, &srv,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, &srv,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape_none, NULL,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)120,
	    MHD_OPTION_END);
	if (daemon == NULL) {
		fprintf(stderr, "fake_sm: cannot listen on %s\n", opt.listen);
		goto done;
	}
	if ((info = MHD_get_daemon_info(daemon, MHD_DAEMON_INFO_BIND_PORT)) == NULL ||
	    info->port == 0) {
		fprintf(stderr, "fake_sm: cannot learn the bound port\n");
		goto done;
	}
	srv.port = info->port;
	if (opt.port_file != NULL && write_port_file(opt.port_file, srv.port) == -1) {
		fprintf(stderr, "fake_sm: cannot write %s: %s\n", opt.port_file,
		    strerror(errno));
		goto done;
	}
	fprintf(stderr, "fake_sm listening on %s%s%s:%u\n",
	    sa.ss_family == AF_INET6 ? "[" : "", host,
	    sa.ss_family == AF_INET6 ? "]" : "", srv.port);
	fflush(stderr);

	while (sigwait(&sigs, &sig) != 0)
		;
	atomic_store(&srv.stopping, true);
	rc = 0;
done:
	if (daemon != NULL)
		MHD_stop_daemon(daemon);
	json_decref(api_keys);
	fiam_free(srv.iam);
	fctl_free(srv.ctl);
	fstore_free(srv.store);
	pthread_mutex_destroy(&srv.lock);
	return rc;
}
