/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Runs a rescue argv as a given user, the way the collector does: a clean
 * environment plus the caller's variables, stdin /dev/null, never through
 * a shell, and — when we are root — setgroups, setresgid, setresuid, in
 * that order, each checked. Output goes to our stdout and stderr.
 */
#ifndef FG_CTL_RUN_AS_USER_H
#define FG_CTL_RUN_AS_USER_H

#include <sys/types.h>

struct run_as {
	uid_t uid;
	gid_t gid;
	char *const *argv;
	char *const *extra_env; /* "NAME=value" strings, NULL-terminated */
	unsigned int timeout_s; /* then SIGKILL to its process group */
};

/*
 * Returns 0 with the wait status in *wstatus (*timed_out set when it was
 * killed at the limit), or -errno when it could not be started (exec
 * failure included).
 */
int run_as_user(const struct run_as *r, int *wstatus, int *timed_out);

#endif
