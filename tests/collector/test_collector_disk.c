// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A state directory whose disk refuses the snapshot (issue 14, SPEC §8.1),
 * on real file systems: a small tmpfs filled up (ENOSPC) or remounted
 * read-only (EROFS). Every crash is rescued all the same, with exact data,
 * from a copy held in memory; the records say so; the collector's stderr
 * names every snapshot it could not write; once the disk takes it again the
 * copy is written within the next retention pass, with a late record.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crash_id.h"
#include "crash_check.h"
#include "framework/test.h"
#include "helpers/app_data.h"

/* A crash that leaves a snapshot held in memory, and the app it was. */
struct held_crash {
	struct fx_app a;
	struct fx_rescue r;
	char id[CRASH_ID_LEN];
};

/* A small tmpfs of @size (e.g. "2m") at @dir. */
static bool mount_tmpfs(const char *dir, const char *size)
{
	char opts[64];

	snprintf(opts, sizeof(opts), "size=%s,mode=0755", size);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return ASSERT_OK(-errno, "mkdir the mount point");
	return ASSERT_OK(mount("fgtest", dir, "tmpfs", MS_NOSUID | MS_NODEV, opts) ? -errno : 0,
			 "mount a tmpfs");
}

static void unmount(const char *dir)
{
	if (dir[0])
		umount2(dir, MNT_DETACH);
}

static int remount(const char *dir, unsigned long flags)
{
	return mount(NULL, dir, NULL, MS_REMOUNT | MS_NOSUID | MS_NODEV | flags, NULL) ? -errno : 0;
}

