// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the collector costs a host when nothing crashes (issue 7): a process
 * creation storm — fork + exit, and fork + exec of /bin/true — of a fixed
 * count, spread over two workers per core so that every core always has
 * work (no idle core to hide a watcher's CPU time in, and no idle-exit
 * latency of a virtual CPU to flatter a watcher that keeps one awake): any
 * CPU the watcher takes shows up as lost throughput. Under three
 * conditions, interleaved repetition by repetition (a, b, c, a, b, c, ...)
 * so that drift on the machine hits all three alike:
 *
 *   (a) nothing watching;
 *   (b) faultguardd with 100 registered idle apps (its BPF programs run on
 *       every exit, exec and signal of the storm);
 *   (c) a plain listener on the kernel's process-events connector (netlink
 *       PROC_EVENTS, the non-BPF alternative), reading every event in a
 *       separate process.
 *
 * The figure is CPU time per process created: the storm's own (workers and
 * their children, kernel time included, where the BPF programs and the
 * connector's netlink broadcast run) plus the watcher's (the collector's or
 * the listener's process). That is what a saturated build host loses.
 * Wall time is printed on stderr but is not the figure: on this virtual
 * machine a storm runs *faster* while a listener keeps a virtual CPU awake
 * (idle exits cost more than the listener), so wall time would reward the
 * busier watcher.
 *
 * Then one pass with the kernel's BPF statistics on (BPF_ENABLE_STATS, off
 * during the timed repetitions because it costs two clock reads per run)
 * gives the BPF programs' own run time per storm process, a direct figure
 * that the machine's noise cannot blur. The last rows add it to the
 * collector's own CPU and set it beside the connector listener's own CPU:
 * both leave out the kernel's dispatch to them (the tracepoints' calls into
 * BPF; the netlink message built and queued per event), which is small for
 * BPF and not for the connector.
 *
 *   BENCH_OVERHEAD_REPS=N      repetitions (default 11)
 *   BENCH_OVERHEAD_FORKS=N     fork + exit per storm (default 10000)
 *   BENCH_OVERHEAD_EXECS=N     fork + exec per storm (default 3000)
 *   BENCH_OVERHEAD_WORKERS=N   storm workers (default two per core)
 */
#include <linux/bpf.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "bench_common.h"

#define MAX_REPS 64
#define APPS 100

enum storm_kind { STORM_FORK, STORM_EXEC, STORM_KINDS };
enum mode { MODE_NONE, MODE_COLLECTOR, MODE_CONNECTOR, MODES };

static const char *const storm_name[STORM_KINDS] = { "fork + exit", "fork + exec /bin/true" };
static const char *const mode_name[MODES] = { "nothing watching", "faultguardd + 100 apps",
					       "proc connector listener" };

/* --- the storm ----------------------------------------------------------------- */

__attribute__((noreturn)) static void worker(int go, enum storm_kind kind, long n)
{
	char *argv[] = { "true", NULL }, *env[] = { NULL };
	char c;
	long i;

	while (read(go, &c, 1) < 0 && errno == EINTR)
		;
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			_exit(1);
		if (pid == 0) {
			if (kind == STORM_EXEC)
				execve("/bin/true", argv, env);
			_exit(0);
		}
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	_exit(0);
}

