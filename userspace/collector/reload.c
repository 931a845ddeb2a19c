// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SIGHUP: read the config file again and apply it without touching the
 * registrations. A file with errors changes nothing (the errors are logged
 * and audited). Settings bound at start — the socket path and the state
 * directory — keep their value until a restart, and the reload says so.
 * The audit log is reopened in any case, so logrotate can move it away.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/autosave.h"
#include "collector/collector.h"
#include "collector/ops.h"
#include "collector/retention.h"

/*
 * Logs each line of @text on stderr and adds the errors (not the count) to
 * @arr. config_build's own lines start "faultguardd: ": that prefix goes,
 * so a line reads "faultguardd: reload: ..." once.
 */
static void report_errors(const char *path, const char *text, json_object *arr)
{
	static const char prefix[] = "faultguardd: ";
	const char *p = text, *nl;
	char summary[4200];
	size_t len;

	snprintf(summary, sizeof(summary), "%s has ", path);
	while (p && *p) {
		nl = strchr(p, '\n');
		if (!strncmp(p, prefix, sizeof(prefix) - 1))
			p += sizeof(prefix) - 1;
		len = nl ? (size_t)(nl - p) : strlen(p);
		fprintf(stderr, "faultguardd: reload: %.*s\n", (int)len, p);
		if (strncmp(p, summary, strlen(summary)))
			json_object_array_add(arr, audit_strn(p, len));
		p = nl ? nl + 1 : NULL;
	}
}

static void keep(json_object *pending, const char *name, const char *was, const char *wanted)
{
	fprintf(stderr, "faultguardd: reload: %s cannot change while running (still %s, %s after "
			"a restart)\n", name, was, wanted);
	json_object_array_add(pending, json_object_new_string(name));
}

static void apply_socket_access(struct collector *c, const struct config *next)
{
	if (next->socket_mode == c->cfg.socket_mode && next->socket_group == c->cfg.socket_group)
		return;
	if (chmod(c->cfg.socket_path, next->socket_mode) < 0 ||
	    (next->socket_group != (gid_t)-1 &&
	     chown(c->cfg.socket_path, (uid_t)-1, next->socket_group) < 0))
		fprintf(stderr,
			"faultguardd: reload: cannot change the socket's mode or group: %s\n",
			strerror(errno));
}

void ops_reload(struct collector *c)
{
	json_object *rec = audit_record("reload"), *errors = json_object_new_array(),
		    *pending = json_object_new_array();
	struct config next;
	char *text = NULL;
	size_t len = 0;
	FILE *err = open_memstream(&text, &len);
	int rc, e;

	rc = config_build(&next, &c->ops->flags, err ? err : stderr);
	if (err)
		fclose(err);
	json_object_object_add(rec, "config", audit_str(c->cfg.config_path));
	if (rc) {
		report_errors(c->cfg.config_path, text, errors);
		fprintf(stderr, "faultguardd: reload: keeping the previous settings\n");
		json_object_object_add(rec, "status", json_object_new_string("failed"));
		json_object_object_add(rec, "errors", errors);
		json_object_put(pending);
		audit_emit(c->audit, rec);
		free(text);
		return;
	}
	free(text);
	json_object_put(errors);
	if (strcmp(next.socket_path, c->cfg.socket_path)) {
		keep(pending, "socket", c->cfg.socket_path, next.socket_path);
		strcpy(next.socket_path, c->cfg.socket_path);
	}
	if (strcmp(next.state_dir, c->cfg.state_dir)) {
		keep(pending, "state_dir", c->cfg.state_dir, next.state_dir);
		strcpy(next.state_dir, c->cfg.state_dir);
		/* The default audit log lives in the state directory: it stays too. */
		strcpy(next.audit_log, c->cfg.audit_log);
	}
	apply_socket_access(c, &next);
	e = audit_reopen(c->audit, next.audit_log);
	if (e) {
		fprintf(stderr, "faultguardd: reload: cannot open the audit log %s: %s; still "
				"writing to %s\n", next.audit_log, strerror(-e), c->cfg.audit_log);
		strcpy(next.audit_log, c->cfg.audit_log);
	}
	c->cfg = next;
	if (ops_open_syslog(c))
		fprintf(stderr, "faultguardd: reload: out of memory for syslog\n");
	autosave_reschedule(c);
	retention_soon(c);
	c->ops->next_metrics_ms = 0;
	json_object_object_add(rec, "status", json_object_new_string("ok"));
	json_object_object_add(rec, "restart_needed", pending);
	audit_emit(c->audit, rec);
	if (c->cfg.verbose)
		fprintf(stderr, "faultguardd: reloaded %s\n", c->cfg.config_path);
}
