/*
 * fake_srv: the state one fake_sm process shares between its connection
 * threads.  There is one lock; it guards the store, the issued-token set
 * (fake_iam) and the control/accounting state (fake_ctl).  Handlers that
 * may run long (RSA signing, injected latency) do that work unlocked.
 *
 * Thread rules: the struct is built by main before the HTTP daemon starts
 * and freed after it stops; in between only the fields behind `lock` change.
 */
#ifndef FAKE_SRV_H
#define FAKE_SRV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct fstore;
struct fiam;
struct fctl;

struct fsrv {
	pthread_mutex_t		 lock;
	struct fstore		*store;		/* behind lock */
	struct fiam		*iam;		/* token set behind lock */
	struct fctl		*ctl;		/* behind lock */
	unsigned		 port;		/* the bound port, set before serving */
	atomic_bool		 stopping;	/* set once on SIGTERM/SIGINT */
};

#endif
