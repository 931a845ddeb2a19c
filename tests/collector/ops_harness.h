/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The operations tests' harness (tests/collector/test_ops_*.c): a real
 * faultguardd with a config file, socket, state directory and audit log in
 * the test's scratch directory; ops_app test apps that register with it;
 * commands run with their output captured; and readers for the audit log.
 *
 * No outcome is decided by a fixed sleep: every wait polls for a record, a
 * file or an exit, with a generous deadline that only a broken build hits.
 * Header-only (static functions), since the Makefile links each test binary
 * from its own object.
 */
#ifndef FG_TEST_OPS_HARNESS_H
#define FG_TEST_OPS_HARNESS_H

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "framework/test.h"

#define OPS_WAIT_MS 20000
#define OPS_UNUSED __attribute__((unused))

struct ops_env {
	char dir[PATH_MAX];   /* the test's scratch directory */
	char conf[PATH_MAX];  /* the config file the collector reads */
	char sock[108];
	char state[PATH_MAX];
	char audit[PATH_MAX]; /* STATE/audit.jsonl */
	char log[PATH_MAX];   /* the collector's stderr */
	char build[PATH_MAX];
	bool paths_in_file;   /* no --socket/--state-dir: the test's config names them */
	pid_t pid;            /* the collector, 0 when not running */
};

