/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * faultguard: keep a copy of important data in a crash-safe dictionary that
 * outlives the process, and rescue it when the process dies abnormally.
 *
 * All functions returning int return 0 (or a count) on success and a negative
 * errno on failure. Functions returning a pointer return NULL and set errno.
 * No function prints.
 */
#ifndef FAULTGUARD_H
#define FAULTGUARD_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct fg;          /* a live, writable dictionary */
struct fg_snapshot; /* a read-only, rescued dictionary */

struct fg_opts {
	size_t sz;                      /* sizeof(struct fg_opts): lets the struct grow */
	const char *app;                /* required: 1-64 chars of [A-Za-z0-9._-] */
	const char *const *rescue_argv; /* NULL-terminated argv; NULL = snapshot only, no command */
	const char *socket_path;        /* NULL: $FAULTGUARD_SOCKET, else the default */
	size_t max_bytes;               /* dictionary capacity; 0 = default (64 MiB, sparse) */
	unsigned int flags;             /* FG_* */
};

/* No rescue after a non-zero exit(), only after a fatal signal. */
#define FG_RESCUE_SIGNAL_ONLY 0x1u

#define FG_DEFAULT_SOCKET "/run/faultguard/faultguard.sock"
#define FG_KEY_MAX 255 /* longest key, in bytes, without the NUL */

/*
 * Creates a dictionary and, in the background, registers it with the collector
 * (or uses the dictionary a guardian passed in $FAULTGUARD_FD). Succeeds
 * without a running collector; registration follows when one appears.
 */
struct fg *fg_open(const struct fg_opts *opts);

/*
 * Stores a copy of @len bytes at @val under @key. No system call, no lock.
 * After an abrupt death the rescued value is either this one, complete, or
 * (when the death came before fg_set returned) the previous one.
 * -EINVAL for a bad key (NULL, empty, over 255 bytes), -ENOSPC when the
 * dictionary is full (earlier values stay intact), -EBADF after fg_close.
 */
int fg_set(struct fg *fg, const char *key, const void *val, size_t len);
int fg_set_str(struct fg *fg, const char *key, const char *s);

/*
 * Copies the value of @key into @buf (up to @buf_len bytes) and stores its
 * full length in @len. Returns -ENOENT when absent, -ENOBUFS (with *len set)
 * when @buf is too small.
 */
int fg_get(struct fg *fg, const char *key, void *buf, size_t buf_len, size_t *len);
int fg_del(struct fg *fg, const char *key); /* -ENOENT when absent */

/*
 * Transactions: the sets and dels between fg_begin and fg_commit become
 * visible together at commit, or not at all. Nested fg_begin gives -EBUSY,
 * commit/rollback outside a transaction -EINVAL.
 */
int fg_begin(struct fg *fg);
int fg_commit(struct fg *fg);
int fg_rollback(struct fg *fg);

/* 1 when a collector or guardian holds the dictionary, else 0. */
int fg_registered(const struct fg *fg);

/*
 * Orderly end: the data is discarded and no rescue runs. Accepts NULL.
 * Calls on a closed handle return -EBADF (the library remembers the last
 * 1024 closed handles; beyond that a closed handle is freed memory).
 */
int fg_close(struct fg *fg);

/* Snapshots: files written by the collector or a guardian (.fgsnap). */
struct fg_snapshot *fg_snapshot_open(const char *path);
size_t fg_snapshot_count(const struct fg_snapshot *s);
int fg_snapshot_get(const struct fg_snapshot *s, const char *key, const void **val, size_t *len);
/* Entries are in key order (bytewise). -ERANGE past the end. */
int fg_snapshot_entry(const struct fg_snapshot *s, size_t i, const char **key, const void **val,
		      size_t *len);
void fg_snapshot_close(struct fg_snapshot *s); /* accepts NULL */

/*
 * Standalone guardian: creates a dictionary and forks; the child runs
 * launch(fg, arg) and exits with its return value; the parent waits and,
 * if the child died of a signal or exited non-zero (not after fg_close, and
 * with FG_RESCUE_SIGNAL_ONLY not after exit()), calls rescue(snapshot,
 * wstatus, arg). SIGINT, SIGTERM, SIGHUP and SIGQUIT are ignored by the
 * guardian while the child runs, so a Ctrl-C reaches the child alone.
 * opts->rescue_argv and opts->socket_path are not used. Returns the child's
 * wait status, or -EINVAL (bad options, checked before forking) / -errno.
 */
typedef int (*fg_launch_fn)(struct fg *fg, void *arg);
typedef void (*fg_rescue_fn)(const struct fg_snapshot *s, int wstatus, void *arg);
int fg_guard(const struct fg_opts *opts, fg_launch_fn launch, fg_rescue_fn rescue, void *arg);

/*
 * Building blocks for guardians written in other languages (the Python
 * binding, supervisors). A guardian creates a dictionary, hands its fd to
 * the child in $FAULTGUARD_FD, and reads it after the child died.
 */

/* A new, empty, sealed dictionary memfd (O_CLOEXEC) of @max_bytes (0 = default). */
int fg_memfd_create(const char *app, size_t max_bytes);
/*
 * Reads a dictionary memfd (untrusted bytes: copied and validated). Entries
 * that fail validation are dropped and counted in *discarded (may be NULL).
 */
struct fg_snapshot *fg_snapshot_read_fd(int fd, size_t *discarded);
/* Writes @s atomically (temporary name, fsync, rename) as a .fgsnap file, mode 0600. */
int fg_snapshot_save(const struct fg_snapshot *s, const char *path);

/*
 * The data an abnormal end of this app (@opts->app) left, at its next start
 * (SPEC §8.5): the newest snapshot of the app under the caller's uid that
 * nobody has claimed, claimed now (a second call gives the one before it,
 * or ENOENT). Asks the collector at @opts->socket_path ($FAULTGUARD_SOCKET,
 * else the default), which passes the file as a descriptor (this works in
 * a container); with no collector listening, reads the standalone state
 * directory (SPEC §6). NULL with errno ENOENT when there is none, EINVAL for
 * a bad app name; other errno values say why the collector could not be asked.
 * Only @opts->sz, ->app and ->socket_path are read. Close with fg_snapshot_close.
 */
struct fg_snapshot *fg_claim_previous(const struct fg_opts *opts);

/* What the snapshot file records about who died. Any out pointer may be NULL. */
int fg_snapshot_meta(const struct fg_snapshot *s, const char **app, int *pid, unsigned int *uid,
		     long long *time_ms);

#ifdef __cplusplus
}
#endif

#endif /* FAULTGUARD_H */
