// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `faultguardctl run` as a user runs it: a real faultguardctl process
 * guarding tests/helpers/app_crash, which writes known data (app_data.h)
 * and dies in every way. Each crash is checked end to end: the exit status,
 * the snapshot file (place, mode, owner, exact contents through
 * fg_snapshot_open and through `faultguardctl dump --json`), the line on
 * stderr, and the rescue command's environment, stdin and fds. The app
 * reports its pid on an fd inherited through the guardian, so every test
 * also shows that the caller's fds pass through. Last, the crash torture
 * through the whole path (app_torture.h). No collector, no root.
 */
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cause.h"
#include "common/crash_id.h"
#include "common/text.h"
#include "common/timefmt.h"
#include "faultguard.h"
#include "framework/test.h"
#include "helpers/app_data.h"
#include "helpers/app_torture.h"

#define NOBODY 65534

/* snprintf that fails the test instead of cutting a path short. */
static void __attribute__((format(printf, 3, 4))) fmt(char *buf, size_t len, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(buf, len, f, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= len)
		test_fail(__FILE__, __LINE__, "does not fit in %zu bytes: %s", len, buf);
}

struct ctl {
	/* what to run */
	const char *opts[8];   /* faultguardctl run's options, NULL-terminated */
	const char *program;   /* default: app_crash; NULL: none, and no "--" */
	const char *mode;      /* app_crash's mode (NULL: PROGRAM gets no arguments) */
	const char *cwd;       /* default: the scratch directory */
	const char *env[4];    /* "NAME=value" to set, "NAME" to unset */
	bool newpgrp;          /* faultguardctl leads a process group of its own */
	bool as_nobody;        /* when root: run as uid/gid 65534 */
	bool set_umask;        /* give faultguardctl this umask (else 022) */
	mode_t umask;
	/* what happened */
	pid_t pid;             /* faultguardctl */
	pid_t app_pid;         /* as the app reported it; 0 when it never ran */
	int status;            /* faultguardctl's wait status */
	int64_t t0, t1;        /* before the start, after the end */
	/* where */
	char dir[PATH_MAX];    /* the test's scratch directory */
	char state[PATH_MAX];  /* the --state-dir the tests pass */
	char app_bin[PATH_MAX];
	char ctl_bin[PATH_MAX];
	char rescue_cmd[4 * PATH_MAX];
};

static void ctl_init(struct ctl *c)
{
	memset(c, 0, sizeof(*c));
	fmt(c->dir, sizeof(c->dir), "%s", test_tmpdir());
	fmt(c->state, sizeof(c->state), "%s/state", c->dir);
	fmt(c->app_bin, sizeof(c->app_bin), "%s/tests/helpers/app_crash", test_build_dir());
	fmt(c->ctl_bin, sizeof(c->ctl_bin), "%s/faultguardctl", test_build_dir());
	/* Records what the rescue saw: environment, stdin, fds, and the snapshot it was given. */
	fmt(c->rescue_cmd, sizeof(c->rescue_cmd),
		 "env -0 > '%1$s/rescue.env' && readlink /proc/$$/fd/0 > '%1$s/rescue.stdin' && "
		 "ls -l /proc/$$/fd/ > '%1$s/rescue.fds' && "
		 "'%2$s' dump --json \"$FAULTGUARD_SNAPSHOT\" > '%1$s/rescue.json'",
		 c->dir, c->ctl_bin);
	c->program = c->app_bin;
}

static char *path_in(const struct ctl *c, const char *name)
{
	static char buf[4][PATH_MAX + 64];
	static int next;
	char *p = buf[next++ % 4];

	fmt(p, PATH_MAX + 64, "%s/%s", c->dir, name);
	return p;
}

/* The directory ctl run writes @app's snapshots to, for @uid. */
static void snap_dir(const char *state, unsigned int uid, const char *app, char *buf, size_t len)
{
	fmt(buf, len, "%s/snapshots/%u/%s", state, uid, app);
}

static void __attribute__((noreturn)) ctl_child(struct ctl *c, int ready_w)
{
	const char *argv[32];
	char fdstr[16];
	int n = 0, i, fd;

	if (c->newpgrp)
		setpgid(0, 0);
	/* A stdin of our own: the rescue must get /dev/null, not this. */
	fd = open(path_in(c, "ctl.in"), O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, 0) < 0)
		_exit(250);
	umask(c->set_umask ? c->umask : 022);
	fd = open(path_in(c, "ctl.out"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, 1) < 0)
		_exit(250);
	fd = open(path_in(c, "ctl.err"), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || dup2(fd, 2) < 0)
		_exit(250);
	if (chdir(c->cwd ? c->cwd : c->dir) < 0)
		_exit(250);
	setenv("FG_TEST_MARKER", "inherited by the rescue", 1);
	for (i = 0; i < 4 && c->env[i]; i++) {
		char name[64], *eq = strchr(c->env[i], '=');

		if (eq) {
			fmt(name, sizeof(name), "%.*s", (int)(eq - c->env[i]), c->env[i]);
			setenv(name, eq + 1, 1);
		} else {
			unsetenv(c->env[i]);
		}
	}
	if (c->as_nobody && geteuid() == 0 &&
	    (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
	     setresuid(NOBODY, NOBODY, NOBODY) < 0))
		_exit(251);
	argv[n++] = c->ctl_bin;
	argv[n++] = "run";
	for (i = 0; i < 8 && c->opts[i]; i++)
		argv[n++] = c->opts[i];
	if (c->program) {
		argv[n++] = "--";
		argv[n++] = c->program;
	}
	if (c->program && c->mode) {
		fmt(fdstr, sizeof(fdstr), "%d", ready_w);
		argv[n++] = c->mode;
		argv[n++] = fdstr;
	}
	argv[n] = NULL;
	execv(c->ctl_bin, (char *const *)argv);
	_exit(252);
}

/*
 * A hang guard, not a timing assertion: should the code under test never
 * let faultguardctl end (an app deaf to the signal meant to kill it), the
 * test fails and leaves no process behind instead of blocking the suite.
 */
#define HANG_SECONDS 120
static pid_t watched_ctl, watched_app;

