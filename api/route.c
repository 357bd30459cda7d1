/*
 * route: a method and a raw request target become a struct route (see
 * api/route.h for the fields and the canonical keys).
 *
 * Design: one pass splits the path on '/' and percent-decodes each segment
 * into a stack buffer, refusing bad escapes, NUL, an encoded '/', dot
 * segments, empty segments and control characters.  After that only the
 * decoded segments are looked at, so the Go and Node encodings of one id
 * or name give one route.  A small matcher per API version recognises the
 * cacheable reads and validates their parameters; every other path under
 * /api/v1 and /api/v2 is a passthrough, still checked segment by segment.
 * Cache keys and upstream targets are written fresh from the decoded values
 * with route_pct_encode(), never copied from the client's bytes, and a
 * passthrough's template is "/api/passthrough" so that no id reaches a
 * metric label.
 *
 * route_parse() runs on every request, cache hits included: no allocation,
 * everything lives in *r or on the stack (a few KB).
 *
 * Thread rules: pure functions, callable from any thread.
 */
#include <stdio.h>
#include <string.h>

#include "api/route.h"

/* No SM endpoint is deeper than 8 segments; deeper paths are a 404. */
#define SEGMENTS_MAX	16

/* The decoded segments of a path, each NUL-terminated inside buf. */
struct path {
	size_t		 n;
	const char	*seg[SEGMENTS_MAX];
	char		 buf[ROUTE_TARGET_MAX + 1];
};

enum method { METHOD_GET, METHOD_HEAD, METHOD_WRITE, METHOD_OTHER };

/* A bounded string being written into a fixed array. */
struct out {
	char	*p;
	size_t	 len, cap;
	int	 overflow;
};

static const char *const templates[ROUTE__COUNT] = {
	[ROUTE_NOT_FOUND] = "other",
	[ROUTE_V2_SECRET] = "/api/v2/secrets/{id}",
	[ROUTE_V2_SECRET_METADATA] = "/api/v2/secrets/{id}/metadata",
	[ROUTE_V2_VERSIONS] = "/api/v2/secrets/{id}/versions",
	[ROUTE_V2_VERSION] = "/api/v2/secrets/{id}/versions/{version_id}",
	[ROUTE_V2_VERSION_METADATA] =
	    "/api/v2/secrets/{id}/versions/{version_id}/metadata",
	[ROUTE_V2_BYNAME] =
	    "/api/v2/secret_groups/{group}/secret_types/{type}/secrets/{name}",
	[ROUTE_V2_LIST] = "/api/v2/secrets",
	[ROUTE_V2_GROUPS] = "/api/v2/secret_groups",
	[ROUTE_V2_GROUP] = "/api/v2/secret_groups/{id}",
	[ROUTE_V1_SECRET] = "/api/v1/secrets/{type}/{id}",
	[ROUTE_V1_SECRET_METADATA] = "/api/v1/secrets/{type}/{id}/metadata",
	[ROUTE_V1_LIST] = "/api/v1/secrets",
	[ROUTE_V1_LIST_TYPE] = "/api/v1/secrets/{type}",
	[ROUTE_V1_GROUPS] = "/api/v1/secret_groups",
	[ROUTE_V1_GROUP] = "/api/v1/secret_groups/{id}",
	[ROUTE_PASSTHROUGH] = "/api/passthrough",
	[ROUTE_IAM_TOKEN] = "/identity/token",
	[ROUTE_IAM_KEYS] = "/identity/keys",
	[ROUTE_HEALTHZ] = "/healthz",
	[ROUTE_READYZ] = "/readyz",
	[ROUTE_METRICS] = "/metrics",
};

const char *
route_op_template(enum route_op op)
{
	if ((unsigned)op >= ROUTE__COUNT || templates[op] == NULL)
		return templates[ROUTE_NOT_FOUND];
	return templates[op];
}

/*
 * Reset every field ("" for strings).  Field by field rather than memset:
 * struct route is about 7 KB and this runs on every request.  A field
 * added to struct route must be added here.
 */
static void
clear_route(struct route *r)
{
	r->op = ROUTE_NOT_FOUND;
	r->tmpl = templates[ROUTE_NOT_FOUND];
	r->api_version = 0;
	r->cacheable = false;
	r->is_write = false;
	r->kind = 0;
	r->secret_id[0] = '\0';
	r->secret_type[0] = '\0';
	r->group[0] = '\0';
	r->name[0] = '\0';
	r->version[0] = '\0';
	r->groups_filter[0] = '\0';
	r->key[0] = '\0';
	r->target[0] = '\0';
	r->invalidate_id[0] = '\0';
	r->invalidate_kinds = 0;
}

