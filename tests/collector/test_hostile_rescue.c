// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hostile clients, part 5: the rescue command. It runs with least privilege
 * (the app's uid, gid and groups, never root for a non-root app), a clean
 * environment, stdin /dev/null and no fd beyond 0-2 — checked from inside
 * the command. A command that prints megabytes, one that prints forever and
 * one that leaves a daemon holding its output pipe: the record holds at
 * most 4 KiB, the collector's memory stays flat, nothing stalls, and the
 * record is finished.
 */
#include <dirent.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "framework/test.h"
#include "hostile.h"

/* The value of "name=" on its own line of @out, into @buf. */
static const char *line_value(const char *out, const char *name, char *buf, size_t cap)
{
	size_t n = strlen(name);
	const char *p = out;

	while (p && *p) {
		if (!strncmp(p, name, n) && p[n] == '=') {
			const char *e = strchr(p, '\n');
			size_t len = e ? (size_t)(e - p - (ptrdiff_t)n - 1) : strlen(p + n + 1);

			snprintf(buf, cap, "%.*s", (int)len, p + n + 1);
			return buf;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static bool env_allowed(const char *var)
{
	static const char *const allowed[] = { "PATH=", "HOME=", "USER=", "LOGNAME=", "SHELL=",
					       "LANG=", "FAULTGUARD_" };
	size_t i;

	for (i = 0; i < sizeof(allowed) / sizeof(allowed[0]); i++)
		if (!strncmp(var, allowed[i], strlen(allowed[i])))
			return true;
	return false;
}

/*
 * Whether every thread of @pid still has uid 0 and gid 0: the rescue's
 * privilege drop (in a child that shares the collector's memory until its
 * exec) must change the child's ids only, never a thread of the collector.
 */
static bool threads_still_root(pid_t pid)
{
	char dir[64], path[320], line[256];
	struct dirent *d;
	int threads = 0;
	bool ok = true;
	DIR *t;

	snprintf(dir, sizeof(dir), "/proc/%d/task", (int)pid);
	t = opendir(dir);
	if (!ASSERT_NOT_NULL(t, "the collector's threads"))
		return false;
	while ((d = readdir(t))) {
		FILE *f;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%.200s/status", dir, d->d_name);
		f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f))
			if ((!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4)) &&
			    strcmp(line + 4, "\t0\t0\t0\t0\n")) {
				fprintf(stderr, "  thread %s: %s", d->d_name, line);
				ok = false;
			}
		if (f) {
			fclose(f);
			threads++;
		}
	}
	closedir(t);
	return ASSERT_GE(threads, 2, "the collector has threads") &&
	       ASSERT_TRUE(ok, "every thread of the collector is still root");
}

TEST(hostile_rescue_least_privilege)
{
	struct fx col;
	struct hostile_app a = { .app = "unprivileged", .uid = FX_NOBODY, .gid = FX_NOBODY,
				 .ngroups = 2, .groups = { FX_NOBODY, 4242 }, .seed = 77 };
	json_object *resc = NULL, *snap = NULL;
	const char *out, *p;
	char v[256], want[64];
	struct stat st;
	int nenv = 0;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	if (!hostile_app_start(&col, &a) || !ASSERT_EQ(a.status, 0, "nobody registers"))
		goto out;
	hostile_app_kill(&a, SIGSEGV);
	resc = hostile_expect_rescued(&col, &a, "nobody's app");
	out = jstr(resc, "output");
	if (!ASSERT_NOT_NULL(out, "the rescue's output"))
		goto out;
	/* Real, effective and saved ids: all the app's; the groups exactly its own. */
	ASSERT_STREQ(line_value(out, "uid", v, sizeof(v)), "65534,65534,65534", "uids");
	ASSERT_STREQ(line_value(out, "gid", v, sizeof(v)), "65534,65534,65534", "gids");
	line_value(out, "groups", v, sizeof(v));
	ASSERT_TRUE(!strcmp(v, "65534,4242") || !strcmp(v, "4242,65534"), "supplementary groups");
	ASSERT_STREQ(line_value(out, "stdin", v, sizeof(v)), "/dev/null", "stdin");
	ASSERT_STREQ(line_value(out, "fds", v, sizeof(v)), "0 1 2 ", "no inherited fds");
	/* Only the documented variables, none of the collector's own. */
	for (p = strstr(out, "env "); p; p = strstr(p + 1, "\nenv ")) {
		const char *var = p[0] == '\n' ? p + 5 : p + 4;
		char name[128];

		snprintf(name, sizeof(name), "%.*s", (int)strcspn(var, "\n"), var);
		if (!ASSERT_TRUE(env_allowed(name), name))
			break;
		nenv++;
	}
	ASSERT_GE(nenv, 8, "the rescue environment");
	snprintf(want, sizeof(want), "env FAULTGUARD_PID=%d\n", hostile_app_pid(&a));
	ASSERT_TRUE(strstr(out, want) != NULL, want);
	ASSERT_TRUE(strstr(out, "env FAULTGUARD_UID=65534\n") != NULL, "FAULTGUARD_UID");
	ASSERT_TRUE(strstr(out, "env FAULTGUARD_CAUSE=segfault\n") != NULL, "FAULTGUARD_CAUSE");
	/* The snapshot and its folders are the app's, closed to everyone else. */
	snap = fx_find(&col, "snapshot", hostile_app_pid(&a), 0);
	if (ASSERT_NOT_NULL(snap, "snapshot") &&
	    ASSERT_OK(stat(jstr(snap, "path"), &st), "stat the snapshot")) {
		ASSERT_EQ(st.st_uid, FX_NOBODY, "snapshot owner");
		ASSERT_EQ(st.st_mode & 07777, 0600, "snapshot mode");
	}
	{
		char dir[PATH_MAX + 64];

		snprintf(dir, sizeof(dir), "%s/snapshots/65534/unprivileged", col.state);
		if (ASSERT_OK(stat(dir, &st), "the app's folder")) {
			ASSERT_EQ(st.st_uid, FX_NOBODY, "app folder owner");
			ASSERT_EQ(st.st_mode & 07777, 0700, "app folder mode");
		}
		snprintf(dir, sizeof(dir), "%s/snapshots/65534", col.state);
		if (ASSERT_OK(stat(dir, &st), "the user's folder")) {
			ASSERT_EQ(st.st_uid, FX_NOBODY, "user folder owner");
			ASSERT_EQ(st.st_mode & 07777, 0700, "user folder mode");
		}
	}
	threads_still_root(col.pid);
	hostile_after(&col, "an unprivileged app's rescue");
out:
	json_object_put(resc);
	json_object_put(snap);
	hostile_stop(&col);
}

static long long peak_rss_kib(pid_t pid)
{
	char path[64], line[256];
	long long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "VmHWM:", 6))
			kib = atoll(line + 6);
	if (f)
		fclose(f);
	return kib;
}

