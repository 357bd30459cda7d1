/*
 * http_auth: authentication and authorization at the HTTP edge.
 *
 * Order for every /api/ request: identify the caller (401 when that
 * fails), check what the route itself says (writes need write rights; a
 * list is narrowed to the caller's groups by rewriting its groups= filter
 * before the cache key is used, so pagination stays right), then, for
 * answers about one secret, check the secret's group and id from the
 * answer itself (cached or fresh) before a byte is sent.  A secret warmed
 * into the cache by one client is therefore still 403 for another.
 *
 * Thread rules: libmicrohttpd pool threads.
 */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "server/auth.h"
#include "server/http_int.h"
#include "server/log.h"
#include "server/metrics.h"
#include "store/store.h"

/* ---- the token endpoint ---- */

static void
wipe_free_str(void *p)
{
	sodium_memzero(p, strlen(p));
	free(p);
}

enum MHD_Result
http_serve_identity(struct req *q)
{
	char *out = NULL;
	size_t len = 0;
	int status, retry_after = 0;
	struct MHD_Response *resp;
	struct timespec ts;

	q->quiet_log = false;
	if (q->route.op != ROUTE_IAM_TOKEN)
		return http_send_error(q, 404, "not_found",
		    "The proxy does not serve IAM signing keys.", 0);
	if (strcmp(q->method, "POST") != 0)
		return http_send_error(q, 405, "method_not_allowed", "Use POST.", 0);
	if (q->body_too_big)
		return http_send_error(q, 413, "payload_too_large", "The request body is too large.", 0);
	clock_gettime(CLOCK_REALTIME, &ts);
	status = auth_token_endpoint(q->h->auth, q->body != NULL ? (const char *)q->body : "",
	    q->body_len, q->peer, ts.tv_sec, sched_now_ms(), &out, &len, &retry_after);
	if (out == NULL)
		return http_send_error(q, 500, "internal_error", "Out of memory.", 0);
	/* The body holds a token: hand it over, and wipe it when sent. */
	resp = MHD_create_response_from_buffer_with_free_callback_cls(len, out,
	    wipe_free_str, out);
	if (resp == NULL) {
		wipe_free_str(out);
		return MHD_NO;
	}
	return http_send_response(q, resp, status, "application/json", retry_after);
}

/* ---- who is calling ---- */

static const char *
known_group(struct req *q, const char *secret_id)
{
	static const char *const suffixes[] = { "/metadata", "" };
	struct store_reader *rd = http_reader(q->h);
	struct store_entry *e = NULL;
	char key[ROUTE_KEY_MAX + 1];
	size_t i;

	if (rd == NULL || secret_id[0] == '\0')
		return NULL;
	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		snprintf(key, sizeof(key), "v2/secret/%s%s", secret_id, suffixes[i]);
		if (store_get(rd, key, &e) == STORE_OK && e != NULL) {
			if (e->status == 200 && e->group_id != NULL && e->group_id[0] != '\0') {
				snprintf(q->known_group, sizeof(q->known_group), "%s", e->group_id);
				store_entry_free(e);
				return q->known_group;
			}
			store_entry_free(e);
		}
	}
	return NULL;
}

/* The group a create request puts its secret in ("default" if none). */
static bool
create_group_allowed(struct req *q)
{
	json_t *j, *g;
	bool ok = false;

	j = json_loadb(q->body != NULL ? (const char *)q->body : "", q->body_len, 0, NULL);
	if (j == NULL)
		return auth_may_read_group(q->who, "default");
	g = json_object_get(j, "secret_group_id");
	if (g == NULL && q->route.api_version == 1)
		g = json_object_get(json_array_get(json_object_get(j, "resources"), 0),
		    "secret_group_id");
	ok = auth_may_read_group(q->who, json_is_string(g) ? json_string_value(g) : "default");
	json_decref(j);
	return ok;
}

static int
deny(struct req *q, const char *message)
{
	metrics_auth_failure(AUTH_FAIL_FORBIDDEN);
	q->audit_outcome = "denied";
	http_send_error(q, 403, "forbidden", message, 0);
	return -1;
}

