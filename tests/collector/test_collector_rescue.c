// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The rescue command, against a real faultguardd (SPEC §4-5): what its
 * record says when it fails, runs too long (the whole session is killed),
 * cannot be started or is not there at all; how much of its output is
 * kept; and that it starts from a clean environment whatever the
 * collector's own environment holds.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crash_id.h"
#include "crash_check.h"
#include "framework/test.h"

static const struct fx_crash segv = {
	.cause = "segfault", .signal = SIGSEGV, .si_code = SEGV_MAPERR, .fault_addr = "0x0",
};

/* An app with @rescue_argv segfaults; its crash is checked with @status. */
static bool crash_with(struct fx *fx, struct fx_app *a, const char *const *rescue_argv,
		       struct fx_rescue *r, const char *status, char *id)
{
	struct fx_crash x = segv;

	x.rescue_status = status;
	if (!fx_app_start(fx, a, &(struct fx_app_spec){ .mode = "segv", .rescue_argv = rescue_argv }) ||
	    !fx_app_wait(a, FX_WAIT_MS))
		return false;
	if (!ASSERT_TRUE(WIFSIGNALED(a->status) && WTERMSIG(a->status) == SIGSEGV, "app segfaulted"))
		return false;
	return fx_check_crash(fx, a, &x, r, id);
}

static json_object *rescue_record(struct fx *fx, const char *id)
{
	return fx_wait_id(fx, "rescue", id, FX_WAIT_MS);
}

TEST(rescue_exit1_is_failed_with_its_output)
{
	char id[CRASH_ID_LEN];
	json_object *rec = NULL;
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	fx_rescue_init(&fx, &r, "failed", "--say", "rescued to stdout\n", "--err",
		       "and to stderr\n", "--exit", "1", NULL);
	if (!crash_with(&fx, &a, r.argv, &r, "failed", id))
		goto out;
	rec = rescue_record(&fx, id);
	if (!rec || !CHECK_INT(rec, "exit_code", 1) || !CHECK_NULL(rec, "signal") ||
	    !CHECK_STR(rec, "output", "rescued to stdout\nand to stderr\n"))
		goto out;
	fx_stop(&fx);
out:
	json_object_put(rec);
	fx_cleanup(&fx);
}

/* "output" keeps the first 4 KiB of stdout and stderr together, in order. */
TEST(rescue_output_keeps_the_first_4k)
{
	static char say[3000 + 1], err[3000 + 1], want[4096 + 1];
	char id[CRASH_ID_LEN];
	json_object *rec = NULL;
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	memset(say, 'o', sizeof(say) - 1);
	memset(err, 'e', sizeof(err) - 1);
	memcpy(want, say, 3000);
	memcpy(want + 3000, err, 4096 - 3000);
	if (!fx_begin(&fx, 0, NULL))
		goto out;
	fx_rescue_init(&fx, &r, "output", "--say", say, "--err", err, NULL);
	if (!crash_with(&fx, &a, r.argv, &r, "ok", id))
		goto out;
	rec = rescue_record(&fx, id);
	if (!rec || !ASSERT_EQ(strlen(jstr(rec, "output") ?: ""), 4096, "output length") ||
	    !CHECK_STR(rec, "output", want))
		goto out;
	fx_stop(&fx);
out:
	json_object_put(rec);
	fx_cleanup(&fx);
}

static bool gone(pid_t pid)
{
	char state = fx_proc_state(pid);

	/* Dead but not yet reaped by whoever adopted it counts as gone. */
	return !state || state == 'Z' || state == 'X';
}

/*
 * --rescue-timeout 1: the command (and a grandchild it left in its
 * session) is SIGKILLed, and the record says timeout.
 */
