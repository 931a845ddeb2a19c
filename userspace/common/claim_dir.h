/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Claiming a snapshot (SPEC §8.5), the part the collector and the library
 * (with no collector: the standalone state directory) share. The snapshots
 * of one app of one user are STATE/snapshots/<uid>/<app>/<id>.fgsnap; a
 * claimed one has a file <id>.claimed beside it (created O_EXCL: of two
 * claims at once, one wins); the snapshot of an app that ran in a
 * container has <id>.scope beside it, written by the collector: the app's
 * cgroup, one line. Nothing below the state directory is followed through
 * a symlink, and a snapshot is handed out only as a regular file of the
 * claimer's uid with one link.
 */
#ifndef FG_COMMON_CLAIM_DIR_H
#define FG_COMMON_CLAIM_DIR_H

#include <stddef.h>
#include <sys/types.h>

#define CLAIM_SCOPE_SUFFIX ".scope"
#define CLAIM_MARK_SUFFIX ".claimed"

/*
 * May a claimer take a snapshot whose scope file says @scope (NULL: none,
 * the app ran on the host)? @in_container and @cgroup: the claimer's.
 * The rule: a host snapshot to a claimer on the host; a container's to a
 * claimer in a container whose cgroup is the crashed app's or below it.
 */
int claim_scope_allows(const char *scope, int in_container, const char *cgroup);

/*
 * Opens STATE/snapshots/<uid>/<app>/ without following symlinks (@state_fd
 * an fd of STATE, or AT_FDCWD with @state a path): an O_CLOEXEC fd, or
 * -errno (-ENOENT when there is none).
 */
int claim_open_app_dir(int state_fd, const char *state, uid_t uid, const char *app);

/*
 * Claims the newest unclaimed snapshot in @dirfd (an app directory) that
 * @allows (the scope of each, see claim_scope_allows; NULL: every one)
 * and owned by @uid: its id in @id (@id_len bytes), an O_RDONLY O_CLOEXEC
 * fd of it returned, the mark created (owned by @uid when we may chown).
 * -ENOENT when there is none.
 */
int claim_take(int dirfd, uid_t uid, int in_container, const char *cgroup, int check_scope,
	       char *id, size_t id_len);

#endif
