/*
 * fake_mutate: validation and state changes behind the fake's write paths.
 *
 * A create body and a fixture entry share one shape (the v2
 * SecretPrototype plus, for fixtures, a fixed id and api_key), so both go
 * through fmut_create().  Fixtures may carry any extra type-specific field
 * (validity, issuer, rotation...), copied verbatim into the secret's
 * metadata; API bodies only get a short allow-list.  Missing fields get the
 * values SM would fill in (rotation policy, service ids...).  Everything is
 * validated before anything changes, so a 4xx leaves no trace.
 *
 * Thread rules: callers hold the server lock.
 */
#include "tests/fake/fake_mutate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#define NAME_MAX_LEN	256
#define LABELS_MAX	30
#define ACCOUNT_ID	"0f1e2d3c4b5a69788796a5b4c3d2e1f0"

/* Keys fmut_create() consumes itself; the rest of a fixture entry is
 * type-specific metadata. */
static const char *const common_keys[] = {
	"id", "name", "secret_type", "secret_group_id", "labels", "description",
	"custom_metadata", "version_custom_metadata", "created_at", NULL
};

static const char *const data_keys[FSTORE_TYPE_COUNT][4] = {
	[FSTORE_ARBITRARY] = { "payload", NULL },
	[FSTORE_USERNAME_PASSWORD] = { "username", "password", NULL },
	[FSTORE_KV] = { "data", NULL },
	[FSTORE_IAM_CREDENTIALS] = { "api_key", NULL },
	[FSTORE_IMPORTED_CERT] = { "certificate", "intermediate", "private_key", NULL },
};

/* Type-specific metadata an API create body may set. */
static const char *const api_extra_keys[] = {
	"expiration_date", "rotation", "ttl", "reuse_api_key", "access_groups",
	"service_id", "password_generation_policy", NULL
};

static int
fail(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return rc;
}

static bool
in_list(const char *const *list, const char *key)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, key) == 0)
			return true;
	return false;
}

