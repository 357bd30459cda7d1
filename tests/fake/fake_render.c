/*
 * fake_render: JSON for secrets, versions and groups, v2 and v1 flavours.
 *
 * A secret's metadata is its common fields, then its type-specific fields
 * (fsecret.extra, copied verbatim), then fields derived from the current
 * version (imported_cert's *_included flags).  The full secret is the
 * metadata with the secret-data fields merged in.  v1 renames the dates,
 * capitalises state_description and moves the data into secret_data,
 * except for iam_credentials whose api_key sits at the top level (KES reads
 * resources[0].api_key).
 *
 * Thread rules: callers hold the server lock.
 */
#include "tests/fake/fake_render.h"

#include <stdio.h>
#include <string.h>

#define CRN_PREFIX "crn:v1:bluemix:public:secrets-manager:us-south:" \
	"a/0f1e2d3c4b5a69788796a5b4c3d2e1f0:8d5f3a0e-6f55-4c1b-9c5e-fa4e0c1d2b3a:secret:"

/* Set key to a new reference of value (a NULL value is skipped). */
static int
set_copy(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL)
		return 0;
	return json_object_set(obj, key, value);
}

static int
set_str(json_t *obj, const char *key, const char *value)
{
	return json_object_set_new(obj, key, json_string(value));
}

static const struct fversion *
current_version(const struct fsecret *s)
{
	return s->nversions ? &s->versions[s->nversions - 1] : NULL;
}

/* The fields derived from the current version's data. */
static int
add_derived(json_t *obj, const struct fsecret *s)
{
	const struct fversion	*cur = current_version(s);
	const json_t		*data = cur ? cur->data : NULL;
	int			 rc = 0;

	if (s->type == FSTORE_IMPORTED_CERT) {
		rc |= json_object_set_new(obj, "intermediate_included",
		    json_boolean(data && json_object_get(data, "intermediate")));
		rc |= json_object_set_new(obj, "private_key_included",
		    json_boolean(data && json_object_get(data, "private_key")));
	}
	return rc;
}

