/*
 * apikey: API-key digests and the per-peer failure limiter (see apikey.h).
 *
 * Digests are compared with crypto_verify_32 and the first match is picked
 * with masks rather than branches, so the work done is the same for a hit
 * at the first entry, at the last, or none.
 *
 * The throttle is a compact array of at most max_peers entries, found by a
 * linear scan that compares a keyed 64-bit hash (SipHash with a per-throttle
 * random key) before the name.  A scan of a few thousand entries costs a
 * few microseconds, which is nothing next to a token exchange.  XXX: a hash
 * index would be needed for max_peers in the hundreds of thousands.
 * A failure inside a lockout does not extend it; the caller is expected to
 * refuse locked peers before checking their key at all.
 *
 * Thread rules: see apikey.h; every throttle operation holds t->lock for
 * its whole duration and calls nothing that could block.
 */
#include "server/apikey.h"

#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct peer {
	uint64_t	 hash;		/* keyed hash of the whole name */
	char		 name[APIKEY_PEER_MAX];	/* possibly truncated */
	int		 failures;	/* in the current window */
	int64_t		 window_start;
	int64_t		 locked_until;	/* locked while now < this */
	int64_t		 last_seen;
};

struct apikey_throttle {
	pthread_mutex_t	 lock;
	int		 max_failures;
	int64_t		 window_ms;
	int64_t		 lockout_ms;
	size_t		 max_peers;
	size_t		 count;
	struct peer	*peers;		/* max_peers slots, count in use */
	uint8_t		 hash_key[crypto_shorthash_KEYBYTES];
};

void
apikey_sha256(const char *key, size_t len, uint8_t out[APIKEY_DIGEST_BYTES])
{
	crypto_hash_sha256(out, (const unsigned char *)(key ? key : ""),
	    key ? len : 0);
}

bool
apikey_matches(const uint8_t a[APIKEY_DIGEST_BYTES],
    const uint8_t b[APIKEY_DIGEST_BYTES])
{
	return sodium_memcmp(a, b, APIKEY_DIGEST_BYTES) == 0;
}

int
apikey_find(const uint8_t digest[APIKEY_DIGEST_BYTES],
    const uint8_t (*hashes)[APIKEY_DIGEST_BYTES], size_t n)
{
	unsigned int	 found = 0, index = 0, hit, take;
	size_t		 i;

	if (digest == NULL || hashes == NULL || n > INT_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		/* crypto_verify_32 gives 0 or -1: hit is all ones on a match. */
		hit = 0u - (unsigned int)(crypto_verify_32(digest, hashes[i]) +
		    1);
		take = hit & ~found;
		index = (index & ~take) | ((unsigned int)i & take);
		found |= hit;
	}
	return found != 0 ? (int)index : -1;
}

