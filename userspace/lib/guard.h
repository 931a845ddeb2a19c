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
	struct sigaction chld; /* the caller's SIGCHLD disposition */
};

/*
 * The guardian ignores SIGINT/SIGTERM/SIGHUP/SIGQUIT while its child runs,
 * and makes sure SIGCHLD is not ignored (an ignored SIGCHLD reaps the child
 * before the guardian can learn how it died). Call before fork().
 */
void guard_ignore_signals(struct guard_signals *saved);
void guard_restore_signals(const struct guard_signals *saved);
/*
 * In the child: the default handlers back, so a Ctrl-C ends the app, and
 * the caller's own SIGCHLD disposition.
 */
void guard_child_default_signals(const struct guard_signals *saved);
int guard_wait(pid_t pid, int *wstatus);
/* Whether @wstatus calls for a rescue (FG_RESCUE_SIGNAL_ONLY in @flags). */
int guard_is_crash(int wstatus, unsigned int flags);
/*
 * Reads the dead child's dictionary and records @app, @pid, the caller's
 * uid and @time_ms (0: now) as who died when. NULL with errno ENODATA if
 * the child ended in order (fg_close).
 */
struct fg_snapshot *guard_read(int memfd, const char *app, pid_t pid, long long time_ms,
			       size_t *discarded);

#endif
