/*
 * route: the Secrets Manager and IAM HTTP API as data.
 *
 * route_parse() turns a method and a raw request target (path + query,
 * still percent-encoded, exactly as the client sent it) into a struct
 * route: which operation it is, its decoded and validated parameters,
 * whether it is a cacheable read, its canonical cache key, the request
 * target to send upstream (re-encoded by us, never the client's bytes),
 * and for writes which cached entries it invalidates.
 *
 * Canonical cache keys (components percent-encoded with the RFC 3986
 * unreserved set, so '/' never appears inside a component):
 *   v2/secret/<id>                       GET /api/v2/secrets/{id}
 *   v2/secret/<id>/metadata              GET .../metadata
 *   v2/secret/<id>/versions              GET .../versions
 *   v2/secret/<id>/version/<v>           GET .../versions/{v} (v = uuid|current|previous)
 *   v2/secret/<id>/version/<v>/metadata  GET .../versions/{v}/metadata
 *   v2/byname/<group>/<type>/<name>      GET /api/v2/secret_groups/{g}/secret_types/{t}/secrets/{n}
 *   v2/list?<sorted canonical query>     GET /api/v2/secrets?...
 *   v2/groups                            GET /api/v2/secret_groups
 *   v2/group/<id>                        GET /api/v2/secret_groups/{id}
 *   v1/secret/<type>/<id>                GET /api/v1/secrets/{type}/{id}
 *   v1/secret/<type>/<id>/metadata       GET .../metadata
 *   v1/list?<sorted canonical query>     GET /api/v1/secrets?...
 *   v1/list/<type>?<sorted query>        GET /api/v1/secrets/{type}?...
 *   v1/groups                            GET /api/v1/secret_groups
 *   v1/group/<id>                        GET /api/v1/secret_groups/{id}
 * route_from_key() inverts this mapping (the store keeps only keys, and the
 * refresher rebuilds the upstream request from them).
 *
 * Thread rules: pure functions, callable from any thread.
 */
#ifndef SMPROXY_ROUTE_H
#define SMPROXY_ROUTE_H

#include <stdbool.h>
#include <stddef.h>

#define ROUTE_ID_MAX		128	/* secret, group, version ids */
#define ROUTE_NAME_MAX		256	/* secret names, group names, types */
#define ROUTE_KEY_MAX		2048
#define ROUTE_TARGET_MAX	2048
#define ROUTE_QUERY_MAX		1536	/* longer queries are rejected with 414/400 */

enum route_op {
	ROUTE_NOT_FOUND = 0,	/* not an endpoint we know: 404 */
	/* Cacheable reads. */
	ROUTE_V2_SECRET,
	ROUTE_V2_SECRET_METADATA,
	ROUTE_V2_VERSIONS,
	ROUTE_V2_VERSION,
	ROUTE_V2_VERSION_METADATA,
	ROUTE_V2_BYNAME,
	ROUTE_V2_LIST,
	ROUTE_V2_GROUPS,
	ROUTE_V2_GROUP,
	ROUTE_V1_SECRET,
	ROUTE_V1_SECRET_METADATA,
	ROUTE_V1_LIST,
	ROUTE_V1_LIST_TYPE,
	ROUTE_V1_GROUPS,
	ROUTE_V1_GROUP,
	/* Everything else under /api/v1 and /api/v2: passed through, uncached. */
	ROUTE_PASSTHROUGH,
	/* Served by the proxy itself. */
	ROUTE_IAM_TOKEN,	/* POST /identity/token */
	ROUTE_IAM_KEYS,		/* GET /identity/keys (not served; reserved) */
	ROUTE_HEALTHZ,
	ROUTE_READYZ,
	ROUTE_METRICS,
	ROUTE__COUNT
};

/* Entry kinds, for invalidation (bit mask). */
#define ROUTE_KIND_SECRET	0x01u	/* derived from one secret (tag = secret id) */
#define ROUTE_KIND_LIST		0x02u	/* a list of secrets */
#define ROUTE_KIND_GROUPS	0x04u	/* secret group list or group */
#define ROUTE_KIND_NEGATIVE	0x08u	/* a cached 404 */

struct route {
	enum route_op	 op;
	const char	*tmpl;		/* route template for logs and metric labels,
					 * e.g. "/api/v2/secrets/{id}"; never holds ids */
	int		 api_version;	/* 1, 2, or 0 for non-SM routes */
	bool		 cacheable;	/* a cacheable GET */
	bool		 is_write;	/* not GET/HEAD: passed through at write priority */
	unsigned	 kind;		/* ROUTE_KIND_* of the entry this read makes */

	/* Decoded path parameters; "" when the route has none. */
	char		 secret_id[ROUTE_ID_MAX + 1];
	char		 secret_type[ROUTE_NAME_MAX + 1];
	char		 group[ROUTE_NAME_MAX + 1];	/* group id, or group name for by-name */
	char		 name[ROUTE_NAME_MAX + 1];
	char		 version[ROUTE_ID_MAX + 1];

