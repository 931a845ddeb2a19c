/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the collector benchmarks share: the clock, statistics, a private
 * faultguardd on a temporary socket and state directory (on disk, like
 * /var/lib, so fsyncs cost what they cost on a host), registered idle apps,
 * a rescue command that records when it started, and /proc readers.
 *
 * Row protocol (scripts/bench.sh): table rows on stdout, everything else on
 * stderr. Helpers live here as static inline functions because each
 * bench/<name>.c is built into its own binary.
 */
#ifndef FG_BENCH_COMMON_H
#define FG_BENCH_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "faultguard.h"

/* --- clock, errors, machine ------------------------------------------------ */

static inline int64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void bench_sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

__attribute__((noreturn)) static inline void bench_die(const char *what, int err)
{
	fprintf(stderr, "%s: %s%s%s\n", program_invocation_short_name, what, err ? ": " : "",
		err ? strerror(err) : "");
	exit(1);
}

/* The machine, on stderr: a figure means little without it. */
static inline void bench_print_machine(void)
{
	double load[3] = { 0 };

	getloadavg(load, 3);
	fprintf(stderr, "%s: %ld cores online; load average %.2f %.2f %.2f at start\n",
		program_invocation_short_name, sysconf(_SC_NPROCESSORS_ONLN), load[0], load[1],
		load[2]);
}

/*
 * The collector needs root. Without it the benchmark prints one row saying
 * so and exits 0: `make bench` as a user still shows the other benchmarks.
 */
static inline int bench_need_root(const char *row_name)
{
	if (geteuid() == 0)
		return 1;
	fprintf(stderr, "%s: needs root (it starts a private faultguardd); skipped\n",
		program_invocation_short_name);
	printf("| %s | not measured: needs root | — | — | — |\n", row_name);
	return 0;
}

/* --- statistics ---------------------------------------------------------------- */

struct bench_stats {
	double median, p99, min, max;
	size_t n;
};

static inline int bench_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Sorts @v; p99 is the nearest-rank percentile (the maximum below 100 samples). */
static inline struct bench_stats bench_summarize(double *v, size_t n)
{
	struct bench_stats s = { 0 };
	size_t r;

	if (!n)
		return s;
	qsort(v, n, sizeof(*v), bench_cmp_double);
	s.n = n;
	s.min = v[0];
	s.max = v[n - 1];
	s.median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	r = (size_t)ceil(0.99 * (double)n);
	s.p99 = v[r ? r - 1 : 0];
	return s;
}

/* --- paths and temporary directories ------------------------------------------ */

static inline const char *bench_self(void)
{
	static char self[PATH_MAX];

	if (!self[0]) {
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		if (n <= 0)
			bench_die("readlink /proc/self/exe", errno);
		self[n] = '\0';
	}
	return self;
}

/* $FAULTGUARDD, else BUILD/faultguardd next to BUILD/bench/<us>. */
static inline const char *bench_faultguardd(void)
{
	static char path[PATH_MAX];
	const char *env = getenv("FAULTGUARDD");
	char *slash;

	if (env && *env)
		return env;
	snprintf(path, sizeof(path), "%s", bench_self());
	for (int i = 0; i < 2; i++) {
		slash = strrchr(path, '/');
		if (!slash)
			bench_die("cannot find faultguardd next to the benchmark", ENOENT);
		*slash = '\0';
	}
	if (strlen(path) + sizeof("/faultguardd") > sizeof(path))
		bench_die("path too long", ENAMETOOLONG);
	strcat(path, "/faultguardd");
	return path;
}

static int bench_rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

static inline void bench_rmtree(const char *path)
{
	nftw(path, bench_rm_one, 64, FTW_DEPTH | FTW_PHYS);
}

/* A temporary directory on disk (/var/tmp), not tmpfs: snapshot fsyncs are real. */
static inline void bench_mkdtemp(char *buf, size_t len)
{
	snprintf(buf, len, "/var/tmp/fg-bench.XXXXXX");
	if (!mkdtemp(buf))
		bench_die("mkdtemp /var/tmp", errno);
	chmod(buf, 0755);
}

