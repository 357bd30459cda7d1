/*
 * smproxy: a caching, quota-sharing proxy for IBM Cloud Secrets Manager.
 *
 * main() loads the configuration, opens the encrypted cache, starts the
 * scheduler thread and the HTTP server, then waits for signals in the main
 * thread: SIGHUP reloads clients, policies and TTL overrides; SIGTERM and
 * SIGINT drain in-flight requests and exit 0.
 *
 * Thread rules: signals are blocked in every thread and taken with
 * sigwait() here, so no handler ever runs inside another thread's code.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "server/auth.h"
#include "server/http.h"
#include "server/log.h"
#include "server/sched.h"
#include "store/store.h"

extern char **environ;

/* jansson parses secret payloads; wipe its buffers before they go back. */
static void *
json_wipe_malloc(size_t n)
{
	return malloc(n);
}

static void
json_wipe_free(void *p)
{
	if (p == NULL)
		return;
	sodium_memzero(p, malloc_usable_size(p));
	free(p);
}

static void
harden_process(void)
{
	struct rlimit rl = { 0, 0 };

	/* No core dumps: they would hold decrypted secrets and keys. */
	setrlimit(RLIMIT_CORE, &rl);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

static int
print_errors(const struct cfg_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "smproxy: %s\n", errs->msgs[i]);
	return 2;
}

/*
 * A key file shared with no one but this process's own group (what a
 * Kubernetes Secret volume with fsGroup gives: 0440 root:<our gid>) is
 * not worth a warning at every start.
 */
static bool
only_own_group(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && (st.st_mode & 007) == 0 &&
	    st.st_gid == getegid();
}

/* Load (or, for an in-memory cache, make) the cache key. */
static int
load_cache_keys(const struct cfg *cfg, uint8_t **key, uint8_t **old_key)
{
	char why[512];
	bool too_open = false;

	*key = *old_key = NULL;
	if (cfg->cache_key_file == NULL) {
		*key = sodium_malloc(STORE_KEY_BYTES);
		if (*key == NULL)
			return -1;
		randombytes_buf(*key, STORE_KEY_BYTES);
		return 0;
	}
	if (store_key_load(cfg->cache_key_file, key, &too_open, why, sizeof(why)) != 0) {
		log_kv(LOG_ERROR, "cannot load the cache key", "option",
		    "SMPROXY_CACHE_KEY_FILE (--cache-key-file)", "reason", why, NULL);
		return -1;
	}
	if (too_open && !only_own_group(cfg->cache_key_file))
		log_kv(LOG_WARN, "cache key file is readable by group or others; chmod 600 it",
		    "file", cfg->cache_key_file, NULL);
	if (cfg->cache_old_key_file != NULL) {
		if (store_key_load(cfg->cache_old_key_file, old_key, &too_open, why,
		    sizeof(why)) != 0) {
			log_kv(LOG_ERROR, "cannot load the old cache key", "option",
			    "SMPROXY_CACHE_OLD_KEY_FILE (--cache-old-key-file)", "reason", why, NULL);
			return -1;
		}
	}
	return 0;
}

static struct store *
open_store(const struct cfg *cfg)
{
	struct store_opts o;
	struct store_open_report rep;
	struct store *st = NULL;
	uint8_t *key = NULL, *old_key = NULL;
	char why[512], n[32];
	int rc;

	if (load_cache_keys(cfg, &key, &old_key) != 0)
		goto done;
	memset(&o, 0, sizeof(o));
	memset(&rep, 0, sizeof(rep));
	o.path = cfg->cache_path;
	o.key = key;
	o.old_key = old_key;
	o.reset_on_key_mismatch = cfg->cache_reset_on_key_mismatch;
	o.max_entries = cfg->cache_max_entries;
	o.max_bytes = cfg->cache_max_bytes;
	o.max_entry_bytes = cfg->cache_max_entry_bytes;
	why[0] = '\0';
	rc = store_open(&st, &o, sched_wall_ms(), &rep, why, sizeof(why));
	if (rc != STORE_OK) {
		log_kv(LOG_ERROR, "cannot open the cache", "path", cfg->cache_path,
		    "reason", why, NULL);
		st = NULL;
		goto done;
	}
	if (rep.quarantined)
		log_kv(LOG_ERROR, rep.key_mismatch ?
		    "cache key did not match; old cache moved aside, starting empty" :
		    "cache database was unusable; moved aside, starting empty",
		    "moved_to", rep.quarantine_path, "reason", why, NULL);
	snprintf(n, sizeof(n), "%lld", (long long)rep.entries);
	log_kv(LOG_INFO, "cache open", "path", cfg->cache_path, "entries", n,
	    "created", rep.created ? "true" : "false", NULL);
	if (rep.resealed > 0) {
		snprintf(n, sizeof(n), "%lld", (long long)rep.resealed);
		log_kv(LOG_INFO, "cache rows re-sealed with the new key", "rows", n, NULL);
	}
done:
	store_key_free(key);
	store_key_free(old_key);
	return st;
}

static int
check_only(const struct cfg *cfg)
{
	uint8_t *key = NULL, *old_key = NULL;
	int rc = load_cache_keys(cfg, &key, &old_key);

	store_key_free(key);
	store_key_free(old_key);
	if (rc != 0)
		return 2;
	printf("smproxy: configuration OK\n");
	return 0;
}

