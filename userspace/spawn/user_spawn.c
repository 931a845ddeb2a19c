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
#include <sanitizer/asan_interface.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "spawn/caps.h"
#include "spawn/user_spawn.h"

#define ENV_MAX 64
#define MAX_GROUPS 256
#define ENV_STORE 32768
#define CHILD_STACK (64 * 1024) /* the host child's, until its exec */

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
	/* A container's user is in its own /etc/passwd, read by the child (container_account). */
	if (u->ns || getpwuid_r(u->uid, &pw, buf, sizeof(buf), &pwp) || !pwp)
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

enum step {
	STEP_START, STEP_UTS, STEP_IPC, STEP_NET, STEP_MNT, STEP_ROOT, STEP_PIDNS, STEP_USER,
	STEP_EXEC,
	STEP_FORKED, /* not a failure: err is the pid of the program's process (own_pidns) */
};

struct child_err {
	int err;
	int step;
};

/* Points @e's entry @name ("HOME=") at @val, copied into @buf at *@at. */
static void env_replace(struct env *e, const char *name, const char *val, size_t vlen, char *buf,
			size_t len, size_t *at)
{
	size_t n = strlen(name);
	char *p = buf + *at;
	int i;

	if (*at + n + vlen + 1 > len)
		return;
	memcpy(p, name, n);
	memcpy(p + n, val, vlen);
	p[n + vlen] = '\0';
	*at += n + vlen + 1;
	for (i = 0; i < e->n; i++)
		if (!strncmp(e->v[i], name, n)) {
			e->v[i] = p;
			return;
		}
	if (e->n < ENV_MAX - 1) {
		e->v[e->n++] = p;
		e->v[e->n] = NULL;
	}
}

/*
 * In a container, as the user already: its name, home and shell from the
 * container's /etc/passwd, parsed by hand (NSS could load the container's
 * code). Returns the home ("/" when not found), kept in @buf.
 */
static const char *container_account(struct env *e, uid_t uid, char *buf, size_t len)
{
	static char file[65536];
	const char *home = "/";
	size_t at = 0;
	ssize_t n = 0, got;
	char *line, *next;
	int fd = open("/etc/passwd", O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0)
		return home;
	while ((size_t)n < sizeof(file) - 1 &&
	       (got = read(fd, file + n, sizeof(file) - 1 - (size_t)n)) > 0)
		n += got;
	close(fd);
	file[n] = '\0';
	for (line = file; line && *line; line = next) {
		char *f[7];
		int k = 0;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		f[k++] = line;
		while (k < 7 && (f[k] = strchr(f[k - 1], ':')))
			*f[k++]++ = '\0';
		if (k < 7 || strtoul(f[2], NULL, 10) != uid || !*f[2])
			continue;
		env_replace(e, "USER=", f[0], strlen(f[0]), buf, len, &at);
		env_replace(e, "LOGNAME=", f[0], strlen(f[0]), buf, len, &at);
		if (f[6][0] == '/')
			env_replace(e, "SHELL=", f[6], strlen(f[6]), buf, len, &at);
		if (f[5][0] == '/') {
			env_replace(e, "HOME=", f[5], strlen(f[5]), buf, len, &at);
			home = f[5];
		}
		break;
	}
	return home;
}

/* A copy of fd @fd above USER_SPAWN_FD if it is that one (it is about to be replaced). */
static int off_fd3(int fd)
{
	return fd == USER_SPAWN_FD ? fcntl(fd, F_DUPFD_CLOEXEC, USER_SPAWN_FD + 1) : fd;
}

/*
 * In the child, still privileged: the container's namespaces and root.
 * @private_mnt: then a mount namespace of our own, a copy of the
 * container's with every mount private, so that what we mount there
 * (a /proc) reaches neither the container nor the host.
 */
static int enter(const struct user_spawn_ns *ns, int *step, int private_mnt)
{
	static const struct {
		int step, type;
	} order[] = { { STEP_UTS, CLONE_NEWUTS }, { STEP_IPC, CLONE_NEWIPC },
		      { STEP_NET, CLONE_NEWNET }, { STEP_MNT, CLONE_NEWNS } };
	int fds[] = { ns->uts, ns->ipc, ns->net, ns->mnt };
	size_t i;

	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		*step = order[i].step;
		if (fds[i] >= 0 && setns(fds[i], order[i].type) < 0)
			return -1;
	}
	*step = STEP_ROOT;
	if (fchdir(ns->root) < 0)
		return -1;
	/* The copy keeps our working directory (the container's root) and root (its namespace's). */
	*step = STEP_PIDNS;
	if (private_mnt && (unshare(CLONE_NEWNS) < 0 ||
			    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0))
		return -1;
	*step = STEP_ROOT;
	return chroot(".");
}

