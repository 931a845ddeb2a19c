// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Taking the data back at the next start (SPEC §8.5): fg_claim_previous,
 * `faultguardctl claim` and Python's faultguard.claim_previous, against a
 * real faultguardd and with none (the standalone state directory). The
 * claimed snapshot holds exactly what the app wrote; a second claim gets
 * ENOENT; another user's snapshot is never handed out; from inside a
 * container (the fd crosses into it), a snapshot goes only to a claimer
 * whose cgroup is the crashed app's or below it, never to another
 * container's or to the host's.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container.h"
#include "framework/test.h"

#define UNIFIED "/sys/fs/cgroup/unified"

/* claim_app APP MODE PID N as @uid (0: root), its output in @out. */
static bool run_claim(struct fx *fx, uid_t uid, const char *app, const char *mode, long pid,
		      int n, const char *const *env, char *out, size_t cap)
{
	char prog[PATH_MAX], u[16], p[16], k[16];
	const char *argv[24];
	int argc = 0, i, st;

	fx_path(prog, sizeof(prog), "%s/tests/helpers/claim_app", fx->build);
	snprintf(u, sizeof(u), "%u", (unsigned int)uid);
	snprintf(p, sizeof(p), "%ld", pid);
	snprintf(k, sizeof(k), "%d", n);
	if (uid) {
		argv[argc++] = "/usr/bin/setpriv";
		argv[argc++] = "--reuid";
		argv[argc++] = u;
		argv[argc++] = "--regid";
		argv[argc++] = u;
		argv[argc++] = "--clear-groups";
	}
	if (env) {
		argv[argc++] = "/usr/bin/env";
		for (i = 0; env[i]; i++)
			argv[argc++] = env[i];
	}
	argv[argc++] = prog;
	argv[argc++] = app;
	argv[argc++] = mode;
	argv[argc++] = p;
	argv[argc++] = k;
	argv[argc] = NULL;
	st = fx_run(fx, argv, out, cap);
	return ASSERT_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "claim_app ran") ||
	       (fprintf(stderr, "  claim_app said: %s\n", out), false);
}

/* A col_app that segfaults; its snapshot's id in @id. */
static bool crash_app(struct fx *fx, const char *app, uid_t uid, char *id, size_t len,
		      long *pid)
{
	struct fx_app a;
	json_object *snap;

	if (!fx_app_start(fx, &a, &(struct fx_app_spec){ .app = app, .mode = "segv", .uid = uid,
						      .gid = uid }) ||
	    !fx_app_wait(&a, FX_WAIT_MS))
		return false;
	snap = fx_wait(fx, "snapshot", a.pid, 0, FX_WAIT_MS);
	if (!snap)
		return false;
	snprintf(id, len, "%s", jstr(snap, "id") ? jstr(snap, "id") : "");
	json_object_put(snap);
	*pid = a.pid;
	return ASSERT_TRUE(id[0], "the snapshot has an id");
}

TEST(claim_gives_the_exact_data_once)
{
	struct fx fx;
	json_object *rec = NULL;
	char id[128], out[4096];
	long pid;

	if (!fx_begin(&fx, 0, NULL) || !crash_app(&fx, "cl_once", 0, id, sizeof(id), &pid))
		goto out;
	/* The app's next start. */
	if (!run_claim(&fx, 0, "cl_once", "segv", pid, 2, NULL, out, sizeof(out)))
		goto out;
	ASSERT_STREQ(out, "claimed ok\nnone\n", "the exact data, then ENOENT");
	rec = fx_wait_with(&fx, "claim", "id", id, 0, FX_WAIT_MS);
	if (rec) {
		CHECK_STR(rec, "app", "cl_once");
		ASSERT_TRUE(jint_or(rec, "pid", 0) > 0 && jint_or(rec, "pid", 0) != pid,
			    "the claimer's pid");
	}
	ASSERT_EQ(fx_count(&fx, "claim", -1), 1, "one claim record");
	fx_stop(&fx);
out:
	json_object_put(rec);
	fx_cleanup(&fx);
}

