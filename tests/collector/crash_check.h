/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a crash must leave behind, for the test_collector_* suites: the
 * crash, snapshot and rescue records, the snapshot file, the rescue
 * command's report — or, for an orderly end, none of them. On top of the
 * harness (collector_fixture.h).
 */
#ifndef FG_CRASH_CHECK_H
#define FG_CRASH_CHECK_H

#include "collector_fixture.h"

/* What a crash must look like in every place it leaves a trace. */
struct fx_crash {
	const char *cause;
	int signal;               /* 0: the app exited */
	int exit_code;            /* when signal == 0 */
	int si_code;              /* when signal != 0 */
	const char *fault_addr;   /* NULL: expected null */
	pid_t sender_pid;         /* 0: sender fields expected null */
	uid_t sender_uid;
	const char *sender_comm;
	const char *rescue_status; /* NULL: "ok" */
	/*
	 * NULL: on disk at once. "memory": the disk refused it (its error
	 * names @disk_error), it is held in memory and its rescue read it there.
	 */
	const char *stored;
	const char *disk_error;
};

/*
 * Checks @a's crash end to end: the crash, snapshot and rescue records
 * (fields of SPEC §5, one shared id), the snapshot file (exact contents,
 * owner, mode, directories) and — when @r is not NULL — the rescue
 * command's report (environment, credentials, stdin, descriptors).
 * The crash id goes to @id (CRASH_ID_LEN bytes) when not NULL.
 */
bool fx_check_crash(struct fx *fx, struct fx_app *a, const struct fx_crash *x,
		    struct fx_rescue *r, char *id);
/*
 * A snapshot file at the path @snap names holds exactly what @a wrote, with
 * the owner, mode and folders SPEC §4 says, and the record's sha256.
 */
bool fx_check_snapshot_file(struct fx *fx, struct fx_app *a, json_object *snap, const char *id);
/* Checks the rescue report alone against the crash record @crash. */
bool fx_check_report(struct fx *fx, struct fx_app *a, json_object *crash, json_object *snapshot,
		     json_object *report, const struct fx_rescue *r);
/* The sum of the value lengths app_data.h writes for @a (its fill too), and their number. */
size_t fx_expected_bytes(const struct fx_app *a);
long long fx_expected_keys(const struct fx_app *a);
/* No crash record for @a, no snapshot of its app (after a barrier). */
bool fx_check_no_crash(struct fx *fx, struct fx_app *a);

#endif
