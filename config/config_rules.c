/*
 * config_rules.c: the upstream API key, and the rules that tie several
 * options together (required options, the TLS pair, auth versus listener
 * and clients).
 *
 * Design: the API key is the one secret config/ holds.  It is read straight
 * into sodium_malloc'd memory, never copied into ordinary heap, and no
 * message ever contains it: a problem with it names only where it came
 * from.  The rules run after every option is converted and skip any field
 * whose own value was already reported as bad, so one mistake gives one
 * message.
 *
 * Thread rules: main thread only (called from cfg_load() and
 * cfg_reload_file()).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "config/config_int.h"

/* Length of key without its trailing whitespace. */
static size_t
trimmed_length(const char *key, size_t len)
{
	while (len > 0 && (key[len - 1] == ' ' || key[len - 1] == '\t' ||
	    key[len - 1] == '\r' || key[len - 1] == '\n' ||
	    key[len - 1] == '\v' || key[len - 1] == '\f'))
		len--;
	return len;
}

/*
 * Whether an API key of len bytes is usable in an HTTP request: not empty,
 * printable ASCII only.  The reason never quotes the key.
 */
static int
check_key_text(const char *key, size_t len, char *why, size_t whylen)
{
	size_t i;

	if (len == 0) {
		snprintf(why, whylen, "the API key is empty");
		return -1;
	}
	for (i = 0; i < len; i++) {
		if ((unsigned char)key[i] <= 0x20 ||
		    (unsigned char)key[i] >= 0x7f) {
			snprintf(why, whylen, "the API key holds a space, a "
			    "control character or a non-ASCII byte");
			return -1;
		}
	}
	return 0;
}

/* Wipe and free the key held in c, if any. */
static void
drop_api_key(struct cfg *c)
{
	if (c->api_key == NULL)
		return;
	sodium_memzero(c->api_key, strlen(c->api_key));
	sodium_free(c->api_key);
	c->api_key = NULL;
}

