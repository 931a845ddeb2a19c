/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Snapshot work that may take long, done on a worker thread (workers.c):
 * functions of file descriptors and plain values only, no collector state.
 *
 * The critical path of a big crash is taking the image and validating it:
 * one pass over the data (none more when the dead app's memfd can be sealed
 * in place; one copy when it cannot). The .fgsnap file on disk is made
 * afterwards, while the rescue already runs, from the same immutable image.
 */
#ifndef FG_COLLECTOR_SNAPWORK_H
#define FG_COLLECTOR_SNAPWORK_H

#include <stdint.h>
#include <sys/types.h>

#include "dict/dict.h"
#include "digest/sha256.h"

struct image_who {
	int32_t pid;
	uint32_t uid;
	int64_t time_ms;
};

/*
 * The dead app's dictionary @memfd made an image: sealed in place, or (when
 * it cannot be: a process still maps it, or its seals are frozen) a sealed
 * copy of at most @max_copy bytes of data. A memfd still mapped by the
 * dying process is waited for up to @wait_ms (@pidfd readable: the process
 * is gone). *@copied says which. Returns the image fd or -errno.
 */
int snapwork_take_image(int memfd, int pidfd, int wait_ms, const struct image_who *who,
			uint64_t max_copy, int *copied);

/* Checks every entry of @image (bounded memory), counting into @st. */
int snapwork_validate(int image, uint64_t limit, uint64_t budget, struct dict_read_stats *st);

/* Where a store failed, for the sentence: "write", "fsync", "close", "rename"... */
struct store_result {
	int err;
	const char *step;
	uint64_t file_bytes;
	char sha256[SHA256_HEX_LEN];
};

/*
 * Writes @image's @count entries as a .fgsnap at @dirfd/@name, owned by
 * @uid/@gid, mode 0600, durably (fsync of the file, rename, fsync of the
 * directory), and the SHA-256 of the file's bytes.
 */
void snapwork_store_image(int image, uint64_t count, uint64_t budget, int dirfd,
			  const char *name, uid_t uid, gid_t gid, struct store_result *res);
/* The same for .fgsnap bytes held in the memfd @fd. */
void snapwork_store_file(int fd, int dirfd, const char *name, uid_t uid, gid_t gid,
			 struct store_result *res);
/* SHA-256 of every byte of @fd (holes read as zeros). */
int snapwork_hash_fd(int fd, char hex[SHA256_HEX_LEN]);

#endif
