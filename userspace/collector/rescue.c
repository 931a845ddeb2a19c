// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Rescue commands. Each runs as the app's own user — setgroups, setresgid,
 * setresuid, in that order, each checked — in a new session, with stdin
 * /dev/null, stdout and stderr into a pipe the loop reads (the first 4 KiB
 * go into the audit record), a clean environment plus the FAULTGUARD_*
 * variables, and never through a shell. A timer SIGKILLs the whole session
 * at the time limit. At most rescue_concurrency run at once; the rest wait
 * in order, and none of it blocks the next crash's snapshot.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auditlog/records.h"
#include "collector/backtrace.h"
#include "collector/collector.h"
#include "collector/container.h"
#include "collector/crash.h"
#include "spawn/rescue_env.h"
#include "spawn/user_spawn.h"
#include "collector/ops.h"

#define OUTPUT_MAX 4096
#define DRAIN_BUDGET (64 * 1024) /* output bytes read per wake-up */

struct rescue {
	struct collector *c;
	struct rescue_request *req;
	pid_t pid;
	struct watch pid_w;
	struct watch out_w;
	struct watch timer_w;
	char out[OUTPUT_MAX];
	size_t out_len;
	int64_t start_ns;
	int timed_out;
	struct rescue *next, *prev;
};

struct rescue_queue {
	struct rescue *running;
	unsigned int nrunning;
	struct rescue_request **pending; /* a ring */
	size_t head, count, cap;
};

int rescue_init(struct collector *c)
{
	c->rescues = calloc(1, sizeof(*c->rescues));
	return c->rescues ? 0 : -ENOMEM;
}

static void request_free(struct rescue_request *req)
{
	size_t i;

	if (!req)
		return;
	for (i = 0; req->argv && req->argv[i]; i++)
		free(req->argv[i]);
	free(req->argv);
	if (req->snap_fd >= 0)
		close(req->snap_fd);
	container_free(req->ct);
	crash_put(req->cr);
	free(req);
}

unsigned int rescue_running(const struct collector *c)
{
	return c->rescues ? c->rescues->nrunning : 0;
}

unsigned int rescue_queued(const struct collector *c)
{
	return c->rescues ? (unsigned int)c->rescues->count : 0;
}

/* @us, @latency_us in microseconds; -1: null. */
static void audit_rescue(struct collector *c, const struct rescue_request *req, const char *status,
			 int exit_code, int sig, int64_t us, int64_t latency_us, const char *out,
			 size_t out_len)
{
	struct rescue_facts f = {
		.id = req->id,
		.app = req->app,
		.status = status,
		.pid = req->pid,
		.argv = req->argv,
		.exit_code = exit_code,
		.signal = sig,
		.us = us,
		.latency_us = latency_us,
		.output = out,
		.output_len = out_len,
	};
	json_object *rec = record_rescue(&f);

	if (req->cr)
		crash_rescue_record(req->cr, rec);
	else
		backtrace_emit(c, req->id, rec);
}

static void rescue_release(void *p)
{
	struct rescue *r = p;

	request_free(r->req);
	free(r);
}

static void pump_queue(struct collector *c);

static void close_output(struct rescue *r)
{
	loop_del(r->c->loop, &r->out_w);
	close(r->out_w.fd);
	r->out_w.fd = -1;
}

/*
 * Reads at most @budget bytes of the command's output: a command that
 * writes without end must not keep the loop from everything else. The
 * first OUTPUT_MAX bytes are kept, the rest read and dropped.
 */
static void drain_output(struct rescue *r, size_t budget)
{
	char buf[4096];
	ssize_t n;

	while (r->out_w.fd >= 0 && budget) {
		n = read(r->out_w.fd, buf, sizeof(buf) < budget ? sizeof(buf) : budget);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n <= 0) {
			close_output(r);
			return;
		}
		budget -= (size_t)n;
		if (r->out_len < OUTPUT_MAX) {
			size_t take = (size_t)n < OUTPUT_MAX - r->out_len ? (size_t)n
									     : OUTPUT_MAX - r->out_len;

			memcpy(r->out + r->out_len, buf, take);
			r->out_len += take;
		}
	}
}

