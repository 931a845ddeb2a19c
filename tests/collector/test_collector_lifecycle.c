// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The collector over time, against a real faultguardd: a restart while
 * apps run (they register again by themselves and are rescued with their
 * data), several crashes at once (all rescued), and what `faultguardctl
 * status`, `list` and `show` tell about it all (SPEC §4-6).
 */
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "common/crash_id.h"
#include "crash_check.h"
#include "framework/test.h"
#include "helpers/app_data.h"

#define MANY 5

static const struct fx_crash segv = {
	.cause = "segfault", .signal = SIGSEGV, .si_code = SEGV_MAPERR, .fault_addr = "0x0",
};

static bool segfaulted(struct fx_app *a)
{
	if (!fx_app_wait(a, FX_WAIT_MS))
		return false;
	return ASSERT_TRUE(WIFSIGNALED(a->status) && WTERMSIG(a->status) == SIGSEGV,
			   "the app segfaulted");
}

/* Asks the app whether its library holds a registration until it says @want. */
static bool registered_becomes(struct fx_app *a, int want)
{
	long long deadline = fx_now_ms() + FX_WAIT_MS;
	char line[64], expect[32];

	snprintf(expect, sizeof(expect), "registered %d", want);
	while (fx_now_ms() < deadline) {
		if (!fx_app_send(a, "registered") || !fx_app_read_line(a, line, sizeof(line), FX_WAIT_MS))
			return false;
		if (!strcmp(line, expect))
			return true;
		fx_nap(20);
	}
	test_fail(__FILE__, __LINE__, "app %s (pid %d) never said \"%s\"", a->app, (int)a->pid,
		  expect);
	return false;
}

/*
 * Restart with live apps: the collector stops (cleanly) and starts again;
 * the apps, doing nothing, register again, then crash and are rescued with
 * exactly their data. One of them belongs to an unprivileged user.
 */
