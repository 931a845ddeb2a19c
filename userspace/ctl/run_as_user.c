// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/run_as_user.h"
#include "spawn/user_spawn.h"

int run_as_user(const struct run_as *r, int *wstatus, int *timed_out)
{
	struct user_spawn u = {
		.uid = r->uid,
		.gid = r->gid,
		.ngroups = -1, /* the user's groups from the group database */
		.argv = r->argv,
		.extra_env = r->extra_env,
		.out_fd = -1,  /* the command talks to our stdout and stderr */
		.pass_fd = -1,
	};
	int pidfd, rc, err;
	siginfo_t si;
	pid_t pid;

	*timed_out = 0;
	err = user_spawn(&u, &pid);
	if (err)
		return err;
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd >= 0) {
		struct pollfd p = { .fd = pidfd, .events = POLLIN };

		do
			rc = poll(&p, 1, r->timeout_s ? (int)r->timeout_s * 1000 : -1);
		while (rc < 0 && errno == EINTR);
		close(pidfd);
		if (rc == 0) {
			*timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
		}
	}
	memset(&si, 0, sizeof(si));
	while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0)
		if (errno != EINTR)
			return -errno;
	*wstatus = si.si_code == CLD_EXITED ? (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
	return 0;
}
