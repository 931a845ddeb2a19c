// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdio.h>
#include <string.h>

#include "auditlog/audit.h"
#include "auditlog/records.h"
#include "common/cause.h"
#include "faultguard.h"
#include "unwind/unwind.h"

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
	json_object_object_add(rec, "ns_pid", int_or_null(f->ns_pid > 0, f->ns_pid));
	json_object_object_add(rec, "cgroup",
			       f->cgroup && f->cgroup[0] ? audit_str(f->cgroup) : NULL);
	return rec;
}

static json_object *hex_or_null(int have, uint64_t v)
{
	char buf[32];

	if (!have)
		return NULL;
	snprintf(buf, sizeof(buf), "0x%llx", (unsigned long long)v);
	return json_object_new_string(buf);
}

static json_object *frame_json(const struct unwind_frame *f)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "addr", hex_or_null(1, f->addr));
	json_object_object_add(o, "module", audit_str(f->module));
	json_object_object_add(o, "build_id",
			       f->build_id[0] ? json_object_new_string(f->build_id) : NULL);
	json_object_object_add(o, "module_offset", hex_or_null(f->have_module_offset,
							       f->module_offset));
	json_object_object_add(o, "function", audit_str(f->function));
	json_object_object_add(o, "function_offset",
			       f->function ? json_object_new_int64((int64_t)f->function_offset)
					   : NULL);
	json_object_object_add(o, "file", audit_str(f->file));
	json_object_object_add(o, "line", f->line > 0 ? json_object_new_int(f->line) : NULL);
	return o;
}

void record_crash_where(json_object *rec, pid_t tid, const char *exe, int have_ip, uint64_t ip,
			const struct unwind_result *r)
{
	json_object *bt = NULL;
	size_t i;

	if (r && r->nframes) {
		bt = json_object_new_array();
		for (i = 0; i < r->nframes; i++)
			json_object_array_add(bt, frame_json(&r->frames[i]));
	}
	json_object_object_add(rec, "tid", tid > 0 ? json_object_new_int(tid) : NULL);
	json_object_object_add(rec, "exe", audit_str(exe));
	json_object_object_add(rec, "build_id", r && r->exe_build_id[0]
							? json_object_new_string(r->exe_build_id)
							: NULL);
	json_object_object_add(rec, "ip", hex_or_null(have_ip, ip));
	json_object_object_add(rec, "backtrace", bt);
	json_object_object_add(rec, "signature", r && r->signature[0]
							 ? json_object_new_string(r->signature)
							 : NULL);
}

json_object *record_ms(int64_t us)
{
	char text[32];

	if (us < 0)
		return NULL;
	snprintf(text, sizeof(text), "%lld.%03lld", (long long)(us / 1000), (long long)(us % 1000));
	return json_object_new_double_s((double)us / 1000.0, text);
}

static json_object *str_or_null(const char *s)
{
	return s && *s ? json_object_new_string(s) : NULL;
}

json_object *record_snapshot(const struct snapshot_facts *f)
{
	json_object *rec = audit_record("snapshot");

	json_object_object_add(rec, "id", json_object_new_string(f->id));
	json_object_object_add(rec, "app", audit_str(f->app));
	json_object_object_add(rec, "pid", json_object_new_int(f->pid));
	json_object_object_add(rec, "path", f->path ? audit_str(f->path) : NULL);
	json_object_object_add(rec, "stored", str_or_null(f->stored));
	json_object_object_add(rec, "keys", json_object_new_int64((int64_t)f->keys));
	json_object_object_add(rec, "bytes", json_object_new_int64((int64_t)f->bytes));
	json_object_object_add(rec, "discarded", json_object_new_int64((int64_t)f->discarded));
	json_object_object_add(rec, "ms", record_ms(f->us));
	json_object_object_add(rec, "sha256", str_or_null(f->sha256));
	json_object_object_add(rec, "error", f->error ? audit_str(f->error) : NULL);
	if (f->late)
		json_object_object_add(rec, "late", json_object_new_boolean(1));
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
	json_object_object_add(rec, "ms", record_ms(f->us));
	json_object_object_add(rec, "latency_ms", record_ms(f->latency_us));
	json_object_object_add(rec, "output", f->output ? audit_strn(f->output, f->output_len)
							  : NULL);
	return rec;
}
