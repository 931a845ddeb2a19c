// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Creating a dictionary memfd, and the checks a reader makes before it
 * accepts one from an untrusted peer.
 */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include <linux/magic.h>

#include "dict/crc32c.h"
#include "dict/dict.h"
#include "dict/layout.h"

static uint32_t slot_count_for(uint64_t size)
{
	uint64_t want = size / 2048, n = 16;

	while (n * 2 <= want && n < (1u << 20))
		n *= 2;
	return (uint32_t)n;
}

static int format(int fd, const char *app, uint64_t size)
{
	struct dict_header h;
	struct dict_commit commit[2];
	uint8_t page[DICT_STATS_OFF];
	uint32_t slots = slot_count_for(size);
	uint64_t arena_off = DICT_SLOT_OFF + (uint64_t)slots * sizeof(struct dict_slot);

	memset(&h, 0, sizeof(h));
	h.magic = DICT_MAGIC;
	h.version = DICT_VERSION;
	h.hdr_size = sizeof(h);
	h.total_size = size;
	h.slot_off = DICT_SLOT_OFF;
	h.slot_count = slots;
	h.slot_size = sizeof(struct dict_slot);
	h.arena_off = arena_off;
	h.arena_size = (size - arena_off) / DICT_UNIT * DICT_UNIT;
	if (app)
		strncpy(h.app, app, sizeof(h.app) - 1);
	h.crc = crc32c(0, &h, offsetof(struct dict_header, crc));
	memset(commit, 0, sizeof(commit));
	atomic_store(&commit[0].check, ~0ull);
	atomic_store(&commit[1].check, ~0ull);
	/* Both header copies and the commit words, in one write. */
	memset(page, 0, DICT_STATS_OFF);
	memcpy(page + DICT_HDR_COPY_OFF(0), &h, sizeof(h));
	memcpy(page + DICT_HDR_COPY_OFF(1), &h, sizeof(h));
	memcpy(page + DICT_COMMIT_OFF, commit, sizeof(commit));
	if (pwrite(fd, page, DICT_STATS_OFF, 0) != DICT_STATS_OFF)
		return -EIO;
	return 0;
}

int dict_memfd_create(const char *app, uint64_t max_bytes)
{
	int fd, err;

	if (!max_bytes)
		max_bytes = DICT_DEFAULT_BYTES;
	if (max_bytes < DICT_MIN_BYTES || max_bytes > DICT_MAX_BYTES)
		return -EINVAL;
	max_bytes &= ~(uint64_t)4095;
	fd = memfd_create("faultguard", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* Sparse: pages cost memory only once written. */
	if (ftruncate(fd, (off_t)max_bytes) < 0) {
		err = -errno;
		goto err_close;
	}
	err = format(fd, app, max_bytes);
	if (err)
		goto err_close;
	/*
	 * Fixed size: no SIGBUS for the writer, no surprise for the reader.
	 * Not F_SEAL_SEAL: after the writer's death the collector adds
	 * F_SEAL_WRITE and hands these very bytes to the rescue (dict/image.c).
	 */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) < 0) {
		err = -errno;
		goto err_close;
	}
	return fd;

err_close:
	close(fd);
	return err;
}

int64_t dict_check_fd(int fd, uint64_t max_bytes, const char **why)
{
	struct statfs sfs;
	struct stat st;
	int seals;
	const char *dummy;

	if (!why)
		why = &dummy;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || fstatfs(fd, &sfs) < 0 ||
	    (sfs.f_type != TMPFS_MAGIC && sfs.f_type != HUGETLBFS_MAGIC)) {
		*why = "the dictionary fd is not a memfd";
		return -EBADF;
	}
	seals = fcntl(fd, F_GET_SEALS);
	if (seals < 0) {
		*why = "the dictionary fd is not a memfd";
		return -EBADF;
	}
	/*
	 * Shrinking under a reader would be a SIGBUS for a mapper and a lie
	 * about the size; growing would void the size check below, made once.
	 */
	if ((seals & (F_SEAL_SHRINK | F_SEAL_GROW)) != (F_SEAL_SHRINK | F_SEAL_GROW)) {
		*why = "the dictionary memfd is not sealed against shrinking and growing "
		       "(F_SEAL_SHRINK, F_SEAL_GROW)";
		return -EPERM;
	}
	if ((uint64_t)st.st_size < DICT_MIN_BYTES) {
		*why = "the dictionary memfd is too small to hold a dictionary";
		return -EINVAL;
	}
	if ((uint64_t)st.st_size > max_bytes) {
		*why = "the dictionary memfd is larger than the configured maximum";
		return -EFBIG;
	}
	return st.st_size;
}

int dict_peek_stats(int fd, uint64_t *keys, uint64_t *bytes)
{
	uint64_t v[2];

	if (pread(fd, v, sizeof(v), DICT_STATS_OFF) != sizeof(v))
		return -EIO;
	*keys = v[0];
	*bytes = v[1];
	return 0;
}

int dict_fd_closed(int fd)
{
	uint64_t v;

	if (pread(fd, &v, sizeof(v), DICT_STATS_OFF + offsetof(struct dict_stats, closed)) !=
	    sizeof(v))
		return 0;
	return v == DICT_CLOSED_MAGIC;
}

int dict_fd_reset(int fd)
{
	struct dict_commit commit[2];
	struct dict_stats stats;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size <= DICT_SLOT_OFF)
		return -EINVAL;
	/* Zero pages read as an empty slot table: no reader sees a half reset. */
	if (fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, DICT_SLOT_OFF,
		      st.st_size - DICT_SLOT_OFF) < 0)
		return -errno;
	memset(commit, 0, sizeof(commit));
	atomic_store(&commit[0].check, ~0ull);
	atomic_store(&commit[1].check, ~0ull);
	memset(&stats, 0, sizeof(stats));
	if (pwrite(fd, commit, sizeof(commit), DICT_COMMIT_OFF) != sizeof(commit) ||
	    pwrite(fd, &stats, sizeof(stats), DICT_STATS_OFF) != sizeof(stats))
		return -EIO;
	return 0;
}
