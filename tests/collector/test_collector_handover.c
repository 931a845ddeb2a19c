// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The SIGUSR2 hand-over (SPEC §8.2), against a real faultguardd, real BPF
 * and real signals: 50 registered apps writing on and on, SIGUSR2, and 10
 * of them killed at random instants during the hand-over — all 10 rescued
 * with exact data, the other 40 still registered (no unregister or register
 * record, fg_registered() 1 all along) and rescued when killed after; the
 * same fds in the new image as in the old; 100 hand-overs in a row with
 * deaths among them, nothing lost or doubled and the memory flat; and new
 * binaries that are missing, not executable, exit 1 or crash at start: the
 * old one serves on, says why in an `upgrade` record and rescues the next
 * crash.
 */
#include <errno.h>
#include <fcntl.h>
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

#define NAPPS 50
#define NKILLED 10
#define NROUNDS 100

static const struct fx_crash segv = {
	.cause = "segfault", .signal = SIGSEGV, .si_code = SEGV_MAPERR, .fault_addr = "0x0",
};

static bool start_app(struct fx *fx, struct fx_app *a, struct fx_rescue *r, const char *name)
{
	char line[64];

	fx_rescue_init(fx, r, name, NULL);
	if (!fx_app_start(fx, a,
			  &(struct fx_app_spec){ .app = name, .mode = "stdin",
						 .rescue_argv = r->argv }))
		return false;
	return fx_app_send(a, "churn") && fx_app_read_line(a, line, sizeof(line), FX_WAIT_MS) &&
	       ASSERT_STREQ(line, "churning", "the app writes on and on");
}

static bool says_registered(struct fx_app *a)
{
	char line[64];

	return fx_app_send(a, "registered") && fx_app_read_line(a, line, sizeof(line), FX_WAIT_MS) &&
	       ASSERT_STREQ(line, "registered 1", "the app's library never lost its registration");
}

/* A killer with a name of its own, so the crash record names it. */
static pid_t kill_named(pid_t pid)
{
	pid_t k = fork();

	if (k == 0) {
		prctl(PR_SET_NAME, "fgkiller");
		_exit(kill(pid, SIGKILL) ? 1 : 0);
	}
	return k;
}

static bool killed_ok(struct fx *fx, struct fx_app *a, pid_t killer, struct fx_rescue *r)
{
	int st;

	if (!ASSERT_EQ(waitpid(killer, &st, 0), killer, "wait for the killer") ||
	    !ASSERT_EQ(st, 0, "the killer sent SIGKILL") || !fx_app_wait(a, FX_WAIT_MS) ||
	    !ASSERT_TRUE(WIFSIGNALED(a->status) && WTERMSIG(a->status) == SIGKILL, "killed"))
		return false;
	return fx_check_crash(fx, a,
			      &(struct fx_crash){ .cause = "killed", .signal = SIGKILL,
						  .si_code = SI_USER, .sender_pid = killer,
						  .sender_uid = 0, .sender_comm = "fgkiller" },
			      r, NULL);
}

static bool segv_ok(struct fx *fx, struct fx_app *a, struct fx_rescue *r)
{
	return fx_app_wait(a, FX_WAIT_MS) &&
	       ASSERT_TRUE(WIFSIGNALED(a->status) && WTERMSIG(a->status) == SIGSEGV,
			   "the app segfaulted") &&
	       fx_check_crash(fx, a, &segv, r, NULL);
}

/* The @nth upgrade record, waited for. */
static json_object *upgrade(struct fx *fx, int nth)
{
	return fx_wait(fx, "upgrade", -1, nth, FX_WAIT_MS);
}

static bool chain_intact(struct fx *fx)
{
	char out[4096];
	const char *args[] = { "verify", "--audit-log", fx->audit, NULL };
	int st = fx_run_built(fx, "faultguardctl", args, out, sizeof(out));

	return ASSERT_EQ(st, 0, "faultguardctl verify") &&
	       ASSERT_TRUE(strstr(out, "chain intact") != NULL, "the audit chain is intact");
}

