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

#endif
