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
#define VM_EXEC 0x4
#define SIG_DFL ((void *)0)
#define SIGSTOP 19
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22

extern int bpf_iter_task_vma_new(struct bpf_iter_task_vma *it, struct task_struct *task,
				 __u64 addr) __weak __ksym;
extern struct vm_area_struct *bpf_iter_task_vma_next(struct bpf_iter_task_vma *it) __weak __ksym;
extern void bpf_iter_task_vma_destroy(struct bpf_iter_task_vma *it) __weak __ksym;

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

/*
 * The thread that took a process's fatal signal (with the default action,
 * SIGKILL aside), noted at signal_deliver: its stack is the one to copy
 * when it exits. The other threads of the group exit carry the same exit
 * code, so the code alone cannot tell them apart.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);   /* tgid */
	__type(value, __u32); /* tid */
} dying SEC(".maps");

/* Stack records (fg_stack_event, ~50 KiB each): apart, so they never crowd out an exit. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20); /* 8 MiB: 160 crashes in flight */
} stacks SEC(".maps");

__u64 lost_events = 0;
__u64 lost_stacks = 0;

/* A cause's flags that a later signal does not replace: what is known of the OOM kill and the stack. */
#define FG_EVF_KEPT (FG_EVF_OOM | FG_EVF_STACK_SENT | FG_EVF_STACK_LOST)

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

static __always_inline int is_stop(int sig)
{
	return sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU;
}

static __always_inline int is_fault(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE || sig == SIGTRAP;
}

static __always_inline void fill_from_info(struct fg_cause *c, int sig, struct kernel_siginfo *info)
{
	c->signal = sig;
	c->flags = (c->flags & FG_EVF_KEPT) | FG_EVF_HAVE_SIGNAL;
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
		c.flags = old->flags & FG_EVF_KEPT;
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


/* The walk's running values, in memory: the verifier need not follow them per mapping. */
struct maps_walk {
	__u64 last_inode;
	__u64 exe_inode;
	__u64 stack_end;
	__u64 files[FG_MAX_FILES]; /* struct file *, named after the mmap lock is let go */
	/* the path walk: the file being named, where it is, what it has */
	__u32 fi, n, len, steps;
	struct dentry *d;
	struct mount *mnt;
	struct fg_stack_file path;
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct maps_walk);
} maps_scratch SEC(".maps");

/* Steps of the path walk for all files together. */
#define WALK_STEPS (FG_MAX_FILES * FG_PATH_STEPS)

static __always_inline void walk_begin(struct maps_walk *mw)
{
	struct file *f = (struct file *)mw->files[mw->fi & (FG_MAX_FILES - 1)];
	struct vfsmount *vm = BPF_CORE_READ(f, f_path.mnt);

	mw->d = BPF_CORE_READ(f, f_path.dentry);
	mw->mnt = (struct mount *)((void *)vm - bpf_core_field_offset(struct mount, mnt));
	mw->n = 0;
	mw->len = 0;
	mw->steps = 0;
	mw->path.flags = 0;
}

static __always_inline void walk_end(struct maps_walk *mw, struct fg_stack_event *e)
{
	mw->path.ncomp = mw->n;
	mw->path.len = mw->len;
	bpf_probe_read_kernel(&e->files[mw->fi & (FG_MAX_FILES - 1)], sizeof(mw->path), &mw->path);
	mw->fi++;
}

/*
 * Names every recorded file: components from the base name up, crossing
 * mount points like d_path (as seen from the initial mount namespace's
 * root, the collector's). Outside the mapping walk, whose iterator loop
 * the verifier would have to follow through each step; all running values
 * live in @mw's memory so that its states stay few. The files stay valid:
 * the dying process's mappings hold them.
 */
static __always_inline void name_files(struct fg_stack_event *e, struct maps_walk *mw)
{
	int i;

	mw->fi = 0;
	if (!e->nfiles)
		return;
	walk_begin(mw);
	for (i = 0; i < WALK_STEPS; i++) {
		struct dentry *d = mw->d, *parent;
		struct mount *mnt = mw->mnt;
		int done = 0;

		if (d == BPF_CORE_READ(mnt, mnt.mnt_root)) {
			struct mount *up = BPF_CORE_READ(mnt, mnt_parent);

			if (up == mnt || !up) {
				done = 1; /* the root of everything */
			} else {
				mw->d = BPF_CORE_READ(mnt, mnt_mountpoint);
				mw->mnt = up;
			}
		} else {
			parent = BPF_CORE_READ(d, d_parent);
			if (parent == d || !parent) {
				done = 1;
			} else {
				__u32 off = mw->len;
				long n = -1;

				if (off <= FG_PATH_BYTES - FG_NAME_MAX) {
					barrier_var(off);
					n = bpf_probe_read_kernel_str(&mw->path.names[off], FG_NAME_MAX,
								      BPF_CORE_READ(d, d_name.name));
				}
				if (n <= 0) {
					mw->path.flags |= FG_FILE_PATH_CUT;
					done = 1;
				} else {
					mw->len = off + n;
					mw->n++;
					mw->d = parent;
				}
			}
		}
		if (++mw->steps >= FG_PATH_STEPS && !done) {
			mw->path.flags |= FG_FILE_PATH_CUT;
			done = 1;
		}
		if (done) {
			walk_end(mw, e);
			if (mw->fi >= e->nfiles)
				return;
			walk_begin(mw);
		}
	}
	/* Out of steps: the files not reached are left without a name. */
	for (i = 0; i < FG_MAX_FILES; i++)
		if (i >= mw->fi && i < e->nfiles)
			e->files[i].ncomp = 0;
}

