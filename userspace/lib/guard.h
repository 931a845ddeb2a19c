/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Pieces of the standalone guardian shared by fg_guard and `faultguardctl run`. */
#ifndef FG_GUARD_H
#define FG_GUARD_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>

struct fg_snapshot;

#define GUARD_NSIGNALS 4

struct guard_signals {
	struct sigaction old[GUARD_NSIGNALS];
};

/* The guardian ignores SIGINT/SIGTERM/SIGHUP/SIGQUIT while its child runs. */
void guard_ignore_signals(struct guard_signals *saved);
void guard_restore_signals(const struct guard_signals *saved);
/* In the child: the default handlers back, so a Ctrl-C ends the app. */
void guard_child_default_signals(void);
int guard_wait(pid_t pid, int *wstatus);
/* Whether @wstatus calls for a rescue (FG_RESCUE_SIGNAL_ONLY in @flags). */
int guard_is_crash(int wstatus, unsigned int flags);
/* Reads the dead child's dictionary; NULL with errno ENODATA if it closed in order. */
struct fg_snapshot *guard_read(int memfd, const char *app, pid_t pid, size_t *discarded);

#endif
