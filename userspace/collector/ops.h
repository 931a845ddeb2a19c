/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Operations: what fleets need around the crash pipeline, each in its file,
 * hooked into the collector at a few named places:
 *   ratelimit.c  crash loops: rescues per app and uid per interval
 *   retention.c  snapshot disk use: total bytes, free-space floor, age
 *   autosave.c   periodic checkpoints of live dictionaries
 *   metrics.c    Prometheus text: the "metrics" query and the textfile
 *   syslog.c     every audit record also to syslog, as RFC 5424
 *   reload.c     SIGHUP: the config file again, registrations kept
 */
#ifndef FG_COLLECTOR_OPS_H
#define FG_COLLECTOR_OPS_H

#include <stdint.h>
#include <sys/types.h>

#include "collector/config.h"

struct collector;
struct reg;
struct ratelimit;
struct retention;
struct autosave;
struct metrics;
struct syslog_sink;

struct ops {
	struct config_flags flags; /* reapplied over the file on reload */
	struct ratelimit *ratelimit;
	struct retention *retention;
	struct autosave *autosave;
	struct metrics *metrics;
	struct syslog_sink *syslog;
	int64_t next_metrics_ms; /* textfile: the next write, mono ms */
	int64_t next_prune_ms;   /* rate limit: the next pruning, mono ms */
	int textfile_err;        /* the last textfile write's error, to say it once */
};

/* After the audit log is open: every later audit record reaches metrics and syslog. */
int ops_init(struct collector *c, const struct config_flags *flags, const char **why);
/* From the collector's timer: does what is due. */
void ops_tick(struct collector *c);
/* When ops_tick next has something to do (mono ms), INT64_MAX for never. */
int64_t ops_next_deadline(const struct collector *c);
/* SIGHUP (reload.c). */
void ops_reload(struct collector *c);
/* (Re)connects to syslog as the settings say. */
int ops_open_syslog(struct collector *c);
/* Last words (the textfile's final numbers) and release; accepts a half-built state. */
void ops_free(struct collector *c);

/* rescue.c: 1 when the rescue of @app for @uid may run now (and counts it). */
int ops_rescue_allowed(struct collector *c, uid_t uid, const char *app);

/*
 * ending.c: @r ended without a crash, or crashed and its snapshot was
 * written: its autosave is superseded. (A crash whose snapshot failed keeps
 * its autosave, the only copy left, for `faultguardctl recover`.)
 */
void ops_registration_ended(struct collector *c, const struct reg *r);
/*
 * crash.c, held.c: the snapshot of a crash of @pid (registered at
 * @registered_ms) is on disk and durable: its autosave is superseded, and
 * retention looks at the disk soon.
 */
void ops_snapshot_stored(struct collector *c, pid_t pid, int64_t registered_ms, uid_t uid,
			 const char *app);
/* held.c: copies wait in memory: retention passes (which retry them) come often. */
void ops_held_changed(struct collector *c);

#endif
