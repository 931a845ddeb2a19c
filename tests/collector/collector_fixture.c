// SPDX-License-Identifier: LGPL-2.1-or-later
/* The collector tests' harness: see collector_fixture.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collector_fixture.h"
#include "common/proto.h"
#include "digest/sha256.h"
#include "framework/test.h"

/* --- files, time, processes -------------------------------------------------- */

long long fx_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void fx_nap(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

bool fx_path(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len) {
		test_fail(__FILE__, __LINE__, "path too long: %s", buf);
		return false;
	}
	return true;
}

/* All that @fd gives until EOF, malloc'd and NUL-terminated; NULL without memory. */
static char *read_all(int fd, size_t *len_out)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);
	ssize_t n;

	if (!buf)
		return NULL;
	for (;;) {
		if (len == cap) {
			char *nb = realloc(buf, cap * 2 + 1);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

char *fx_read_file(const char *path, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *text;

	if (fd < 0)
		return NULL;
	text = read_all(fd, len);
	close(fd);
	return text;
}

int fx_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	int err = 0;

	if (!f)
		return -errno;
	if (fputs(text, f) < 0)
		err = -EIO;
	if (fclose(f) && !err)
		err = -errno;
	return err;
}

bool fx_wait_file(const char *path, bool exists, int timeout_ms)
{
	long long deadline = fx_now_ms() + timeout_ms;

	while ((access(path, F_OK) == 0) != exists) {
		if (fx_now_ms() > deadline)
			return false;
		fx_nap(20);
	}
	return true;
}

int fx_become(uid_t uid, gid_t gid, int ngroups, const gid_t *groups)
{
	if (!ngroups) {
		groups = &gid;
		ngroups = 1;
	}
	if (setgroups((size_t)ngroups, groups) < 0 || setresgid(gid, gid, gid) < 0 ||
	    setresuid(uid, uid, uid) < 0)
		return -errno;
	return 0;
}

char fx_proc_state(pid_t pid)
{
	char path[64], buf[512], *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The comm may hold anything, ')' too: the state follows the last one. */
	p = strrchr(buf, ')');
	return p && p[1] == ' ' ? p[2] : 0;
}

long long fx_proc_status(pid_t pid, pid_t tid, const char *field)
{
	char path[64], key[64], *text, *p;
	long long v = -1;

	if (tid)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	snprintf(key, sizeof(key), "\n%s:", field);
	text = fx_read_file(path, NULL);
	p = text ? strstr(text, key) : NULL;
	if (p)
		v = strtoll(p + strlen(key), NULL, 10);
	free(text);
	return v;
}

int fx_fd_count(pid_t pid, bool show)
{
	char dir[64], path[384], target[256];
	struct dirent *d;
	DIR *dp;
	int n = 0;

	snprintf(dir, sizeof(dir), "/proc/%d/fd", (int)pid);
	dp = opendir(dir);
	if (!dp)
		return -errno;
	while ((d = readdir(dp))) {
		ssize_t len;

		if (d->d_name[0] == '.')
			continue;
		n++;
		if (!show)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		fprintf(stderr, "    fd %s -> %s\n", d->d_name, target);
	}
	closedir(dp);
	return n;
}

int fx_connect(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	if (s < 0)
		return -errno;
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path);
	if (connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = -errno;

		close(s);
		return err;
	}
	return s;
}

/* Waits for our child @pid to end: true once reaped (its wait status in *status). */
static bool reap(pid_t pid, int *status, int timeout_ms)
{
	long long deadline = fx_now_ms() + timeout_ms;

	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG);

		if (got == pid)
			return true;
		if (got < 0 || fx_now_ms() >= deadline)
			return false;
		fx_nap(5);
	}
}

static void dump_log(struct fx *fx)
{
	char *log = fx_read_file(fx->log, NULL);

	if (log && *log)
		fprintf(stderr, "  --- faultguardd stderr ---\n%s  ---\n", log);
	free(log);
}

/* --- the collector ----------------------------------------------------------- */

bool fx_can_run(void)
{
	char exe[PATH_MAX];
	struct stat st;

	if (geteuid() != 0) {
		test_skip("the collector tests need root (faultguardd loads BPF programs and "
			  "runs rescues as other users)");
		return false;
	}
	if (stat("/sys/kernel/btf/vmlinux", &st) < 0) {
		test_skip("the kernel has no BTF (/sys/kernel/btf/vmlinux): faultguardd cannot "
			  "load its BPF programs here");
		return false;
	}
	if (!fx_path(exe, sizeof(exe), "%s/faultguardd", test_build_dir()))
		return false;
	if (access(exe, X_OK) < 0) {
		test_fail(__FILE__, __LINE__, "%s is not built (make tests)", exe);
		return false;
	}
	return true;
}

bool fx_begin(struct fx *fx, int rescue_timeout, const char *const *env)
{
	memset(fx, 0, sizeof(*fx));
	if (!fx_can_run() || !fx_init(fx))
		return false;
	fx->rescue_timeout = rescue_timeout;
	fx->env = env;
	return fx_start(fx);
}