static void hang_guard(int sig)
{
	static const char msg[] = "  faultguardctl did not end: killed, test failed\n";

	(void)sig;
	if (watched_app > 0)
		kill(watched_app, SIGKILL);
	if (watched_ctl > 0)
		kill(watched_ctl, SIGKILL);
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

/* Starts faultguardctl and waits until the app reported its pid (or never will). */
static bool ctl_start(struct ctl *c)
{
	char line[32];
	size_t n = 0;
	int p[2];

	/* The write end is inherited on purpose: it travels through the guardian to the app. */
	if (!ASSERT_OK(pipe(p), "pipe"))
		return false;
	fcntl(p[0], F_SETFD, FD_CLOEXEC);
	c->t0 = time_now_ms();
	signal(SIGALRM, hang_guard);
	alarm(HANG_SECONDS);
	fflush(NULL);
	c->pid = fork();
	if (!ASSERT_GE(c->pid, 0, "fork"))
		return false;
	if (c->pid == 0) {
		close(p[0]);
		ctl_child(c, p[1]);
	}
	close(p[1]);
	/* Until the newline, or end of file once faultguardctl and the app are gone. */
	while (n < sizeof(line) - 1) {
		ssize_t r = read(p[0], line + n, 1);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	close(p[0]);
	c->app_pid = n ? atoi(line) : 0;
	watched_ctl = c->pid;
	watched_app = c->app_pid;
	return true;
}

static bool ctl_wait(struct ctl *c)
{
	pid_t r;

	do
		r = waitpid(c->pid, &c->status, 0);
	while (r < 0 && errno == EINTR);
	alarm(0);
	watched_ctl = watched_app = 0;
	c->t1 = time_now_ms();
	return ASSERT_EQ(r, c->pid, "waitpid faultguardctl");
}

static bool ctl_run(struct ctl *c)
{
	return ctl_start(c) && ctl_wait(c);
}

/* The whole file, NUL-terminated; NULL if it cannot be read. */
static char *slurp(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r;

	if (fd < 0 || !buf) {
		free(buf);
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	while ((r = read(fd, buf + n, cap - n - 1)) > 0) {
		n += (size_t)r;
		if (cap - n - 1 == 0) {
			char *nb = realloc(buf, cap * 2);

			if (!nb)
				break;
			buf = nb;
			cap *= 2;
		}
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

/* The value of @name in an `env -0` dump, or NULL. */
static const char *env_get(const char *env, size_t len, const char *name)
{
	size_t nl = strlen(name);
	const char *p = env, *end = env + len;

	while (p < end) {
		if (!strncmp(p, name, nl) && p[nl] == '=')
			return p + nl + 1;
		p += strlen(p) + 1;
	}
	return NULL;
}

static int count_lines(const char *s)
{
	int n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/*
 * The files in @dir: the count, and the name of the last one in @name.
 * -1 when @dir does not exist.
 */
static int list_dir(const char *dir, char *name, size_t len)
{
	struct dirent *de;
	int n = 0;
	DIR *d = opendir(dir);

	if (!d)
		return -1;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		fmt(name, len, "%s", de->d_name);
		n++;
	}
	closedir(d);
	return n;
}

static bool exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* Runs `faultguardctl dump --json @snap` and parses what it prints. */
static json_object *dump_json(const struct ctl *c, const char *snap)
{
	char cmd[3 * PATH_MAX];
	json_object *j;
	char *out;
	int rc;

	fmt(cmd, sizeof(cmd), "'%s' dump --json '%s' > '%s'", c->ctl_bin, snap,
		 path_in(c, "dump.json"));
	rc = system(cmd);
	if (!ASSERT_EQ(rc, 0, "faultguardctl dump --json"))
		return NULL;
	out = slurp(path_in(c, "dump.json"), NULL);
	j = out ? json_tokener_parse(out) : NULL;
	free(out);
	ASSERT_NOT_NULL(j, "dump --json prints JSON");
	return j;
}

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static long long jint(json_object *o, const char *key)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
		return -1;
	return json_object_get_int64(v);
}

/* dump --json of the snapshot holds exactly the app's data, and the right who and when. */
static void check_dump(json_object *j, const char *app, const char *mode, pid_t pid,
		       int64_t time_ms)
{
	char when[TIME_RFC3339_LEN];
	struct app_expect x;
	json_object *entries;
	size_t i;

	app_expect_init(&x, mode, pid);
	time_rfc3339_ms(time_ms, when);
	ASSERT_STREQ(jstr(j, "app"), app, "json app");
	ASSERT_EQ(jint(j, "pid"), pid, "json pid");
	ASSERT_EQ(jint(j, "uid"), getuid(), "json uid");
	ASSERT_STREQ(jstr(j, "time"), when, "json time");
	if (!ASSERT_TRUE(json_object_object_get_ex(j, "entries", &entries) &&
				 json_object_is_type(entries, json_type_array),
			 "json entries"))
		return;
	if (!ASSERT_EQ(json_object_array_length(entries), APP_NENTRIES, "json entry count"))
		return;
	for (i = 0; i < APP_NENTRIES; i++) {
		json_object *e = json_object_array_get_idx(entries, i);
		const struct app_entry *want = &x.e[i];
		/* The binary values hold NUL bytes: base64 by the SPEC's rule. */
		bool binary = !strcmp(want->key, "big") || !strcmp(want->key, "blob");
		const char *val = jstr(e, "value");
		unsigned char *raw = NULL;
		size_t raw_len = 0;

		ASSERT_STREQ(jstr(e, "key"), want->key, "json key");
		ASSERT_EQ(jint(e, "bytes"), want->len, want->key);
		ASSERT_STREQ(jstr(e, "encoding"), binary ? "base64" : "utf8", want->key);
		if (!ASSERT_NOT_NULL(val, "json value"))
			continue;
		if (binary) {
			if (ASSERT_OK(text_unbase64(val, &raw, &raw_len), "base64 decodes") &&
			    ASSERT_EQ(raw_len, want->len, want->key))
				ASSERT_MEMEQ(raw, want->val, raw_len, want->key);
			free(raw);
		} else {
			ASSERT_EQ(strlen(val), want->len, want->key);
			ASSERT_MEMEQ(val, want->val, want->len, want->key);
		}
	}
}

static void check_private_dir(const char *path, uid_t uid)
{
	struct stat st;

	if (!ASSERT_OK(lstat(path, &st), path))
		return;
	ASSERT_TRUE(S_ISDIR(st.st_mode), path);
	ASSERT_EQ(st.st_mode & 07777, 0700, path);
	ASSERT_EQ(st.st_uid, uid, path);
}

struct crash {
	const char *app;       /* expected app name */
	const char *mode;      /* what app_crash was told */
	int sig;               /* the fatal signal, 0 for an exit */
	int exit_code;         /* when it exited */
	const char *cause;     /* SPEC §5 */
	const char *sig_name;  /* "SIGSEGV" */
	bool rescue;           /* --rescue was given */
};

/*
 * Everything a crash leaves behind: exit status, one snapshot file (mode,
 * owner, exact contents twice over), one line on stderr, and a rescue that
 * saw the SPEC §4 environment. Writes the snapshot's path to @path_out.
 */
static void check_crash(struct ctl *c, const struct crash *k, char *path_out, size_t path_len)
{
	char dir[PATH_MAX], name[256], path[2 * PATH_MAX], id[CRASH_ID_LEN];
	const char *app, *v;
	struct fg_snapshot *s = NULL;
	char why[256], *err = NULL, *env = NULL, *text = NULL;
	json_object *j = NULL;
	long long time_ms;
	struct stat st;
	size_t env_len;
	unsigned int uid;
	int pid, n;

	if (!ASSERT_TRUE(WIFEXITED(c->status), "faultguardctl itself exited, not killed"))
		return;
	ASSERT_EQ(WEXITSTATUS(c->status), k->sig ? 128 + k->sig : k->exit_code, "exit status");
	if (!ASSERT_TRUE(c->app_pid > 0, "the app ran and reported its pid through the fd"))
		return;

	snap_dir(c->state, getuid(), k->app, dir, sizeof(dir));
	n = list_dir(dir, name, sizeof(name));
	if (!ASSERT_EQ(n, 1, "exactly one file in the app's snapshot directory"))
		return;
	ASSERT_TRUE(strlen(name) > 7 && !strcmp(name + strlen(name) - 7, ".fgsnap"), name);
	fmt(id, sizeof(id), "%.*s", (int)(strlen(name) - 7), name);
	ASSERT_TRUE(crash_id_valid(id), "the file is named by a crash id");
	fmt(path, sizeof(path), "%s/%s", dir, name);
	if (path_out)
		fmt(path_out, path_len, "%s", path);

	if (ASSERT_OK(lstat(path, &st), "stat snapshot")) {
		ASSERT_TRUE(S_ISREG(st.st_mode), "a regular file");
		ASSERT_EQ(st.st_mode & 07777, 0600, "snapshot mode");
		ASSERT_EQ(st.st_uid, geteuid(), "snapshot owner");
		ASSERT_EQ(st.st_gid, getegid(), "snapshot group");
	}
	check_private_dir(dir, geteuid());
	fmt(dir, sizeof(dir), "%s/snapshots/%u", c->state, (unsigned int)getuid());
	check_private_dir(dir, geteuid());
	/* Shared with the collector when root: every user passes through to their own. */
	fmt(dir, sizeof(dir), "%s/snapshots", c->state);
	if (ASSERT_OK(lstat(dir, &st), dir))
		ASSERT_EQ(st.st_mode & 07777, geteuid() == 0 ? 0711 : 0700, "snapshots/ mode");

	s = fg_snapshot_open(path);
	if (!ASSERT_NOT_NULL(s, "fg_snapshot_open"))
		goto out;
	fg_snapshot_meta(s, &app, &pid, &uid, &time_ms);
	ASSERT_STREQ(app, k->app, "snapshot app");
	ASSERT_EQ(pid, c->app_pid, "snapshot pid is the app's");
	ASSERT_EQ(uid, getuid(), "snapshot uid");
	ASSERT_TRUE(time_ms >= c->t0 && time_ms <= c->t1, "snapshot time is when it died");
	if (!ASSERT_OK(app_snapshot_diff(s, k->mode, c->app_pid, why, sizeof(why)),
		       "the snapshot holds exactly the app's data"))
		fprintf(stderr, "  %s\n", why);
	j = dump_json(c, path);
	if (j)
		check_dump(j, k->app, k->mode, c->app_pid, time_ms);

	err = slurp(path_in(c, "ctl.err"), NULL);
	if (ASSERT_NOT_NULL(err, "stderr")) {
		ASSERT_EQ(count_lines(err), 1, "one line on stderr");
		ASSERT_NOT_NULL(strstr(err, path), "stderr names the snapshot file");
		if (k->sig)
			ASSERT_NOT_NULL(strstr(err, k->sig_name), "stderr names the signal");
		else
			ASSERT_NOT_NULL(strstr(err, "exited with status"), "stderr says it exited");
	}

	env = slurp(path_in(c, "rescue.env"), &env_len);
	if (!k->rescue) {
		ASSERT_TRUE(env == NULL, "no rescue command ran");
		goto out;
	}
	if (!ASSERT_NOT_NULL(env, "the rescue command ran"))
		goto out;
	ASSERT_STREQ(env_get(env, env_len, "FAULTGUARD_SNAPSHOT"), path, "FAULTGUARD_SNAPSHOT");
	ASSERT_STREQ(env_get(env, env_len, "FAULTGUARD_ID"), id, "FAULTGUARD_ID");
	ASSERT_STREQ(env_get(env, env_len, "FAULTGUARD_APP"), k->app, "FAULTGUARD_APP");
	v = env_get(env, env_len, "FAULTGUARD_PID");
	ASSERT_EQ(v ? atoi(v) : -1, c->app_pid, "FAULTGUARD_PID");
	v = env_get(env, env_len, "FAULTGUARD_UID");
	ASSERT_EQ(v ? atoll(v) : -1, getuid(), "FAULTGUARD_UID");
	ASSERT_STREQ(env_get(env, env_len, "FAULTGUARD_CAUSE"), k->cause, "FAULTGUARD_CAUSE");
	v = env_get(env, env_len, "FAULTGUARD_SIGNAL");
	ASSERT_EQ(v ? atoi(v) : -1, k->sig, "FAULTGUARD_SIGNAL");
	v = env_get(env, env_len, "FAULTGUARD_EXIT_CODE");
	if (ASSERT_NOT_NULL(v, "FAULTGUARD_EXIT_CODE is set")) {
		if (k->sig)
			ASSERT_STREQ(v, "", "FAULTGUARD_EXIT_CODE is empty when killed");
		else
			ASSERT_EQ(atoi(v), k->exit_code, "FAULTGUARD_EXIT_CODE");
	}
	ASSERT_STREQ(env_get(env, env_len, "FG_TEST_MARKER"), "inherited by the rescue",
		     "the rescue keeps the caller's environment");
	ASSERT_TRUE(env_get(env, env_len, "FAULTGUARD_FD") == NULL,
		    "no dictionary fd is offered to the rescue");

	text = slurp(path_in(c, "rescue.stdin"), NULL);
	ASSERT_STREQ(text, "/dev/null\n", "the rescue's stdin");
	free(text);
	text = slurp(path_in(c, "rescue.fds"), NULL);
	if (ASSERT_NOT_NULL(text, "rescue fds"))
		ASSERT_TRUE(strstr(text, "memfd:") == NULL, "the dictionary does not leak into it");
	free(text);
	json_object_put(j);
	j = NULL;
	text = slurp(path_in(c, "rescue.json"), NULL);
	j = text ? json_tokener_parse(text) : NULL;
	ASSERT_EQ(jint(j, "pid"), c->app_pid, "the rescue could read its snapshot");
	free(text);
out:
	json_object_put(j);
	fg_snapshot_close(s);
	free(err);
	free(env);
}

/* An end that is no crash: the status passes through, nothing is written, nothing runs. */
static void check_no_rescue(struct ctl *c, const char *app, int status)
{
	char dir[PATH_MAX], name[256], *err;

	if (!ASSERT_TRUE(WIFEXITED(c->status), "faultguardctl exited"))
		return;
	ASSERT_EQ(WEXITSTATUS(c->status), status, "exit status");
	ASSERT_TRUE(c->app_pid > 0, "the app ran");
	snap_dir(c->state, getuid(), app, dir, sizeof(dir));
	ASSERT_EQ(list_dir(dir, name, sizeof(name)), 0, "no snapshot");
	ASSERT_FALSE(exists(path_in(c, "rescue.env")), "no rescue command ran");
	err = slurp(path_in(c, "ctl.err"), NULL);
	ASSERT_STREQ(err, "", "nothing on stderr");
	free(err);
}

/* Runs app_crash in @mode with the standard rescue and checks the crash. */
static void crash_case(const char *mode, int sig, int exit_code, const char *cause,
		       const char *sig_name)
{
	struct crash k = { "app_crash", mode, sig, exit_code, cause, sig_name, true };
	struct ctl c;

	ctl_init(&c);
	c.mode = mode;
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = c.rescue_cmd;
	if (ctl_run(&c))
		check_crash(&c, &k, NULL, 0);
}

static void no_rescue_case(const char *mode, int status)
{
	struct ctl c;

	ctl_init(&c);
	c.mode = mode;
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = c.rescue_cmd;
	if (ctl_run(&c))
		check_no_rescue(&c, "app_crash", status);
}

TEST(run_segv)
{
	crash_case("segv", SIGSEGV, 0, "segfault", "SIGSEGV");
}

TEST(run_abort)
{
	crash_case("abort", SIGABRT, 0, "abort", "SIGABRT");
}

TEST(run_crash_in_a_thread)
{
	crash_case("thread-segv", SIGSEGV, 0, "segfault", "SIGSEGV");
}

TEST(run_exit_nonzero)
{
	crash_case("exit3", 0, 3, "exit_error", NULL);
}

TEST(run_exit_zero_is_no_crash)
{
	no_rescue_case("exit0", 0);
}

TEST(run_fg_close_then_crash_is_no_crash)
{
	no_rescue_case("close-segv", 128 + SIGSEGV);
}

TEST(run_fg_close_then_exit_nonzero_is_no_crash)
{
	no_rescue_case("close-exit3", 3);
}

TEST(run_sigkill_from_outside)
{
	struct crash k = { "app_crash", "wait", SIGKILL, 0, "killed", "SIGKILL", true };
	struct ctl c;

	ctl_init(&c);
	c.mode = "wait";
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = c.rescue_cmd;
	if (!ctl_start(&c))
		return;
	if (ASSERT_TRUE(c.app_pid > 0, "the app is ready"))
		ASSERT_OK(kill(c.app_pid, SIGKILL), "kill the app");
	if (ctl_wait(&c))
		check_crash(&c, &k, NULL, 0);
}

/*
 * Ctrl-C: the terminal sends SIGINT to the whole foreground process group.
 * The guardian ignores it, the app dies of it, and the guardian reports.
 */
TEST(run_ctrl_c_reaches_the_app_alone)
{
	struct crash k = { "app_crash", "wait", SIGINT, 0, "terminated", "SIGINT", true };
	struct ctl c;

	ctl_init(&c);
	c.mode = "wait";
	c.newpgrp = true;
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = c.rescue_cmd;
	if (!ctl_start(&c))
		return;
	if (ASSERT_TRUE(c.app_pid > 0, "the app is ready")) {
		ASSERT_EQ(getpgid(c.app_pid), c.pid, "the app is in the guardian's process group");
		ASSERT_OK(kill(-c.pid, SIGINT), "SIGINT to the process group");
	}
	if (ctl_wait(&c))
		check_crash(&c, &k, NULL, 0);
}

/* The FAULTGUARD_FD of a guardian further up is replaced for the app and hidden from the rescue. */
TEST(run_inside_another_guardian)
{
	struct crash k = { "app_crash", "segv", SIGSEGV, 0, "segfault", "SIGSEGV", true };
	struct ctl c;

	ctl_init(&c);
	c.mode = "segv";
	c.env[0] = "FAULTGUARD_FD=2";
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = c.rescue_cmd;
	if (ctl_run(&c))
		check_crash(&c, &k, NULL, 0);
}

/* The caller's umask neither loosens nor tightens the snapshot's modes. */
static void umask_case(mode_t mask)
{
	struct crash k = { "app_crash", "segv", SIGSEGV, 0, "segfault", "SIGSEGV", true };
	struct ctl c;

	ctl_init(&c);
	c.mode = "segv";
	c.set_umask = true;
	c.umask = mask;
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = c.rescue_cmd;
	if (ctl_run(&c))
		check_crash(&c, &k, NULL, 0);
}

TEST(run_modes_under_a_strict_umask)
{
	umask_case(0277);
}

TEST(run_modes_under_an_empty_umask)
{
	umask_case(0);
}

TEST(run_without_rescue_command)
{
	struct crash k = { "app_crash", "abort", SIGABRT, 0, "abort", "SIGABRT", false };
	struct ctl c;
	char *err;

	ctl_init(&c);
	c.mode = "abort";
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	if (!ctl_run(&c))
		return;
	check_crash(&c, &k, NULL, 0);
	/* The program's own rescue_argv is never run here: the crash line says so. */
	err = slurp(path_in(&c, "ctl.err"), NULL);
	ASSERT_TRUE(err && strstr(err, "; no rescue: run has none without --rescue, whatever "
				       "rescue_argv the program gave fg_open\n"),
		    "the crash line says no rescue ran, and why");
	free(err);
}

TEST(run_failed_rescue_is_reported_and_status_kept)
{
	struct ctl c;
	char *err;

	ctl_init(&c);
	c.mode = "segv";
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = "exit 5";
	if (!ctl_run(&c))
		return;
	ASSERT_TRUE(WIFEXITED(c.status), "exited");
	ASSERT_EQ(WEXITSTATUS(c.status), 128 + SIGSEGV, "PROGRAM's status, not the rescue's");
	err = slurp(path_in(&c, "ctl.err"), NULL);
	if (ASSERT_NOT_NULL(err, "stderr")) {
		ASSERT_EQ(count_lines(err), 2, "the snapshot line and the rescue line");
		ASSERT_NOT_NULL(strstr(err, "status 5"), "the rescue's status is reported");
	}
	free(err);
}

/* The rescue's first argument is a shell command line, run with the SPEC's variables. */
TEST(run_rescue_is_a_shell_command)
{
	char dir[PATH_MAX], name[256], cmd[2 * PATH_MAX], *out;
	struct ctl c;

	ctl_init(&c);
	c.mode = "exit3";
	fmt(cmd, sizeof(cmd), "echo \"$FAULTGUARD_APP $FAULTGUARD_CAUSE\" | tr a-z A-Z > '%s'",
		 path_in(&c, "shell.out"));
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = cmd;
	if (!ctl_run(&c))
		return;
	ASSERT_EQ(WEXITSTATUS(c.status), 3, "exit status");
	out = slurp(path_in(&c, "shell.out"), NULL);
	ASSERT_STREQ(out, "APP_CRASH EXIT_ERROR\n", "pipes and expansions work");
	free(out);
	snap_dir(c.state, getuid(), "app_crash", dir, sizeof(dir));
	ASSERT_EQ(list_dir(dir, name, sizeof(name)), 1, "one snapshot");
}

TEST(run_program_not_found)
{
	char dir[PATH_MAX], name[256], *err;
	struct ctl c;

	ctl_init(&c);
	c.program = "/nonexistent/faultguard-test-program";
	c.mode = "segv";
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = c.rescue_cmd;
	if (!ctl_run(&c))
		return;
	ASSERT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 127, "exit status 127");
	err = slurp(path_in(&c, "ctl.err"), NULL);
	if (ASSERT_NOT_NULL(err, "stderr")) {
		ASSERT_EQ(count_lines(err), 1, "one line");
		ASSERT_NOT_NULL(strstr(err, c.program), "it names the program");
	}
	free(err);
	ASSERT_FALSE(exists(path_in(&c, "rescue.env")), "no rescue");
	snap_dir(c.state, getuid(), "faultguard-test-program", dir, sizeof(dir));
	ASSERT_EQ(list_dir(dir, name, sizeof(name)), 0, "no snapshot");
}

TEST(run_program_not_executable)
{
	char prog[PATH_MAX], dir[PATH_MAX], name[256];
	struct ctl c;
	int fd;

	ctl_init(&c);
	fmt(prog, sizeof(prog), "%s/not-executable", c.dir);
	fd = open(prog, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (!ASSERT_GE(fd, 0, "create"))
		return;
	close(fd);
	c.program = prog;
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = c.rescue_cmd;
	if (!ctl_run(&c))
		return;
	ASSERT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 127, "exit status 127");
	ASSERT_FALSE(exists(path_in(&c, "rescue.env")), "no rescue");
	snap_dir(c.state, getuid(), "not-executable", dir, sizeof(dir));
	ASSERT_EQ(list_dir(dir, name, sizeof(name)), 0, "no snapshot");
}

/* A PROGRAM that itself exits 127 crashed: it is not mistaken for one that could not start. */
TEST(run_program_exiting_127_is_a_crash)
{
	char dir[PATH_MAX], name[256], path[2 * PATH_MAX], *env;
	struct fg_snapshot *s;
	struct ctl c;
	size_t len;
	FILE *f;

	ctl_init(&c);
	f = fopen(path_in(&c, "exit127"), "w");
	if (!ASSERT_NOT_NULL(f, "script"))
		return;
	fputs("#!/bin/sh\nexit 127\n", f);
	fclose(f);
	chmod(path_in(&c, "exit127"), 0755);
	c.program = path_in(&c, "exit127");
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--app";
	c.opts[3] = "shell";
	c.opts[4] = "--rescue";
	c.opts[5] = c.rescue_cmd;
	if (!ctl_run(&c))
		return;
	ASSERT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 127, "exit status 127");
	snap_dir(c.state, getuid(), "shell", dir, sizeof(dir));
	if (!ASSERT_EQ(list_dir(dir, name, sizeof(name)), 1, "a snapshot"))
		return;
	fmt(path, sizeof(path), "%s/%s", dir, name);
	s = fg_snapshot_open(path);
	if (ASSERT_NOT_NULL(s, "open"))
		ASSERT_EQ(fg_snapshot_count(s), 0, "a program without fg_open leaves no data");
	fg_snapshot_close(s);
	env = slurp(path_in(&c, "rescue.env"), &len);
	if (ASSERT_NOT_NULL(env, "the rescue ran")) {
		ASSERT_STREQ(env_get(env, len, "FAULTGUARD_CAUSE"), "exit_error", "cause");
		ASSERT_STREQ(env_get(env, len, "FAULTGUARD_EXIT_CODE"), "127", "exit code");
	}
	free(env);
}

static void usage_case(const char *const opts[], const char *program)
{
	struct ctl c;
	char *err;
	int i;

	ctl_init(&c);
	for (i = 0; opts[i]; i++)
		c.opts[i] = opts[i];
	c.program = program;
	c.mode = "segv";
	if (!ctl_run(&c))
		return;
	ASSERT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 2, opts[0]);
	ASSERT_EQ(c.app_pid, 0, "the program did not run");
	ASSERT_FALSE(exists(c.state), "nothing was created");
	err = slurp(path_in(&c, "ctl.err"), NULL);
	ASSERT_TRUE(err && *err, "an explanation on stderr");
	free(err);
}

TEST(run_usage_errors)
{
	char state_opt[PATH_MAX + 16];
	struct ctl c;
	const char *bad_app[] = { "--app", "no/slash", NULL };
	const char *dotdot[] = { "--app", "..", NULL };
	const char *long_app[] = {
		"--app", "a123456789012345678901234567890123456789012345678901234567890123x", NULL
	};
	const char *unknown[] = { "--frobnicate", NULL };
	const char *empty_rescue[] = { "--rescue", "", NULL };
	const char *no_program[] = { "--state-dir", state_opt, NULL };
	char *err;

	ctl_init(&c);
	fmt(state_opt, sizeof(state_opt), "%s", c.state);
	usage_case(bad_app, c.app_bin);
	usage_case(dotdot, c.app_bin);
	usage_case(long_app, c.app_bin);
	usage_case(unknown, c.app_bin);
	usage_case(empty_rescue, c.app_bin);

	usage_case(no_program, "");

	/* No PROGRAM at all: `faultguardctl run --state-dir D` (no "--" either). */
	ctl_init(&c);
	c.opts[0] = no_program[0];
	c.opts[1] = no_program[1];
	c.program = NULL;
	if (!ctl_run(&c))
		return;
	ASSERT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 2, "no PROGRAM");
	ASSERT_FALSE(exists(c.state), "nothing was created");
	err = slurp(path_in(&c, "ctl.err"), NULL);
	ASSERT_TRUE(err && strstr(err, "usage:"), "the usage line");
	free(err);
}

