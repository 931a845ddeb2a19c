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
