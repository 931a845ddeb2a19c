// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/autosave.h"
#include "collector/collector.h"
#include "collector/ops.h"
#include "common/atomic_file.h"
#include "common/timefmt.h"
#include "dict/dict.h"
#include "faultguard.h"
#include "snapshot/snapshot.h"

#define TICK_BUDGET_MS 20
#define STEP_GAP_MS 200 /* between two slices of a pass: the loop serves others */
#define KNOWN_BUCKETS 1024u

/* A registration whose sidecar is written: (pid, registration time) survives pid reuse. */
struct known {
	pid_t pid;
	int64_t registered_ms;
	struct known *next;
};

struct autosave {
	int64_t next_pass_ms; /* mono; 0 = not scheduled */
	uint32_t cursor;      /* the next registry bucket of the running pass */
	int in_pass;
	int64_t next_step_ms; /* mono; the next slice of the running pass */
	uint64_t written, errors;
	int complained;
	char boot_id[64];
	struct known *known[KNOWN_BUCKETS];
};

static void read_boot_id(char *buf, size_t len)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	if (n <= 0)
		n = 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

int autosave_new(struct autosave **out)
{
	struct autosave *a = calloc(1, sizeof(*a));

	if (!a)
		return -ENOMEM;
	read_boot_id(a->boot_id, sizeof(a->boot_id));
	*out = a;
	return 0;
}

void autosave_free(struct autosave *a)
{
	uint32_t b;

	if (!a)
		return;
	for (b = 0; b < KNOWN_BUCKETS; b++) {
		while (a->known[b]) {
			struct known *k = a->known[b];

			a->known[b] = k->next;
			free(k);
		}
	}
	free(a);
}

void autosave_counts(const struct collector *c, uint64_t *written, uint64_t *errors)
{
	const struct autosave *a = c->ops ? c->ops->autosave : NULL;

	*written = a ? a->written : 0;
	*errors = a ? a->errors : 0;
}

static struct known **known_slot(struct autosave *a, pid_t pid, int64_t registered_ms)
{
	struct known **pp = &a->known[(uint32_t)pid % KNOWN_BUCKETS];

	for (; *pp; pp = &(*pp)->next)
		if ((*pp)->pid == pid && (*pp)->registered_ms == registered_ms)
			break;
	return pp;
}

static json_object *sidecar(const struct autosave *a, const struct reg *r)
{
	json_object *o = json_object_new_object();
	char when[TIME_RFC3339_LEN];

	time_rfc3339_ms(r->registered_ms, when);
	json_object_object_add(o, "app", audit_str(r->app));
	json_object_object_add(o, "pid", json_object_new_int(r->id.pid));
	json_object_object_add(o, "uid", json_object_new_int64(r->id.uid));
	json_object_object_add(o, "gid", json_object_new_int64(r->id.gid));
	json_object_object_add(o, "comm", audit_str(r->id.comm));
	json_object_object_add(o, "boot_id", json_object_new_string(a->boot_id));
	json_object_object_add(o, "start_ticks", json_object_new_int64((int64_t)r->id.start_ticks));
	json_object_object_add(o, "registered", json_object_new_string(when));
	json_object_object_add(o, "signal_only",
			       json_object_new_boolean(!!(r->flags & FG_RESCUE_SIGNAL_ONLY)));
	json_object_object_add(o, "rescue_argv", audit_argv(r->argv));
	return o;
}

/* @dirfd/@name atomically and durably, owned by the app's user. */
static int write_sidecar(int dirfd, const char *name, const struct reg *r, const char *text)
{
	const struct atomic_file_opts o = {
		.mode = 0600, .uid = r->id.uid, .gid = r->id.gid, .sync = 1,
	};

	return atomic_file_write(dirfd, name, text, strlen(text), &o, NULL);
}

