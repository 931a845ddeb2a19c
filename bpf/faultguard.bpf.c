// SPDX-License-Identifier: (LGPL-2.1-or-later OR BSD-2-Clause)
/*
 * Reports the death of registered processes with its cause. Everything is
 * filtered first on the `watched` map (filled by the collector), so the
 * cost for every other process on the host is one hash lookup per signal,
 * exec and process exit.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#include "faultguard_event.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define SEND_SIG_NOINFO ((struct kernel_siginfo *)0)
#define SEND_SIG_PRIV ((struct kernel_siginfo *)1)
#define SI_USER 0
#define SI_KERNEL 0x80
#define TRACE_SIGNAL_DELIVERED 0
#define TRACE_SIGNAL_ALREADY_PENDING 5
#define SIGNAL_GROUP_EXIT 0x4 /* signal_struct.flags: a group exit began */

#define SIGILL 4
#define SIGTRAP 5
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGSEGV 11
#define SIGCHLD 17
#define SIGCONT 18
#define SIGURG 23
#define SIGWINCH 28

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);   /* tgid */
	__type(value, __u8);  /* presence only */
} watched SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32); /* tgid */
	__type(value, struct fg_cause);
} causes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 2 << 20); /* 2 MiB: a burst of >20,000 exits */
} events SEC(".maps");

__u64 lost_events = 0;

/*
 * One bit per possible tgid (PID_MAX_LIMIT, 4M on 64-bit: 512 KiB), set by
 * the collector for every tgid it puts in `watched` and cleared after it
 * takes it out; BPF only reads it. A hash lookup costs the host's every
 * exit, exec and signal a few hundred ns (a random bucket: cache and TLB
 * misses); a clear bit is a certain "no" from one load, and neighbouring
 * pids share a cache line. A set bit is confirmed in `watched`.
 */
#define WATCHED_WORDS (4194304 / 64) /* a power of two */
__u64 watched_bits[WATCHED_WORDS] = {};

static __always_inline int is_watched(__u32 tgid)
{
	__u32 w = tgid / 64;

	if (tgid < WATCHED_WORDS * 64) {
		/* Keeps clang from dropping the mask the verifier needs as the bound. */
		barrier_var(w);
		w &= WATCHED_WORDS - 1;
		if (!(watched_bits[w] & (1ull << (tgid % 64))))
			return 0;
	}
	return bpf_map_lookup_elem(&watched, &tgid) != NULL;
}

/*
 * Signals whose default action is to ignore them can never end a process.
 * SIGCHLD alone goes out on every exit on the host: checking the number
 * first keeps those from costing a map lookup.
 */
static __always_inline int can_kill(int sig)
{
	return sig != SIGCHLD && sig != SIGCONT && sig != SIGURG && sig != SIGWINCH;
}

static __always_inline int is_fault(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP;
}

static __always_inline void fill_from_info(struct fg_cause *c, int sig, struct kernel_siginfo *info)
{
	c->signal = sig;
	c->flags = (c->flags & FG_EVF_OOM) | FG_EVF_HAVE_SIGNAL;
	if (info == SEND_SIG_NOINFO) {
		c->si_code = SI_USER;
	} else if (info == SEND_SIG_PRIV) {
		c->si_code = SI_KERNEL;
	} else {
		c->si_code = BPF_CORE_READ(info, si_code);
		if (is_fault(sig) && c->si_code > 0) {
			c->fault_addr = (__u64)BPF_CORE_READ(info, _sifields._sigfault._addr);
			c->flags |= FG_EVF_HAVE_FAULT;
		}
	}
}

/* Runs in the sender's context: for kill(2) the sender is the current task. */
SEC("tp_btf/signal_generate")
int BPF_PROG(on_signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	struct fg_cause c = {}, *old;
	__u32 tgid;

	/* The cheap tests first: this runs for every signal on the host. */
	if (!can_kill(sig) ||
	    (result != TRACE_SIGNAL_DELIVERED && result != TRACE_SIGNAL_ALREADY_PENDING))
		return 0;
	tgid = BPF_CORE_READ(task, tgid);
	if (!is_watched(tgid))
		return 0;
	old = bpf_map_lookup_elem(&causes, &tgid);
	if (old)
		c.flags = old->flags & FG_EVF_OOM;
	fill_from_info(&c, sig, info);
	/* si_code <= 0: sent by a process (kill, tgkill, sigqueue), not by the kernel. */
	if (c.si_code <= 0) {
		struct task_struct *cur = (struct task_struct *)bpf_get_current_task_btf();

		c.sender_pid = BPF_CORE_READ(cur, tgid);
		c.sender_uid = (__u32)bpf_get_current_uid_gid();
		bpf_get_current_comm(c.sender_comm, sizeof(c.sender_comm));
		c.flags |= FG_EVF_HAVE_SENDER;
	}
	bpf_map_update_elem(&causes, &tgid, &c, BPF_ANY);
	return 0;
}

