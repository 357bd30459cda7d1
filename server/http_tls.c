/*
 * http_tls: HTTPS for the main listener, with certificates that can be
 * replaced while the proxy runs.
 *
 * libmicrohttpd asks GnuTLS for the certificate through a retrieve
 * callback (MHD_OPTION_HTTPS_CERT_CALLBACK) at every handshake, so a new
 * connection always gets whatever is current.  The certificate chain and
 * private key live in a "generation" (struct tls_gen).  A reload builds a
 * new generation from the files, checks that the key belongs to the leaf
 * certificate, and swaps it in under h->tls_lock; connections already
 * open keep their TLS session and never notice.
 *
 * GnuTLS does not copy what the callback returns and gives no signal when
 * a handshake that picked a generation is over, so a replaced generation
 * is never freed while the daemon runs: it moves to a retired list that
 * http_tls_free() releases after the daemon has stopped.  That costs a
 * few kilobytes per reload, and reloads are rare (SIGHUP).
 * XXX: a process reloaded thousands of times keeps every old key in memory.
 *
 * The callback has no closure argument, so the one TLS-enabled struct
 * http of the process is remembered in a file-static pointer.
 *
 * Thread rules: http_tls_load, http_tls_options, http_tls_reload and
 * http_tls_free run on the main thread; the retrieve callback runs on
 * libmicrohttpd's pool threads and only reads the current generation
 * under tls_lock.
 */
#include <errno.h>
#include <fcntl.h>
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config/config.h"
#include "server/http_int.h"

#define TLS_FILE_MAX	(1024 * 1024)	/* larger PEM files are refused */
#define TLS_CHAIN_MAX	16		/* certificates in one chain */
#define TLS_PRIORITIES	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"

#define CERT_OPT	"SMPROXY_TLS_CERT_FILE (--tls-cert-file)"
#define KEY_OPT		"SMPROXY_TLS_KEY_FILE (--tls-key-file)"

struct tls_gen {
	gnutls_pcert_st		*chain;
	unsigned int		 chain_len;
	gnutls_privkey_t	 key;
	struct tls_gen		*retired;	/* older generations, newest first */
};

static struct http *tls_owner;

static void
gen_free(struct tls_gen *g)
{
	unsigned int i;

	if (g == NULL)
		return;
	for (i = 0; i < g->chain_len; i++)
		gnutls_pcert_deinit(&g->chain[i]);
	free(g->chain);
	if (g->key != NULL)
		gnutls_privkey_deinit(g->key);
	free(g);
}

/* Wipe and free a buffer filled by read_pem(). */
static void
pem_free(gnutls_datum_t *d)
{
	if (d->data != NULL) {
		sodium_memzero(d->data, d->size);
		free(d->data);
	}
	d->data = NULL;
	d->size = 0;
}

/*
 * Read a whole PEM file into *out (NUL-terminated; the caller frees it with
 * pem_free).  Returns 0, or -1 with a reason in why naming opt.
 */
static int
read_pem(const char *opt, const char *path, gnutls_datum_t *out, char *why, size_t whylen)
{
	struct stat st;
	size_t got = 0;
	ssize_t n;
	int fd, rc = -1;

	out->data = NULL;
	out->size = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(why, whylen, "%s %s: %s", opt, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		snprintf(why, whylen, "%s %s: %s", opt, path, strerror(errno));
		goto done;
	}
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 || st.st_size > TLS_FILE_MAX) {
		snprintf(why, whylen, "%s %s: not a PEM file of 1 to %d bytes", opt, path,
		    TLS_FILE_MAX);
		goto done;
	}
	out->data = malloc((size_t)st.st_size + 1);
	if (out->data == NULL) {
		snprintf(why, whylen, "%s %s: out of memory", opt, path);
		goto done;
	}
	while (got < (size_t)st.st_size) {
		n = read(fd, out->data + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(why, whylen, "%s %s: %s", opt, path, strerror(errno));
			goto done;
		}
		if (n == 0)
			break;		/* shrank while we read: take what is there */
		got += (size_t)n;
	}
	out->data[got] = '\0';
	out->size = (unsigned int)got;
	rc = 0;
done:
	if (rc != 0)
		pem_free(out);
	close(fd);
	return rc;
}