static void finish(struct rescue *r, int wstatus)
{
	struct collector *c = r->c;
	struct rescue_queue *q = c->rescues;
	int64_t us = (mono_ns() - r->start_ns) / 1000;
	int64_t latency = (r->start_ns - r->req->death_mono_ns) / 1000;
	const char *status;
	int code = -1, sig = -1;

	/* What the command wrote before it ended; a descendant still writing is cut off. */
	drain_output(r, DRAIN_BUDGET);
	if (r->out_w.fd >= 0)
		close_output(r);
	if (WIFEXITED(wstatus)) {
		code = WEXITSTATUS(wstatus);
		status = code == 0 ? "ok" : "failed";
	} else {
		sig = WTERMSIG(wstatus);
		status = "failed";
	}
	if (r->timed_out)
		status = "timeout";
	audit_rescue(c, r->req, status, code, sig, us, latency < 0 ? 0 : latency, r->out,
		     r->out_len);
	loop_del(c->loop, &r->pid_w);
	close(r->pid_w.fd);
	loop_del(c->loop, &r->timer_w);
	close(r->timer_w.fd);
	if (r->out_w.fd >= 0) {
		loop_del(c->loop, &r->out_w);
		close(r->out_w.fd);
	}
	if (r->prev)
		r->prev->next = r->next;
	else
		q->running = r->next;
	if (r->next)
		r->next->prev = r->prev;
	q->nrunning--;
	loop_defer_free(c->loop, r, rescue_release);
	pump_queue(c);
	if (c->stopping && !q->nrunning && !crash_in_progress(c))
		loop_stop(c->loop);
}

static void on_exit_pidfd(struct watch *w, uint32_t events)
{
	struct rescue *r = w->data;
	siginfo_t si = { 0 };
	int wstatus;

	(void)events;
	if (waitid(P_PIDFD, (id_t)w->fd, &si, WEXITED | WNOHANG) < 0 || si.si_pid == 0)
		return;
	if (si.si_code == CLD_EXITED)
		wstatus = (si.si_status & 0xff) << 8;
	else
		wstatus = si.si_status & 0x7f;
	finish(r, wstatus);
}

static void on_output(struct watch *w, uint32_t events)
{
	(void)events;
	drain_output(w->data, DRAIN_BUDGET);
}

static void on_timeout(struct watch *w, uint32_t events)
{
	struct rescue *r = w->data;
	uint64_t ticks;

	(void)events;
	(void)!read(w->fd, &ticks, sizeof(ticks));
	r->timed_out = 1;
	/* The command leads its own session: end all of it. */
	kill(-r->pid, SIGKILL);
	kill(r->pid, SIGKILL);
}

