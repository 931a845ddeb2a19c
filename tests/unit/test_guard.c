// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * fg_guard (SPEC §3): the launch function runs in a forked child on the
 * guardian's dictionary, writes the data of helpers/app_data.h and dies in
 * every way of helpers/app_death.h; the rescue callback runs here, in the
 * guardian. Checked: the wait status returned and passed to rescue, that
 * rescue runs exactly when it should with exactly the data written, and
 * the guardian's signal handling before, during and after.
 */
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultguard.h"
#include "framework/test.h"
#include "helpers/app_asan.h"
#include "helpers/app_data.h"
#include "helpers/app_death.h"

#define APP "guarded"
#define HANG_SECONDS 120

struct gcase {
	const char *mode; /* app_death.h */
	int ready_fd;     /* the child writes "<pid>\n" here before it dies; -1: not */
	/* what the rescue callback saw */
	int calls;
	int wstatus;
	char app[80];
	int pid;
	unsigned int uid;
	int diff; /* app_snapshot_diff */
	char why[256];
};

static int launch(struct fg *fg, void *arg)
{
	struct gcase *g = arg;
	char line[24];
	int n;

	if (fg_registered(fg) != 1)
		return 101;
	if (app_write_entries(fg, g->mode))
		return 102;
	if (g->ready_fd >= 0) {
		n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
		if (write(g->ready_fd, line, (size_t)n) != n)
			return 103;
	}
	return app_die(fg, g->mode);
}

static void rescue(const struct fg_snapshot *s, int wstatus, void *arg)
{
	struct gcase *g = arg;
	const char *app = NULL;

	g->calls++;
	g->wstatus = wstatus;
	fg_snapshot_meta(s, &app, &g->pid, &g->uid, NULL);
	snprintf(g->app, sizeof(g->app), "%s", app ? app : "(null)");
	/* The child wrote its own pid under "pid": the snapshot's pid must be that one. */
	g->diff = app_snapshot_diff(s, g->mode, g->pid, g->why, sizeof(g->why));
}

static int guard(struct gcase *g, unsigned int flags)
{
	struct fg_opts opts = { .sz = sizeof(opts), .app = APP, .flags = flags };

	return fg_guard(&opts, launch, rescue, g);
}

static void gcase_init(struct gcase *g, const char *mode)
{
	memset(g, 0, sizeof(*g));
	g->mode = mode;
	g->ready_fd = -1;
}

static int count_fds(void)
{
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] != '.';
	if (d)
		closedir(d);
	return n;
}

/* No child of ours is left: none was forked, or all were reaped. */
static bool no_children(void)
{
	return waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD;
}

/* rescue ran once, with the returned status, and got exactly the child's data. */
static void check_rescued(const struct gcase *g, int ret)
{
	if (!ASSERT_EQ(g->calls, 1, "rescue called once"))
		return;
	ASSERT_EQ(g->wstatus, ret, "rescue gets the status fg_guard returns");
	ASSERT_STREQ(g->app, APP, "snapshot app");
	ASSERT_EQ(g->uid, getuid(), "snapshot uid");
	ASSERT_TRUE(g->pid > 0 && g->pid != getpid(), "snapshot pid is the child's");
	if (!ASSERT_OK(g->diff, "the snapshot holds exactly what the child wrote"))
		fprintf(stderr, "  %s\n", g->why);
}

static void crash_case(const char *mode, int sig, unsigned int flags)
{
	int fds = count_fds(), ret;
	struct gcase g;

	gcase_init(&g, mode);
	ret = guard(&g, flags);
	if (!ASSERT_GE(ret, 0, "fg_guard"))
		return;
	ASSERT_TRUE(WIFSIGNALED(ret), "the child died of a signal");
	ASSERT_EQ(WTERMSIG(ret), sig, "the signal");
	check_rescued(&g, ret);
	ASSERT_TRUE(no_children(), "the child was reaped");
	ASSERT_EQ(count_fds(), fds, "no fd left open");
	ASSERT_TRUE(getenv("FAULTGUARD_FD") == NULL, "the guardian's environment is untouched");
}

