/*
 * auth: client identity and policy (see auth.h).
 *
 * The policy snapshot is an immutable copy of the configured clients with
 * a reference count; auth->current points at the newest and is swapped
 * under a mutex on SIGHUP.  A request holds a reference from
 * auth_identify() to the end of the request, so a reload never frees a
 * client someone is still checking against.
 *
 * In iam mode the JWKS is fetched from SMPROXY_IAM_URL/identity/keys at
 * start (blocking, bounded) and again, at most every 30 s, when a token
 * names a key we do not know (in a short-lived thread, so no HTTP thread
 * ever waits for IAM).
 *
 * Thread rules: see auth.h.
 */
#include "server/auth.h"

#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "api/route.h"
#include "api/smerr.h"
#include "config/config.h"
#include "server/apikey.h"
#include "server/jwks.h"
#include "server/jwt.h"
#include "server/log.h"
#include "server/metrics.h"

#define LEEWAY_S		30
#define JWKS_REFETCH_MS		30000
#define THROTTLE_FAILURES	10
#define THROTTLE_WINDOW_MS	60000
#define THROTTLE_LOCKOUT_MS	60000
#define THROTTLE_PEERS		4096
#define TOKEN_ISSUER		"smproxy"

struct auth_policy {
	atomic_int		 refs;
	struct auth_client	*clients;
	size_t			 n;
};

struct auth {
	enum cfg_auth		 mode;
	int64_t			 token_ttl_s;
	char			*iam_url;
	uint8_t			*signing_key;	/* local mode */
	struct apikey_throttle	*throttle;

	pthread_mutex_t		 lock;		/* current, jwks */
	struct auth_policy	*current;
	struct jwks		*jwks;
	atomic_llong		 jwks_last_fetch;	/* monotonic ms */
	atomic_bool		 jwks_fetching;
};

/* ---- policy snapshots ---- */

static char **
copy_strings(char **src, size_t n)
{
	char **dst = calloc(n + 1, sizeof(*dst));
	size_t i;

	if (dst == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if ((dst[i] = strdup(src[i])) == NULL)
			return dst;	/* partial: freed by the caller's cleanup */
	return dst;
}

static void
free_strings(char **v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
policy_free(struct auth_policy *p)
{
	size_t i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++) {
		free_strings(p->clients[i].groups, p->clients[i].n_groups);
		free_strings(p->clients[i].ids, p->clients[i].n_ids);
		free_strings(p->clients[i].iam_ids, p->clients[i].n_iam_ids);
	}
	sodium_memzero(p->clients, p->n * sizeof(*p->clients));
	free(p->clients);
	free(p);
}

void
auth_release(struct auth_policy *p)
{
	if (p != NULL && atomic_fetch_sub(&p->refs, 1) == 1)
		policy_free(p);
}

static struct auth_policy *
policy_from_cfg(const struct cfg *cfg)
{
	struct auth_policy *p = calloc(1, sizeof(*p));
	size_t i;

	if (p == NULL)
		return NULL;
	atomic_init(&p->refs, 1);
	p->clients = calloc(cfg->n_clients + 1, sizeof(*p->clients));
	if (p->clients == NULL) {
		free(p);
		return NULL;
	}
	p->n = cfg->n_clients;
	for (i = 0; i < cfg->n_clients; i++) {
		const struct cfg_client *c = &cfg->clients[i];
		struct auth_client *a = &p->clients[i];

		snprintf(a->name, sizeof(a->name), "%s", c->name);
		memcpy(a->key_sha256, c->api_key_sha256, sizeof(a->key_sha256));
		a->has_key = c->has_api_key;
		a->all_groups = c->all_groups;
		a->write = c->write;
		a->groups = copy_strings(c->secret_groups, c->n_secret_groups);
		a->n_groups = c->n_secret_groups;
		a->ids = copy_strings(c->secret_ids, c->n_secret_ids);
		a->n_ids = c->n_secret_ids;
		a->iam_ids = copy_strings(c->iam_ids, c->n_iam_ids);
		a->n_iam_ids = c->n_iam_ids;
		if (a->groups == NULL || a->ids == NULL || a->iam_ids == NULL) {
			policy_free(p);
			return NULL;
		}
	}
	return p;
}

static struct auth_policy *
policy_get(struct auth *a)
{
	struct auth_policy *p;

	pthread_mutex_lock(&a->lock);
	p = a->current;
	atomic_fetch_add(&p->refs, 1);
	pthread_mutex_unlock(&a->lock);
	return p;
}

/* ---- JWKS (iam mode) ---- */

struct fetch_buf {
	char	*data;
	size_t	 len;
};

static size_t
on_jwks(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct fetch_buf *b = arg;
	size_t n = size * nmemb;
	char *p;

	if (b->len + n > JWKS_DOC_MAX)
		return 0;
	p = realloc(b->data, b->len + n + 1);
	if (p == NULL)
		return 0;
	memcpy(p + b->len, ptr, n);
	b->len += n;
	p[b->len] = '\0';
	b->data = p;
	return n;
}

/* Fetch and install the JWKS; returns 0 or -1 (logged). */
static int
jwks_fetch(struct auth *a)
{
	struct fetch_buf b = { NULL, 0 };
	char url[2048], why[256];
	struct jwks *k = NULL, *old;
	long status = 0;
	CURLcode rc;
	CURL *c = curl_easy_init();

	if (c == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s/identity/keys", a->iam_url);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_jwks);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	if (rc != CURLE_OK || status != 200) {
		log_kv(LOG_WARN, "cannot fetch IAM signing keys", "url", url,
		    "error", rc != CURLE_OK ? curl_easy_strerror(rc) : "bad status", NULL);
		free(b.data);
		return -1;
	}
	k = jwks_parse(b.data != NULL ? b.data : "", b.len, why, sizeof(why));
	free(b.data);
	if (k == NULL) {
		log_kv(LOG_WARN, "IAM signing keys unusable", "reason", why, NULL);
		return -1;
	}
	pthread_mutex_lock(&a->lock);
	old = a->jwks;
	a->jwks = k;
	pthread_mutex_unlock(&a->lock);
	jwks_free(old);
	return 0;
}

static void *
jwks_thread(void *arg)
{
	struct auth *a = arg;

	jwks_fetch(a);
	atomic_store(&a->jwks_fetching, false);
	return NULL;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void
auth_jwks_refresh(struct auth *a)
{
	pthread_t t;
	pthread_attr_t attr;
	int64_t now = mono_ms();
	bool expected = false;

	if (a->mode != CFG_AUTH_IAM)
		return;
	if (now - atomic_load(&a->jwks_last_fetch) < JWKS_REFETCH_MS)
		return;
	if (!atomic_compare_exchange_strong(&a->jwks_fetching, &expected, true))
		return;
	atomic_store(&a->jwks_last_fetch, now);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, jwks_thread, a) != 0)
		atomic_store(&a->jwks_fetching, false);
	pthread_attr_destroy(&attr);
}

