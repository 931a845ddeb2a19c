// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A state directory on a file system that misbehaves when told to
 * (tests/helpers/faultyfs, a real FUSE file system passing through to a
 * directory): a quota refusal (EDQUOT) of write(2), I/O errors reported by
 * fsync(2) and close(2), and writes that hang. Small and big dictionaries:
 * each is rescued with exact data from a copy held in memory, and written
 * once the disk behaves again. And isolation: one user's 1 GiB crash, whose
 * disk write hangs and whose dictionary another process keeps scribbling
 * over, holds up no other crash and no registration, and does not balloon
 * the collector.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crash_id.h"
#include "crash_check.h"
#include "framework/test.h"
#include "helpers/app_data.h"

#define FUSE_MAGIC 0x65735546

struct faultyfs {
	char back[PATH_MAX], ctl[PATH_MAX], mnt[PATH_MAX];
	pid_t pid;
};

static bool mounted(const char *dir)
{
	struct statfs sf;

	return statfs(dir, &sf) == 0 && sf.f_type == FUSE_MAGIC;
}

/* faultyfs over DIR/back at @mnt, controlled from DIR/ctl. */
static bool faultyfs_start(struct fx *fx, struct faultyfs *f, const char *mnt)
{
	char exe[PATH_MAX];
	long long end;

	snprintf(f->mnt, sizeof(f->mnt), "%s", mnt);
	if (!fx_path(f->back, sizeof(f->back), "%s/back", fx->dir) ||
	    !fx_path(f->ctl, sizeof(f->ctl), "%s/ctl", fx->dir) ||
	    !fx_path(exe, sizeof(exe), "%s/tests/helpers/faultyfs", fx->build))
		return false;
	if (mkdir(f->back, 0755) || mkdir(f->ctl, 0755) || (mkdir(f->mnt, 0755) && errno != EEXIST))
		return ASSERT_OK(-errno, "make faultyfs's directories");
	f->pid = fork();
	if (f->pid == 0) {
		execl(exe, exe, f->back, f->mnt, f->ctl, (char *)NULL);
		_exit(127);
	}
	if (!ASSERT_GE(f->pid, 0, "fork faultyfs"))
		return false;
	for (end = fx_now_ms() + FX_START_MS; !mounted(f->mnt) && fx_now_ms() < end;)
		fx_nap(10);
	return ASSERT_TRUE(mounted(f->mnt), "faultyfs is mounted (FUSE, /dev/fuse)");
}

static void faultyfs_stop(struct faultyfs *f)
{
	char path[PATH_MAX];
	long long end;
	int status;

	if (f->pid <= 0)
		return;
	/* A write it holds back would keep it (and its writer) waiting forever. */
	fx_path(path, sizeof(path), "%s/block", f->ctl);
	unlink(path);
	umount2(f->mnt, MNT_DETACH);
	kill(f->pid, SIGTERM);
	for (end = fx_now_ms() + FX_WAIT_MS; fx_now_ms() < end;) {
		if (waitpid(f->pid, &status, WNOHANG) == f->pid) {
			f->pid = 0;
			return;
		}
		fx_nap(10);
	}
	kill(f->pid, SIGKILL);
	waitpid(f->pid, &status, 0);
	f->pid = 0;
}

/* CONTROL/@what says "@err [@text]"; @err 0 removes the rule. */
static bool faultyfs_rule(struct faultyfs *f, const char *what, int err, const char *text)
{
	char path[PATH_MAX], line[256];

	fx_path(path, sizeof(path), "%s/%s", f->ctl, what);
	if (!err)
		return ASSERT_OK(unlink(path) && errno != ENOENT ? -errno : 0, "remove a rule");
	snprintf(line, sizeof(line), "%d %s\n", err, text ? text : "");
	return ASSERT_OK(fx_write_file(path, line), "write a rule");
}

/* The late record of @id (the copy held in memory reached the disk), waited for. */
static json_object *wait_late(struct fx *fx, const char *id)
{
	long long end = fx_now_ms() + FX_WAIT_MS;

	do {
		json_object *all = fx_records(fx, "snapshot");
		size_t i;

		for (i = 0; i < json_object_array_length(all); i++) {
			json_object *o = json_object_array_get_idx(all, i), *late;

			if (jstr(o, "id") && !strcmp(jstr(o, "id"), id) &&
			    json_object_object_get_ex(o, "late", &late) &&
			    json_object_get_boolean(late)) {
				json_object_get(o);
				json_object_put(all);
				return o;
			}
		}
		json_object_put(all);
		fx_nap(50);
	} while (fx_now_ms() < end);
	test_fail(__FILE__, __LINE__, "no late snapshot record for %s", id);
	return NULL;
}

