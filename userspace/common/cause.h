/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Why a process died, in the words of SPEC §5 ("segfault", "killed",
 * "exit_error", ...), and signal names ("SIGSEGV"). The collector and the
 * standalone guardian name deaths the same way.
 */
#ifndef FG_CAUSE_H
#define FG_CAUSE_H

/*
 * The cause of a death by signal @sig (0 when the process exited), or by
 * exit(@exit_code) when @sig is 0. @oom is non-zero when the OOM killer
 * chose the process (only the collector can know). Returns NULL for an
 * exit(0), which is no crash.
 */
const char *cause_name(int sig, int exit_code, int oom);

/* The same from a wait status; NULL when the process exited with 0. */
const char *cause_of_wstatus(int wstatus);

/*
 * "SIGSEGV", "SIGRTMIN+3" (real-time signals as glibc numbers them), or
 * NULL when @sig is not a signal number.
 */
const char *signal_name(int sig);

#endif
