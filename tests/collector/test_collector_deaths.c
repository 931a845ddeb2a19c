// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * How a registered process ends, against a real faultguardd, the real
 * kernel, real signals and a real memory cgroup (issue 3, SPEC §4-5): every
 * fatal death is a crash with its cause, an exact snapshot and a rescue
 * command run as the app's user in a clean environment; every orderly end
 * (exit 0, fg_close, exec, FG_RESCUE_SIGNAL_ONLY with exit(n)) unregisters
 * with its reason and leaves no crash, no snapshot and no rescue.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash_check.h"
#include "framework/test.h"

/* Starts a collector; false (the test has failed or skipped) if it cannot. */
static bool begin(struct fx *fx)
{
	return fx_begin(fx, 0, NULL);
}

static bool died_of(struct fx_app *a, int sig)
{
	if (ASSERT_TRUE(WIFSIGNALED(a->status) && WTERMSIG(a->status) == sig,
			"the app died of the expected signal"))
		return true;
	fprintf(stderr, "  wait status 0x%x, expected signal %d\n", a->status, sig);
	return false;
}

static bool exited_with(struct fx_app *a, int code)
{
	if (ASSERT_TRUE(WIFEXITED(a->status) && WEXITSTATUS(a->status) == code,
			"the app exited with the expected code"))
		return true;
	fprintf(stderr, "  wait status 0x%x, expected exit %d\n", a->status, code);
	return false;
}

/* One app that dies by itself as @mode says, then the whole trace is checked. */
static void self_inflicted(const char *mode, int sig, int code, const struct fx_crash *x)
{
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (!begin(&fx))
		goto out;
	fx_rescue_init(&fx, &r, mode, NULL);
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = mode, .rescue_argv = r.argv }) ||
	    !fx_app_wait(&a, FX_WAIT_MS))
		goto out;
	if (sig ? !died_of(&a, sig) : !exited_with(&a, code))
		goto out;
	if (!fx_check_crash(&fx, &a, x, &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

TEST(segv_is_a_segfault_at_0x0)
{
	self_inflicted("segv", SIGSEGV, 0,
		       &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
					   .si_code = SEGV_MAPERR, .fault_addr = "0x0" });
}

/* abort() sends itself SIGABRT with tgkill: the sender is the app itself. */
/*
 * With core dumps allowed, core_dumped says what the kernel did (the wait
 * status's core bit: whether a core was written depends on the host's
 * core_pattern, so the parent's wait status is the reference).
 */
TEST(segv_with_core_dumps_allowed)
{
	char dir[PATH_MAX], pattern[256] = "";
	FILE *f = fopen("/proc/sys/kernel/core_pattern", "re");
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (f) {
		if (!fgets(pattern, sizeof(pattern), f))
			pattern[0] = '\0';
		fclose(f);
	}
	if (!begin(&fx) || !fx_path(dir, sizeof(dir), "%s/cores", fx.dir) ||
	    !ASSERT_OK(mkdir(dir, 0755) ? -errno : 0, "mkdir cores"))
		goto out;
	/* Only where the core lands in the app's directory: never litter the host. */
	if (!pattern[0] || pattern[0] == '|' || strchr(pattern, '/')) {
		fprintf(stderr, "  note: core_pattern is '%.*s': no core dump allowed here\n",
			(int)strcspn(pattern, "\n"), pattern);
		dir[0] = '\0';
	}
	fx_rescue_init(&fx, &r, "core", NULL);
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .mode = "segv", .rescue_argv = r.argv,
						 .core_dir = dir[0] ? dir : NULL }) ||
	    !fx_app_wait(&a, FX_WAIT_MS) || !died_of(&a, SIGSEGV))
		goto out;
	if (!WCOREDUMP(a.status))
		fprintf(stderr, "  note: no core dumped on this host (core_pattern), core_dumped "
				"is checked as false\n");
	if (!fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
						.si_code = SEGV_MAPERR, .fault_addr = "0x0" },
			    &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/* Sent, not a fault: SIGSEGV by kill(2) has a sender and no fault address. */
