// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A crash storm (issue 7): 500 registered apps — 500 different app names,
 * so the per-app rescue rate limit (default config) stays out of the way —
 * each with 1 KiB in its dictionary and a rescue command, are SIGKILLed in
 * one burst. Every one
 * must be snapshotted and rescued — 500 crash, 500 snapshot and 500 rescue
 * records in the audit log, 500 rescue commands that actually started, no
 * ring-buffer loss in the collector's log. Measured: the time from the
 * first kill to the start of the last rescue command (each rescue writes
 * its CLOCK_MONOTONIC start time, see bench_common.h), and the collector's
 * peak RSS (VmHWM) against its RSS just before the storm.
 *
 * Beside it, interleaved repetition by repetition, the floor: the same 500
 * deaths under a plain parent that waitpid()s each child and fork-execs the
 * same rescue command at once, with no limit on how many run together.
 * The collector runs at most rescue_concurrency (default 16) at a time, by
 * design.
 *
 * Each repetition starts a fresh collector, so VmHWM is that storm's.
 *
 *   BENCH_STORM_APPS=N   apps (default 500)
 *   BENCH_STORM_REPS=N   repetitions (default 3)
 */
#include "bench_common.h"

#define MAX_REPS 20

struct storm {
	double last_ms;     /* first kill -> last rescue command start */
	double kill_ms;     /* how long the burst of kills took */
	double records_ms;  /* first kill -> the last rescue record seen in the audit log */
	long started;       /* rescue commands that recorded their start */
	long crash, snapshot, rescue_ok, rescue;
	int lost;
	long rss_before_kib, hwm_before_kib, hwm_kib;
};

/* Latest and count of the marks set in @fd's @n slots. */
static int64_t marks_last(int fd, long n, long *set)
{
	int64_t last = 0, t;
	long i;

	*set = 0;
	for (i = 0; i < n; i++) {
		t = bench_mark_read(fd, i);
		if (t) {
			++*set;
			if (t > last)
				last = t;
		}
	}
	return last;
}

static struct storm collector_storm(long napps)
{
	struct bench_collector col;
	struct bench_apps apps;
	char marks[256], slot[32], name[32];
	const char *argv[5];
	struct storm s = { 0 };
	int64_t t0, t1, deadline, last;
	long i;
	int fd, err;

	bench_collector_start(&col, "");
	snprintf(marks, sizeof(marks), "%s/marks", col.dir);
	fd = bench_marks_create(marks, napps);
	bench_apps_init(&apps, napps);
	argv[0] = bench_self();
	argv[1] = BENCH_RESCUE_FLAG;
	argv[2] = marks;
	argv[3] = slot;
	argv[4] = NULL;
	for (i = 0; i < napps; i++) {
		struct bench_app_opts o = { .sock = col.sock, .app = name, .rescue_argv = argv,
					    .fill_bytes = 1024 };

		snprintf(slot, sizeof(slot), "%ld", i);
		snprintf(name, sizeof(name), "storm-%ld", i);
		err = bench_app_start(&apps, &o);
		if (err)
			bench_die("an app did not register", -err);
	}
	bench_sleep_ms(500);
	s.rss_before_kib = bench_status_kib(col.pid, "VmRSS");
	s.hwm_before_kib = bench_status_kib(col.pid, "VmHWM");

	t0 = bench_now_ns();
	for (i = 0; i < apps.n; i++)
		kill(apps.pids[i], SIGKILL);
	t1 = bench_now_ns();
	s.kill_ms = (double)(t1 - t0) / 1e6;
	for (i = 0; i < apps.n; i++)
		waitpid(apps.pids[i], NULL, 0);

	deadline = t0 + 120 * 1000000000LL;
	while (bench_now_ns() < deadline) {
		long n = bench_audit_count(&col, "rescue");

		if (n >= napps) {
			s.records_ms = (double)(bench_now_ns() - t0) / 1e6;
			break;
		}
		bench_sleep_ms(20);
	}
	last = marks_last(fd, napps, &s.started);
	s.last_ms = last ? (double)(last - t0) / 1e6 : -1;
	s.crash = bench_audit_count(&col, "crash");
	s.snapshot = bench_audit_count_with(&col, "snapshot", "\"path\":\"/");
	s.rescue = bench_audit_count(&col, "rescue");
	s.rescue_ok = bench_audit_count_with(&col, "rescue", "\"status\":\"ok\"");
	s.hwm_kib = bench_status_kib(col.pid, "VmHWM");
	s.lost = bench_log_has(&col, "dropped") || bench_log_has(&col, "lost");
	bench_apps_end(&apps);
	close(fd);
	bench_collector_stop(&col);
	return s;
}