/* Every executable file mapping, and where the stack pointer's mapping ends. */
static __always_inline __u64 record_maps(struct task_struct *task, struct fg_stack_event *e,
					 __u64 sp)
{
	struct bpf_iter_task_vma it;
	struct vm_area_struct *vma;
	struct maps_walk *mw;
	__u32 zero = 0;

	mw = bpf_map_lookup_elem(&maps_scratch, &zero);
	if (!mw)
		return 0;
	mw->last_inode = 0;
	mw->stack_end = 0;
	mw->exe_inode = (__u64)BPF_CORE_READ(task, mm, exe_file, f_inode);
	if (bpf_iter_task_vma_new(&it, task, 0)) {
		e->flags |= FG_STK_NO_VMA_LOCK;
		bpf_iter_task_vma_destroy(&it);
		return 0;
	}
	while ((vma = bpf_iter_task_vma_next(&it))) {
		__u64 start = vma->vm_start, end = vma->vm_end;
		struct file *f = vma->vm_file;
		struct fg_stack_map *m;
		struct inode *ino;
		__u32 nm = e->nmaps, nf = e->nfiles;

		if (sp >= start && sp < end)
			mw->stack_end = end;
		if (!f || !(vma->vm_flags & VM_EXEC))
			continue;
		if (nm >= FG_MAX_MAPS) {
			e->flags |= FG_STK_MAPS_CUT;
			continue;
		}
		ino = BPF_CORE_READ(f, f_inode);
		if ((__u64)ino != mw->last_inode) {
			if (nf >= FG_MAX_FILES) {
				e->flags |= FG_STK_MAPS_CUT;
				continue;
			}
			mw->files[nf & (FG_MAX_FILES - 1)] = (__u64)f;
			if ((__u64)ino == mw->exe_inode)
				e->exe_file = nf;
			e->nfiles = nf + 1;
			mw->last_inode = (__u64)ino;
		}
		m = &e->maps[nm & (FG_MAX_MAPS - 1)];
		m->start = start;
		m->end = end;
		m->pgoff = (__u64)vma->vm_pgoff << 12;
		m->ino = BPF_CORE_READ(ino, i_ino);
		m->dev = BPF_CORE_READ(ino, i_sb, s_dev);
		m->file = e->nfiles - 1;
		e->nmaps = nm + 1;
	}
	bpf_iter_task_vma_destroy(&it);
	name_files(e, mw);
	return mw->stack_end;
}

/* The top of the user stack, a page at a time: an unreadable page ends the copy. */
static __always_inline void copy_stack(struct fg_stack_event *e, __u64 sp, __u64 end)
{
	__u64 avail = end > sp ? end - sp : 0;
	__u32 done = 0;
	int i;

	if (!avail) {
		e->flags |= FG_STK_SP_UNMAPPED;
		return;
	}
	for (i = 0; i < FG_STACK_MAX / FG_STACK_CHUNK; i++) {
		__u64 want = avail - done;

		if (want > FG_STACK_CHUNK)
			want = FG_STACK_CHUNK;
		/* The first chunk ends at a page boundary, so later ones stay within pages. */
		if (i == 0 && (sp & (FG_STACK_CHUNK - 1)) &&
		    want > FG_STACK_CHUNK - (sp & (FG_STACK_CHUNK - 1)))
			want = FG_STACK_CHUNK - (sp & (FG_STACK_CHUNK - 1));
		if (!want || done > FG_STACK_MAX - FG_STACK_CHUNK)
			break;
		barrier_var(want);
		if (want > FG_STACK_CHUNK)
			break;
		if (bpf_probe_read_user(&e->stack[done & (FG_STACK_MAX - 1)], want, (void *)(sp + done))) {
			e->flags |= FG_STK_READ_CUT;
			break;
		}
		done += want;
		if (done >= avail)
			break;
	}
	e->stack_len = done;
}

/*
 * Where the dying thread was: registers, stack and the code's files. Runs
 * at most once per process (the first fatal signal taken); the collector
 * unwinds from this after the process is gone.
 */
