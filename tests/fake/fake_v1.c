/*
 * fake_v1: SM API v1 over the fake store.
 *
 * v1 addresses a secret by (type, id): the id of a secret of another type
 * is 404.  Every success body is the collection envelope; `resources` is
 * always an array (KES calls .filter on it and reads resources[0]).  The
 * value is in secret_data, except iam_credentials' api_key, which is at the
 * top level.  kv's v1 spelling of "data" is "payload".
 *
 * Thread rules: the server lock is held by the caller.
 */
#include "tests/fake/fake_v1.h"

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

/* Reply {"metadata":...,"resources":[one]} (one is stolen). */
static void
reply_one(struct fresp *rs, int status, const char *type, json_t *one)
{
	json_t *body = NULL;

	if (one != NULL)
		body = frender_v1_envelope(type, json_pack("[o]", one));
	if (body == NULL)
		fhttp_resp_sm_error(rs, 500, NULL, "Out of memory.");
	else
		fhttp_resp_json(rs, status, body);
}

static void
list_secrets(struct fsrv *srv, const struct freq *rq, int only_type,
    struct fresp *rs)
{
	struct flist_query	  q;
	struct fsecret		**all = NULL;
	size_t			  total = 0, i;
	json_t			 *items = NULL, *body = NULL;
	char			  err[ERRLEN];

	if (flist_parse(rq->query, FLIST_V1, &q, err, sizeof(err)) == -1) {
		fhttp_resp_sm_error(rs, 400, "bad_request", err);
		return;
	}
	if (only_type >= FSTORE_TYPE_COUNT) {
		/* An SM type the fake does not serve: nothing matches. */
		memset(q.types, 0, sizeof(q.types));
		q.filter_types = true;
	} else if (only_type >= 0)
		flist_only_type(&q, (enum fstore_type)only_type);
	if (flist_run(srv->store, &q, &all, &total) == -1 ||
	    (items = json_array()) == NULL)
		goto done;
	for (i = (size_t)q.offset; i < total &&
	    i < (size_t)(q.offset + q.limit); i++) {
		if (json_array_append_new(items,
		    frender_v1_secret(all[i], NULL)) == -1)
			goto done;
	}
	body = frender_v1_envelope(FRENDER_V1_SECRET_TYPE, items);
	items = NULL;
done:
	json_decref(items);
	free(all);
	flist_cleanup(&q);
	if (body == NULL)
		fhttp_resp_sm_error(rs, 500, NULL, "Out of memory.");
	else
		fhttp_resp_json(rs, 200, body);
}

/* POST /api/v1/secrets/{type}: {"metadata":{...},"resources":[{...}]}. */
static void
create_secret(struct fsrv *srv, const struct freq *rq, enum fstore_type type,
    struct fresp *rs)
{
	struct fsecret	*s;
	json_t		*body, *spec = NULL;
	char		 err[ERRLEN];
	int		 rc;

	if ((rc = fmut_parse_body(rq, false, &body, err, sizeof(err))) != 0) {
		fhttp_resp_sm_error(rs, fmut_status(rc), NULL, err);
		return;
	}
	spec = json_deep_copy(json_array_get(json_object_get(body, "resources"), 0));
	json_decref(body);
	if (!json_is_object(spec)) {
		json_decref(spec);
		fhttp_resp_sm_error(rs, 400, "bad_request",
		    "resources must be an array holding one secret.");
		return;
	}
	json_object_set_new(spec, "secret_type", json_string(fstore_type_name(type)));
	if (type == FSTORE_KV && json_object_get(spec, "payload") != NULL) {
		json_object_set(spec, "data", json_object_get(spec, "payload"));
		json_object_del(spec, "payload");
	}
	rc = fmut_create(srv->store, spec, FMUT_FROM_API, fhttp_wall_ms(), &s,
	    err, sizeof(err));
	json_decref(spec);
	if (rc != FMUT_OK) {
		fhttp_resp_sm_error(rs, fmut_status(rc), NULL, err);
		return;
	}
	/* v1 create answered 200, not 201. */
	reply_one(rs, 200, FRENDER_V1_SECRET_TYPE,
	    frender_v1_secret(s, s->versions[0].data));
}

static void
rotate_secret(struct fsrv *srv, const struct freq *rq, struct fsecret *s,
    struct fresp *rs)
{
	char	*action = fhttp_form_value(rq->query, "action");
	json_t	*body = NULL;
	char	 err[ERRLEN];
	int	 rc;

