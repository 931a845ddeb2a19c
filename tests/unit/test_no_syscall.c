// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * SPEC §3: "fg_set performs no system call". A forked child opens a
 * dictionary, warms up, then installs a seccomp filter that traps and
 * counts every system call (tests/framework/syscall_trap.h) and runs the
 * write path hard: small and large values, new keys, overwrites, deletes,
 * transactions committed and rolled back, and a full dictionary (-ENOSPC).
 * The count must be 0; one deliberate getppid() afterwards must count 1, so
 * the filter is known to be watching. The parent then reads the dictionary
 * to confirm the writes really happened.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultguard.h"
#include "framework/syscall_trap.h"
#include "framework/test.h"

#define NKEYS 3000
#define BIG (300u << 10)

struct report {
	int install_err;
	int unexpected;	 /* API calls that returned something other than expected */
	char what[128];	 /* the first of them */
	uint64_t during; /* system calls counted during the write path */
	int first_nr;
	uint64_t calibration;
	int full_seen; /* the small dictionary said -ENOSPC */
};

static char keys[NKEYS][64];
static uint8_t big[BIG];

/* 0 B to 8 KiB, and every 100th key the largest value. */
static size_t new_len(int i)
{
	return i % 100 ? (size_t)i * 97 % 8192 : BIG;
}

static void expect(struct report *r, int got, int want, const char *what, int i)
{
	if (got == want || r->unexpected++)
		return;
	snprintf(r->what, sizeof(r->what), "%s #%d returned %d, expected %d", what, i, got, want);
}

/* Everything below runs under the filter: no printing, no allocation, no syscalls. */
static void write_path(struct report *r, struct fg *fg, struct fg *small)
{
	uint8_t val[64];
	int i, err;

	memset(val, 'v', sizeof(val));
	for (i = 0; i < 20000; i++) /* overwrites of warm keys */
		expect(r, fg_set(fg, keys[i % 100], val, (size_t)(i % 65)), 0, "small set", i);
	for (i = 100; i < NKEYS; i++) /* new keys, 0 B to 300 KiB, first touch of arena pages */
		expect(r, fg_set(fg, keys[i], big, new_len(i)), 0, "new key", i);
	for (i = 100; i < NKEYS; i += 3)
		expect(r, fg_del(fg, keys[i]), 0, "del", i);
	for (i = 100; i < NKEYS; i += 3) /* freed slots and extents reused */
		expect(r, fg_set(fg, keys[i], big, (size_t)i * 31 % 5000), 0, "set after del", i);
	for (i = 0; i < 500; i++) {
		expect(r, fg_begin(fg), 0, "begin", i);
		expect(r, fg_set(fg, keys[i], val, sizeof(val)), 0, "txn set", i);
		expect(r, fg_set(fg, keys[i + 1], big, 4096 + (size_t)i), 0, "txn set big", i);
		expect(r, fg_set(fg, keys[i + 1], big, 70000), 0, "txn set again", i);
		expect(r, fg_del(fg, keys[i + 2]), 0, "txn del", i);
		expect(r, fg_set(fg, keys[i + 2], val, 3), 0, "txn set after del", i);
		expect(r, i % 5 ? fg_commit(fg) : fg_rollback(fg), 0, "commit/rollback", i);
	}
	for (i = 0; i < 10; i++)
		expect(r, fg_set(fg, keys[0], big, BIG), 0, "largest", i);
	for (i = 0; i < 1000; i++) {
		err = fg_set(small, keys[i], big, 1000);
		if (err == -ENOSPC) {
			r->full_seen = 1;
			break;
		}
		expect(r, err, 0, "set into the small dictionary", i);
	}
	expect(r, fg_set(small, keys[0], big, 1000), 0, "overwrite in a full dictionary", 0);
}

