// SPDX-License-Identifier: LGPL-2.1-or-later
/* What a crash must leave behind: see crash_check.h. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/crash_id.h"
#include "crash_check.h"
#include "digest/sha256.h"
#include "faultguard.h"
#include "framework/test.h"
#include "helpers/app_data.h"

static bool check_argv(json_object *arr, const char *const *argv, const char *what)
{
	size_t i, n;

	if (!argv)
		return ASSERT_TRUE(arr == NULL, what);
	if (!ASSERT_TRUE(arr && json_object_is_type(arr, json_type_array), what))
		return false;
	for (n = 0; argv[n]; n++)
		;
	if (!ASSERT_EQ(json_object_array_length(arr), n, what))
		return false;
	for (i = 0; i < n; i++)
		if (!ASSERT_STREQ(json_object_get_string(json_object_array_get_idx(arr, i)), argv[i],
				  what))
			return false;
	return true;
}

static json_object *field(json_object *o, const char *key)
{
	json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

size_t fx_expected_bytes(const struct fx_app *a)
{
	struct app_expect x;
	size_t i, sum = 0;

	char count[16];

	app_expect_init(&x, a->mode, a->pid);
	for (i = 0; i < APP_NENTRIES; i++)
		sum += x.e[i].len;
	/* col_app --fill: that many 1 MiB values and the fill.count that says so. */
	if (a->spec.fill_mib)
		sum += (size_t)a->spec.fill_mib * APP_FILL_LEN +
		       (size_t)snprintf(count, sizeof(count), "%u", a->spec.fill_mib);
	return sum;
}

long long fx_expected_keys(const struct fx_app *a)
{
	return APP_NENTRIES + (a->spec.fill_mib ? a->spec.fill_mib + 1 : 0);
}

static int cmp_gid(const void *a, const void *b)
{
	gid_t x = *(const gid_t *)a, y = *(const gid_t *)b;

	return x < y ? -1 : x > y;
}

static bool check_groups(json_object *arr, const struct fx_app *a)
{
	gid_t want[FX_MAX_GROUPS], got[64];
	int nwant = a->spec.ngroups, i;
	size_t n;

	if (nwant)
		memcpy(want, a->spec.groups, sizeof(want));
	else
		want[nwant++] = a->spec.gid;
	if (!ASSERT_TRUE(arr && json_object_is_type(arr, json_type_array), "groups reported"))
		return false;
	n = json_object_array_length(arr);
	if (!ASSERT_EQ(n, nwant, "the rescue has the app's supplementary groups"))
		return false;
	for (i = 0; i < nwant; i++)
		got[i] = (gid_t)json_object_get_int64(json_object_array_get_idx(arr, (size_t)i));
	qsort(want, (size_t)nwant, sizeof(gid_t), cmp_gid);
	qsort(got, (size_t)nwant, sizeof(gid_t), cmp_gid);
	for (i = 0; i < nwant; i++)
		if (!ASSERT_EQ(got[i], want[i], "the rescue has the app's supplementary groups"))
			return false;
	return true;
}

/* The variables a rescue may have beyond FAULTGUARD_*: a login's basics. */
static bool env_name_allowed(const char *name)
{
	static const char *const basics[] = { "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG" };
	size_t i;

	for (i = 0; i < sizeof(basics) / sizeof(basics[0]); i++)
		if (!strcmp(name, basics[i]))
			return true;
	return false;
}

