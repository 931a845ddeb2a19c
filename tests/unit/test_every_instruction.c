// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * "Crash-consistent to the instruction", literally: a writer child runs one
 * operation (fg_set, fg_del, fg_commit, fg_rollback) one instruction at a
 * time under ptrace, and after every instruction the parent reads the
 * dictionary the way a rescue would (fg_snapshot_read_fd on the memfd). A
 * death could come at any of those instants, so every one of them must show
 * either the state before the operation or the state after it, complete:
 * nothing discarded, no torn value, an unrelated key untouched, and once
 * the new state has shown, never the old one again.
 *
 * The scenarios cover fg_set's short path (an inline overwrite), its
 * general path (new keys, arena values, transactions), deletes and whole
 * transactions; the torture test does the same at random instants, this
 * one at all of them.
 */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultguard.h"
#include "framework/test.h"

#define MAX_KEYS 3
#define MAX_STEPS 2000000

/* What a key holds: absent, or @len bytes of the pattern @seed. */
struct held {
	const char *key;
	int present;
	size_t len;
	unsigned int seed;
};

/* The keys an operation touches, before and after it. */
struct expectation {
	struct held before[MAX_KEYS], after[MAX_KEYS];
	int nkeys;
	int same; /* before and after are one state (a rollback) */
};

enum op { OP_SET, OP_SET_NULL, OP_DEL, OP_COMMIT, OP_ROLLBACK };

struct scenario {
	const char *name;
	void (*setup)(struct fg *fg); /* runs before the stepped operation */
	enum op op;
	const char *key; /* OP_SET, OP_DEL */
	size_t len;
	unsigned int seed;
	struct expectation want;
};

static void pattern(uint8_t *p, size_t len, unsigned int seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static void set_pattern(struct fg *fg, const char *key, size_t len, unsigned int seed)
{
	uint8_t *v = malloc(len ? len : 1);

	if (!v)
		_exit(3);
	pattern(v, len, seed);
	if (fg_set(fg, key, v, len))
		_exit(4);
	free(v);
}

/* 1 when @s holds exactly @h (for every key of the expectation). */
static int holds(const struct fg_snapshot *s, const struct held *h, int n)
{
	uint8_t want[8192];
	const void *v;
	size_t len;
	int i;

	for (i = 0; i < n; i++) {
		int err = fg_snapshot_get(s, h[i].key, &v, &len);

		if (!h[i].present) {
			if (err != -ENOENT)
				return 0;
			continue;
		}
		if (err || len != h[i].len || len > sizeof(want))
			return 0;
		pattern(want, len, h[i].seed);
		if (len && memcmp(v, want, len))
			return 0;
	}
	return 1;
}

static void child(const struct scenario *sc, volatile int *done)
{
	struct fg_opts o = { .sz = sizeof(o), .app = "step" };
	struct fg *fg = fg_open(&o);
	uint8_t *v;
	int err = 0;

	if (!fg || fg_set(fg, "other", "stays", 5))
		_exit(2);
	if (sc->setup)
		sc->setup(fg);
	v = malloc(sc->len ? sc->len : 1);
	if (!v)
		_exit(3);
	pattern(v, sc->len, sc->seed);
	if (ptrace(PTRACE_TRACEME, 0, NULL, NULL) < 0)
		_exit(5);
	raise(SIGSTOP);
	/* The parent steps from here: one operation, then *done. */
	switch (sc->op) {
	case OP_SET: err = fg_set(fg, sc->key, v, sc->len); break;
	case OP_SET_NULL: err = fg_set(fg, sc->key, NULL, 0); break;
	case OP_DEL: err = fg_del(fg, sc->key); break;
	case OP_COMMIT: err = fg_commit(fg); break;
	case OP_ROLLBACK: err = fg_rollback(fg); break;
	}
	*done = err ? 2 : 1;
	for (;;)
		pause();
}

static void step_through(const struct scenario *sc)
{
	volatile int *done = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
				  -1, 0);
	int fd = fg_memfd_create("step", 1u << 20), status, steps = 0, bad = 0, seen_after = 0;
	char fdstr[16];
	pid_t pid;

	if (!ASSERT_TRUE(done != MAP_FAILED, "mmap") || !ASSERT_GE(fd, 0, "fg_memfd_create"))
		return;
	snprintf(fdstr, sizeof(fdstr), "%d", fd);
	setenv("FAULTGUARD_FD", fdstr, 1);
	pid = fork();
	if (pid == 0)
		child(sc, done);
	unsetenv("FAULTGUARD_FD");
	if (!ASSERT_GE(pid, 0, "fork"))
		goto out;
	if (!ASSERT_EQ(waitpid(pid, &status, 0), pid, "waitpid") ||
	    !ASSERT_TRUE(WIFSTOPPED(status), "the child stopped before the operation"))
		goto kill;
	while (!*done && steps < MAX_STEPS) {
		struct fg_snapshot *s;
		size_t discarded = 0;
		const void *v;
		size_t len = 0;
		int before, after, other;

		s = fg_snapshot_read_fd(fd, &discarded);
		other = s && !fg_snapshot_get(s, "other", &v, &len) && len == 5 &&
			!memcmp(v, "stays", 5);
		before = s && holds(s, sc->want.before, sc->want.nkeys);
		after = s && holds(s, sc->want.after, sc->want.nkeys);
		fg_snapshot_close(s);
		if (!s || discarded || !other || !(before || after) || (seen_after && !after)) {
			if (bad++ < 3)
				test_fail(__FILE__, __LINE__,
					  "%s: after instruction %d: %s, discarded %zu, other key %s, "
					  "state %s",
					  sc->name, steps, s ? "read" : "unreadable", discarded,
					  other ? "intact" : "damaged",
					  before ? "before" : after ? "after (then before again)"
								  : "neither before nor after");
		}
		seen_after |= after && !before;
		if (!ASSERT_OK(ptrace(PTRACE_SINGLESTEP, pid, NULL, NULL), "PTRACE_SINGLESTEP") ||
		    !ASSERT_EQ(waitpid(pid, &status, 0), pid, "waitpid") ||
		    !ASSERT_TRUE(WIFSTOPPED(status), "the child is still there"))
			goto kill;
		steps++;
	}
	ASSERT_EQ(*done, 1, sc->name);
	ASSERT_EQ(bad, 0, sc->name);
	if (!sc->want.same)
		ASSERT_TRUE(seen_after, "the new state showed before the operation returned");
	printf("  %s: %d instructions, each followed by a read\n", sc->name, steps);
kill:
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
out:
	close(fd);
	munmap((void *)done, 4096);
}

