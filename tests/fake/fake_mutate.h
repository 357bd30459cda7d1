/*
 * fake_mutate: the rules of the fake Secrets Manager's writes and of the
 * reads that change state: building a secret from a create body or a
 * fixture entry (validation plus the defaults SM fills in), rotation
 * (a new version), merge-patching metadata, and revealing a version's data
 * (which marks it downloaded and, for iam_credentials with
 * reuse_api_key false, mints a new api_key on every read).
 *
 * Functions that can fail return an enum fmut_rc and, on failure, write a
 * client-facing message into err (always NUL-terminated).
 *
 * Thread rules: callers hold the server lock.
 */
#ifndef FAKE_MUTATE_H
#define FAKE_MUTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tests/fake/fake_http.h"
#include "tests/fake/fake_store.h"

enum fmut_rc {
	FMUT_OK = 0,
	FMUT_EINVAL = -1,	/* malformed input: 400 */
	FMUT_ENOTFOUND = -2,	/* a referenced object does not exist: 404 */
	FMUT_ECONFLICT = -3,	/* name already used for this type: 409 */
	FMUT_ENOMEM = -4	/* 500 */
};

enum fmut_origin {
	FMUT_FROM_API,		/* POST /api/v2/secrets body */
	FMUT_FROM_FIXTURE	/* fixture file entry: may set id, api_key, created_at */
};

enum fmut_flavor {
	FMUT_V2,		/* rotation body {"payload"|"password"|"data"|certificate fields} */
	FMUT_V1			/* v1 rotate body {"payload"|"password"|...}; kv uses "payload" */
};

/* The HTTP status for a failure code. */
int		 fmut_status(int rc);

/*
 * Parse a request body as a JSON object.  An empty body gives {} when
 * allow_empty.  On FMUT_OK *out is a new reference the caller decrefs; on
 * FMUT_EINVAL (not JSON, not an object) *out is NULL and err says why.
 */
int		 fmut_parse_body(const struct freq *rq, bool allow_empty, json_t **out,
		    char *err, size_t errlen);

/*
 * Build and insert a secret described by spec, with version 1.  On FMUT_OK
 * *out is the store's secret.  Fails with FMUT_EINVAL (bad or missing
 * field), FMUT_ENOTFOUND (unknown secret_group_id), FMUT_ECONFLICT (id or
 * name taken) or FMUT_ENOMEM.
 */
int		 fmut_create(struct fstore *st, const json_t *spec,
		    enum fmut_origin origin, int64_t now_ms, struct fsecret **out,
		    char *err, size_t errlen);

/*
 * Rotate: add a new current version from body; fields the body leaves out
 * are generated (or, for imported_cert, carried over).  The old current
 * version becomes "previous".  FMUT_OK, FMUT_EINVAL or FMUT_ENOMEM.
 */
int		 fmut_rotate(struct fstore *st, struct fsecret *s, const json_t *body,
		    enum fmut_flavor flavor, int64_t now_ms, char *err, size_t errlen);

/*
 * Apply a JSON merge patch (RFC 7396) to name, description, labels,
 * custom_metadata and expiration_date.  FMUT_OK, FMUT_EINVAL,
 * FMUT_ECONFLICT (new name taken) or FMUT_ENOMEM.
 */
int		 fmut_patch(struct fstore *st, struct fsecret *s, const json_t *patch,
		    int64_t now_ms, char *err, size_t errlen);

/*
 * What a read of version vi reveals: a new reference to its data fields
 * (the caller decrefs), or NULL when the version no longer holds data or
 * memory ran out.  Marks the secret and the version downloaded.
 */
json_t		*fmut_reveal(struct fsecret *s, size_t vi);

#endif
