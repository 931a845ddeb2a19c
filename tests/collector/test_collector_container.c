// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Apps in containers (SPEC §8.5), with real namespaces: unshare(1) and a
 * private root of bind mounts (tests/helpers/ct_enter), the collector's
 * socket directory bind-mounted in. A segfault, a SIGKILL and an OOM kill
 * of an app inside are rescued by /ct-only/rescue.sh, a command that
 * exists only in the container: it runs in the app's mount, PID, uts, ipc
 * and net namespaces, as the app's user (the container's passwd), sees the
 * container's files, writes where that user may, and reads the snapshot
 * passed in as fd 3. The app as the container's PID 1 (rescued in a PID
 * namespace of its own, the other namespaces the container's); a rootless
 * (user-namespaced) one; and hostile ones: a symlink trap where the
 * command is resolved, a mount namespace left after registration.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "container.h"
#include "digest/sha256.h"
#include "framework/test.h"

static const char *const rescue[] = { "/ct-only/rescue.sh", NULL };

/* Token @i (0-based, space-separated) of @s into @buf. */
static const char *token(const char *s, int i, char *buf, size_t len)
{
	const char *p = s, *end;

	while (i-- > 0 && p)
		p = (p = strchr(p, ' ')) ? p + 1 : NULL;
	if (!p) {
		buf[0] = '\0';
		return buf;
	}
	end = strchr(p, ' ');
	snprintf(buf, len, "%.*s", end ? (int)(end - p) : (int)strlen(p), p);
	return buf;
}

/*
 * The records of @ct's crash and the report of its rescue: all of SPEC §8.5.
 * @dead_pidns: the app was the container's PID 1, so the rescue has a PID
 * namespace (and a private copy of the mount namespace) of its own.
 */
static void check_rescued_ns(struct fx *fx, struct ct *ct, const char *app, const char *cause,
			     uid_t uid, int dead_pidns)
{
	json_object *crash = NULL, *snap = NULL, *res = NULL, *reg = NULL;
	char v[512], path[PATH_MAX], sha[SHA256_HEX_LEN], want_ns[512];
	char *report = NULL, *bytes = NULL;
	size_t n = 0;

	crash = fx_wait(fx, "crash", ct->host_pid, 0, FX_WAIT_MS);
	res = fx_wait(fx, "rescue", ct->host_pid, 0, FX_WAIT_MS);
	snap = fx_wait(fx, "snapshot", ct->host_pid, 0, FX_WAIT_MS);
	reg = fx_wait(fx, "register", ct->host_pid, 0, FX_WAIT_MS);
	if (!crash || !res || !snap || !reg)
		goto out;
	CHECK_STR(crash, "cause", cause);
	CHECK_INT(crash, "ns_pid", ct->ns_pid);
	CHECK_INT(reg, "ns_pid", ct->ns_pid);
	ASSERT_TRUE(ct->host_pid != ct->ns_pid, "the records' pid is the host's");
	ASSERT_NOT_NULL(jstr(crash, "cgroup"), "the crash record has the cgroup");
	ASSERT_NOT_NULL(jstr(reg, "cgroup"), "the register record has the cgroup");
	if (!CHECK_STR(res, "status", "ok"))
		fprintf(stderr, "  rescue output: %s\n", jstr(res, "output") ? jstr(res, "output") : "");
	report = ct_report(fx, app, FX_WAIT_MS);
	if (!report)
		goto out;
	snprintf(v, sizeof(v), "%u", (unsigned int)uid);
	ASSERT_STREQ(ct_field(report, "uid", v + 32, sizeof(v) - 32), v, "the app's uid");
	if (uid == 65534) {
		ASSERT_STREQ(ct_field(report, "user", v, sizeof(v)), "ctuser",
			     "the user named by the container's passwd");
		ASSERT_STREQ(ct_field(report, "home", v, sizeof(v)), "/home/ctuser", "its home there");
		ASSERT_STREQ(ct_field(report, "pwd", v, sizeof(v)), "/home/ctuser", "started there");
		ASSERT_STREQ(ct_field(report, "home_write", v, sizeof(v)), "ok",
			     "it writes where the app's user may");
		ASSERT_STREQ(ct_field(report, "etc_write", v, sizeof(v)), "refused",
			     "and not where it may not");
	}
	ASSERT_STREQ(ct_field(report, "marker", v, sizeof(v)), "inside", "the container's files");
	ASSERT_STREQ(ct_field(report, "hostname", v, sizeof(v)), "ct", "the container's uts");
	ASSERT_STREQ(ct_field(report, "pid_visible", v, sizeof(v)), "yes",
		     "in the container's PID namespace");
	snprintf(want_ns, sizeof(want_ns), "%s", ct->ns);
	if (!dead_pidns) {
		ASSERT_STREQ(ct_field(report, "ns", v, sizeof(v)), want_ns,
			     "mount, pid, net, uts, ipc: the container's");
	} else {
		char a[64], b[64];
		int i;

		ct_field(report, "ns", v, sizeof(v));
		for (i = 3; i <= 5; i++)
			ASSERT_STREQ(token(v, i, a, sizeof(a)), token(want_ns, i, b, sizeof(b)),
				     "net, uts, ipc: the container's");
		for (i = 1; i <= 2; i++)
			ASSERT_TRUE(strcmp(token(v, i, a, sizeof(a)), token(want_ns, i, b, sizeof(b))),
				    "mount (a private copy) and pid: the rescue's own");
	}
	ASSERT_STREQ(ct_field(report, "stored", v, sizeof(v)), "disk", "stored");
	ASSERT_TRUE(!strncmp(ct_field(report, "snapshot", v, sizeof(v)), "/proc/", 6),
		    "the snapshot comes in as an fd, /proc/PID/fd/3");
	fx_path(path, sizeof(path), "%s/%s.snap", fx->out, app);
	bytes = fx_read_file(path, &n);
	if (ASSERT_NOT_NULL(bytes, "the rescue's copy of the snapshot") &&
	    ASSERT_OK(sha256_hex(bytes, n, sha), "sha256"))
		CHECK_STR(snap, "sha256", sha);
out:
	free(report);
	free(bytes);
	json_object_put(crash);
	json_object_put(snap);
	json_object_put(res);
	json_object_put(reg);
}

