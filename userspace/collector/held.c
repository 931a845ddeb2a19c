// SPDX-License-Identifier: LGPL-2.1-or-later
/* Snapshots held in memory (see held.h). */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auditlog/records.h"
#include "collector/backtrace.h"
#include "collector/collector.h"
#include "collector/held.h"
#include "collector/ops.h"
#include "collector/snapwork.h"
#include "collector/workers.h"
#include "common/timefmt.h"
#include "dict/dict.h"
#include "snapshot/snapshot.h"

struct held_list {
	struct held *head;
	unsigned int count;
	uint64_t bytes;
	uint64_t write_errors;
};

/* A write of one held copy, in flight on a worker. */
struct held_write {
	struct work work;
	struct collector *c;
	struct held *h;
	int afd;
	char name[CRASH_ID_LEN + 8];
	struct store_result res;
	int64_t t0_ns;
};

int held_init(struct collector *c)
{
	c->held = calloc(1, sizeof(*c->held));
	return c->held ? 0 : -ENOMEM;
}

static void held_release(struct held *h)
{
	if (h->fd >= 0)
		close(h->fd);
	free(h);
}

void held_free(struct collector *c)
{
	struct held_list *l = c->held;

	if (!l)
		return;
	if (l->count)
		fprintf(stderr, "faultguardd: %u snapshot%s held in memory could not be written to "
				"%s/snapshots and %s lost with this process (%llu bytes)\n",
			l->count, l->count == 1 ? "" : "s", c->cfg.state_dir,
			l->count == 1 ? "is" : "are", (unsigned long long)l->bytes);
	while (l->head) {
		struct held *h = l->head;

		l->head = h->next;
		fprintf(stderr, "faultguardd: snapshot %s (app %s, uid %u, %llu bytes) is lost\n",
			h->id, h->app, (unsigned)h->uid, (unsigned long long)h->bytes);
		held_release(h);
	}
	free(l);
	c->held = NULL;
}

int held_memfd(const void *p, size_t len)
{
	return snapshot_memfd(p, len);
}

static void path_of(const struct collector *c, const struct held *h, char *buf, size_t len)
{
	store_snapshot_path(c, h->uid, h->app, h->id, buf, len);
}

static void unlink_held(struct held_list *l, struct held *h)
{
	struct held **pp;

	for (pp = &l->head; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			l->count--;
			l->bytes -= h->bytes;
			return;
		}
}

static void audit_spill(struct collector *c, const struct held *h)
{
	json_object *rec = audit_record("expire");
	char path[4096 + 128];

	path_of(c, h, path, sizeof(path));
	json_object_object_add(rec, "id", json_object_new_string(h->id));
	json_object_object_add(rec, "app", audit_str(h->app));
	json_object_object_add(rec, "uid", json_object_new_int64(h->uid));
	json_object_object_add(rec, "path", audit_str(path));
	json_object_object_add(rec, "reason", json_object_new_string("spill"));
	json_object_object_add(rec, "bytes", json_object_new_int64((int64_t)h->bytes));
	backtrace_emit(c, h->id, rec);
	fprintf(stderr, "faultguardd: snapshot %s dropped from memory: the snapshots held there "
			"would take more than spill_max_bytes (%llu)\n",
		h->id, (unsigned long long)c->cfg.spill_max_bytes);
}

/* Beyond the budget, the oldest copies not being written go, each with its record. */
static void keep_budget(struct collector *c)
{
	struct held_list *l = c->held;
	struct held *h, *next;

	for (h = l->head; h && l->bytes > c->cfg.spill_max_bytes; h = next) {
		next = h->next;
		if (h->writing)
			continue;
		unlink_held(l, h);
		audit_spill(c, h);
		held_release(h);
	}
}

void held_add(struct collector *c, struct held *h, const char *error)
{
	struct held_list *l = c->held;
	struct held **pp;
	int64_t alloc = dict_fd_allocated(h->fd);

	h->bytes = alloc > 0 ? (uint64_t)alloc : 0;
	h->since_ms = time_now_ms();
	snprintf(h->last_error, sizeof(h->last_error), "%s", error ? error : "");
	h->next = NULL;
	for (pp = &l->head; *pp; pp = &(*pp)->next)
		;
	*pp = h;
	l->count++;
	l->bytes += h->bytes;
	keep_budget(c);
	/* The next retention pass comes soon while copies wait. */
	ops_held_changed(c);
}