bool fx_check_report(struct fx *fx, struct fx_app *a, json_object *crash, json_object *snapshot,
		     json_object *report, const struct fx_rescue *r)
{
	(void)snapshot;
	json_object *env = field(report, "env"), *fds = field(report, "fds"), *late;
	bool seen_late;
	static const char *const fg_vars[] = {
		"FAULTGUARD_SNAPSHOT", "FAULTGUARD_ID",	    "FAULTGUARD_APP",
		"FAULTGUARD_PID",      "FAULTGUARD_UID",    "FAULTGUARD_CAUSE",
		"FAULTGUARD_SIGNAL",   "FAULTGUARD_EXIT_CODE", "FAULTGUARD_SNAPSHOT_STORED",
	};
	/*
	 * Where the snapshot was as the rescue started: on disk (its file), or
	 * in memory (fd 3) — a big dictionary whose file was still being
	 * written (the record then says "disk"), or one the disk refused.
	 */
	const char *stored = jstr(env, "FAULTGUARD_SNAPSHOT_STORED");
	bool in_memory = stored && !strcmp(stored, "memory");
	char fd_path[64], file[PATH_MAX];
	size_t nfds = in_memory ? 4 : 3;
	char pid[16], uid[16], sig[16], code[16];
	long long signal = -1, exit_code = -1, entries = -1;
	bool ok = true;
	size_t i;

	if (!ASSERT_TRUE(env && json_object_is_type(env, json_type_object), "report has env"))
		return false;
	ok &= ASSERT_TRUE(jint(report, "environ_entries", &entries) &&
				  entries == json_object_object_length(env),
			  "no variable is set twice in the rescue's environment");
	snprintf(pid, sizeof(pid), "%d", (int)a->pid);
	snprintf(uid, sizeof(uid), "%u", (unsigned int)a->spec.uid);
	jint(crash, "signal", &signal);
	snprintf(sig, sizeof(sig), "%lld", signal);
	if (jint(crash, "exit_code", &exit_code))
		snprintf(code, sizeof(code), "%lld", exit_code);
	else
		code[0] = '\0';
	/* On disk: its path. Held in memory: fd 3, by a path through the command's own pid. */
	snprintf(fd_path, sizeof(fd_path), "/proc/%lld/fd/3", jint_or(report, "pid", -1));
	ok &= ASSERT_TRUE(stored && (in_memory || !strcmp(stored, "disk")),
			  "FAULTGUARD_SNAPSHOT_STORED is disk or memory");
	/*
	 * "disk": the file was in place as the rescue started (an fsync that
	 * fails later makes the record say "memory": it is held then).
	 */
	fx_path(file, sizeof(file), "%s/snapshots/%u/%s/%s.fgsnap", fx->state, a->spec.uid,
		a->app, jstr(crash, "id") ?: "(no id)");
	ok &= CHECK_STR(env, "FAULTGUARD_SNAPSHOT", in_memory ? fd_path : file);
	ok &= CHECK_STR(env, "FAULTGUARD_ID", jstr(crash, "id") ?: "(no id)");
	ok &= CHECK_STR(env, "FAULTGUARD_APP", a->app);
	ok &= CHECK_STR(env, "FAULTGUARD_PID", pid);
	ok &= CHECK_STR(env, "FAULTGUARD_UID", uid);
	ok &= CHECK_STR(env, "FAULTGUARD_CAUSE", jstr(crash, "cause") ?: "(no cause)");
	ok &= CHECK_STR(env, "FAULTGUARD_SIGNAL", sig);
	ok &= CHECK_STR(env, "FAULTGUARD_EXIT_CODE", code);
	ok &= ASSERT_TRUE(jstr(env, "FAULTGUARD_SNAPSHOT") && jstr(env, "FAULTGUARD_SNAPSHOT")[0] == '/',
			  "FAULTGUARD_SNAPSHOT is absolute");
	ok &= ASSERT_FALSE(field(env, FX_CANARY_NAME), "the collector's environment leaks");
	seen_late = json_object_object_get_ex(crash, "seen_late", &late) &&
		    json_object_get_boolean(late);
	json_object_object_foreach(env, name, val)
	{
		bool known = env_name_allowed(name);

		(void)val;
		for (i = 0; i < sizeof(fg_vars) / sizeof(fg_vars[0]); i++)
			known |= !strcmp(name, fg_vars[i]);
		/* A death no collector saw is rescued from its autosave, and says so (SPEC §8.2). */
		known |= !strcmp(name, "FAULTGUARD_AUTOSAVE") && seen_late;
		if (!known) {
			test_fail(__FILE__, __LINE__, "the rescue's environment has %s=%s, which is "
				  "neither a FAULTGUARD_ variable nor a login basic", name,
				  json_object_get_string(val));
			ok = false;
		}
	}
	/* As the app's user, all three ids, never root for a non-root app. */
	ok &= CHECK_INT(report, "uid", a->spec.uid) && CHECK_INT(report, "euid", a->spec.uid) &&
	      CHECK_INT(report, "suid", a->spec.uid);
	/* The collector's OOMScoreAdjust= is not the rescue's. */
	ok &= CHECK_STR(report, "oom_score_adj", "0");
	/* Not one of the collector's capabilities reaches another user's rescue. */
	if (a->spec.uid != 0)
		ok &= CHECK_STR(report, "cap_eff", "0000000000000000") &&
		      CHECK_STR(report, "cap_prm", "0000000000000000") &&
		      CHECK_STR(report, "cap_inh", "0000000000000000") &&
		      CHECK_STR(report, "cap_amb", "0000000000000000");
	ok &= CHECK_INT(report, "gid", a->spec.gid) && CHECK_INT(report, "egid", a->spec.gid) &&
	      CHECK_INT(report, "sgid", a->spec.gid);
	ok &= check_groups(field(report, "groups"), a);
	ok &= CHECK_STR(report, "stdin", "/dev/null");
	/* Nothing of the collector's (sockets, memfds, the BPF maps) reaches the command. */
	ok &= ASSERT_TRUE(fds && json_object_array_length(fds) == nfds,
			  "the rescue has only fds 0-2 (and 3, its snapshot, when held in memory)");
	if (fds && json_object_array_length(fds) != nfds)
		fprintf(stderr, "  fds: %s\n", json_object_to_json_string(fds));
	ok &= ASSERT_TRUE(json_object_get_boolean(field(report, "session_leader")),
			  "the rescue leads its own session");
	ok &= ASSERT_TRUE(json_object_get_boolean(field(report, "snapshot_readable")),
			  "the rescue, as the app's user, can open its snapshot");
	ok &= CHECK_INT(report, "snapshot_keys", fx_expected_keys(a));
	ok &= CHECK_STR(report, "snapshot_exact", "");
	/* A program it starts that closed its fds opens the same path all the same. */
	ok &= CHECK_INT(report, "child_snapshot_keys", fx_expected_keys(a));
	if (in_memory)
		ok &= CHECK_STR(report, "snapshot_write", "refused");
	ok &= check_argv(field(report, "argv"), r->argv, "the rescue got its argv");
	return ok;
}