/* CPU time of our reaped children (the workers and, through them, theirs), in ms. */
static double children_cpu_ms(void)
{
	struct rusage ru;

	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

struct storm_result {
	double wall_ms;
	double cpu_ms; /* the storm's plus the watcher's */
	double watcher_ms;
};

/*
 * Runs @total processes over @workers workers while @watcher (0: none) may
 * be watching; measures wall time and CPU time.
 */
static struct storm_result storm(enum storm_kind kind, long total, int workers, pid_t watcher)
{
	struct storm_result res;
	long long w0 = 0, w1 = 0;
	double c0;
	pid_t pids[256];
	int go[2], i, status, failed = 0;
	int64_t t0;

	if (pipe2(go, O_CLOEXEC) < 0)
		bench_die("pipe2", errno);
	fflush(NULL);
	for (i = 0; i < workers; i++) {
		pids[i] = fork();
		if (pids[i] < 0)
			bench_die("fork", errno);
		if (pids[i] == 0) {
			close(go[1]);
			worker(go[0], kind, total / workers);
		}
	}
	close(go[0]);
	c0 = children_cpu_ms();
	if (watcher)
		w0 = bench_cpu_ns(watcher, NULL);
	t0 = bench_now_ns();
	close(go[1]); /* every worker starts at once */
	for (i = 0; i < workers; i++) {
		waitpid(pids[i], &status, 0);
		failed |= !WIFEXITED(status) || WEXITSTATUS(status);
	}
	res.wall_ms = (double)(bench_now_ns() - t0) / 1e6;
	if (watcher)
		w1 = bench_cpu_ns(watcher, NULL);
	if (failed)
		bench_die("a storm worker failed", 0);
	res.watcher_ms = (double)(w1 - w0) / 1e6;
	res.cpu_ms = children_cpu_ms() - c0 + res.watcher_ms;
	return res;
}

/* --- (c) the connector listener -------------------------------------------------- */

static volatile sig_atomic_t listener_stop;

static void on_term(int sig)
{
	(void)sig;
	listener_stop = 1;
}

/* Subscribes to process events; returns the socket or -errno. */
static int connector_subscribe(void)
{
	struct __attribute__((packed)) {
		struct nlmsghdr nl;
		struct cn_msg cn;
		enum proc_cn_mcast_op op;
	} msg;
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = CN_IDX_PROC,
				  .nl_pid = (__u32)getpid() };
	int s = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_CONNECTOR);
	int rcvbuf = 4 << 20;

	if (s < 0)
		return -errno;
	/* A listener that wants every event asks for a big buffer. */
	setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof(rcvbuf));
	if (bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto err;
	memset(&msg, 0, sizeof(msg));
	msg.nl.nlmsg_len = sizeof(msg);
	msg.nl.nlmsg_type = NLMSG_DONE;
	msg.nl.nlmsg_pid = (__u32)getpid();
	msg.cn.id.idx = CN_IDX_PROC;
	msg.cn.id.val = CN_VAL_PROC;
	msg.cn.len = sizeof(enum proc_cn_mcast_op);
	msg.op = PROC_CN_MCAST_LISTEN;
	if (send(s, &msg, sizeof(msg), 0) != (ssize_t)sizeof(msg))
		goto err;
	return s;
err:
	{
		int err = -errno;

		close(s);
		return err;
	}
}

/* The listener process: reads and counts every event until SIGTERM. */
__attribute__((noreturn)) static void listener_main(int ready_fd)
{
	struct sigaction sa = { .sa_handler = on_term };
	long long events = 0, forks = 0, execs = 0, exits = 0, overruns = 0;
	char buf[16384] __attribute__((aligned(8)));
	int s, ok;

	sigaction(SIGTERM, &sa, NULL); /* no SA_RESTART: recv returns EINTR */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	s = connector_subscribe();
	ok = s >= 0;
	(void)!write(ready_fd, &ok, sizeof(ok));
	close(ready_fd);
	if (!ok)
		_exit(1);
	while (!listener_stop) {
		ssize_t n = recv(s, buf, sizeof(buf), 0);
		struct nlmsghdr *nh;

		if (n < 0) {
			if (errno == ENOBUFS)
				overruns++;
			continue;
		}
		for (nh = (struct nlmsghdr *)buf; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			struct cn_msg *cn = NLMSG_DATA(nh);
			struct proc_event *ev = (struct proc_event *)cn->data;

			if (nh->nlmsg_type != NLMSG_DONE)
				continue;
			events++;
			switch (ev->what) {
			case PROC_EVENT_FORK: forks++; break;
			case PROC_EVENT_EXEC: execs++; break;
			case PROC_EVENT_EXIT: exits++; break;
			default: break;
			}
		}
	}
	fprintf(stderr, "bench_overhead: connector listener read %lld events (%lld fork, %lld exec, "
			"%lld exit), %lld overruns\n",
		events, forks, execs, exits, overruns);
	_exit(0);
}

static pid_t listener_start(void)
{
	int p[2], ok = 0;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		bench_die("pipe2", errno);
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		bench_die("fork", errno);
	if (pid == 0) {
		close(p[0]);
		listener_main(p[1]);
	}
	close(p[1]);
	if (read(p[0], &ok, sizeof(ok)) != (ssize_t)sizeof(ok) || !ok)
		bench_die("cannot subscribe to the process-events connector", 0);
	close(p[0]);
	return pid;
}

