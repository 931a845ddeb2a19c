// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdio.h>
#include <string.h>

#include "auditlog/audit.h"
#include "auditlog/records.h"
#include "common/cause.h"
#include "faultguard.h"

static json_object *int_or_null(int have, int64_t v)
{
	return have ? json_object_new_int64(v) : NULL;
}

json_object *record_crash(const struct crash_facts *f)
{
	json_object *rec = audit_record("crash");
	const char *name = f->signal ? signal_name(f->signal) : NULL;
	char addr[32];

	snprintf(addr, sizeof(addr), "0x%llx", (unsigned long long)f->fault_addr);
	json_object_object_add(rec, "id", json_object_new_string(f->id));
	json_object_object_add(rec, "app", audit_str(f->app));
	json_object_object_add(rec, "pid", json_object_new_int(f->pid));
	json_object_object_add(rec, "uid", json_object_new_int64(f->uid));
	json_object_object_add(rec, "cause", json_object_new_string(f->cause));
	json_object_object_add(rec, "signal", json_object_new_int(f->signal));
	json_object_object_add(rec, "signal_name", name ? json_object_new_string(name) : NULL);
	json_object_object_add(rec, "si_code", int_or_null(f->have_si_code, f->si_code));
	json_object_object_add(rec, "fault_addr",
			       f->have_fault ? json_object_new_string(addr) : NULL);
	json_object_object_add(rec, "sender_pid", int_or_null(f->have_sender, f->sender_pid));
	json_object_object_add(rec, "sender_uid", int_or_null(f->have_sender, f->sender_uid));
	json_object_object_add(rec, "sender_comm",
			       f->have_sender && f->sender_comm
				       ? audit_strn(f->sender_comm, strnlen(f->sender_comm, 16))
				       : NULL);
	json_object_object_add(rec, "exit_code", int_or_null(!f->signal, f->exit_code));
	json_object_object_add(rec, "core_dumped",
			       json_object_new_boolean(f->signal && f->core_dumped));
	return rec;
}

json_object *record_snapshot(const char *id, const char *app, pid_t pid, const char *path,
			     const struct fg_snapshot *s, uint64_t discarded, int64_t ms, int err)
{
	json_object *rec = audit_record("snapshot");
	const char *key;
	size_t i, len, n = s ? fg_snapshot_count(s) : 0;
	int64_t bytes = 0;

	for (i = 0; i < n && fg_snapshot_entry(s, i, &key, NULL, &len) == 0; i++)
		bytes += (int64_t)len;
	json_object_object_add(rec, "id", json_object_new_string(id));
	json_object_object_add(rec, "app", audit_str(app));
	json_object_object_add(rec, "pid", json_object_new_int(pid));
	json_object_object_add(rec, "path", err || !path ? NULL : audit_str(path));
	json_object_object_add(rec, "keys", json_object_new_int64((int64_t)n));
	json_object_object_add(rec, "bytes", json_object_new_int64(bytes));
	json_object_object_add(rec, "discarded", json_object_new_int64((int64_t)discarded));
	json_object_object_add(rec, "ms", json_object_new_int64(ms));
	if (err)
		json_object_object_add(rec, "error", json_object_new_string(strerror(-err)));
	return rec;
}

json_object *record_rescue(const struct rescue_facts *f)
{
	json_object *rec = audit_record("rescue");

	json_object_object_add(rec, "id", json_object_new_string(f->id));
	json_object_object_add(rec, "app", audit_str(f->app));
	json_object_object_add(rec, "pid", json_object_new_int(f->pid));
	json_object_object_add(rec, "argv", audit_argv(f->argv));
	json_object_object_add(rec, "status", json_object_new_string(f->status));
	json_object_object_add(rec, "exit_code", int_or_null(f->exit_code >= 0, f->exit_code));
	json_object_object_add(rec, "signal", int_or_null(f->signal > 0, f->signal));
	json_object_object_add(rec, "ms", int_or_null(f->ms >= 0, f->ms));
	json_object_object_add(rec, "latency_ms", int_or_null(f->latency_ms >= 0, f->latency_ms));
	json_object_object_add(rec, "output", f->output ? audit_strn(f->output, f->output_len)
							  : NULL);
	return rec;
}