TEST(rescue_timeout_kills_its_session)
{
	long long deadline, sleeper = 0, pid = 0;
	double ms;
	json_object *rec = NULL, *rep = NULL;
	char id[CRASH_ID_LEN];
	bool ended = false;
	struct fx_rescue r = { 0 };
	struct fx_app a;
	struct fx fx;

	if (!fx_begin(&fx, 1, NULL))
		goto out;
	fx_rescue_init(&fx, &r, "timeout", "--sleeper", "--sleep", NULL);
	if (!crash_with(&fx, &a, r.argv, &r, "timeout", id))
		goto out;
	ended = true;
	rec = rescue_record(&fx, id);
	if (!rec || !CHECK_NULL(rec, "exit_code") || !CHECK_INT(rec, "signal", SIGKILL) ||
	    !ASSERT_TRUE(jms(rec, "ms", &ms), "ms"))
		goto out;
	/* Not a timing check: the limit may not cut a command short before it is up. */
	if (!ASSERT_GE(ms, 1000, "the command ran at least its time limit"))
		goto out;
	rep = fx_rescue_report(&r, FX_WAIT_MS);
	if (!rep || !ASSERT_TRUE(jint(rep, "sleeper", &sleeper) && sleeper > 0, "a sleeper pid"))
		goto out;
	deadline = fx_now_ms() + FX_WAIT_MS;
	while (!gone((pid_t)sleeper) && fx_now_ms() < deadline)
		fx_nap(10);
	if (!ASSERT_TRUE(gone((pid_t)sleeper), "the command's grandchild was killed with it")) {
		kill((pid_t)sleeper, SIGKILL);
		goto out;
	}
	fx_stop(&fx);
out:
	/* A command the collector did not end must not outlive the test. */
	if (!ended && r.report[0] && (rep || (rep = json_object_from_file(r.report))) &&
	    jint(rep, "pid", &pid) && pid > 0)
		kill(-(pid_t)pid, SIGKILL);
	json_object_put(rec);
	json_object_put(rep);
	fx_cleanup(&fx);
}

TEST(rescue_binary_missing_is_spawn_error)
{
	static const char *const argv[] = { "/nonexistent/faultguard-rescue", "--flag", NULL };
	char id[CRASH_ID_LEN];
	json_object *rec = NULL;
	struct fx_app a;
	struct fx fx;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	if (!crash_with(&fx, &a, argv, NULL, "spawn_error", id))
		goto out;
	rec = rescue_record(&fx, id);
	if (!rec || !CHECK_NULL(rec, "exit_code") || !CHECK_NULL(rec, "signal"))
		goto out;
	fx_stop(&fx);
out:
	json_object_put(rec);
	fx_cleanup(&fx);
}

/* No rescue command: the snapshot is still written, the rescue record says none. */
TEST(no_rescue_command_is_status_none)
{
	char id[CRASH_ID_LEN];
	json_object *rec = NULL;
	struct fx_app a;
	struct fx fx;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	if (!crash_with(&fx, &a, NULL, NULL, "none", id))
		goto out;
	rec = rescue_record(&fx, id);
	if (!rec || !CHECK_NULL(rec, "argv") || !CHECK_NULL(rec, "exit_code"))
		goto out;
	fx_stop(&fx);
out:
	json_object_put(rec);
	fx_cleanup(&fx);
}

/*
 * A collector started with an environment full of look-alikes: none of it
 * reaches the rescue, whose FAULTGUARD_* variables are its own (checked in
 * fx_check_report: exact values, no variable set twice, no stranger).
 */
TEST(rescue_environment_is_clean)
{
	static const char *const env[] = {
		"FAULTGUARD_APP=from-the-collector", "FAULTGUARD_CAUSE=from-the-collector",
		"FAULTGUARD_SNAPSHOT=/from/the/collector", "FAULTGUARD_FD=99",
		"HOME=/from/the/collector", "PATH=/from/the/collector", "TZ=Antarctica/Troll",
		"LD_PRELOAD=", NULL,
	};
	json_object *rep = NULL;
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (!fx_begin(&fx, 0, env))
		goto out;
	fx_rescue_init(&fx, &r, "env", NULL);
	if (!crash_with(&fx, &a, r.argv, &r, "ok", NULL))
		goto out;
	rep = fx_rescue_report(&r, FX_WAIT_MS);
	if (!rep)
		goto out;
	{
		json_object *e = NULL;

		json_object_object_get_ex(rep, "env", &e);
		if (!ASSERT_FALSE(jstr(e, "HOME") && !strcmp(jstr(e, "HOME"), "/from/the/collector"),
				  "HOME is the user's, not the collector's") ||
		    !ASSERT_FALSE(jstr(e, "PATH") && !strcmp(jstr(e, "PATH"), "/from/the/collector"),
				  "PATH is a clean one"))
			goto out;
	}
	fx_stop(&fx);
out:
	json_object_put(rep);
	fx_cleanup(&fx);
}

/* Lets rescues blocked on @path go (also when a test fails: none may be left waiting). */
static bool release_rescues(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);

	if (fd >= 0)
		close(fd);
	return ASSERT_GE(fd, 0, "release the rescues");
}

static int count_reports(struct fx *fx)
{
	DIR *d = opendir(fx->out);
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (len > 5 && !strcmp(de->d_name + len - 5, ".json"))
			n++;
	}
	if (d)
		closedir(d);
	return n;
}