bool fx_init(struct fx *fx)
{
	const char *dir = test_tmpdir();

	memset(fx, 0, sizeof(*fx));
	snprintf(fx->dir, sizeof(fx->dir), "%s", dir);
	snprintf(fx->build, sizeof(fx->build), "%s", test_build_dir());
	if (!fx_path(fx->sock, sizeof(fx->sock) - 16, "%s/fg.sock", dir) ||
	    !fx_path(fx->state, sizeof(fx->state), "%s/state", dir) ||
	    !fx_path(fx->audit, sizeof(fx->audit), "%s/state/audit.jsonl", dir) ||
	    !fx_path(fx->conf, sizeof(fx->conf), "%s/faultguardd.conf", dir) ||
	    !fx_path(fx->out, sizeof(fx->out), "%s/out", dir) ||
	    !fx_path(fx->log, sizeof(fx->log), "%s/faultguardd.log", dir))
		return false;
	/* Rescues run as the app's user: any of them must be able to report here. */
	if (!ASSERT_OK(mkdir(fx->out, 0755) ? -errno : 0, "mkdir out") ||
	    !ASSERT_OK(chmod(fx->out, 01777) ? -errno : 0, "chmod out"))
		return false;
	return true;
}

static void exec_collector(struct fx *fx)
{
	char exe[PATH_MAX], timeout[16];
	const char *argv[48];
	int argc = 0, fd, i;

	if (fx->collector)
		snprintf(exe, sizeof(exe), "%s", fx->collector);
	else
		fx_path(exe, sizeof(exe), "%s/faultguardd", fx->build);
	snprintf(timeout, sizeof(timeout), "%d", fx->rescue_timeout);
	for (i = 0; fx->wrapper && fx->wrapper[i] && i < 32; i++)
		argv[argc++] = fx->wrapper[i];
	argv[argc++] = exe;
	if (fx->relative_paths) {
		/* The audit log is then the default one, STATE/audit.jsonl: fx->audit. */
		if (chdir(fx->dir) < 0)
			_exit(126);
		argv[argc++] = "--socket";
		argv[argc++] = "fg.sock";
		argv[argc++] = "--state-dir";
		argv[argc++] = "state";
	} else if (!fx->paths_in_config) {
		argv[argc++] = "--socket";
		argv[argc++] = fx->sock;
		argv[argc++] = "--state-dir";
		argv[argc++] = fx->state;
		argv[argc++] = "--audit-log";
		argv[argc++] = fx->audit;
	}
	argv[argc++] = "--verbose";
	if (fx->config) {
		argv[argc++] = "--config";
		argv[argc++] = fx->conf;
	}
	if (fx->rescue_timeout) {
		argv[argc++] = "--rescue-timeout";
		argv[argc++] = timeout;
	}
	argv[argc] = NULL;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	dup2(fd, 0);
	fd = open(fx->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	dup2(fd, 1);
	dup2(fd, 2);
	/* Whatever the collector has in its environment must stay out of rescues. */
	setenv(FX_CANARY_NAME, FX_CANARY_VALUE, 1);
	setenv("FAULTGUARD_SOCKET", "/leaked/from/the/collector", 1);
	setenv("LD_LIBRARY_PATH", "/leaked/from/the/collector", 1);
	for (i = 0; fx->env && fx->env[i]; i++)
		putenv(strdup(fx->env[i]));
	/* Nothing of the test's may outlive it. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	execvp(argv[0], (char **)argv);
	fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

bool fx_start(struct fx *fx)
{
	long long deadline = fx_now_ms() + FX_START_MS;
	struct stat st;
	pid_t pid;

	if (fx->config && !ASSERT_OK(fx_write_file(fx->conf, fx->config), "write the config file"))
		return false;
	/* A socket left by a collector that was killed is no sign of this one. */
	unlink(fx->sock);
	fflush(NULL);
	pid = fork();
	if (!ASSERT_GE(pid, 0, "fork the collector"))
		return false;
	if (pid == 0)
		exec_collector(fx);
	fx->pid = pid;
	fx->starts++;
	/* The socket appears once the BPF programs are attached: that is "ready". */
	while (fx_now_ms() < deadline) {
		if (stat(fx->sock, &st) == 0 && S_ISSOCK(st.st_mode)) {
			fx->starts_ok++;
			return true;
		}
		if (!fx_alive(fx)) {
			char *log = fx_read_file(fx->log, NULL);

			/* A kernel or sandbox without BPF for us: the tests cannot run here. */
			if (log && strstr(log, "BPF") && !fx->starts_ok)
				test_skip("faultguardd cannot use BPF here: %s", log);
			else
				test_fail(__FILE__, __LINE__,
					  "faultguardd exited before its socket appeared");
			free(log);
			dump_log(fx);
			return false;
		}
		fx_nap(10);
	}
	test_fail(__FILE__, __LINE__, "faultguardd's socket %s did not appear within %d ms",
		  fx->sock, FX_START_MS);
	dump_log(fx);
	return false;
}

bool fx_alive(struct fx *fx)
{
	int status;

	if (fx->pid <= 0)
		return false;
	if (waitpid(fx->pid, &status, WNOHANG) != fx->pid)
		return true;
	fprintf(stderr, "  faultguardd ended: %s %d (its stderr: %s)\n",
		WIFSIGNALED(status) ? "signal" : "exit status",
		WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), fx->log);
	fx->pid = 0;
	return false;
}

