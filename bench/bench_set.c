// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The write path against the cheapest thing it could be: fg_set next to a
 * plain memcpy of the same bytes (plus the release store that publishes
 * them), measured in the same run, interleaved, 9 times each. Prints rows
 * of the table protocol described in scripts/bench.sh on stdout; details go
 * to stderr.
 *
 * Also counts the system calls fg_set makes (seccomp, in a child): the
 * contract says none.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultguard.h"
#include "framework/syscall_trap.h"

#define RUNS 9
#define SMALL_KEYS 4096
#define BIG (1u << 20)

/* Makes the compiler forget what it knows about memory: no copy is elided. */
#define CLOBBER() __asm__ volatile("" ::: "memory")

struct fixture {
	struct fg *fg;
	char keys[SMALL_KEYS][17]; /* 16-byte keys */
	uint8_t val[64];
	uint8_t *big;
	uint8_t *dst;	      /* the baseline's destination */
	_Atomic uint64_t seq; /* the baseline's release store */
};

typedef void (*work_fn)(struct fixture *f, unsigned long n);

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void die(const char *what, int err)
{
	fprintf(stderr, "bench_set: %s: %s\n", what, strerror(err));
	exit(1);
}

/* --- the measured loops ---------------------------------------------------- */

static void set_small_one_key(struct fixture *f, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		if (fg_set(f->fg, f->keys[0], f->val, sizeof(f->val)))
			die("fg_set", ENOSPC);
	}
}

static void copy_small_one_key(struct fixture *f, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		memcpy(f->dst, f->keys[0], 16);
		memcpy(f->dst + 16, f->val, sizeof(f->val));
		atomic_store_explicit(&f->seq, i, memory_order_release);
		CLOBBER();
	}
}

/*
 * The same bytes stored the way a library function receiving them would
 * store them with nothing else to do: out of line, the lengths known only
 * at run time (as fg_set's are), so memcpy is the C library's.
 */
static __attribute__((noinline)) void store_plain(struct fixture *f, const char *key, size_t klen,
						  const void *val, size_t len, unsigned long seq)
{
	memcpy(f->dst, key, klen);
	memcpy(f->dst + klen, val, len);
	atomic_store_explicit(&f->seq, seq, memory_order_release);
}

static void call_small_one_key(struct fixture *f, unsigned long n)
{
	/* volatile: the compiler must not see the sizes, as fg_set cannot. */
	volatile size_t klen = 16, len = sizeof(f->val);

	for (unsigned long i = 0; i < n; i++) {
		store_plain(f, f->keys[0], klen, f->val, len, i);
		CLOBBER();
	}
}

static void set_small_many_keys(struct fixture *f, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		if (fg_set(f->fg, f->keys[i % SMALL_KEYS], f->val, sizeof(f->val)))
			die("fg_set", ENOSPC);
	}
}

static void copy_small_many_keys(struct fixture *f, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		uint8_t *d = f->dst + (i % SMALL_KEYS) * 128;

		memcpy(d, f->keys[i % SMALL_KEYS], 16);
		memcpy(d + 16, f->val, sizeof(f->val));
		atomic_store_explicit(&f->seq, i, memory_order_release);
		CLOBBER();
	}
}

static void set_4k(struct fixture *f, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		if (fg_set(f->fg, f->keys[1], f->big, 4096))
			die("fg_set", ENOSPC);
	}
}

static void copy_4k(struct fixture *f, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		memcpy(f->dst, f->big, 4096);
		atomic_store_explicit(&f->seq, i, memory_order_release);
		CLOBBER();
	}
}

static void set_1m(struct fixture *f, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		if (fg_set(f->fg, f->keys[2], f->big, BIG))
			die("fg_set", ENOSPC);
	}
}

static void copy_1m(struct fixture *f, unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		memcpy(f->dst, f->big, BIG);
		atomic_store_explicit(&f->seq, i, memory_order_release);
		CLOBBER();
	}
}

