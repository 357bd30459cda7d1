/*
 * config_lookup.c: questions asked of a loaded configuration (which TTLs
 * apply to a secret, which client has a name), printing it for --check,
 * and the SIGHUP reload of the file's clients and TTL overrides.
 *
 * Design: a reload reads and checks the whole file into a scratch struct
 * first and touches *c only when everything passed, so a bad edit leaves
 * the running configuration as it was.  Option values in the file are
 * checked too (a broken value would stop the next restart) but are not
 * applied: changing them needs a restart.
 *
 * Thread rules: cfg_ttls_for(), cfg_client_by_name() and cfg_dump() only
 * read and may run on any thread while no reload runs.  cfg_reload_file()
 * changes *c in place: main thread only, with no concurrent reader.  XXX a
 * server that reloads while workers run should load into a fresh struct
 * and swap a pointer.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_int.h"

/* Per field: the group value, else the type value, else the global one. */
static int64_t
pick(const struct cfg_ttl_override *by_group,
    const struct cfg_ttl_override *by_type, size_t field_offset,
    int64_t global)
{
	int64_t v;

	if (by_group != NULL &&
	    (v = *(const int64_t *)(const void *)((const char *)by_group +
	    field_offset)) >= 0)
		return v;
	if (by_type != NULL &&
	    (v = *(const int64_t *)(const void *)((const char *)by_type +
	    field_offset)) >= 0)
		return v;
	return global;
}

void
cfg_ttls_for(const struct cfg *c, const char *group, const char *type,
    int64_t *ttl_s, int64_t *max_stale_s, int64_t *negative_ttl_s)
{
	const struct cfg_ttl_override *ov, *by_group = NULL, *by_type = NULL;
	size_t i;

	for (i = 0; i < c->n_ttl_overrides; i++) {
		ov = &c->ttl_overrides[i];
		if (by_group == NULL && group != NULL &&
		    ov->secret_group != NULL &&
		    strcmp(ov->secret_group, group) == 0)
			by_group = ov;
		if (by_type == NULL && type != NULL &&
		    ov->secret_type != NULL &&
		    strcmp(ov->secret_type, type) == 0)
			by_type = ov;
	}
	if (ttl_s != NULL)
		*ttl_s = pick(by_group, by_type,
		    offsetof(struct cfg_ttl_override, ttl_s), c->ttl_s);
	if (max_stale_s != NULL)
		*max_stale_s = pick(by_group, by_type,
		    offsetof(struct cfg_ttl_override, max_stale_s),
		    c->max_stale_s);
	if (negative_ttl_s != NULL)
		*negative_ttl_s = pick(by_group, by_type,
		    offsetof(struct cfg_ttl_override, negative_ttl_s),
		    c->negative_ttl_s);
}

const struct cfg_client *
cfg_client_by_name(const struct cfg *c, const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < c->n_clients; i++)
		if (c->clients[i].name != NULL &&
		    strcmp(c->clients[i].name, name) == 0)
			return &c->clients[i];
	return NULL;
}

/* Check the option values the file carries, without applying them. */
static void
check_file_options(const struct cfg_file *file, struct cfg_report *rep)
{
	struct cfg scratch;
	char why[512], where[160];
	size_t i;

	memset(&scratch, 0, sizeof(scratch));
	for (i = 0; i < CFG_OPT_COUNT; i++) {
		if (file->option_texts[i] == NULL)
			continue;
		if (cfg_option_set(&scratch, &cfg_options[i],
		    file->option_texts[i], why, sizeof(why)) == -1) {
			cfg_option_where(&cfg_options[i], CFG_SRC_FILE, where,
			    sizeof(where));
			cfg_report_add(rep, "%s: %s", where, why);
		}
	}
	cfg_free(&scratch);
}