/*
 * One crash (segv) of an app with @fill_mib more MiB on faultyfs failing
 * @what with @err: held in memory, the record names @sentence; then the
 * rule goes and the copy reaches the disk, exact.
 */
static void refused(const char *what, int err, const char *sentence, unsigned int fill_mib)
{
	struct faultyfs f = { .pid = 0 };
	char id[CRASH_ID_LEN];
	json_object *late = NULL;
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (!fx_can_run() || !fx_init(&fx))
		goto out;
	fx_path(fx.audit, sizeof(fx.audit), "%s/audit.jsonl", fx.dir);
	if (!faultyfs_start(&fx, &f, fx.state) || !fx_start(&fx) ||
	    !faultyfs_rule(&f, what, err, "/snapshots/"))
		goto out;
	fx_rescue_init(&fx, &r, what, NULL);
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .mode = "segv", .rescue_argv = r.argv,
						 .fill_mib = fill_mib,
						 .capacity_mib = fill_mib ? 2 * fill_mib + 8 : 0 }) ||
	    !fx_app_wait(&a, FX_WAIT_MS) ||
	    !fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
						.si_code = SEGV_MAPERR, .fault_addr = "0x0",
						.stored = "memory", .disk_error = sentence },
			    &r, id))
		goto out;
	/* The disk behaves again: the next retention pass writes the copy. */
	if (!faultyfs_rule(&f, what, 0, NULL))
		goto out;
	late = wait_late(&fx, id);
	if (!late || !CHECK_STR(late, "stored", "disk") || !fx_check_snapshot_file(&fx, &a, late, id))
		goto out;
	fx_stop(&fx);
out:
	json_object_put(late);
	fx_cleanup(&fx);
	faultyfs_stop(&f);
}

TEST(quota_refusal_of_a_small_dictionary)
{
	refused("write", EDQUOT, "cannot write", 0);
}

TEST(fsync_io_error_of_a_small_dictionary)
{
	refused("fsync", EIO, "fsync of", 0);
}

TEST(close_io_error_of_a_small_dictionary)
{
	refused("flush", EIO, "close of", 0);
}

TEST(quota_refusal_of_a_big_dictionary)
{
	refused("write", EDQUOT, "Disk quota exceeded", 16);
}

TEST(fsync_io_error_of_a_big_dictionary)
{
	refused("fsync", EIO, "Input/output error", 16);
}

TEST(close_io_error_of_a_big_dictionary)
{
	refused("flush", EIO, "close of", 16);
}

/* Whether a record of @event about @pid exists now. */
static bool has_record(struct fx *fx, const char *event, pid_t pid)
{
	return fx_count(fx, event, pid) > 0;
}

/* The snapshot record of @pid that says it is on disk, if there is one yet. */
static json_object *disk_record(struct fx *fx, pid_t pid)
{
	json_object *o;
	int i;

	for (i = 0; (o = fx_find(fx, "snapshot", pid, i)); i++) {
		if (jstr(o, "stored") && !strcmp(jstr(o, "stored"), "disk"))
			return o;
		json_object_put(o);
	}
	return NULL;
}

/*
 * A 1 GiB crash of an unprivileged user whose disk write hangs and whose
 * dictionary a surviving process keeps scribbling over; meanwhile root's
 * small app crashes and a new app registers. Both are served while the big
 * one is still in progress; its rescue reads bytes that never change; the
 * collector's peak memory grows by less than 64 MiB.
 */