TEST(restart_with_live_apps)
{
	struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw ? pw->pw_uid : 65534;
	gid_t gid = pw ? pw->pw_gid : 65534;
	struct fx_rescue r[2];
	struct fx_app a[2];
	long long t0;
	struct fx fx;
	int i;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	fx_rescue_init(&fx, &r[0], "restart-root", NULL);
	fx_rescue_init(&fx, &r[1], "restart-nobody", NULL);
	if (!fx_app_start(&fx, &a[0],
			  &(struct fx_app_spec){ .app = "restart-root", .mode = "stdin",
						 .rescue_argv = r[0].argv }) ||
	    !fx_app_start(&fx, &a[1],
			  &(struct fx_app_spec){ .app = "restart-nobody", .mode = "stdin",
						 .rescue_argv = r[1].argv, .uid = uid, .gid = gid }))
		goto out;
	if (!fx_stop(&fx))
		goto out;
	for (i = 0; i < 2; i++)
		if (!ASSERT_TRUE(fx_app_alive(&a[i]), "the app outlives the collector") ||
		    !registered_becomes(&a[i], 0))
			goto out;
	if (!fx_start(&fx))
		goto out;
	t0 = fx_now_ms();
	for (i = 0; i < 2; i++) {
		json_object *reg = fx_wait(&fx, "register", a[i].pid, 1, FX_WAIT_MS);
		bool ok = reg && CHECK_STR(reg, "app", a[i].app) && CHECK_INT(reg, "uid", a[i].spec.uid);

		json_object_put(reg);
		if (!ok || !registered_becomes(&a[i], 1))
			goto out;
	}
	/* SPEC: within 2 s. Reported, not asserted: a loaded machine may be slower. */
	if (fx_now_ms() - t0 > 2000)
		fprintf(stderr, "  note: re-registration took %lld ms\n", fx_now_ms() - t0);
	if (!ASSERT_EQ(fx_count(&fx, "start", -1), 2, "two start records") ||
	    !ASSERT_EQ(fx_count(&fx, "stop", -1), 1, "one stop record"))
		goto out;
	for (i = 0; i < 2; i++)
		if (!fx_app_send(&a[i], "segv"))
			goto out;
	for (i = 0; i < 2; i++)
		if (!segfaulted(&a[i]) || !fx_check_crash(&fx, &a[i], &segv, &r[i], NULL))
			goto out;
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/* Five apps crash together: five snapshots, five rescues, none mixed up. */
TEST(several_crashes_at_once)
{
	struct fx_rescue r[MANY];
	struct fx_app a[MANY];
	char tag[MANY][32], ids[MANY][CRASH_ID_LEN];
	struct fx fx;
	int i, j;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	for (i = 0; i < MANY; i++) {
		/* Apps of their own: the per-app rescue rate limit is not what is tested here. */
		snprintf(tag[i], sizeof(tag[i]), "many-%d", i);
		fx_rescue_init(&fx, &r[i], tag[i], NULL);
		if (!fx_app_start(&fx, &a[i],
				  &(struct fx_app_spec){ .app = tag[i], .mode = "stdin",
							 .rescue_argv = r[i].argv }))
			goto out;
	}
	for (i = 0; i < MANY; i++)
		if (!fx_app_send(&a[i], "segv"))
			goto out;
	for (i = 0; i < MANY; i++)
		if (!segfaulted(&a[i]) || !fx_check_crash(&fx, &a[i], &segv, &r[i], ids[i]))
			goto out;
	for (i = 0; i < MANY; i++)
		for (j = i + 1; j < MANY; j++)
			if (!ASSERT_TRUE(strcmp(ids[i], ids[j]) != 0, "crash ids are distinct"))
				goto out;
	ASSERT_EQ(fx_count(&fx, "rescue", -1), MANY, "one rescue per crash");
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

static json_object *ctl_json(struct fx *fx, const char *what, ...) __attribute__((sentinel));

/* Runs faultguardctl WHAT ARGS... --json; the parsed output, or NULL (a failure). */
static json_object *ctl_json(struct fx *fx, const char *what, ...)
{
	const char *args[8] = { 0 };
	json_object *o = NULL;
	char *out = NULL;
	va_list ap;
	int n = 0, rc;

	va_start(ap, what);
	while (n < 7 && (args[n] = va_arg(ap, const char *)))
		n++;
	va_end(ap);
	rc = fx_ctl(fx, &out, what, "--json", args[0], args[1], args[2], args[3], args[4], args[5],
		    args[6], NULL);
	if (!ASSERT_EQ(rc, 0, what))
		fprintf(stderr, "  faultguardctl %s: %s", what, fx->ctl_err);
	else {
		o = json_tokener_parse(out ? out : "");
		if (!ASSERT_TRUE(o && json_object_is_type(o, json_type_array), "a JSON array")) {
			fprintf(stderr, "  %s printed: %s\n", what, out ? out : "");
			json_object_put(o);
			o = NULL;
		}
	}
	free(out);
	return o;
}

static json_object *row_of(json_object *arr, pid_t pid)
{
	size_t i;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		json_object *o = json_object_array_get_idx(arr, i);
		long long p;

		if (jint(o, "pid", &p) && p == pid)
			return o;
	}
	return NULL;
}

static bool check_status_row(json_object *arr, struct fx_app *a)
{
	json_object *row = row_of(arr, a->pid);

	return ASSERT_NOT_NULL(row, "the app is in status") && CHECK_STR(row, "app", a->app) &&
	       CHECK_INT(row, "uid", a->spec.uid) && CHECK_INT(row, "keys", APP_NENTRIES) &&
	       CHECK_INT(row, "bytes", (long long)fx_expected_bytes(a));
}

static bool check_list_row(json_object *row, struct fx_app *a, const char *id, const char *cause,
			   const char *rescue)
{
	return ASSERT_NOT_NULL(row, "a list row") && CHECK_STR(row, "id", id) &&
	       CHECK_STR(row, "app", a->app) && CHECK_INT(row, "pid", a->pid) &&
	       CHECK_STR(row, "cause", cause) && CHECK_STR(row, "rescue", rescue) &&
	       ASSERT_TRUE(fx_ts_ok(jstr(row, "time")), "list time is RFC 3339");
}

/*
 * faultguardctl status, list and show, from the collector and the audit
 * log: two live apps, then one segfault (rescued) and one SIGTERM from this
 * test (no rescue command).
 */
TEST(ctl_status_list_show)
{
	json_object *arr = NULL, *show = NULL;
	char id[2][CRASH_ID_LEN], line[64], comm[32] = "", *out = NULL, pid[16];
	struct fx_rescue r;
	struct fx_app a, b;
	struct fx fx;
	size_t i;
	int rc;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	fx_rescue_init(&fx, &r, "ctl", NULL);
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .app = "ctl-a", .mode = "stdin", .rescue_argv = r.argv }) ||
	    !fx_app_start(&fx, &b, &(struct fx_app_spec){ .app = "ctl-b", .mode = "stdin" }))
		goto out;
	/* End the transaction the apps left open, so the live counts are settled ones. */
	if (!fx_app_send(&a, "rollback") || !fx_app_read_line(&a, line, sizeof(line), FX_WAIT_MS) ||
	    !ASSERT_STREQ(line, "ok", "rollback") || !fx_app_send(&b, "rollback") ||
	    !fx_app_read_line(&b, line, sizeof(line), FX_WAIT_MS) || !ASSERT_STREQ(line, "ok", "rollback"))
		goto out;

	/* status: both apps, with their keys and bytes. */
	arr = ctl_json(&fx, "status", "--socket", fx.sock, NULL);
	if (!arr || !ASSERT_EQ(json_object_array_length(arr), 2, "two registrations") ||
	    !check_status_row(arr, &a) || !check_status_row(arr, &b))
		goto out;
	json_object_put(arr);
	arr = NULL;
	rc = fx_ctl(&fx, &out, "status", "--socket", fx.sock, NULL);
	snprintf(pid, sizeof(pid), "%d", (int)a.pid);
	if (!ASSERT_EQ(rc, 0, "status") || !ASSERT_TRUE(out && strstr(out, "ctl-a") && strstr(out, pid),
						       "the status table shows the app"))
		goto out;
	free(out);
	out = NULL;

	/* One segfault, rescued. */
	if (!fx_app_send(&a, "segv") || !segfaulted(&a) || !fx_check_crash(&fx, &a, &segv, &r, id[0]))
		goto out;
	arr = ctl_json(&fx, "status", "--socket", fx.sock, NULL);
	if (!arr || !ASSERT_EQ(json_object_array_length(arr), 1, "one registration left") ||
	    !check_status_row(arr, &b))
		goto out;
	json_object_put(arr);
	arr = NULL;
	arr = ctl_json(&fx, "list", "--state-dir", fx.state, NULL);
	if (!arr || !ASSERT_EQ(json_object_array_length(arr), 1, "one crash listed") ||
	    !check_list_row(json_object_array_get_idx(arr, 0), &a, id[0], "segfault", "ok"))
		goto out;
	json_object_put(arr);
	arr = NULL;

	/* show: the crash's records, all of them, with its id. */
	show = ctl_json(&fx, "show", "--state-dir", fx.state, id[0], NULL);
	if (!show || !ASSERT_EQ(json_object_array_length(show), 3, "crash, snapshot, rescue"))
		goto out;
	for (i = 0; i < 3; i++) {
		static const char *const events[] = { "crash", "snapshot", "rescue" };
		json_object *rec = json_object_array_get_idx(show, i);

		if (!CHECK_STR(rec, "event", events[i]) || !CHECK_STR(rec, "id", id[0]) ||
		    !CHECK_INT(rec, "pid", a.pid))
			goto out;
	}
	rc = fx_ctl(&fx, &out, "show", "--state-dir", fx.state, "20991231T000000.000Z-1-00000000",
		    NULL);
	/* SPEC §6: exit 1 and one line on stderr that explains. */
	if (!ASSERT_EQ(rc, 1, "show of an unknown id fails with 1") ||
	    !ASSERT_TRUE(fx.ctl_err[0] && strchr(fx.ctl_err, '\n') == fx.ctl_err + strlen(fx.ctl_err) - 1,
			 "show says why in one line"))
		goto out;
	free(out);
	out = NULL;

	/* SIGTERM from this test: "terminated", the sender is us, no rescue command. */
	{
		FILE *f = fopen("/proc/self/comm", "re");

		if (f) {
			if (fgets(comm, sizeof(comm), f))
				comm[strcspn(comm, "\n")] = '\0';
			fclose(f);
		}
	}
	kill(b.pid, SIGTERM);
	if (!fx_app_wait(&b, FX_WAIT_MS) ||
	    !ASSERT_TRUE(WIFSIGNALED(b.status) && WTERMSIG(b.status) == SIGTERM, "SIGTERM") ||
	    !fx_check_crash(&fx, &b,
			    &(struct fx_crash){ .cause = "terminated", .signal = SIGTERM,
						.si_code = SI_USER, .sender_pid = getpid(),
						.sender_uid = 0, .sender_comm = comm,
						.rescue_status = "none" },
			    NULL, id[1]))
		goto out;
	arr = ctl_json(&fx, "list", "--state-dir", fx.state, NULL);
	if (!arr || !ASSERT_EQ(json_object_array_length(arr), 2, "two crashes listed") ||
	    !check_list_row(json_object_array_get_idx(arr, 0), &a, id[0], "segfault", "ok") ||
	    !check_list_row(json_object_array_get_idx(arr, 1), &b, id[1], "terminated", "none"))
		goto out;
	json_object_put(arr);
	arr = NULL;
	arr = ctl_json(&fx, "list", "--state-dir", fx.state, "--app", "ctl-b", NULL);
	if (!arr || !ASSERT_EQ(json_object_array_length(arr), 1, "list --app ctl-b") ||
	    !check_list_row(json_object_array_get_idx(arr, 0), &b, id[1], "terminated", "none"))
		goto out;
	json_object_put(arr);
	arr = NULL;
	arr = ctl_json(&fx, "status", "--socket", fx.sock, NULL);
	if (!arr || !ASSERT_EQ(json_object_array_length(arr), 0, "no registration left"))
		goto out;
	rc = fx_ctl(&fx, &out, "list", "--state-dir", fx.state, NULL);
	if (!ASSERT_EQ(rc, 0, "list") ||
	    !ASSERT_TRUE(out && strstr(out, id[0]) && strstr(out, id[1]), "the list table shows both"))
		goto out;
	fx_stop(&fx);
