/*
 * smerr: error bodies in the Secrets Manager (IBM Cloud API Handbook) shape,
 *   {"errors":[{"code":"not_found","message":"..."}],"status_code":404,
 *    "trace":"<lowercase uuid>"}
 * and the IAM error shape for the token endpoint,
 *   {"errorCode":"BXNIM0415E","errorMessage":"...","context":{...}}.
 * The errors array is never empty (Go clients index errors[0] unchecked).
 *
 * Thread rules: any thread.
 */
#ifndef SMPROXY_SMERR_H
#define SMPROXY_SMERR_H

#include <stddef.h>

/* Write a fresh random lowercase UUIDv4 (36 chars + NUL) into out. */
void	 smerr_trace(char out[37]);

/*
 * An SM-shaped error body.  code is snake_case; message is plain text
 * (JSON-escaped here).  Returns a malloc'd NUL-terminated string the caller
 * frees, and its length in *len; NULL only on allocation failure.
 */
char	*smerr_body(int status, const char *code, const char *message, size_t *len);

/* An IAM-shaped error body, e.g. ("BXNIM0415E", "Provided API key could not be found."). */
char	*smerr_iam_body(const char *error_code, const char *message, size_t *len);

/* The snake_case code used for a status we generate (400 -> "bad_request",
 * 401 -> "unauthorized", 403 -> "forbidden", 404 -> "not_found",
 * 413 -> "payload_too_large", 429 -> "too_many_requests",
 * 502 -> "bad_gateway", 503 -> "service_unavailable",
 * 504 -> "gateway_timeout", else "internal_error"). */
const char *smerr_code_for(int status);

#endif
