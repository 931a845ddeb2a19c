// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * A rescue command for the collector tests: it reports the world it was
 * started in, then behaves as told.
 *
 *   col_rescue REPORT [--sleeper] [--wait-file F] [--say TEXT] [--err TEXT] [--sleep]
 *              [--exit N] [--stable MS]
 *
 * REPORT (written atomically: a temporary name, then rename) is one JSON
 * object: argv, pid, env (every variable), environ_entries (to spot a variable
 * set twice), uid/euid/suid, gid/egid/sgid, groups, stdin (where fd 0
 * points), fds (the open descriptors), cwd, session_leader,
 * snapshot_readable and snapshot_keys (whether this user can open
 * $FAULTGUARD_SNAPSHOT), snapshot_exact ("" when it holds exactly what
 * tests/helpers/app_data.h wrote for the app of $FAULTGUARD_PID, else why
 * not), child_snapshot_keys (what a child that closed every fd above 2
 * reads there), snapshot_write ("refused" when writing to it fails, as it
 * must for a copy held in memory; "allowed" otherwise), and sleeper (the
 * pid of a grandchild left sleeping in the command's session, with
 * --sleeper).
 *
 * --stable MS: the report also says whether the bytes at $FAULTGUARD_SNAPSHOT
 * stayed the same (stable) over MS milliseconds, and leaves out
 * snapshot_exact (the data of an app whose dictionary was scribbled over
 * cannot be exact).
 *
 * Then, in this order: --wait-file waits until F exists, --say prints
 * TEXT on stdout, --err on stderr, --sleep waits forever, --exit N exits N
 * (default 0).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "faultguard.h"
#include "helpers/app_data.h"

extern char **environ;

static json_object *env_object(int *entries)
{
	json_object *o = json_object_new_object();
	char **e;

	*entries = 0;
	for (e = environ; *e; e++) {
		(*entries)++;
		const char *eq = strchr(*e, '=');
		char name[256];

		if (!eq || (size_t)(eq - *e) >= sizeof(name))
			continue;
		memcpy(name, *e, (size_t)(eq - *e));
		name[eq - *e] = '\0';
		json_object_object_add(o, name, json_object_new_string(eq + 1));
	}
	return o;
}

static json_object *fd_array(void)
{
	json_object *a = json_object_new_array();
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;

	if (!d)
		return a;
	while ((de = readdir(d))) {
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = atoi(de->d_name);
		/* The directory stream's own descriptor is ours, not inherited. */
		if (fd == dirfd(d))
			continue;
		json_object_array_add(a, json_object_new_int(fd));
	}
	closedir(d);
	return a;
}

static json_object *link_of(const char *path)
{
	char buf[PATH_MAX];
	ssize_t n = readlink(path, buf, sizeof(buf) - 1);

	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return json_object_new_string(buf);
}

/* What the snapshot holds against what the app wrote: "" when exactly that. */
static json_object *exactness(const struct fg_snapshot *snap)
{
	const char *pid = getenv("FAULTGUARD_PID");
	const void *mode;
	char why[256], m[64];
	size_t len;

	if (!snap || !pid)
		return json_object_new_string("no snapshot");
	if (fg_snapshot_get(snap, "mode", &mode, &len) || len >= sizeof(m))
		return json_object_new_string("no mode entry");
	memcpy(m, mode, len);
	m[len] = '\0';
	if (app_snapshot_diff(snap, m, (pid_t)atoi(pid), why, sizeof(why)))
		return json_object_new_string(why);
	return json_object_new_string("");
}