static void exit_case(const char *mode, int code, unsigned int flags, bool rescued)
{
	struct gcase g;
	int ret;

	gcase_init(&g, mode);
	ret = guard(&g, flags);
	if (!ASSERT_GE(ret, 0, "fg_guard"))
		return;
	ASSERT_TRUE(WIFEXITED(ret), "the child exited");
	ASSERT_EQ(WEXITSTATUS(ret), code, "exit code");
	if (rescued)
		check_rescued(&g, ret);
	else
		ASSERT_EQ(g.calls, 0, "no rescue");
	ASSERT_TRUE(no_children(), "the child was reaped");
}

TEST(guard_segv)
{
	crash_case("segv", SIGSEGV, 0);
}

TEST(guard_abort)
{
	crash_case("abort", SIGABRT, 0);
}

TEST(guard_crash_in_a_thread)
{
	crash_case("thread-segv", SIGSEGV, 0);
}

TEST(guard_exit_nonzero)
{
	exit_case("exit3", 3, 0, true);
}

TEST(guard_launch_returns_nonzero)
{
	exit_case("return3", 3, 0, true);
}

TEST(guard_exit_zero_is_no_crash)
{
	exit_case("exit0", 0, 0, false);
}

TEST(guard_launch_returns_zero_is_no_crash)
{
	exit_case("return0", 0, 0, false);
}

TEST(guard_fg_close_then_exit_nonzero_is_no_crash)
{
	exit_case("close-exit3", 3, 0, false);
}

TEST(guard_fg_close_then_crash_is_no_crash)
{
	struct gcase g;
	int ret;

	gcase_init(&g, "close-segv");
	ret = guard(&g, 0);
	ASSERT_TRUE(ret >= 0 && WIFSIGNALED(ret) && WTERMSIG(ret) == SIGSEGV, "died of SIGSEGV");
	ASSERT_EQ(g.calls, 0, "no rescue after fg_close");
}

TEST(guard_signal_only_skips_nonzero_exits)
{
	exit_case("exit3", 3, FG_RESCUE_SIGNAL_ONLY, false);
	exit_case("return3", 3, FG_RESCUE_SIGNAL_ONLY, false);
}

TEST(guard_signal_only_still_rescues_signals)
{
	crash_case("segv", SIGSEGV, FG_RESCUE_SIGNAL_ONLY);
}

TEST(guard_without_rescue_callback)
{
	struct fg_opts opts = { .sz = sizeof(opts), .app = APP };
	struct gcase g;
	int ret;

	gcase_init(&g, "abort");
	ret = fg_guard(&opts, launch, NULL, &g);
	ASSERT_TRUE(ret >= 0 && WIFSIGNALED(ret) && WTERMSIG(ret) == SIGABRT, "died of SIGABRT");
	ASSERT_EQ(g.calls, 0, "nothing called");
}

TEST(guard_custom_capacity)
{
	struct fg_opts opts = { .sz = sizeof(opts), .app = APP, .max_bytes = 1 << 20 };
	struct gcase g;
	int ret;

	gcase_init(&g, "segv");
	ret = fg_guard(&opts, launch, rescue, &g);
	ASSERT_TRUE(ret >= 0 && WIFSIGNALED(ret), "died of a signal");
	check_rescued(&g, ret);
}

/*
 * Kills every process of our process group (this test, the guarded child,
 * the killer) when the code under test never lets the child end: the test
 * then fails instead of blocking the suite. A hang guard, not a timing
 * assertion; the callers lead a process group of their own.
 */
static void hang_guard(int sig)
{
	(void)sig;
	kill(0, SIGKILL);
}

static void lead_own_group(void)
{
	setpgid(0, 0);
	signal(SIGALRM, hang_guard);
	alarm(HANG_SECONDS);
}

/*
 * A helper process that waits for the child's "<pid>\n" on @rfd, then sends
 * @sig to it, or with @group to our whole process group, as a terminal does.
 */
static pid_t start_killer(int rfd, int sig, bool group)
{
	char line[24];
	size_t n = 0;
	pid_t p;

	fflush(NULL);
	p = fork();
	if (p != 0)
		return p;
	signal(sig == SIGKILL ? SIGTERM : sig, SIG_IGN);
	while (n < sizeof(line) - 1 && read(rfd, line + n, 1) == 1 && line[n] != '\n')
		n++;
	line[n] = '\0';
	if (!n)
		_exit(1);
	_exit(kill(group ? -getpgrp() : atoi(line), sig) == 0 ? 0 : 2);
}

