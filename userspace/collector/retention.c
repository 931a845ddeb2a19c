// SPDX-License-Identifier: LGPL-2.1-or-later
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "collector/collector.h"
#include "collector/held.h"
#include "collector/ops.h"
#include "collector/retention.h"
#include "common/claim_dir.h"
#include "common/crash_id.h"
#include "common/timefmt.h"

#define MIN_GAP_MS 1000
#define PERIOD_MS (3600 * 1000)
/* While snapshots are held in memory, a pass (which tries the disk again) this often. */
#define HELD_PERIOD_MS (5 * 1000)
#define STALE_TEMP_S 3600 /* a temporary file this old has no writer left */

struct retention {
	int pending;
	int64_t last_run_ms; /* mono; 0 = never */
	uint64_t bytes, files;
};

struct snapfile {
	char uid[16];
	char app[65];
	char name[128];
	uint64_t size;
	int64_t mtime_ms;
	int gone;
};

struct scan {
	struct snapfile *v;
	size_t n, cap;
};

int retention_new(struct retention **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->pending = 1; /* the pass at start */
	return 0;
}

void retention_free(struct retention *r)
{
	free(r);
}

void retention_soon(struct collector *c)
{
	c->ops->retention->pending = 1;
}

uint64_t retention_bytes(const struct collector *c)
{
	return c->ops && c->ops->retention ? c->ops->retention->bytes : 0;
}

uint64_t retention_files(const struct collector *c)
{
	return c->ops && c->ops->retention ? c->ops->retention->files : 0;
}