out:
	free(out);
	json_object_put(arr);
	arr = NULL;
	json_object_put(show);
	fx_cleanup(&fx);
}

static int rows_for_uid(json_object *arr, uid_t uid)
{
	size_t i;
	int n = 0;

	for (i = 0; arr && i < json_object_array_length(arr); i++) {
		long long u;

		if (jint(json_object_array_get_idx(arr, i), "uid", &u) && u == uid)
			n++;
	}
	return n;
}

/*
 * The collector answers anyone's status, list and show — with their own
 * registrations and crashes only, everything for root.
 */
TEST(queries_show_each_user_their_own)
{
	struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw ? pw->pw_uid : 65534;
	gid_t gid = pw ? pw->pw_gid : 65534;
	json_object *arr = NULL;
	char id[2][CRASH_ID_LEN], query[128], *out = NULL;
	struct fx_app a[2];
	struct fx fx;
	int i, rc;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	if (!fx_app_start(&fx, &a[0], &(struct fx_app_spec){ .app = "q-root", .mode = "stdin" }) ||
	    !fx_app_start(&fx, &a[1],
			  &(struct fx_app_spec){ .app = "q-nobody", .mode = "stdin", .uid = uid,
						 .gid = gid }))
		goto out;
	/* status through faultguardctl, as the unprivileged user and as root. */
	rc = fx_ctl_as(&fx, uid, gid, &out, "status", "--socket", fx.sock, "--json", NULL);
	arr = json_tokener_parse(out ? out : "");
	if (!ASSERT_EQ(rc, 0, "status as nobody") ||
	    !ASSERT_TRUE(arr && json_object_array_length(arr) == 1 && row_of(arr, a[1].pid),
			 "nobody's status shows nobody's app only"))
		goto out;
	json_object_put(arr);
	arr = fx_query_as(&fx, 0, 0, "status");
	if (!arr || !ASSERT_EQ(json_object_array_length(arr), 2, "root's status shows both"))
		goto out;
	json_object_put(arr);
	arr = NULL;
	for (i = 0; i < 2; i++)
		if (!fx_app_send(&a[i], "segv") || !segfaulted(&a[i]) ||
		    !fx_check_crash(&fx, &a[i],
				    &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
							.si_code = SEGV_MAPERR, .fault_addr = "0x0",
							.rescue_status = "none" },
				    NULL, id[i]))
			goto out;
	arr = fx_query_as(&fx, uid, gid, "list");
	if (!arr || !ASSERT_EQ(json_object_array_length(arr), 1, "nobody lists one crash") ||
	    !CHECK_STR(json_object_array_get_idx(arr, 0), "id", id[1]))
		goto out;
	json_object_put(arr);
	arr = fx_query_as(&fx, 0, 0, "list");
	if (!arr || !ASSERT_EQ(json_object_array_length(arr), 2, "root lists both") ||
	    !ASSERT_EQ(rows_for_uid(arr, uid), 1, "one of them nobody's"))
		goto out;
	json_object_put(arr);
	snprintf(query, sizeof(query), "show %s", id[0]);
	arr = fx_query_as(&fx, uid, gid, query);
	if (!arr || !ASSERT_EQ(json_object_array_length(arr), 0, "nobody cannot see root's crash"))
		goto out;
	json_object_put(arr);
	snprintf(query, sizeof(query), "show %s", id[1]);
	arr = fx_query_as(&fx, uid, gid, query);
	if (!arr || !ASSERT_EQ(json_object_array_length(arr), 3, "nobody sees its own crash"))
		goto out;
	for (i = 0; i < 3; i++)
		if (!CHECK_STR(json_object_array_get_idx(arr, (size_t)i), "id", id[1]))
			goto out;
	fx_stop(&fx);
