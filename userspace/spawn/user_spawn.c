// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn/caps.h"
#include "spawn/user_spawn.h"

#define ENV_MAX 64
#define MAX_GROUPS 256
#define ENV_STORE 32768

struct account {
	gid_t groups[MAX_GROUPS];
	int ngroups;
	char home[1024], user[256], shell[256];
};

/* The user's home, name, shell and (if asked) groups, from the passwd and group databases. */
static void lookup(const struct user_spawn *u, struct account *a)
{
	struct passwd pw, *pwp = NULL;
	char buf[8192];

	strcpy(a->home, "/");
	strcpy(a->shell, "/bin/sh");
	a->user[0] = '\0';
	if (u->ngroups >= 0) {
		a->ngroups = u->ngroups > MAX_GROUPS ? MAX_GROUPS : u->ngroups;
		memcpy(a->groups, u->groups, (size_t)a->ngroups * sizeof(gid_t));
	} else {
		a->groups[0] = u->gid;
		a->ngroups = 1;
	}
	if (getpwuid_r(u->uid, &pw, buf, sizeof(buf), &pwp) || !pwp)
		return;
	snprintf(a->home, sizeof(a->home), "%s", pw.pw_dir);
	snprintf(a->user, sizeof(a->user), "%s", pw.pw_name);
	snprintf(a->shell, sizeof(a->shell), "%s", pw.pw_shell);
	if (u->ngroups < 0) {
		a->ngroups = MAX_GROUPS;
		if (getgrouplist(pw.pw_name, u->gid, a->groups, &a->ngroups) < 0) {
			a->groups[0] = u->gid;
			a->ngroups = 1;
		}
	}
}

struct env {
	char *v[ENV_MAX];
	int n;
	size_t used;
	char store[ENV_STORE];
};

/* Appends "@name@val" (name includes its '='). */
static int env_put(struct env *e, const char *name, const char *val)
{
	int len = snprintf(e->store + e->used, sizeof(e->store) - e->used, "%s%s", name, val);

	if (len < 0 || (size_t)len >= sizeof(e->store) - e->used || e->n >= ENV_MAX - 1)
		return -E2BIG;
	e->v[e->n++] = e->store + e->used;
	e->used += (size_t)len + 1;
	return 0;
}

static int build_env(const struct user_spawn *u, const struct account *a, struct env *e)
{
	int i, err = 0;

	e->n = 0;
	e->used = 0;
	err |= env_put(e, "PATH=", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
	err |= env_put(e, "HOME=", a->home);
	if (a->user[0]) {
		err |= env_put(e, "USER=", a->user);
		err |= env_put(e, "LOGNAME=", a->user);
	}
	err |= env_put(e, "SHELL=", a->shell);
	err |= env_put(e, "LANG=", "C.UTF-8");
	for (i = 0; u->extra_env && u->extra_env[i]; i++)
		err |= env_put(e, "", u->extra_env[i]);
	e->v[e->n] = NULL;
	return err ? -E2BIG : 0;
}

/* "NAME=/proc/PID/fd/3" for our own pid, over @e's entry NAME (in the child: no malloc). */
static void set_fd_path(struct env *e, const char *name, char *buf, size_t len)
{
	char digits[16];
	size_t n = strlen(name), at = 0, k = 0;
	long pid = (long)getpid();
	int i;

	do
		digits[k++] = (char)('0' + pid % 10);
	while ((pid /= 10) && k < sizeof(digits));
	if (n + 32 > len)
		return;
	memcpy(buf, name, n);
	at = n;
	memcpy(buf + at, "=/proc/", 7);
	at += 7;
	while (k)
		buf[at++] = digits[--k];
	memcpy(buf + at, "/fd/3", 6);
	for (i = 0; i < e->n; i++)
		if (!strncmp(e->v[i], name, n) && e->v[i][n] == '=') {
			e->v[i] = buf;
			return;
		}
	if (e->n < ENV_MAX - 1) {
		e->v[e->n++] = buf;
		e->v[e->n] = NULL;
	}
}

/* In the forked child: become the user and run the program. Never returns. */
static void __attribute__((noreturn))
child(const struct user_spawn *u, const struct account *a, struct env *e, int err_fd)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	extern char **environ;
	char fd_path[320];
	sigset_t none;
	int null_fd, oom_fd, sig, err;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	setsid();
	null_fd = open("/dev/null", O_RDONLY);
	if (null_fd < 0 || dup2(null_fd, 0) < 0)
		goto fail;
	if (u->out_fd >= 0 && (dup2(u->out_fd, 1) < 0 || dup2(u->out_fd, 2) < 0))
		goto fail;
	/* Nothing of ours may leak into the program (err_fd is CLOEXEC already). */
	syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
	if (u->pass_fd >= 0) {
		if (err_fd == USER_SPAWN_FD)
			err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, USER_SPAWN_FD + 1);
		if (u->pass_fd == USER_SPAWN_FD ? fcntl(USER_SPAWN_FD, F_SETFD, 0) < 0
						: dup2(u->pass_fd, USER_SPAWN_FD) < 0)
			goto fail;
		if (u->fd_path_var)
			set_fd_path(e, u->fd_path_var, fd_path, sizeof(fd_path));
	}
	/* The collector's OOMScoreAdjust= protects the collector: a rescue is an ordinary process. */
	oom_fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (oom_fd >= 0) {
		(void)!write(oom_fd, "0", 1);
		close(oom_fd);
	}
	/* Root, or a user given CAP_SETUID (the collector run with ambient capabilities). */
	if (geteuid() == 0 || (caps_effective() & CAPS_BIT(CAP_SETUID))) {
		if (setgroups((size_t)a->ngroups, a->groups) < 0 ||
		    setresgid(u->gid, u->gid, u->gid) < 0 || setresuid(u->uid, u->uid, u->uid) < 0)
			goto fail;
		/*
		 * Leaving uid 0 clears the capabilities; going from one other
		 * uid to another keeps them (ambient ones even across exec):
		 * none of ours may reach a non-root program.
		 */
		if (u->uid != 0 && caps_drop_all() < 0)
			goto fail;
		/* A non-root program must not be able to get root back. */
		if (u->uid != 0 && (setuid(0) == 0 || caps_effective())) {
			errno = EPERM;
			goto fail;
		}
	} else if (u->uid != geteuid()) {
		/* Without the means to become the user, never run it as someone else. */
		errno = EPERM;
		goto fail;
	}
	if (chdir(a->home) < 0 && chdir("/") < 0)
		goto fail;
	environ = e->v;
	execvp(u->argv[0], u->argv);
fail:
	err = errno;
	(void)!write(err_fd, &err, sizeof(err));
	_exit(127);
}

int user_spawn(const struct user_spawn *u, pid_t *pid)
{
	struct account a;
	int errp[2], child_err = 0, err;
	struct env *e;
	ssize_t n;

	if (!u->argv || !u->argv[0])
		return -EINVAL;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	lookup(u, &a);
	err = build_env(u, &a, e);
	if (err)
		goto out;
	if (pipe2(errp, O_CLOEXEC) < 0) {
		err = -errno;
		goto out;
	}
	fflush(NULL);
	*pid = fork();
	if (*pid == 0)
		child(u, &a, e, errp[1]);
	close(errp[1]);
	if (*pid < 0) {
		err = -errno;
		close(errp[0]);
		goto out;
	}
	/* Exec closes the pipe; a failure before it sends its errno. */
	do
		n = read(errp[0], &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);
	close(errp[0]);
	if (n == sizeof(child_err)) {
		waitpid(*pid, NULL, 0);
		err = -child_err;
	}
out:
	free(e);
	return err;
}