TEST(fifty_apps_writing_through_a_handover_with_ten_killed_during_it)
{
	static struct fx_rescue r[NAPPS];
	static struct fx_app a[NAPPS];
	pid_t killer[NKILLED] = { 0 };
	int i, fds_before, regs;
	json_object *up;
	struct fx fx;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	for (i = 0; i < NAPPS; i++) {
		char name[32];

		snprintf(name, sizeof(name), "ho-%02d", i);
		if (!start_app(&fx, &a[i], &r[i], name))
			goto out;
	}
	if (!fx_idle(&fx, FX_WAIT_MS))
		goto out;
	fds_before = fx.fds;
	srand((unsigned int)getpid());
	if (!ASSERT_OK(fx_signal(&fx, SIGUSR2), "SIGUSR2"))
		goto out;
	/* Deaths at random instants of the hand-over (it takes a few hundred ms here). */
	for (i = 0; i < NKILLED; i++) {
		fx_nap(rand() % 80);
		if (i % 2)
			killer[i] = kill_named(a[i].pid);
		else
			fx_app_send(&a[i], "segv");
	}
	up = upgrade(&fx, 0);
	if (!ASSERT_NOT_NULL(up, "an upgrade record"))
		goto out;
	CHECK_STR(up, "status", "ok");
	CHECK_NULL(up, "reason");
	CHECK_STR(up, "old_version", jstr(up, "new_version") ?: "?");
	regs = (int)jint_or(up, "registrations", -1);
	ASSERT_TRUE(regs >= NAPPS - NKILLED && regs <= NAPPS,
		    "the registrations handed over: all but those already rescued");
	json_object_put(up);
	for (i = 0; i < NKILLED; i++)
		if (!(i % 2 ? killed_ok(&fx, &a[i], killer[i], &r[i]) : segv_ok(&fx, &a[i], &r[i])))
			goto out;
	/* The other 40: the new image holds them as the old did, and nobody re-registered. */
	for (i = NKILLED; i < NAPPS; i++) {
		if (!says_registered(&a[i]) ||
		    !ASSERT_EQ(fx_count(&fx, "register", a[i].pid), 1, "registered once") ||
		    !ASSERT_EQ(fx_count(&fx, "unregister", a[i].pid), 0, "never unregistered"))
			goto out;
	}
	if (fx_idle(&fx, FX_WAIT_MS))
		/* Each registration holds its connection, pidfd and memfd. */
		ASSERT_EQ(fx.fds, fds_before - 3 * NKILLED, "the new image holds the old one's fds");
	for (i = NKILLED; i < NAPPS; i++)
		if (!fx_app_send(&a[i], "segv"))
			goto out;
	for (i = NKILLED; i < NAPPS; i++)
		if (!segv_ok(&fx, &a[i], &r[i]))
			goto out;
	for (i = 0; i < NAPPS; i++)
		ASSERT_EQ(fx_count(&fx, "crash", a[i].pid), 1, "one crash record per death");
	ASSERT_EQ(fx_count(&fx, "start", -1), 1, "one start record: a hand-over is no restart");
	chain_intact(&fx);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

static long long rss_kib(pid_t pid)
{
	return fx_proc_status(pid, 0, "VmRSS");
}

/*
 * 100 hand-overs in a row, an app dying during every tenth: each death
 * rescued once, the survivors registered once, the fds the same and the
 * memory flat.
 */
TEST(a_hundred_handovers_in_a_row_under_crashes)
{
	struct fx_rescue r[4], d;
	struct fx_app a[4], dying;
	long long rss_first = 0, rss_last;
	int i, k, fds_first = 0;
	struct fx fx;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	for (i = 0; i < 4; i++) {
		char name[32];

		snprintf(name, sizeof(name), "round-%d", i);
		if (!start_app(&fx, &a[i], &r[i], name))
			goto out;
	}
	for (k = 0; k < NROUNDS; k++) {
		json_object *up;

		if (k % 10 == 5 && !start_app(&fx, &dying, &d, "round-dying"))
			goto out;
		if (!ASSERT_OK(fx_signal(&fx, SIGUSR2), "SIGUSR2"))
			goto out;
		if (k % 10 == 5)
			fx_app_send(&dying, "segv");
		up = upgrade(&fx, k);
		if (!ASSERT_NOT_NULL(up, "an upgrade record per SIGUSR2"))
			goto out;
		if (!CHECK_STR(up, "status", "ok")) {
			json_object_put(up);
			goto out;
		}
		json_object_put(up);
		if (k % 10 == 5 && !segv_ok(&fx, &dying, &d))
			goto out;
		if (k == 9) {
			if (!fx_idle(&fx, FX_WAIT_MS))
				goto out;
			fds_first = fx.fds;
			rss_first = rss_kib(fx.pid);
		}
	}
	if (!fx_idle(&fx, FX_WAIT_MS))
		goto out;
	rss_last = rss_kib(fx.pid);
	ASSERT_EQ(fx.fds, fds_first, "the same fds after 90 more hand-overs");
	/* Each image starts afresh: what it holds does not grow with the count. */
	if (!ASSERT_TRUE(rss_last < rss_first + 8192, "the memory stays flat"))
		fprintf(stderr, "  VmRSS %lld kB after 10, %lld kB after %d\n", rss_first, rss_last,
			NROUNDS);
	ASSERT_EQ(fx_count(&fx, "upgrade", -1), NROUNDS, "one upgrade record each");
	for (i = 0; i < 4; i++) {
		if (!says_registered(&a[i]) ||
		    !ASSERT_EQ(fx_count(&fx, "register", a[i].pid), 1, "registered once") ||
		    !fx_app_send(&a[i], "segv") || !segv_ok(&fx, &a[i], &r[i]))
			goto out;
	}
	chain_intact(&fx);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

static bool write_script(const char *path, const char *body, mode_t mode)
{
	char text[5 * PATH_MAX];

	snprintf(text, sizeof(text), "#!/bin/sh\n%s\n", body);
	unlink(path);
	return ASSERT_OK(fx_write_file(path, text), "write the broken binary") &&
	       ASSERT_OK(chmod(path, mode), "chmod");
}

static bool copy_file(const char *from, const char *to)
{
	size_t len;
	char *data = fx_read_file(from, &len);
	int fd;
	bool ok;

	if (!ASSERT_NOT_NULL(data, "read the collector"))
		return false;
	unlink(to);
	fd = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
	ok = ASSERT_GE(fd, 0, "create the copy") && ASSERT_EQ(write(fd, data, len), (ssize_t)len, "copy");
	if (fd >= 0)
		close(fd);
	free(data);
	return ok;
}

/* SIGUSR2 with what @setup left at the path: a failed upgrade naming @why, this one serves on. */
static bool fails_and_serves(struct fx *fx, int nth, const char *why)
{
	struct fx_rescue r;
	struct fx_app a;
	json_object *up;
	bool ok;

	if (!ASSERT_OK(fx_signal(fx, SIGUSR2), "SIGUSR2"))
		return false;
	up = upgrade(fx, nth);
	if (!ASSERT_NOT_NULL(up, "an upgrade record"))
		return false;
	ok = CHECK_STR(up, "status", "failed") &&
	     ASSERT_TRUE(jstr(up, "reason") && strstr(jstr(up, "reason"), why),
			 "the reason says what went wrong");
	if (!ok)
		fprintf(stderr, "  reason: %s (want \"%s\")\n", jstr(up, "reason") ?: "null", why);
	json_object_put(up);
	/* The old one still serves: a new app registers, crashes and is rescued. */
	return ok && fx_alive(fx) && start_app(fx, &a, &r, "after-failed") &&
	       fx_app_send(&a, "segv") && segv_ok(fx, &a, &r);
}

TEST(a_broken_new_binary_leaves_the_old_one_serving)
{
	char copy[PATH_MAX], real[PATH_MAX], side[PATH_MAX];
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;
	json_object *up;

	if (!fx_can_run() || !fx_init(&fx))
		return;
	fx_path(copy, sizeof(copy), "%s/faultguardd", fx.dir);
	fx_path(real, sizeof(real), "%s/faultguardd", fx.build);
	fx_path(side, sizeof(side), "%s/faultguardd.good", fx.dir);
	if (!copy_file(real, copy))
		goto out;
	fx.collector = copy;
	if (!fx_start(&fx) || !start_app(&fx, &a, &r, "survivor"))
		goto out;
	/* The package manager replaces the file by a rename: keep the good one aside. */
	if (!ASSERT_OK(rename(copy, side), "move the binary away"))
		goto out;
	if (!fails_and_serves(&fx, 0, "is missing"))
		goto out;
	if (!write_script(copy, "exit 1", 0755) || !fails_and_serves(&fx, 1, "exited with status 1"))
		goto out;
	if (!write_script(copy, "kill -SEGV $$", 0755) ||
	    !fails_and_serves(&fx, 2, "killed by SIGSEGV"))
		goto out;
	if (!write_script(copy, "exit 0", 0644) || !fails_and_serves(&fx, 3, "not executable"))
		goto out;
	if (!write_script(copy, "echo hello", 0755) ||
	    !fails_and_serves(&fx, 4, "did not say its version"))
		goto out;
	/* The good one back: the upgrade goes through, the first app still registered. */
	if (!ASSERT_OK(rename(side, copy), "put the binary back") ||
	    !ASSERT_OK(fx_signal(&fx, SIGUSR2), "SIGUSR2"))
		goto out;
	up = upgrade(&fx, 5);
	if (ASSERT_NOT_NULL(up, "an upgrade record"))
		CHECK_STR(up, "status", "ok");
	json_object_put(up);
	if (!says_registered(&a) || !fx_app_send(&a, "segv") || !segv_ok(&fx, &a, &r))
		goto out;
	ASSERT_EQ(fx_count(&fx, "register", a.pid), 1, "registered once through it all");
	chain_intact(&fx);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/*
 * Rescues running at the hand-over carry over: one ends after it and its
 * record has all of its output, from before and after; one that never
 * ends is killed at its time limit counted from its start, not from the
 * hand-over.
 */
TEST(running_rescues_carry_over_with_their_output_and_time_limit)
{
	char started_a[PATH_MAX], started_b[PATH_MAX], go[PATH_MAX];
	char script_a[3 * PATH_MAX], script_b[2 * PATH_MAX];
	const char *const rescue_a[] = { "/bin/sh", "-c", script_a, NULL };
	const char *const rescue_b[] = { "/bin/sh", "-c", script_b, NULL };
	json_object *ra = NULL, *rb = NULL, *up;
	struct fx_app a, b;
	struct fx fx;
	double ms;

	if (!fx_begin(&fx, 3, NULL))
		goto out;
	fx_path(started_a, sizeof(started_a), "%s/started-a", fx.out);
	fx_path(started_b, sizeof(started_b), "%s/started-b", fx.out);
	fx_path(go, sizeof(go), "%s/go", fx.out);
	snprintf(script_a, sizeof(script_a),
		 "echo before; touch %s; while [ ! -e %s ]; do sleep 0.05; done; echo after",
		 started_a, go);
	snprintf(script_b, sizeof(script_b), "echo forever; touch %s; exec sleep 1000", started_b);
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .app = "carry-a", .mode = "stdin",
						 .rescue_argv = rescue_a }) ||
	    !fx_app_start(&fx, &b,
			  &(struct fx_app_spec){ .app = "carry-b", .mode = "stdin",
						 .rescue_argv = rescue_b }))
		goto out;
	if (!fx_app_send(&a, "segv") || !fx_app_send(&b, "segv") ||
	    !ASSERT_TRUE(fx_wait_file(started_a, true, FX_WAIT_MS), "rescue a runs") ||
	    !ASSERT_TRUE(fx_wait_file(started_b, true, FX_WAIT_MS), "rescue b runs"))
		goto out;
	if (!ASSERT_OK(fx_signal(&fx, SIGUSR2), "SIGUSR2"))
		goto out;
	up = upgrade(&fx, 0);
	if (ASSERT_NOT_NULL(up, "an upgrade record"))
		CHECK_STR(up, "status", "ok");
	json_object_put(up);
	ASSERT_EQ(fx_count(&fx, "rescue", -1), 0, "both rescues still run after the hand-over");
	if (!ASSERT_OK(fx_write_file(go, "go\n"), "let rescue a end"))
		goto out;
	ra = fx_wait(&fx, "rescue", a.pid, 0, FX_WAIT_MS);
	if (ASSERT_NOT_NULL(ra, "rescue a's record")) {
		CHECK_STR(ra, "status", "ok");
		CHECK_STR(ra, "output", "before\nafter\n");
	}
	rb = fx_wait(&fx, "rescue", b.pid, 0, FX_WAIT_MS);
	if (ASSERT_NOT_NULL(rb, "rescue b's record")) {
		json_object *v;

		CHECK_STR(rb, "status", "timeout");
		CHECK_STR(rb, "output", "forever\n");
		ms = json_object_object_get_ex(rb, "ms", &v) ? json_object_get_double(v) : -1;
		if (!ASSERT_TRUE(ms >= 2900 && ms < 3900, "killed 3 s after its start, not after "
							 "the hand-over"))
			fprintf(stderr, "  ran %.0f ms\n", ms);
	}
	ASSERT_EQ(fx_count(&fx, "rescue", a.pid), 1, "one rescue record for a");
	ASSERT_EQ(fx_count(&fx, "rescue", b.pid), 1, "one rescue record for b");
	chain_intact(&fx);
	fx_stop(&fx);
out:
	json_object_put(ra);
	json_object_put(rb);
	fx_cleanup(&fx);
}

