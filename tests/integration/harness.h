/*
 * harness: helpers for integration tests that run the real smproxy binary
 * (from $SMPROXY_BIN) against the fake upstream (harness_fake.h) and talk
 * to it over HTTP with libcurl.
 *
 * Each proxy runs in a state folder under $SMPROXY_TEST_TMP holding its
 * API key file, cache key, cache database and log (smproxy.log).
 */
#ifndef SMPROXY_HARNESS_H
#define SMPROXY_HARNESS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct proxy_opts {
	const char		*upstream;	/* base URL of SM and IAM */
	const char		*dir;		/* reuse this state folder; NULL: a new one */
	const char *const	*args;		/* extra flags, NULL-terminated, or NULL */
	const char *const	*env;		/* extra "K=V", NULL-terminated, or NULL */
	bool			 expect_fail;	/* don't wait for "listening" */
};

struct proxy {
	pid_t	 pid;
	int	 port;
	int	 admin_port;
	char	 dir[512];
	char	 url[64];
	char	 log_path[600];
	int	 exit_status;		/* after proxy_stop/proxy_wait */
	long	 log_offset;		/* where this run's log starts */
};

/* Make a fresh folder under $SMPROXY_TEST_TMP (or /tmp); malloc'd path. */
char	*harness_mkdtemp(const char *name);

/* Start smproxy; NULL on failure (the log is printed to stderr). */
struct proxy *proxy_start(const struct proxy_opts *o);
/* SIGTERM and wait (bounded, then SIGKILL); returns the exit status or -1. */
int	 proxy_stop(struct proxy *p);
void	 proxy_kill9(struct proxy *p);
/* Wait for a proxy started with expect_fail; returns its exit status. */
int	 proxy_wait(struct proxy *p, int timeout_ms);
void	 proxy_free(struct proxy *p);
/* The whole log so far (malloc'd). */
char	*proxy_log(const struct proxy *p);

struct http_resp {
	long	 status;
	char	*body;
	size_t	 len;
	char	 content_type[128];
	char	 retry_after[32];
	char	 cache[32];		/* X-Smproxy-Cache */
	char	 content_encoding[32];
};

/*
 * One HTTP request.  headers: NULL-terminated "Name: value" list or NULL.
 * body may be NULL.  Returns 0 when an HTTP answer arrived (any status),
 * -1 on a transport error.
 */
int	 http_do(const char *method, const char *url, const char *body,
	    const char *const *headers, struct http_resp *out);
int	 http_get(const char *url, struct http_resp *out);
void	 http_resp_free(struct http_resp *r);
/* Parse the body as JSON (NULL if it is not). */
json_t	*http_json(const struct http_resp *r);

/* True when body is an SM-shaped error: non-empty errors[] with code and
 * message, status_code == status, and a trace. */
bool	 is_sm_error(const struct http_resp *r, long status);

/* Monotonic milliseconds. */
long long harness_now_ms(void);

/* Run fn(arg, i) for i in [0, n) on `threads` threads; waits for all. */
void	 harness_parallel(int threads, int n, void (*fn)(void *arg, int i), void *arg);

#endif