static void listener_stop_wait(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* --- (b) the collector with 100 apps ------------------------------------------------ */

struct watcher {
	struct bench_collector col;
	struct bench_apps apps;
	pid_t listener;
	pid_t pid; /* whose CPU time counts as the watcher's */
};

static void mode_setup(enum mode m, struct watcher *w)
{
	struct bench_app_opts o = { .app = "idle", .fill_bytes = 1024 };
	int i, err;

	w->pid = 0;
	if (m == MODE_COLLECTOR) {
		bench_collector_start(&w->col, "");
		o.sock = w->col.sock;
		bench_apps_init(&w->apps, APPS);
		for (i = 0; i < APPS; i++) {
			err = bench_app_start(&w->apps, &o);
			if (err)
				bench_die("an app did not register", -err);
		}
		w->pid = w->col.pid;
	} else if (m == MODE_CONNECTOR) {
		w->listener = listener_start();
		w->pid = w->listener;
	}
	/* Let the watcher settle: registrations answered, audit lines written. */
	bench_sleep_ms(300);
}

static void mode_teardown(enum mode m, struct watcher *w)
{
	if (m == MODE_COLLECTOR) {
		bench_apps_end(&w->apps);
		if (bench_log_has(&w->col, "dropped"))
			fprintf(stderr, "bench_overhead: the collector reports lost BPF records\n");
		bench_collector_stop(&w->col);
	} else if (m == MODE_CONNECTOR) {
		listener_stop_wait(w->listener);
	}
}

/* --- BPF run time, from the kernel's own statistics ------------------------------- */

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

#define MAX_PROGS 32

struct bpf_runs {
	int n;
	__u32 id[MAX_PROGS];
	char name[MAX_PROGS][BPF_OBJ_NAME_LEN];
	__u64 cnt[MAX_PROGS], ns[MAX_PROGS];
};

/* The BPF programs @pid holds (prog_id lines of its fdinfo), with their run counters. */
static void bpf_runs_read(pid_t pid, struct bpf_runs *r)
{
	char path[300], line[256];
	struct dirent *de;
	DIR *d;
	int i;

	memset(r, 0, sizeof(*r));
	snprintf(path, sizeof(path), "/proc/%d/fdinfo", (int)pid);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)) && r->n < MAX_PROGS) {
		unsigned int id = 0;
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%s", (int)pid, de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		while (fgets(line, sizeof(line), f))
			if (sscanf(line, "prog_id: %u", &id) == 1)
				break;
		fclose(f);
		for (i = 0; id && i < r->n; i++)
			if (r->id[i] == id)
				id = 0;
		if (id)
			r->id[r->n++] = id;
	}
	closedir(d);
	for (i = 0; i < r->n; i++) {
		struct bpf_prog_info info;
		union bpf_attr a;
		int fd;

		memset(&a, 0, sizeof(a));
		a.prog_id = r->id[i];
		fd = (int)sys_bpf(BPF_PROG_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = (__u32)fd;
		a.info.info_len = sizeof(info);
		a.info.info = (__u64)(unsigned long)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0) {
			r->cnt[i] = info.run_cnt;
			r->ns[i] = info.run_time_ns;
			memcpy(r->name[i], info.name, sizeof(r->name[i]));
		}
		close(fd);
	}
}

/*
 * With BPF statistics on, the collector's programs' run time during one
 * storm of each kind; prints a row per kind. @cpu_per_proc_us: the storm's
 * CPU per process with nothing watching, for scale.
 */
