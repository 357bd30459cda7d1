/*
 * respinfo: pull id, group, type and idempotency out of an SM answer.
 *
 * v2 secrets carry them at the top level; v2 versions name the secret in
 * `secret_id`; v1 answers wrap one resource in `resources[0]`.
 *
 * Thread rules: pure; any thread.
 */
#include "server/respinfo.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

static void
copy_str(char *dst, size_t dstlen, json_t *v)
{
	if (json_is_string(v) && json_string_length(v) < dstlen)
		memcpy(dst, json_string_value(v), json_string_length(v) + 1);
}

/*
 * An iam_credentials answer that carries an api_key mints one per read
 * when reuse_api_key is false.  Version objects do not carry
 * reuse_api_key at all, so for them only an explicit true makes the read
 * safe to cache or share.
 */
static void
from_object(json_t *o, bool is_version, struct respinfo *out)
{
	json_t *reuse;

	copy_str(out->secret_id, sizeof(out->secret_id),
	    json_object_get(o, is_version ? "secret_id" : "id"));
	copy_str(out->group_id, sizeof(out->group_id),
	    json_object_get(o, "secret_group_id"));
	copy_str(out->secret_type, sizeof(out->secret_type),
	    json_object_get(o, "secret_type"));
	if (strcmp(out->secret_type, "iam_credentials") != 0)
		return;
	reuse = json_object_get(o, "reuse_api_key");
	if (json_is_false(reuse))
		out->non_idempotent = true;
	else if (is_version && !json_is_true(reuse) &&
	    json_object_get(o, "api_key") != NULL)
		out->non_idempotent = true;
}

int
respinfo_parse(enum route_op op, const uint8_t *body, size_t len,
    struct respinfo *out)
{
	json_t *root, *o;
	int rc = -1;

	memset(out, 0, sizeof(*out));
	root = json_loadb((const char *)body, len, 0, NULL);
	if (root == NULL)
		return -1;
	if (!json_is_object(root))
		goto done;
	switch (op) {
	case ROUTE_V2_SECRET:
	case ROUTE_V2_BYNAME:
		from_object(root, false, out);
		break;
	case ROUTE_V2_SECRET_METADATA:
		from_object(root, false, out);
		out->non_idempotent = false;	/* metadata mints nothing */
		break;
	case ROUTE_V2_VERSION:
		from_object(root, true, out);
		break;
	case ROUTE_V2_VERSION_METADATA:
		from_object(root, true, out);
		out->non_idempotent = false;
		break;
	case ROUTE_V2_VERSIONS:
		o = json_array_get(json_object_get(root, "versions"), 0);
		if (json_is_object(o))
			from_object(o, true, out);
		out->non_idempotent = false;
		break;
	case ROUTE_V1_SECRET:
	case ROUTE_V1_SECRET_METADATA:
		o = json_array_get(json_object_get(root, "resources"), 0);
		if (json_is_object(o))
			from_object(o, false, out);
		if (op == ROUTE_V1_SECRET_METADATA)
			out->non_idempotent = false;
		break;
	case ROUTE_V2_GROUP:
	case ROUTE_V1_GROUP:
		copy_str(out->group_id, sizeof(out->group_id), json_object_get(root, "id"));
		if (op == ROUTE_V1_GROUP) {
			o = json_array_get(json_object_get(root, "resources"), 0);
			if (json_is_object(o))
				copy_str(out->group_id, sizeof(out->group_id),
				    json_object_get(o, "id"));
		}
		break;
	default:
		break;
	}
	rc = 0;
done:
	json_decref(root);
	return rc;
}