TEST(sigsegv_sent_by_another_process)
{
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;
	pid_t killer;
	int status;

	if (!begin(&fx))
		goto out;
	fx_rescue_init(&fx, &r, "sent-segv", NULL);
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = "wait", .rescue_argv = r.argv }))
		goto out;
	killer = fork();
	if (killer == 0) {
		prctl(PR_SET_NAME, "fgsender");
		_exit(kill(a.pid, SIGSEGV) ? 1 : 0);
	}
	if (!ASSERT_GE(killer, 0, "fork the sender") ||
	    !ASSERT_EQ(waitpid(killer, &status, 0), killer, "wait for the sender") ||
	    !ASSERT_EQ(status, 0, "the sender sent SIGSEGV") || !fx_app_wait(&a, FX_WAIT_MS) ||
	    !died_of(&a, SIGSEGV))
		goto out;
	if (!fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
						.si_code = SI_USER, .sender_pid = killer,
						.sender_uid = 0, .sender_comm = "fgsender" },
			    &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/* SIGBUS past the end of a mapped file: cause bus_error, the exact address. */
TEST(bus_error_names_the_address)
{
	char line[64], addr[32];
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;
	void *p = NULL;

	if (!begin(&fx))
		goto out;
	fx_rescue_init(&fx, &r, "bus", NULL);
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = "bus", .rescue_argv = r.argv }) ||
	    !fx_app_read_line(&a, line, sizeof(line), FX_WAIT_MS) ||
	    !ASSERT_EQ(sscanf(line, "fault %p", &p), 1, "the app names the address it touches") ||
	    !fx_app_wait(&a, FX_WAIT_MS) || !died_of(&a, SIGBUS))
		goto out;
	snprintf(addr, sizeof(addr), "0x%lx", (unsigned long)p);
	if (!fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "bus_error", .signal = SIGBUS,
						.si_code = BUS_ADRERR, .fault_addr = addr },
			    &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/*
 * Hardware faults whose address is the faulting instruction's: the cause,
 * the si_code, and an address that is there (its value is the code's).
 */
static void instruction_fault(const char *mode, int sig, int si_code, const char *cause)
{
	json_object *crash = NULL;
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;
	const char *addr;

#if !defined(__x86_64__) && !defined(__i386__)
	test_skip("%s: the faulting instruction is x86's", mode);
	return;
#endif
	if (!begin(&fx))
		goto out;
	fx_rescue_init(&fx, &r, mode, NULL);
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = mode, .rescue_argv = r.argv }) ||
	    !fx_app_wait(&a, FX_WAIT_MS) || !died_of(&a, sig))
		goto out;
	crash = fx_wait(&fx, "crash", a.pid, 0, FX_WAIT_MS);
	addr = jstr(crash, "fault_addr");
	if (!crash || !ASSERT_TRUE(addr && !strncmp(addr, "0x", 2) && strcmp(addr, "0x0"),
				   "a fault address"))
		goto out;
	if (!fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = cause, .signal = sig, .si_code = si_code,
						.fault_addr = addr },
			    &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	json_object_put(crash);
	fx_cleanup(&fx);
}

TEST(division_by_zero_is_an_fp_exception)
{
	instruction_fault("fpe", SIGFPE, FPE_INTDIV, "fp_exception");
}

TEST(undefined_instruction_is_illegal)
{
	instruction_fault("ill", SIGILL, ILL_ILLOPN, "illegal_instruction");
}

TEST(abort_is_an_abort)
{
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (!begin(&fx))
		goto out;
	fx_rescue_init(&fx, &r, "abort", NULL);
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = "abort", .rescue_argv = r.argv }) ||
	    !fx_app_wait(&a, FX_WAIT_MS) || !died_of(&a, SIGABRT))
		goto out;
	if (!fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "abort", .signal = SIGABRT,
						.si_code = SI_TKILL, .sender_pid = a.pid,
						.sender_uid = 0, .sender_comm = "col_app" },
			    &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

