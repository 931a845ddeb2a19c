/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The writer's allocator for the value arena: a two-level segregated fit
 * (TLSF) over 64-byte units with immediate coalescing. All its bookkeeping
 * lives in the writer's private memory, so allocating never writes to the
 * shared dictionary and never makes a system call.
 */
#ifndef FG_DICT_ARENA_H
#define FG_DICT_ARENA_H

#include <stdint.h>

#define ARENA_CLASSES 128

struct arena {
	uint32_t units;
	uint32_t free_units;
	uint32_t *blk;  /* at a block's first unit: its size | ARENA_FREE_BIT; else 0 */
	uint32_t *tail; /* at a free block's last unit: its first unit */
	uint32_t *next; /* free-list links, at a free block's first unit */
	uint32_t *prev;
	uint32_t head[ARENA_CLASSES];
	uint64_t nonempty[ARENA_CLASSES / 64];
};

int arena_init(struct arena *a, uint32_t units);
void arena_free_all(struct arena *a);
/* The first unit of a block of at least @units units, or -ENOSPC. */
int64_t arena_alloc(struct arena *a, uint32_t units);
void arena_release(struct arena *a, uint32_t first);

#endif
