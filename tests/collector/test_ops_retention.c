// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Retention: snapshots older than retention_max_age, beyond
 * retention_max_bytes, or below the retention_min_free floor are deleted
 * oldest first, at start and after a new snapshot, each with an `expire`
 * record; newer ones and the snapshot a rescue is reading stay.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "framework/test.h"
#include "ops.h"

#define MIB (1024 * 1024)

/* STATE/snapshots/1000/<app>/<id>.fgsnap of @size bytes, last changed @age_s ago. */
static bool plant(const struct fx *e, const char *app, const char *id, size_t size,
		  long age_s, char *path, size_t path_len)
{
	char dir[PATH_MAX];
	struct timespec t[2];
	char *buf;
	int fd;
	bool ok;

	snprintf(dir, sizeof(dir), "%.3000s/snapshots", e->state);
	mkdir(e->state, 0755);
	mkdir(dir, 0755);
	snprintf(dir, sizeof(dir), "%.3000s/snapshots/1000", e->state);
	mkdir(dir, 0700);
	snprintf(dir, sizeof(dir), "%.3000s/snapshots/1000/%s", e->state, app);
	mkdir(dir, 0700);
	snprintf(path, path_len, "%.3000s/%s.fgsnap", dir, id);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!ASSERT_TRUE(fd >= 0, "create a planted snapshot"))
		return false;
	buf = calloc(1, size ? size : 1);
	ok = buf && write(fd, buf, size) == (ssize_t)size;
	free(buf);
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age_s;
	t[1] = t[0];
	ok = ok && futimens(fd, t) == 0;
	close(fd);
	return ASSERT_TRUE(ok, "write the planted snapshot");
}

/* The expire records, waiting until there are @n of them. */
static json_object *expires(struct fx *e, int n)
{
	json_object *last = fx_wait(e, "expire", -1, n - 1, OPS_WAIT_MS), *v = NULL;

	if (ASSERT_NOT_NULL(last, "expire records"))
		v = fx_records(e, "expire");
	json_object_put(last);
	return v;
}

/* Proves a retention pass ran: the metrics count the files it kept. */
static bool wait_files_counted(struct fx *e, int files)
{
	char out[65536];

	return ASSERT_TRUE(ops_wait_metric(e, "faultguard_snapshot_files", files, out, sizeof(out)),
			   "a retention pass counted the files");
}

TEST(too_old_snapshots_expire_at_start)
{
	char old_path[PATH_MAX], new_path[PATH_MAX];
	json_object *v, *rec;
	struct fx e;

	if (!fx_can_run() || !fx_init(&e))
		return;
	if (!plant(&e, "aging", "20261101T000000.000Z-111-0badc0de", 1000, 20 * 86400, old_path,
		   sizeof(old_path)) ||
	    !plant(&e, "aging", "20261125T000000.000Z-222-0badc0de", 1000, 86400, new_path,
		   sizeof(new_path)))
		return;
	/* The default maximum age is 14 days. */
	e.config = "# defaults\n";
	if (!fx_start(&e))
		return;
	v = expires(&e, 1);
	if (v) {
		rec = json_object_array_get_idx(v, 0);
		ASSERT_STREQ(jstr(rec, "reason"), "age", "reason");
		ASSERT_STREQ(jstr(rec, "path"), old_path, "path");
		ASSERT_STREQ(jstr(rec, "id"), "20261101T000000.000Z-111-0badc0de", "id");
		ASSERT_STREQ(jstr(rec, "app"), "aging", "app");
		ASSERT_EQ(jint_or(rec, "uid", -1), 1000, "uid");
		ASSERT_EQ(jint_or(rec, "bytes", -1), 1000, "bytes");
	}
	json_object_put(v);
	ASSERT_NEQ(access(old_path, F_OK), 0, "the old snapshot is gone");
	ASSERT_TRUE(wait_files_counted(&e, 1), "the pass kept one file");
	ASSERT_OK(access(new_path, F_OK), "the day-old one stays");
	ASSERT_EQ(fx_count(&e, "expire", -1), 1, "nothing else expired");
	ops_stop(&e);
}

TEST(beyond_max_bytes_the_oldest_expire)
{
	char paths[5][PATH_MAX], id[64];
	json_object *v;
	struct fx e;
	int i;

	if (!fx_can_run() || !fx_init(&e))
		return;
	/* 5 x 100000 bytes, the first the oldest; the limit keeps two. */
	for (i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "20261125T00000%d.000Z-%d-0badc0de", i, 100 + i);
		if (!plant(&e, "bulky", id, 100000, 600 - i * 60, paths[i], sizeof(paths[i])))
			return;
	}
	e.config = "retention_max_bytes = 250000\n";
	if (!fx_start(&e))
		return;
	v = expires(&e, 3);
	for (i = 0; v && i < 3; i++) {
		json_object *rec = json_object_array_get_idx(v, (size_t)i);

		ASSERT_STREQ(jstr(rec, "reason"), "bytes", "reason");
		ASSERT_STREQ(jstr(rec, "path"), paths[i], "oldest first");
		ASSERT_NEQ(access(paths[i], F_OK), 0, "deleted");
	}
	json_object_put(v);
	ASSERT_TRUE(wait_files_counted(&e, 2), "the pass kept two files");
	ASSERT_OK(access(paths[3], F_OK), "the 4th stays");
	ASSERT_OK(access(paths[4], F_OK), "the newest stays");
	ops_stop(&e);
}

