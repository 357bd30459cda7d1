/*
 * http_tls: HTTPS for the main listener.
 *
 * Thread rules: main thread.
 */
#include <stdio.h>

#include "config/config.h"
#include "server/http_int.h"

int
http_tls_load(struct http *h, char *why, size_t whylen)
{
	pthread_mutex_init(&h->tls_lock, NULL);
	if (h->cfg->tls_cert_file == NULL)
		return 0;
	snprintf(why, whylen, "SMPROXY_TLS_CERT_FILE (--tls-cert-file): TLS is not available in this build");
	return -1;
}

void
http_tls_free(struct http *h)
{
	pthread_mutex_destroy(&h->tls_lock);
}
