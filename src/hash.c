/*
 * hash.c: a chained hash table with intrusive nodes, so jobs are found by
 * name and tasks by pid in O(1) whatever their number. The caller embeds
 * a struct hnode and compares keys while walking hash_first/hash_next.
 */
#include "config.h"

#include <stdlib.h>

#include "jobd.h"

/* FNV-1a, then a final mix so the low bits used as index are good. */
uint64_t
hash_str(const char *s)
{
	uint64_t	 h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return hash_int(h);
}

/* splitmix64's finaliser. */
uint64_t
hash_int(uint64_t x)
{
	x ^= x >> 30;
	x *= 0xbf58476d1ce4e5b9ULL;
	x ^= x >> 27;
	x *= 0x94d049bb133111ebULL;
	x ^= x >> 31;
	return x;
}

static int
hash_grow(struct htab *t)
{
	struct hnode	**nb, *n, *next;
	size_t		  size, i;

	size = t->nb ? t->nb * 2 : 16;
	if ((nb = calloc(size, sizeof(*nb))) == NULL)
		return -1;
	for (i = 0; i < t->nb; i++) {
		for (n = t->b[i]; n != NULL; n = next) {
			next = n->next;
			n->next = nb[n->hash & (size - 1)];
			nb[n->hash & (size - 1)] = n;
		}
	}
	free(t->b);
	t->b = nb;
	t->nb = size;
	return 0;
}

int
hash_insert(struct htab *t, struct hnode *n, uint64_t hash)
{
	size_t	 i;

	if (t->n >= t->nb && hash_grow(t) == -1)
		return -1;
	i = hash & (t->nb - 1);
	n->hash = hash;
	n->next = t->b[i];
	t->b[i] = n;
	t->n++;
	return 0;
}

void
hash_remove(struct htab *t, struct hnode *n)
{
	struct hnode	**pp;

	if (t->nb == 0)
		return;
	for (pp = &t->b[n->hash & (t->nb - 1)]; *pp != NULL;
	    pp = &(*pp)->next) {
		if (*pp == n) {
			*pp = n->next;
			n->next = NULL;
			t->n--;
			return;
		}
	}
}

struct hnode *
hash_first(struct htab *t, uint64_t hash)
{
	struct hnode	*n;

	if (t->nb == 0)
		return NULL;
	for (n = t->b[hash & (t->nb - 1)]; n != NULL; n = n->next)
		if (n->hash == hash)
			return n;
	return NULL;
}

struct hnode *
hash_next(struct hnode *n)
{
	uint64_t	 hash = n->hash;

	for (n = n->next; n != NULL; n = n->next)
		if (n->hash == hash)
			return n;
	return NULL;
}
