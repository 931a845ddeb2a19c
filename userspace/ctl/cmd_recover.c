// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * faultguardctl recover [--state-dir D] [--app NAME] [--run] [--timeout S] [--json]:
 * the collector's autosaves whose process is gone (the collector or the
 * host died first), and with --run their rescue commands, each as the
 * app's user with FAULTGUARD_SNAPSHOT naming the autosave. An autosave
 * whose rescue succeeded is deleted; any other stays for another try.
 */
#include <getopt.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crash_id.h"
#include "common/timefmt.h"
#include "ctl/autosaves.h"
#include "ctl/ctl.h"
#include "ctl/run_as_user.h"
#include "spawn/rescue_env.h"
#include "ctl/state_dir.h"

static json_object *entry_json(const struct autosave_entry *e)
{
	json_object *o = json_object_new_object(), *argv = NULL;
	char when[TIME_RFC3339_LEN];
	size_t i;

	time_rfc3339_ms(e->saved_ms, when);
	if (e->argv) {
		argv = json_object_new_array();
		for (i = 0; e->argv[i]; i++)
			json_object_array_add(argv, json_object_new_string(e->argv[i]));
	}
	json_object_object_add(o, "app", json_object_new_string(e->app));
	json_object_object_add(o, "pid", json_object_new_int(e->pid));
	json_object_object_add(o, "uid", json_object_new_int64(e->uid));
	json_object_object_add(o, "saved", json_object_new_string(when));
	json_object_object_add(o, "path", json_object_new_string(e->path));
	json_object_object_add(o, "rescue_argv", argv);
	json_object_object_add(o, "problem",
			       e->problem ? json_object_new_string(e->problem) : NULL);
	return o;
}

static void print_table(const struct autosave_entry *v, size_t n)
{
	char when[TIME_RFC3339_LEN];
	size_t i, k;

	printf("%-16s %8s %6s %-24s %s\n", "APP", "PID", "UID", "SAVED", "PATH");
	for (i = 0; i < n; i++) {
		time_rfc3339_ms(v[i].saved_ms, when);
		printf("%-16s %8d %6u %-24s %s\n", v[i].app, (int)v[i].pid, (unsigned int)v[i].uid,
		       when, v[i].path);
		if (v[i].problem) {
			printf("    (%s)\n", v[i].problem);
		} else if (v[i].argv) {
			printf("    rescue:");
			for (k = 0; v[i].argv[k]; k++)
				printf(" %s", v[i].argv[k]);
			printf("\n");
		} else {
			printf("    (no rescue command: snapshot only)\n");
		}
	}
	if (!n)
		printf("(no autosaves to recover)\n");
}

/* Runs one rescue; returns 0 when it succeeded (and the autosave is gone). */
static int recover_one(const struct autosave_entry *e, unsigned int timeout_s)
{
	char id[CRASH_ID_LEN], store[8192], *env[RESCUE_ENV_COUNT + 2];
	struct run_as r = { .uid = e->uid, .gid = e->gid, .argv = e->argv, .timeout_s = timeout_s };
	/* How it died is unknown: the collector was not there to see it. */
	struct rescue_env re = {
		.snapshot = e->path,
		.id = id,
		.app = e->app,
		.cause = "unknown",
		.pid = e->pid,
		.uid = e->uid,
		.signal = 0,
		.exit_code = -1,
	};
	int wstatus = 0, timed_out = 0, err;

	if (e->problem)
		return ctl_fail("%s: not run: %s", e->path, e->problem);
	if (!e->argv) {
		printf("%s: no rescue command (snapshot only); the autosave stays\n", e->path);
		return 0;
	}
	crash_id_make(id, e->saved_ms, e->pid);
	if (rescue_env_format(&re, env, store, sizeof(store)))
		return ctl_fail("%s: the rescue environment does not fit", e->path);
	env[RESCUE_ENV_COUNT] = "FAULTGUARD_AUTOSAVE=1";
	env[RESCUE_ENV_COUNT + 1] = NULL;
	r.extra_env = env;
	fflush(stdout);
	err = run_as_user(&r, &wstatus, &timed_out);
	if (err)
		return ctl_fail("%s: cannot run %s: %s", e->path, e->argv[0], strerror(-err));
	if (timed_out)
		return ctl_fail("%s: the rescue did not finish within %u s and was killed", e->path,
				timeout_s);
	if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus))
		return ctl_fail("%s: the rescue failed (%s %d); the autosave stays", e->path,
				WIFEXITED(wstatus) ? "exit status" : "signal",
				WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : WTERMSIG(wstatus));
	err = autosave_remove(e);
	if (err)
		return ctl_fail("%s: rescued, but cannot delete the autosave: %s", e->path,
				strerror(-err));
	printf("%s: rescued (app %s, pid %d); autosave deleted\n", e->path, e->app, (int)e->pid);
	return 0;
}

static int cmd_recover(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "app", required_argument, NULL, 'A' },
		{ "run", no_argument, NULL, 'r' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir_flag = NULL, *app = NULL, *why = "";
	struct autosave_entry *v = NULL;
	char state_dir[4096], *end;
	int run = 0, json = 0, c, err, rc = 0;
	unsigned long timeout = 60;
	size_t n = 0, i;

	while ((c = getopt_long(argc, argv, "d:A:rt:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd': dir_flag = optarg; break;
		case 'A': app = optarg; break;
		case 'r': run = 1; break;
		case 'j': json = 1; break;
		case 't':
			timeout = strtoul(optarg, &end, 10);
			if (*end || !*optarg || timeout > 86400)
				return ctl_usage("recover", "--timeout takes seconds, 0 to 86400 "
							    "(0 = no limit)");
			break;
		case 'h': return ctl_help("recover");
		default: return ctl_bad_option("recover");
		}
	}
	if (optind != argc)
		return ctl_usage("recover", "takes no arguments");
	if (dir_flag && access(dir_flag, F_OK) < 0)
		return ctl_fail("there is no state directory %s", dir_flag);
	if (!dir_flag)
		dir_flag = STATE_DIR_SYSTEM;
	if (state_dir_absolute(dir_flag, state_dir, sizeof(state_dir)))
		return ctl_fail("the state directory path %s is too long", dir_flag);
	err = autosaves_find(state_dir, app, &v, &n, &why);
	if (err)
		return ctl_fail("%s (%s): %s", why, state_dir, strerror(-err));
	if (json && !run) {
		json_object *arr = json_object_new_array();

		for (i = 0; i < n; i++)
			json_object_array_add(arr, entry_json(&v[i]));
		puts(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(arr);
	} else if (!run) {
		print_table(v, n);
	}
	for (i = 0; run && i < n; i++)
		if (recover_one(&v[i], (unsigned int)timeout))
			rc = EXIT_FAILURE_EXPLAINED;
	if (run && !n)
		printf("(no autosaves to recover)\n");
	autosaves_free(v, n);
	return rc;
}

CTL_COMMAND("recover", cmd_recover,
	    "[--state-dir D] [--app NAME] [--run] [--timeout SECONDS] [--json]",
	    "autosaves whose process is gone; --run runs their rescue commands");
