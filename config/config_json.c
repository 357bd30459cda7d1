/*
 * config_json.c: reading the --config JSON file.
 *
 * Design: the file is one JSON object.  Its keys are either an option's
 * JSON key (the value is turned into the same text an environment variable
 * would carry, so one parser serves every source), "clients", or
 * "ttl_overrides".  Any other key is a problem, and so is any unknown key
 * inside a client or an override: a typo must never pass silently.
 * Duplicate keys are refused by the parser.  Problems are collected, and a
 * client or override is kept even when part of it is bad, so the caller can
 * free everything the same way.
 *
 * Thread rules: main thread only (cfg_load(), cfg_reload_file()).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <sodium.h>

#include "config/config_int.h"

/* The secret types of the Secrets Manager API, for ttl_overrides. */
static const char *const secret_types[] = {
	"arbitrary", "custom_credentials", "iam_credentials", "imported_cert",
	"kv", "private_cert", "public_cert", "service_credentials",
	"username_password"
};
#define N_SECRET_TYPES	(sizeof(secret_types) / sizeof(secret_types[0]))

/* Where the messages of one file read point. */
struct file_ctx {
	char			 prefix[160];	/* SMPROXY_CONFIG (--config): "/p" */
	struct cfg_report	*rep;
};

static void	 file_problem(struct file_ctx *ctx, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));

/* Add "<prefix>: <message>" to the report. */
static void
file_problem(struct file_ctx *ctx, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	cfg_report_add(ctx->rep, "%s: %s", ctx->prefix, msg);
}

void
cfg_clients_free(struct cfg_client *clients, size_t n)
{
	size_t i, j;

	for (i = 0; clients != NULL && i < n; i++) {
		free(clients[i].name);
		for (j = 0; j < clients[i].n_secret_groups; j++)
			free(clients[i].secret_groups[j]);
		free(clients[i].secret_groups);
		for (j = 0; j < clients[i].n_secret_ids; j++)
			free(clients[i].secret_ids[j]);
		free(clients[i].secret_ids);
		for (j = 0; j < clients[i].n_iam_ids; j++)
			free(clients[i].iam_ids[j]);
		free(clients[i].iam_ids);
		sodium_memzero(clients[i].api_key_sha256,
		    sizeof(clients[i].api_key_sha256));
	}
	free(clients);
}

void
cfg_overrides_free(struct cfg_ttl_override *overrides, size_t n)
{
	size_t i;

	for (i = 0; overrides != NULL && i < n; i++) {
		free(overrides[i].secret_group);
		free(overrides[i].secret_type);
	}
	free(overrides);
}

void
cfg_file_cleanup(struct cfg_file *f)
{
	size_t i;

	if (f == NULL)
		return;
	for (i = 0; i < CFG_OPT_COUNT; i++)
		free(f->option_texts[i]);
	cfg_clients_free(f->clients, f->n_clients);
	cfg_overrides_free(f->ttl_overrides, f->n_ttl_overrides);
	memset(f, 0, sizeof(*f));
}

/*
 * The text an environment variable would carry for a scalar JSON value.
 * Returns 0 with *out the caller's (free), -1 when v is not a scalar, -2
 * when out of memory.
 */
static int
scalar_text(json_t *v, char **out)
{
	char buf[64];

	*out = NULL;
	switch (json_typeof(v)) {
	case JSON_STRING:
		*out = strdup(json_string_value(v));
		break;
	case JSON_INTEGER:
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		*out = strdup(buf);
		break;
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%.17g", json_real_value(v));
		*out = strdup(buf);
		break;
	case JSON_TRUE:
		*out = strdup("true");
		break;
	case JSON_FALSE:
		*out = strdup("false");
		break;
	default:
		return -1;
	}
	return *out != NULL ? 0 : -2;
}