/* Whether @pid's main thread is blocked in an epoll wait (/proc/PID/syscall). */
static bool in_epoll_wait(pid_t pid)
{
	char path[64], buf[64];
	ssize_t n;
	long nr;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/syscall", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	/* A number only while blocked in that call; "running" otherwise. */
	if (n <= 0 || buf[0] < '0' || buf[0] > '9')
		return false;
	buf[n] = '\0';
	nr = strtol(buf, NULL, 10);
#ifdef SYS_epoll_wait
	if (nr == SYS_epoll_wait)
		return true;
#endif
#ifdef SYS_epoll_pwait2
	if (nr == SYS_epoll_pwait2)
		return true;
#endif
	return nr == SYS_epoll_pwait;
}

bool fx_idle(struct fx *fx, int timeout_ms)
{
	long long deadline = fx_now_ms() + timeout_ms;

	/*
	 * Work due at start (the first retention pass) runs right after the
	 * socket appears; asleep in its wait, the loop has nothing under way.
	 */
	while (!in_epoll_wait(fx->pid)) {
		if (fx_now_ms() >= deadline || !fx_alive(fx))
			return false;
		fx_nap(1);
	}
	fx->fds = fx_fd_count(fx->pid, false);
	return true;
}

int fx_signal(struct fx *fx, int sig)
{
	if (fx->pid <= 0)
		return -ESRCH;
	return kill(fx->pid, sig) < 0 ? -errno : 0;
}

bool fx_freeze(struct fx *fx)
{
	long long deadline = fx_now_ms() + FX_START_MS;

	fx_signal(fx, SIGSTOP);
	while (fx_now_ms() < deadline) {
		if (fx_proc_state(fx->pid) == 'T')
			return true;
		fx_nap(10);
	}
	return ASSERT_TRUE(false, "the collector stops on SIGSTOP");
}

int fx_terminate(struct fx *fx, int timeout_ms)
{
	int status = 0;

	if (fx->pid <= 0)
		return 0;
	kill(fx->pid, SIGTERM);
	if (!reap(fx->pid, &status, timeout_ms)) {
		test_fail(__FILE__, __LINE__, "faultguardd did not exit within %d ms of SIGTERM",
			  timeout_ms);
		fx_kill(fx);
		dump_log(fx);
		return -1;
	}
	fx->pid = 0;
	return status;
}

void fx_kill(struct fx *fx)
{
	if (fx->pid <= 0)
		return;
	kill(fx->pid, SIGKILL);
	waitpid(fx->pid, NULL, 0);
	fx->pid = 0;
}

bool fx_ts_ok(const char *ts)
{
	static const char pat[] = "dddd-dd-ddTdd:dd:dd.dddZ";
	size_t i;

	if (!ts || strlen(ts) != sizeof(pat) - 1)
		return false;
	for (i = 0; pat[i]; i++)
		if (pat[i] == 'd' ? (ts[i] < '0' || ts[i] > '9') : ts[i] != pat[i])
			return false;
	return true;
}

/* Every record has a ts and an event; the log starts and ends with start/stop. */
static bool check_log_shape(struct fx *fx)
{
	json_object *all = fx_records(fx, NULL), *first, *last;
	size_t i, n;
	bool ok = true;

	if (!ASSERT_NOT_NULL(all, "audit log"))
		return false;
	n = json_object_array_length(all);
	for (i = 0; i < n && ok; i++) {
		json_object *rec = json_object_array_get_idx(all, i);

		ok = ASSERT_TRUE(fx_ts_ok(jstr(rec, "ts")), "ts is RFC 3339 UTC with milliseconds") &&
		     ASSERT_NOT_NULL(jstr(rec, "event"), "every record has an event");
		if (!ok)
			fprintf(stderr, "  record %zu: %s\n", i, json_object_to_json_string(rec));
	}
	if (ok && ASSERT_GE(n, 2, "start and stop records")) {
		first = json_object_array_get_idx(all, 0);
		last = json_object_array_get_idx(all, n - 1);
		ok = CHECK_STR(first, "event", "start") && CHECK_STR(first, "socket", fx->sock) &&
		     CHECK_STR(first, "state_dir", fx->state) &&
		     ASSERT_NOT_NULL(jstr(first, "version"), "start has a version") &&
		     CHECK_STR(last, "event", "stop");
	} else {
		ok = false;
	}
	json_object_put(all);
	return ok;
}