/*
 * rescue_concurrency = 2 and six crashes at once: two rescues run (and
 * block until released), four wait their turn; once released, all six
 * finish, each with its own crash's data and environment.
 */
TEST(queued_rescues_wait_their_turn)
{
	struct fx_rescue r[6];
	struct fx_app a[6];
	char tag[6][16], release[PATH_MAX] = "";
	long long deadline;
	struct fx fx;
	int i;

	memset(&fx, 0, sizeof(fx));
	if (!fx_can_run() || !fx_init(&fx))
		goto out;
	fx.config = "rescue_concurrency = 2\n";
	if (!fx_start(&fx) || !fx_path(release, sizeof(release), "%s/release", fx.dir))
		goto out;
	for (i = 0; i < 6; i++) {
		/* Apps of their own: the per-app rescue rate limit is not what is tested here. */
		snprintf(tag[i], sizeof(tag[i]), "queued-%d", i);
		fx_rescue_init(&fx, &r[i], tag[i], "--wait-file", release, NULL);
		if (!fx_app_start(&fx, &a[i],
				  &(struct fx_app_spec){ .app = tag[i], .mode = "stdin",
							 .rescue_argv = r[i].argv }))
			goto out;
	}
	for (i = 0; i < 6; i++)
		if (!fx_app_send(&a[i], "segv"))
			goto out;
	/* Every crash has reached rescue_start once its snapshot record is written. */
	for (i = 0; i < 6; i++) {
		json_object *snap = fx_wait(&fx, "snapshot", a[i].pid, 0, FX_WAIT_MS);

		json_object_put(snap);
		if (!snap)
			goto out;
	}
	deadline = fx_now_ms() + FX_WAIT_MS;
	while (count_reports(&fx) < 2 && fx_now_ms() < deadline)
		fx_nap(10);
	/* None can finish before the release: more than two started means no limit. */
	if (!ASSERT_EQ(count_reports(&fx), 2, "two rescues run, the rest wait") ||
	    !ASSERT_EQ(fx_count(&fx, "rescue", -1), 0, "no rescue finished before the release"))
		goto out;
	if (!release_rescues(release))
		goto out;
	for (i = 0; i < 6; i++)
		if (!fx_app_wait(&a[i], FX_WAIT_MS) || !fx_check_crash(&fx, &a[i], &segv, &r[i], NULL))
			goto out;
	fx_stop(&fx);
out:
	if (release[0])
		release_rescues(release);
	fx_cleanup(&fx);
}

/* A bare command name is found on the rescue's clean PATH; its output is kept. */
TEST(rescue_command_found_on_path)
{
	static const char *const argv[] = { "env", NULL };
	char id[CRASH_ID_LEN], want[128];
	json_object *rec = NULL;
	const char *out;
	struct fx_app a;
	struct fx fx;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	if (!crash_with(&fx, &a, argv, NULL, "ok", id))
		goto out;
	rec = rescue_record(&fx, id);
	out = jstr(rec, "output");
	snprintf(want, sizeof(want), "FAULTGUARD_ID=%s\n", id);
	if (!ASSERT_NOT_NULL(out, "output") ||
	    !ASSERT_TRUE(strstr(out, want) != NULL, "env printed the crash id") ||
	    !ASSERT_TRUE(strstr(out, "FAULTGUARD_CAUSE=segfault\n") != NULL, "env printed the cause") ||
	    !ASSERT_TRUE(strstr(out, FX_CANARY_NAME) == NULL, "no collector variable"))
		goto out;
	fx_stop(&fx);
out:
	json_object_put(rec);
	fx_cleanup(&fx);
}

/*
 * SIGTERM while a rescue runs: the socket goes at once, the collector waits
 * for the command, records it, then writes "stop" and exits 0.
 */
