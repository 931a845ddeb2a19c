/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Our own capabilities, without libcap: what the collector checks at start
 * (it needs them, not uid 0: root has them, and so has any user given them
 * as ambient capabilities), and what a program started as another user
 * must never keep.
 */
#ifndef FG_SPAWN_CAPS_H
#define FG_SPAWN_CAPS_H

#include <stddef.h>
#include <stdint.h>

#define CAPS_BIT(cap) (1ull << (cap))

/* The effective set, one bit per capability (CAPS_BIT(CAP_SETUID)); 0 if it cannot be read. */
uint64_t caps_effective(void);
/* Empties the permitted, effective, inheritable and ambient sets: 0 or -errno. */
int caps_drop_all(void);
/* "CAP_BPF, CAP_KILL" for the bits of @mask. */
void caps_names(uint64_t mask, char *buf, size_t len);

#endif
