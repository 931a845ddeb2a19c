// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Claims (SPEC §8.5): a client asks for the newest unclaimed snapshot of
 * its app under its own uid (the kernel's SO_PEERCRED, never a message);
 * it gets the file as a descriptor in the ACK, so a client in a container,
 * where the state directory is not, can read it. A snapshot of an app that
 * ran in a container goes only to a claimer in a container whose cgroup is
 * that app's or below it; a host app's only to a claimer on the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "collector/claim.h"
#include "collector/collector.h"
#include "common/claim_dir.h"
#include "common/proto.h"

static void audit_claim(struct collector *c, const struct identity *who, const char *app,
			const char *id)
{
	json_object *rec = audit_record("claim");

	json_object_object_add(rec, "id", json_object_new_string(id));
	json_object_object_add(rec, "app", audit_str(app));
	json_object_object_add(rec, "pid", json_object_new_int(who->pid));
	json_object_object_add(rec, "uid", json_object_new_int64(who->uid));
	json_object_object_add(rec, "ns_pid", who->ns_pid > 0 ? json_object_new_int(who->ns_pid)
							   : NULL);
	json_object_object_add(rec, "cgroup", who->cgroup[0] ? audit_str(who->cgroup) : NULL);
	audit_emit(c->audit, rec);
}

int claim_find(struct collector *c, const struct identity *who, const char *app, char *id,
	       size_t id_len, const char **why)
{
	int dirfd, fd;

	if (!proto_app_name_ok(app)) {
		*why = "the app name is not 1-64 characters of [A-Za-z0-9._-]";
		return -EINVAL;
	}
	dirfd = claim_open_app_dir(c->state_dirfd, NULL, who->uid, app);
	if (dirfd < 0 && dirfd != -ENOENT && dirfd != -ENOTDIR && dirfd != -ELOOP) {
		*why = "cannot open the app's snapshot directory";
		return dirfd;
	}
	fd = dirfd < 0 ? -ENOENT
		       : claim_take(dirfd, who->uid, !who->on_host, who->cgroup, 1, id, id_len);
	if (dirfd >= 0)
		close(dirfd);
	if (fd < 0) {
		*why = "there is no unclaimed snapshot of this app for this user here";
		return fd;
	}
	audit_claim(c, who, app, id);
	return fd;
}

int claim_write_scope(int dirfd, const char *id, const char *cgroup)
{
	char name[300];
	size_t len;
	int fd, err = 0;

	/* Unknown: a scope no cgroup path matches (paths begin with '/'). */
	if (!cgroup[0])
		cgroup = "?";
	len = strlen(cgroup);
	snprintf(name, sizeof(name), "%s%s", id, CLAIM_SCOPE_SUFFIX);
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (write(fd, cgroup, len) != (ssize_t)len || write(fd, "\n", 1) != 1)
		err = -EIO;
	close(fd);
	return err;
}