static int
eq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static int
fail(struct route_error *err, int status, const char *code,
    const char *message)
{
	err->status = status;
	err->code = code;
	snprintf(err->message, sizeof(err->message), "%s", message);
	return -1;
}

static int
bad_request(struct route_error *err, const char *message)
{
	return fail(err, 400, "bad_request", message);
}

static int
not_found(struct route_error *err)
{
	return fail(err, 404, "not_found",
	    "No Secrets Manager endpoint matches this path");
}

static int
too_long(struct route_error *err)
{
	return fail(err, 414, "uri_too_long", "The request target is too long");
}

static int
not_allowed(struct route_error *err)
{
	return fail(err, 405, "method_not_allowed",
	    "This method is not allowed on this endpoint");
}

static int
bad_param(struct route_error *err, const char *name, const char *rule)
{
	err->status = 400;
	err->code = "bad_request";
	snprintf(err->message, sizeof(err->message),
	    "Invalid path parameter '%s': %s", name, rule);
	return -1;
}

static void
out_init(struct out *o, char *p, size_t cap)
{
	o->p = p;
	o->cap = cap;
	o->len = 0;
	o->overflow = 0;
	p[0] = '\0';
}

static void
out_put(struct out *o, const char *s)
{
	size_t	 n = strlen(s);

	if (o->overflow || n >= o->cap - o->len) {
		o->overflow = 1;
		return;
	}
	memcpy(o->p + o->len, s, n + 1);
	o->len += n;
}

static void
out_put_encoded(struct out *o, const char *s)
{
	int	 n;

	if (o->overflow)
		return;
	n = route_pct_encode(o->p + o->len, o->cap - o->len, s);
	if (n < 0) {
		o->overflow = 1;
		o->p[o->len] = '\0';
		return;
	}
	o->len += (size_t)n;
}

static enum method
method_of(const char *m)
{
	if (eq(m, "GET"))
		return METHOD_GET;
	if (eq(m, "HEAD"))
		return METHOD_HEAD;
	if (eq(m, "POST") || eq(m, "PUT") || eq(m, "PATCH") ||
	    eq(m, "DELETE"))
		return METHOD_WRITE;
	return METHOD_OTHER;
}

static int
hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* End the segment that starts at start and runs to *out (exclusive). */
static int
end_segment(struct path *p, char *start, char *out, int high_bit,
    struct route_error *err)
{
	size_t	 seglen = (size_t)(out - start);

	*out = '\0';
	if ((seglen == 1 && start[0] == '.') ||
	    (seglen == 2 && start[0] == '.' && start[1] == '.'))
		return bad_request(err,
		    "Dot segments are not allowed in the path");
	/* ASCII was checked byte by byte; UTF-8 needs the whole sequence. */
	if (high_bit && !route_valid_text(start, seglen))
		return bad_request(err, "A path segment holds a "
		    "control character or invalid UTF-8");
	if (p->n == SEGMENTS_MAX)
		return not_found(err);
	p->seg[p->n++] = start;
	return 0;
}

/*
 * Split raw[0..len) (starting with '/') into decoded segments, in one pass
 * that also percent-decodes and checks every byte.  A single trailing '/'
 * is ignored; any other empty segment is refused.
 */
static int
split_path(struct path *p, const char *raw, size_t len,
    struct route_error *err)
{
	char	*start = p->buf, *out = p->buf;
	size_t	 i;
	int	 high_bit = 0;