TEST(sigkill_from_another_process_names_the_sender)
{
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;
	pid_t killer;
	int status;

	if (!begin(&fx))
		goto out;
	fx_rescue_init(&fx, &r, "killed", NULL);
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = "wait", .rescue_argv = r.argv }))
		goto out;
	/* A killer with a name of its own, so the record cannot name the test by luck. */
	killer = fork();
	if (killer == 0) {
		prctl(PR_SET_NAME, "fgkiller");
		_exit(kill(a.pid, SIGKILL) ? 1 : 0);
	}
	if (!ASSERT_GE(killer, 0, "fork the killer") ||
	    !ASSERT_EQ(waitpid(killer, &status, 0), killer, "wait for the killer") ||
	    !ASSERT_EQ(status, 0, "the killer sent SIGKILL") || !fx_app_wait(&a, FX_WAIT_MS) ||
	    !died_of(&a, SIGKILL))
		goto out;
	if (!fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "killed", .signal = SIGKILL,
						.si_code = SI_USER, .sender_pid = killer,
						.sender_uid = 0, .sender_comm = "fgkiller" },
			    &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/* Between two unprivileged processes of one user: the sender's uid is that user's. */
TEST(sigkill_between_unprivileged_processes)
{
	struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw ? pw->pw_uid : 65534;
	gid_t gid = pw ? pw->pw_gid : 65534;
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;
	pid_t killer;
	int status;

	if (!begin(&fx))
		goto out;
	fx_rescue_init(&fx, &r, "killed-nobody", NULL);
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .app = "victim", .mode = "wait", .rescue_argv = r.argv,
						 .uid = uid, .gid = gid }))
		goto out;
	killer = fork();
	if (killer == 0) {
		prctl(PR_SET_NAME, "fgkiller");
		if (fx_become(uid, gid, 0, NULL))
			_exit(2);
		_exit(kill(a.pid, SIGKILL) ? 1 : 0);
	}
	if (!ASSERT_GE(killer, 0, "fork the killer") ||
	    !ASSERT_EQ(waitpid(killer, &status, 0), killer, "wait for the killer") ||
	    !ASSERT_EQ(status, 0, "the killer, as the same user, sent SIGKILL") ||
	    !fx_app_wait(&a, FX_WAIT_MS) || !died_of(&a, SIGKILL))
		goto out;
	if (!fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "killed", .signal = SIGKILL,
						.si_code = SI_USER, .sender_pid = killer,
						.sender_uid = uid, .sender_comm = "fgkiller" },
			    &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

TEST(oom_kill_in_a_memory_cgroup)
{
	char cg[PATH_MAX] = "";
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (!begin(&fx))
		goto out;
	if (!fx_memcg_create(cg, sizeof(cg), 64ull << 20)) {
		cg[0] = '\0';
		goto out;
	}
	fx_rescue_init(&fx, &r, "oom", NULL);
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .mode = "oom", .rescue_argv = r.argv, .cgroup = cg }) ||
	    !fx_app_wait(&a, 60000))
		goto out;
	/* Exit 99: it allocated 1 GiB and the limit never bit. */
	if (!died_of(&a, SIGKILL))
		goto out;
	/* The OOM killer sends SIGKILL as the kernel (SEND_SIG_PRIV): no sender. */
	if (!fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "oom_killed", .signal = SIGKILL,
						.si_code = SI_KERNEL },
			    &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
	fx_memcg_remove(cg);
}

TEST(exit3_is_an_exit_error)
{
	self_inflicted("exit3", 0, 3,
		       &(struct fx_crash){ .cause = "exit_error", .signal = 0, .exit_code = 3 });
}

TEST(segv_in_a_non_main_thread)
{
	self_inflicted("thread-segv", SIGSEGV, 0,
		       &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
					   .si_code = SEGV_MAPERR, .fault_addr = "0x0" });
}

/* An end that is no crash: unregister with @reason, no crash, no rescue ran. */
static bool orderly_end(struct fx *fx, struct fx_app *a, struct fx_rescue *r, const char *reason,
			int code)
{
	json_object *rec = fx_wait(fx, "unregister", a->pid, 0, FX_WAIT_MS);
	bool ok = rec && CHECK_STR(rec, "reason", reason) && CHECK_STR(rec, "app", a->app) &&
		  CHECK_INT(rec, "uid", a->spec.uid);
	long long got;

	/* The record may say which code the exit had; if it does, it must be right. */
	if (ok && jint(rec, "exit_code", &got))
		ok = ASSERT_EQ(got, code, "unregister exit_code");
	json_object_put(rec);
	if (!ok || !fx_check_no_crash(fx, a))
		return false;
	return ASSERT_TRUE(access(r->report, F_OK) < 0, "no rescue command ran");
}