TEST(fg_set_makes_no_system_call)
{
	struct report *r;
	struct fg_snapshot *s = NULL;
	const void *v;
	size_t len, discarded;
	int memfd, status, i;
	pid_t pid;

	for (i = 0; i < NKEYS; i++)
		snprintf(keys[i], sizeof(keys[i]),
			 i % 7 ? "key.%d" : "a.key.long.enough.to.be.stored.in.the.arena.%d", i);
	for (i = 0; i < (int)BIG; i++)
		big[i] = (uint8_t)(i * 13);
	r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (!ASSERT_TRUE(r != MAP_FAILED, "mmap"))
		return;
	memset(r, 0, sizeof(*r));
	memfd = fg_memfd_create("nosyscall", 0);
	if (!ASSERT_GE(memfd, 0, "fg_memfd_create"))
		return;
	fflush(NULL);
	pid = fork();
	if (!ASSERT_GE(pid, 0, "fork"))
		return;
	if (pid == 0) {
		struct fg_opts o = {.sz = sizeof(o), .app = "nosyscall"};
		char sock[512], fdstr[16];
		struct fg *fg, *small;

		/* The small one registers through a socket: its thread keeps retrying beside us. */
		snprintf(sock, sizeof(sock), "%s/no-collector.sock", test_tmpdir());
		o.socket_path = sock;
		o.max_bytes = 64 << 10;
		small = fg_open(&o);
		snprintf(fdstr, sizeof(fdstr), "%d", memfd);
		setenv("FAULTGUARD_FD", fdstr, 1);
		o.max_bytes = 0;
		fg = fg_open(&o);
		if (!fg || !small)
			_exit(2);
		for (i = 0; i < 100; i++)
			fg_set(fg, keys[i], big, 10);
		/* A handle's first fg_begin allocates its transaction list (once, by design). */
		if (fg_begin(fg) || fg_rollback(fg) || fg_begin(small) || fg_rollback(small))
			_exit(2);
		r->install_err = syscall_trap_install();
		if (r->install_err)
			_exit(1);
		write_path(r, fg, small);
		r->during = syscall_trap_count;
		r->first_nr = syscall_trap_first_nr;
		syscall(SYS_getppid);
		r->calibration = syscall_trap_count - r->during;
		syscall_trap_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (r->install_err == -ENOTSUP) {
		test_skip("no seccomp filter for this architecture in syscall_trap.h");
		goto out;
	}
	if (!ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child ran to its end"))
		goto out;
	ASSERT_EQ(r->during, 0, "system calls made by the write path");
	if (r->during)
		test_fail(__FILE__, __LINE__, "the first was system call number %d", r->first_nr);
	ASSERT_EQ(r->calibration, 1, "the filter counted the one deliberate getppid()");
	ASSERT_EQ(r->unexpected, 0, "API calls with an unexpected result");
	if (r->unexpected)
		test_fail(__FILE__, __LINE__, "first: %s", r->what);
	ASSERT_TRUE(r->full_seen, "the small dictionary filled up (-ENOSPC path covered)");

	/* The writes happened: the dictionary holds them. */
	s = fg_snapshot_read_fd(memfd, &discarded);
	if (!ASSERT_NOT_NULL(s, "read the dictionary"))
		goto out;
	ASSERT_EQ(discarded, 0, "discarded");
	ASSERT_EQ(fg_snapshot_count(s), NKEYS, "every key present");
	if (ASSERT_OK(fg_snapshot_get(s, keys[0], &v, &len), "keys[0]")) {
		ASSERT_EQ(len, BIG, "keys[0] holds the largest value");
		ASSERT_MEMEQ(v, big, BIG, "keys[0] bytes");
	}
	if (ASSERT_OK(fg_snapshot_get(s, keys[NKEYS - 1], &v, &len), "last key"))
		ASSERT_EQ(len, new_len(NKEYS - 1), "last key length");
out:
	fg_snapshot_close(s);
	close(memfd);
	munmap(r, sizeof(*r));
}

TEST(syscall_trap_counts_system_calls)
{
	uint64_t *count = mmap(NULL, 2 * sizeof(uint64_t), PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	if (!ASSERT_TRUE(count != MAP_FAILED, "mmap"))
		return;
	count[0] = count[1] = 0;
	fflush(NULL);
	pid = fork();
	if (!ASSERT_GE(pid, 0, "fork"))
		return;
	if (pid == 0) {
		if (syscall_trap_install())
			_exit(1);
		/* A trapped call fails with ENOSYS instead of running. */
		count[1] = syscall(SYS_getppid) == -1 && errno == ENOSYS;
		(void)!write(1, "x", 0);
		count[0] = syscall_trap_count;
		syscall_trap_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (ASSERT_TRUE(WIFEXITED(status), "exited") && WEXITSTATUS(status) == 1) {
		test_skip("seccomp filters are not available here");
	} else {
		ASSERT_EQ(count[0], 2, "two system calls counted");
		ASSERT_EQ(count[1], 1, "the trapped getppid failed with ENOSYS");
	}
	munmap(count, 2 * sizeof(uint64_t));
}