/*
 * Compare the public half of key with the leaf certificate's public key.
 * Returns 1 when they are the same key, 0 when not, -1 on a GnuTLS error.
 */
static int
key_matches_leaf(gnutls_privkey_t key, gnutls_pcert_st *leaf)
{
	gnutls_pubkey_t pub = NULL;
	gnutls_datum_t mine = { NULL, 0 }, theirs = { NULL, 0 };
	int rc = -1;

	if (gnutls_pubkey_init(&pub) < 0)
		return -1;
	if (gnutls_pubkey_import_privkey(pub, key, 0, 0) < 0 ||
	    gnutls_pubkey_export2(pub, GNUTLS_X509_FMT_DER, &mine) < 0 ||
	    gnutls_pubkey_export2(leaf->pubkey, GNUTLS_X509_FMT_DER, &theirs) < 0)
		goto done;
	rc = mine.size == theirs.size && memcmp(mine.data, theirs.data, mine.size) == 0;
done:
	gnutls_free(mine.data);
	gnutls_free(theirs.data);
	gnutls_pubkey_deinit(pub);
	return rc;
}

/*
 * Load the configured certificate chain and key into a new generation.
 * Returns it (the caller owns it; gen_free), or NULL with a reason in why.
 */
static struct tls_gen *
gen_load(const struct cfg *cfg, char *why, size_t whylen)
{
	struct tls_gen *g;
	gnutls_datum_t pem = { NULL, 0 };
	unsigned int n = TLS_CHAIN_MAX;
	int rc, match;

	g = calloc(1, sizeof(*g));
	if (g == NULL) {
		snprintf(why, whylen, "out of memory loading the TLS certificate");
		return NULL;
	}
	g->chain = calloc(TLS_CHAIN_MAX, sizeof(*g->chain));
	if (g->chain == NULL) {
		snprintf(why, whylen, "out of memory loading the TLS certificate");
		goto fail;
	}

	if (read_pem(CERT_OPT, cfg->tls_cert_file, &pem, why, whylen) != 0)
		goto fail;
	rc = gnutls_pcert_list_import_x509_raw(g->chain, &n, &pem, GNUTLS_X509_FMT_PEM,
	    GNUTLS_X509_CRT_LIST_IMPORT_FAIL_IF_EXCEED);
	pem_free(&pem);
	if (rc == GNUTLS_E_SHORT_MEMORY_BUFFER) {
		snprintf(why, whylen, "%s %s: more than %d certificates in the chain",
		    CERT_OPT, cfg->tls_cert_file, TLS_CHAIN_MAX);
		goto fail;
	}
	if (rc < 0 || n == 0) {
		snprintf(why, whylen, "%s %s: no usable PEM certificate (%s)", CERT_OPT,
		    cfg->tls_cert_file, rc < 0 ? gnutls_strerror(rc) : "empty");
		goto fail;
	}
	g->chain_len = n;

	if (read_pem(KEY_OPT, cfg->tls_key_file, &pem, why, whylen) != 0)
		goto fail;
	rc = gnutls_privkey_init(&g->key);
	if (rc >= 0) {
		rc = gnutls_privkey_import_x509_raw(g->key, &pem, GNUTLS_X509_FMT_PEM, NULL, 0);
		if (rc < 0) {
			gnutls_privkey_deinit(g->key);
			g->key = NULL;
		}
	}
	pem_free(&pem);
	if (rc < 0) {
		snprintf(why, whylen, "%s %s: no usable unencrypted PEM private key (%s)",
		    KEY_OPT, cfg->tls_key_file, gnutls_strerror(rc));
		goto fail;
	}

	match = key_matches_leaf(g->key, &g->chain[0]);
	if (match != 1) {
		snprintf(why, whylen, "%s %s does not match the first certificate in "
		    CERT_OPT " %s%s", KEY_OPT, cfg->tls_key_file, cfg->tls_cert_file,
		    match < 0 ? " (cannot compare their public keys)" : "");
		goto fail;
	}
	return g;
fail:
	gen_free(g);
	return NULL;
}

