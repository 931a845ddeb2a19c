/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Starting the guarded PROGRAM of `faultguardctl run`. */
#ifndef FG_CTL_RUN_CHILD_H
#define FG_CTL_RUN_CHILD_H

#include <sys/types.h>

struct guard_signals;

/*
 * Forks and executes @argv (searched in PATH) with the dictionary @memfd
 * in $FAULTGUARD_FD and the guarded signals back at their defaults; every
 * other fd and the environment pass through untouched. Call with the
 * guardian's signals already ignored (@saved from guard_ignore_signals).
 *
 * With @trace, PROGRAM is ptrace-seized before its exec (run_trace.h);
 * *traced is 0 when it runs traced, else why not (-errno; -ECANCELED
 * without @trace, -EBUSY for a program with LeakSanitizer).
 *
 * Returns 0 with the child's pid in *pid once PROGRAM runs. When PROGRAM
 * cannot be executed, the child is already reaped, *exec_failed is 1 and
 * the return is exec's -errno; any other error (fork, pipe; -ECHILD: the
 * child was killed before its exec) leaves *exec_failed 0.
 */
int run_child_start(char *const argv[], int memfd, const struct guard_signals *saved, int trace,
		    pid_t *pid, int *exec_failed, int *traced);

#endif
