/*
 * fake_v1: the legacy Secrets Manager API v1 endpoints of the fake, as KES
 * and old ESO use them (SM-API.md section 2): get secret / metadata by type
 * and id, list (all, or one type), create, rotate (?action=rotate), delete,
 * and secret groups, every body in the v1 collection envelope.
 *
 * Thread rules: fv1_handle is called with the server lock held, after
 * authentication, rate limiting and fault injection.
 */
#ifndef FAKE_V1_H
#define FAKE_V1_H

#include "tests/fake/fake_http.h"
#include "tests/fake/fake_srv.h"

/* Answer a request whose path starts with /api/v1 into rs. */
void	 fv1_handle(struct fsrv *srv, const struct freq *rq, struct fresp *rs);

#endif