static void no_crash_case(const char *mode, int signal_only, int sig, int code, const char *reason)
{
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (!begin(&fx))
		goto out;
	fx_rescue_init(&fx, &r, mode, NULL);
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .mode = mode, .signal_only = signal_only,
						 .rescue_argv = r.argv }) ||
	    !fx_app_wait(&a, FX_WAIT_MS))
		goto out;
	if (sig ? !died_of(&a, sig) : !exited_with(&a, code))
		goto out;
	if (!orderly_end(&fx, &a, &r, reason, code))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

TEST(exit0_unregisters)
{
	no_crash_case("exit0", 0, 0, 0, "exit");
}

TEST(fg_close_then_segv_is_no_crash)
{
	no_crash_case("close-segv", 0, SIGSEGV, 0, "close");
}

TEST(signal_only_exit3_is_no_crash)
{
	no_crash_case("exit3", 1, 0, 3, "exit");
}

/* FG_RESCUE_SIGNAL_ONLY spares exits only: a fatal signal is still rescued. */
TEST(signal_only_segv_is_rescued)
{
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (!begin(&fx))
		goto out;
	fx_rescue_init(&fx, &r, "segv", NULL);
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .mode = "segv", .signal_only = 1,
						 .rescue_argv = r.argv }) ||
	    !fx_app_wait(&a, FX_WAIT_MS) || !died_of(&a, SIGSEGV))
		goto out;
	if (!fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
						.si_code = SEGV_MAPERR, .fault_addr = "0x0" },
			    &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/* The app's pid in `faultguardctl status --json`, or -1 when it is not there. */
static int status_has(struct fx *fx, pid_t pid)
{
	json_object *arr = NULL;
	char *out = NULL;
	int rc, found = -1;
	size_t i;

	rc = fx_ctl(fx, &out, "status", "--socket", fx->sock, "--json", NULL);
	if (!ASSERT_EQ(rc, 0, "faultguardctl status --json"))
		goto out;
	arr = json_tokener_parse(out ? out : "");
	if (!ASSERT_TRUE(arr && json_object_is_type(arr, json_type_array), "status is a JSON array"))
		goto out;
	for (i = 0; i < json_object_array_length(arr); i++) {
		long long p;

		if (jint(json_object_array_get_idx(arr, i), "pid", &p) && p == pid)
			found = (int)i;
	}
out:
	json_object_put(arr);
	free(out);
	return found;
}

/*
 * A forked child's handle is detached: it commits the parent's open
 * transaction, writes, deletes and then segfaults — none of which may reach
 * the parent's dictionary or count as the parent's crash.
 */
TEST(forked_child_crash_is_not_the_parents)
{
	struct fx_app a, child;
	struct fx_rescue r;
	char line[128];
	int cpid = 0, cstatus = 0;
	struct fx fx;

	if (!begin(&fx))
		goto out;
	fx_rescue_init(&fx, &r, "fork", NULL);
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .mode = "fork-segv", .rescue_argv = r.argv }) ||
	    !fx_app_read_line(&a, line, sizeof(line), FX_WAIT_MS) ||
	    !ASSERT_EQ(sscanf(line, "child %d %d", &cpid, &cstatus), 2, "the child's fate"))
		goto out;
	if (!ASSERT_GE(cpid, 1, "a child was forked") ||
	    !ASSERT_TRUE(WIFSIGNALED(cstatus) && WTERMSIG(cstatus) == SIGSEGV,
			 "the child (handle detached, then a segfault) died of SIGSEGV"))
		goto out;
	/* The child as the checks see it: same app, its own pid, never registered. */
	child = a;
	child.pid = cpid;
	if (!fx_check_no_crash(&fx, &child))
		goto out;
	if (!ASSERT_GE(status_has(&fx, a.pid), 0, "the parent is still registered") ||
	    !ASSERT_EQ(status_has(&fx, cpid), -1, "the child never registered"))
		goto out;
	ASSERT_EQ(fx_count(&fx, "register", a.pid), 1, "the parent registered once");
	ASSERT_EQ(fx_count(&fx, "register", cpid), 0, "the child never registered");
	ASSERT_EQ(fx_count(&fx, "unregister", a.pid), 0, "the parent is not unregistered");
	/* Now the parent dies: its data must be exactly its own. */
	if (!fx_app_send(&a, "segv") || !fx_app_wait(&a, FX_WAIT_MS) || !died_of(&a, SIGSEGV))
		goto out;
	if (!fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
						.si_code = SEGV_MAPERR, .fault_addr = "0x0" },
			    &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/* exec ends the registration; the new program is not watched any more. */
