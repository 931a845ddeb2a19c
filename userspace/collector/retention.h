/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Bounded disk use for snapshots: the files under STATE_DIR/snapshots/ are
 * deleted oldest first (by modification time) while one of the limits is
 * exceeded — older than retention_max_age, more than retention_max_bytes
 * in all, or less than retention_min_free percent of the state directory's
 * file system available. Each deletion is an `expire` audit record. A
 * snapshot that a rescue is about to read or is reading is never deleted.
 *
 * It runs at start, soon after each snapshot (coalesced to once a second
 * in a crash storm), after a reload, and hourly so that age applies even
 * when nothing crashes.
 */
#ifndef FG_COLLECTOR_RETENTION_H
#define FG_COLLECTOR_RETENTION_H

#include <stdint.h>

struct collector;
struct retention;

int retention_new(struct retention **out);
void retention_free(struct retention *r); /* accepts NULL */

/* Asks for a pass soon (at most one a second). */
void retention_soon(struct collector *c);
/* From the collector's timer: runs a pass when one is due. */
void retention_tick(struct collector *c);
/* When the next pass is due (mono ms). */
int64_t retention_next(const struct collector *c);

/* Snapshot files and their bytes on disk, as of the last pass. */
uint64_t retention_bytes(const struct collector *c);
uint64_t retention_files(const struct collector *c);

#endif
