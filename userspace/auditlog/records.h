/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The crash, snapshot and rescue records of SPEC §5, built the same way by
 * the collector and by `faultguardctl run` (whose audit log lives in its
 * own state directory), so `faultguardctl list` and `show` read both.
 */
#ifndef FG_AUDITLOG_RECORDS_H
#define FG_AUDITLOG_RECORDS_H

#include <json-c/json.h>
#include <stdint.h>
#include <sys/types.h>

struct fg_snapshot;

struct crash_facts {
	const char *id, *app, *cause;
	pid_t pid;
	uid_t uid;
	int signal;    /* 0 when it exited */
	int exit_code; /* when it exited */
	int core_dumped;
	int have_si_code, si_code;
	int have_fault;
	uint64_t fault_addr;
	int have_sender;
	pid_t sender_pid;
	uid_t sender_uid;
	const char *sender_comm; /* up to 16 bytes, not necessarily NUL-terminated */
};

struct rescue_facts {
	const char *id, *app, *status;
	pid_t pid;
	char *const *argv; /* NULL: no command */
	int exit_code;     /* -1: none */
	int signal;        /* -1: none */
	int64_t ms, latency_ms; /* -1: not measured */
	const char *output; /* NULL: not captured */
	size_t output_len;
};

json_object *record_crash(const struct crash_facts *f);
/* @s and @path may be NULL; @err (negative errno) records why there is no file. */
json_object *record_snapshot(const char *id, const char *app, pid_t pid, const char *path,
			     const struct fg_snapshot *s, uint64_t discarded, int64_t ms, int err);
json_object *record_rescue(const struct rescue_facts *f);

#endif