TEST(exec_unregisters)
{
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (!begin(&fx))
		goto out;
	fx_rescue_init(&fx, &r, "exec", NULL);
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = "exec", .rescue_argv = r.argv }))
		goto out;
	{
		json_object *rec = fx_wait(&fx, "unregister", a.pid, 0, FX_WAIT_MS);
		bool ok = rec && CHECK_STR(rec, "reason", "exec");

		json_object_put(rec);
		if (!ok)
			goto out;
	}
	if (!ASSERT_TRUE(fx_app_alive(&a), "the exec'd program runs on"))
		goto out;
	/* A crash of the new program image is not the registered app's. */
	kill(a.pid, SIGSEGV);
	if (!fx_app_wait(&a, FX_WAIT_MS) || !died_of(&a, SIGSEGV))
		goto out;
	if (!fx_check_no_crash(&fx, &a) ||
	    !ASSERT_TRUE(access(r.report, F_OK) < 0, "no rescue command ran"))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/*
 * An app of an unprivileged user: the snapshot and its folders are that
 * user's (0600, 0700), and the rescue runs with that user's uid, gid and
 * supplementary groups — never as root.
 */
TEST(unprivileged_app_is_rescued_as_its_user)
{
	struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw ? pw->pw_uid : 65534;
	gid_t gid = pw ? pw->pw_gid : 65534;
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (!begin(&fx))
		goto out;
	fx_rescue_init(&fx, &r, "nobody", NULL);
	/* 4242: a supplementary group the rescue must get back, whatever /etc/group says. */
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .app = "nobody-app", .mode = "segv",
						 .rescue_argv = r.argv, .uid = uid, .gid = gid,
						 .ngroups = 2, .groups = { gid, 4242 } }) ||
	    !fx_app_wait(&a, FX_WAIT_MS) || !died_of(&a, SIGSEGV))
		goto out;
	{
		json_object *reg = fx_find(&fx, "register", a.pid, 0);
		bool ok = ASSERT_NOT_NULL(reg, "register record") && CHECK_INT(reg, "uid", uid) &&
			  CHECK_INT(reg, "gid", gid) && CHECK_STR(reg, "app", "nobody-app") &&
			  CHECK_STR(reg, "comm", "col_app");

		json_object_put(reg);
		if (!ok)
			goto out;
	}
	if (!fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
						.si_code = SEGV_MAPERR, .fault_addr = "0x0" },
			    &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/* The main thread is gone (pthread_exit) when another thread segfaults. */
TEST(segv_after_the_main_thread_exited)
{
	self_inflicted("leader-exit-segv", SIGSEGV, 0,
		       &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
					   .si_code = SEGV_MAPERR, .fault_addr = "0x0" });
}

/* A uid with no passwd entry: still rescued as exactly that uid and gid. */
TEST(app_of_a_uid_without_passwd_entry)
{
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;
	uid_t uid = 54321;

	if (!begin(&fx))
		goto out;
	if (!ASSERT_TRUE(getpwuid(uid) == NULL, "uid 54321 has no passwd entry here"))
		goto out;
	fx_rescue_init(&fx, &r, "nopw", NULL);
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .app = "nopw", .mode = "abort", .rescue_argv = r.argv,
						 .uid = uid, .gid = uid }) ||
	    !fx_app_wait(&a, FX_WAIT_MS) || !died_of(&a, SIGABRT))
		goto out;
	if (!fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "abort", .signal = SIGABRT,
						.si_code = SI_TKILL, .sender_pid = a.pid,
						.sender_uid = uid, .sender_comm = "col_app" },
			    &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/* Writes @text into the existing file @path (a /proc or cgroup file): 0 or -errno. */