TEST(a_new_snapshot_pushes_the_oldest_out_and_its_rescue_reads_it)
{
	const char *const rescue[] = { "/bin/sh", "-c", "cat \"$FAULTGUARD_SNAPSHOT\" >/dev/null",
				       NULL };
	char old_path[PATH_MAX];
	json_object *v, *snap, *res;
	struct fx_app app;
	struct fx e;
	pid_t pid;

	if (!fx_can_run() || !fx_init(&e))
		return;
	/* Just under the limit until the crash's snapshot arrives. */
	if (!plant(&e, "early", "20261125T000000.000Z-333-0badc0de", 99990, 60, old_path,
		   sizeof(old_path)))
		return;
	e.config = "retention_max_bytes = 100000\n";
	if (!fx_start(&e))
		return;
	if (!wait_files_counted(&e, 1) || !ops_app_start(&e, &app, 0, "late", "stdin", rescue))
		goto out;
	ASSERT_OK(access(old_path, F_OK), "under the limit, the planted snapshot stays");
	pid = app.pid;
	fx_app_send(&app, "segv");
	fx_app_wait(&app, OPS_WAIT_MS);
	v = expires(&e, 1);
	if (v)
		ASSERT_STREQ(jstr(json_object_array_get_idx(v, 0), "path"), old_path,
			     "the older snapshot expired");
	json_object_put(v);
	ASSERT_NEQ(access(old_path, F_OK), 0, "it is gone");
	snap = fx_wait(&e, "snapshot", pid, 0, OPS_WAIT_MS);
	if (ASSERT_NOT_NULL(snap, "the crash's snapshot record"))
		ASSERT_OK(access(jstr(snap, "path"), F_OK), "the new snapshot stays");
	json_object_put(snap);
	res = fx_wait(&e, "rescue", pid, 0, OPS_WAIT_MS);
	if (ASSERT_NOT_NULL(res, "the rescue record"))
		ASSERT_STREQ(jstr(res, "status"), "ok", "the rescue read its snapshot");
	json_object_put(res);
out:
	ops_stop(&e);
}

