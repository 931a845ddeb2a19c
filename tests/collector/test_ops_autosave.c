// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Autosave: with autosave_interval set, each live dictionary is copied to
 * STATE/autosave/<uid>/<app>/<pid>.fgsnap (the user's, 0600) beside a
 * sidecar with its rescue command; the copy goes when the registration
 * ends in order or by a crash (the snapshot supersedes it), survives a
 * collector killed with SIGKILL, and `faultguardctl recover` lists it once
 * the process is gone and with --run rescues it as the app's user.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultguard.h"
#include "framework/test.h"
#include "ops.h"

static void autosave_paths(const struct fx *e, uid_t uid, const char *app, pid_t pid,
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
	struct fx_app app;
	struct fx e;
	pid_t pid;

	if (!fx_can_run() || !fx_init(&e))
		return;
	e.config = "autosave_interval = 1s\n";
	if (!fx_start(&e))
		return;
	if (!ops_app_start(&e, &app, FX_NOBODY, "saver", "stdin", rescue))
		goto out;
	pid = app.pid;
	autosave_paths(&e, FX_NOBODY, "saver", pid, snap, side, sizeof(snap));
	if (!ASSERT_TRUE(fx_wait_file(snap, true, OPS_WAIT_MS), "the autosave appears"))
		goto out_app;
	owned_private(snap, FX_NOBODY);
	owned_private(side, FX_NOBODY);
	snprintf(pid_str, sizeof(pid_str), "%d", (int)pid);
	snapshot_has(snap, "pid", pid_str);
	snapshot_has(snap, "note", "saved by ops_app");
	text = fx_read_file(side, NULL);
	o = text ? json_tokener_parse(text) : NULL;
	free(text);
	if (ASSERT_NOT_NULL(o, "the sidecar is JSON")) {
		ASSERT_STREQ(jstr(o, "app"), "saver", "sidecar app");
		ASSERT_EQ(jint_or(o, "pid", -1), pid, "sidecar pid");
		ASSERT_EQ(jint_or(o, "uid", -1), FX_NOBODY, "sidecar uid");
		ASSERT_TRUE(json_object_object_get_ex(o, "rescue_argv", &argv) &&
				    json_object_array_length(argv) == 3 &&
				    !strcmp(json_object_get_string(json_object_array_get_idx(argv, 2)),
					    "me"),
			    "sidecar rescue argv");
	}
	json_object_put(o);
	fx_app_send(&app, "exit0");
	fx_app_wait(&app, OPS_WAIT_MS);
	json_object_put(fx_wait(&e, "unregister", pid, 0, OPS_WAIT_MS));
	ASSERT_TRUE(fx_wait_file(snap, false, OPS_WAIT_MS), "the autosave goes with an orderly end");
	ASSERT_TRUE(fx_wait_file(side, false, OPS_WAIT_MS), "so does its sidecar");
	goto out;
out_app:
	fx_app_send(&app, "exit0");
	fx_app_wait(&app, OPS_WAIT_MS);
out:
	ops_stop(&e);
}

TEST(a_crash_snapshot_supersedes_the_autosave)
{
	char snap[PATH_MAX], side[PATH_MAX];
	json_object *rec;
	struct fx_app app;
	struct fx e;
	pid_t pid;

	if (!fx_can_run() || !fx_init(&e))
		return;
	e.config = "autosave_interval = 1s\n";
	if (!fx_start(&e))
		return;
	if (!ops_app_start(&e, &app, 0, "crasher", "stdin", NULL))
		goto out;
	pid = app.pid;
	autosave_paths(&e, 0, "crasher", pid, snap, side, sizeof(snap));
	ASSERT_TRUE(fx_wait_file(snap, true, OPS_WAIT_MS), "the autosave appears");
	fx_app_send(&app, "abort");
	fx_app_wait(&app, OPS_WAIT_MS);
	rec = fx_wait(&e, "snapshot", pid, 0, OPS_WAIT_MS);
	if (ASSERT_NOT_NULL(rec, "the crash snapshot"))
		ASSERT_OK(access(jstr(rec, "path"), F_OK), "the crash snapshot exists");
	json_object_put(rec);
	ASSERT_TRUE(fx_wait_file(snap, false, OPS_WAIT_MS), "the autosave is gone");
	ASSERT_TRUE(fx_wait_file(side, false, OPS_WAIT_MS), "so is its sidecar");
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
	struct fx_app app;
	struct fx e;
	pid_t pid;
	int st;

	if (!fx_can_run() || !fx_init(&e))
		return;
	list_args[2] = run_args[2] = e.state;
	snprintf(ctl, sizeof(ctl), "%s/faultguardctl", e.build);
	snprintf(script, sizeof(script),
		 "echo \"uid=$(id -u) app=$FAULTGUARD_APP pid=$FAULTGUARD_PID\"; "
		 "%s get \"$FAULTGUARD_SNAPSHOT\" note; echo",
		 ctl);
	e.config = "autosave_interval = 1s\n";
	if (!fx_start(&e))
		return;
	if (!ops_app_start(&e, &app, FX_NOBODY, "survivor", "stdin", rescue))
		goto out;
	pid = app.pid;
	autosave_paths(&e, FX_NOBODY, "survivor", pid, snap, side, sizeof(snap));
	if (!ASSERT_TRUE(fx_wait_file(snap, true, OPS_WAIT_MS), "the autosave appears"))
		goto out_app;
	/* The collector dies without a word; the app lives on. */
	fx_kill(&e);
	ASSERT_OK(access(snap, F_OK), "the autosave survives the collector");
	st = fx_run_built(&e, "faultguardctl", list_args, out, sizeof(out));
	ASSERT_EQ(st, 0, "recover --json");
	ASSERT_TRUE(strstr(out, "[]") != NULL, "nothing to recover while the process lives");
	/* Now the process goes too, unseen. */
	if (!ASSERT_OK(kill(pid, SIGKILL), "kill the app"))
		goto out;
	fx_app_wait(&app, OPS_WAIT_MS);
	st = fx_run_built(&e, "faultguardctl", list_args, out, sizeof(out));
	ASSERT_EQ(st, 0, "recover --json");
	arr = json_tokener_parse(out);
	if (ASSERT_NOT_NULL(arr, "recover --json prints JSON") &&
	    ASSERT_EQ(json_object_array_length(arr), 1, "one autosave to recover")) {
		json_object *o = json_object_array_get_idx(arr, 0);

		ASSERT_STREQ(jstr(o, "app"), "survivor", "app");
		ASSERT_EQ(jint_or(o, "pid", -1), pid, "pid");
		ASSERT_EQ(jint_or(o, "uid", -1), FX_NOBODY, "uid");
		ASSERT_STREQ(jstr(o, "path"), snap, "path");
	}
	json_object_put(arr);
	st = fx_run_built(&e, "faultguardctl", run_args, out, sizeof(out));
	ASSERT_EQ(st, 0, "recover --run");
	snprintf(want, sizeof(want), "uid=%d app=survivor pid=%d", FX_NOBODY, (int)pid);
	if (!ASSERT_TRUE(strstr(out, want) != NULL, "the rescue ran as the app's user"))
		fprintf(stderr, "  output:\n%s\n", out);
	ASSERT_TRUE(strstr(out, "saved by ops_app") != NULL, "the rescue read the autosave");
	ASSERT_NEQ(access(snap, F_OK), 0, "a rescued autosave is deleted");
	ASSERT_NEQ(access(side, F_OK), 0, "with its sidecar");
	goto out;
out_app:
	if (kill(app.pid, SIGKILL) == 0)
		fx_app_wait(&app, OPS_WAIT_MS);
out:
	ops_stop(&e);
}

TEST(a_failed_recover_keeps_the_autosave)
{
	const char *const rescue[] = { "/bin/false", NULL };
	const char *run_args[] = { "recover", "--state-dir", NULL, "--run", NULL };
	char snap[PATH_MAX], side[PATH_MAX], out[4096];
	struct fx_app app;
	struct fx e;
	pid_t pid;
	int st;

	if (!fx_can_run() || !fx_init(&e))
		return;
	run_args[2] = e.state;
	e.config = "autosave_interval = 1s\n";
	if (!fx_start(&e))
		return;
	if (!ops_app_start(&e, &app, 0, "unlucky", "stdin", rescue))
		goto out;
	pid = app.pid;
	autosave_paths(&e, 0, "unlucky", pid, snap, side, sizeof(snap));
	ASSERT_TRUE(fx_wait_file(snap, true, OPS_WAIT_MS), "the autosave appears");
	fx_kill(&e);
	if (!ASSERT_OK(kill(pid, SIGKILL), "kill the app"))
		goto out;
	fx_app_wait(&app, OPS_WAIT_MS);
	st = fx_run_built(&e, "faultguardctl", run_args, out, sizeof(out));
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1, "recover --run exits 1");
	ASSERT_TRUE(strstr(out, "the autosave stays") != NULL, "and says why");
	ASSERT_OK(access(snap, F_OK), "the autosave stays for another try");
out:
	ops_stop(&e);
}
