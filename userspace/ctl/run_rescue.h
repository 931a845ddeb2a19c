/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The rescue command of `faultguardctl run`. */
#ifndef FG_CTL_RUN_RESCUE_H
#define FG_CTL_RUN_RESCUE_H

#include <sys/types.h>

struct guard_signals;

/* Who died, how, and where its snapshot is: the rescue environment of SPEC §4. */
struct rescue_info {
	const char *snapshot; /* absolute path, or NULL: */
	int snap_fd;          /* the snapshot held in a memfd, given to the command as fd 3 */
	const char *id;
	const char *app;
	pid_t pid;
	uid_t uid;
	int wstatus;
};

/*
 * Runs @cmd through /bin/sh -c with our environment plus the FAULTGUARD_*
 * variables, stdin /dev/null, stdout and stderr ours, the guarded signals
 * at their defaults (@saved from guard_ignore_signals), and waits for it.
 * Returns 0 with its wait status in *wstatus, or -errno when it could not
 * be started.
 */
int run_rescue(const char *cmd, const struct rescue_info *info, const struct guard_signals *saved,
	       int *wstatus);

#endif
