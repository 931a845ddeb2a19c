// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * `faultguardctl run` gives its crash records a backtrace without root or
 * BPF (issue 11, SPEC §8.3): a real faultguardctl guarding the backtrace
 * test app (tests/helpers/bt_app, built without frame pointers), which
 * crashes three calls deep, in a second thread, and is killed from outside.
 * Run as root and, when root, as nobody too: tracing one's own child needs
 * no privilege.
 */
#include <json-c/json.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "framework/test.h"

#define NOBODY 65534

static const char *jstr(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_string(v) : NULL;
}

static long long jint(json_object *o, const char *key)
{
	json_object *v;

	return o && json_object_object_get_ex(o, key, &v) && v ? json_object_get_int64(v) : -1;
}

/*
 * Runs faultguardctl run -- bt_app bt MODE as @uid (or, @mode being a path,
 * that program alone); the crash record it wrote (or NULL).
 */
static json_object *run_crash(const char *mode, uid_t uid, pid_t *app_pid, int kill_it)
{
	const char *program = strchr(mode, '/') ? mode : NULL;
	char state[PATH_MAX], ctl[PATH_MAX], app[PATH_MAX], log[PATH_MAX + 16], line[8192];
	json_object *crash = NULL;
	int out[2], status;
	pid_t pid;
	FILE *f;

	snprintf(state, sizeof(state), "%s/state-%s-%u", test_tmpdir(), program ? "program" : mode,
		 (unsigned)uid);
	snprintf(ctl, sizeof(ctl), "%s/faultguardctl", test_build_dir());
	snprintf(app, sizeof(app), "%s/tests/helpers/bt_app", test_build_dir());
	mkdir(state, 0777);
	chmod(state, 0777);
	chmod(test_tmpdir(), 0755);
	if (!ASSERT_OK(pipe(out), "pipe"))
		return NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(out[1], 1);
		close(out[0]);
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(126);
		if (program)
			execl(ctl, "faultguardctl", "run", "--state-dir", state, "--", program,
			      (char *)NULL);
		else
			execl(ctl, "faultguardctl", "run", "--state-dir", state, "--", app, "bt", mode,
			      (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	*app_pid = 0;
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "ready %d", app_pid) == 1 && kill_it) {
			kill(*app_pid, SIGKILL);
			break;
		}
	if (f)
		fclose(f);
	waitpid(pid, &status, 0);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) >= 128, "PROGRAM died of a signal");
	snprintf(log, sizeof(log), "%s/audit.jsonl", state);
	f = fopen(log, "r");
	while (f && fgets(line, sizeof(line), f)) {
		json_object *rec = json_tokener_parse(line);

		if (jstr(rec, "event") && !strcmp(jstr(rec, "event"), "crash")) {
			json_object_put(crash);
			crash = rec;
		} else {
			json_object_put(rec);
		}
	}
	if (f)
		fclose(f);
	ASSERT_NOT_NULL(crash, "a crash record in the run's audit log");
	return crash;
}

static const char *fn(json_object *crash, size_t i)
{
	json_object *bt, *f;

	if (!json_object_object_get_ex(crash, "backtrace", &bt) || !bt ||
	    i >= json_object_array_length(bt))
		return NULL;
	f = json_object_array_get_idx(bt, i);
	return jstr(f, "function");
}

/*
 * In the sanitizer pass bt_app carries LeakSanitizer, whose exit check
 * cannot run under a tracer: the guardian then runs it untraced (and says
 * so), which is what is checked there.
 */
static bool app_has_lsan(void)
{
	char cmd[PATH_MAX + 64];

	snprintf(cmd, sizeof(cmd), "readelf -d '%s/tests/helpers/bt_app' | grep -q libasan",
		 test_build_dir());
	return system(cmd) == 0;
}

static void three_deep(const char *mode, uid_t uid, const char *outer)
{
	json_object *c;
	pid_t pid;

	c = run_crash(mode, uid, &pid, 0);
	if (!c)
		return;
	if (app_has_lsan()) {
		ASSERT_TRUE(fn(c, 0) == NULL && jstr(c, "tid") == NULL,
			    "a LeakSanitizer program runs untraced: no backtrace");
		ASSERT_STREQ(jstr(c, "cause"), "segfault", "the crash itself is recorded");
		json_object_put(c);
		return;
	}
	ASSERT_STREQ(fn(c, 0), "bt_level3", "frame #0");
	ASSERT_STREQ(fn(c, 1), "bt_level2", "frame #1");
	ASSERT_STREQ(fn(c, 2), "bt_level1", "frame #2");
	ASSERT_STREQ(fn(c, 3), outer, "frame #3");
	if (!strcmp(mode, "segv"))
		ASSERT_EQ(jint(c, "tid"), pid, "tid is the main thread");
	else
		ASSERT_NEQ(jint(c, "tid"), pid, "tid is the second thread");
	ASSERT_TRUE(jstr(c, "signature") && strlen(jstr(c, "signature")) == 16, "a signature");
	ASSERT_TRUE(jstr(c, "exe") && strstr(jstr(c, "exe"), "bt_app"), "exe");
	ASSERT_TRUE(jstr(c, "build_id") != NULL, "build_id");
	json_object_put(c);
}

TEST(run_gives_a_backtrace)
{
	three_deep("segv", 0, "main");
}

TEST(run_gives_the_crashing_threads_backtrace)
{
	three_deep("thread", 0, "thread_main");
}

TEST(run_as_an_unprivileged_user_gives_a_backtrace)
{
	if (geteuid() != 0) {
		three_deep("segv", 0, "main");
		return;
	}
	three_deep("segv", NOBODY, "main");
}

TEST(run_gives_no_backtrace_for_a_kill_from_outside)
{
	json_object *c;
	pid_t pid;

	c = run_crash("wait", 0, &pid, 1);
	if (!c)
		return;
	ASSERT_STREQ(jstr(c, "cause"), "killed", "killed from outside");
	ASSERT_TRUE(json_object_object_get_ex(c, "backtrace", NULL), "the field is there");
	ASSERT_TRUE(fn(c, 0) == NULL && jstr(c, "signature") == NULL && jstr(c, "tid") == NULL,
		    "and null, as the signature and tid");
	json_object_put(c);
}

/*
 * A program that faults on its first instruction still has its backtrace:
 * the guardian seizes it before its exec, so it never runs untraced (seized
 * after the exec, such a program often crashed first on a busy machine).
 */
TEST(run_traces_a_program_from_its_first_instruction)
{
	char program[PATH_MAX];
	json_object *c;
	pid_t pid;
	int i;

	snprintf(program, sizeof(program), "%s/tests/helpers/crash_at_start", test_build_dir());
	for (i = 0; i < 20; i++) {
		c = run_crash(program, 0, &pid, 0);
		if (!c)
			return;
		if (!ASSERT_STREQ(fn(c, 0), "_start", "frame #0 is its first function") ||
		    !ASSERT_TRUE(jstr(c, "exe") && strstr(jstr(c, "exe"), "crash_at_start"), "exe")) {
			fprintf(stderr, "  run %d of 20\n", i + 1);
			json_object_put(c);
			return;
		}
		json_object_put(c);
	}
}
