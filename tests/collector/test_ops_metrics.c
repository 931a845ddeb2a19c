// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Metrics: `faultguardctl metrics` and the node_exporter textfile pass
 * `promtool check metrics` (the Prometheus project's own linter) and count
 * what the test made happen.
 */
#include "ops_harness.h"

/* promtool check metrics < @path: returns its wait status; its complaints into @out. */
static int promtool(const char *path, char *out, size_t cap)
{
	char cmd[PATH_MAX + 64];
	const char *argv[] = { "/bin/sh", "-c", cmd, NULL };

	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%.3000s'", path);
	return ops_run(NULL, argv, out, cap);
}

static bool have_promtool(void)
{
	const char *argv[] = { "promtool", "--version", NULL };

	return ASSERT_EQ(ops_run(NULL, argv, NULL, 0), 0,
			 "promtool runs (Debian package prometheus; scripts/deps.sh installs it)");
}

/* The value of the sample @series ("name" or "name{label=\"v\"}"), or -1. */
static double sample(const char *text, const char *series)
{
	char want[256];
	const char *p;

	snprintf(want, sizeof(want), "\n%s ", series);
	p = strstr(text, want);
	return p ? strtod(p + strlen(want), NULL) : -1;
}

/* A crash of a new app @name dying as @mode, with @rescue; waits for its rescue record. */
static bool crash(struct ops_env *e, const char *name, const char *mode,
		  const char *const *rescue)
{
	struct ops_app a;
	json_object *rec;
	pid_t pid;

	if (!ops_app_start(e, &a, 0, name, "stdin", rescue))
		return false;
	pid = a.pid;
	ops_app_tell(&a, mode);
	ops_app_wait(&a);
	rec = ops_wait_pid(e, "rescue", pid);
	json_object_put(rec);
	return ASSERT_NOT_NULL(rec, "the rescue record");
}

/* Polls faultguardctl metrics until @series reads @value; the last text stays in @out. */
static bool wait_metric(const struct ops_env *e, const char *series, double value, char *out,
			size_t cap)
{
	const char *args[] = { "metrics", NULL };
	int64_t deadline = ops_now_ms() + OPS_WAIT_MS;

	while (ops_now_ms() < deadline) {
		if (ops_run_built(e, "faultguardctl", args, out, cap) == 0 &&
		    sample(out, series) == value)
			return true;
		ops_nap();
	}
	fprintf(stderr, "  %s is %g, expected %g\n", series, sample(out, series), value);
	return false;
}

TEST(metrics_pass_promtool_and_count_what_happened)
{
	const char *const ok_rescue[] = { "/bin/true", NULL };
	const char *const bad_rescue[] = { "/bin/false", NULL };
	char out[65536], path[PATH_MAX + 32], lint[4096];
	struct ops_app live;
	struct ops_env e;
	int st;

	if (!ops_need_root() || !have_promtool())
		return;
	ops_env_init(&e);
	ASSERT_OK(ops_write_file(e.conf, "# defaults\n"), "write the config");
	if (!ops_start(&e))
		return;
	if (!ops_app_start(&e, &live, 0, "alive", "stdin", NULL))
		goto out;
	if (!crash(&e, "segfaulter", "segv", ok_rescue) ||
	    !crash(&e, "quitter", "exit3", bad_rescue))
		goto out_live;
	/* The retention pass after the snapshots is coalesced: wait for it to count them. */
	ASSERT_TRUE(wait_metric(&e, "faultguard_snapshot_files", 2, out, sizeof(out)),
		    "two snapshot files counted");
	snprintf(path, sizeof(path), "%.3000s/metrics.txt", e.dir);
	ASSERT_OK(ops_write_file(path, out), "save the metrics");
	st = promtool(path, lint, sizeof(lint));
	if (!ASSERT_EQ(st, 0, "promtool check metrics accepts faultguardctl metrics"))
		fprintf(stderr, "  promtool says:\n%s\n", lint);
	ASSERT_EQ(sample(out, "faultguard_registrations"), 1, "one live registration");
	ASSERT_EQ(sample(out, "faultguard_registrations_total"), 3, "three registered");
	ASSERT_EQ(sample(out, "faultguard_crashes_total{cause=\"segfault\"}"), 1, "segfaults");
	ASSERT_EQ(sample(out, "faultguard_crashes_total{cause=\"exit_error\"}"), 1, "exit errors");
	ASSERT_EQ(sample(out, "faultguard_crashes_total{cause=\"abort\"}"), 0, "every cause listed");
	ASSERT_EQ(sample(out, "faultguard_rescues_total{status=\"ok\"}"), 1, "rescues ok");
	ASSERT_EQ(sample(out, "faultguard_rescues_total{status=\"failed\"}"), 1, "rescues failed");
	ASSERT_EQ(sample(out, "faultguard_rescues_total{status=\"rate_limited\"}"), 0,
		  "every status listed");
	ASSERT_EQ(sample(out, "faultguard_rescue_latency_seconds_count"), 2, "latencies");
	ASSERT_EQ(sample(out, "faultguard_rescue_latency_seconds_bucket{le=\"+Inf\"}"), 2,
		  "the +Inf bucket holds them all");
	ASSERT_EQ(sample(out, "faultguard_snapshots_total"), 2, "snapshots written");
	ASSERT_TRUE(sample(out, "faultguard_snapshot_bytes") > 0, "snapshot bytes on disk");
	ASSERT_EQ(sample(out, "faultguard_bpf_lost_events_total"), 0, "no lost BPF events");
out_live:
	ops_app_tell(&live, "exit0");
	ops_app_wait(&live);
out:
	ops_stop(&e);
}

TEST(textfile_is_written_for_node_exporter_and_passes_promtool)
{
	const char *const rescue[] = { "/bin/true", NULL };
	char prom[PATH_MAX + 32], text[PATH_MAX + 64], lint[4096], *body = NULL;
	struct ops_env e;
	struct stat st;
	int64_t deadline;
	int rc;

	if (!ops_need_root() || !have_promtool())
		return;
	ops_env_init(&e);
	snprintf(prom, sizeof(prom), "%.3000s/textfile/faultguard.prom", e.dir);
	snprintf(text, sizeof(text), "%.3000s/textfile", e.dir);
	ASSERT_OK(mkdir(text, 0755), "the textfile directory");
	snprintf(text, sizeof(text), "metrics_textfile = %.3100s\nmetrics_interval = 1s\n", prom);
	ASSERT_OK(ops_write_file(e.conf, text), "write the config");
	if (!ops_start(&e))
		return;
	if (!crash(&e, "counted", "segv", rescue))
		goto out;
	/* Rewritten every second: wait for the one that includes the crash. */
	deadline = ops_now_ms() + OPS_WAIT_MS;
	do {
		free(body);
		body = ops_read_file(prom);
		if (body && sample(body, "faultguard_crashes_total{cause=\"segfault\"}") == 1)
			break;
		ops_nap();
	} while (ops_now_ms() < deadline);
	if (!ASSERT_NOT_NULL(body, "the textfile exists"))
		goto out;
	ASSERT_EQ(sample(body, "faultguard_crashes_total{cause=\"segfault\"}"), 1,
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