out:
	free(out);
	json_object_put(arr);
	fx_cleanup(&fx);
}

/*
 * The app's connection is shut down under the library while the process
 * lives: the collector ends that registration with reason "hangup" (no
 * crash); the library registers again by itself, and a later crash is
 * rescued with the app's data.
 */
TEST(hangup_of_a_live_app_then_register_again)
{
	char line[64];
	struct fx_rescue r;
	struct fx_app a;
	struct fx fx;
	json_object *rec = NULL;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	fx_rescue_init(&fx, &r, "hangup", NULL);
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .app = "hangup", .mode = "stdin", .rescue_argv = r.argv }))
		goto out;
	if (!fx_app_send(&a, "hangup") || !fx_app_read_line(&a, line, sizeof(line), FX_WAIT_MS) ||
	    !ASSERT_STREQ(line, "hungup 1", "the library's connection was shut down"))
		goto out;
	rec = fx_wait(&fx, "unregister", a.pid, 0, FX_WAIT_MS);
	if (!rec || !CHECK_STR(rec, "reason", "hangup") || !CHECK_STR(rec, "app", "hangup"))
		goto out;
	json_object_put(rec);
	/* Refused while the old registration is in its hang-up grace, it retries with backoff. */
	rec = fx_wait(&fx, "register", a.pid, 1, FX_START_MS);
	if (!rec || !registered_becomes(&a, 1))
		goto out;
	if (!ASSERT_EQ(fx_count(&fx, "crash", a.pid), 0, "a hang-up is no crash") ||
	    !fx_app_send(&a, "segv") || !segfaulted(&a) || !fx_check_crash(&fx, &a, &segv, &r, NULL))
		goto out;
	fx_stop(&fx);
