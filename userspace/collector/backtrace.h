/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Backtraces of crashes (SPEC §8.3), made off the death-to-rescue path.
 *
 * The BPF program sends a stack record when a watched thread takes a fatal
 * signal (monitor.c delivers it before the exit record); it waits here for
 * its exit. When ending.c declares the crash, it hands the crash record to
 * backtrace_crash() instead of writing it: a worker thread has the
 * unwinding process (unwinder.h) unwind and symbolize it, and the loop
 * writes it, with tid, exe, build_id, ip, backtrace and signature, when the
 * worker is done — while the snapshot is written and the rescue starts.
 * The snapshot and rescue records of that crash, handed to backtrace_emit(),
 * wait behind it, so a crash's records still come out crash, snapshot,
 * rescue. A worker that takes longer than BACKTRACE_WAIT_MS loses the race:
 * the crash record goes out without a backtrace (and the held ones after
 * it), with the reason on stderr.
 *
 * The integration is these calls alone: main.c (init, flush, free, tick,
 * deadline), ending.c (crash record), ending.c and rescue.c (the records
 * held behind it), monitor.c's stack handler.
 */
#ifndef FG_COLLECTOR_BACKTRACE_H
#define FG_COLLECTOR_BACKTRACE_H

#include <json-c/json.h>
#include <linux/types.h>
#include <stdint.h>

#include "faultguard_event.h"

#define BACKTRACE_WAIT_MS 2000

struct collector;

/* Starts the worker and registers the stack handler with c->mon; after monitor_open. */
int backtrace_init(struct collector *c);
/* Writes every crash record still waiting (within the bound) and what is held behind them. */
void backtrace_flush(struct collector *c);
void backtrace_free(struct collector *c); /* flushes; accepts an uninitialised collector */

/*
 * Crash record @rec (built by record_crash) of the death @e is about,
 * crash @id: written now when there is no stack to unwind (an exit, a
 * SIGKILL), else once the worker is done. Takes @rec.
 */
void backtrace_crash(struct collector *c, const struct fg_event *e, const char *id,
		     json_object *rec);
/* Writes @rec (a record of crash @id), or holds it until that crash's record is out. Takes @rec. */
void backtrace_emit(struct collector *c, const char *id, json_object *rec);

void backtrace_tick(struct collector *c);
/* The earliest bound that runs out (mono ms), INT64_MAX for none. */
int64_t backtrace_next_deadline(const struct collector *c);

#endif
