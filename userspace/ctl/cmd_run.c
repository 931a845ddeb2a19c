// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * faultguardctl run [--app NAME] [--rescue 'CMD'] [--state-dir D] -- PROGRAM [ARGS]
 *
 * The standalone guardian for any program that calls fg_open: PROGRAM gets
 * a dictionary in $FAULTGUARD_FD; when it dies of a signal or exits non-zero
 * (without fg_close), the dictionary becomes a snapshot file and CMD runs
 * with the rescue environment. Exits with PROGRAM's status (128+signal).
 * The rescue is CMD alone: the rescue_argv PROGRAM passes to fg_open stays
 * in PROGRAM (it is for a collector), and the crash line says so.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auditlog/audit.h"
#include "auditlog/records.h"
#include "common/cause.h"
#include "common/crash_id.h"
#include "common/proto.h"
#include "common/atomic_file.h"
#include "common/timefmt.h"
#include "ctl/ctl.h"
#include "ctl/run_child.h"
#include "ctl/run_rescue.h"
#include "ctl/run_trace.h"
#include "ctl/state_dir.h"
#include "digest/sha256.h"
#include "faultguard.h"
#include "lib/guard.h"
#include "snapshot/snapshot.h"

#define EXIT_CANNOT_EXEC 127

struct run {
	char app[PROTO_APP_MAX + 1];
	const char *rescue;
	char state_dir[PATH_MAX];
	char snap_dir[PATH_MAX]; /* STATE_DIR/snapshots/<uid>/<app> */
	char **argv;
	int snap_dirfd;
	int memfd;
	pid_t pid;
	struct guard_signals saved;
	struct audit *audit; /* STATE_DIR/audit.jsonl, so list and show see our crashes */
	int traced;          /* 0 or why PROGRAM could not be traced (-errno) */
	int no_backtrace;    /* --no-backtrace: do not trace it */
	struct run_capture *where; /* taken at its fatal signal (run_trace.h) */
};

