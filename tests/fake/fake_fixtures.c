/*
 * fake_fixtures: fixture files and generated secrets.
 *
 * Fixture secrets go through fmut_create(), the same path as an API
 * create, so the two cannot disagree about defaults or validation.
 * Generated secrets skip the JSON round trip and build store records
 * directly: 100k of them load in well under a second.
 *
 * Thread rules: main thread only, before serving.
 */
#include "tests/fake/fake_fixtures.h"

#include <stdio.h>
#include <string.h>

#include "tests/fake/fake_mutate.h"

static int
load_groups(struct fstore *st, const json_t *groups, int64_t now_ms,
    char *err, size_t errlen)
{
	size_t	 i;
	json_t	*g;

	if (groups == NULL)
		return 0;
	if (!json_is_array(groups)) {
		snprintf(err, errlen, "secret_groups must be an array");
		return -1;
	}
	json_array_foreach(groups, i, g) {
		const char *id = json_string_value(json_object_get(g, "id"));
		const char *name = json_string_value(json_object_get(g, "name"));
		const char *desc = json_string_value(json_object_get(g, "description"));

		if (id == NULL || name == NULL || id[0] == '\0' || name[0] == '\0') {
			snprintf(err, errlen,
			    "secret_groups[%zu]: id and name must be non-empty strings", i);
			return -1;
		}
		if (fstore_put_group(st, id, name, desc ? desc : "", now_ms) !=
		    FSTORE_OK) {
			snprintf(err, errlen,
			    "secret_groups[%zu]: group name %s is already used", i, name);
			return -1;
		}
	}
	return 0;
}

int
ffix_load(struct fstore *st, const char *path, int64_t now_ms,
    json_t **api_keys, char *err, size_t errlen)
{
	json_error_t	 jerr;
	json_t		*root, *secrets, *keys, *spec;
	struct fsecret	*s;
	char		 why[256];
	size_t		 i;
	int		 rc = -1;

	*api_keys = NULL;
	if ((root = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		snprintf(err, errlen, "%s:%d: %s", path, jerr.line, jerr.text);
		return -1;
	}
	if (!json_is_object(root)) {
		snprintf(err, errlen, "%s: the top level must be an object", path);
		goto done;
	}
	keys = json_object_get(root, "api_keys");
	if (keys != NULL && (!json_is_array(keys) || json_array_size(keys) == 0)) {
		snprintf(err, errlen, "%s: api_keys must be a non-empty array", path);
		goto done;
	}
	if (load_groups(st, json_object_get(root, "secret_groups"), now_ms,
	    why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto done;
	}
	secrets = json_object_get(root, "secrets");
	if (secrets != NULL && !json_is_array(secrets)) {
		snprintf(err, errlen, "%s: secrets must be an array", path);
		goto done;
	}
	json_array_foreach(secrets, i, spec) {
		if (fmut_create(st, spec, FMUT_FROM_FIXTURE, now_ms, &s, why,
		    sizeof(why)) != FMUT_OK) {
			const char *name = json_string_value(json_object_get(spec, "name"));

			snprintf(err, errlen, "%s: secrets[%zu] (%s): %s", path, i,
			    name ? name : "?", why);
			goto done;
		}
	}
	*api_keys = json_incref(keys);
	rc = 0;
done:
	json_decref(root);
	return rc;
}

int
ffix_generate(struct fstore *st, long count, int64_t now_ms, char *err,
    size_t errlen)
{
	struct fsecret	*s = NULL;
	json_t		*data;
	char		 id[64], name[64], payload[64];
	long		 i;

	for (i = 0; i < count; i++) {
		snprintf(id, sizeof(id), "00000000-0000-4000-8000-%012ld", i);
		snprintf(name, sizeof(name), "gen-secret-%ld", i);
		snprintf(payload, sizeof(payload), "generated-payload-%ld", i);
		s = fstore_secret_new(FSTORE_ARBITRARY, id, name,
		    FSTORE_DEFAULT_GROUP, now_ms);
		if (s == NULL)
			goto nomem;
		if ((data = json_pack("{s:s}", "payload", payload)) == NULL ||
		    fstore_add_version(s, data, now_ms, NULL) == -1)
			goto nomem;
		switch (fstore_insert(st, s)) {
		case FSTORE_OK:
			break;
		case FSTORE_ECONFLICT:
			snprintf(err, errlen, "generated secret %s clashes with a "
			    "fixture secret", name);
			fstore_secret_free(s);
			return -1;
		default:
			goto nomem;
		}
	}
	return 0;
nomem:
	fstore_secret_free(s);
	snprintf(err, errlen, "out of memory after %ld generated secrets", i);
	return -1;
}