/* Decode exactly 64 hex characters into 32 bytes; 0 or -1 (out untouched). */
static int
hex_to_sha256(const char *hex, uint8_t out[32])
{
	uint8_t bytes[32];
	size_t i;
	int nibble, rc = -1;

	if (strlen(hex) != 64)
		return -1;
	for (i = 0; i < 64; i++) {
		char ch = hex[i];

		if (ch >= '0' && ch <= '9')
			nibble = ch - '0';
		else if (ch >= 'a' && ch <= 'f')
			nibble = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'F')
			nibble = ch - 'A' + 10;
		else
			goto done;
		if (i % 2 == 0)
			bytes[i / 2] = (uint8_t)(nibble << 4);
		else
			bytes[i / 2] |= (uint8_t)nibble;
	}
	memcpy(out, bytes, sizeof(bytes));
	rc = 0;
done:
	sodium_memzero(bytes, sizeof(bytes));
	return rc;
}

/* Whether name matches [A-Za-z0-9._-]{1,64}. */
static bool
valid_client_name(const char *name)
{
	size_t len = strlen(name);

	return len >= 1 && len <= 64 &&
	    strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	    "0123456789._-") == len;
}

/*
 * Read an array of non-empty strings into *out (cleared on entry; the
 * caller frees the strings and the array).  Returns 0 or -1.
 */
static int
read_string_array(struct file_ctx *ctx, const char *label, const char *key,
    json_t *v, char ***out, size_t *n)
{
	json_t *elem;
	size_t i, size;
	int rc = 0;

	*out = NULL;
	*n = 0;
	if (!json_is_array(v)) {
		file_problem(ctx, "%s: \"%s\" must be an array of strings",
		    label, key);
		return -1;
	}
	if ((size = json_array_size(v)) == 0)
		return 0;
	if ((*out = calloc(size, sizeof(**out))) == NULL) {
		file_problem(ctx, "%s: out of memory", label);
		return -1;
	}
	json_array_foreach(v, i, elem) {
		if (!json_is_string(elem) || json_string_length(elem) == 0) {
			file_problem(ctx, "%s: \"%s\"[%zu] must be a "
			    "non-empty string", label, key, i);
			rc = -1;
			continue;
		}
		if (((*out)[*n] = strdup(json_string_value(elem))) == NULL) {
			file_problem(ctx, "%s: out of memory", label);
			rc = -1;
			continue;
		}
		(*n)++;
	}
	return rc;
}

/* "clients[3]" or, once the name is known, "clients[3] (\"kes\")". */
static void
client_label(size_t i, const struct cfg_client *cl, char *buf, size_t len)
{
	if (cl->name != NULL)
		snprintf(buf, len, "clients[%zu] (\"%s\")", i, cl->name);
	else
		snprintf(buf, len, "clients[%zu]", i);
}

static void
read_client(struct file_ctx *ctx, size_t i, json_t *obj,
    struct cfg_client *cl)
{
	char label[128], quoted[96];
	const char *key;
	json_t *value, *name;
	size_t j;

	client_label(i, cl, label, sizeof(label));
	if (!json_is_object(obj)) {
		file_problem(ctx, "%s must be an object", label);
		return;
	}
	name = json_object_get(obj, "name");
	if (name == NULL)
		file_problem(ctx, "%s: \"name\" is required", label);
	else if (!json_is_string(name) ||
	    !valid_client_name(json_string_value(name)))
		file_problem(ctx, "%s: \"name\" must be 1 to 64 characters "
		    "from A-Z, a-z, 0-9, '.', '_' and '-'", label);
	else if ((cl->name = strdup(json_string_value(name))) == NULL)
		file_problem(ctx, "%s: out of memory", label);
	client_label(i, cl, label, sizeof(label));

