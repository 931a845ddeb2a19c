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

/* The audit log path to read, or "" when the collector should be asked. */
static int log_path(const struct crash_source *src, char *buf, size_t len)
{
	if (src->audit_log) {
		snprintf(buf, len, "%s", src->audit_log);
		return 0;
	}
	snprintf(buf, len, "%s/audit.jsonl", src->state_dir ? src->state_dir : STATE_DIR_SYSTEM);
	/* A user who may not read the system's log asks the collector instead. */
	if (!src->state_dir && access(buf, R_OK) < 0 && (errno == EACCES || errno == EPERM))
		buf[0] = '\0';
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

int crash_source_list(const struct crash_source *src, json_object **out)
{
	struct crash_filter all = { .uid = AUDITLOG_ANY_UID };
	struct crash_summary *v = NULL;
	char path[PATH_MAX];
	size_t i, n = 0;
	int err;

	log_path(src, path, sizeof(path));
	*out = json_object_new_array();
	if (!path[0]) {
		err = ctl_ask_collector_lines(ctl_socket_path(src->socket), "list", add_line, *out);
		if (err)
			json_object_put(*out);
		return err;
	}
	err = auditlog_crashes(path, &all, &v, &n);
	if (err == -ENOENT) {
		return 0; /* no log yet: no crashes */
	} else if (err) {
		json_object_put(*out);
		return ctl_fail("cannot read the audit log %s: %s", path, strerror(-err));
	}
	for (i = 0; i < n; i++)
		json_object_array_add(*out, crash_summary_json(&v[i]));
	free(v);
	return 0;
}

int crash_source_show(const struct crash_source *src, const char *id, json_object **out)
{
	char path[PATH_MAX], query[128];
	int err;

	log_path(src, path, sizeof(path));
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