/* Starts an app whose rescue is hostile_rescue @mode [@arg] and kills it. */
static bool crash_with_rescue(struct fx *c, struct hostile_app *a, const char *app,
			      const char *mode, const char *arg)
{
	static const char *argv[4];

	argv[0] = hostile_rescue_bin();
	argv[1] = mode;
	argv[2] = arg;
	argv[3] = NULL;
	*a = (struct hostile_app){ .app = app, .rescue = argv, .seed = 3 };
	if (!hostile_app_start(c, a) || !ASSERT_EQ(a->status, 0, app))
		return false;
	hostile_app_kill(a, SIGABRT);
	return true;
}

static bool output_is(json_object *resc, char a, char b, const char *what)
{
	const char *out = jstr(resc, "output");
	size_t i, n = out ? strlen(out) : 0;

	if (!ASSERT_EQ(n, 4096, what))
		return false;
	for (i = 0; i < n; i++)
		if (out[i] != (i % 2 ? b : a))
			return ASSERT_TRUE(false, what);
	return true;
}

TEST(hostile_rescue_megabytes)
{
	struct fx col;
	struct hostile_app a;
	json_object *resc = NULL;
	long long before, after;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	before = peak_rss_kib(col.pid);
	if (!crash_with_rescue(&col, &a, "flood", "flood", "67108864"))
		goto out;
	resc = hostile_expect_rescued(&col, &a, "64 MiB of output");
	if (!ASSERT_NOT_NULL(resc, "record") ||
	    !ASSERT_STREQ(jstr(resc, "status"), "ok", "status") ||
	    !output_is(resc, 'x', 'x', "the first 4 KiB, no more"))
		goto out;
	after = peak_rss_kib(col.pid);
	/* 64 MiB went through; the collector's peak memory hardly moved. */
	ASSERT_TRUE(before > 0 && after - before < 8 * 1024, "the collector's peak memory");
	if (after - before >= 8 * 1024)
		fprintf(stderr, "    VmHWM %lld KiB -> %lld KiB\n", before, after);
	hostile_after(&col, "a rescue printing 64 MiB");
out:
	json_object_put(resc);
	hostile_stop(&col);
}

TEST(hostile_rescue_prints_forever)
{
	struct fx col;
	struct hostile_app a;
	json_object *resc = NULL;

	/* A 3 s limit: the endless command is killed by it. */
	if (!hostile_start(&col, NULL, 3))
		goto out;
	if (!crash_with_rescue(&col, &a, "endless", "forever", "4"))
		goto out;
	/* While it floods the collector's pipe, the collector serves others. */
	if (!hostile_legit(&col, "while a rescue prints without end"))
		goto out;
	resc = hostile_expect_rescued(&col, &a, "endless output");
	if (!ASSERT_NOT_NULL(resc, "record") ||
	    !ASSERT_STREQ(jstr(resc, "status"), "timeout", "killed at its time limit") ||
	    !output_is(resc, 'y', '\n', "the first 4 KiB, no more"))
		goto out;
	hostile_after(&col, "a rescue printing forever");
out:
	json_object_put(resc);
	hostile_stop(&col);
}

TEST(hostile_rescue_leaves_daemon)
{
	struct fx col;
	struct hostile_app a;
	json_object *resc = NULL;
	const char *out;
	pid_t daemon = -1;

	/* The default 60 s limit: the record must not wait for it, nor for the daemon. */
	if (!hostile_start(&col, NULL, 0))
		goto out;
	if (!crash_with_rescue(&col, &a, "daemonizer", "daemon", NULL))
		goto out;
	resc = hostile_expect_rescued(&col, &a, "a rescue that leaves a daemon");
	out = jstr(resc, "output");
	if (!ASSERT_NOT_NULL(resc, "record") ||
	    !ASSERT_STREQ(jstr(resc, "status"), "ok", "status") ||
	    !ASSERT_TRUE(out && !strncmp(out, "daemon=", 7), "the daemon's pid"))
		goto out;
	daemon = atoi(out + 7);
	/* The record is finished while the daemon still holds the pipe... */
	if (!ASSERT_OK(kill(daemon, 0), "the daemon lives on"))
		goto out;
	/* ... and the collector has let go of its end. */
	hostile_after(&col, "a rescue that leaves a daemon");
out:
	if (daemon > 0)
		kill(daemon, SIGKILL);
	json_object_put(resc);
	hostile_stop(&col);
}
