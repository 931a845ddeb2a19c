/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Names, files and lines for addresses in a file, with the file's symbol
 * table and DWARF kept between crashes. Reading a large library's line
 * tables is the slow part of a backtrace (libc's, from libc6-dbg: ~65 ms
 * here); a collector sees the same few files crash again and again, so it
 * pays that once per file. Each file gets its own libdwfl session with the
 * file at address 0, and is asked by the address in the file's own terms
 * (module offset), so it serves every process that maps it, wherever.
 * Keyed by device, inode, size and modification time: a file replaced in
 * place is a new one. A kept file holds its descriptors (and its debug
 * file's): symbolizer_expire lets go of those not used for a while, so a
 * deleted or upgraded file is not held open for long. Not thread-safe: one
 * owner (the collector's worker).
 */
#ifndef FG_UNWIND_SYMBOLIZER_H
#define FG_UNWIND_SYMBOLIZER_H

#include <stddef.h>
#include <stdint.h>

#include "unwind/unwind.h"

struct symbolizer;

/* At most @max_files files kept (the least recently used one goes). */
struct symbolizer *symbolizer_new(size_t max_files);
void symbolizer_free(struct symbolizer *s); /* accepts NULL */
/* Drops the files not used in the last @idle_ms (CLOCK_MONOTONIC); returns how many are kept. */
size_t symbolizer_expire(struct symbolizer *s, int64_t idle_ms);

/*
 * Fills @f's function, function_offset, file and line for the address at
 * @module_offset (its lookup at @look_offset: a return address is looked
 * up at the call) in the file open at @fd (taken). 0, or -errno when the
 * file cannot be read as ELF.
 */
int symbolizer_lookup(struct symbolizer *s, int fd, const char *path, uint64_t module_offset,
		      uint64_t look_offset, struct unwind_frame *f);

#endif
