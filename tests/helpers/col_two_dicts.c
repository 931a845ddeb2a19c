// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A process with two dictionaries (two fg_open calls, apps "first" and
 * "second", snapshots only): waits until both are registered, prints
 * "ready <pid>", then dies of SIGSEGV. Both must be rescued, each with its data.
 */
#include <signal.h>
#include <stdio.h>
#include <unistd.h>

#include "app_asan.h"
#include "faultguard.h"

int main(void)
{
	struct fg_opts a = { .sz = sizeof(a), .app = "first" };
	struct fg_opts b = { .sz = sizeof(b), .app = "second" };
	struct fg *fa = fg_open(&a), *fb = fg_open(&b);
	int i;

	if (!fa || !fb) {
		perror("col_two_dicts: fg_open");
		return 1;
	}
	fg_set_str(fa, "who", "first");
	fg_set_str(fb, "who", "second");
	for (i = 0; i < 2000 && !(fg_registered(fa) && fg_registered(fb)); i++)
		usleep(5000);
	if (!fg_registered(fa) || !fg_registered(fb)) {
		fprintf(stderr, "col_two_dicts: not both registered\n");
		return 1;
	}
	printf("ready %d\n", (int)getpid());
	fflush(stdout);
	/* A sent SIGSEGV: a crash all the same, and no sanitizer report. */
	raise(SIGSEGV);
	return 0;
}