	if (action == NULL || !is(action, "rotate")) {
		fhttp_resp_sm_error(rs, 400, "bad_request",
		    "Unsupported or missing action; the fake supports action=rotate.");
		goto done;
	}
	if ((rc = fmut_parse_body(rq, true, &body, err, sizeof(err))) != 0 ||
	    (rc = fmut_rotate(srv->store, s, body, FMUT_V1, fhttp_wall_ms(),
	    err, sizeof(err))) != 0) {
		fhttp_resp_sm_error(rs, fmut_status(rc), NULL, err);
		goto done;
	}
	reply_one(rs, 200, FRENDER_V1_SECRET_TYPE, frender_v1_secret(s,
	    s->versions[s->nversions - 1].data));
done:
	json_decref(body);
	free(action);
}

/* /api/v1/secrets[/{type}[/{id}[/metadata]]] */
static void
secrets_route(struct fsrv *srv, const struct freq *rq, char *const *a,
    size_t n, struct fresp *rs)
{
	const char		*m = rq->method;
	enum fstore_type	 type;
	struct fsecret		*s;
	json_t			*data;
	bool			 served;

	if (n == 1) {
		if (is(m, "GET"))
			list_secrets(srv, rq, -1, rs);
		else
			not_allowed(rs, "GET");
		return;
	}
	if (n > 4 || (n == 4 && !is(a[3], "metadata"))) {
		fhttp_resp_sm_error(rs, 404, "not_found", "Not found");
		return;
	}
	if (!flist_is_sm_type(a[1])) {
		fhttp_resp_sm_error(rs, 400, "bad_request", "Invalid secret type.");
		return;
	}
	served = fstore_type_parse(a[1], &type) == 0;
	if (n == 2) {
		if (is(m, "GET"))
			list_secrets(srv, rq, served ? (int)type : FSTORE_TYPE_COUNT,
			    rs);
		else if (is(m, "POST") && served)
			create_secret(srv, rq, type, rs);
		else if (is(m, "POST"))
			fhttp_resp_sm_error(rs, 400, "bad_request",
			    "The fake cannot create secrets of this type.");
		else
			not_allowed(rs, "GET, POST");
		return;
	}
	if (n == 3 && !is(m, "GET") && !is(m, "POST") && !is(m, "DELETE")) {
		not_allowed(rs, "GET, POST, DELETE");
		return;
	}
	if (n == 4 && !is(m, "GET")) {
		not_allowed(rs, "GET");
		return;
	}
	s = served ? fstore_get(srv->store, a[2]) : NULL;
	if (s == NULL || s->type != type) {
		fhttp_resp_sm_error(rs, 404, "not_found", "Secret not found");
		return;
	}
	if (n == 4) {
		reply_one(rs, 200, FRENDER_V1_SECRET_TYPE, frender_v1_secret(s, NULL));
	} else if (is(m, "GET")) {
		data = fmut_reveal(s, s->nversions - 1);
		reply_one(rs, 200, FRENDER_V1_SECRET_TYPE, frender_v1_secret(s, data));
		json_decref(data);
	} else if (is(m, "POST")) {
		rotate_secret(srv, rq, s, rs);
	} else {
		fstore_delete(srv->store, s->id);
		fhttp_resp_empty(rs, 204);
	}
}

static void
groups_route(struct fsrv *srv, const struct freq *rq, char *const *a,
    size_t n, struct fresp *rs)
{
	const struct fgroup	*g;
	json_t			*list;
	size_t			 i;

	if (n > 2) {
		fhttp_resp_sm_error(rs, 404, "not_found", "Not found");
		return;
	}
	if (!is(rq->method, "GET")) {
		not_allowed(rs, "GET");
		return;
	}
	if (n == 2) {
		if ((g = fstore_group(srv->store, a[1])) == NULL)
			fhttp_resp_sm_error(rs, 404, "not_found",
			    "Secret group not found");
		else
			reply_one(rs, 200, FRENDER_V1_GROUP_TYPE, frender_v1_group(g));
		return;
	}
	if ((list = json_array()) != NULL) {
		for (i = 0; i < fstore_group_count(srv->store); i++)
			json_array_append_new(list,
			    frender_v1_group(fstore_group_at(srv->store, i)));
	}
	list = frender_v1_envelope(FRENDER_V1_GROUP_TYPE, list);
	if (list == NULL)
		fhttp_resp_sm_error(rs, 500, NULL, "Out of memory.");
	else
		fhttp_resp_json(rs, 200, list);
}

void
fv1_handle(struct fsrv *srv, const struct freq *rq, struct fresp *rs)
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