	p->n = 0;
	/* Each raw byte gives at most one decoded byte or the NUL ending a
	 * segment, and len <= ROUTE_TARGET_MAX < sizeof(p->buf). */
	if (len >= sizeof(p->buf))
		return too_long(err);
	for (i = 1; i < len; i++) {
		unsigned char	 c = (unsigned char)raw[i];

		/* The common case: a printable ASCII byte standing for itself. */
		if (c > 0x20 && c < 0x7f && c != '%' && c != '/' && c != '#') {
			*out++ = (char)c;
			continue;
		}
		if (c == '/') {
			if (out == start)
				return bad_request(err,
				    "The path has an empty segment");
			if (end_segment(p, start, out, high_bit, err) == -1)
				return -1;
			start = ++out;
			high_bit = 0;
			continue;
		}
		if (c == '%') {
			int	 high, low;

			if (len - i < 3 ||
			    (high = hex_value((unsigned char)raw[i + 1])) < 0 ||
			    (low = hex_value((unsigned char)raw[i + 2])) < 0)
				return bad_request(err,
				    "Malformed percent-encoding in the path");
			c = (unsigned char)(high << 4 | low);
			i += 2;
			if (c == '/')
				return bad_request(err,
				    "A path segment holds an encoded '/'");
		} else if (c == ' ' || c == '#')
			return bad_request(err, "The path holds a "
			    "character that must be percent-encoded");
		if (c < 0x20 || c == 0x7f)
			return bad_request(err, "A path segment holds a "
			    "control character or invalid UTF-8");
		high_bit |= c >= 0x80;
		*out++ = (char)c;
	}
	if (out != start)
		return end_segment(p, start, out, high_bit, err);
	return 0;
}

/* Passthrough and local queries: printable ASCII with sound escapes. */
static int
check_raw_query(const char *q, size_t len, struct route_error *err)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		unsigned char	 c = (unsigned char)q[i];

		if (c <= 0x20 || c >= 0x7f || c == '#')
			return bad_request(err, "The query string holds a "
			    "character that must be percent-encoded");
		if (c == '%' && (len - i < 3 ||
		    !((q[i + 1] >= '0' && q[i + 1] <= '9') ||
		    (q[i + 1] >= 'a' && q[i + 1] <= 'f') ||
		    (q[i + 1] >= 'A' && q[i + 1] <= 'F')) ||
		    !((q[i + 2] >= '0' && q[i + 2] <= '9') ||
		    (q[i + 2] >= 'a' && q[i + 2] <= 'f') ||
		    (q[i + 2] >= 'A' && q[i + 2] <= 'F'))))
			return bad_request(err,
			    "Malformed percent-encoding in the query string");
	}
	return 0;
}

/* Copy a validated segment into a parameter field (sizes checked by the
 * validators: ids <= ROUTE_ID_MAX, names and types <= ROUTE_NAME_MAX). */
static int
take(char *dst, size_t dstlen, const char *seg, int valid, const char *name,
    const char *rule, struct route_error *err)
{
	size_t	 n = strlen(seg);

	if (!valid || n >= dstlen)
		return bad_param(err, name, rule);
	memcpy(dst, seg, n + 1);
	return 0;
}

#define ID_RULE		"expected 1 to 128 characters of A-Z a-z 0-9 . _ -"
#define TYPE_RULE	"not a known secret type"
#define NAME_RULE	"expected 1 to 256 bytes of printable text without '/'"

#define TAKE_ID(field, seg, name) \
	take((field), sizeof(field), (seg), route_valid_id(seg), (name), \
	    ID_RULE, err)
#define TAKE_TYPE(field, seg, name) \
	take((field), sizeof(field), (seg), route_valid_type(seg), (name), \
	    TYPE_RULE, err)
#define TAKE_NAME(field, seg, name) \
	take((field), sizeof(field), (seg), route_valid_name(seg), (name), \
	    NAME_RULE, err)

/*
 * The v2 matcher: s[0..n) are the segments after /api/v2 (n >= 1).  Sets
 * *op to the cacheable op the path names, or ROUTE_PASSTHROUGH, fills the
 * parameters, and the invalidation a write to this path would cause.
 */
