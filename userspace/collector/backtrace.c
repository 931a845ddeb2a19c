// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "auditlog/records.h"
#include "collector/backtrace.h"
#include "collector/collector.h"
#include "common/thread.h"
#include "unwind/stack_record.h"
#include "collector/unwinder.h"
#include "unwind/unwind.h"

#define STACKS_MAX 256          /* stack records waiting for their exit (~50 KiB each) */
#define STACK_KEEP_MS (30 * 1000) /* one whose exit never came is dropped after this */

/*
 * An unwind starts this long after the death was handled: the rescue
 * command it started then has the CPU to itself while it starts (on two
 * cores, an unwind beside it cost the rescue's start 1.5 ms).
 */
#define BACKTRACE_DELAY_MS 5
#define AWAIT_POLL_MS 1 /* a stack record still to come is looked for this often */

/* A stack record that came before its process's exit record. */
struct stack_wait {
	struct stack_wait *next;
	uint32_t tgid;
	uint64_t start_boottime;
	int64_t got_ms;
	void *data; /* a copy of the fg_stack_event */
};

/* Unwinding one crash: the worker's alone between todo and done. */
struct job {
	struct job *next;
	char id[64];
	void *data;
	struct stack_record rec;
	struct unwind_result res;
	int err;
};

struct held {
	struct held *next;
	json_object *rec;
};

/* A crash whose record waits for its backtrace, with the records held behind it. */
struct pending {
	struct pending *next;
	char id[64];
	json_object *rec;
	struct held *held, **held_tail;
	int64_t deadline;
	uint32_t tgid;          /* the process, for a stack record that is still to come */
	uint64_t start_boottime;
	int awaiting;           /* the stack record has not come yet */
	struct job *job;        /* parsed, waiting for release_ms to go to the worker */
	int64_t release_ms;
	pid_t tid;
	int have_ip;
	uint64_t ip;
	char exe[STACK_RECORD_PATH_MAX];
	char gap[160]; /* what the record's flags say is missing: said when it cost frames */
};

struct backtraces {
	pthread_t thread;
	int started;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct job *todo, **todo_tail;
	struct job *done, **done_tail;
	int stop;
	struct watch done_w; /* an eventfd the worker bumps for each job done */
	struct unwinder *uw; /* the unwinding process */
	struct stack_wait *stacks;
	unsigned int nstacks;
	struct pending *pending;
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	unwinder_result_free(&j->res);
	free(j->data);
	free(j);
}

static void *worker(void *arg)
{
	struct backtraces *b = arg;
	uint64_t one = 1;
	int said = 0;

	pthread_mutex_lock(&b->mu);
	while (!b->stop) {
		struct job *j = b->todo;

		if (!j) {
			pthread_cond_wait(&b->cv, &b->mu);
			continue;
		}
		b->todo = j->next;
		if (!b->todo)
			b->todo_tail = &b->todo;
		pthread_mutex_unlock(&b->mu);
		/* The work itself is the unwinding process's (unwinder.h); this thread waits for it. */
		j->err = b->uw ? unwinder_run(b->uw, j->data, sizeof(struct fg_stack_event),
					      BACKTRACE_WAIT_MS, &j->res)
			       : -EPIPE;
		if (j->err == -EPIPE && !said++)
			fprintf(stderr, "faultguardd: the unwinding process is gone: crashes get no "
					"backtrace until the collector restarts\n");
		pthread_mutex_lock(&b->mu);
		j->next = NULL;
		*b->done_tail = j;
		b->done_tail = &j->next;
		(void)!write(b->done_w.fd, &one, sizeof(one));
	}
	pthread_mutex_unlock(&b->mu);
	return NULL;
}

