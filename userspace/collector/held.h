/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Snapshots held in memory because the state directory's disk refused them
 * (full, read-only, quota, I/O error). Each is a sealed memfd — the dead
 * app's dictionary image, or the .fgsnap bytes — that nobody can change;
 * its rescue already got it. Each retention pass tries to write them again;
 * one that makes it gets a late `snapshot` record. Their memory is bounded
 * by spill_max_bytes: beyond it the oldest are dropped, each with an
 * `expire` record, reason "spill".
 */
#ifndef FG_COLLECTOR_HELD_H
#define FG_COLLECTOR_HELD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/crash_id.h"
#include "digest/sha256.h"

struct collector;

struct held {
	char id[CRASH_ID_LEN];
	char app[65];
	uid_t uid;
	gid_t gid;
	pid_t pid;
	int64_t registered_ms; /* whose autosave the disk copy supersedes */
	int fd;                /* the sealed memfd */
	int is_image;          /* a dictionary image (else .fgsnap bytes) */
	uint64_t count, value_bytes, discarded, budget; /* what the image holds */
	uint64_t bytes;        /* memory it takes */
	int64_t since_ms;      /* realtime: when the disk first refused it */
	char sha256[SHA256_HEX_LEN];
	char last_error[4096 + 256]; /* the last refusal, said once on stderr */
	int writing;           /* a write is in flight */
	struct held *next;     /* oldest first */
};

int held_init(struct collector *c);
/* At the end: one stderr line naming what is lost with the process. */
void held_free(struct collector *c);
/*
 * Takes @h (malloc'd, its fd owned): held from now on. @error is the
 * sentence of the first refusal (said on stderr). Then the budget is kept.
 */
void held_add(struct collector *c, struct held *h, const char *error);
/* A sealed memfd holding @len bytes (an in-memory .fgsnap), or -errno. */
int held_memfd(const void *p, size_t len);
/* Tries to write every held copy again (retention's pass calls it). */
void held_retry(struct collector *c);
/* 1 when a held copy waits to replace the file at @path (retention spares it). */
int held_holds(const struct collector *c, const char *path);
unsigned int held_count(const struct collector *c);
uint64_t held_bytes(const struct collector *c);
uint64_t held_write_errors(const struct collector *c);
/* Counts a failed snapshot write (every attempt). */
void held_count_write_error(struct collector *c);
/* For listings: the oldest held copy, the next one. */
const struct held *held_first(const struct collector *c);

#endif
