/*
 * Unit tests for api/smerr: SM-shaped and IAM-shaped error bodies, checked
 * by parsing them with jansson, and the trace ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "api/smerr.h"

/* A lowercase version 4 UUID with the RFC 4122 variant. */
static void
assert_uuid_v4(const char *s)
{
	size_t	 i;

	assert_non_null(s);
	assert_int_equal(strlen(s), 36);
	for (i = 0; i < 36; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23)
			assert_int_equal(s[i], '-');
		else if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			fail_msg("'%s': not a lowercase hex digit at %zu", s, i);
	}
	assert_int_equal(s[14], '4');
	assert_non_null(strchr("89ab", s[19]));
}

/* Parse an SM body and check its shape; returns the root (caller frees). */
static json_t *
load_sm_body(const char *body, size_t len, int status, const char *code)
{
	json_error_t	 jerr;
	json_t		*root, *errors, *first;

	assert_non_null(body);
	assert_int_equal(len, strlen(body));
	root = json_loadb(body, len, 0, &jerr);
	if (root == NULL)
		fail_msg("body is not JSON (%s): %s", jerr.text, body);
	assert_true(json_is_object(root));
	errors = json_object_get(root, "errors");
	assert_true(json_is_array(errors));
	assert_int_equal(json_array_size(errors), 1);
	first = json_array_get(errors, 0);
	assert_true(json_is_object(first));
	assert_string_equal(json_string_value(json_object_get(first, "code")),
	    code);
	assert_true(json_is_string(json_object_get(first, "message")));
	assert_true(json_is_integer(json_object_get(root, "status_code")));
	assert_int_equal(json_integer_value(json_object_get(root,
	    "status_code")), status);
	assert_uuid_v4(json_string_value(json_object_get(root, "trace")));
	assert_int_equal(json_object_size(root), 3);
	return root;
}

static const char *
first_message(json_t *root)
{
	return json_string_value(json_object_get(json_array_get(
	    json_object_get(root, "errors"), 0), "message"));
}

static void
test_body_shape(void **state)
{
	char	*body;
	size_t	 len = 99;
	json_t	*root;

	(void)state;
	body = smerr_body(404, "not_found", "Secret not found", &len);
	root = load_sm_body(body, len, 404, "not_found");
	assert_string_equal(first_message(root), "Secret not found");
	assert_int_equal(strncmp(body, "{\"errors\":[{", 12), 0);
	json_decref(root);
	free(body);

	body = smerr_body(429, "too_many_requests", "Slow down", NULL);
	assert_non_null(body);
	root = load_sm_body(body, strlen(body), 429, "too_many_requests");
	json_decref(root);
	free(body);
}

static void
test_escaping(void **state)
{
	static const char *const messages[] = {
		"say \"hi\"",
		"back\\slash and /slash",
		"line one\nline two\r\n\ttabbed",
		"bell \x07 escape \x1b" " del \x7f" " nul-free \x01\x1f",
		"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\x91 \xe2\x80\xa8",
		"</script><!-- &amp; -->",
		"",
	};
	size_t	 i, len;
	char	*body;
	json_t	*root;

	(void)state;
	for (i = 0; i < sizeof(messages) / sizeof(messages[0]); i++) {
		body = smerr_body(400, "bad_request", messages[i], &len);
		root = load_sm_body(body, len, 400, "bad_request");
		assert_string_equal(first_message(root), messages[i]);
		/* Control bytes never appear raw in the body. */
		for (len = 0; body[len] != '\0'; len++)
			assert_true((unsigned char)body[len] >= 0x20);
		json_decref(root);
		free(body);
	}

	/* Bytes that are not UTF-8 become U+FFFD; the body stays valid. */
	body = smerr_body(400, "bad_request", "a\xff" "b\xc3(\xed\xa0\x80", &len);
	root = load_sm_body(body, len, 400, "bad_request");
	assert_string_equal(first_message(root), "a\xef\xbf\xbd" "b\xef\xbf\xbd("
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(root);
	free(body);

	/* A code needing escapes is escaped too. */
	body = smerr_body(400, "odd\"code", "m", &len);
	root = load_sm_body(body, len, 400, "odd\"code");
	json_decref(root);
	free(body);
}

static void
test_defaults(void **state)
{
	char	*body;
	size_t	 len;
	json_t	*root;

	(void)state;
	body = smerr_body(503, NULL, NULL, &len);
	root = load_sm_body(body, len, 503, "service_unavailable");
	assert_string_equal(first_message(root), "");
	json_decref(root);
	free(body);
	body = smerr_body(401, "", "Unauthorized", &len);
	root = load_sm_body(body, len, 401, "unauthorized");
	json_decref(root);
	free(body);
}

static void
test_iam_body(void **state)
{
	char		*body;
	size_t		 len;
	json_t		*root, *context;
	json_error_t	 jerr;

	(void)state;
	body = smerr_iam_body("BXNIM0415E",
	    "Provided API key could not be found.", &len);
	assert_non_null(body);
	assert_int_equal(len, strlen(body));
	root = json_loadb(body, len, 0, &jerr);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root,
	    "errorCode")), "BXNIM0415E");
	assert_string_equal(json_string_value(json_object_get(root,
	    "errorMessage")), "Provided API key could not be found.");
	context = json_object_get(root, "context");
	assert_true(json_is_object(context));
	assert_uuid_v4(json_string_value(json_object_get(context,
	    "requestId")));
	assert_null(json_object_get(root, "errors"));
	json_decref(root);
	free(body);

	body = smerr_iam_body("BXNIM0109E", "quote \" and\nnewline", NULL);
	root = json_loads(body, 0, &jerr);
	assert_non_null(root);
	assert_string_equal(json_string_value(json_object_get(root,
	    "errorMessage")), "quote \" and\nnewline");
	json_decref(root);
	free(body);
}

static void
test_trace(void **state)
{
	char	 a[37], b[37];
	int	 i;

	(void)state;
	for (i = 0; i < 100; i++) {
		smerr_trace(a);
		smerr_trace(b);
		assert_uuid_v4(a);
		assert_uuid_v4(b);
		assert_string_not_equal(a, b);
	}
}

static void
test_code_for(void **state)
{
	static const struct {
		int		 status;
		const char	*code;
	} table[] = {
		{ 400, "bad_request" }, { 401, "unauthorized" },
		{ 403, "forbidden" }, { 404, "not_found" },
		{ 413, "payload_too_large" }, { 429, "too_many_requests" },
		{ 502, "bad_gateway" }, { 503, "service_unavailable" },
		{ 504, "gateway_timeout" }, { 500, "internal_error" },
		{ 418, "internal_error" }, { 0, "internal_error" },
		{ -1, "internal_error" },
	};
	size_t	 i;

	(void)state;
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		assert_string_equal(smerr_code_for(table[i].status),
		    table[i].code);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_body_shape),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_iam_body),
		cmocka_unit_test(test_trace),
		cmocka_unit_test(test_code_for),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
