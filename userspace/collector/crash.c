// SPDX-License-Identifier: LGPL-2.1-or-later
/* The life of one crash (see crash.h). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditlog/records.h"
#include "collector/backtrace.h"
#include "collector/claim.h"
#include "collector/collector.h"
#include "collector/container.h"
#include "collector/crash.h"
#include "collector/held.h"
#include "collector/ops.h"
#include "collector/snapwork.h"
#include "collector/workers.h"
#include "common/cause.h"
#include "common/crash_id.h"
#include "common/timefmt.h"
#include "dict/dict.h"
#include "faultguard.h"
#include "snapshot/snapshot.h"

/*
 * A dictionary taking at most this much memory is snapshotted right on the
 * loop (well under a millisecond); a bigger one on a worker thread, so
 * that it never holds up anyone else's crash, registration or query.
 */
#define INLINE_MAX (1u << 20)
/* A big one's dying process may still be tearing its memory down: wait this long. */
#define TEARDOWN_WAIT_MS 5000
/* A snapshot record waits this long for the disk, then says "memory" (a late one follows). */
#define RECORD_WAIT_MS 10000

enum crash_path { PATH_SMALL, PATH_BIG };

struct crash {
	struct collector *c;
	int refs;
	struct crash *next; /* on c->crashes until its snapshot record is out */
	int listed;
	char id[CRASH_ID_LEN];
	char app[65];
	struct identity who;
	int64_t registered_ms;
	const char *cause;
	int signal, exit_code;
	int64_t death_ns, when_ms, t0_ns, record_deadline;
	char **argv;
	struct container *ct; /* where its rescue runs (NULL: on the host) */
	/* the dictionary, until the image is taken */
	int memfd, pidfd;
	int image;
	int copied;
	int take_err;
	enum crash_path path_kind;
	uint64_t budget, max_bytes; /* max_bytes: the config's, for the worker */
	struct dict_read_stats st;
	/* where it goes on disk */
	int afd;
	char name[CRASH_ID_LEN + 8];
	char path[4096];
	/* small: the .fgsnap bytes until they are durable, and the file to fsync */
	void *bytes;
	size_t nbytes;
	int sync_fd;
	int sync_err;
	const char *sync_step;
	char sha256[SHA256_HEX_LEN];
	struct store_result res;
	struct work work;
	/* records */
	int snapshot_recorded, recorded_early;
	json_object *rescue_rec;
};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

struct crash *crash_get(struct crash *cr)
{
	cr->refs++;
	return cr;
}