/* A random URL-safe string of the base64 length of nbytes random bytes. */
static json_t *
random_string(const char *prefix, size_t nbytes)
{
	unsigned char	 raw[48];
	char		 b64[80], out[160];

	if (nbytes > sizeof(raw))
		nbytes = sizeof(raw);
	randombytes_buf(raw, nbytes);
	sodium_bin2base64(b64, sizeof(b64), raw, nbytes,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	snprintf(out, sizeof(out), "%s%s", prefix, b64);
	return json_string(out);
}

int
fmut_status(int rc)
{
	switch (rc) {
	case FMUT_OK: return 200;
	case FMUT_EINVAL: return 400;
	case FMUT_ENOTFOUND: return 404;
	case FMUT_ECONFLICT: return 409;
	default: return 500;
	}
}

int
fmut_parse_body(const struct freq *rq, bool allow_empty, json_t **out,
    char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*body;

	*out = NULL;
	if (rq->body_len == 0) {
		if (!allow_empty)
			return fail(FMUT_EINVAL, err, errlen,
			    "A JSON request body is required.");
		if ((*out = json_object()) == NULL)
			return FMUT_ENOMEM;
		return FMUT_OK;
	}
	body = json_loadb(rq->body, rq->body_len, JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL)
		return fail(FMUT_EINVAL, err, errlen,
		    "The request body is not valid JSON: %s.", jerr.text);
	if (!json_is_object(body)) {
		json_decref(body);
		return fail(FMUT_EINVAL, err, errlen,
		    "The request body must be a JSON object.");
	}
	*out = body;
	return FMUT_OK;
}

static int
check_string(const json_t *spec, const char *key, bool required, char *err,
    size_t errlen)
{
	const json_t *v = json_object_get(spec, key);

	if (v == NULL && !required)
		return FMUT_OK;
	if (!json_is_string(v))
		return fail(FMUT_EINVAL, err, errlen,
		    required && v == NULL ? "%s is required." :
		    "%s must be a string.", key);
	return FMUT_OK;
}

static int
check_labels(const json_t *labels, char *err, size_t errlen)
{
	size_t	 i;
	json_t	*l;

	if (!json_is_array(labels) || json_array_size(labels) > LABELS_MAX)
		return fail(FMUT_EINVAL, err, errlen,
		    "labels must be an array of at most %d strings.", LABELS_MAX);
	json_array_foreach(labels, i, l) {
		if (!json_is_string(l) || json_string_length(l) == 0 ||
		    json_string_length(l) > NAME_MAX_LEN)
			return fail(FMUT_EINVAL, err, errlen,
			    "labels must be non-empty strings.");
	}
	return FMUT_OK;
}

static int
check_name(const json_t *name, char *err, size_t errlen)
{
	if (!json_is_string(name) || json_string_length(name) == 0 ||
	    json_string_length(name) > NAME_MAX_LEN ||
	    strlen(json_string_value(name)) != json_string_length(name))
		return fail(FMUT_EINVAL, err, errlen,
		    "name must be a string of 1 to %d characters.", NAME_MAX_LEN);
	return FMUT_OK;
}

/* The secret-data object for a create, or NULL with err set. */
static json_t *
build_data(enum fstore_type type, const json_t *spec, enum fmut_origin origin,
    int *rc, char *err, size_t errlen)
{
	json_t *data = json_object();

	*rc = FMUT_ENOMEM;
	if (data == NULL)
		return NULL;
	switch (type) {
	case FSTORE_ARBITRARY:
		if ((*rc = check_string(spec, "payload", true, err, errlen)) != 0)
			goto fail;
		json_object_set(data, "payload", json_object_get(spec, "payload"));
		break;
	case FSTORE_USERNAME_PASSWORD:
		if ((*rc = check_string(spec, "username", true, err, errlen)) != 0 ||
		    (*rc = check_string(spec, "password", false, err, errlen)) != 0)
			goto fail;
		json_object_set(data, "username", json_object_get(spec, "username"));
		if (json_object_get(spec, "password") != NULL)
			json_object_set(data, "password",
			    json_object_get(spec, "password"));
		else
			json_object_set_new(data, "password", random_string("", 18));
		break;
	case FSTORE_KV:
		if (!json_is_object(json_object_get(spec, "data"))) {
			*rc = fail(FMUT_EINVAL, err, errlen,
			    "data is required and must be a JSON object.");
			goto fail;
		}
		json_object_set_new(data, "data",
		    json_deep_copy(json_object_get(spec, "data")));
		break;
	case FSTORE_IAM_CREDENTIALS:
		if (origin == FMUT_FROM_FIXTURE &&
		    json_object_get(spec, "api_key") != NULL) {
			if ((*rc = check_string(spec, "api_key", true, err,
			    errlen)) != 0)
				goto fail;
			json_object_set(data, "api_key",
			    json_object_get(spec, "api_key"));
		} else
			json_object_set_new(data, "api_key", random_string("", 33));
		break;
	case FSTORE_IMPORTED_CERT:
	default:
		if ((*rc = check_string(spec, "certificate", true, err, errlen)) ||
		    (*rc = check_string(spec, "intermediate", false, err, errlen)) ||
		    (*rc = check_string(spec, "private_key", false, err, errlen)))
			goto fail;
		json_object_set(data, "certificate",
		    json_object_get(spec, "certificate"));
		if (json_object_get(spec, "intermediate") != NULL)
			json_object_set(data, "intermediate",
			    json_object_get(spec, "intermediate"));
		if (json_object_get(spec, "private_key") != NULL)
			json_object_set(data, "private_key",
			    json_object_get(spec, "private_key"));
		break;
	}
	*rc = FMUT_OK;
	return data;
fail:
	json_decref(data);
	return NULL;
}

/* Copy type-specific metadata from spec and fill SM's defaults. */
static int
build_extra(struct fsecret *s, const json_t *spec, enum fmut_origin origin,
    char *err, size_t errlen)
{
	const char	*key;
	json_t		*val, *ex = s->extra;
	char		 id[FHTTP_UUID_LEN], buf[64];

	json_object_foreach((json_t *)spec, key, val) {
		if (in_list(common_keys, key) || in_list(data_keys[s->type], key))
			continue;
		if (origin == FMUT_FROM_API && !in_list(api_extra_keys, key))
			continue;
		json_object_set_new(ex, key, json_deep_copy(val));
	}
	if (json_object_get(ex, "ttl") != NULL &&
	    !json_is_string(json_object_get(ex, "ttl")))
		return fail(FMUT_EINVAL, err, errlen, "ttl must be a string.");
	if (json_object_get(ex, "reuse_api_key") != NULL &&
	    !json_is_boolean(json_object_get(ex, "reuse_api_key")))
		return fail(FMUT_EINVAL, err, errlen,
		    "reuse_api_key must be a boolean.");

	switch (s->type) {
	case FSTORE_USERNAME_PASSWORD:
		if (json_object_get(ex, "rotation") == NULL)
			json_object_set_new(ex, "rotation",
			    json_pack("{s:b}", "auto_rotate", 0));
		if (json_object_get(ex, "password_generation_policy") == NULL)
			json_object_set_new(ex, "password_generation_policy",
			    json_pack("{s:i,s:b,s:b,s:b}", "length", 32,
			    "include_digits", 1, "include_symbols", 1,
			    "include_uppercase", 1));
		break;
	case FSTORE_IAM_CREDENTIALS:
		if (json_object_get(ex, "ttl") == NULL)
			json_object_set_new(ex, "ttl", json_string("1d"));
		if (json_object_get(ex, "reuse_api_key") == NULL)
			json_object_set_new(ex, "reuse_api_key", json_true());
		if (json_object_get(ex, "service_id") == NULL) {
			fhttp_uuid(id);
			snprintf(buf, sizeof(buf), "ServiceId-%s", id);
			json_object_set_new(ex, "service_id", json_string(buf));
		}
		if (json_object_get(ex, "api_key_id") == NULL) {
			fhttp_uuid(id);
			snprintf(buf, sizeof(buf), "ApiKey-%s", id);
			json_object_set_new(ex, "api_key_id", json_string(buf));
		}
		if (json_object_get(ex, "account_id") == NULL)
			json_object_set_new(ex, "account_id", json_string(ACCOUNT_ID));
		if (json_object_get(ex, "service_id_is_static") == NULL)
			json_object_set_new(ex, "service_id_is_static", json_false());
		if (json_object_get(ex, "rotation") == NULL)
			json_object_set_new(ex, "rotation",
			    json_pack("{s:b}", "auto_rotate", 0));
		break;
	default:
		break;
	}
	return FMUT_OK;
}

int
fmut_create(struct fstore *st, const json_t *spec, enum fmut_origin origin,
    int64_t now_ms, struct fsecret **out, char *err, size_t errlen)
{
	struct fsecret		*s = NULL;
	enum fstore_type	 type;
	const json_t		*v;
	const char		*group_id = FSTORE_DEFAULT_GROUP, *type_name;
	char			 id[FHTTP_UUID_LEN];
	const char		*use_id = id;
	json_t			*data = NULL;
	int			 rc;

	*out = NULL;
	err[0] = '\0';
	if (!json_is_object(spec))
		return fail(FMUT_EINVAL, err, errlen, "A secret must be a JSON object.");
	type_name = json_string_value(json_object_get(spec, "secret_type"));
	if (type_name == NULL)
		return fail(FMUT_EINVAL, err, errlen, "secret_type is required.");
	if (fstore_type_parse(type_name, &type) == -1)
		return fail(FMUT_EINVAL, err, errlen,
		    "Unsupported secret_type: %s.", type_name);
	if ((rc = check_name(json_object_get(spec, "name"), err, errlen)) != 0)
		return rc;
	if ((v = json_object_get(spec, "secret_group_id")) != NULL) {
		if (!json_is_string(v))
			return fail(FMUT_EINVAL, err, errlen,
			    "secret_group_id must be a string.");
		group_id = json_string_value(v);
	}
	if (fstore_group(st, group_id) == NULL)
		return fail(FMUT_ENOTFOUND, err, errlen,
		    "Secret group not found: %s.", group_id);
	if ((rc = check_string(spec, "description", false, err, errlen)) != 0)
		return rc;
	if ((v = json_object_get(spec, "labels")) != NULL &&
	    (rc = check_labels(v, err, errlen)) != 0)
		return rc;
	if ((v = json_object_get(spec, "custom_metadata")) != NULL &&
	    !json_is_object(v))
		return fail(FMUT_EINVAL, err, errlen,
		    "custom_metadata must be a JSON object.");
	if ((v = json_object_get(spec, "version_custom_metadata")) != NULL &&
	    !json_is_object(v))
		return fail(FMUT_EINVAL, err, errlen,
		    "version_custom_metadata must be a JSON object.");

	fhttp_uuid(id);
	if (origin == FMUT_FROM_FIXTURE &&
	    (v = json_object_get(spec, "id")) != NULL) {
		if (!json_is_string(v) || json_string_length(v) == 0 ||
		    json_string_length(v) > 128)
			return fail(FMUT_EINVAL, err, errlen,
			    "id must be a non-empty string.");
		use_id = json_string_value(v);
	}
	if ((data = build_data(type, spec, origin, &rc, err, errlen)) == NULL)
		return rc;

	rc = FMUT_ENOMEM;
	s = fstore_secret_new(type, use_id,
	    json_string_value(json_object_get(spec, "name")), group_id, now_ms);
	if (s == NULL)
		goto done;
	if (origin == FMUT_FROM_FIXTURE &&
	    (v = json_object_get(spec, "created_at")) != NULL &&
	    json_is_string(v) && json_string_length(v) < FHTTP_TIME_LEN) {
		snprintf(s->created_at, sizeof(s->created_at), "%s",
		    json_string_value(v));
		memcpy(s->updated_at, s->created_at, sizeof(s->updated_at));
	}
	if ((v = json_object_get(spec, "description")) != NULL) {
		char *d = strdup(json_string_value(v));

		if (d == NULL)
			goto done;
		free(s->description);
		s->description = d;
	}
	if ((v = json_object_get(spec, "labels")) != NULL) {
		json_decref(s->labels);
		s->labels = json_deep_copy(v);
	}
	if ((v = json_object_get(spec, "custom_metadata")) != NULL)
		s->custom_metadata = json_deep_copy(v);
	if ((rc = build_extra(s, spec, origin, err, errlen)) != FMUT_OK)
		goto done;
	rc = FMUT_ENOMEM;
	if (fstore_add_version(s, data, now_ms, NULL) == -1) {
		data = NULL;
		goto done;
	}
	data = NULL;
	if ((v = json_object_get(spec, "version_custom_metadata")) != NULL)
		s->versions[0].custom_metadata = json_deep_copy(v);
	switch (fstore_insert(st, s)) {
	case FSTORE_OK:
		*out = s;
		s = NULL;
		rc = FMUT_OK;
		break;
	case FSTORE_ECONFLICT:
		rc = fail(FMUT_ECONFLICT, err, errlen,
		    fstore_get(st, s->id) != NULL ?
		    "A secret with the same id already exists: %s" :
		    "A secret with the same name already exists: %s",
		    fstore_get(st, s->id) != NULL ? s->id : s->name);
		break;
	default:
		rc = FMUT_ENOMEM;
		break;
	}
done:
	json_decref(data);
	fstore_secret_free(s);
	if (rc == FMUT_ENOMEM && err[0] == '\0')
		fail(rc, err, errlen, "Out of memory.");
	return rc;
}

/* Set key in data from body[body_key] (a string), or a generated value. */
static int
take_string(json_t *data, const char *key, const json_t *body,
    const char *body_key, json_t *generated, char *err, size_t errlen)
{
	const json_t *v = json_object_get(body, body_key);

	if (v != NULL && !json_is_string(v)) {
		json_decref(generated);
		return fail(FMUT_EINVAL, err, errlen, "%s must be a string.",
		    body_key);
	}
	if (v != NULL) {
		json_decref(generated);
		return json_object_set(data, key, (json_t *)v) ? FMUT_ENOMEM : 0;
	}
	return json_object_set_new(data, key, generated) ? FMUT_ENOMEM : 0;
}

int
fmut_rotate(struct fstore *st, struct fsecret *s, const json_t *body,
    enum fmut_flavor flavor, int64_t now_ms, char *err, size_t errlen)
{
	const json_t	*cur = s->versions[s->nversions - 1].data, *v;
	json_t		*data = NULL, *vmeta = NULL;
	char		 prefix[64];
	int		 rc = FMUT_ENOMEM;

	err[0] = '\0';
	if (!json_is_object(body))
		return fail(FMUT_EINVAL, err, errlen,
		    "The request body must be a JSON object.");
	if ((v = json_object_get(body, "version_custom_metadata")) != NULL &&
	    !json_is_object(v))
		return fail(FMUT_EINVAL, err, errlen,
		    "version_custom_metadata must be a JSON object.");
	if ((v = json_object_get(body, "custom_metadata")) != NULL &&
	    !json_is_object(v))
		return fail(FMUT_EINVAL, err, errlen,
		    "custom_metadata must be a JSON object.");
	if ((data = json_object()) == NULL)
		goto done;
	snprintf(prefix, sizeof(prefix), "rotated-%llu-",
	    (unsigned long long)fstore_next_serial(st));
	switch (s->type) {
	case FSTORE_ARBITRARY:
		rc = take_string(data, "payload", body, "payload",
		    random_string(prefix, 12), err, errlen);
		break;
	case FSTORE_USERNAME_PASSWORD:
		json_object_set(data, "username", json_object_get(cur, "username"));
		rc = take_string(data, "password", body, "password",
		    random_string("", 18), err, errlen);
		break;
	case FSTORE_KV:
		v = json_object_get(body, flavor == FMUT_V1 ? "payload" : "data");
		if (v != NULL && !json_is_object(v)) {
			rc = fail(FMUT_EINVAL, err, errlen,
			    "%s must be a JSON object.",
			    flavor == FMUT_V1 ? "payload" : "data");
			break;
		}
		rc = json_object_set_new(data, "data", v != NULL ?
		    json_deep_copy(v) : json_pack("{s:o}", "generated",
		    random_string(prefix, 12))) ? FMUT_ENOMEM : FMUT_OK;
		break;
	case FSTORE_IAM_CREDENTIALS:
		rc = json_object_set_new(data, "api_key",
		    random_string("", 33)) ? FMUT_ENOMEM : FMUT_OK;
		break;
	case FSTORE_IMPORTED_CERT:
	default:
		if (json_object_get(body, "certificate") == NULL) {
			json_decref(data);
			data = json_deep_copy(cur);
			rc = data ? FMUT_OK : FMUT_ENOMEM;
			break;
		}
		rc = take_string(data, "certificate", body, "certificate", NULL,
		    err, errlen);
		if (rc == FMUT_OK && json_object_get(body, "intermediate"))
			rc = take_string(data, "intermediate", body,
			    "intermediate", NULL, err, errlen);
		if (rc == FMUT_OK && json_object_get(body, "private_key"))
			rc = take_string(data, "private_key", body,
			    "private_key", NULL, err, errlen);
		break;
	}
	if (rc != FMUT_OK)
		goto done;
	if ((v = json_object_get(body, "version_custom_metadata")) != NULL &&
	    (vmeta = json_deep_copy(v)) == NULL) {
		rc = FMUT_ENOMEM;
		goto done;
	}
	if (fstore_add_version(s, data, now_ms, NULL) == -1) {
		data = NULL;
		rc = FMUT_ENOMEM;
		goto done;
	}
	data = NULL;
	s->versions[s->nversions - 1].custom_metadata = vmeta;
	vmeta = NULL;
	if ((v = json_object_get(body, "custom_metadata")) != NULL) {
		json_decref(s->custom_metadata);
		s->custom_metadata = json_deep_copy(v);
	}
	fhttp_rfc3339(now_ms, s->updated_at);
	rc = FMUT_OK;
done:
	json_decref(data);
	json_decref(vmeta);
	if (rc == FMUT_ENOMEM && err[0] == '\0')
		fail(rc, err, errlen, "Out of memory.");
	return rc;
}

/* RFC 7396 merge of patch into target (an object). */
static int
merge_patch(json_t *target, const json_t *patch)
{
	const char	*key;
	json_t		*val;

	json_object_foreach((json_t *)patch, key, val) {
		if (json_is_null(val)) {
			json_object_del(target, key);
		} else if (json_is_object(val)) {
			json_t *sub = json_object_get(target, key);

			if (!json_is_object(sub)) {
				if ((sub = json_object()) == NULL ||
				    json_object_set_new(target, key, sub) == -1)
					return -1;
			}
			if (merge_patch(sub, val) == -1)
				return -1;
		} else if (json_object_set(target, key, val) == -1)
			return -1;
	}
	return 0;
}

int
fmut_patch(struct fstore *st, struct fsecret *s, const json_t *patch,
    int64_t now_ms, char *err, size_t errlen)
{
	const json_t	*name, *desc, *labels, *cm, *exp;
	char		*ndesc = NULL;
	json_t		*ncm = NULL;
	int		 rc;

	err[0] = '\0';
	if (!json_is_object(patch))
		return fail(FMUT_EINVAL, err, errlen,
		    "The request body must be a JSON object.");
	name = json_object_get(patch, "name");
	desc = json_object_get(patch, "description");
	labels = json_object_get(patch, "labels");
	cm = json_object_get(patch, "custom_metadata");
	exp = json_object_get(patch, "expiration_date");
	if (name != NULL && (rc = check_name(name, err, errlen)) != 0)
		return rc;
	if (desc != NULL && !json_is_string(desc) && !json_is_null(desc))
		return fail(FMUT_EINVAL, err, errlen,
		    "description must be a string.");
	if (labels != NULL && !json_is_null(labels) &&
	    (rc = check_labels(labels, err, errlen)) != 0)
		return rc;
	if (cm != NULL && !json_is_object(cm) && !json_is_null(cm))
		return fail(FMUT_EINVAL, err, errlen,
		    "custom_metadata must be a JSON object.");
	if (exp != NULL && !json_is_string(exp) && !json_is_null(exp))
		return fail(FMUT_EINVAL, err, errlen,
		    "expiration_date must be a string.");

	/* Prepare everything that can fail before changing anything. */
	if (desc != NULL &&
	    (ndesc = strdup(json_is_string(desc) ? json_string_value(desc) : "")) == NULL)
		goto nomem;
	if (cm != NULL && json_is_object(cm)) {
		ncm = s->custom_metadata ? json_deep_copy(s->custom_metadata) :
		    json_object();
		if (ncm == NULL || merge_patch(ncm, cm) == -1)
			goto nomem;
	}
	if (name != NULL) {
		rc = fstore_rename(st, s, json_string_value(name));
		if (rc == FSTORE_ECONFLICT) {
			free(ndesc);
			json_decref(ncm);
			return fail(FMUT_ECONFLICT, err, errlen,
			    "A secret with the same name already exists: %s",
			    json_string_value(name));
		}
		if (rc != FSTORE_OK)
			goto nomem;
	}
	if (ndesc != NULL) {
		free(s->description);
		s->description = ndesc;
	}
	if (labels != NULL) {
		json_decref(s->labels);
		s->labels = json_is_null(labels) ? json_array() :
		    json_deep_copy(labels);
	}
	if (cm != NULL) {
		json_decref(s->custom_metadata);
		s->custom_metadata = ncm;
	}
	if (exp != NULL) {
		if (json_is_null(exp))
			json_object_del(s->extra, "expiration_date");
		else
			json_object_set(s->extra, "expiration_date", (json_t *)exp);
	}
	fhttp_rfc3339(now_ms, s->updated_at);
	return FMUT_OK;
nomem:
	free(ndesc);
	json_decref(ncm);
	return fail(FMUT_ENOMEM, err, errlen, "Out of memory.");
}

json_t *
fmut_reveal(struct fsecret *s, size_t vi)
{
	struct fversion	*v = &s->versions[vi];
	json_t		*copy;

	if (v->data == NULL)
		return NULL;
	s->downloaded = true;
	v->downloaded = true;
	if (s->type != FSTORE_IAM_CREDENTIALS ||
	    !json_is_false(json_object_get(s->extra, "reuse_api_key")))
		return json_incref(v->data);
	/* reuse_api_key false: every read is a new service ID and key. */
	if ((copy = json_deep_copy(v->data)) == NULL)
		return NULL;
	if (json_object_set_new(copy, "api_key", random_string("", 33)) == -1) {
		json_decref(copy);
		return NULL;
	}
	return copy;
}