/* ---- lifecycle ---- */

struct auth *
auth_new(const struct cfg *cfg, char *why, size_t whylen)
{
	struct auth *a = calloc(1, sizeof(*a));

	if (a == NULL) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	a->mode = cfg->auth;
	a->token_ttl_s = cfg->token_ttl_s > 0 ? cfg->token_ttl_s : 3600;
	a->iam_url = strdup(cfg->iam_url != NULL ? cfg->iam_url : "");
	a->current = policy_from_cfg(cfg);
	a->throttle = apikey_throttle_new(THROTTLE_FAILURES, THROTTLE_WINDOW_MS,
	    THROTTLE_LOCKOUT_MS, THROTTLE_PEERS);
	if (a->iam_url == NULL || a->current == NULL || a->throttle == NULL) {
		snprintf(why, whylen, "out of memory");
		goto fail;
	}
	if (cfg->token_key_file != NULL) {
		if (jwt_key_load(cfg->token_key_file, &a->signing_key, why, whylen) != 0)
			goto fail;
	} else {
		a->signing_key = jwt_key_random();
		if (a->signing_key == NULL) {
			snprintf(why, whylen, "cannot make a token signing key");
			goto fail;
		}
	}
	if (a->mode == CFG_AUTH_IAM) {
		atomic_store(&a->jwks_last_fetch, mono_ms());
		if (jwks_fetch(a) != 0)
			log_kv(LOG_WARN, "starting without IAM signing keys; retrying on demand", NULL);
	}
	return a;
fail:
	auth_free(a);
	return NULL;
}