/* The default app name is PROGRAM's base name, made safe. */
TEST(run_default_app_name)
{
	struct crash k = { "my_app_v1.2", "segv", SIGSEGV, 0, "segfault", "SIGSEGV", true };
	char link[PATH_MAX + 32];
	struct ctl c;

	ctl_init(&c);
	fmt(link, sizeof(link), "%s/my app+v1.2", c.dir);
	if (!ASSERT_OK(symlink(c.app_bin, link), "symlink"))
		return;
	c.program = link;
	c.mode = "segv";
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = c.rescue_cmd;
	if (ctl_run(&c))
		check_crash(&c, &k, NULL, 0);
}

TEST(run_app_option_names_the_snapshot_directory)
{
	struct crash k = { "My-App.v2", "exit3", 0, 3, "exit_error", NULL, true };
	struct ctl c;

	ctl_init(&c);
	c.mode = "exit3";
	c.opts[0] = "--app";
	c.opts[1] = "My-App.v2";
	c.opts[2] = "--state-dir";
	c.opts[3] = c.state;
	c.opts[4] = "--rescue";
	c.opts[5] = c.rescue_cmd;
	if (ctl_run(&c))
		check_crash(&c, &k, NULL, 0);
}

/* A relative --state-dir still gives the rescue an absolute FAULTGUARD_SNAPSHOT. */
TEST(run_relative_state_dir)
{
	struct crash k = { "app_crash", "segv", SIGSEGV, 0, "segfault", "SIGSEGV", true };
	char path[2 * PATH_MAX];
	struct ctl c;

	ctl_init(&c);
	fmt(c.state, sizeof(c.state), "%s/rel/state", c.dir);
	c.mode = "segv";
	c.cwd = c.dir;
	c.opts[0] = "--state-dir";
	c.opts[1] = "rel/state/";
	c.opts[2] = "--rescue";
	c.opts[3] = c.rescue_cmd;
	if (!ctl_run(&c))
		return;
	check_crash(&c, &k, path, sizeof(path));
	ASSERT_EQ(path[0], '/', "absolute");
}

