/*
 * route_key: from a canonical cache key back to a route, and the rewrite of
 * a list route's groups= filter.
 *
 * Design: route_from_key() does not parse keys with rules of its own.  It
 * maps the key's fixed words to the upstream path ("v2/secret/<id>/version/
 * <v>" becomes "/api/v2/secrets/<id>/versions/<v>"; components are already
 * encoded the way route_parse() would encode them), runs route_parse() on
 * that, and accepts the result only if the key it computes is the key it
 * was given.  So the two directions cannot drift apart, and a key that is
 * not canonical (other parameter order, lower-case escapes, a stray '/')
 * is refused.
 *
 * route_set_groups_filter() relies on the canonical order: "groups" sorts
 * before every other list parameter, so the filter is always the first
 * pair of the query and can be replaced without parsing the rest.
 *
 * Thread rules: pure functions, callable from any thread.
 */
#include <stdio.h>
#include <string.h>

#include "api/route.h"

#define KEY_SEGMENTS_MAX	6

static void
clear_route(struct route *r)
{
	memset(r, 0, sizeof(*r));
	r->tmpl = route_op_template(ROUTE_NOT_FOUND);
}

static int
eq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

/*
 * The upstream path for the key path segments s[0..n), written into
 * target; -1 if they are not the shape of any key.
 */
static int
key_to_path(char *target, size_t size, char *const *s, size_t n)
{
	int	 w = -1;

	if (n >= 2 && eq(s[0], "v2")) {
		if (eq(s[1], "secret") && n == 3)
			w = snprintf(target, size, "/api/v2/secrets/%s", s[2]);
		else if (eq(s[1], "secret") && n == 4 &&
		    (eq(s[3], "metadata") || eq(s[3], "versions")))
			w = snprintf(target, size, "/api/v2/secrets/%s/%s",
			    s[2], s[3]);
		else if (eq(s[1], "secret") && n == 5 && eq(s[3], "version"))
			w = snprintf(target, size,
			    "/api/v2/secrets/%s/versions/%s", s[2], s[4]);
		else if (eq(s[1], "secret") && n == 6 &&
		    eq(s[3], "version") && eq(s[5], "metadata"))
			w = snprintf(target, size,
			    "/api/v2/secrets/%s/versions/%s/metadata", s[2],
			    s[4]);
		else if (eq(s[1], "byname") && n == 5)
			w = snprintf(target, size, "/api/v2/secret_groups/%s/"
			    "secret_types/%s/secrets/%s", s[2], s[3], s[4]);
		else if (eq(s[1], "list") && n == 2)
			w = snprintf(target, size, "/api/v2/secrets");
		else if (eq(s[1], "groups") && n == 2)
			w = snprintf(target, size, "/api/v2/secret_groups");
		else if (eq(s[1], "group") && n == 3)
			w = snprintf(target, size, "/api/v2/secret_groups/%s",
			    s[2]);
	} else if (n >= 2 && eq(s[0], "v1")) {
		if (eq(s[1], "secret") && n == 4)
			w = snprintf(target, size, "/api/v1/secrets/%s/%s",
			    s[2], s[3]);
		else if (eq(s[1], "secret") && n == 5 && eq(s[4], "metadata"))
			w = snprintf(target, size,
			    "/api/v1/secrets/%s/%s/metadata", s[2], s[3]);
		else if (eq(s[1], "list") && n == 2)
			w = snprintf(target, size, "/api/v1/secrets");
		else if (eq(s[1], "list") && n == 3)
			w = snprintf(target, size, "/api/v1/secrets/%s", s[2]);
		else if (eq(s[1], "groups") && n == 2)
			w = snprintf(target, size, "/api/v1/secret_groups");
		else if (eq(s[1], "group") && n == 3)
			w = snprintf(target, size, "/api/v1/secret_groups/%s",
			    s[2]);
	}
	return w < 0 || (size_t)w >= size ? -1 : w;
}

