/*
 * http_auth: who is calling, and may they see this answer.
 *
 * Thread rules: libmicrohttpd pool threads.
 */
#include <string.h>

#include "server/http_int.h"

enum MHD_Result
http_serve_identity(struct req *q)
{
	return http_send_error(q, 404, "not_found",
	    "The token endpoint is served in local auth mode only.", 0);
}

int
http_authenticate(struct req *q)
{
	(void)q;
	return 0;
}

enum MHD_Result
http_authorize_and_send_entry(struct req *q, struct store_entry *e)
{
	return http_send_entry_raw(q, e);
}

enum MHD_Result
http_authorize_and_send_result(struct req *q, struct sched_result *r)
{
	return http_send_result_raw(q, r);
}

void
http_audit(struct req *q)
{
	(void)q;
}
