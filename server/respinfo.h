/*
 * respinfo: what the proxy needs to know about an upstream answer body,
 * read once on a cache miss: the secret's id, group and type (for
 * authorization on later hits and for the invalidation tag), and whether
 * the read minted a fresh credential (iam_credentials with
 * reuse_api_key false), which must be neither cached nor shared.
 *
 * Thread rules: pure; any thread.
 */
#ifndef SMPROXY_RESPINFO_H
#define SMPROXY_RESPINFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api/route.h"

struct respinfo {
	char	 secret_id[ROUTE_ID_MAX + 1];
	char	 group_id[ROUTE_ID_MAX + 1];
	char	 secret_type[ROUTE_NAME_MAX + 1];
	bool	 non_idempotent;
};

/*
 * Read body (the 2xx answer to a route of kind op).  Fields not found stay
 * empty.  Returns 0, or -1 when the body is not the JSON the route
 * promises (then nothing is cached).
 */
int	respinfo_parse(enum route_op op, const uint8_t *body, size_t len,
	    struct respinfo *out);

#endif
