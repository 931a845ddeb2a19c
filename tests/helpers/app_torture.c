// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * app_torture PROGRESS_FD READY_FD: the writer of the crash torture through
 * `faultguardctl run` (see app_torture.h). Maps the progress page from
 * PROGRESS_FD, reports "<pid>\n" on READY_FD, and writes until it is killed.
 *
 * Exit codes of its own: 64 bad usage, 70 fg_open failed, 71 no guardian,
 * 72 cannot map the progress page, 73 a write failed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "faultguard.h"
#include "helpers/app_asan.h"
#include "helpers/app_torture.h"

static int write_round(struct fg *fg, uint64_t seq)
{
	static unsigned char buf[TORT_MAX_LEN];
	size_t len;
	int err;

	err = fg_begin(fg);
	len = tort_fill(buf, TORT_A, seq);
	if (!err)
		err = fg_set(fg, tort_keys[TORT_A], buf, len);
	len = tort_fill(buf, TORT_B, seq);
	if (!err)
		err = fg_set(fg, tort_keys[TORT_B], buf, len);
	if (!err)
		err = fg_commit(fg);
	len = tort_fill(buf, TORT_SINGLE, seq);
	if (!err)
		err = fg_set(fg, tort_keys[TORT_SINGLE], buf, len);
	return err;
}

int main(int argc, char **argv)
{
	struct fg_opts opts = { .sz = sizeof(opts), .app = "app_torture" };
	struct tort_progress *p;
	char line[24];
	uint64_t seq;
	struct fg *fg;
	int n;

	if (argc != 3) {
		fprintf(stderr, "usage: app_torture PROGRESS_FD READY_FD\n");
		return 64;
	}
	fg = fg_open(&opts);
	if (!fg)
		return 70;
	if (fg_registered(fg) != 1)
		return 71;
	p = mmap(NULL, sizeof(*p), PROT_READ | PROT_WRITE, MAP_SHARED, atoi(argv[1]), 0);
	if (p == MAP_FAILED)
		return 72;
	n = snprintf(line, sizeof(line), "%d\n", (int)getpid());
	if (write(atoi(argv[2]), line, (size_t)n) != n)
		return 64;
	for (seq = 1;; seq++) {
		atomic_store_explicit(&p->inflight, seq, memory_order_release);
		/* The dictionary writes may not be moved before the announcement. */
		atomic_signal_fence(memory_order_seq_cst);
		if (write_round(fg, seq))
			return 73;
		atomic_store_explicit(&p->done, seq, memory_order_release);
	}
}
