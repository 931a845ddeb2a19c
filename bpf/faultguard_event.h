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
#define FG_EVF_STACK_SENT 0x10u /* an fg_stack_event went out for this process */
#define FG_EVF_STACK_LOST 0x20u /* one was due but the stack ring buffer was full */

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

/*
 * The dying thread at its fatal signal (signal_deliver with the default
 * action), on a ring buffer of its own so that a burst of them never costs
 * an exit record: its registers, the top of its user stack, and every
 * executable file mapping of the process with the file's identity and path
 * (the mappings are gone by the time the collector reads the record).
 * x86-64 only: regs are in DWARF register order.
 */
#define FG_STACK_MAX 32768 /* bytes of stack copied from the stack pointer up */
#define FG_STACK_CHUNK 4096
#define FG_NREGS 17        /* rax rdx rcx rbx rsi rdi rbp rsp r8-r15 rip */
#define FG_MAX_MAPS 32     /* executable file mappings recorded */
#define FG_MAX_FILES 16    /* distinct files among them, with a path */
#define FG_PATH_BYTES 1024 /* a file's path components, innermost (the base name) first */
#define FG_NAME_MAX 256    /* bytes of one component, NUL included (NAME_MAX + 1) */
#define FG_PATH_STEPS 48   /* components and mount crossings walked per file */

/* fg_stack_file.flags */
#define FG_FILE_PATH_CUT 0x1u /* longer than FG_PATH_BYTES or FG_PATH_STEPS: not named */
/* fg_stack_event.flags */
#define FG_STK_MAPS_CUT 0x1u   /* more than FG_MAX_MAPS mappings or FG_MAX_FILES files */
#define FG_STK_NO_VMA_LOCK 0x2u /* the mappings could not be walked (mmap lock busy) */
#define FG_STK_SP_UNMAPPED 0x4u /* the stack pointer is in no mapping: nothing copied */
#define FG_STK_READ_CUT 0x8u   /* the copy stopped early at an unreadable page */

struct fg_stack_map {
	__u64 start;
	__u64 end;
	__u64 pgoff; /* file offset of start, in bytes */
	__u64 ino;
	__u32 dev;   /* the kernel's dev_t: major << 20 | minor */
	__u32 file;  /* index into files[] */
};

struct fg_stack_file {
	char names[FG_PATH_BYTES]; /* NUL-terminated components: the base name, then its parents */
	__u32 len;                 /* bytes used in names */
	__u32 ncomp;
	__u32 flags;
	__u32 pad;
};

struct fg_stack_event {
	__u64 start_boottime; /* as in fg_event: names the process with tgid */
	__u64 ktime_ns;
	__u64 regs[FG_NREGS];
	__u64 stack_start;    /* the user address stack[0] was copied from (= rsp) */
	__u32 tgid;
	__u32 tid;
	__u32 signal;
	__u32 nmaps;
	__u32 nfiles;
	__u32 stack_len;
	__u32 flags;
	__u32 exe_file;       /* index into files[] of the executable, ~0u if not among them */
	struct fg_stack_map maps[FG_MAX_MAPS];
	struct fg_stack_file files[FG_MAX_FILES];
	__u8 stack[FG_STACK_MAX];
};

#endif
