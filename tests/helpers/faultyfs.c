// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A real file system (FUSE) that fails when told to, for the tests of a
 * state directory whose disk misbehaves (tests/collector/test_collector_fs.c):
 *
 *   faultyfs BACKING MOUNTPOINT CONTROL
 *
 * passes every operation through to the directory BACKING, except when a
 * file in the directory CONTROL says otherwise. Each holds "ERRNO [TEXT]":
 * the operation fails with that errno (a number) for paths containing TEXT
 * (every path without TEXT):
 *
 *   CONTROL/write   write(2)        CONTROL/fsync  fsync(2)
 *   CONTROL/flush   close(2)        CONTROL/block  write(2) waits while it exists
 *                                                  (its ERRNO is ignored)
 *
 * The control files are read at every such operation: the test changes the
 * file system's behaviour while it runs. Runs in the foreground until
 * unmounted; multithreaded, so one blocked write holds up nothing else.
 */
#define FUSE_USE_VERSION 31
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static char backing[PATH_MAX], control[PATH_MAX / 2];

static int real(const char *path, char *buf)
{
	return snprintf(buf, PATH_MAX, "%s%s", backing, path) >= PATH_MAX ? -ENAMETOOLONG : 0;
}

/* The errno CONTROL/@what asks for @path, 0 for none. */
static int rule(const char *what, const char *path)
{
	char file[PATH_MAX], text[PATH_MAX / 2];
	int err = 0, n;
	FILE *f;

	snprintf(file, sizeof(file), "%s/%s", control, what);
	f = fopen(file, "re");
	if (!f)
		return 0;
	text[0] = '\0';
	n = fscanf(f, "%d %2047s", &err, text);
	fclose(f);
	if (n < 1)
		return 0;
	if (text[0] && !strstr(path, text))
		return 0;
	return err;
}

static void wait_while_blocked(const char *path)
{
	struct timespec tick = { .tv_nsec = 10 * 1000000L };
	char file[PATH_MAX];

	snprintf(file, sizeof(file), "%s/block", control);
	while (access(file, F_OK) == 0) {
		char text[PATH_MAX / 2] = "";
		int err = 0;
		FILE *f = fopen(file, "re");

		if (f) {
			if (fscanf(f, "%d %2047s", &err, text) < 1)
				text[0] = '\0';
			fclose(f);
		}
		if (text[0] && !strstr(path, text))
			return;
		nanosleep(&tick, NULL);
	}
}

#define REAL(path, buf)                                                                    \
	char buf[PATH_MAX];                                                                \
	do {                                                                               \
		int e_ = real(path, buf);                                                  \
		if (e_)                                                                    \
			return e_;                                                         \
	} while (0)

static int ret(int rc)
{
	return rc < 0 ? -errno : 0;
}

static void *fs_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->use_ino = 1;
	/* Nothing cached: every call reaches us, so failures come when asked. */
	cfg->entry_timeout = 0;
	cfg->attr_timeout = 0;
	cfg->negative_timeout = 0;
	return NULL;
}

static int fs_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	if (fi)
		return ret(fstat((int)fi->fh, st));
	REAL(path, p);
	return ret(lstat(p, st));
}

static int fs_readlink(const char *path, char *buf, size_t size)
{
	ssize_t n;

	REAL(path, p);
	n = readlink(p, buf, size - 1);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

static int fs_mknod(const char *path, mode_t mode, dev_t rdev)
{
	REAL(path, p);
	return ret(S_ISFIFO(mode) ? mkfifo(p, mode) : mknod(p, mode, rdev));
}

static int fs_mkdir(const char *path, mode_t mode)
{
	REAL(path, p);
	return ret(mkdir(p, mode));
}

static int fs_unlink(const char *path)
{
	REAL(path, p);
	return ret(unlink(p));
}

static int fs_rmdir(const char *path)
{
	REAL(path, p);
	return ret(rmdir(p));
}

static int fs_symlink(const char *target, const char *path)
{
	REAL(path, p);
	return ret(symlink(target, p));
}

static int fs_rename(const char *from, const char *to, unsigned int flags)
{
	REAL(from, a);
	REAL(to, b);
	return ret(renameat2(AT_FDCWD, a, AT_FDCWD, b, flags));
}

static int fs_link(const char *from, const char *to)
{
	REAL(from, a);
	REAL(to, b);
	return ret(link(a, b));
}

static int fs_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	if (fi)
		return ret(fchmod((int)fi->fh, mode));
	REAL(path, p);
	return ret(chmod(p, mode));
}

static int fs_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
	if (fi)
		return ret(fchown((int)fi->fh, uid, gid));
	REAL(path, p);
	return ret(lchown(p, uid, gid));
}