TEST(run_two_crashes_get_distinct_ids)
{
	char dir[PATH_MAX], first[256], second[256];
	struct ctl c;

	ctl_init(&c);
	c.mode = "exit3";
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	if (!ctl_run(&c))
		return;
	snap_dir(c.state, getuid(), "app_crash", dir, sizeof(dir));
	if (!ASSERT_EQ(list_dir(dir, first, sizeof(first)), 1, "first snapshot"))
		return;
	if (!ctl_run(&c))
		return;
	if (!ASSERT_EQ(list_dir(dir, second, sizeof(second)), 2, "second snapshot"))
		return;
	/* list_dir gives the last name read: find the one that is new. */
	{
		DIR *d = opendir(dir);
		struct dirent *de;

		while (d && (de = readdir(d)))
			if (de->d_name[0] != '.' && strcmp(de->d_name, first))
				fmt(second, sizeof(second), "%s", de->d_name);
		if (d)
			closedir(d);
	}
	ASSERT_TRUE(strcmp(first, second) != 0, "distinct ids");
	/* Ids sort by time of death: the time part never goes backwards. */
	ASSERT_TRUE(strncmp(first, second, 20) <= 0, "the later crash sorts later");
}

/* Below the state directory nothing is followed through a symlink. */
TEST(run_refuses_symlinked_snapshot_directory)
{
	char snaps[PATH_MAX + 16], uid_link[PATH_MAX + 32], elsewhere[PATH_MAX + 16], name[256];
	char *err;
	struct ctl c;

	ctl_init(&c);
	fmt(snaps, sizeof(snaps), "%s/snapshots", c.state);
	fmt(uid_link, sizeof(uid_link), "%s/%u", snaps, (unsigned int)getuid());
	fmt(elsewhere, sizeof(elsewhere), "%s/elsewhere", c.dir);
	if (!ASSERT_OK(mkdir(c.state, 0700), "mkdir state") ||
	    !ASSERT_OK(mkdir(snaps, 0700), "mkdir snapshots") ||
	    !ASSERT_OK(mkdir(elsewhere, 0700), "mkdir elsewhere") ||
	    !ASSERT_OK(symlink(elsewhere, uid_link), "symlink"))
		return;
	c.mode = "segv";
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = c.rescue_cmd;
	if (!ctl_run(&c))
		return;
	ASSERT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 1, "exit status 1");
	ASSERT_EQ(c.app_pid, 0, "the program did not run");
	ASSERT_EQ(list_dir(elsewhere, name, sizeof(name)), 0, "nothing written through the link");
	err = slurp(path_in(&c, "ctl.err"), NULL);
	ASSERT_TRUE(err && count_lines(err) == 1, "one line explains");
	free(err);
}