static void bpf_cost(const long *count, int workers, const double *cpu_per_proc_us,
		     double *bpf_ns)
{
	union bpf_attr a = { .enable_stats.type = BPF_STATS_RUN_TIME };
	struct bpf_runs before, after;
	static struct watcher w;
	int stats_fd, k, i;

	stats_fd = (int)sys_bpf(BPF_ENABLE_STATS, &a);
	if (stats_fd < 0) {
		fprintf(stderr, "bench_overhead: BPF_ENABLE_STATS: %s\n", strerror(errno));
		return;
	}
	mode_setup(MODE_COLLECTOR, &w);
	for (k = 0; k < STORM_KINDS; k++) {
		double per_run[3] = { 0 }, total;
		char parts[96];
		static const char *const path[3] = { "on_process_exit", "on_signal_gener",
						      "on_process_exec" };
		int p;

		bpf_runs_read(w.col.pid, &before);
		storm(k, count[k], workers, 0);
		bpf_runs_read(w.col.pid, &after);
		for (i = 0; i < after.n; i++) {
			__u64 dc = after.cnt[i] - (i < before.n ? before.cnt[i] : 0);
			__u64 dn = after.ns[i] - (i < before.n ? before.ns[i] : 0);

			fprintf(stderr, "bench_overhead: bpf_stats, %s: %-20s %8llu runs, %6.0f ns/run\n",
				storm_name[k], after.name[i], (unsigned long long)dc,
				dc ? (double)dn / (double)dc : 0.0);
			for (p = 0; p < 3; p++)
				if (dc && !strncmp(after.name[i], path[p], BPF_OBJ_NAME_LEN - 1))
					per_run[p] = (double)dn / (double)dc;
		}
		/*
		 * The counters are host-wide (other processes run too), so the
		 * figure is built from the cost per run of the programs one storm
		 * process sets off: its exit, its parent's SIGCHLD, its exec.
		 */
		total = per_run[0] + per_run[1] + (k == STORM_EXEC ? per_run[2] : 0);
		bpf_ns[k] = total;
		snprintf(parts, sizeof(parts), "exit %.0f + SIGCHLD %.0f", per_run[0], per_run[1]);
		if (k == STORM_EXEC)
			snprintf(parts + strlen(parts), sizeof(parts) - strlen(parts), " + exec %.0f",
				 per_run[2]);
		printf("| BPF programs' run time per process, %s (kernel bpf_stats, ns per run: %s) | "
		       "%.0f ns | storm CPU per process, nothing watching: %.1f µs | %.2f%% | — |\n",
		       storm_name[k], parts, total, cpu_per_proc_us[k],
		       total / 10.0 / cpu_per_proc_us[k]);
	}
	mode_teardown(MODE_COLLECTOR, &w);
	close(stats_fd);
}

/* --- report ----------------------------------------------------------------------- */

/* One row: CPU per process under @m against nothing watching; returns the slowdown in %. */
static double row(enum storm_kind k, enum mode m, long count, int workers,
		  struct storm_result *t, struct storm_result *base, int reps, double connector)
{
	double paired[MAX_REPS], cpu[MAX_REPS], bcpu[MAX_REPS], wall[MAX_REPS], bwall[MAX_REPS];
	double watcher[MAX_REPS];
	struct bench_stats s, b, p, sw, bw, ws;
	double slow, per = 1000.0 / (double)count;
	int i, miss;

	for (i = 0; i < reps; i++) {
		cpu[i] = t[i].cpu_ms * per;
		bcpu[i] = base[i].cpu_ms * per;
		paired[i] = t[i].cpu_ms / base[i].cpu_ms;
		wall[i] = t[i].wall_ms;
		bwall[i] = base[i].wall_ms;
		watcher[i] = t[i].watcher_ms * per;
	}
	s = bench_summarize(cpu, (size_t)reps);
	b = bench_summarize(bcpu, (size_t)reps);
	p = bench_summarize(paired, (size_t)reps);
	sw = bench_summarize(wall, (size_t)reps);
	bw = bench_summarize(bwall, (size_t)reps);
	ws = bench_summarize(watcher, (size_t)reps);
	slow = (s.median / b.median - 1) * 100;
	miss = m == MODE_COLLECTOR && (slow > 2 || slow >= connector);
	printf("| process storm, %ld × %s, %d workers: CPU per process, %s | %.1f µs (%.1f-%.1f, "
	       "n=%d; watcher's share %.2f µs) | nothing watching: %.1f µs (%.1f-%.1f) | %.3fx "
	       "(%+.1f%%; paired per repetition: %+.1f%%) | %s |\n",
	       count, storm_name[k], workers, mode_name[m], s.median, s.min, s.max, reps, ws.median,
	       b.median, b.min, b.max, s.median / b.median, slow, (p.median - 1) * 100,
	       m == MODE_COLLECTOR ? "≤ +2% and below the connector" : "—");
	fprintf(stderr, "bench_overhead: %s, %s: CPU %+.2f%% (paired per repetition: median %+.2f%%, "
			"%+.2f%% to %+.2f%%); wall %.0f ms vs %.0f ms (%+.1f%%)%s\n",
		storm_name[k], mode_name[m], slow, (p.median - 1) * 100, (p.min - 1) * 100,
		(p.max - 1) * 100, sw.median, bw.median, (sw.median / bw.median - 1) * 100,
		miss ? " (misses the goal)" : "");
	return slow;
}