/* Every capability out of the bounding set: an exec as uid 0 gains none. */
static int drop_bounding(void)
{
	int cap;

	for (cap = 0; cap <= 63; cap++)
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	return 0;
}

/*
 * The app's PID namespace takes no process (its init died): in the private
 * copy of the container's mount namespace (enter), a PID namespace of our
 * own whose init is the program, with a /proc of it. We fork that init as the collector's child (CLONE_PARENT),
 * tell its pid on @err_fd and leave; the init goes on. Returns in the
 * init only; -1 with errno on failure.
 */
static int own_pid_namespace(int err_fd)
{
	struct child_err forked = { 0, STEP_FORKED };
	long c2;

	if (unshare(CLONE_NEWPID) < 0)
		return -1;
	c2 = syscall(SYS_clone, CLONE_PARENT, 0, 0, 0, 0);
	if (c2 < 0)
		return -1;
	if (c2 > 0) {
		forked.err = (int)c2;
		(void)!write(err_fd, &forked, sizeof(forked));
		_exit(0);
	}
	setsid();
	return mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* In the forked child: become the user and run the program. Never returns. */
/*
 * A child's start, before anything of the program's: default signal
 * handlers (first, so none of the parent's runs here once the mask is
 * cleared), an empty mask, a session of its own, stdin /dev/null, stdout
 * and stderr @u->out_fd, every other fd close-on-exec. -1 with errno set.
 */
static int child_begin(const struct user_spawn *u)
{
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	int null_fd, sig;

	for (sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	setsid();
	null_fd = open("/dev/null", O_RDONLY);
	if (null_fd < 0 || dup2(null_fd, 0) < 0)
		return -1;
	if (u->out_fd >= 0 && (dup2(u->out_fd, 1) < 0 || dup2(u->out_fd, 2) < 0))
		return -1;
	/* Nothing of ours may leak into the program. */
	syscall(SYS_close_range, 3, ~0U, 4 /* CLOSE_RANGE_CLOEXEC */);
	return 0;
}

/* The collector's OOMScoreAdjust= protects the collector: a rescue is an ordinary process. */
static void oom_score_ordinary(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd >= 0) {
		(void)!write(fd, "0", 1);
		close(fd);
	}
}

/*
 * Root, or a user given CAP_SETUID (the collector run with ambient
 * capabilities): setgroups, setresgid, setresuid, each checked, every
 * capability dropped, then proof that neither root nor a capability can be
 * regained. By system call, not glibc's wrappers: in a child that shares
 * the parent's memory (host_child) those would make every thread of the
 * parent change its ids too (nptl's set*id broadcast). -1 with errno set.
 */
static int become_user(const struct user_spawn *u, const struct account *a)
{
	if (geteuid() == 0 || (caps_effective() & CAPS_BIT(CAP_SETUID))) {
		if (syscall(SYS_setgroups, a->ngroups, a->groups) < 0 ||
		    syscall(SYS_setresgid, u->gid, u->gid, u->gid) < 0 ||
		    syscall(SYS_setresuid, u->uid, u->uid, u->uid) < 0)
			return -1;
		/*
		 * Leaving uid 0 clears the capabilities; going from one other
		 * uid to another keeps them (ambient ones even across exec):
		 * none of ours may reach a non-root program, nor a container's root.
		 */
		if ((u->uid != 0 || u->ns) && caps_drop_all() < 0)
			return -1;
		/* A non-root program must not get root back; a container's root keeps no capability. */
		if ((u->uid != 0 && syscall(SYS_setuid, 0) == 0) ||
		    ((u->uid != 0 || u->ns) && caps_effective())) {
			errno = EPERM;
			return -1;
		}
		return 0;
	}
	/* Without the means to become the user, never run it as someone else. */
	if (u->uid != geteuid()) {
		errno = EPERM;
		return -1;
	}
	return 0;
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
 * err and @e; its ids change by system call (become_user).
 */
static int host_child(void *arg)
{
	struct child_args *c = arg;
	const struct user_spawn *u = c->u;
	const struct account *a = c->a;
	char fd_path[320];

	if (child_begin(u) < 0)
		goto fail;
	if (u->pass_fd >= 0) {
		if (u->pass_fd == USER_SPAWN_FD ? fcntl(USER_SPAWN_FD, F_SETFD, 0) < 0
						: dup2(u->pass_fd, USER_SPAWN_FD) < 0)
			goto fail;
		if (u->fd_path_var)
			set_fd_path(c->e, u->fd_path_var, fd_path, sizeof(fd_path));
	}
	oom_score_ordinary();
	if (become_user(u, a) < 0)
		goto fail;
	if (chdir(a->home) < 0 && chdir("/") < 0)
		goto fail;
	exec_in_path(u->argv[0], u->argv, c->e->v);
fail:
	c->err = errno ? errno : EINVAL;
	/* Returning ends the child (glibc's clone calls exit with this). */
	return 127;
}

/* A program on the host: see host_child. */
static int host_spawn(const struct user_spawn *u, pid_t *pid)
{
	/*
	 * The child's stack, in our frame: we are stopped while it runs.
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
	*pid = clone(host_child, stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD, &c);
	err = *pid < 0 ? -errno : 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	/*
	 * Under AddressSanitizer the child's frames left their redzones
	 * poisoned in @stack, which our frame does not clear on return: a
	 * later call's frame there would be reported as an overflow.
	 */
	ASAN_UNPOISON_MEMORY_REGION(stack, sizeof(stack));
	if (!err && c.err) {
		/* It could not exec (a failed privilege drop, no such program): it is gone. */
		waitpid(*pid, NULL, 0);
		err = -c.err;
	}
out:
	free(e);
	return err;
}

static void __attribute__((noreturn))
child(const struct user_spawn *u, const struct account *a, struct env *e, int err_fd,
      int own_pidns)
{
	char fd_path[320], account[2048];
	struct user_spawn_ns ns = { -1, -1, -1, -1, -1, -1 };
	struct child_err ce = { 0, STEP_START };
	const char *home = a->home;

	/* err_fd is close-on-exec already. */
	if (child_begin(u) < 0)
		goto fail;
	if (u->ns) {
		ns = *u->ns;
		ns.mnt = off_fd3(ns.mnt);
		ns.uts = off_fd3(ns.uts);
		ns.ipc = off_fd3(ns.ipc);
		ns.net = off_fd3(ns.net);
		ns.root = off_fd3(ns.root);
	}
	if (u->pass_fd >= 0) {
		if (err_fd == USER_SPAWN_FD)
			err_fd = fcntl(err_fd, F_DUPFD_CLOEXEC, USER_SPAWN_FD + 1);
		if (u->pass_fd == USER_SPAWN_FD ? fcntl(USER_SPAWN_FD, F_SETFD, 0) < 0
						: dup2(u->pass_fd, USER_SPAWN_FD) < 0)
			goto fail;
	}
	oom_score_ordinary();
	/* In a container: into its namespaces and root, then nothing of ours but the fds. */
	if (u->ns && (enter(&ns, &ce.step, own_pidns) < 0 ||
		      (own_pidns && (ce.step = STEP_PIDNS, own_pid_namespace(err_fd) < 0)) ||
		      (ce.step = STEP_USER, drop_bounding() < 0) ||
		      prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0))
		goto fail;
	ce.step = STEP_USER;
	if (become_user(u, a) < 0)
		goto fail;
	if (u->ns)
		home = container_account(e, u->uid, account, sizeof(account));
	if (chdir(home) < 0 && chdir("/") < 0)
		goto fail;
	/* Our pid as the program sees it: in the namespace it runs in, known only now. */
	if (u->pass_fd >= 0 && u->fd_path_var)
		set_fd_path(e, u->fd_path_var, fd_path, sizeof(fd_path));
	ce.step = STEP_EXEC;
	exec_in_path(u->argv[0], u->argv, e->v);
fail:
	ce.err = errno;
	(void)!write(err_fd, &ce, sizeof(ce));
	_exit(127);
}

static void say_why(const struct user_spawn *u, const struct child_err *ce, char *why, size_t len)
{
	static const char *const ns_name[] = {
		[STEP_UTS] = "uts", [STEP_IPC] = "ipc", [STEP_NET] = "network", [STEP_MNT] = "mount",
	};
	const char *msg = strerror(ce->err);

	if (!why || !len)
		return;
	why[0] = '\0';
	if (!u->ns)
		return;
	switch (ce->step) {
	case STEP_UTS:
	case STEP_IPC:
	case STEP_NET:
	case STEP_MNT:
		snprintf(why, len, "cannot enter the app's %s namespace (%s); the rescue command is "
				   "not run on the host",
			 ns_name[ce->step], msg);
		break;
	case STEP_ROOT:
		snprintf(why, len, "cannot take the container's root directory (%s); the rescue "
				   "command is not run on the host",
			 msg);
		break;
	case STEP_PIDNS:
		snprintf(why, len, "the app's PID namespace has no init left, and a PID namespace of "
				   "the rescue's own with a /proc in the container cannot be made (%s); "
				   "the rescue command is not run on the host",
			 msg);
		break;
	case STEP_USER:
		snprintf(why, len, "cannot become the app's user in the container (%s)", msg);
		break;
	case STEP_EXEC:
		snprintf(why, len, "cannot run the rescue command inside the container (%s)", msg);
		break;
	default:
		snprintf(why, len, "cannot start the rescue in the container (%s)", msg);
	}
}

/*
 * Forks into the PID namespace @pidns (-1: ours): only the calling thread's
 * namespace for children is switched, and back right after the fork.
 * A namespace whose init has died takes no new process: -ENOMEM from fork.
 */
static pid_t fork_in(int pidns, int *in_ns_err)
{
	pid_t pid;
	int self, err;

	*in_ns_err = 0;
	if (pidns < 0)
		return fork();
	self = open("/proc/thread-self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -1;
	if (setns(pidns, CLONE_NEWPID) < 0) {
		err = errno;
		close(self);
		*in_ns_err = err;
		errno = err;
		return -1;
	}
	pid = fork();
	err = errno;
	if (pid != 0) {
		/* Back to ours, for every later fork of this thread; it cannot fail for our own. */
		if (setns(self, CLONE_NEWPID) < 0)
			abort();
		if (pid < 0)
			*in_ns_err = err;
	}
	close(self);
	errno = err;
	return pid;
}

int user_spawn(const struct user_spawn *u, pid_t *pid)
{
	return user_spawn_why(u, pid, NULL, 0);
}

int user_spawn_why(const struct user_spawn *u, pid_t *pid, char *why, size_t len)
{
	struct child_err ce = { 0, STEP_START };
	struct account a;
	int errp[2], err, in_ns_err, own_pidns = 0;
	struct env *e;
	ssize_t n;

	if (why && len)
		why[0] = '\0';

	if (!u->argv || !u->argv[0])
		return -EINVAL;
	if (!u->ns)
		return host_spawn(u, pid);
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
	*pid = fork_in(u->ns ? u->ns->pid : -1, &in_ns_err);
	if (*pid == 0)
		child(u, &a, e, errp[1], 0);
	if (*pid < 0 && in_ns_err == ENOMEM) {
		/* Its init died: the other namespaces, and a PID namespace of the rescue's own. */
		own_pidns = 1;
		*pid = fork();
		if (*pid == 0)
			child(u, &a, e, errp[1], 1);
	}
	close(errp[1]);
	if (*pid < 0) {
		err = -errno;
		close(errp[0]);
		if (why && in_ns_err && in_ns_err != ENOMEM)
			snprintf(why, len, "cannot enter the app's PID namespace (%s); the rescue "
					   "command is not run on the host",
				 strerror(in_ns_err));
		goto out;
	}
	/*
	 * Exec closes the pipe; a failure before it sends its errno and step.
	 * In a PID namespace of its own, first the pid of the program's process.
	 */
	do
		n = read(errp[0], &ce, sizeof(ce));
	while (n < 0 && errno == EINTR);
	if (own_pidns) {
		waitpid(*pid, NULL, 0);
		if (n == sizeof(ce) && ce.step == STEP_FORKED) {
			*pid = ce.err;
			do
				n = read(errp[0], &ce, sizeof(ce));
			while (n < 0 && errno == EINTR);
		} else if (n != sizeof(ce)) {
			ce = (struct child_err){ EIO, STEP_PIDNS };
			n = sizeof(ce);
		} else {
			*pid = -1; /* reaped already */
		}
	}
	close(errp[0]);
	if (n == sizeof(ce)) {
		if (*pid > 0)
			waitpid(*pid, NULL, 0);
		err = -ce.err;
		say_why(u, &ce, why, len);
	}
out:
	free(e);
	return err;
}