TEST(run_refuses_snapshot_directory_others_can_write)
{
	char dir[PATH_MAX];
	char cmd[2 * PATH_MAX];
	struct ctl c;

	ctl_init(&c);
	snap_dir(c.state, getuid(), "app_crash", dir, sizeof(dir));
	fmt(cmd, sizeof(cmd), "mkdir -p '%s' && chmod 0777 '%s'", dir, dir);
	if (!ASSERT_EQ(system(cmd), 0, cmd))
		return;
	c.mode = "segv";
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	if (!ctl_run(&c))
		return;
	ASSERT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 1, "exit status 1");
	ASSERT_EQ(c.app_pid, 0, "the program did not run");
}

/* A state directory below one we may pass through but not read (a 0711 home, say). */
TEST(run_state_dir_below_an_unreadable_directory)
{
	char locked[PATH_MAX + 16], state[PATH_MAX + 32], dir[2 * PATH_MAX], name[256];
	bool drop = geteuid() == 0;
	unsigned int uid = drop ? NOBODY : getuid();
	struct ctl c;

	ctl_init(&c);
	fmt(locked, sizeof(locked), "%s/locked", c.dir);
	fmt(state, sizeof(state), "%s/state", locked);
	if (!ASSERT_OK(mkdir(locked, 0700), "mkdir"))
		return;
	if (drop && !ASSERT_OK(chown(locked, NOBODY, NOBODY), "chown to nobody"))
		return;
	/* Write and search, no read: even its owner cannot list it. */
	if (!ASSERT_OK(chmod(locked, 0311), "chmod 0311"))
		return;
	c.as_nobody = drop;
	c.mode = "exit3";
	c.opts[0] = "--state-dir";
	c.opts[1] = state;
	if (!ctl_run(&c))
		return;
	ASSERT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 3, "exit status 3");
	fmt(dir, sizeof(dir), "%s/snapshots/%u/app_crash", state, uid);
	ASSERT_EQ(list_dir(dir, name, sizeof(name)), 1, "the snapshot is there");
	chmod(locked, 0700);
}

