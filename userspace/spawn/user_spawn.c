// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pthread.h>
#include <pwd.h>
#include <sched.h>
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
#define CHILD_STACK (64 * 1024) /* the child's, until its exec */

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

/* The first "PATH=" of @env, as getenv would find it; NULL if none. */
static const char *env_path(char *const *env)
{
	for (; *env; env++)
		if (!strncmp(*env, "PATH=", 5))
			return *env + 5;
	return NULL;
}

/*
 * execvp's search, but in @env's PATH rather than ours (the child may not
 * set environ: it is the parent's memory), and never a shell for a file
 * without a #! line. Returns only on failure, with errno set.
 */
static void exec_in_path(const char *file, char *const *argv, char *const *env)
{
	const char *path = env_path(env), *p, *colon;
	size_t flen = strlen(file);
	char buf[4096];
	int eacces = 0;

	if (strchr(file, '/') || !path) {
		execve(file, argv, env);
		return;
	}
	for (p = path;; p = colon + 1) {
		size_t dlen;

		colon = strchr(p, ':');
		dlen = colon ? (size_t)(colon - p) : strlen(p);
		if (dlen + 1 + flen < sizeof(buf)) {
			memcpy(buf, dlen ? p : ".", dlen ? dlen : 1);
			dlen = dlen ? dlen : 1;
			buf[dlen] = '/';
			memcpy(buf + dlen + 1, file, flen + 1);
			execve(buf, argv, env);
			if (errno == EACCES)
				eacces = 1;
			else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE &&
				 errno != ENODEV && errno != ETIMEDOUT)
				return;
		}
		if (!colon)
			break;
	}
	errno = eacces ? EACCES : ENOENT;
}

struct child_args {
	const struct user_spawn *u;
	const struct account *a;
	struct env *e;
	volatile int err; /* the child's errno when it could not exec; 0 once it did */
};

/*
 * The child, in the parent's memory (CLONE_VM | CLONE_VFORK: the parent
 * waits until the exec), so it writes nothing of the parent's but @arg's
 * err and @e. Credentials change by system call, not by glibc's wrappers:
 * those would make every thread of the parent change its ids too (nptl's
 * set*id broadcast), the threads being the child's as far as glibc knows.
 */
static int child(void *arg)
{
	struct child_args *c = arg;
	const struct user_spawn *u = c->u;
	const struct account *a = c->a;
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	char fd_path[320];
	sigset_t none;
	int null_fd, oom_fd, sig;

	/* Handlers first, then the mask: none of the parent's handlers may run here. */
	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	null_fd = open("/dev/null", O_RDONLY);
	if (null_fd < 0 || dup2(null_fd, 0) < 0)
		goto fail;
	if (u->out_fd >= 0 && (dup2(u->out_fd, 1) < 0 || dup2(u->out_fd, 2) < 0))
		goto fail;
	/* Nothing of ours may leak into the program. */
	syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
	if (u->pass_fd >= 0) {
		if (u->pass_fd == USER_SPAWN_FD ? fcntl(USER_SPAWN_FD, F_SETFD, 0) < 0
						: dup2(u->pass_fd, USER_SPAWN_FD) < 0)
			goto fail;
		if (u->fd_path_var)
			set_fd_path(c->e, u->fd_path_var, fd_path, sizeof(fd_path));
	}
	/* The collector's OOMScoreAdjust= protects the collector: a rescue is an ordinary process. */
	oom_fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
	if (oom_fd >= 0) {
		(void)!write(oom_fd, "0", 1);
		close(oom_fd);
	}
	/* Root, or a user given CAP_SETUID (the collector run with ambient capabilities). */
	if (geteuid() == 0 || (caps_effective() & CAPS_BIT(CAP_SETUID))) {
		if (syscall(SYS_setgroups, a->ngroups, a->groups) < 0 ||
		    syscall(SYS_setresgid, u->gid, u->gid, u->gid) < 0 ||
		    syscall(SYS_setresuid, u->uid, u->uid, u->uid) < 0)
			goto fail;
		/*
		 * Leaving uid 0 clears the capabilities; going from one other
		 * uid to another keeps them (ambient ones even across exec):
		 * none of ours may reach a non-root program.
		 */
		if (u->uid != 0 && caps_drop_all() < 0)
			goto fail;
		/* A non-root program must not be able to get root back. */
		if (u->uid != 0 && (syscall(SYS_setuid, 0) == 0 || caps_effective())) {
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
	exec_in_path(u->argv[0], u->argv, c->e->v);
fail:
	c->err = errno ? errno : EINVAL;
	/* Returning ends the child (glibc's clone calls exit with this). */
	return 127;
}

int user_spawn(const struct user_spawn *u, pid_t *pid)
{
	/*
	 * The child's stack, in our frame: we are stopped while it runs, and
	 * its memory is ordinary stack to the sanitizers once we return.
	 */
	_Alignas(64) char stack[CHILD_STACK];
	struct child_args c = { .u = u };
	struct account a;
	sigset_t all, old;
	struct env *e;
	int err;

	if (!u->argv || !u->argv[0])
		return -EINVAL;
	e = malloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	lookup(u, &a);
	err = build_env(u, &a, e);
	if (err)
		goto out;
	c.a = &a;
	c.e = e;
	/*
	 * Not fork(): copying the collector's page tables (its BPF ring
	 * buffers, its heap) took longer than the rest of a rescue's start,
	 * and the exec then had to tear the copy down again. The child
	 * shares our memory until its exec; we wait for that (CLONE_VFORK).
	 * Signals stay blocked across the clone so no handler of ours runs
	 * in it before it resets them.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	*pid = clone(child, stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	err = *pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!err && c.err) {
		/* It could not exec (a failed privilege drop, no such program): it is gone. */
		waitpid(*pid, NULL, 0);
		err = -c.err;
	}
out:
	free(e);
	return err;
}
