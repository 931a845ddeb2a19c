// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Images: a dead writer's dictionary made immutable, so that a reader can
 * validate it once and hand the very same bytes to a rescue, with no copy.
 * When the writer's memfd cannot be sealed (a process still maps it, or its
 * creator forbade new seals), the image is a sealed copy of its data.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bulk_yield.h"
#include "dict/crc32c.h"
#include "dict/dict.h"
#include "dict/layout.h"

#define IMAGE_SEALS (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL)
#define COPY_STEP (1u << 20)

static int write_meta(int fd, int32_t pid, uint32_t uid, int64_t time_ms)
{
	struct dict_meta m;

	memset(&m, 0, sizeof(m));
	m.magic = DICT_META_MAGIC;
	m.pid = pid;
	m.uid = uid;
	m.time_ms = time_ms;
	m.crc = crc32c(0, &m, offsetof(struct dict_meta, crc));
	if (pwrite(fd, &m, sizeof(m), DICT_META_OFF) != sizeof(m))
		return errno ? -errno : -EIO;
	return 0;
}

int dict_image_seal(int fd, int32_t pid, uint32_t uid, int64_t time_ms)
{
	int seals = fcntl(fd, F_GET_SEALS), err;

	if (seals < 0)
		return -errno;
	if ((seals & IMAGE_SEALS) == IMAGE_SEALS)
		return 0; /* sealed before: it is what it is */
	if (seals & F_SEAL_SEAL)
		return -EPERM;
	if (seals & F_SEAL_WRITE)
		return -EPERM; /* an image we did not make: no room for who died */
	err = write_meta(fd, pid, uid, time_ms);
	if (err)
		return err;
	/* EBUSY while any writable shared mapping is left. */
	if (fcntl(fd, F_ADD_SEALS, IMAGE_SEALS & ~(F_SEAL_SHRINK | F_SEAL_GROW)) < 0)
		return -errno;
	return 0;
}

/*
 * Copies [off, off + len) of @src into @dst at the same offset, through
 * @buf (@cap bytes). pread+pwrite: 0.38 s a GiB here, where
 * copy_file_range between two memfds (splice) takes 1.5 s.
 */
static int copy_range(int src, int dst, uint64_t off, uint64_t len, uint8_t *buf, size_t cap)
{
	while (len) {
		size_t step = len < cap ? (size_t)len : cap;
		ssize_t n = pread(src, buf, step, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return 0; /* the source ends early: the rest reads as holes */
		if (pwrite(dst, buf, (size_t)n, (off_t)off) != n)
			return errno ? -errno : -EIO;
		off += (uint64_t)n;
		len -= (uint64_t)n;
		bulk_yield((size_t)n);
	}
	return 0;
}

int dict_image_copy(int fd, int32_t pid, uint32_t uid, int64_t time_ms, uint64_t max_copy)
{
	uint8_t *buf = malloc(COPY_STEP);
	struct stat st;
	uint64_t copied = 0;
	off_t data = 0, hole;
	int dst, err = 0;

	if (!buf)
		return -ENOMEM;
	if (fstat(fd, &st) < 0) {
		free(buf);
		return -errno;
	}
	dst = memfd_create("faultguard-image", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (dst < 0) {
		free(buf);
		return -errno;
	}
	if (ftruncate(dst, st.st_size) < 0)
		err = -errno;
	/* The data extents only: holes stay holes, a sparse dictionary stays cheap. */
	while (!err && data < st.st_size) {
		data = lseek(fd, data, SEEK_DATA);
		if (data < 0) {
			if (errno != ENXIO)
				err = -errno;
			break;
		}
		hole = lseek(fd, data, SEEK_HOLE);
		if (hole < 0 || hole > st.st_size)
			hole = st.st_size;
		if ((uint64_t)(hole - data) > max_copy - copied) {
			err = -EFBIG;
			break;
		}
		err = copy_range(fd, dst, (uint64_t)data, (uint64_t)(hole - data), buf, COPY_STEP);
		copied += (uint64_t)(hole - data);
		data = hole;
	}
	if (!err)
		err = write_meta(dst, pid, uid, time_ms);
	if (!err && fcntl(dst, F_ADD_SEALS, IMAGE_SEALS) < 0)
		err = -errno;
	free(buf);
	if (err)
		goto err_close;
	return dst;

err_close:
	close(dst);
	return err;
}

int dict_image_sealed(int fd)
{
	int seals = fcntl(fd, F_GET_SEALS);

	return seals >= 0 && (seals & IMAGE_SEALS) == IMAGE_SEALS;
}

int64_t dict_fd_allocated(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	return (int64_t)st.st_blocks * 512;
}

int dict_magic(const void *p)
{
	uint64_t m;

	memcpy(&m, p, sizeof(m));
	return m == DICT_MAGIC;
}
