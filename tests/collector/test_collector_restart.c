// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Deaths while no collector runs (SPEC §8.2), against a real faultguardd
 * and real BPF: the programs stay pinned in bpffs when the collector is
 * SIGKILLed (or stops with registrations alive), so the next collector
 * writes the crash ("seen_late": true, the cause) and rescues the autosave
 * (FAULTGUARD_AUTOSAVE=1) with exact data; a pid reused meanwhile by an
 * unregistered process is never taken for the dead one; a process that
 * outlives the gap registers again and is rescued from its dictionary as
 * always; a clean stop with nothing registered leaves no pins.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crash_id.h"
#include "crash_check.h"
#include "framework/test.h"

static const struct fx_crash segv = {
	.cause = "segfault", .signal = SIGSEGV, .si_code = SEGV_MAPERR, .fault_addr = "0x0",
};

static void autosave_path(const struct fx *fx, const struct fx_app *a, const char *ext,
			  char *buf, size_t len)
{
	snprintf(buf, len, "%.3000s/autosave/%u/%s/%d.%s", fx->state, (unsigned int)a->spec.uid,
		 a->app, (int)a->pid, ext);
}

static long long mtime_ns(const char *path)
{
	struct stat st;

	return stat(path, &st) < 0 ? -1 : st.st_mtim.tv_sec * 1000000000LL + st.st_mtim.tv_nsec;
}

/* An autosave written after the app said "ready" (so it holds all of its data). */
static bool autosave_complete(struct fx *fx, struct fx_app *a)
{
	char snap[PATH_MAX];
	long long first, deadline = fx_now_ms() + FX_WAIT_MS;

	autosave_path(fx, a, "fgsnap", snap, sizeof(snap));
	if (!ASSERT_TRUE(fx_wait_file(snap, true, FX_WAIT_MS), "the autosave appears"))
		return false;
	first = mtime_ns(snap);
	while (fx_now_ms() < deadline) {
		long long t = mtime_ns(snap);

		if (t > 0 && t != first)
			return true;
		fx_nap(50);
	}
	return ASSERT_TRUE(false, "the autosave is written again");
}

static int pins_in(struct fx *fx, const char *prefix)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (!fx_pin_dir(fx, dir, sizeof(dir)) || !(d = opendir(dir)))
		return -1;
	while ((de = readdir(d)))
		if (!strncmp(de->d_name, prefix, strlen(prefix)))
			n++;
	closedir(d);
	return n;
}

static bool start_app(struct fx *fx, struct fx_app *a, const char *name, struct fx_rescue *r)
{
	return fx_app_start(fx, a,
			    &(struct fx_app_spec){ .app = name, .mode = "stdin",
						   .rescue_argv = r ? r->argv : NULL,
						   .uid = FX_NOBODY, .gid = FX_NOBODY });
}

static bool segfaults(struct fx_app *a)
{
	return fx_app_send(a, "segv") && fx_app_wait(a, FX_WAIT_MS) &&
	       ASSERT_TRUE(WIFSIGNALED(a->status) && WTERMSIG(a->status) == SIGSEGV,
			   "the app segfaulted");
}

/* The late crash of @a: its records, the autosave as its snapshot, the rescue with it. */
static bool check_late(struct fx *fx, struct fx_app *a, struct fx_rescue *r)
{
	char id[CRASH_ID_LEN], was[PATH_MAX], side[PATH_MAX];
	json_object *crash, *snap, *report, *env, *v;
	bool ok;

	if (!fx_check_crash(fx, a, &segv, r, id))
		return false;
	crash = fx_find(fx, "crash", a->pid, 0);
	snap = fx_find_id(fx, "snapshot", id);
	ok = ASSERT_NOT_NULL(crash, "crash record") && ASSERT_NOT_NULL(snap, "snapshot record");
	if (ok) {
		ok = ASSERT_TRUE(json_object_object_get_ex(crash, "seen_late", &v) &&
					 json_object_get_boolean(v),
				 "the crash record says seen_late");
		autosave_path(fx, a, "fgsnap", was, sizeof(was));
		ok = CHECK_STR(snap, "autosave", was) && ok;
		ok = CHECK_STR(snap, "stored", "disk") && ok;
	}
	autosave_path(fx, a, "json", side, sizeof(side));
	ok = ASSERT_NEQ(access(was, F_OK), 0, "the autosave became the snapshot") && ok;
	ok = ASSERT_NEQ(access(side, F_OK), 0, "its sidecar is gone") && ok;
	report = fx_rescue_report(r, FX_WAIT_MS);
	if (ASSERT_NOT_NULL(report, "the rescue report") &&
	    ASSERT_TRUE(json_object_object_get_ex(report, "env", &env), "report env"))
		ok = CHECK_STR(env, "FAULTGUARD_AUTOSAVE", "1") && ok;
	json_object_put(report);
	json_object_put(crash);
	json_object_put(snap);
	return ok;
}

