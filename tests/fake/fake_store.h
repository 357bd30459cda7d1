/*
 * fake_store: the fake Secrets Manager's data: secret groups, secrets and
 * their versions, with a hash index by id and one by (type, name) so that
 * 100k generated secrets cost O(1) per lookup.  Iteration is in insertion
 * order.  JSON shapes live in fake_render; request-level rules (validation,
 * defaults, minting) live in fake_mutate.
 *
 * Thread rules: not locked here; every call must hold the server lock
 * (struct fsrv.lock).
 */
#ifndef FAKE_STORE_H
#define FAKE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tests/fake/fake_http.h"

#define FSTORE_DEFAULT_GROUP	"default"

enum fstore_type {
	FSTORE_ARBITRARY = 0,
	FSTORE_USERNAME_PASSWORD,
	FSTORE_KV,
	FSTORE_IAM_CREDENTIALS,
	FSTORE_IMPORTED_CERT,
	FSTORE_TYPE_COUNT
};

enum fstore_rc {
	FSTORE_OK = 0,
	FSTORE_ENOMEM = -1,
	FSTORE_ECONFLICT = -2,	/* id, or (type, name), already taken */
	FSTORE_ENOTFOUND = -3
};

struct fgroup {
	char	*id;
	char	*name;
	char	*description;
	char	 created_at[FHTTP_TIME_LEN];
	char	 updated_at[FHTTP_TIME_LEN];
};

struct fversion {
	char	 id[FHTTP_UUID_LEN];
	char	 created_at[FHTTP_TIME_LEN];
	json_t	*data;			/* secret-data fields, e.g. {"payload":"x"};
					   NULL once the payload is no longer kept */
	json_t	*custom_metadata;	/* version_custom_metadata object or NULL */
	bool	 auto_rotated;
	bool	 downloaded;
};

struct fsecret {
	char			*id;
	char			*name;
	enum fstore_type	 type;
	char			*group_id;
	char			*description;	/* never NULL */
	json_t			*labels;	/* array of strings, never NULL */
	json_t			*custom_metadata; /* object or NULL */
	json_t			*extra;		/* type-specific metadata fields
						   (ttl, reuse_api_key, rotation,
						   common_name...), never NULL */
	char			 created_at[FHTTP_TIME_LEN];
	char			 updated_at[FHTTP_TIME_LEN];
	bool			 downloaded;
	struct fversion		*versions;	/* oldest first */
	size_t			 nversions;
	size_t			 cap_versions;
	/* Index links, owned by the store. */
	struct fsecret		*next_by_id;
	struct fsecret		*next_by_name;
};

/* "arbitrary", "username_password", ... */
const char	*fstore_type_name(enum fstore_type type);
/* Returns 0 and sets *out for a known type name, else -1. */
int		 fstore_type_parse(const char *name, enum fstore_type *out);

/* A store holding only the default group.  NULL on allocation failure.
 * Free with fstore_free() (NULL is a no-op); that frees every secret. */
struct fstore	*fstore_new(int64_t now_ms);
void		 fstore_free(struct fstore *st);

/*
 * Create or update a group (an existing id gets the new name and
 * description).  Returns FSTORE_OK, FSTORE_ECONFLICT when another group has
 * that name, or FSTORE_ENOMEM.
 */
int		 fstore_put_group(struct fstore *st, const char *id, const char *name,
		    const char *description, int64_t now_ms);
const struct fgroup *fstore_group(const struct fstore *st, const char *id);
const struct fgroup *fstore_group_by_name(const struct fstore *st, const char *name);
size_t		 fstore_group_count(const struct fstore *st);
const struct fgroup *fstore_group_at(const struct fstore *st, size_t i);

/*
 * A detached secret with no versions, empty labels, description and
 * extra.  The caller owns it until fstore_insert() succeeds; free with
 * fstore_secret_free() (NULL is a no-op).  NULL on allocation failure.
 */
struct fsecret	*fstore_secret_new(enum fstore_type type, const char *id,
		    const char *name, const char *group_id, int64_t now_ms);
void		 fstore_secret_free(struct fsecret *s);

/*
 * Add a version holding data (stolen, even on failure) as the new current
 * one; version_id NULL makes a fresh UUID.  Only the current and previous
 * versions keep their data.  Returns 0, or -1 on allocation failure.
 */
int		 fstore_add_version(struct fsecret *s, json_t *data, int64_t now_ms,
		    const char *version_id);

/*
 * The index of the version named by id_or_alias ("current", "previous" or a
 * version id), or -1 when there is none.
 */
long		 fstore_version_index(const struct fsecret *s, const char *id_or_alias);
/* "current", "previous" or NULL for the version at index vi. */
const char	*fstore_version_alias(const struct fsecret *s, size_t vi);

/*
 * Insert a detached secret; on FSTORE_OK the store owns it.  Returns
 * FSTORE_ECONFLICT when its id or its (type, name) is taken, FSTORE_ENOMEM.
 */
int		 fstore_insert(struct fstore *st, struct fsecret *s);
/* Lookups return the store's secret (valid until it is deleted) or NULL. */
struct fsecret	*fstore_get(const struct fstore *st, const char *id);
struct fsecret	*fstore_get_by_name(const struct fstore *st, enum fstore_type type,
		    const char *name);
/* Rename in place: FSTORE_OK, FSTORE_ECONFLICT or FSTORE_ENOMEM. */
int		 fstore_rename(struct fstore *st, struct fsecret *s, const char *name);
/* Remove and free: FSTORE_OK or FSTORE_ENOTFOUND. */
int		 fstore_delete(struct fstore *st, const char *id);

/* Secrets in insertion order; fstore_at() is valid for i < fstore_count(). */
size_t		 fstore_count(const struct fstore *st);
struct fsecret	*fstore_at(const struct fstore *st, size_t i);

/* A number that grows by one per call (for minted values). */
uint64_t	 fstore_next_serial(struct fstore *st);

#endif