TEST(claim_never_gives_another_users_snapshot)
{
	struct fx fx;
	char id[128], out[4096];
	long pid;

	if (!fx_begin(&fx, 0, NULL) || !crash_app(&fx, "cl_uid", FX_NOBODY, id, sizeof(id), &pid))
		goto out;
	if (run_claim(&fx, 4242, "cl_uid", "segv", pid, 1, NULL, out, sizeof(out)))
		ASSERT_STREQ(out, "none\n", "another user gets nothing");
	if (run_claim(&fx, 0, "cl_uid", "segv", pid, 1, NULL, out, sizeof(out)))
		ASSERT_STREQ(out, "none\n", "not even root: it claims its own");
	if (run_claim(&fx, FX_NOBODY, "cl_uid", "segv", pid, 2, NULL, out, sizeof(out)))
		ASSERT_STREQ(out, "claimed ok\nnone\n", "the app's own user does");
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/* Three snapshots: claimed newest first; `faultguardctl claim` and Python take the same way. */
TEST(claim_with_faultguardctl_and_python)
{
	struct fx fx;
	char id[3][128], pyout[4096], pypath[PATH_MAX + 32];
	char *out = NULL;
	long pid[3];
	int i, st;

	if (!fx_begin(&fx, 0, NULL))
		goto out;
	for (i = 0; i < 3; i++)
		if (!crash_app(&fx, "cl_tools", 0, id[i], sizeof(id[i]), &pid[i]))
			goto out;
	st = fx_ctl(&fx, &out, "claim", "--app", "cl_tools", "--socket", fx.sock, NULL);
	ASSERT_EQ(st, 0, "faultguardctl claim");
	ASSERT_TRUE(out && strstr(out, id[2]) && strstr(out, "greeting\t"),
		    "the newest, printed as dump prints it");
	free(out);
	out = NULL;
	snprintf(pypath, sizeof(pypath), "PYTHONPATH=%s/python", fx.build);
	{
		const char *const py[] = {
			/* Under the sanitizers the library needs its runtime; Python's own allocations leak. */
			"/usr/bin/env", pypath, "ASAN_OPTIONS=verify_asan_link_order=0:detect_leaks=0",
			"/usr/bin/python3", "-c",
			"import faultguard\n"
			"d = faultguard.claim_previous('cl_tools')\n"
			"print(d.raw('mode').decode(), d.raw('pid').decode(), len(d))\n"
			"try:\n    d['x'] = 1\nexcept TypeError:\n    print('read-only')\n"
			"e = faultguard.claim_previous('cl_tools')\n"
			"print(e.raw('pid').decode())\n"
			"print(faultguard.claim_previous('cl_tools'))\n",
			NULL,
		};
		char want[256];

		st = fx_run(&fx, py, pyout, sizeof(pyout));
		snprintf(want, sizeof(want), "segv %ld 9\nread-only\n%ld\nNone\n", pid[1], pid[0]);
		if (!ASSERT_TRUE(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "python ran"))
			fprintf(stderr, "  python said: %s\n", pyout);
		ASSERT_STREQ(pyout, want, "Python: the middle one, read-only, the oldest, then None");
	}
	st = fx_ctl(&fx, &out, "claim", "--app", "cl_tools", "--json", "--socket", fx.sock, NULL);
	ASSERT_EQ(st, 1, "faultguardctl claim: nothing left");
	ASSERT_TRUE(strstr(fx.ctl_err, "no unclaimed snapshot of cl_tools"), "said so");
	ASSERT_EQ(fx_count(&fx, "claim", -1), 3, "three claims");
	fx_stop(&fx);
out:
	free(out);
	fx_cleanup(&fx);
}

/* No collector: the standalone state directory of `faultguardctl run`. */
TEST(claim_from_the_standalone_state_directory)
{
	struct fx fx;
	char xdg[PATH_MAX + 32], sock[PATH_MAX + 32], out[4096], ctl[PATH_MAX], app[PATH_MAX];
	char state[PATH_MAX], *cout = NULL;
	int i, st;

	if (!fx_can_run() || !fx_init(&fx))
		goto out;
	chmod(fx.dir, 0755);
	fx_path(state, sizeof(state), "%s/xdg", fx.dir);
	mkdir(state, 0755);
	if (!ASSERT_OK(chown(state, FX_NOBODY, FX_NOBODY) ? -errno : 0, "chown xdg"))
		goto out;
	snprintf(xdg, sizeof(xdg), "XDG_STATE_HOME=%s", state);
	snprintf(sock, sizeof(sock), "FAULTGUARD_SOCKET=%s/none.sock", fx.dir);
	fx_path(ctl, sizeof(ctl), "%s/faultguardctl", fx.build);
	fx_path(app, sizeof(app), "%s/tests/helpers/app_crash", fx.build);
	for (i = 0; i < 2; i++) {
		const char *const run[] = {
			"/usr/bin/setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
			"/usr/bin/env", xdg, sock, ctl, "run", "--app", "cl_alone", "--", app, "segv",
			NULL,
		};

		st = fx_run(NULL, run, out, sizeof(out));
		ASSERT_TRUE(st >= 0 && WIFEXITED(st), "faultguardctl run");
	}
	if (run_claim(&fx, FX_NOBODY, "cl_alone", "segv", 0, 1, (const char *const[]){ xdg, sock, NULL },
		      out, sizeof(out)))
		ASSERT_STREQ(out, "claimed ok\n", "fg_claim_previous with no collector");
	fx_path(state, sizeof(state), "%s/xdg/faultguard", fx.dir);
	st = fx_ctl_as(&fx, FX_NOBODY, FX_NOBODY, &cout, "claim", "--app", "cl_alone", "--state-dir",
		       state, "--socket", sock + strlen("FAULTGUARD_SOCKET="), NULL);
	ASSERT_EQ(st, 0, "faultguardctl claim --state-dir");
	ASSERT_TRUE(cout && strstr(cout, "greeting\t"), "the older one");
	if (run_claim(&fx, FX_NOBODY, "cl_alone", "segv", 0, 1, (const char *const[]){ xdg, sock, NULL },
		      out, sizeof(out)))
		ASSERT_STREQ(out, "none\n", "then ENOENT");
out:
	free(cout);
	fx_cleanup(&fx);
}

static bool make_cgroup(char *path, size_t len, const char *name)
{
	if (!fx_path(path, len, "%s/fgtest-%d-%s", UNIFIED, (int)getpid(), name))
		return false;
	return ASSERT_OK(mkdir(path, 0755) ? -errno : 0, "mkdir a cgroup");
}

/* A claimer in a container (claim_app inside), in cgroup @cg: its lines in @out. */
static bool claim_in_container(struct fx *fx, const char *cg, const char *app, int ns_pid,
			       char *out, size_t cap)
{
	char prog[PATH_MAX], pid[16], line[256];
	struct ct ct;
	size_t used = 0;
	bool ok = true;

	fx_path(prog, sizeof(prog), "%s/tests/helpers/claim_app", fx->build);
	snprintf(pid, sizeof(pid), "%d", ns_pid);
	out[0] = '\0';
	if (!ct_start(fx, &ct, &(struct ct_spec){ .prog = prog, .uid = FX_NOBODY, .cgroup = cg,
						  .prog_args = (const char *const[]){
							  app, "segv", pid, "1", NULL } }))
		return false;
	while (ok && ct_read_line(&ct, line, sizeof(line), FX_WAIT_MS)) {
		if (!strncmp(line, "app-ended", 9))
			break;
		used += (size_t)snprintf(out + used, cap - used, "%s\n", line);
	}
	return ct_end(&ct, FX_WAIT_MS);
}

TEST(claim_inside_containers_by_cgroup)
{
	struct fx fx;
	struct ct ct;
	char a[PATH_MAX], sub[PATH_MAX], b[PATH_MAX], line[256], out[4096];
	json_object *crash = NULL;
	const char *cgroup;
	int made = 0;

	if (access(UNIFIED "/cgroup.procs", F_OK) < 0) {
		test_skip("no cgroup v2 hierarchy at %s", UNIFIED);
		return;
	}
	if (!ct_begin(&fx) || !make_cgroup(a, sizeof(a), "a") || (made = 1, 0) ||
	    !fx_path(sub, sizeof(sub), "%s/sub", a) ||
	    !ASSERT_OK(mkdir(sub, 0755) ? -errno : 0, "mkdir a/sub") || (made = 2, 0) ||
	    !make_cgroup(b, sizeof(b), "b") || (made = 3, 0))
		goto out;
	if (!ct_start(&fx, &ct, &(struct ct_spec){ .app = "cl_ct", .mode = "segv",
						   .uid = FX_NOBODY, .cgroup = a }))
		goto out;
	ct_read_line(&ct, line, sizeof(line), FX_WAIT_MS);
	ct_end(&ct, FX_WAIT_MS);
	crash = fx_wait(&fx, "snapshot", ct.host_pid, 0, FX_WAIT_MS);
	json_object_put(crash);
	crash = fx_wait(&fx, "crash", ct.host_pid, 0, FX_WAIT_MS);
	cgroup = crash ? jstr(crash, "cgroup") : NULL;
	ASSERT_TRUE(cgroup && strstr(a, cgroup) && strlen(cgroup) > 1, "the crash's cgroup is a");
	/* Another container (cgroup b), same app name and uid: nothing. */
	if (claim_in_container(&fx, b, "cl_ct", ct.ns_pid, out, sizeof(out)))
		ASSERT_STREQ(out, "none\n", "another container's claim");
	/* The host, same uid: nothing. */
	if (run_claim(&fx, FX_NOBODY, "cl_ct", "segv", ct.ns_pid, 1, NULL, out, sizeof(out)))
		ASSERT_STREQ(out, "none\n", "a claim from the host");
	/* The restarted container below the crashed app's cgroup: the exact data, through the fd. */
	if (claim_in_container(&fx, sub, "cl_ct", ct.ns_pid, out, sizeof(out)))
		ASSERT_STREQ(out, "claimed ok\n", "the container's own claim");
	if (claim_in_container(&fx, a, "cl_ct", ct.ns_pid, out, sizeof(out)))
		ASSERT_STREQ(out, "none\n", "and a second one");
	ASSERT_EQ(fx_count(&fx, "claim", -1), 1, "one claim record");
	ASSERT_TRUE(fx_alive(&fx), "the collector lives");
	fx_stop(&fx);
out:
	json_object_put(crash);
	if (made >= 2)
		rmdir(sub);
	if (made >= 1)
		rmdir(a);
	if (made >= 3)
		rmdir(b);
	fx_cleanup(&fx);
}