static int wait_killer(pid_t p)
{
	int status = -1;

	while (waitpid(p, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

TEST(guard_sigkill_from_outside)
{
	struct gcase g;
	pid_t killer;
	int p[2], ret;

	lead_own_group();
	if (!ASSERT_OK(pipe2(p, O_CLOEXEC), "pipe"))
		return;
	killer = start_killer(p[0], SIGKILL, false);
	if (!ASSERT_GE(killer, 0, "fork killer"))
		return;
	close(p[0]);
	gcase_init(&g, "wait");
	g.ready_fd = p[1];
	ret = guard(&g, 0);
	close(p[1]);
	ASSERT_EQ(wait_killer(killer), 0, "the killer sent SIGKILL");
	if (!ASSERT_GE(ret, 0, "fg_guard"))
		return;
	ASSERT_TRUE(WIFSIGNALED(ret) && WTERMSIG(ret) == SIGKILL, "died of SIGKILL");
	check_rescued(&g, ret);
}

static volatile sig_atomic_t got_sigint;

static void on_sigint(int sig)
{
	(void)sig;
	got_sigint = 1;
}

/*
 * Ctrl-C: SIGINT to the whole process group. The child dies of it; the
 * guardian, ignoring it meanwhile, rescues, and gets its own handler back.
 */
TEST(guard_ctrl_c_reaches_the_child_alone)
{
	struct sigaction sa = { .sa_handler = on_sigint }, after;
	struct gcase g;
	pid_t killer;
	int p[2], ret;

	lead_own_group();
	sigaction(SIGINT, &sa, NULL);
	if (!ASSERT_OK(pipe2(p, O_CLOEXEC), "pipe"))
		return;
	killer = start_killer(p[0], SIGINT, true);
	if (!ASSERT_GE(killer, 0, "fork killer"))
		return;
	close(p[0]);
	gcase_init(&g, "wait");
	g.ready_fd = p[1];
	ret = guard(&g, 0);
	close(p[1]);
	ASSERT_EQ(wait_killer(killer), 0, "the killer sent SIGINT to the group");
	if (!ASSERT_GE(ret, 0, "fg_guard"))
		return;
	ASSERT_TRUE(WIFSIGNALED(ret) && WTERMSIG(ret) == SIGINT, "the child died of SIGINT");
	check_rescued(&g, ret);
	ASSERT_EQ(got_sigint, 0, "the guardian ignored it");
	sigaction(SIGINT, NULL, &after);
	ASSERT_TRUE(after.sa_handler == on_sigint, "the guardian's handler is back");
}

static const int guarded[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };

/* In the child: 0 when the four guarded signals are at their defaults and unblocked. */
static int launch_report_signals(struct fg *fg, void *arg)
{
	struct sigaction sa;
	sigset_t mask;
	size_t i;

	(void)fg;
	(void)arg;
	sigprocmask(SIG_BLOCK, NULL, &mask);
	for (i = 0; i < 4; i++) {
		sigaction(guarded[i], NULL, &sa);
		if (sa.sa_handler != SIG_DFL || sigismember(&mask, guarded[i]))
			return 10 + (int)i;
	}
	return 0;
}

static void on_sighup(int sig)
{
	(void)sig;
}

/* Whatever the caller did with the four signals, the child starts with the defaults. */
TEST(guard_child_gets_default_signals_and_caller_keeps_its_own)
{
	struct fg_opts opts = { .sz = sizeof(opts), .app = APP };
	struct sigaction ign = { .sa_handler = SIG_IGN }, hup = { .sa_handler = on_sighup }, sa;
	sigset_t block, mask;
	int ret;

	sigaction(SIGTERM, &ign, NULL);
	sigaction(SIGQUIT, &ign, NULL);
	sigaction(SIGHUP, &hup, NULL);
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigprocmask(SIG_BLOCK, &block, NULL);
	ret = fg_guard(&opts, launch_report_signals, NULL, NULL);
	ASSERT_TRUE(ret >= 0 && WIFEXITED(ret), "the child exited");
	ASSERT_EQ(WEXITSTATUS(ret), 0, "defaults in the child (10+i names the first that was not)");
	sigaction(SIGTERM, NULL, &sa);
	ASSERT_TRUE(sa.sa_handler == SIG_IGN, "caller's SIGTERM back");
	sigaction(SIGQUIT, NULL, &sa);
	ASSERT_TRUE(sa.sa_handler == SIG_IGN, "caller's SIGQUIT back");
	sigaction(SIGHUP, NULL, &sa);
	ASSERT_TRUE(sa.sa_handler == on_sighup, "caller's SIGHUP back");
	sigaction(SIGINT, NULL, &sa);
	ASSERT_TRUE(sa.sa_handler == SIG_DFL, "caller's SIGINT back");
	sigprocmask(SIG_BLOCK, NULL, &mask);
	ASSERT_TRUE(sigismember(&mask, SIGINT), "caller's signal mask untouched");
}

/* An ignored SIGCHLD would reap the child before fg_guard could learn how it died. */
TEST(guard_with_sigchld_ignored_by_the_caller)
{
	struct sigaction ign = { .sa_handler = SIG_IGN }, sa;
	struct gcase g;
	int ret;

	sigaction(SIGCHLD, &ign, NULL);
	gcase_init(&g, "exit3");
	ret = guard(&g, 0);
	if (ASSERT_GE(ret, 0, "fg_guard")) {
		ASSERT_TRUE(WIFEXITED(ret) && WEXITSTATUS(ret) == 3, "the real status");
		check_rescued(&g, ret);
	}
	sigaction(SIGCHLD, NULL, &sa);
	ASSERT_TRUE(sa.sa_handler == SIG_IGN, "the caller's SIGCHLD disposition is back");
}

/* Bad arguments fail with -EINVAL before anything is forked. */
TEST(guard_bad_arguments)
{
	struct fg_opts opts = { .sz = sizeof(opts), .app = APP };
	struct fg_opts bad;
	struct gcase g;

	gcase_init(&g, "segv");
	ASSERT_EQ(fg_guard(NULL, launch, rescue, &g), -EINVAL, "NULL opts");
	ASSERT_EQ(fg_guard(&opts, NULL, rescue, &g), -EINVAL, "NULL launch");
	bad = opts;
	bad.sz = 8;
	ASSERT_EQ(fg_guard(&bad, launch, rescue, &g), -EINVAL, "sz too small");
	bad = opts;
	bad.app = NULL;
	ASSERT_EQ(fg_guard(&bad, launch, rescue, &g), -EINVAL, "no app");
	bad.app = "";
	ASSERT_EQ(fg_guard(&bad, launch, rescue, &g), -EINVAL, "empty app");
	bad.app = "no/slash";
	ASSERT_EQ(fg_guard(&bad, launch, rescue, &g), -EINVAL, "bad app");
	bad = opts;
	bad.flags = 0x80;
	ASSERT_EQ(fg_guard(&bad, launch, rescue, &g), -EINVAL, "unknown flag");
	bad = opts;
	bad.max_bytes = 1000;
	ASSERT_EQ(fg_guard(&bad, launch, rescue, &g), -EINVAL, "capacity too small");
	ASSERT_TRUE(no_children(), "nothing was forked");
	ASSERT_EQ(g.calls, 0, "no rescue");
}

/* The options' rescue_argv and socket_path mean nothing to a guardian that rescues itself. */
TEST(guard_ignores_collector_options)
{
	static const char *const argv[] = { "/bin/true", NULL };
	struct fg_opts opts = {
		.sz = sizeof(opts),
		.app = APP,
		.rescue_argv = argv,
		.socket_path = "/nonexistent/faultguard.sock",
	};
	struct gcase g;
	int ret;

	gcase_init(&g, "segv");
	ret = fg_guard(&opts, launch, rescue, &g);
	ASSERT_TRUE(ret >= 0 && WIFSIGNALED(ret) && WTERMSIG(ret) == SIGSEGV, "died of SIGSEGV");
	check_rescued(&g, ret);
}