/* --- the scenarios ----------------------------------------------------------- */

#define KEEP(k, l, s) { .key = k, .present = 1, .len = l, .seed = s }
#define GONE(k) { .key = k, .present = 0 }

static void k_inline(struct fg *fg) { set_pattern(fg, "k", 10, 1); }
static void k_64(struct fg *fg) { set_pattern(fg, "k", 64, 1); }
static void k_arena(struct fg *fg) { set_pattern(fg, "k", 200, 1); }
static void k_big(struct fg *fg) { set_pattern(fg, "k", 5000, 1); }

/* k was written by a committed transaction (its other version is gone). */
static void k_from_txn(struct fg *fg)
{
	if (fg_begin(fg))
		_exit(6);
	set_pattern(fg, "k", 20, 1);
	if (fg_commit(fg))
		_exit(6);
}

/* a=1/10 B, b=2/300 B committed; then a transaction sets a, deletes b, adds c. */
static void txn_open(struct fg *fg)
{
	set_pattern(fg, "a", 10, 1);
	set_pattern(fg, "b", 300, 2);
	if (fg_begin(fg))
		_exit(6);
	set_pattern(fg, "a", 40, 11);
	if (fg_del(fg, "b"))
		_exit(6);
	set_pattern(fg, "c", 500, 13);
}

static const struct scenario scenarios[] = {
	{ "set, inline over inline (the short path)", k_inline, OP_SET, "k", 64, 2,
	  { { KEEP("k", 10, 1) }, { KEEP("k", 64, 2) }, 1, 0 } },
	{ "set, 1 byte over 64", k_64, OP_SET, "k", 1, 2,
	  { { KEEP("k", 64, 1) }, { KEEP("k", 1, 2) }, 1, 0 } },
	{ "set, inline over an arena value", k_arena, OP_SET, "k", 30, 2,
	  { { KEEP("k", 200, 1) }, { KEEP("k", 30, 2) }, 1, 0 } },
	{ "set, arena over inline", k_inline, OP_SET, "k", 300, 2,
	  { { KEEP("k", 10, 1) }, { KEEP("k", 300, 2) }, 1, 0 } },
	{ "set, arena over arena", k_big, OP_SET, "k", 6000, 2,
	  { { KEEP("k", 5000, 1) }, { KEEP("k", 6000, 2) }, 1, 0 } },
	{ "set, over a value a transaction wrote", k_from_txn, OP_SET, "k", 40, 2,
	  { { KEEP("k", 20, 1) }, { KEEP("k", 40, 2) }, 1, 0 } },
	{ "set, empty value from NULL", k_inline, OP_SET_NULL, "k", 0, 0,
	  { { KEEP("k", 10, 1) }, { KEEP("k", 0, 0) }, 1, 0 } },
	{ "set, a new key", NULL, OP_SET, "k", 50, 2,
	  { { GONE("k") }, { KEEP("k", 50, 2) }, 1, 0 } },
	{ "set, a new key with a long name", NULL, OP_SET,
	  "a key longer than the forty bytes a slot holds inline", 50, 2,
	  { { GONE("a key longer than the forty bytes a slot holds inline") },
	    { KEEP("a key longer than the forty bytes a slot holds inline", 50, 2) }, 1, 0 } },
	{ "del", k_arena, OP_DEL, "k", 0, 0,
	  { { KEEP("k", 200, 1) }, { GONE("k") }, 1, 0 } },
	{ "commit: set a, delete b, add c", txn_open, OP_COMMIT, NULL, 0, 0,
	  { { KEEP("a", 10, 1), KEEP("b", 300, 2), GONE("c") },
	    { KEEP("a", 40, 11), GONE("b"), KEEP("c", 500, 13) }, 3, 0 } },
};

TEST(set_del_and_commit_at_every_instruction)
{
	size_t i;

	for (i = 0; i < sizeof(scenarios) / sizeof(scenarios[0]); i++)
		step_through(&scenarios[i]);
}

/* A rollback changes nothing a reader sees: every instruction shows the state before. */
TEST(rollback_at_every_instruction)
{
	static const struct scenario sc = {
		"rollback of set a, delete b, add c", txn_open, OP_ROLLBACK, NULL, 0, 0,
		{ { KEEP("a", 10, 1), KEEP("b", 300, 2), GONE("c") },
		  { KEEP("a", 10, 1), KEEP("b", 300, 2), GONE("c") }, 3, 1 },
	};

	step_through(&sc);
}