TEST(run_state_dir_that_is_a_file)
{
	char file[PATH_MAX + 16];
	struct ctl c;
	int fd;

	ctl_init(&c);
	fmt(file, sizeof(file), "%s/a-file", c.dir);
	fd = open(file, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (!ASSERT_GE(fd, 0, "create"))
		return;
	close(fd);
	c.mode = "segv";
	c.opts[0] = "--state-dir";
	c.opts[1] = file;
	if (!ctl_run(&c))
		return;
	ASSERT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 1, "exit status 1");
	ASSERT_EQ(c.app_pid, 0, "the program did not run");
}

/*
 * Without --state-dir a user's snapshots go to $XDG_STATE_HOME/faultguard,
 * else ~/.local/state/faultguard (a relative XDG_STATE_HOME is ignored, as
 * the XDG spec says). Run as a non-root user: as root, as nobody.
 */
static void default_state_case(const char *home_name, const char *xdg, const char *expect_state)
{
	char dir[PATH_MAX], name[256], home[PATH_MAX + 16], xdg_env[PATH_MAX + 32];
	char home_env[PATH_MAX + 16];
	bool drop = geteuid() == 0;
	unsigned int uid = drop ? NOBODY : getuid();
	struct ctl c;

	ctl_init(&c);
	fmt(home, sizeof(home), "%s/%s", c.dir, home_name);
	if (!ASSERT_OK(mkdir(home, 0755), "mkdir home"))
		return;
	if (drop && !ASSERT_OK(chown(home, NOBODY, NOBODY), "chown home to nobody"))
		return;
	fmt(home_env, sizeof(home_env), "HOME=%s", home);
	c.env[0] = home_env;
	if (xdg) {
		fmt(xdg_env, sizeof(xdg_env), "XDG_STATE_HOME=%s", xdg);
		c.env[1] = xdg_env;
	} else {
		c.env[1] = "XDG_STATE_HOME";
	}
	c.as_nobody = drop;
	c.cwd = home;
	c.mode = "exit3";
	if (!ctl_run(&c))
		return;
	ASSERT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 3, "exit status 3");
	fmt(dir, sizeof(dir), "%s/%s/snapshots/%u/app_crash", home, expect_state, uid);
	ASSERT_EQ(list_dir(dir, name, sizeof(name)), 1, dir);
}

TEST(run_default_state_dir_xdg)
{
	char xdg[PATH_MAX + 16];

	fmt(xdg, sizeof(xdg), "%s/home/xdg", test_tmpdir());
	default_state_case("home", xdg, "xdg/faultguard");
}

TEST(run_default_state_dir_home)
{
	default_state_case("home1", NULL, ".local/state/faultguard");
	default_state_case("home2", "relative/ignored", ".local/state/faultguard");
}

