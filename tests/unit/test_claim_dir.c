// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Claims in a snapshot directory (common/claim_dir.c), without a collector:
 * the cgroup rule, newest first, once each (the .claimed mark), and what a
 * user may plant in their own folder (symlinks, hard links, another
 * owner's file, a FIFO) never handed out.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/claim_dir.h"
#include "framework/test.h"

TEST(claim_scope_rule)
{
	ASSERT_TRUE(claim_scope_allows(NULL, 0, "/user.slice/x"), "host snapshot, host claimer");
	ASSERT_FALSE(claim_scope_allows(NULL, 1, "/a"), "host snapshot, container claimer");
	ASSERT_FALSE(claim_scope_allows("/a/b", 0, "/a/b"), "container snapshot, host claimer");
	ASSERT_TRUE(claim_scope_allows("/a/b", 1, "/a/b"), "the same cgroup");
	ASSERT_TRUE(claim_scope_allows("/a/b", 1, "/a/b/c"), "below it");
	ASSERT_FALSE(claim_scope_allows("/a/b", 1, "/a/bc"), "a sibling sharing the letters");
	ASSERT_FALSE(claim_scope_allows("/a/b", 1, "/a"), "above it");
	ASSERT_TRUE(claim_scope_allows("/", 1, "/x/y"), "the root holds everything");
	ASSERT_FALSE(claim_scope_allows("?", 1, "/x"), "an unknown cgroup matches nothing");
	ASSERT_FALSE(claim_scope_allows("/a", 1, ""), "a claimer with no cgroup");
}

static int put_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

static void put(const char *dir, const char *name, const char *text)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	ASSERT_OK(put_file(path, text), name);
}

TEST(claim_takes_newest_once_and_never_what_was_planted)
{
	char state[1024], dir[2048], path[4096], target[2048], id[256];
	uid_t me = getuid();
	int dirfd, fd, n;

	snprintf(state, sizeof(state), "%s", test_tmpdir());
	snprintf(dir, sizeof(dir), "%s/snapshots", state);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%s/snapshots/%u", state, (unsigned int)me);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%s/snapshots/%u/app", state, (unsigned int)me);
	mkdir(dir, 0700);
	put(dir, "20261208T010000.000Z-1-aaaaaaaa.fgsnap", "old");
	put(dir, "20261208T020000.000Z-2-bbbbbbbb.fgsnap", "new");
	/* Newer than both, but planted: a symlink, a hard link, a FIFO. */
	snprintf(target, sizeof(target), "%s/secret", state);
	ASSERT_OK(put_file(target, "secret"), "a file elsewhere");
	snprintf(path, sizeof(path), "%s/20261208T030000.000Z-3-cccccccc.fgsnap", dir);
	ASSERT_OK(symlink(target, path) ? -errno : 0, "symlink");
	snprintf(path, sizeof(path), "%s/20261208T040000.000Z-4-dddddddd.fgsnap", dir);
	ASSERT_OK(link(target, path) ? -errno : 0, "hard link");
	snprintf(path, sizeof(path), "%s/20261208T050000.000Z-5-eeeeeeee.fgsnap", dir);
	ASSERT_OK(mkfifo(path, 0600) ? -errno : 0, "fifo");

	dirfd = claim_open_app_dir(-1, state, me, "app");
	if (!ASSERT_GE(dirfd, 0, "open the app directory"))
		return;
	fd = claim_take(dirfd, me, 0, NULL, 0, id, sizeof(id));
	if (ASSERT_GE(fd, 0, "the first claim")) {
		char buf[16] = "";

		n = (int)read(fd, buf, sizeof(buf) - 1);
		ASSERT_EQ(n, 3, "three bytes");
		ASSERT_STREQ(buf, "new", "the newest real snapshot");
		ASSERT_STREQ(id, "20261208T020000.000Z-2-bbbbbbbb", "its id");
		close(fd);
	}
	fd = claim_take(dirfd, me, 0, NULL, 0, id, sizeof(id));
	if (ASSERT_GE(fd, 0, "the second claim")) {
		ASSERT_STREQ(id, "20261208T010000.000Z-1-aaaaaaaa", "the one before");
		close(fd);
	}
	ASSERT_EQ(claim_take(dirfd, me, 0, NULL, 0, id, sizeof(id)), -ENOENT, "then none");
	ASSERT_EQ(claim_take(dirfd, me + 1, 0, NULL, 0, id, sizeof(id)), -ENOENT,
		  "files of another owner are not handed out");
	close(dirfd);
	ASSERT_EQ(claim_open_app_dir(-1, state, me, "nothing"), -ENOENT, "no directory");
}
