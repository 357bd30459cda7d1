/*
 * route_query: canonical query strings for the cacheable list routes.
 *
 * Two clients asking for the same list must hit the same cache entry, so
 * the query becomes data first and text again afterwards: each k=v pair is
 * decoded ('+' is a space), the name must be one the route accepts (a
 * fixed table per route, kept in alphabetical order), no name may repeat,
 * and each value is checked and normalised by its type (integers lose
 * leading zeros, comma lists lose empty elements, text is re-encoded with
 * route_pct_encode()).  The canonical form then walks the table in order,
 * so "limit=10&groups=a" and "groups=a&limit=10" give one string.
 *
 * Everything lives in fixed buffers on the stack: no allocation.  The
 * canonical query is held to ROUTE_QUERY_MAX too, so that the target built
 * from it can be parsed again (route_from_key() depends on that).
 *
 * Thread rules: pure functions, callable from any thread.
 */
#include <stdio.h>
#include <string.h>

#include "api/route.h"

enum qtype {
	Q_OFFSET,	/* integer >= 0 */
	Q_LIMIT,	/* integer 1..1000 */
	Q_SORT,		/* v2 sort field, optional leading '-' */
	Q_SORT_BY,	/* v1 sort field */
	Q_SEARCH,	/* free text, up to SEARCH_MAX bytes */
	Q_GROUPS,	/* comma list of ids */
	Q_TYPES,	/* comma list of secret types */
	Q_LABELS	/* comma list of labels (free text) */
};

struct qparam {
	const char	*name;
	enum qtype	 type;
};

#define QPARAM_MAX	7
#define SEARCH_MAX	256
#define OFFSET_MAX	2147483647L
#define LIMIT_MAX	1000L

/* Each table in alphabetical order: that order is the canonical one. */
static const struct qparam v2_list_params[] = {
	{ "groups", Q_GROUPS },
	{ "limit", Q_LIMIT },
	{ "match_all_labels", Q_LABELS },
	{ "offset", Q_OFFSET },
	{ "search", Q_SEARCH },
	{ "secret_types", Q_TYPES },
	{ "sort", Q_SORT },
};
static const struct qparam v1_list_params[] = {
	{ "groups", Q_GROUPS },
	{ "limit", Q_LIMIT },
	{ "offset", Q_OFFSET },
	{ "search", Q_SEARCH },
	{ "sort_by", Q_SORT_BY },
};
static const struct qparam v1_list_type_params[] = {
	{ "limit", Q_LIMIT },
	{ "offset", Q_OFFSET },
};

static const char *const v2_sort_fields[] = {
	"id", "created_at", "updated_at", "retrieved_at", "expiration_date",
	"secret_type", "name", NULL
};
static const char *const v1_sort_fields[] = {
	"id", "creation_date", "expiration_date", "secret_type", "name", NULL
};

/* Output area for normalised values, bounded. */
struct arena {
	char	 buf[ROUTE_KEY_MAX + 1];
	size_t	 used;
};

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
bad_value(struct route_error *err, const char *name, const char *rule)
{
	err->status = 400;
	err->code = "bad_request";
	snprintf(err->message, sizeof(err->message),
	    "Invalid query parameter '%s': %s", name, rule);
	return -1;
}

static int
too_long(struct route_error *err)
{
	return fail(err, 414, "uri_too_long", "The query string is too long");
}

static int
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

/* Append n bytes to the arena; -1 on overflow. */
static int
arena_put(struct arena *a, const char *s, size_t n)
{
	if (n >= sizeof(a->buf) - a->used)
		return -1;
	memcpy(a->buf + a->used, s, n);
	a->used += n;
	a->buf[a->used] = '\0';
	return 0;
}

static int
arena_put_encoded(struct arena *a, const char *s)
{
	int	 n = route_pct_encode(a->buf + a->used,
		    sizeof(a->buf) - a->used, s);

	if (n < 0)
		return -1;
	a->used += (size_t)n;
	return 0;
}

