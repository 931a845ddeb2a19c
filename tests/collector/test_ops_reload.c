// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Settings in a running collector: flags override the file; SIGHUP reads
 * the file again without losing registrations; a bad file on reload
 * changes nothing and says why; a setting bound at start says it needs a
 * restart; the audit log is reopened (logrotate).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "framework/test.h"
#include "ops.h"

static unsigned int socket_mode(const struct fx *e)
{
	struct stat st;

	return stat(e->sock, &st) == 0 ? st.st_mode & 07777 : 0;
}

/* Sends SIGHUP and returns the (n)th reload record, n counting from 1. */
static json_object *reload(struct fx *e, int nth)
{
	json_object *rec;

	if (!ASSERT_OK(fx_signal(e, SIGHUP), "SIGHUP"))
		return NULL;
	rec = fx_wait(e, "reload", -1, nth - 1, OPS_WAIT_MS);
	ASSERT_NOT_NULL(rec, "a reload record");
	return rec;
}

static bool has_string(json_object *arr, const char *s)
{
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++)
		if (!strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), s))
			return true;
	return false;
}

TEST(flags_override_the_file)
{
	struct fx e;
	char text[512], file_sock[PATH_MAX + 16];

	if (!fx_can_run() || !fx_init(&e))
		return;
	snprintf(file_sock, sizeof(file_sock), "%.90s/from-file.sock", e.dir);
	snprintf(text, sizeof(text), "socket = %.200s\nrescue_timeout = 5\n", file_sock);
	e.config = text;
	/* fx_start passes --socket: the collector must listen there, not at the file's path. */
	if (!fx_start(&e))
		return;
	ASSERT_OK(access(e.sock, F_OK), "the socket is at the flag's path");
	ASSERT_NEQ(access(file_sock, F_OK), 0, "nothing at the file's path");
	ops_stop(&e);
}

TEST(sighup_applies_a_good_file_and_keeps_registrations)
{
	const char *const rescue[] = { "/bin/true", NULL };
	const char *status_args[] = { "status", "--json", NULL };
	json_object *rec, *pending, *res;
	struct fx_app app;
	struct fx e;
	char text[512], out[8192];
	pid_t pid;

	if (!fx_can_run() || !fx_init(&e))
		return;
	/* The paths come from the file here, so that a change of the socket's is seen. */
	e.paths_in_config = true;
	snprintf(text, sizeof(text), "socket_mode = 0666\nsocket = %s\nstate_dir = %.300s\n",
		 e.sock, e.state);
	e.config = text;
	if (!fx_start(&e))
		return;
	ASSERT_EQ(socket_mode(&e), 0666, "mode before the reload");
	if (!ops_app_start(&e, &app, 0, "reloaded", "stdin", rescue))
		goto out;
	/* A new mode, a new socket path (needs a restart) and a different rescue timeout. */
	snprintf(text, sizeof(text), "socket_mode = 0600\nsocket = %.90s/elsewhere.sock\n"
				     "state_dir = %.300s\nrescue_timeout = 7\n", e.dir, e.state);
	ASSERT_OK(fx_write_file(e.conf, text), "rewrite the config");
	rec = reload(&e, 1);
	if (!rec)
		goto out_app;
	ASSERT_STREQ(jstr(rec, "status"), "ok", "the reload worked");
	ASSERT_TRUE(json_object_object_get_ex(rec, "restart_needed", &pending) &&
			    has_string(pending, "socket"),
		    "says the socket path needs a restart");
	json_object_put(rec);
	ASSERT_EQ(socket_mode(&e), 0600, "the socket's new mode applies live");
	ASSERT_OK(access(e.sock, F_OK), "the socket did not move");
	/* The registration survived: the collector still lists it and rescues it. */
	ASSERT_EQ(fx_run_built(&e, "faultguardctl", status_args, out, sizeof(out)), 0,
		  "faultguardctl status");
	ASSERT_TRUE(strstr(out, "\"reloaded\"") != NULL, "the app is still registered");
	pid = app.pid;
	fx_app_send(&app, "segv");
	fx_app_wait(&app, OPS_WAIT_MS);
	res = fx_wait(&e, "rescue", pid, 0, OPS_WAIT_MS);
	if (ASSERT_NOT_NULL(res, "the registration was rescued after the reload"))
		ASSERT_STREQ(jstr(res, "status"), "ok", "its rescue ran");
	json_object_put(res);
	goto out;
out_app:
	fx_app_send(&app, "exit0");
	fx_app_wait(&app, OPS_WAIT_MS);
out:
	ops_stop(&e);
}

