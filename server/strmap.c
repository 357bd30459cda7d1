/*
 * strmap: chained string hash map (see strmap.h).
 *
 * Thread rules: none; callers serialise access.
 */
#include "server/strmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct node {
	struct node	*next;
	uint64_t	 hash;
	void		*value;
	char		 key[];
};

struct strmap {
	struct node	**buckets;
	size_t		  nbuckets;	/* power of two */
	size_t		  count;
};

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

struct strmap *
strmap_new(void)
{
	struct strmap *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->nbuckets = 64;
	m->buckets = calloc(m->nbuckets, sizeof(*m->buckets));
	if (m->buckets == NULL) {
		free(m);
		return NULL;
	}
	return m;
}

void
strmap_free(struct strmap *m)
{
	size_t i;
	struct node *n, *next;

	if (m == NULL)
		return;
	for (i = 0; i < m->nbuckets; i++)
		for (n = m->buckets[i]; n != NULL; n = next) {
			next = n->next;
			free(n);
		}
	free(m->buckets);
	free(m);
}

static struct node **
find(const struct strmap *m, const char *key, uint64_t h)
{
	struct node **pp = &m->buckets[h & (m->nbuckets - 1)];

	for (; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

void *
strmap_get(const struct strmap *m, const char *key)
{
	struct node **pp = find(m, key, fnv1a(key));

	return *pp != NULL ? (*pp)->value : NULL;
}

static void
grow(struct strmap *m)
{
	size_t i, nb = m->nbuckets * 2;
	struct node **b = calloc(nb, sizeof(*b)), *n, *next;

	if (b == NULL)
		return;	/* keep working at a higher load factor */
	for (i = 0; i < m->nbuckets; i++)
		for (n = m->buckets[i]; n != NULL; n = next) {
			next = n->next;
			n->next = b[n->hash & (nb - 1)];
			b[n->hash & (nb - 1)] = n;
		}
	free(m->buckets);
	m->buckets = b;
	m->nbuckets = nb;
}

int
strmap_put(struct strmap *m, const char *key, void *value)
{
	uint64_t h = fnv1a(key);
	struct node **pp = find(m, key, h), *n;
	size_t len;

	if (*pp != NULL) {
		(*pp)->value = value;
		return 0;
	}
	len = strlen(key);
	n = malloc(sizeof(*n) + len + 1);
	if (n == NULL)
		return -1;
	n->hash = h;
	n->value = value;
	memcpy(n->key, key, len + 1);
	n->next = NULL;
	*pp = n;
	if (++m->count > m->nbuckets)
		grow(m);
	return 0;
}

void *
strmap_del(struct strmap *m, const char *key)
{
	struct node **pp = find(m, key, fnv1a(key)), *n = *pp;
	void *v;

	if (n == NULL)
		return NULL;
	v = n->value;
	*pp = n->next;
	free(n);
	m->count--;
	return v;
}

size_t
strmap_count(const struct strmap *m)
{
	return m->count;
}

void
strmap_filter(struct strmap *m, int (*fn)(const char *, void *, void *), void *arg)
{
	size_t i;
	struct node **pp, *n;

	for (i = 0; i < m->nbuckets; i++) {
		pp = &m->buckets[i];
		while ((n = *pp) != NULL) {
			if (fn(n->key, n->value, arg)) {
				*pp = n->next;
				free(n);
				m->count--;
			} else {
				pp = &n->next;
			}
		}
	}
}