/* Narrow a list to the caller's groups by rewriting groups=. */
static int
narrow_list(struct req *q)
{
	const struct auth_client *c = q->who;
	char allowed[ROUTE_QUERY_MAX + 1];
	size_t i, used = 0;

	if (c == NULL || c->all_groups)
		return 0;
	if (q->route.op == ROUTE_V1_LIST_TYPE)
		return deny(q, "Listing by type is limited to clients allowed every secret group.");
	allowed[0] = '\0';
	if (q->route.groups_filter[0] != '\0') {
		/* Keep the requested groups the caller may see. */
		char copy[ROUTE_QUERY_MAX + 1], *tok, *save = NULL;
		memcpy(copy, q->route.groups_filter, sizeof(copy));
		for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save)) {
			if (!auth_may_read_group(c, tok))
				continue;
			used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%s",
			    used ? "," : "", tok);
			if (used >= sizeof(allowed))
				return deny(q, "Too many secret groups in the filter.");
		}
	} else {
		for (i = 0; i < c->n_groups; i++) {
			used += (size_t)snprintf(allowed + used, sizeof(allowed) - used, "%s%s",
			    used ? "," : "", c->groups[i]);
			if (used >= sizeof(allowed))
				return deny(q, "Too many secret groups in the policy for one list.");
		}
	}
	if (allowed[0] == '\0')
		return deny(q, "The client may not list secrets in these secret groups.");
	if (route_set_groups_filter(&q->route, allowed) != 0)
		return deny(q, "The narrowed list query is too long.");
	return 0;
}

int
http_authenticate(struct req *q)
{
	struct http *h = q->h;
	const char *authz = MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	struct timespec ts;
	int rc;

	q->audit = q->route.api_version != 0;
	clock_gettime(CLOCK_REALTIME, &ts);
	rc = auth_identify(h->auth, authz, ts.tv_sec, &q->who, &q->policy);
	if (rc != AUTH_OK) {
		static const enum metrics_auth_reason reasons[] = {
			AUTH_FAIL_INVALID, AUTH_FAIL_MISSING, AUTH_FAIL_INVALID,
			AUTH_FAIL_EXPIRED, AUTH_FAIL_INVALID
		};
		metrics_auth_failure(reasons[rc]);
		q->audit_outcome = "unauthenticated";
		http_send_error(q, 401, "unauthorized",
		    rc == AUTH_MISSING ? "A bearer token is required; get one from /identity/token." :
		    rc == AUTH_EXPIRED ? "The access token has expired." :
		    rc == AUTH_UNAVAILABLE ? "The proxy cannot verify IAM tokens yet; retry shortly." :
		    "The access token is not valid.", 0);
		return -1;
	}
	if (q->who == NULL)
		return 0;	/* auth none */
	/* Client names are at most 64 bytes (config checks them). */
	memcpy(q->client, q->who->name, sizeof(q->client) - 1);
	q->client[sizeof(q->client) - 1] = '\0';

	if (q->route.is_write) {
		const char *id = q->route.invalidate_id[0] ? q->route.invalidate_id :
		    q->route.secret_id;
		if (!q->who->write)
			return deny(q, "The client may not write.");
		if (q->who->all_groups)
			return 0;
		if (id[0] != '\0') {
			const char *g = known_group(q, id);
			if (auth_may_read(q->who, id, g != NULL ? g : ""))
				return 0;
			return deny(q, g == NULL ?
			    "The proxy cannot tell this secret's group yet; read its metadata first." :
			    "The client may not write secrets in this secret group.");
		}
		if (strcmp(q->method, "POST") == 0 &&
		    (q->route.target[0] != '\0') &&
		    (strcmp(q->route.target, "/api/v2/secrets") == 0 ||
		    (q->route.api_version == 1 && q->route.secret_type[0] != '\0' &&
		    strncmp(q->route.target, "/api/v1/secrets/", 16) == 0)))
			return create_group_allowed(q) ? 0 :
			    deny(q, "The client may not create secrets in this secret group.");
		return deny(q, "Only clients allowed every secret group may make this call.");
	}
	switch (q->route.op) {
	case ROUTE_V2_LIST:
	case ROUTE_V1_LIST:
	case ROUTE_V1_LIST_TYPE:
		return narrow_list(q);
	case ROUTE_V2_GROUP:
	case ROUTE_V1_GROUP:
		return auth_may_read_group(q->who, q->route.group) ? 0 :
		    deny(q, "The client may not read this secret group.");
	case ROUTE_PASSTHROUGH:
		if (q->who->all_groups)
			return 0;
		if (q->route.secret_id[0] != '\0') {
			const char *g = known_group(q, q->route.secret_id);
			if (auth_may_read(q->who, q->route.secret_id, g != NULL ? g : ""))
				return 0;
		}
		return deny(q, "The client may not read this.");
	default:
		return 0;
	}
}

/* ---- checking answers ---- */

static bool
about_one_secret(enum route_op op)
{
	switch (op) {
	case ROUTE_V2_SECRET:
	case ROUTE_V2_SECRET_METADATA:
	case ROUTE_V2_VERSIONS:
	case ROUTE_V2_VERSION:
	case ROUTE_V2_VERSION_METADATA:
	case ROUTE_V2_BYNAME:
	case ROUTE_V1_SECRET:
	case ROUTE_V1_SECRET_METADATA:
		return true;
	default:
		return false;
	}
}

