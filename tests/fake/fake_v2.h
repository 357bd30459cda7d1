/*
 * fake_v2: the Secrets Manager API v2 endpoints of the fake (SM-API.md
 * section 1): secret, metadata, versions (with the current/previous
 * aliases), get-by-name, paginated list, secret groups, create, rotate,
 * delete and metadata merge-patch.
 *
 * Thread rules: fv2_handle is called with the server lock held, after
 * authentication, rate limiting and fault injection.
 */
#ifndef FAKE_V2_H
#define FAKE_V2_H

#include "tests/fake/fake_http.h"
#include "tests/fake/fake_srv.h"

/* Answer a request whose path starts with /api/v2 into rs. */
void	 fv2_handle(struct fsrv *srv, const struct freq *rq, struct fresp *rs);

#endif
