// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A guarded test app: app_crash MODE [READY_FD]. Opens its dictionary (the
 * guardian's, from $FAULTGUARD_FD), writes the entries of app_data.h,
 * reports "<pid>\n" on READY_FD (an fd inherited through the guardian),
 * and dies as app_death.h's MODE says.
 *
 * Exit codes of its own: 64 bad usage, 70 fg_open failed, 71 no guardian
 * holds the dictionary, 72 writing failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "faultguard.h"
#include "helpers/app_asan.h"
#include "helpers/app_data.h"
#include "helpers/app_death.h"

static void report_ready(const char *arg)
{
	char line[24];
	int fd = atoi(arg), n;

	n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	while (write(fd, line, (size_t)n) < 0 && errno == EINTR)
		;
}

int main(int argc, char **argv)
{
	struct fg_opts opts = { .sz = sizeof(opts), .app = "app_crash" };
	struct fg *fg;
	int rc;

	if (argc < 2 || argc > 3) {
		fprintf(stderr, "usage: app_crash MODE [READY_FD]\n");
		return 64;
	}
	fg = fg_open(&opts);
	if (!fg) {
		fprintf(stderr, "app_crash: fg_open: %s\n", strerror(errno));
		return 70;
	}
	if (fg_registered(fg) != 1) {
		fprintf(stderr, "app_crash: no guardian holds the dictionary\n");
		return 71;
	}
	rc = app_write_entries(fg, argv[1]);
	if (rc) {
		fprintf(stderr, "app_crash: writing the entries: %s\n", strerror(-rc));
		return 72;
	}
	if (argc == 3)
		report_ready(argv[2]);
	rc = app_die(fg, argv[1]);
	if (rc < 0) {
		fprintf(stderr, "app_crash: unknown mode '%s'\n", argv[1]);
		return 64;
	}
	return rc;
}