int
cfg_set_api_key(struct cfg *c, const char *key, char *why, size_t whylen)
{
	size_t len = strlen(key);
	char *copy;

	if (len > CFG_API_KEY_MAX) {
		snprintf(why, whylen, "the API key is longer than %d bytes",
		    CFG_API_KEY_MAX);
		return -1;
	}
	len = trimmed_length(key, len);
	if (check_key_text(key, len, why, whylen) == -1)
		return -1;
	if ((copy = sodium_malloc(len + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		return -1;
	}
	memcpy(copy, key, len);
	copy[len] = '\0';
	drop_api_key(c);
	c->api_key = copy;
	return 0;
}

/*
 * Read the file named by *field into c->api_key, minus trailing
 * whitespace.  The bytes go from the file straight into guarded memory.
 */
int
cfg_check_api_key_file(struct cfg *c, char **field, char *why, size_t whylen)
{
	char quoted[96];
	struct stat st;
	char *key = NULL;
	size_t size = 0, got = 0, len;
	ssize_t n;
	int fd = -1, rc = -1;

	if (cfg_check_nonempty(c, field, why, whylen) == -1)
		return -1;
	cfg_quote(*field, quoted, sizeof(quoted));
	if ((fd = open(*field, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1) {
		snprintf(why, whylen, "cannot read %s: %s", quoted,
		    strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(why, whylen, "cannot read %s: not a regular file",
		    quoted);
		goto done;
	}
	if (st.st_size > CFG_API_KEY_MAX) {
		snprintf(why, whylen, "%s is larger than %d bytes; it should "
		    "hold only the API key", quoted, CFG_API_KEY_MAX);
		goto done;
	}
	size = (size_t)st.st_size;
	if ((key = sodium_malloc(size + 1)) == NULL) {
		snprintf(why, whylen, "out of memory");
		goto done;
	}
	while (got < size) {
		n = read(fd, key + got, size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(why, whylen, "cannot read %s: %s", quoted,
			    strerror(errno));
			goto done;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	len = trimmed_length(key, got);
	key[len] = '\0';
	if (check_key_text(key, len, why, whylen) == -1) {
		/* Say which file, still without its contents. */
		char reason[128];

		snprintf(reason, sizeof(reason), "%s", why);
		snprintf(why, whylen, "%s: %s", quoted, reason);
		goto done;
	}
	drop_api_key(c);
	c->api_key = key;
	key = NULL;
	rc = 0;
done:
	if (key != NULL) {
		sodium_memzero(key, size + 1);
		sodium_free(key);
	}
	if (fd != -1)
		close(fd);
	return rc;
}

/* "SMPROXY_X (--x)" for row id. */
static void
where(enum cfg_opt_id id, char *buf, size_t len)
{
	cfg_option_where(&cfg_options[id], CFG_SRC_DEFAULT, buf, len);
}

void
cfg_check_rules(const struct cfg *c, const bool given[CFG_OPT_COUNT],
    const bool valid[CFG_OPT_COUNT], struct cfg_report *rep)
{
	char name[128], other[128], quoted[96];

	if (!given[CFG_OPT_UPSTREAM_URL]) {
		where(CFG_OPT_UPSTREAM_URL, name, sizeof(name));
		cfg_report_add(rep, "%s: required (the base URL of the "
		    "Secrets Manager instance)", name);
	}
	if (!given[CFG_OPT_API_KEY_FILE]) {
		where(CFG_OPT_API_KEY_FILE, name, sizeof(name));
		cfg_report_add(rep, "%s or SMPROXY_API_KEY: required (the "
		    "proxy's own IBM Cloud API key)", name);
	}
	if (valid[CFG_OPT_CACHE_PATH] && c->cache_path != NULL &&
	    strcmp(c->cache_path, ":memory:") != 0 &&
	    !given[CFG_OPT_CACHE_KEY_FILE]) {
		where(CFG_OPT_CACHE_KEY_FILE, name, sizeof(name));
		where(CFG_OPT_CACHE_PATH, other, sizeof(other));
		cfg_report_add(rep, "%s: required unless %s is :memory:",
		    name, other);
	}
	if (given[CFG_OPT_TLS_CERT_FILE] != given[CFG_OPT_TLS_KEY_FILE]) {
		bool cert = given[CFG_OPT_TLS_CERT_FILE];

		where(cert ? CFG_OPT_TLS_KEY_FILE : CFG_OPT_TLS_CERT_FILE,
		    name, sizeof(name));
		where(cert ? CFG_OPT_TLS_CERT_FILE : CFG_OPT_TLS_KEY_FILE,
		    other, sizeof(other));
		cfg_report_add(rep, "%s: required when %s is set", name,
		    other);
	}
	if (valid[CFG_OPT_AUTH] && valid[CFG_OPT_LISTEN] &&
	    valid[CFG_OPT_ALLOW_INSECURE_NONE] && c->auth == CFG_AUTH_NONE &&
	    !c->allow_insecure_none && c->listen_host != NULL &&
	    !cfg_host_is_loopback(c->listen_host)) {
		where(CFG_OPT_AUTH, name, sizeof(name));
		where(CFG_OPT_ALLOW_INSECURE_NONE, other, sizeof(other));
		cfg_quote(c->listen != NULL ? c->listen : "", quoted,
		    sizeof(quoted));
		cfg_report_add(rep, "%s: \"none\" is refused on the "
		    "non-loopback listener %s; listen on 127.0.0.1, ::1 or "
		    "localhost, or set %s", name, quoted, other);
	}
}

void
cfg_check_clients_for_auth(enum cfg_auth auth,
    const struct cfg_client *clients, size_t n_clients,
    struct cfg_report *rep)
{
	char name[128];
	size_t i, with_key = 0, with_iam = 0;

	for (i = 0; i < n_clients; i++) {
		if (clients[i].has_api_key)
			with_key++;
		if (clients[i].n_iam_ids > 0)
			with_iam++;
	}
	where(CFG_OPT_AUTH, name, sizeof(name));
	if (auth == CFG_AUTH_LOCAL && with_key == 0)
		cfg_report_add(rep, "%s: \"local\" needs at least one client "
		    "with an \"api_key_sha256\"; add clients to the --config "
		    "file (SMPROXY_CONFIG), or use --auth none on a loopback "
		    "listener", name);
	if (auth == CFG_AUTH_IAM && with_iam == 0)
		cfg_report_add(rep, "%s: \"iam\" needs at least one client "
		    "with \"iam_ids\" in the --config file (SMPROXY_CONFIG)",
		    name);
}
