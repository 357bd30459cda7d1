/*
 * strmap: a small string -> pointer hash map (chained, FNV-1a, grows at
 * load factor 1).  Keys are copied; values are the caller's.
 *
 * Thread rules: none; callers serialise access.
 */
#ifndef SMPROXY_STRMAP_H
#define SMPROXY_STRMAP_H

#include <stddef.h>

struct strmap;

struct strmap *strmap_new(void);
/* Frees the map and its key copies, not the values. */
void	 strmap_free(struct strmap *m);
/* The value for key, or NULL. */
void	*strmap_get(const struct strmap *m, const char *key);
/* Insert or replace; returns 0, or -1 on allocation failure. */
int	 strmap_put(struct strmap *m, const char *key, void *value);
/* Remove key; returns its value or NULL. */
void	*strmap_del(struct strmap *m, const char *key);
size_t	 strmap_count(const struct strmap *m);
/* Call fn for every entry; fn returns non-zero to delete the entry. */
void	 strmap_filter(struct strmap *m, int (*fn)(const char *key, void *value, void *arg), void *arg);

#endif