static OPS_UNUSED int64_t ops_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static OPS_UNUSED void ops_nap(void)
{
	struct timespec ts = { .tv_nsec = 20 * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static OPS_UNUSED int ops_write_file(const char *path, const char *text)
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

/* The whole file, malloc'd and NUL-terminated; NULL if it cannot be read. */
static OPS_UNUSED char *ops_read_file(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			char *nb = realloc(buf, cap + 65536);

			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
			cap += 65536;
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

/* Paths of a collector in the scratch directory; no file is made yet. */
static OPS_UNUSED void ops_env_init(struct ops_env *e)
{
	memset(e, 0, sizeof(*e));
	snprintf(e->dir, sizeof(e->dir), "%s", test_tmpdir());
	snprintf(e->conf, sizeof(e->conf), "%.3900s/faultguardd.conf", e->dir);
	snprintf(e->sock, sizeof(e->sock), "%.90s/fg.sock", e->dir);
	snprintf(e->state, sizeof(e->state), "%.3900s/state", e->dir);
	snprintf(e->audit, sizeof(e->audit), "%.3900s/state/audit.jsonl", e->dir);
	snprintf(e->log, sizeof(e->log), "%.3900s/faultguardd.log", e->dir);
	snprintf(e->build, sizeof(e->build), "%s", test_build_dir());
}

/* The collector needs root (BPF, setuid for rescues): say so and skip elsewhere. */
static OPS_UNUSED bool ops_need_root(void)
{
	if (geteuid() == 0)
		return true;
	test_skip("faultguardd needs root (BPF, rescues as other users); run the tests as root");
	return false;
}

static OPS_UNUSED void ops_show_log(const struct ops_env *e)
{
	char *log = ops_read_file(e->log);

	fprintf(stderr, "  --- faultguardd's stderr ---\n%s  ---\n", log ? log : "(none)\n");
	free(log);
}

/*
 * Starts faultguardd --config CONF --socket SOCK --state-dir STATE (the
 * last two unless paths_in_file) and the NULL-terminated @extra flags, and
 * waits for its socket (= ready).
 */
static OPS_UNUSED bool ops_start_with(struct ops_env *e, const char *const *extra)
{
	const char *argv[32];
	char bin[PATH_MAX + 16];
	int64_t deadline;
	int n = 0, fd;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/faultguardd", e->build);
	argv[n++] = bin;
	argv[n++] = "--config";
	argv[n++] = e->conf;
	if (!e->paths_in_file) {
		argv[n++] = "--socket";
		argv[n++] = e->sock;
		argv[n++] = "--state-dir";
		argv[n++] = e->state;
	}
	while (extra && *extra && n < 30)
		argv[n++] = *extra++;
	argv[n] = NULL;
	unlink(e->sock);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		fd = open(e->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0)
			dup2(fd, STDERR_FILENO);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	if (!ASSERT_TRUE(pid > 0, "fork the collector"))
		return false;
	e->pid = pid;
	deadline = ops_now_ms() + OPS_WAIT_MS;
	while (access(e->sock, F_OK) != 0) {
		int status;

		if (waitpid(pid, &status, WNOHANG) == pid) {
			e->pid = 0;
			ops_show_log(e);
			return ASSERT_TRUE(false, "faultguardd exited before its socket appeared");
		}
		if (ops_now_ms() > deadline) {
			ops_show_log(e);
			return ASSERT_TRUE(false, "faultguardd's socket appeared within 20 s");
		}
		ops_nap();
	}
	return true;
}

static OPS_UNUSED bool ops_start(struct ops_env *e)
{
	return ops_start_with(e, NULL);
}

/* Sends @sig to the collector and, for SIGTERM/SIGKILL, waits for it to end. */
static OPS_UNUSED int ops_signal(struct ops_env *e, int sig)
{
	int status = 0;

	if (!e->pid)
		return -ESRCH;
	if (kill(e->pid, sig) < 0)
		return -errno;
	if (sig != SIGTERM && sig != SIGKILL)
		return 0;
	while (waitpid(e->pid, &status, 0) < 0 && errno == EINTR)
		;
	e->pid = 0;
	return status;
}

static OPS_UNUSED void ops_stop(struct ops_env *e)
{
	if (e->pid)
		ops_signal(e, SIGTERM);
}

/*
 * Runs @argv (NULL-terminated) with stdout and stderr into @out (@cap,
 * NUL-terminated; may be NULL), the collector's socket in
 * $FAULTGUARD_SOCKET. Returns the wait status, or -errno.
 */
static OPS_UNUSED int ops_run(const struct ops_env *e, const char *const *argv, char *out,
			      size_t cap)
{
	int p[2], status = 0;
	size_t len = 0;
	pid_t pid;
	ssize_t n;
	char sink[4096];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(p[1], STDOUT_FILENO);
		dup2(p[1], STDERR_FILENO);
		if (e)
			setenv("FAULTGUARD_SOCKET", e->sock, 1);
		execvp(argv[0], (char *const *)argv);
		fprintf(stderr, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(p[1]);
	if (pid < 0) {
		close(p[0]);
		return -errno;
	}
	for (;;) {
		char *dst = out && len + 1 < cap ? out + len : sink;
		size_t room = out && len + 1 < cap ? cap - len - 1 : sizeof(sink);

		n = read(p[0], dst, room);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (dst != sink)
			len += (size_t)n;
	}
	close(p[0]);
	if (out && cap)
		out[len] = '\0';
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	return status;
}

/* ops_run for a program in the build directory ("faultguardctl", "faultguardd"). */
static OPS_UNUSED int ops_run_built(const struct ops_env *e, const char *prog,
				    const char *const *args, char *out, size_t cap)
{
	const char *argv[32];
	char bin[PATH_MAX + 32];
	int n = 0;

	snprintf(bin, sizeof(bin), "%s/%s", e->build, prog);
	argv[n++] = bin;
	while (args && *args && n < 31)
		argv[n++] = *args++;
	argv[n] = NULL;
	return ops_run(e, argv, out, cap);
}

/* A running ops_app. */
struct ops_app {
	pid_t pid;
	int in;  /* its stdin (the "stdin" mode's command) */
	int out; /* its stdout */
};

/*
 * Starts `ops_app APP MODE [RESCUE_ARGV...]` as @uid (0: as we are) and
 * waits for its "ready" line: it is registered and has written its keys.
 */
static OPS_UNUSED bool ops_app_start(const struct ops_env *e, struct ops_app *a, uid_t uid,
				     const char *app, const char *mode,
				     const char *const *rescue_argv)
{
	const char *argv[40];
	char bin[PATH_MAX + 32], line[128];
	int in[2], out[2], n = 0;
	size_t len = 0;
	int64_t deadline;

	snprintf(bin, sizeof(bin), "%s/tests/helpers/ops_app", e->build);
	argv[n++] = bin;
	argv[n++] = app;
	argv[n++] = mode;
	while (rescue_argv && *rescue_argv && n < 38)
		argv[n++] = *rescue_argv++;
	argv[n] = NULL;
	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0)
		return ASSERT_TRUE(false, "pipes for the app");
	fflush(NULL);
	a->pid = fork();
	if (a->pid == 0) {
		dup2(in[0], STDIN_FILENO);
		dup2(out[1], STDOUT_FILENO);
		setenv("FAULTGUARD_SOCKET", e->sock, 1);
		if (uid && (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0))
			_exit(126);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	a->in = in[1];
	a->out = out[0];
	if (!ASSERT_TRUE(a->pid > 0, "fork the app"))
		return false;
	deadline = ops_now_ms() + OPS_WAIT_MS;
	while (!memchr(line, '\n', len)) {
		struct pollfd p = { .fd = a->out, .events = POLLIN };
		ssize_t r;

		if (ops_now_ms() > deadline || len + 1 >= sizeof(line))
			return ASSERT_TRUE(false, "the app said ready within 20 s");
		if (poll(&p, 1, 100) <= 0)
			continue;
		r = read(a->out, line + len, sizeof(line) - 1 - len);
		if (r <= 0) {
			int status = 0;

			waitpid(a->pid, &status, 0);
			a->pid = 0;
			fprintf(stderr, "  ops_app ended with wait status 0x%x before ready\n", status);
			return ASSERT_TRUE(false, "the app registered");
		}
		len += (size_t)r;
	}
	line[len] = '\0';
	return ASSERT_TRUE(!strncmp(line, "ready ", 6), "the app's first line is ready");
}

/* Tells a "stdin"-mode app how to end. */
static OPS_UNUSED void ops_app_tell(struct ops_app *a, const char *mode)
{
	char line[64];
	int n = snprintf(line, sizeof(line), "%s\n", mode);

	(void)!write(a->in, line, (size_t)n);
}

/* Waits for the app to end; returns its wait status. */
static OPS_UNUSED int ops_app_wait(struct ops_app *a)
{
	int status = 0;

	if (a->pid > 0)
		while (waitpid(a->pid, &status, 0) < 0 && errno == EINTR)
			;
	a->pid = 0;
	if (a->in >= 0)
		close(a->in);
	if (a->out >= 0)
		close(a->out);
	a->in = a->out = -1;
	return status;
}

static OPS_UNUSED const char *ops_str(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static OPS_UNUSED long long ops_int(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return (long long)json_object_get_int64(v);
}

/* The audit records (of @event, or all for NULL) in the log at @path, as a JSON array. */
static OPS_UNUSED json_object *ops_records_in(const char *path, const char *event)
{
	json_object *arr = json_object_new_array();
	char *text = ops_read_file(path), *line, *save = NULL;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_object *o = json_tokener_parse(line);
		const char *ev = ops_str(o, "event");

		if (o && ev && (!event || !strcmp(ev, event)))
			json_object_array_add(arr, o);
		else
			json_object_put(o);
	}
	free(text);
	return arr;
}

static OPS_UNUSED json_object *ops_records(const struct ops_env *e, const char *event)
{
	return ops_records_in(e->audit, event);
}

/*
 * Waits until the audit log holds at least @count records of @event whose
 * @key is @value (@key NULL: any); returns them (a JSON array), or NULL
 * after the deadline.
 */
static OPS_UNUSED json_object *ops_wait_records(const struct ops_env *e, const char *event,
						const char *key, const char *value, size_t count)
{
	int64_t deadline = ops_now_ms() + OPS_WAIT_MS;

	for (;;) {
		json_object *all = ops_records(e, event), *hits = json_object_new_array();
		size_t i;

		for (i = 0; i < json_object_array_length(all); i++) {
			json_object *o = json_object_array_get_idx(all, i);
			const char *v = key ? ops_str(o, key) : NULL;

			if (!key || (v && !strcmp(v, value)))
				json_object_array_add(hits, json_object_get(o));
		}
		json_object_put(all);
		if (json_object_array_length(hits) >= count)
			return hits;
		json_object_put(hits);
		if (ops_now_ms() > deadline) {
			fprintf(stderr, "  waited 20 s for %zu '%s' record(s) with %s = %s\n", count,
				event, key ? key : "-", value ? value : "-");
			return NULL;
		}
		ops_nap();
	}
}

/* Waits for the first record of @event about process @pid; NULL after the deadline. */
static OPS_UNUSED json_object *ops_wait_pid(const struct ops_env *e, const char *event, pid_t pid)
{
	int64_t deadline = ops_now_ms() + OPS_WAIT_MS;

	for (;;) {
		json_object *all = ops_records(e, event), *hit = NULL;
		size_t i;

		for (i = 0; !hit && i < json_object_array_length(all); i++)
			if (ops_int(json_object_array_get_idx(all, i), "pid") == pid)
				hit = json_object_get(json_object_array_get_idx(all, i));
		json_object_put(all);
		if (hit)
			return hit;
		if (ops_now_ms() > deadline) {
			fprintf(stderr, "  waited 20 s for a '%s' record of pid %d\n", event, (int)pid);
			return NULL;
		}
		ops_nap();
	}
}

/* The one record of @event for crash @id (the first one), or NULL; release with json_object_put. */
static OPS_UNUSED json_object *ops_wait_record_of(const struct ops_env *e, const char *event,
						  const char *id)
{
	json_object *hits = ops_wait_records(e, event, "id", id, 1), *o;

	if (!hits)
		return NULL;
	o = json_object_get(json_object_array_get_idx(hits, 0));
	json_object_put(hits);
	return o;
}

/* Waits for a file to exist (@want 1) or to be gone (@want 0). */
static OPS_UNUSED bool ops_wait_file(const char *path, int want)
{
	int64_t deadline = ops_now_ms() + OPS_WAIT_MS;

	while ((access(path, F_OK) == 0) != want) {
		if (ops_now_ms() > deadline)
			return false;
		ops_nap();
	}
	return true;
}

#endif