/* Runs in the receiving task as it takes the signal; fills in what generate missed. */
SEC("tp_btf/signal_deliver")
int BPF_PROG(on_signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct fg_cause c = {}, *old;

	if (!can_kill(sig) || !is_watched(tgid))
		return 0;
	old = bpf_map_lookup_elem(&causes, &tgid);
	if (old && (old->flags & FG_EVF_HAVE_SIGNAL)) {
		if (old->signal == (__u32)sig)
			return 0;
		/*
		 * A group exit (a fatal signal in another thread) kills the other
		 * threads with a SIGKILL that carries no info: not the cause.
		 */
		if (sig == SIGKILL && info == SEND_SIG_NOINFO)
			return 0;
	}
	if (old)
		c.flags = old->flags & FG_EVF_OOM;
	fill_from_info(&c, sig, info);
	bpf_map_update_elem(&causes, &tgid, &c, BPF_ANY);
	return 0;
}

SEC("tp_btf/mark_victim")
int BPF_PROG(on_mark_victim, struct task_struct *task, uid_t uid)
{
	struct fg_cause c = {}, *old;
	__u32 tgid = BPF_CORE_READ(task, tgid);

	if (!is_watched(tgid))
		return 0;
	old = bpf_map_lookup_elem(&causes, &tgid);
	if (old) {
		old->flags |= FG_EVF_OOM;
		return 0;
	}
	c.flags = FG_EVF_OOM;
	bpf_map_update_elem(&causes, &tgid, &c, BPF_ANY);
	return 0;
}

/*
 * The status wait(2) reports: the group's code once a group exit began,
 * else the task's. The core bit is set on the group's code only, after the
 * dump — when the other threads already hold their codes without it, and
 * one of them is often the last to exit.
 */
static __always_inline __u32 exit_status(struct task_struct *p)
{
	if (BPF_CORE_READ(p, signal, flags) & SIGNAL_GROUP_EXIT)
		return BPF_CORE_READ(p, signal, group_exit_code);
	return BPF_CORE_READ(p, exit_code);
}

static __always_inline void report(struct task_struct *p, __u32 kind, __u32 tgid)
{
	struct fg_cause *c;
	struct fg_event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_events, 1);
		return;
	}
	__builtin_memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->tgid = tgid;
	e->ktime_ns = bpf_ktime_get_ns();
	e->start_boottime = BPF_CORE_READ(p, group_leader, start_boottime);
	e->exit_code = exit_status(p);
	c = bpf_map_lookup_elem(&causes, &tgid);
	if (c) {
		e->fault_addr = c->fault_addr;
		e->signal = c->signal;
		e->si_code = c->si_code;
		e->sender_pid = c->sender_pid;
		e->sender_uid = c->sender_uid;
		e->flags = c->flags;
		__builtin_memcpy(e->sender_comm, c->sender_comm, sizeof(e->sender_comm));
	}
	bpf_ringbuf_submit(e, 0);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_process_exit, struct task_struct *p, bool group_dead)
{
	__u32 tgid;

	/* Fires per thread; only the last one out speaks for the process. */
	if (!group_dead)
		return 0;
	tgid = BPF_CORE_READ(p, tgid);
	if (!is_watched(tgid))
		return 0;
	report(p, FG_EV_EXIT, tgid);
	bpf_map_delete_elem(&causes, &tgid);
	bpf_map_delete_elem(&watched, &tgid);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_process_exec, struct task_struct *p, pid_t old_pid, struct linux_binprm *bprm)
{
	__u32 tgid = BPF_CORE_READ(p, tgid);

	if (!is_watched(tgid))
		return 0;
	report(p, FG_EV_EXEC, tgid);
	bpf_map_delete_elem(&causes, &tgid);
	bpf_map_delete_elem(&watched, &tgid);
	return 0;
}
