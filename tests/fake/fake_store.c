/*
 * fake_store: groups, secrets and versions of the fake Secrets Manager.
 *
 * Secrets sit in an insertion-ordered array (what list calls walk) and in
 * two chained hash tables: by id, and by (type, name) because SM names are
 * unique per type across the instance.  Tables double when the load
 * factor passes 1.  Groups are few (SM allows 200) and live in a plain
 * array.  Versions are kept oldest first; like SM, only the current and the
 * previous version keep their secret data.
 *
 * Thread rules: none here; callers hold the server lock.
 */
#include "tests/fake/fake_store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[FSTORE_TYPE_COUNT] = {
	[FSTORE_ARBITRARY] = "arbitrary",
	[FSTORE_USERNAME_PASSWORD] = "username_password",
	[FSTORE_KV] = "kv",
	[FSTORE_IAM_CREDENTIALS] = "iam_credentials",
	[FSTORE_IMPORTED_CERT] = "imported_cert",
};

struct fstore {
	struct fgroup	*groups;
	size_t		 ngroups;
	size_t		 cap_groups;

	struct fsecret	**order;	/* insertion order */
	size_t		 count;
	size_t		 cap_order;

	struct fsecret	**by_id;	/* buckets */
	struct fsecret	**by_name;
	size_t		 nbuckets;	/* power of two */

	uint64_t	 serial;
};

const char *
fstore_type_name(enum fstore_type type)
{
	if ((unsigned)type >= FSTORE_TYPE_COUNT)
		return "unknown";
	return type_names[type];
}

int
fstore_type_parse(const char *name, enum fstore_type *out)
{
	int i;

	*out = FSTORE_ARBITRARY;
	if (name == NULL)
		return -1;
	for (i = 0; i < FSTORE_TYPE_COUNT; i++) {
		if (strcmp(name, type_names[i]) == 0) {
			*out = (enum fstore_type)i;
			return 0;
		}
	}
	return -1;
}