/*
 * Forks a process that gets pid @want (through ns_last_pid; others fork
 * too, so it is tried again) and waits in pause(): 0 and its pid, or -1.
 */
static pid_t fork_at(pid_t want)
{
	int tries;

	for (tries = 0; tries < 200; tries++) {
		int fd = open("/proc/sys/kernel/ns_last_pid", O_WRONLY | O_CLOEXEC);
		char buf[16];
		pid_t p;

		if (fd < 0)
			return -1;
		snprintf(buf, sizeof(buf), "%d", (int)want - 1);
		if (write(fd, buf, strlen(buf)) < 0) {
			close(fd);
			return -1;
		}
		close(fd);
		p = fork();
		if (p == 0) {
			signal(SIGSEGV, SIG_DFL);
			for (;;)
				pause();
		}
		if (p == want)
			return p;
		if (p > 0) {
			kill(p, SIGKILL);
			waitpid(p, NULL, 0);
		}
	}
	return -1;
}

/*
 * The collector is SIGKILLed; an app with autosave on segfaults while it is
 * down, and its pid is taken by an unregistered process; the next
 * collector records the crash (seen_late, segfault) and rescues the
 * autosave with exact data; the pid's new owner is not reported, neither
 * while it lives nor when it dies.
 */
TEST(sigkill_then_death_is_recorded_late_and_the_autosave_rescued)
{
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;
	pid_t pid, other;
	int st;

	if (!fx_can_run() || !fx_init(&fx))
		return;
	fx.config = "autosave_interval = 1s\n";
	if (!fx_start(&fx))
		goto out;
	fx_rescue_init(&fx, &r, "late-segv", NULL);
	if (!start_app(&fx, &a, "late", &r) || !autosave_complete(&fx, &a))
		goto out;
	pid = a.pid;
	fx_kill(&fx);
	ASSERT_TRUE(pins_in(&fx, "link_") > 0, "the BPF links stay pinned after SIGKILL");
	if (!segfaults(&a))
		goto out;
	other = fork_at(pid);
	if (!ASSERT_EQ(other, pid, "an unregistered process takes the dead app's pid"))
		goto out;
	if (!fx_start(&fx))
		goto out_other;
	check_late(&fx, &a, &r);
	/* The pid's new owner dies too: nobody registered it, nothing is said. */
	kill(other, SIGSEGV);
	waitpid(other, &st, 0);
	other = 0;
	ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGSEGV, "the pid's new owner segfaulted");
	if (fx_barrier(&fx))
		ASSERT_EQ(fx_count(&fx, "crash", pid), 1, "one crash for that pid: the app's");
	fx_stop(&fx);
out_other:
	if (other > 0) {
		kill(other, SIGKILL);
		waitpid(other, NULL, 0);
	}
out:
	fx_cleanup(&fx);
}

