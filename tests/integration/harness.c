/*
 * harness: start the real smproxy and drive it over HTTP (see harness.h).
 */
#include "tests/integration/harness.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

long long
harness_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
harness_mkdtemp(const char *name)
{
	const char *base = getenv("SMPROXY_TEST_TMP");
	char path[600];

	if (base == NULL || *base == '\0')
		base = "/tmp";
	mkdir(base, 0700);
	snprintf(path, sizeof(path), "%s/%s-XXXXXX", base, name);
	if (mkdtemp(path) == NULL)
		return NULL;
	return strdup(path);
}

static int
write_file(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	size_t len = strlen(text);

	if (fd < 0)
		return -1;
	if (write(fd, text, len) != (ssize_t)len) {
		close(fd);
		return -1;
	}
	return close(fd);
}

char *
proxy_log(const struct proxy *p)
{
	FILE *f = fopen(p->log_path, "r");
	char *buf;
	long n;

	if (f == NULL)
		return strdup("");
	/* Only this run's lines: a reused folder keeps earlier runs' logs. */
	fseek(f, 0, SEEK_END);
	n = ftell(f) - p->log_offset;
	if (n < 0)
		n = 0;
	fseek(f, p->log_offset, SEEK_SET);
	buf = calloc(1, (size_t)n + 1);
	if (buf != NULL && fread(buf, 1, (size_t)n, f) != (size_t)n)
		buf[0] = '\0';
	fclose(f);
	return buf;
}

/* Find "msg=<what> addr=HOST:PORT" in the log; returns the port or 0. */
static int
port_from_log(const char *log, const char *what)
{
	char needle[64];
	const char *p, *colon;

	snprintf(needle, sizeof(needle), "msg=\"%s\" addr=", what);
	p = strstr(log, needle);
	if (p == NULL) {
		snprintf(needle, sizeof(needle), "msg=%s addr=", what);
		p = strstr(log, needle);
	}
	if (p == NULL)
		return 0;
	p += strlen(needle);
	colon = strchr(p, ' ');
	if (colon == NULL)
		colon = p + strlen(p);
	while (colon > p && colon[-1] != ':')
		colon--;
	return atoi(colon);
}

struct proxy *
proxy_start(const struct proxy_opts *o)
{
	struct proxy *p = calloc(1, sizeof(*p));
	const char *bin = getenv("SMPROXY_BIN");
	char apikey[600], cachekey[600], db[600];
	const char *argv[64];
	int argc = 0, i, fd;
	char *dir = NULL;
	long long until;

	if (p == NULL || bin == NULL)
		goto fail;
	if (o->dir != NULL) {
		snprintf(p->dir, sizeof(p->dir), "%s", o->dir);
	} else {
		dir = harness_mkdtemp("proxy");
		if (dir == NULL)
			goto fail;
		snprintf(p->dir, sizeof(p->dir), "%s", dir);
		free(dir);
	}
	snprintf(apikey, sizeof(apikey), "%s/upstream.apikey", p->dir);
	snprintf(cachekey, sizeof(cachekey), "%s/cache.key", p->dir);
	snprintf(db, sizeof(db), "%s/cache.db", p->dir);
	snprintf(p->log_path, sizeof(p->log_path), "%s/smproxy.log", p->dir);
	if (access(apikey, F_OK) != 0)
		write_file(apikey, "demo-upstream-key\n", 0600);
	if (access(cachekey, F_OK) != 0) {
		unsigned char raw[32];
		char b64[64];
		static const char tbl[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		int rfd = open("/dev/urandom", O_RDONLY), j, k = 0;
		if (rfd < 0 || read(rfd, raw, sizeof(raw)) != (ssize_t)sizeof(raw))
			goto fail;
		close(rfd);
		for (j = 0; j < 30; j += 3) {
			unsigned v = (unsigned)raw[j] << 16 | (unsigned)raw[j + 1] << 8 | raw[j + 2];
			b64[k++] = tbl[v >> 18 & 63];
			b64[k++] = tbl[v >> 12 & 63];
			b64[k++] = tbl[v >> 6 & 63];
			b64[k++] = tbl[v & 63];
		}
		{
			unsigned v = (unsigned)raw[30] << 16 | (unsigned)raw[31] << 8;
			b64[k++] = tbl[v >> 18 & 63];
			b64[k++] = tbl[v >> 12 & 63];
			b64[k++] = tbl[v >> 6 & 63];
			b64[k++] = '=';
		}
		b64[k++] = '\n';
		b64[k] = '\0';
		write_file(cachekey, b64, 0600);
	}
	{
		struct stat st;
		p->log_offset = stat(p->log_path, &st) == 0 ? (long)st.st_size : 0;
	}
	argv[argc++] = bin;
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:0";
	argv[argc++] = "--upstream-url";
	argv[argc++] = o->upstream;
	argv[argc++] = "--iam-url";
	argv[argc++] = o->upstream;
	argv[argc++] = "--api-key-file";
	argv[argc++] = apikey;
	argv[argc++] = "--cache-path";
	argv[argc++] = db;
	argv[argc++] = "--cache-key-file";
	argv[argc++] = cachekey;
	argv[argc++] = "--auth";
	argv[argc++] = "none";
	for (i = 0; o->args != NULL && o->args[i] != NULL && argc < 62; i++)
		argv[argc++] = o->args[i];
	argv[argc] = NULL;

	p->pid = fork();
	if (p->pid < 0)
		goto fail;
	if (p->pid == 0) {
		/* Never outlive a test that failed before proxy_stop(). */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, STDERR_FILENO);
			dup2(fd, STDOUT_FILENO);
			close(fd);
		}
		for (i = 0; o->env != NULL && o->env[i] != NULL; i++)
			putenv((char *)o->env[i]);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	if (o->expect_fail)
		return p;
	until = harness_now_ms() + 15000;
	while (harness_now_ms() < until) {
		char *log = proxy_log(p);
		int status;

		p->port = port_from_log(log, "listening");
		p->admin_port = port_from_log(log, "admin listening");
		free(log);
		if (p->port > 0) {
			snprintf(p->url, sizeof(p->url), "http://127.0.0.1:%d", p->port);
			return p;
		}
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			break;
		}
		usleep(10000);
	}
	{
		char *log = proxy_log(p);
		fprintf(stderr, "smproxy did not start; its log:\n%s\n", log);
		free(log);
	}