/* FNV-1a, seeded with a per-table prefix byte. */
static uint64_t
hash_bytes(uint64_t h, const char *s)
{
	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static size_t
id_bucket(const struct fstore *st, const char *id)
{
	return (size_t)(hash_bytes(14695981039346656037ULL, id) &
	    (st->nbuckets - 1));
}

static size_t
name_bucket(const struct fstore *st, enum fstore_type type, const char *name)
{
	uint64_t h = 14695981039346656037ULL;

	h ^= (uint64_t)type + 1;
	h *= 1099511628211ULL;
	return (size_t)(hash_bytes(h, name) & (st->nbuckets - 1));
}

struct fstore *
fstore_new(int64_t now_ms)
{
	struct fstore *st;

	if ((st = calloc(1, sizeof(*st))) == NULL)
		return NULL;
	st->nbuckets = 256;
	st->by_id = calloc(st->nbuckets, sizeof(*st->by_id));
	st->by_name = calloc(st->nbuckets, sizeof(*st->by_name));
	if (st->by_id == NULL || st->by_name == NULL ||
	    fstore_put_group(st, FSTORE_DEFAULT_GROUP, FSTORE_DEFAULT_GROUP,
	    "The default secret group.", now_ms) != FSTORE_OK) {
		fstore_free(st);
		return NULL;
	}
	return st;
}

void
fstore_free(struct fstore *st)
{
	size_t i;

	if (st == NULL)
		return;
	for (i = 0; i < st->count; i++)
		fstore_secret_free(st->order[i]);
	for (i = 0; i < st->ngroups; i++) {
		free(st->groups[i].id);
		free(st->groups[i].name);
		free(st->groups[i].description);
	}
	free(st->groups);
	free(st->order);
	free(st->by_id);
	free(st->by_name);
	free(st);
}

int
fstore_put_group(struct fstore *st, const char *id, const char *name,
    const char *description, int64_t now_ms)
{
	struct fgroup	*g = NULL;
	char		*nid = NULL, *nname = NULL, *ndesc = NULL;
	size_t		 i;
	int		 rc = FSTORE_ENOMEM;

	for (i = 0; i < st->ngroups; i++) {
		if (strcmp(st->groups[i].name, name) == 0 &&
		    strcmp(st->groups[i].id, id) != 0)
			return FSTORE_ECONFLICT;
		if (strcmp(st->groups[i].id, id) == 0)
			g = &st->groups[i];
	}
	nname = strdup(name);
	ndesc = strdup(description ? description : "");
	if (nname == NULL || ndesc == NULL)
		goto done;
	if (g == NULL) {
		if (st->ngroups == st->cap_groups) {
			size_t		 cap = st->cap_groups ? st->cap_groups * 2 : 8;
			struct fgroup	*ng = realloc(st->groups, cap * sizeof(*ng));

			if (ng == NULL)
				goto done;
			st->groups = ng;
			st->cap_groups = cap;
		}
		if ((nid = strdup(id)) == NULL)
			goto done;
		g = &st->groups[st->ngroups++];
		memset(g, 0, sizeof(*g));
		g->id = nid;
		nid = NULL;
		fhttp_rfc3339(now_ms, g->created_at);
	}
	free(g->name);
	free(g->description);
	g->name = nname;
	g->description = ndesc;
	nname = ndesc = NULL;
	fhttp_rfc3339(now_ms, g->updated_at);
	rc = FSTORE_OK;
done:
	free(nid);
	free(nname);
	free(ndesc);
	return rc;
}

const struct fgroup *
fstore_group(const struct fstore *st, const char *id)
{
	size_t i;

	for (i = 0; i < st->ngroups; i++)
		if (strcmp(st->groups[i].id, id) == 0)
			return &st->groups[i];
	return NULL;
}

const struct fgroup *
fstore_group_by_name(const struct fstore *st, const char *name)
{
	size_t i;

	for (i = 0; i < st->ngroups; i++)
		if (strcmp(st->groups[i].name, name) == 0)
			return &st->groups[i];
	return NULL;
}

size_t
fstore_group_count(const struct fstore *st)
{
	return st->ngroups;
}

const struct fgroup *
fstore_group_at(const struct fstore *st, size_t i)
{
	return i < st->ngroups ? &st->groups[i] : NULL;
}

struct fsecret *
fstore_secret_new(enum fstore_type type, const char *id, const char *name,
    const char *group_id, int64_t now_ms)
{
	struct fsecret *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	s->type = type;
	s->id = strdup(id);
	s->name = strdup(name);
	s->group_id = strdup(group_id);
	s->description = strdup("");
	s->labels = json_array();
	s->extra = json_object();
	if (s->id == NULL || s->name == NULL || s->group_id == NULL ||
	    s->description == NULL || s->labels == NULL || s->extra == NULL) {
		fstore_secret_free(s);
		return NULL;
	}
	fhttp_rfc3339(now_ms, s->created_at);
	memcpy(s->updated_at, s->created_at, sizeof(s->updated_at));
	return s;
}

void
fstore_secret_free(struct fsecret *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->nversions; i++) {
		json_decref(s->versions[i].data);
		json_decref(s->versions[i].custom_metadata);
	}
	free(s->versions);
	free(s->id);
	free(s->name);
	free(s->group_id);
	free(s->description);
	json_decref(s->labels);
	json_decref(s->custom_metadata);
	json_decref(s->extra);
	free(s);
}

int
fstore_add_version(struct fsecret *s, json_t *data, int64_t now_ms,
    const char *version_id)
{
	struct fversion *v;

	if (s->nversions == s->cap_versions) {
		size_t		 cap = s->cap_versions ? s->cap_versions * 2 : 2;
		struct fversion	*nv = realloc(s->versions, cap * sizeof(*nv));

		if (nv == NULL) {
			json_decref(data);
			return -1;
		}
		s->versions = nv;
		s->cap_versions = cap;
	}
	v = &s->versions[s->nversions++];
	memset(v, 0, sizeof(*v));
	if (version_id != NULL)
		snprintf(v->id, sizeof(v->id), "%s", version_id);
	else
		fhttp_uuid(v->id);
	fhttp_rfc3339(now_ms, v->created_at);
	v->data = data;
	/* Keep data for current and previous only. */
	if (s->nversions >= 3) {
		struct fversion *old = &s->versions[s->nversions - 3];

		json_decref(old->data);
		old->data = NULL;
	}
	return 0;
}

long
fstore_version_index(const struct fsecret *s, const char *id_or_alias)
{
	size_t i;

	if (strcmp(id_or_alias, "current") == 0)
		return s->nversions >= 1 ? (long)s->nversions - 1 : -1;
	if (strcmp(id_or_alias, "previous") == 0)
		return s->nversions >= 2 ? (long)s->nversions - 2 : -1;
	for (i = 0; i < s->nversions; i++)
		if (strcmp(s->versions[i].id, id_or_alias) == 0)
			return (long)i;
	return -1;
}

const char *
fstore_version_alias(const struct fsecret *s, size_t vi)
{
	if (vi + 1 == s->nversions)
		return "current";
	if (vi + 2 == s->nversions)
		return "previous";
	return NULL;
}