TEST(sigterm_waits_for_a_running_rescue)
{
	char release[PATH_MAX] = "", id[CRASH_ID_LEN];
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	if (!fx_begin(&fx, 0, NULL) || !fx_path(release, sizeof(release), "%s/release", fx.dir))
		goto out;
	fx_rescue_init(&fx, &r, "shutdown", "--wait-file", release, NULL);
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .mode = "segv", .rescue_argv = r.argv }) ||
	    !fx_app_wait(&a, FX_WAIT_MS))
		goto out;
	/* The report is written before the command waits: it is running now. */
	json_object_put(fx_rescue_report(&r, FX_WAIT_MS));
	if (!ASSERT_EQ(fx_count(&fx, "rescue", a.pid), 0, "the rescue is still running"))
		goto out;
	fx_signal(&fx, SIGTERM);
	if (!ASSERT_TRUE(fx_wait_file(fx.sock, false, FX_WAIT_MS),
			 "the socket is gone once SIGTERM arrived") ||
	    !ASSERT_EQ(waitpid(fx.pid, NULL, WNOHANG), 0, "the collector waits for the rescue"))
		goto out;
	if (!release_rescues(release))
		goto out;
	/* fx_stop: exit 0, and "stop" is the last record — after the rescue's. */
	if (!fx_stop(&fx))
		goto out;
	fx_check_crash(&fx, &a, &segv, &r, id);
out:
	if (release[0])
		release_rescues(release);
	fx_cleanup(&fx);
}

/*
 * Strings from apps reach the audit log escaped, one record per line: a
 * rescue argv with newlines, quotes, backslashes, tabs, control and
 * non-ASCII characters comes back exactly; output that is not UTF-8 is
 * made valid rather than breaking the line.
 */
TEST(app_strings_are_escaped_in_the_audit_log)
{
	static const char tricky[] = "line one\nline \"two\" back\\slash\ttab \x01 h\xc3\xa9llo \xe2\x9c\x93\n";
	static const char *const binary_argv[] = { "/bin/sh", "-c", "printf 'a\\377\\376b'", NULL };
	char id[2][CRASH_ID_LEN];
	json_object *rec = NULL;
	struct fx_rescue r;
	struct fx_app a, b;
	const char *out;
	struct fx fx;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	fx_rescue_init(&fx, &r, "tricky", "--say", tricky, NULL);
	/* fx_check_crash compares argv in the register and rescue records byte for byte. */
	if (!crash_with(&fx, &a, r.argv, &r, "ok", id[0]))
		goto out;
	rec = rescue_record(&fx, id[0]);
	if (!rec || !CHECK_STR(rec, "output", tricky))
		goto out;
	json_object_put(rec);
	rec = NULL;
	if (!crash_with(&fx, &b, binary_argv, NULL, "ok", id[1]))
		goto out;
	rec = rescue_record(&fx, id[1]);
	out = jstr(rec, "output");
	if (!ASSERT_NOT_NULL(out, "output is a string") ||
	    !ASSERT_TRUE(out[0] == 'a' && out[strlen(out) - 1] == 'b', "the valid bytes are kept"))
		goto out;
	/* fx_stop checks every line of the log is one JSON object. */
	fx_stop(&fx);
out:
	json_object_put(rec);
	fx_cleanup(&fx);
}

/*
 * faultguardd started in a directory with `--socket fg.sock --state-dir
 * state`: every path is made absolute at start, so the rescue (which runs
 * in its user's home) is given a FAULTGUARD_SNAPSHOT it can open, and the
 * start record names where everything really is.
 */
TEST(relative_paths_are_made_absolute_at_start)
{
	json_object *start = NULL;
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;

	memset(&fx, 0, sizeof(fx));
	if (!fx_can_run() || !fx_init(&fx))
		goto out;
	fx.relative_paths = true;
	if (!fx_start(&fx))
		goto out;
	start = fx_wait(&fx, "start", -1, 0, FX_WAIT_MS);
	if (!start || !CHECK_STR(start, "socket", fx.sock) || !CHECK_STR(start, "state_dir", fx.state))
		goto out;
	fx_rescue_init(&fx, &r, "relative", NULL);
	/* The report checks FAULTGUARD_SNAPSHOT against the file under fx.state, and reads it. */
	if (!crash_with(&fx, &a, r.argv, &r, "ok", NULL))
		goto out;
	fx_stop(&fx);
out:
	json_object_put(start);
	fx_cleanup(&fx);
}

/*
 * A rescue argv that is faultguardctl itself, no shell: `dump --json` finds
 * $FAULTGUARD_SNAPSHOT. (The record keeps the first 4 KiB of the output:
 * the JSON's beginning names this crash's app and pid.)
 */