	json_object_foreach(obj, key, value) {
		if (strcmp(key, "name") == 0)
			continue;
		if (strcmp(key, "api_key_sha256") == 0) {
			if (json_is_string(value) && hex_to_sha256(
			    json_string_value(value), cl->api_key_sha256) == 0)
				cl->has_api_key = true;
			else
				file_problem(ctx, "%s: \"api_key_sha256\" must "
				    "be exactly 64 hex characters (the SHA-256 "
				    "of the client's API key)", label);
		} else if (strcmp(key, "secret_groups") == 0) {
			read_string_array(ctx, label, key, value,
			    &cl->secret_groups, &cl->n_secret_groups);
			for (j = 0; j < cl->n_secret_groups; j++)
				if (strcmp(cl->secret_groups[j], "*") == 0)
					cl->all_groups = true;
		} else if (strcmp(key, "secret_ids") == 0) {
			read_string_array(ctx, label, key, value,
			    &cl->secret_ids, &cl->n_secret_ids);
		} else if (strcmp(key, "iam_ids") == 0) {
			read_string_array(ctx, label, key, value,
			    &cl->iam_ids, &cl->n_iam_ids);
		} else if (strcmp(key, "write") == 0) {
			if (json_is_boolean(value))
				cl->write = json_is_true(value);
			else
				file_problem(ctx, "%s: \"write\" must be true "
				    "or false", label);
		} else {
			cfg_quote(key, quoted, sizeof(quoted));
			file_problem(ctx, "%s: unknown key %s (a client has "
			    "name, api_key_sha256, secret_groups, secret_ids, "
			    "iam_ids, write)", label, quoted);
		}
	}
}

/* Names, key hashes and IAM ids must each point at one client. */
static void
check_client_duplicates(struct file_ctx *ctx, const struct cfg_client *cl,
    size_t n)
{
	char label[128], first[128], quoted[96];
	size_t i, j, a, b;

	for (j = 0; j < n; j++) {
		client_label(j, &cl[j], label, sizeof(label));
		for (i = 0; i < j; i++) {
			client_label(i, &cl[i], first, sizeof(first));
			if (cl[i].name != NULL && cl[j].name != NULL &&
			    strcmp(cl[i].name, cl[j].name) == 0)
				file_problem(ctx, "%s: the name is also used "
				    "by clients[%zu]", label, i);
			if (cl[i].has_api_key && cl[j].has_api_key &&
			    memcmp(cl[i].api_key_sha256, cl[j].api_key_sha256,
			    sizeof(cl[i].api_key_sha256)) == 0)
				file_problem(ctx, "%s: has the same "
				    "\"api_key_sha256\" as %s", label, first);
			for (a = 0; a < cl[j].n_iam_ids; a++)
				for (b = 0; b < cl[i].n_iam_ids; b++)
					if (strcmp(cl[j].iam_ids[a],
					    cl[i].iam_ids[b]) == 0) {
						cfg_quote(cl[j].iam_ids[a],
						    quoted, sizeof(quoted));
						file_problem(ctx, "%s: iam_id "
						    "%s is also mapped to %s",
						    label, quoted, first);
					}
		}
	}
}

static void
read_clients(struct file_ctx *ctx, json_t *arr, struct cfg_file *out)
{
	json_t *elem;
	size_t i;

	if (!json_is_array(arr)) {
		file_problem(ctx, "\"clients\" must be an array of objects");
		return;
	}
	if (json_array_size(arr) == 0)
		return;
	out->clients = calloc(json_array_size(arr), sizeof(*out->clients));
	if (out->clients == NULL) {
		file_problem(ctx, "out of memory");
		return;
	}
	json_array_foreach(arr, i, elem) {
		read_client(ctx, i, elem, &out->clients[i]);
		out->n_clients = i + 1;
	}
	check_client_duplicates(ctx, out->clients, out->n_clients);
}

/* Read one TTL field of an override: an integer in [min, ten years]. */
static void
read_seconds(struct file_ctx *ctx, const char *label, const char *key,
    json_t *v, int64_t min, int64_t *out)
{
	json_int_t n;

	if (json_is_integer(v)) {
		n = json_integer_value(v);
		if (n >= min && n <= CFG_MAX_SECONDS) {
			*out = (int64_t)n;
			return;
		}
	}
	file_problem(ctx, "%s: \"%s\" must be %s integer of seconds up to "
	    "%" PRId64 " (leave it out to inherit the global value)", label,
	    key, min > 0 ? "a positive" : "a non-negative", CFG_MAX_SECONDS);
}

