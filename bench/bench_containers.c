// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Containers and claims (issue 13).
 *
 *   - Death → rescue command start for an app in a container: the app is
 *     PID 2 of fresh PID, mount, uts, ipc and net namespaces (made with
 *     unshare(2); its init, PID 1, waits for the bench), 1 KiB of data;
 *     the rescue (this binary with --rescue-mark) runs inside them. Beside
 *     it, interleaved trial by trial: the same app on the host, and the
 *     floor of bench_rescue_latency (waitpid, then fork-exec of the same
 *     command). The app writes CLOCK_MONOTONIC into shared memory on the
 *     instruction before its segfault; the rescue writes it first thing.
 *   - fg_claim_previous() round trip: N snapshot-only apps crash, then N
 *     claims, each timed (connect, CLAIM, the collector's directory scan
 *     and `claim` record, the fd back, the file read and decoded); beside
 *     it, fg_snapshot_open() of the same files, before they are claimed.
 *
 *   BENCH_CT_TRIALS=N   trials of the death → rescue cases (default 100)
 *   BENCH_CLAIMS=N      snapshots claimed (default 100)
 */
#include <dirent.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>

#include "bench_common.h"

#define MAX_TRIALS 1000
#define SLOTS (4 * MAX_TRIALS)

static struct bench_collector col;
static int64_t *death;
static int marks_fd;
static char marks_path[256];
static long next_slot;

/* The app: registers (with a rescue, or snapshot-only when @slot < 0), 1 KiB, segfaults. */
__attribute__((noreturn)) static void app_main(const char *app, long slot, long die_slot)
{
	const char *argv[5];
	char slotbuf[24];
	struct fg_opts o = { .sz = sizeof(o), .app = app, .socket_path = col.sock };
	struct fg *fg;

	if (slot >= 0) {
		bench_rescue_argv(marks_path, slot, slotbuf, sizeof(slotbuf), argv);
		o.rescue_argv = argv;
	}
	fg = fg_open(&o);
	if (!fg || bench_fill(fg, 1024))
		_exit(2);
	if (!bench_wait_registered(fg, 20 * 1000000000LL, 0))
		_exit(3);
	bench_die_now(death, die_slot);
}

/*
 * A crash in a container: a child unshares the namespaces and forks the
 * container's init, which forks the app and, once the app died, waits on
 * @hold until the bench closes it. Returns the init's host-side parent pid.
 */
static pid_t container_crash(const char *app, long slot, int hold, int hold_w)
{
	pid_t outer;

	fflush(NULL);
	outer = fork();
	if (outer < 0)
		bench_die("fork", errno);
	if (outer == 0) {
		pid_t init;
		int status;

		close(hold_w); /* the bench's end: its close is the init's EOF */
		if (unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
			_exit(4);
		init = fork();
		if (init == 0) {
			pid_t a;
			char c;

			/* The container's /proc, for the rescue's FAULTGUARD_SNAPSHOT. */
			mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
			a = fork();
			if (a == 0)
				app_main(app, slot, slot);
			waitpid(a, &status, 0);
			while (read(hold, &c, 1) > 0)
				;
			_exit(WIFSIGNALED(status) ? 0 : 5);
		}
		waitpid(init, &status, 0);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 6);
	}
	return outer;
}

static long host_crash(const char *app, long slot)
{
	pid_t child;
	int status;

	fflush(NULL);
	child = fork();
	if (child < 0)
		bench_die("fork", errno);
	if (child == 0)
		app_main(app, slot, slot < 0 ? 0 : slot);
	waitpid(child, &status, 0);
	return WIFSIGNALED(status) ? 0 : -1;
}