static int write_in_place(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		err = -errno;
	close(fd);
	return err;
}

/* OOMScoreAdjust= of dist/faultguardd.service.in, in *adj. */
static bool unit_oom_score_adjust(int *adj)
{
	char path[PATH_MAX + 64], dir[PATH_MAX], *text, *slash, *p;
	bool ok;

	snprintf(path, sizeof(path), "dist/faultguardd.service.in");
	if (access(path, R_OK) != 0) {
		snprintf(dir, sizeof(dir), "%s", test_build_dir());
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		snprintf(path, sizeof(path), "%.3000s/dist/faultguardd.service.in", dir);
	}
	text = fx_read_file(path, NULL);
	if (!ASSERT_NOT_NULL(text, "read dist/faultguardd.service.in"))
		return false;
	p = strstr(text, "\nOOMScoreAdjust=");
	ok = ASSERT_NOT_NULL(p, "the unit sets OOMScoreAdjust=") &&
	     ASSERT_TRUE(sscanf(p, "\nOOMScoreAdjust=%d", adj) == 1 && *adj < 0 && *adj >= -1000,
			 "a negative OOMScoreAdjust=");
	free(text);
	return ok;
}

/*
 * The collector and a registered memory hog in one memory cgroup, the
 * collector with the unit's OOMScoreAdjust=: the hog fills the cgroup, the
 * OOM killer takes the hog, and the collector lives to snapshot and
 * rescue it (its rescue back at oom_score_adj 0, checked with the report).
 */
TEST(the_collector_outlives_a_memory_hog_in_its_cgroup)
{
	char cg[PATH_MAX] = "", file[PATH_MAX + 32], hog[64], val[32], *now = NULL;
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;
	bool lowered;
	int adj;

	memset(&fx, 0, sizeof(fx));
	if (!unit_oom_score_adjust(&adj) || !begin(&fx))
		goto out;
	if (!fx_memcg_create(cg, sizeof(cg), 64ull << 20)) {
		cg[0] = '\0';
		goto out;
	}
	snprintf(file, sizeof(file), "%s/cgroup.procs", cg);
	snprintf(val, sizeof(val), "%d\n", (int)fx.pid);
	if (!ASSERT_OK(write_in_place(file, val), "the collector joins the cgroup"))
		goto out;
	/*
	 * systemd sets OOMScoreAdjust= with CAP_SYS_RESOURCE. Without it (a
	 * sandbox whose bounding set lacks it) the same choice is made with
	 * the hog raised by as much instead: the OOM killer compares
	 * rss + adj * pages / 1000, so only the difference counts.
	 */
	snprintf(file, sizeof(file), "/proc/%d/oom_score_adj", (int)fx.pid);
	snprintf(val, sizeof(val), "%d\n", adj);
	lowered = write_in_place(file, val) == 0;
	fx_rescue_init(&fx, &r, "hog", NULL);
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .mode = "stdin", .rescue_argv = r.argv, .cgroup = cg }))
		goto out;
	snprintf(hog, sizeof(hog), "/proc/%d/oom_score_adj", (int)a.pid);
	snprintf(val, sizeof(val), "%d\n", -adj);
	if (!lowered && !ASSERT_OK(write_in_place(hog, val), "the hog raised by as much"))
		goto out;
	/* Now it allocates and touches memory until the OOM killer ends it. */
	if (!fx_app_send(&a, "oom") || !fx_app_wait(&a, 60000))
		goto out;
	if (!died_of(&a, SIGKILL) ||
	    !fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "oom_killed", .signal = SIGKILL,
						.si_code = SI_KERNEL },
			    &r, NULL))
		goto out;
	ASSERT_TRUE(fx_alive(&fx), "the collector lives");
	now = fx_read_file(file, NULL);
	ASSERT_TRUE(now && atoi(now) == (lowered ? adj : 0), "with its oom_score_adj");
	fx_stop(&fx);
out:
	free(now);
	fx_cleanup(&fx);
	fx_memcg_remove(cg);
}