/*
 * The crash torture through the whole standalone path: app_torture under
 * faultguardctl run, killed from outside at a random instant by SIGKILL,
 * SIGSEGV, SIGABRT or SIGTERM; the snapshot file ctl run writes must hold
 * whole values of the last completed or the in-flight sequence number,
 * the transaction's two keys from one sequence number.
 *
 *   FG_CTL_TORTURE_KILLS  rounds (default 100)
 *   FG_TORTURE_SEED       the seed (default: from the clock); printed on failure
 */
static uint64_t rng_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Checks one snapshot against the progress the writer had reported. */
static bool torture_check(const char *path, uint64_t done, uint64_t inflight, char *why,
			  size_t why_len)
{
	uint64_t seq[TORT_NKEYS] = { 0 };
	struct fg_snapshot *s = fg_snapshot_open(path);
	bool ok = false;
	const void *val;
	size_t len;
	int k;

	if (!s) {
		fmt(why, why_len, "cannot open the snapshot: %s", strerror(errno));
		return false;
	}
	for (k = 0; k < TORT_NKEYS; k++) {
		if (fg_snapshot_get(s, tort_keys[k], &val, &len) < 0)
			continue;
		if (tort_check(val, len, (unsigned int)k, &seq[k])) {
			fmt(why, why_len, "'%s' is torn or misplaced (%zu bytes)", tort_keys[k],
			    len);
			goto out;
		}
		if (seq[k] < done || seq[k] > inflight) {
			fmt(why, why_len, "'%s' holds sequence %llu, outside [%llu, %llu]",
			    tort_keys[k], (unsigned long long)seq[k], (unsigned long long)done,
			    (unsigned long long)inflight);
			goto out;
		}
	}
	if (done && (!seq[TORT_A] || !seq[TORT_B] || !seq[TORT_SINGLE])) {
		fmt(why, why_len, "a key written by a completed round is missing");
		goto out;
	}
	if (seq[TORT_A] != seq[TORT_B]) {
		fmt(why, why_len, "the transaction is split: a=%llu b=%llu",
		    (unsigned long long)seq[TORT_A], (unsigned long long)seq[TORT_B]);
		goto out;
	}
	if (seq[TORT_SINGLE] > seq[TORT_A]) {
		fmt(why, why_len, "'single' is newer than the transaction before it");
		goto out;
	}
	if (fg_snapshot_count(s) != (size_t)(seq[TORT_A] ? 2 : 0) + (seq[TORT_SINGLE] ? 1 : 0)) {
		fmt(why, why_len, "%zu entries, more than were written", fg_snapshot_count(s));
		goto out;
	}
	ok = true;
out:
	fg_snapshot_close(s);
	return ok;
}

TEST(run_torture)
{
	static const int deaths[] = { SIGKILL, SIGSEGV, SIGABRT, SIGTERM };
	const char *env_kills = getenv("FG_CTL_TORTURE_KILLS");
	const char *env_seed = getenv("FG_TORTURE_SEED");
	long rounds = env_kills ? atol(env_kills) : 100, round;
	uint64_t seed = env_seed ? strtoull(env_seed, NULL, 0) : (uint64_t)time_now_ms();
	uint64_t rng = seed | 1, done, inflight, max_done = 0;
	char dir[PATH_MAX], name[256], path[2 * PATH_MAX], progfd[16], why[256], *err;
	struct tort_progress *p;
	struct ctl c;
	int pfd, sig;

	ctl_init(&c);
	fmt(c.app_bin, sizeof(c.app_bin), "%s/tests/helpers/app_torture", test_build_dir());
	c.program = c.app_bin;
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	snap_dir(c.state, getuid(), "app_torture", dir, sizeof(dir));
	/* Not close-on-exec: it reaches the app through faultguardctl, like the ready pipe. */
	pfd = memfd_create("torture-progress", 0);
	if (!ASSERT_GE(pfd, 0, "memfd") || !ASSERT_OK(ftruncate(pfd, 4096), "ftruncate"))
		return;
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, pfd, 0);
	if (!ASSERT_TRUE(p != MAP_FAILED, "mmap"))
		return;
	fmt(progfd, sizeof(progfd), "%d", pfd);
	c.mode = progfd;
	for (round = 0; round < rounds; round++) {
		atomic_store(&p->done, 0);
		atomic_store(&p->inflight, 0);
		sig = deaths[rng_next(&rng) % 4];
		if (!ctl_start(&c))
			break;
		if (!ASSERT_TRUE(c.app_pid > 0, "app_torture started")) {
			ctl_wait(&c);
			break;
		}
		usleep((useconds_t)(rng_next(&rng) % 2000));
		kill(c.app_pid, sig);
		if (!ctl_wait(&c))
			break;
		done = atomic_load(&p->done);
		inflight = atomic_load(&p->inflight);
		max_done = done > max_done ? done : max_done;
		why[0] = '\0';
		if (!ASSERT_TRUE(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 128 + sig,
				 "faultguardctl exits 128+signal"))
			break;
		err = slurp(path_in(&c, "ctl.err"), NULL);
		ASSERT_TRUE(err && !strstr(err, "damaged"), "the reader discarded nothing");
		free(err);
		if (!ASSERT_EQ(list_dir(dir, name, sizeof(name)), 1, "one snapshot per death"))
			break;
		fmt(path, sizeof(path), "%s/%s", dir, name);
		if (!ASSERT_TRUE(torture_check(path, done, inflight, why, sizeof(why)),
				 "crash-safe snapshot")) {
			fprintf(stderr, "  torture: seed 0x%llx round %ld (%s): %s\n",
				(unsigned long long)seed, round, signal_name(sig), why);
			break;
		}
		unlink(path);
	}
	/* Shows the kills landed mid-write rather than before the first round. */
	ASSERT_TRUE(max_done > 0, "some rounds completed before a kill");
	munmap(p, 4096);
	close(pfd);
}

/* `faultguardctl list` and `show` given run's --state-dir see run's crashes. */
static json_object *ctl_json(const struct ctl *c, const char *cmd, const char *arg)
{
	char line[4 * PATH_MAX];
	json_object *j = NULL;
	char *out;

	fmt(line, sizeof(line), "'%s' %s --state-dir '%s' --json %s > '%s/ctl.json'", c->ctl_bin,
	    cmd, c->state, arg ? arg : "", c->dir);
	if (!ASSERT_OK(system(line), cmd))
		return NULL;
	out = slurp(path_in(c, "ctl.json"), NULL);
	if (out)
		j = json_tokener_parse(out);
	free(out);
	return j;
}

