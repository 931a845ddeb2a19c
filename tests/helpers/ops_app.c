// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A test app for the operations tests (tests/collector/test_ops_*.c):
 *
 *   ops_app APP MODE [RESCUE_ARGV...]
 *
 * Registers as APP with the collector at $FAULTGUARD_SOCKET (with
 * RESCUE_ARGV as its rescue command, if given), waits until the collector
 * holds its dictionary, writes "app" = APP, "pid" = its pid and "note" =
 * $OPS_APP_NOTE (or "saved by ops_app"), prints "ready <pid>" on stdout,
 * and ends as MODE says: a mode of app_death.h (segv, abort, exit3, exit0,
 * wait, ...), or "stdin": wait for one line on stdin naming such a mode
 * (EOF = exit(0)).
 *
 * Exit codes of its own: 64 bad usage, 70 fg_open failed, 71 not registered
 * within 20 s, 72 writing failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "faultguard.h"
#include "helpers/app_death.h"

const char *__asan_default_options(void);

/*
 * Under ASan the deaths must stay real signals, not sanitizer reports.
 * Exported: the build hides symbols by default, and the runtime must find it.
 */
__attribute__((visibility("default"))) const char *__asan_default_options(void)
{
	return "handle_segv=0:handle_sigbus=0:handle_abort=0:detect_leaks=0";
}

static int wait_registered(struct fg *fg)
{
	struct timespec ts = { .tv_nsec = 10 * 1000 * 1000 };
	int i;

	for (i = 0; i < 2000; i++) {
		if (fg_registered(fg) == 1)
			return 0;
		nanosleep(&ts, NULL);
	}
	return -1;
}

int main(int argc, char **argv)
{
	struct fg_opts opts = { .sz = sizeof(opts) };
	const char *note = getenv("OPS_APP_NOTE");
	char mode[64], pid[16];
	struct fg *fg;

	if (argc < 3) {
		fprintf(stderr, "usage: ops_app APP MODE [RESCUE_ARGV...]\n");
		return 64;
	}
	opts.app = argv[1];
	opts.rescue_argv = argc > 3 ? (const char *const *)argv + 3 : NULL;
	fg = fg_open(&opts);
	if (!fg) {
		fprintf(stderr, "ops_app: fg_open: %s\n", strerror(errno));
		return 70;
	}
	if (wait_registered(fg)) {
		fprintf(stderr, "ops_app: the collector did not take the dictionary within 20 s\n");
		return 71;
	}
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	if (fg_set_str(fg, "app", argv[1]) || fg_set_str(fg, "pid", pid) ||
	    fg_set_str(fg, "note", note ? note : "saved by ops_app")) {
		fprintf(stderr, "ops_app: cannot write the dictionary\n");
		return 72;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	snprintf(mode, sizeof(mode), "%s", argv[2]);
	if (!strcmp(mode, "stdin")) {
		if (!fgets(mode, sizeof(mode), stdin))
			exit(0);
		mode[strcspn(mode, "\n")] = '\0';
	}
	if (app_die(fg, mode) < 0) {
		fprintf(stderr, "ops_app: unknown mode '%s'\n", mode);
		return 64;
	}
	return 0;
}