static void
read_override(struct file_ctx *ctx, size_t i, json_t *obj,
    struct cfg_ttl_override *ov)
{
	char label[64], quoted[96];
	const char *key, *s;
	json_t *value;
	bool has_group = false, has_type = false;
	size_t t;

	ov->ttl_s = ov->max_stale_s = ov->negative_ttl_s = -1;
	snprintf(label, sizeof(label), "ttl_overrides[%zu]", i);
	if (!json_is_object(obj)) {
		file_problem(ctx, "%s must be an object", label);
		return;
	}
	json_object_foreach(obj, key, value) {
		if (strcmp(key, "secret_group") == 0) {
			has_group = true;
			if (!json_is_string(value) ||
			    json_string_length(value) == 0)
				file_problem(ctx, "%s: \"secret_group\" must be "
				    "a non-empty string", label);
			else if ((ov->secret_group =
			    strdup(json_string_value(value))) == NULL)
				file_problem(ctx, "%s: out of memory", label);
		} else if (strcmp(key, "secret_type") == 0) {
			has_type = true;
			s = json_is_string(value) ? json_string_value(value) :
			    "";
			for (t = 0; t < N_SECRET_TYPES; t++)
				if (strcmp(s, secret_types[t]) == 0)
					break;
			if (t == N_SECRET_TYPES) {
				cfg_quote(s, quoted, sizeof(quoted));
				file_problem(ctx, "%s: \"secret_type\" %s is "
				    "not one of arbitrary, custom_credentials, "
				    "iam_credentials, imported_cert, kv, "
				    "private_cert, public_cert, "
				    "service_credentials, username_password",
				    label, json_is_string(value) ? quoted :
				    "(not a string)");
			} else if ((ov->secret_type = strdup(s)) == NULL)
				file_problem(ctx, "%s: out of memory", label);
		} else if (strcmp(key, "ttl") == 0)
			read_seconds(ctx, label, key, value, 1, &ov->ttl_s);
		else if (strcmp(key, "max_stale") == 0)
			read_seconds(ctx, label, key, value, 0,
			    &ov->max_stale_s);
		else if (strcmp(key, "negative_ttl") == 0)
			read_seconds(ctx, label, key, value, 0,
			    &ov->negative_ttl_s);
		else {
			cfg_quote(key, quoted, sizeof(quoted));
			file_problem(ctx, "%s: unknown key %s (an override has "
			    "secret_group or secret_type, and ttl, max_stale, "
			    "negative_ttl)", label, quoted);
		}
	}
	if (!has_group && !has_type)
		file_problem(ctx, "%s: needs \"secret_group\" or "
		    "\"secret_type\"", label);
	else if (has_group && has_type)
		file_problem(ctx, "%s: has both \"secret_group\" and "
		    "\"secret_type\"; give one per override", label);
}