static int checkpoint(struct collector *c, struct reg *r)
{
	struct autosave *a = c->ops->autosave;
	struct dict_read_stats st = { 0 };
	struct known **slot = known_slot(a, r->id.pid, r->registered_ms);
	struct fg_snapshot *snap;
	char file[32], side[32];
	int afd, err = 0;

	/* An orderly close not yet seen: nothing worth saving. */
	if (dict_fd_closed(r->memfd))
		return 0;
	snprintf(file, sizeof(file), "%d.fgsnap", (int)r->id.pid);
	snprintf(side, sizeof(side), "%d.json", (int)r->id.pid);
	afd = store_open_app_dir(c, "autosave", r);
	if (afd < 0)
		return afd;
	/* The sidecar first: an autosave is never without its rescue command. */
	if (!*slot) {
		json_object *o = sidecar(a, r);
		const char *text = json_object_to_json_string_ext(
			o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

		err = write_sidecar(afd, side, r, text);
		json_object_put(o);
		if (!err) {
			struct known *k = calloc(1, sizeof(*k));

			if (k) {
				k->pid = r->id.pid;
				k->registered_ms = r->registered_ms;
				*slot = k;
			}
		}
	}
	if (!err) {
		snap = dict_read_fd(r->memfd, c->cfg.max_dict_bytes, &st);
		if (!snap) {
			err = -errno;
		} else {
			snapshot_set_meta(snap, r->app, r->id.pid, r->id.uid, time_now_ms());
			err = snapshot_write_at(afd, file, snap, r->id.uid, r->id.gid);
			fg_snapshot_close(snap);
		}
	}
	close(afd);
	return err;
}

static void count(struct collector *c, struct reg *r, int err)
{
	struct autosave *a = c->ops->autosave;

	if (!err) {
		a->written++;
		return;
	}
	a->errors++;
	/* Once per pass is enough to tell the operator; the metric counts the rest. */
	if (!a->complained) {
		a->complained = 1;
		fprintf(stderr, "faultguardd: autosave of %s (pid %d) failed: %s\n", r->app,
			(int)r->id.pid, strerror(-err));
	}
}

void autosave_reschedule(struct collector *c)
{
	struct autosave *a = c->ops->autosave;

	a->next_pass_ms = c->cfg.autosave_interval_s
				  ? mono_ms() + (int64_t)c->cfg.autosave_interval_s * 1000
				  : 0;
}

/* Forgets the registrations that ended without autosave_forget (a crash whose snapshot failed). */
static void prune_known(struct collector *c)
{
	struct autosave *a = c->ops->autosave;
	uint32_t b;

	for (b = 0; b < KNOWN_BUCKETS; b++) {
		struct known **pp = &a->known[b];

		while (*pp) {
			struct known *k = *pp;
			struct reg *r = registry_find(c, k->pid);

			while (r && r->registered_ms != k->registered_ms)
				r = registry_next(c, k->pid, r);
			if (r) {
				pp = &k->next;
				continue;
			}
			*pp = k->next;
			free(k);
		}
	}
}

int64_t autosave_next(const struct collector *c)
{
	const struct autosave *a = c->ops->autosave;

	if (!c->cfg.autosave_interval_s)
		return INT64_MAX;
	return a->in_pass ? a->next_step_ms : a->next_pass_ms;
}

void autosave_tick(struct collector *c)
{
	struct autosave *a = c->ops->autosave;
	int64_t now = mono_ms(), until = now + TICK_BUDGET_MS;

	if (!c->cfg.autosave_interval_s)
		return;
	if (a->in_pass && now < a->next_step_ms)
		return;
	if (!a->in_pass) {
		if (!a->next_pass_ms)
			autosave_reschedule(c);
		if (now < a->next_pass_ms)
			return;
		prune_known(c);
		a->in_pass = 1;
		a->cursor = 0;
		a->complained = 0;
		a->next_pass_ms = now + (int64_t)c->cfg.autosave_interval_s * 1000;
	}
	while (a->cursor < c->reg_buckets && mono_ms() < until) {
		struct reg *r;

		for (r = c->regs[a->cursor]; r; r = r->hash_next)
			count(c, r, checkpoint(c, r));
		a->cursor++;
	}
	if (a->cursor >= c->reg_buckets)
		a->in_pass = 0;
	a->next_step_ms = mono_ms() + STEP_GAP_MS;
}

void autosave_forget(struct collector *c, pid_t pid, int64_t registered_ms, uid_t uid,
		     const char *app)
{
	struct autosave *a = c->ops->autosave;
	struct known **slot = known_slot(a, pid, registered_ms), *k = *slot;
	char uid_name[16], name[32];
	int tfd, ufd, afd;

	if (k) {
		*slot = k->next;
		free(k);
	}
	/* Open only what exists, never through a symlink: users own <uid>/ and <app>/. */
	tfd = openat(c->state_dirfd, "autosave", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		return;
	snprintf(uid_name, sizeof(uid_name), "%u", (unsigned int)uid);
	ufd = openat(tfd, uid_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(tfd);
	if (ufd < 0)
		return;
	afd = openat(ufd, app, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(ufd);
	if (afd < 0)
		return;
	snprintf(name, sizeof(name), "%d.fgsnap", (int)pid);
	unlinkat(afd, name, 0);
	snprintf(name, sizeof(name), "%d.json", (int)pid);
	unlinkat(afd, name, 0);
	close(afd);
}
