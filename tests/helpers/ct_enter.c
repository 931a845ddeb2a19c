// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A container for the tests, made of bind mounts (run it under
 * `unshare --pid --mount --uts --ipc --net --fork --mount-proc`):
 *
 *   ct_enter [--pid1] [--uid N] ROOT BUILD SOCKDIR CTONLY OUT -- PROG ARGS...
 *
 * Mounts a tmpfs on ROOT and gives it its own /etc (a passwd naming uid
 * 65534 "ctuser" with home /home/ctuser, a marker file /etc/ct-marker),
 * /usr (the host's, bound), /dev, a fresh /proc of the new PID namespace,
 * SOCKDIR at /run/faultguard, CTONLY at /ct-only (what exists only in
 * the container), OUT at /out and BUILD at its own path; pivots into it
 * and sets the hostname "ct". It prints "ns mnt:[..] pid:[..] net:[..]
 * uts:[..] ipc:[..]" (its namespaces), then runs PROG as uid N (default
 * 0) — itself, as the container's PID 1, with --pid1; otherwise as its
 * child, then stays the container's init, reaping, until its stdin
 * gives a line or ends, and exits with the app's status (128 + signal).
 * Exit codes of its own: 64 usage, 65 a setup step failed (said on stderr).
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "ct_enter: %s: %s\n", what, strerror(errno));
	exit(65);
}

static void mkdirs(const char *path)
{
	char buf[4096], *p;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		die(path);
}

static void bind(const char *root, const char *src, const char *dst)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s%s", root, dst);
	mkdirs(path);
	if (mount(src, path, NULL, MS_BIND | MS_REC, NULL) < 0)
		die(src);
}

static void put(const char *root, const char *name, const char *text, mode_t mode)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s%s", root, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f))
		die(path);
	chmod(path, mode);
}

static void say_ns(void)
{
	static const char *const names[] = { "mnt", "pid", "net", "uts", "ipc" };
	char path[64], link[64];
	size_t i;

	printf("ns");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/self/ns/%s", names[i]);
		n = readlink(path, link, sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		printf(" %s", link);
	}
	printf("\n");
	fflush(stdout);
}

static void become(uid_t uid)
{
	if (uid == 0)
		return;
	if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
		die("setuid");
}

int main(int argc, char **argv)
{
	const char *root, *build, *sockdir, *ctonly, *out;
	int pid1 = 0, i = 1, status;
	uid_t uid = 0;
	char path[4096];
	pid_t app;

	for (; i < argc && !strncmp(argv[i], "--", 2) && strcmp(argv[i], "--"); i++) {
		if (!strcmp(argv[i], "--pid1"))
			pid1 = 1;
		else if (!strcmp(argv[i], "--uid") && i + 1 < argc)
			uid = (uid_t)atoi(argv[++i]);
		else
			return 64;
	}
	if (argc - i < 7 || strcmp(argv[i + 5], "--"))
		return 64;
	root = argv[i];
	build = argv[i + 1];
	sockdir = argv[i + 2];
	ctonly = argv[i + 3];
	out = argv[i + 4];
	argv += i + 6;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("private /");
	if (mount("ct", root, "tmpfs", 0, "mode=0755") < 0)
		die("tmpfs");
	bind(root, "/usr", "/usr");
	bind(root, "/dev", "/dev");
	bind(root, sockdir, "/run/faultguard");
	bind(root, ctonly, "/ct-only");
	bind(root, out, "/out");
	bind(root, build, build);
	snprintf(path, sizeof(path), "%s/proc", root);
	mkdirs(path);
	if (mount("proc", path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
		die("proc");
	snprintf(path, sizeof(path), "%s/tmp", root);
	mkdirs(path);
	chmod(path, 01777);
	snprintf(path, sizeof(path), "%s/etc", root);
	mkdirs(path);
	snprintf(path, sizeof(path), "%s/home/ctuser", root);
	mkdirs(path);
	/* In a user namespace that does not map 65534, the home stays root's. */
	if (chown(path, 65534, 65534) < 0 && errno != EINVAL)
		die("chown home");
	put(root, "/etc/passwd",
	    "root:x:0:0:root:/root:/bin/sh\nctuser:x:65534:65534:ct:/home/ctuser:/bin/sh\n", 0644);
	put(root, "/etc/group", "root:x:0:\nctuser:x:65534:\n", 0644);
	put(root, "/etc/ct-marker", "inside\n", 0644);
	{
		static const char *const links[][2] = {
			{ "usr/bin", "/bin" }, { "usr/sbin", "/sbin" },
			{ "usr/lib", "/lib" }, { "usr/lib64", "/lib64" },
		};
		size_t k;

		for (k = 0; k < sizeof(links) / sizeof(links[0]); k++) {
			snprintf(path, sizeof(path), "%s%s", root, links[k][1]);
			if (symlink(links[k][0], path) < 0)
				die(path);
		}
	}
	if (chdir(root) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 || umount2(".", MNT_DETACH) < 0 ||
	    chdir("/") < 0)
		die("pivot_root");
	sethostname("ct", 2);
	say_ns();
	if (pid1) {
		become(uid);
		execv(argv[0], argv);
		die(argv[0]);
	}
	app = fork();
	if (app < 0)
		die("fork");
	if (app == 0) {
		become(uid);
		execv(argv[0], argv);
		die(argv[0]);
	}
	/* The init: reap the app, then stay until told. */
	for (;;) {
		pid_t p = wait(&status);

		if (p == app)
			break;
		if (p < 0 && errno != EINTR)
			die("wait");
	}
	printf("app-ended %d\n", WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status));
	fflush(stdout);
	{
		char c;

		while (read(0, &c, 1) == 1 && c != '\n')
			;
	}
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
}
