// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/atomic_file.h"

#define TEMP_TRIES 32

/* The length of @name's directory part, its last '/' included (0: none). */
static int dir_len(const char *name)
{
	const char *slash = strrchr(name, '/');

	return slash ? (int)(slash - name + 1) : 0;
}

/*
 * "dir/.base.<random>.tmp" for "dir/base": same directory, never the
 * target's name; base cut to 200 bytes so the name fits NAME_MAX.
 */
static int temp_name(char *tmp, size_t len, const char *name)
{
	static unsigned int counter;
	int d = dir_len(name);
	uint64_t r;
	int n;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r)) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		r = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)getpid() ^
		    __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	}
	n = snprintf(tmp, len, "%.*s.%.200s.%016llx.tmp", d, name, name + d, (unsigned long long)r);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Makes a rename in @name's directory durable (best effort: the rename already happened). */
static void sync_dir(int dirfd, const char *name)
{
	char dir[4096];
	int fd, d = dir_len(name);

	/* "dir/" (the slash kept: "/" stays the root), or "." for a bare name. */
	if (snprintf(dir, sizeof(dir), "%.*s", d ? d : 1, d ? name : ".") >= (int)sizeof(dir))
		return;
	fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

int atomic_file_write(int dirfd, const char *name, const void *buf, size_t len,
		      const struct atomic_file_opts *o, int *keep_fd)
{
	char tmp[4096 + 64];
	int fd = -1, err = 0, tries;

	for (tries = 0; tries < TEMP_TRIES; tries++) {
		err = temp_name(tmp, sizeof(tmp), name);
		if (err)
			return err;
		fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    o->mode);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0)
		return tries == TEMP_TRIES ? -EEXIST : -errno;
	if (fchmod(fd, o->mode) < 0 ||
	    ((o->uid != (uid_t)-1 || o->gid != (gid_t)-1) && fchown(fd, o->uid, o->gid) < 0))
		err = -errno;
	if (!err && len)
		err = write_all(fd, buf, len);
	if (!err && o->sync && fsync(fd) < 0)
		err = -errno;
	/* Closed before the rename when not kept: its error still stops the rename. */
	if (!keep_fd) {
		if (close(fd) < 0 && !err)
			err = -errno;
		fd = -1;
	}
	if (!err && renameat(dirfd, tmp, dirfd, name) < 0)
		err = -errno;
	if (err) {
		if (fd >= 0)
			close(fd);
		unlinkat(dirfd, tmp, 0);
		return err;
	}
	if (keep_fd)
		*keep_fd = fd;
	/* The rename itself must survive a power cut too. */
	if (o->sync)
		sync_dir(dirfd, name);
	return 0;
}