/* Append v >= 0 in decimal, without leading zeros. */
static int
put_number(struct arena *a, long v)
{
	char	 digits[24];
	size_t	 n = sizeof(digits);

	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n > 0);
	return arena_put(a, digits + n, sizeof(digits) - n);
}

/* Parse an unsigned decimal in [min, max]; -1 if it is not one. */
static long
parse_uint(const char *s, size_t len, long min, long max)
{
	long	 v = 0;
	size_t	 i;

	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
		if (v > max)
			return -1;
	}
	return v < min ? -1 : v;
}

/*
 * Normalise one comma list element by element into the arena.  value is
 * modified (commas become NULs while the elements are checked).
 */
static int
put_list(struct arena *a, char *value, size_t len, enum qtype type,
    const char *name, struct route_error *err)
{
	size_t	 start = 0, end, first = a->used;

	while (start <= len) {
		const char	*elem = value + start;
		char		*comma = memchr(elem, ',', len - start);
		int		 ok;

		end = comma != NULL ? (size_t)(comma - value) : len;
		value[end] = '\0';
		if (end > start) {
			if (type == Q_GROUPS)
				ok = route_valid_id(elem);
			else if (type == Q_TYPES)
				ok = route_valid_type(elem);
			else
				ok = end - start <= ROUTE_NAME_MAX &&
				    route_valid_text(elem, end - start);
			if (!ok)
				return bad_value(err, name, type == Q_GROUPS ?
				    "each group must be an id of A-Z a-z 0-9 . _ -" :
				    type == Q_TYPES ? "unknown secret type" :
				    "each label must be printable text");
			if (a->used > first && arena_put(a, ",", 1) == -1)
				return too_long(err);
			if (arena_put_encoded(a, elem) == -1)
				return too_long(err);
		}
		start = end + 1;
	}
	return 0;
}

/* Check and normalise one decoded value into the arena. */
static int
put_value(struct arena *a, const struct qparam *param, char *value,
    size_t len, struct route_error *err)
{
	long	 v;

	switch (param->type) {
	case Q_OFFSET:
	case Q_LIMIT:
		if (param->type == Q_OFFSET)
			v = parse_uint(value, len, 0, OFFSET_MAX);
		else
			v = parse_uint(value, len, 1, LIMIT_MAX);
		if (v < 0)
			return bad_value(err, param->name,
			    param->type == Q_OFFSET ?
			    "expected an integer >= 0" :
			    "expected an integer from 1 to 1000");
		return put_number(a, v) == -1 ? too_long(err) : 0;
	case Q_SORT:
	case Q_SORT_BY:
		if (param->type == Q_SORT ?
		    !in_list(value[0] == '-' ? value + 1 : value,
		    v2_sort_fields) : !in_list(value, v1_sort_fields))
			return bad_value(err, param->name, "unknown sort field");
		return arena_put(a, value, len) == -1 ? too_long(err) : 0;
	case Q_SEARCH:
		if (len > SEARCH_MAX || !route_valid_text(value, len))
			return bad_value(err, param->name,
			    "expected printable text of at most 256 bytes");
		return arena_put_encoded(a, value) == -1 ? too_long(err) : 0;
	case Q_GROUPS:
	case Q_TYPES:
	case Q_LABELS:
		return put_list(a, value, len, param->type, param->name, err);
	}
	return bad_value(err, param->name, "unsupported");
}

/* Bytes a client may send unencoded in a query. */
static int
raw_query_ok(const char *raw, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++) {
		unsigned char	 c = (unsigned char)raw[i];

		if (c <= 0x20 || c == 0x7f || c == '#')
			return 0;
	}
	return 1;
}

int
route_canon_query(enum route_op op, const char *raw, size_t len,
    char *canon, size_t canonlen, char *groups, size_t groupslen,
    struct route_error *err)
{
	const struct qparam	*table;
	size_t			 ntable, i, k, pos, out;
	struct {
		size_t	 off, len;
		int	 seen;
	}			 slot[QPARAM_MAX];
	struct arena		 arena;
	char			 work[ROUTE_QUERY_MAX + 1];

