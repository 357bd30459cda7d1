/*
 * apikey: client API keys and the brute-force limiter of the token
 * endpoint.
 *
 * The configuration holds only SHA-256 digests of client keys.  A
 * presented key is hashed and compared with every configured digest in
 * constant time, so neither the position of a match nor a shared prefix
 * shows in the timing.  (Client keys are long random strings, so an
 * unsalted hash is enough; these are not passwords.)
 *
 * The throttle counts failed exchanges per peer address: after
 * max_failures failures within window_ms the peer is locked out for
 * lockout_ms.  It tracks at most max_peers addresses; when full it first
 * reuses an entry whose window and lockout are over, else the one seen
 * longest ago, so memory stays bounded however many addresses an attacker
 * uses (at the price of forgetting the oldest).  Time is injected: `now` is monotonic milliseconds.
 *
 * Thread rules: the hashing helpers from any thread.  A throttle may be
 * used from any thread (one mutex inside); apikey_throttle_new/free from
 * one thread while no other uses it.
 */
#ifndef SMPROXY_APIKEY_H
#define SMPROXY_APIKEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define APIKEY_DIGEST_BYTES	32
/* Peer names are kept up to this many bytes; longer ones are still told
 * apart by a keyed hash of the whole name. */
#define APIKEY_PEER_MAX		64

/* out = SHA-256 of the len bytes of key. */
void	 apikey_sha256(const char *key, size_t len,
	    uint8_t out[APIKEY_DIGEST_BYTES]);

/* True when the two digests are equal; constant time. */
bool	 apikey_matches(const uint8_t a[APIKEY_DIGEST_BYTES],
	    const uint8_t b[APIKEY_DIGEST_BYTES]);

/*
 * The index of the first of the n digests in hashes equal to digest, or -1.
 * Every entry is compared whatever the outcome, and the choice of index
 * does not branch on the data.  n above INT_MAX gives -1.
 */
int	 apikey_find(const uint8_t digest[APIKEY_DIGEST_BYTES],
	    const uint8_t (*hashes)[APIKEY_DIGEST_BYTES], size_t n);

struct apikey_throttle;

/*
 * A limiter (e.g. 10 failures per 60000 ms, then 60000 ms locked out,
 * 4096 peers).  Values below 1 are raised to 1.  NULL on allocation
 * failure.  Free with apikey_throttle_free.
 */
struct apikey_throttle	*apikey_throttle_new(int max_failures,
			    int64_t window_ms, int64_t lockout_ms,
			    size_t max_peers);
void	 apikey_throttle_free(struct apikey_throttle *t);

/* True when peer may try now (it is not locked out).  A NULL peer counts
 * as "". */
bool	 apikey_throttle_allowed(struct apikey_throttle *t, const char *peer,
	    int64_t now);

/* Milliseconds until peer may try again: 0 when allowed now (for a
 * Retry-After header). */
int64_t	 apikey_throttle_locked_for(struct apikey_throttle *t,
	    const char *peer, int64_t now);

/* Count a failed attempt by peer; may start its lockout. */
void	 apikey_throttle_failure(struct apikey_throttle *t, const char *peer,
	    int64_t now);

/* peer got in: forget its failures. */
void	 apikey_throttle_success(struct apikey_throttle *t, const char *peer,
	    int64_t now);

/* Peers tracked right now (for tests and metrics). */
size_t	 apikey_throttle_count(struct apikey_throttle *t);

#endif