fail:
	if (p != NULL && p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
	}
	free(p);
	return NULL;
}

int
proxy_wait(struct proxy *p, int timeout_ms)
{
	long long until = harness_now_ms() + timeout_ms;
	int status;

	while (p->pid > 0 && harness_now_ms() < until) {
		if (waitpid(p->pid, &status, WNOHANG) == p->pid) {
			p->pid = 0;
			p->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
			return p->exit_status;
		}
		usleep(5000);
	}
	return -1;
}

int
proxy_stop(struct proxy *p)
{
	int rc;

	if (p == NULL || p->pid <= 0)
		return -1;
	kill(p->pid, SIGTERM);
	rc = proxy_wait(p, 30000);
	if (rc < 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = 0;
	}
	return rc;
}

void
proxy_kill9(struct proxy *p)
{
	if (p == NULL || p->pid <= 0)
		return;
	kill(p->pid, SIGKILL);
	waitpid(p->pid, NULL, 0);
	p->pid = 0;
}

void
proxy_free(struct proxy *p)
{
	if (p == NULL)
		return;
	if (p->pid > 0)
		proxy_stop(p);
	free(p);
}

/* ---- HTTP client ---- */

struct body {
	char	*data;
	size_t	 len;
};

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct body *b = arg;
	size_t n = size * nmemb;
	char *p = realloc(b->data, b->len + n + 1);

	if (p == NULL)
		return 0;
	memcpy(p + b->len, ptr, n);
	b->len += n;
	p[b->len] = '\0';
	b->data = p;
	return n;
}

static void
header_value(const char *line, size_t n, const char *name, char *dst, size_t dstlen)
{
	size_t nl = strlen(name), vlen;
	const char *v;

	if (n <= nl + 1 || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
		return;
	v = line + nl + 1;
	while (*v == ' ')
		v++;
	vlen = n - (size_t)(v - line);
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n'))
		vlen--;
	if (vlen >= dstlen)
		vlen = dstlen - 1;
	memcpy(dst, v, vlen);
	dst[vlen] = '\0';
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct http_resp *r = arg;
	size_t n = size * nmemb;

	header_value(ptr, n, "Content-Type", r->content_type, sizeof(r->content_type));
	header_value(ptr, n, "Retry-After", r->retry_after, sizeof(r->retry_after));
	header_value(ptr, n, "X-Smproxy-Cache", r->cache, sizeof(r->cache));
	header_value(ptr, n, "Content-Encoding", r->content_encoding, sizeof(r->content_encoding));
	return n;
}

int
http_do(const char *method, const char *url, const char *body,
    const char *const *headers, struct http_resp *out)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	struct body b = { NULL, 0 };
	CURLcode rc;
	int i;

	memset(out, 0, sizeof(*out));
	if (c == NULL)
		return -1;
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		h = curl_slist_append(h, headers[i]);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PATH_AS_IS, 1L);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	out->body = b.data != NULL ? b.data : strdup("");
	out->len = b.len;
	return rc == CURLE_OK ? 0 : -1;
}

int
http_get(const char *url, struct http_resp *out)
{
	return http_do("GET", url, NULL, NULL, out);
}

void
http_resp_free(struct http_resp *r)
{
	free(r->body);
	r->body = NULL;
}

json_t *
http_json(const struct http_resp *r)
{
	return json_loadb(r->body, r->len, 0, NULL);
}

bool
is_sm_error(const struct http_resp *r, long status)
{
	json_t *j = http_json(r), *errs, *e0;
	bool ok = false;

	if (j == NULL)
		return false;
	errs = json_object_get(j, "errors");
	e0 = json_array_get(errs, 0);
	ok = r->status == status &&
	    strncmp(r->content_type, "application/json", 16) == 0 &&
	    json_is_object(e0) &&
	    json_is_string(json_object_get(e0, "code")) &&
	    json_string_length(json_object_get(e0, "code")) > 0 &&
	    json_is_string(json_object_get(e0, "message")) &&
	    json_string_length(json_object_get(e0, "message")) > 0 &&
	    json_integer_value(json_object_get(j, "status_code")) == status &&
	    json_is_string(json_object_get(j, "trace")) &&
	    json_string_length(json_object_get(j, "trace")) == 36;
	json_decref(j);
	return ok;
}

struct par {
	int	 n;
	int	 next;
	pthread_mutex_t lock;
	void	(*fn)(void *, int);
	void	*arg;
};

static void *
par_run(void *arg)
{
	struct par *p = arg;
	int i;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		i = p->next++;
		pthread_mutex_unlock(&p->lock);
		if (i >= p->n)
			return NULL;
		p->fn(p->arg, i);
	}
}

void
harness_parallel(int threads, int n, void (*fn)(void *arg, int i), void *arg)
{
	struct par p = { n, 0, PTHREAD_MUTEX_INITIALIZER, fn, arg };
	pthread_t *t = calloc((size_t)threads, sizeof(*t));
	int i;

	for (i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, par_run, &p);
	for (i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	free(t);
}
