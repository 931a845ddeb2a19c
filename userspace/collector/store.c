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
#include "common/atomic_file.h"
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
	return 0;
}

int store_open_dir(struct collector *c, const char *top, uid_t uid, gid_t gid, const char *app)
{
	char uid_name[16];
	int tfd, ufd, afd;

	snprintf(uid_name, sizeof(uid_name), "%u", (unsigned int)uid);
	tfd = open_owned_dir(c->state_dirfd, top, 0, 0, 0755);
	if (tfd < 0)
		return tfd;
	ufd = open_owned_dir(tfd, uid_name, uid, gid, 0700);
	close(tfd);
	if (ufd < 0)
		return ufd;
	afd = open_owned_dir(ufd, app, uid, gid, 0700);
	close(ufd);
	return afd;
}

int store_open_app_dir(struct collector *c, const char *top, const struct reg *r)
{
	return store_open_dir(c, top, r->id.uid, r->id.gid, r->app);
}

void store_snapshot_name(const char *id, char *name, size_t len)
{
	snprintf(name, len, "%s.fgsnap", id);
}

void store_snapshot_path(const struct collector *c, uid_t uid, const char *app, const char *id,
			 char *path, size_t len)
{
	snprintf(path, len, "%s/snapshots/%u/%s/%s.fgsnap", c->cfg.state_dir, (unsigned int)uid,
		 app, id);
}

int store_write_bytes(int dirfd, const char *name, const void *buf, size_t len, uid_t uid,
		      gid_t gid, int *fd)
{
	const struct atomic_file_opts o = { .mode = 0600, .uid = uid, .gid = gid, .sync = 0 };

	/*
	 * Complete and renamed into place now, durable a moment later: the
	 * two fsyncs (milliseconds of disk flush each) must not stand between
	 * a death and its rescue, nor hold up the next crash in a storm.
	 */
	return atomic_file_write(dirfd, name, buf, len, &o, fd);
}