/*
 * The cost the timing above cannot resolve on a noisy machine, summed from
 * parts measured directly: the collector's BPF run time plus its own CPU,
 * against the connector listener's own CPU alone (its in-kernel cost, the
 * netlink message built and queued for every fork, exec and exit, is left
 * out, so the connector's figure is a lower bound).
 */
static void direct_row(enum storm_kind k, double cpu_none_us, double collector_us,
		       double listener_us)
{
	double pc = collector_us / cpu_none_us * 100, pl = listener_us / cpu_none_us * 100;

	printf("| direct cost per process, %s: faultguardd (BPF run time + its own CPU) | %.3f µs "
	       "= %.2f%% of the storm's CPU | proc connector listener's own CPU alone: %.2f µs = "
	       "%.2f%% | %.3fx | ≤ 2%% and below the connector |\n",
	       storm_name[k], collector_us, pc, listener_us, pl, collector_us / listener_us);
	fprintf(stderr, "bench_overhead: direct, %s: collector %.2f%%, connector listener %.2f%%%s\n",
		storm_name[k], pc, pl, pc > 2 || pc >= pl ? " (misses the goal)" : "");
}

int main(int argc, char **argv)
{
	static struct storm_result t[STORM_KINDS][MODES][MAX_REPS];
	int reps = (int)bench_env_long("BENCH_OVERHEAD_REPS", 11, 1, MAX_REPS);
	long count[STORM_KINDS] = {
		bench_env_long("BENCH_OVERHEAD_FORKS", 10000, 1, 10000000),
		bench_env_long("BENCH_OVERHEAD_EXECS", 3000, 1, 10000000),
	};
	int workers = (int)bench_env_long("BENCH_OVERHEAD_WORKERS", 2 * sysconf(_SC_NPROCESSORS_ONLN), 1, 256);
	double cpu_none[STORM_KINDS], share[STORM_KINDS][MODES], bpf_ns[STORM_KINDS] = { 0 };
	static struct watcher w;
	int r, m, k;

	bench_rescue_mark_main(argc, argv);
	if (!bench_need_root("process storm"))
		return 0;
	bench_print_machine();
	/* Warm-up: page cache, /bin/true, the first collector start. */
	storm(STORM_FORK, 2000, workers, 0);
	storm(STORM_EXEC, 500, workers, 0);
	for (r = 0; r < reps; r++) {
		for (m = 0; m < MODES; m++) {
			mode_setup(m, &w);
			for (k = 0; k < STORM_KINDS; k++)
				t[k][m][r] = storm(k, count[k], workers, w.pid);
			mode_teardown(m, &w);
			fprintf(stderr, "bench_overhead: repetition %d, %s: CPU %.0f ms, %.0f ms; "
					"wall %.0f ms, %.0f ms\n",
				r + 1, mode_name[m], t[STORM_FORK][m][r].cpu_ms,
				t[STORM_EXEC][m][r].cpu_ms, t[STORM_FORK][m][r].wall_ms,
				t[STORM_EXEC][m][r].wall_ms);
		}
	}
	for (k = 0; k < STORM_KINDS; k++) {
		double conn = row(k, MODE_CONNECTOR, count[k], workers, t[k][MODE_CONNECTOR],
				  t[k][MODE_NONE], reps, 0);
		double none[MAX_REPS];

		row(k, MODE_COLLECTOR, count[k], workers, t[k][MODE_COLLECTOR], t[k][MODE_NONE],
		    reps, conn);
		for (r = 0; r < reps; r++)
			none[r] = t[k][MODE_NONE][r].cpu_ms * 1000.0 / (double)count[k];
		cpu_none[k] = bench_summarize(none, (size_t)reps).median;
		for (m = MODE_COLLECTOR; m < MODES; m++) {
			for (r = 0; r < reps; r++)
				none[r] = t[k][m][r].watcher_ms * 1000.0 / (double)count[k];
			share[k][m] = bench_summarize(none, (size_t)reps).median;
		}
	}
	bpf_cost(count, workers, cpu_none, bpf_ns);
	for (k = 0; k < STORM_KINDS; k++)
		direct_row(k, cpu_none[k], bpf_ns[k] / 1000.0 + share[k][MODE_COLLECTOR],
			   share[k][MODE_CONNECTOR]);
	return 0;
}