struct apikey_throttle *
apikey_throttle_new(int max_failures, int64_t window_ms, int64_t lockout_ms,
    size_t max_peers)
{
	struct apikey_throttle	*t;

	if (sodium_init() < 0 || (t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	t->max_failures = max_failures < 1 ? 1 : max_failures;
	t->window_ms = window_ms < 1 ? 1 : window_ms;
	t->lockout_ms = lockout_ms < 1 ? 1 : lockout_ms;
	t->max_peers = max_peers < 1 ? 1 : max_peers;
	if ((t->peers = calloc(t->max_peers, sizeof(*t->peers))) == NULL ||
	    pthread_mutex_init(&t->lock, NULL) != 0) {
		free(t->peers);
		free(t);
		return NULL;
	}
	crypto_shorthash_keygen(t->hash_key);
	return t;
}

void
apikey_throttle_free(struct apikey_throttle *t)
{
	if (t == NULL)
		return;
	pthread_mutex_destroy(&t->lock);
	free(t->peers);
	free(t);
}

static uint64_t
peer_hash(const struct apikey_throttle *t, const char *peer)
{
	uint8_t		 h[crypto_shorthash_BYTES];
	uint64_t	 v;

	crypto_shorthash(h, (const unsigned char *)peer, strlen(peer),
	    t->hash_key);
	memcpy(&v, h, sizeof(v));
	return v;
}

/* The entry for peer (hash h), or NULL. */
static struct peer *
lookup(struct apikey_throttle *t, const char *peer, uint64_t h)
{
	size_t	 i;

	for (i = 0; i < t->count; i++)
		if (t->peers[i].hash == h &&
		    strncmp(t->peers[i].name, peer, APIKEY_PEER_MAX - 1) == 0)
			return &t->peers[i];
	return NULL;
}

static void
drop(struct apikey_throttle *t, struct peer *e)
{
	struct peer *last = &t->peers[t->count - 1];

	if (e != last)
		*e = *last;
	memset(last, 0, sizeof(*last));
	t->count--;
}

static bool
stale(const struct apikey_throttle *t, const struct peer *e, int64_t now)
{
	return now >= e->locked_until && now - e->window_start >= t->window_ms;
}

/* A fresh entry for peer, reusing a stale or the oldest one when full. */
static struct peer *
insert(struct apikey_throttle *t, const char *peer, uint64_t h, int64_t now)
{
	struct peer	*e;
	size_t		 i, victim = 0;

	if (t->count < t->max_peers)
		victim = t->count++;
	else {
		for (i = 0; i < t->count; i++) {
			if (stale(t, &t->peers[i], now)) {
				victim = i;
				break;
			}
			if (t->peers[i].last_seen < t->peers[victim].last_seen)
				victim = i;
		}
	}
	e = &t->peers[victim];
	memset(e, 0, sizeof(*e));
	e->hash = h;
	memcpy(e->name, peer, strnlen(peer, sizeof(e->name) - 1));
	e->window_start = now;
	e->locked_until = INT64_MIN;
	e->last_seen = now;
	return e;
}

int64_t
apikey_throttle_locked_for(struct apikey_throttle *t, const char *peer,
    int64_t now)
{
	struct peer	*e;
	int64_t		 wait = 0;
	uint64_t	 h;

	if (t == NULL)
		return 0;
	if (peer == NULL)
		peer = "";
	h = peer_hash(t, peer);
	pthread_mutex_lock(&t->lock);
	if ((e = lookup(t, peer, h)) != NULL && now < e->locked_until)
		wait = e->locked_until - now;
	pthread_mutex_unlock(&t->lock);
	return wait;
}

bool
apikey_throttle_allowed(struct apikey_throttle *t, const char *peer,
    int64_t now)
{
	return apikey_throttle_locked_for(t, peer, now) == 0;
}

void
apikey_throttle_failure(struct apikey_throttle *t, const char *peer,
    int64_t now)
{
	struct peer	*e;
	uint64_t	 h;

	if (t == NULL)
		return;
	if (peer == NULL)
		peer = "";
	h = peer_hash(t, peer);
	pthread_mutex_lock(&t->lock);
	if ((e = lookup(t, peer, h)) == NULL)
		e = insert(t, peer, h, now);
	e->last_seen = now;
	if (now < e->locked_until)
		goto done;
	if (e->failures == 0 || now - e->window_start >= t->window_ms) {
		e->failures = 0;
		e->window_start = now;
	}
	if (++e->failures >= t->max_failures) {
		e->locked_until = now + t->lockout_ms;
		e->failures = 0;
	}
done:
	pthread_mutex_unlock(&t->lock);
}

void
apikey_throttle_success(struct apikey_throttle *t, const char *peer,
    int64_t now)
{
	struct peer	*e;
	uint64_t	 h;

	(void)now;
	if (t == NULL)
		return;
	if (peer == NULL)
		peer = "";
	h = peer_hash(t, peer);
	pthread_mutex_lock(&t->lock);
	if ((e = lookup(t, peer, h)) != NULL)
		drop(t, e);
	pthread_mutex_unlock(&t->lock);
}

size_t
apikey_throttle_count(struct apikey_throttle *t)
{
	size_t	 n;

	if (t == NULL)
		return 0;
	pthread_mutex_lock(&t->lock);
	n = t->count;
	pthread_mutex_unlock(&t->lock);
	return n;
}