/* --- statistics ------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

struct figure {
	double median, min, max; /* ns per operation */
};

static struct figure summarize(double *v)
{
	struct figure r;

	qsort(v, RUNS, sizeof(*v), cmp_double);
	r.median = v[RUNS / 2];
	r.min = v[0];
	r.max = v[RUNS - 1];
	return r;
}

static void fmt_time(char *buf, size_t len, const struct figure *f)
{
	const char *unit = "ns";
	double div = 1;

	if (f->median >= 10000) {
		unit = "µs";
		div = 1000;
	}
	snprintf(buf, len, "%.1f %s (%.1f-%.1f)", f->median / div, unit, f->min / div,
		 f->max / div);
}

/*
 * Runs @subject and @baseline alternately, RUNS times each after three warm-ups,
 * @n operations per run, and prints one table row.
 */
static void compare(struct fixture *f, const char *name, work_fn subject, const char *base_name,
		    work_fn baseline, unsigned long n, const char *goal, double goal_ratio)
{
	double s[RUNS], b[RUNS], t;
	struct figure fs, fb;
	char cs[64], cb[64];
	int i;

	/* Warm-up: caches, page tables and the CPU's clock settle first. */
	for (i = 0; i < 3; i++) {
		subject(f, n);
		baseline(f, n);
	}
	for (i = 0; i < RUNS; i++) {
		t = now_ns();
		subject(f, n);
		s[i] = (now_ns() - t) / n;
		t = now_ns();
		baseline(f, n);
		b[i] = (now_ns() - t) / n;
	}
	fs = summarize(s);
	fb = summarize(b);
	fmt_time(cs, sizeof(cs), &fs);
	fmt_time(cb, sizeof(cb), &fb);
	printf("| %s | %s | %s: %s | %.2fx | %s |\n", name, cs, base_name, cb,
	       fs.median / fb.median, goal);
	fprintf(stderr, "bench_set: %s: %.2fx%s\n", name, fs.median / fb.median,
		goal_ratio > 0 && fs.median / fb.median > goal_ratio ? " (above the goal)" : "");
}

/* --- system calls ------------------------------------------------------------ */

struct trap_report {
	uint64_t during;      /* system calls seen during the fg_set loop */
	uint64_t calibration; /* seen for one deliberate getppid(): must be 1 */
	int first_nr;
	int err;
	unsigned long sets;
};

/*
 * In a child: a seccomp filter counts every system call while fg_set runs
 * over small, 4 KiB and 1 MiB values, new keys, deletes and transactions.
 */
