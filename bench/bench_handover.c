// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The SIGUSR2 hand-over (issue 12) with 2,000 registrations:
 *   - hand-over time: SIGUSR2 → the new image serving (the `upgrade`
 *     record's ms: from the signal in the old image to the record written
 *     by the new one, after every registration is taken over), against a
 *     restart (SIGTERM, a new collector started, until its socket is there
 *     and until every app has registered again by itself) — the gap the
 *     docs quote;
 *   - registration (fg_open → fg_registered) right after a hand-over,
 *     against the same collector before any;
 *   - death → rescue start (the rescue record's latency_ms, SIGKILL from
 *     here, /bin/true as the command) right after a hand-over, against
 *     before any.
 *
 *   BENCH_APPS=N   registrations (default 2000)
 *   BENCH_ROUNDS=N hand-overs (default 5)
 */
#include "bench_common.h"

#define MAX_APPS 20000
#define MAX_ROUNDS 50
#define PROBES 10 /* registrations and rescues measured per point */

static int64_t wait_count(const struct bench_collector *c, const char *event, const char *also,
			  long want, int timeout_s)
{
	int64_t deadline = bench_now_ns() + (int64_t)timeout_s * 1000000000LL;

	while (bench_audit_count_with(c, event, also) < want) {
		if (bench_now_ns() > deadline)
			return -1;
		bench_sleep_ms(1);
	}
	return bench_now_ns();
}

/* PROBES fresh apps registering one after another: their fg_open → registered in µs. */
static void probe_registrations(struct bench_apps *probes, const char *sock, double *out, long *n)
{
	struct bench_app_opts o = { .sock = sock, .app = "probe", .spin = 1 };
	long i;

	for (i = 0; i < PROBES; i++)
		if (bench_app_start(probes, &o) == 0)
			out[(*n)++] = probes->reg_us[probes->n - 1];
}

/* Kills one victim (SIGKILL) and waits for its rescue record: its latency_ms. */
static double probe_rescue(const struct bench_collector *c, pid_t victim, long *rescues)
{
	double v[4096];
	long n;

	kill(victim, SIGKILL);
	waitpid(victim, NULL, 0);
	++*rescues;
	if (wait_count(c, "rescue", "\"app\":\"victim\"", *rescues, 30) < 0)
		return -1;
	n = bench_audit_numbers(c, "rescue", "latency_ms", v, 4096);
	return n > 0 ? v[n - 1] : -1;
}

