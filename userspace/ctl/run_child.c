// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fork + execvp with an error pipe: the pipe is close-on-exec, so the
 * guardian reads end-of-file once PROGRAM runs, or exec's errno when it
 * could not. That tells "PROGRAM cannot be executed" (exit 127, no rescue)
 * apart from a PROGRAM that itself exits 127.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl/run_child.h"
#include "lib/guard.h"

static void __attribute__((noreturn))
child(char *const argv[], int memfd, const struct guard_signals *saved, int errfd)
{
	char fdstr[16];
	int err;

	guard_child_default_signals(saved);
	/* Only in the child's fd table: the guardian's copy stays close-on-exec. */
	if (fcntl(memfd, F_SETFD, 0) < 0)
		goto fail;
	snprintf(fdstr, sizeof(fdstr), "%d", memfd);
	if (setenv("FAULTGUARD_FD", fdstr, 1) < 0)
		goto fail;
	execvp(argv[0], argv);
fail:
	err = errno;
	while (write(errfd, &err, sizeof(err)) < 0 && errno == EINTR)
		;
	_exit(127);
}

int run_child_start(char *const argv[], int memfd, const struct guard_signals *saved, pid_t *pid,
		    int *exec_failed)
{
	int pfd[2], err = 0, status;
	ssize_t n;
	pid_t p;

	*exec_failed = 0;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	p = fork();
	if (p < 0) {
		err = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	if (p == 0) {
		close(pfd[0]);
		child(argv, memfd, saved, pfd[1]);
	}
	close(pfd[1]);
	do
		n = read(pfd[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == (ssize_t)sizeof(err)) {
		guard_wait(p, &status);
		*exec_failed = 1;
		return -(err ? err : ENOEXEC);
	}
	*pid = p;
	return 0;
}
