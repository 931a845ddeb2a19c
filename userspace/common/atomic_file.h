/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Replacing a file whole or not at all: the bytes go to a temporary file
 * in the same directory, under an unpredictable name (whoever can write
 * into the directory cannot block the write by planting a file where it
 * would go), which is then renamed over the target. Readers see the old
 * file or the new one, never a part.
 */
#ifndef FG_ATOMIC_FILE_H
#define FG_ATOMIC_FILE_H

#include <stddef.h>
#include <sys/types.h>

struct atomic_file_opts {
	mode_t mode; /* whatever the umask */
	uid_t uid;   /* (uid_t)-1 and (gid_t)-1: keep ours */
	gid_t gid;
	/*
	 * 1: durable before it returns (fsync of the file before the rename,
	 * of the directory after). 0: neither fsync.
	 */
	int sync;
};

/*
 * Writes @len bytes of @buf to @name in @dirfd (AT_FDCWD: @name may be a
 * path). With @keep_fd, the renamed file is left open there (for a caller
 * that syncs it later). Returns 0 or -errno; on failure nothing is left.
 */
int atomic_file_write(int dirfd, const char *name, const void *buf, size_t len,
		      const struct atomic_file_opts *o, int *keep_fd);

/*
 * The same in steps, for bytes that come in pieces: begin (af->fd is the
 * temporary file, to write), then commit (fsync as @o says, close or keep,
 * rename) or abort (nothing left). On a commit error nothing is left either.
 */
struct atomic_file {
	int fd, dirfd;
	struct atomic_file_opts o;
	char name[4096];
	char tmp[4096 + 64];
};
int atomic_file_begin(struct atomic_file *af, int dirfd, const char *name,
		      const struct atomic_file_opts *o);
int atomic_file_commit(struct atomic_file *af, int *keep_fd);
void atomic_file_abort(struct atomic_file *af); /* accepts a finished one */

#endif