static int
match_v2(struct route *r, const char *const *s, size_t n,
    enum route_op *op, struct route_error *err)
{
	*op = ROUTE_PASSTHROUGH;
	r->invalidate_kinds = ROUTE_KIND_LIST | ROUTE_KIND_NEGATIVE;
	if (eq(s[0], "secrets")) {
		if (n == 1) {
			*op = ROUTE_V2_LIST;
			return 0;
		}
		if (TAKE_ID(r->secret_id, s[1], "id") == -1)
			return -1;
		strcpy(r->invalidate_id, r->secret_id);
		if (n == 2)
			*op = ROUTE_V2_SECRET;
		else if (eq(s[2], "metadata")) {
			if (n == 3)
				*op = ROUTE_V2_SECRET_METADATA;
		} else if (eq(s[2], "versions")) {
			if (n == 3)
				*op = ROUTE_V2_VERSIONS;
			else if (TAKE_ID(r->version, s[3], "version_id") == -1)
				return -1;
			else if (n == 4)
				*op = ROUTE_V2_VERSION;
			else if (n == 5 && eq(s[4], "metadata"))
				*op = ROUTE_V2_VERSION_METADATA;
		}
		return 0;
	}
	if (eq(s[0], "secret_groups")) {
		r->invalidate_kinds |= ROUTE_KIND_GROUPS;
		if (n == 1)
			*op = ROUTE_V2_GROUPS;
		else if (n == 2) {
			if (TAKE_ID(r->group, s[1], "id") == -1)
				return -1;
			*op = ROUTE_V2_GROUP;
		} else if (n == 6 && eq(s[2], "secret_types") &&
		    eq(s[4], "secrets")) {
			if (TAKE_NAME(r->group, s[1], "group") == -1 ||
			    TAKE_TYPE(r->secret_type, s[3], "type") == -1 ||
			    TAKE_NAME(r->name, s[5], "name") == -1)
				return -1;
			*op = ROUTE_V2_BYNAME;
		}
	}
	return 0;
}

/* The v1 matcher, as match_v2() for the segments after /api/v1. */
static int
match_v1(struct route *r, const char *const *s, size_t n,
    enum route_op *op, struct route_error *err)
{
	*op = ROUTE_PASSTHROUGH;
	r->invalidate_kinds = ROUTE_KIND_LIST | ROUTE_KIND_NEGATIVE;
	if (eq(s[0], "secrets")) {
		if (n == 1) {
			*op = ROUTE_V1_LIST;
			return 0;
		}
		if (TAKE_TYPE(r->secret_type, s[1], "type") == -1)
			return -1;
		if (n == 2) {
			*op = ROUTE_V1_LIST_TYPE;
			return 0;
		}
		if (TAKE_ID(r->secret_id, s[2], "id") == -1)
			return -1;
		strcpy(r->invalidate_id, r->secret_id);
		if (n == 3)
			*op = ROUTE_V1_SECRET;
		else if (n == 4 && eq(s[3], "metadata"))
			*op = ROUTE_V1_SECRET_METADATA;
		return 0;
	}
	if (eq(s[0], "secret_groups")) {
		r->invalidate_kinds |= ROUTE_KIND_GROUPS;
		if (n == 1)
			*op = ROUTE_V1_GROUPS;
		else if (n == 2) {
			if (TAKE_ID(r->group, s[1], "id") == -1)
				return -1;
			*op = ROUTE_V1_GROUP;
		}
	}
	return 0;
}

static unsigned
kind_of(enum route_op op)
{
	switch (op) {
	case ROUTE_V2_LIST:
	case ROUTE_V1_LIST:
	case ROUTE_V1_LIST_TYPE:
		return ROUTE_KIND_LIST;
	case ROUTE_V2_GROUPS:
	case ROUTE_V2_GROUP:
	case ROUTE_V1_GROUPS:
	case ROUTE_V1_GROUP:
		return ROUTE_KIND_GROUPS;
	default:
		return ROUTE_KIND_SECRET;
	}
}

/* Write r->key and r->target for a cacheable op from its parameters. */
static int
build_key_target(struct route *r, const char *canon_query,
    struct route_error *err)
{
	struct out	 k, t;

