// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auditlog/records.h"
#include "collector/backtrace.h"
#include "collector/collector.h"
#include "collector/crash.h"
#include "collector/container.h"
#include "collector/handover.h"
#include "collector/held.h"
#include "collector/late.h"
#include "collector/notify.h"
#include "collector/workers.h"
#include "common/cause.h"
#include "common/text.h"

#define STATE_FORMAT 1
#define CHECK_MS 10000      /* for the new binary to pass its check */
#define DRAIN_EXTRA_MS 15000 /* beyond the rescue time limit, for running rescues to end */
#define ENV_FD "FAULTGUARD_HANDOVER"
#define ENV_FAILED "FAULTGUARD_HANDOVER_FAILED"
#define MAX_KEPT 65536

enum ho_state { HO_IDLE, HO_CHECKING, HO_CHECKED, HO_DRAINING };

struct handover {
	char exe[PATH_MAX]; /* the binary's path, as it was started */
	int self_fd;        /* the running binary, for a new image that fails to take over */
	char **argv;
	enum ho_state state;
	int64_t t0_ns; /* the SIGUSR2 (CLOCK_MONOTONIC: the same in the next image) */
	int64_t drain_ns; /* when reading stopped: clients and deaths wait from here */
	int64_t deadline;
	pid_t check_pid;
	struct watch check_w; /* the check's pidfd */
	int check_out;        /* its stdout */
	char new_version[64];
};

extern char **environ;

static char failed_reason[512];
static int is_fallback;

/* --- records ------------------------------------------------------------------ */

static void audit_upgrade(struct collector *c, const char *old_v, const char *new_v,
			  unsigned int regs, const char *reason, int64_t t0_ns, int64_t drain_ns)
{
	json_object *rec = audit_record("upgrade");

	json_object_object_add(rec, "old_version", audit_str(old_v));
	json_object_object_add(rec, "new_version", new_v && *new_v ? audit_str(new_v) : NULL);
	json_object_object_add(rec, "registrations", json_object_new_int64(regs));
	json_object_object_add(rec, "status", json_object_new_string(reason ? "failed" : "ok"));
	json_object_object_add(rec, "reason", reason ? audit_str(reason) : NULL);
	json_object_object_add(rec, "ms", record_ms(t0_ns > 0 ? (mono_ns() - t0_ns) / 1000 : -1));
	/* How long nothing was read (the drain, execve, the take-over): the apps' wait. */
	json_object_object_add(rec, "paused_ms",
			       record_ms(drain_ns > 0 ? (mono_ns() - drain_ns) / 1000 : -1));
	audit_emit(c->audit, rec);
}