static void free_argv(char **argv)
{
	size_t i;

	for (i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

static void unlist(struct crash *cr)
{
	struct crash **pp;

	if (!cr->listed)
		return;
	for (pp = &cr->c->crashes; *pp; pp = &(*pp)->next)
		if (*pp == cr) {
			*pp = cr->next;
			break;
		}
	cr->listed = 0;
	if (cr->c->stopping && !crash_in_progress(cr->c) && !rescue_running(cr->c))
		loop_stop(cr->c->loop);
}

void crash_put(struct crash *cr)
{
	if (!cr || --cr->refs > 0)
		return;
	unlist(cr);
	close_fd(&cr->memfd);
	close_fd(&cr->pidfd);
	close_fd(&cr->image);
	close_fd(&cr->afd);
	close_fd(&cr->sync_fd);
	free(cr->bytes);
	free_argv(cr->argv);
	container_free(cr->ct);
	json_object_put(cr->rescue_rec);
	free(cr);
}

unsigned int crash_in_progress(const struct collector *c)
{
	const struct crash *cr;
	unsigned int n = 0;

	for (cr = c->crashes; cr; cr = cr->next)
		n++;
	return n;
}

static int64_t us_since(int64_t t0_ns)
{
	int64_t d = mono_ns() - t0_ns;

	return d > 0 ? d / 1000 : 0;
}

/* --- records --------------------------------------------------------------- */

void crash_facts_of_event(struct crash_facts *f, const struct fg_event *e, int sig)
{
	/* The signal seen being sent or delivered is about this death only if it is the fatal one. */
	int same = sig && (e->flags & FG_EVF_HAVE_SIGNAL) && (int)e->signal == sig;

	f->signal = sig;
	f->core_dumped = !!(e->exit_code & 0x80);
	f->have_si_code = same;
	f->si_code = e->si_code;
	f->have_fault = same && (e->flags & FG_EVF_HAVE_FAULT);
	f->fault_addr = e->fault_addr;
	f->have_sender = same && (e->flags & FG_EVF_HAVE_SENDER);
	f->sender_pid = (pid_t)e->sender_pid;
	f->sender_uid = e->sender_uid;
	f->sender_comm = e->sender_comm;
}

static void audit_crash(struct collector *c, const struct crash *cr, const struct fg_event *e)
{
	struct crash_facts f = {
		.id = cr->id,
		.app = cr->app,
		.cause = cr->cause,
		.pid = cr->who.pid,
		.uid = cr->who.uid,
		.exit_code = cr->exit_code,
		.ns_pid = cr->who.ns_pid,
		.cgroup = cr->who.cgroup,
	};

	crash_facts_of_event(&f, e, cr->signal);
	/* Written when its backtrace is ready (backtrace.c), within a bound. */
	backtrace_crash(c, e, cr->id, record_crash(&f));
}

/* The snapshot record; then the rescue record that waited for it. */
static void record_snapshot_of(struct crash *cr, const char *stored, const char *error, int late)
{
	struct collector *c = cr->c;
	struct snapshot_facts f = {
		.id = cr->id,
		.app = cr->app,
		.pid = cr->who.pid,
		.stored = stored,
		.path = stored && !strcmp(stored, "disk") ? cr->path : NULL,
		.keys = cr->st.keys,
		.bytes = cr->st.bytes,
		.discarded = cr->st.discarded,
		.us = us_since(cr->t0_ns),
		.sha256 = cr->sha256,
		.error = error,
		.late = late,
	};

	/* Held behind the crash record until that is out. */
	backtrace_emit(c, cr->id, record_snapshot(&f));
	if (cr->snapshot_recorded)
		return;
	cr->snapshot_recorded = 1;
	unlist(cr);
	if (cr->rescue_rec) {
		backtrace_emit(c, cr->id, cr->rescue_rec);
		cr->rescue_rec = NULL;
	}
}

void crash_rescue_record(struct crash *cr, json_object *rec)
{
	if (cr->snapshot_recorded) {
		backtrace_emit(cr->c, cr->id, rec);
		return;
	}
	json_object_put(cr->rescue_rec);
	cr->rescue_rec = rec;
}

/* Stored on disk and durable: its record, and the app's autosave is superseded. */
static void stored_on_disk(struct crash *cr)
{
	struct collector *c = cr->c;

	ops_snapshot_stored(c, cr->who.pid, cr->registered_ms, cr->who.uid, cr->app);
	record_snapshot_of(cr, "disk", NULL, cr->recorded_early);
}

static void say_write_error(const struct crash *cr, const char *sentence)
{
	fprintf(stderr, "faultguardd: snapshot %s: %s; held in memory for the rescue, written "
			"when the disk takes it\n",
		cr->id, sentence);
}

static void write_error_sentence(const struct crash *cr, const char *step, int err, char *buf,
				 size_t len)
{
	if (!strcmp(step, "write") || !strcmp(step, "create"))
		snprintf(buf, len, "cannot write %s: %s", cr->path, strerror(-err));
	else
		snprintf(buf, len, "%s of %s failed: %s", step, cr->path, strerror(-err));
}

/*
 * The disk refused the snapshot: it is held in memory (@fd, a sealed
 * memfd, taken), the record says so, the collector's stderr names it.
 */
static void hold(struct crash *cr, int fd, int is_image, const char *step, int err)
{
	struct collector *c = cr->c;
	struct held *h = calloc(1, sizeof(*h));
	char sentence[4096 + 256];

	write_error_sentence(cr, step, err, sentence, sizeof(sentence));
	held_count_write_error(c);
	say_write_error(cr, sentence);
	if (h && fd >= 0) {
		snprintf(h->id, sizeof(h->id), "%s", cr->id);
		snprintf(h->app, sizeof(h->app), "%s", cr->app);
		h->uid = cr->who.uid;
		h->gid = cr->who.gid;
		h->pid = cr->who.pid;
		h->registered_ms = cr->registered_ms;
		h->fd = fd;
		h->is_image = is_image;
		h->count = cr->st.keys;
		h->value_bytes = cr->st.bytes;
		h->discarded = cr->st.discarded;
		h->budget = cr->budget;
		snprintf(h->sha256, sizeof(h->sha256), "%s", cr->sha256);
		held_add(c, h, sentence);
	} else {
		/* Out of memory: the rescue has its copy, we cannot keep one. */
		free(h);
		close_fd(&fd);
	}
	if (!cr->snapshot_recorded)
		record_snapshot_of(cr, "memory", sentence, 0);
}

/* --- the rescue ------------------------------------------------------------ */

/* Starts (or queues) the rescue with the snapshot at @path, or in @fd (a memfd) when @path is NULL. */
static void start_rescue(struct crash *cr, const char *path, int fd)
{
	struct collector *c = cr->c;
	struct rescue_request *req = calloc(1, sizeof(*req));

	if (!req) {
		close_fd(&fd);
		return;
	}
	snprintf(req->id, sizeof(req->id), "%s", cr->id);
	snprintf(req->app, sizeof(req->app), "%s", cr->app);
	req->pid = cr->who.pid;
	req->uid = cr->who.uid;
	req->gid = cr->who.gid;
	req->ngroups = cr->who.ngroups;
	memcpy(req->groups, cr->who.groups, sizeof(req->groups));
	req->argv = cr->argv;
	cr->argv = NULL;
	req->ct = cr->ct;
	cr->ct = NULL;
	req->on_host = cr->who.on_host;
	req->no_snapshot = !path && fd < 0;
	snprintf(req->snapshot, sizeof(req->snapshot), "%s", path ? path : "");
	req->snap_fd = fd;
	req->stored = path ? "disk" : "memory";
	req->cause = cr->cause;
	req->signal = cr->signal;
	req->exit_code = cr->exit_code;
	req->death_mono_ns = cr->death_ns;
	req->cr = crash_get(cr);
	rescue_start(c, req);
}

/* No snapshot at all (the dictionary could not be read): said, and no rescue runs. */
static void no_snapshot(struct crash *cr, int err)
{
	char sentence[256];

	snprintf(sentence, sizeof(sentence), "cannot read the dictionary: %s", strerror(-err));
	fprintf(stderr, "faultguardd: snapshot %s: %s\n", cr->id, sentence);
	memset(&cr->st, 0, sizeof(cr->st));
	record_snapshot_of(cr, NULL, sentence, 0);
	free_argv(cr->argv);
	cr->argv = NULL;
	start_rescue(cr, NULL, -1);
}

static int dup_fd(int fd)
{
	return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/* --- small: on the loop ---------------------------------------------------- */

static void sync_run(struct work *w)
{
	struct crash *cr = (struct crash *)((char *)w - offsetof(struct crash, work));

	cr->sync_step = "fsync";
	if (fsync(cr->sync_fd) < 0)
		cr->sync_err = -errno;
	if (close(cr->sync_fd) < 0 && !cr->sync_err) {
		cr->sync_err = -errno;
		cr->sync_step = "close";
	}
	cr->sync_fd = -1;
	/* After the file: the directory entry must not name data that is not there. */
	if (!cr->sync_err && fsync(cr->afd) < 0) {
		cr->sync_err = -errno;
		cr->sync_step = "fsync of the directory";
	}
}

static void sync_done(struct work *w)
{
	struct crash *cr = (struct crash *)((char *)w - offsetof(struct crash, work));

	if (!cr->sync_err)
		stored_on_disk(cr);
	else
		hold(cr, held_memfd(cr->bytes, cr->nbytes), 0, cr->sync_step, cr->sync_err);
	free(cr->bytes);
	cr->bytes = NULL;
	crash_put(cr);
}

static int small_encode(struct crash *cr)
{
	struct fg_snapshot *snap = dict_read_fd(cr->image, cr->c->cfg.max_dict_bytes, &cr->st);
	int err;

	if (!snap)
		return -errno;
	snapshot_set_meta(snap, cr->app, cr->who.pid, cr->who.uid, cr->when_ms);
	err = snapshot_encode(snap, &cr->bytes, &cr->nbytes);
	fg_snapshot_close(snap);
	if (!err && sha256_hex(cr->bytes, cr->nbytes, cr->sha256))
		cr->sha256[0] = '\0';
	return err;
}

static void small_path(struct crash *cr)
{
	struct collector *c = cr->c;
	int err, fd;

	err = small_encode(cr);
	if (err) {
		no_snapshot(cr, err);
		return;
	}
	cr->afd = store_open_dir(c, "snapshots", cr->who.uid, cr->who.gid, cr->app);
	/* Before the file appears: a claim must never see a container's snapshot without it. */
	if (cr->afd >= 0 && !cr->who.on_host)
		claim_write_scope(cr->afd, cr->id, cr->who.cgroup);
	err = cr->afd < 0 ? cr->afd
			  : store_write_bytes(cr->afd, cr->name, cr->bytes, cr->nbytes, cr->who.uid,
					      cr->who.gid, &cr->sync_fd);
	if (err) {
		fd = held_memfd(cr->bytes, cr->nbytes);
		hold(cr, dup_fd(fd), 0, "write", err);
		start_rescue(cr, NULL, fd);
		return;
	}
	/* In place now; durable once LANE_SYNC has flushed it, then its record. */
	start_rescue(cr, cr->path, -1);
	cr->work = (struct work){ .lane = LANE_SYNC, .uid = cr->who.uid, .run = sync_run,
				  .done = sync_done };
	workers_submit(c, &crash_get(cr)->work);
}

/* --- big: on a worker ------------------------------------------------------ */

static void store_run(struct work *w)
{
	struct crash *cr = (struct crash *)((char *)w - offsetof(struct crash, work));

	snapwork_store_image(cr->image, cr->st.keys, cr->budget, cr->afd, cr->name, cr->who.uid,
			     cr->who.gid, &cr->res);
	if (cr->res.err)
		snapwork_hash_fd(cr->image, cr->sha256); /* of what is held instead */
	else
		memcpy(cr->sha256, cr->res.sha256, sizeof(cr->sha256));
}

static void store_done(struct work *w)
{
	struct crash *cr = (struct crash *)((char *)w - offsetof(struct crash, work));

	if (!cr->res.err) {
		stored_on_disk(cr);
	} else {
		hold(cr, cr->image, 1, cr->res.step, cr->res.err);
		cr->image = -1;
	}
	crash_put(cr);
}

static void take_run(struct work *w)
{
	struct crash *cr = (struct crash *)((char *)w - offsetof(struct crash, work));
	struct image_who who = { cr->who.pid, cr->who.uid, cr->when_ms };
	int64_t alloc;

	cr->image = snapwork_take_image(cr->memfd, cr->pidfd, TEARDOWN_WAIT_MS, &who, cr->max_bytes,
					&cr->copied);
	close_fd(&cr->memfd);
	close_fd(&cr->pidfd);
	if (cr->image < 0) {
		cr->take_err = cr->image;
		return;
	}
	/* Honest values take no more than the memory holding them: a bound on what to read. */
	alloc = dict_fd_allocated(cr->image);
	cr->budget = alloc > 0 ? (uint64_t)alloc : 0;
	cr->take_err = snapwork_validate(cr->image, cr->max_bytes, cr->budget, &cr->st);
}

static void take_done(struct work *w)
{
	struct crash *cr = (struct crash *)((char *)w - offsetof(struct crash, work));
	struct collector *c = cr->c;

	if (cr->take_err) {
		no_snapshot(cr, cr->take_err);
		crash_put(cr);
		return;
	}
	if (c->cfg.verbose > 1)
		fprintf(stderr, "faultguardd: snapshot %s: %s image, %llu keys, %llu bytes\n",
			cr->id, cr->copied ? "copied" : "sealed",
			(unsigned long long)cr->st.keys, (unsigned long long)cr->st.bytes);
	/* Validated and immutable: the rescue may read it now; the file follows. */
	start_rescue(cr, NULL, dup_fd(cr->image));
	cr->afd = store_open_dir(c, "snapshots", cr->who.uid, cr->who.gid, cr->app);
	if (cr->afd < 0) {
		if (snapwork_hash_fd(cr->image, cr->sha256))
			cr->sha256[0] = '\0';
		hold(cr, cr->image, 1, "create", cr->afd);
		cr->image = -1;
		crash_put(cr);
		return;
	}
	if (!cr->who.on_host)
		claim_write_scope(cr->afd, cr->id, cr->who.cgroup);
	cr->work = (struct work){ .lane = LANE_SNAP, .uid = cr->who.uid, .run = store_run,
				  .done = store_done };
	workers_submit(c, &cr->work); /* our reference goes with it */
}

/* --- the start ------------------------------------------------------------- */

static char **steal_argv(struct reg *r)
{
	char **argv = r->argv;

	r->argv = NULL;
	return argv;
}

/* The death time on the realtime clock, from the event's monotonic stamp. */
static int64_t death_time_ms(const struct fg_event *e)
{
	int64_t ago_ms = (mono_ns() - (int64_t)e->ktime_ns) / 1000000;

	return time_now_ms() - (ago_ms > 0 ? ago_ms : 0);
}

static struct crash *crash_new(struct collector *c, struct reg *r, const struct fg_event *e)
{
	struct crash *cr = calloc(1, sizeof(*cr));
	int sig = e->exit_code & 0x7f, status = (e->exit_code >> 8) & 0xff;

	if (!cr)
		return NULL;
	cr->c = c;
	cr->refs = 1;
	cr->memfd = cr->pidfd = cr->image = cr->afd = cr->sync_fd = -1;
	snprintf(cr->app, sizeof(cr->app), "%s", r->app);
	cr->who = r->id;
	cr->registered_ms = r->registered_ms;
	cr->max_bytes = c->cfg.max_dict_bytes;
	cr->signal = sig;
	cr->exit_code = sig ? -1 : status;
	cr->cause = cause_name(sig, status, !!(e->flags & FG_EVF_OOM));
	cr->death_ns = (int64_t)e->ktime_ns;
	cr->when_ms = death_time_ms(e);
	crash_id_make(cr->id, cr->when_ms, r->id.pid);
	store_snapshot_name(cr->id, cr->name, sizeof(cr->name));
	store_snapshot_path(c, cr->who.uid, cr->app, cr->id, cr->path, sizeof(cr->path));
	return cr;
}

void crash_begin(struct collector *c, struct reg *r, const struct fg_event *e)
{
	struct crash *cr = crash_new(c, r, e);
	int64_t alloc;

	if (!cr) {
		fprintf(stderr, "faultguardd: pid %d crashed, but there is no memory to rescue it\n",
			(int)r->id.pid);
		registry_remove(c, r);
		return;
	}
	/* First the record that says it happened, before anything slow. */
	audit_crash(c, cr, e);
	cr->t0_ns = mono_ns();
	cr->record_deadline = mono_ms() + RECORD_WAIT_MS;
	cr->next = c->crashes;
	c->crashes = cr;
	cr->listed = 1;
	cr->argv = steal_argv(r);
	cr->ct = r->ct;
	r->ct = NULL;
	cr->memfd = dup_fd(r->memfd);
	cr->pidfd = dup_fd(r->pidfd);
	alloc = dict_fd_allocated(r->memfd);
	/* The dictionary is ours now (the dups): the registration ends. */
	registry_remove(c, r);
	if (cr->memfd < 0) {
		no_snapshot(cr, -EMFILE);
		crash_put(cr);
		return;
	}
	if (alloc >= 0 && alloc <= INLINE_MAX) {
		struct image_who who = { cr->who.pid, cr->who.uid, cr->when_ms };

		/* Still mapped by the dying process? Copying a small one beats waiting. */
		cr->image = snapwork_take_image(cr->memfd, -1, 0, &who, 4 * INLINE_MAX, &cr->copied);
		if (cr->image != -EFBIG) {
			close_fd(&cr->memfd);
			close_fd(&cr->pidfd);
			cr->path_kind = PATH_SMALL;
			if (cr->image < 0)
				no_snapshot(cr, cr->image);
			else
				small_path(cr);
			crash_put(cr);
			return;
		}
		/* It grew meanwhile (a process still writes it): the big way. */
	}
	cr->path_kind = PATH_BIG;
	cr->work = (struct work){ .lane = LANE_SNAP, .uid = cr->who.uid, .urgent = 1,
				  .run = take_run, .done = take_done };
	workers_submit(c, &cr->work);
}

/* --- the bound on waiting for the disk ------------------------------------- */

void crash_tick(struct collector *c)
{
	int64_t now = mono_ms();
	struct crash *cr, *next;

	for (cr = c->crashes; cr; cr = next) {
		next = cr->next;
		if (now < cr->record_deadline || cr->snapshot_recorded || cr->path_kind != PATH_BIG ||
		    cr->image < 0 || cr->afd < 0)
			continue;
		/* The write goes on; its record will be a late one. */
		cr->recorded_early = 1;
		record_snapshot_of(cr, "memory", "not on disk yet: the disk is slow", 0);
	}
}

int64_t crash_next_deadline(const struct collector *c)
{
	const struct crash *cr;
	int64_t next = INT64_MAX;

	for (cr = c->crashes; cr; cr = cr->next)
		if (cr->path_kind == PATH_BIG && cr->afd >= 0 && cr->record_deadline < next)
			next = cr->record_deadline;
	return next;
}