/* The record's sha256 is that of the file's bytes. */
static bool check_sha256(const char *path, const char *want)
{
	char hex[SHA256_HEX_LEN];
	size_t len;
	char *bytes = fx_read_file(path, &len);
	bool ok;

	if (!ASSERT_NOT_NULL(bytes, "read the snapshot file") ||
	    !ASSERT_OK(sha256_hex(bytes, len, hex), "its sha256")) {
		free(bytes);
		return false;
	}
	free(bytes);
	ok = ASSERT_TRUE(want != NULL, "the snapshot record has a sha256");
	return ok && ASSERT_STREQ(want, hex, "the record's sha256 is the file's");
}

static bool check_owned(const char *path, uid_t uid, gid_t gid, mode_t mode, const char *what)
{
	struct stat st;

	if (!ASSERT_OK(lstat(path, &st) ? -errno : 0, what))
		return false;
	if (!ASSERT_EQ(st.st_uid, uid, what) || !ASSERT_EQ(st.st_gid, gid, what) ||
	    !ASSERT_EQ(st.st_mode & 07777, mode, what)) {
		fprintf(stderr, "  %s: %u:%u %o\n", path, st.st_uid, st.st_gid, st.st_mode & 07777);
		return false;
	}
	return true;
}

bool fx_check_snapshot_file(struct fx *fx, struct fx_app *a, json_object *snap, const char *id)
{
	char want[PATH_MAX], dir[PATH_MAX], why[256];
	const char *path = jstr(snap, "path"), *app = NULL;
	struct fg_snapshot *s;
	unsigned int uid = 0;
	int pid = 0;
	bool ok;

	if (!fx_path(want, sizeof(want), "%s/snapshots/%u/%s/%s.fgsnap", fx->state, a->spec.uid,
		      a->app, id) ||
	    !CHECK_STR(snap, "path", want))
		return false;
	ok = check_owned(path, a->spec.uid, a->spec.gid, 0600, "the snapshot: app's, 0600");
	fx_path(dir, sizeof(dir), "%s/snapshots/%u/%s", fx->state, a->spec.uid, a->app);
	ok &= check_owned(dir, a->spec.uid, a->spec.gid, 0700, "the app's snapshot folder: 0700");
	fx_path(dir, sizeof(dir), "%s/snapshots/%u", fx->state, a->spec.uid);
	ok &= check_owned(dir, a->spec.uid, a->spec.gid, 0700, "the user's snapshot folder: 0700");
	ok &= check_sha256(path, jstr(snap, "sha256"));
	s = fg_snapshot_open(path);
	if (!ASSERT_NOT_NULL(s, "fg_snapshot_open"))
		return false;
	if (!ASSERT_OK(app_snapshot_diff(s, a->mode, a->pid, why, sizeof(why)),
		       "the snapshot holds exactly what the app wrote"))
		fprintf(stderr, "  %s\n", why);
	else if (ASSERT_OK(fg_snapshot_meta(s, &app, &pid, &uid, NULL), "snapshot meta"))
		ok &= ASSERT_STREQ(app, a->app, "snapshot app") &&
		      ASSERT_EQ(pid, a->pid, "snapshot pid") &&
		      ASSERT_EQ(uid, a->spec.uid, "snapshot uid");
	else
		ok = false;
	fg_snapshot_close(s);
	return ok;
}

