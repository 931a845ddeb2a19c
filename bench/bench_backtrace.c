// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Death to a complete crash record with a symbolized backtrace (issue 11):
 * an app built like any other here (-O2 -g, so without frame pointers)
 * registers with a private faultguardd, writes CLOCK_MONOTONIC into shared
 * memory and segfaults three calls deep; the benchmark polls the audit log
 * until the crash record of that pid, with its backtrace, is there. The
 * first crash pays for loading the files' symbols and lines (libc's from
 * libc6-dbg when it is installed); the collector keeps them, so the rows
 * give that first one apart.
 *
 * Beside it, in the same run, what a core-dump tool does for the same
 * crash: the kernel writes a core file, then `gdb -batch -ex bt` reads it
 * (a fair stand-in for coredumpctl, which runs elfutils over the core):
 * death to gdb's exit. Skipped, and said, when core files cannot be
 * written in the working directory (core_pattern is a pipe) or gdb is
 * missing.
 *
 *   BENCH_BACKTRACE_TRIALS=N  crashes through the collector (default 50)
 *   BENCH_GDB_TRIALS=N        core + gdb runs (default 5)
 */
#include <sys/mman.h>

#include "bench_common.h"

#define MAX_TRIALS 1000

static struct bench_collector col;
static int64_t *death;

__attribute__((noinline)) void bench_bt_inner(long slot);
__attribute__((noinline)) void bench_bt_middle(long slot);
__attribute__((noinline)) void bench_bt_outer(long slot);

__attribute__((noinline)) void bench_bt_inner(long slot)
{
	death[slot] = bench_now_ns();
	*(volatile int *)0 = (int)slot;
}

