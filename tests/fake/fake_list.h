/*
 * fake_list: the list-secrets query of both API versions: parsing and
 * validating offset/limit/sort/search/groups/secret_types/match_all_labels
 * (v2) or offset/limit/sort_by/search/groups (v1), and running it over the
 * store.
 *
 * Thread rules: flist_parse is pure; flist_run reads the store, so the
 * caller holds the server lock for it and for as long as it uses the
 * result.
 */
#ifndef FAKE_LIST_H
#define FAKE_LIST_H

#include <stdbool.h>
#include <stddef.h>

#include "tests/fake/fake_store.h"

#define FLIST_DEFAULT_LIMIT	200
#define FLIST_V2_MAX_LIMIT	1000
#define FLIST_V1_MAX_LIMIT	5000

enum flist_flavor { FLIST_V2, FLIST_V1 };

enum flist_sort {
	FLIST_SORT_NONE = 0,	/* insertion order */
	FLIST_SORT_ID,
	FLIST_SORT_CREATED_AT,
	FLIST_SORT_UPDATED_AT,
	FLIST_SORT_NAME,
	FLIST_SORT_TYPE
};

struct flist_query {
	long long	 offset;
	long long	 limit;
	enum flist_sort	 sort;
	bool		 descending;
	char		*search;	/* NULL: no search */
	char		**groups;	/* group ids; NULL when not filtered */
	size_t		 ngroups;
	bool		 filter_types;
	bool		 types[FSTORE_TYPE_COUNT];	/* with filter_types */
	char		**labels;	/* match_all_labels */
	size_t		 nlabels;
};

/*
 * Parse a raw query string.  Returns 0 with *q filled (release with
 * flist_cleanup), or -1 with *q empty and a client-facing message in err.
 */
int	 flist_parse(const char *query, enum flist_flavor flavor,
	    struct flist_query *q, char *err, size_t errlen);
void	 flist_cleanup(struct flist_query *q);

/* Restrict the query to one type (v1 GET /api/v1/secrets/{type}). */
void	 flist_only_type(struct flist_query *q, enum fstore_type type);

/*
 * Every secret matching q (ignoring offset and limit), sorted.  Returns 0
 * with *out a malloc'd array of store pointers the caller frees (may be
 * NULL when *total is 0), or -1 on allocation failure.
 */
int	 flist_run(const struct fstore *st, const struct flist_query *q,
	    struct fsecret ***out, size_t *total);

/* True for the nine secret_type names SM defines (the fake serves five). */
bool	 flist_is_sm_type(const char *name);

#endif