/* GnuTLS asks for the server certificate at each handshake. */
static int
retrieve_cert(gnutls_session_t session, const gnutls_datum_t *req_ca_rdn, int nreqs,
    const gnutls_pk_algorithm_t *pk_algos, int pk_algos_length,
    gnutls_pcert_st **pcert, unsigned int *pcert_length, gnutls_privkey_t *privkey)
{
	struct http *h = tls_owner;
	struct tls_gen *g;

	(void)session;
	(void)req_ca_rdn;
	(void)nreqs;
	(void)pk_algos;
	(void)pk_algos_length;
	*pcert = NULL;
	*pcert_length = 0;
	*privkey = NULL;
	if (h == NULL)
		return -1;
	pthread_mutex_lock(&h->tls_lock);
	g = h->tls_cert;
	pthread_mutex_unlock(&h->tls_lock);
	if (g == NULL)
		return -1;
	*pcert = g->chain;
	*pcert_length = g->chain_len;
	*privkey = g->key;
	return 0;
}

/*
 * Set up TLS from the configuration.  Returns 0 (h->tls_cert is set when
 * TLS is on, NULL otherwise), or -1 with a reason in why.
 */
int
http_tls_load(struct http *h, char *why, size_t whylen)
{
	struct tls_gen *g;

	pthread_mutex_init(&h->tls_lock, NULL);
	h->tls_cert = NULL;
	if (h->cfg->tls_cert_file == NULL && h->cfg->tls_key_file == NULL)
		return 0;
	if (h->cfg->tls_cert_file == NULL || h->cfg->tls_key_file == NULL) {
		snprintf(why, whylen, "%s and %s go together",
		    CERT_OPT, KEY_OPT);
		return -1;
	}
	if (tls_owner != NULL && tls_owner != h) {
		snprintf(why, whylen, "%s: only one HTTPS listener per process", CERT_OPT);
		return -1;
	}
	g = gen_load(h->cfg, why, whylen);
	if (g == NULL)
		return -1;
	h->tls_cert = g;
	tls_owner = h;
	return 0;
}

/*
 * Fill items with the libmicrohttpd options for the TLS listener: the
 * retrieve callback and the protocol priorities.  Returns how many were
 * written (at most max); the caller adds MHD_USE_TLS and MHD_OPTION_END.
 */
size_t
http_tls_options(struct http *h, struct MHD_OptionItem *items, size_t max)
{
	gnutls_certificate_retrieve_function2 *fn = retrieve_cert;
	void *fn_ptr;
	size_t n = 0;

	_Static_assert(sizeof(fn_ptr) == sizeof(fn), "function and data pointers differ");
	if (h->tls_cert == NULL)
		return 0;
	/* MHD passes this option through the item's data pointer. */
	memcpy(&fn_ptr, &fn, sizeof(fn_ptr));
	if (n < max) {
		items[n].option = MHD_OPTION_HTTPS_CERT_CALLBACK;
		items[n].value = 0;
		items[n].ptr_value = fn_ptr;
		n++;
	}
	if (n < max) {
		items[n].option = MHD_OPTION_HTTPS_PRIORITIES;
		items[n].value = 0;
		items[n].ptr_value = (void *)TLS_PRIORITIES;
		n++;
	}
	return n;
}

/*
 * Re-read the certificate and key files.  Returns 0 when they were
 * swapped in (or TLS is off); -1 with a reason in why when they could not
 * be used, in which case the previous certificate stays in service.
 */
int
http_tls_reload(struct http *h, char *why, size_t whylen)
{
	struct tls_gen *g, *old;

	if (h->tls_cert == NULL)
		return 0;
	g = gen_load(h->cfg, why, whylen);
	if (g == NULL)
		return -1;
	pthread_mutex_lock(&h->tls_lock);
	old = h->tls_cert;
	g->retired = old;
	h->tls_cert = g;
	pthread_mutex_unlock(&h->tls_lock);
	return 0;
}

/* Free every generation; the daemon must already be stopped. */
void
http_tls_free(struct http *h)
{
	struct tls_gen *g, *next;

	for (g = h->tls_cert; g != NULL; g = next) {
		next = g->retired;
		gen_free(g);
	}
	h->tls_cert = NULL;
	if (tls_owner == h)
		tls_owner = NULL;
	pthread_mutex_destroy(&h->tls_lock);
}
