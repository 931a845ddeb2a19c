// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * atomic_file_write, the one way faultguard replaces a file (snapshots,
 * autosave sidecars, the metrics textfile): contents, mode whatever the
 * umask, a symlink at the target replaced rather than followed, nothing
 * left behind on failure, and files planted in the directory ignored.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/atomic_file.h"
#include "framework/test.h"

static const struct atomic_file_opts private_sync = {
	.mode = 0600, .uid = (uid_t)-1, .gid = (gid_t)-1, .sync = 1,
};

/* The file's whole contents equal @want. */
static bool expect_contents(const char *path, const char *want)
{
	char buf[256];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (!ASSERT_GE(fd, 0, path))
		return false;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return ASSERT_EQ(n, (ssize_t)strlen(want), path) && ASSERT_MEMEQ(buf, want, strlen(want), path);
}


TEST(writes_and_replaces)
{
	char path[PATH_MAX];
	struct stat st;
	mode_t old = umask(0077);
	int dirfd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const struct atomic_file_opts shared = { .mode = 0644, .uid = (uid_t)-1, .gid = (gid_t)-1 };

	snprintf(path, sizeof(path), "%s/f", test_tmpdir());
	if (!ASSERT_GE(dirfd, 0, "open dir"))
		goto out;
	ASSERT_OK(atomic_file_write(dirfd, "f", "first", 5, &private_sync, NULL), "write");
	expect_contents(path, "first");
	ASSERT_OK(stat(path, &st), "stat");
	ASSERT_EQ(st.st_mode & 0777, 0600, "mode 0600");
	/* A path at AT_FDCWD, another mode, no sync: the umask does not narrow it. */
	ASSERT_OK(atomic_file_write(AT_FDCWD, path, "second!", 7, &shared, NULL), "replace");
	expect_contents(path, "second!");
	ASSERT_OK(stat(path, &st), "stat");
	ASSERT_EQ(st.st_mode & 0777, 0644, "mode 0644 despite umask 077");
	ASSERT_OK(atomic_file_write(dirfd, "empty", NULL, 0, &private_sync, NULL), "empty file");
	ASSERT_EQ(test_dir_entries(test_tmpdir()), 2, "no temporary file left");
out:
	umask(old);
	if (dirfd >= 0)
		close(dirfd);
}

TEST(keep_fd_is_the_renamed_file)
{
	int dirfd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1;
	struct stat a, b;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/kept", test_tmpdir());
	if (!ASSERT_GE(dirfd, 0, "open dir"))
		return;
	if (ASSERT_OK(atomic_file_write(dirfd, "kept", "data", 4, &private_sync, &fd), "write") &&
	    ASSERT_GE(fd, 0, "fd kept") && ASSERT_OK(fstat(fd, &a), "fstat") &&
	    ASSERT_OK(stat(path, &b), "stat"))
		ASSERT_TRUE(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "same file");
	if (fd >= 0)
		close(fd);
	close(dirfd);
}

TEST(symlink_at_target_is_replaced_not_followed)
{
	char link[PATH_MAX], victim[PATH_MAX];
	int dirfd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	struct stat st;

	snprintf(victim, sizeof(victim), "%s/victim", test_tmpdir());
	snprintf(link, sizeof(link), "%s/snap", test_tmpdir());
	if (!ASSERT_GE(dirfd, 0, "open dir"))
		return;
	if (ASSERT_OK(atomic_file_write(dirfd, "victim", "untouched", 9, &private_sync, NULL),
		      "victim") &&
	    ASSERT_OK(symlink("victim", link), "symlink") &&
	    ASSERT_OK(atomic_file_write(dirfd, "snap", "new", 3, &private_sync, NULL), "write")) {
		expect_contents(victim, "untouched");
		expect_contents(link, "new");
		ASSERT_TRUE(lstat(link, &st) == 0 && S_ISREG(st.st_mode), "a regular file now");
	}
	close(dirfd);
}

TEST(failure_leaves_nothing)
{
	char sub[PATH_MAX], inner[PATH_MAX];
	int dirfd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	snprintf(sub, sizeof(sub), "%s/d", test_tmpdir());
	snprintf(inner, sizeof(inner), "%s/d/x", test_tmpdir());
	if (!ASSERT_GE(dirfd, 0, "open dir"))
		return;
	/* The target is a non-empty directory: the rename fails. */
	if (ASSERT_OK(mkdir(sub, 0700), "mkdir") && ASSERT_OK(mkdir(inner, 0700), "mkdir")) {
		int err = atomic_file_write(dirfd, "d", "x", 1, &private_sync, NULL);

		ASSERT_TRUE(err == -EISDIR || err == -ENOTEMPTY, "rename over a directory fails");
		ASSERT_EQ(test_dir_entries(test_tmpdir()), 1, "the temporary file is gone");
	}
	ASSERT_EQ(atomic_file_write(dirfd, "missing/f", "x", 1, &private_sync, NULL), -ENOENT,
		  "a missing directory");
	close(dirfd);
}

TEST(planted_files_do_not_block)
{
	int dirfd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC), i, fd;
	char name[64], path[PATH_MAX];

	if (!ASSERT_GE(dirfd, 0, "open dir"))
		return;
	/* What a hostile user could predict: pid-based names, and a symlink or FIFO. */
	for (i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), ".snap.%d.tmp", (int)getpid() + i - 32);
		fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		if (fd >= 0)
			close(fd);
	}
	symlinkat("/etc/passwd", dirfd, ".snap.tmp");
	mkfifoat(dirfd, ".snap..tmp", 0600);
	snprintf(path, sizeof(path), "%s/snap", test_tmpdir());
	if (ASSERT_OK(atomic_file_write(dirfd, "snap", "safe", 4, &private_sync, NULL), "write"))
		expect_contents(path, "safe");
	ASSERT_EQ(test_dir_entries(test_tmpdir()), 64 + 2 + 1, "only the target was added");
	close(dirfd);
}

/* A 255-byte name (NAME_MAX) still gets a temporary name that fits; "sub/f" under a dirfd works. */
TEST(long_names_and_subdirectories)
{
	char name[256], path[PATH_MAX], sub[PATH_MAX];
	int dirfd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (!ASSERT_GE(dirfd, 0, "open dir"))
		return;
	memset(name, 'n', 255);
	name[255] = '\0';
	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	if (ASSERT_OK(atomic_file_write(dirfd, name, "long", 4, &private_sync, NULL),
		      "a 255-byte name"))
		expect_contents(path, "long");
	snprintf(sub, sizeof(sub), "%s/sub", test_tmpdir());
	snprintf(path, sizeof(path), "%s/sub/f", test_tmpdir());
	if (ASSERT_OK(mkdir(sub, 0700), "mkdir sub") &&
	    ASSERT_OK(atomic_file_write(dirfd, "sub/f", "in sub", 6, &private_sync, NULL),
		      "a name with a directory under a dirfd"))
		expect_contents(path, "in sub");
	ASSERT_EQ(test_dir_entries(sub), 1, "no temporary file left in sub");
	close(dirfd);
}
