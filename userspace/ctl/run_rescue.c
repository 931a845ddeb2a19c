// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cause.h"
#include "ctl/run_rescue.h"
#include "spawn/rescue_env.h"
#include "lib/guard.h"

static int set_env(const struct rescue_info *r)
{
	static char store[8192], fd_path[64];
	char *env[RESCUE_ENV_COUNT + 1];
	struct rescue_env re = {
		.snapshot = r->snapshot ? r->snapshot : fd_path,
		.stored = r->snapshot ? "disk" : "memory",
		.id = r->id,
		.app = r->app,
		.cause = cause_of_wstatus(r->wstatus),
		.pid = r->pid,
		.uid = r->uid,
		.signal = WIFSIGNALED(r->wstatus) ? WTERMSIG(r->wstatus) : 0,
		.exit_code = WIFEXITED(r->wstatus) ? WEXITSTATUS(r->wstatus) : -1,
	};
	int i, err;

	/* The dictionary fd of a guardian above us is not the rescue's to take. */
	unsetenv("FAULTGUARD_FD");
	/* Held in memory: fd 3, by a path that works for whatever the command starts. */
	if (!r->snapshot) {
		if (r->snap_fd != 3 ? dup2(r->snap_fd, 3) < 0 : fcntl(3, F_SETFD, 0) < 0)
			return -errno;
		snprintf(fd_path, sizeof(fd_path), "/proc/%d/fd/3", (int)getpid());
	}
	err = rescue_env_format(&re, env, store, sizeof(store));
	if (err) {
		errno = -err;
		return err;
	}
	/* In the child, just before exec: the strings live as long as needed. */
	for (i = 0; env[i]; i++)
		if (putenv(env[i]))
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
