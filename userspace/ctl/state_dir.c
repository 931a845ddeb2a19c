// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl/state_dir.h"

static int put_path(char *buf, size_t len, const char *a, const char *b)
{
	int n = snprintf(buf, len, "%s%s", a, b);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

static const char *home_dir(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;

	if (home && home[0] == '/')
		return home;
	pw = getpwuid(getuid());
	return pw && pw->pw_dir && pw->pw_dir[0] == '/' ? pw->pw_dir : NULL;
}

int state_dir_default(char *buf, size_t len)
{
	const char *xdg = getenv("XDG_STATE_HOME"), *home;
	char base[4096];
	int err;

	if (geteuid() == 0)
		return put_path(buf, len, STATE_DIR_SYSTEM, "");
	/* The XDG spec says to ignore a relative XDG_STATE_HOME. */
	if (xdg && xdg[0] == '/')
		return put_path(buf, len, xdg, "/faultguard");
	home = home_dir();
	if (!home)
		return -ENOENT;
	err = put_path(base, sizeof(base), home, "/.local/state");
	return err ? err : put_path(buf, len, base, "/faultguard");
}

int state_dir_absolute(const char *path, char *buf, size_t len)
{
	char cwd[4096];
	size_t n;
	int err;

	if (!path || !*path)
		return -EINVAL;
	if (path[0] == '/') {
		err = put_path(buf, len, path, "");
	} else {
		if (!getcwd(cwd, sizeof(cwd)))
			return -errno;
		err = put_path(buf, len, strcmp(cwd, "/") ? cwd : "", "/");
		if (!err)
			err = put_path(buf + strlen(buf), len - strlen(buf), path, "");
	}
	if (err)
		return err;
	n = strlen(buf);
	while (n > 1 && buf[n - 1] == '/')
		buf[--n] = '\0';
	return 0;
}

/*
 * Opens @name in @dirfd as a directory. A directory we may search but not
 * read (mode 0711 homes, say) is still a way through: O_PATH needs no read
 * permission and serves as the dirfd of the next step.
 */
static int open_dir(int dirfd, const char *name, int nofollow)
{
	int flags = O_DIRECTORY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0);
	int fd = openat(dirfd, name, O_RDONLY | flags);

	if (fd < 0 && errno == EACCES)
		fd = openat(dirfd, name, O_PATH | flags);
	return fd;
}

/* Opens @name in @dirfd as a directory, creating it with @mode if missing. */
static int open_or_make(int dirfd, const char *name, mode_t mode, int nofollow)
{
	int fd, made;

	fd = open_dir(dirfd, name, nofollow);
	if (fd >= 0 || errno != ENOENT)
		return fd >= 0 ? fd : -errno;
	made = mkdirat(dirfd, name, mode) == 0;
	if (!made && errno != EEXIST)
		return -errno;
	fd = open_dir(dirfd, name, nofollow);
	if (fd < 0)
		return -errno;
	/* The umask may have taken bits we want; it never adds any. */
	if (made)
		fchmod(fd, mode);
	return fd;
}

/* mkdir -p for the state directory itself: the user chose the path, symlinks included. */
static int open_state_dir(const char *path, mode_t mode)
{
	char copy[4096], *comp, *save = NULL;
	int dirfd, fd;

	if (path[0] != '/' || strlen(path) >= sizeof(copy))
		return -EINVAL;
	strcpy(copy, path);
	dirfd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	for (comp = strtok_r(copy, "/", &save); comp; comp = strtok_r(NULL, "/", &save)) {
		fd = open_or_make(dirfd, comp, mode, 0);
		close(dirfd);
		if (fd < 0)
			return fd;
		dirfd = fd;
	}
	return dirfd;
}

/* A directory only we may change: no one can replace what we write into it. */
static int private_dir_ok(int fd)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return -EPERM;
	return 0;
}

/*
 * One step down from @dirfd (closed here) to @name: a real directory,
 * created if missing, and with @private one only we may change.
 */
static int step(int dirfd, const char *name, mode_t mode, int private, const char *what,
		const char **why)
{
	static char msg[160];
	int fd, err;

	fd = open_or_make(dirfd, name, mode, 1);
	close(dirfd);
	if (fd == -ELOOP || fd == -ENOTDIR) {
		snprintf(msg, sizeof(msg),
			 "%s is not a directory (symbolic links are not followed)", what);
		*why = msg;
		return fd;
	}
	if (fd < 0) {
		snprintf(msg, sizeof(msg), "cannot create or open %s", what);
		*why = msg;
		return fd;
	}
	err = private ? private_dir_ok(fd) : 0;
	if (err) {
		close(fd);
		snprintf(msg, sizeof(msg), "%s belongs to another user or is writable by others",
			 what);
		*why = msg;
		return err;
	}
	return fd;
}

int state_dir_open_snapshots(const char *state_dir, uid_t uid, const char *app, const char **why)
{
	/*
	 * In the system state directory the collector keeps every user's
	 * snapshots: users must be able to pass through to their own.
	 */
	int system = geteuid() == 0;
	char uidstr[16];
	int fd;

	fd = open_state_dir(state_dir, system ? 0755 : 0700);
	if (fd < 0) {
		*why = "cannot create or open the state directory";
		return fd;
	}
	fd = step(fd, "snapshots", system ? 0711 : 0700, 0, "snapshots/", why);
	if (fd < 0)
		return fd;
	snprintf(uidstr, sizeof(uidstr), "%u", (unsigned int)uid);
	fd = step(fd, uidstr, 0700, 1, "the user's snapshot directory", why);
	if (fd < 0)
		return fd;
	return step(fd, app, 0700, 1, "the app's snapshot directory", why);
}