static double floor_trial(void)
{
	long slot = next_slot++;
	const char *argv[5];
	char slotbuf[24];
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	pid_t child, rescue;
	int status;

	bench_rescue_argv(marks_path, slot, slotbuf, sizeof(slotbuf), argv);
	fflush(NULL);
	child = fork();
	if (child < 0)
		bench_die("fork", errno);
	if (child == 0) {
		uint8_t p[1024];

		memset(p, 7, sizeof(p));
		__asm__ volatile("" : : "r"(p) : "memory");
		bench_die_now(death, slot);
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
	return bench_wait_mark(marks_fd, death, slot, 10);
}

static long records(const char *event, const char *app)
{
	char needle[128];

	snprintf(needle, sizeof(needle), "\"app\":\"%s\"", app);
	return bench_audit_count_with(&col, event, needle);
}

static void wait_records(const char *event, const char *app, long n)
{
	int64_t deadline = bench_now_ns() + 60 * 1000000000LL;

	while (records(event, app) < n && bench_now_ns() < deadline)
		bench_sleep_ms(1);
}

static void fmt(char *buf, size_t len, const struct bench_stats *s, const char *unit)
{
	snprintf(buf, len, "median %.2f %s, p99 %.2f %s (%.2f-%.2f, n=%zu)", s->median, unit, s->p99,
		 unit, s->min, s->max, s->n);
}

static int latency_case(long trials)
{
	double *ct = calloc((size_t)trials, sizeof(double)), *host = calloc((size_t)trials, sizeof(double));
	double *fl = calloc((size_t)trials, sizeof(double)), v;
	struct bench_stats sc, sh, sf;
	long i, nc = 0, nh = 0, nf = 0;
	char a[200], b[200], h[200];

	if (!ct || !host || !fl)
		bench_die("calloc", ENOMEM);
	for (i = 0; i < trials; i++) {
		long slot = next_slot++;
		int hold[2];
		pid_t outer;
		int status;

		if (pipe2(hold, O_CLOEXEC) < 0)
			bench_die("pipe2", errno);
		outer = container_crash("ct-latency", slot, hold[0], hold[1]);
		close(hold[0]);
		v = bench_wait_mark(marks_fd, death, slot, 10);
		if (v >= 0)
			ct[nc++] = v;
		wait_records("rescue", "ct-latency", i + 1);
		close(hold[1]);
		waitpid(outer, &status, 0);

		slot = next_slot++;
		if (host_crash("host-latency", slot) == 0 && (v = bench_wait_mark(marks_fd, death, slot, 10)) >= 0)
			host[nh++] = v;
		wait_records("rescue", "host-latency", i + 1);
		if ((v = floor_trial()) >= 0)
			fl[nf++] = v;
	}
	sc = bench_summarize(ct, (size_t)nc);
	sh = bench_summarize(host, (size_t)nh);
	sf = bench_summarize(fl, (size_t)nf);
	fmt(a, sizeof(a), &sc, "ms");
	fmt(b, sizeof(b), &sf, "ms");
	fmt(h, sizeof(h), &sh, "ms");
	printf("| death → rescue command start, app in a container (its own PID, mount, uts, ipc, "
	       "net namespaces; the rescue runs inside), 1 KiB | %s | waitpid + fork-exec floor: %s "
	       "| %.2fx (+%.2f ms) | median ≤ floor + 2 ms |\n",
	       a, b, sc.median / sf.median, sc.median - sf.median);
	printf("| death → rescue command start, the same app on the host, 1 KiB (interleaved) | %s "
	       "| waitpid + fork-exec floor: %s | %.2fx (+%.2f ms) | — |\n",
	       h, b, sh.median / sf.median, sh.median - sf.median);
	fprintf(stderr, "bench_containers: container %.2f ms, host %.2f ms, floor %.2f ms\n",
		sc.median, sh.median, sf.median);
	free(ct);
	free(host);
	free(fl);
	return nc == trials && nh == trials;
}

static int claim_case(long n)
{
	double *cl = calloc((size_t)n, sizeof(double)), *op = calloc((size_t)n, sizeof(double));
	char dir[512], path[1024], a[200], b[200];
	struct fg_opts o = { .sz = sizeof(o), .app = "claim-bench", .socket_path = col.sock };
	struct bench_stats scl, sop;
	struct dirent *e;
	long i, ncl = 0, nop = 0;
	DIR *d;

	if (!cl || !op)
		bench_die("calloc", ENOMEM);
	for (i = 0; i < n; i++)
		host_crash("claim-bench", -1);
	wait_records("snapshot", "claim-bench", n);
	snprintf(dir, sizeof(dir), "%s/snapshots/%u/claim-bench", col.state, (unsigned int)getuid());
	d = opendir(dir);
	while (d && (e = readdir(d)) && nop < n) {
		struct fg_snapshot *s;
		int64_t t0;

		if (!strstr(e->d_name, ".fgsnap"))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		t0 = bench_now_ns();
		s = fg_snapshot_open(path);
		if (s)
			op[nop++] = (double)(bench_now_ns() - t0) / 1e3;
		fg_snapshot_close(s);
	}
	if (d)
		closedir(d);
	for (i = 0; i < n; i++) {
		int64_t t0 = bench_now_ns();
		struct fg_snapshot *s = fg_claim_previous(&o);

		if (s)
			cl[ncl++] = (double)(bench_now_ns() - t0) / 1e3;
		fg_snapshot_close(s);
	}
	scl = bench_summarize(cl, (size_t)ncl);
	sop = bench_summarize(op, (size_t)nop);
	fmt(a, sizeof(a), &scl, "µs");
	fmt(b, sizeof(b), &sop, "µs");
	printf("| fg_claim_previous round trip (1 KiB snapshot, the newest unclaimed of %ld) | %s | "
	       "fg_snapshot_open of the same files: %s | %.2fx (+%.0f µs) | — |\n",
	       n, a, b, scl.median / sop.median, scl.median - sop.median);
	free(cl);
	free(op);
	return ncl == n && fg_claim_previous(&o) == NULL && errno == ENOENT;
}

int main(int argc, char **argv)
{
	long trials = bench_env_long("BENCH_CT_TRIALS", 100, 1, MAX_TRIALS);
	long claims = bench_env_long("BENCH_CLAIMS", 100, 1, MAX_TRIALS);
	int ok;

	bench_rescue_mark_main(argc, argv);
	if (!bench_need_root("containers and claims"))
		return 0;
	death = mmap(NULL, SLOTS * sizeof(*death), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
		     -1, 0);
	if (death == MAP_FAILED)
		bench_die("mmap", errno);
	bench_raise_nofile();
	bench_collector_start(&col, "rate_limit_burst = 0\n");
	snprintf(marks_path, sizeof(marks_path), "%s/marks", col.dir);
	marks_fd = bench_marks_create(marks_path, SLOTS);
	ok = latency_case(trials);
	ok &= claim_case(claims);
	close(marks_fd);
	bench_collector_stop(&col);
	return ok ? 0 : 1;
}