static int spawn(struct collector *c, struct rescue *r, char *why, size_t why_len)
{
	struct rescue_request *req = r->req;
	struct itimerspec its = { .it_value.tv_sec = c->cfg.rescue_timeout_s };
	/*
	 * In a container the state directory is not there: the snapshot goes
	 * in as fd 3, FAULTGUARD_SNAPSHOT its /proc/PID/fd/3 in the container.
	 */
	int file_fd = req->ct && req->snap_fd < 0 && req->snapshot[0]
			      ? open(req->snapshot, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
			      : -1;
	int pass_fd = req->snap_fd >= 0 ? req->snap_fd : file_fd;
	struct rescue_env re = {
		/* Passed as fd 3: user_spawn sets it to /proc/PID/fd/3 in the command itself. */
		.snapshot = pass_fd >= 0 ? "" : req->snapshot,
		.stored = req->stored,
		.id = req->id,
		.app = req->app,
		.cause = req->cause,
		.pid = req->pid,
		.uid = req->uid,
		.signal = req->signal,
		.exit_code = req->exit_code,
	};
	char *env[RESCUE_ENV_COUNT + 2], store[8192];
	struct user_spawn u = {
		.uid = req->uid,
		.gid = req->gid,
		.ngroups = req->ngroups,
		.groups = req->groups,
		.argv = req->argv,
		.extra_env = env,
		.pass_fd = pass_fd,
		.fd_path_var = pass_fd >= 0 ? "FAULTGUARD_SNAPSHOT" : NULL,
		.ns = req->ct ? &req->ct->ns : NULL,
	};
	int out[2], err;

	if (req->ct && req->snapshot[0] && req->snap_fd < 0 && file_fd < 0) {
		err = -errno;
		snprintf(why, why_len, "cannot open the snapshot for the container's rescue (%s)",
			 strerror(-err));
		return err;
	}
	if (rescue_env_format(&re, env, store, sizeof(store)) || pipe2(out, O_CLOEXEC) < 0) {
		err = errno == EMFILE || errno == ENFILE ? -errno : -E2BIG;
		if (file_fd >= 0)
			close(file_fd);
		return err;
	}
	env[RESCUE_ENV_COUNT] = req->autosave ? "FAULTGUARD_AUTOSAVE=1" : NULL;
	env[RESCUE_ENV_COUNT + 1] = NULL;
	u.out_fd = out[1];
	r->start_ns = mono_ns();
	err = user_spawn_why(&u, &r->pid, why, why_len);
	close(out[1]);
	if (file_fd >= 0)
		close(file_fd);
	if (err) {
		close(out[0]);
		return err;
	}
	fcntl(out[0], F_SETFL, O_NONBLOCK);
	r->out_w = (struct watch){ .fd = out[0], .fn = on_output, .data = r };
	r->pid_w = (struct watch){ .fd = (int)syscall(SYS_pidfd_open, r->pid, 0),
				   .fn = on_exit_pidfd, .data = r };
	r->timer_w = (struct watch){ .fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC),
				     .fn = on_timeout, .data = r };
	if (r->pid_w.fd < 0 || r->timer_w.fd < 0 || timerfd_settime(r->timer_w.fd, 0, &its, NULL) ||
	    loop_add(c->loop, &r->out_w, EPOLLIN) || loop_add(c->loop, &r->pid_w, EPOLLIN) ||
	    loop_add(c->loop, &r->timer_w, EPOLLIN)) {
		/* Cannot supervise it: do not leave it running unsupervised. */
		kill(-r->pid, SIGKILL);
		waitpid(r->pid, NULL, 0);
		loop_del(c->loop, &r->out_w);
		loop_del(c->loop, &r->pid_w);
		loop_del(c->loop, &r->timer_w);
		close(out[0]);
		if (r->pid_w.fd >= 0)
			close(r->pid_w.fd);
		if (r->timer_w.fd >= 0)
			close(r->timer_w.fd);
		return -EMFILE;
	}
	return 0;
}

static void run_now(struct collector *c, struct rescue_request *req)
{
	struct rescue_queue *q = c->rescues;
	struct rescue *r = calloc(1, sizeof(*r));
	char why[512];
	int err;

	if (!r) {
		audit_rescue(c, req, "spawn_error", -1, -1, -1, -1, "out of memory", 13);
		request_free(req);
		return;
	}
	r->c = c;
	r->req = req;
	why[0] = '\0';
	/* Never the case (a container's registration keeps them), and never run on the host. */
	if (!req->on_host && !req->ct) {
		snprintf(why, sizeof(why), "the app ran in a container whose namespaces were not "
					   "kept; the rescue command is not run on the host");
		err = -EXDEV;
	} else {
		err = spawn(c, r, why, sizeof(why));
	}
	if (err) {
		const char *msg = why[0] ? why : strerror(-err);

		audit_rescue(c, req, "spawn_error", -1, -1, 0,
			     (mono_ns() - req->death_mono_ns) / 1000, msg, strlen(msg));
		rescue_release(r);
		return;
	}
	r->next = q->running;
	if (q->running)
		q->running->prev = r;
	q->running = r;
	q->nrunning++;
}