TEST(run_crashes_are_in_its_audit_log)
{
	json_object *list = NULL, *recs = NULL, *one;
	struct ctl c;
	size_t i;
	int seen = 0;

	ctl_init(&c);
	c.mode = "segv";
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	c.opts[2] = "--rescue";
	c.opts[3] = "exit 5";
	if (!ctl_run(&c))
		return;
	list = ctl_json(&c, "list", NULL);
	if (!ASSERT_NOT_NULL(list, "list --json") ||
	    !ASSERT_EQ(json_object_array_length(list), 1, "one crash listed"))
		goto out;
	one = json_object_array_get_idx(list, 0);
	ASSERT_STREQ(jstr(one, "app"), "app_crash", "app");
	ASSERT_EQ(jint(one, "pid"), c.app_pid, "pid");
	ASSERT_STREQ(jstr(one, "cause"), "segfault", "cause");
	ASSERT_STREQ(jstr(one, "rescue"), "failed", "the rescue's status");
	recs = ctl_json(&c, "show", jstr(one, "id"));
	if (!ASSERT_NOT_NULL(recs, "show --json"))
		goto out;
	for (i = 0; i < json_object_array_length(recs); i++) {
		json_object *r = json_object_array_get_idx(recs, i);
		const char *ev = jstr(r, "event");

		seen |= !strcmp(ev, "crash") ? 1 : !strcmp(ev, "snapshot") ? 2
						 : !strcmp(ev, "rescue") ? 4 : 0;
		if (!strcmp(ev, "rescue"))
			ASSERT_EQ(jint(r, "exit_code"), 5, "the rescue's exit code");
		if (!strcmp(ev, "snapshot"))
			ASSERT_TRUE(exists(jstr(r, "path")), "the recorded snapshot exists");
	}
	ASSERT_EQ(seen, 7, "a crash, a snapshot and a rescue record");
out:
	json_object_put(list);
	json_object_put(recs);
}

/* A user's plain `faultguardctl list` shows their own `run` crashes. */
TEST(list_shows_the_users_own_run_crashes)
{
	char state[PATH_MAX + 16], cmd[8 * PATH_MAX], *out = NULL;
	json_object *list = NULL;
	struct ctl c;
	int status;
	pid_t pid;

	ctl_init(&c);
	fmt(state, sizeof(state), "%s/xdg", c.dir);
	if (mkdir(state, 0777) < 0 || chmod(state, 0777) < 0 || chmod(c.dir, 0755) < 0) {
		test_fail(__FILE__, __LINE__, "cannot prepare %s: %s", state, strerror(errno));
		return;
	}
	fmt(cmd, sizeof(cmd),
	    "'%s' run --app mine -- '%s' segv >/dev/null 2>&1; '%s' list --json > '%s/own.json'",
	    c.ctl_bin, c.app_bin, c.ctl_bin, state);
	pid = fork();
	if (pid == 0) {
		/* Someone who may not read the system's log, with a state directory of their own. */
		if (getuid() == 0 && (setgid(65534) || setuid(65534)))
			_exit(125);
		setenv("XDG_STATE_HOME", state, 1);
		setenv("HOME", state, 1);
		setenv("FAULTGUARD_SOCKET", "/nonexistent/faultguard.sock", 1);
		_exit(system(cmd) == 0 ? 0 : 1);
	}
	if (!ASSERT_GE(pid, 0, "fork"))
		return;
	waitpid(pid, &status, 0);
	if (!ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "run, then list"))
		return;
	fmt(cmd, sizeof(cmd), "%s/own.json", state);
	out = slurp(cmd, NULL);
	list = out ? json_tokener_parse(out) : NULL;
	if (ASSERT_NOT_NULL(list, "list --json") &&
	    ASSERT_EQ(json_object_array_length(list), 1, "the user's own crash is listed")) {
		json_object *one = json_object_array_get_idx(list, 0);

		ASSERT_STREQ(jstr(one, "app"), "mine", "app");
		ASSERT_STREQ(jstr(one, "cause"), "segfault", "cause");
	}
	json_object_put(list);
	free(out);
}

/* Options may follow the arguments, as the usage lines and the README write them. */
TEST(options_after_arguments)
{
	char cmd[4 * PATH_MAX], snap[PATH_MAX + 64], id[128], *out;
	json_object *list = NULL, *j = NULL;
	struct ctl c;

	ctl_init(&c);
	c.mode = "segv";
	c.opts[0] = "--state-dir";
	c.opts[1] = c.state;
	if (!ctl_run(&c))
		return;
	list = ctl_json(&c, "list", NULL);
	if (!ASSERT_NOT_NULL(list, "list") || !ASSERT_EQ(json_object_array_length(list), 1, "one"))
		goto out;
	fmt(id, sizeof(id), "%s", jstr(json_object_array_get_idx(list, 0), "id"));
	fmt(snap, sizeof(snap), "%s/snapshots/%u/app_crash/%s.fgsnap", c.state, getuid(), id);
	fmt(cmd, sizeof(cmd), "'%s' dump '%s' --json > '%s'", c.ctl_bin, snap,
	    path_in(&c, "dump.json"));
	if (!ASSERT_OK(system(cmd), "dump SNAPSHOT --json"))
		goto out;
	out = slurp(path_in(&c, "dump.json"), NULL);
	j = out ? json_tokener_parse(out) : NULL;
	free(out);
	if (ASSERT_NOT_NULL(j, "JSON"))
		ASSERT_STREQ(jstr(j, "app"), "app_crash", "the snapshot's app");
	fmt(cmd, sizeof(cmd), "'%s' show '%s' --state-dir '%s' >/dev/null", c.ctl_bin, id, c.state);
	ASSERT_OK(system(cmd), "show ID --state-dir D");
	fmt(cmd, sizeof(cmd), "'%s' list --state-dir '%s/none' 2>/dev/null", c.ctl_bin, c.dir);
	ASSERT_EQ(system(cmd), 1 << 8, "list of a missing state directory fails with status 1");
out:
	json_object_put(list);
	json_object_put(j);
}

/*
 * `make check` from a clone under a 0700 directory (every Debian home):
 * a copy of this suite and what it runs, in such a tree, still runs its
 * programs as nobody — the harness copies them where nobody can reach.
 */
TEST(run_as_nobody_from_a_tree_under_a_0700_directory)
{
	char top[PATH_MAX + 16], cmd[8 * PATH_MAX], self[PATH_MAX], *log = NULL;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	int st;

	if (!ASSERT_GE(n, 1, "this suite's path"))
		return;
	self[n] = '\0';
	if (getuid() != 0) {
		test_skip("needs root, to run programs as another user");
		return;
	}
	fmt(top, sizeof(top), "%s/home", test_tmpdir());
	if (!ASSERT_OK(mkdir(top, 0700), "a 0700 directory"))
		return;
	/* The build tree's layout: build/tests/SUITE, build/faultguardctl, build/tests/helpers. */
	fmt(cmd, sizeof(cmd),
	    "mkdir -p '%1$s/build/tests/helpers' && cp '%4$s' '%1$s/build/tests/test_ctl_run' && "
	    "cp '%2$s/faultguardctl' '%1$s/build/' && "
	    "cp '%2$s/tests/helpers/app_crash' '%1$s/build/tests/helpers/' && cd / && "
	    "TEST_FILTER=run_default_state_dir_home env -u FG_BUILD_DIR "
	    "'%1$s/build/tests/test_ctl_run' > '%3$s/inner.log' 2>&1",
	    top, test_build_dir(), test_tmpdir(), self);
	st = system(cmd);
	fmt(cmd, sizeof(cmd), "%s/inner.log", test_tmpdir());
	log = slurp(cmd, NULL);
	if (!ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the suite passed from there"))
		fprintf(stderr, "  its output:\n%s\n", log ? log : "(none)");
	ASSERT_TRUE(log && strstr(log, "test_ctl_run: 1 passed, 0 failed"), "its one test ran");
	ASSERT_TRUE(log && strstr(log, "other users cannot reach"), "and it said what it did");
	free(log);
}
