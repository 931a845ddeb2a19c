// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Crash loops: with the default limit (5 rescues per app and uid per 10
 * minutes) the 6th crash in a row is recorded and its snapshot kept, but
 * its rescue is not run (status rate_limited); another app is unaffected.
 */
#include "ops_harness.h"

/* Starts @app with a rescue that leaves a file per run, crashes it, returns its rescue record. */
static json_object *crash_once(struct ops_env *e, const char *app, const char *marks)
{
	char script[PATH_MAX + 64];
	const char *rescue[] = { "/bin/sh", "-c", script, NULL };
	struct ops_app a;
	json_object *rec;
	pid_t pid;

	snprintf(script, sizeof(script), "touch %.3000s/$FAULTGUARD_PID", marks);
	if (!ops_app_start(e, &a, 0, app, "stdin", rescue))
		return NULL;
	pid = a.pid;
	ops_app_tell(&a, "segv");
	ops_app_wait(&a);
	rec = ops_wait_pid(e, "rescue", pid);
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
	struct ops_env e;
	int i;

	if (!ops_need_root())
		return;
	ops_env_init(&e);
	snprintf(marks, sizeof(marks), "%.3000s/marks", e.dir);
	ASSERT_OK(mkdir(marks, 0755), "mkdir marks");
	/* The default limit: no setting. */
	ASSERT_OK(ops_write_file(e.conf, "# defaults\n"), "write the config");
	if (!ops_start(&e))
		return;
	for (i = 1; i <= 6; i++) {
		rec = crash_once(&e, "looping", marks);
		if (!rec)
			break;
		if (i <= 5) {
			ASSERT_STREQ(ops_str(rec, "status"), "ok", "crashes 1-5 are rescued");
			ASSERT_TRUE(ran(marks, ops_int(rec, "pid")), "their commands ran");
		} else {
			ASSERT_STREQ(ops_str(rec, "status"), "rate_limited", "crash 6 is not");
			ASSERT_FALSE(ran(marks, ops_int(rec, "pid")), "its command did not run");
			/* Still recorded, with its snapshot on disk. */
			snap = ops_wait_record_of(&e, "snapshot", ops_str(rec, "id"));
			if (ASSERT_NOT_NULL(snap, "the 6th crash's snapshot record"))
				ASSERT_OK(access(ops_str(snap, "path"), F_OK), "its snapshot is kept");
			json_object_put(snap);
			snap = ops_wait_record_of(&e, "crash", ops_str(rec, "id"));
			ASSERT_NOT_NULL(snap, "the 6th crash is recorded");
			json_object_put(snap);
		}
		json_object_put(rec);
	}
	/* The limit is per app: another app of the same user is rescued. */
	rec = crash_once(&e, "calm", marks);
	if (rec)
		ASSERT_STREQ(ops_str(rec, "status"), "ok", "another app is not limited");
	json_object_put(rec);
	ops_stop(&e);
}

TEST(a_configured_limit_applies_and_zero_means_none)
{
	char marks[PATH_MAX + 16];
	json_object *rec;
	struct ops_env e;
	int i;

	if (!ops_need_root())
		return;
	ops_env_init(&e);
	snprintf(marks, sizeof(marks), "%.3000s/marks", e.dir);
	ASSERT_OK(mkdir(marks, 0755), "mkdir marks");
	ASSERT_OK(ops_write_file(e.conf, "rate_limit_burst = 2\nrate_limit_interval = 1h\n"),
		  "write the config");
	if (!ops_start(&e))
		return;
	for (i = 1; i <= 3; i++) {
		rec = crash_once(&e, "twice", marks);
		if (rec)
			ASSERT_STREQ(ops_str(rec, "status"), i <= 2 ? "ok" : "rate_limited",
				     "two rescues, then the limit");
		json_object_put(rec);
	}
	/* Lifted on reload: the same app is rescued again. */
	ASSERT_OK(ops_write_file(e.conf, "rate_limit_burst = 0\n"), "rewrite the config");
	ASSERT_OK(ops_signal(&e, SIGHUP), "SIGHUP");
	json_object_put(ops_wait_records(&e, "reload", "status", "ok", 1));
	rec = crash_once(&e, "twice", marks);
	if (rec)
		ASSERT_STREQ(ops_str(rec, "status"), "ok", "no limit after the reload");
	json_object_put(rec);
	ops_stop(&e);
}
