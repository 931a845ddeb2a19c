/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Where `list` and `show` find what was recorded:
 *   --audit-log F, --state-dir D   that log (D/audit.jsonl), which must exist
 *                                  and be readable;
 *   --socket P, $FAULTGUARD_SOCKET the collector on P, which answers root
 *                                  with every crash and a user with theirs;
 *   nothing                        the system's log when it is readable,
 *                                  else the collector on the default socket.
 * Without --state-dir or --audit-log, a user's own `faultguardctl run`
 * crashes (their default state directory's log) are shown too.
 */
#ifndef FG_CTL_CRASH_SOURCE_H
#define FG_CTL_CRASH_SOURCE_H

#include <json-c/json.h>

struct crash_source {
	const char *state_dir; /* --state-dir, or NULL */
	const char *audit_log; /* --audit-log, or NULL */
	const char *socket;    /* --socket, or NULL */
};

/* --socket with --state-dir or --audit-log: bad usage of @cmd (EXIT_USAGE), else 0. */
int crash_source_check(const struct crash_source *src, const char *cmd);
/* One JSON object per crash (id, time, app, pid, uid, cause, rescue), oldest first. */
int crash_source_list(const struct crash_source *src, json_object **out);
/* Every record about crash @id as a JSON array. */
int crash_source_show(const struct crash_source *src, const char *id, json_object **out);

#endif
