/*
 * fake_fixtures: fill the fake store from a fixture file and with
 * generated secrets.
 *
 * Fixture file:
 *   {"api_keys": ["demo-upstream-key"],
 *    "secret_groups": [{"id": "...", "name": "...", "description": "..."}],
 *    "secrets": [{"id", "name", "secret_type", "secret_group_id", "labels",
 *                 "description", <type's data fields>, <type's metadata>}]}
 * Data fields per type: arbitrary "payload"; username_password "username",
 * "password"; kv "data" (object); iam_credentials "api_key" (plus "ttl",
 * "reuse_api_key"); imported_cert "certificate", "intermediate",
 * "private_key".  Other fields of a secret are kept as type-specific
 * metadata.  Common fields not given are filled in, and every secret gets
 * version 1.
 *
 * Thread rules: main thread, before the server starts.
 */
#ifndef FAKE_FIXTURES_H
#define FAKE_FIXTURES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tests/fake/fake_store.h"

/*
 * Load path into st.  Returns 0 with *api_keys a new reference to the
 * file's api_keys array (NULL when the file has none; the caller
 * decrefs), or -1 with *api_keys NULL and a message naming the bad entry
 * in err.
 */
int	 ffix_load(struct fstore *st, const char *path, int64_t now_ms,
	    json_t **api_keys, char *err, size_t errlen);

/*
 * Add count arbitrary secrets in the default group: id
 * "00000000-0000-4000-8000-%012d", name "gen-secret-%d", payload
 * "generated-payload-%d" for index 0..count-1.  Returns 0, or -1 with a
 * message in err.
 */
int	 ffix_generate(struct fstore *st, long count, int64_t now_ms, char *err,
	    size_t errlen);

#endif