static __always_inline __u32 capture_stack(int sig, __u32 tgid)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct fg_stack_event *e;
	__u64 sp, end;

	e = bpf_ringbuf_reserve(&stacks, sizeof(*e), 0);
	if (!e) {
		__sync_fetch_and_add(&lost_stacks, 1);
		return FG_EVF_STACK_LOST;
	}
	e->start_boottime = BPF_CORE_READ(task, group_leader, start_boottime);
	e->ktime_ns = bpf_ktime_get_ns();
	e->tgid = tgid;
	e->tid = (__u32)bpf_get_current_pid_tgid();
	e->signal = sig;
	e->flags = 0;
	e->exe_file = ~0u;
	e->nmaps = 0;
	e->nfiles = 0;
	e->stack_len = 0;
	e->regs[0] = BPF_CORE_READ(regs, ax);
	e->regs[1] = BPF_CORE_READ(regs, dx);
	e->regs[2] = BPF_CORE_READ(regs, cx);
	e->regs[3] = BPF_CORE_READ(regs, bx);
	e->regs[4] = BPF_CORE_READ(regs, si);
	e->regs[5] = BPF_CORE_READ(regs, di);
	e->regs[6] = BPF_CORE_READ(regs, bp);
	e->regs[7] = BPF_CORE_READ(regs, sp);
	e->regs[8] = BPF_CORE_READ(regs, r8);
	e->regs[9] = BPF_CORE_READ(regs, r9);
	e->regs[10] = BPF_CORE_READ(regs, r10);
	e->regs[11] = BPF_CORE_READ(regs, r11);
	e->regs[12] = BPF_CORE_READ(regs, r12);
	e->regs[13] = BPF_CORE_READ(regs, r13);
	e->regs[14] = BPF_CORE_READ(regs, r14);
	e->regs[15] = BPF_CORE_READ(regs, r15);
	e->regs[16] = BPF_CORE_READ(regs, ip);
	sp = e->regs[7];
	e->stack_start = sp;
	end = record_maps(task, e, sp);
	copy_stack(e, sp, end);
	/*
	 * No wake-up: the collector reads the stack ring before the exit ring,
	 * so it takes this with the exit record instead of waking twice.
	 */
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
	return FG_EVF_STACK_SENT;
}

/* Runs in the receiving task as it takes the signal; fills in what generate missed. */
SEC("tp_btf/signal_deliver")
int BPF_PROG(on_signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	__u32 tgid = bpf_get_current_pid_tgid() >> 32;
	struct fg_cause c = {}, *old;

	if (!can_kill(sig) || !is_watched(tgid))
		return 0;
	/* The thread to copy the stack of when it exits (stack_at_exit). */
	if (sig != SIGKILL && !is_stop(sig) &&
	    BPF_CORE_READ(ka, sa.sa_handler) == SIG_DFL) {
		__u32 tid = (__u32)bpf_get_current_pid_tgid();

		bpf_map_update_elem(&dying, &tgid, &tid, BPF_NOEXIST);
	}
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
		c.flags = old->flags & FG_EVF_KEPT;
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

/*
 * The thread that took a fatal signal ends here first (do_group_exit from
 * get_signal, after the core dump if any), and sched_process_exit fires
 * before exit_mm: its user registers and the whole address space are still
 * there, and — unlike at signal_deliver, which runs under the siglock with
 * interrupts off, where the VMA iterator's mmap_read_trylock gives EBUSY —
 * the mappings can be walked. Its exit code is the signal. The other
 * threads of a group exit end with SIGKILL, as after a kill -9 from
 * outside: no stack for those (SPEC §8.3).
 */
static __always_inline void stack_at_exit(struct task_struct *p, __u32 tgid)
{
	__u32 flags, *tid = bpf_map_lookup_elem(&dying, &tgid);
	int sig = BPF_CORE_READ(p, exit_code) & 0x7f;
	struct fg_cause c = {}, *old;

	if (!tid || *tid != (__u32)BPF_CORE_READ(p, pid))
		return;
	bpf_map_delete_elem(&dying, &tgid);
	if (!sig || sig == SIGKILL || !BPF_CORE_READ(p, mm))
		return;
	old = bpf_map_lookup_elem(&causes, &tgid);
	if (old && (old->flags & (FG_EVF_STACK_SENT | FG_EVF_STACK_LOST)))
		return;
	/*
	 * Said before the copy: another thread may be the last one out and
	 * report the exit while this one still copies. The collector then
	 * waits (within a bound) for the stack record to follow.
	 */
	if (old) {
		old->flags |= FG_EVF_STACK_SENT;
	} else {
		c.flags = FG_EVF_STACK_SENT;
		bpf_map_update_elem(&causes, &tgid, &c, BPF_ANY);
	}
	flags = capture_stack(sig, tgid);
	old = bpf_map_lookup_elem(&causes, &tgid);
	if (old && flags == FG_EVF_STACK_LOST)
		old->flags = (old->flags & ~FG_EVF_STACK_SENT) | FG_EVF_STACK_LOST;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_process_exit, struct task_struct *p, bool group_dead)
{
	__u32 tgid;

	tgid = BPF_CORE_READ(p, tgid);
	if (!is_watched(tgid))
		return 0;
	/* The first thread out after a fatal signal is the one that took it. */
	stack_at_exit(p, tgid);
	/* Fires per thread; only the last one out speaks for the process. */
	if (!group_dead)
		return 0;
	report(p, FG_EV_EXIT, tgid);
	bpf_map_delete_elem(&causes, &tgid);
	bpf_map_delete_elem(&dying, &tgid);
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
	bpf_map_delete_elem(&dying, &tgid);
	bpf_map_delete_elem(&watched, &tgid);
	return 0;
}
