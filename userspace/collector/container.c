// SPDX-License-Identifier: LGPL-2.1-or-later
/* Apps in containers: what registration learns and keeps (see container.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/collector.h"
#include "collector/container.h"

/* linux/pidfd.h (6.11): a pidfd names the namespaces of its live process. */
#define PIDFS_IOCTL_MAGIC 0xFF
#define PIDFD_GET_IPC_NAMESPACE _IO(PIDFS_IOCTL_MAGIC, 2)
#define PIDFD_GET_MNT_NAMESPACE _IO(PIDFS_IOCTL_MAGIC, 3)
#define PIDFD_GET_NET_NAMESPACE _IO(PIDFS_IOCTL_MAGIC, 4)
#define PIDFD_GET_PID_NAMESPACE _IO(PIDFS_IOCTL_MAGIC, 5)
#define PIDFD_GET_UTS_NAMESPACE _IO(PIDFS_IOCTL_MAGIC, 10)

struct self_ns {
	int known;
	struct stat mnt, pid, user, root;
};

/* The collector's own namespaces and root: they do not change while it runs. */
static const struct self_ns *self_ns(void)
{
	static struct self_ns s;

	if (!s.known) {
		if (stat("/proc/self/ns/mnt", &s.mnt) || stat("/proc/self/ns/pid", &s.pid) ||
		    stat("/proc/self/ns/user", &s.user) || stat("/proc/self/root/", &s.root))
			return NULL;
		s.known = 1;
	}
	return &s;
}

static int same_inode(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev;
}

/* 1: /proc/PID/@what is the same object as @mine, 0: another, -errno: cannot tell. */
static int same_as(pid_t pid, const char *what, const struct stat *mine)
{
	char path[64];
	struct stat st;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	if (stat(path, &st) < 0)
		return -errno;
	return same_inode(&st, mine);
}

/* Reads /proc/PID/@what into @buf (NUL-terminated); its length or -errno. */
static ssize_t read_proc(pid_t pid, const char *what, char *buf, size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, what);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -EIO;
	buf[n] = '\0';
	return n;
}

/* The unified hierarchy's line ("0::/path"), else the name=systemd one; "" if neither. */
static void read_cgroup(pid_t pid, char *out, size_t len)
{
	char buf[4096], *line, *save = NULL, *named = NULL;

	out[0] = '\0';
	if (read_proc(pid, "cgroup", buf, sizeof(buf)) <= 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "0::", 3)) {
			snprintf(out, len, "%s", line + 3);
			return;
		}
		if (!named && strstr(line, ":name=systemd:"))
			named = strstr(line, ":name=systemd:") + 14;
	}
	if (named)
		snprintf(out, len, "%s", named);
}

/* The last number of the NSpid: line: the pid in the process's own namespace. */
static pid_t read_ns_pid(pid_t pid)
{
	char buf[4096], *p, *end;
	long v = 0;

	if (read_proc(pid, "status", buf, sizeof(buf)) <= 0)
		return 0;
	p = strstr(buf, "\nNSpid:");
	if (!p)
		return 0;
	p += 7;
	end = strchr(p, '\n');
	if (end)
		*end = '\0';
	while (*p) {
		char *q;
		long x = strtol(p, &q, 10);

		if (q == p)
			break;
		v = x;
		p = q;
	}
	return (pid_t)v;
}

/* A namespace of the pidfd's process (the ioctl), or of /proc/PID/ns/@name on older kernels. */
static int open_ns(int pidfd, pid_t pid, unsigned long req, const char *name)
{
	char path[64];
	int fd = ioctl(pidfd, req, 0);

	if (fd >= 0)
		return fd;
	if (errno != ENOTTY && errno != EINVAL && errno != EOPNOTSUPP)
		return -errno;
	snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)pid, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

void container_free(struct container *ct)
{
	if (!ct)
		return;
	if (ct->ns.mnt >= 0)
		close(ct->ns.mnt);
	if (ct->ns.uts >= 0)
		close(ct->ns.uts);
	if (ct->ns.ipc >= 0)
		close(ct->ns.ipc);
	if (ct->ns.net >= 0)
		close(ct->ns.net);
	if (ct->ns.pid >= 0)
		close(ct->ns.pid);
	if (ct->ns.root >= 0)
		close(ct->ns.root);
	free(ct);
}

int container_probe(int pidfd, struct identity *id, int rescue, struct container **out,
		    const char **why)
{
	const struct self_ns *me = self_ns();
	struct container *ct;
	int mnt, root, pidns, user;
	char path[64];

	*out = NULL;
	if (!me) {
		*why = "the collector cannot read its own namespaces in /proc";
		return -EIO;
	}
	read_cgroup(id->pid, id->cgroup, sizeof(id->cgroup));
	pidns = same_as(id->pid, "ns/pid", &me->pid);
	mnt = same_as(id->pid, "ns/mnt", &me->mnt);
	root = same_as(id->pid, "root/", &me->root);
	if (pidns < 0 || mnt < 0 || root < 0) {
		*why = "the registering process is gone";
		return -ESRCH;
	}
	id->ns_pid = pidns ? id->pid : read_ns_pid(id->pid);
	id->on_host = mnt && root;
	if (id->on_host || !rescue)
		return 0;
	user = same_as(id->pid, "ns/user", &me->user);
	if (user == 0) {
		*why = "the app runs in another user namespace (a rootless container), where the "
		       "collector does not run rescue commands (docs/SECURITY.md); register "
		       "without one to get snapshots only";
		return -EXDEV;
	}
	ct = malloc(sizeof(*ct));
	if (!ct) {
		*why = "out of memory";
		return -ENOMEM;
	}
	ct->ns.mnt = open_ns(pidfd, id->pid, PIDFD_GET_MNT_NAMESPACE, "mnt");
	ct->ns.uts = open_ns(pidfd, id->pid, PIDFD_GET_UTS_NAMESPACE, "uts");
	ct->ns.ipc = open_ns(pidfd, id->pid, PIDFD_GET_IPC_NAMESPACE, "ipc");
	ct->ns.net = open_ns(pidfd, id->pid, PIDFD_GET_NET_NAMESPACE, "net");
	ct->ns.pid = pidns ? -1 : open_ns(pidfd, id->pid, PIDFD_GET_PID_NAMESPACE, "pid");
	snprintf(path, sizeof(path), "/proc/%d/root", (int)id->pid);
	/* O_PATH: only a place to chroot to; nothing below it is looked up from here. */
	ct->ns.root = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (ct->ns.root < 0)
		ct->ns.root = -errno;
	if (ct->ns.mnt < 0 || ct->ns.uts < 0 || ct->ns.ipc < 0 || ct->ns.net < 0 ||
	    (!pidns && ct->ns.pid < 0) || ct->ns.root < 0) {
		int *fds[] = { &ct->ns.mnt, &ct->ns.uts, &ct->ns.ipc, &ct->ns.net, &ct->ns.pid,
			       &ct->ns.root };
		size_t i;

		for (i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (*fds[i] < 0)
				*fds[i] = -1;
		container_free(ct);
		*why = "cannot keep the container's namespaces for its rescue";
		return -ESRCH;
	}
	*out = ct;
	return 0;
}
