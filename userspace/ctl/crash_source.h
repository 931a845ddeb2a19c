/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where `list` and `show` find what was recorded: the audit log they can
 * read (--audit-log, else STATE_DIR/audit.jsonl), or — for a user who may
 * not read the system's audit log — the collector, which answers with that
 * user's own crashes only. Without --state-dir or --audit-log, a user's own
 * `faultguardctl run` crashes (their default state directory's log) are
 * shown too.
 */
#ifndef FG_CTL_CRASH_SOURCE_H
#define FG_CTL_CRASH_SOURCE_H

#include <json-c/json.h>

struct crash_source {
	const char *state_dir; /* --state-dir, or NULL */
	const char *audit_log; /* --audit-log, or NULL */
	const char *socket;    /* --socket, or NULL */
};

/* One JSON object per crash (id, time, app, pid, uid, cause, rescue), oldest first. */
int crash_source_list(const struct crash_source *src, json_object **out);
/* Every record about crash @id as a JSON array. */
int crash_source_show(const struct crash_source *src, const char *id, json_object **out);

#endif