TEST(a_big_crash_holds_up_nobody_else)
{
#if defined(__SANITIZE_ADDRESS__)
	const unsigned int big_mib = 128; /* a GiB under ASan takes minutes */
#else
	const unsigned int big_mib = 1024;
#endif
	struct faultyfs f = { .pid = 0 };
	struct fx_app big, small, later;
	struct fx_rescue rb, rs;
	json_object *rep = NULL, *snap = NULL;
	char line[64];
	long long hwm0, hwm1, end;
	pid_t scribbler = 0;
	struct fx fx;

	if (!fx_can_run() || !fx_init(&fx))
		goto out;
	fx_path(fx.audit, sizeof(fx.audit), "%s/audit.jsonl", fx.dir);
	/* nobody's snapshot file waits on the disk until the test lets it go. */
	if (!faultyfs_start(&fx, &f, fx.state) || !fx_start(&fx) ||
	    !faultyfs_rule(&f, "block", 1, "/snapshots/65534/"))
		goto out;
	if (!fx_idle(&fx, FX_WAIT_MS))
		goto out;
	hwm0 = fx_proc_status(fx.pid, 0, "VmHWM");
	fx_rescue_init(&fx, &rb, "big", "--stable", "300", NULL);
	if (!fx_app_start(&fx, &big,
			  &(struct fx_app_spec){ .mode = "stdin", .rescue_argv = rb.argv,
						 .uid = FX_NOBODY, .gid = FX_NOBODY,
						 .fill_mib = big_mib,
						 /* the slot table takes an eighth */
						 .capacity_mib = big_mib + big_mib / 4 + 64,
						 .scribbler = 1 }))
		goto out;
	if (!fx_app_read_line(&big, line, sizeof(line), FX_WAIT_MS) ||
	    !ASSERT_TRUE(sscanf(line, "scribbler %d", &scribbler) == 1, "the scribbler's pid"))
		goto out;
	if (!fx_app_send(&big, "segv") || !fx_app_wait(&big, FX_WAIT_MS))
		goto out;
	/* Its rescue runs, from memory, with bytes the scribbler cannot reach. */
	rep = fx_rescue_report(&rb, 120000);
	if (!rep || !CHECK_STR(json_object_object_get(rep, "env"), "FAULTGUARD_SNAPSHOT_STORED",
			       "memory") ||
	    !ASSERT_TRUE(json_object_get_boolean(json_object_object_get(rep, "stable")),
			 "the rescue's snapshot never changes under it") ||
	    !ASSERT_GE(jint_or(rep, "snapshot_keys", 0), big_mib / 2, "the rescue reads the data"))
		goto out;

	/* Meanwhile: root's small crash and a new registration, served at once. */
	fx_rescue_init(&fx, &rs, "small", NULL);
	if (!fx_app_start(&fx, &small,
			  &(struct fx_app_spec){ .mode = "segv", .rescue_argv = rs.argv }) ||
	    !fx_app_wait(&small, FX_WAIT_MS) ||
	    !fx_check_crash(&fx, &small,
			    &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
						.si_code = SEGV_MAPERR, .fault_addr = "0x0" },
			    &rs, NULL))
		goto out;
	if (!fx_app_start(&fx, &later, &(struct fx_app_spec){ .mode = "stdin" }) ||
	    !ASSERT_TRUE(has_record(&fx, "register", later.pid), "a new app registers"))
		goto out;
	snap = disk_record(&fx, big.pid);
	if (!ASSERT_TRUE(snap == NULL, "all of this while the big snapshot is still being written"))
		goto out;
	hwm1 = fx_proc_status(fx.pid, 0, "VmHWM");
	if (!ASSERT_TRUE(hwm0 > 0 && hwm1 - hwm0 < 64 * 1024,
			 "the collector's peak memory grew by less than 64 MiB")) {
		fprintf(stderr, "  VmHWM %lld -> %lld KiB for a %u MiB dictionary\n", hwm0, hwm1,
			big_mib);
		goto out;
	}
	/* Let the disk go: the big one is written, a whole, valid file. */
	if (!faultyfs_rule(&f, "block", 0, NULL))
		goto out;
	for (end = fx_now_ms() + 120000; !(snap = disk_record(&fx, big.pid)) && fx_now_ms() < end;)
		fx_nap(50);
	if (!ASSERT_NOT_NULL(snap, "the big snapshot's record, stored on disk") ||
	    !ASSERT_NOT_NULL(jstr(snap, "path"), "the file"))
		goto out;
	{
		struct fg_snapshot *s = fg_snapshot_open(jstr(snap, "path"));

		if (!ASSERT_NOT_NULL(s, "the big snapshot file opens") ||
		    !ASSERT_EQ((long long)fg_snapshot_count(s), jint_or(snap, "keys", -1),
			       "it holds what the record says")) {
			fg_snapshot_close(s);
			goto out;
		}
		fg_snapshot_close(s);
	}
	fx_app_send(&later, "exit0");
	fx_stop(&fx);
out:
	if (scribbler > 0)
		kill(scribbler, SIGKILL);
	json_object_put(rep);
	json_object_put(snap);
	/* First the held-back write, or the collector cannot even die of SIGKILL. */
	if (f.pid > 0)
		faultyfs_rule(&f, "block", 0, NULL);
	fx_cleanup(&fx);
	faultyfs_stop(&f);
}