TEST(rescue_argv_faultguardctl_dump_without_a_shell)
{
	char ctl[PATH_MAX + 16], id[CRASH_ID_LEN], want[128];
	const char *argv[] = { ctl, "dump", "--json", NULL };
	json_object *rec = NULL;
	struct fx_app a;
	struct fx fx;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	snprintf(ctl, sizeof(ctl), "%s/faultguardctl", fx.build);
	if (!crash_with(&fx, &a, argv, NULL, "ok", id))
		goto out;
	rec = rescue_record(&fx, id);
	snprintf(want, sizeof(want), "{\"app\":\"%s\",\"pid\":%d,", a.app, (int)a.pid);
	if (!ASSERT_NOT_NULL(jstr(rec, "output"), "output") ||
	    !ASSERT_TRUE(!strncmp(jstr(rec, "output"), want, strlen(want)),
			 "the rescue printed this crash's snapshot as JSON"))
		goto out;
	fx_stop(&fx);
out:
	json_object_put(rec);
	fx_cleanup(&fx);
}

/* The source tree's @rel: the working directory (make check), else the build dir's parent. */
static char *read_source(const char *rel)
{
	char path[PATH_MAX + 64], dir[PATH_MAX], *slash;

	if (access(rel, R_OK) == 0)
		return fx_read_file(rel, NULL);
	snprintf(dir, sizeof(dir), "%s", test_build_dir());
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	snprintf(path, sizeof(path), "%.3000s/%s", dir, rel);
	return fx_read_file(path, NULL);
}

/* The text after @mark in @text up to the end of its line, trailing " ;,." cut, "\-" as "-". */
static bool man_value(const char *text, const char *mark, char *buf, size_t len)
{
	const char *p = text ? strstr(text, mark) : NULL;
	size_t n = 0;

	if (!p)
		return false;
	for (p += strlen(mark); *p && *p != '\n' && n + 1 < len; p++)
		if (!(p[0] == '\\' && p[1] == '-'))
			buf[n++] = *p;
	while (n && strchr(" ;,.", buf[n - 1]))
		n--;
	buf[n] = '\0';
	return n > 0;
}

/*
 * faultguardd(8) says which PATH, LANG, HOME and working directory a rescue
 * gets: the rescue of root's app and of nobody's (whose home, /nonexistent,
 * cannot be entered) see exactly that.
 */
TEST(rescue_environment_is_what_faultguardd_8_says)
{
	char *man = read_source("man/faultguardd.8"), path[256], lang[64], tag[16];
	struct passwd *pw = getpwnam("nobody");
	json_object *rep = NULL, *env;
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;
	int i;

	memset(&fx, 0, sizeof(fx));
	if (!ASSERT_NOT_NULL(man, "read man/faultguardd.8") ||
	    !ASSERT_TRUE(man_value(strstr(man, ".SH RESCUE ENVIRONMENT"), ".B PATH\n.IR ", path,
				   sizeof(path)),
			 "faultguardd(8) gives the rescue's PATH") ||
	    !ASSERT_TRUE(man_value(strstr(man, ".SH RESCUE ENVIRONMENT"), ".B LANG\n.BR ", lang,
				   sizeof(lang)),
			 "faultguardd(8) gives the rescue's LANG"))
		goto out;
	if (!fx_begin(&fx, 0, NULL))
		goto out;
	for (i = 0; i < 2; i++) {
		uid_t uid = i ? (pw ? pw->pw_uid : FX_NOBODY) : 0;
		struct passwd *who = getpwuid(uid);
		const char *home = who ? who->pw_dir : "/";
		bool enterable = access(home, X_OK) == 0;

		snprintf(tag, sizeof(tag), "env-%d", i);
		fx_rescue_init(&fx, &r, tag, NULL);
		if (!fx_app_start(&fx, &a,
				  &(struct fx_app_spec){ .app = tag, .mode = "segv", .uid = uid,
							 .gid = i ? (pw ? pw->pw_gid : FX_NOBODY) : 0,
							 .rescue_argv = r.argv }) ||
		    !fx_app_wait(&a, FX_WAIT_MS))
			goto out;
		json_object_put(rep);
		rep = fx_rescue_report(&r, FX_WAIT_MS);
		if (!rep || !json_object_object_get_ex(rep, "env", &env))
			goto out;
		CHECK_STR(env, "PATH", path);
		CHECK_STR(env, "LANG", lang);
		CHECK_STR(env, "HOME", home);
		if (who) {
			CHECK_STR(env, "USER", who->pw_name);
			CHECK_STR(env, "LOGNAME", who->pw_name);
			CHECK_STR(env, "SHELL", who->pw_shell);
		}
		/* The home when it can be entered (root's), "/" when not (nobody's /nonexistent). */
		CHECK_STR(rep, "cwd", enterable ? home : "/");
	}
	fx_stop(&fx);
out:
	free(man);
	json_object_put(rep);
	fx_cleanup(&fx);
}