bool fx_stop(struct fx *fx)
{
	int status;

	if (!ASSERT_NEQ(fx->pid, 0, "a collector to stop"))
		return false;
	status = fx_terminate(fx, FX_START_MS);
	if (status < 0)
		return false;
	if (!ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			 "faultguardd exits 0 after SIGTERM")) {
		fprintf(stderr, "  wait status 0x%x\n", status);
		dump_log(fx);
		return false;
	}
	if (!ASSERT_TRUE(access(fx->sock, F_OK) < 0 && errno == ENOENT,
			 "the socket is removed at shutdown"))
		return false;
	return check_log_shape(fx);
}

static void app_end(struct fx_app *a);

bool fx_pin_dir(const struct fx *fx, char *buf, size_t len)
{
	char hex[SHA256_HEX_LEN];

	return !sha256_hex(fx->state, strlen(fx->state), hex) &&
	       fx_path(buf, len, "/sys/fs/bpf/faultguard/%.16s", hex);
}

void fx_forget_pins(struct fx *fx)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	if (!fx_pin_dir(fx, dir, sizeof(dir)) || !(d = opendir(dir)))
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.' && fx_path(path, sizeof(path), "%s/%s", dir, de->d_name))
			unlink(path);
	closedir(d);
	rmdir(dir);
}

void fx_cleanup(struct fx *fx)
{
	while (fx->napps > 0)
		app_end(fx->apps[0]);
	fx_kill(fx);
	/* A collector killed with apps registered leaves its programs watching: not past the test. */
	fx_forget_pins(fx);
}

/* --- apps ---------------------------------------------------------------------- */

/* Closes the app's pipes and takes it off the list fx_cleanup ends. */
static void app_forget(struct fx_app *a)
{
	struct fx *fx = a->fx;
	int i;

	if (a->in >= 0)
		close(a->in);
	if (a->out >= 0)
		close(a->out);
	a->in = a->out = -1;
	for (i = 0; fx && i < fx->napps; i++) {
		if (fx->apps[i] == a) {
			fx->apps[i] = fx->apps[--fx->napps];
			break;
		}
	}
}

/* SIGKILL unless it was reaped, then forgotten. */
static void app_end(struct fx_app *a)
{
	if (a->pid > 0 && !a->reaped) {
		kill(a->pid, SIGKILL);
		waitpid(a->pid, &a->status, 0);
		a->reaped = 1;
	}
	app_forget(a);
}

static void exec_app(struct fx *fx, const struct fx_app_spec *s, const char *app, int in, int out)
{
	static const char *const progs[] = {
		[FX_COL_APP] = "col_app", [FX_OPS_APP] = "ops_app", [FX_TWO_DICTS] = "col_two_dicts",
		[FX_BT_APP] = "bt_app",
	};
	struct rlimit no_core = { 0, 0 };
	char exe[PATH_MAX], procs[PATH_MAX], pid[16];
	const char *argv[16 + 256 + 1]; /* the helper's own, then up to 256 rescue arguments */
	char fill[16], capacity[16];
	int argc = 0, fd, i;

	if (s->program)
		fx_path(exe, sizeof(exe), "%s", s->program);
	else
		fx_path(exe, sizeof(exe), "%s/tests/helpers/%s", fx->build, progs[s->helper]);
	argv[argc++] = exe;
	if (s->helper == FX_COL_APP) {
		argv[argc++] = "--app";
		argv[argc++] = app;
		if (s->signal_only)
			argv[argc++] = "--signal-only";
		if (s->fill_mib) {
			snprintf(fill, sizeof(fill), "%u", s->fill_mib);
			argv[argc++] = "--fill";
			argv[argc++] = fill;
		}
		if (s->capacity_mib) {
			snprintf(capacity, sizeof(capacity), "%u", s->capacity_mib);
			argv[argc++] = "--capacity";
			argv[argc++] = capacity;
		}
		if (s->scribbler)
			argv[argc++] = "--scribbler";
		argv[argc++] = s->mode;
		if (s->rescue_argv)
			argv[argc++] = "--";
	} else if (s->helper == FX_OPS_APP || s->helper == FX_BT_APP) {
		argv[argc++] = app;
		argv[argc++] = s->mode;
	}
	for (i = 0; s->helper != FX_TWO_DICTS && s->rescue_argv && s->rescue_argv[i]; i++) {
		if (argc == (int)(sizeof(argv) / sizeof(argv[0])) - 1) {
			fprintf(stderr, "%s: more rescue arguments than the harness passes\n",
				progs[s->helper]);
			_exit(126);
		}
		argv[argc++] = s->rescue_argv[i];
	}
	argv[argc] = NULL;
	dup2(in, 0);
	dup2(out, 1);
	if (s->cgroup) {
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", s->cgroup);
		snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		fd = open(procs, O_WRONLY);
		if (fd < 0 || write(fd, pid, strlen(pid)) < 0) {
			fprintf(stderr, "%s: cannot join %s: %s\n", progs[s->helper], procs,
				strerror(errno));
			_exit(126);
		}
		close(fd);
	}
	if (s->core_dir) {
		struct rlimit core = { RLIM_INFINITY, RLIM_INFINITY };

		if (chdir(s->core_dir) < 0 || setrlimit(RLIMIT_CORE, &core) < 0)
			_exit(126);
	} else {
		/* No core file in the tree the tests run from. */
		setrlimit(RLIMIT_CORE, &no_core);
	}
	if (fx_become(s->uid, s->gid, s->ngroups, s->groups)) {
		fprintf(stderr, "%s: cannot become %u:%u: %s\n", progs[s->helper], s->uid, s->gid,
			strerror(errno));
		_exit(126);
	}
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	setenv("FAULTGUARD_SOCKET", fx->sock, 1);
	unsetenv("FAULTGUARD_FD");
	execv(exe, (char **)argv);
	fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
	_exit(127);
}

