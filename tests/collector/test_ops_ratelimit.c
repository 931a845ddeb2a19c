// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Crash loops: with the default limit (5 rescues per app and uid per 10
 * minutes) the 6th crash in a row is recorded and its snapshot kept, but
 * its rescue is not run (status rate_limited); another app is unaffected.
 */
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include "framework/test.h"
#include "ops.h"

/* Starts @app with a rescue that leaves a file per run, crashes it, returns its rescue record. */
static json_object *crash_once(struct fx *e, const char *app, const char *marks)
{
	char script[PATH_MAX + 64];
	const char *rescue[] = { "/bin/sh", "-c", script, NULL };
	json_object *rec;

	snprintf(script, sizeof(script), "touch %.3000s/$FAULTGUARD_PID", marks);
	rec = ops_crash(e, app, "segv", rescue);
	ASSERT_NOT_NULL(rec, "a rescue record for the crash");
	return rec;
}

static bool ran(const char *marks, long long pid)
{
	char path[PATH_MAX + 32];

	snprintf(path, sizeof(path), "%.3000s/%lld", marks, pid);
	return access(path, F_OK) == 0;
}

TEST(sixth_crash_in_a_row_is_rate_limited)
{
	char marks[PATH_MAX + 16];
	json_object *rec, *snap;
	struct fx e;
	int i;

	if (!fx_can_run() || !fx_init(&e))
		return;
	snprintf(marks, sizeof(marks), "%.3000s/marks", e.dir);
	ASSERT_OK(mkdir(marks, 0755), "mkdir marks");
	/* The default limit: no setting. */
	e.config = "# defaults\n";
	if (!fx_start(&e))
		return;
	for (i = 1; i <= 6; i++) {
		rec = crash_once(&e, "looping", marks);
		if (!rec)
			break;
		if (i <= 5) {
			ASSERT_STREQ(jstr(rec, "status"), "ok", "crashes 1-5 are rescued");
			ASSERT_TRUE(ran(marks, jint_or(rec, "pid", -1)), "their commands ran");
		} else {
			ASSERT_STREQ(jstr(rec, "status"), "rate_limited", "crash 6 is not");
			ASSERT_FALSE(ran(marks, jint_or(rec, "pid", -1)), "its command did not run");
			/* Still recorded, with its snapshot on disk. */
			snap = fx_wait_id(&e, "snapshot", jstr(rec, "id"), OPS_WAIT_MS);
			if (ASSERT_NOT_NULL(snap, "the 6th crash's snapshot record"))
				ASSERT_OK(access(jstr(snap, "path"), F_OK), "its snapshot is kept");
			json_object_put(snap);
			snap = fx_wait_id(&e, "crash", jstr(rec, "id"), OPS_WAIT_MS);
			ASSERT_NOT_NULL(snap, "the 6th crash is recorded");
			json_object_put(snap);
		}
		json_object_put(rec);
	}
	/* The limit is per app: another app of the same user is rescued. */
	rec = crash_once(&e, "calm", marks);
	if (rec)
		ASSERT_STREQ(jstr(rec, "status"), "ok", "another app is not limited");
	json_object_put(rec);
	ops_stop(&e);
}

TEST(a_configured_limit_applies_and_zero_means_none)
{
	char marks[PATH_MAX + 16];
	json_object *rec;
	struct fx e;
	int i;

	if (!fx_can_run() || !fx_init(&e))
		return;
	snprintf(marks, sizeof(marks), "%.3000s/marks", e.dir);
	ASSERT_OK(mkdir(marks, 0755), "mkdir marks");
	e.config = "rate_limit_burst = 2\nrate_limit_interval = 1h\n";
	if (!fx_start(&e))
		return;
	for (i = 1; i <= 3; i++) {
		rec = crash_once(&e, "twice", marks);
		if (rec)
			ASSERT_STREQ(jstr(rec, "status"), i <= 2 ? "ok" : "rate_limited",
				     "two rescues, then the limit");
		json_object_put(rec);
	}
	/* Lifted on reload: the same app is rescued again. */
	ASSERT_OK(fx_write_file(e.conf, "rate_limit_burst = 0\n"), "rewrite the config");
	ASSERT_OK(fx_signal(&e, SIGHUP), "SIGHUP");
	json_object_put(fx_wait_with(&e, "reload", "status", "ok", 0, OPS_WAIT_MS));
	rec = crash_once(&e, "twice", marks);
	if (rec)
		ASSERT_STREQ(jstr(rec, "status"), "ok", "no limit after the reload");
	json_object_put(rec);
	ops_stop(&e);
}