/* Fills the file system of @dir to the last byte (dd would do the same): DIR/filler. */
static bool fill(const char *dir)
{
	static char chunk[1 << 16];
	char path[PATH_MAX];
	size_t step = sizeof(chunk);
	int fd;

	fx_path(path, sizeof(path), "%s/filler", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (!ASSERT_GE(fd, 0, "create the filler"))
		return false;
	memset(chunk, 'f', sizeof(chunk));
	while (step) {
		if (write(fd, chunk, step) < 0) {
			if (!ASSERT_EQ(errno, ENOSPC, "the filler stops at a full disk")) {
				close(fd);
				return false;
			}
			step /= 2;
		}
	}
	close(fd);
	return true;
}

static bool unfill(const char *dir)
{
	char path[PATH_MAX];

	fx_path(path, sizeof(path), "%s/filler", dir);
	return ASSERT_OK(unlink(path) ? -errno : 0, "remove the filler");
}

/* A collector whose state directory is the tmpfs at DIR/state (@size) and whose log is not. */
static bool begin_on_tmpfs(struct fx *fx, const char *size, const char *config)
{
	if (!fx_can_run() || !fx_init(fx))
		return false;
	fx_path(fx->audit, sizeof(fx->audit), "%s/audit.jsonl", fx->dir);
	fx->config = config;
	if (!mount_tmpfs(fx->state, size))
		return false;
	return fx_start(fx);
}

/* The late record of @id: the copy held in memory is on disk now. */
static json_object *wait_late(struct fx *fx, const char *id, int timeout_ms)
{
	long long end = fx_now_ms() + timeout_ms;

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

/* The collector's stderr names the snapshot it could not write: its id, path and reason. */
static bool stderr_names(struct fx *fx, const char *id, const char *reason)
{
	char *log = fx_read_file(fx->log, NULL), *line;
	bool found = false;

	for (line = log; line && !found; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
		found = !strncmp(line, "faultguardd: snapshot ", 22) && !strncmp(line + 22, id,
										  strlen(id)) &&
			strstr(line, "snapshots/") && strstr(line, reason) &&
			strchr(line, '\n') > strstr(line, reason);
	free(log);
	if (!found)
		test_fail(__FILE__, __LINE__, "the collector's stderr has no line naming %s (%s)", id,
			  reason);
	return found;
}

/* A metric's value from `faultguardctl metrics`, -1 when absent. */
static long long metric(struct fx *fx, const char *name)
{
	char *out = NULL, *p;
	long long v = -1;
	size_t n = strlen(name);

	if (fx_ctl(fx, &out, "metrics", "--socket", fx->sock, NULL) != 0 || !out) {
		free(out);
		return -1;
	}
	for (p = out; p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
		if (!strncmp(p, name, n) && p[n] == ' ')
			v = strtoll(p + n + 1, NULL, 10);
	free(out);
	return v;
}

/* The metric @name once it is at least @min (the records of a crash come over seconds). */
static long long metric_at_least(struct fx *fx, const char *name, long long min, int timeout_ms)
{
	long long end = fx_now_ms() + timeout_ms, v;

	while ((v = metric(fx, name)) < min && fx_now_ms() < end)
		fx_nap(50);
	return v;
}

/* The held copies `faultguardctl status --json` lists. */
static int status_held(struct fx *fx)
{
	json_object *arr;
	char *out = NULL;
	int n = 0;
	size_t i;

	if (fx_ctl(fx, &out, "status", "--json", "--socket", fx->sock, NULL) != 0 || !out) {
		free(out);
		return -1;
	}
	arr = json_tokener_parse(out);
	free(out);
	for (i = 0; arr && i < json_object_array_length(arr); i++)
		n += jstr(json_object_array_get_idx(arr, i), "state") &&
		     !strcmp(jstr(json_object_array_get_idx(arr, i), "state"), "held");
	json_object_put(arr);
	return n;
}

/* Once the disk takes it: the late record, the file (exact, the record's sha256). */
static bool check_late(struct fx *fx, struct held_crash *h)
{
	json_object *first = fx_find_id(fx, "snapshot", h->id), *late = wait_late(fx, h->id,
										  FX_WAIT_MS);
	bool ok = late && CHECK_STR(late, "stored", "disk") &&
		  CHECK_INT(late, "keys", fx_expected_keys(&h->a)) &&
		  fx_check_snapshot_file(fx, &h->a, late, h->id) &&
		  /*
		   * A small one was held as the file's bytes: those are the bytes
		   * written. A big one (its fill) was held as the dictionary's
		   * sealed image, whose digest is its own.
		   */
		  (h->a.spec.fill_mib ||
		   CHECK_STR(late, "sha256", jstr(first, "sha256") ?: "(no sha256 first)"));

	json_object_put(first);
	json_object_put(late);
	return ok;
}

static bool killed_from_outside(struct held_crash *h)
{
	return ASSERT_OK(kill(h->a.pid, SIGKILL) ? -errno : 0, "SIGKILL the app") &&
	       fx_app_wait(&h->a, FX_WAIT_MS) &&
	       ASSERT_TRUE(WIFSIGNALED(h->a.status) && WTERMSIG(h->a.status) == SIGKILL,
			   "the app died of SIGKILL");
}

TEST(full_disk_segfault_sigkill_and_oom_are_rescued_from_memory)
{
	static const char nospace[] = "No space left on device";
	struct held_crash h[3];
	char cg[PATH_MAX] = "";
	struct fx fx;
	int i;

	memset(h, 0, sizeof(h));
	if (!begin_on_tmpfs(&fx, "2m", NULL) || !fill(fx.state))
		goto out;
	/* A segfault. */
	fx_rescue_init(&fx, &h[0].r, "segv", NULL);
	if (!fx_app_start(&fx, &h[0].a,
			  &(struct fx_app_spec){ .mode = "segv", .rescue_argv = h[0].r.argv }) ||
	    !fx_app_wait(&h[0].a, FX_WAIT_MS) ||
	    !fx_check_crash(&fx, &h[0].a,
			    &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
						.si_code = SEGV_MAPERR, .fault_addr = "0x0",
						.stored = "memory", .disk_error = nospace },
			    &h[0].r, h[0].id))
		goto out;
	/* A SIGKILL from outside. */
	fx_rescue_init(&fx, &h[1].r, "killed", NULL);
	if (!fx_app_start(&fx, &h[1].a,
			  &(struct fx_app_spec){ .mode = "wait", .rescue_argv = h[1].r.argv }) ||
	    !killed_from_outside(&h[1]) ||
	    !fx_check_crash(&fx, &h[1].a,
			    &(struct fx_crash){ .cause = "killed", .signal = SIGKILL,
						.si_code = SI_USER, .sender_pid = getpid(),
						.sender_uid = 0, .sender_comm = "test_collector_",
						.stored = "memory", .disk_error = nospace },
			    &h[1].r, h[1].id))
		goto out;
	/* The OOM killer. */
	if (!fx_memcg_create(cg, sizeof(cg), 64ull << 20)) {
		cg[0] = '\0';
		goto out;
	}
	fx_rescue_init(&fx, &h[2].r, "oom", NULL);
	if (!fx_app_start(&fx, &h[2].a,
			  &(struct fx_app_spec){ .mode = "oom", .rescue_argv = h[2].r.argv,
						 .cgroup = cg }) ||
	    !fx_app_wait(&h[2].a, 60000) ||
	    !fx_check_crash(&fx, &h[2].a,
			    &(struct fx_crash){ .cause = "oom_killed", .signal = SIGKILL,
						.si_code = SI_KERNEL, .stored = "memory",
						.disk_error = nospace },
			    &h[2].r, h[2].id))
		goto out;
	for (i = 0; i < 3; i++)
		if (!stderr_names(&fx, h[i].id, nospace))
			goto out;
	if (!ASSERT_EQ(metric(&fx, "faultguard_snapshots_held"), 3, "three copies held") ||
	    !ASSERT_GE(metric(&fx, "faultguard_snapshots_held_bytes"), 3 * 4096, "their memory") ||
	    !ASSERT_GE(metric(&fx, "faultguard_snapshot_write_errors_total"), 3, "write errors") ||
	    !ASSERT_EQ(status_held(&fx), 3, "status lists the three held copies"))
		goto out;

	/* Room again: each copy reaches the disk within the next retention pass. */
	if (!unfill(fx.state))
		goto out;
	for (i = 0; i < 3; i++)
		if (!check_late(&fx, &h[i]))
			goto out;
	if (!ASSERT_EQ(metric(&fx, "faultguard_snapshots_held"), 0, "nothing held any more") ||
	    !ASSERT_EQ(status_held(&fx), 0, "status lists none"))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
	fx_memcg_remove(cg);
	unmount(fx.state);
}

/* Whether a process of uid/gid 65534 can open @path (read or write); in a child. */
static bool other_user_can_open(const char *path)
{
	int status = 0;
	pid_t pid = fork();

	if (pid == 0) {
		int rd, rw;

		if (setgroups(0, NULL) || setgid(65534) || setuid(65534))
			_exit(3);
		rd = open(path, O_RDONLY | O_CLOEXEC);
		rw = open(path, O_RDWR | O_CLOEXEC);
		_exit(rd >= 0 || rw >= 0 ? 1 : errno == EACCES ? 0 : 2);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return true;
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

/*
 * A copy held in memory, as rescue commands use it: a shell's children,
 * one that execs, Python's subprocess with close_fds all read it by
 * $FAULTGUARD_SNAPSHOT; another user can neither read nor write it.
 */
TEST(rescue_children_read_the_held_copy_and_no_other_user_can)
{
	/* Each reader prints how many entries it found. */
	static const char script[] =
		"c=$1; n() { jq '.entries | length'; }; "
		"$c dump --json \"$FAULTGUARD_SNAPSHOT\" | n; "
		"(exec $c dump --json \"$FAULTGUARD_SNAPSHOT\") | n; "
		"python3 -c 'import os, subprocess, sys; sys.stdout.write(subprocess.run("
		"[sys.argv[1], \"dump\", \"--json\", os.environ[\"FAULTGUARD_SNAPSHOT\"]], "
		"close_fds=True, capture_output=True).stdout.decode())' \"$c\" | n; "
		"echo \"stored=$FAULTGUARD_SNAPSHOT_STORED\"";
	char ctl[PATH_MAX], gate[PATH_MAX], want[128], id[CRASH_ID_LEN] = "";
	const char *argv[] = { "/bin/sh", "-c", script, "sh", ctl, NULL };
	json_object *crash = NULL, *rescue = NULL, *report = NULL, *env;
	const char *path;
	struct fx_rescue r;
	struct fx_app a, b;
	struct fx fx;
	long keys;

	if (!begin_on_tmpfs(&fx, "2m", NULL) || !fill(fx.state))
		goto out;
	fx_path(ctl, sizeof(ctl), "%s/faultguardctl", fx.build);
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = "segv", .rescue_argv = argv }) ||
	    !fx_app_wait(&a, FX_WAIT_MS) || !(crash = fx_wait(&fx, "crash", a.pid, 0, FX_WAIT_MS)))
		goto out;
	snprintf(id, sizeof(id), "%s", jstr(crash, "id") ?: "");
	if (!(rescue = fx_wait_id(&fx, "rescue", id, FX_WAIT_MS)))
		goto out;
	keys = fx_expected_keys(&a);
	snprintf(want, sizeof(want), "%ld\n%ld\n%ld\nstored=memory\n", keys, keys, keys);
	if (!CHECK_STR(rescue, "status", "ok") || !CHECK_STR(rescue, "output", want))
		goto out;

	/* Another user, while the rescue runs. */
	fx_path(gate, sizeof(gate), "%s/gate", fx.out);
	fx_rescue_init(&fx, &r, "held", "--wait-file", gate, NULL);
	if (!fx_app_start(&fx, &b, &(struct fx_app_spec){ .mode = "segv", .rescue_argv = r.argv }) ||
	    !fx_app_wait(&b, FX_WAIT_MS) || !(report = fx_rescue_report(&r, FX_WAIT_MS)))
		goto out;
	path = json_object_object_get_ex(report, "env", &env) ? jstr(env, "FAULTGUARD_SNAPSHOT")
							       : NULL;
	if (!ASSERT_TRUE(path && !strncmp(path, "/proc/", 6), "the held copy is an fd of the rescue") ||
	    !ASSERT_TRUE(!other_user_can_open(path), "another user cannot open the held copy"))
		goto out;
	json_object_put(rescue);
	if (fx_write_file(gate, "") || !(rescue = fx_wait(&fx, "rescue", b.pid, 0, FX_WAIT_MS)) ||
	    !CHECK_STR(rescue, "status", "ok"))
		goto out;
	fx_stop(&fx);
out:
	json_object_put(crash);
	json_object_put(rescue);
	json_object_put(report);
	fx_cleanup(&fx);
	unmount(fx.state);
}

/*
 * Crash torture with the state directory full: bursts of apps killed at
 * once (SIGKILL, SIGSEGV, SIGABRT from outside), a quarter of them with
 * 2 MiB of data (the worker path), every one rescued from memory with its
 * exact data; then, with room, every held copy reaches the disk whole.
 */
#define TORTURE_BURSTS 6
#define TORTURE_BURST 8

TEST(crash_torture_with_the_state_dir_full)
{
	static const int sigs[] = { SIGKILL, SIGSEGV, SIGABRT };
	static const char *const causes[] = { "killed", "segfault", "abort" };
	static struct held_crash h[TORTURE_BURSTS * TORTURE_BURST];
	char tag[32];
	struct fx fx;
	int b, i, n = 0;

	memset(h, 0, sizeof(h));
	/* 64 MiB: room for the collector's start, then filled. */
	if (!begin_on_tmpfs(&fx, "64m", "rate_limit_burst = 0\n") || !fill(fx.state))
		goto out;
	for (b = 0; b < TORTURE_BURSTS; b++) {
		int first = n;

		for (i = 0; i < TORTURE_BURST; i++, n++) {
			snprintf(tag, sizeof(tag), "t%d", n);
			fx_rescue_init(&fx, &h[n].r, tag, NULL);
			if (!fx_app_start(&fx, &h[n].a,
					  &(struct fx_app_spec){ .mode = "wait",
								 .rescue_argv = h[n].r.argv,
								 .fill_mib = n % 4 == 3 ? 2 : 0,
								 .capacity_mib = n % 4 == 3 ? 8 : 0 }))
				goto out;
		}
		/* All at once. */
		for (i = first; i < n; i++)
			if (!ASSERT_OK(kill(h[i].a.pid, sigs[i % 3]) ? -errno : 0, "kill an app"))
				goto out;
		for (i = first; i < n; i++) {
			int sig = sigs[i % 3];

			if (!fx_app_wait(&h[i].a, FX_WAIT_MS) ||
			    !ASSERT_TRUE(WIFSIGNALED(h[i].a.status) && WTERMSIG(h[i].a.status) == sig,
					 "the app died of its signal") ||
			    !fx_check_crash(&fx, &h[i].a,
					    &(struct fx_crash){ .cause = causes[i % 3], .signal = sig,
								.si_code = SI_USER,
								.sender_pid = getpid(), .sender_uid = 0,
								.sender_comm = "test_collector_",
								.stored = "memory",
								.disk_error = "No space left on device" },
					    &h[i].r, h[i].id))
				goto out;
		}
	}
	if (!ASSERT_EQ(metric(&fx, "faultguard_snapshots_held"), n, "every copy held") ||
	    !fx_alive(&fx))
		goto out;
	if (!unfill(fx.state))
		goto out;
	for (i = 0; i < n; i++)
		if (!check_late(&fx, &h[i]))
			goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
	unmount(fx.state);
}

TEST(read_only_state_dir_then_writable_again)
{
	struct held_crash h;
	struct fx fx;

	memset(&h, 0, sizeof(h));
	if (!begin_on_tmpfs(&fx, "8m", NULL))
		goto out;
	/* The app's folders exist already: a read-only disk refuses the file itself. */
	fx_rescue_init(&fx, &h.r, "first", NULL);
	if (!fx_app_start(&fx, &h.a, &(struct fx_app_spec){ .mode = "segv", .rescue_argv = h.r.argv }) ||
	    !fx_app_wait(&h.a, FX_WAIT_MS) ||
	    !fx_check_crash(&fx, &h.a,
			    &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
						.si_code = SEGV_MAPERR, .fault_addr = "0x0" },
			    &h.r, h.id))
		goto out;
	if (!ASSERT_OK(remount(fx.state, MS_RDONLY), "remount the state directory read-only"))
		goto out;
	memset(&h, 0, sizeof(h));
	fx_rescue_init(&fx, &h.r, "ro", NULL);
	if (!fx_app_start(&fx, &h.a, &(struct fx_app_spec){ .mode = "segv", .rescue_argv = h.r.argv }) ||
	    !fx_app_wait(&h.a, FX_WAIT_MS) ||
	    !fx_check_crash(&fx, &h.a,
			    &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
						.si_code = SEGV_MAPERR, .fault_addr = "0x0",
						.stored = "memory",
						.disk_error = "Read-only file system" },
			    &h.r, h.id) ||
	    !stderr_names(&fx, h.id, "Read-only file system"))
		goto out;
	if (!ASSERT_OK(remount(fx.state, 0), "remount it read-write") || !check_late(&fx, &h))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
	unmount(fx.state);
}