int main(int argc, char **argv)
{
	long napps = bench_env_long("BENCH_APPS", 2000, 1, MAX_APPS);
	long rounds = bench_env_long("BENCH_ROUNDS", 5, 1, MAX_ROUNDS);
	const char *const rescue[] = { "/bin/true", NULL };
	struct bench_app_opts o = { .app = "many", .fill_bytes = 1024 };
	struct bench_app_opts vo = { .app = "victim", .fill_bytes = 1024, .rescue_argv = rescue };
	static double ho_ms[MAX_ROUNDS], pause_ms[MAX_ROUNDS], ho_seen[MAX_ROUNDS], reg_before[PROBES * 2],
		reg_after[MAX_ROUNDS * PROBES], res_before[PROBES], res_after[MAX_ROUNDS];
	long nreg_before = 0, nreg_after = 0, nres_before = 0, nres_after = 0, rescues = 0, i, k;
	struct bench_stats sh, ss, srb, sra, sxb, sxa;
	struct bench_apps apps; /* one set: an app inherits every set's control pipe */
	long first_victim;
	double gap_sock_ms, gap_all_ms, v;
	struct bench_collector col;
	char conf[256];
	int64_t t0, t1;
	long ups, npause;
	struct bench_stats sp;

	bench_rescue_mark_main(argc, argv);
	if (!bench_need_root("hand-over (SIGUSR2) with 2,000 registrations"))
		return 0;
	bench_print_machine();
	bench_raise_nofile();
	snprintf(conf, sizeof(conf),
		 "rate_limit_burst = 0\nmax_registrations_per_uid = %ld\n"
		 "max_connections_per_uid = %ld\n",
		 napps + 1000, napps + 1000);
	bench_collector_start(&col, conf);
	o.sock = vo.sock = col.sock;
	bench_apps_init(&apps, napps + (PROBES + rounds) + PROBES * (rounds + 2));
	first_victim = napps;
	for (i = 0; i < napps; i++)
		if (bench_app_start(&apps, &o))
			bench_die("an app did not register", 0);
	for (i = 0; i < PROBES + rounds; i++)
		if (bench_app_start(&apps, &vo))
			bench_die("a victim did not register", 0);
	fprintf(stderr, "bench_handover: %ld apps registered\n", apps.n);

	/* Without a hand-over: registrations and rescues among the 2,000. */
	probe_registrations(&apps, col.sock, reg_before, &nreg_before);
	for (i = 0; i < PROBES; i++)
		if ((v = probe_rescue(&col, apps.pids[first_victim + i], &rescues)) >= 0)
			res_before[nres_before++] = v;

	fprintf(stderr, "bench_handover: %ld registrations and %ld rescues measured without a "
			"hand-over\n", nreg_before, nres_before);
	for (k = 0; k < rounds; k++) {
		t0 = bench_now_ns();
		kill(col.pid, SIGUSR2);
		t1 = wait_count(&col, "upgrade", "\"status\":\"ok\"", k + 1, 60);
		if (t1 < 0)
			bench_die("no upgrade record within 60 s", 0);
		ho_seen[k] = (double)(t1 - t0) / 1e6;
		/* Right after: one rescue, then registrations. */
		if ((v = probe_rescue(&col, apps.pids[first_victim + PROBES + k], &rescues)) >= 0)
			res_after[nres_after++] = v;
		probe_registrations(&apps, col.sock, reg_after, &nreg_after);
		fprintf(stderr, "bench_handover: hand-over %ld: %.0f ms until its record was read\n",
			k + 1, ho_seen[k]);
	}
	ups = bench_audit_numbers(&col, "upgrade", "ms", ho_ms, MAX_ROUNDS);
	npause = bench_audit_numbers(&col, "upgrade", "paused_ms", pause_ms, MAX_ROUNDS);

	/* The restart it replaces: SIGTERM, a new collector, the apps come back by themselves. */
	{
		long regs0 = bench_audit_count_with(&col, "register", "\"app\":\"many\"");
		char sock[128];
		pid_t old = col.pid;
		int st;

		t0 = bench_now_ns();
		kill(old, SIGTERM);
		waitpid(old, &st, 0);
		snprintf(sock, sizeof(sock), "%s", col.sock);
		/* Same directory, same state: start it again by hand. */
		col.pid = fork();
		if (col.pid == 0) {
			int fd = open(col.log, O_WRONLY | O_APPEND | O_CLOEXEC);

			if (fd >= 0) {
				dup2(fd, 2);
				dup2(fd, 1);
			}
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			execl(bench_faultguardd(), "faultguardd", "--socket", col.sock, "--state-dir",
			      col.state, "--config", col.conf, (char *)NULL);
			_exit(127);
		}
		while (access(sock, F_OK) < 0 && bench_now_ns() - t0 < 30000000000LL)
			bench_sleep_ms(1);
		gap_sock_ms = (double)(bench_now_ns() - t0) / 1e6;
		t1 = wait_count(&col, "register", "\"app\":\"many\"", regs0 + napps, 120);
		gap_all_ms = t1 < 0 ? -1 : (double)(t1 - t0) / 1e6;
	}

	sh = bench_summarize(ho_ms, (size_t)ups);
	sp = bench_summarize(pause_ms, (size_t)npause);
	ss = bench_summarize(ho_seen, (size_t)rounds);
	srb = bench_summarize(reg_before, (size_t)nreg_before);
	sra = bench_summarize(reg_after, (size_t)nreg_after);
	sxb = bench_summarize(res_before, (size_t)nres_before);
	sxa = bench_summarize(res_after, (size_t)nres_after);
	printf("| hand-over with %ld registrations: SIGUSR2 → new image serving (check, drain, "
	       "execve, take-over); of it, nothing read (drain → serving) | median %.0f ms "
	       "(%.0f-%.0f, n=%zu; %.0f ms until its record is read here); paused median %.0f ms "
	       "(%.0f-%.0f) | restart (SIGTERM → new collector's socket): %.0f ms; until all %ld "
	       "apps registered again: %.0f ms | paused / restart until registered again: %.2fx | "
	       "— |\n",
	       napps + PROBES + rounds, sh.median, sh.min, sh.max, sh.n, ss.median, sp.median,
	       sp.min, sp.max, gap_sock_ms, napps, gap_all_ms,
	       gap_all_ms > 0 ? sp.median / gap_all_ms : 0.0);
	printf("| registration (fg_open → fg_registered) right after a hand-over | median %.0f µs, "
	       "p99 %.0f µs (n=%zu) | before any hand-over: median %.0f µs, p99 %.0f µs (n=%zu) | "
	       "%.2fx | — |\n",
	       sra.median, sra.p99, sra.n, srb.median, srb.p99, srb.n,
	       srb.median > 0 ? sra.median / srb.median : 0.0);
	printf("| death → rescue start right after a hand-over (latency_ms) | median %.2f ms "
	       "(%.2f-%.2f, n=%zu) | before any hand-over: median %.2f ms (%.2f-%.2f, n=%zu) | %.2fx "
	       "| — |\n",
	       sxa.median, sxa.min, sxa.max, sxa.n, sxb.median, sxb.min, sxb.max, sxb.n,
	       sxb.median > 0 ? sxa.median / sxb.median : 0.0);
	bench_apps_end(&apps);
	bench_collector_stop(&col);
	return ups == rounds ? 0 : 1;
}