bool fx_check_crash(struct fx *fx, struct fx_app *a, const struct fx_crash *x,
		    struct fx_rescue *r, char *id_out)
{
	json_object *crash = NULL, *snap = NULL, *resc = NULL, *report = NULL;
	const char *status = x->rescue_status ? x->rescue_status : "ok";
	char id[CRASH_ID_LEN], infix[32], name[32];
	bool ok = false;

	/* The registration it began with. */
	crash = fx_find(fx, "register", a->pid, 0);
	if (!ASSERT_NOT_NULL(crash, "register record") || !CHECK_STR(crash, "app", a->app) ||
	    !CHECK_INT(crash, "uid", a->spec.uid) || !CHECK_INT(crash, "gid", a->spec.gid) ||
	    !CHECK_STR(crash, "comm", "col_app") ||
	    !(a->spec.rescue_argv ? check_argv(field(crash, "rescue_argv"), a->spec.rescue_argv,
					       "register rescue_argv")
				  : CHECK_NULL(crash, "rescue_argv")))
		goto out;
	json_object_put(crash);
	crash = fx_wait(fx, "crash", a->pid, 0, FX_WAIT_MS);
	if (!crash || !ASSERT_NOT_NULL(jstr(crash, "id"), "crash id") ||
	    !ASSERT_TRUE(strlen(jstr(crash, "id")) < sizeof(id), "the crash id fits CRASH_ID_LEN"))
		goto out;
	strcpy(id, jstr(crash, "id"));
	if (id_out)
		strcpy(id_out, id);
	snprintf(infix, sizeof(infix), "-%d-", (int)a->pid);
	if (!ASSERT_TRUE(crash_id_valid(id) && strstr(id, infix), "the crash id names the pid"))
		goto out;
	/* The crash record, SPEC §5. */
	if (!CHECK_STR(crash, "app", a->app) || !CHECK_INT(crash, "uid", a->spec.uid) ||
	    !CHECK_STR(crash, "cause", x->cause) || !CHECK_INT(crash, "signal", x->signal))
		goto out;
	if (x->signal) {
		snprintf(name, sizeof(name), "SIG%s", sigabbrev_np(x->signal));
		if (!CHECK_STR(crash, "signal_name", name) || !CHECK_INT(crash, "si_code", x->si_code) ||
		    !CHECK_NULL(crash, "exit_code"))
			goto out;
	} else if (!CHECK_NULL(crash, "signal_name") || !CHECK_NULL(crash, "si_code") ||
		   !CHECK_INT(crash, "exit_code", x->exit_code)) {
		goto out;
	}
	if (!(x->fault_addr ? CHECK_STR(crash, "fault_addr", x->fault_addr)
			    : CHECK_NULL(crash, "fault_addr")))
		goto out;
	if (x->sender_pid) {
		if (!CHECK_INT(crash, "sender_pid", x->sender_pid) ||
		    !CHECK_INT(crash, "sender_uid", x->sender_uid) ||
		    !CHECK_STR(crash, "sender_comm", x->sender_comm))
			goto out;
	} else if (!CHECK_NULL(crash, "sender_pid") || !CHECK_NULL(crash, "sender_uid") ||
		   !CHECK_NULL(crash, "sender_comm")) {
		goto out;
	}
	/* The kernel's own verdict, as the app's parent saw it in the wait status. */
	if (!ASSERT_TRUE(a->reaped, "the app was waited for before the check") ||
	    !ASSERT_TRUE(json_object_is_type(field(crash, "core_dumped"), json_type_boolean),
			 "core_dumped is a boolean") ||
	    !ASSERT_EQ(json_object_get_boolean(field(crash, "core_dumped")),
		       WIFSIGNALED(a->status) && WCOREDUMP(a->status),
		       "core_dumped matches the wait status"))
		goto out;

