/*
 * token: the proxy's upstream IAM token state machine (see token.h).
 *
 * Refresh timing follows IAM's own numbers: the token is good until
 * expires_in seconds after it was received (less TOKEN_EARLY_EXPIRY_MS) and
 * is refreshed from 80 % of that.  When IAM also sends an absolute
 * `expiration`, the earlier of the two wins (clock skew can only shorten
 * the life we assume).
 *
 * Thread rules: the scheduler thread only.
 */
#include "server/token.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define BACKOFF_FIRST_MS	1000
#define BACKOFF_MAX_MS		30000

static void
drop(struct token *t)
{
	if (t->access != NULL) {
		sodium_free(t->access);	/* sodium_free wipes */
		t->access = NULL;
	}
}

void
token_init(struct token *t)
{
	memset(t, 0, sizeof(*t));
}

void
token_cleanup(struct token *t)
{
	drop(t);
	memset(t, 0, sizeof(*t));
}

bool
token_usable(const struct token *t, int64_t now)
{
	return t->access != NULL && now < t->expires_at - TOKEN_EARLY_EXPIRY_MS;
}

bool
token_should_fetch(const struct token *t, int64_t now)
{
	if (t->fetching || now < t->next_attempt)
		return false;
	return t->access == NULL || now >= t->refresh_at;
}

int
token_accept(struct token *t, const char *body, size_t len, int64_t now,
    int64_t wall_now, char *why, size_t whylen)
{
	json_t *root = NULL, *jt, *jin, *jexp;
	const char *access;
	int64_t expires_in, life_ms;
	size_t alen;
	int rc = -1;

	t->fetching = false;
	root = json_loadb(body, len, 0, NULL);
	if (root == NULL || !json_is_object(root)) {
		snprintf(why, whylen, "IAM token response is not a JSON object");
		goto done;
	}
	jt = json_object_get(root, "access_token");
	jin = json_object_get(root, "expires_in");
	jexp = json_object_get(root, "expiration");
	if (!json_is_string(jt) || json_string_length(jt) == 0) {
		snprintf(why, whylen, "IAM token response has no access_token");
		goto done;
	}
	if (!json_is_integer(jin) || json_integer_value(jin) <= 0) {
		snprintf(why, whylen, "IAM token response has no positive expires_in");
		goto done;
	}
	expires_in = json_integer_value(jin);
	if (expires_in > 7 * 86400)
		expires_in = 7 * 86400;
	life_ms = expires_in * 1000;
	if (json_is_integer(jexp)) {
		int64_t left = (json_integer_value(jexp) - wall_now) * 1000;
		if (left > 0 && left < life_ms)
			life_ms = left;
		t->expiry_wall = json_integer_value(jexp);
	} else {
		t->expiry_wall = wall_now + expires_in;
	}
	access = json_string_value(jt);
	alen = json_string_length(jt);
	drop(t);
	t->access = sodium_malloc(alen + 1);
	if (t->access == NULL) {
		snprintf(why, whylen, "out of memory");
		goto done;
	}
	memcpy(t->access, access, alen + 1);
	t->expires_at = now + life_ms;
	t->refresh_at = now + life_ms * 8 / 10;
	t->failures = 0;
	t->next_attempt = 0;
	t->generation++;
	rc = 0;
done:
	if (root != NULL) {
		/* The parsed copy of the token is wiped before jansson frees it. */
		jt = json_object_get(root, "access_token");
		if (json_is_string(jt))
			sodium_memzero((char *)json_string_value(jt), json_string_length(jt));
		json_decref(root);
	}
	if (rc != 0)
		token_failed(t, now);
	return rc;
}

void
token_failed(struct token *t, int64_t now)
{
	int64_t backoff = BACKOFF_FIRST_MS;
	int i;

	t->fetching = false;
	t->failures++;
	for (i = 1; i < t->failures && backoff < BACKOFF_MAX_MS; i++)
		backoff *= 2;
	if (backoff > BACKOFF_MAX_MS)
		backoff = BACKOFF_MAX_MS;
	t->next_attempt = now + backoff;
}

void
token_invalidate(struct token *t, uint64_t gen)
{
	if (t->generation == gen && t->access != NULL) {
		drop(t);
		t->next_attempt = 0;
	}
}

static size_t
form_escape(char *dst, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;

	for (; *src; src++) {
		unsigned char c = (unsigned char)*src;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~') {
			if (dst)
				dst[n] = (char)c;
			n++;
		} else {
			if (dst) {
				dst[n] = '%';
				dst[n + 1] = hex[c >> 4];
				dst[n + 2] = hex[c & 15];
			}
			n += 3;
		}
	}
	return n;
}

char *
token_form(const char *api_key, size_t *len)
{
	static const char pre[] = "grant_type=urn%3Aibm%3Aparams%3Aoauth%3Agrant-type%3Aapikey&apikey=";
	static const char post[] = "&response_type=cloud_iam";
	size_t klen = form_escape(NULL, api_key);
	size_t total = sizeof(pre) - 1 + klen + sizeof(post) - 1;
	char *form;

	*len = 0;
	form = sodium_malloc(total + 1);
	if (form == NULL)
		return NULL;
	memcpy(form, pre, sizeof(pre) - 1);
	form_escape(form + sizeof(pre) - 1, api_key);
	memcpy(form + sizeof(pre) - 1 + klen, post, sizeof(post));
	*len = total;
	return form;
}

void
token_form_free(char *form)
{
	if (form != NULL)
		sodium_free(form);
}
