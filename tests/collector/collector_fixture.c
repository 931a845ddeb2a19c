// SPDX-License-Identifier: LGPL-2.1-or-later
/* The collector tests' fixture: see collector_fixture.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collector_fixture.h"
#include "common/crash_id.h"
#include "common/proto.h"
#include "faultguard.h"
#include "framework/test.h"
#include "helpers/app_data.h"

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void nap(int ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static bool path_fmt(char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static bool path_fmt(char *buf, size_t len, const char *fmt, ...)
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

static char *read_file(const char *path, size_t *len_out)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap + 1);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
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
	close(fd);
	buf[len] = '\0';
	if (len_out)
		*len_out = len;
	return buf;
}

static void dump_log(struct fx *fx)
{
	char *log = read_file(fx->log, NULL);

	if (log && *log)
		fprintf(stderr, "  --- faultguardd stderr ---\n%s  ---\n", log);
	free(log);
}

/* --- running the collector ------------------------------------------------- */

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
	if (!path_fmt(exe, sizeof(exe), "%s/faultguardd", test_build_dir()))
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
	if (!path_fmt(fx->sock, sizeof(fx->sock) - 16, "%s/fg.sock", dir) ||
	    !path_fmt(fx->state, sizeof(fx->state), "%s/state", dir) ||
	    !path_fmt(fx->audit, sizeof(fx->audit), "%s/state/audit.jsonl", dir) ||
	    !path_fmt(fx->out, sizeof(fx->out), "%s/out", dir) ||
	    !path_fmt(fx->log, sizeof(fx->log), "%s/faultguardd.log", dir))
		return false;
	/* Rescues run as the app's user: any of them must be able to report here. */
	if (!ASSERT_OK(mkdir(fx->out, 0755) ? -errno : 0, "mkdir out") ||
	    !ASSERT_OK(chmod(fx->out, 01777) ? -errno : 0, "chmod out"))
		return false;
	return true;
}

