// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditlog/auditlog.h"
#include "ctl/ask_collector.h"
#include "ctl/crash_source.h"
#include "ctl/ctl.h"
#include "ctl/state_dir.h"

/*
 * The audit log path to read, or "" when the collector should be asked;
 * 1 (said on stderr) when the log named cannot be read.
 */
static int log_path(const struct crash_source *src, char *buf, size_t len)
{
	buf[0] = '\0';
	if (src->audit_log) {
		snprintf(buf, len, "%s", src->audit_log);
		if (access(buf, F_OK) < 0)
			return ctl_fail("there is no audit log %s", buf);
	} else if (src->state_dir) {
		if (access(src->state_dir, F_OK) < 0)
			return ctl_fail("there is no state directory %s", src->state_dir);
		snprintf(buf, len, "%s/audit.jsonl", src->state_dir);
	} else if (src->socket || (getenv("FAULTGUARD_SOCKET") && *getenv("FAULTGUARD_SOCKET"))) {
		return 0; /* a collector named: ask it */
	} else {
		snprintf(buf, len, "%s/audit.jsonl", STATE_DIR_SYSTEM);
		/* A user who may not read the system's log asks the collector instead. */
		if (access(buf, R_OK) < 0 && (errno == EACCES || errno == EPERM))
			buf[0] = '\0';
		return 0;
	}
	/* A log named by its path is read, or its reader is told how else to see its crashes. */
	if (access(buf, R_OK) < 0 && (errno == EACCES || errno == EPERM))
		return ctl_fail("cannot read the audit log %s: %s; a user sees their own crashes by "
				"asking the collector that writes it (--socket PATH)",
				buf, strerror(errno));
	return 0;
}

int crash_source_check(const struct crash_source *src, const char *cmd)
{
	if (src->socket && (src->state_dir || src->audit_log))
		return ctl_usage(cmd, "--socket asks a collector, --%s reads a log: give one of them",
				 src->state_dir ? "state-dir" : "audit-log");
	return 0;
}

static int add_line(const char *text, void *arg)
{
	json_object *o = json_tokener_parse(text);

	if (!o)
		return ctl_fail("the collector sent a line that is not JSON");
	json_object_array_add(arg, o);
	return 0;
}

/* Appends the crashes recorded in the log at @path; -ENOENT when there is no log. */
static int add_from_log(const char *path, json_object *arr)
{
	struct crash_filter all = { .uid = AUDITLOG_ANY_UID };
	struct crash_summary *v = NULL;
	size_t i, n = 0;
	int err = auditlog_crashes(path, &all, &v, &n);

	if (err)
		return err;
	for (i = 0; i < n; i++)
		json_object_array_add(arr, crash_summary_json(&v[i]));
	free(v);
	return 0;
}

/*
 * The audit log of the caller's own `faultguardctl run` crashes, when no
 * source was named and it is not the system's log (root's run writes there).
 */
static int own_log(const struct crash_source *src, char *buf, size_t len)
{
	char dir[PATH_MAX];

	if (src->state_dir || src->audit_log || geteuid() == 0 ||
	    state_dir_default(dir, sizeof(dir)) < 0)
		return 0;
	snprintf(buf, len, "%s/audit.jsonl", dir);
	return access(buf, R_OK) == 0;
}

static int by_time(const void *a, const void *b)
{
	json_object *x = *(json_object *const *)a, *y = *(json_object *const *)b;
	json_object *tx, *ty;

	if (!json_object_object_get_ex(x, "time", &tx) || !json_object_object_get_ex(y, "time", &ty))
		return 0;
	/* RFC 3339 UTC with milliseconds sorts as text. */
	return strcmp(json_object_get_string(tx), json_object_get_string(ty));
}

int crash_source_list(const struct crash_source *src, json_object **out)
{
	char path[PATH_MAX], own[PATH_MAX + 16];
	int err, have_own;

	if (log_path(src, path, sizeof(path)))
		return EXIT_FAILURE_EXPLAINED;
	have_own = own_log(src, own, sizeof(own));
	*out = json_object_new_array();
	if (have_own && add_from_log(own, *out))
		have_own = 0;
	if (!path[0]) {
		/* A user of the standalone mode alone has no collector to ask. */
		int ask = !have_own || src->socket || access(ctl_socket_path(src->socket), F_OK) == 0;

		err = ask ? ctl_ask_collector_lines(ctl_socket_path(src->socket), "list", add_line,
						    *out)
			  : 0;
		/* The collector's silence hides nothing when the user's own log answered. */
		if (err && !have_own) {
			json_object_put(*out);
			return err;
		}
	} else {
		err = add_from_log(path, *out);
		if (err && err != -ENOENT) { /* no log yet: no crashes */
			json_object_put(*out);
			return ctl_fail("cannot read the audit log %s: %s", path, strerror(-err));
		}
	}
	if (have_own)
		json_object_array_sort(*out, by_time);
	return 0;
}

int crash_source_show(const struct crash_source *src, const char *id, json_object **out)
{
	char path[PATH_MAX], own[PATH_MAX + 16], query[128];
	int err;

	if (log_path(src, path, sizeof(path)))
		return EXIT_FAILURE_EXPLAINED;
	if (own_log(src, own, sizeof(own)) &&
	    auditlog_crash_records(own, id, AUDITLOG_ANY_UID, out) == 0)
		return 0;
	if (!path[0]) {
		snprintf(query, sizeof(query), "show %.100s", id);
		*out = json_object_new_array();
		err = ctl_ask_collector_lines(ctl_socket_path(src->socket), query, add_line, *out);
		if (!err && json_object_array_length(*out) == 0)
			err = ctl_fail("no crash with id %s", id);
		if (err)
			json_object_put(*out);
		return err;
	}
	err = auditlog_crash_records(path, id, AUDITLOG_ANY_UID, out);
	if (err == -ENOENT)
		return ctl_fail("no crash with id %s in %s", id, path);
	if (err)
		return ctl_fail("cannot read the audit log %s: %s", path, strerror(-err));
	return 0;
}
