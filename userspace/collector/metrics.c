// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "collector/autosave.h"
#include "collector/collector.h"
#include "collector/held.h"
#include "collector/metrics.h"
#include "collector/ops.h"
#include "collector/retention.h"
#include "collector/syslog.h"
#include "common/atomic_file.h"
#include "common/timefmt.h"

/*
 * Every label value is listed up front so that each series exists from the
 * start at 0: the values the audit records can carry (SPEC's causes and
 * rescue statuses, and the ops records'), nothing else.
 */
static const char *const causes[] = {
	"segfault", "bus_error", "abort",      "illegal_instruction", "fp_exception", "trap",
	"oom_killed", "killed", "terminated", "signal",		     "exit_error",
};
static const char *const statuses[] = {
	"ok", "failed", "timeout", "spawn_error", "none", "rate_limited",
};
static const char *const expire_reasons[] = { "age", "bytes", "free_space", "spill" };
static const char *const reload_results[] = { "ok", "failed" };

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* Rescue latency (death to command start) buckets, in seconds. */
static const double latency_le[] = { 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
				     1,     2.5,  5,     10,   30,  60 };

struct metrics {
	uint64_t crashes[N(causes)];
	uint64_t rescues[N(statuses)];
	uint64_t expired[N(expire_reasons)];
	uint64_t expired_bytes;
	uint64_t reloads[N(reload_results)];
	uint64_t registrations_total;
	uint64_t rejects_total;
	uint64_t snapshots_total;
	uint64_t snapshot_errors_total;
	uint64_t snapshot_written_bytes;
	uint64_t latency_buckets[N(latency_le)];
	uint64_t latency_count;
	double latency_sum;
	int64_t start_ms;
};

int metrics_new(struct metrics **out)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->start_ms = time_now_ms();
	return 0;
}

void metrics_free(struct metrics *m)
{
	free(m);
}

/* Adds one to @counts at @v's place in @names; @v unlisted (or absent) counts nowhere. */
static size_t count_label(uint64_t *counts, const char *const *names, size_t n, const char *v)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		if (!strcmp(names[i], v)) {
			counts[i]++;
			return i;
		}
	return n;
}

static const char *get_str(json_object *rec, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(rec, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static int get_int(json_object *rec, const char *key, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(rec, key, &v) || !json_object_is_type(v, json_type_int))
		return -ENOENT;
	*out = json_object_get_int64(v);
	return 0;
}

static int get_number(json_object *rec, const char *key, double *out)
{
	json_object *v;

	if (!json_object_object_get_ex(rec, key, &v) ||
	    (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int)))
		return -ENOENT;
	*out = json_object_get_double(v);
	return 0;
}

static void observe_latency(struct metrics *m, double ms)
{
	double s = ms / 1000.0;
	size_t i;

	for (i = 0; i < N(latency_le); i++)
		if (s <= latency_le[i])
			m->latency_buckets[i]++;
	m->latency_count++;
	m->latency_sum += s;
}

void metrics_observe(struct metrics *m, json_object *rec)
{
	const char *event = get_str(rec, "event");
	int64_t v;
	double ms;

	if (!m || !event)
		return;
	if (!strcmp(event, "crash")) {
		count_label(m->crashes, causes, N(causes), get_str(rec, "cause"));
	} else if (!strcmp(event, "rescue")) {
		size_t st = count_label(m->rescues, statuses, N(statuses), get_str(rec, "status"));

		/* ok, failed, timeout: only a command that started has a latency. */
		if (st <= 2 && !get_number(rec, "latency_ms", &ms))
			observe_latency(m, ms);
	} else if (!strcmp(event, "register")) {
		m->registrations_total++;
	} else if (!strcmp(event, "reject")) {
		m->rejects_total++;
	} else if (!strcmp(event, "snapshot")) {
		const char *stored = get_str(rec, "stored");

		/* On disk (at once or late) counts as written; held in memory or none, as not. */
		if (stored && !strcmp(stored, "disk")) {
			m->snapshots_total++;
			if (!get_int(rec, "bytes", &v) && v > 0)
				m->snapshot_written_bytes += (uint64_t)v;
		} else {
			m->snapshot_errors_total++;
		}
	} else if (!strcmp(event, "expire")) {
		count_label(m->expired, expire_reasons, N(expire_reasons), get_str(rec, "reason"));
		if (!get_int(rec, "bytes", &v) && v > 0)
			m->expired_bytes += (uint64_t)v;
	} else if (!strcmp(event, "reload")) {
		count_label(m->reloads, reload_results, N(reload_results), get_str(rec, "status"));
	}
}

static void family(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void one(FILE *f, const char *name, const char *type, const char *help, uint64_t v)
{
	family(f, name, type, help);
	fprintf(f, "%s %llu\n", name, (unsigned long long)v);
}

static void labelled(FILE *f, const char *name, const char *help, const char *label,
		     const char *const *names, size_t n, const uint64_t *v)
{
	size_t i;

	family(f, name, "counter", help);
	for (i = 0; i < n; i++)
		fprintf(f, "%s{%s=\"%s\"} %llu\n", name, label, names[i], (unsigned long long)v[i]);
}

static void latency(FILE *f, const struct metrics *m)
{
	const char *name = "faultguard_rescue_latency_seconds";
	size_t i;

	family(f, name, "histogram", "Time from a process's death to its rescue command's start.");
	for (i = 0; i < N(latency_le); i++)
		fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", name, latency_le[i],
			(unsigned long long)m->latency_buckets[i]);
	fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)m->latency_count);
	fprintf(f, "%s_sum %.6f\n", name, m->latency_sum);
	fprintf(f, "%s_count %llu\n", name, (unsigned long long)m->latency_count);
}

