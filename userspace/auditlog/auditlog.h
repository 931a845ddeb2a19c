/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading the audit log back: one summary per crash (for `faultguardctl
 * list`) and every record of one crash (for `show`). Used by faultguardctl
 * when it can read the log, and by the collector to answer users who
 * cannot (it then shows each user only their own crashes).
 */
#ifndef FG_AUDITLOG_H
#define FG_AUDITLOG_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#define AUDITLOG_ANY_UID (-1L)

struct crash_summary {
	char id[64];
	char time[32];
	int64_t time_ms;
	char app[65];
	long pid;
	long uid;
	char cause[32];
	char rescue[16]; /* "pending" until a rescue record arrives */
	char signature[17]; /* "" when the crash has none */
	char frame[192];    /* the innermost named frame, "function (module)"; "" none */
};

struct crash_filter {
	long uid;         /* AUDITLOG_ANY_UID for all */
	const char *app;  /* NULL for all */
	int64_t since_ms; /* 0 for all */
};

/* The crashes in the log at @path, oldest first (malloc'd array in *out). */
int auditlog_crashes(const char *path, const struct crash_filter *f, struct crash_summary **out,
		     size_t *n);
json_object *crash_summary_json(const struct crash_summary *s);

/*
 * Every record about crash @id, in log order, as a JSON array; -ENOENT when
 * there is none visible to @uid (AUDITLOG_ANY_UID: everyone's).
 */
int auditlog_crash_records(const char *path, const char *id, long uid, json_object **out);

#endif
