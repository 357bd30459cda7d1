/*
 * fake_render: the JSON shapes of the fake Secrets Manager, built from
 * fake_store data.  v2 follows SM-API.md section 1 (Secret, SecretMetadata,
 * SecretVersion, SecretVersionMetadata, SecretGroup); v1 follows section 2
 * (creation_date / last_update_date, "Active", secret_data, the collection
 * envelope).  Every secret and version carries secret_type.
 *
 * Secret data is passed in explicitly (data == NULL renders metadata
 * only), so that callers decide what a read reveals, e.g. a freshly minted
 * api_key for iam_credentials with reuse_api_key false.
 *
 * Every function returns a new reference the caller owns (json_decref), or
 * NULL on allocation failure.
 *
 * Thread rules: reads the store; callers hold the server lock.
 */
#ifndef FAKE_RENDER_H
#define FAKE_RENDER_H

#include <stddef.h>

#include <jansson.h>

#include "tests/fake/fake_store.h"

#define FRENDER_CREATED_BY	"iam-ServiceId-fake-0"
#define FRENDER_V1_SECRET_TYPE	"application/vnd.ibm.secrets-manager.secret+json"
#define FRENDER_V1_GROUP_TYPE	"application/vnd.ibm.secrets-manager.secret.group+json"

/* v2 SecretMetadata, or Secret when data is not NULL. */
json_t	*frender_v2_secret(const struct fsecret *s, json_t *data);
/* v2 SecretVersionMetadata of version vi, or SecretVersion when data is not NULL. */
json_t	*frender_v2_version(const struct fsecret *s, size_t vi, json_t *data);
json_t	*frender_v2_group(const struct fgroup *g);

/* A v1 secret resource: metadata, plus secret_data (api_key at the top
 * level for iam_credentials) when data is not NULL. */
json_t	*frender_v1_secret(const struct fsecret *s, json_t *data);
json_t	*frender_v1_group(const struct fgroup *g);
/* {"metadata":{"collection_type":type,"collection_total":n},"resources":resources};
 * steals resources (an array). */
json_t	*frender_v1_envelope(const char *collection_type, json_t *resources);

#endif