int
route_from_key(struct route *r, const char *key)
{
	char			 copy[ROUTE_KEY_MAX + 1];
	char			 target[ROUTE_TARGET_MAX + 1];
	char			*seg[KEY_SEGMENTS_MAX], *p, *query;
	size_t			 len, n = 0;
	int			 w;
	struct route_error	 err;

	clear_route(r);
	if (key == NULL)
		return -1;
	for (len = 0; key[len] != '\0'; len++)
		if (len == ROUTE_KEY_MAX)
			return -1;
	memcpy(copy, key, len + 1);
	query = strchr(copy, '?');
	if (query != NULL)
		*query++ = '\0';
	for (p = copy; ; p++) {
		if (n == KEY_SEGMENTS_MAX)
			return -1;
		seg[n++] = p;
		p = strchr(p, '/');
		if (p == NULL)
			break;
		*p = '\0';
	}
	w = key_to_path(target, sizeof(target), seg, n);
	if (w < 0)
		return -1;
	if (query != NULL && snprintf(target + w, sizeof(target) - (size_t)w,
	    "?%s", query) >= (int)(sizeof(target) - (size_t)w))
		return -1;
	if (route_parse(r, "GET", target, &err) == -1)
		return -1;
	if (!r->cacheable || !eq(r->key, key)) {
		clear_route(r);
		return -1;
	}
	return 0;
}

int
route_set_groups_filter(struct route *r, const char *groups)
{
	char		 filter[ROUTE_QUERY_MAX + 1];
	char		 key[ROUTE_KEY_MAX + 1], target[ROUTE_TARGET_MAX + 1];
	char		 query[ROUTE_QUERY_MAX + 1];
	char		 elem[ROUTE_ID_MAX + 1];
	const char	*key_prefix, *target_prefix, *rest, *comma;
	size_t		 prefixlen, flen = 0, elen;
	int		 w;

	if (r == NULL || groups == NULL)
		return -1;
	if (r->op == ROUTE_V2_LIST) {
		key_prefix = "v2/list";
		target_prefix = "/api/v2/secrets";
	} else if (r->op == ROUTE_V1_LIST) {
		key_prefix = "v1/list";
		target_prefix = "/api/v1/secrets";
	} else
		return -1;
	prefixlen = strlen(key_prefix);
	if (strncmp(r->key, key_prefix, prefixlen) != 0 ||
	    (r->key[prefixlen] != '\0' && r->key[prefixlen] != '?'))
		return -1;

	/* The new filter: valid ids, empty elements dropped. */
	filter[0] = '\0';
	for (;;) {
		comma = strchr(groups, ',');
		elen = comma != NULL ? (size_t)(comma - groups) :
		    strlen(groups);
		if (elen > ROUTE_ID_MAX)
			return -1;
		memcpy(elem, groups, elen);
		elem[elen] = '\0';
		if (elen > 0) {
			if (!route_valid_id(elem))
				return -1;
			if (flen + (flen > 0) + elen >= sizeof(filter))
				return -1;
			if (flen > 0)
				filter[flen++] = ',';
			memcpy(filter + flen, elem, elen + 1);
			flen += elen;
		}
		if (comma == NULL)
			break;
		groups = comma + 1;
	}

	/* The rest of the canonical query, after any current groups= pair. */
	rest = r->key[prefixlen] == '?' ? r->key + prefixlen + 1 : "";
	if (strncmp(rest, "groups=", 7) == 0) {
		comma = strchr(rest, '&');
		rest = comma != NULL ? comma + 1 : "";
	}
	w = snprintf(query, sizeof(query), "%s%s%s%s", flen > 0 ? "groups=" :
	    "", filter, flen > 0 && rest[0] != '\0' ? "&" : "", rest);
	if (w < 0 || (size_t)w >= sizeof(query))
		return -1;
	w = snprintf(key, sizeof(key), "%s%s%s", key_prefix,
	    query[0] != '\0' ? "?" : "", query);
	if (w < 0 || (size_t)w >= sizeof(key))
		return -1;
	w = snprintf(target, sizeof(target), "%s%s%s", target_prefix,
	    query[0] != '\0' ? "?" : "", query);
	if (w < 0 || (size_t)w >= sizeof(target))
		return -1;

	memcpy(r->groups_filter, filter, flen + 1);
	memcpy(r->key, key, strlen(key) + 1);
	memcpy(r->target, target, strlen(target) + 1);
	return 0;
}