/* A child that closes every fd above 2, then opens the snapshot by its path: the keys it sees. */
static json_object *child_view(const char *path)
{
	int p[2], status;
	long long keys = -1;
	pid_t pid;

	if (!path || pipe(p) < 0)
		return json_object_new_int64(-1);
	pid = fork();
	if (pid == 0) {
		struct fg_snapshot *s;
		long long n;
		int fd;

		for (fd = 3; fd < 1024; fd++)
			if (fd != p[1])
				close(fd);
		s = fg_snapshot_open(path);
		n = s ? (long long)fg_snapshot_count(s) : -1;
		(void)!write(p[1], &n, sizeof(n));
		_exit(0);
	}
	close(p[1]);
	if (pid > 0 && read(p[0], &keys, sizeof(keys)) != sizeof(keys))
		keys = -1;
	close(p[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	return json_object_new_int64(keys);
}

/* Whether this user can change the snapshot's bytes (a held copy is sealed: never). */
static json_object *write_attempt(const char *path)
{
	int fd = path ? open(path, O_RDWR | O_CLOEXEC) : -1;
	ssize_t n = -1;

	if (fd >= 0) {
		n = pwrite(fd, "x", 1, 0);
		if (n < 0 && ftruncate(fd, 0) == 0)
			n = 0;
		close(fd);
	}
	return json_object_new_string(n < 0 ? "refused" : "allowed");
}

/* zlib's crc32 of every byte at @path, or 0 when it cannot be read. */
static unsigned long file_crc(const char *path)
{
	static unsigned char buf[1 << 20];
	unsigned long crc = crc32(0, NULL, 0);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		crc = crc32(crc, buf, (uInt)n);
	close(fd);
	return n < 0 ? 0 : crc;
}

/* Whether the snapshot's bytes stay the same over @ms. */
static json_object *stability(const char *path, int ms)
{
	struct timespec t = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
	unsigned long a = path ? file_crc(path) : 0, b;

	nanosleep(&t, NULL);
	b = path ? file_crc(path) : 0;
	return json_object_new_boolean(a && a == b);
}

/* The first line of @path, without its newline ("" when unreadable). */
static json_object *first_line(const char *path)
{
	char line[256] = "";
	FILE *f = fopen(path, "re");

	if (f && !fgets(line, sizeof(line), f))
		line[0] = '\0';
	if (f)
		fclose(f);
	line[strcspn(line, "\n")] = '\0';
	return json_object_new_string(line);
}

/* The hex mask of @field ("CapEff") in /proc/self/status, or "" when absent. */
static json_object *caps_of(const char *field)
{
	char line[256], want[32];
	FILE *f = fopen("/proc/self/status", "re");
	json_object *o = NULL;

	snprintf(want, sizeof(want), "%s:\t", field);
	while (f && !o && fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)))
			o = json_object_new_string_len(line + strlen(want),
						       (int)strcspn(line + strlen(want), "\n"));
	if (f)
		fclose(f);
	return o ? o : json_object_new_string("");
}

static json_object *report(int argc, char **argv, pid_t sleeper, json_object *fds, int stable_ms)
{
	json_object *o = json_object_new_object(), *a = json_object_new_array();
	const char *snap_path = getenv("FAULTGUARD_SNAPSHOT");
	struct fg_snapshot *snap = snap_path ? fg_snapshot_open(snap_path) : NULL;
	uid_t ruid, euid, suid;
	gid_t rgid, egid, sgid, groups[256];
	char cwd[PATH_MAX];
	int i, n;

	for (i = 0; i < argc; i++)
		json_object_array_add(a, json_object_new_string(argv[i]));
	json_object_object_add(o, "argv", a);
	json_object_object_add(o, "pid", json_object_new_int(getpid()));
	json_object_object_add(o, "env", env_object(&n));
	/* More entries than names: a variable set twice (the first one wins in getenv). */
	json_object_object_add(o, "environ_entries", json_object_new_int(n));
	getresuid(&ruid, &euid, &suid);
	getresgid(&rgid, &egid, &sgid);
	json_object_object_add(o, "uid", json_object_new_int64(ruid));
	json_object_object_add(o, "euid", json_object_new_int64(euid));
	json_object_object_add(o, "suid", json_object_new_int64(suid));
	json_object_object_add(o, "gid", json_object_new_int64(rgid));
	json_object_object_add(o, "egid", json_object_new_int64(egid));
	json_object_object_add(o, "sgid", json_object_new_int64(sgid));
	a = json_object_new_array();
	n = getgroups(256, groups);
	for (i = 0; i < n; i++)
		json_object_array_add(a, json_object_new_int64(groups[i]));
	json_object_object_add(o, "groups", a);
	json_object_object_add(o, "oom_score_adj", first_line("/proc/self/oom_score_adj"));
	json_object_object_add(o, "cap_eff", caps_of("CapEff"));
	json_object_object_add(o, "cap_prm", caps_of("CapPrm"));
	json_object_object_add(o, "cap_inh", caps_of("CapInh"));
	json_object_object_add(o, "cap_amb", caps_of("CapAmb"));
	json_object_object_add(o, "stdin", link_of("/proc/self/fd/0"));
	json_object_object_add(o, "stdin_flags", json_object_new_int(fcntl(0, F_GETFL)));
	json_object_object_add(o, "fds", fds);
	json_object_object_add(o, "cwd", json_object_new_string(getcwd(cwd, sizeof(cwd)) ? cwd
										      : ""));
	json_object_object_add(o, "session_leader", json_object_new_boolean(getsid(0) == getpid()));
	json_object_object_add(o, "snapshot_readable", json_object_new_boolean(snap != NULL));
	json_object_object_add(o, "snapshot_keys",
			       json_object_new_int64(snap ? (int64_t)fg_snapshot_count(snap) : -1));
	if (stable_ms)
		json_object_object_add(o, "stable", stability(snap_path, stable_ms));
	else
		json_object_object_add(o, "snapshot_exact", exactness(snap));
	json_object_object_add(o, "child_snapshot_keys", child_view(snap_path));
	/* Only a copy in memory is tried: writing a file on disk would spoil it for the test. */
	if (getenv("FAULTGUARD_SNAPSHOT_STORED") &&
	    !strcmp(getenv("FAULTGUARD_SNAPSHOT_STORED"), "memory"))
		json_object_object_add(o, "snapshot_write", write_attempt(snap_path));
	if (sleeper > 0)
		json_object_object_add(o, "sleeper", json_object_new_int(sleeper));
	fg_snapshot_close(snap);
	return o;
}

