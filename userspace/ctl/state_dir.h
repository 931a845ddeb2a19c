/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * faultguardctl's state directory: which one (SPEC §6: /var/lib/faultguard
 * for root, ${XDG_STATE_HOME:-~/.local/state}/faultguard for anyone else)
 * and the snapshot directory under it, STATE_DIR/snapshots/<uid>/<app>/.
 */
#ifndef FG_CTL_STATE_DIR_H
#define FG_CTL_STATE_DIR_H

#include <stddef.h>
#include <sys/types.h>

#define STATE_DIR_SYSTEM "/var/lib/faultguard"

/*
 * Writes the default state directory for the calling user into @buf.
 * -ENOENT when a non-root user has no usable home directory, -ENAMETOOLONG.
 */
int state_dir_default(char *buf, size_t len);

/* @path made absolute (against the working directory), without trailing slashes. */
int state_dir_absolute(const char *path, char *buf, size_t len);

/*
 * Opens STATE_DIR/snapshots/<uid>/<app>/, creating what is missing (the
 * state directory itself like mkdir -p). Below the state directory nothing
 * is followed through a symlink, and <uid>/ and <app>/ must belong to the
 * caller and be writable by no one else, so that no other user can swap a
 * snapshot under us. Returns an O_CLOEXEC directory fd, or -errno with a
 * sentence in *why ("cannot create ...: ..." style is left to the caller).
 */
int state_dir_open_snapshots(const char *state_dir, uid_t uid, const char *app, const char **why);

#endif
