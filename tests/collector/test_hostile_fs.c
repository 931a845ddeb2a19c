// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hostile clients, part 6: the filesystem and namespaces. A user owns
 * snapshots/<uid>/ and may plant anything in it: a symlink to a root-owned
 * directory where its app's folder should be, or a FIFO. Root must never
 * follow, open-and-block, write or chown through either. And an app in
 * another mount namespace has its rescue command run in that namespace
 * (SPEC §8.5; containers: test_collector_container), or snapshot-only.
 */
#include <dirent.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "framework/test.h"
#include "hostile.h"

/* Runs @fn as nobody in a child; its return value, or -1. */
static int as_nobody(int (*fn)(const char *arg), const char *arg)
{
	int status = -1;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		if (fx_become(FX_NOBODY, FX_NOBODY, 0, NULL))
			_exit(100);
		_exit(fn(arg));
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

static char plant_target[PATH_MAX];

static int plant_symlink(const char *where)
{
	return symlink(plant_target, where) ? errno : 0;
}

static int plant_fifo(const char *where)
{
	return mkfifo(where, 0600) ? errno : 0;
}

/* Crashes nobody's app @app; returns its snapshot record. */
static json_object *crash_nobodys(struct fx *c, const char *app, unsigned int seed)
{
	struct hostile_app a = { .app = app, .uid = FX_NOBODY, .gid = FX_NOBODY,
				 .seed = seed };

	if (!hostile_app_start(c, &a) || !ASSERT_EQ(a.status, 0, app)) {
		hostile_app_kill(&a, SIGKILL);
		return NULL;
	}
	hostile_app_kill(&a, SIGSEGV);
	return fx_wait(c, "snapshot", hostile_app_pid(&a), 0, HOSTILE_WAIT_MS);
}

static bool dir_untouched(const char *dir, const char *what)
{
	char file[PATH_MAX + 16], buf[64] = "";
	struct stat st;
	struct dirent *d;
	int n = 0;
	DIR *dp;
	FILE *f;

	if (!ASSERT_OK(stat(dir, &st), what) || !ASSERT_EQ(st.st_uid, 0, "still root's") ||
	    !ASSERT_EQ(st.st_gid, 0, "still root's group") ||
	    !ASSERT_EQ(st.st_mode & 07777, 0755, "mode unchanged"))
		return false;
	dp = opendir(dir);
	while (dp && (d = readdir(dp)))
		if (d->d_name[0] != '.')
			n++;
	if (dp)
		closedir(dp);
	snprintf(file, sizeof(file), "%s/precious", dir);
	f = fopen(file, "re");
	if (f) {
		(void)!fgets(buf, sizeof(buf), f);
		fclose(f);
	}
	if (!ASSERT_OK(stat(file, &st), "the file in it"))
		return false;
	return ASSERT_EQ(n, 1, "nothing written into it") &&
	       ASSERT_STREQ(buf, "root's data\n", "its file unchanged") &&
	       ASSERT_EQ(st.st_uid, 0, "its file still root's") &&
	       ASSERT_EQ(st.st_mode & 07777, 0644, "its file's mode");
}

TEST(hostile_planted_symlink_and_fifo)
{
	struct fx col;
	json_object *snap = NULL;
	char where[PATH_MAX + 64], file[PATH_MAX + 16];
	struct stat st;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	/* A root-owned directory with something in it: what the attacker aims at. */
	snprintf(plant_target, sizeof(plant_target), "%s/rootdir", test_tmpdir());
	snprintf(file, sizeof(file), "%s/precious", plant_target);
	if (!ASSERT_OK(mkdir(plant_target, 0755), "mkdir") || !ASSERT_OK(chmod(plant_target, 0755), "chmod") ||
	    !ASSERT_OK(fx_write_file(file, "root's data\n"), "its file") ||
	    !ASSERT_OK(chmod(file, 0644), "chmod"))
		goto out;
	/* nobody's first crash makes snapshots/65534/, nobody's own. */
	snap = crash_nobodys(&col, "first", 1);
	if (!ASSERT_NOT_NULL(snap, "first snapshot") ||
	    !ASSERT_NOT_NULL(jstr(snap, "path"), "first snapshot written"))
		goto out;
	json_object_put(snap);
	snap = NULL;

	/* The symlink: snapshots/65534/evil -> the root-owned directory. */
	snprintf(where, sizeof(where), "%s/snapshots/65534/evil", col.state);
	if (!ASSERT_EQ(as_nobody(plant_symlink, where), 0, "nobody plants a symlink"))
		goto out;
	snap = crash_nobodys(&col, "evil", 2);
	if (!ASSERT_NOT_NULL(snap, "the snapshot record") ||
	    !ASSERT_TRUE(jstr(snap, "path") == NULL, "no snapshot through the symlink") ||
	    !ASSERT_NOT_NULL(jstr(snap, "error"), "the record says why") ||
	    !CHECK_STR(snap, "stored", "memory"))
		goto out;
	json_object_put(snap);
	snap = NULL;
	/* Held in memory (one memfd) until the disk takes it: nobody's data is not lost either. */
	col.fds++;
	if (!dir_untouched(plant_target, "the symlink's target"))
		goto out;
	/* The link itself is left as it was: not followed, not replaced, not chowned. */
	if (!ASSERT_OK(lstat(where, &st), "the link") || !ASSERT_TRUE(S_ISLNK(st.st_mode), "a link") ||
	    !ASSERT_EQ(st.st_uid, FX_NOBODY, "the link's owner"))
		goto out;
	if (!hostile_after(&col, "a planted symlink"))
		goto out;

	/* A FIFO where the app's folder goes: opening it must not block the collector. */
	snprintf(where, sizeof(where), "%s/snapshots/65534/fifo", col.state);
	if (!ASSERT_EQ(as_nobody(plant_fifo, where), 0, "nobody plants a FIFO"))
		goto out;
	snap = crash_nobodys(&col, "fifo", 3);
	if (!ASSERT_NOT_NULL(snap, "the snapshot record") ||
	    !ASSERT_TRUE(jstr(snap, "path") == NULL, "no snapshot into a FIFO") ||
	    !CHECK_STR(snap, "stored", "memory"))
		goto out;
	col.fds++;
	hostile_after(&col, "a planted FIFO");
out:
	json_object_put(snap);
	hostile_stop(&col);
}

/* Unshares the mount namespace before registering (hostile_app.after can't: too late). */
static int fill_in_new_ns(struct hostile_app *a, int memfd, struct dict_writer *w)
{
	(void)memfd;
	if (unshare(CLONE_NEWNS) < 0)
		return -errno;
	return hostile_write_values(w, a->seed);
}

TEST(hostile_other_mount_namespace)
{
	struct fx col;
	struct hostile_app a = { .app = "contained", .fill = fill_in_new_ns, .seed = 21 };
	struct hostile_app b = { .app = "contained-snap", .fill = fill_in_new_ns, .seed = 22,
				 .snapshot_only = 1 };
	json_object *resc;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	/* With a rescue command: registered; the command runs in the app's namespace. */
	if (!hostile_app_start(&col, &a) ||
	    !ASSERT_EQ(a.status, 0, "a rescue command from another mount namespace"))
		goto out;
	hostile_app_kill(&a, SIGSEGV);
	resc = hostile_expect_rescued(&col, &a, "an app in another mount namespace, with a rescue");
	ASSERT_STREQ(jstr(resc, "status"), "ok", "its command ran");
	json_object_put(resc);
	/* Snapshot only: registered and rescued with exact data. */
	if (!hostile_app_start(&col, &b) || !ASSERT_EQ(b.status, 0, "snapshot only"))
		goto out;
	hostile_app_kill(&b, SIGSEGV);
	resc = hostile_expect_rescued(&col, &b, "an app in another mount namespace");
	ASSERT_STREQ(jstr(resc, "status"), "none", "no command to run");
	json_object_put(resc);
	hostile_after(&col, "apps in another mount namespace");
out:
	if (b.pid > 0)
		hostile_app_kill(&b, SIGKILL);
	hostile_stop(&col);
}

/* 0 when connected, else the errno of connect(2). */
static int try_connect(const char *sock)
{
	int s = fx_connect(sock);

	if (s < 0)
		return -s;
	close(s);
	return 0;
}

/* socket_group + socket_mode 0660: only the group's members may register. */
TEST(hostile_socket_group)
{
	struct fx col;
	struct hostile_app a = { .app = "member", .uid = FX_NOBODY, .gid = FX_NOBODY,
				 .ngroups = 2, .groups = { FX_NOBODY, 4243 }, .seed = 31 };
	json_object *resc;
	struct stat st;

	if (!hostile_start(&col, "socket_group = 4243\nsocket_mode = 0660\n", 0))
		goto out;
	if (!ASSERT_OK(stat(col.sock, &st), "stat the socket") ||
	    !ASSERT_EQ(st.st_mode & 07777, 0660, "the socket's mode") ||
	    !ASSERT_EQ(st.st_gid, 4243, "the socket's group"))
		goto out;
	/* Not a member: the kernel refuses the connect. */
	if (!ASSERT_EQ(as_nobody(try_connect, col.sock), EACCES, "an outsider connects"))
		goto out;
	/* A member (supplementary group): registered and rescued, as itself. */
	if (!hostile_app_start(&col, &a) || !ASSERT_EQ(a.status, 0, "a member registers"))
		goto out;
	hostile_app_kill(&a, SIGSEGV);
	resc = hostile_expect_rescued(&col, &a, "a member's app");
	json_object_put(resc);
	hostile_after(&col, "socket_group");
out:
	hostile_stop(&col);
}
