/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bulk work that gives the CPU away every MiB. A thread that copies,
 * scans or hashes a big dictionary (the collector's snapshot threads, at
 * nice 10) keeps its CPU from a task that wakes up on it until the
 * scheduler's next tick (4 ms at HZ=250): a new app's registration took
 * 2-4 ms instead of 0.3 ms during a 1 GiB snapshot. Yielding every MiB
 * (about 0.1-0.3 ms of work, one system call) bounds that wait, and costs
 * nothing when no one waits. SCHED_IDLE would bound it too, but starves
 * the snapshot (and the big rescue waiting for it) on a busy host: 8.6 s
 * for 64 MiB beside two busy loops.
 */
#ifndef FG_BULK_YIELD_H
#define FG_BULK_YIELD_H

#include <sched.h>
#include <stddef.h>

#define BULK_YIELD_BYTES (1u << 20)

/* Counts @n bytes of bulk work done by this thread; yields once a MiB has been done. */
static inline void bulk_yield(size_t n)
{
	static __thread size_t done;

	done += n;
	if (done >= BULK_YIELD_BYTES) {
		done = 0;
		sched_yield();
	}
}

#endif
