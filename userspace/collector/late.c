// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "auditlog/records.h"
#include "collector/collector.h"
#include "collector/crash.h"
#include "collector/late.h"

/* In the note's flags beside the registration's: the app shared our mount namespace and root. */
#define LATE_ON_HOST (1u << 31)
#include "collector/ops.h"
#include "common/cause.h"
#include "common/crash_id.h"
#include "common/timefmt.h"
#include "digest/sha256.h"
#include "faultguard.h"

#define PIN_ROOT "/sys/fs/bpf/faultguard"
#define SIDECAR_MAX (256 * 1024)

int late_pin_dir(const char *state_dir, char *buf, size_t len)
{
	char hex[SHA256_HEX_LEN];
	int n, err = sha256_hex(state_dir, strlen(state_dir), hex);

	if (err)
		return err;
	/* 64 bits of the state directory's name: one set of pins per collector instance. */
	n = snprintf(buf, len, PIN_ROOT "/%.16s", hex);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void late_note(struct collector *c, const struct reg *r)
{
	struct monitor_reginfo ri;

	memset(&ri, 0, sizeof(ri));
	ri.version = MONITOR_REGINFO_VERSION;
	ri.start_ticks = r->id.start_ticks;
	ri.registered_ms = r->registered_ms;
	ri.uid = r->id.uid;
	ri.gid = r->id.gid;
	ri.flags = r->flags | (r->id.on_host ? LATE_ON_HOST : 0);
	snprintf(ri.app, sizeof(ri.app), "%s", r->app);
	snprintf(ri.comm, sizeof(ri.comm), "%s", r->id.comm);
	/* Without it a successor would not know this process: said, the registration stands. */
	if (monitor_note(c->mon, (uint32_t)r->id.pid, &ri))
		fprintf(stderr, "faultguardd: cannot note pid %d for a later collector\n",
			(int)r->id.pid);
}

static long tick_ns(void)
{
	return 1000000000L / sysconf(_SC_CLK_TCK);
}

/* The directory @top/<uid>/<app> under the state dir, opened only if it exists, never via a symlink. */
static int open_existing(struct collector *c, const char *top, uid_t uid, const char *app)
{
	char uid_name[16];
	int tfd, ufd, afd;

	tfd = openat(c->state_dirfd, top, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (tfd < 0)
		return -errno;
	snprintf(uid_name, sizeof(uid_name), "%u", (unsigned int)uid);
	ufd = openat(tfd, uid_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(tfd);
	if (ufd < 0)
		return -errno;
	afd = openat(ufd, app, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(ufd);
	return afd < 0 ? -errno : afd;
}

static char *read_small(int dirfd, const char *name, size_t max, size_t *len)
{
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	struct stat st;
	char *buf = NULL;
	ssize_t n;

	if (fd < 0)
		return NULL;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (size_t)st.st_size <= max &&
	    (buf = malloc((size_t)st.st_size + 1))) {
		n = pread(fd, buf, (size_t)st.st_size, 0);
		if (n != st.st_size) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			*len = (size_t)n;
		}
	}
	close(fd);
	return buf;
}

static void read_boot_id(char *buf, size_t len)
{
	int fd = open("/proc/sys/kernel/random/boot_id", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;

	if (fd >= 0)
		close(fd);
	buf[n > 0 ? n : 0] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
}

static void free_argv(char **argv)
{
	size_t i;

	for (i = 0; argv && argv[i]; i++)
		free(argv[i]);
	free(argv);
}

/* The sidecar's rescue command (NULL: none), if the sidecar is about this very process. */
static int sidecar_of(int afd, pid_t pid, uint64_t start_ticks, char ***argv)
{
	char name[32], boot[64];
	json_object *o, *v, *a;
	size_t len, i, n;
	char *text;
	int ok;

	*argv = NULL;
	snprintf(name, sizeof(name), "%d.json", (int)pid);
	text = read_small(afd, name, SIDECAR_MAX, &len);
	if (!text)
		return -ENOENT;
	o = json_tokener_parse(text);
	free(text);
	read_boot_id(boot, sizeof(boot));
	ok = o && json_object_object_get_ex(o, "boot_id", &v) &&
	     !strcmp(json_object_get_string(v), boot) &&
	     json_object_object_get_ex(o, "start_ticks", &v) &&
	     (uint64_t)json_object_get_int64(v) == start_ticks;
	if (ok && json_object_object_get_ex(o, "rescue_argv", &a) &&
	    json_object_is_type(a, json_type_array) && (n = json_object_array_length(a)) > 0 &&
	    n < 256) {
		*argv = calloc(n + 1, sizeof(char *));
		for (i = 0; *argv && i < n; i++) {
			const char *s = json_object_get_string(json_object_array_get_idx(a, i));

			if (!((*argv)[i] = strdup(s ? s : ""))) {
				free_argv(*argv);
				*argv = NULL;
				break;
			}
		}
	}
	json_object_put(o);
	return ok ? 0 : -ESTALE;
}

static void forget_autosave(int afd, pid_t pid)
{
	char name[32];

	snprintf(name, sizeof(name), "%d.fgsnap", (int)pid);
	unlinkat(afd, name, 0);
	snprintf(name, sizeof(name), "%d.json", (int)pid);
	unlinkat(afd, name, 0);
}

static int64_t death_time_ms(const struct fg_event *e)
{
	int64_t ago_ms = (mono_ns() - (int64_t)e->ktime_ns) / 1000000;

	return time_now_ms() - (ago_ms > 0 ? ago_ms : 0);
}

static void audit_late_crash(struct collector *c, const char *id, const struct monitor_reginfo *ri,
			     const struct fg_event *e, const char *cause, int sig, int status)
{
	struct crash_facts f = {
		.id = id,
		.app = ri->app,
		.cause = cause,
		.pid = (pid_t)e->tgid,
		.uid = ri->uid,
		.exit_code = sig ? -1 : status,
	};
	json_object *rec;

	crash_facts_of_event(&f, e, sig);
	rec = record_crash(&f);

	/* Nothing of where it crashed survives: its stack record went to a ring nobody read. */
	record_crash_where(rec, -1, NULL, 0, 0, NULL);
	json_object_object_add(rec, "seen_late", json_object_new_boolean(1));
	audit_emit(c->audit, rec);
}

/* What the snapshot at @path holds, and the SHA-256 of its bytes. */
static void snapshot_stats(const char *path, uint64_t *keys, uint64_t *bytes,
			   char sha[SHA256_HEX_LEN])
{
	struct fg_snapshot *s = fg_snapshot_open(path);
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	struct sha256 h;
	char buf[65536];
	ssize_t n;
	size_t i;

	*keys = *bytes = 0;
	sha[0] = '\0';
	if (s) {
		*keys = fg_snapshot_count(s);
		for (i = 0; i < *keys; i++) {
			const char *k;
			const void *v;
			size_t len;

			if (!fg_snapshot_entry(s, i, &k, &v, &len))
				*bytes += len;
		}
		fg_snapshot_close(s);
	}
	if (fd >= 0 && !sha256_init(&h)) {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			sha256_update(&h, buf, (size_t)n);
		if (n == 0)
			sha256_final_hex(&h, sha);
		else
			sha256_abort(&h);
	}
	if (fd >= 0)
		close(fd);
}

/*
 * The autosave of the dead process becomes its crash's snapshot (moved into
 * snapshots/, so list/show/retention treat it like any other); its record
 * names both places. Returns 1 with @path set when there was one.
 */
static int take_autosave(struct collector *c, const char *id, const struct monitor_reginfo *ri,
			 pid_t pid, int64_t t0_ns, char ***argv, char *path, size_t len)
{
	char from[32], name[CRASH_ID_LEN + 8], was[4096];
	int afd, sfd, err = 0;
	uint64_t keys, bytes;
	char sha[SHA256_HEX_LEN];
	json_object *rec;

	afd = open_existing(c, "autosave", ri->uid, ri->app);
	if (afd < 0)
		return 0;
	if (sidecar_of(afd, pid, ri->start_ticks, argv)) {
		close(afd);
		return 0;
	}
	snprintf(from, sizeof(from), "%d.fgsnap", (int)pid);
	snprintf(was, sizeof(was), "%.3900s/autosave/%u/%s/%s", c->cfg.state_dir,
		 (unsigned int)ri->uid, ri->app, from);
	store_snapshot_name(id, name, sizeof(name));
	store_snapshot_path(c, ri->uid, ri->app, id, path, len);
	sfd = store_open_dir(c, "snapshots", ri->uid, ri->gid, ri->app);
	if (sfd < 0 || renameat(afd, from, sfd, name) < 0)
		err = sfd < 0 ? sfd : -errno;
	if (sfd >= 0) {
		if (!err)
			fsync(sfd);
		close(sfd);
	}
	if (err) {
		/* No autosave file beside the sidecar (none was written yet): nothing to rescue with. */
		if (err != -ENOENT)
			fprintf(stderr, "faultguardd: snapshot %s: cannot move the autosave %s: %s\n",
				id, was, strerror(-err));
		forget_autosave(afd, pid);
		close(afd);
		return 0;
	}
	forget_autosave(afd, pid);
	close(afd);
	snapshot_stats(path, &keys, &bytes, sha);
	{
		struct snapshot_facts f = {
			.id = id,
			.app = ri->app,
			.pid = pid,
			.stored = "disk",
			.path = path,
			.keys = keys,
			.bytes = bytes,
			.discarded = 0,
			.us = (mono_ns() - t0_ns) / 1000,
			.sha256 = sha,
		};

		rec = record_snapshot(&f);
	}
	json_object_object_add(rec, "autosave", audit_str(was));
	audit_emit(c->audit, rec);
	return 1;
}

/*
 * The user's groups as a login would have them (the noted registration
 * kept only uid and gid; the sidecar is the user's own file, not to be
 * believed about groups): its gid alone when the user is unknown.
 */
static void user_groups(uid_t uid, gid_t gid, gid_t *groups, int *n)
{
	struct passwd pw, *res = NULL;
	char buf[4096];
	int cnt = FG_MAX_GROUPS;

	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) || !res ||
	    getgrouplist(res->pw_name, gid, groups, &cnt) < 0 || cnt < 1) {
		groups[0] = gid;
		cnt = 1;
	}
	*n = cnt;
}

static void no_autosave(struct collector *c, const char *id, const struct monitor_reginfo *ri,
			pid_t pid)
{
	struct snapshot_facts f = {
		.id = id,
		.app = ri->app,
		.pid = pid,
		.us = -1,
		.error = "no autosave: the dictionary ended with the process, which died while no "
			 "collector held it",
	};

	audit_emit(c->audit, record_snapshot(&f));
}

void late_on_event(struct collector *c, const struct fg_event *e)
{
	int sig = e->exit_code & 0x7f, status = (e->exit_code >> 8) & 0xff;
	struct rescue_request *req;
	struct monitor_reginfo ri;
	char id[CRASH_ID_LEN], path[4096];
	char **argv = NULL;
	int64_t t0 = mono_ns();
	const char *cause;
	int afd, have;

	if (monitor_reginfo(c->mon, e->tgid, &ri) || ri.version != MONITOR_REGINFO_VERSION)
		return;
	/* Another process with that pid (the noted one died unseen): not ours. */
	if (e->start_boottime && ri.start_ticks &&
	    e->start_boottime / (uint64_t)tick_ns() != ri.start_ticks)
		return;
	monitor_unwatch(c->mon, e->tgid); /* forgets the note too */
	if (e->kind == FG_EV_EXEC || (!sig && (status == 0 || (ri.flags & FG_RESCUE_SIGNAL_ONLY)))) {
		/* An orderly end: its autosave goes, as with a registration that ends. */
		afd = open_existing(c, "autosave", ri.uid, ri.app);
		if (afd >= 0) {
			forget_autosave(afd, (pid_t)e->tgid);
			close(afd);
		}
		if (c->cfg.verbose)
			fprintf(stderr, "faultguardd: pid %u (%s) ended in order while unregistered\n",
				e->tgid, ri.app);
		return;
	}
	cause = cause_name(sig, status, !!(e->flags & FG_EVF_OOM));
	crash_id_make(id, death_time_ms(e), (pid_t)e->tgid);
	audit_late_crash(c, id, &ri, e, cause, sig, status);
	have = take_autosave(c, id, &ri, (pid_t)e->tgid, t0, &argv, path, sizeof(path));
	if (!have)
		no_autosave(c, id, &ri, (pid_t)e->tgid);
	req = calloc(1, sizeof(*req));
	if (!req) {
		free_argv(argv);
		return;
	}
	snprintf(req->id, sizeof(req->id), "%s", id);
	snprintf(req->app, sizeof(req->app), "%s", ri.app);
	req->pid = (pid_t)e->tgid;
	req->uid = ri.uid;
	req->gid = ri.gid;
	user_groups(ri.uid, ri.gid, req->groups, &req->ngroups);
	req->argv = have ? argv : NULL; /* no data, no rescue: its record says "none" */
	if (!have)
		free_argv(argv);
	req->no_snapshot = !have;
	snprintf(req->snapshot, sizeof(req->snapshot), "%s", have ? path : "");
	/* Proven on the host at registration; a container's namespaces are gone with it. */
	req->on_host = !!(ri.flags & LATE_ON_HOST);
	req->snap_fd = -1;
	req->stored = "disk";
	req->autosave = have;
	req->cause = cause;
	req->signal = sig;
	req->exit_code = sig ? -1 : status;
	req->death_mono_ns = (int64_t)e->ktime_ns;
	rescue_start(c, req);
}

static void sweep_one(uint32_t tgid, const struct monitor_reginfo *ri, void *arg)
{
	struct collector *c = arg;
	struct identity id;

	if (registry_find(c, (pid_t)tgid))
		return;
	if (procinfo_read((pid_t)tgid, &id) == 0 && id.start_ticks == ri->start_ticks)
		return; /* alive: watched until it registers again or dies */
	fprintf(stderr, "faultguardd: pid %u (%s) died unseen while no collector ran (its exit "
			"record was lost)\n", tgid, ri->app);
	monitor_unwatch(c->mon, tgid);
}

void late_sweep(struct collector *c)
{
	monitor_reginfo_each(c->mon, sweep_one, c);
}