/* The default app name: PROGRAM's base name, other bytes as '_' (runs of them as one). */
static void app_from_program(const char *program, char app[PROTO_APP_MAX + 1])
{
	const char *base = strrchr(program, '/') ? strrchr(program, '/') + 1 : program;
	size_t n = 0;

	for (; *base && n < PROTO_APP_MAX; base++) {
		char c = *base;
		int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			 (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';

		if (ok)
			app[n++] = c;
		else if (n == 0 || app[n - 1] != '_')
			app[n++] = '_';
	}
	app[n] = '\0';
	if (!proto_app_name_ok(app))
		strcpy(app, "app");
}

static int parse(int argc, char **argv, struct run *r)
{
	static const struct option opts[] = {
		{ "app", required_argument, NULL, 'a' },
		{ "rescue", required_argument, NULL, 'r' },
		{ "state-dir", required_argument, NULL, 's' },
		{ "no-backtrace", no_argument, NULL, 'B' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *app = NULL, *state_dir = NULL;
	int c, err;

	/* "+": the options end at PROGRAM, whose own options are its business. */
	while ((c = getopt_long(argc, argv, "+a:r:s:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			app = optarg;
			break;
		case 'r':
			r->rescue = optarg;
			break;
		case 's':
			state_dir = optarg;
			break;
		case 'B':
			r->no_backtrace = 1;
			break;
		case 'h':
			ctl_help("run");
			return -1; /* answered */
		default:
			return ctl_bad_option("run");
		}
	}
	if (optind >= argc || !argv[optind][0])
		return ctl_usage("run", "expects a PROGRAM to run");
	r->argv = argv + optind;
	if (app && !proto_app_name_ok(app))
		return ctl_usage("run",
				 "--app '%s' is not an app name (1-64 characters of "
				 "[A-Za-z0-9._-], not '.' or '..')",
				 app);
	if (app)
		strcpy(r->app, app);
	else
		app_from_program(r->argv[0], r->app);
	if (r->rescue && !r->rescue[0])
		return ctl_usage("run", "--rescue expects a command");
	if (state_dir) {
		err = state_dir_absolute(state_dir, r->state_dir, sizeof(r->state_dir));
		if (err)
			return ctl_usage("run", "--state-dir '%s' is not usable: %s", state_dir,
					 strerror(-err));
	} else {
		err = state_dir_default(r->state_dir, sizeof(r->state_dir));
		if (err)
			return ctl_fail("cannot find a state directory (no home directory); "
					"use --state-dir");
	}
	return 0;
}

/* The memfd must not land on 0-2: a caller that closed stdin would give PROGRAM it as stdin. */
static int fd_above_stdio(int fd)
{
	int nfd, err;

	if (fd > STDERR_FILENO)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	err = errno;
	close(fd);
	return nfd < 0 ? -err : nfd;
}

/* Like the collector's audit log, in our state directory; without it, crashes go unlisted. */
static void open_audit(struct run *r)
{
	char path[PATH_MAX + 16];
	int err;

	snprintf(path, sizeof(path), "%s/audit.jsonl", r->state_dir);
	err = audit_open(&r->audit, path);
	if (err)
		fprintf(stderr, "faultguardctl: cannot open %s (%s): crashes will not be listed\n",
			path, strerror(-err));
}

/*
 * Where it crashed (SPEC §8.3), unwound before the crash record is written
 * (a few ms before the rescue starts: the standalone guardian has no other
 * thread to do it in); fields that cannot be known are null, with the reason.
 */
static void add_backtrace(const struct run *r, json_object *rec, int sig)
{
	struct unwind_result res;
	const struct unwind_input *in;
	const char *exe;
	pid_t tid;

	if (!r->where) {
		/* Not traced by choice (--no-backtrace, LeakSanitizer: see run_trace.h) says nothing. */
		if (sig && sig != SIGKILL && r->traced && r->traced != -EBUSY &&
		    r->traced != -ECANCELED)
			fprintf(stderr, "faultguardctl: no backtrace: %s could not be traced: %s\n",
				r->argv[0], strerror(-r->traced));
		record_crash_where(rec, 0, NULL, 0, 0, NULL);
		return;
	}
	in = run_capture_input(r->where, &tid, &exe);
	if (unwind_run(in, NULL, &res)) {
		record_crash_where(rec, tid, exe, 1, in->regs[UNWIND_REG_IP], NULL);
		return;
	}
	/*
	 * Why a backtrace is short is not said here: the crash's one line on
	 * stderr is the user's terminal's, and the record holds what is known.
	 */
	record_crash_where(rec, tid, exe, 1, in->regs[UNWIND_REG_IP], &res);
	unwind_result_free(&res);
}

static void audit_crash(const struct run *r, const char *id, int wstatus)
{
	int sig = WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : 0;
	struct crash_facts f = {
		.id = id,
		.app = r->app,
		.cause = cause_of_wstatus(wstatus),
		.pid = r->pid,
		.uid = getuid(),
		.signal = sig,
		.exit_code = sig ? -1 : WEXITSTATUS(wstatus),
		.core_dumped = sig && WCOREDUMP(wstatus),
	};

	json_object *rec;

	if (!r->audit)
		return;
	rec = record_crash(&f);
	add_backtrace(r, rec, sig);
	audit_emit(r->audit, rec);
}

/* @us, @latency_us in microseconds; -1: null. */
static void audit_rescue(const struct run *r, const char *id, const char *status, int wstatus,
			 int64_t us, int64_t latency_us)
{
	char *argv[] = { "/bin/sh", "-c", (char *)r->rescue, NULL };
	int sig = wstatus >= 0 && WIFSIGNALED(wstatus) ? WTERMSIG(wstatus) : -1;
	struct rescue_facts f = {
		.id = id,
		.app = r->app,
		.status = status,
		.pid = r->pid,
		.argv = r->rescue ? argv : NULL,
		.exit_code = wstatus >= 0 && WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1,
		.signal = sig,
		.us = us,
		.latency_us = latency_us,
	};

	if (r->audit)
		audit_emit(r->audit, record_rescue(&f));
}

static int64_t mono_us_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int prepare(struct run *r)
{
	const char *why = "";
	mode_t old_mask;
	int n;

	n = snprintf(r->snap_dir, sizeof(r->snap_dir), "%s/snapshots/%u/%s", r->state_dir,
		     (unsigned int)getuid(), r->app);
	if (n < 0 || (size_t)n + CRASH_ID_LEN + 8 >= sizeof(r->snap_dir))
		return ctl_fail("the state directory path %s is too long", r->state_dir);
	/*
	 * Before PROGRAM starts: a crash we could not save is better known now.
	 * Our own umask, not the caller's, so that the modes are the ones we
	 * ask for; PROGRAM and the rescue keep the caller's.
	 */
	old_mask = umask(077);
	r->snap_dirfd = state_dir_open_snapshots(r->state_dir, getuid(), r->app, &why);
	if (r->snap_dirfd >= 0)
		open_audit(r);
	umask(old_mask);
	if (r->snap_dirfd < 0)
		return ctl_fail("cannot use %s: %s: %s", r->snap_dir, why,
				strerror(-r->snap_dirfd));
	r->memfd = fd_above_stdio(fg_memfd_create(r->app, 0));
	if (r->memfd < 0)
		return ctl_fail("cannot create the dictionary: %s", strerror(-r->memfd));
	return 0;
}

static void describe_death(char *buf, size_t len, int wstatus)
{
	const char *cause = cause_of_wstatus(wstatus);

	if (WIFSIGNALED(wstatus)) {
		const char *name = signal_name(WTERMSIG(wstatus));

		if (name)
			snprintf(buf, len, "died of %s (%s)", name, cause);
		else
			snprintf(buf, len, "died of signal %d (%s)", WTERMSIG(wstatus), cause);
	} else {
		snprintf(buf, len, "exited with status %d (%s)", WEXITSTATUS(wstatus),
			 cause ? cause : "no crash");
	}
}

/* The snapshot is the file at @path, or the memfd @snap_fd when @path is NULL. */
static void rescue(const struct run *r, const char *path, int snap_fd, const char *id,
		   int wstatus, int64_t death_us)
{
	int64_t start;
	struct rescue_info info = {
		.snapshot = path,
		.snap_fd = path ? -1 : snap_fd,
		.id = id,
		.app = r->app,
		.pid = r->pid,
		.uid = getuid(),
		.wstatus = wstatus,
	};
	int status, err;

	start = mono_us_now();
	err = run_rescue(r->rescue, &info, &r->saved, &status);
	audit_rescue(r, id, err ? "spawn_error" : WIFEXITED(status) && !WEXITSTATUS(status) ? "ok"
										: "failed",
		     err ? -1 : status, err ? -1 : mono_us_now() - start, start - death_us);
	if (err)
		ctl_fail("cannot start the rescue command: %s", strerror(-err));
	else if (WIFEXITED(status) && WEXITSTATUS(status))
		ctl_fail("the rescue command exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status) && signal_name(WTERMSIG(status)))
		ctl_fail("the rescue command was killed by %s", signal_name(WTERMSIG(status)));
	else if (WIFSIGNALED(status))
		ctl_fail("the rescue command was killed by signal %d", WTERMSIG(status));
}

/*
 * Writes the snapshot bytes to the state directory; when the disk refuses
 * (full, read-only, quota, I/O error), they go into a sealed memfd instead
 * (*@memfd) and *@why says why: the rescue runs with them all the same.
 */
static int store(const struct run *r, const char *name, const void *buf, size_t len, int *memfd,
		 int *why)
{
	const struct atomic_file_opts o = { .mode = 0600, .uid = (uid_t)-1, .gid = (gid_t)-1,
					    .sync = 1 };
	mode_t old_mask = umask(077);
	int err = atomic_file_write(r->snap_dirfd, name, buf, len, &o, NULL);

	umask(old_mask);
	*memfd = -1;
	*why = err;
	if (!err)
		return 0;
	*memfd = snapshot_memfd(buf, len);
	return *memfd < 0 ? *memfd : 0;
}

static void record_snapshot_of(const struct run *r, const char *id, const char *path,
			       const struct fg_snapshot *s, size_t discarded, int64_t us,
			       const char *sha, const char *stored, const char *error)
{
	struct snapshot_facts f = {
		.id = id,
		.app = r->app,
		.pid = r->pid,
		.stored = stored,
		.path = stored && !strcmp(stored, "disk") ? path : NULL,
		.keys = s ? fg_snapshot_count(s) : 0,
		.bytes = s ? s->bytes : 0,
		.discarded = discarded,
		.us = us,
		.sha256 = sha,
		.error = error,
	};

	if (r->audit)
		audit_emit(r->audit, record_snapshot(&f));
}

/* PROGRAM died abnormally: snapshot, one line on stderr, rescue. */
static void handle_crash(const struct run *r, int wstatus)
{
	char id[CRASH_ID_LEN], name[CRASH_ID_LEN + 8], path[PATH_MAX + CRASH_ID_LEN + 16];
	char death[64], sha[SHA256_HEX_LEN] = "", error[PATH_MAX + 256] = "";
	int64_t now = time_now_ms(), death_us = mono_us_now(), t0;
	struct fg_snapshot *s;
	size_t discarded = 0, len = 0;
	void *buf = NULL;
	int err, memfd = -1, disk_err = 0;

	s = guard_read(r->memfd, r->app, r->pid, now, &discarded);
	if (!s) {
		/* ENODATA: it called fg_close, an orderly end with nothing to rescue. */
		if (errno != ENODATA)
			ctl_fail("cannot read %s's dictionary: %s", r->app, strerror(errno));
		return;
	}
	crash_id_make(id, now, r->pid);
	snprintf(name, sizeof(name), "%s.fgsnap", id);
	snprintf(path, sizeof(path), "%s/%s", r->snap_dir, name);
	describe_death(death, sizeof(death), wstatus);
	audit_crash(r, id, wstatus);
	t0 = mono_us_now();
	err = snapshot_encode(s, &buf, &len);
	if (!err && sha256_hex(buf, len, sha))
		sha[0] = '\0';
	if (!err)
		err = store(r, name, buf, len, &memfd, &disk_err);
	free(buf);
	if (disk_err)
		snprintf(error, sizeof(error), "cannot write %s: %s", path, strerror(-disk_err));
	else if (err)
		snprintf(error, sizeof(error), "cannot make the snapshot: %s", strerror(-err));
	record_snapshot_of(r, id, path, s, discarded, mono_us_now() - t0, err ? NULL : sha,
			   err ? NULL : memfd >= 0 ? "memory" : "disk", error[0] ? error : NULL);
	if (err) {
		ctl_fail("%s (pid %d) %s, but %s", r->app, (int)r->pid, death, error);
		audit_rescue(r, id, "none", -1, -1, -1);
		goto out;
	}
	if (memfd >= 0)
		fprintf(stderr, "faultguardctl: %s (pid %d) %s; snapshot of %zu keys held in memory: "
				"%s",
			r->app, (int)r->pid, death, fg_snapshot_count(s), error);
	else
		fprintf(stderr, "faultguardctl: %s (pid %d) %s; snapshot of %zu keys in %s", r->app,
			(int)r->pid, death, fg_snapshot_count(s), path);
	if (discarded)
		fprintf(stderr, " (%zu damaged entries dropped)", discarded);
	/* The guardian never sees the program's fg_opts: its rescue_argv is not ours to run. */
	if (!r->rescue)
		fprintf(stderr, "; no rescue: run has none without --rescue, whatever rescue_argv "
				"the program gave fg_open");
	fputc('\n', stderr);
	if (r->rescue)
		rescue(r, memfd >= 0 ? NULL : path, memfd, id, wstatus, death_us);
	else
		audit_rescue(r, id, "none", -1, -1, -1);
out:
	if (memfd >= 0)
		close(memfd);
	fg_snapshot_close(s);
}

static int cmd_run(int argc, char **argv)
{
	struct run r = { .snap_dirfd = -1, .memfd = -1 };
	int rc, err, exec_failed, wstatus;

	rc = parse(argc, argv, &r);
	if (rc)
		return rc < 0 ? 0 : rc;
	rc = prepare(&r);
	if (rc)
		goto out;
	/* Ignored from before the fork on, so a Ctrl-C never finds the guardian unprotected. */
	guard_ignore_signals(&r.saved);
	/* Traced, to see where a fatal signal strikes; untraced if the kernel says no. */
	err = run_child_start(r.argv, r.memfd, &r.saved, !r.no_backtrace, &r.pid, &exec_failed,
			      &r.traced);
	if (err) {
		if (exec_failed) {
			rc = EXIT_CANNOT_EXEC;
			ctl_fail("cannot run %s: %s", r.argv[0], strerror(-err));
		} else {
			rc = ctl_fail("cannot start %s: %s", r.argv[0], strerror(-err));
		}
		goto out_signals;
	}
	err = r.traced ? guard_wait(r.pid, &wstatus) : run_trace_wait(r.pid, &wstatus, &r.where);
	if (err) {
		rc = ctl_fail("cannot wait for %s: %s", r.argv[0], strerror(-err));
		goto out_signals;
	}
	/* Still ignoring: a Ctrl-C during the rescue is for the rescue command. */
	if (guard_is_crash(wstatus, 0))
		handle_crash(&r, wstatus);
	rc = WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
out_signals:
	guard_restore_signals(&r.saved);
out:
	if (r.memfd >= 0)
		close(r.memfd);
	if (r.snap_dirfd >= 0)
		close(r.snap_dirfd);
	audit_close(r.audit);
	run_capture_free(r.where);
	return rc;
}

CTL_COMMAND("run", cmd_run,
	    "[--app NAME] [--rescue 'CMD'] [--state-dir D] [--no-backtrace] -- PROGRAM [ARGS]",
	    "run PROGRAM under a guardian that rescues its data");
