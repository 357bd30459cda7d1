/*
 * fake_list: list-secrets queries.
 *
 * Filtering walks every secret (lists are rare next to gets, and 100k
 * secrets take well under a millisecond per filter), then qsort_r orders
 * the matches by the requested key with the id as tie-breaker, so pages
 * are stable.  Without a sort the order is insertion order.
 *
 * Thread rules: see fake_list.h.
 */
#include "tests/fake/fake_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tests/fake/fake_http.h"

static const char *const sm_types[] = {
	"arbitrary", "custom_credentials", "iam_credentials", "imported_cert",
	"kv", "private_cert", "public_cert", "service_credentials",
	"username_password", NULL
};

bool
flist_is_sm_type(const char *name)
{
	size_t i;

	for (i = 0; sm_types[i] != NULL; i++)
		if (strcmp(sm_types[i], name) == 0)
			return true;
	return false;
}

static void
free_list(char **list, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

/* Split "a,b,c" into a malloc'd array of malloc'd strings, dropping empty
 * items.  Returns 0 or -1 (no memory). */
static int
split_commas(const char *s, char ***out, size_t *n)
{
	char	**list = NULL;
	size_t	 cnt = 0, cap = 0;
	const char *p = s;

	*out = NULL;
	*n = 0;
	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > 0) {
			if (cnt == cap) {
				char **nl;

				cap = cap ? cap * 2 : 4;
				if ((nl = realloc(list, cap * sizeof(*nl))) == NULL)
					goto fail;
				list = nl;
			}
			if ((list[cnt] = strndup(p, len)) == NULL)
				goto fail;
			cnt++;
		}
		if (end == NULL)
			break;
		p = end + 1;
	}
	*out = list;
	*n = cnt;
	return 0;
fail:
	free_list(list, cnt);
	return -1;
}

static int
parse_sort(const char *v, enum flist_flavor flavor, struct flist_query *q)
{
	static const struct { const char *name; enum flist_sort key; } v2[] = {
		{ "id", FLIST_SORT_ID }, { "created_at", FLIST_SORT_CREATED_AT },
		{ "updated_at", FLIST_SORT_UPDATED_AT }, { "name", FLIST_SORT_NAME },
		{ "secret_type", FLIST_SORT_TYPE },
		/* Accepted by SM; the fake has no such dates, so ties. */
		{ "retrieved_at", FLIST_SORT_ID },
		{ "expiration_date", FLIST_SORT_ID },
	}, v1[] = {
		{ "id", FLIST_SORT_ID }, { "creation_date", FLIST_SORT_CREATED_AT },
		{ "name", FLIST_SORT_NAME }, { "secret_type", FLIST_SORT_TYPE },
		{ "expiration_date", FLIST_SORT_ID },
	};
	size_t i, n = flavor == FLIST_V2 ? sizeof(v2) / sizeof(v2[0]) :
	    sizeof(v1) / sizeof(v1[0]);

	q->descending = v[0] == '-';
	if (q->descending)
		v++;
	for (i = 0; i < n; i++) {
		const char *name = flavor == FLIST_V2 ? v2[i].name : v1[i].name;

		if (strcmp(v, name) == 0) {
			q->sort = flavor == FLIST_V2 ? v2[i].key : v1[i].key;
			return 0;
		}
	}
	return -1;
}