static void check_rescued(struct fx *fx, struct ct *ct, const char *app, const char *cause,
			  uid_t uid)
{
	check_rescued_ns(fx, ct, app, cause, uid, 0);
}

static bool rescue_absent_on_host(void)
{
	return ASSERT_TRUE(access("/ct-only/rescue.sh", F_OK) < 0,
			   "the rescue command does not exist on the host");
}

TEST(segfault_in_a_container_rescued_inside)
{
	struct fx fx;
	struct ct ct;
	char line[256];

	if (!ct_begin(&fx))
		goto out;
	rescue_absent_on_host();
	if (!ct_start(&fx, &ct, &(struct ct_spec){ .app = "ct_segv", .mode = "segv",
						   .rescue_argv = rescue, .uid = 65534 }))
		goto out;
	if (ct_read_line(&ct, line, sizeof(line), FX_WAIT_MS))
		ASSERT_STREQ(line, "app-ended 139", "the app segfaulted");
	check_rescued(&fx, &ct, "ct_segv", "segfault", 65534);
	ct_end(&ct, FX_WAIT_MS);
	ASSERT_TRUE(fx_alive(&fx), "the collector lives");
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

TEST(sigkill_in_a_container_rescued_inside)
{
	struct fx fx;
	struct ct ct;
	char line[256];

	if (!ct_begin(&fx))
		goto out;
	if (!ct_start(&fx, &ct, &(struct ct_spec){ .app = "ct_kill", .mode = "wait",
						   .rescue_argv = rescue, .uid = 0 }))
		goto out;
	ASSERT_OK(kill((pid_t)ct.host_pid, SIGKILL) ? -errno : 0, "SIGKILL the app from the host");
	if (ct_read_line(&ct, line, sizeof(line), FX_WAIT_MS))
		ASSERT_STREQ(line, "app-ended 137", "the app was killed");
	check_rescued(&fx, &ct, "ct_kill", "killed", 0);
	ct_end(&ct, FX_WAIT_MS);
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

TEST(oom_in_a_container_rescued_inside)
{
	struct fx fx;
	struct ct ct;
	char cg[PATH_MAX], line[256];

	cg[0] = '\0';
	if (!ct_begin(&fx))
		goto out;
	if (!fx_memcg_create(cg, sizeof(cg), 64ull << 20)) {
		cg[0] = '\0';
		goto out;
	}
	if (!ct_start(&fx, &ct, &(struct ct_spec){ .app = "ct_oom", .mode = "oom",
						   .rescue_argv = rescue, .uid = 65534,
						   .cgroup = cg }))
		goto out;
	if (ct_read_line(&ct, line, sizeof(line), 60000))
		ASSERT_STREQ(line, "app-ended 137", "the OOM killer killed the app");
	check_rescued(&fx, &ct, "ct_oom", "oom_killed", 65534);
	ct_end(&ct, FX_WAIT_MS);
	fx_stop(&fx);
out:
	if (cg[0])
		fx_memcg_remove(cg);
	fx_cleanup(&fx);
}

/*
 * The app is the container's PID 1: when it dies its PID namespace takes
 * no new process. The rescue enters the others (mount, as a private copy,
 * uts, ipc, net) and runs as the init of a PID namespace of its own, with
 * its own /proc; it still sees the container's files and its snapshot.
 */
TEST(app_as_the_containers_pid1)
{
	struct fx fx;
	struct ct ct;
	char line[256];

	if (!ct_begin(&fx))
		goto out;
	rescue_absent_on_host();
	if (!ct_start(&fx, &ct, &(struct ct_spec){ .app = "ct_pid1", .mode = "segv",
						   .rescue_argv = rescue, .uid = 65534,
						   .pid1 = 1 }))
		goto out;
	ASSERT_EQ(ct.ns_pid, 1, "the app is the container's PID 1");
	check_rescued_ns(&fx, &ct, "ct_pid1", "segfault", 65534, 1);
	/* Its init was the app: the container ends with it (unshare's exit). */
	if (!ct_end(&ct, FX_WAIT_MS))
		goto out;
	(void)line;
	ASSERT_TRUE(fx_alive(&fx), "the collector lives");
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/* Rootless: the app in a user namespace of its own registers for snapshots only. */
TEST(rootless_container_rescue_refused_at_registration)
{
	struct fx fx;
	struct ct ct;
	json_object *rej = NULL;
	const char *why;

	if (!ct_begin(&fx))
		goto out;
	if (!ct_start(&fx, &ct, &(struct ct_spec){ .app = "ct_userns", .mode = "segv",
						   .rescue_argv = rescue, .userns = 1 }))
		goto out;
	rej = fx_wait(&fx, "reject", -1, 0, FX_WAIT_MS);
	if (rej) {
		why = jstr(rej, "reason");
		ASSERT_TRUE(why && strstr(why, "another user namespace"), "the sentence says why");
	}
	ASSERT_EQ(fx_count(&fx, "register", -1), 0, "no registration with a rescue");
	/* The app waits for a registration that does not come. */
	ct_kill(&ct);
	ASSERT_TRUE(fx_alive(&fx), "the collector lives");
	fx_stop(&fx);
out:
	json_object_put(rej);
	fx_cleanup(&fx);
}

/*
 * Hostile: /ct-only/rescue.sh is a symlink to a host path (absolute). Had
 * the collector resolved it from the host (/proc/PID/root/...), the host's
 * script would run; inside the container it names nothing.
 */
TEST(hostile_symlink_trap_where_the_command_resolves)
{
	struct fx fx;
	struct ct ct;
	json_object *res = NULL;
	char evil[PATH_MAX], touched[PATH_MAX], link[PATH_MAX], text[PATH_MAX + 64];
	const char *out;

	if (!ct_begin(&fx))
		goto out;
	fx_path(evil, sizeof(evil), "%s/evil.sh", fx.dir);
	fx_path(touched, sizeof(touched), "%s/host-file-touched", fx.dir);
	fx_path(link, sizeof(link), "%s/ctonly/trap.sh", fx.dir);
	snprintf(text, sizeof(text), "#!/bin/sh\ntouch %s\n", touched);
	if (!ASSERT_OK(fx_write_file(evil, text), "write the host's script") ||
	    !ASSERT_OK(chmod(evil, 0755) ? -errno : 0, "chmod") ||
	    !ASSERT_OK(symlink(evil, link) ? -errno : 0, "the trap"))
		goto out;
	if (!ct_start(&fx, &ct, &(struct ct_spec){ .app = "ct_trap", .mode = "segv",
						   .rescue_argv = (const char *const[]){
							   "/ct-only/trap.sh", NULL },
						   .uid = 0 }))
		goto out;
	res = fx_wait(&fx, "rescue", ct.host_pid, 0, FX_WAIT_MS);
	if (res) {
		CHECK_STR(res, "status", "spawn_error");
		out = jstr(res, "output");
		ASSERT_TRUE(out && strstr(out, "inside the container"), "said so");
	}
	ct_end(&ct, FX_WAIT_MS);
	ASSERT_TRUE(fx_barrier(&fx), "barrier");
	ASSERT_TRUE(access(touched, F_OK) < 0, "no host file touched");
	ASSERT_TRUE(fx_alive(&fx), "the collector lives");
	fx_stop(&fx);
out:
	json_object_put(res);
	fx_cleanup(&fx);
}

/*
 * Hostile: after registering, the app (root in the container) moves to a
 * new mount namespace whose /ct-only holds another rescue.sh. The rescue
 * runs in the namespaces kept at registration: the container's own
 * rescue.sh, never the other one, and nothing on the host.
 */
TEST(hostile_mount_namespace_changed_after_registration)
{
	struct fx fx;
	struct ct ct;
	char line[256], path[PATH_MAX];

	if (!ct_begin(&fx))
		goto out;
	if (!ct_start(&fx, &ct, &(struct ct_spec){ .app = "ct_newns", .mode = "stdin",
						   .rescue_argv = rescue, .uid = 0 }))
		goto out;
	if (!ct_send(&ct, "newns") || !ct_read_line(&ct, line, sizeof(line), FX_WAIT_MS) ||
	    !ASSERT_STREQ(line, "newns 0", "the app left its mount namespace"))
		goto end;
	ct_send(&ct, "segv");
	if (ct_read_line(&ct, line, sizeof(line), FX_WAIT_MS))
		ASSERT_STREQ(line, "app-ended 139", "the app segfaulted");
	check_rescued(&fx, &ct, "ct_newns", "segfault", 0);
	fx_path(path, sizeof(path), "%s/from-new-ns", fx.out);
	ASSERT_TRUE(access(path, F_OK) < 0, "the new namespace's command did not run");
end:
	ct_end(&ct, FX_WAIT_MS);
	ASSERT_TRUE(fx_alive(&fx), "the collector lives");
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}

/*
 * A hand-over (SIGUSR2) carries what registration learnt of a container
 * app (its namespaces and root, ns_pid, cgroup): killed after it, the app
 * is still rescued inside its container, not refused.
 */
TEST(container_app_rescued_inside_after_a_handover)
{
	json_object *up;
	struct fx fx;
	struct ct ct;
	char line[256];

	if (!ct_begin(&fx))
		goto out;
	if (!ct_start(&fx, &ct, &(struct ct_spec){ .app = "ct_handover", .mode = "wait",
						   .rescue_argv = rescue, .uid = 65534 }))
		goto out;
	if (!ASSERT_OK(fx_signal(&fx, SIGUSR2), "SIGUSR2"))
		goto end;
	up = fx_wait(&fx, "upgrade", -1, 0, FX_WAIT_MS);
	if (!ASSERT_NOT_NULL(up, "an upgrade record") ||
	    !ASSERT_STREQ(jstr(up, "status"), "ok", "the hand-over went through")) {
		json_object_put(up);
		goto end;
	}
	json_object_put(up);
	ASSERT_OK(kill((pid_t)ct.host_pid, SIGKILL) ? -errno : 0, "SIGKILL the app from the host");
	if (ct_read_line(&ct, line, sizeof(line), FX_WAIT_MS))
		ASSERT_STREQ(line, "app-ended 137", "the app was killed");
	check_rescued(&fx, &ct, "ct_handover", "killed", 65534);
end:
	ct_end(&ct, FX_WAIT_MS);
	ASSERT_TRUE(fx_alive(&fx), "the collector lives");
	fx_stop(&fx);
out:
	fx_cleanup(&fx);
}