static int fs_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
	if (fi)
		return ret(ftruncate((int)fi->fh, size));
	REAL(path, p);
	return ret(truncate(p, size));
}

static int fs_utimens(const char *path, const struct timespec ts[2], struct fuse_file_info *fi)
{
	if (fi)
		return ret(futimens((int)fi->fh, ts));
	REAL(path, p);
	return ret(utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW));
}

static int fs_open(const char *path, struct fuse_file_info *fi)
{
	int fd;

	REAL(path, p);
	fd = open(p, fi->flags & ~O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int fs_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
	int fd;

	REAL(path, p);
	fd = open(p, fi->flags, mode);
	if (fd < 0)
		return -errno;
	fi->fh = (uint64_t)fd;
	return 0;
}

static int fs_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	ssize_t n = pread((int)fi->fh, buf, size, off);

	(void)path;
	return n < 0 ? -errno : (int)n;
}

static int fs_write(const char *path, const char *buf, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	int err;
	ssize_t n;

	wait_while_blocked(path);
	err = rule("write", path);
	if (err)
		return -err;
	n = pwrite((int)fi->fh, buf, size, off);
	return n < 0 ? -errno : (int)n;
}

static int fs_statfs(const char *path, struct statvfs *sv)
{
	(void)path;
	return ret(statvfs(backing, sv));
}

static int fs_flush(const char *path, struct fuse_file_info *fi)
{
	int err = rule("flush", path), fd;

	if (err)
		return -err;
	/* What close(2) would report for the backing file, without closing it. */
	fd = dup((int)fi->fh);
	return fd < 0 ? -errno : ret(close(fd));
}

static int fs_release(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	close((int)fi->fh);
	return 0;
}

static int fs_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
	int err = rule("fsync", path);

	if (err)
		return -err;
	return ret(datasync ? fdatasync((int)fi->fh) : fsync((int)fi->fh));
}

static int fs_opendir(const char *path, struct fuse_file_info *fi)
{
	DIR *d;

	REAL(path, p);
	d = opendir(p);
	if (!d)
		return -errno;
	fi->fh = (uint64_t)(uintptr_t)d;
	return 0;
}

static int fs_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
		      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
	DIR *d = (DIR *)(uintptr_t)fi->fh;
	struct dirent *e;

	(void)path;
	(void)off;
	(void)flags;
	rewinddir(d);
	while ((e = readdir(d))) {
		struct stat st = { .st_ino = e->d_ino, .st_mode = (mode_t)(e->d_type << 12) };

		if (fill(buf, e->d_name, &st, 0, 0))
			break;
	}
	return 0;
}

static int fs_releasedir(const char *path, struct fuse_file_info *fi)
{
	(void)path;
	closedir((DIR *)(uintptr_t)fi->fh);
	return 0;
}

static int fs_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
	int err = rule("fsync", path);

	(void)datasync;
	if (err)
		return -err;
	return ret(fsync(dirfd((DIR *)(uintptr_t)fi->fh)));
}

static int fs_access(const char *path, int mask)
{
	REAL(path, p);
	return ret(access(p, mask));
}

static const struct fuse_operations ops = {
	.init = fs_init,
	.getattr = fs_getattr,
	.readlink = fs_readlink,
	.mknod = fs_mknod,
	.mkdir = fs_mkdir,
	.unlink = fs_unlink,
	.rmdir = fs_rmdir,
	.symlink = fs_symlink,
	.rename = fs_rename,
	.link = fs_link,
	.chmod = fs_chmod,
	.chown = fs_chown,
	.truncate = fs_truncate,
	.utimens = fs_utimens,
	.open = fs_open,
	.create = fs_create,
	.read = fs_read,
	.write = fs_write,
	.statfs = fs_statfs,
	.flush = fs_flush,
	.release = fs_release,
	.fsync = fs_fsync,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.releasedir = fs_releasedir,
	.fsyncdir = fs_fsyncdir,
	.access = fs_access,
};

int main(int argc, char **argv)
{
	char *fargv[] = { argv[0], "-f", "-o", "allow_other,default_permissions,fsname=faultyfs",
			  argv[2], NULL };

	char ctl[PATH_MAX];

	if (argc != 4 || !realpath(argv[1], backing) || !realpath(argv[3], ctl) ||
	    strlen(ctl) >= sizeof(control)) {
		fprintf(stderr, "usage: faultyfs BACKING MOUNTPOINT CONTROL\n");
		return 64;
	}
	strcpy(control, ctl);
	umask(0);
	return fuse_main(5, fargv, &ops, NULL);
}