	out_init(&k, r->key, sizeof(r->key));
	out_init(&t, r->target, sizeof(r->target));
	switch (r->op) {
	case ROUTE_V2_SECRET:
	case ROUTE_V2_SECRET_METADATA:
	case ROUTE_V2_VERSIONS:
	case ROUTE_V2_VERSION:
	case ROUTE_V2_VERSION_METADATA:
		out_put(&k, "v2/secret/");
		out_put_encoded(&k, r->secret_id);
		out_put(&t, "/api/v2/secrets/");
		out_put_encoded(&t, r->secret_id);
		if (r->op == ROUTE_V2_SECRET_METADATA) {
			out_put(&k, "/metadata");
			out_put(&t, "/metadata");
		} else if (r->op == ROUTE_V2_VERSIONS) {
			out_put(&k, "/versions");
			out_put(&t, "/versions");
		} else if (r->op != ROUTE_V2_SECRET) {
			out_put(&k, "/version/");
			out_put_encoded(&k, r->version);
			out_put(&t, "/versions/");
			out_put_encoded(&t, r->version);
			if (r->op == ROUTE_V2_VERSION_METADATA) {
				out_put(&k, "/metadata");
				out_put(&t, "/metadata");
			}
		}
		break;
	case ROUTE_V2_BYNAME:
		out_put(&k, "v2/byname/");
		out_put_encoded(&k, r->group);
		out_put(&k, "/");
		out_put_encoded(&k, r->secret_type);
		out_put(&k, "/");
		out_put_encoded(&k, r->name);
		out_put(&t, "/api/v2/secret_groups/");
		out_put_encoded(&t, r->group);
		out_put(&t, "/secret_types/");
		out_put_encoded(&t, r->secret_type);
		out_put(&t, "/secrets/");
		out_put_encoded(&t, r->name);
		break;
	case ROUTE_V2_LIST:
		out_put(&k, "v2/list");
		out_put(&t, "/api/v2/secrets");
		break;
	case ROUTE_V2_GROUPS:
		out_put(&k, "v2/groups");
		out_put(&t, "/api/v2/secret_groups");
		break;
	case ROUTE_V2_GROUP:
	case ROUTE_V1_GROUP:
		out_put(&k, r->op == ROUTE_V2_GROUP ? "v2/group/" : "v1/group/");
		out_put_encoded(&k, r->group);
		out_put(&t, r->op == ROUTE_V2_GROUP ? "/api/v2/secret_groups/" :
		    "/api/v1/secret_groups/");
		out_put_encoded(&t, r->group);
		break;
	case ROUTE_V1_SECRET:
	case ROUTE_V1_SECRET_METADATA:
		out_put(&k, "v1/secret/");
		out_put_encoded(&k, r->secret_type);
		out_put(&k, "/");
		out_put_encoded(&k, r->secret_id);
		out_put(&t, "/api/v1/secrets/");
		out_put_encoded(&t, r->secret_type);
		out_put(&t, "/");
		out_put_encoded(&t, r->secret_id);
		if (r->op == ROUTE_V1_SECRET_METADATA) {
			out_put(&k, "/metadata");
			out_put(&t, "/metadata");
		}
		break;
	case ROUTE_V1_LIST:
		out_put(&k, "v1/list");
		out_put(&t, "/api/v1/secrets");
		break;
	case ROUTE_V1_LIST_TYPE:
		out_put(&k, "v1/list/");
		out_put_encoded(&k, r->secret_type);
		out_put(&t, "/api/v1/secrets/");
		out_put_encoded(&t, r->secret_type);
		break;
	case ROUTE_V1_GROUPS:
		out_put(&k, "v1/groups");
		out_put(&t, "/api/v1/secret_groups");
		break;
	default:
		return not_found(err);
	}
	if (canon_query != NULL && canon_query[0] != '\0') {
		out_put(&k, "?");
		out_put(&k, canon_query);
		out_put(&t, "?");
		out_put(&t, canon_query);
	}
	if (k.overflow || t.overflow)
		return too_long(err);
	return 0;
}

static int
cacheable_route(struct route *r, enum route_op op, const char *query,
    size_t querylen, struct route_error *err)
{
	char	 canon[ROUTE_QUERY_MAX + 1];
	int	 n = 0;

	r->op = op;
	r->tmpl = templates[op];
	r->cacheable = true;
	r->kind = kind_of(op);
	r->invalidate_id[0] = '\0';
	r->invalidate_kinds = 0;
	if (op == ROUTE_V2_LIST || op == ROUTE_V1_LIST ||
	    op == ROUTE_V1_LIST_TYPE) {
		n = route_canon_query(op, querylen > 0 ? query : "", querylen,
		    canon, sizeof(canon), r->groups_filter,
		    sizeof(r->groups_filter), err);
		if (n < 0)
			return -1;
	} else if (querylen > 0)
		return bad_request(err,
		    "This endpoint takes no query parameters");
	return build_key_target(r, n > 0 ? canon : NULL, err);
}