TEST(below_the_free_space_floor_the_oldest_expire)
{
	char mnt[PATH_MAX + 16], filler[PATH_MAX + 32], paths[3][PATH_MAX], id[64];
	struct fx e;
	json_object *v;
	int i, fd;

	if (!fx_can_run() || !fx_init(&e))
		return;
	/* A 4 MiB file system of our own: 3 x 1 MiB snapshots and 0.5 MiB of other data. */
	snprintf(mnt, sizeof(mnt), "%.3000s/small", e.dir);
	ASSERT_OK(mkdir(mnt, 0755), "mkdir");
	if (mount("tmpfs", mnt, "tmpfs", MS_NOSUID | MS_NODEV, "size=4m,mode=0755") < 0) {
		test_skip("cannot mount a 4 MiB tmpfs to fill (%s)", strerror(errno));
		return;
	}
	snprintf(e.state, sizeof(e.state), "%.3000s/state", mnt);
	snprintf(e.audit, sizeof(e.audit), "%.3000s/state/audit.jsonl", mnt);
	for (i = 0; i < 3; i++) {
		snprintf(id, sizeof(id), "20261125T00000%d.000Z-%d-0badc0de", i, 200 + i);
		if (!plant(&e, "roomy", id, MIB, 300 - i * 60, paths[i], sizeof(paths[i])))
			goto out;
	}
	snprintf(filler, sizeof(filler), "%s/filler", mnt);
	fd = open(filler, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	ASSERT_TRUE(fd >= 0 && posix_fallocate(fd, 0, MIB / 2) == 0, "the filler");
	if (fd >= 0)
		close(fd);
	/* 12% free now; deleting two snapshots makes it 62%, one only 37%. */
	e.config = "retention_min_free = 50%\n";
	if (!fx_start(&e))
		goto out;
	v = expires(&e, 2);
	for (i = 0; v && i < 2; i++) {
		json_object *rec = json_object_array_get_idx(v, (size_t)i);

		ASSERT_STREQ(jstr(rec, "reason"), "free_space", "reason");
		ASSERT_STREQ(jstr(rec, "path"), paths[i], "oldest first");
	}
	json_object_put(v);
	ASSERT_TRUE(wait_files_counted(&e, 1), "the pass kept one file");
	ASSERT_OK(access(paths[2], F_OK), "the newest stays once the floor is met");
	ops_stop(&e);
out:
	ops_stop(&e);
	umount2(mnt, MNT_DETACH);
}

TEST(a_snapshot_its_rescue_still_needs_is_spared)
{
	char go[PATH_MAX + 8], script[2 * PATH_MAX];
	const char *const rescue[] = { "/bin/sh", "-c", script, NULL };
	json_object *snap, *res, *v;
	struct fx_app app;
	struct fx e;
	pid_t pid;

	if (!fx_can_run() || !fx_init(&e))
		return;
	snprintf(go, sizeof(go), "%.3000s/go", e.dir);
	/* The rescue waits for the test's word, then reads its snapshot. */
	snprintf(script, sizeof(script),
		 "while [ ! -e %s ]; do sleep 0.05; done; cat \"$FAULTGUARD_SNAPSHOT\" >/dev/null", go);
	/* Any snapshot is over this limit. */
	e.config = "retention_max_bytes = 1\n";
	if (!fx_start(&e))
		return;
	if (!wait_files_counted(&e, 0) || !ops_app_start(&e, &app, 0, "needy", "stdin", rescue))
		goto out;
	pid = app.pid;
	fx_app_send(&app, "segv");
	fx_app_wait(&app, OPS_WAIT_MS);
	snap = fx_wait(&e, "snapshot", pid, 0, OPS_WAIT_MS);
	if (!ASSERT_NOT_NULL(snap, "the snapshot record"))
		goto out;
	/* A pass after the snapshot ran while the rescue waits: it kept the file. */
	ASSERT_TRUE(wait_files_counted(&e, 1), "the pass kept the held snapshot");
	ASSERT_OK(access(jstr(snap, "path"), F_OK), "the snapshot is still there");
	ASSERT_OK(fx_write_file(go, ""), "let the rescue go on");
	res = fx_wait(&e, "rescue", pid, 0, OPS_WAIT_MS);
	if (ASSERT_NOT_NULL(res, "the rescue record"))
		ASSERT_STREQ(jstr(res, "status"), "ok", "the rescue read its snapshot");
	json_object_put(res);
	/* Released, it goes at the next pass (a reload starts one). */
	ASSERT_OK(fx_signal(&e, SIGHUP), "SIGHUP");
	v = expires(&e, 1);
	if (v)
		ASSERT_STREQ(jstr(json_object_array_get_idx(v, 0), "path"), jstr(snap, "path"),
			     "the snapshot expired once its rescue was done");
	json_object_put(v);
	json_object_put(snap);
out:
	ops_stop(&e);
}

/* A file @name of a few bytes in @dir, last changed @age_s ago. */
static bool plant_file(const char *dir, const char *name, long age_s, char *path, size_t len)
{
	struct timespec t[2];
	int fd;
	bool ok;

	snprintf(path, len, "%.3000s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!ASSERT_TRUE(fd >= 0, "create a planted file"))
		return false;
	clock_gettime(CLOCK_REALTIME, &t[0]);
	t[0].tv_sec -= age_s;
	t[1] = t[0];
	ok = write(fd, "partial", 7) == 7 && futimens(fd, t) == 0;
	close(fd);
	return ASSERT_TRUE(ok, "write the planted file");
}

/*
 * A temporary file a writer left when it died mid-write (an hour old) goes
 * at the retention pass; a fresh one (a write in flight) and the snapshots
 * stay, and no expire record is written for either.
 */
TEST(stale_temporary_files_are_removed)
{
	char snap[PATH_MAX], dir[PATH_MAX], stale[PATH_MAX], fresh[PATH_MAX], *slash;
	struct fx e;

	if (!fx_can_run() || !fx_init(&e))
		return;
	if (!plant(&e, "temps", "20261125T000000.000Z-333-0badc0de", 1000, 86400, snap,
		   sizeof(snap)))
		return;
	snprintf(dir, sizeof(dir), "%s", snap);
	slash = strrchr(dir, '/');
	*slash = '\0';
	if (!plant_file(dir, ".20261125T000000.000Z-334-0badc0de.fgsnap.00000000deadbeef.tmp",
			2 * 3600, stale, sizeof(stale)) ||
	    !plant_file(dir, ".20261125T000000.000Z-335-0badc0de.fgsnap.00000000feedface.tmp", 0,
			fresh, sizeof(fresh)))
		return;
	e.config = "# defaults\n";
	if (!fx_start(&e))
		return;
	ASSERT_TRUE(wait_files_counted(&e, 1), "a pass ran and counted the snapshot");
	ASSERT_NEQ(access(stale, F_OK), 0, "the stale temporary file is gone");
	ASSERT_OK(access(fresh, F_OK), "a fresh one stays");
	ASSERT_OK(access(snap, F_OK), "the snapshot stays");
	ASSERT_EQ(fx_count(&e, "expire", -1), 0, "no expire record");
	ops_stop(&e);
}
