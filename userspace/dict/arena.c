// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Two-level segregated fit: free blocks sit in lists by size class (a power
 * of two split into four), a bitmap finds the first non-empty class that is
 * big enough, and boundary tags (in private arrays) merge neighbours on free.
 * O(1) per call, bounded fragmentation, no system call after arena_init.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dict/arena.h"

#define ARENA_FREE_BIT 0x80000000u
#define NIL 0xffffffffu

static unsigned int log2u(uint32_t v)
{
	return 31u - (unsigned int)__builtin_clz(v);
}

static unsigned int class_of(uint32_t units)
{
	unsigned int lg;

	if (units < 4)
		return units;
	lg = log2u(units);
	return (lg - 1) * 4 + ((units >> (lg - 2)) & 3);
}

/* The smallest class all of whose blocks hold @units. */
static unsigned int class_for_request(uint32_t units)
{
	if (units >= 4) {
		uint64_t up = (uint64_t)units + (1u << (log2u(units) - 2)) - 1;

		if (up > 0x7fffffffu)
			return ARENA_CLASSES;
		units = (uint32_t)up;
	}
	return class_of(units);
}

static void list_insert(struct arena *a, uint32_t b, uint32_t size)
{
	unsigned int c = class_of(size);

	a->blk[b] = size | ARENA_FREE_BIT;
	a->tail[b + size - 1] = b;
	a->prev[b] = NIL;
	a->next[b] = a->head[c];
	if (a->head[c] != NIL)
		a->prev[a->head[c]] = b;
	a->head[c] = b;
	a->nonempty[c / 64] |= 1ull << (c % 64);
}

static void list_remove(struct arena *a, uint32_t b)
{
	unsigned int c = class_of(a->blk[b] & ~ARENA_FREE_BIT);

	if (a->prev[b] != NIL)
		a->next[a->prev[b]] = a->next[b];
	else
		a->head[c] = a->next[b];
	if (a->next[b] != NIL)
		a->prev[a->next[b]] = a->prev[b];
	if (a->head[c] == NIL)
		a->nonempty[c / 64] &= ~(1ull << (c % 64));
	a->blk[b] &= ~ARENA_FREE_BIT;
}

int arena_init(struct arena *a, uint32_t units)
{
	size_t bytes;
	uint32_t *meta;

	memset(a, 0, sizeof(*a));
	memset(a->head, 0xff, sizeof(a->head));
	if (units == 0 || units >= ARENA_FREE_BIT)
		return units ? -EINVAL : 0;
	/*
	 * One anonymous mapping for the four arrays: zero pages come lazily,
	 * so only the parts in use cost memory, and it is one system call.
	 */
	bytes = 4 * (size_t)units * sizeof(uint32_t);
	meta = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
		    -1, 0);
	if (meta == MAP_FAILED)
		return -ENOMEM;
	a->blk = meta;
	a->tail = meta + units;
	a->next = meta + 2 * (size_t)units;
	a->prev = meta + 3 * (size_t)units;
	a->units = units;
	a->free_units = units;
	list_insert(a, 0, units);
	return 0;
}

void arena_free_all(struct arena *a)
{
	if (a->blk)
		munmap(a->blk, 4 * (size_t)a->units * sizeof(uint32_t));
	memset(a, 0, sizeof(*a));
}

static int first_class_from(const struct arena *a, unsigned int c)
{
	while (c < ARENA_CLASSES) {
		uint64_t bits = a->nonempty[c / 64] >> (c % 64);

		if (bits)
			return (int)(c + (unsigned int)__builtin_ctzll(bits));
		c = (c / 64 + 1) * 64;
	}
	return -1;
}

int64_t arena_alloc(struct arena *a, uint32_t units)
{
	uint32_t b, size;
	int c;

	if (units == 0 || units > a->free_units)
		return -ENOSPC;
	c = first_class_from(a, class_for_request(units));
	if (c < 0) {
		/* The rounded-up class is empty; a block of the request's own class may still fit. */
		unsigned int own = class_of(units);

		for (b = a->head[own]; b != NIL; b = a->next[b])
			if ((a->blk[b] & ~ARENA_FREE_BIT) >= units)
				break;
		if (b == NIL)
			return -ENOSPC;
	} else {
		b = a->head[c];
	}
	size = a->blk[b] & ~ARENA_FREE_BIT;
	list_remove(a, b);
	if (size > units) {
		list_insert(a, b + units, size - units);
		size = units;
	}
	a->blk[b] = size;
	a->free_units -= size;
	return b;
}

void arena_release(struct arena *a, uint32_t b)
{
	uint32_t size = a->blk[b] & ~ARENA_FREE_BIT;
	uint32_t n = b + size;

	a->free_units += size;
	if (n < a->units && (a->blk[n] & ARENA_FREE_BIT)) {
		size += a->blk[n] & ~ARENA_FREE_BIT;
		list_remove(a, n);
		a->blk[n] = 0;
	}
	if (b > 0) {
		uint32_t p = a->tail[b - 1];

		if (p < b && (a->blk[p] & ARENA_FREE_BIT) &&
		    p + (a->blk[p] & ~ARENA_FREE_BIT) == b) {
			size += a->blk[p] & ~ARENA_FREE_BIT;
			list_remove(a, p);
			a->blk[b] = 0;
			b = p;
		}
	}
	list_insert(a, b, size);
}