static void exec_collector(struct fx *fx)
{
	char exe[PATH_MAX], timeout[16], config[PATH_MAX];
	const char *argv[16];
	int argc = 0, fd, i;

	path_fmt(exe, sizeof(exe), "%s/faultguardd", fx->build);
	path_fmt(config, sizeof(config), "%s/faultguardd.conf", fx->dir);
	snprintf(timeout, sizeof(timeout), "%d", fx->rescue_timeout);
	argv[argc++] = exe;
	argv[argc++] = "--socket";
	argv[argc++] = fx->sock;
	argv[argc++] = "--state-dir";
	argv[argc++] = fx->state;
	argv[argc++] = "--audit-log";
	argv[argc++] = fx->audit;
	argv[argc++] = "--verbose";
	if (fx->config) {
		argv[argc++] = "--config";
		argv[argc++] = config;
	}
	if (fx->rescue_timeout) {
		argv[argc++] = "--rescue-timeout";
		argv[argc++] = timeout;
	}
	argv[argc] = NULL;
	fd = open("/dev/null", O_RDONLY);
	dup2(fd, 0);
	fd = open(fx->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
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
	execv(exe, (char **)argv);
	fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
	_exit(127);
}

bool fx_start(struct fx *fx)
{
	long long deadline = now_ms() + FX_START_MS;
	struct stat st;
	int status;
	pid_t pid;

	if (fx->config) {
		char path[PATH_MAX];
		FILE *f;

		if (!path_fmt(path, sizeof(path), "%s/faultguardd.conf", fx->dir))
			return false;
		f = fopen(path, "we");
		if (!ASSERT_NOT_NULL(f, "write the config file"))
			return false;
		fputs(fx->config, f);
		fclose(f);
	}
	fflush(NULL);
	pid = fork();
	if (!ASSERT_GE(pid, 0, "fork the collector"))
		return false;
	if (pid == 0)
		exec_collector(fx);
	fx->pid = pid;
	fx->starts++;
	/* The socket appears once the BPF programs are attached: that is "ready". */
	while (now_ms() < deadline) {
		if (stat(fx->sock, &st) == 0 && S_ISSOCK(st.st_mode)) {
			fx->starts_ok++;
			return true;
		}
		if (waitpid(pid, &status, WNOHANG) == pid) {
			char *log = read_file(fx->log, NULL);

			fx->pid = 0;
			/* A kernel or sandbox without BPF for us: the tests cannot run here. */
			if (log && strstr(log, "BPF") && !fx->starts_ok)
				test_skip("faultguardd cannot use BPF here: %s", log);
			else
				test_fail(__FILE__, __LINE__, "faultguardd exited (status 0x%x) before "
					  "its socket appeared", status);
			free(log);
			dump_log(fx);
			return false;
		}
		nap(10);
	}
	test_fail(__FILE__, __LINE__, "faultguardd's socket %s did not appear within %d ms",
		  fx->sock, FX_START_MS);
	dump_log(fx);
	return false;
}

static bool ts_ok(const char *ts)
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
	json_object *all = fx_records(fx), *first, *last;
	size_t i, n;
	bool ok = true;

	if (!ASSERT_NOT_NULL(all, "audit log"))
		return false;
	n = json_object_array_length(all);
	for (i = 0; i < n && ok; i++) {
		json_object *rec = json_object_array_get_idx(all, i);

		ok = ASSERT_TRUE(ts_ok(jstr(rec, "ts")), "ts is RFC 3339 UTC with milliseconds") &&
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
	long long deadline = now_ms() + FX_START_MS;
	int status = 0;
	pid_t got = 0;

	if (!ASSERT_NEQ(fx->pid, 0, "a collector to stop"))
		return false;
	kill(fx->pid, SIGTERM);
	while (now_ms() < deadline) {
		got = waitpid(fx->pid, &status, WNOHANG);
		if (got == fx->pid || got < 0)
			break;
		nap(10);
	}
	if (got != fx->pid) {
		test_fail(__FILE__, __LINE__, "faultguardd did not exit within %d ms of SIGTERM",
			  FX_START_MS);
		kill(fx->pid, SIGKILL);
		waitpid(fx->pid, &status, 0);
		fx->pid = 0;
		dump_log(fx);
		return false;
	}
	fx->pid = 0;
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

void fx_cleanup(struct fx *fx)
{
	int i;

	for (i = 0; i < fx->napps; i++) {
		struct fx_app *a = fx->apps[i];

		if (a->pid > 0 && !a->reaped) {
			kill(a->pid, SIGKILL);
			waitpid(a->pid, &a->status, 0);
			a->reaped = 1;
		}
		if (a->in >= 0)
			close(a->in);
		if (a->out >= 0)
			close(a->out);
		a->in = a->out = -1;
	}
	fx->napps = 0;
	if (fx->pid > 0) {
		kill(fx->pid, SIGKILL);
		waitpid(fx->pid, NULL, 0);
		fx->pid = 0;
	}
}

/* --- apps ------------------------------------------------------------------ */

static void exec_app(struct fx *fx, const struct fx_app_spec *s, const char *app, int in, int out)
{
	struct rlimit no_core = { 0, 0 };
	char exe[PATH_MAX], procs[PATH_MAX], pid[16];
	const char *argv[64];
	gid_t groups[FX_MAX_GROUPS];
	int argc = 0, ngroups = s->ngroups, fd, i;

	path_fmt(exe, sizeof(exe), "%s/tests/helpers/col_app", fx->build);
	argv[argc++] = exe;
	argv[argc++] = "--app";
	argv[argc++] = app;
	if (s->signal_only)
		argv[argc++] = "--signal-only";
	argv[argc++] = s->mode;
	if (s->rescue_argv) {
		argv[argc++] = "--";
		for (i = 0; s->rescue_argv[i] && argc < 63; i++)
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
			fprintf(stderr, "col_app: cannot join %s: %s\n", procs, strerror(errno));
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
	if (ngroups)
		memcpy(groups, s->groups, sizeof(groups));
	else
		groups[ngroups++] = s->gid;
	if (setgroups((size_t)ngroups, groups) < 0 || setresgid(s->gid, s->gid, s->gid) < 0 ||
	    setresuid(s->uid, s->uid, s->uid) < 0) {
		fprintf(stderr, "col_app: cannot become %u:%u: %s\n", s->uid, s->gid,
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
	snprintf(a->app, sizeof(a->app), "%s", spec->app ? spec->app : "col_app");
	snprintf(a->mode, sizeof(a->mode), "%s", spec->mode);
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
		close(a->in);
		close(a->out);
		a->in = a->out = -1;
		return false;
	}
	fx->apps[fx->napps++] = a;
	if (!fx_app_read_line(a, line, sizeof(line), FX_START_MS) ||
	    !ASSERT_EQ(sscanf(line, "ready %d", &pid), 1, "the app says it is ready")) {
		fx_app_wait(a, 0);
		fprintf(stderr, "  app %s (%s) never became ready (line \"%s\", status 0x%x)\n",
			a->app, a->mode, line, a->status);
		return false;
	}
	return ASSERT_EQ(pid, a->pid, "the ready line names the app's pid");
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

bool fx_app_read_line(struct fx_app *a, char *line, size_t len, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	line[0] = '\0';
	for (;;) {
		char *nl = memchr(a->buf, '\n', a->len);
		struct pollfd p = { .fd = a->out, .events = POLLIN };
		long long left;
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - a->buf);

			snprintf(line, len, "%.*s", (int)l, a->buf);
			memmove(a->buf, nl + 1, a->len - l - 1);
			a->len -= l + 1;
			return true;
		}
		left = deadline - now_ms();
		if (left <= 0 || a->len == sizeof(a->buf)) {
			test_fail(__FILE__, __LINE__, "no line from app %s (pid %d) within %d ms",
				  a->app, (int)a->pid, timeout_ms);
			return false;
		}
		if (poll(&p, 1, (int)left) <= 0)
			continue;
		n = read(a->out, a->buf + a->len, sizeof(a->buf) - a->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			test_fail(__FILE__, __LINE__, "app %s (pid %d) closed its stdout", a->app,
				  (int)a->pid);
			return false;
		}
		a->len += (size_t)n;
	}
}

bool fx_app_wait(struct fx_app *a, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;

	if (a->reaped)
		return true;
	for (;;) {
		pid_t got = waitpid(a->pid, &a->status, WNOHANG);

		if (got == a->pid) {
			a->reaped = 1;
			return true;
		}
		if (got < 0 || now_ms() >= deadline)
			break;
		nap(5);
	}
	if (timeout_ms)
		test_fail(__FILE__, __LINE__, "app %s (pid %d) did not end within %d ms", a->app,
			  (int)a->pid, timeout_ms);
	return false;
}

bool fx_app_alive(const struct fx_app *a)
{
	return !a->reaped && kill(a->pid, 0) == 0;
}

/* --- rescue commands ------------------------------------------------------- */

void fx_rescue_init(struct fx *fx, struct fx_rescue *r, const char *tag, ...)
{
	const char *arg;
	va_list ap;

	memset(r, 0, sizeof(*r));
	path_fmt(r->bin, sizeof(r->bin), "%s/tests/helpers/col_rescue", fx->build);
	path_fmt(r->report, sizeof(r->report), "%s/%s.json", fx->out, tag);
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
	long long deadline = now_ms() + timeout_ms;
	json_object *o;
	char *text;

	while (!(text = read_file(r->report, NULL)) && now_ms() < deadline)
		nap(10);
	if (!text) {
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

json_object *fx_records(struct fx *fx)
{
	json_object *all = json_object_new_array();
	char *text = read_file(fx->audit, NULL), *line, *save = NULL;

	if (!text)
		return all;
	if (*text && text[strlen(text) - 1] != '\n')
		/* A line being written right now; the next poll sees it whole. */
		*strrchr(text, '\n') = '\0';
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_object *rec = json_tokener_parse(line);

		if (!rec || !json_object_is_type(rec, json_type_object)) {
			test_fail(__FILE__, __LINE__, "an audit line is not a JSON object: %s", line);
			json_object_put(rec);
			continue;
		}
		json_object_array_add(all, rec);
	}
	free(text);
	return all;
}

static json_object *find(struct fx *fx, const char *event, long pid, const char *id, int nth)
{
	json_object *all = fx_records(fx), *hit = NULL;
	size_t i, n = json_object_array_length(all);
	long long p;

	for (i = 0; i < n && !hit; i++) {
		json_object *rec = json_object_array_get_idx(all, i);

		if (!jstr(rec, "event") || strcmp(jstr(rec, "event"), event))
			continue;
		if (pid >= 0 && (!jint(rec, "pid", &p) || p != pid))
			continue;
		if (id && (!jstr(rec, "id") || strcmp(jstr(rec, "id"), id)))
			continue;
		if (nth-- == 0)
			hit = json_object_get(rec);
	}
	json_object_put(all);
	return hit;
}

json_object *fx_find(struct fx *fx, const char *event, long pid, int nth)
{
	return find(fx, event, pid, NULL, nth);
}

json_object *fx_find_id(struct fx *fx, const char *event, const char *id)
{
	return find(fx, event, -1, id, 0);
}

int fx_count(struct fx *fx, const char *event, long pid)
{
	int n = 0;
	json_object *o;

	while ((o = fx_find(fx, event, pid, n))) {
		json_object_put(o);
		n++;
	}
	return n;
}

static json_object *wait_for(struct fx *fx, const char *event, long pid, const char *id, int nth,
			     int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	json_object *o;

	for (;;) {
		o = find(fx, event, pid, id, nth);
		if (o || now_ms() >= deadline)
			break;
		nap(10);
	}
	if (!o) {
		test_fail(__FILE__, __LINE__, "no \"%s\" record #%d for pid %ld%s%s within %d ms",
			  event, nth, pid, id ? " id " : "", id ? id : "", timeout_ms);
		dump_log(fx);
	}
	return o;
}

json_object *fx_wait(struct fx *fx, const char *event, long pid, int nth, int timeout_ms)
{
	return wait_for(fx, event, pid, NULL, nth, timeout_ms);
}

json_object *fx_wait_id(struct fx *fx, const char *event, const char *id, int timeout_ms)
{
	return wait_for(fx, event, -1, id, 0, timeout_ms);
}

bool fx_barrier(struct fx *fx)
{
	struct fx_app_spec spec = { .app = "barrier", .mode = "exit0" };
	struct fx_app *b = malloc(sizeof(*b));
	json_object *rec;
	bool ok;

	/* Never freed: the fixture keeps it for cleanup, and each test is a process of its own. */
	if (!ASSERT_NOT_NULL(b, "barrier app"))
		return false;
	if (!fx_app_start(fx, b, &spec) || !fx_app_wait(b, FX_WAIT_MS))
		return false;
	rec = fx_wait(fx, "unregister", b->pid, 0, FX_WAIT_MS);
	ok = rec && CHECK_STR(rec, "reason", "exit");
	json_object_put(rec);
	return ok;
}

/* --- faultguardctl ------------------------------------------------------------ */

static int ctl_run(struct fx *fx, uid_t uid, gid_t gid, char **out, va_list ap)
{
	char exe[PATH_MAX], errpath[PATH_MAX], *buf = NULL, *err;
	const char *argv[32];
	size_t len = 0, cap = 0;
	int argc = 0, p[2], status, efd;
	const char *arg;
	pid_t pid;

	*out = NULL;
	path_fmt(exe, sizeof(exe), "%s/faultguardctl", fx->build);
	argv[argc++] = exe;
	while ((arg = va_arg(ap, const char *)) && argc < 31)
		argv[argc++] = arg;
	argv[argc] = NULL;
	fx->ctl_err[0] = '\0';
	if (!path_fmt(errpath, sizeof(errpath), "%s/ctl.stderr", fx->dir))
		return -1;
	efd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (efd < 0 || pipe2(p, O_CLOEXEC) < 0) {
		if (efd >= 0)
			close(efd);
		return -1;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], 1);
		dup2(efd, 2);
		if (uid && (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
			    setresuid(uid, uid, uid) < 0))
			_exit(126);
		execv(exe, (char **)argv);
		_exit(127);
	}
	close(efd);
	close(p[1]);
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap * 2 + 8192);

			if (!nb)
				break;
			buf = nb;
		}
		n = read(p[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	close(p[0]);
	if (buf)
		buf[len] = '\0';
	*out = buf;
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return -1;
	err = read_file(errpath, NULL);
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

/* In a child that has become the asking user: one answer line per TEXT packet on @out. */
static int query_child(struct fx *fx, const char *query, int out)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	static uint8_t buf[PROTO_MAX_MSG];
	int s, len;

	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", fx->sock);
	s = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&addr, sizeof(addr)) < 0)
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
		if (m.type == PROTO_TEXT && m.text &&
		    (write(out, m.text, strlen(m.text)) < 0 || write(out, "\n", 1) < 0))
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

	if (!path_fmt(path, sizeof(path), "%s/query.out", fx->dir))
		return NULL;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (!ASSERT_GE(fd, 0, "query output file"))
		return NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (uid && (setgroups(1, &gid) < 0 || setresgid(gid, gid, gid) < 0 ||
			    setresuid(uid, uid, uid) < 0))
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
	text = read_file(path, NULL);
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

/* --- checking a crash end to end --------------------------------------------------- */

static bool check_argv(json_object *arr, const char *const *argv, const char *what)
{
	size_t i, n;

	if (!argv)
		return ASSERT_TRUE(arr == NULL, what);
	if (!ASSERT_TRUE(arr && json_object_is_type(arr, json_type_array), what))
		return false;
	for (n = 0; argv[n]; n++)
		;
	if (!ASSERT_EQ(json_object_array_length(arr), n, what))
		return false;
	for (i = 0; i < n; i++)
		if (!ASSERT_STREQ(json_object_get_string(json_object_array_get_idx(arr, i)), argv[i],
				  what))
			return false;
	return true;
}

static json_object *field(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

size_t fx_expected_bytes(const struct fx_app *a)
{
	struct app_expect x;
	size_t i, sum = 0;

	app_expect_init(&x, a->mode, a->pid);
	for (i = 0; i < APP_NENTRIES; i++)
		sum += x.e[i].len;
	return sum;
}

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

static bool check_groups(json_object *arr, const struct fx_app *a)
{
	gid_t want[FX_MAX_GROUPS], got[64];
	int nwant = a->spec.ngroups, i;
	size_t n;

	if (nwant)
		memcpy(want, a->spec.groups, sizeof(want));
	else
		want[nwant++] = a->spec.gid;
	if (!ASSERT_TRUE(arr && json_object_is_type(arr, json_type_array), "groups reported"))
		return false;
	n = json_object_array_length(arr);
	if (!ASSERT_EQ(n, nwant, "the rescue has the app's supplementary groups"))
		return false;
	for (i = 0; i < nwant; i++)
		got[i] = (gid_t)json_object_get_int64(json_object_array_get_idx(arr, (size_t)i));
	qsort(want, (size_t)nwant, sizeof(gid_t), cmp_gid);
	qsort(got, (size_t)nwant, sizeof(gid_t), cmp_gid);
	for (i = 0; i < nwant; i++)
		if (!ASSERT_EQ(got[i], want[i], "the rescue has the app's supplementary groups"))
			return false;
	return true;
}

/* The variables a rescue may have beyond FAULTGUARD_*: a login's basics. */
static bool env_name_allowed(const char *name)
{
	static const char *const basics[] = { "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG" };
	size_t i;

	for (i = 0; i < sizeof(basics) / sizeof(basics[0]); i++)
		if (!strcmp(name, basics[i]))
			return true;
	return false;
}

bool fx_check_report(struct fx *fx, struct fx_app *a, json_object *crash, json_object *snapshot,
		     json_object *report, const struct fx_rescue *r)
{
	json_object *env = field(report, "env"), *fds = field(report, "fds");
	static const char *const fg_vars[] = {
		"FAULTGUARD_SNAPSHOT", "FAULTGUARD_ID",	    "FAULTGUARD_APP",
		"FAULTGUARD_PID",      "FAULTGUARD_UID",    "FAULTGUARD_CAUSE",
		"FAULTGUARD_SIGNAL",   "FAULTGUARD_EXIT_CODE",
	};
	char pid[16], uid[16], sig[16], code[16];
	long long signal = -1, exit_code = -1, entries = -1;
	bool ok = true;
	size_t i;

	(void)fx;
	if (!ASSERT_TRUE(env && json_object_is_type(env, json_type_object), "report has env"))
		return false;
	ok &= ASSERT_TRUE(jint(report, "environ_entries", &entries) &&
				  entries == json_object_object_length(env),
			  "no variable is set twice in the rescue's environment");
	snprintf(pid, sizeof(pid), "%d", (int)a->pid);
	snprintf(uid, sizeof(uid), "%u", (unsigned int)a->spec.uid);
	jint(crash, "signal", &signal);
	snprintf(sig, sizeof(sig), "%lld", signal);
	if (jint(crash, "exit_code", &exit_code))
		snprintf(code, sizeof(code), "%lld", exit_code);
	else
		code[0] = '\0';
	ok &= CHECK_STR(env, "FAULTGUARD_SNAPSHOT", jstr(snapshot, "path") ?: "(no path)");
	ok &= CHECK_STR(env, "FAULTGUARD_ID", jstr(crash, "id") ?: "(no id)");
	ok &= CHECK_STR(env, "FAULTGUARD_APP", a->app);
	ok &= CHECK_STR(env, "FAULTGUARD_PID", pid);
	ok &= CHECK_STR(env, "FAULTGUARD_UID", uid);
	ok &= CHECK_STR(env, "FAULTGUARD_CAUSE", jstr(crash, "cause") ?: "(no cause)");
	ok &= CHECK_STR(env, "FAULTGUARD_SIGNAL", sig);
	ok &= CHECK_STR(env, "FAULTGUARD_EXIT_CODE", code);
	ok &= ASSERT_TRUE(jstr(env, "FAULTGUARD_SNAPSHOT") && jstr(env, "FAULTGUARD_SNAPSHOT")[0] == '/',
			  "FAULTGUARD_SNAPSHOT is absolute");
	ok &= ASSERT_FALSE(field(env, FX_CANARY_NAME), "the collector's environment leaks");
	json_object_object_foreach(env, name, val)
	{
		bool known = env_name_allowed(name);

		(void)val;
		for (i = 0; i < sizeof(fg_vars) / sizeof(fg_vars[0]); i++)
			known |= !strcmp(name, fg_vars[i]);
		if (!known) {
			test_fail(__FILE__, __LINE__, "the rescue's environment has %s=%s, which is "
				  "neither a FAULTGUARD_ variable nor a login basic", name,
				  json_object_get_string(val));
			ok = false;
		}
	}
	/* As the app's user, all three ids, never root for a non-root app. */
	ok &= CHECK_INT(report, "uid", a->spec.uid) && CHECK_INT(report, "euid", a->spec.uid) &&
	      CHECK_INT(report, "suid", a->spec.uid);
	ok &= CHECK_INT(report, "gid", a->spec.gid) && CHECK_INT(report, "egid", a->spec.gid) &&
	      CHECK_INT(report, "sgid", a->spec.gid);
	ok &= check_groups(field(report, "groups"), a);
	ok &= CHECK_STR(report, "stdin", "/dev/null");
	/* Nothing of the collector's (sockets, memfds, the BPF maps) reaches the command. */
	ok &= ASSERT_TRUE(fds && json_object_array_length(fds) == 3, "the rescue has only fds 0-2");
	if (fds && json_object_array_length(fds) != 3)
		fprintf(stderr, "  fds: %s\n", json_object_to_json_string(fds));
	ok &= ASSERT_TRUE(json_object_get_boolean(field(report, "session_leader")),
			  "the rescue leads its own session");
	ok &= ASSERT_TRUE(json_object_get_boolean(field(report, "snapshot_readable")),
			  "the rescue, as the app's user, can open its snapshot");
	ok &= CHECK_INT(report, "snapshot_keys", APP_NENTRIES);
	ok &= check_argv(field(report, "argv"), r->argv, "the rescue got its argv");
	return ok;
}

static bool check_owned(const char *path, uid_t uid, gid_t gid, mode_t mode, const char *what)
{
	struct stat st;

	if (!ASSERT_OK(lstat(path, &st) ? -errno : 0, what))
		return false;
	if (!ASSERT_EQ(st.st_uid, uid, what) || !ASSERT_EQ(st.st_gid, gid, what) ||
	    !ASSERT_EQ(st.st_mode & 07777, mode, what)) {
		fprintf(stderr, "  %s: %u:%u %o\n", path, st.st_uid, st.st_gid, st.st_mode & 07777);
		return false;
	}
	return true;
}

static bool check_snapshot_file(struct fx *fx, struct fx_app *a, json_object *snap, const char *id)
{
	char want[PATH_MAX], dir[PATH_MAX], why[256];
	const char *path = jstr(snap, "path"), *app = NULL;
	struct fg_snapshot *s;
	unsigned int uid = 0;
	int pid = 0;
	bool ok;

	if (!path_fmt(want, sizeof(want), "%s/snapshots/%u/%s/%s.fgsnap", fx->state, a->spec.uid,
		      a->app, id) ||
	    !CHECK_STR(snap, "path", want))
		return false;
	ok = check_owned(path, a->spec.uid, a->spec.gid, 0600, "the snapshot: app's, 0600");
	path_fmt(dir, sizeof(dir), "%s/snapshots/%u/%s", fx->state, a->spec.uid, a->app);
	ok &= check_owned(dir, a->spec.uid, a->spec.gid, 0700, "the app's snapshot folder: 0700");
	path_fmt(dir, sizeof(dir), "%s/snapshots/%u", fx->state, a->spec.uid);
	ok &= check_owned(dir, a->spec.uid, a->spec.gid, 0700, "the user's snapshot folder: 0700");
	s = fg_snapshot_open(path);
	if (!ASSERT_NOT_NULL(s, "fg_snapshot_open"))
		return false;
	if (!ASSERT_OK(app_snapshot_diff(s, a->mode, a->pid, why, sizeof(why)),
		       "the snapshot holds exactly what the app wrote"))
		fprintf(stderr, "  %s\n", why);
	else if (ASSERT_OK(fg_snapshot_meta(s, &app, &pid, &uid, NULL), "snapshot meta"))
		ok &= ASSERT_STREQ(app, a->app, "snapshot app") &&
		      ASSERT_EQ(pid, a->pid, "snapshot pid") &&
		      ASSERT_EQ(uid, a->spec.uid, "snapshot uid");
	else
		ok = false;
	fg_snapshot_close(s);
	return ok;
}

bool fx_check_crash(struct fx *fx, struct fx_app *a, const struct fx_crash *x,
		    struct fx_rescue *r, char *id_out)
{
	json_object *crash = NULL, *snap = NULL, *resc = NULL, *report = NULL;
	const char *status = x->rescue_status ? x->rescue_status : "ok";
	char id[CRASH_ID_LEN], infix[32], name[32];
	bool ok = false;

	/* The registration it began with. */
	crash = fx_find(fx, "register", a->pid, 0);
	if (!ASSERT_NOT_NULL(crash, "register record") || !CHECK_STR(crash, "app", a->app) ||
	    !CHECK_INT(crash, "uid", a->spec.uid) || !CHECK_INT(crash, "gid", a->spec.gid) ||
	    !CHECK_STR(crash, "comm", "col_app") ||
	    !(a->spec.rescue_argv ? check_argv(field(crash, "rescue_argv"), a->spec.rescue_argv,
					       "register rescue_argv")
				  : CHECK_NULL(crash, "rescue_argv")))
		goto out;
	json_object_put(crash);
	crash = fx_wait(fx, "crash", a->pid, 0, FX_WAIT_MS);
	if (!crash || !ASSERT_NOT_NULL(jstr(crash, "id"), "crash id") ||
	    !ASSERT_TRUE(strlen(jstr(crash, "id")) < sizeof(id), "the crash id fits CRASH_ID_LEN"))
		goto out;
	strcpy(id, jstr(crash, "id"));
	if (id_out)
		strcpy(id_out, id);
	snprintf(infix, sizeof(infix), "-%d-", (int)a->pid);
	if (!ASSERT_TRUE(crash_id_valid(id) && strstr(id, infix), "the crash id names the pid"))
		goto out;
	/* The crash record, SPEC §5. */
	if (!CHECK_STR(crash, "app", a->app) || !CHECK_INT(crash, "uid", a->spec.uid) ||
	    !CHECK_STR(crash, "cause", x->cause) || !CHECK_INT(crash, "signal", x->signal))
		goto out;
	if (x->signal) {
		snprintf(name, sizeof(name), "SIG%s", sigabbrev_np(x->signal));
		if (!CHECK_STR(crash, "signal_name", name) || !CHECK_INT(crash, "si_code", x->si_code) ||
		    !CHECK_NULL(crash, "exit_code"))
			goto out;
	} else if (!CHECK_NULL(crash, "signal_name") || !CHECK_NULL(crash, "si_code") ||
		   !CHECK_INT(crash, "exit_code", x->exit_code)) {
		goto out;
	}
	if (!(x->fault_addr ? CHECK_STR(crash, "fault_addr", x->fault_addr)
			    : CHECK_NULL(crash, "fault_addr")))
		goto out;
	if (x->sender_pid) {
		if (!CHECK_INT(crash, "sender_pid", x->sender_pid) ||
		    !CHECK_INT(crash, "sender_uid", x->sender_uid) ||
		    !CHECK_STR(crash, "sender_comm", x->sender_comm))
			goto out;
	} else if (!CHECK_NULL(crash, "sender_pid") || !CHECK_NULL(crash, "sender_uid") ||
		   !CHECK_NULL(crash, "sender_comm")) {
		goto out;
	}
	/* The kernel's own verdict, as the app's parent saw it in the wait status. */
	if (!ASSERT_TRUE(a->reaped, "the app was waited for before the check") ||
	    !ASSERT_TRUE(json_object_is_type(field(crash, "core_dumped"), json_type_boolean),
			 "core_dumped is a boolean") ||
	    !ASSERT_EQ(json_object_get_boolean(field(crash, "core_dumped")),
		       WIFSIGNALED(a->status) && WCOREDUMP(a->status),
		       "core_dumped matches the wait status"))
		goto out;

	/* The snapshot record and file. */
	snap = fx_wait_id(fx, "snapshot", id, FX_WAIT_MS);
	if (!snap || !CHECK_STR(snap, "app", a->app) || !CHECK_INT(snap, "pid", a->pid) ||
	    !CHECK_INT(snap, "keys", APP_NENTRIES) ||
	    !CHECK_INT(snap, "bytes", (long long)fx_expected_bytes(a)) ||
	    !CHECK_INT(snap, "discarded", 0) || !ASSERT_TRUE(jint(snap, "ms", &(long long){ 0 }),
							     "snapshot ms"))
		goto out;
	if (!check_snapshot_file(fx, a, snap, id))
		goto out;

	/* The rescue record. */
	resc = fx_wait_id(fx, "rescue", id, FX_WAIT_MS + fx->rescue_timeout * 1000);
	if (!resc || !CHECK_STR(resc, "app", a->app) || !CHECK_INT(resc, "pid", a->pid) ||
	    !CHECK_STR(resc, "status", status) ||
	    !(a->spec.rescue_argv ? check_argv(field(resc, "argv"), a->spec.rescue_argv, "argv")
				  : CHECK_NULL(resc, "argv")))
		goto out;
	if (!strcmp(status, "ok") &&
	    (!CHECK_INT(resc, "exit_code", 0) || !CHECK_NULL(resc, "signal") ||
	     !ASSERT_TRUE(jint(resc, "ms", &(long long){ 0 }), "rescue ms") ||
	     !ASSERT_TRUE(jint(resc, "latency_ms", &(long long){ 0 }), "rescue latency_ms") ||
	     !ASSERT_TRUE(jstr(resc, "output") != NULL, "rescue output")))
		goto out;
	ok = true;
	if (r) {
		report = fx_rescue_report(r, FX_WAIT_MS);
		ok = report && fx_check_report(fx, a, crash, snap, report, r);
	}
out:
	json_object_put(crash);
	json_object_put(snap);
	json_object_put(resc);
	json_object_put(report);
	return ok;
}

bool fx_check_no_crash(struct fx *fx, struct fx_app *a)
{
	char dir[PATH_MAX];
	json_object *o;
	bool ok = true;

	if (!fx_barrier(fx))
		return false;
	o = fx_find(fx, "crash", a->pid, 0);
	if (o) {
		test_fail(__FILE__, __LINE__, "a crash was recorded for pid %d: %s", (int)a->pid,
			  json_object_to_json_string(o));
		ok = false;
	}
	json_object_put(o);
	ok &= ASSERT_EQ(fx_count(fx, "snapshot", a->pid), 0, "no snapshot record");
	ok &= ASSERT_EQ(fx_count(fx, "rescue", a->pid), 0, "no rescue record");
	path_fmt(dir, sizeof(dir), "%s/snapshots/%u/%s", fx->state, a->spec.uid, a->app);
	ok &= ASSERT_TRUE(access(dir, F_OK) < 0 && errno == ENOENT, "no snapshot folder for the app");
	return ok;
}

/* --- memory cgroups -------------------------------------------------------------- */

static int write_str(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (write(fd, s, strlen(s)) < 0)
		err = -errno;
	close(fd);
	return err;
}

bool fx_memcg_create(char *path, size_t len, unsigned long long limit)
{
	char file[PATH_MAX], val[32];
	const char *root = "/sys/fs/cgroup/memory";

	if (access("/sys/fs/cgroup/memory/memory.limit_in_bytes", F_OK) < 0) {
		test_skip("no cgroup v1 memory controller at %s", root);
		return false;
	}
	if (!path_fmt(path, len, "%s/fgtest-%d", root, (int)getpid()))
		return false;
	if (!ASSERT_OK(mkdir(path, 0755) ? -errno : 0, "mkdir the memory cgroup"))
		return false;
	snprintf(val, sizeof(val), "%llu", limit);
	path_fmt(file, sizeof(file), "%s/memory.limit_in_bytes", path);
	if (!ASSERT_OK(write_str(file, val), "memory.limit_in_bytes"))
		return false;
	/* No swap to escape into: the limit must end in the OOM killer. */
	path_fmt(file, sizeof(file), "%s/memory.memsw.limit_in_bytes", path);
	if (access(file, F_OK) == 0 && !ASSERT_OK(write_str(file, val), "memsw limit"))
		return false;
	path_fmt(file, sizeof(file), "%s/memory.swappiness", path);
	if (access(file, F_OK) == 0)
		write_str(file, "0");
	path_fmt(file, sizeof(file), "%s/memory.oom_control", path);
	if (access(file, F_OK) == 0)
		write_str(file, "0");
	return true;
}

void fx_memcg_remove(const char *path)
{
	long long deadline = now_ms() + FX_WAIT_MS;

	if (!path[0])
		return;
	/* The cgroup empties once its dead tasks are reaped. */
	while (rmdir(path) < 0 && errno == EBUSY && now_ms() < deadline)
		nap(20);
}
