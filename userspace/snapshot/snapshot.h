/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A rescued dictionary in memory (struct fg_snapshot) and its file format
 * (.fgsnap, see docs/SNAPSHOT_FORMAT.md). The dictionary reader builds one;
 * the collector and guardians write it; fg_snapshot_open reads it back.
 */
#ifndef FG_SNAPSHOT_H
#define FG_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SNAP_APP_MAX 64

struct snap_entry {
	char *key; /* NUL-terminated, 1-255 bytes */
	uint8_t *val;
	size_t len;
};

struct fg_snapshot {
	char app[SNAP_APP_MAX + 1];
	int32_t pid;
	uint32_t uid;
	int64_t time_ms; /* when the process died (or the snapshot was taken), ms since the epoch */
	size_t count;
	size_t cap;
	uint64_t bytes; /* sum of value lengths */
	struct snap_entry *entries; /* sorted by key after snapshot_finish() */
};

struct fg_snapshot *snapshot_new(void);
/* Copies the entry in. Keys must be unique once snapshot_finish() ran. */
int snapshot_add(struct fg_snapshot *s, const char *key, size_t klen, const void *val, size_t len);
/* Sorts the entries by key; on duplicate keys keeps the one added last. */
void snapshot_finish(struct fg_snapshot *s);
void snapshot_set_meta(struct fg_snapshot *s, const char *app, int32_t pid, uint32_t uid,
		       int64_t time_ms);
const struct snap_entry *snapshot_find(const struct fg_snapshot *s, const char *key);

/*
 * A .fgsnap written as its entries come, to @fd (empty, at offset 0; the
 * header is written last with pwrite) or, with @fd -1, into memory. Exactly
 * @count entries must follow: each is _entry, then its value's bytes in
 * any number of _bytes calls. Holds about 3 MiB whatever the size. The
 * first error sticks and is returned by every later call.
 */
struct snapshot_stream;
int snapshot_stream_new(struct snapshot_stream **out, int fd, const char *app, int32_t pid,
			uint32_t uid, int64_t time_ms, uint64_t count);
int snapshot_stream_entry(struct snapshot_stream *w, const char *key, size_t klen, uint64_t len);
int snapshot_stream_bytes(struct snapshot_stream *w, const void *p, size_t n);
/* The header; the file's length into *@file_len (may be NULL). -EPROTO: entries missing. */
int snapshot_stream_finish(struct snapshot_stream *w, uint64_t *file_len);
void snapshot_stream_free(struct snapshot_stream *w); /* accepts NULL */

/* Encodes @s as .fgsnap bytes (malloc'd into *buf). */
int snapshot_encode(const struct fg_snapshot *s, void **buf, size_t *len);
/* Decodes untrusted .fgsnap bytes: an error (errno set), never a crash. */
struct fg_snapshot *snapshot_decode(const void *buf, size_t len);

/*
 * Writes @s as @dirfd/@name atomically: a temporary name in the same
 * directory, fchown to @uid/@gid (unless -1), mode 0600, fsync, rename,
 * fsync of the directory. Never follows a symlink.
 */
int snapshot_write_at(int dirfd, const char *name, const struct fg_snapshot *s, uid_t uid,
		      gid_t gid);
/*
 * The same, complete and atomically in place on return, but without the
 * fsyncs: the caller gets the open file in *@fd and makes it durable later
 * (fsync @fd, then @dirfd). Until then a power cut may leave @name empty
 * or torn, which the reader rejects (header and payload checksums).
 */
int snapshot_write_at_unsynced(int dirfd, const char *name, const struct fg_snapshot *s,
			       uid_t uid, gid_t gid, int *fd);
/*
 * A snapshot held in memory: @len .fgsnap bytes in a new memfd (O_CLOEXEC),
 * sealed so that nobody can change them. Returns the fd or -errno.
 */
int snapshot_memfd(const void *p, size_t len);
/* Reads a .fgsnap file at @dirfd/@name (AT_FDCWD for a path). */
struct fg_snapshot *snapshot_read_at(int dirfd, const char *name);
/* The same from an open file (read from offset 0 on; closed in all cases). */
struct fg_snapshot *snapshot_read_fd(int fd);

#endif
