// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Metrics: `faultguardctl metrics` and the node_exporter textfile pass
 * `promtool check metrics` (the Prometheus project's own linter) and count
 * what the test made happen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "framework/test.h"
#include "ops.h"

/* promtool check metrics < @path: returns its wait status; its complaints into @out. */
static int promtool(const char *path, char *out, size_t cap)
{
	char cmd[PATH_MAX + 64];
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%.3000s'", path);
	return fx_run(NULL, argv, out, cap);
}

static bool have_promtool(void)
{
	const char *argv[] = { "promtool", "--version", NULL };

	return ASSERT_EQ(fx_run(NULL, argv, NULL, 0), 0,
			 "promtool runs (Debian package prometheus; scripts/deps.sh installs it)");
}

/* A crash of a new app @name dying as @mode, with @rescue; waits for its rescue record. */
static bool crash(struct fx *e, const char *name, const char *mode,
		  const char *const *rescue)
{
	json_object *rec = ops_crash(e, name, mode, rescue);

	json_object_put(rec);
	return ASSERT_NOT_NULL(rec, "the rescue record");
}

TEST(metrics_pass_promtool_and_count_what_happened)
{
	const char *const ok_rescue[] = { "/bin/true", NULL };
	const char *const bad_rescue[] = { "/bin/false", NULL };
	char out[65536], path[PATH_MAX + 32], lint[4096];
	struct fx_app live;
	struct fx e;
	int st;

	if (!fx_can_run() || !have_promtool() || !fx_init(&e))
		return;
	e.config = "# defaults\n";
	if (!fx_start(&e))
		return;
	if (!ops_app_start(&e, &live, 0, "alive", "stdin", NULL))
		goto out;
	if (!crash(&e, "segfaulter", "segv", ok_rescue) ||
	    !crash(&e, "quitter", "exit3", bad_rescue))
		goto out_live;
	/* The retention pass after the snapshots is coalesced: wait for it to count them. */
	ASSERT_TRUE(ops_wait_metric(&e, "faultguard_snapshot_files", 2, out, sizeof(out)),
		    "two snapshot files counted");
	snprintf(path, sizeof(path), "%.3000s/metrics.txt", e.dir);
	ASSERT_OK(fx_write_file(path, out), "save the metrics");
	st = promtool(path, lint, sizeof(lint));
	if (!ASSERT_EQ(st, 0, "promtool check metrics accepts faultguardctl metrics"))
		fprintf(stderr, "  promtool says:\n%s\n", lint);
	ASSERT_EQ(ops_metric(out, "faultguard_registrations"), 1, "one live registration");
	ASSERT_EQ(ops_metric(out, "faultguard_registrations_total"), 3, "three registered");
	ASSERT_EQ(ops_metric(out, "faultguard_crashes_total{cause=\"segfault\"}"), 1, "segfaults");
	ASSERT_EQ(ops_metric(out, "faultguard_crashes_total{cause=\"exit_error\"}"), 1, "exit errors");
	ASSERT_EQ(ops_metric(out, "faultguard_crashes_total{cause=\"abort\"}"), 0, "every cause listed");
	ASSERT_EQ(ops_metric(out, "faultguard_rescues_total{status=\"ok\"}"), 1, "rescues ok");
	ASSERT_EQ(ops_metric(out, "faultguard_rescues_total{status=\"failed\"}"), 1, "rescues failed");
	ASSERT_EQ(ops_metric(out, "faultguard_rescues_total{status=\"rate_limited\"}"), 0,
		  "every status listed");
	ASSERT_EQ(ops_metric(out, "faultguard_rescue_latency_seconds_count"), 2, "latencies");
	ASSERT_EQ(ops_metric(out, "faultguard_rescue_latency_seconds_bucket{le=\"+Inf\"}"), 2,
		  "the +Inf bucket holds them all");
	ASSERT_EQ(ops_metric(out, "faultguard_snapshots_total"), 2, "snapshots written");
	ASSERT_TRUE(ops_metric(out, "faultguard_snapshot_bytes") > 0, "snapshot bytes on disk");
	ASSERT_EQ(ops_metric(out, "faultguard_bpf_lost_events_total"), 0, "no lost BPF events");
	/* The live app's connection; faultguardctl's own is not counted. */
	ASSERT_EQ(ops_metric(out, "faultguard_connections"), 1, "open connections");
	/* Labels are the SPEC's values only: no catch-all series. */
	ASSERT_TRUE(!strstr(out, "\"other\""), "no label value \"other\"");
out_live:
	fx_app_send(&live, "exit0");
	fx_app_wait(&live, OPS_WAIT_MS);
out:
	ops_stop(&e);
}

TEST(textfile_is_written_for_node_exporter_and_passes_promtool)
{
	const char *const rescue[] = { "/bin/true", NULL };
	char prom[PATH_MAX + 32], text[PATH_MAX + 64], lint[4096], *body = NULL;
	struct fx e;
	struct stat st;
	int64_t deadline;
	int rc;

	if (!fx_can_run() || !have_promtool() || !fx_init(&e))
		return;
	snprintf(prom, sizeof(prom), "%.3000s/textfile/faultguard.prom", e.dir);
	snprintf(text, sizeof(text), "%.3000s/textfile", e.dir);
	ASSERT_OK(mkdir(text, 0755), "the textfile directory");
	snprintf(text, sizeof(text), "metrics_textfile = %.3100s\nmetrics_interval = 1s\n", prom);
	e.config = text;
	if (!fx_start(&e))
		return;
	if (!crash(&e, "counted", "segv", rescue))
		goto out;
	/* Rewritten every second: wait for the one that includes the crash. */
	deadline = fx_now_ms() + OPS_WAIT_MS;
	do {
		free(body);
		body = fx_read_file(prom, NULL);
		if (body && ops_metric(body, "faultguard_crashes_total{cause=\"segfault\"}") == 1)
			break;
		fx_nap(20);
	} while (fx_now_ms() < deadline);
	if (!ASSERT_NOT_NULL(body, "the textfile exists"))
		goto out;
	ASSERT_EQ(ops_metric(body, "faultguard_crashes_total{cause=\"segfault\"}"), 1,
		  "the textfile counts the crash");
	rc = promtool(prom, lint, sizeof(lint));
	if (!ASSERT_EQ(rc, 0, "promtool check metrics accepts the textfile"))
		fprintf(stderr, "  promtool says:\n%s\n", lint);
	ASSERT_OK(stat(prom, &st), "stat the textfile");
	ASSERT_EQ(st.st_mode & 0777, 0644, "readable by node_exporter's user");
	free(body);
out:
	ops_stop(&e);
}

/* The source tree's @rel (the working directory in make check, else the build dir's parent). */
static bool source_path(const char *rel, char *buf, size_t len)
{
	char dir[PATH_MAX], *slash;

	snprintf(buf, len, "%s", rel);
	if (access(buf, R_OK) == 0)
		return true;
	snprintf(dir, sizeof(dir), "%s", test_build_dir());
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	snprintf(buf, len, "%.3000s/%.1000s", dir, rel);
	return ASSERT_OK(access(buf, R_OK), rel);
}

/* Series the rules watch that the collector does not write: none (node_exporter's own are not faultguard_*). */
static const char *const not_ours_yet[] = { NULL };

/*
 * dist/prometheus/faultguard.rules.yml: `promtool check rules` accepts it,
 * its unit tests (faultguard.rules.test.yml) pass under `promtool test
 * rules`, and every faultguard_* series it watches is one the collector
 * writes (a misspelt name would never fire).
 */
TEST(alert_rules_pass_promtool_and_watch_real_series)
{
	char rules[PATH_MAX + 64], tests[PATH_MAX + 64], cmd[3 * PATH_MAX], out[65536];
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };
	char *text = NULL, name[128];
	const char *p;
	struct fx e;
	int st, i, names = 0;

	memset(&e, 0, sizeof(e));
	if (!have_promtool() || !source_path("dist/prometheus/faultguard.rules.yml", rules,
					     sizeof(rules)) ||
	    !source_path("dist/prometheus/faultguard.rules.test.yml", tests, sizeof(tests)))
		return;
	snprintf(cmd, sizeof(cmd), "promtool check rules '%.2000s' 2>&1", rules);
	st = fx_run(NULL, argv, out, sizeof(out));
	if (!ASSERT_EQ(st, 0, "promtool check rules"))
		fprintf(stderr, "%s\n", out);
	/* promtool test rules reads the rule files relative to the test file. */
	snprintf(cmd, sizeof(cmd), "promtool test rules '%.2000s' 2>&1", tests);
	st = fx_run(NULL, argv, out, sizeof(out));
	if (!ASSERT_EQ(st, 0, "promtool test rules"))
		fprintf(stderr, "%s\n", out);
	if (!fx_can_run() || !fx_init(&e) || !fx_start(&e))
		goto out;
	if (!ASSERT_EQ(fx_run_built(&e, "faultguardctl", (const char *[]){ "metrics", NULL }, out,
				    sizeof(out)),
		       0, "faultguardctl metrics"))
		goto out;
	text = fx_read_file(rules, NULL);
	for (p = text; p && (p = strstr(p, "faultguard_")); p += strlen(name)) {
		size_t n = strspn(p, "abcdefghijklmnopqrstuvwxyz_");
		char want[160];
		bool known = false;

		snprintf(name, sizeof(name), "%.*s", (int)(n < sizeof(name) ? n : sizeof(name) - 1),
			 p);
		if (p > text && (p[-1] == '_' || p[-1] == '.' || p[-1] == '/'))
			continue; /* part of another word: faultguard.rules.yml, node_..._faultguard */
		names++;
		for (i = 0; not_ours_yet[i]; i++)
			known |= !strcmp(name, not_ours_yet[i]);
		snprintf(want, sizeof(want), "\n# TYPE %s ", name);
		if (!known && !ASSERT_TRUE(strstr(out, want) != NULL, name))
			fprintf(stderr, "  the rules watch %s, which faultguardctl metrics lacks\n",
				name);
	}
	ASSERT_GE(names, 8, "the rules' series were found");
out:
	free(text);
	ops_stop(&e);
}
