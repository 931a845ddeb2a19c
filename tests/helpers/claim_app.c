// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * An app at its next start (SPEC §8.5): claim_app APP MODE PID [N]. Calls
 * fg_claim_previous N times (default 2) for APP and prints one line for
 * each: "claimed ok" when the snapshot holds exactly what a test app of
 * app_data.h wrote in MODE as PID (0: the pid the snapshot names), with
 * "claimed differs: ..." when it does not, "none" for ENOENT, "error N"
 * for another errno. The socket: $FAULTGUARD_SOCKET.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "faultguard.h"
#include "helpers/app_data.h"

int main(int argc, char **argv)
{
	struct fg_opts o = { .sz = sizeof(o) };
	int n, i, pid;

	if (argc < 4)
		return 64;
	o.app = argv[1];
	pid = atoi(argv[3]);
	n = argc > 4 ? atoi(argv[4]) : 2;
	for (i = 0; i < n; i++) {
		struct fg_snapshot *s = fg_claim_previous(&o);
		char why[256];
		int meta_pid = 0;

		if (!s) {
			if (errno == ENOENT)
				printf("none\n");
			else
				printf("error %d\n", errno);
			fflush(stdout);
			continue;
		}
		fg_snapshot_meta(s, NULL, &meta_pid, NULL, NULL);
		if (app_snapshot_diff(s, argv[2], pid ? pid : meta_pid, why, sizeof(why)))
			printf("claimed differs: %s\n", why);
		else
			printf("claimed ok\n");
		fflush(stdout);
		fg_snapshot_close(s);
	}
	return 0;
}
