// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The state directory. Snapshots live in snapshots/<uid>/<app>/<id>.fgsnap;
 * the <uid> and <app> directories belong to that uid, mode 0700, so a user
 * reads their own snapshots and nobody else's. Every step below the state
 * directory is an openat/mkdirat with O_NOFOLLOW: a symlink a user planted
 * in their own directory is refused, never followed by root.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/collector.h"
#include "collector/syncer.h"
#include "snapshot/snapshot.h"

/* Opens @name under @dirfd as a directory owned by @uid/@gid, creating it. */
static int open_owned_dir(int dirfd, const char *name, uid_t uid, gid_t gid, mode_t mode)
{
	struct stat st;
	int fd;

	if (mkdirat(dirfd, name, mode) < 0 && errno != EEXIST)
		return -errno;
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	if (st.st_uid != uid || st.st_gid != gid || (st.st_mode & 07777) != mode) {
		/* Ours to set: root created it, or a previous run did. */
		if (fchown(fd, uid, gid) < 0 || fchmod(fd, mode) < 0) {
			int err = -errno;

			close(fd);
			return err;
		}
	}
	return fd;
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[4096], *p;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

int store_open(struct collector *c, const char **why)
{
	int err, fd;

	err = mkdir_p(c->cfg.state_dir, 0755);
	if (err) {
		*why = "cannot create the state directory";
		return err;
	}
	c->state_dirfd = open(c->cfg.state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->state_dirfd < 0) {
		*why = "cannot open the state directory";
		return -errno;
	}
	fd = open_owned_dir(c->state_dirfd, "snapshots", 0, 0, 0755);
	if (fd < 0) {
		*why = "cannot create STATE_DIR/snapshots (is something else in its place?)";
		return fd;
	}
	close(fd);
	err = syncer_new(&c->syncer);
	if (err)
		*why = "cannot start the fsync thread";
	return err;
}

void store_close(struct collector *c)
{
	/* Every snapshot written is on disk before we go. */
	syncer_free(c->syncer);
	c->syncer = NULL;
}

int store_open_app_dir(struct collector *c, const char *top, const struct reg *r)
{
	char uid_name[16];
	int tfd, ufd, afd;

	snprintf(uid_name, sizeof(uid_name), "%u", (unsigned int)r->id.uid);
	tfd = open_owned_dir(c->state_dirfd, top, 0, 0, 0755);
	if (tfd < 0)
		return tfd;
	ufd = open_owned_dir(tfd, uid_name, r->id.uid, r->id.gid, 0700);
	close(tfd);
	if (ufd < 0)
		return ufd;
	afd = open_owned_dir(ufd, r->app, r->id.uid, r->id.gid, 0700);
	close(ufd);
	return afd;
}

int store_write_snapshot(struct collector *c, const struct reg *r, const char *id,
			 const struct fg_snapshot *snap, char *path, size_t path_len)
{
	char uid_name[16], file[128];
	int afd, fd, err;

	snprintf(uid_name, sizeof(uid_name), "%u", (unsigned int)r->id.uid);
	snprintf(file, sizeof(file), "%s.fgsnap", id);
	afd = store_open_app_dir(c, "snapshots", r);
	if (afd < 0)
		return afd;
	/*
	 * Complete and renamed into place now, durable a moment later: the
	 * two fsyncs (milliseconds of disk flush each) must not stand between
	 * a death and its rescue, nor hold up the next crash in a storm.
	 */
	err = snapshot_write_at_unsynced(afd, file, snap, r->id.uid, r->id.gid, &fd);
	if (err) {
		close(afd);
		return err;
	}
	syncer_add(c->syncer, fd, afd);
	snprintf(path, path_len, "%s/snapshots/%s/%s/%s", c->cfg.state_dir, uid_name, r->app, file);
	return 0;
}
