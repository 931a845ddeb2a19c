/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The unwinding process: a child of the collector, forked at start, that
 * unwinds and symbolizes stack records (userspace/unwind/) and sends the
 * frames back over a socket pair. Apart, so that what elfutils reads and
 * keeps (a library's DWARF is tens of MiB of it) is not the collector's
 * memory, and so that a file that crashes the ELF and DWARF readers
 * crashes the helper, not the collector. It keeps files' symbols between
 * crashes (symbolizer.h). Used by backtrace.c's worker thread alone.
 */
#ifndef FG_COLLECTOR_UNWINDER_H
#define FG_COLLECTOR_UNWINDER_H

#include <stddef.h>

#include "unwind/unwind.h"

struct unwinder;

/* Forks the helper: 0 or -errno. */
int unwinder_start(struct unwinder **out);
/*
 * Unwinds the stack record @rec (@len bytes) in the helper: 0 and *res
 * filled (free with unwinder_result_free), -ETIMEDOUT after @timeout_ms,
 * -EPIPE when the helper is gone, -EINVAL for a record it cannot read.
 * The late answer to a record that timed out is dropped before the next
 * record is sent; while the helper is still on it, -ETIMEDOUT again.
 */
int unwinder_run(struct unwinder *u, const void *rec, size_t len, int timeout_ms,
		 struct unwind_result *res);
/* Frees a result of unwinder_run (its module paths are its own). */
void unwinder_result_free(struct unwind_result *r);
void unwinder_stop(struct unwinder *u); /* accepts NULL */

#endif
