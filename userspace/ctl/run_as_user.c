// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl/run_as_user.h"

#define ENV_MAX 64
#define MAX_GROUPS 256

struct creds {
	gid_t groups[MAX_GROUPS];
	int ngroups;
	char home[1024], user[256], shell[256];
};

/* The user's home, name, shell and supplementary groups, from the passwd database. */
static void lookup(const struct run_as *r, struct creds *cr)
{
	struct passwd pw, *pwp = NULL;
	char buf[8192];

	strcpy(cr->home, "/");
	strcpy(cr->shell, "/bin/sh");
	cr->user[0] = '\0';
	cr->groups[0] = r->gid;
	cr->ngroups = 1;
	if (getpwuid_r(r->uid, &pw, buf, sizeof(buf), &pwp) || !pwp)
		return;
	snprintf(cr->home, sizeof(cr->home), "%s", pw.pw_dir);
	snprintf(cr->user, sizeof(cr->user), "%s", pw.pw_name);
	snprintf(cr->shell, sizeof(cr->shell), "%s", pw.pw_shell);
	cr->ngroups = MAX_GROUPS;
	if (getgrouplist(pw.pw_name, r->gid, cr->groups, &cr->ngroups) < 0) {
		cr->groups[0] = r->gid;
		cr->ngroups = 1;
	}
}

static int build_env(const struct run_as *r, const struct creds *cr, char **env, char *store,
		     size_t cap)
{
	size_t used = 0, i;
	int n = 0;
	char line[1300];

#define PUT(s)                                                                             \
	do {                                                                               \
		size_t l = strlen(s) + 1;                                                  \
		if (used + l > cap || n >= ENV_MAX - 1)                                    \
			return -E2BIG;                                                     \
		memcpy(store + used, (s), l);                                              \
		env[n++] = store + used;                                                   \
		used += l;                                                                 \
	} while (0)
	PUT("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	snprintf(line, sizeof(line), "HOME=%s", cr->home);
	PUT(line);
	if (cr->user[0]) {
		snprintf(line, sizeof(line), "USER=%s", cr->user);
		PUT(line);
		snprintf(line, sizeof(line), "LOGNAME=%s", cr->user);
		PUT(line);
	}
	snprintf(line, sizeof(line), "SHELL=%s", cr->shell);
	PUT(line);
	PUT("LANG=C.UTF-8");
	for (i = 0; r->extra_env && r->extra_env[i]; i++)
		PUT(r->extra_env[i]);
#undef PUT
	env[n] = NULL;
	return 0;
}

static void __attribute__((noreturn))
child(const struct run_as *r, const struct creds *cr, char **env, int err_fd)
{
	extern char **environ;
	int fd, err;

	setpgid(0, 0);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || dup2(fd, STDIN_FILENO) < 0)
		goto fail;
	if (geteuid() == 0) {
		if (setgroups((size_t)cr->ngroups, cr->groups) < 0 ||
		    setresgid(r->gid, r->gid, r->gid) < 0 || setresuid(r->uid, r->uid, r->uid) < 0)
			goto fail;
		/* A non-root rescue must not be able to get root back. */
		if (r->uid != 0 && setuid(0) == 0) {
			errno = EPERM;
			goto fail;
		}
	}
	if (chdir(cr->home) < 0 && chdir("/") < 0)
		goto fail;
	environ = env;
	execvp(r->argv[0], r->argv);
fail:
	err = errno;
	(void)!write(err_fd, &err, sizeof(err));
	_exit(127);
}

int run_as_user(const struct run_as *r, int *wstatus, int *timed_out)
{
	char *env[ENV_MAX], store[32768];
	struct creds cr;
	int errp[2], child_err = 0, pidfd, rc;
	siginfo_t si;
	ssize_t n;
	pid_t pid;

	*timed_out = 0;
	lookup(r, &cr);
	if (build_env(r, &cr, env, store, sizeof(store)))
		return -E2BIG;
	if (pipe2(errp, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		child(r, &cr, env, errp[1]);
	close(errp[1]);
	if (pid < 0) {
		close(errp[0]);
		return -errno;
	}
	/* Exec closes the pipe; a failure before it sends its errno. */
	do
		n = read(errp[0], &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	close(errp[0]);
	if (n == sizeof(child_err)) {
		waitpid(pid, NULL, 0);
		return -child_err;
	}
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
