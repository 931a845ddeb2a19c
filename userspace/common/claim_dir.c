// SPDX-License-Identifier: LGPL-2.1-or-later
/* Claiming a snapshot: the directory part (see claim_dir.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/claim_dir.h"

#define SNAP_SUFFIX ".fgsnap"
#define MAX_CANDIDATES 4096

int claim_scope_allows(const char *scope, int in_container, const char *cgroup)
{
	size_t n;

	if (!scope)
		return !in_container;
	if (!in_container || !cgroup || !cgroup[0])
		return 0;
	n = strlen(scope);
	/* The same cgroup, or one below it ("/a/b" holds "/a/b/c", not "/a/bc"). */
	return !strncmp(cgroup, scope, n) &&
	       (cgroup[n] == '\0' || cgroup[n] == '/' || (n && scope[n - 1] == '/'));
}

static int open_below(int at, const char *name)
{
	int fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

int claim_open_app_dir(int state_fd, const char *state, uid_t uid, const char *app)
{
	char name[16];
	int top, s, u, a;

	if (state_fd < 0) {
		top = open(state, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (top < 0)
			return -errno;
	} else {
		top = state_fd;
	}
	s = open_below(top, "snapshots");
	if (top != state_fd)
		close(top);
	if (s < 0)
		return s;
	snprintf(name, sizeof(name), "%u", (unsigned int)uid);
	u = open_below(s, name);
	close(s);
	if (u < 0)
		return u;
	a = open_below(u, app);
	close(u);
	return a;
}

static int by_name_desc(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

/* The scope file of @id: its one line in @buf, or NULL when there is none. */
static const char *read_scope(int dirfd, const char *id, char *buf, size_t len)
{
	char name[300];
	struct stat st;
	ssize_t n;
	int fd;

	snprintf(name, sizeof(name), "%s%s", id, CLAIM_SCOPE_SUFFIX);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	/* Only the collector's own: a file the user planted says nothing. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid()) {
		close(fd);
		return NULL;
	}
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return buf;
}

static int try_one(int dirfd, const char *file, uid_t uid, int in_container, const char *cgroup,
		   int check_scope, char *id, size_t id_len)
{
	char sid[256], mark[300], scope[4096];
	struct stat st;
	size_t n = strlen(file) - strlen(SNAP_SUFFIX);
	int fd, m;

	if (n >= sizeof(sid))
		return -ENOENT;
	memcpy(sid, file, n);
	sid[n] = '\0';
	snprintf(mark, sizeof(mark), "%s%s", sid, CLAIM_MARK_SUFFIX);
	if (faccessat(dirfd, mark, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		return -ENOENT;
	if (check_scope &&
	    !claim_scope_allows(read_scope(dirfd, sid, scope, sizeof(scope)), in_container, cgroup))
		return -ENOENT;
	fd = openat(dirfd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != uid || st.st_nlink != 1) {
		close(fd);
		return -ENOENT;
	}
	m = openat(dirfd, mark, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (m < 0) {
		close(fd);
		return -ENOENT; /* claimed meanwhile, or the directory refuses: not ours to take */
	}
	if (geteuid() == 0 && uid != 0)
		(void)!fchown(m, uid, (gid_t)-1);
	close(m);
	snprintf(id, id_len, "%s", sid);
	return fd;
}

int claim_take(int dirfd, uid_t uid, int in_container, const char *cgroup, int check_scope,
	       char *id, size_t id_len)
{
	char **names = NULL;
	size_t n = 0, cap = 0, i;
	struct dirent *e;
	int dup, fd = -ENOENT;
	DIR *d;

	/* A description of its own: a dup would share (and keep) the caller's offset. */
	dup = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dup < 0)
		return -errno;
	d = fdopendir(dup);
	if (!d) {
		close(dup);
		return -errno;
	}
	while ((e = readdir(d)) && n < MAX_CANDIDATES) {
		size_t l = strlen(e->d_name);

		if (e->d_name[0] == '.' || l <= strlen(SNAP_SUFFIX) ||
		    strcmp(e->d_name + l - strlen(SNAP_SUFFIX), SNAP_SUFFIX))
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap ? cap * 2 : 16) * sizeof(*v));

			if (!v)
				break;
			names = v;
			cap = cap ? cap * 2 : 16;
		}
		names[n] = strdup(e->d_name);
		if (names[n])
			n++;
	}
	closedir(d);
	/* Crash ids begin with their time (UTC, fixed width): the newest sorts last. */
	if (n)
		qsort(names, n, sizeof(*names), by_name_desc);
	for (i = 0; i < n && fd < 0; i++)
		fd = try_one(dirfd, names[i], uid, in_container, cgroup, check_scope, id, id_len);
	for (i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return fd;
}