static void
read_overrides(struct file_ctx *ctx, json_t *arr, struct cfg_file *out)
{
	struct cfg_ttl_override *ov;
	char quoted[96];
	json_t *elem;
	size_t i, j;

	if (!json_is_array(arr)) {
		file_problem(ctx, "\"ttl_overrides\" must be an array of "
		    "objects");
		return;
	}
	if (json_array_size(arr) == 0)
		return;
	out->ttl_overrides = calloc(json_array_size(arr),
	    sizeof(*out->ttl_overrides));
	if (out->ttl_overrides == NULL) {
		file_problem(ctx, "out of memory");
		return;
	}
	json_array_foreach(arr, i, elem) {
		read_override(ctx, i, elem, &out->ttl_overrides[i]);
		out->n_ttl_overrides = i + 1;
	}
	ov = out->ttl_overrides;
	for (j = 0; j < out->n_ttl_overrides; j++) {
		for (i = 0; i < j; i++) {
			if (ov[i].secret_group != NULL &&
			    ov[j].secret_group != NULL &&
			    strcmp(ov[i].secret_group, ov[j].secret_group) == 0) {
				cfg_quote(ov[j].secret_group, quoted,
				    sizeof(quoted));
				file_problem(ctx, "ttl_overrides[%zu]: "
				    "secret_group %s is already overridden by "
				    "ttl_overrides[%zu]", j, quoted, i);
			}
			if (ov[i].secret_type != NULL &&
			    ov[j].secret_type != NULL &&
			    strcmp(ov[i].secret_type, ov[j].secret_type) == 0)
				file_problem(ctx, "ttl_overrides[%zu]: "
				    "secret_type \"%s\" is already overridden "
				    "by ttl_overrides[%zu]", j,
				    ov[j].secret_type, i);
		}
	}
}

/* Turn an option's JSON value into its text form. */
static void
read_option_value(struct file_ctx *ctx, const struct cfg_option *o,
    json_t *value, struct cfg_file *out)
{
	char where[160];
	size_t id = (size_t)(o - cfg_options);
	int rc;

	free(out->option_texts[id]);
	out->option_texts[id] = NULL;
	if ((rc = scalar_text(value, &out->option_texts[id])) == 0)
		return;
	cfg_option_where(o, CFG_SRC_FILE, where, sizeof(where));
	if (rc == -1)
		cfg_report_add(ctx->rep, "%s: must be a string, number or "
		    "boolean", where);
	else
		cfg_report_add(ctx->rep, "%s: out of memory", where);
}

int
cfg_file_read(const char *path, struct cfg_file *out, struct cfg_report *rep)
{
	struct file_ctx ctx;
	const struct cfg_option *o;
	json_error_t jerr;
	json_t *root = NULL, *value;
	struct stat st;
	const char *key;
	char quoted[96];
	size_t problems_before = rep->problems;
	FILE *fp = NULL;

	memset(out, 0, sizeof(*out));
	ctx.rep = rep;
	cfg_quote(path, quoted, sizeof(quoted));
	snprintf(ctx.prefix, sizeof(ctx.prefix), "%s (%s): %s",
	    cfg_options[CFG_OPT_CONFIG].env, cfg_options[CFG_OPT_CONFIG].flag,
	    quoted);
	if ((fp = fopen(path, "re")) == NULL || fstat(fileno(fp), &st) == -1) {
		file_problem(&ctx, "cannot read the file: %s", strerror(errno));
		goto done;
	}
	if (S_ISDIR(st.st_mode)) {
		file_problem(&ctx, "cannot read the file: %s",
		    strerror(EISDIR));
		goto done;
	}
	if ((root = json_loadf(fp, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
		cfg_report_add(rep, "%s line %d, column %d: %s", ctx.prefix,
		    jerr.line, jerr.column, jerr.text);
		goto done;
	}
	if (!json_is_object(root)) {
		file_problem(&ctx, "the file must hold one JSON object");
		goto done;
	}
	json_object_foreach(root, key, value) {
		if (strcmp(key, "clients") == 0)
			read_clients(&ctx, value, out);
		else if (strcmp(key, "ttl_overrides") == 0)
			read_overrides(&ctx, value, out);
		else if ((o = cfg_option_by_json_key(key)) != NULL)
			read_option_value(&ctx, o, value, out);
		else {
			cfg_quote(key, quoted, sizeof(quoted));
			file_problem(&ctx, "unknown key %s%s", quoted,
			    strcmp(key, "api_key") == 0 ? " (the API key "
			    "belongs in a file named by \"api_key_file\")" :
			    "");
		}
	}
done:
	json_decref(root);
	if (fp != NULL)
		fclose(fp);
	return rep->problems == problems_before ? 0 : -1;
}