/* Every open below the state directory refuses symlinks: users own <uid>/ and <app>/. */
static int open_dir_at(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

static int all_digits(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && !strcmp(s + a - b, suffix);
}

static int add(struct scan *sc, const char *uid, const char *app, const char *name,
	       const struct stat *st)
{
	struct snapfile *f;

	if (sc->n == sc->cap) {
		size_t cap = sc->cap ? sc->cap * 2 : 256;
		struct snapfile *v = realloc(sc->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		sc->v = v;
		sc->cap = cap;
	}
	f = &sc->v[sc->n++];
	snprintf(f->uid, sizeof(f->uid), "%s", uid);
	snprintf(f->app, sizeof(f->app), "%s", app);
	snprintf(f->name, sizeof(f->name), "%s", name);
	f->size = (uint64_t)st->st_size;
	f->mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
	f->gone = 0;
	return 0;
}

static int scan_app(struct scan *sc, int afd, const char *uid, const char *app)
{
	DIR *d = fdopendir(afd);
	struct dirent *e;
	struct stat st;
	int err = 0;

	if (!d) {
		close(afd);
		return -errno;
	}
	while (!err && (e = readdir(d))) {
		/*
		 * Dot files are snapshots still being written (and . and ..). One
		 * an hour old was left by a writer that died mid-write: it goes.
		 */
		if (e->d_name[0] == '.' && ends_with(e->d_name, ".tmp") &&
		    fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(st.st_mode) && st.st_mtime < time(NULL) - STALE_TEMP_S)
			unlinkat(dirfd(d), e->d_name, 0);
		if (e->d_name[0] == '.' || !ends_with(e->d_name, ".fgsnap") ||
		    strlen(e->d_name) >= sizeof(sc->v[0].name))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		err = add(sc, uid, app, e->d_name, &st);
	}
	closedir(d);
	return err;
}

static int scan_uid(struct scan *sc, int ufd, const char *uid)
{
	DIR *d = fdopendir(ufd);
	struct dirent *e;
	int err = 0, afd;

	if (!d) {
		close(ufd);
		return -errno;
	}
	while (!err && (e = readdir(d))) {
		if (e->d_name[0] == '.' || strlen(e->d_name) > 64)
			continue;
		afd = open_dir_at(dirfd(d), e->d_name);
		if (afd >= 0)
			err = scan_app(sc, afd, uid, e->d_name);
	}
	closedir(d);
	return err;
}

static int scan(struct collector *c, struct scan *sc)
{
	int sfd = open_dir_at(c->state_dirfd, "snapshots"), ufd, err = 0;
	struct dirent *e;
	DIR *d;

	if (sfd < 0)
		return errno == ENOENT ? 0 : -errno;
	d = fdopendir(sfd);
	if (!d) {
		close(sfd);
		return -errno;
	}
	while (!err && (e = readdir(d))) {
		if (!all_digits(e->d_name) || strlen(e->d_name) >= sizeof(sc->v[0].uid))
			continue;
		ufd = open_dir_at(dirfd(d), e->d_name);
		if (ufd >= 0)
			err = scan_uid(sc, ufd, e->d_name);
	}
	closedir(d);
	return err;
}

static int oldest_first(const void *a, const void *b)
{
	const struct snapfile *x = a, *y = b;

	if (x->mtime_ms != y->mtime_ms)
		return x->mtime_ms < y->mtime_ms ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void path_of(const struct collector *c, const struct snapfile *f, char *buf, size_t len)
{
	snprintf(buf, len, "%s/snapshots/%s/%s/%s", c->cfg.state_dir, f->uid, f->app, f->name);
}

static int unlink_snapshot(struct collector *c, const struct snapfile *f)
{
	int sfd, ufd, afd, err = 0;

	sfd = open_dir_at(c->state_dirfd, "snapshots");
	if (sfd < 0)
		return -errno;
	ufd = open_dir_at(sfd, f->uid);
	close(sfd);
	if (ufd < 0)
		return -errno;
	afd = open_dir_at(ufd, f->app);
	close(ufd);
	if (afd < 0)
		return -errno;
	if (unlinkat(afd, f->name, 0) < 0) {
		err = -errno;
	} else {
		/* What claims keep beside it goes with it. */
		char side[sizeof(f->name) + 16];
		size_t n = strlen(f->name) - strlen(".fgsnap");

		snprintf(side, sizeof(side), "%.*s%s", (int)n, f->name, CLAIM_SCOPE_SUFFIX);
		unlinkat(afd, side, 0);
		snprintf(side, sizeof(side), "%.*s%s", (int)n, f->name, CLAIM_MARK_SUFFIX);
		unlinkat(afd, side, 0);
	}
	close(afd);
	return err;
}

static void audit_expire(struct collector *c, const struct snapfile *f, const char *path,
			 const char *reason)
{
	json_object *rec = audit_record("expire");
	char id[128];
	size_t n = strlen(f->name) - strlen(".fgsnap");

	snprintf(id, sizeof(id), "%.*s", (int)n, f->name);
	json_object_object_add(rec, "id", crash_id_valid(id) ? json_object_new_string(id) : NULL);
	json_object_object_add(rec, "app", audit_str(f->app));
	json_object_object_add(rec, "uid", json_object_new_int64(strtoll(f->uid, NULL, 10)));
	json_object_object_add(rec, "path", audit_str(path));
	json_object_object_add(rec, "reason", json_object_new_string(reason));
	json_object_object_add(rec, "bytes", json_object_new_int64((int64_t)f->size));
	audit_emit(c->audit, rec);
}

/* Deletes @f unless a rescue needs it; returns 1 when it is gone. */
static int expire(struct collector *c, struct snapfile *f, const char *reason)
{
	char path[4096 + 300];
	int err;

	path_of(c, f, path, sizeof(path));
	/* A rescue reads it, or a copy held in memory waits to replace it: it stays. */
	if (rescue_holds(c, path) || held_holds(c, path))
		return 0;
	err = unlink_snapshot(c, f);
	f->gone = 1;
	if (err == -ENOENT) /* its owner deleted it first */
		return 1;
	if (err) {
		f->gone = 0;
		fprintf(stderr, "faultguardd: retention: cannot delete %s: %s\n", path,
			strerror(-err));
		return 0;
	}
	audit_expire(c, f, path, reason);
	return 1;
}

/* Available space as a percentage of the file system, or 100 when it cannot be read. */
static unsigned int free_pct(const struct collector *c)
{
	struct statvfs sv;

	if (fstatvfs(c->state_dirfd, &sv) < 0 || !sv.f_blocks)
		return 100;
	return (unsigned int)((unsigned long long)sv.f_bavail * 100 / sv.f_blocks);
}

static void apply(struct collector *c, struct scan *sc, uint64_t *total)
{
	const struct config *cfg = &c->cfg;
	int64_t now = time_now_ms();
	size_t i;

	for (i = 0; cfg->retention_max_age_s && i < sc->n; i++) {
		struct snapfile *f = &sc->v[i];

		if (now - f->mtime_ms > (int64_t)cfg->retention_max_age_s * 1000 &&
		    expire(c, f, "age"))
			*total -= f->size;
	}
	for (i = 0; cfg->retention_max_bytes && *total > cfg->retention_max_bytes && i < sc->n;
	     i++) {
		struct snapfile *f = &sc->v[i];

		if (!f->gone && expire(c, f, "bytes"))
			*total -= f->size;
	}
	for (i = 0; cfg->retention_min_free_pct && i < sc->n &&
		    free_pct(c) < cfg->retention_min_free_pct;
	     i++) {
		struct snapfile *f = &sc->v[i];

		if (!f->gone && expire(c, f, "free_space"))
			*total -= f->size;
	}
}

static void run(struct collector *c)
{
	struct retention *r = c->ops->retention;
	struct scan sc = { 0 };
	uint64_t total = 0;
	size_t i;
	int err;

	err = scan(c, &sc);
	if (err)
		fprintf(stderr,
			"faultguardd: retention: cannot read every snapshot directory: %s\n",
			strerror(-err));
	if (sc.n) /* qsort(NULL, 0, ...) is undefined */
		qsort(sc.v, sc.n, sizeof(*sc.v), oldest_first);
	for (i = 0; i < sc.n; i++)
		total += sc.v[i].size;
	apply(c, &sc, &total);
	r->bytes = total;
	r->files = 0;
	for (i = 0; i < sc.n; i++)
		r->files += !sc.v[i].gone;
	free(sc.v);
}

int64_t retention_next(const struct collector *c)
{
	const struct retention *r = c->ops->retention;

	if (!r->last_run_ms)
		return 0;
	if (r->pending)
		return r->last_run_ms + MIN_GAP_MS;
	return r->last_run_ms + (held_count(c) ? HELD_PERIOD_MS : PERIOD_MS);
}

void retention_tick(struct collector *c)
{
	struct retention *r = c->ops->retention;
	int64_t now = mono_ms();

	if (now < retention_next(c))
		return;
	r->pending = 0;
	r->last_run_ms = now;
	run(c);
	/* Room may have been made (or freed by someone): the copies waiting in memory try again. */
	held_retry(c);
}
