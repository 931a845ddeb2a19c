// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * How a registration ends. The BPF exit event and the client's hang-up race
 * each other: the kernel fires sched_process_exit before it closes the
 * process's files, so when a hang-up is read first the ring buffer already
 * holds the exit record — consuming it first settles most races. What
 * remains is exec (its event follows the close-on-exec of our socket): a
 * hang-up of a live process waits HANGUP_GRACE_MS for an exit or exec event
 * before it counts as a plain hang-up.
 *
 *   exit(0)                      -> unregister "exit"
 *   fg_close (CLOSE or marker)   -> unregister "close"
 *   exec                         -> unregister "exec"
 *   hang-up, process lives on    -> unregister "hangup"
 *   fatal signal / exit(n != 0)  -> crash: audit, snapshot, rescue
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "collector/collector.h"
#include "collector/crash.h"
#include "collector/late.h"
#include "collector/ops.h"
#include "dict/dict.h"
#include "faultguard.h"

static void audit_unregister(struct collector *c, const struct reg *r, const char *reason,
			     int exit_code)
{
	json_object *rec = audit_record("unregister");

	json_object_object_add(rec, "app", audit_str(r->app));
	json_object_object_add(rec, "pid", json_object_new_int(r->id.pid));
	json_object_object_add(rec, "uid", json_object_new_int64(r->id.uid));
	json_object_object_add(rec, "reason", json_object_new_string(reason));
	if (exit_code > 0)
		json_object_object_add(rec, "exit_code", json_object_new_int(exit_code));
	audit_emit(c->audit, rec);
}

static void unregister(struct collector *c, struct reg *r, const char *reason, int exit_code)
{
	audit_unregister(c, r, reason, exit_code);
	ops_registration_ended(c, r);
	registry_remove(c, r);
}

void ending_note_hangup(struct collector *c, const struct reg *r)
{
	audit_unregister(c, r, "hangup", -1);
}

void ending_on_close(struct collector *c, struct reg *r)
{
	unregister(c, r, "close", -1);
}

static int process_alive(const struct reg *r)
{
	struct pollfd p = { .fd = r->pidfd, .events = POLLIN };

	return poll(&p, 1, 0) == 0;
}

void ending_on_hangup(struct collector *c, struct reg *r)
{
	pid_t pid = r->id.pid;

	/* An exit record already queued explains the hang-up (and may free @r). */
	monitor_consume(c->mon);
	if (!registry_contains(c, pid, r) || r->hangup_deadline || r->conn)
		return;
	r->hangup_deadline = mono_ms() + HANGUP_GRACE_MS;
	r->hup_next = c->hungup;
	c->hungup = r;
}

void ending_tick(struct collector *c)
{
	int64_t now = mono_ms();
	struct reg *r, *next;

	for (r = c->hungup; r; r = next) {
		next = r->hup_next;
		if (now < r->hangup_deadline)
			continue;
		/* Dead without an exit record: the ring buffer dropped it. */
		if (!process_alive(r))
			fprintf(stderr, "faultguardd: pid %d died unseen (its exit record was lost)\n",
				(int)r->id.pid);
		unregister(c, r, dict_fd_closed(r->memfd) ? "close" : "hangup", -1);
	}
}

int64_t ending_next_deadline(const struct collector *c)
{
	int64_t next = INT64_MAX;
	const struct reg *r;

	for (r = c->hungup; r; r = r->hup_next)
		if (r->hangup_deadline < next)
			next = r->hangup_deadline;
	return next;
}

/* Ends registration @r of the process the record @e is about. */
static void end_one(struct collector *c, struct reg *r, const struct fg_event *e)
{
	int sig = e->exit_code & 0x7f, status = (e->exit_code >> 8) & 0xff;

	if (e->kind == FG_EV_EXEC)
		unregister(c, r, "exec", -1);
	else if (dict_fd_closed(r->memfd))
		unregister(c, r, "close", -1);
	else if (!sig && (status == 0 || (r->flags & FG_RESCUE_SIGNAL_ONLY)))
		unregister(c, r, "exit", status);
	else
		crash_begin(c, r, e);
}

/* The next registration of @pid that @e is about (not a predecessor's, after pid reuse). */
static struct reg *next_of(struct collector *c, const struct fg_event *e, struct reg *prev)
{
	long tick_ns = 1000000000L / sysconf(_SC_CLK_TCK);
	struct reg *r = prev;

	while ((r = registry_next(c, (pid_t)e->tgid, r)))
		if (!e->start_boottime || !r->id.start_ticks ||
		    e->start_boottime / (uint64_t)tick_ns == r->id.start_ticks)
			return r;
	return NULL;
}

void ending_on_event(const struct fg_event *e, void *ctx)
{
	struct collector *c = ctx;
	struct reg *r = next_of(c, e, NULL);

	if (c->cfg.verbose)
		fprintf(stderr, "faultguardd: %s pid %u exit_code 0x%x signal %u si_code %d flags 0x%x%s\n",
			e->kind == FG_EV_EXEC ? "exec" : "exit", e->tgid, e->exit_code, e->signal,
			e->si_code, e->flags, r ? "" : " (not registered)");
	/* A CLOSE sent just before the death is already in the sockets. */
	while (r) {
		/* Draining may end @r (a CLOSE), never another registration. */
		struct reg *next = next_of(c, e, r);

		if (r->conn)
			server_drain(c, r->conn);
		r = next;
	}
	/* Each registration ends once; ending one removes it, so start over each time. */
	if (!next_of(c, e, NULL)) {
		/* Not registered here: a process a predecessor watched, maybe. */
		late_on_event(c, e);
		return;
	}
	while ((r = next_of(c, e, NULL)))
		end_one(c, r, e);
}
