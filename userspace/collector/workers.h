/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The collector's helper threads: work that must not hold up the event
 * loop. Two lanes:
 *   LANE_SYNC  fsyncs of small snapshots already in place (disk flushes of
 *              milliseconds, after the rescue started);
 *   LANE_SNAP  big dictionaries: sealing or copying, validating, encoding
 *              and writing them — seconds for a GiB, while the loop goes on
 *              serving other crashes, registrations and queries.
 * Work is queued per user and taken from the user with the fewest works
 * running (round robin among equals), urgent work (a rescue waits on it)
 * before the rest: one user's big crashes cannot starve another's. A work
 * runs on a worker thread touching only what it owns, then its done()
 * runs on the loop's thread.
 */
#ifndef FG_COLLECTOR_WORKERS_H
#define FG_COLLECTOR_WORKERS_H

#include <sys/types.h>

struct collector;

enum work_lane { LANE_SYNC, LANE_SNAP, LANE_COUNT };

struct work {
	enum work_lane lane;
	uid_t uid;
	int urgent;
	void (*run)(struct work *w);  /* worker thread */
	void (*done)(struct work *w); /* loop thread, after run; may free the work */
	struct work *next;            /* private */
};

int workers_new(struct collector *c);
void workers_submit(struct collector *c, struct work *w);
/*
 * Runs every queued work and its done() (and whatever those submit) to the
 * end: at shutdown, so that nothing handed over is left half done.
 */
void workers_drain(struct collector *c);
void workers_free(struct collector *c); /* after workers_drain; accepts a half-built state */

#endif
