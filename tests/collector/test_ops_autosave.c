// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Autosave: with autosave_interval set, each live dictionary is copied to
 * STATE/autosave/<uid>/<app>/<pid>.fgsnap (the user's, 0600) beside a
 * sidecar with its rescue command; the copy goes when the registration
 * ends in order or by a crash (the snapshot supersedes it), survives a
 * collector killed with SIGKILL, and `faultguardctl recover` lists it once
 * the process is gone and with --run rescues it as the app's user.
 */
#include "faultguard.h"
#include "ops_harness.h"

#define NOBODY 65534

static void autosave_paths(const struct ops_env *e, uid_t uid, const char *app, pid_t pid,
			   char *snap, char *side, size_t len)
{
	snprintf(snap, len, "%.3000s/autosave/%u/%s/%d.fgsnap", e->state, (unsigned int)uid, app,
		 (int)pid);
	snprintf(side, len, "%.3000s/autosave/%u/%s/%d.json", e->state, (unsigned int)uid, app,
		 (int)pid);
}

static bool owned_private(const char *path, uid_t uid)
{
	struct stat st;

	if (!ASSERT_OK(stat(path, &st), path))
		return false;
	return ASSERT_EQ(st.st_uid, uid, "owned by the app's user") &&
	       ASSERT_EQ(st.st_mode & 07777, 0600, "mode 0600");
}

static bool snapshot_has(const char *path, const char *key, const char *want)
{
	struct fg_snapshot *s = fg_snapshot_open(path);
	const void *val = NULL;
	size_t len = 0;
	bool ok;

	if (!ASSERT_NOT_NULL(s, "open the autosave"))
		return false;
	ok = ASSERT_OK(fg_snapshot_get(s, key, &val, &len), key) &&
	     ASSERT_EQ(len, strlen(want), "value length") && ASSERT_MEMEQ(val, want, len, key);
	fg_snapshot_close(s);
	return ok;
}

TEST(checkpoint_appears_as_the_users_and_goes_with_an_orderly_end)
{
	const char *const rescue[] = { "/bin/echo", "rescue", "me", NULL };
	char snap[PATH_MAX], side[PATH_MAX], pid_str[16], *text;
	json_object *o, *argv;
	struct ops_app app;
	struct ops_env e;
	pid_t pid;

	if (!ops_need_root())
		return;
	ops_env_init(&e);
	ASSERT_OK(ops_write_file(e.conf, "autosave_interval = 1s\n"), "write the config");
	if (!ops_start(&e))
		return;
	if (!ops_app_start(&e, &app, NOBODY, "saver", "stdin", rescue))
		goto out;
	pid = app.pid;
	autosave_paths(&e, NOBODY, "saver", pid, snap, side, sizeof(snap));
	if (!ASSERT_TRUE(ops_wait_file(snap, 1), "the autosave appears"))
		goto out_app;
	owned_private(snap, NOBODY);
	owned_private(side, NOBODY);
	snprintf(pid_str, sizeof(pid_str), "%d", (int)pid);
	snapshot_has(snap, "pid", pid_str);
	snapshot_has(snap, "note", "saved by ops_app");
	text = ops_read_file(side);
	o = text ? json_tokener_parse(text) : NULL;
	free(text);
	if (ASSERT_NOT_NULL(o, "the sidecar is JSON")) {
		ASSERT_STREQ(ops_str(o, "app"), "saver", "sidecar app");
		ASSERT_EQ(ops_int(o, "pid"), pid, "sidecar pid");
		ASSERT_EQ(ops_int(o, "uid"), NOBODY, "sidecar uid");
		ASSERT_TRUE(json_object_object_get_ex(o, "rescue_argv", &argv) &&
				    json_object_array_length(argv) == 3 &&
				    !strcmp(json_object_get_string(json_object_array_get_idx(argv, 2)),
					    "me"),
			    "sidecar rescue argv");
	}
	json_object_put(o);
	ops_app_tell(&app, "exit0");
	ops_app_wait(&app);
	json_object_put(ops_wait_pid(&e, "unregister", pid));
	ASSERT_TRUE(ops_wait_file(snap, 0), "the autosave goes with an orderly end");
	ASSERT_TRUE(ops_wait_file(side, 0), "so does its sidecar");
	goto out;
out_app:
	ops_app_tell(&app, "exit0");
	ops_app_wait(&app);
out:
	ops_stop(&e);
}

TEST(a_crash_snapshot_supersedes_the_autosave)
{
	char snap[PATH_MAX], side[PATH_MAX];
	json_object *rec;
	struct ops_app app;
	struct ops_env e;
	pid_t pid;

	if (!ops_need_root())
		return;
	ops_env_init(&e);
	ASSERT_OK(ops_write_file(e.conf, "autosave_interval = 1s\n"), "write the config");
	if (!ops_start(&e))
		return;
	if (!ops_app_start(&e, &app, 0, "crasher", "stdin", NULL))
		goto out;
	pid = app.pid;
	autosave_paths(&e, 0, "crasher", pid, snap, side, sizeof(snap));
	ASSERT_TRUE(ops_wait_file(snap, 1), "the autosave appears");
	ops_app_tell(&app, "abort");
	ops_app_wait(&app);
	rec = ops_wait_pid(&e, "snapshot", pid);
	if (ASSERT_NOT_NULL(rec, "the crash snapshot"))
		ASSERT_OK(access(ops_str(rec, "path"), F_OK), "the crash snapshot exists");
	json_object_put(rec);
	ASSERT_TRUE(ops_wait_file(snap, 0), "the autosave is gone");
	ASSERT_TRUE(ops_wait_file(side, 0), "so is its sidecar");
out:
	ops_stop(&e);
}

TEST(autosave_survives_a_collector_kill_and_recover_rescues_it)
{
	char ctl[PATH_MAX + 32], script[2 * PATH_MAX], snap[PATH_MAX], side[PATH_MAX];
	const char *const rescue[] = { "/bin/sh", "-c", script, NULL };
	const char *list_args[] = { "recover", "--state-dir", NULL, "--json", NULL };
	const char *run_args[] = { "recover", "--state-dir", NULL, "--run", NULL };
	char out[16384], want[64];
	json_object *arr;
	struct ops_app app;
	struct ops_env e;
	pid_t pid;
	int st;

	if (!ops_need_root())
		return;
	ops_env_init(&e);
	list_args[2] = run_args[2] = e.state;
	snprintf(ctl, sizeof(ctl), "%s/faultguardctl", e.build);
	snprintf(script, sizeof(script),
		 "echo \"uid=$(id -u) app=$FAULTGUARD_APP pid=$FAULTGUARD_PID\"; "
		 "%s get \"$FAULTGUARD_SNAPSHOT\" note; echo",
		 ctl);
	ASSERT_OK(ops_write_file(e.conf, "autosave_interval = 1s\n"), "write the config");
	if (!ops_start(&e))
		return;
	if (!ops_app_start(&e, &app, NOBODY, "survivor", "stdin", rescue))
		goto out;
	pid = app.pid;
	autosave_paths(&e, NOBODY, "survivor", pid, snap, side, sizeof(snap));
	if (!ASSERT_TRUE(ops_wait_file(snap, 1), "the autosave appears"))
		goto out_app;
	/* The collector dies without a word; the app lives on. */
	ops_signal(&e, SIGKILL);
	ASSERT_OK(access(snap, F_OK), "the autosave survives the collector");
	st = ops_run_built(&e, "faultguardctl", list_args, out, sizeof(out));
	ASSERT_EQ(st, 0, "recover --json");
	ASSERT_TRUE(strstr(out, "[]") != NULL, "nothing to recover while the process lives");
	/* Now the process goes too, unseen. */
	if (!ASSERT_OK(kill(pid, SIGKILL), "kill the app"))
		goto out;
	ops_app_wait(&app);
	st = ops_run_built(&e, "faultguardctl", list_args, out, sizeof(out));
	ASSERT_EQ(st, 0, "recover --json");
	arr = json_tokener_parse(out);
	if (ASSERT_NOT_NULL(arr, "recover --json prints JSON") &&
	    ASSERT_EQ(json_object_array_length(arr), 1, "one autosave to recover")) {
		json_object *o = json_object_array_get_idx(arr, 0);

		ASSERT_STREQ(ops_str(o, "app"), "survivor", "app");
		ASSERT_EQ(ops_int(o, "pid"), pid, "pid");
		ASSERT_EQ(ops_int(o, "uid"), NOBODY, "uid");
		ASSERT_STREQ(ops_str(o, "path"), snap, "path");
	}
	json_object_put(arr);
	st = ops_run_built(&e, "faultguardctl", run_args, out, sizeof(out));
	ASSERT_EQ(st, 0, "recover --run");
	snprintf(want, sizeof(want), "uid=%d app=survivor pid=%d", NOBODY, (int)pid);
	if (!ASSERT_TRUE(strstr(out, want) != NULL, "the rescue ran as the app's user"))
		fprintf(stderr, "  output:\n%s\n", out);
	ASSERT_TRUE(strstr(out, "saved by ops_app") != NULL, "the rescue read the autosave");
	ASSERT_NEQ(access(snap, F_OK), 0, "a rescued autosave is deleted");
	ASSERT_NEQ(access(side, F_OK), 0, "with its sidecar");
	goto out;
out_app:
	if (kill(app.pid, SIGKILL) == 0)
		ops_app_wait(&app);
out:
	ops_stop(&e);
}

TEST(a_failed_recover_keeps_the_autosave)
{
	const char *const rescue[] = { "/bin/false", NULL };
	const char *run_args[] = { "recover", "--state-dir", NULL, "--run", NULL };
	char snap[PATH_MAX], side[PATH_MAX], out[4096];
	struct ops_app app;
	struct ops_env e;
	pid_t pid;
	int st;

	if (!ops_need_root())
		return;
	ops_env_init(&e);
	run_args[2] = e.state;
	ASSERT_OK(ops_write_file(e.conf, "autosave_interval = 1s\n"), "write the config");
	if (!ops_start(&e))
		return;
	if (!ops_app_start(&e, &app, 0, "unlucky", "stdin", rescue))
		goto out;
	pid = app.pid;
	autosave_paths(&e, 0, "unlucky", pid, snap, side, sizeof(snap));
	ASSERT_TRUE(ops_wait_file(snap, 1), "the autosave appears");
	ops_signal(&e, SIGKILL);
	if (!ASSERT_OK(kill(pid, SIGKILL), "kill the app"))
		goto out;
	ops_app_wait(&app);
	st = ops_run_built(&e, "faultguardctl", run_args, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1, "recover --run exits 1");
	ASSERT_TRUE(strstr(out, "the autosave stays") != NULL, "and says why");
	ASSERT_OK(access(snap, F_OK), "the autosave stays for another try");
out:
	ops_stop(&e);
}