/* The floor: the same deaths under a parent that fork-execs each rescue as soon as it reaps. */
static double floor_storm(long napps)
{
	char dir[64], marks[128], slot[32];
	char *env[] = { "PATH=/usr/bin:/bin", NULL };
	char *argv[5] = { (char *)bench_self(), BENCH_RESCUE_FLAG, marks, slot, NULL };
	pid_t *pids = calloc((size_t)napps, sizeof(*pids));
	int64_t t0, last;
	long i, reaped = 0, set;
	int fd;

	if (!pids)
		bench_die("calloc", ENOMEM);
	bench_mkdtemp(dir, sizeof(dir));
	snprintf(marks, sizeof(marks), "%s/marks", dir);
	fd = bench_marks_create(marks, napps);
	fflush(NULL);
	for (i = 0; i < napps; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			bench_die("fork", errno);
		if (pids[i] == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			for (;;)
				pause();
		}
	}
	bench_sleep_ms(500);
	t0 = bench_now_ns();
	for (i = 0; i < napps; i++)
		kill(pids[i], SIGKILL);
	while (reaped < napps) {
		pid_t pid = waitpid(-1, NULL, 0);

		if (pid < 0)
			bench_die("waitpid", errno);
		for (i = 0; i < napps; i++)
			if (pids[i] == pid)
				break;
		if (i == napps)
			continue; /* a rescue command */
		reaped++;
		snprintf(slot, sizeof(slot), "%ld", i);
		if (fork() == 0) {
			execve(argv[0], argv, env);
			_exit(127);
		}
	}
	while (waitpid(-1, NULL, 0) > 0)
		;
	last = marks_last(fd, napps, &set);
	close(fd);
	bench_rmtree(dir);
	free(pids);
	if (set != napps)
		fprintf(stderr, "bench_crash_storm: floor: %ld of %ld rescues started\n", set, napps);
	return (double)(last - t0) / 1e6;
}

int main(int argc, char **argv)
{
	long napps = bench_env_long("BENCH_STORM_APPS", 500, 1, 10000);
	int reps = (int)bench_env_long("BENCH_STORM_REPS", 3, 1, MAX_REPS);
	double last[MAX_REPS], fl[MAX_REPS], hwm[MAX_REPS], before[MAX_REPS], rec[MAX_REPS];
	double hwm0[MAX_REPS];
	struct storm s[MAX_REPS];
	struct bench_stats sl, sf, sh, sb, sr, sh0;
	long worst_crash = napps, worst_snap = napps, worst_ok = napps, worst_started = napps;
	int r, lost = 0, ok = 1;

	bench_rescue_mark_main(argc, argv);
	if (!bench_need_root("crash storm"))
		return 0;
	bench_print_machine();
	bench_raise_nofile();
	for (r = 0; r < reps; r++) {
		fl[r] = floor_storm(napps);
		s[r] = collector_storm(napps);
		last[r] = s[r].last_ms;
		rec[r] = s[r].records_ms;
		hwm[r] = (double)s[r].hwm_kib / 1024.0;
		before[r] = (double)s[r].rss_before_kib / 1024.0;
		hwm0[r] = (double)s[r].hwm_before_kib / 1024.0;
		fprintf(stderr, "bench_crash_storm: repetition %d: kills took %.1f ms; last rescue "
				"started at %.0f ms (floor %.0f ms), last record at %.0f ms; %ld crash, "
				"%ld snapshot, %ld rescue (%ld ok), %ld started%s; RSS %.1f MiB, peak "
				"%.1f MiB before the storm, %.1f MiB after\n",
			r + 1, s[r].kill_ms, s[r].last_ms, fl[r], s[r].records_ms, s[r].crash,
			s[r].snapshot, s[r].rescue, s[r].rescue_ok, s[r].started,
			s[r].lost ? ", LOST RECORDS" : "", before[r], hwm0[r], hwm[r]);
		worst_crash = s[r].crash < worst_crash ? s[r].crash : worst_crash;
		worst_snap = s[r].snapshot < worst_snap ? s[r].snapshot : worst_snap;
		worst_ok = s[r].rescue_ok < worst_ok ? s[r].rescue_ok : worst_ok;
		worst_started = s[r].started < worst_started ? s[r].started : worst_started;
		lost |= s[r].lost;
		ok &= s[r].last_ms >= 0 && s[r].started == napps && s[r].crash == napps &&
		      s[r].snapshot == napps && s[r].rescue_ok == napps && !s[r].lost;
	}
	sl = bench_summarize(last, (size_t)reps);
	sf = bench_summarize(fl, (size_t)reps);
	sh = bench_summarize(hwm, (size_t)reps);
	sb = bench_summarize(before, (size_t)reps);
	sr = bench_summarize(rec, (size_t)reps);
	sh0 = bench_summarize(hwm0, (size_t)reps);
	printf("| crash storm: %ld registered apps SIGKILLed at once → last rescue command start | "
	       "%.2f s (%.2f-%.2f, n=%d; last audit record at %.2f s) | waitpid + fork-exec floor, "
	       "same deaths: %.2f s (%.2f-%.2f) | %.2fx | all within 5 s |\n",
	       napps, sl.median / 1e3, sl.min / 1e3, sl.max / 1e3, reps, sr.median / 1e3,
	       sf.median / 1e3, sf.min / 1e3, sf.max / 1e3, sl.median / sf.median);
	printf("| crash storm: nothing lost (worst of %d repetitions) | %ld/%ld crash, %ld/%ld "
	       "snapshot, %ld/%ld rescue ok, %ld/%ld commands started; ring-buffer loss: %s | — | "
	       "— | none lost |\n",
	       reps, worst_crash, napps, worst_snap, napps, worst_ok, napps, worst_started, napps,
	       lost ? "yes" : "none");
	printf("| crash storm: collector peak RSS (VmHWM) | %.1f MiB (%.1f-%.1f) | before the storm, "
	       "%ld apps registered: RSS %.1f MiB, peak %.1f MiB (start-up) | %.2fx | — |\n",
	       sh.median, sh.min, sh.max, napps, sb.median, sh0.median, sh.median / sb.median);
	return ok ? 0 : 1;
}