__attribute__((noinline)) void bench_bt_middle(long slot)
{
	bench_bt_inner(slot);
	__asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void bench_bt_outer(long slot)
{
	bench_bt_middle(slot);
	__asm__ volatile("" ::: "memory");
}

/* The crash record of @pid with a backtrace is in the log: the time it was first seen. */
static int64_t wait_crash_record(pid_t pid, int64_t timeout_ns)
{
	char want[64];
	int64_t deadline = bench_now_ns() + timeout_ns;
	struct timespec nap = { .tv_nsec = 100 * 1000 };

	snprintf(want, sizeof(want), "\"pid\":%d,", (int)pid);
	while (bench_now_ns() < deadline) {
		char *line = NULL;
		size_t cap = 0;
		int found = 0;
		FILE *f = fopen(col.audit, "re");

		while (f && !found && getline(&line, &cap, f) > 0)
			found = strstr(line, "\"event\":\"crash\"") && strstr(line, want) &&
				strstr(line, "\"backtrace\":[");
		free(line);
		if (f)
			fclose(f);
		if (found)
			return bench_now_ns();
		nanosleep(&nap, NULL);
	}
	return 0;
}

static double collector_trial(long slot)
{
	int64_t seen;
	pid_t child;
	int status;

	fflush(NULL);
	child = fork();
	if (child < 0)
		bench_die("fork", errno);
	if (child == 0) {
		struct rlimit no_core = { 0, 0 };
		struct fg_opts o = { .sz = sizeof(o), .app = "backtrace", .socket_path = col.sock };
		struct fg *fg = fg_open(&o);

		if (!fg || fg_set_str(fg, "k", "v"))
			_exit(2);
		if (!bench_wait_registered(fg, 20 * 1000000000LL, 0))
			_exit(3);
		setrlimit(RLIMIT_CORE, &no_core);
		bench_bt_outer(slot);
		_exit(4);
	}
	waitpid(child, &status, 0);
	if (!WIFSIGNALED(status))
		return -1;
	seen = wait_crash_record(child, 10 * 1000000000LL);
	return seen ? (double)(seen - death[slot]) / 1e6 : -1;
}

/* Whether the kernel writes "core" files in the working directory here. */
static int plain_core_files(void)
{
	char pattern[256] = "";
	FILE *f = fopen("/proc/sys/kernel/core_pattern", "re");

	if (f) {
		if (!fgets(pattern, sizeof(pattern), f))
			pattern[0] = '\0';
		fclose(f);
	}
	return pattern[0] && pattern[0] != '|' && !strchr(pattern, '/');
}

/* Core dump + gdb -batch -ex bt: death to gdb's exit. */
static double gdb_trial(long slot, const char *dir)
{
	char core[512], cmd[8192];
	pid_t child;
	int status;
	int64_t end;

	snprintf(core, sizeof(core), "%s/core", dir);
	unlink(core);
	fflush(NULL);
	child = fork();
	if (child < 0)
		bench_die("fork", errno);
	if (child == 0) {
		struct rlimit core_lim = { RLIM_INFINITY, RLIM_INFINITY };

		if (chdir(dir) < 0 || setrlimit(RLIMIT_CORE, &core_lim) < 0)
			_exit(2);
		prctl(PR_SET_DUMPABLE, 1);
		bench_bt_outer(slot);
		_exit(4);
	}
	waitpid(child, &status, 0);
	if (!WIFSIGNALED(status) || !WCOREDUMP(status)) {
		/* core_uses_pid: the file is core.PID */
		snprintf(cmd, sizeof(cmd), "%s/core.%d", dir, (int)child);
		if (rename(cmd, core) < 0)
			return -1;
	} else if (access(core, R_OK) < 0) {
		snprintf(cmd, sizeof(cmd), "%s/core.%d", dir, (int)child);
		if (rename(cmd, core) < 0)
			return -1;
	}
	snprintf(cmd, sizeof(cmd), "gdb -nx -batch -ex bt '%s' '%s' >/dev/null 2>&1", bench_self(),
		 core);
	if (system(cmd) != 0)
		return -1;
	end = bench_now_ns();
	unlink(core);
	return (double)(end - death[slot]) / 1e6;
}

static void fmt(char *buf, size_t len, const struct bench_stats *s)
{
	snprintf(buf, len, "median %.2f ms, p99 %.2f ms (%.2f-%.2f, n=%zu)", s->median, s->p99,
		 s->min, s->max, s->n);
}

static long env_long(const char *name, long dflt, long max)
{
	const char *v = getenv(name);
	long n = v ? strtol(v, NULL, 10) : dflt;

	return n < 1 ? 1 : n > max ? max : n;
}

int main(void)
{
	long trials = env_long("BENCH_BACKTRACE_TRIALS", 50, MAX_TRIALS);
	long gdb_trials = env_long("BENCH_GDB_TRIALS", 5, 50);
	double *v = calloc((size_t)trials, sizeof(double)), *g = calloc(50, sizeof(double)), first;
	char cf[160], cg[160] = "not measured", goal[32] = "≤ 20 ms median", ratio[32] = "—";
	struct bench_stats sc, sg = { 0 };
	size_t n = 0, ng = 0;
	long i;

	if (!bench_need_root("death → crash record with a symbolized backtrace"))
		return 0;
	bench_print_machine();
	death = mmap(NULL, (MAX_TRIALS + 64) * sizeof(*death), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (death == MAP_FAILED || !v || !g)
		bench_die("memory", ENOMEM);
	bench_collector_start(&col, "rate_limit_burst = 0\n");
	first = collector_trial(0);
	for (i = 1; i <= trials; i++) {
		double ms = collector_trial(i);

		if (ms >= 0)
			v[n++] = ms;
	}
	if (plain_core_files() && system("command -v gdb >/dev/null 2>&1") == 0) {
		for (i = 0; i < gdb_trials; i++) {
			double ms = gdb_trial(MAX_TRIALS + i, col.dir);

			if (ms >= 0)
				g[ng++] = ms;
		}
	} else {
		fprintf(stderr, "bench_backtrace: no core+gdb baseline: core_pattern is not a plain "
				"file name, or gdb is missing\n");
	}
	bench_collector_stop(&col);
	if (!n) {
		fprintf(stderr, "bench_backtrace: no crash record with a backtrace came\n");
		return 1;
	}
	sc = bench_summarize(v, n);
	fmt(cf, sizeof(cf), &sc);
	if (ng) {
		sg = bench_summarize(g, ng);
		fmt(cg, sizeof(cg), &sg);
		snprintf(ratio, sizeof(ratio), "%.3fx", sc.median / sg.median);
	}
	printf("| death → crash record with a symbolized backtrace (4 frames + libc, no frame "
	       "pointers; files' symbols kept) | %s | core dump + gdb -batch -ex bt: %s | %s | %s |\n",
	       cf, cg, ratio, goal);
	printf("| the same, first crash of the collector (symbols and lines loaded) | %.2f ms | "
	       "— | — | — |\n",
	       first);
	fprintf(stderr, "bench_backtrace: first crash %.2f ms; then median %.2f ms, p99 %.2f ms%s\n",
		first, sc.median, sc.p99, sc.median > 20 ? " (misses the goal)" : "");
	free(v);
	free(g);
	return 0;
}