TEST(sighup_with_a_bad_file_keeps_the_old_settings)
{
	json_object *rec, *errors;
	struct fx e;
	char want[PATH_MAX + 16];

	if (!fx_can_run() || !fx_init(&e))
		return;
	e.config = "socket_mode = 0640\n";
	if (!fx_start(&e))
		return;
	ASSERT_EQ(socket_mode(&e), 0640, "mode at start");
	/* A valid change on line 1, errors on lines 2 and 4: nothing may apply. */
	ASSERT_OK(fx_write_file(e.conf, "socket_mode = 0666\nrate_limit_burst = many\n"
					 "# fine\nmystery = 1\n"),
		  "write a bad config");
	rec = reload(&e, 1);
	if (rec) {
		ASSERT_STREQ(jstr(rec, "status"), "failed", "the reload failed");
		ASSERT_TRUE(json_object_object_get_ex(rec, "errors", &errors) &&
				    json_object_array_length(errors) == 2,
			    "two errors recorded");
		snprintf(want, sizeof(want), "%s:2: ", e.conf);
		ASSERT_TRUE(strstr(json_object_get_string(json_object_array_get_idx(errors, 0)),
				   want) != NULL,
			    "the first error names line 2");
		snprintf(want, sizeof(want), "%s:4: ", e.conf);
		ASSERT_TRUE(strstr(json_object_get_string(json_object_array_get_idx(errors, 1)),
				   want) != NULL,
			    "the second error names line 4");
		json_object_put(rec);
	}
	ASSERT_EQ(socket_mode(&e), 0640, "the old mode stays");
	/* The operator's stderr says it too. */
	{
		char *log = fx_read_file(e.log, NULL);

		ASSERT_TRUE(log && strstr(log, "keeping the previous settings"), "logged");
		free(log);
	}
	/* A good file afterwards applies. */
	ASSERT_OK(fx_write_file(e.conf, "socket_mode = 0660\n"), "write a good config");
	rec = reload(&e, 2);
	if (rec) {
		ASSERT_STREQ(jstr(rec, "status"), "ok", "the second reload worked");
		json_object_put(rec);
	}
	ASSERT_EQ(socket_mode(&e), 0660, "the new mode applies");
	ops_stop(&e);
}

TEST(sighup_reopens_the_audit_log)
{
	char rotated[PATH_MAX + 8];
	json_object *recs;
	struct fx e;

	if (!fx_can_run() || !fx_init(&e))
		return;
	e.config = "# defaults\n";
	if (!fx_start(&e))
		return;
	snprintf(rotated, sizeof(rotated), "%s.1", e.audit);
	ASSERT_OK(rename(e.audit, rotated), "rotate the audit log");
	ASSERT_OK(fx_signal(&e, SIGHUP), "SIGHUP");
	/* The reload record lands in a new file at the configured path. */
	recs = fx_wait_with(&e, "reload", "status", "ok", 0, OPS_WAIT_MS);
	ASSERT_NOT_NULL(recs, "a reload record in the new audit log");
	json_object_put(recs);
	recs = fx_records_in(rotated, "start");
	ASSERT_EQ(json_object_array_length(recs), 1, "the old records stay in the rotated file");
	json_object_put(recs);
	ops_stop(&e);
}

/*
 * A reload whose config file became a directory: refused, and each stderr
 * line carries the "faultguardd: reload: " prefix once; the record's
 * error is the sentence alone.
 */
TEST(sighup_errors_say_faultguardd_once)
{
	char want[PATH_MAX + 64], *log = NULL;
	json_object *rec, *errors;
	struct fx e;

	if (!fx_can_run() || !fx_init(&e))
		return;
	e.config = "socket_mode = 0640\n";
	if (!fx_start(&e))
		return;
	if (!ASSERT_OK(unlink(e.conf), "remove the config file") ||
	    !ASSERT_OK(mkdir(e.conf, 0755), "a directory in its place"))
		goto out;
	rec = reload(&e, 1);
	if (rec) {
		ASSERT_STREQ(jstr(rec, "status"), "failed", "the reload failed");
		snprintf(want, sizeof(want), "%s is a directory, not a config file", e.conf);
		ASSERT_TRUE(json_object_object_get_ex(rec, "errors", &errors) &&
				    has_string(errors, want),
			    "the record's error is the sentence");
		json_object_put(rec);
	}
	log = fx_read_file(e.log, NULL);
	snprintf(want, sizeof(want), "\nfaultguardd: reload: %s is a directory, not a config file\n",
		 e.conf);
	ASSERT_TRUE(log && strstr(log, want), "stderr says it with one prefix");
	ASSERT_TRUE(log && !strstr(log, "reload: faultguardd:"), "never two prefixes");
	ASSERT_EQ(socket_mode(&e), 0640, "the old mode stays");
out:
	free(log);
	ops_stop(&e);
}