/*
 * SIGHUP: load the whole configuration again; if it is good, new clients,
 * policies and TTL overrides take effect and TLS files are re-read.  Other
 * options need a restart.  A bad file changes nothing.
 */
static void
reload(int argc, char **argv, struct auth *auth, struct sched *sched,
    struct http *http)
{
	struct cfg *fresh = calloc(1, sizeof(*fresh));
	struct cfg_errors errs = { NULL, 0 };
	char why[512];
	size_t i;
	bool fresh_has_tls;

	if (fresh == NULL)
		return;
	if (cfg_load(fresh, argc, argv, environ, &errs) != 0) {
		for (i = 0; i < errs.n; i++)
			log_kv(LOG_ERROR, "reload rejected; keeping the running configuration",
			    "problem", errs.msgs[i], NULL);
		cfg_errors_free(&errs);
		cfg_free(fresh);
		free(fresh);
		return;
	}
	cfg_errors_free(&errs);
	fresh_has_tls = fresh->tls_cert_file != NULL;
	auth_reload(auth, fresh);
	sched_set_ttls(sched, fresh);	/* takes fresh */
	if (http_reload_tls(http, why, sizeof(why)) != 0)
		log_kv(LOG_ERROR, "TLS reload failed; keeping the old certificate",
		    "reason", why, NULL);
	else if (fresh_has_tls)
		log_kv(LOG_INFO, "TLS certificate reloaded", NULL);
	log_kv(LOG_INFO, "configuration reloaded", NULL);
}

static void
drain(struct http *h, const struct cfg *cfg)
{
	int64_t until = sched_now_ms() + cfg->drain_timeout_s * 1000;
	char n[32];

	log_kv(LOG_INFO, "draining: no new connections", NULL);
	http_quiesce(h);
	while (http_inflight(h) > 0 && sched_now_ms() < until)
		usleep(20000);
	if (http_inflight(h) > 0) {
		snprintf(n, sizeof(n), "%lld", (long long)http_inflight(h));
		log_kv(LOG_WARN, "drain timeout; answering the rest with 503",
		    "requests", n, NULL);
	}
}

int
main(int argc, char **argv)
{
	struct cfg cfg;
	struct cfg_errors errs = { NULL, 0 };
	struct store *store = NULL;
	struct sched *sched = NULL;
	struct auth *auth = NULL;
	struct http *http = NULL;
	sigset_t sigs;
	char why[512], addr[300];
	int sig, rc = 1;

	harden_process();
	if (sodium_init() < 0) {
		fprintf(stderr, "smproxy: libsodium failed to initialise\n");
		return 1;
	}
	json_set_alloc_funcs(json_wipe_malloc, json_wipe_free);
	memset(&cfg, 0, sizeof(cfg));
	if (cfg_load(&cfg, argc, argv, environ, &errs) != 0 && !cfg.help && !cfg.version) {
		rc = print_errors(&errs);
		goto done;
	}
	if (cfg.help) {
		cfg_usage(stdout);
		rc = 0;
		goto done;
	}
	if (cfg.version) {
		printf("smproxy %s\n", SMPROXY_VERSION);
		rc = 0;
		goto done;
	}
	log_set_level((enum log_level)cfg.log_level);
	if (cfg.check) {
		rc = check_only(&cfg);
		goto done;
	}

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	curl_global_init(CURL_GLOBAL_DEFAULT);

	store = open_store(&cfg);
	if (store == NULL)
		goto done;
	auth = auth_new(&cfg, why, sizeof(why));
	if (auth == NULL) {
		log_kv(LOG_ERROR, "cannot set up client authentication", "reason", why, NULL);
		goto done;
	}
	sched = sched_new(&cfg, store);
	if (sched == NULL || sched_start(sched) != 0) {
		log_kv(LOG_ERROR, "cannot start the scheduler", NULL);
		goto done;
	}
	http = http_new(&cfg, sched, store, auth);
	if (http == NULL || http_start(http, why, sizeof(why)) != 0) {
		log_kv(LOG_ERROR, "cannot start the HTTP server", "reason", http ? why : "out of memory", NULL);
		goto done;
	}
	snprintf(addr, sizeof(addr), strchr(cfg.listen_host, ':') ? "[%s]:%d" : "%s:%d",
	    cfg.listen_host, http_port(http));
	log_kv(LOG_INFO, "listening", "addr", addr, "upstream", cfg.upstream_url,
	    "auth", cfg.auth == CFG_AUTH_LOCAL ? "local" : cfg.auth == CFG_AUTH_IAM ? "iam" : "none",
	    "version", SMPROXY_VERSION, NULL);
	if (cfg.admin_listen != NULL) {
		snprintf(addr, sizeof(addr), strchr(cfg.admin_host, ':') ? "[%s]:%d" : "%s:%d",
		    cfg.admin_host, http_admin_port(http));
		log_kv(LOG_INFO, "admin listening", "addr", addr, NULL);
	}

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(argc, argv, auth, sched, http);
			continue;
		}
		break;
	}
	drain(http, &cfg);
	rc = 0;
done:
	if (sched != NULL)
		sched_stop(sched);	/* answers whoever still waits */
	if (http != NULL)
		http_free(http);
	sched_free(sched);
	auth_free(auth);
	if (store != NULL) {
		store_close(store);
		log_kv(LOG_INFO, "stopped", NULL);
	}
	cfg_free(&cfg);
	cfg_errors_free(&errs);
	curl_global_cleanup();
	return rc;
}