static int
grow_tables(struct fstore *st)
{
	size_t		 n = st->nbuckets * 2, i;
	struct fsecret	**nid, **nname;

	nid = calloc(n, sizeof(*nid));
	nname = calloc(n, sizeof(*nname));
	if (nid == NULL || nname == NULL) {
		free(nid);
		free(nname);
		return -1;
	}
	free(st->by_id);
	free(st->by_name);
	st->by_id = nid;
	st->by_name = nname;
	st->nbuckets = n;
	for (i = 0; i < st->count; i++) {
		struct fsecret	*s = st->order[i];
		size_t		 b = id_bucket(st, s->id);

		s->next_by_id = st->by_id[b];
		st->by_id[b] = s;
		b = name_bucket(st, s->type, s->name);
		s->next_by_name = st->by_name[b];
		st->by_name[b] = s;
	}
	return 0;
}

int
fstore_insert(struct fstore *st, struct fsecret *s)
{
	size_t b;

	if (fstore_get(st, s->id) != NULL ||
	    fstore_get_by_name(st, s->type, s->name) != NULL)
		return FSTORE_ECONFLICT;
	if (st->count == st->cap_order) {
		size_t		 cap = st->cap_order ? st->cap_order * 2 : 64;
		struct fsecret	**no = realloc(st->order, cap * sizeof(*no));

		if (no == NULL)
			return FSTORE_ENOMEM;
		st->order = no;
		st->cap_order = cap;
	}
	if (st->count + 1 > st->nbuckets && grow_tables(st) == -1)
		return FSTORE_ENOMEM;
	st->order[st->count++] = s;
	b = id_bucket(st, s->id);
	s->next_by_id = st->by_id[b];
	st->by_id[b] = s;
	b = name_bucket(st, s->type, s->name);
	s->next_by_name = st->by_name[b];
	st->by_name[b] = s;
	return FSTORE_OK;
}

struct fsecret *
fstore_get(const struct fstore *st, const char *id)
{
	struct fsecret *s;

	for (s = st->by_id[id_bucket(st, id)]; s != NULL; s = s->next_by_id)
		if (strcmp(s->id, id) == 0)
			return s;
	return NULL;
}

struct fsecret *
fstore_get_by_name(const struct fstore *st, enum fstore_type type,
    const char *name)
{
	struct fsecret *s;

	for (s = st->by_name[name_bucket(st, type, name)]; s != NULL;
	    s = s->next_by_name)
		if (s->type == type && strcmp(s->name, name) == 0)
			return s;
	return NULL;
}

static void
unlink_name(struct fstore *st, struct fsecret *s)
{
	struct fsecret **pp = &st->by_name[name_bucket(st, s->type, s->name)];

	for (; *pp != NULL; pp = &(*pp)->next_by_name) {
		if (*pp == s) {
			*pp = s->next_by_name;
			s->next_by_name = NULL;
			return;
		}
	}
}

int
fstore_rename(struct fstore *st, struct fsecret *s, const char *name)
{
	struct fsecret	*other = fstore_get_by_name(st, s->type, name);
	char		*nname;
	size_t		 b;

	if (other == s)
		return FSTORE_OK;
	if (other != NULL)
		return FSTORE_ECONFLICT;
	if ((nname = strdup(name)) == NULL)
		return FSTORE_ENOMEM;
	unlink_name(st, s);
	free(s->name);
	s->name = nname;
	b = name_bucket(st, s->type, s->name);
	s->next_by_name = st->by_name[b];
	st->by_name[b] = s;
	return FSTORE_OK;
}

int
fstore_delete(struct fstore *st, const char *id)
{
	struct fsecret	*s, **pp;
	size_t		 i;

	if ((s = fstore_get(st, id)) == NULL)
		return FSTORE_ENOTFOUND;
	for (pp = &st->by_id[id_bucket(st, id)]; *pp != NULL;
	    pp = &(*pp)->next_by_id) {
		if (*pp == s) {
			*pp = s->next_by_id;
			break;
		}
	}
	unlink_name(st, s);
	for (i = 0; i < st->count; i++) {
		if (st->order[i] == s) {
			memmove(&st->order[i], &st->order[i + 1],
			    (st->count - i - 1) * sizeof(*st->order));
			st->count--;
			break;
		}
	}
	fstore_secret_free(s);
	return FSTORE_OK;
}

size_t
fstore_count(const struct fstore *st)
{
	return st->count;
}

struct fsecret *
fstore_at(const struct fstore *st, size_t i)
{
	return i < st->count ? st->order[i] : NULL;
}

uint64_t
fstore_next_serial(struct fstore *st)
{
	return ++st->serial;
}