bool fx_app_start(struct fx *fx, struct fx_app *a, const struct fx_app_spec *spec)
{
	int in[2], out[2];
	char line[128];
	int pid = 0;

	memset(a, 0, sizeof(*a));
	a->in = a->out = -1;
	a->spec = *spec;
	a->fx = fx;
	snprintf(a->app, sizeof(a->app), "%s", spec->app ? spec->app : "col_app");
	snprintf(a->mode, sizeof(a->mode), "%s", spec->mode ? spec->mode : "");
	if (!ASSERT_TRUE(fx->napps < FX_MAX_APPS, "room for another app"))
		return false;
	if (!ASSERT_OK(pipe2(in, O_CLOEXEC) ? -errno : 0, "pipe"))
		return false;
	if (!ASSERT_OK(pipe2(out, O_CLOEXEC) ? -errno : 0, "pipe")) {
		close(in[0]);
		close(in[1]);
		return false;
	}
	fflush(NULL);
	a->pid = fork();
	if (a->pid == 0)
		exec_app(fx, spec, a->app, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	a->in = in[1];
	a->out = out[0];
	if (!ASSERT_GE(a->pid, 0, "fork an app")) {
		app_forget(a);
		return false;
	}
	fx->apps[fx->napps++] = a;
	if (!fx_app_read_line(a, line, sizeof(line), FX_START_MS) ||
	    !ASSERT_EQ(sscanf(line, "ready %d", &pid), 1, "the app says it is ready")) {
		app_end(a);
		fprintf(stderr, "  app %s (%s) never became ready (line \"%s\", status 0x%x)\n",
			a->app, a->mode, line, a->status);
		return false;
	}
	if (!ASSERT_EQ(pid, a->pid, "the ready line names the app's pid")) {
		app_end(a);
		return false;
	}
	return true;
}

bool fx_app_send(struct fx_app *a, const char *line)
{
	size_t len = strlen(line);
	char buf[256];

	if (!ASSERT_TRUE(len + 1 < sizeof(buf), "command fits"))
		return false;
	memcpy(buf, line, len);
	buf[len] = '\n';
	return ASSERT_EQ(write(a->in, buf, len + 1), (long long)(len + 1), "write to the app");
}

int fx_fd_read_line(int fd, char *buf, size_t cap, size_t *used, char *line, size_t len,
		    int timeout_ms)
{
	long long deadline = fx_now_ms() + timeout_ms;

	line[0] = '\0';
	for (;;) {
		char *nl = memchr(buf, '\n', *used);
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - buf);

			snprintf(line, len, "%.*s", (int)l, buf);
			memmove(buf, nl + 1, *used - l - 1);
			*used -= l + 1;
			return 1;
		}
		left = deadline - fx_now_ms();
		if (left <= 0 || *used == cap)
			return 0;
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(fd, buf + *used, cap - *used);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		*used += (size_t)n;
	}
}

bool fx_app_read_line(struct fx_app *a, char *line, size_t len, int timeout_ms)
{
	int r = fx_fd_read_line(a->out, a->buf, sizeof(a->buf), &a->len, line, len, timeout_ms);

	if (r == 0)
		test_fail(__FILE__, __LINE__, "no line from app %s (pid %d) within %d ms", a->app,
			  (int)a->pid, timeout_ms);
	else if (r < 0)
		test_fail(__FILE__, __LINE__, "app %s (pid %d) closed its stdout", a->app,
			  (int)a->pid);
	return r > 0;
}

bool fx_app_wait(struct fx_app *a, int timeout_ms)
{
	if (a->reaped)
		return true;
	if (reap(a->pid, &a->status, timeout_ms)) {
		a->reaped = 1;
		app_forget(a);
		return true;
	}
	test_fail(__FILE__, __LINE__, "app %s (pid %d) did not end within %d ms", a->app,
		  (int)a->pid, timeout_ms);
	app_end(a);
	return false;
}

bool fx_app_alive(const struct fx_app *a)
{
	return !a->reaped && kill(a->pid, 0) == 0;
}

/* --- rescue commands --------------------------------------------------------- */

