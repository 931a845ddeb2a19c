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

int atomic_file_begin(struct atomic_file *af, int dirfd, const char *name,
		      const struct atomic_file_opts *o)
{
	int tries, err = 0;

	af->fd = -1;
	af->dirfd = dirfd;
	af->o = *o;
	if (snprintf(af->name, sizeof(af->name), "%s", name) >= (int)sizeof(af->name))
		return -ENAMETOOLONG;
	for (tries = 0; tries < TEMP_TRIES; tries++) {
		err = temp_name(af->tmp, sizeof(af->tmp), name);
		if (err)
			return err;
		/* Read-write: a caller that keeps it may read back what it wrote (a digest). */
		af->fd = openat(dirfd, af->tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
				o->mode);
		if (af->fd >= 0 || errno != EEXIST)
			break;
	}
	if (af->fd < 0)
		return tries == TEMP_TRIES ? -EEXIST : -errno;
	if (fchmod(af->fd, o->mode) < 0 ||
	    ((o->uid != (uid_t)-1 || o->gid != (gid_t)-1) && fchown(af->fd, o->uid, o->gid) < 0)) {
		err = -errno;
		atomic_file_abort(af);
		return err;
	}
	return 0;
}

void atomic_file_abort(struct atomic_file *af)
{
	if (af->fd < 0)
		return;
	close(af->fd);
	af->fd = -1;
	unlinkat(af->dirfd, af->tmp, 0);
}

int atomic_file_commit(struct atomic_file *af, int *keep_fd)
{
	int err = 0;

	if (af->o.sync && fsync(af->fd) < 0)
		err = -errno;
	/* Closed before the rename when not kept: its error still stops the rename. */
	if (!keep_fd) {
		if (close(af->fd) < 0 && !err)
			err = -errno;
		af->fd = -1;
	}
	if (!err && renameat(af->dirfd, af->tmp, af->dirfd, af->name) < 0)
		err = -errno;
	if (err) {
		if (af->fd >= 0)
			close(af->fd);
		af->fd = -1;
		unlinkat(af->dirfd, af->tmp, 0);
		return err;
	}
	if (keep_fd)
		*keep_fd = af->fd;
	af->fd = -1;
	/* The rename itself must survive a power cut too. */
	if (af->o.sync)
		sync_dir(af->dirfd, af->name);
	return 0;
}

int atomic_file_write(int dirfd, const char *name, const void *buf, size_t len,
		      const struct atomic_file_opts *o, int *keep_fd)
{
	struct atomic_file af;
	int err = atomic_file_begin(&af, dirfd, name, o);

	if (err)
		return err;
	if (len)
		err = write_all(af.fd, buf, len);
	if (err) {
		atomic_file_abort(&af);
		return err;
	}
	return atomic_file_commit(&af, keep_fd);
}