json_t *
frender_v2_secret(const struct fsecret *s, json_t *data)
{
	char	 crn[512];
	json_t	*obj;
	int	 rc = 0;

	if ((obj = json_object()) == NULL)
		return NULL;
	snprintf(crn, sizeof(crn), CRN_PREFIX "%s", s->id);
	rc |= set_str(obj, "created_by", FRENDER_CREATED_BY);
	rc |= set_str(obj, "created_at", s->created_at);
	rc |= set_str(obj, "crn", crn);
	rc |= set_copy(obj, "custom_metadata", s->custom_metadata);
	rc |= set_str(obj, "description", s->description);
	rc |= json_object_set_new(obj, "downloaded", json_boolean(s->downloaded));
	rc |= set_str(obj, "id", s->id);
	rc |= json_object_set_new(obj, "labels", json_deep_copy(s->labels));
	rc |= json_object_set_new(obj, "locks_total", json_integer(0));
	rc |= set_str(obj, "name", s->name);
	rc |= set_str(obj, "secret_group_id", s->group_id);
	rc |= set_str(obj, "secret_type", fstore_type_name(s->type));
	rc |= json_object_set_new(obj, "state", json_integer(1));
	rc |= set_str(obj, "state_description", "active");
	rc |= set_str(obj, "updated_at", s->updated_at);
	rc |= json_object_set_new(obj, "versions_total",
	    json_integer((json_int_t)s->nversions));
	rc |= json_object_update(obj, s->extra);
	rc |= add_derived(obj, s);
	if (data != NULL)
		rc |= json_object_update(obj, data);
	if (rc != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *
frender_v2_version(const struct fsecret *s, size_t vi, json_t *data)
{
	const struct fversion	*v = &s->versions[vi];
	const char		*alias = fstore_version_alias(s, vi);
	json_t			*obj;
	int			 rc = 0;

	if ((obj = json_object()) == NULL)
		return NULL;
	rc |= json_object_set_new(obj, "auto_rotated", json_boolean(v->auto_rotated));
	rc |= set_str(obj, "created_by", FRENDER_CREATED_BY);
	rc |= set_str(obj, "created_at", v->created_at);
	rc |= json_object_set_new(obj, "downloaded", json_boolean(v->downloaded));
	rc |= set_str(obj, "id", v->id);
	rc |= set_str(obj, "secret_name", s->name);
	rc |= set_str(obj, "secret_type", fstore_type_name(s->type));
	rc |= set_str(obj, "secret_group_id", s->group_id);
	rc |= json_object_set_new(obj, "payload_available",
	    json_boolean(v->data != NULL));
	if (alias != NULL)
		rc |= set_str(obj, "alias", alias);
	rc |= set_copy(obj, "version_custom_metadata", v->custom_metadata);
	rc |= set_str(obj, "secret_id", s->id);
	if (data != NULL)
		rc |= json_object_update(obj, data);
	if (rc != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *
frender_v2_group(const struct fgroup *g)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}",
	    "id", g->id, "name", g->name, "description", g->description,
	    "created_at", g->created_at, "created_by", FRENDER_CREATED_BY,
	    "updated_at", g->updated_at);
}

/* v1 secret_data for the data of one version; NULL for iam_credentials. */
static json_t *
v1_secret_data(const struct fsecret *s, json_t *data)
{
	json_t *sd;

	switch (s->type) {
	case FSTORE_ARBITRARY:
		return json_pack("{s:O?}", "payload", json_object_get(data, "payload"));
	case FSTORE_KV:
		return json_pack("{s:O?}", "payload", json_object_get(data, "data"));
	case FSTORE_IAM_CREDENTIALS:
		return NULL;
	case FSTORE_USERNAME_PASSWORD:
	case FSTORE_IMPORTED_CERT:
	default:
		sd = json_deep_copy(data);
		return sd;
	}
}

json_t *
frender_v1_secret(const struct fsecret *s, json_t *data)
{
	char	 crn[512];
	json_t	*obj, *versions = NULL;
	size_t	 i;
	int	 rc = 0;

	if ((obj = json_object()) == NULL)
		return NULL;
	snprintf(crn, sizeof(crn), CRN_PREFIX "%s", s->id);
	rc |= set_str(obj, "id", s->id);
	rc |= set_str(obj, "name", s->name);
	rc |= set_str(obj, "description", s->description);
	rc |= set_str(obj, "secret_group_id", s->group_id);
	rc |= json_object_set_new(obj, "labels", json_deep_copy(s->labels));
	rc |= json_object_set_new(obj, "state", json_integer(1));
	rc |= set_str(obj, "state_description", "Active");
	rc |= set_str(obj, "secret_type", fstore_type_name(s->type));
	rc |= set_str(obj, "crn", crn);
	rc |= set_str(obj, "creation_date", s->created_at);
	rc |= set_str(obj, "created_by", FRENDER_CREATED_BY);
	rc |= set_str(obj, "last_update_date", s->updated_at);
	rc |= json_object_set_new(obj, "versions_total",
	    json_integer((json_int_t)s->nversions));
	if ((versions = json_array()) == NULL)
		rc = -1;
	for (i = 0; versions != NULL && i < s->nversions; i++) {
		const struct fversion *v = &s->versions[i];

		rc |= json_array_append_new(versions, json_pack(
		    "{s:s,s:s,s:s,s:b,s:b}", "id", v->id,
		    "creation_date", v->created_at,
		    "created_by", FRENDER_CREATED_BY,
		    "auto_rotated", v->auto_rotated,
		    "payload_available", v->data != NULL));
	}
	rc |= json_object_set_new(obj, "versions", versions);
	rc |= json_object_set_new(obj, "locks_total", json_integer(0));
	rc |= set_copy(obj, "custom_metadata", s->custom_metadata);
	rc |= json_object_update(obj, s->extra);
	rc |= add_derived(obj, s);
	if (data != NULL) {
		if (s->type == FSTORE_IAM_CREDENTIALS) {
			rc |= set_copy(obj, "api_key", json_object_get(data, "api_key"));
		} else {
			json_t *sd = v1_secret_data(s, data);

			if (sd == NULL)
				rc = -1;
			rc |= json_object_set_new(obj, "secret_data", sd);
			if (s->type == FSTORE_USERNAME_PASSWORD)
				rc |= json_object_update(obj, data);
		}
	}
	if (rc != 0) {
		json_decref(obj);
		return NULL;
	}
	return obj;
}

json_t *
frender_v1_group(const struct fgroup *g)
{
	return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}",
	    "id", g->id, "name", g->name, "description", g->description,
	    "creation_date", g->created_at, "last_update_date", g->updated_at,
	    "type", FRENDER_V1_GROUP_TYPE);
}

json_t *
frender_v1_envelope(const char *collection_type, json_t *resources)
{
	if (resources == NULL)
		return NULL;
	return json_pack("{s:{s:s,s:I},s:o}",
	    "metadata", "collection_type", collection_type,
	    "collection_total", (json_int_t)json_array_size(resources),
	    "resources", resources);
}