void fx_rescue_init(struct fx *fx, struct fx_rescue *r, const char *tag, ...)
{
	const char *arg;
	va_list ap;

	memset(r, 0, sizeof(*r));
	fx_path(r->bin, sizeof(r->bin), "%s/tests/helpers/col_rescue", fx->build);
	fx_path(r->report, sizeof(r->report), "%s/%s.json", fx->out, tag);
	r->argv[r->argc++] = r->bin;
	r->argv[r->argc++] = r->report;
	va_start(ap, tag);
	while ((arg = va_arg(ap, const char *)) && r->argc < 15)
		r->argv[r->argc++] = arg;
	va_end(ap);
	r->argv[r->argc] = NULL;
}

json_object *fx_rescue_report(struct fx_rescue *r, int timeout_ms)
{
	json_object *o;
	char *text = NULL;

	if (!fx_wait_file(r->report, true, timeout_ms) || !(text = fx_read_file(r->report, NULL))) {
		test_fail(__FILE__, __LINE__, "the rescue command wrote no report %s", r->report);
		return NULL;
	}
	o = json_tokener_parse(text);
	free(text);
	if (!o)
		test_fail(__FILE__, __LINE__, "the rescue report %s is not JSON", r->report);
	return o;
}

/* --- the audit log ----------------------------------------------------------- */

json_object *fx_records_in(const char *path, const char *event)
{
	json_object *all = json_object_new_array();
	char *text = fx_read_file(path, NULL), *line, *save = NULL;
	size_t len;

	if (!text)
		return all;
	len = strlen(text);
	if (len && text[len - 1] != '\n') {
		/* A line being written right now; the next poll sees it whole. */
		char *nl = strrchr(text, '\n');

		*(nl ? nl : text) = '\0';
	}
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_object *rec = json_tokener_parse(line);
		const char *ev = jstr(rec, "event");

		if (!rec || !json_object_is_type(rec, json_type_object)) {
			test_fail(__FILE__, __LINE__, "an audit line is not a JSON object: %s", line);
			json_object_put(rec);
			continue;
		}
		if (event && (!ev || strcmp(ev, event))) {
			json_object_put(rec);
			continue;
		}
		json_object_array_add(all, rec);
	}
	free(text);
	return all;
}

json_object *fx_records(struct fx *fx, const char *event)
{
	return fx_records_in(fx->audit, event);
}

/* About @pid (-1: any), and with the string @key equal to @value (@key NULL: any). */
static bool about(json_object *rec, long pid, const char *key, const char *value)
{
	long long p;

	if (pid >= 0 && (!jint(rec, "pid", &p) || p != pid))
		return false;
	return !key || (jstr(rec, key) && !strcmp(jstr(rec, key), value));
}

static json_object *find(struct fx *fx, const char *event, long pid, const char *key,
			 const char *value, int nth)
{
	json_object *all = fx_records(fx, event), *hit = NULL;
	size_t i, n = json_object_array_length(all);

	for (i = 0; i < n && !hit; i++) {
		json_object *rec = json_object_array_get_idx(all, i);

		if (about(rec, pid, key, value) && nth-- == 0)
			hit = json_object_get(rec);
	}
	json_object_put(all);
	return hit;
}

json_object *fx_find(struct fx *fx, const char *event, long pid, int nth)
{
	return find(fx, event, pid, NULL, NULL, nth);
}

json_object *fx_find_id(struct fx *fx, const char *event, const char *id)
{
	return find(fx, event, -1, "id", id, 0);
}

int fx_count(struct fx *fx, const char *event, long pid)
{
	json_object *all = fx_records(fx, event);
	size_t i, n = json_object_array_length(all);
	int count = 0;

	for (i = 0; i < n; i++)
		count += about(json_object_array_get_idx(all, i), pid, NULL, NULL);
	json_object_put(all);
	return count;
}

static json_object *wait_for(struct fx *fx, const char *event, long pid, const char *key,
			     const char *value, int nth, int timeout_ms)
{
	long long deadline = fx_now_ms() + timeout_ms;
	json_object *o;

	for (;;) {
		o = find(fx, event, pid, key, value, nth);
		if (o || fx_now_ms() >= deadline)
			break;
		fx_nap(10);
	}
	if (!o) {
		test_fail(__FILE__, __LINE__, "no \"%s\" record #%d for pid %ld%s%s%s%s within %d ms",
			  event, nth, pid, key ? " with " : "", key ? key : "", key ? " " : "",
			  key ? value : "", timeout_ms);
		dump_log(fx);
	}
	return o;
}

json_object *fx_wait(struct fx *fx, const char *event, long pid, int nth, int timeout_ms)
{
	return wait_for(fx, event, pid, NULL, NULL, nth, timeout_ms);
}

json_object *fx_wait_id(struct fx *fx, const char *event, const char *id, int timeout_ms)
{
	return wait_for(fx, event, -1, "id", id, 0, timeout_ms);
}

json_object *fx_wait_with(struct fx *fx, const char *event, const char *key, const char *value,
			  int nth, int timeout_ms)
{
	return wait_for(fx, event, -1, key, value, nth, timeout_ms);
}