/* Without an autosave the death is still recorded; the data is gone and no rescue runs. */
TEST(death_without_autosave_is_recorded_with_no_rescue)
{
	json_object *snap, *resc;
	char id[CRASH_ID_LEN] = "";
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	fx_rescue_init(&fx, &r, "late-none", NULL);
	if (!start_app(&fx, &a, "late-none", &r))
		goto out;
	fx_kill(&fx);
	if (!segfaults(&a) || !fx_start(&fx))
		goto out;
	{
		json_object *crash = fx_wait(&fx, "crash", a.pid, 0, FX_WAIT_MS), *v;

		if (!ASSERT_NOT_NULL(crash, "a crash record"))
			goto out;
		CHECK_STR(crash, "cause", "segfault");
		CHECK_INT(crash, "signal", SIGSEGV);
		CHECK_STR(crash, "app", "late-none");
		CHECK_INT(crash, "uid", FX_NOBODY);
		ASSERT_TRUE(json_object_object_get_ex(crash, "seen_late", &v) &&
				    json_object_get_boolean(v),
			    "seen_late");
		snprintf(id, sizeof(id), "%s", jstr(crash, "id"));
		json_object_put(crash);
	}
	snap = fx_wait_id(&fx, "snapshot", id, FX_WAIT_MS);
	resc = fx_wait_id(&fx, "rescue", id, FX_WAIT_MS);
	if (ASSERT_NOT_NULL(snap, "a snapshot record")) {
		CHECK_NULL(snap, "stored");
		CHECK_NULL(snap, "path");
		ASSERT_TRUE(jstr(snap, "error") && strstr(jstr(snap, "error"), "no autosave"),
			    "the snapshot record says there is no autosave");
	}
	if (ASSERT_NOT_NULL(resc, "a rescue record"))
		CHECK_STR(resc, "status", "none");
	json_object_put(snap);
	json_object_put(resc);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/*
 * A clean stop with an app registered keeps watching (documented: a restart
 * loses no death); the app segfaults while no collector runs and the next
 * one records it. That one, stopped with nothing left registered, removes
 * the pins.
 */
TEST(sigterm_with_registrations_keeps_watching_and_without_unpins)
{
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;
	char dir[PATH_MAX];

	if (!fx_can_run() || !fx_init(&fx))
		return;
	fx.config = "autosave_interval = 1s\n";
	if (!fx_start(&fx))
		goto out;
	fx_rescue_init(&fx, &r, "late-term", NULL);
	if (!start_app(&fx, &a, "late-term", &r) || !autosave_complete(&fx, &a))
		goto out;
	if (!fx_stop(&fx))
		goto out;
	ASSERT_TRUE(pins_in(&fx, "link_") > 0, "SIGTERM with a live registration keeps the links");
	if (!segfaults(&a) || !fx_start(&fx))
		goto out;
	check_late(&fx, &a, &r);
	if (!fx_stop(&fx))
		goto out;
	fx_pin_dir(&fx, dir, sizeof(dir));
	ASSERT_TRUE(access(dir, F_OK) < 0 && errno == ENOENT,
		    "SIGTERM with nothing registered removes the pins");
out:
	fx_cleanup(&fx);
}

/*
 * A process that outlives the gap is watched all along: it registers again
 * (the library does so by itself), then crashes and is rescued from its own
 * dictionary, not seen late; another exits 0 while no collector runs and is
 * no crash (its autosave goes).
 */
TEST(survivors_register_again_and_orderly_ends_are_no_crash)
{
	struct fx_rescue r1, r2;
	struct fx_app a, b;
	char side[PATH_MAX];
	json_object *crash, *v;
	struct fx fx;

	if (!fx_can_run() || !fx_init(&fx))
		return;
	fx.config = "autosave_interval = 1s\n";
	if (!fx_start(&fx))
		goto out;
	fx_rescue_init(&fx, &r1, "survivor", NULL);
	fx_rescue_init(&fx, &r2, "orderly", NULL);
	if (!start_app(&fx, &a, "survivor", &r1) || !start_app(&fx, &b, "orderly", &r2) ||
	    !autosave_complete(&fx, &b))
		goto out;
	fx_kill(&fx);
	if (!fx_app_send(&b, "exit0") || !fx_app_wait(&b, FX_WAIT_MS))
		goto out;
	if (!fx_start(&fx))
		goto out;
	json_object_put(fx_wait(&fx, "register", a.pid, 1, FX_WAIT_MS));
	if (!segfaults(&a) || !fx_check_crash(&fx, &a, &segv, &r1, NULL))
		goto out;
	crash = fx_find(&fx, "crash", a.pid, 0);
	ASSERT_TRUE(crash && !json_object_object_get_ex(crash, "seen_late", &v),
		    "a crash seen as it happened is not seen_late");
	json_object_put(crash);
	if (fx_barrier(&fx))
		ASSERT_EQ(fx_count(&fx, "crash", b.pid), 0, "exit 0 while no collector ran: no crash");
	autosave_path(&fx, &b, "json", side, sizeof(side));
	ASSERT_TRUE(fx_wait_file(side, false, FX_WAIT_MS), "its autosave is forgotten");
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}