void
auth_free(struct auth *a)
{
	if (a == NULL)
		return;
	/* A refetch thread may still run: wait for it (bounded by its timeout). */
	while (atomic_load(&a->jwks_fetching))
		usleep(10000);
	auth_release(a->current);
	jwks_free(a->jwks);
	jwt_key_free(a->signing_key);
	apikey_throttle_free(a->throttle);
	free(a->iam_url);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

int
auth_reload(struct auth *a, struct cfg *cfg)
{
	struct auth_policy *p = policy_from_cfg(cfg), *old;
	char n[32];

	if (p == NULL) {
		log_kv(LOG_ERROR, "reload failed: out of memory; keeping the old clients", NULL);
		return -1;
	}
	pthread_mutex_lock(&a->lock);
	old = a->current;
	a->current = p;
	pthread_mutex_unlock(&a->lock);
	auth_release(old);
	snprintf(n, sizeof(n), "%zu", p->n);
	log_kv(LOG_INFO, "clients reloaded", "clients", n, NULL);
	return 0;
}

/* ---- identifying callers ---- */

static const struct auth_client *
client_by_name(const struct auth_policy *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->clients[i].name, name) == 0)
			return &p->clients[i];
	return NULL;
}

static const struct auth_client *
client_by_iam_id(const struct auth_policy *p, const char *iam_id)
{
	size_t i, k;

	for (i = 0; i < p->n; i++)
		for (k = 0; k < p->clients[i].n_iam_ids; k++)
			if (strcmp(p->clients[i].iam_ids[k], iam_id) == 0)
				return &p->clients[i];
	return NULL;
}

static int
map_jwt(int rc)
{
	switch (rc) {
	case JWT_OK:
		return AUTH_OK;
	case JWT_EEXPIRED:
		return AUTH_EXPIRED;
	default:
		return AUTH_INVALID;
	}
}

int
auth_identify(struct auth *a, const char *authorization, int64_t wall_s,
    const struct auth_client **who, struct auth_policy **snap)
{
	struct jwt_claims claims;
	struct auth_policy *p;
	const struct auth_client *c = NULL;
	const char *tok;
	size_t len;
	int rc;

	*who = NULL;
	*snap = NULL;
	if (a->mode == CFG_AUTH_NONE)
		return AUTH_OK;
	if (authorization == NULL || strncasecmp(authorization, "Bearer ", 7) != 0)
		return AUTH_MISSING;
	tok = authorization + 7;
	while (*tok == ' ')
		tok++;
	len = strlen(tok);
	if (len == 0)
		return AUTH_MISSING;
	if (a->mode == CFG_AUTH_LOCAL) {
		rc = map_jwt(jwt_verify_hs256(a->signing_key, tok, len, wall_s,
		    LEEWAY_S, &claims));
	} else {
		pthread_mutex_lock(&a->lock);
		if (a->jwks == NULL) {
			pthread_mutex_unlock(&a->lock);
			auth_jwks_refresh(a);
			return AUTH_UNAVAILABLE;
		}
		rc = jwks_verify_rs256(a->jwks, tok, len, wall_s, LEEWAY_S, &claims);
		pthread_mutex_unlock(&a->lock);
		if (rc == JWT_EUNKNOWNKID)
			auth_jwks_refresh(a);
		rc = map_jwt(rc);
	}
	sodium_memzero(&claims.jti, sizeof(claims.jti));
	if (rc != AUTH_OK)
		return rc;
	p = policy_get(a);
	c = a->mode == CFG_AUTH_LOCAL ? client_by_name(p, claims.sub) :
	    client_by_iam_id(p, claims.iam_id);
	if (c == NULL) {
		auth_release(p);
		return AUTH_INVALID;	/* removed by a reload, or unmapped */
	}
	*who = c;
	*snap = p;
	return AUTH_OK;
}

/* ---- policy checks ---- */