bool fx_barrier(struct fx *fx)
{
	struct fx_app_spec spec = { .app = "barrier", .mode = "exit0" };
	struct fx_app b;
	json_object *rec;
	bool ok;

	/* Once it has ended it is off the fixture's list: it may live on the stack. */
	if (!fx_app_start(fx, &b, &spec) || !fx_app_wait(&b, FX_WAIT_MS))
		return false;
	rec = fx_wait(fx, "unregister", b.pid, 0, FX_WAIT_MS);
	ok = rec && CHECK_STR(rec, "reason", "exit");
	json_object_put(rec);
	return ok;
}

/* --- commands ------------------------------------------------------------------ */

/*
 * Runs @argv as @uid:@gid (0: as we are) with its stdout, and its stderr
 * too unless @err (>= 0) takes it, read into *out (malloc'd); with
 * $FAULTGUARD_SOCKET=@sock unless NULL. The wait status, or -errno.
 */
static int run_capture(const char *const *argv, uid_t uid, gid_t gid, const char *sock, int err,
		       char **out)
{
	int p[2], status = 0;
	pid_t pid;

	*out = NULL;
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		dup2(err >= 0 ? err : p[1], STDERR_FILENO);
		if (sock)
			setenv("FAULTGUARD_SOCKET", sock, 1);
		if (uid && fx_become(uid, gid, 0, NULL))
			_exit(126);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		int e = -errno;

		close(p[0]);
		return e;
	}
	*out = read_all(p[0], NULL);
	close(p[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

int fx_run(const struct fx *fx, const char *const *argv, char *out, size_t cap)
{
	char *text = NULL;
	int status = run_capture(argv, 0, 0, fx ? fx->sock : NULL, -1, &text);

	if (out && cap)
		snprintf(out, cap, "%s", text ? text : "");
	free(text);
	return status;
}

int fx_run_built(const struct fx *fx, const char *prog, const char *const *args, char *out,
		 size_t cap)
{
	const char *argv[32];
	char bin[PATH_MAX + 32];
	int n = 0;

	snprintf(bin, sizeof(bin), "%s/%s", fx->build, prog);
	argv[n++] = bin;
	while (args && *args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	return fx_run(fx, argv, out, cap);
}

static int ctl_run(struct fx *fx, uid_t uid, gid_t gid, char **out, va_list ap)
{
	char exe[PATH_MAX], errpath[PATH_MAX], *err;
	const char *argv[32];
	int argc = 0, status, efd;
	const char *arg;

	*out = NULL;
	fx->ctl_err[0] = '\0';
	if (!fx_path(exe, sizeof(exe), "%s/faultguardctl", fx->build) ||
	    !fx_path(errpath, sizeof(errpath), "%s/ctl.stderr", fx->dir))
		return -1;
	argv[argc++] = exe;
	while ((arg = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = arg;
	argv[argc] = NULL;
	efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (efd < 0)
		return -1;
	status = run_capture(argv, uid, gid, NULL, efd, out);
	close(efd);
	if (status < 0)
		return -1;
	err = fx_read_file(errpath, NULL);
	snprintf(fx->ctl_err, sizeof(fx->ctl_err), "%s", err ? err : "");
	free(err);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int fx_ctl(struct fx *fx, char **out, ...)
{
	va_list ap;
	int rc;

	va_start(ap, out);
	rc = ctl_run(fx, 0, 0, out, ap);
	va_end(ap);
	return rc;
}

int fx_ctl_as(struct fx *fx, uid_t uid, gid_t gid, char **out, ...)
{
	va_list ap;
	int rc;

	va_start(ap, out);
	rc = ctl_run(fx, uid, gid, out, ap);
	va_end(ap);
	return rc;
}

/*
 * In a child that has become the asking user: the answer's TEXT packets on
 * @out as they come. They form a stream of lines; a long line spans packets.
 */
static int query_child(struct fx *fx, const char *query, int out)
{
	static uint8_t buf[PROTO_MAX_MSG];
	int s, len;

	s = fx_connect(fx->sock);
	if (s < 0)
		return 1;
	len = proto_encode_text(buf, sizeof(buf), PROTO_QUERY, query, strlen(query));
	if (len < 0 || send(s, buf, (size_t)len, MSG_NOSIGNAL) != len)
		return 1;
	for (;;) {
		struct pollfd p = { .fd = s, .events = POLLIN };
		struct proto_msg m;
		ssize_t n;

		if (poll(&p, 1, FX_WAIT_MS) <= 0)
			return 3;
		n = recv(s, buf, sizeof(buf), 0);
		if (n <= 0 || proto_decode(buf, (size_t)n, &m, NULL))
			return 1;
		if (m.type == PROTO_END)
			return 0;
		if (m.type == PROTO_ACK)
			return 2;
		if (m.type == PROTO_TEXT && m.text && write(out, m.text, strlen(m.text)) < 0)
			return 1;
		proto_msg_free(&m);
	}
}

json_object *fx_query_as(struct fx *fx, uid_t uid, gid_t gid, const char *query)
{
	char path[PATH_MAX], *text, *line, *save = NULL;
	json_object *arr;
	int fd, status;
	pid_t pid;

	if (!fx_path(path, sizeof(path), "%s/query.out", fx->dir))
		return NULL;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (!ASSERT_GE(fd, 0, "query output file"))
		return NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (uid && fx_become(uid, gid, 0, NULL))
			_exit(126);
		_exit(query_child(fx, query, fd));
	}
	close(fd);
	if (!ASSERT_GE(pid, 0, "fork the query") ||
	    !ASSERT_EQ(waitpid(pid, &status, 0), pid, "wait for the query") ||
	    !ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the collector answered")) {
		fprintf(stderr, "  query \"%s\" as uid %u: status 0x%x\n", query, uid, status);
		return NULL;
	}
	text = fx_read_file(path, NULL);
	arr = json_object_new_array();
	for (line = strtok_r(text ? text : (char[]){ 0 }, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_object *o = json_tokener_parse(line);

		if (!ASSERT_NOT_NULL(o, "an answer line is JSON")) {
			json_object_put(arr);
			arr = NULL;
			break;
		}
		json_object_array_add(arr, o);
	}
	free(text);
	return arr;
}

/* --- JSON fields ---------------------------------------------------------------- */

const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

bool jint(json_object *o, const char *key, long long *val)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	*val = json_object_get_int64(v);
	return true;
}

bool jms(json_object *o, const char *key, double *val)
{
	const char *text, *dot;
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_double))
		return false;
	/* SPEC §8.6: milliseconds with three decimals, as written. */
	text = json_object_get_string(v);
	dot = text ? strchr(text, '.') : NULL;
	if (!dot || strlen(dot + 1) != 3 || strspn(dot + 1, "0123456789") != 3)
		return false;
	*val = json_object_get_double(v);
	return true;
}

long long jint_or(json_object *o, const char *key, long long dflt)
{
	long long v;

	return jint(o, key, &v) ? v : dflt;
}

bool jis_null(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v == NULL;
}

static const char *shown(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return "(absent)";
	return v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN) : "null";
}

bool fx_check_str(const char *file, int line, json_object *o, const char *key, const char *want)
{
	const char *got = jstr(o, key);

	if (got && !strcmp(got, want))
		return true;
	test_fail(file, line, "%s: %s, expected \"%s\" (in %s %s)", key, shown(o, key), want,
		  jstr(o, "event") ? jstr(o, "event") : "object",
		  json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	return false;
}

bool fx_check_int(const char *file, int line, json_object *o, const char *key, long long want)
{
	long long got;

	if (jint(o, key, &got) && got == want)
		return true;
	test_fail(file, line, "%s: %s, expected %lld (in %s %s)", key, shown(o, key), want,
		  jstr(o, "event") ? jstr(o, "event") : "object",
		  json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	return false;
}

bool fx_check_null(const char *file, int line, json_object *o, const char *key)
{
	if (jis_null(o, key))
		return true;
	test_fail(file, line, "%s: %s, expected null (in %s %s)", key, shown(o, key),
		  jstr(o, "event") ? jstr(o, "event") : "object",
		  json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	return false;
}

/* --- memory cgroups -------------------------------------------------------------- */

bool fx_memcg_create(char *path, size_t len, unsigned long long limit)
{
	char file[PATH_MAX], val[32];
	const char *root = "/sys/fs/cgroup/memory";

	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) < 0) {
		test_skip("no cgroup v1 memory controller at %s", root);
		return false;
	}
	if (!fx_path(path, len, "%s/fgtest-%d", root, (int)getpid()))
		return false;
	if (!ASSERT_OK(mkdir(path, 0755) ? -errno : 0, "mkdir the memory cgroup"))
		return false;
	snprintf(val, sizeof(val), "%llu", limit);
	fx_path(file, sizeof(file), "%s/memory.limit_in_bytes", path);
	if (!ASSERT_OK(fx_write_file(file, val), "memory.limit_in_bytes"))
		return false;
	/* No swap to escape into: the limit must end in the OOM killer. */
	fx_path(file, sizeof(file), "%s/memory.memsw.limit_in_bytes", path);
	if (access(file, F_OK) == 0 && !ASSERT_OK(fx_write_file(file, val), "memsw limit"))
		return false;
	fx_path(file, sizeof(file), "%s/memory.swappiness", path);
	if (access(file, F_OK) == 0)
		fx_write_file(file, "0");
	fx_path(file, sizeof(file), "%s/memory.oom_control", path);
	if (access(file, F_OK) == 0)
		fx_write_file(file, "0");
	return true;
}

void fx_memcg_remove(const char *path)
{
	long long deadline = fx_now_ms() + FX_WAIT_MS;

	if (!path[0])
		return;
	/* The cgroup empties once its dead tasks are reaped. */
	while (rmdir(path) < 0 && errno == EBUSY && fx_now_ms() < deadline)
		fx_nap(20);
}
