/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The life of one crash, from the exit record to its last audit record:
 *
 *   crash record -> image (the dead app's memfd sealed, or a sealed copy)
 *     small: validate + encode on the loop -> .fgsnap in place -> rescue
 *            -> fsync (LANE_SYNC) -> snapshot record
 *     big:   take + validate (LANE_SNAP, urgent) -> rescue with the image
 *            -> encode + write + fsync (LANE_SNAP) -> snapshot record
 *   a disk that refuses (full, read-only, quota, I/O error): the copy is
 *   held in memory (held.c), the rescue runs with it, the record says so.
 *
 * The records of one crash come out in order, crash -> snapshot -> rescue:
 * a rescue that ends before its snapshot is on disk waits for it (at most
 * RECORD_WAIT_MS; then the snapshot record says "memory" and a late record
 * follows when the write ends).
 */
#ifndef FG_COLLECTOR_CRASH_H
#define FG_COLLECTOR_CRASH_H

#include <json-c/json.h>
#include <stdint.h>

struct collector;
struct crash;
struct fg_event;
struct reg;

/* @r crashed (the exit record @e): its records, snapshot and rescue begin; @r is removed. */
void crash_begin(struct collector *c, struct reg *r, const struct fg_event *e);
/* Fills @f's signal, core dump, si_code, fault and sender fields from the exit record @e of a death by @sig. */
struct crash_facts;
void crash_facts_of_event(struct crash_facts *f, const struct fg_event *e, int sig);
/* The rescue record of @cr: written now, or after its snapshot record. Takes @rec. */
void crash_rescue_record(struct crash *cr, json_object *rec);
void crash_put(struct crash *cr); /* accepts NULL */
struct crash *crash_get(struct crash *cr);
/* Crashes whose snapshot is still being taken or written. */
unsigned int crash_in_progress(const struct collector *c);
void crash_tick(struct collector *c);
int64_t crash_next_deadline(const struct collector *c);

#endif