int
flist_parse(const char *query, enum flist_flavor flavor, struct flist_query *q,
    char *err, size_t errlen)
{
	char		*v = NULL;
	long long	 max_limit = flavor == FLIST_V2 ? FLIST_V2_MAX_LIMIT :
			    FLIST_V1_MAX_LIMIT;
	int		 rc = -1;

	memset(q, 0, sizeof(*q));
	q->limit = FLIST_DEFAULT_LIMIT;
	snprintf(err, errlen, "Out of memory.");

	if ((v = fhttp_form_value(query, "offset")) != NULL) {
		if (fhttp_parse_uint(v, 1000000000LL, &q->offset) == -1) {
			snprintf(err, errlen, "offset must be a non-negative integer.");
			goto done;
		}
		free(v);
		v = NULL;
	}
	if ((v = fhttp_form_value(query, "limit")) != NULL) {
		if (fhttp_parse_uint(v, max_limit, &q->limit) == -1 ||
		    q->limit < 1) {
			snprintf(err, errlen, "limit must be an integer from 1 to %lld.",
			    max_limit);
			goto done;
		}
		free(v);
		v = NULL;
	}
	v = fhttp_form_value(query, flavor == FLIST_V2 ? "sort" : "sort_by");
	if (v != NULL) {
		if (v[0] != '\0' && parse_sort(v, flavor, q) == -1) {
			snprintf(err, errlen, "Invalid %s value: %s.",
			    flavor == FLIST_V2 ? "sort" : "sort_by", v);
			goto done;
		}
		free(v);
		v = NULL;
	}
	if ((v = fhttp_form_value(query, "search")) != NULL) {
		if (v[0] != '\0') {
			q->search = v;
			v = NULL;
		}
		free(v);
		v = NULL;
	}
	if ((v = fhttp_form_value(query, "groups")) != NULL) {
		if (split_commas(v, &q->groups, &q->ngroups) == -1)
			goto done;
		free(v);
		v = NULL;
	}
	if (flavor == FLIST_V2 &&
	    (v = fhttp_form_value(query, "secret_types")) != NULL) {
		char	**types;
		size_t	  ntypes, i;

		if (split_commas(v, &types, &ntypes) == -1)
			goto done;
		for (i = 0; i < ntypes; i++) {
			enum fstore_type t;

			if (!flist_is_sm_type(types[i])) {
				snprintf(err, errlen, "Invalid secret_types value: %s.",
				    types[i]);
				free_list(types, ntypes);
				goto done;
			}
			if (fstore_type_parse(types[i], &t) == 0)
				q->types[t] = true;
		}
		q->filter_types = ntypes > 0;
		free_list(types, ntypes);
		free(v);
		v = NULL;
	}
	if (flavor == FLIST_V2 &&
	    (v = fhttp_form_value(query, "match_all_labels")) != NULL) {
		if (split_commas(v, &q->labels, &q->nlabels) == -1)
			goto done;
		free(v);
		v = NULL;
	}
	rc = 0;
done:
	free(v);
	if (rc == -1)
		flist_cleanup(q);
	return rc;
}

void
flist_cleanup(struct flist_query *q)
{
	free(q->search);
	free_list(q->groups, q->ngroups);
	free_list(q->labels, q->nlabels);
	memset(q, 0, sizeof(*q));
}

void
flist_only_type(struct flist_query *q, enum fstore_type type)
{
	memset(q->types, 0, sizeof(q->types));
	q->types[type] = true;
	q->filter_types = true;
}

static bool
has_label(const struct fsecret *s, const char *label)
{
	size_t	 i;
	json_t	*l;

	json_array_foreach(s->labels, i, l)
		if (strcmp(json_string_value(l), label) == 0)
			return true;
	return false;
}

static bool
search_matches(const struct fsecret *s, const char *needle)
{
	size_t	 i;
	json_t	*l;

	if (strcasestr(s->id, needle) || strcasestr(s->name, needle) ||
	    strcasestr(s->description, needle) ||
	    strcasestr(fstore_type_name(s->type), needle))
		return true;
	json_array_foreach(s->labels, i, l)
		if (strcasestr(json_string_value(l), needle))
			return true;
	return false;
}

static bool
matches(const struct fsecret *s, const struct flist_query *q)
{
	size_t i;

	if (q->filter_types && !q->types[s->type])
		return false;
	if (q->ngroups > 0) {
		for (i = 0; i < q->ngroups; i++)
			if (strcmp(q->groups[i], s->group_id) == 0)
				break;
		if (i == q->ngroups)
			return false;
	}
	for (i = 0; i < q->nlabels; i++)
		if (!has_label(s, q->labels[i]))
			return false;
	if (q->search != NULL && !search_matches(s, q->search))
		return false;
	return true;
}

static int
compare(const void *a, const void *b, void *arg)
{
	const struct flist_query	*q = arg;
	const struct fsecret		*x = *(const struct fsecret *const *)a;
	const struct fsecret		*y = *(const struct fsecret *const *)b;
	int				 c = 0;

	switch (q->sort) {
	case FLIST_SORT_CREATED_AT:
		c = strcmp(x->created_at, y->created_at);
		break;
	case FLIST_SORT_UPDATED_AT:
		c = strcmp(x->updated_at, y->updated_at);
		break;
	case FLIST_SORT_NAME:
		c = strcmp(x->name, y->name);
		break;
	case FLIST_SORT_TYPE:
		c = strcmp(fstore_type_name(x->type), fstore_type_name(y->type));
		break;
	default:
		break;
	}
	if (c == 0)
		c = strcmp(x->id, y->id);
	return q->descending ? -c : c;
}

int
flist_run(const struct fstore *st, const struct flist_query *q,
    struct fsecret ***out, size_t *total)
{
	struct fsecret	**list;
	size_t		  i, n = 0, count = fstore_count(st);

	*out = NULL;
	*total = 0;
	if (count == 0)
		return 0;
	if ((list = malloc(count * sizeof(*list))) == NULL)
		return -1;
	for (i = 0; i < count; i++) {
		struct fsecret *s = fstore_at(st, i);

		if (matches(s, q))
			list[n++] = s;
	}
	if (q->sort != FLIST_SORT_NONE)
		qsort_r(list, n, sizeof(*list), compare, (void *)q);
	*out = list;
	*total = n;
	return 0;
}
