/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The crash-safe dictionary: a sealed memfd that a writer maps and a reader
 * (the collector, a guardian) copies and validates after the writer died.
 * This module is the only one that knows the layout (dict/layout.h).
 */
#ifndef FG_DICT_H
#define FG_DICT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fg_snapshot;

#define DICT_DEFAULT_BYTES (64ull << 20)
#define DICT_MIN_BYTES (64ull << 10)
#define DICT_MAX_BYTES (4ull << 30)

/* Creates, sizes, seals and formats a dictionary memfd (O_CLOEXEC). */
int dict_memfd_create(const char *app, uint64_t max_bytes);

/*
 * Checks that @fd is a dictionary a reader may accept: a memfd with
 * F_SEAL_SHRINK and F_SEAL_GROW and a size of at most @max_bytes. Returns
 * the size, or -EBADF (not a memfd), -EPERM (not sealed against shrinking
 * and growing), -EFBIG.
 * *why (may be NULL) gets a sentence for the audit log.
 */
int64_t dict_check_fd(int fd, uint64_t max_bytes, const char **why);

/* Informational counters the writer keeps in the dictionary (untrusted). */
int dict_peek_stats(int fd, uint64_t *keys, uint64_t *bytes);

/* --- writer --------------------------------------------------------------- */
struct dict_writer;

/* Maps a freshly created dictionary for writing. */
int dict_writer_attach(int fd, struct dict_writer **out);
void dict_writer_free(struct dict_writer *w); /* accepts NULL; does not close fd */
/* In a forked child: keep a private copy, never write to the parent's memfd @fd. */
void dict_writer_detach(struct dict_writer *w, int fd);

/*
 * An orderly end: marks the dictionary closed (readers then treat it as
 * holding nothing to rescue) and discards its contents.
 */
void dict_writer_close(struct dict_writer *w, int fd);
/* 1 when the writer ended in order (dict_writer_close), else 0. */
int dict_fd_closed(int fd);
/* Empties a dictionary a new writer takes over (an inherited $FAULTGUARD_FD). */
int dict_fd_reset(int fd);

int dict_set(struct dict_writer *w, const char *key, size_t klen, const void *val, size_t len);
/* dict_set with a NUL-terminated @key: the path fg_set takes. */
int dict_set_cstr(struct dict_writer *w, const char *key, const void *val, size_t len);
/* strnlen(@key, 256): 256 means too long, 0 empty. @key may not be NULL. */
size_t dict_key_len(const char *key);
int dict_get(struct dict_writer *w, const char *key, size_t klen, void *buf, size_t buf_len,
	     size_t *len);
int dict_del(struct dict_writer *w, const char *key, size_t klen);
int dict_begin(struct dict_writer *w);
int dict_commit(struct dict_writer *w);
int dict_rollback(struct dict_writer *w);

/* --- reader --------------------------------------------------------------- */
struct dict_read_stats {
	uint64_t discarded; /* versions dropped as torn, corrupt or out of bounds */
	uint64_t keys;      /* entries in the result */
	uint64_t bytes;     /* value bytes in the result */
};

/*
 * Copies the dictionary in @fd (pread into private memory, never mmap) and
 * returns its valid entries as a snapshot. Terminates on any input; never
 * trusts a field without a bounds check. @limit caps the bytes it will
 * read (the file size is also a cap).
 */
struct fg_snapshot *dict_read_fd(int fd, uint64_t limit, struct dict_read_stats *st);

/* The same over bytes already in memory (the fuzzer's entry point). */
struct fg_snapshot *dict_read_mem(const void *buf, size_t len, struct dict_read_stats *st);

/*
 * Scanning without building a snapshot: every valid entry goes to a sink,
 * in slot order, with the same checks as dict_read_fd. What the scan holds
 * is bounded whatever the dictionary's size: one value of at most
 * value_max bytes (longer ones are checked in pieces and handed over
 * unread, for the sink to read with dict_entry_read).
 */
struct dict_entry {
	const char *key; /* not NUL-terminated */
	size_t klen;
	uint64_t len;
	const void *val; /* all len bytes, or NULL when len > value_max */
	const void *src_; /* private: where dict_entry_read finds the bytes */
	uint64_t off_;
};

/* Who the dictionary belonged to: its app, and who died if an image says so. */
struct dict_who {
	char app[65];
	int known; /* pid, uid and time_ms were written by whoever made the image */
	int32_t pid;
	uint32_t uid;
	int64_t time_ms;
};

struct dict_scan {
	uint64_t limit;   /* refuse a dictionary larger than this (0: no limit) */
	uint64_t budget;  /* arena bytes read at most (0: the arena's size) */
	size_t value_max; /* see above; nonzero only for a sealed image (-EINVAL otherwise) */
	/* 0: taken; > 0: refused (counted as discarded); < 0: stops the scan with that error. */
	int (*entry)(void *arg, const struct dict_entry *e);
	void *arg;
	struct dict_who *who; /* filled in when not NULL */
};

int dict_scan_fd(int fd, const struct dict_scan *o, struct dict_read_stats *st);
int dict_scan_mem(const void *buf, size_t len, const struct dict_scan *o,
		  struct dict_read_stats *st);
/* Just the app and who died (an image's header), -EINVAL when @fd holds no dictionary. */
int dict_read_who(int fd, struct dict_who *who);
/* @len bytes from @off of an entry's value (the way to read one whose val is NULL). */
int dict_entry_read(const struct dict_entry *e, uint64_t off, void *buf, size_t len);

/* --- images: a dead writer's dictionary, made immutable -------------------- */

/*
 * Writes who died into the dictionary in @fd, then seals it against writes
 * (F_SEAL_WRITE, F_SEAL_SEAL): from then on nobody can change its bytes, so
 * what a reader validated is what a rescue reads. -EBUSY while a writable
 * shared mapping is left (a process still maps it, or the dead writer's
 * memory is not torn down yet); -EPERM when the seals cannot be extended.
 */
int dict_image_seal(int fd, int32_t pid, uint32_t uid, int64_t time_ms);
/*
 * A sealed copy of @fd's data (holes stay holes) with who died written in:
 * the image when @fd cannot be sealed. At most @max_copy bytes of data are
 * copied (-EFBIG beyond). Returns the new memfd (O_CLOEXEC) or -errno.
 */
int dict_image_copy(int fd, int32_t pid, uint32_t uid, int64_t time_ms, uint64_t max_copy);
/* 1 when @fd is sealed against every change. */
int dict_image_sealed(int fd);
/* The memory @fd's pages take (holes are free), or -errno. */
int64_t dict_fd_allocated(int fd);
/* 1 when @p (at least 8 bytes) starts a dictionary. */
int dict_magic(const void *p);

#endif