static void write_run(struct work *w)
{
	struct held_write *hw = (struct held_write *)((char *)w - offsetof(struct held_write, work));
	struct held *h = hw->h;

	if (h->is_image)
		snapwork_store_image(h->fd, h->count, h->budget, hw->afd, hw->name, h->uid, h->gid,
				     &hw->res);
	else
		snapwork_store_file(h->fd, hw->afd, hw->name, h->uid, h->gid, &hw->res);
}

static void late_record(struct collector *c, const struct held_write *hw, const char *path)
{
	const struct held *h = hw->h;
	struct snapshot_facts f = {
		.id = h->id,
		.app = h->app,
		.pid = h->pid,
		.stored = "disk",
		.path = path,
		.keys = h->count,
		.bytes = h->value_bytes,
		.discarded = h->discarded,
		.us = (mono_ns() - hw->t0_ns) / 1000,
		.sha256 = hw->res.sha256,
		.late = 1,
	};

	backtrace_emit(c, h->id, record_snapshot(&f));
}

static void write_done(struct work *w)
{
	struct held_write *hw = (struct held_write *)((char *)w - offsetof(struct held_write, work));
	struct collector *c = hw->c;
	struct held *h = hw->h;
	char path[4096 + 128], sentence[4096 + 256];

	close(hw->afd);
	h->writing = 0;
	path_of(c, h, path, sizeof(path));
	if (!hw->res.err) {
		unlink_held(c->held, h);
		late_record(c, hw, path);
		ops_snapshot_stored(c, h->pid, h->registered_ms, h->uid, h->app);
		held_release(h);
	} else {
		held_count_write_error(c);
		if (!strcmp(hw->res.step, "write") || !strcmp(hw->res.step, "create"))
			snprintf(sentence, sizeof(sentence), "cannot write %s: %s", path,
				 strerror(-hw->res.err));
		else
			snprintf(sentence, sizeof(sentence), "%s of %s failed: %s", hw->res.step, path,
				 strerror(-hw->res.err));
		/* Said once per reason, not at every retry. */
		if (strcmp(sentence, h->last_error)) {
			fprintf(stderr, "faultguardd: snapshot %s: %s; still held in memory\n", h->id,
				sentence);
			snprintf(h->last_error, sizeof(h->last_error), "%s", sentence);
		}
		keep_budget(c);
	}
	free(hw);
}

void held_retry(struct collector *c)
{
	struct held_list *l = c->held;
	struct held *h;

	for (h = l ? l->head : NULL; h; h = h->next) {
		struct held_write *hw;
		int afd;

		if (h->writing)
			continue;
		afd = store_open_dir(c, "snapshots", h->uid, h->gid, h->app);
		if (afd < 0)
			continue; /* the disk still says no: the next pass tries again */
		hw = calloc(1, sizeof(*hw));
		if (!hw) {
			close(afd);
			return;
		}
		hw->c = c;
		hw->h = h;
		hw->afd = afd;
		hw->t0_ns = mono_ns();
		store_snapshot_name(h->id, hw->name, sizeof(hw->name));
		hw->work = (struct work){ .lane = LANE_SNAP, .uid = h->uid, .run = write_run,
					  .done = write_done };
		h->writing = 1;
		workers_submit(c, &hw->work);
	}
}

int held_holds(const struct collector *c, const char *path)
{
	const struct held *h;
	char p[4096 + 128];

	for (h = c->held ? c->held->head : NULL; h; h = h->next) {
		path_of(c, h, p, sizeof(p));
		if (!strcmp(p, path))
			return 1;
	}
	return 0;
}

unsigned int held_count(const struct collector *c)
{
	return c->held ? c->held->count : 0;
}

uint64_t held_bytes(const struct collector *c)
{
	return c->held ? c->held->bytes : 0;
}

uint64_t held_write_errors(const struct collector *c)
{
	return c->held ? c->held->write_errors : 0;
}

void held_count_write_error(struct collector *c)
{
	if (c->held)
		c->held->write_errors++;
}

const struct held *held_first(const struct collector *c)
{
	return c->held ? c->held->head : NULL;
}
