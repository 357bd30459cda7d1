/*
 * libFuzzer target for api/route: the request line parser, the key
 * inverse, the groups rewrite and the percent-coding helpers.
 *
 * Input: "METHOD TARGET" (split at the first space; without a space the
 * whole input is a GET target).  The same bytes are also tried as a cache
 * key and as raw text for the percent-coding round trips.  Any broken
 * invariant aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/route.h"

#define INPUT_MAX	8192

#define CHECK(cond) do { if (!(cond)) abort(); } while (0)

static struct route		 r, back;
static struct route_error	 err;

/* Keys and targets hold printable ASCII only: no NUL, space or control. */
static void
check_wire_string(const char *s, size_t max)
{
	size_t	 i;

	for (i = 0; s[i] != '\0'; i++) {
		CHECK(i < max);
		CHECK((unsigned char)s[i] > 0x20 && (unsigned char)s[i] < 0x7f);
	}
}

static void
check_round_trip(const struct route *rt)
{
	CHECK(route_from_key(&back, rt->key) == 0);
	CHECK(back.op == rt->op);
	CHECK(strcmp(back.key, rt->key) == 0);
	CHECK(strcmp(back.target, rt->target) == 0);
	CHECK(strcmp(back.groups_filter, rt->groups_filter) == 0);
}

static void
check_route(void)
{
	CHECK(r.op > ROUTE_NOT_FOUND && r.op < ROUTE__COUNT);
	CHECK(r.tmpl != NULL && strcmp(r.tmpl, route_op_template(r.op)) == 0);
	CHECK((r.key[0] != '\0') == r.cacheable);
	CHECK(r.target[0] == '/');
	check_wire_string(r.key, ROUTE_KEY_MAX);
	check_wire_string(r.target, ROUTE_TARGET_MAX);
	CHECK(!(r.cacheable && r.is_write));
	CHECK(r.secret_id[0] == '\0' || route_valid_id(r.secret_id));
	CHECK(r.version[0] == '\0' || route_valid_id(r.version));
	CHECK(r.secret_type[0] == '\0' || route_valid_type(r.secret_type));
	CHECK(r.name[0] == '\0' || route_valid_name(r.name));
	CHECK(r.group[0] == '\0' || route_valid_name(r.group));
	CHECK(r.invalidate_id[0] == '\0' ||
	    strcmp(r.invalidate_id, r.secret_id) == 0);
	CHECK(r.is_write || r.invalidate_kinds == 0);
	if (!r.cacheable)
		return;
	CHECK(r.op < ROUTE_PASSTHROUGH);
	check_round_trip(&r);
	if (r.op == ROUTE_V2_LIST || r.op == ROUTE_V1_LIST) {
		if (route_set_groups_filter(&r, "default,g-1") == 0) {
			CHECK(strcmp(r.groups_filter, "default,g-1") == 0);
			check_round_trip(&r);
		}
		CHECK(route_set_groups_filter(&r, "") == 0);
		CHECK(r.groups_filter[0] == '\0');
		CHECK(strstr(r.key, "groups=") == NULL);
		check_round_trip(&r);
	} else
		CHECK(route_set_groups_filter(&r, "default") == -1);
}

static void
check_pct(const char *data, size_t size, const char *text)
{
	static char	 decoded[INPUT_MAX + 1], encoded[3 * INPUT_MAX + 1];
	static char	 again[INPUT_MAX + 1];
	int		 n, m;

	n = route_pct_decode(decoded, sizeof(decoded), data, size);
	CHECK(n >= -1 && n <= (int)size);
	if (n >= 0) {
		CHECK(strlen(decoded) == (size_t)n);
		m = route_pct_encode(encoded, sizeof(encoded), decoded);
		CHECK(m >= n);
		check_wire_string(encoded, sizeof(encoded));
		CHECK(route_pct_decode(again, sizeof(again), encoded,
		    (size_t)m) == n);
		CHECK(memcmp(again, decoded, (size_t)n) == 0);
	} else
		CHECK(decoded[0] == '\0');
	n = route_form_decode(decoded, sizeof(decoded), data, size);
	CHECK(n >= -1 && n <= (int)size);

	/* Encoding is canonical: encode(decode(encode(x))) == encode(x). */
	m = route_pct_encode(encoded, sizeof(encoded), text);
	CHECK(m >= 0);
	n = route_pct_decode(again, sizeof(again), encoded, (size_t)m);
	CHECK(n == (int)strlen(text) && strcmp(again, text) == 0);
	(void)route_valid_text(data, size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char	 buf[INPUT_MAX + 1], copy[INPUT_MAX + 1];
	const char	*method, *target;
	char		*space;

	if (size > INPUT_MAX)
		size = INPUT_MAX;
	memcpy(buf, data, size);
	buf[size] = '\0';
	memcpy(copy, buf, size + 1);

	space = strchr(buf, ' ');
	if (space != NULL) {
		*space = '\0';
		method = buf;
		target = space + 1;
	} else {
		method = "GET";
		target = buf;
	}
	if (route_parse(&r, method, target, &err) == 0) {
		CHECK(err.status == 0);
		check_route();
	} else {
		CHECK(err.status == 400 || err.status == 404 ||
		    err.status == 405 || err.status == 414);
		CHECK(err.code != NULL && err.message[0] != '\0');
		CHECK(r.op == ROUTE_NOT_FOUND && r.key[0] == '\0' &&
		    r.target[0] == '\0' && !r.cacheable);
	}

	/* The bytes as a key: accepted only if they are canonical. */
	if (route_from_key(&back, copy) == 0) {
		CHECK(strcmp(back.key, copy) == 0);
		CHECK(back.cacheable);
	} else
		CHECK(back.key[0] == '\0');

	check_pct((const char *)data, size, copy);
	return 0;
}
