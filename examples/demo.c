// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The original faultguard's example, in C: an app keeps a copy of its
 * important data in a faultguard dictionary and crashes with a segfault at
 * i == 7. Its rescue command (demo_rescue, next to this binary) prints what
 * was rescued.
 *
 *   demo            register with the collector (system-wide mode)
 *   demo --guard    run under fg_guard (standalone mode, no root needed)
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultguard.h"

static int launch(struct fg *fg, void *arg)
{
	int important_data_1[3] = { 1, 2, 3 };
	char important_data_2[64] = "Hello World";
	int i;

	(void)arg;
	printf("Launching demo (pid %d)\n", (int)getpid());
	for (i = 0; i < 10; i++) {
		important_data_1[i % 3] = i;
		snprintf(important_data_2 + strlen(important_data_2), 4, "%d", i);
		printf("important_data_1: [%d %d %d]\n", important_data_1[0], important_data_1[1],
		       important_data_1[2]);
		printf("important_data_2: %s\n", important_data_2);
		fflush(stdout);

		/* Keeping the important data safe: no system call, nanoseconds. */
		fg_set(fg, "important_data_1", important_data_1, sizeof(important_data_1));
		fg_set_str(fg, "important_data_2", important_data_2);

		if (i == 7) {
			volatile int *null = NULL;

			printf("Generating a segfault at i == 7\n");
			fflush(stdout);
			*null = 42;
		}
	}
	return 0;
}

/* In standalone mode the rescue is a function in the guardian. */
static void rescue(const struct fg_snapshot *s, int wstatus, void *arg)
{
	const void *v1, *v2;
	size_t l1, l2;
	const int *d1;

	(void)arg;
	printf("Fault occurred (%s %d). Rescued data:\n",
	       WIFSIGNALED(wstatus) ? "signal" : "exit code",
	       WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : WEXITSTATUS(wstatus));
	if (fg_snapshot_get(s, "important_data_1", &v1, &l1) || l1 != 3 * sizeof(int) ||
	    fg_snapshot_get(s, "important_data_2", &v2, &l2))
		return;
	d1 = v1;
	printf("important_data_1: [%d %d %d]\n", d1[0], d1[1], d1[2]);
	printf("important_data_2: %.*s\n", (int)l2, (const char *)v2);
}

int main(int argc, char **argv)
{
	char self[PATH_MAX], rescue_path[PATH_MAX + 16];
	const char *rescue_argv[2] = { rescue_path, NULL };
	struct fg_opts opts = {
		.sz = sizeof(opts),
		.app = "demo",
		.rescue_argv = rescue_argv,
	};
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	struct fg *fg;

	if (n <= 0) {
		perror("demo: readlink /proc/self/exe");
		return 1;
	}
	self[n] = '\0';
	*strrchr(self, '/') = '\0';
	snprintf(rescue_path, sizeof(rescue_path), "%s/demo_rescue", self);

	if (argc > 1 && !strcmp(argv[1], "--guard")) {
		int wstatus = fg_guard(&opts, launch, rescue, NULL);

		return wstatus < 0 ? 1 : 0;
	}
	fg = fg_open(&opts);
	if (!fg) {
		perror("demo: fg_open");
		return 1;
	}
	/* Give the library's thread a moment to register before we crash. */
	for (n = 0; n < 200 && !fg_registered(fg); n++)
		usleep(10000);
	/* A collector, or a guardian such as `faultguardctl run`, holds the data. */
	printf("dictionary held for a rescue: %s\n", fg_registered(fg) ? "yes" : "no");
	return launch(fg, NULL);
}