out:
	json_object_put(rec);
	fx_cleanup(&fx);
}

/* The main thread's voluntary context switches: one per sleep the collector wakes from. */
static long long wakeups(pid_t pid)
{
	return fx_proc_status(pid, pid, "voluntary_ctxt_switches");
}

/*
 * With an app registered and nothing happening, the collector sleeps: its
 * timer is set only for real deadlines (none here for an hour), so it
 * wakes no more than once in 3 s (it woke 5 times a second before).
 */
TEST(idle_collector_does_not_wake)
{
	long long before, after;
	char line[64];
	struct fx_app a;
	struct fx fx;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	if (!fx_app_start(&fx, &a, &(struct fx_app_spec){ .app = "idle", .mode = "stdin" }))
		goto out;
	if (!fx_idle(&fx, FX_WAIT_MS))
		goto out;
	before = wakeups(fx.pid);
	fx_nap(3000);
	after = wakeups(fx.pid);
	if (ASSERT_GE(before, 0, "voluntary_ctxt_switches") &&
	    !ASSERT_TRUE(after - before <= 1, "the idle collector slept through 3 s"))
		fprintf(stderr, "  it woke %lld times\n", after - before);
	/* And it still answers at once. */
	if (fx_app_send(&a, "registered") && fx_app_read_line(&a, line, sizeof(line), FX_WAIT_MS))
		ASSERT_STREQ(line, "registered 1", "still registered");
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/*
 * A registration whose rescue command is long makes a status line longer
 * than one protocol packet (32 KiB): it spans packets and faultguardctl
 * joins them, so the app is listed with its whole command.
 */
TEST(status_lists_an_app_with_a_long_rescue_command)
{
	enum { ARGS = 200, ARG_LEN = 250 };
	static char args[ARGS][ARG_LEN + 1];
	static const char *argv[ARGS + 1];
	json_object *arr = NULL, *row, *got;
	struct fx_app a;
	struct fx fx;
	int i;

	for (i = 0; i < ARGS; i++) {
		memset(args[i], 'a' + i % 26, ARG_LEN);
		args[i][0] = (char)('A' + i % 26);
		argv[i] = args[i];
	}
	argv[0] = "/bin/true";
	if (!fx_begin(&fx, 0, NULL))
		goto out;
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .app = "longcmd", .mode = "stdin", .rescue_argv = argv }))
		goto out;
	arr = ctl_json(&fx, "status", "--socket", fx.sock, NULL);
	if (!arr || !ASSERT_EQ(json_object_array_length(arr), 1, "the app is listed"))
		goto out;
	row = json_object_array_get_idx(arr, 0);
	if (!CHECK_STR(row, "app", "longcmd") ||
	    !ASSERT_TRUE(json_object_object_get_ex(row, "rescue_argv", &got) &&
				 json_object_is_type(got, json_type_array),
			 "rescue_argv is a list") ||
	    !ASSERT_EQ(json_object_array_length(got), ARGS, "every argument"))
		goto out;
	for (i = 0; i < ARGS; i++)
		if (!ASSERT_STREQ(json_object_get_string(json_object_array_get_idx(got, i)), argv[i],
				  "argument"))
			break;
	ASSERT_TRUE(strlen(json_object_to_json_string(row)) > 32 * 1024,
		    "the line was longer than a packet");
	/* The raw answer too: the pieces of the line, joined at its newline. */
	json_object_put(arr);
	arr = fx_query_as(&fx, 0, 0, "status");
	if (ASSERT_NOT_NULL(arr, "raw status") &&
	    ASSERT_EQ(json_object_array_length(arr), 1, "one line in the raw answer"))
		CHECK_STR(json_object_array_get_idx(arr, 0), "app", "longcmd");
	fx_stop(&fx);
