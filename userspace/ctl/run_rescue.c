// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cause.h"
#include "ctl/run_rescue.h"
#include "lib/guard.h"

static int set_env(const struct rescue_info *r)
{
	char pid[16], uid[16], sig[16], code[16];
	const char *cause = cause_of_wstatus(r->wstatus);

	snprintf(pid, sizeof(pid), "%d", (int)r->pid);
	snprintf(uid, sizeof(uid), "%u", (unsigned int)r->uid);
	snprintf(sig, sizeof(sig), "%d", WIFSIGNALED(r->wstatus) ? WTERMSIG(r->wstatus) : 0);
	/* Empty when it was killed: there is no exit code. */
	if (WIFEXITED(r->wstatus))
		snprintf(code, sizeof(code), "%d", WEXITSTATUS(r->wstatus));
	else
		code[0] = '\0';
	/* The dictionary fd of a guardian above us is not the rescue's to take. */
	unsetenv("FAULTGUARD_FD");
	if (setenv("FAULTGUARD_SNAPSHOT", r->snapshot, 1) || setenv("FAULTGUARD_ID", r->id, 1) ||
	    setenv("FAULTGUARD_APP", r->app, 1) || setenv("FAULTGUARD_PID", pid, 1) ||
	    setenv("FAULTGUARD_UID", uid, 1) || setenv("FAULTGUARD_CAUSE", cause ? cause : "", 1) ||
	    setenv("FAULTGUARD_SIGNAL", sig, 1) || setenv("FAULTGUARD_EXIT_CODE", code, 1))
		return -errno;
	return 0;
}

static void __attribute__((noreturn))
child(const char *cmd, const struct rescue_info *info, const struct guard_signals *saved)
{
	int fd;

	guard_child_default_signals(saved);
	/* Not close-on-exec: with our stdin closed, this open itself becomes fd 0. */
	fd = open("/dev/null", O_RDONLY);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0) {
		perror("faultguardctl: cannot open /dev/null for the rescue command");
		_exit(127);
	}
	if (fd != STDIN_FILENO)
		close(fd);
	if (set_env(info) < 0) {
		perror("faultguardctl: cannot set the rescue command's environment");
		_exit(127);
	}
	execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
	perror("faultguardctl: cannot run /bin/sh for the rescue command");
	_exit(127);
}

int run_rescue(const char *cmd, const struct rescue_info *info, const struct guard_signals *saved,
	       int *wstatus)
{
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		child(cmd, info, saved);
	return guard_wait(pid, wstatus);
}
