/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the operations tests (tests/collector/test_ops_*.c) add to the
 * harness (collector_fixture.h): their test app, tests/helpers/ops_app, an
 * end that does not judge how the collector went, and its metrics.
 */
#ifndef FG_TEST_OPS_H
#define FG_TEST_OPS_H

#include "collector_fixture.h"

#define OPS_WAIT_MS 20000 /* for a record, a file, a metric */

/*
 * Starts `ops_app APP MODE [RESCUE_ARGV...]` as @uid (gid @uid; 0: root)
 * and waits for its "ready" line: it is registered and has written its keys.
 */
bool ops_app_start(struct fx *fx, struct fx_app *a, uid_t uid, const char *app, const char *mode,
		   const char *const *rescue_argv);
/*
 * Starts @app in mode "stdin" with @rescue_argv, tells it to die as @mode
 * and waits for its rescue record: the record, or NULL (a failure).
 */
json_object *ops_crash(struct fx *fx, const char *app, const char *mode,
		       const char *const *rescue_argv);
/* SIGTERM to the collector, whatever its exit, then fx_cleanup. */
void ops_stop(struct fx *fx);
/* The value of the sample @series ("name" or "name{label=\"v\"}") in @text, or -1. */
double ops_metric(const char *text, const char *series);
/* Polls `faultguardctl metrics` until @series reads @value; the last text stays in @out. */
bool ops_wait_metric(struct fx *fx, const char *series, double value, char *out, size_t cap);

#endif