char *metrics_render(struct collector *c, unsigned int asking)
{
	const struct metrics *m = c->ops->metrics;
	uint64_t autosaves = 0, autosave_errors = 0, audit_seq;
	char head[65], *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		return NULL;
	autosave_counts(c, &autosaves, &autosave_errors);
	audit_head(c->audit, &audit_seq, head);
	family(f, "faultguard_build_info", "gauge", "The collector's version, as a label.");
	fprintf(f, "faultguard_build_info{version=\"%s\"} 1\n", FG_VERSION);
	family(f, "faultguard_start_time_seconds", "gauge",
	       "When the collector started, in seconds since the epoch.");
	fprintf(f, "faultguard_start_time_seconds %.3f\n", (double)m->start_ms / 1000.0);
	one(f, "faultguard_registrations", "gauge",
	    "Live registrations: processes whose dictionary the collector holds.", c->nregs);
	one(f, "faultguard_connections", "gauge",
	    "Open client connections (not counting a faultguardctl asking for these metrics).",
	    c->nconns > asking ? c->nconns - asking : 0);
	one(f, "faultguard_registrations_total", "counter", "Registrations accepted.",
	    m->registrations_total);
	one(f, "faultguard_rejects_total", "counter",
	    "Clients refused (see the audit log's reasons).", m->rejects_total);
	labelled(f, "faultguard_crashes_total", "Crashes of registered processes, by cause.",
		 "cause", causes, N(causes), m->crashes);
	labelled(f, "faultguard_rescues_total", "Rescue outcomes, by status.", "status", statuses,
		 N(statuses), m->rescues);
	one(f, "faultguard_rescues_running", "gauge", "Rescue commands running now.",
	    rescue_running(c));
	latency(f, m);
	one(f, "faultguard_snapshots_total", "counter", "Crash snapshots written.",
	    m->snapshots_total);
	one(f, "faultguard_snapshot_errors_total", "counter",
	    "Crash snapshots that could not be written.", m->snapshot_errors_total);
	one(f, "faultguard_snapshot_written_bytes_total", "counter",
	    "Value bytes in the crash snapshots written.", m->snapshot_written_bytes);
	one(f, "faultguard_audit_write_errors_total", "counter",
	    "Writes of an audit record that the audit log refused (its records wait in memory).",
	    audit_write_errors(c->audit));
	one(f, "faultguard_audit_records_pending", "gauge",
	    "Audit records waiting in memory for the audit log to take them.",
	    audit_pending(c->audit));
	one(f, "faultguard_snapshots_held", "gauge",
	    "Snapshots the disk refused, held in memory until it takes them.", held_count(c));
	one(f, "faultguard_snapshots_held_bytes", "gauge",
	    "Memory the snapshots held in memory take.", held_bytes(c));
	one(f, "faultguard_snapshot_write_errors_total", "counter",
	    "Attempts to write a snapshot that the disk refused (retries included).",
	    held_write_errors(c));
	one(f, "faultguard_snapshot_bytes", "gauge",
	    "Bytes of snapshot files on disk, as of the last retention pass.", retention_bytes(c));
	one(f, "faultguard_snapshot_files", "gauge",
	    "Snapshot files on disk, as of the last retention pass.", retention_files(c));
	labelled(f, "faultguard_snapshots_expired_total",
		 "Snapshots deleted by retention, by reason.", "reason", expire_reasons,
		 N(expire_reasons), m->expired);
	one(f, "faultguard_snapshots_expired_bytes_total", "counter",
	    "Bytes of snapshot files deleted by retention.", m->expired_bytes);
	one(f, "faultguard_autosaves_total", "counter", "Autosave checkpoints written.", autosaves);
	one(f, "faultguard_autosave_errors_total", "counter",
	    "Autosave checkpoints that could not be written.", autosave_errors);
	labelled(f, "faultguard_config_reloads_total", "Config reloads (SIGHUP), by result.",
		 "result", reload_results, N(reload_results), m->reloads);
	one(f, "faultguard_syslog_dropped_total", "counter",
	    "Audit records that could not be sent to syslog.", syslog_sink_dropped(c->ops->syslog));
	one(f, "faultguard_audit_records_total", "counter",
	    "Audit records written over the life of the log: the seq of the last one (SPEC 8.4).",
	    audit_seq);
	one(f, "faultguard_bpf_lost_stacks_total", "counter",
	    "Stack records the kernel dropped because their ring buffer was full (those crashes "
	    "have no backtrace).",
	    c->mon ? monitor_lost_stacks(c->mon) : 0);
	one(f, "faultguard_bpf_lost_events_total", "counter",
	    "Exit records the kernel dropped because the BPF ring buffer was full.",
	    c->mon ? monitor_lost(c->mon) : 0);
	if (fclose(f)) {
		free(text);
		return NULL;
	}
	return text;
}

int metrics_write_textfile(struct collector *c, const char *path)
{
	/* node_exporter runs as its own user: readable by all, whatever our umask. */
	const struct atomic_file_opts o = { .mode = 0644, .uid = (uid_t)-1, .gid = (gid_t)-1 };
	char *text = metrics_render(c, 0);
	int err;

	if (!text)
		return -ENOMEM;
	/* The temporary name ends in .tmp: node_exporter never reads a half-written file. */
	err = atomic_file_write(AT_FDCWD, path, text, strlen(text), &o, NULL);
	free(text);
	return err;
}
