/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Autosave: with autosave_interval set, every live dictionary is copied to
 * STATE_DIR/autosave/<uid>/<app>/<pid>.fgsnap (atomic replace, owned by
 * the app's user, 0600), so its data outlives a collector crash or a host
 * reboot. Beside it, <pid>.json says what `faultguardctl recover` needs:
 * who registered, how to tell whether that process is gone (boot id and
 * start time), and the rescue command. Both go when the registration ends
 * without a crash, or with a crash whose snapshot was written.
 *
 * A pass reads each dictionary once; it is spread over slices of 20 ms,
 * 200 ms apart, so many registrations never stall the event loop.
 */
#ifndef FG_COLLECTOR_AUTOSAVE_H
#define FG_COLLECTOR_AUTOSAVE_H

#include <stdint.h>
#include <sys/types.h>

struct collector;
struct reg;
struct autosave;

int autosave_new(struct autosave **out);
void autosave_free(struct autosave *a); /* accepts NULL */

/* From the collector's timer: starts or continues a pass when one is due. */
void autosave_tick(struct collector *c);
/* When autosave_tick has work (mono ms), INT64_MAX without an interval. */
int64_t autosave_next(const struct collector *c);
/* A new interval from a reload: the next pass is one interval from now. */
void autosave_reschedule(struct collector *c);
/* Deletes the autosave and sidecar of the registration of @pid made at @registered_ms, if any. */
void autosave_forget(struct collector *c, pid_t pid, int64_t registered_ms, uid_t uid,
		     const char *app);

/* Checkpoints written and failed since start. */
void autosave_counts(const struct collector *c, uint64_t *written, uint64_t *errors);

#endif