/* Anything else under /api/v1 or /api/v2: re-encoded, sent as is. */
static int
passthrough_route(struct route *r, const struct path *p, const char *query,
    size_t querylen, struct route_error *err)
{
	struct out	 t;
	size_t		 i;

	r->op = ROUTE_PASSTHROUGH;
	r->tmpl = templates[ROUTE_PASSTHROUGH];
	if (!r->is_write) {
		r->invalidate_id[0] = '\0';
		r->invalidate_kinds = 0;
	}
	if (check_raw_query(query, querylen, err) == -1)
		return -1;
	out_init(&t, r->target, sizeof(r->target));
	for (i = 0; i < p->n; i++) {
		out_put(&t, "/");
		out_put_encoded(&t, p->seg[i]);
	}
	if (querylen > 0 && !t.overflow) {
		if (querylen + 1 >= t.cap - t.len)
			t.overflow = 1;
		else {
			t.p[t.len++] = '?';
			memcpy(t.p + t.len, query, querylen);
			t.len += querylen;
			t.p[t.len] = '\0';
		}
	}
	if (t.overflow)
		return too_long(err);
	return 0;
}

static int
api_route(struct route *r, enum method m, const struct path *p,
    const char *query, size_t querylen, struct route_error *err)
{
	enum route_op	 op;
	int		 rc;

	if (p->n < 3)
		return not_found(err);
	if (eq(p->seg[1], "v2"))
		r->api_version = 2;
	else if (eq(p->seg[1], "v1"))
		r->api_version = 1;
	else
		return not_found(err);
	if (m == METHOD_OTHER)
		return not_allowed(err);
	r->is_write = m == METHOD_WRITE;
	if (r->api_version == 2)
		rc = match_v2(r, p->seg + 2, p->n - 2, &op, err);
	else
		rc = match_v1(r, p->seg + 2, p->n - 2, &op, err);
	if (rc == -1)
		return -1;
	if (m == METHOD_GET && op != ROUTE_PASSTHROUGH)
		return cacheable_route(r, op, query, querylen, err);
	return passthrough_route(r, p, query, querylen, err);
}

/*
 * Endpoints the proxy serves itself.  Their query string is checked, then
 * ignored.  is_write stays false even for POST /identity/token: nothing is
 * written upstream, and a client without write rights must still log in.
 */
static int
local_route(struct route *r, const char *method, const struct path *p,
    const char *query, size_t querylen, struct route_error *err)
{
	enum route_op	 op;
	enum method	 m = method_of(method);

	if (p->n == 2 && eq(p->seg[0], "identity") && eq(p->seg[1], "token"))
		op = ROUTE_IAM_TOKEN;
	else if (p->n == 2 && eq(p->seg[0], "identity") &&
	    eq(p->seg[1], "keys"))
		op = ROUTE_IAM_KEYS;
	else if (p->n == 1 && eq(p->seg[0], "healthz"))
		op = ROUTE_HEALTHZ;
	else if (p->n == 1 && eq(p->seg[0], "readyz"))
		op = ROUTE_READYZ;
	else if (p->n == 1 && eq(p->seg[0], "metrics"))
		op = ROUTE_METRICS;
	else
		return not_found(err);
	if (op == ROUTE_IAM_TOKEN ? !eq(method, "POST") :
	    m != METHOD_GET && m != METHOD_HEAD)
		return not_allowed(err);
	if (check_raw_query(query, querylen, err) == -1)
		return -1;
	r->op = op;
	r->tmpl = templates[op];
	snprintf(r->target, sizeof(r->target), "%s", templates[op]);
	return 0;
}

int
route_parse(struct route *r, const char *method, const char *raw_target,
    struct route_error *err)
{
	struct path	 path;
	const char	*query;
	size_t		 len, pathlen, querylen = 0;
	int		 rc;

	clear_route(r);
	err->status = 0;
	err->code = NULL;
	err->message[0] = '\0';
	if (method == NULL || raw_target == NULL)
		return bad_request(err, "Invalid request");
	len = strnlen(raw_target, ROUTE_TARGET_MAX + 1);
	if (len > ROUTE_TARGET_MAX)
		return too_long(err);
	if (raw_target[0] != '/')
		return bad_request(err,
		    "The request target must be an absolute path");
	query = memchr(raw_target, '?', len);
	if (query != NULL) {
		pathlen = (size_t)(query - raw_target);
		query++;
		querylen = len - pathlen - 1;
	} else
		pathlen = len;
	if (querylen > ROUTE_QUERY_MAX)
		return too_long(err);
	if (split_path(&path, raw_target, pathlen, err) == -1)
		return -1;

	if (path.n >= 1 && eq(path.seg[0], "api"))
		rc = api_route(r, method_of(method), &path, query, querylen,
		    err);
	else
		rc = local_route(r, method, &path, query, querylen, err);
	if (rc == -1)
		clear_route(r);
	return rc;
}
