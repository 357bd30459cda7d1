/*
 * harness_fake: the fake SM upstream as seen from integration tests.
 *
 * The fake is a child process.  It writes its port to a file (temp file
 * then rename, so a partial read is impossible) once it is listening; we
 * poll for that file and for the child exiting early, whichever comes
 * first.  The child asks for SIGKILL when its parent dies, so a test that
 * crashes or fails an assertion mid-way never leaves a fake behind (one
 * would also hold ctest's output pipe open).  Control and log calls are
 * plain blocking libcurl requests.
 *
 * Thread rules: one struct fake per test thread; curl_global_init runs on
 * the first fake_start().
 */
#include "tests/integration/harness_fake.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define START_TIMEOUT_MS	10000
#define STOP_TIMEOUT_MS		5000
#define MAX_ARGS		64

struct fake {
	pid_t	 pid;		/* 0 once reaped */
	int	 port;
	char	 url[64];
	char	 dir[PATH_MAX];
	char	 port_file[PATH_MAX + 16];
	char	*token;		/* for fake_api(), fetched on first use */
};

struct buf {
	char	*data;
	size_t	 len;
};

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* mkdir -p; 0 or -1. */
static int
make_dirs(const char *path)
{
	char	 tmp[PATH_MAX];
	char	*p;

	if (snprintf(tmp, sizeof(tmp), "%s", path) >= (int)sizeof(tmp))
		return -1;
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	if (mkdir(tmp, 0700) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

/* Read the port file; the port, or 0 if it is not there yet. */
static int
read_port(const char *path)
{
	FILE	*f = fopen(path, "r");
	int	 port = 0;

	if (f == NULL)
		return 0;
	if (fscanf(f, "%d", &port) != 1 || port <= 0 || port > 65535)
		port = 0;
	fclose(f);
	return port;
}

/* Wait for the child; SIGKILL it after timeout_ms.  A fake that exits
 * with a failure (e.g. a sanitizer report) is worth a line on stderr. */
static void
reap(struct fake *f, long timeout_ms)
{
	long	waited = 0;
	int	status = 0;

	while (f->pid > 0) {
		pid_t r = waitpid(f->pid, &status, WNOHANG);

		if (r == f->pid || (r == -1 && errno == ECHILD)) {
			if (r == f->pid && WIFEXITED(status) &&
			    WEXITSTATUS(status) != 0)
				fprintf(stderr, "harness_fake: fake_sm exited with "
				    "status %d\n", WEXITSTATUS(status));
			f->pid = 0;
			break;
		}
		if (waited >= timeout_ms) {
			fprintf(stderr, "harness_fake: fake_sm ignored SIGTERM; "
			    "killing it\n");
			kill(f->pid, SIGKILL);
			waitpid(f->pid, NULL, 0);
			f->pid = 0;
			break;
		}
		sleep_ms(10);
		waited += 10;
	}
}

struct fake *
fake_start(const char *fixtures_path, const char *extra_args)
{
	static bool	 curl_ready;
	struct fake	*f;
	const char	*bin = getenv("FAKE_SM_BIN");
	const char	*base = getenv("SMPROXY_TEST_TMP");
	char		*argv[MAX_ARGS], *extra = NULL, *save = NULL, *tok;
	int		 argc = 0;
	long		 waited;
	pid_t		 parent;

	if (bin == NULL || bin[0] == '\0') {
		fprintf(stderr, "harness_fake: FAKE_SM_BIN is not set\n");
		return NULL;
	}
	if (base == NULL || base[0] == '\0')
		base = "/tmp";
	if (!curl_ready) {
		curl_global_init(CURL_GLOBAL_DEFAULT);
		curl_ready = true;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	if (make_dirs(base) == -1 ||
	    snprintf(f->dir, sizeof(f->dir), "%s/fake-XXXXXX", base) >=
	    (int)sizeof(f->dir) || mkdtemp(f->dir) == NULL) {
		fprintf(stderr, "harness_fake: cannot make a temp dir under %s: %s\n",
		    base, strerror(errno));
		free(f);
		return NULL;
	}
	snprintf(f->port_file, sizeof(f->port_file), "%s/port", f->dir);

	argv[argc++] = (char *)bin;
	argv[argc++] = "--listen";
	argv[argc++] = "127.0.0.1:0";
	argv[argc++] = "--port-file";
	argv[argc++] = f->port_file;
	if (fixtures_path != NULL) {
		argv[argc++] = "--fixtures";
		argv[argc++] = (char *)fixtures_path;
	}
	if (extra_args != NULL && (extra = strdup(extra_args)) != NULL) {
		for (tok = strtok_r(extra, " ", &save); tok != NULL &&
		    argc < MAX_ARGS - 1; tok = strtok_r(NULL, " ", &save))
			argv[argc++] = tok;
	}
	argv[argc] = NULL;

	fflush(NULL);
	parent = getpid();
	f->pid = fork();
	if (f->pid == 0) {
		/* Die with the test process, even if it crashes mid-test. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		execv(bin, argv);
		fprintf(stderr, "harness_fake: exec %s: %s\n", bin, strerror(errno));
		_exit(127);
	}
	free(extra);
	if (f->pid < 0) {
		fprintf(stderr, "harness_fake: fork: %s\n", strerror(errno));
		f->pid = 0;
		fake_stop(f);
		return NULL;
	}
	for (waited = 0; waited < START_TIMEOUT_MS; waited += 10) {
		int status;

		if ((f->port = read_port(f->port_file)) > 0)
			break;
		if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
			fprintf(stderr, "harness_fake: fake_sm exited early (status %d)\n",
			    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
			f->pid = 0;
			fake_stop(f);
			return NULL;
		}
		sleep_ms(10);
	}
	if (f->port == 0) {
		fprintf(stderr, "harness_fake: fake_sm did not start within %d ms\n",
		    START_TIMEOUT_MS);
		fake_stop(f);
		return NULL;
	}
	snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d", f->port);
	return f;
}

void
fake_stop(struct fake *f)
{
	if (f == NULL)
		return;
	if (f->pid > 0) {
		kill(f->pid, SIGTERM);
		reap(f, STOP_TIMEOUT_MS);
	}
	unlink(f->port_file);
	rmdir(f->dir);
	free(f->token);
	free(f);
}

void
fake_kill9(struct fake *f)
{
	if (f == NULL || f->pid <= 0)
		return;
	kill(f->pid, SIGKILL);
	waitpid(f->pid, NULL, 0);
	f->pid = 0;
}

int
fake_port(const struct fake *f)
{
	return f->port;
}

const char *
fake_url(const struct fake *f)
{
	return f->url;
}

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buf	*b = userdata;
	size_t		 n = size * nmemb;
	char		*nd = realloc(b->data, b->len + n + 1);

	if (nd == NULL)
		return 0;
	b->data = nd;
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/*
 * One request to the fake, with a bearer token and a JSON body when token
 * is not NULL.  Returns the status (or -1) and, when body is not NULL, the
 * response body in *body (malloc'd, NUL-terminated, caller frees; NULL
 * when empty or on error).
 */
static int
request(struct fake *f, const char *method, const char *path,
    const char *post_body, const char *token, char **body)
{
	CURL			*c;
	struct curl_slist	*hdrs = NULL;
	struct buf		 b = { NULL, 0 };
	char			 url[2048], auth[4096];
	long			 status = -1;

	if (body != NULL)
		*body = NULL;
	if (snprintf(url, sizeof(url), "%s%s", f->url, path) >= (int)sizeof(url))
		return -1;
	if ((c = curl_easy_init()) == NULL)
		return -1;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 30000L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (post_body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body);
	} else if (strcmp(method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	}
	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
		hdrs = curl_slist_append(hdrs, auth);
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	else
		status = -1;
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	if (body != NULL && status != -1)
		*body = b.data;
	else
		free(b.data);
	return (int)status;
}

int
fake_ctl(struct fake *f, const char *method, const char *path_and_query)
{
	return request(f, method, path_and_query, NULL, NULL, NULL);
}

static json_t *
get_json(struct fake *f, const char *path)
{
	char	*body = NULL;
	json_t	*j = NULL;

	if (request(f, "GET", path, NULL, NULL, &body) == 200 && body != NULL)
		j = json_loads(body, 0, NULL);
	free(body);
	return j;
}

json_t *
fake_log(struct fake *f)
{
	return get_json(f, "/__fake/log");
}

int
fake_count(struct fake *f, const char *method, const char *path_prefix)
{
	json_t	*log = fake_log(f), *e;
	size_t	 i;
	int	 n = 0;

	if (log == NULL)
		return -1;
	json_array_foreach(json_object_get(log, "requests"), i, e) {
		const char *kind = json_string_value(json_object_get(e, "kind"));
		const char *m = json_string_value(json_object_get(e, "method"));
		const char *p = json_string_value(json_object_get(e, "path"));

		if (kind == NULL || strcmp(kind, "sm") != 0 || m == NULL || p == NULL)
			continue;
		if (method != NULL && strcmp(method, m) != 0)
			continue;
		if (path_prefix != NULL &&
		    strncmp(p, path_prefix, strlen(path_prefix)) != 0)
			continue;
		n++;
	}
	json_decref(log);
	return n;
}

static int
stat_value(struct fake *f, const char *key)
{
	json_t	*stats = get_json(f, "/__fake/stats");
	json_t	*v = stats ? json_object_get(stats, key) : NULL;
	int	 n = json_is_integer(v) ? (int)json_integer_value(v) : -1;

	json_decref(stats);
	return n;
}

int
fake_max_in_window(struct fake *f)
{
	return stat_value(f, "max_in_window");
}

int
fake_count_429(struct fake *f)
{
	return stat_value(f, "count_429");
}

int
fake_iam_calls(struct fake *f)
{
	return stat_value(f, "iam_calls");
}

char *
fake_token(struct fake *f, const char *api_key)
{
	CURL		*c;
	char		*form = NULL, *esc = NULL, *tok = NULL;
	char		*body = NULL;
	json_t		*j = NULL;
	int		 status;

	if ((c = curl_easy_init()) == NULL)
		return NULL;
	esc = curl_easy_escape(c, api_key ? api_key : "demo-upstream-key", 0);
	curl_easy_cleanup(c);
	if (esc == NULL)
		return NULL;
	if (asprintf(&form, "grant_type=urn%%3Aibm%%3Aparams%%3Aoauth%%3A"
	    "grant-type%%3Aapikey&apikey=%s&response_type=cloud_iam", esc) == -1)
		form = NULL;
	curl_free(esc);
	if (form == NULL)
		return NULL;
	status = request(f, "POST", "/identity/token", form, NULL, &body);
	free(form);
	if (status == 200 && body != NULL &&
	    (j = json_loads(body, 0, NULL)) != NULL &&
	    json_string_value(json_object_get(j, "access_token")) != NULL)
		tok = strdup(json_string_value(json_object_get(j, "access_token")));
	json_decref(j);
	free(body);
	return tok;
}

int
fake_api(struct fake *f, const char *method, const char *path,
    const char *body, json_t **json)
{
	char	*answer = NULL;
	int	 status;

	if (json != NULL)
		*json = NULL;
	if (f->token == NULL && (f->token = fake_token(f, NULL)) == NULL)
		return -1;
	status = request(f, method, path, body, f->token, &answer);
	if (json != NULL && answer != NULL)
		*json = json_loads(answer, 0, NULL);
	free(answer);
	return status;
}

const char *
fake_fixtures_default(void)
{
	static char	 path[PATH_MAX];
	const char	*src = getenv("SMPROXY_SOURCE_DIR");

	if (src == NULL || src[0] == '\0')
		src = ".";
	snprintf(path, sizeof(path), "%s/tests/fake/fixtures/default.json", src);
	return path;
}