	/* For list routes: the value of the groups= filter ("" if absent). */
	char		 groups_filter[ROUTE_QUERY_MAX + 1];

	/* Canonical cache key (cacheable reads only; "" otherwise). */
	char		 key[ROUTE_KEY_MAX + 1];
	/* Request target to send upstream: path + "?" + query, re-encoded. */
	char		 target[ROUTE_TARGET_MAX + 1];

	/*
	 * For writes: the secret whose entries a success invalidates ("" when
	 * the write is not under one secret), and the entry kinds it drops
	 * besides (ROUTE_KIND_LIST | ROUTE_KIND_NEGATIVE for secret writes,
	 * ROUTE_KIND_GROUPS too for group writes).
	 */
	char		 invalidate_id[ROUTE_ID_MAX + 1];
	unsigned	 invalidate_kinds;
};

/* Why route_parse() refused a request; maps to an SM-shaped error. */
struct route_error {
	int		 status;	/* 400, 404, 405, 414 */
	const char	*code;		/* snake_case, e.g. "bad_request", "not_found" */
	char		 message[256];	/* safe to show: never echoes the raw input */
};

/*
 * Parse method + raw target (e.g. "/api/v2/secrets/abc%2Dd?x=1").  Returns 0
 * and fills *r, or -1 and fills *err.  *r and *err are cleared on entry.
 * Unknown paths under /api/v1 and /api/v2 that pass validation are
 * ROUTE_PASSTHROUGH (any method); unknown paths elsewhere are an error
 * (404).  A GET on a known read path with an invalid id or name is a 400
 * and never reaches upstream.
 */
int	 route_parse(struct route *r, const char *method, const char *raw_target,
	    struct route_error *err);

/*
 * Rebuild the route for a canonical cache key (as made by route_parse()).
 * Returns 0 and fills *r (op, params, key, target), or -1 if key is not a
 * key route_parse() could have produced.
 */
int	 route_from_key(struct route *r, const char *key);

/*
 * Rewrite a list route's groups= filter to `groups` (comma-separated ids),
 * recomputing key and target.  Used by authorization to narrow a list to
 * the caller's groups.  Returns 0, or -1 if r is not a list route or the
 * result would be too long.
 * Only ROUTE_V2_LIST and ROUTE_V1_LIST take a groups= filter upstream;
 * ROUTE_V1_LIST_TYPE gives -1.  Empty elements of `groups` are dropped,
 * "" removes the filter, and an element that is not a valid id gives -1.
 * On -1, *r is left unchanged.
 */
int	 route_set_groups_filter(struct route *r, const char *groups);

/* Percent-decode src (len bytes) into dst (size dstlen, NUL-terminated).
 * Returns the decoded length, or -1 on a bad escape, an embedded NUL, or
 * overflow. */
int	 route_pct_decode(char *dst, size_t dstlen, const char *src, size_t len);

/* Percent-encode src into dst with the unreserved set A-Z a-z 0-9 -._~ kept.
 * Returns the encoded length, or -1 on overflow. */
int	 route_pct_encode(char *dst, size_t dstlen, const char *src);

/* The route template for an op (for metrics), never NULL. */
const char *route_op_template(enum route_op op);

/* Like route_pct_decode(), but '+' decodes to a space, as in query strings
 * and application/x-www-form-urlencoded bodies. */
int	 route_form_decode(char *dst, size_t dstlen, const char *src, size_t len);

/*
 * The rules route_parse() applies to decoded values (also for config and
 * authorization, which must agree with them):
 *   route_valid_id:   1..ROUTE_ID_MAX characters of A-Z a-z 0-9 . _ -,
 *                     and not "." or "..";
 *   route_valid_type: one of the nine SM secret types (arbitrary, ...,
 *                     username_password);
 *   route_valid_name: 1..ROUTE_NAME_MAX bytes of route_valid_text() without
 *                     '/', and not "." or "..";
 *   route_valid_text: s[0..len) is well-formed UTF-8 holding no C0 or C1
 *                     control character and no DEL.
 */
bool	 route_valid_id(const char *s);
bool	 route_valid_type(const char *s);
bool	 route_valid_name(const char *s);
bool	 route_valid_text(const char *s, size_t len);

/*
 * Canonicalise the raw query (len bytes, still encoded, without the '?') of
 * a list route: op is ROUTE_V2_LIST, ROUTE_V1_LIST or ROUTE_V1_LIST_TYPE.
 * Parameters are decoded ('+' is a space), checked against the op's allowed
 * set and value rules, and written sorted by name with values re-encoded by
 * route_pct_encode() (comma lists keep their order, lose empty elements and
 * keep literal ','); parameters whose value is empty are left out.
 * Returns the canonical query's length (0 when empty) with canon (size
 * canonlen) and the decoded groups= value in groups (size groupslen, ""
 * when absent) filled; or -1 with *err filled (400; 414 when too long).
 * canon, groups and *err are cleared on entry.
 */
int	 route_canon_query(enum route_op op, const char *raw, size_t len,
	    char *canon, size_t canonlen, char *groups, size_t groupslen,
	    struct route_error *err);

#endif