/*
 * A new binary that passes its check but cannot take over (here: started
 * with a config file that is not there): the old binary, held open, is run
 * again with the state and serves on as before, and says so.
 */
TEST(a_new_image_that_cannot_take_over_hands_back_to_the_old_binary)
{
	char copy[PATH_MAX], real[PATH_MAX], good[PATH_MAX], body[4 * PATH_MAX];
	struct fx_rescue r;
	struct fx_app a;
	json_object *up;
	struct fx fx;
	pid_t pid;

	if (!fx_can_run() || !fx_init(&fx))
		return;
	fx_path(copy, sizeof(copy), "%s/faultguardd", fx.dir);
	fx_path(real, sizeof(real), "%s/faultguardd", fx.build);
	fx_path(good, sizeof(good), "%s/faultguardd.good", fx.dir);
	if (!copy_file(real, copy) || !copy_file(real, good))
		goto out;
	fx.collector = copy;
	if (!fx_start(&fx) || !start_app(&fx, &a, &r, "handed-back"))
		goto out;
	pid = fx.pid;
	snprintf(body, sizeof(body),
		 "case \"$*\" in *--handover-check*) exec %s \"$@\";; esac\n"
		 "exec %s \"$@\" --config %s/no-such.conf",
		 good, good, fx.dir);
	if (!write_script(copy, body, 0755) || !ASSERT_OK(fx_signal(&fx, SIGUSR2), "SIGUSR2"))
		goto out;
	up = upgrade(&fx, 0);
	if (ASSERT_NOT_NULL(up, "an upgrade record")) {
		CHECK_STR(up, "status", "failed");
		ASSERT_TRUE(jstr(up, "reason") && strstr(jstr(up, "reason"), "config"),
			    "the reason names what the new binary refused");
		CHECK_INT(up, "registrations", 1);
	}
	json_object_put(up);
	if (!ASSERT_TRUE(fx_alive(&fx) && fx.pid == pid, "the same collector serves on") ||
	    !says_registered(&a))
		goto out;
	/* The old binary serves: a SIGUSR2 to a good file goes through from it. */
	if (!copy_file(good, copy) || !ASSERT_OK(fx_signal(&fx, SIGUSR2), "SIGUSR2"))
		goto out;
	up = upgrade(&fx, 1);
	if (ASSERT_NOT_NULL(up, "an upgrade record"))
		CHECK_STR(up, "status", "ok");
	json_object_put(up);
	if (!fx_app_send(&a, "segv") || !segv_ok(&fx, &a, &r))
		goto out;
	ASSERT_EQ(fx_count(&fx, "register", a.pid), 1, "registered once through it all");
	ASSERT_EQ(fx_count(&fx, "start", -1), 1, "no restart");
	chain_intact(&fx);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}