/*
 * May the caller see this answer?  Non-2xx answers (a cached 404) say
 * nothing about a secret and pass.
 */
static bool
answer_allowed(struct req *q, int status, const char *secret_id, const char *group_id)
{
	if (secret_id != NULL && secret_id[0] != '\0')
		snprintf(q->audit_secret, sizeof(q->audit_secret), "%s", secret_id);
	if (q->who == NULL || status < 200 || status >= 300)
		return true;
	if (about_one_secret(q->route.op))
		return auth_may_read(q->who, secret_id, group_id);
	return true;
}

/* Keep only the caller's groups in a secret group list body. */
static char *
filter_groups(struct req *q, const uint8_t *body, size_t len, size_t *outlen)
{
	json_t *j = json_loadb((const char *)body, len, 0, NULL), *arr, *kept, *g;
	const char *field = q->route.op == ROUTE_V2_GROUPS ? "secret_groups" : "resources";
	size_t i;
	char *out = NULL;

	*outlen = 0;
	if (j == NULL)
		return NULL;
	arr = json_object_get(j, field);
	kept = json_array();
	if (!json_is_array(arr) || kept == NULL)
		goto done;
	json_array_foreach(arr, i, g)
		if (auth_may_read_group(q->who, json_string_value(json_object_get(g, "id"))))
			json_array_append(kept, g);
	json_object_set(j, field, kept);
	if (q->route.op == ROUTE_V2_GROUPS)
		json_object_set_new(j, "total_count", json_integer((json_int_t)json_array_size(kept)));
	else if (json_is_object(json_object_get(j, "metadata")))
		json_object_set_new(json_object_get(j, "metadata"), "collection_total",
		    json_integer((json_int_t)json_array_size(kept)));
	out = json_dumps(j, JSON_COMPACT);
	if (out != NULL)
		*outlen = strlen(out);
done:
	json_decref(kept);
	json_decref(j);
	return out;
}

static enum MHD_Result
send_filtered_groups(struct req *q, int status, const char *ctype,
    const uint8_t *body, size_t len)
{
	size_t outlen;
	char *out = filter_groups(q, body, len, &outlen);
	enum MHD_Result rc;

	if (out == NULL)
		return http_send_error(q, 502, "bad_gateway",
		    "Secrets Manager sent a secret group list the proxy cannot read.", 0);
	rc = http_send_bytes(q, status, ctype, out, outlen, 0);
	free(out);
	return rc;
}

static bool
is_group_list(const struct req *q, int status)
{
	return q->who != NULL && !q->who->all_groups && status == 200 &&
	    (q->route.op == ROUTE_V2_GROUPS || q->route.op == ROUTE_V1_GROUPS);
}

enum MHD_Result
http_authorize_and_send_entry(struct req *q, struct store_entry *e)
{
	enum MHD_Result rc;

	if (!answer_allowed(q, e->status, e->secret_id, e->group_id)) {
		store_entry_free(e);
		deny(q, "The client may not read this secret.");
		return MHD_YES;
	}
	if (is_group_list(q, e->status)) {
		rc = send_filtered_groups(q, e->status, e->content_type, e->body, e->body_len);
		store_entry_free(e);
		return rc;
	}
	q->audit_outcome = "allowed";
	return http_send_entry_raw(q, e);
}

enum MHD_Result
http_authorize_and_send_result(struct req *q, struct sched_result *r)
{
	enum MHD_Result rc;

	if (!answer_allowed(q, r->status, r->secret_id, r->group_id)) {
		sched_result_release(r);
		deny(q, "The client may not read this secret.");
		return MHD_YES;
	}
	if (is_group_list(q, r->status)) {
		rc = send_filtered_groups(q, r->status, r->content_type, r->body, r->body_len);
		sched_result_release(r);
		return rc;
	}
	q->audit_outcome = "allowed";
	return http_send_result_raw(q, r);
}

/* ---- the audit trail ---- */

void
http_audit(struct req *q)
{
	char st[8];
	const char *id;

	if (!q->audit)
		return;
	id = q->audit_secret[0] ? q->audit_secret :
	    q->route.secret_id[0] ? q->route.secret_id : q->route.invalidate_id;
	snprintf(st, sizeof(st), "%d", q->status);
	log_audit("client", q->client, "method", q->method, "route", q->tmpl,
	    "secret_id", id, "status", st,
	    "outcome", q->audit_outcome != NULL ? q->audit_outcome :
	    q->status >= 200 && q->status < 300 ? "allowed" : "error",
	    "cache", q->route.cacheable ? sched_cache_state_name(q->cache_state) : "bypass",
	    NULL);
}
