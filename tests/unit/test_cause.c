// SPDX-License-Identifier: LGPL-2.1-or-later
/* Death causes (SPEC §5) and signal names, as the collector and guardians report them. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cause.h"
#include "framework/test.h"

TEST(cause_names_follow_the_spec)
{
	ASSERT_STREQ(cause_name(SIGSEGV, 0, 0), "segfault", "SIGSEGV");
	ASSERT_STREQ(cause_name(SIGBUS, 0, 0), "bus_error", "SIGBUS");
	ASSERT_STREQ(cause_name(SIGABRT, 0, 0), "abort", "SIGABRT");
	ASSERT_STREQ(cause_name(SIGILL, 0, 0), "illegal_instruction", "SIGILL");
	ASSERT_STREQ(cause_name(SIGFPE, 0, 0), "fp_exception", "SIGFPE");
	ASSERT_STREQ(cause_name(SIGTRAP, 0, 0), "trap", "SIGTRAP");
	ASSERT_STREQ(cause_name(SIGKILL, 0, 1), "oom_killed", "SIGKILL by the OOM killer");
	ASSERT_STREQ(cause_name(SIGKILL, 0, 0), "killed", "any other SIGKILL");
	ASSERT_STREQ(cause_name(SIGTERM, 0, 0), "terminated", "SIGTERM");
	ASSERT_STREQ(cause_name(SIGINT, 0, 0), "terminated", "SIGINT");
	ASSERT_STREQ(cause_name(SIGHUP, 0, 0), "terminated", "SIGHUP");
	ASSERT_STREQ(cause_name(SIGQUIT, 0, 0), "terminated", "SIGQUIT");
	ASSERT_STREQ(cause_name(SIGUSR1, 0, 0), "signal", "other signals");
	ASSERT_STREQ(cause_name(SIGPIPE, 0, 0), "signal", "SIGPIPE");
	ASSERT_STREQ(cause_name(SIGRTMIN + 1, 0, 0), "signal", "a real-time signal");
	ASSERT_STREQ(cause_name(0, 3, 0), "exit_error", "exit(3)");
	ASSERT_STREQ(cause_name(0, 255, 0), "exit_error", "exit(255)");
	ASSERT_TRUE(cause_name(0, 0, 0) == NULL, "exit(0) is no crash");
	/* The OOM flag only qualifies SIGKILL. */
	ASSERT_STREQ(cause_name(SIGSEGV, 0, 1), "segfault", "OOM flag with SIGSEGV");
	ASSERT_TRUE(cause_name(0, 0, 1) == NULL, "OOM flag with exit(0)");
}

/* A real child that dies by @sig (or exits @code when @sig is 0): its wait status. */
static int real_status(int sig, int code)
{
	int status = -1;
	pid_t p;

	fflush(NULL);
	p = fork();
	if (p == 0) {
		if (sig) {
			signal(sig, SIG_DFL);
			raise(sig);
		}
		_exit(code);
	}
	while (waitpid(p, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

TEST(cause_of_real_wait_statuses)
{
	ASSERT_STREQ(cause_of_wstatus(real_status(SIGSEGV, 0)), "segfault", "SIGSEGV");
	ASSERT_STREQ(cause_of_wstatus(real_status(SIGTERM, 0)), "terminated", "SIGTERM");
	ASSERT_STREQ(cause_of_wstatus(real_status(SIGKILL, 0)), "killed", "SIGKILL");
	ASSERT_STREQ(cause_of_wstatus(real_status(SIGUSR2, 0)), "signal", "SIGUSR2");
	ASSERT_STREQ(cause_of_wstatus(real_status(0, 42)), "exit_error", "exit(42)");
	ASSERT_TRUE(cause_of_wstatus(real_status(0, 0)) == NULL, "exit(0)");
}

/* glibc's own abbreviations are the reference for the classic signals. */
TEST(signal_names_match_glibc)
{
	char want[32];
	int sig;

	for (sig = 1; sig < 32; sig++) {
		const char *abbrev = sigabbrev_np(sig);

		if (!abbrev)
			continue;
		/* glibc calls 29 POLL; the kernel, kill -l and strace say SIGIO. */
		snprintf(want, sizeof(want), "SIG%s", sig == SIGIO ? "IO" : abbrev);
		if (!ASSERT_STREQ(signal_name(sig), want, "classic signal"))
			fprintf(stderr, "  signal %d\n", sig);
	}
}

TEST(signal_names_of_realtime_and_invalid_numbers)
{
	char want[32];
	int sig;

	ASSERT_STREQ(signal_name(SIGRTMIN), "SIGRTMIN", "SIGRTMIN");
	for (sig = SIGRTMIN + 1; sig <= SIGRTMAX; sig++) {
		snprintf(want, sizeof(want), "SIGRTMIN+%d", sig - SIGRTMIN);
		ASSERT_STREQ(signal_name(sig), want, "real-time signal");
	}
	for (sig = 32; sig < SIGRTMIN; sig++)
		ASSERT_NOT_NULL(signal_name(sig), "kernel signals below SIGRTMIN have a name");
	ASSERT_TRUE(signal_name(0) == NULL, "0 is no signal");
	ASSERT_TRUE(signal_name(-1) == NULL, "negative");
	ASSERT_TRUE(signal_name(SIGRTMAX + 1) == NULL, "past the last signal");
}