static long long count_expired_spill(struct fx *fx)
{
	json_object *all = fx_records(fx, "expire");
	long long n = 0;
	size_t i;

	for (i = 0; i < json_object_array_length(all); i++)
		n += jstr(json_object_array_get_idx(all, i), "reason") &&
		     !strcmp(jstr(json_object_array_get_idx(all, i), "reason"), "spill");
	json_object_put(all);
	return n;
}

/*
 * More refused snapshots than spill_max_bytes holds: the oldest go, each
 * with an expire record (reason spill); the newest stay; the collector's
 * memory stays bounded.
 */
/*
 * The collector's own heap over a dozen crashes. Under ASan its quarantine
 * keeps every freed block (each snapshot's zlib state) in RSS for a while:
 * about 1.3 MiB a crash, so the bound there is looser.
 */
#if defined(__SANITIZE_ADDRESS__)
#define RSS_GROWTH_MAX_KIB (48 * 1024)
#else
#define RSS_GROWTH_MAX_KIB (8 * 1024)
#endif

TEST(spill_budget_drops_the_oldest_with_a_record)
{
	enum { CRASHES = 12 };
	static const char *const conf = "spill_max_bytes = 16K\nrate_limit_burst = 0\n";
	char ids[CRASHES][CRASH_ID_LEN];
	long long rss0, rss1, held;
	struct fx fx;
	int i;

	if (!begin_on_tmpfs(&fx, "2m", conf) || !fill(fx.state))
		goto out;
	rss0 = fx_proc_status(fx.pid, 0, "VmRSS");
	for (i = 0; i < CRASHES; i++) {
		struct fx_rescue r;
		struct fx_app a;
		json_object *snap;

		fx_rescue_init(&fx, &r, "spill", NULL);
		if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = "segv", .rescue_argv = r.argv }) ||
		    !fx_app_wait(&a, FX_WAIT_MS) || !fx_wait(&fx, "rescue", a.pid, 0, FX_WAIT_MS))
			goto out;
		snap = fx_find(&fx, "snapshot", a.pid, 0);
		if (!snap || !CHECK_STR(snap, "stored", "memory")) {
			json_object_put(snap);
			goto out;
		}
		snprintf(ids[i], sizeof(ids[i]), "%s", jstr(snap, "id"));
		json_object_put(snap);
		/* Each rescue read its exact data, however little the collector kept. */
		snap = fx_rescue_report(&r, FX_WAIT_MS);
		if (!snap || !CHECK_STR(snap, "snapshot_exact", "")) {
			json_object_put(snap);
			goto out;
		}
		json_object_put(snap);
	}
	held = metric(&fx, "faultguard_snapshots_held");
	/* 4 KiB at least each (a memfd's page): 16K holds four, the eight oldest go. */
	if (!ASSERT_TRUE(held >= 1 && held <= 4, "the budget bounds what is held") ||
	    !ASSERT_EQ(count_expired_spill(&fx), CRASHES - held, "one expire record per copy dropped") ||
	    !ASSERT_GE(metric(&fx, "faultguard_snapshots_held_bytes"), 0, "held bytes") ||
	    !ASSERT_TRUE(metric(&fx, "faultguard_snapshots_held_bytes") <= 16 * 1024,
			 "held bytes within spill_max_bytes"))
		goto out;
	/* The oldest were dropped, the newest kept: the first id has an expire record. */
	{
		json_object *e = fx_find_id(&fx, "expire", ids[0]);

		if (!ASSERT_NOT_NULL(e, "the oldest copy's expire record") ||
		    !CHECK_STR(e, "reason", "spill")) {
			json_object_put(e);
			goto out;
		}
		json_object_put(e);
		e = fx_find_id(&fx, "expire", ids[CRASHES - 1]);
		if (!ASSERT_TRUE(e == NULL, "the newest copy is kept")) {
			json_object_put(e);
			goto out;
		}
	}
	rss1 = fx_proc_status(fx.pid, 0, "VmRSS");
	if (!ASSERT_TRUE(rss0 > 0 && rss1 > 0 && rss1 - rss0 < RSS_GROWTH_MAX_KIB,
			 "the collector's RSS stays bounded"))
		fprintf(stderr, "  VmRSS %lld -> %lld KiB\n", rss0, rss1);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
	unmount(fx.state);
}