	err->status = 0;
	err->code = NULL;
	err->message[0] = '\0';
	if (canon == NULL || canonlen == 0 || groups == NULL || groupslen == 0)
		return fail(err, 400, "bad_request", "Invalid query");
	canon[0] = '\0';
	groups[0] = '\0';
	switch (op) {
	case ROUTE_V2_LIST:
		table = v2_list_params;
		ntable = sizeof(v2_list_params) / sizeof(v2_list_params[0]);
		break;
	case ROUTE_V1_LIST:
		table = v1_list_params;
		ntable = sizeof(v1_list_params) / sizeof(v1_list_params[0]);
		break;
	case ROUTE_V1_LIST_TYPE:
		table = v1_list_type_params;
		ntable = sizeof(v1_list_type_params) /
		    sizeof(v1_list_type_params[0]);
		break;
	default:
		return fail(err, 400, "bad_request",
		    "This endpoint takes no query parameters");
	}
	if (raw == NULL && len > 0)
		return fail(err, 400, "bad_request", "Invalid query");
	if (len > ROUTE_QUERY_MAX)
		return too_long(err);
	if (!raw_query_ok(raw, len))
		return fail(err, 400, "bad_request",
		    "The query string holds a character that must be percent-encoded");

	memset(slot, 0, sizeof(slot));
	arena.used = 0;
	arena.buf[0] = '\0';
	for (pos = 0; pos < len; pos = i + 1) {
		const char		*pair = raw + pos, *amp, *eq;
		const struct qparam	*param = NULL;
		size_t			 pairlen, namelen;
		int			 n;

		amp = memchr(pair, '&', len - pos);
		pairlen = amp != NULL ? (size_t)(amp - pair) : len - pos;
		i = pos + pairlen;
		if (pairlen == 0)
			continue;
		eq = memchr(pair, '=', pairlen);
		namelen = eq != NULL ? (size_t)(eq - pair) : pairlen;

		if (route_form_decode(work, sizeof(work), pair, namelen) < 0)
			return fail(err, 400, "bad_request",
			    "Malformed percent-encoding in a query parameter name");
		for (k = 0; k < ntable; k++)
			if (strcmp(work, table[k].name) == 0)
				param = &table[k];
		if (param == NULL)
			return fail(err, 400, "bad_request",
			    "Unknown query parameter for this endpoint");
		k = (size_t)(param - table);
		if (slot[k].seen)
			return bad_value(err, param->name, "given more than once");

		n = eq != NULL ? route_form_decode(work, sizeof(work), eq + 1,
		    pairlen - namelen - 1) : route_form_decode(work,
		    sizeof(work), "", 0);
		if (n < 0)
			return bad_value(err, param->name,
			    "malformed percent-encoding");
		slot[k].seen = 1;
		slot[k].off = arena.used;
		if (put_value(&arena, param, work, (size_t)n, err) == -1)
			return -1;
		slot[k].len = arena.used - slot[k].off;
	}

	out = 0;
	for (k = 0; k < ntable; k++) {
		size_t	 namelen = strlen(table[k].name);

		if (slot[k].len == 0)
			continue;
		if (out + (out > 0) + namelen + 1 + slot[k].len >= canonlen ||
		    out + (out > 0) + namelen + 1 + slot[k].len > ROUTE_QUERY_MAX)
			goto overflow;
		if (out > 0)
			canon[out++] = '&';
		memcpy(canon + out, table[k].name, namelen);
		out += namelen;
		canon[out++] = '=';
		memcpy(canon + out, arena.buf + slot[k].off, slot[k].len);
		out += slot[k].len;
		if (table[k].type == Q_GROUPS) {
			/* Group ids are unreserved: encoded == decoded. */
			if (slot[k].len >= groupslen)
				goto overflow;
			memcpy(groups, arena.buf + slot[k].off, slot[k].len);
			groups[slot[k].len] = '\0';
		}
	}
	canon[out] = '\0';
	return (int)out;
overflow:
	canon[0] = '\0';
	groups[0] = '\0';
	return too_long(err);
}