static int write_report(const char *path, json_object *o)
{
	char tmp[PATH_MAX];
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	FILE *f;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp))
		return -1;
	f = fopen(tmp, "we");
	if (!f)
		return -1;
	fputs(s, f);
	fputc('\n', f);
	if (fclose(f))
		return -1;
	/* The test polls for REPORT: it must appear whole. */
	return rename(tmp, path);
}

int main(int argc, char **argv)
{
	int i, sleeper = 0, sleep_forever = 0, code = 0, stable_ms = 0;
	const char *out_text = NULL, *err_text = NULL, *wait_file = NULL;
	/* First, before this program opens anything of its own. */
	json_object *fds = fd_array(), *o;
	pid_t sleeper_pid = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: col_rescue REPORT [--sleeper] [--wait-file F] [--say TEXT] "
				"[--err TEXT] [--sleep] [--exit N]\n");
		return 64;
	}
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--sleeper"))
			sleeper = 1;
		else if (!strcmp(argv[i], "--sleep"))
			sleep_forever = 1;
		else if (!strcmp(argv[i], "--wait-file") && i + 1 < argc)
			wait_file = argv[++i];
		else if (!strcmp(argv[i], "--say") && i + 1 < argc)
			out_text = argv[++i];
		else if (!strcmp(argv[i], "--err") && i + 1 < argc)
			err_text = argv[++i];
		else if (!strcmp(argv[i], "--exit") && i + 1 < argc)
			code = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--stable") && i + 1 < argc)
			stable_ms = atoi(argv[++i]);
		else
			return 64;
	}
	if (sleeper) {
		sleeper_pid = fork();
		if (sleeper_pid == 0) {
			for (;;)
				pause();
		}
	}
	o = report(argc, argv, sleeper_pid, fds, stable_ms);
	if (write_report(argv[1], o)) {
		fprintf(stderr, "col_rescue: cannot write %s: %s\n", argv[1], strerror(errno));
		return 65;
	}
	json_object_put(o);
	while (wait_file && access(wait_file, F_OK) < 0) {
		struct timespec tick = { .tv_nsec = 5 * 1000000L };

		nanosleep(&tick, NULL);
	}
	if (out_text) {
		fputs(out_text, stdout);
		fflush(stdout);
	}
	if (err_text) {
		fputs(err_text, stderr);
		fflush(stderr);
	}
	while (sleep_forever)
		pause();
	return code;
}
