// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Death to rescue-command start (issue 3, "Speed"; issue 14), measured from
 * outside the collector: the app writes CLOCK_MONOTONIC into shared memory
 * on the instruction before its segfault; the rescue command (this binary
 * with --rescue-mark) writes CLOCK_MONOTONIC first thing in main(). The
 * difference is what a user waits for.
 *
 * Beside it, interleaved trial by trial, the floor: a parent that waitpid()s
 * its segfaulting child and then fork-execs the same command. The floor's
 * child holds as many bytes of data as the app's dictionary (private
 * memory), so both processes free alike when they die.
 *
 * Cases:
 *   - 1 KiB of data (default capacity), with backtraces on;
 *   - 64 MiB of pseudo-random, incompressible data in a 128 MiB dictionary
 *     (the worst case for the snapshot's zlib stream);
 *   - 1 KiB with the state directory full (a filled 8 MiB tmpfs), beside
 *     1 KiB with space, interleaved: the rescue runs from the copy held in
 *     memory, and must not wait longer for it;
 *   - 1 GiB incompressible: death → rescue start, and the collector's peak
 *     RSS (VmHWM, reset before each trial) against its RSS before;
 *   - while a 1 GiB snapshot is in progress (its app just died): 1 KiB
 *     crashes of another app and new registrations, against the same
 *     measured on the idle collector in this run.
 *
 * The collector is a private faultguardd whose state directory is on disk
 * (/var/tmp), so the snapshot's fsyncs cost what they cost on a host. One
 * app name crashes over and over, so the config turns the rescue rate
 * limit off (rate_limit_burst = 0); everything else is the default.
 *
 *   BENCH_LATENCY_TRIALS=N       trials of the 1 KiB cases (default 100)
 *   BENCH_LATENCY_BIG_TRIALS=N   trials of the 64 MiB case (default 9)
 *   BENCH_LATENCY_HUGE_TRIALS=N  trials of the 1 GiB cases (default 5; 0 skips them)
 */
#include <sys/mman.h>

#include "bench_common.h"

#define MAX_TRIALS 1000
#define SLOTS (8 * MAX_TRIALS)
#define MIB (1u << 20)

static struct bench_collector col, col_full;
static int64_t *death; /* shared with the dying children: one slot per trial */
static int marks_fd;
static char marks_path[256];
static long next_slot;

/* Rescue records seen so far, per app (a crash's record is awaited by app). */
struct app_case {
	const char *name;
	long rescues;
};

/* The floor: waitpid, then fork-exec the same command. */
static double floor_trial(size_t bytes)
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
		if (bytes) {
			uint8_t *p = malloc(bytes);

			if (!p)
				_exit(2);
			for (size_t i = 0; i < bytes; i++)
				p[i] = (uint8_t)(i * 2654435761u >> 13);
			__asm__ volatile("" : : "r"(p) : "memory");
		}
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

/*
 * An app of @c that registers, fills @bytes, and segfaults; returns its
 * slot once it is dead (the collector has its exit to handle), -1 when it
 * did not crash.
 */
static long app_crash(struct bench_collector *c, const char *app, size_t bytes, size_t max_bytes)
{
	long slot = next_slot++;
	const char *argv[5];
	char slotbuf[24];
	pid_t child;
	int status;

	bench_rescue_argv(marks_path, slot, slotbuf, sizeof(slotbuf), argv);
	fflush(NULL);
	child = fork();
	if (child < 0)
		bench_die("fork", errno);
	if (child == 0) {
		struct fg_opts o = {
			.sz = sizeof(o),
			.app = app,
			.rescue_argv = argv,
			.socket_path = c->sock,
			.max_bytes = max_bytes,
		};
		struct fg *fg = fg_open(&o);

		if (!fg || bench_fill(fg, bytes))
			_exit(2);
		if (!bench_wait_registered(fg, 20 * 1000000000LL, 0))
			_exit(3);
		bench_die_now(death, slot);
	}
	waitpid(child, &status, 0);
	if (!WIFSIGNALED(status)) {
		fprintf(stderr, "bench_rescue_latency: the app did not crash (status 0x%x)\n",
			status);
		return -1;
	}
	return slot;
}

static long app_records(const struct bench_collector *c, const char *event, const char *app)
{
	char needle[128];

	snprintf(needle, sizeof(needle), "\"app\":\"%s\"", app);
	return bench_audit_count_with(c, event, needle);
}

/* The rescue's start of @slot (ms after the death); then its record, before the next trial. */
static double rescue_wait(const struct bench_collector *c, struct app_case *a, long slot,
			  int timeout_s)
{
	int64_t deadline;
	double ms;

	if (slot < 0)
		return -1;
	ms = bench_wait_mark(marks_fd, death, slot, timeout_s);
	++a->rescues;
	deadline = bench_now_ns() + 60 * 1000000000LL;
	while (app_records(c, "rescue", a->name) < a->rescues && bench_now_ns() < deadline)
		bench_sleep_ms(1);
	return ms;
}

static double collector_trial(struct bench_collector *c, struct app_case *a, size_t bytes,
			      size_t max_bytes)
{
	return rescue_wait(c, a, app_crash(c, a->name, bytes, max_bytes), 60);
}

/* Removes the snapshots of @app once all @n of its snapshot records are out. */
static void drop_snapshots(const struct bench_collector *c, const char *app, long n)
{
	int64_t deadline = bench_now_ns() + 120 * 1000000000LL;
	char path[300];

	while (app_records(c, "snapshot", app) < n && bench_now_ns() < deadline)
		bench_sleep_ms(5);
	snprintf(path, sizeof(path), "%s/snapshots/0/%s", c->state, app);
	bench_rmtree(path);
}

static void fmt(char *buf, size_t len, const struct bench_stats *s, const char *unit)
{
	snprintf(buf, len, "median %.2f %s, p99 %.2f %s (%.2f-%.2f, n=%zu)", s->median, unit,
		 s->p99, unit, s->min, s->max, s->n);
}

static double *doubles(long n)
{
	double *v = calloc((size_t)(n ? n : 1), sizeof(double));

	if (!v)
		bench_die("calloc", ENOMEM);
	return v;
}

/* One row: @label's figure against the floor, the goal an allowance over it. */
/* One table row: @fig against @base, both in @unit, their ratio and difference. */
static void row_vs(const char *what, const struct bench_stats *fig, const char *base_what,
		   const struct bench_stats *base, const char *unit, const char *goal)
{
	char a[160], b[160];

	fmt(a, sizeof(a), fig, unit);
	fmt(b, sizeof(b), base, unit);
	printf("| %s | %s | %s: %s | %.2fx (%+.2f %s) | %s |\n", what, a, base_what, b,
	       fig->median / base->median, fig->median - base->median, unit, goal);
}

static void row_vs_floor(const char *label, const struct bench_stats *sc,
			 const struct bench_stats *sf, double goal_ms)
{
	char what[200], goal[64];

	snprintf(what, sizeof(what), "death → rescue command start, %s", label);
	snprintf(goal, sizeof(goal), "median ≤ floor + %g ms", goal_ms);
	row_vs(what, sc, "waitpid + fork-exec floor", sf, "ms", goal);
	fprintf(stderr, "bench_rescue_latency: %s: collector median %.2f ms, floor %.2f ms: %+.2f ms%s\n",
		label, sc->median, sf->median, sc->median - sf->median,
		sc->median - sf->median > goal_ms ? " (misses the goal)" : "");
}

static int run_case(const char *label, struct app_case *a, size_t bytes, size_t max_bytes,
		    long trials, double goal_ms)
{
	double *f = doubles(trials), *c = doubles(trials), v;
	struct bench_stats sf, sc;
	long i, nf = 0, nc = 0;

	/* One warm-up of each: page cache, dynamic loader, directories. */
	floor_trial(bytes);
	collector_trial(&col, a, bytes, max_bytes);
	for (i = 0; i < trials; i++) {
		v = floor_trial(bytes);
		if (v >= 0)
			f[nf++] = v;
		v = collector_trial(&col, a, bytes, max_bytes);
		if (v >= 0)
			c[nc++] = v;
		if (bytes > 4096)
			drop_snapshots(&col, a->name, a->rescues);
	}
	if (nc < trials || nf < trials)
		fprintf(stderr, "bench_rescue_latency: %s: %ld of %ld collector trials and %ld of "
				"%ld floor trials completed\n",
			label, nc, trials, nf, trials);
	sf = bench_summarize(f, (size_t)nf);
	sc = bench_summarize(c, (size_t)nc);
	row_vs_floor(label, &sc, &sf, goal_ms);
	free(f);
	free(c);
	return nc == trials;
}

/* --- the state directory full ---------------------------------------------------- */

/* A small tmpfs as the state directory; its audit log elsewhere, so it can be read. */
static void state_on_tmpfs(struct bench_collector *c)
{
	char conf[512];

	if (mkdir(c->state, 0755) < 0 || mount("fg-bench", c->state, "tmpfs", 0, "size=8m,mode=0755"))
		bench_die("mount a tmpfs as the state directory", errno);
	c->state_mounted = 1;
	snprintf(c->audit, sizeof(c->audit), "%s/audit.jsonl", c->dir);
	snprintf(conf, sizeof(conf), "rate_limit_burst = 0\naudit_log = %s\n", c->audit);
	bench_write_file(c->conf, conf);
}

/* Fills the file system of @dir until it refuses a byte more. */
static void fill_fs(const char *dir)
{
	static char block[64 << 10];
	char path[300];
	size_t len = sizeof(block);
	int fd;

	snprintf(path, sizeof(path), "%s/filler", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		bench_die(path, errno);
	memset(block, 0xa5, sizeof(block));
	while (len) {
		if (write(fd, block, len) < 0) {
			if (errno != ENOSPC)
				bench_die(path, errno);
			len /= 2;
		}
	}
	close(fd);
}

/* 1 KiB crashes with the state directory full, interleaved with the same with space. */
static int run_full_case(long trials)
{
	struct app_case space = { .name = "latency-space" }, full = { .name = "latency-full" };
	double *s = doubles(trials), *f = doubles(trials), v;
	struct bench_stats ss, sf;
	long i, ns = 0, nf = 0, held;
	char what[200];

	bench_collector_start_prepared(&col_full, "", state_on_tmpfs);
	fill_fs(col_full.state);
	collector_trial(&col, &space, 1024, 0);
	collector_trial(&col_full, &full, 1024, 0);
	for (i = 0; i < trials; i++) {
		v = collector_trial(&col, &space, 1024, 0);
		if (v >= 0)
			s[ns++] = v;
		v = collector_trial(&col_full, &full, 1024, 0);
		if (v >= 0)
			f[nf++] = v;
	}
	held = bench_audit_count_with(&col_full, "snapshot", "\"stored\":\"memory\"");
	if (nf < trials || ns < trials)
		fprintf(stderr, "bench_rescue_latency: full disk: %ld and %ld of %ld trials completed\n",
			nf, ns, trials);
	if (held < nf)
		fprintf(stderr, "bench_rescue_latency: full disk: only %ld of %ld snapshots were "
				"held in memory: the disk was not full\n", held, nf);
	ss = bench_summarize(s, (size_t)ns);
	sf = bench_summarize(f, (size_t)nf);
	snprintf(what, sizeof(what), "death → rescue command start, 1 KiB, state directory full "
		 "(held in memory: %ld of %ld)", held, nf);
	row_vs(what, &sf, "the same with space", &ss, "ms", "≤ 1.10x");
	bench_collector_stop(&col_full);
	free(s);
	free(f);
	return nf == trials && ns == trials && held >= nf;
}

/* --- 1 GiB ------------------------------------------------------------------------- */

/* Resets the collector's VmHWM to its RSS now (clear_refs 5). */
static void reset_hwm(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/clear_refs", pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "5", 1) != 1)
		bench_die("reset VmHWM (/proc/PID/clear_refs)", errno);
	close(fd);
}

/* Registration times (µs) of @n new apps, kept registered in @apps. */
static void registrations(struct bench_apps *apps, long n, double *us, long *nus)
{
	/* Polled without sleeping: a 1 ms sleep would round each time up to the next tick. */
	struct bench_app_opts o = { .app = "latency-reg", .sock = col.sock, .spin = 1 };
	long i;

	for (i = 0; i < n; i++)
		if (bench_app_start(apps, &o) == 0)
			us[(*nus)++] = apps->reg_us[apps->n - 1];
}

static int run_huge_case(long trials)
{
	const size_t huge = 1024u * MIB, cap = 1280u * MIB;
	struct app_case big = { .name = "latency-1g" }, small = { .name = "latency-during" };
	struct app_case idle = { .name = "latency-idle" };
	const long per = 5; /* small crashes and registrations per big crash, and idle */
	double *f = doubles(trials), *c = doubles(trials), *grow = doubles(trials);
	double *ds = doubles(trials * per), *is = doubles(trials * per);
	double *dr = doubles(trials * per), *ir = doubles(trials * per), v;
	long i, k, nf = 0, nc = 0, ng = 0, nds = 0, nis = 0, ndr = 0, nir = 0, inside = 0;
	struct bench_stats sf, sc, sg, sds, sis, sdr, sir;
	char what[200];
	struct bench_apps apps;

	bench_apps_init(&apps, 2 * trials * per);
	for (i = 0; i < trials; i++) {
		long rss0, hwm, slot;

		/* The usual: small crashes and registrations on the idle collector. */
		for (k = 0; k < per; k++) {
			v = collector_trial(&col, &idle, 1024, 0);
			if (v >= 0)
				is[nis++] = v;
		}
		registrations(&apps, per, ir, &nir);

		v = floor_trial(huge);
		if (v >= 0)
			f[nf++] = v;

		rss0 = bench_status_kib(col.pid, "VmRSS");
		reset_hwm(col.pid);
		slot = app_crash(&col, big.name, huge, cap);
		/* Its snapshot under way: another app's crash, and new apps. */
		for (k = 0; k < per; k++) {
			v = collector_trial(&col, &small, 1024, 0);
			if (v >= 0)
				ds[nds++] = v;
		}
		registrations(&apps, per, dr, &ndr);
		if (app_records(&col, "snapshot", big.name) <= big.rescues)
			inside++;
		v = rescue_wait(&col, &big, slot, 120);
		if (v >= 0)
			c[nc++] = v;
		drop_snapshots(&col, big.name, big.rescues);
		hwm = bench_status_kib(col.pid, "VmHWM");
		if (rss0 > 0 && hwm > 0)
			grow[ng++] = (double)(hwm - rss0) / 1024.0;
		fprintf(stderr, "bench_rescue_latency: 1 GiB trial %ld: rescue after %.0f ms, "
				"collector RSS %ld KiB before, peak %ld KiB\n",
			i, v, rss0, hwm);
	}
	bench_apps_end(&apps);
	sf = bench_summarize(f, (size_t)nf);
	sc = bench_summarize(c, (size_t)nc);
	row_vs_floor("1 GiB dictionary (incompressible)", &sc, &sf, 500);
	sg = bench_summarize(grow, (size_t)ng);
	printf("| collector peak RSS during a 1 GiB snapshot, over its RSS before | median %.1f MiB "
	       "(%.1f-%.1f, n=%zu) | the dictionary: 1024 MiB | %.3fx | ≤ +64 MiB |\n",
	       sg.median, sg.min, sg.max, sg.n, sg.median / 1024.0);
	sds = bench_summarize(ds, (size_t)nds);
	sis = bench_summarize(is, (size_t)nis);
	snprintf(what, sizeof(what), "death → rescue command start, 1 KiB, while a 1 GiB snapshot is in "
		 "progress (%ld of %ld still writing after)", inside, trials);
	row_vs(what, &sds, "the same on the idle collector", &sis, "ms", "median ≤ idle + 2 ms");
	sdr = bench_summarize(dr, (size_t)ndr);
	sir = bench_summarize(ir, (size_t)nir);
	row_vs("registration (fg_open → registered) while a 1 GiB snapshot is in progress", &sdr,
	       "the same on the idle collector", &sir, "µs", "≤ 2x");
	free(f);
	free(c);
	free(grow);
	free(ds);
	free(is);
	free(dr);
	free(ir);
	return nc == trials && nds == trials * per && ndr == trials * per;
}

/* The collector's own view, from its audit records: a cross-check and a breakdown. */
static void audit_breakdown(void)
{
	static double v[SLOTS];
	struct bench_stats s;
	long n;

	n = bench_audit_numbers(&col, "snapshot", "ms", v, SLOTS);
	if (n) {
		s = bench_summarize(v, (size_t)n);
		fprintf(stderr, "bench_rescue_latency: audit: snapshot ms: median %.1f, max %.1f (n=%ld)\n",
			s.median, s.max, n);
	}
	n = bench_audit_numbers(&col, "rescue", "latency_ms", v, SLOTS);
	if (n) {
		s = bench_summarize(v, (size_t)n);
		fprintf(stderr, "bench_rescue_latency: audit: latency_ms: median %.1f, max %.1f (n=%ld)\n",
			s.median, s.max, n);
	}
}

int main(int argc, char **argv)
{
	long small = bench_env_long("BENCH_LATENCY_TRIALS", 100, 0, MAX_TRIALS);
	long big = bench_env_long("BENCH_LATENCY_BIG_TRIALS", 9, 0, MAX_TRIALS);
	long huge = bench_env_long("BENCH_LATENCY_HUGE_TRIALS", 5, 0, 50);
	struct app_case a1k = { .name = "latency-1k" }, a64m = { .name = "latency-64m" };
	int ok;

	bench_rescue_mark_main(argc, argv);
	if (!bench_need_root("death → rescue command start"))
		return 0;
	bench_print_machine();
	death = mmap(NULL, SLOTS * sizeof(*death), PROT_READ | PROT_WRITE,
		     MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (death == MAP_FAILED)
		bench_die("mmap", errno);
	bench_raise_nofile();
	bench_collector_start(&col, "rate_limit_burst = 0\n");
	snprintf(marks_path, sizeof(marks_path), "%s/marks", col.dir);
	marks_fd = bench_marks_create(marks_path, SLOTS);

	ok = run_case("1 KiB dictionary, backtraces on", &a1k, 1024, 0, small ? small : 1, 1);
	ok &= run_case("64 MiB dictionary (incompressible)", &a64m, 64u * MIB, 128u * MIB,
		       big ? big : 1, 20);
	ok &= run_full_case(small ? small : 1);
	if (huge)
		ok &= run_huge_case(huge);
	audit_breakdown();
	if (bench_log_has(&col, "dropped"))
		fprintf(stderr, "bench_rescue_latency: the collector reports lost BPF records\n");
	close(marks_fd);
	bench_collector_stop(&col);
	return ok ? 0 : 1;
}
