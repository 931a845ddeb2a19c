// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fork + execvp with an error pipe: the pipe is close-on-exec, so the
 * guardian reads end-of-file once PROGRAM runs, or exec's errno when it
 * could not. That tells "PROGRAM cannot be executed" (exit 127, no rescue)
 * apart from a PROGRAM that itself exits 127. The child waits for a
 * second pipe to close before its exec: by then the guardian has seized
 * it (run_trace.h), so the program is traced from its first instruction.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl/run_child.h"
#include "ctl/run_trace.h"
#include "lib/guard.h"

static void __attribute__((noreturn))
child(char *const argv[], int memfd, const struct guard_signals *saved, int errfd, int gofd)
{
	char fdstr[16], go;
	int err;

	guard_child_default_signals(saved);
	/* Only in the child's fd table: the guardian's copy stays close-on-exec. */
	if (fcntl(memfd, F_SETFD, 0) < 0)
		goto fail;
	snprintf(fdstr, sizeof(fdstr), "%d", memfd);
	if (setenv("FAULTGUARD_FD", fdstr, 1) < 0)
		goto fail;
	/* Until the guardian has seized us (or decided not to). */
	while (read(gofd, &go, 1) < 0 && errno == EINTR)
		;
	close(gofd);
	execvp(argv[0], argv);
fail:
	err = errno;
	while (write(errfd, &err, sizeof(err)) < 0 && errno == EINTR)
		;
	_exit(127);
}

int run_child_start(char *const argv[], int memfd, const struct guard_signals *saved, int trace,
		    pid_t *pid, int *exec_failed, int *traced)
{
	int pfd[2], gfd[2], err = 0, status = 0, at_exec = 0;
	ssize_t n;
	pid_t p;

	*exec_failed = 0;
	*traced = -ECANCELED;
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(gfd, O_CLOEXEC) < 0) {
		err = -errno;
		close(pfd[0]);
		close(pfd[1]);
		return err;
	}
	fflush(NULL);
	p = fork();
	if (p < 0) {
		err = -errno;
		close(pfd[0]);
		close(pfd[1]);
		close(gfd[0]);
		close(gfd[1]);
		return err;
	}
	if (p == 0) {
		close(pfd[0]);
		close(gfd[1]);
		child(argv, memfd, saved, pfd[1], gfd[0]);
	}
	close(pfd[1]);
	close(gfd[0]);
	if (trace)
		*traced = run_trace_seize(p);
	close(gfd[1]); /* go */
	/* Traced, its stops are ours to pass on while we wait for the exec. */
	if (!*traced)
		at_exec = run_trace_until_exec(p, &status);
	do
		n = read(pfd[0], &err, sizeof(err));
	while (n < 0 && errno == EINTR);
	close(pfd[0]);
	if (n == (ssize_t)sizeof(err)) {
		if (*traced || at_exec)
			guard_wait(p, &status);
		*exec_failed = 1;
		return -(err ? err : ENOEXEC);
	}
	if (!*traced && at_exec != 1) {
		/* Killed between the fork and the exec: it never ran. */
		if (at_exec < 0)
			guard_wait(p, &status);
		return at_exec < 0 ? at_exec : -ECHILD;
	}
	if (!*traced)
		*traced = run_trace_go(p);
	*pid = p;
	return 0;
}