/* --- a private collector ------------------------------------------------------- */

struct bench_collector {
	pid_t pid;
	char dir[64];
	char sock[128];
	char state[128];
	char audit[160];
	char conf[128];
	char log[128];
	int state_mounted; /* a file system of its own at state: unmounted by stop */
};

static inline void bench_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");

	if (!f || fputs(text, f) < 0 || fclose(f))
		bench_die(path, errno);
}

/*
 * Starts faultguardd on a socket and state directory of its own, with
 * @config_text as its config file; returns once the socket exists (the
 * collector's "ready"). Its stderr goes to c->log.
 */
static inline void bench_collector_start_prepared(struct bench_collector *c,
						  const char *config_text,
						  void (*prepare)(struct bench_collector *c))
{
	const char *exe = bench_faultguardd();
	int64_t deadline;
	struct stat st;
	int status;

	memset(c, 0, sizeof(*c));
	bench_mkdtemp(c->dir, sizeof(c->dir));
	snprintf(c->sock, sizeof(c->sock), "%s/fg.sock", c->dir);
	snprintf(c->state, sizeof(c->state), "%s/state", c->dir);
	snprintf(c->audit, sizeof(c->audit), "%s/audit.jsonl", c->state);
	snprintf(c->conf, sizeof(c->conf), "%s/faultguardd.conf", c->dir);
	snprintf(c->log, sizeof(c->log), "%s/faultguardd.log", c->dir);
	bench_write_file(c->conf, config_text ? config_text : "");
	/* Its chance to mount a file system at c->state or to edit c->conf. */
	if (prepare)
		prepare(c);
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0)
		bench_die("fork", errno);
	if (c->pid == 0) {
		int fd = open(c->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
		}
		/* No collector outlives its benchmark. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execl(exe, "faultguardd", "--socket", c->sock, "--state-dir", c->state,
		      "--config", c->conf, (char *)NULL);
		fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
		_exit(127);
	}
	deadline = bench_now_ns() + 20 * 1000000000LL;
	while (stat(c->sock, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
			char cmd[256];

			snprintf(cmd, sizeof(cmd), "cat %s >&2", c->log);
			(void)!system(cmd);
			bench_die("faultguardd exited before it was ready", 0);
		}
		if (bench_now_ns() > deadline)
			bench_die("faultguardd did not create its socket within 20 s", ETIMEDOUT);
		bench_sleep_ms(2);
	}
}

static inline void bench_collector_start(struct bench_collector *c, const char *config_text)
{
	bench_collector_start_prepared(c, config_text, NULL);
}

/* Stops the collector (SIGTERM, then SIGKILL after 10 s) and removes its directory. */
static inline void bench_collector_stop(struct bench_collector *c)
{
	int64_t deadline = bench_now_ns() + 10 * 1000000000LL;
	int status;

	if (c->pid > 0) {
		kill(c->pid, SIGTERM);
		while (waitpid(c->pid, &status, WNOHANG) == 0) {
			if (bench_now_ns() > deadline) {
				fprintf(stderr, "%s: faultguardd ignored SIGTERM; killing it\n",
					program_invocation_short_name);
				kill(c->pid, SIGKILL);
				waitpid(c->pid, &status, 0);
				break;
			}
			bench_sleep_ms(5);
		}
		c->pid = 0;
	}
	if (c->state_mounted) {
		umount2(c->state, MNT_DETACH);
		c->state_mounted = 0;
	}
	if (c->dir[0] && !getenv("BENCH_KEEP"))
		bench_rmtree(c->dir);
}

/* Lines of the audit log whose "event" is @event and that also hold @also (if not NULL). */
static inline long bench_audit_count_with(const struct bench_collector *c, const char *event,
					  const char *also)
{
	char needle[64], *line = NULL;
	size_t cap = 0;
	long n = 0;
	FILE *f = fopen(c->audit, "re");

	if (!f)
		return 0;
	snprintf(needle, sizeof(needle), "\"event\":\"%s\"", event);
	while (getline(&line, &cap, f) > 0)
		if (strstr(line, needle) && (!also || strstr(line, also)))
			n++;
	free(line);
	fclose(f);
	return n;
}

static inline long bench_audit_count(const struct bench_collector *c, const char *event)
{
	return bench_audit_count_with(c, event, NULL);
}

/*
 * The numeric @field of every @event record in the audit log, into @out (at
 * most @max); returns how many. Records where the field is null are skipped.
 */
static inline long bench_audit_numbers(const struct bench_collector *c, const char *event,
				       const char *field, double *out, long max)
{
	char needle[64], key[64], *line = NULL, *p, *end;
	size_t cap = 0;
	long n = 0;
	FILE *f = fopen(c->audit, "re");

	if (!f)
		return 0;
	snprintf(needle, sizeof(needle), "\"event\":\"%s\"", event);
	snprintf(key, sizeof(key), "\"%s\":", field);
	while (n < max && getline(&line, &cap, f) > 0) {
		if (!strstr(line, needle) || !(p = strstr(line, key)))
			continue;
		p += strlen(key);
		out[n] = strtod(p, &end);
		if (end != p)
			n++;
	}
	free(line);
	fclose(f);
	return n;
}

/* The collector's log, shown when something looks wrong. */
static inline int bench_log_has(const struct bench_collector *c, const char *what)
{
	char *line = NULL;
	size_t cap = 0;
	int found = 0;
	FILE *f = fopen(c->log, "re");

	if (!f)
		return 0;
	while (!found && getline(&line, &cap, f) > 0)
		found = strstr(line, what) != NULL;
	free(line);
	fclose(f);
	return found;
}

/* --- /proc --------------------------------------------------------------------- */

/* A "Key:   N kB" line of /proc/PID/status, in KiB; -1 if absent. */
static inline long bench_status_kib(pid_t pid, const char *key)
{
	char path[64], line[256];
	size_t klen = strlen(key);
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			v = strtol(line + klen + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

/* utime + stime of the whole process, in clock ticks (/proc/PID/stat fields 14, 15). */
static inline long long bench_cpu_ticks(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	int fd, field;
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	p = strrchr(buf, ')');
	for (field = 2; p && field < 14; field++) {
		p = strchr(p + 1, ' ');
	}
	if (!p || sscanf(p, " %llu %llu", &ut, &st) != 2)
		return -1;
	return (long long)(ut + st);
}

/*
 * CPU time of every thread, in ns, from /proc/PID/task/TID/schedstat: the
 * scheduler's own accounting, far finer than the 10 ms ticks of stat. Also
 * sums the threads' context switches (wake-ups) into @switches if given.
 */
static inline long long bench_cpu_ns(pid_t pid, long long *switches)
{
	char path[300], line[256];
	long long total = 0, sw = 0;
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((de = readdir(d))) {
		unsigned long long run = 0;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task/%s/schedstat", (int)pid, de->d_name);
		f = fopen(path, "re");
		if (f) {
			if (fscanf(f, "%llu", &run) == 1)
				total += (long long)run;
			fclose(f);
		}
		snprintf(path, sizeof(path), "/proc/%d/task/%s/status", (int)pid, de->d_name);
		f = fopen(path, "re");
		if (f) {
			while (fgets(line, sizeof(line), f))
				if (strstr(line, "ctxt_switches:"))
					sw += strtoll(strchr(line, ':') + 1, NULL, 10);
			fclose(f);
		}
	}
	closedir(d);
	if (switches)
		*switches = sw;
	return total;
}

/* --- the rescue command that records when it started ---------------------------- */

/*
 * Every benchmark binary doubles as a rescue command:
 *   <bench> --rescue-mark FILE SLOT
 * writes its CLOCK_MONOTONIC start time (ns) as 8 bytes at SLOT * 8 in FILE,
 * first thing in main(), and exits. The floor runs the very same command.
 */
#define BENCH_RESCUE_FLAG "--rescue-mark"

static inline void bench_rescue_mark_main(int argc, char **argv)
{
	int64_t t = bench_now_ns();
	long slot;
	int fd;

	if (argc != 4 || strcmp(argv[1], BENCH_RESCUE_FLAG))
		return;
	slot = strtol(argv[3], NULL, 10);
	fd = open(argv[2], O_WRONLY | O_CLOEXEC);
	if (fd < 0 || pwrite(fd, &t, sizeof(t), (off_t)slot * 8) != (ssize_t)sizeof(t))
		_exit(1);
	_exit(0);
}

/* A mark file for @slots rescues, all zero; returns its fd (for reading). */
static inline int bench_marks_create(const char *path, long slots)
{
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);

	if (fd < 0 || ftruncate(fd, (off_t)slots * 8) < 0)
		bench_die(path, errno);
	return fd;
}

static inline int64_t bench_mark_read(int fd, long slot)
{
	int64_t t = 0;

	if (pread(fd, &t, sizeof(t), (off_t)slot * 8) != (ssize_t)sizeof(t))
		return 0;
	return t;
}

/* The rescue command that marks its start in slot @slot of @marks_path: @argv (5), @slotbuf its text. */
static inline void bench_rescue_argv(const char *marks_path, long slot, char *slotbuf, size_t len,
				     const char **argv)
{
	snprintf(slotbuf, len, "%ld", slot);
	argv[0] = bench_self();
	argv[1] = BENCH_RESCUE_FLAG;
	argv[2] = marks_path;
	argv[3] = slotbuf;
	argv[4] = NULL;
}

/* Waits for the rescue of @slot to mark its start in @marks_fd; start - @death[slot] in ms, -1 late. */
static inline double bench_wait_mark(int marks_fd, const int64_t *death, long slot,
				     int64_t timeout_s)
{
	int64_t deadline = bench_now_ns() + timeout_s * 1000000000LL, t;

	while (!(t = bench_mark_read(marks_fd, slot))) {
		if (bench_now_ns() > deadline)
			return -1;
		bench_sleep_ms(1);
	}
	return (double)(t - death[slot]) / 1e6;
}

/* Notes the time of death in @death[slot] (shared memory), then segfaults, without a core. */
__attribute__((noreturn)) static inline void bench_die_now(int64_t *death, long slot)
{
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);
	death[slot] = bench_now_ns();
	*(volatile int *)0 = 0;
	abort();
}

/* $@name as a whole number in [@min, @max]; @def when unset, empty or anything else. */
static inline long bench_env_long(const char *name, long def, long min, long max)
{
	const char *v = getenv(name);
	char *end;
	long n;

	if (!v || !*v)
		return def;
	n = strtol(v, &end, 10);
	return !*end && n >= min && n <= max ? n : def;
}

/*
 * Waits until the collector registered @fg (fg_registered() == 1), sleeping
 * 1 ms between looks, or yielding when @spin (for timing registration).
 * Returns whether it did within @timeout_ns.
 */
static inline int bench_wait_registered(struct fg *fg, int64_t timeout_ns, int spin)
{
	int64_t deadline = bench_now_ns() + timeout_ns;

	while (!fg_registered(fg) && bench_now_ns() < deadline) {
		if (spin)
			sched_yield();
		else
			bench_sleep_ms(1);
	}
	return fg_registered(fg);
}

/* --- registered idle apps --------------------------------------------------------- */

/*
 * An app: a forked child that fg_open()s a dictionary at the collector's
 * socket, fills it with @fill_bytes of data, waits to be registered, reports
 * {pid, registration ns} on a shared pipe and then sleeps until the shared
 * control pipe closes, when it ends in order (fg_close, exit 0). To make it
 * crash, kill it.
 */
struct bench_apps {
	int ready[2]; /* apps -> bench: struct bench_app_ready */
	int ctl[2];   /* bench holds ctl[1]; its close ends every app */
	pid_t *pids;
	double *reg_us;
	long n, cap;
};

struct bench_app_ready {
	pid_t pid;
	int ok;
	int64_t reg_ns; /* fg_open to fg_registered() == 1 */
};

struct bench_app_opts {
	const char *sock;
	const char *app;
	const char *const *rescue_argv;
	size_t max_bytes;
	size_t fill_bytes; /* in values of up to 1 MiB */
	int spin;          /* poll fg_registered without sleeping: for timing registration */
};

static inline void bench_apps_init(struct bench_apps *a, long cap)
{
	memset(a, 0, sizeof(*a));
	if (pipe2(a->ready, O_CLOEXEC) < 0 || pipe2(a->ctl, O_CLOEXEC) < 0)
		bench_die("pipe2", errno);
	a->cap = cap;
	a->pids = calloc((size_t)cap, sizeof(*a->pids));
	a->reg_us = calloc((size_t)cap, sizeof(*a->reg_us));
	if (!a->pids || !a->reg_us)
		bench_die("calloc", ENOMEM);
}

/* Fills @fg with @bytes of pseudo-random (incompressible) data. */
static inline int bench_fill(struct fg *fg, size_t bytes)
{
	static uint8_t *chunk;
	const size_t chunk_max = 1u << 20;
	uint64_t x = 0x9e3779b97f4a7c15ull;
	char key[32];
	size_t i;
	int k, err;

	if (!chunk) {
		chunk = malloc(chunk_max);
		if (!chunk)
			return -ENOMEM;
		for (i = 0; i < chunk_max / 8; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(chunk + i * 8, &x, 8);
		}
	}
	for (k = 0; bytes; k++) {
		size_t len = bytes < chunk_max ? bytes : chunk_max;

		snprintf(key, sizeof(key), "data/%d", k);
		/* Shift the data per value so no two values are alike. */
		chunk[k % chunk_max] ^= (uint8_t)(k + 1);
		err = fg_set(fg, key, chunk, len);
		if (err)
			return err;
		bytes -= len;
	}
	return 0;
}

__attribute__((noreturn)) static inline void bench_app_main(struct bench_apps *a,
							    const struct bench_app_opts *o)
{
	struct fg_opts fo = {
		.sz = sizeof(fo),
		.app = o->app,
		.rescue_argv = o->rescue_argv,
		.socket_path = o->sock,
		.max_bytes = o->max_bytes,
	};
	struct bench_app_ready r = { .pid = getpid() };
	struct rlimit no_core = { 0, 0 };
	struct fg *fg;
	int64_t t0;
	char c;

	close(a->ctl[1]);
	close(a->ready[0]);
	setrlimit(RLIMIT_CORE, &no_core);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	t0 = bench_now_ns();
	fg = fg_open(&fo);
	if (!fg)
		goto report;
	r.ok = bench_wait_registered(fg, 30 * 1000000000LL, o->spin);
	r.reg_ns = bench_now_ns() - t0;
	r.ok = r.ok && bench_fill(fg, o->fill_bytes) == 0;
report:
	(void)!write(a->ready[1], &r, sizeof(r));
	close(a->ready[1]);
	while (read(a->ctl[0], &c, 1) < 0 && errno == EINTR)
		;
	fg_close(fg);
	_exit(0);
}

/* Starts one app and waits for its report; returns 0 when it registered. */
static inline int bench_app_start(struct bench_apps *a, const struct bench_app_opts *o)
{
	struct bench_app_ready r;
	pid_t pid;
	ssize_t n;

	if (a->n >= a->cap)
		return -ENOSPC;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0)
		bench_app_main(a, o);
	a->pids[a->n] = pid;
	do
		n = read(a->ready[0], &r, sizeof(r));
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(r) || r.pid != pid)
		return -EPROTO;
	a->reg_us[a->n] = (double)r.reg_ns / 1000.0;
	a->n++;
	return r.ok ? 0 : -ENOTCONN;
}

/* Ends every app in order (fg_close, exit 0) and reaps them. */
static inline void bench_apps_end(struct bench_apps *a)
{
	long i;

	close(a->ctl[1]);
	for (i = 0; i < a->n; i++)
		waitpid(a->pids[i], NULL, 0);
	close(a->ctl[0]);
	close(a->ready[0]);
	close(a->ready[1]);
	free(a->pids);
	free(a->reg_us);
	memset(a, 0, sizeof(*a));
}

/* Raises RLIMIT_NOFILE to its hard limit: thousands of apps mean thousands of fds. */
static inline void bench_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

#endif