/* The records of @id, in the log's order, as "crash snapshot rescue". */
static void events_of(struct fx *fx, const char *id, char *buf, size_t len)
{
	json_object *all = fx_records(fx, NULL);
	size_t i, used = 0;

	buf[0] = '\0';
	for (i = 0; i < json_object_array_length(all); i++) {
		json_object *o = json_object_array_get_idx(all, i);

		if (jstr(o, "id") && !strcmp(jstr(o, "id"), id) && used < len)
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "",
						 jstr(o, "event"));
	}
	json_object_put(all);
}

/*
 * The audit log on a full disk: its records go to stderr and wait; once
 * there is room every one of them is written, in order, none twice, no
 * line cut.
 */
TEST(audit_log_on_a_full_disk_loses_no_record)
{
	char logdir[PATH_MAX] = "", ev[256], *log;
	struct fx fx;
	int i;

	if (!fx_can_run() || !fx_init(&fx))
		goto out;
	fx_path(logdir, sizeof(logdir), "%s/logdisk", fx.dir);
	fx_path(fx.audit, sizeof(fx.audit), "%s/audit.jsonl", logdir);
	/* Full before the collector starts: not even its start record fits. */
	if (!mount_tmpfs(logdir, "64k") || !fill(logdir) || !fx_start(&fx))
		goto out;
	for (i = 0; i < 3; i++) {
		struct fx_rescue r;
		struct fx_app a;

		fx_rescue_init(&fx, &r, "audit", NULL);
		if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = "segv", .rescue_argv = r.argv }) ||
		    !fx_app_wait(&a, FX_WAIT_MS) || !fx_rescue_report(&r, FX_WAIT_MS))
			goto out;
		/* No record of it in the log yet: it is full. */
		if (!ASSERT_TRUE(fx_count(&fx, "crash", a.pid) == 0, "the full log took nothing"))
			goto out;
	}
	log = fx_read_file(fx.log, NULL);
	if (!ASSERT_TRUE(log && strstr(log, "faultguardd: audit: {") &&
				 strstr(log, "cannot write the audit log"),
			 "the records went to stderr")) {
		free(log);
		goto out;
	}
	free(log);
	if (!ASSERT_GE(metric(&fx, "faultguard_audit_write_errors_total"), 1, "write errors counted") ||
	    !ASSERT_GE(metric_at_least(&fx, "faultguard_audit_records_pending", 10, FX_WAIT_MS),
		       10, "records kept (start, and crash, snapshot, rescue of each)"))
		goto out;
	if (!unfill(logdir) || !ASSERT_TRUE(fx_wait(&fx, "crash", -1, 2, FX_WAIT_MS) != NULL,
					       "the kept records reach the log"))
		goto out;
	/* Every crash: its three records, in order, once each. */
	for (i = 0; i < 3; i++) {
		json_object *c = fx_wait(&fx, "crash", -1, i, FX_WAIT_MS);

		if (!c || !fx_wait_id(&fx, "rescue", jstr(c, "id"), FX_WAIT_MS)) {
			json_object_put(c);
			goto out;
		}
		events_of(&fx, jstr(c, "id"), ev, sizeof(ev));
		json_object_put(c);
		if (!ASSERT_STREQ(ev, "crash snapshot rescue", "a crash's records, in order, once"))
			goto out;
	}
	if (!ASSERT_EQ(fx_count(&fx, "start", -1), 1, "the start record, once") ||
	    !ASSERT_EQ(metric(&fx, "faultguard_audit_records_pending"), 0, "nothing kept any more"))
		goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
	unmount(logdir);
}
