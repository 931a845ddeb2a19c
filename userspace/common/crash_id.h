/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Crash ids: "20261125T180512.123Z-4242-9f3c2a1b" — the time of death in
 * UTC (so ids sort by time, as text), the pid that died, and 32 random
 * bits (so two deaths in one millisecond, even of one recycled pid, never
 * share an id). The collector and the standalone guardian use the same
 * format; an id is safe as a file name.
 */
#ifndef FG_CRASH_ID_H
#define FG_CRASH_ID_H

#include <stdint.h>
#include <sys/types.h>

/* Room for the longest id and its NUL. */
#define CRASH_ID_LEN 48

/* Writes the id of a death of @pid at @time_ms (ms since the epoch) into @buf. */
void crash_id_make(char buf[CRASH_ID_LEN], int64_t time_ms, pid_t pid);

/* 1 when @id has the format crash_id_make writes (nothing else: a safe file name). */
int crash_id_valid(const char *id);

#endif
