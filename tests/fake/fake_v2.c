/*
 * fake_v2: SM API v2 over the fake store.
 *
 * Routing is by decoded path segments (see fake_http), so a name sent as
 * "a%2Fb" is the one segment "a/b".  A known path with an unsupported
 * method answers 405 with an Allow header; an unknown path 404.  Reads that
 * reveal secret data go through fmut_reveal(), so they mark secrets
 * downloaded and mint keys for non-reusable iam_credentials.
 *
 * Thread rules: the server lock is held by the caller.
 */
#include "tests/fake/fake_v2.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fake/fake_list.h"
#include "tests/fake/fake_mutate.h"
#include "tests/fake/fake_render.h"
#include "tests/fake/fake_store.h"

#define ERRLEN 256

static bool
is(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static void
not_allowed(struct fresp *rs, const char *allow)
{
	fhttp_resp_sm_error(rs, 405, "method_not_allowed",
	    "The method is not allowed for this resource.");
	rs->allow = allow;
}

static void
secret_not_found(struct fresp *rs)
{
	fhttp_resp_sm_error(rs, 404, "not_found", "Secret not found");
}

static void
reply_or_oom(struct fresp *rs, int status, json_t *body)
{
	if (body == NULL)
		fhttp_resp_sm_error(rs, 500, NULL, "Out of memory.");
	else
		fhttp_resp_json(rs, status, body);
}

static void
reply_fmut_error(struct fresp *rs, int rc, const char *err)
{
	int status = fmut_status(rc);

	fhttp_resp_sm_error(rs, status, NULL, err);
}

/* GET /api/v2/secrets/{id} and the by-name lookup. */
static void
get_secret(struct fsecret *s, struct fresp *rs)
{
	json_t *data = fmut_reveal(s, s->nversions - 1);

	reply_or_oom(rs, 200, frender_v2_secret(s, data));
	json_decref(data);
}

/* Build an href to the list with the caller's filters and a page. */
static json_t *
page_href(const char *host, const char *query, long long offset,
    long long limit)
{
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*f;
	const char	*p = query;
	json_t		*href;

	if ((f = open_memstream(&buf, &len)) == NULL)
		return NULL;
	fprintf(f, "http://%s/api/v2/secrets?", host);
	while (*p != '\0') {
		const char	*amp = strchr(p, '&');
		size_t		 n = amp ? (size_t)(amp - p) : strlen(p);

		if (n > 0 && strncmp(p, "offset=", 7) != 0 &&
		    strncmp(p, "limit=", 6) != 0 &&
		    !(n == 6 && strncmp(p, "offset", 6) == 0) &&
		    !(n == 5 && strncmp(p, "limit", 5) == 0))
			fprintf(f, "%.*s&", (int)n, p);
		if (amp == NULL)
			break;
		p = amp + 1;
	}
	fprintf(f, "offset=%lld&limit=%lld", offset, limit);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	href = json_pack("{s:s}", "href", buf);
	free(buf);
	return href;
}

static void
list_secrets(struct fsrv *srv, const struct freq *rq, struct fresp *rs)
{
	struct flist_query	  q;
	struct fsecret		**all = NULL;
	size_t			  total = 0, i;
	long long		  last;
	json_t			 *body = NULL, *items;
	char			  err[ERRLEN], host[300];

	if (flist_parse(rq->query, FLIST_V2, &q, err, sizeof(err)) == -1) {
		fhttp_resp_sm_error(rs, 400, "bad_request", err);
		return;
	}
	if (rq->host != NULL && strlen(rq->host) < sizeof(host) &&
	    strpbrk(rq->host, "\"\\/ ") == NULL)
		snprintf(host, sizeof(host), "%s", rq->host);
	else
		snprintf(host, sizeof(host), "127.0.0.1:%u", srv->port);
	if (flist_run(srv->store, &q, &all, &total) == -1)
		goto done;
	last = total == 0 ? 0 : ((long long)(total - 1) / q.limit) * q.limit;
	body = json_pack("{s:I,s:I,s:I,s:o,s:o}",
	    "total_count", (json_int_t)total, "limit", (json_int_t)q.limit,
	    "offset", (json_int_t)q.offset,
	    "first", page_href(host, rq->query, 0, q.limit),
	    "last", page_href(host, rq->query, last, q.limit));
	if (body == NULL)
		goto done;
	if (q.offset + q.limit < (long long)total &&
	    json_object_set_new(body, "next", page_href(host, rq->query,
	    q.offset + q.limit, q.limit)) == -1)
		goto fail;
	if (q.offset > 0 && json_object_set_new(body, "previous",
	    page_href(host, rq->query, q.offset > q.limit ?
	    q.offset - q.limit : 0, q.limit)) == -1)
		goto fail;
	if ((items = json_array()) == NULL ||
	    json_object_set_new(body, "secrets", items) == -1)
		goto fail;
	for (i = (size_t)q.offset; i < total &&
	    i < (size_t)(q.offset + q.limit); i++) {
		if (json_array_append_new(items,
		    frender_v2_secret(all[i], NULL)) == -1)
			goto fail;
	}
	goto done;
fail:
	json_decref(body);
	body = NULL;
done:
	free(all);
	flist_cleanup(&q);
	reply_or_oom(rs, 200, body);
}

static void
create_secret(struct fsrv *srv, const struct freq *rq, struct fresp *rs)
{
	struct fsecret	*s;
	json_t		*spec;
	char		 err[ERRLEN];
	int		 rc;

	if ((rc = fmut_parse_body(rq, false, &spec, err, sizeof(err))) != 0) {
		reply_fmut_error(rs, rc, err);
		return;
	}
	rc = fmut_create(srv->store, spec, FMUT_FROM_API, fhttp_wall_ms(), &s,
	    err, sizeof(err));
	json_decref(spec);
	if (rc != FMUT_OK) {
		reply_fmut_error(rs, rc, err);
		return;
	}
	reply_or_oom(rs, 201, frender_v2_secret(s, s->versions[0].data));
}

static void
rotate_secret(struct fsrv *srv, struct fsecret *s, const struct freq *rq,
    struct fresp *rs)
{
	json_t	*body;
	char	 err[ERRLEN];
	int	 rc;

	if ((rc = fmut_parse_body(rq, true, &body, err, sizeof(err))) != 0) {
		reply_fmut_error(rs, rc, err);
		return;
	}
	rc = fmut_rotate(srv->store, s, body, FMUT_V2, fhttp_wall_ms(), err,
	    sizeof(err));
	json_decref(body);
	if (rc != FMUT_OK) {
		reply_fmut_error(rs, rc, err);
		return;
	}
	reply_or_oom(rs, 201, frender_v2_version(s, s->nversions - 1,
	    s->versions[s->nversions - 1].data));
}

static void
patch_metadata(struct fsrv *srv, struct fsecret *s, const struct freq *rq,
    struct fresp *rs)
{
	json_t	*patch;
	char	 err[ERRLEN];
	int	 rc;

	if ((rc = fmut_parse_body(rq, false, &patch, err, sizeof(err))) != 0) {
		reply_fmut_error(rs, rc, err);
		return;
	}
	rc = fmut_patch(srv->store, s, patch, fhttp_wall_ms(), err, sizeof(err));
	json_decref(patch);
	if (rc != FMUT_OK) {
		reply_fmut_error(rs, rc, err);
		return;
	}
	reply_or_oom(rs, 200, frender_v2_secret(s, NULL));
}

static void
list_versions(struct fsecret *s, struct fresp *rs)
{
	json_t	*items = json_array(), *body;
	size_t	 i;

	/* Newest first, like the console. */
	for (i = s->nversions; items != NULL && i > 0; i--) {
		if (json_array_append_new(items,
		    frender_v2_version(s, i - 1, NULL)) == -1) {
			json_decref(items);
			items = NULL;
		}
	}
	body = items ? json_pack("{s:o,s:I}", "versions", items,
	    "total_count", (json_int_t)s->nversions) : NULL;
	reply_or_oom(rs, 200, body);
}

static void
get_version(struct fsecret *s, const char *which, bool metadata_only,
    struct fresp *rs)
{
	long	 vi = fstore_version_index(s, which);
	json_t	*data = NULL;

	if (vi < 0) {
		fhttp_resp_sm_error(rs, 404, "not_found", "Secret version not found");
		return;
	}
	if (!metadata_only)
		data = fmut_reveal(s, (size_t)vi);
	reply_or_oom(rs, 200, frender_v2_version(s, (size_t)vi, data));
	json_decref(data);
}

/* /api/v2/secrets[/...] */
static void
secrets_route(struct fsrv *srv, const struct freq *rq, char *const *a,
    size_t n, struct fresp *rs)
{
	const char	*m = rq->method;
	struct fsecret	*s;

	if (n == 1) {
		if (is(m, "GET"))
			list_secrets(srv, rq, rs);
		else if (is(m, "POST"))
			create_secret(srv, rq, rs);
		else
			not_allowed(rs, "GET, POST");
		return;
	}
	if (n > 5 || (n >= 3 && !is(a[2], "metadata") && !is(a[2], "versions")) ||
	    (n >= 4 && !is(a[2], "versions")) ||
	    (n == 5 && !is(a[4], "metadata"))) {
		fhttp_resp_sm_error(rs, 404, "not_found", "Not found");
		return;
	}
	if (n == 3 && is(a[2], "metadata") && !is(m, "GET") && !is(m, "PATCH")) {
		not_allowed(rs, "GET, PATCH");
		return;
	}
	if ((n == 2 && !is(m, "GET") && !is(m, "DELETE"))) {
		not_allowed(rs, "GET, DELETE");
		return;
	}
	if (n == 3 && is(a[2], "versions") && !is(m, "GET") && !is(m, "POST")) {
		not_allowed(rs, "GET, POST");
		return;
	}
	if (n >= 4 && !is(m, "GET")) {
		not_allowed(rs, "GET");
		return;
	}
	if ((s = fstore_get(srv->store, a[1])) == NULL) {
		secret_not_found(rs);
		return;
	}
	if (n == 2 && is(m, "GET"))
		get_secret(s, rs);
	else if (n == 2) {
		fstore_delete(srv->store, s->id);
		fhttp_resp_empty(rs, 204);
	} else if (n == 3 && is(a[2], "metadata") && is(m, "GET"))
		reply_or_oom(rs, 200, frender_v2_secret(s, NULL));
	else if (n == 3 && is(a[2], "metadata"))
		patch_metadata(srv, s, rq, rs);
	else if (n == 3 && is(m, "GET"))
		list_versions(s, rs);
	else if (n == 3)
		rotate_secret(srv, s, rq, rs);
	else
		get_version(s, a[3], n == 5, rs);
}

/* /api/v2/secret_groups[/...] */
static void
groups_route(struct fsrv *srv, const struct freq *rq, char *const *a,
    size_t n, struct fresp *rs)
{
	const struct fgroup	*g;
	struct fsecret		*s;
	enum fstore_type	 type;
	json_t			*list;
	size_t			 i;

	if (n != 1 && n != 2 && !(n == 6 && is(a[2], "secret_types") &&
	    is(a[4], "secrets"))) {
		fhttp_resp_sm_error(rs, 404, "not_found", "Not found");
		return;
	}
	if (!is(rq->method, "GET")) {
		not_allowed(rs, "GET");
		return;
	}
	if (n == 1) {
		if ((list = json_array()) == NULL) {
			reply_or_oom(rs, 200, NULL);
			return;
		}
		for (i = 0; i < fstore_group_count(srv->store); i++)
			json_array_append_new(list,
			    frender_v2_group(fstore_group_at(srv->store, i)));
		reply_or_oom(rs, 200, json_pack("{s:o,s:I}", "secret_groups",
		    list, "total_count", (json_int_t)json_array_size(list)));
		return;
	}
	if (n == 2) {
		if ((g = fstore_group(srv->store, a[1])) == NULL)
			fhttp_resp_sm_error(rs, 404, "not_found",
			    "Secret group not found");
		else
			reply_or_oom(rs, 200, frender_v2_group(g));
		return;
	}
	/* /secret_groups/{group_name}/secret_types/{type}/secrets/{name} */
	if (!flist_is_sm_type(a[3])) {
		fhttp_resp_sm_error(rs, 400, "bad_request", "Invalid secret type.");
		return;
	}
	g = fstore_group_by_name(srv->store, a[1]);
	s = NULL;
	if (g != NULL && fstore_type_parse(a[3], &type) == 0)
		s = fstore_get_by_name(srv->store, type, a[5]);
	if (s == NULL || !is(s->group_id, g->id)) {
		secret_not_found(rs);
		return;
	}
	get_secret(s, rs);
}

void
fv2_handle(struct fsrv *srv, const struct freq *rq, struct fresp *rs)
{
	char *const	*a = rq->segs + 2;
	size_t		 n = rq->nsegs - 2;

	if (rq->nsegs < 3) {
		fhttp_resp_sm_error(rs, 404, "not_found", "Not found");
		return;
	}
	if (is(a[0], "secrets"))
		secrets_route(srv, rq, a, n, rs);
	else if (is(a[0], "secret_groups"))
		groups_route(srv, rq, a, n, rs);
	else
		fhttp_resp_sm_error(rs, 404, "not_found", "Not found");
}