static bool
in_list(char **v, size_t n, const char *s)
{
	size_t i;

	if (s == NULL || *s == '\0')
		return false;
	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

bool
auth_may_read_group(const struct auth_client *c, const char *group_id)
{
	if (c == NULL || c->all_groups)
		return true;
	return in_list(c->groups, c->n_groups, group_id);
}

bool
auth_may_read(const struct auth_client *c, const char *secret_id,
    const char *group_id)
{
	if (c == NULL || c->all_groups)
		return true;
	return in_list(c->groups, c->n_groups, group_id) ||
	    in_list(c->ids, c->n_ids, secret_id);
}

/* ---- the token endpoint ---- */

static char *
iam_error(const char *code, const char *message, size_t *len)
{
	return smerr_iam_body(code, message, len);
}

/* Find name=value in a form body; decoded into dst.  Returns 0 or -1. */
static int
form_get(const char *body, size_t len, const char *name, char *dst, size_t dstlen)
{
	size_t nlen = strlen(name), i = 0;

	while (i < len) {
		size_t end = i, eq;
		while (end < len && body[end] != '&')
			end++;
		for (eq = i; eq < end && body[eq] != '='; eq++)
			;
		if (eq - i == nlen && memcmp(body + i, name, nlen) == 0 && eq < end)
			return route_form_decode(dst, dstlen, body + eq + 1, end - eq - 1) < 0 ? -1 : 0;
		i = end + 1;
	}
	return -1;
}

int
auth_token_endpoint(struct auth *a, const char *body, size_t len,
    const char *peer, int64_t wall_s, int64_t now_ms, char **out,
    size_t *outlen, int *retry_after_s)
{
	char grant[128], key[4096 + 1], jti[JWT_JTI_BYTES], refresh[33];
	uint8_t digest[32], rnd[16];
	struct auth_policy *p = NULL;
	const struct auth_client *c = NULL;
	char *token = NULL;
	json_t *j;
	size_t i;
	int status = 400;

	*out = NULL;
	*outlen = 0;
	*retry_after_s = 0;
	key[0] = '\0';
	if (a->mode == CFG_AUTH_IAM) {
		*out = iam_error("BXNIM0404E", "Clients authenticate with IBM Cloud IAM in this mode.", outlen);
		return 404;
	}
	if (!apikey_throttle_allowed(a->throttle, peer, now_ms)) {
		int64_t ms = apikey_throttle_locked_for(a->throttle, peer, now_ms);
		metrics_auth_failure(AUTH_FAIL_THROTTLED);
		*retry_after_s = (int)(ms / 1000 + 1);
		*out = iam_error("BXNIM0436E", "Too many failed attempts; retry later.", outlen);
		return 429;
	}
	if (form_get(body, len, "grant_type", grant, sizeof(grant)) != 0) {
		*out = iam_error("BXNIM0109E", "Property missing or empty: grant_type.", outlen);
		goto done;
	}
	if (strcmp(grant, "urn:ibm:params:oauth:grant-type:apikey") != 0) {
		*out = iam_error("BXNIM0103E", "Unsupported grant type; use urn:ibm:params:oauth:grant-type:apikey.", outlen);
		goto done;
	}
	if (form_get(body, len, "apikey", key, sizeof(key)) != 0 || key[0] == '\0') {
		*out = iam_error("BXNIM0109E", "Property missing or empty: apikey.", outlen);
		goto done;
	}
	apikey_sha256(key, strlen(key), digest);
	p = policy_get(a);
	if (a->mode == CFG_AUTH_LOCAL) {
		/* Compare against every client, in constant time each. */
		int found = -1;
		for (i = 0; i < p->n; i++)
			if (p->clients[i].has_key &&
			    apikey_matches(p->clients[i].key_sha256, digest) && found < 0)
				found = (int)i;
		if (found >= 0)
			c = &p->clients[found];
		if (c == NULL) {
			apikey_throttle_failure(a->throttle, peer, now_ms);
			metrics_auth_failure(AUTH_FAIL_UNKNOWN_KEY);
			*out = iam_error("BXNIM0415E", "Provided API key could not be found.", outlen);
			goto done;
		}
		apikey_throttle_success(a->throttle, peer, now_ms);
	}
	if (jwt_sign_hs256(a->signing_key, c != NULL ? c->name : "anonymous",
	    TOKEN_ISSUER, wall_s, wall_s + a->token_ttl_s, jti, &token) != 0) {
		*out = iam_error("BXNIM0500E", "Cannot issue a token.", outlen);
		status = 500;
		goto done;
	}
	randombytes_buf(rnd, sizeof(rnd));
	sodium_bin2hex(refresh, sizeof(refresh), rnd, sizeof(rnd));
	j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:s}",
	    "access_token", token, "refresh_token", refresh, "token_type", "Bearer",
	    "expires_in", (json_int_t)a->token_ttl_s,
	    "expiration", (json_int_t)(wall_s + a->token_ttl_s), "scope", "ibm openid");
	if (j != NULL) {
		*out = json_dumps(j, JSON_COMPACT);
		json_decref(j);
	}
	if (*out == NULL) {
		*out = iam_error("BXNIM0500E", "Cannot issue a token.", outlen);
		status = 500;
		goto done;
	}
	*outlen = strlen(*out);
	status = 200;
done:
	sodium_memzero(key, sizeof(key));
	sodium_memzero(digest, sizeof(digest));
	jwt_token_free(token);
	auth_release(p);
	return status;
}