	/* The snapshot record and file. */
	snap = fx_wait_id(fx, "snapshot", id, FX_WAIT_MS);
	if (!snap || !CHECK_STR(snap, "app", a->app) || !CHECK_INT(snap, "pid", a->pid) ||
	    !CHECK_INT(snap, "keys", fx_expected_keys(a)) ||
	    !CHECK_INT(snap, "bytes", (long long)fx_expected_bytes(a)) ||
	    !CHECK_INT(snap, "discarded", 0) || !ASSERT_TRUE(jms(snap, "ms", &(double){ 0 }),
							     "snapshot ms, three decimals") ||
	    !ASSERT_TRUE(jstr(snap, "sha256") && strlen(jstr(snap, "sha256")) == 64,
			 "the snapshot record has a sha256"))
		goto out;
	if (x->stored && !strcmp(x->stored, "memory")) {
		/* Refused by the disk: held in memory, the record says why. */
		if (!CHECK_STR(snap, "stored", "memory") || !CHECK_NULL(snap, "path") ||
		    !ASSERT_TRUE(jstr(snap, "error") &&
					 (!x->disk_error || strstr(jstr(snap, "error"), x->disk_error)),
				 "the snapshot record says why the disk refused it")) {
			fprintf(stderr, "  error: %s\n", jstr(snap, "error") ?: "(none)");
			goto out;
		}
	} else if (!CHECK_STR(snap, "stored", "disk") || !CHECK_NULL(snap, "error") ||
		   !fx_check_snapshot_file(fx, a, snap, id)) {
		goto out;
	}

	/* The rescue record. */
	resc = fx_wait_id(fx, "rescue", id, FX_WAIT_MS + fx->rescue_timeout * 1000);
	if (!resc || !CHECK_STR(resc, "app", a->app) || !CHECK_INT(resc, "pid", a->pid) ||
	    !CHECK_STR(resc, "status", status) ||
	    !(a->spec.rescue_argv ? check_argv(field(resc, "argv"), a->spec.rescue_argv, "argv")
				  : CHECK_NULL(resc, "argv")))
		goto out;
	if (!strcmp(status, "ok") &&
	    (!CHECK_INT(resc, "exit_code", 0) || !CHECK_NULL(resc, "signal") ||
	     !ASSERT_TRUE(jms(resc, "ms", &(double){ 0 }), "rescue ms, three decimals") ||
	     !ASSERT_TRUE(jms(resc, "latency_ms", &(double){ 0 }),
			  "rescue latency_ms, three decimals") ||
	     !ASSERT_TRUE(jstr(resc, "output") != NULL, "rescue output")))
		goto out;
	ok = true;
	if (r) {
		report = fx_rescue_report(r, FX_WAIT_MS);
		ok = report && fx_check_report(fx, a, crash, snap, report, r);
	}
out:
	json_object_put(crash);
	json_object_put(snap);
	json_object_put(resc);
	json_object_put(report);
	return ok;
}

bool fx_check_no_crash(struct fx *fx, struct fx_app *a)
{
	char dir[PATH_MAX];
	json_object *o;
	bool ok = true;

	if (!fx_barrier(fx))
		return false;
	o = fx_find(fx, "crash", a->pid, 0);
	if (o) {
		test_fail(__FILE__, __LINE__, "a crash was recorded for pid %d: %s", (int)a->pid,
			  json_object_to_json_string(o));
		ok = false;
	}
	json_object_put(o);
	ok &= ASSERT_EQ(fx_count(fx, "snapshot", a->pid), 0, "no snapshot record");
	ok &= ASSERT_EQ(fx_count(fx, "rescue", a->pid), 0, "no rescue record");
	fx_path(dir, sizeof(dir), "%s/snapshots/%u/%s", fx->state, a->spec.uid, a->app);
	ok &= ASSERT_TRUE(access(dir, F_OK) < 0 && errno == ENOENT, "no snapshot folder for the app");
	return ok;
}
