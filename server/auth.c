/*
 * auth: client policies (see auth.h).
 *
 * Thread rules: see auth.h.
 */
#include "server/auth.h"

#include <stdlib.h>

#include "config/config.h"
#include "server/log.h"

struct auth {
	const struct cfg	*cfg;
};

struct auth *
auth_new(const struct cfg *cfg, char *why, size_t whylen)
{
	struct auth *a = calloc(1, sizeof(*a));

	(void)why;
	(void)whylen;
	if (a == NULL)
		return NULL;
	a->cfg = cfg;
	return a;
}

int
auth_reload(struct auth *a, struct cfg *cfg)
{
	(void)a;
	(void)cfg;
	log_kv(LOG_WARN, "SIGHUP: configuration reload is not supported yet", NULL);
	return -1;
}

void
auth_free(struct auth *a)
{
	free(a);
}