int
cfg_reload_file(struct cfg *c, struct cfg_errors *errs)
{
	struct cfg_report rep = { errs, 0 };
	struct cfg_file file;

	memset(&file, 0, sizeof(file));
	if (c->config_path == NULL) {
		cfg_report_add(&rep, "%s (%s): not set, so there is no file "
		    "to reload", cfg_options[CFG_OPT_CONFIG].env,
		    cfg_options[CFG_OPT_CONFIG].flag);
		goto done;
	}
	if (cfg_file_read(c->config_path, &file, &rep) == -1)
		goto done;
	check_file_options(&file, &rep);
	cfg_check_clients_for_auth(c->auth, file.clients, file.n_clients,
	    &rep);
	if (rep.problems > 0)
		goto done;

	cfg_clients_free(c->clients, c->n_clients);
	cfg_overrides_free(c->ttl_overrides, c->n_ttl_overrides);
	c->clients = file.clients;
	c->n_clients = file.n_clients;
	c->ttl_overrides = file.ttl_overrides;
	c->n_ttl_overrides = file.n_ttl_overrides;
	file.clients = NULL;
	file.n_clients = 0;
	file.ttl_overrides = NULL;
	file.n_ttl_overrides = 0;
done:
	cfg_file_cleanup(&file);
	return rep.problems == 0 ? 0 : -1;
}

/* Print one option's current value. */
static void
dump_option(FILE *fp, const struct cfg *c, const struct cfg_option *o)
{
	static const char *const auths[] = { "local", "iam", "none" };
	static const char *const levels[] = { "debug", "info", "warn",
	    "error" };
	const void *field = (const char *)c + o->offset;
	const char *name = o->json_key != NULL ? o->json_key : o->flag + 2;
	const char *s;
	char quoted[96];

	switch (o->type) {
	case CFG_TYPE_STRING:
		s = *(char *const *)field;
		if (s != NULL)
			cfg_quote(s, quoted, sizeof(quoted));
		fprintf(fp, "%s = %s\n", name, s != NULL ? quoted : "(unset)");
		break;
	case CFG_TYPE_INT:
		fprintf(fp, "%s = %d\n", name, *(const int *)field);
		break;
	case CFG_TYPE_INT64:
		fprintf(fp, "%s = %" PRId64 "\n", name,
		    *(const int64_t *)field);
		break;
	case CFG_TYPE_BOOL:
		fprintf(fp, "%s = %s\n", name,
		    *(const bool *)field ? "true" : "false");
		break;
	case CFG_TYPE_AUTH:
		fprintf(fp, "%s = %s\n", name,
		    auths[*(const enum cfg_auth *)field]);
		break;
	case CFG_TYPE_LOG_LEVEL:
		fprintf(fp, "%s = %s\n", name,
		    levels[*(const enum cfg_log_level *)field]);
		break;
	case CFG_TYPE_ACTION:
		break;
	}
}

void
cfg_dump(const struct cfg *c, void *file)
{
	const struct cfg_client *cl;
	const struct cfg_ttl_override *ov;
	FILE *fp = file;
	char quoted[96];
	size_t i;

	for (i = 0; i < CFG_OPT_COUNT; i++)
		dump_option(fp, c, &cfg_options[i]);
	fprintf(fp, "api_key = %s\n", c->api_key == NULL ? "(unset)" :
	    c->api_key_file != NULL ? "(hidden, from api_key_file)" :
	    "(hidden, from SMPROXY_API_KEY)");
	for (i = 0; i < c->n_clients; i++) {
		cl = &c->clients[i];
		fprintf(fp, "client \"%s\": api key %s, %zu group(s)%s, "
		    "%zu secret id(s), %zu IAM id(s), %s\n",
		    cl->name != NULL ? cl->name : "", cl->has_api_key ?
		    "set" : "unset", cl->n_secret_groups, cl->all_groups ?
		    " (all)" : "", cl->n_secret_ids, cl->n_iam_ids, cl->write ?
		    "read-write" : "read-only");
	}
	for (i = 0; i < c->n_ttl_overrides; i++) {
		ov = &c->ttl_overrides[i];
		cfg_quote(ov->secret_group != NULL ? ov->secret_group :
		    ov->secret_type != NULL ? ov->secret_type : "", quoted,
		    sizeof(quoted));
		fprintf(fp, "ttl override %s %s: ttl %" PRId64 ", max_stale %"
		    PRId64 ", negative_ttl %" PRId64 " (-1: inherit)\n",
		    ov->secret_group != NULL ? "secret_group" : "secret_type",
		    quoted, ov->ttl_s, ov->max_stale_s, ov->negative_ttl_s);
	}
}
