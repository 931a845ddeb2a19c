/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Counting the system calls a stretch of code makes, for proving that
 * fg_set makes none (tests/unit/test_no_syscall.c, bench/bench_set.c).
 *
 * syscall_trap_install() installs a seccomp filter on the calling thread
 * that lets exit, exit_group and rt_sigreturn through and turns every other
 * system call into SIGSYS. The SIGSYS handler counts the call, remembers the
 * first number, and makes it fail with -ENOSYS, so the code under test runs
 * on and the count is exact. The filter cannot be removed: call this in a
 * forked child that reports through shared memory and ends with
 * syscall_trap_exit().
 *
 * Header-only so that a test and a benchmark binary can both use it without
 * a shared object file between them.
 */
#ifndef FG_SYSCALL_TRAP_H
#define FG_SYSCALL_TRAP_H

#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#if defined(__x86_64__)
#define SYSCALL_TRAP_ARCH AUDIT_ARCH_X86_64
#define SYSCALL_TRAP_SET_RET(uc, v) ((uc)->uc_mcontext.gregs[REG_RAX] = (v))
#elif defined(__aarch64__)
#define SYSCALL_TRAP_ARCH AUDIT_ARCH_AARCH64
#define SYSCALL_TRAP_SET_RET(uc, v) ((uc)->uc_mcontext.regs[0] = (v))
#endif

/* Written by the SIGSYS handler; read after the code under test. */
static volatile uint64_t syscall_trap_count;
static volatile int syscall_trap_first_nr = -1;

#ifdef SYSCALL_TRAP_ARCH
static void syscall_trap_handler(int sig, siginfo_t *si, void *ctx)
{
	(void)sig;
	if (syscall_trap_count++ == 0)
		syscall_trap_first_nr = si->si_syscall;
	SYSCALL_TRAP_SET_RET((ucontext_t *)ctx, -ENOSYS);
}

/* 0, -ENOTSUP on an architecture this file does not know, or -errno. */
static inline int syscall_trap_install(void)
{
	struct sock_filter code[] = {
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYSCALL_TRAP_ARCH, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
	    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_rt_sigreturn, 3, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit_group, 2, 0),
	    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_exit, 1, 0),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_TRAP),
	    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {.len = sizeof(code) / sizeof(code[0]), .filter = code};
	struct sigaction sa = {.sa_sigaction = syscall_trap_handler, .sa_flags = SA_SIGINFO};
	sigset_t sys;

	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	if (sigaction(SIGSYS, &sa, NULL) < 0 || sigprocmask(SIG_UNBLOCK, &sys, NULL) < 0)
		return -errno;
	/* Unprivileged seccomp needs no_new_privs. */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) < 0)
		return -errno;
	syscall_trap_count = 0;
	syscall_trap_first_nr = -1;
	return 0;
}
#endif

/*
 * Ends the filtered child. Not _exit(): before a noreturn call ASan runs
 * code that makes system calls (sigaltstack), which the filter would trap.
 */
static inline void syscall_trap_exit(int code)
{
	syscall(SYS_exit_group, code);
}

#ifndef SYSCALL_TRAP_ARCH
static inline int syscall_trap_install(void)
{
	return -ENOTSUP;
}
#endif

#endif /* FG_SYSCALL_TRAP_H */
