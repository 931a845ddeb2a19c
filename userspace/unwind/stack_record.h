/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading a stack record (struct fg_stack_event, bpf/faultguard_event.h)
 * into what the unwinder takes. The record comes from the kernel, but its
 * stack bytes, registers and file names are the dying process's: every
 * count is bounded, every name checked (no '/', no "." or "..", NUL within
 * its slot) before a path is made of it.
 */
#ifndef FG_UNWIND_STACK_RECORD_H
#define FG_UNWIND_STACK_RECORD_H

#include <linux/types.h>
#include <stddef.h>
#include <stdint.h>

#include "faultguard_event.h"
#include "unwind/unwind.h"

#define STACK_RECORD_PATH_MAX (FG_PATH_BYTES + 2)

struct stack_record {
	uint64_t start_boottime;
	uint64_t ktime_ns;
	uint32_t tgid, tid, signal, flags;
	struct unwind_input in;      /* points into this struct and the record */
	struct unwind_map maps[FG_MAX_MAPS];
	char paths[FG_MAX_FILES][STACK_RECORD_PATH_MAX]; /* "" when unknown */
	int exe;                     /* index into paths, -1 unknown */
};

/*
 * Parses @len bytes at @data into @out; @out->in.stack points into @data,
 * which must outlive it. -EINVAL for a record too short or whose counts
 * are out of range. A name that fails the checks leaves its path "".
 */
int stack_record_parse(const void *data, size_t len, struct stack_record *out);

/* A sentence for the stderr log about what the record's flags say is missing, or NULL. */
const char *stack_record_gaps(const struct stack_record *r);

#endif