out:
	json_object_put(arr);
	fx_cleanup(&fx);
}

/* `status --json` writes a path as it is: "/bin/true", never "\/bin\/true". */
TEST(status_json_leaves_slashes_alone)
{
	static const char *const argv[] = { "/bin/true", NULL };
	struct fx_app a;
	struct fx fx;
	char *out = NULL;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .app = "slashes", .mode = "stdin", .rescue_argv = argv }))
		goto out;
	if (!ASSERT_EQ(fx_ctl(&fx, &out, "status", "--socket", fx.sock, "--json", NULL), 0,
		       "status --json"))
		goto out;
	ASSERT_TRUE(out && strstr(out, "\"/bin/true\""), "the path as it is");
	ASSERT_TRUE(out && !strstr(out, "\\/"), "no escaped slash");
	fx_stop(&fx);
out:
	free(out);
	fx_cleanup(&fx);
}

/*
 * A user of a collector on a socket of its own sees their crashes with
 * `list --socket P` / `show --socket P ID`, and with $FAULTGUARD_SOCKET=P;
 * the collector's audit log, which they may not read, is refused with a
 * sentence that says to ask the collector instead.
 */
TEST(list_and_show_ask_the_collector_named_by_socket)
{
	struct passwd *pw = getpwnam("nobody");
	uid_t uid = pw ? pw->pw_uid : 65534;
	gid_t gid = pw ? pw->pw_gid : 65534;
	char id[CRASH_ID_LEN], *out = NULL;
	json_object *arr = NULL;
	struct fx_app a;
	struct fx fx;
	int rc;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	if (!fx_app_start(&fx, &a,
			  &(struct fx_app_spec){ .app = "mine", .mode = "segv", .uid = uid,
						 .gid = gid }) ||
	    !fx_app_wait(&a, FX_WAIT_MS) ||
	    !fx_check_crash(&fx, &a,
			    &(struct fx_crash){ .cause = "segfault", .signal = SIGSEGV,
						.si_code = SEGV_MAPERR, .fault_addr = "0x0",
						.rescue_status = "none" },
			    NULL, id))
		goto out;
	rc = fx_ctl_as(&fx, uid, gid, &out, "list", "--socket", fx.sock, "--json", NULL);
	arr = json_tokener_parse(out ? out : "");
	if (!ASSERT_EQ(rc, 0, "list --socket as nobody") ||
	    !ASSERT_TRUE(arr && json_object_array_length(arr) == 1, "one crash listed") ||
	    !CHECK_STR(json_object_array_get_idx(arr, 0), "id", id))
		goto out;
	json_object_put(arr);
	arr = NULL;
	free(out);
	rc = fx_ctl_as(&fx, uid, gid, &out, "show", "--socket", fx.sock, "--json", id, NULL);
	arr = json_tokener_parse(out ? out : "");
	if (!ASSERT_EQ(rc, 0, "show --socket as nobody") ||
	    !ASSERT_TRUE(arr && json_object_array_length(arr) == 3, "its three records"))
		goto out;
	json_object_put(arr);
	arr = NULL;
	free(out);
	/* The same through the environment, as a rescue or a shell profile would set it. */
	setenv("FAULTGUARD_SOCKET", fx.sock, 1);
	rc = fx_ctl_as(&fx, uid, gid, &out, "list", "--json", NULL);
	unsetenv("FAULTGUARD_SOCKET");
	arr = json_tokener_parse(out ? out : "");
	if (!ASSERT_EQ(rc, 0, "list with $FAULTGUARD_SOCKET as nobody") ||
	    !ASSERT_TRUE(arr && json_object_array_length(arr) == 1, "one crash listed"))
		goto out;
	free(out);
	rc = fx_ctl_as(&fx, uid, gid, &out, "list", "--state-dir", fx.state, NULL);
	if (!ASSERT_EQ(rc, 1, "list --state-dir of a log nobody may read: status 1") ||
	    !ASSERT_TRUE(strstr(fx.ctl_err, "Permission denied") &&
				 strstr(fx.ctl_err, "--socket PATH"),
			 "says to ask the collector"))
		fprintf(stderr, "  stderr: %s\n", fx.ctl_err);
	fx_stop(&fx);
out:
	free(out);
	json_object_put(arr);
	fx_cleanup(&fx);
}