static void pump_queue(struct collector *c)
{
	struct rescue_queue *q = c->rescues;

	while (q->count && q->nrunning < c->cfg.rescue_concurrency) {
		struct rescue_request *req = q->pending[q->head];

		q->head = (q->head + 1) % q->cap;
		q->count--;
		run_now(c, req);
	}
}

static int enqueue(struct rescue_queue *q, struct rescue_request *req)
{
	if (q->count == q->cap) {
		size_t cap = q->cap ? q->cap * 2 : 64, i;
		struct rescue_request **n = malloc(cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		for (i = 0; i < q->count; i++)
			n[i] = q->pending[(q->head + i) % q->cap];
		free(q->pending);
		q->pending = n;
		q->head = 0;
		q->cap = cap;
	}
	q->pending[(q->head + q->count) % q->cap] = req;
	q->count++;
	return 0;
}

void rescue_start(struct collector *c, struct rescue_request *req)
{
	if (!req->argv) {
		audit_rescue(c, req, "none", -1, -1, -1, -1, NULL, 0);
		request_free(req);
		return;
	}
	/* A crash loop: the snapshot is kept, the command does not run again. */
	if (!ops_rescue_allowed(c, req->uid, req->app)) {
		audit_rescue(c, req, "rate_limited", -1, -1, -1, -1, NULL, 0);
		request_free(req);
		return;
	}
	if (enqueue(c->rescues, req)) {
		audit_rescue(c, req, "spawn_error", -1, -1, -1, -1, "out of memory", 13);
		request_free(req);
		return;
	}
	pump_queue(c);
}

int rescue_holds(const struct collector *c, const char *path)
{
	const struct rescue_queue *q = c->rescues;
	const struct rescue *r;
	size_t i;

	if (!q)
		return 0;
	for (r = q->running; r; r = r->next)
		if (!strcmp(r->req->snapshot, path))
			return 1;
	for (i = 0; i < q->count; i++)
		if (!strcmp(q->pending[(q->head + i) % q->cap]->snapshot, path))
			return 1;
	return 0;
}

void rescue_free(struct collector *c)
{
	struct rescue_queue *q = c->rescues;

	if (!q)
		return;
	/* Running rescues are left to finish on their own; their records are lost. */
	while (q->running) {
		struct rescue *r = q->running;

		q->running = r->next;
		close(r->pid_w.fd);
		close(r->timer_w.fd);
		if (r->out_w.fd >= 0)
			close(r->out_w.fd);
		rescue_release(r);
	}
	while (q->count) {
		request_free(q->pending[q->head]);
		q->head = (q->head + 1) % q->cap;
		q->count--;
	}
	free(q->pending);
	free(q);
	c->rescues = NULL;
}

/* --- the hand-over (handover.c): running and queued rescues carry over ------ */

static const char *const known_causes[] = {
	"segfault", "bus_error", "abort",  "illegal_instruction", "fp_exception", "trap",
	"oom_killed", "killed",  "terminated", "signal",          "exit_error",   "unknown",
};

static const char *cause_intern(const char *s)
{
	size_t i;

	for (i = 0; s && i < sizeof(known_causes) / sizeof(known_causes[0]); i++)
		if (!strcmp(s, known_causes[i]))
			return known_causes[i];
	return "signal";
}

static long long jget(json_object *o, const char *key, long long dflt)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : dflt;
}

