// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Death to rescue-command start (issue 3, "Speed"), measured from outside
 * the collector: the app writes CLOCK_MONOTONIC into shared memory on the
 * instruction before its segfault; the rescue command (this binary with
 * --rescue-mark) writes CLOCK_MONOTONIC first thing in main(). The
 * difference is what a user waits for.
 *
 * Beside it, interleaved trial by trial, the floor: a parent that waitpid()s
 * its segfaulting child and then fork-execs the same command. The floor's
 * child holds as many bytes of data as the app's dictionary (private
 * memory), so both processes free alike when they die.
 *
 * Dictionaries: 1 KiB of data (default capacity), and 64 MiB of
 * pseudo-random, incompressible data in a 128 MiB dictionary — the worst
 * case for the snapshot's zlib stream. The collector is a private
 * faultguardd whose state directory is on disk (/var/tmp), so the
 * snapshot's fsyncs cost what they cost on a host. One app name crashes
 * over and over, so the config turns the rescue rate limit off
 * (rate_limit_burst = 0); everything else is the default.
 *
 *   BENCH_LATENCY_TRIALS=N   trials of the 1 KiB case (default 100)
 *   BENCH_LATENCY_BIG_TRIALS=N  trials of the 64 MiB case (default 9)
 */
#include <sys/mman.h>

#include "bench_common.h"

#define MAX_TRIALS 1000

static struct bench_collector col;
static int64_t *death; /* shared with the dying children: one slot per trial */
static int marks_fd;
static char marks_path[256];
static long next_slot;

static void rescue_argv(long slot, char *slotbuf, size_t len, const char **argv)
{
	snprintf(slotbuf, len, "%ld", slot);
	argv[0] = bench_self();
	argv[1] = BENCH_RESCUE_FLAG;
	argv[2] = marks_path;
	argv[3] = slotbuf;
	argv[4] = NULL;
}

/* Waits for the rescue of @slot to record its start; returns start - death in ms. */
static double wait_mark(long slot, int64_t timeout_s)
{
	int64_t deadline = bench_now_ns() + timeout_s * 1000000000LL, t;

	while (!(t = bench_mark_read(marks_fd, slot))) {
		if (bench_now_ns() > deadline)
			return -1;
		bench_sleep_ms(1);
	}
	return (double)(t - death[slot]) / 1e6;
}

__attribute__((noreturn)) static void die_now(long slot)
{
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);
	death[slot] = bench_now_ns();
	*(volatile int *)0 = 0;
	abort();
}

/* The floor: waitpid, then fork-exec the same command. */
static double floor_trial(size_t bytes)
{
	long slot = next_slot++;
	const char *argv[5];
	char slotbuf[24];
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	pid_t child, rescue;
	int status;

	rescue_argv(slot, slotbuf, sizeof(slotbuf), argv);
	fflush(NULL);
	child = fork();
	if (child < 0)
		bench_die("fork", errno);
	if (child == 0) {
		if (bytes) {
			uint8_t *p = malloc(bytes);

			if (!p)
				_exit(2);
			for (size_t i = 0; i < bytes; i++)
				p[i] = (uint8_t)(i * 2654435761u >> 13);
			__asm__ volatile("" : : "r"(p) : "memory");
		}
		die_now(slot);
	}
	waitpid(child, &status, 0);
	rescue = fork();
	if (rescue == 0) {
		execve(argv[0], (char **)argv, env);
		_exit(127);
	}
	if (rescue < 0)
		bench_die("fork", errno);
	waitpid(rescue, &status, 0);
	return wait_mark(slot, 10);
}

/* Through the collector: register, fill, die; the collector runs the command. */
static double collector_trial(size_t bytes, size_t max_bytes, long *rescues)
{
	long slot = next_slot++;
	const char *argv[5];
	char slotbuf[24];
	int64_t deadline;
	pid_t child;
	double ms;
	int status;

	rescue_argv(slot, slotbuf, sizeof(slotbuf), argv);
	fflush(NULL);
	child = fork();
	if (child < 0)
		bench_die("fork", errno);
	if (child == 0) {
		struct fg_opts o = {
			.sz = sizeof(o),
			.app = bytes > 4096 ? "latency-64m" : "latency-1k",
			.rescue_argv = argv,
			.socket_path = col.sock,
			.max_bytes = max_bytes,
		};
		struct fg *fg = fg_open(&o);

		if (!fg || bench_fill(fg, bytes))
			_exit(2);
		deadline = bench_now_ns() + 20 * 1000000000LL;
		while (!fg_registered(fg)) {
			if (bench_now_ns() > deadline)
				_exit(3);
			bench_sleep_ms(1);
		}
		die_now(slot);
	}
	waitpid(child, &status, 0);
	if (!WIFSIGNALED(status)) {
		fprintf(stderr, "bench_rescue_latency: the app did not crash (status 0x%x)\n",
			status);
		return -1;
	}
	ms = wait_mark(slot, 60);
	/* Let the collector record the rescue before the next trial. */
	++*rescues;
	deadline = bench_now_ns() + 60 * 1000000000LL;
	while (bench_audit_count(&col, "rescue") < *rescues && bench_now_ns() < deadline)
		bench_sleep_ms(1);
	return ms;
}