static void failed(struct collector *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The new binary will not take over: said, and we serve on. */
static void failed(struct collector *c, const char *fmt, ...)
{
	struct handover *h = c->handover;
	char reason[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	fprintf(stderr, "faultguardd: upgrade failed, this one serves on: %s\n", reason);
	audit_upgrade(c, FG_VERSION, h->new_version, c->nregs, reason, h->t0_ns,
		      h->state == HO_DRAINING ? h->drain_ns : 0);
	if (h->state == HO_DRAINING) {
		server_pause(c, 0);
		loop_resume(c->loop, &c->monitor_w, EPOLLIN);
		monitor_consume(c->mon); /* the deaths that waited meanwhile */
	}
	h->state = HO_IDLE;
	h->new_version[0] = '\0';
	notify_ready(c);
}

/* --- start ----------------------------------------------------------------------- */

int handover_init(struct collector *c, int argc, char **argv)
{
	struct handover *h = calloc(1, sizeof(*h));
	ssize_t n;
	char *del;
	int i;

	if (!h)
		return -ENOMEM;
	h->check_out = -1;
	h->check_w.fd = -1;
	n = readlink("/proc/self/exe", h->exe, sizeof(h->exe) - 1);
	if (n <= 0) {
		free(h);
		return -errno;
	}
	h->exe[n] = '\0';
	/* Replaced under a running image (a package upgrade): the path is what we run next. */
	del = strstr(h->exe, " (deleted)");
	if (del && !del[10])
		*del = '\0';
	h->self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	h->argv = calloc((size_t)argc + 2, sizeof(char *));
	if (!h->argv) {
		if (h->self_fd >= 0)
			close(h->self_fd);
		free(h);
		return -ENOMEM;
	}
	for (i = 0; i < argc; i++)
		h->argv[i] = argv[i];
	c->handover = h;
	return 0;
}

void handover_free(struct collector *c)
{
	struct handover *h = c->handover;

	if (!h)
		return;
	if (h->check_pid > 0) {
		kill(h->check_pid, SIGKILL);
		waitpid(h->check_pid, NULL, 0);
	}
	if (h->check_w.fd >= 0)
		close(h->check_w.fd);
	if (h->check_out >= 0)
		close(h->check_out);
	if (h->self_fd >= 0)
		close(h->self_fd);
	free(h->argv);
	free(h);
	c->handover = NULL;
}

int handover_draining(const struct collector *c)
{
	return c->handover && c->handover->state >= HO_CHECKED;
}

int64_t handover_next_deadline(const struct collector *c)
{
	const struct handover *h = c->handover;

	if (!h || h->state == HO_IDLE)
		return INT64_MAX;
	return h->state == HO_CHECKED ? 0 : h->deadline;
}

/* --- the check of the new binary ------------------------------------------------- */

static void check_reap(struct collector *c, int timed_out)
{
	struct handover *h = c->handover;
	char out[256];
	ssize_t n = 0;
	int st = 0;

	if (timed_out)
		kill(h->check_pid, SIGKILL);
	waitpid(h->check_pid, &st, 0);
	h->check_pid = 0;
	loop_del(c->loop, &h->check_w);
	close(h->check_w.fd);
	h->check_w.fd = -1;
	if (!timed_out)
		n = read(h->check_out, out, sizeof(out) - 1);
	close(h->check_out);
	h->check_out = -1;
	out[n > 0 ? n : 0] = '\0';
	out[strcspn(out, "\n")] = '\0';
	if (timed_out)
		failed(c, "the new binary %s did not pass its check within %d s", h->exe,
		       CHECK_MS / 1000);
	else if (WIFSIGNALED(st))
		failed(c, "the new binary %s was killed by %s at start", h->exe,
		       signal_name(WTERMSIG(st)));
	else if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
		failed(c, "the new binary %s cannot be executed", h->exe);
	else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		failed(c, "the new binary %s exited with status %d at start", h->exe,
		       WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	else if (strncmp(out, "faultguardd ", 12) || !out[12])
		failed(c, "the new binary %s did not say its version", h->exe);
	else {
		snprintf(h->new_version, sizeof(h->new_version), "%.63s", out + 12);
		h->state = HO_CHECKED; /* the drain begins before the next wait */
	}
}

static void on_check(struct watch *w, uint32_t events)
{
	(void)events;
	check_reap(w->data, 0);
}

void handover_request(struct collector *c)
{
	struct handover *h = c->handover;
	int out[2], err;
	sigset_t none;
	pid_t pid;

	if (!h || c->stopping)
		return;
	if (h->state != HO_IDLE) {
		fprintf(stderr, "faultguardd: SIGUSR2: an upgrade is already under way\n");
		return;
	}
	h->t0_ns = mono_ns();
	h->new_version[0] = '\0';
	if (access(h->exe, F_OK) < 0) {
		failed(c, "the new binary %s is missing", h->exe);
		return;
	}
	if (access(h->exe, X_OK) < 0) {
		failed(c, "the new binary %s is not executable", h->exe);
		return;
	}
	notify_reloading(c);
	if (pipe2(out, O_CLOEXEC) < 0) {
		failed(c, "cannot check the new binary: %s", strerror(errno));
		return;
	}
	h->argv[0] = h->exe;
	for (err = 0; h->argv[err]; err++)
		;
	h->argv[err] = "--handover-check";
	pid = fork();
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (null >= 0)
			dup2(null, 0);
		dup2(out[1], 1);
		execv(h->exe, h->argv);
		_exit(127);
	}
	h->argv[err] = NULL;
	close(out[1]);
	if (pid < 0) {
		close(out[0]);
		failed(c, "cannot check the new binary: %s", strerror(errno));
		return;
	}
	h->check_pid = pid;
	h->check_out = out[0];
	h->check_w = (struct watch){ .fd = (int)syscall(SYS_pidfd_open, pid, 0), .fn = on_check,
				     .data = c };
	if (h->check_w.fd < 0 || loop_add(c->loop, &h->check_w, EPOLLIN)) {
		if (h->check_w.fd >= 0)
			close(h->check_w.fd);
		h->check_w.fd = -1;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		h->check_pid = 0;
		close(h->check_out);
		h->check_out = -1;
		failed(c, "cannot watch the check of the new binary");
		return;
	}
	h->deadline = mono_ms() + CHECK_MS;
	h->state = HO_CHECKING;
}

int handover_check(struct collector *c)
{
	const char *why = NULL;
	int err = monitor_check(&why);

	if (err) {
		fprintf(stderr, "faultguardd: %s\n", why ? why : strerror(-err));
		return 1;
	}
	(void)c;
	printf("faultguardd %s\n", FG_VERSION);
	return fflush(stdout) ? 1 : 0;
}

/* --- the state -------------------------------------------------------------------- */

struct kept {
	int fds[MAX_KEPT];
	unsigned int n;
};

static int keep(struct kept *k, int fd)
{
	if (fd < 0 || k->n >= MAX_KEPT)
		return -1;
	k->fds[k->n++] = fd;
	return fd;
}

static int keep_cb(void *arg, int fd)
{
	return keep(arg, fd);
}

static void add_packet(void *arg, const void *p, size_t len)
{
	char *b = text_base64(p, len);

	if (b)
		json_object_array_add(arg, json_object_new_string(b));
	free(b);
}

static json_object *queued_of(const struct conn *cn)
{
	json_object *a = json_object_new_array();

	server_conn_queued(cn, add_packet, a);
	return a;
}

static json_object *reg_state(const struct reg *r, struct kept *k)
{
	json_object *o = json_object_new_object(), *g = json_object_new_array();
	int i;

	json_object_object_add(o, "pid", json_object_new_int(r->id.pid));
	json_object_object_add(o, "uid", json_object_new_int64(r->id.uid));
	json_object_object_add(o, "gid", json_object_new_int64(r->id.gid));
	for (i = 0; i < r->id.ngroups; i++)
		json_object_array_add(g, json_object_new_int64(r->id.groups[i]));
	json_object_object_add(o, "groups", g);
	json_object_object_add(o, "comm", json_object_new_string(r->id.comm));
	json_object_object_add(o, "start_ticks", json_object_new_int64((int64_t)r->id.start_ticks));
	json_object_object_add(o, "pidfd", json_object_new_int(keep(k, r->pidfd)));
	json_object_object_add(o, "memfd", json_object_new_int(keep(k, r->memfd)));
	json_object_object_add(o, "size", json_object_new_int64((int64_t)r->dict_size));
	json_object_object_add(o, "app", json_object_new_string(r->app));
	json_object_object_add(o, "argv", audit_argv(r->argv));
	json_object_object_add(o, "flags", json_object_new_int64(r->flags));
	json_object_object_add(o, "registered_ms", json_object_new_int64(r->registered_ms));
	/* What registration proved of where the app lives (container.h), and a container's fds. */
	json_object_object_add(o, "ns_pid", json_object_new_int(r->id.ns_pid));
	json_object_object_add(o, "on_host", json_object_new_int(r->id.on_host));
	json_object_object_add(o, "cgroup", json_object_new_string(r->id.cgroup));
	if (r->ct) {
		json_object *ct = json_object_new_object();

		json_object_object_add(ct, "mnt", json_object_new_int(keep(k, r->ct->ns.mnt)));
		json_object_object_add(ct, "uts", json_object_new_int(keep(k, r->ct->ns.uts)));
		json_object_object_add(ct, "ipc", json_object_new_int(keep(k, r->ct->ns.ipc)));
		json_object_object_add(ct, "net", json_object_new_int(keep(k, r->ct->ns.net)));
		json_object_object_add(ct, "pid", json_object_new_int(keep(k, r->ct->ns.pid)));
		json_object_object_add(ct, "root", json_object_new_int(keep(k, r->ct->ns.root)));
		json_object_object_add(o, "ct", ct);
	}
	if (r->conn && !server_conn_busy(r->conn)) {
		json_object_object_add(o, "conn", json_object_new_int(keep(k, server_conn_fd(r->conn))));
		json_object_object_add(o, "queued", queued_of(r->conn));
	} else {
		json_object_object_add(o, "conn", json_object_new_int(-1));
	}
	return o;
}

static json_object *state_of(struct collector *c, struct kept *k)
{
	struct handover *h = c->handover;
	json_object *o = json_object_new_object(), *regs = json_object_new_array();
	json_object *conns = json_object_new_array();
	const struct conn *cn = NULL;
	uint32_t b;

	json_object_object_add(o, "format", json_object_new_int(STATE_FORMAT));
	json_object_object_add(o, "version", json_object_new_string(FG_VERSION));
	json_object_object_add(o, "new_version", json_object_new_string(h->new_version));
	json_object_object_add(o, "t0_ns", json_object_new_int64(h->t0_ns));
	json_object_object_add(o, "drain_ns", json_object_new_int64(h->drain_ns));
	json_object_object_add(o, "self_fd", json_object_new_int(keep(k, h->self_fd)));
	/* What the old binary runs with again if the new image cannot take over. */
	json_object_object_add(o, "argv", audit_argv(h->argv));
	json_object_object_add(o, "listen_fd", json_object_new_int(keep(k, c->listen_w.fd)));
	for (b = 0; b < c->reg_buckets; b++)
		for (const struct reg *r = c->regs[b]; r; r = r->hash_next)
			json_object_array_add(regs, reg_state(r, k));
	json_object_object_add(o, "regs", regs);
	while ((cn = server_conn_next(c, cn))) {
		json_object *x;

		if (server_conn_reg(cn) || server_conn_busy(cn))
			continue; /* with its registration; a query half answered ends */
		x = json_object_new_object();
		json_object_object_add(x, "fd", json_object_new_int(keep(k, server_conn_fd(cn))));
		json_object_object_add(x, "queued", queued_of(cn));
		json_object_array_add(conns, x);
	}
	json_object_object_add(o, "conns", conns);
	json_object_object_add(o, "rescues", rescue_handover_save(c, keep_cb, k));
	return o;
}

static int state_memfd(json_object *st)
{
	const char *text = json_object_to_json_string_ext(st, JSON_C_TO_STRING_PLAIN);
	size_t len = strlen(text), off = 0;
	int fd = memfd_create("faultguardd-handover", 0); /* no CLOEXEC: for the next image */

	if (fd < 0)
		return -errno;
	while (off < len) {
		ssize_t n = write(fd, text + off, len - off);

		if (n < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
		off += (size_t)n;
	}
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static void set_cloexec(const struct kept *k, int on)
{
	unsigned int i;

	for (i = 0; i < k->n; i++)
		fcntl(k->fds[i], F_SETFD, on ? FD_CLOEXEC : 0);
}

/* Drained: the state goes to the new image. Returns only when execve failed. */
static void do_exec(struct collector *c)
{
	struct handover *h = c->handover;
	struct kept *k = calloc(1, sizeof(*k));
	char num[16];
	json_object *st;
	int fd, err;

	if (!k) {
		failed(c, "out of memory");
		return;
	}
	/* Records still waiting for a backtrace go out; the threads end (execve would kill them). */
	backtrace_flush(c);
	workers_drain(c);
	st = state_of(c, k);
	fd = state_memfd(st);
	json_object_put(st);
	if (fd < 0) {
		free(k);
		failed(c, "cannot write the state for the new binary: %s", strerror(-fd));
		return;
	}
	backtrace_free(c);
	workers_free(c);
	set_cloexec(k, 0);
	snprintf(num, sizeof(num), "%d", fd);
	setenv(ENV_FD, num, 1);
	h->argv[0] = h->exe;
	fflush(NULL);
	execv(h->exe, h->argv);
	err = errno;
	/* Still us: everything goes back as it was. */
	unsetenv(ENV_FD);
	set_cloexec(k, 1);
	close(fd);
	free(k);
	if (workers_new(c) || backtrace_init(c))
		fprintf(stderr, "faultguardd: cannot restart the worker threads after a failed "
				"upgrade\n");
	failed(c, "cannot execute the new binary %s: %s", h->exe, strerror(err));
}

void handover_poll(struct collector *c)
{
	struct handover *h = c->handover;

	if (!h || h->state == HO_IDLE)
		return;
	if (h->state == HO_CHECKING) {
		if (mono_ms() >= h->deadline)
			check_reap(c, 1);
		return;
	}
	if (h->state == HO_CHECKED) {
		if (held_count(c)) {
			failed(c, "%u snapshots are held in memory (the disk refuses them)",
			       held_count(c));
			return;
		}
		/* Nothing more is read: connections and deaths wait for the new image. */
		h->drain_ns = mono_ns();
		server_pause(c, 1);
		loop_pause(c->loop, &c->monitor_w);
		h->state = HO_DRAINING;
		h->deadline = mono_ms() + (int64_t)c->cfg.rescue_timeout_s * 1000 + DRAIN_EXTRA_MS;
	}
	/* Running and queued rescues carry over; a crash under way ends first (its records). */
	if (crash_in_progress(c)) {
		if (mono_ms() >= h->deadline)
			failed(c, "the crashes under way did not end in time");
		return;
	}
	do_exec(c);
}

/* --- the new image ------------------------------------------------------------------ */

static int incoming_fd = -1;

int handover_incoming(void)
{
	const char *v = getenv(ENV_FD), *f = getenv(ENV_FAILED);
	char *end;
	long fd;

	if (!v)
		return -1;
	fd = strtol(v, &end, 10);
	unsetenv(ENV_FD);
	if (f) {
		snprintf(failed_reason, sizeof(failed_reason), "%s", f);
		is_fallback = 1;
		unsetenv(ENV_FAILED);
	}
	if (*end || fd < 3 || fcntl((int)fd, F_GETFD) < 0)
		return -1;
	fcntl((int)fd, F_SETFD, FD_CLOEXEC);
	incoming_fd = (int)fd;
	return incoming_fd;
}

static json_object *read_state(int fd)
{
	struct stat sb;
	json_object *o = NULL;
	char *buf;

	if (fstat(fd, &sb) < 0 || sb.st_size <= 0 || sb.st_size > (64 << 20))
		return NULL;
	buf = malloc((size_t)sb.st_size + 1);
	if (buf && pread(fd, buf, (size_t)sb.st_size, 0) == sb.st_size) {
		buf[sb.st_size] = '\0';
		o = json_tokener_parse(buf);
	}
	free(buf);
	return o;
}

static long long jint(json_object *o, const char *key, long long dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : dflt;
}

static const char *jstring(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static char **argv_of(json_object *a);
static void free_argv(char **argv);

void handover_fallback(int fd, const char *why)
{
	json_object *st, *a = NULL;
	char num[16], **argv;
	int self;

	if (fd < 0 || is_fallback)
		return; /* the old binary failed too: the pins keep watching for the next start */
	st = read_state(fd);
	self = st ? (int)jint(st, "self_fd", -1) : -1;
	/* The old image's own flags: the new one may have been started with others. */
	argv = st && json_object_object_get_ex(st, "argv", &a) ? argv_of(a) : NULL;
	json_object_put(st);
	if (!argv || !argv[0] || self < 0 || fcntl(self, F_GETFD) < 0) {
		free_argv(argv);
		return;
	}
	fprintf(stderr, "faultguardd: the new binary cannot take over (%s): the old one does\n",
		why);
	fcntl(fd, F_SETFD, 0);
	snprintf(num, sizeof(num), "%d", fd);
	setenv(ENV_FD, num, 1);
	setenv(ENV_FAILED, why, 1);
	fflush(NULL);
	fexecve(self, argv, environ);
	unsetenv(ENV_FD);
	unsetenv(ENV_FAILED);
	free_argv(argv);
}

static char **argv_of(json_object *a)
{
	size_t n, i;
	char **argv;

	if (!a || !json_object_is_type(a, json_type_array))
		return NULL;
	n = json_object_array_length(a);
	argv = calloc(n + 1, sizeof(char *));
	for (i = 0; argv && i < n; i++)
		argv[i] = strdup(json_object_get_string(json_object_array_get_idx(a, i)) ?: "");
	return argv;
}

static void free_argv(char **argv)
{
	for (size_t i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static void send_queued(struct conn *cn, json_object *q)
{
	size_t i, n = q && json_object_is_type(q, json_type_array) ? json_object_array_length(q) : 0;

	for (i = 0; i < n; i++) {
		unsigned char *p = NULL;
		size_t len = 0;

		if (!text_unbase64(json_object_get_string(json_object_array_get_idx(q, i)), &p, &len))
			server_send(cn, p, len);
		free(p);
	}
}

static void close_if(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* A container's namespace and root fds back (close-on-exec again); NULL for an app on the host. */
static struct container *restore_container(json_object *o)
{
	struct container *ct;
	json_object *j;

	if (!json_object_object_get_ex(o, "ct", &j) || !j)
		return NULL;
	ct = malloc(sizeof(*ct));
	if (!ct)
		return NULL; /* then treated as a container whose namespaces are gone: refused */
	ct->ns.mnt = (int)jint(j, "mnt", -1);
	ct->ns.uts = (int)jint(j, "uts", -1);
	ct->ns.ipc = (int)jint(j, "ipc", -1);
	ct->ns.net = (int)jint(j, "net", -1);
	ct->ns.pid = (int)jint(j, "pid", -1);
	ct->ns.root = (int)jint(j, "root", -1);
	fcntl(ct->ns.mnt, F_SETFD, FD_CLOEXEC);
	fcntl(ct->ns.uts, F_SETFD, FD_CLOEXEC);
	fcntl(ct->ns.ipc, F_SETFD, FD_CLOEXEC);
	fcntl(ct->ns.net, F_SETFD, FD_CLOEXEC);
	fcntl(ct->ns.pid, F_SETFD, FD_CLOEXEC);
	fcntl(ct->ns.root, F_SETFD, FD_CLOEXEC);
	return ct;
}

/* One registration back, with its connection (or its hang-up); 1 when taken. */
static int restore_reg(struct collector *c, json_object *o, struct reg **hung)
{
	struct container *ct;
	struct identity id = { 0 };
	json_object *g = NULL;
	const char *why = NULL, *app = jstring(o, "app"), *comm = jstring(o, "comm");
	int pidfd = (int)jint(o, "pidfd", -1), memfd = (int)jint(o, "memfd", -1);
	int conn = (int)jint(o, "conn", -1), i, n;
	char **argv;
	struct reg *r;
	json_object *a;

	id.pid = (pid_t)jint(o, "pid", 0);
	id.uid = (uid_t)jint(o, "uid", -1);
	id.gid = (gid_t)jint(o, "gid", -1);
	id.start_ticks = (uint64_t)jint(o, "start_ticks", 0);
	snprintf(id.comm, sizeof(id.comm), "%s", comm ? comm : "");
	if (json_object_object_get_ex(o, "groups", &g) && json_object_is_type(g, json_type_array)) {
		n = (int)json_object_array_length(g);
		id.ngroups = n > FG_MAX_GROUPS ? FG_MAX_GROUPS : n;
		for (i = 0; i < id.ngroups; i++)
			id.groups[i] = (gid_t)json_object_get_int64(json_object_array_get_idx(g, i));
	}
	id.ns_pid = (pid_t)jint(o, "ns_pid", 0);
	id.on_host = (int)jint(o, "on_host", 0);
	snprintf(id.cgroup, sizeof(id.cgroup), "%s", jstring(o, "cgroup") ? jstring(o, "cgroup") : "");
	ct = restore_container(o);
	fcntl(pidfd, F_SETFD, FD_CLOEXEC);
	fcntl(memfd, F_SETFD, FD_CLOEXEC);
	argv = json_object_object_get_ex(o, "argv", &a) ? argv_of(a) : NULL;
	if (!app || pidfd < 0 || memfd < 0 ||
	    registry_add(c, &id, pidfd, memfd, (uint64_t)jint(o, "size", 0), app, argv, ct,
			 (uint32_t)jint(o, "flags", 0), NULL, &r, &why) < 0) {
		fprintf(stderr, "faultguardd: pid %d's registration was not taken over: %s\n",
			(int)id.pid, why ? why : "the state is incomplete");
		close_if(pidfd);
		close_if(memfd);
		close_if(conn);
		free_argv(argv);
		container_free(ct);
		return 0;
	}
	r->registered_ms = jint(o, "registered_ms", r->registered_ms);
	late_note(c, r);
	if (conn >= 0) {
		struct conn *cn = server_adopt(c, conn, r);

		if (cn && json_object_object_get_ex(o, "queued", &a))
			send_queued(cn, a);
	}
	if (!r->conn) {
		r->hup_next = *hung; /* its hang-up is looked at once all are back */
		*hung = r;
	}
	return 1;
}

int handover_restore(struct collector *c, int fd, const char **why)
{
	json_object *st = read_state(fd), *regs = NULL, *conns = NULL, *rescues = NULL;
	struct reg *hung = NULL, *r, *next;
	unsigned int taken = 0;
	int listen_fd, self;
	size_t i, n;

	if (!st || jint(st, "format", 0) != STATE_FORMAT ||
	    !json_object_object_get_ex(st, "regs", &regs) ||
	    !json_object_object_get_ex(st, "conns", &conns) ||
	    (listen_fd = (int)jint(st, "listen_fd", -1)) < 0 || fcntl(listen_fd, F_GETFD) < 0) {
		json_object_put(st);
		*why = "the state handed over cannot be read";
		handover_fallback(fd, *why);
		return -EINVAL;
	}
	fcntl(listen_fd, F_SETFD, FD_CLOEXEC);
	if (server_adopt_listen(c, listen_fd)) {
		json_object_put(st);
		*why = "cannot watch the socket handed over";
		handover_fallback(fd, *why);
		return -EIO;
	}
	n = json_object_array_length(regs);
	for (i = 0; i < n; i++)
		taken += (unsigned int)restore_reg(c, json_object_array_get_idx(regs, i), &hung);
	n = json_object_array_length(conns);
	for (i = 0; i < n; i++) {
		json_object *o = json_object_array_get_idx(conns, i), *q;
		int cfd = (int)jint(o, "fd", -1);
		struct conn *cn = cfd >= 0 ? server_adopt(c, cfd, NULL) : NULL;

		if (cn && json_object_object_get_ex(o, "queued", &q))
			send_queued(cn, q);
	}
	rescue_handover_restore(c, json_object_object_get_ex(st, "rescues", &rescues) ? rescues : NULL);
	self = (int)jint(st, "self_fd", -1);
	if (self >= 0)
		close(self);
	/* Every registration is back: hang-ups, then the deaths queued meanwhile. */
	for (r = hung; r; r = next) {
		next = r->hup_next;
		r->hup_next = NULL;
		ending_on_hangup(c, r);
	}
	monitor_drain_adopted(c->mon);
	late_sweep(c);
	if (is_fallback)
		audit_upgrade(c, FG_VERSION, jstring(st, "new_version"), taken, failed_reason,
			      jint(st, "t0_ns", 0), jint(st, "drain_ns", 0));
	else
		audit_upgrade(c, jstring(st, "version"), FG_VERSION, taken, NULL,
			      jint(st, "t0_ns", 0), jint(st, "drain_ns", 0));
	if (c->cfg.verbose)
		fprintf(stderr, "faultguardd: took over %u registrations\n", taken);
	json_object_put(st);
	close(fd);
	incoming_fd = -1;
	return 0;
}
