/* SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause) */
/*
 * What the BPF program reports to the collector. Shared by both sides, so it
 * includes nothing and uses fixed-size types only, largest first, with
 * explicit padding; userspace pins the size with a _Static_assert.
 */
#ifndef FG_EVENT_H
#define FG_EVENT_H

enum fg_event_kind {
	FG_EV_EXIT = 1, /* the last thread of a watched process exited */
	FG_EV_EXEC = 2, /* a watched process called execve() */
};

/* fg_event.flags and fg_cause.flags */
#define FG_EVF_OOM 0x1u        /* the OOM killer chose this process */
#define FG_EVF_HAVE_FAULT 0x2u /* fault_addr is meaningful */
#define FG_EVF_HAVE_SENDER 0x4u /* sender_* name the process that sent the signal */
#define FG_EVF_HAVE_SIGNAL 0x8u /* signal and si_code were seen being sent or delivered */

/* The last signal seen for a watched process, kept until it exits. */
struct fg_cause {
	__u64 fault_addr;
	__u32 signal;
	__s32 si_code;
	__u32 sender_pid;
	__u32 sender_uid;
	__u32 flags;
	__u32 pad;
	char sender_comm[16];
};

struct fg_event {
	__u64 start_boottime; /* the process's start, ns since boot (as in /proc/PID/stat) */
	__u64 ktime_ns;       /* bpf_ktime_get_ns() at the event: CLOCK_MONOTONIC */
	__u64 fault_addr;
	__u32 kind;
	__u32 tgid;
	__u32 exit_code; /* wait-status style: signal | 0x80 core, or status << 8 */
	__u32 signal;    /* from struct fg_cause */
	__s32 si_code;
	__u32 sender_pid;
	__u32 sender_uid;
	__u32 flags;
	char sender_comm[16];
};

#endif