/* Removes the snapshots of @app: 64 MiB each would fill the disk. */
static void drop_snapshots(const char *app)
{
	char path[300];

	snprintf(path, sizeof(path), "%s/snapshots/0/%s", col.state, app);
	bench_rmtree(path);
}

static void fmt(char *buf, size_t len, const struct bench_stats *s)
{
	snprintf(buf, len, "median %.2f ms, p99 %.2f ms (%.2f-%.2f, n=%zu)", s->median, s->p99,
		 s->min, s->max, s->n);
}

static long env_long(const char *name, long def, long max)
{
	const char *v = getenv(name);
	long n = v ? strtol(v, NULL, 10) : def;

	return n > 0 && n <= max ? n : def;
}

static int run_case(const char *label, size_t bytes, size_t max_bytes, long trials,
		    long *rescues, double goal_ms)
{
	double *f = calloc((size_t)trials, sizeof(double));
	double *c = calloc((size_t)trials, sizeof(double));
	struct bench_stats sf, sc;
	char cf[160], cc[160], goal[64];
	long i, nf = 0, nc = 0;
	double v;

	if (!f || !c)
		bench_die("calloc", ENOMEM);
	/* One warm-up of each: page cache, dynamic loader, directories. */
	floor_trial(bytes);
	collector_trial(bytes, max_bytes, rescues);
	for (i = 0; i < trials; i++) {
		v = floor_trial(bytes);
		if (v >= 0)
			f[nf++] = v;
		v = collector_trial(bytes, max_bytes, rescues);
		if (v >= 0)
			c[nc++] = v;
		if (bytes > 4096)
			drop_snapshots("latency-64m");
	}
	if (nc < trials || nf < trials)
		fprintf(stderr, "bench_rescue_latency: %s: %ld of %ld collector trials and %ld of "
				"%ld floor trials completed\n",
			label, nc, trials, nf, trials);
	sf = bench_summarize(f, (size_t)nf);
	sc = bench_summarize(c, (size_t)nc);
	fmt(cf, sizeof(cf), &sc);
	fmt(cc, sizeof(cc), &sf);
	if (goal_ms > 0)
		snprintf(goal, sizeof(goal), "median ≤ floor + %.0f ms", goal_ms);
	else
		snprintf(goal, sizeof(goal), "—");
	printf("| death → rescue command start, %s | %s | waitpid + fork-exec floor: %s | "
	       "%.2fx (+%.2f ms) | %s |\n",
	       label, cf, cc, sc.median / sf.median, sc.median - sf.median, goal);
	fprintf(stderr, "bench_rescue_latency: %s: collector median %.2f ms, floor %.2f ms: %+.2f ms%s\n",
		label, sc.median, sf.median, sc.median - sf.median,
		goal_ms > 0 && sc.median - sf.median > goal_ms ? " (misses the goal)" : "");
	free(f);
	free(c);
	return nc == trials;
}

/* The collector's own view, from its audit records: a cross-check and a breakdown. */
static void audit_breakdown(void)
{
	static double v[4 * MAX_TRIALS];
	struct bench_stats s;
	long n;

	n = bench_audit_numbers(&col, "snapshot", "ms", v, 4 * MAX_TRIALS);
	if (n) {
		s = bench_summarize(v, (size_t)n);
		fprintf(stderr, "bench_rescue_latency: audit: snapshot ms: median %.0f, max %.0f (n=%ld)\n",
			s.median, s.max, n);
	}
	n = bench_audit_numbers(&col, "rescue", "latency_ms", v, 4 * MAX_TRIALS);
	if (n) {
		s = bench_summarize(v, (size_t)n);
		fprintf(stderr, "bench_rescue_latency: audit: latency_ms: median %.0f, max %.0f (n=%ld)\n",
			s.median, s.max, n);
	}
}

int main(int argc, char **argv)
{
	long small = env_long("BENCH_LATENCY_TRIALS", 100, MAX_TRIALS);
	long big = env_long("BENCH_LATENCY_BIG_TRIALS", 9, MAX_TRIALS);
	long rescues = 0;
	int ok;

	bench_rescue_mark_main(argc, argv);
	if (!bench_need_root("death → rescue command start"))
		return 0;
	bench_print_machine();
	death = mmap(NULL, 4 * MAX_TRIALS * sizeof(*death), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (death == MAP_FAILED)
		bench_die("mmap", errno);
	bench_collector_start(&col, "rate_limit_burst = 0\n");
	snprintf(marks_path, sizeof(marks_path), "%s/marks", col.dir);
	marks_fd = bench_marks_create(marks_path, 4 * MAX_TRIALS);

	ok = run_case("1 KiB dictionary, backtraces on", 1024, 0, small, &rescues, 3);
	ok &= run_case("64 MiB dictionary (incompressible)", 64u << 20, 128u << 20, big,
		       &rescues, 0);
	audit_breakdown();
	if (bench_log_has(&col, "dropped"))
		fprintf(stderr, "bench_rescue_latency: the collector reports lost BPF records\n");
	close(marks_fd);
	bench_collector_stop(&col);
	return ok ? 0 : 1;
}