/* Writes @p's crash record with what is known (@r NULL: no backtrace), then what it held. */
static void finish(struct collector *c, struct pending *p, const struct unwind_result *r)
{
	struct backtraces *b = c->bt;
	struct pending **pp;
	struct held *h, *next;

	record_crash_where(p->rec, p->tid, p->exe[0] ? p->exe : NULL, p->have_ip, p->ip, r);
	if (r && r->why[0])
		fprintf(stderr, "faultguardd: crash %s: backtrace of %zu frame%s: %s%s%s%s\n", p->id,
			r->nframes, r->nframes == 1 ? "" : "s", r->why, p->gap[0] ? " (" : "",
			p->gap, p->gap[0] ? ")" : "");
	audit_emit(c->audit, p->rec);
	job_free(p->job);
	for (h = p->held; h; h = next) {
		next = h->next;
		audit_emit(c->audit, h->rec);
		free(h);
	}
	for (pp = &b->pending; *pp && *pp != p; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = p->next;
	free(p);
}

static struct pending *pending_find(struct backtraces *b, const char *id)
{
	struct pending *p;

	for (p = b ? b->pending : NULL; p; p = p->next)
		if (!strcmp(p->id, id))
			return p;
	return NULL;
}

/* Takes the jobs the worker finished and writes their crash records. */
static void collect_done(struct collector *c)
{
	struct backtraces *b = c->bt;
	struct job *j, *next;

	pthread_mutex_lock(&b->mu);
	j = b->done;
	b->done = NULL;
	b->done_tail = &b->done;
	pthread_mutex_unlock(&b->mu);
	for (; j; j = next) {
		struct pending *p = pending_find(b, j->id);

		next = j->next;
		/* Not pending any more: its bound ran out and the record went without it. */
		if (p)
			finish(c, p, j->err ? NULL : &j->res);
		job_free(j);
	}
}

static void on_done(struct watch *w, uint32_t events)
{
	struct collector *c = w->data;
	uint64_t n;

	(void)events;
	(void)!read(w->fd, &n, sizeof(n));
	collect_done(c);
}

static void drop_stack(struct backtraces *b, struct stack_wait **pp)
{
	struct stack_wait *s = *pp;

	*pp = s->next;
	free(s->data);
	free(s);
	b->nstacks--;
}

static void prune_stacks(struct backtraces *b, int64_t now)
{
	struct stack_wait **pp = &b->stacks;

	while (*pp) {
		if (now - (*pp)->got_ms > STACK_KEEP_MS)
			drop_stack(b, pp);
		else
			pp = &(*pp)->next;
	}
}

static int start_awaiting(struct collector *c, const struct fg_stack_event *e, void *data);

static void on_stack(const struct fg_stack_event *e, void *ctx)
{
	struct collector *c = ctx;
	struct backtraces *b = c->bt;
	struct stack_wait *s, **pp;

	prune_stacks(b, mono_ms());
	if (b->nstacks >= STACKS_MAX) {
		/* The oldest is the likeliest to have lost its exit record. */
		for (pp = &b->stacks; (*pp)->next; pp = &(*pp)->next)
			;
		fprintf(stderr, "faultguardd: pid %u: its stack record is dropped (%d wait for "
				"their exits)\n", (*pp)->tgid, STACKS_MAX);
		drop_stack(b, pp);
	}
	s = calloc(1, sizeof(*s));
	if (s)
		s->data = malloc(sizeof(*e));
	if (!s || !s->data) {
		free(s);
		fprintf(stderr, "faultguardd: pid %u: out of memory for its stack record\n", e->tgid);
		return;
	}
	memcpy(s->data, e, sizeof(*e));
	if (start_awaiting(c, e, s->data)) {
		free(s);
		return;
	}
	s->tgid = e->tgid;
	s->start_boottime = e->start_boottime;
	s->got_ms = mono_ms();
	s->next = b->stacks;
	b->stacks = s;
	b->nstacks++;
}

/* The waiting stack record of the process @e is about, taken off the list; NULL if none. */
static void *take_stack(struct backtraces *b, const struct fg_event *e)
{
	struct stack_wait **pp;
	void *data;

	for (pp = &b->stacks; *pp; pp = &(*pp)->next) {
		if ((*pp)->tgid != e->tgid ||
		    (e->start_boottime && (*pp)->start_boottime != e->start_boottime))
			continue;
		data = (*pp)->data;
		(*pp)->data = NULL;
		drop_stack(b, pp);
		return data;
	}
	return NULL;
}

/* The worker gets @p's job now. */
static void release(struct collector *c, struct pending *p)
{
	struct backtraces *b = c->bt;
	struct job *j = p->job;

	if (!j)
		return;
	p->job = NULL;
	pthread_mutex_lock(&b->mu);
	*b->todo_tail = j;
	b->todo_tail = &j->next;
	pthread_cond_signal(&b->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Readies @data (a stack record, taken) for the worker, for pending crash @p. */
static void start_job(struct collector *c, struct pending *p, void *data)
{
	struct job *j = calloc(1, sizeof(*j));
	const char *gap;

	p->awaiting = 0;
	if (!j || stack_record_parse(data, sizeof(struct fg_stack_event), &j->rec)) {
		fprintf(stderr, "faultguardd: crash %s: no backtrace: %s\n", p->id,
			j ? "its stack record does not parse" : "out of memory");
		free(j);
		free(data);
		finish(c, p, NULL);
		return;
	}
	gap = stack_record_gaps(&j->rec);
	if (gap)
		snprintf(p->gap, sizeof(p->gap), "%s", gap);
	j->data = data;
	snprintf(j->id, sizeof(j->id), "%s", p->id);
	p->tid = (pid_t)j->rec.tid;
	p->have_ip = 1;
	p->ip = j->rec.in.regs[UNWIND_REG_IP];
	if (j->rec.exe >= 0)
		snprintf(p->exe, sizeof(p->exe), "%s", j->rec.paths[j->rec.exe]);
	p->job = j;
	if (mono_ms() >= p->release_ms)
		release(c, p);
}

/* A stack record that a crash already waits for: 1 when it was taken. */
static int start_awaiting(struct collector *c, const struct fg_stack_event *e, void *data)
{
	struct pending *p;

	for (p = c->bt->pending; p; p = p->next)
		if (p->awaiting && p->tgid == e->tgid &&
		    (!p->start_boottime || p->start_boottime == e->start_boottime)) {
			start_job(c, p, data);
			return 1;
		}
	return 0;
}

void backtrace_crash(struct collector *c, const struct fg_event *e, const char *id,
		     json_object *rec)
{
	struct backtraces *b = c->bt;
	struct pending *p;
	void *data = NULL;

	if (!b || !(e->flags & FG_EVF_STACK_SENT)) {
		if (e->flags & FG_EVF_STACK_LOST)
			fprintf(stderr, "faultguardd: crash %s: no backtrace: the stack ring buffer "
					"was full at the signal\n", id);
		/* An exit, a SIGKILL, a signal with a handler: nothing to unwind. */
		record_crash_where(rec, 0, NULL, 0, 0, NULL);
		audit_emit(c->audit, rec);
		return;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		fprintf(stderr, "faultguardd: crash %s: no backtrace: out of memory\n", id);
		record_crash_where(rec, 0, NULL, 0, 0, NULL);
		audit_emit(c->audit, rec);
		return;
	}
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->rec = rec;
	p->held_tail = &p->held;
	p->deadline = mono_ms() + BACKTRACE_WAIT_MS;
	p->release_ms = mono_ms() + BACKTRACE_DELAY_MS;
	p->tgid = e->tgid;
	p->start_boottime = e->start_boottime;
	p->next = b->pending;
	b->pending = p;
	data = take_stack(b, e);
	if (data) {
		start_job(c, p, data);
		return;
	}
	/* Still being copied by the dying thread while another one reported the exit. */
	p->awaiting = 1;
}

void backtrace_emit(struct collector *c, const char *id, json_object *rec)
{
	struct pending *p = pending_find(c->bt, id);
	struct held *h;

	if (p && (h = calloc(1, sizeof(*h)))) {
		h->rec = rec;
		*p->held_tail = h;
		p->held_tail = &h->next;
		return;
	}
	audit_emit(c->audit, rec);
}

/* Crash records whose bound ran out by @now go without their backtrace. */
static void expire(struct collector *c, int64_t now)
{
	struct pending *p, *next;

	for (p = c->bt->pending; p; p = next) {
		next = p->next;
		if (now < p->deadline)
			continue;
		fprintf(stderr, "faultguardd: crash %s: no backtrace: %s after %d ms\n", p->id,
			p->awaiting ? "its stack record had not come" : "not ready", BACKTRACE_WAIT_MS);
		finish(c, p, NULL);
	}
}

/* Jobs whose delay is over go to the worker (all of them when @all). */
static void release_due(struct collector *c, int all)
{
	int64_t now = mono_ms();
	struct pending *p;

	for (p = c->bt->pending; p; p = p->next)
		if (p->job && (all || now >= p->release_ms))
			release(c, p);
}

void backtrace_tick(struct collector *c)
{
	if (!c->bt)
		return;
	release_due(c, 0);
	collect_done(c);
	expire(c, mono_ms());
	prune_stacks(c->bt, mono_ms());
}

int64_t backtrace_next_deadline(const struct collector *c)
{
	const struct pending *p;
	int64_t next = INT64_MAX;

	for (p = c->bt ? c->bt->pending : NULL; p; p = p->next) {
		int64_t t = p->job ? p->release_ms
				   : p->awaiting ? mono_ms() + AWAIT_POLL_MS : p->deadline;

		if (p->deadline < t)
			t = p->deadline;
		if (t < next)
			next = t;
	}
	return next;
}

void backtrace_flush(struct collector *c)
{
	struct timespec nap = { .tv_nsec = 2 * 1000 * 1000 };

	if (!c->bt)
		return;
	release_due(c, 1);
	collect_done(c);
	while (c->bt->pending) {
		nanosleep(&nap, NULL);
		collect_done(c);
		expire(c, mono_ms());
	}
}

int backtrace_init(struct collector *c)
{
	struct backtraces *b = calloc(1, sizeof(*b));
	int err;

	if (!b)
		return -ENOMEM;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	b->todo_tail = &b->todo;
	b->done_tail = &b->done;
	b->done_w = (struct watch){ .fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), .fn = on_done,
				    .data = c };
	c->bt = b;
	if (b->done_w.fd < 0)
		return -errno;
	err = loop_add(c->loop, &b->done_w, EPOLLIN);
	if (err)
		return err;
	err = unwinder_start(&b->uw);
	if (err)
		return err;
	/* The worker takes no signal: the loop's signalfd must get them all. */
	err = thread_start_unsignalled(&b->thread, worker, b);
	if (err)
		return err;
	b->started = 1;
	monitor_on_stack(c->mon, on_stack, c);
	return 0;
}

void backtrace_free(struct collector *c)
{
	struct backtraces *b = c->bt;
	struct job *j, *next;

	if (!b)
		return;
	if (c->mon)
		monitor_on_stack(c->mon, NULL, NULL);
	if (b->started) {
		backtrace_flush(c);
		pthread_mutex_lock(&b->mu);
		b->stop = 1;
		pthread_cond_signal(&b->cv);
		pthread_mutex_unlock(&b->mu);
		pthread_join(b->thread, NULL);
	}
	for (j = b->todo; j; j = next) {
		next = j->next;
		job_free(j);
	}
	for (j = b->done; j; j = next) {
		next = j->next;
		job_free(j);
	}
	while (b->stacks)
		drop_stack(b, &b->stacks);
	while (b->pending) /* only when the worker never started: nothing will come */
		finish(c, b->pending, NULL);
	if (b->done_w.fd >= 0) {
		loop_del(c->loop, &b->done_w);
		close(b->done_w.fd);
	}
	unwinder_stop(b->uw);
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b);
	c->bt = NULL;
}
