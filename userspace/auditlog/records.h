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
	pid_t ns_pid;            /* in its own PID namespace; 0: null */
	const char *cgroup;      /* NULL or "": null */
};

struct rescue_facts {
	const char *id, *app, *status;
	pid_t pid;
	char *const *argv; /* NULL: no command */
	int exit_code;     /* -1: none */
	int signal;        /* -1: none */
	int64_t us, latency_us; /* microseconds (written as ms with three decimals); -1: null */
	const char *output; /* NULL: not captured */
	size_t output_len;
};

struct snapshot_facts {
	const char *id, *app;
	pid_t pid;
	const char *stored; /* "disk", "memory", or NULL: there is no snapshot */
	const char *path;   /* on disk; NULL when it is not */
	uint64_t keys, bytes, discarded;
	int64_t us;          /* how long it took; -1: null */
	const char *sha256;  /* of the file's bytes as written or held; NULL or "": null */
	const char *error;   /* a sentence when the disk (or the dictionary) refused it */
	int late;            /* a copy held in memory reached the disk later */
};

json_object *record_crash(const struct crash_facts *f);

struct unwind_result;
/*
 * Where it crashed (SPEC §8.3): tid, exe, build_id, ip, backtrace and
 * signature on crash record @rec. Whatever is not known is null: @tid <= 0,
 * @exe NULL, @have_ip 0, @r NULL (no backtrace at all).
 */
void record_crash_where(json_object *rec, pid_t tid, const char *exe, int have_ip, uint64_t ip,
			const struct unwind_result *r);
json_object *record_snapshot(const struct snapshot_facts *f);
json_object *record_rescue(const struct rescue_facts *f);
/* A duration in microseconds as milliseconds with three decimals (SPEC §8.6); -1: null. */
json_object *record_ms(int64_t us);

#endif
