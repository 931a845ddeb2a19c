/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where `faultguardctl run`'s PROGRAM crashed, without root or BPF: the
 * guardian ptrace-seizes its own child (a parent may trace its child under
 * the default Yama setting) and, at the signal-delivery stop of a fatal
 * signal whose action is the default, while the process still lives,
 * takes the thread's registers (PTRACE_GETREGS), the top of its stack and
 * its code mappings (/proc/PID/mem, /proc/PID/maps), then lets the signal
 * go on. Every other stop is passed through unchanged. After the death,
 * the same unwinder as the collector's (userspace/unwind/) makes the
 * backtrace.
 *
 * Differences from the collector's capture: the
 * program cannot be traced by a debugger while it runs under the guardian;
 * a SIGKILL (no stop) gives no backtrace, as in the collector.
 */
#ifndef FG_CTL_RUN_TRACE_H
#define FG_CTL_RUN_TRACE_H

#include <sys/types.h>

#include "unwind/unwind.h"

struct run_capture;

/*
 * The program is seized before its exec, so that it never runs a moment
 * untraced (a program that crashed before a seize after its exec, on a
 * busy machine, gave no backtrace). In order:
 *
 * run_trace_seize: seizes the forked child @pid that waits to exec (0, or
 * -errno: the program then runs untraced).
 * run_trace_until_exec: passes the child's stops through until its exec
 * stop: 1 there (the program is loaded and stopped), 0 when the child
 * ended before (its wait status in *wstatus), -errno.
 * run_trace_go: lets the program run from its exec stop, traced (0); a
 * program with LeakSanitizer (ASan's default) is let go untraced
 * (-EBUSY): its leak check at exit ptrace-attaches to its own threads,
 * which a tracer forbids.
 */
int run_trace_seize(pid_t pid);
int run_trace_until_exec(pid_t pid, int *wstatus);
int run_trace_go(pid_t pid);
/*
 * Waits for traced @pid to end, like waitpid: its wait status in
 * *wstatus; what was taken at its fatal signal in *cap (NULL if nothing).
 */
int run_trace_wait(pid_t pid, int *wstatus, struct run_capture **cap);
/* The unwinder's input from @cap, valid while @cap is; its tid and exe path. */
const struct unwind_input *run_capture_input(const struct run_capture *cap, pid_t *tid,
					     const char **exe);
void run_capture_free(struct run_capture *cap); /* accepts NULL */

#endif