static const char *jgets(json_object *o, const char *key)
{
	json_object *v;

	return json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static json_object *request_state(const struct rescue_request *req, int (*keep)(void *, int),
				  void *arg)
{
	json_object *o = json_object_new_object(), *g = json_object_new_array();
	int i;

	json_object_object_add(o, "id", json_object_new_string(req->id));
	json_object_object_add(o, "app", json_object_new_string(req->app));
	json_object_object_add(o, "pid", json_object_new_int(req->pid));
	json_object_object_add(o, "uid", json_object_new_int64(req->uid));
	json_object_object_add(o, "gid", json_object_new_int64(req->gid));
	for (i = 0; i < req->ngroups; i++)
		json_object_array_add(g, json_object_new_int64(req->groups[i]));
	json_object_object_add(o, "groups", g);
	json_object_object_add(o, "argv", audit_argv(req->argv));
	json_object_object_add(o, "no_snapshot", json_object_new_int(req->no_snapshot));
	json_object_object_add(o, "snapshot", json_object_new_string(req->snapshot));
	json_object_object_add(o, "snap_fd",
			       json_object_new_int(req->snap_fd >= 0 ? keep(arg, req->snap_fd) : -1));
	json_object_object_add(o, "stored", json_object_new_string(req->stored ? req->stored : "disk"));
	json_object_object_add(o, "autosave", json_object_new_int(req->autosave));
	json_object_object_add(o, "cause", json_object_new_string(req->cause ? req->cause : "signal"));
	json_object_object_add(o, "signal", json_object_new_int(req->signal));
	json_object_object_add(o, "exit_code", json_object_new_int(req->exit_code));
	json_object_object_add(o, "death_mono_ns", json_object_new_int64(req->death_mono_ns));
	return o;
}

json_object *rescue_handover_save(struct collector *c, int (*keep)(void *arg, int fd), void *arg)
{
	struct rescue_queue *q = c->rescues;
	json_object *o = json_object_new_object(), *run = json_object_new_array();
	json_object *queued = json_object_new_array();
	const struct rescue *r;
	size_t i;

	for (r = q->running; r; r = r->next) {
		json_object *x = json_object_new_object();

		json_object_object_add(x, "req", request_state(r->req, keep, arg));
		json_object_object_add(x, "pid", json_object_new_int(r->pid));
		json_object_object_add(x, "pidfd", json_object_new_int(keep(arg, r->pid_w.fd)));
		json_object_object_add(x, "timer_fd", json_object_new_int(keep(arg, r->timer_w.fd)));
		json_object_object_add(x, "out_fd", json_object_new_int(r->out_w.fd >= 0
										 ? keep(arg, r->out_w.fd)
										 : -1));
		json_object_object_add(x, "out", json_object_new_string_len(r->out, (int)r->out_len));
		json_object_object_add(x, "start_ns", json_object_new_int64(r->start_ns));
		json_object_object_add(x, "timed_out", json_object_new_int(r->timed_out));
		json_object_array_add(run, x);
	}
	for (i = 0; i < q->count; i++)
		json_object_array_add(queued,
				      request_state(q->pending[(q->head + i) % q->cap], keep, arg));
	json_object_object_add(o, "running", run);
	json_object_object_add(o, "queued", queued);
	return o;
}

static struct rescue_request *request_of(json_object *o)
{
	struct rescue_request *req = calloc(1, sizeof(*req));
	json_object *g, *a;
	size_t i, n;

	if (!req)
		return NULL;
	snprintf(req->id, sizeof(req->id), "%s", jgets(o, "id") ?: "");
	snprintf(req->app, sizeof(req->app), "%s", jgets(o, "app") ?: "");
	req->pid = (pid_t)jget(o, "pid", 0);
	req->uid = (uid_t)jget(o, "uid", -1);
	req->gid = (gid_t)jget(o, "gid", -1);
	if (json_object_object_get_ex(o, "groups", &g) && json_object_is_type(g, json_type_array)) {
		n = json_object_array_length(g);
		req->ngroups = n > FG_MAX_GROUPS ? FG_MAX_GROUPS : (int)n;
		for (i = 0; i < (size_t)req->ngroups; i++)
			req->groups[i] = (gid_t)json_object_get_int64(json_object_array_get_idx(g, i));
	}
	if (json_object_object_get_ex(o, "argv", &a) && json_object_is_type(a, json_type_array)) {
		n = json_object_array_length(a);
		req->argv = calloc(n + 1, sizeof(char *));
		for (i = 0; req->argv && i < n; i++)
			req->argv[i] = strdup(json_object_get_string(json_object_array_get_idx(a, i)) ?: "");
	}
	req->no_snapshot = (int)jget(o, "no_snapshot", 0);
	snprintf(req->snapshot, sizeof(req->snapshot), "%s", jgets(o, "snapshot") ?: "");
	req->snap_fd = (int)jget(o, "snap_fd", -1);
	if (req->snap_fd >= 0)
		fcntl(req->snap_fd, F_SETFD, FD_CLOEXEC);
	req->stored = jgets(o, "stored") && !strcmp(jgets(o, "stored"), "memory") ? "memory" : "disk";
	req->autosave = (int)jget(o, "autosave", 0);
	req->cause = cause_intern(jgets(o, "cause"));
	req->signal = (int)jget(o, "signal", 0);
	req->exit_code = (int)jget(o, "exit_code", -1);
	req->death_mono_ns = jget(o, "death_mono_ns", 0);
	return req;
}

static int adopt_fd(int fd)
{
	if (fd >= 0)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
	return fd;
}

void rescue_handover_restore(struct collector *c, json_object *o)
{
	struct rescue_queue *q = c->rescues;
	json_object *run = NULL, *queued = NULL;
	size_t i, n;

	if (!o)
		return;
	json_object_object_get_ex(o, "running", &run);
	json_object_object_get_ex(o, "queued", &queued);
	n = run && json_object_is_type(run, json_type_array) ? json_object_array_length(run) : 0;
	for (i = 0; i < n; i++) {
		json_object *x = json_object_array_get_idx(run, i), *req_o = NULL, *out;
		struct rescue *r = calloc(1, sizeof(*r));
		const char *text;

		json_object_object_get_ex(x, "req", &req_o);
		if (!r || !req_o || !(r->req = request_of(req_o))) {
			free(r);
			continue;
		}
		r->c = c;
		r->pid = (pid_t)jget(x, "pid", 0);
		r->start_ns = jget(x, "start_ns", 0);
		r->timed_out = (int)jget(x, "timed_out", 0);
		if (json_object_object_get_ex(x, "out", &out) && (text = json_object_get_string(out))) {
			size_t len = (size_t)json_object_get_string_len(out);

			r->out_len = len < OUTPUT_MAX ? len : OUTPUT_MAX;
			memcpy(r->out, text, r->out_len);
		}
		/* The timer keeps counting across execve: its time limit carries over. */
		r->pid_w = (struct watch){ .fd = adopt_fd((int)jget(x, "pidfd", -1)),
					   .fn = on_exit_pidfd, .data = r };
		r->timer_w = (struct watch){ .fd = adopt_fd((int)jget(x, "timer_fd", -1)),
					     .fn = on_timeout, .data = r };
		r->out_w = (struct watch){ .fd = adopt_fd((int)jget(x, "out_fd", -1)),
					   .fn = on_output, .data = r };
		if (r->pid_w.fd < 0 || r->timer_w.fd < 0 || loop_add(c->loop, &r->pid_w, EPOLLIN) ||
		    loop_add(c->loop, &r->timer_w, EPOLLIN) ||
		    (r->out_w.fd >= 0 && loop_add(c->loop, &r->out_w, EPOLLIN))) {
			fprintf(stderr, "faultguardd: rescue %s (pid %d) was not taken over: its "
					"record is lost\n", r->req->id, (int)r->pid);
			if (r->pid_w.fd >= 0)
				close(r->pid_w.fd);
			if (r->timer_w.fd >= 0)
				close(r->timer_w.fd);
			if (r->out_w.fd >= 0)
				close(r->out_w.fd);
			rescue_release(r);
			continue;
		}
		r->next = q->running;
		if (q->running)
			q->running->prev = r;
		q->running = r;
		q->nrunning++;
	}
	n = queued && json_object_is_type(queued, json_type_array) ? json_object_array_length(queued)
								     : 0;
	for (i = 0; i < n; i++) {
		struct rescue_request *req = request_of(json_object_array_get_idx(queued, i));

		if (req && enqueue(q, req))
			request_free(req);
	}
	pump_queue(c);
}