static void count_syscalls(struct fixture *f)
{
	struct trap_report *r =
	    mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int status;
	pid_t pid;

	if (r == MAP_FAILED)
		die("mmap", errno);
	memset(r, 0, sizeof(*r));
	pid = fork();
	if (pid < 0)
		die("fork", errno);
	if (pid == 0) {
		unsigned long i, sets = 0;

		/* A handle's first fg_begin allocates its transaction list (once, by design). */
		if (fg_begin(f->fg) || fg_rollback(f->fg))
			_exit(1);
		r->err = syscall_trap_install();
		if (r->err)
			_exit(1);
		for (i = 0; i < 200000; i++, sets++)
			fg_set(f->fg, f->keys[i % SMALL_KEYS], f->val, sizeof(f->val));
		for (i = 0; i < 2000; i++, sets++)
			fg_set(f->fg, f->keys[i % 64], f->big, 4096 + i);
		for (i = 0; i < 50; i++, sets++)
			fg_set(f->fg, f->keys[2], f->big, BIG - i);
		for (i = 0; i < 1000; i++) {
			fg_begin(f->fg);
			fg_set(f->fg, f->keys[i % SMALL_KEYS], f->val, sizeof(f->val));
			fg_set(f->fg, f->keys[(i + 1) % SMALL_KEYS], f->big, 300);
			fg_del(f->fg, f->keys[(i + 2) % SMALL_KEYS]);
			fg_commit(f->fg);
			sets += 2;
		}
		for (i = 0; i < SMALL_KEYS; i++)
			fg_del(f->fg, f->keys[i]);
		r->during = syscall_trap_count;
		r->first_nr = syscall_trap_first_nr;
		r->sets = sets;
		syscall(SYS_getppid); /* proves the counter counts */
		r->calibration = syscall_trap_count - r->during;
		syscall_trap_exit(0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || r->err) {
		fprintf(stderr, "bench_set: cannot count system calls (%s)\n",
			r->err ? strerror(-r->err) : "child failed");
		printf("| fg_set system calls (seccomp count) | not measured | — | — | 0 |\n");
		return;
	}
	fprintf(stderr,
		"bench_set: %llu system calls during %lu sets (first: %d); "
		"calibration caught %llu of 1 deliberate call\n",
		(unsigned long long)r->during, r->sets, r->first_nr,
		(unsigned long long)r->calibration);
	printf("| fg_set system calls during %lu sets + dels + txns (seccomp count) | %llu | "
	       "counter check: %llu of 1 deliberate getppid() | — | 0 |\n",
	       r->sets, (unsigned long long)r->during, (unsigned long long)r->calibration);
	munmap(r, sizeof(*r));
}

/* --- setup -------------------------------------------------------------------- */

static void fixture_init(struct fixture *f)
{
	struct fg_opts o = {.sz = sizeof(o), .app = "bench"};
	char fdstr[16];
	int fd, i;

	/* Guardian mode: no registration thread running beside the measurement. */
	fd = fg_memfd_create("bench", 256u << 20);
	if (fd < 0)
		die("fg_memfd_create", -fd);
	snprintf(fdstr, sizeof(fdstr), "%d", fd);
	setenv("FAULTGUARD_FD", fdstr, 1);
	f->fg = fg_open(&o);
	if (!f->fg)
		die("fg_open", errno);
	for (i = 0; i < SMALL_KEYS; i++)
		snprintf(f->keys[i], sizeof(f->keys[i]), "session/user%04d", i);
	for (i = 0; i < (int)sizeof(f->val); i++)
		f->val[i] = (uint8_t)(i * 7);
	f->big = malloc(BIG);
	f->dst = malloc(BIG);
	if (!f->big || !f->dst)
		die("malloc", ENOMEM);
	for (i = 0; i < (int)BIG; i++)
		f->big[i] = (uint8_t)(i * 31 + 7);
	memset(f->dst, 0, BIG);
}

int main(void)
{
	static struct fixture f;

	fixture_init(&f);
	compare(&f, "fg_set 16 B key + 64 B value (overwrite one key), against memcpy",
		set_small_one_key,
		"memcpy 16 B + 64 B in a function, sizes known at run time, + release store",
		call_small_one_key, 2000000, "≤ 3x", 3);
	compare(&f, "fg_set 16 B key + 64 B value (overwrite one key), against an inlined copy",
		set_small_one_key,
		"memcpy 80 B inlined by the compiler (sizes known at compile time) + release store",
		copy_small_one_key, 2000000, "≤ 3x", 3);
	compare(&f, "fg_set 16 B key + 64 B value (4096 keys round robin)", set_small_many_keys,
		"memcpy 80 B to 4096 places + release store", copy_small_many_keys, 2000000, "—",
		0);
	compare(&f, "fg_set 4 KiB value", set_4k, "memcpy 4 KiB + release store", copy_4k, 100000,
		"—", 0);
	compare(&f, "fg_set 1 MiB value", set_1m, "memcpy 1 MiB + release store", copy_1m, 200,
		"≤ 2x", 2);
	count_syscalls(&f);
	fg_close(f.fg);
	free(f.big);
	free(f.dst);
	return 0;
}
