// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The audit chain (issue 11, SPEC §8.4) against a real faultguardd: every
 * record has seq and prev, the chain runs on across a collector restart
 * and a rotation by the real logrotate (rename + SIGHUP), and
 * `faultguardctl verify` calls the honest logs intact and names the first
 * broken line of a tampered copy and how it broke: a byte edited, a line
 * removed, two lines swapped, the tail cut off. The metrics carry the seq.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "digest/sha256.h"
#include "framework/test.h"
#include "ops.h"

/* A collector with one crash and its rescue in the log (start, register, crash, ...). */
static bool begin_with_records(struct fx *e)
{
	static const char *const rescue[] = { "/bin/true", NULL };
	json_object *r;

	if (!fx_can_run() || !fx_init(e))
		return false;
	e->config = "# defaults\n";
	if (!fx_start(e))
		return false;
	r = ops_crash(e, "chained", "segv", rescue);
	json_object_put(r);
	return r != NULL && fx_barrier(e);
}

/* Runs faultguardctl verify on @files (NULL-terminated): exit status; stdout in @out. */
static int verify(struct fx *e, char **out, const char *const *files)
{
	const char *args[16];
	int n = 0, i, rc;
	char *o = NULL;

	args[n++] = "verify";
	for (i = 0; files[i] && n < 14; i++) {
		args[n++] = "--audit-log";
		args[n++] = files[i];
	}
	args[n] = NULL;
	rc = fx_ctl(e, &o, args[0], n > 1 ? args[1] : NULL, n > 2 ? args[2] : NULL,
		    n > 3 ? args[3] : NULL, n > 4 ? args[4] : NULL, n > 5 ? args[5] : NULL,
		    n > 6 ? args[6] : NULL, NULL);
	if (out)
		*out = o;
	else
		free(o);
	return rc;
}

static int count_lines(const char *path)
{
	char *t = fx_read_file(path, NULL);
	int n = 0;

	for (size_t i = 0; t && t[i]; i++)
		n += t[i] == '\n';
	free(t);
	return n;
}

/* The honest log's every line: seq 1, 2, ... and prev the hash of the line before. */
static bool check_links(const char *const *files, long long *last_seq)
{
	char prev[65] = "0000000000000000000000000000000000000000000000000000000000000000";
	long long want = 1;

	for (int f = 0; files[f]; f++) {
		char *t = fx_read_file(files[f], NULL), *line = t, *nl;

		if (!ASSERT_NOT_NULL(t, "read the log"))
			return false;
		for (; (nl = strchr(line, '\n')); line = nl + 1) {
			json_object *rec;

			*nl = '\0';
			rec = json_tokener_parse(line);
			if (!ASSERT_EQ(jint_or(rec, "seq", -1), want, "seq counts up by one") ||
			    !ASSERT_STREQ(jstr(rec, "prev"), prev, "prev is the previous line's hash")) {
				json_object_put(rec);
				free(t);
				return false;
			}
			json_object_put(rec);
			*nl = '\n';
			sha256_hex(line, (size_t)(nl - line) + 1, prev);
			want++;
		}
		free(t);
	}
	*last_seq = want - 1;
	return true;
}

TEST(restart_and_logrotate_keep_one_chain_that_verifies)
{
	char conf[PATH_MAX + 16], state[PATH_MAX + 16], rotated[PATH_MAX + 8], text[8192];
	char *out = NULL, metrics[65536], series[64];
	const char *lr[] = { "logrotate", "-f", "-s", state, conf, NULL };
	long long last = 0;
	struct fx e;
	int before, st;

	if (!begin_with_records(&e))
		goto out;
	/* A restart: the new collector links its first record to the old one's last line. */
	if (!ASSERT_TRUE(fx_stop(&e), "stop") || !ASSERT_TRUE(fx_start(&e), "restart") ||
	    !fx_barrier(&e))
		goto out;
	/* logrotate's own way: rename the file, a new one in its place, SIGHUP. */
	snprintf(conf, sizeof(conf), "%s/logrotate.conf", e.dir);
	snprintf(state, sizeof(state), "%s/logrotate.state", e.dir);
	snprintf(rotated, sizeof(rotated), "%s.1", e.audit);
	snprintf(text, sizeof(text),
		 "%s {\n  rotate 3\n  create 0640 root root\n  postrotate\n    kill -HUP %d\n"
		 "  endscript\n}\n",
		 e.audit, (int)e.pid);
	ASSERT_OK(fx_write_file(conf, text), "write logrotate.conf");
	before = count_lines(e.audit);
	st = fx_run(NULL, lr, text, sizeof(text));
	if (!ASSERT_EQ(st, 0, "logrotate -f rotates the audit log (Debian package logrotate)")) {
		fprintf(stderr, "%s\n", text);
		goto out;
	}
	if (!ASSERT_EQ(count_lines(rotated), before, "the old lines moved to audit.jsonl.1"))
		goto out;
	json_object_put(fx_wait_with(&e, "reload", "status", "ok", 0, OPS_WAIT_MS));
	/* (fx_stop would want the log to begin with "start": this one begins with "reload".) */
	if (!fx_barrier(&e) || !ASSERT_EQ(fx_terminate(&e, FX_START_MS), 0, "a clean stop"))
		goto out;

	const char *both[] = { rotated, e.audit, NULL };
	if (!check_links(both, &last))
		goto out;
	ASSERT_EQ(verify(&e, &out, both), 0, "verify: the honest chain is intact");
	snprintf(text, sizeof(text), "%lld records, chain intact\n", last);
	ASSERT_STREQ(out, text, "verify counts every record of both files");
	free(out);
	out = NULL;
	/* The new file alone starts mid-chain: intact as far as it goes. */
	const char *cur[] = { e.audit, NULL };
	ASSERT_EQ(verify(&e, NULL, cur), 0, "the current file alone verifies");
	/* The files out of order: the second's first record is not the one that follows. */
	const char *swapped[] = { e.audit, rotated, NULL };
	ASSERT_EQ(verify(&e, &out, swapped), 1, "files in the wrong order do not verify");
	ASSERT_TRUE(out && strstr(out, "reordered"), "and say reordered");

	/* The metrics count the records by seq. */
	if (!ASSERT_TRUE(fx_start(&e), "start again"))
		goto out;
	snprintf(series, sizeof(series), "faultguard_audit_records_total");
	ASSERT_TRUE(ops_wait_metric(&e, series, (double)(last + 1), metrics, sizeof(metrics)),
		    "faultguard_audit_records_total is the seq of the last record");
out:
	free(out);
	ops_stop(&e);
}

/* A tampered copy of the log: verify exits 1 naming @line of the copy and @how. */
static void tampered(const char *name, int (*tamper)(char *text, size_t len, FILE *out),
		     int line, const char *how)
{
	char copy[PATH_MAX + 16], want[PATH_MAX + 64];
	char *text = NULL, *out = NULL;
	size_t len = 0;
	struct fx e;
	FILE *f;

	if (!begin_with_records(&e) || !ASSERT_TRUE(fx_stop(&e), "stop"))
		goto out;
	text = fx_read_file(e.audit, &len);
	snprintf(copy, sizeof(copy), "%s/%s.jsonl", e.dir, name);
	f = fopen(copy, "w");
	if (!ASSERT_NOT_NULL(text, "read the log") || !ASSERT_NOT_NULL(f, "write the copy"))
		goto out;
	ASSERT_OK(tamper(text, len, f), "tamper with the copy");
	fclose(f);
	if (line < 0) {
		char *t = fx_read_file(copy, NULL);

		line = 1;
		for (size_t i = 0; t && t[i] && t[i + 1]; i++)
			line += t[i] == '\n';
		free(t);
	}
	const char *files[] = { copy, NULL };
	ASSERT_EQ(verify(&e, &out, files), 1, "verify fails on the tampered log");
	snprintf(want, sizeof(want), "%s:%d: %s: ", copy, line, how);
	if (!ASSERT_TRUE(out && !strncmp(out, want, strlen(want)), "verify names the line and how"))
		fprintf(stderr, "  verify said: %s  expected: %s...\n", out ? out : "", want);
	/* The original is untouched and still intact. */
	const char *orig[] = { e.audit, NULL };
	ASSERT_EQ(verify(&e, NULL, orig), 0, "the original still verifies");
out:
	free(out);
	free(text);
	ops_stop(&e);
}

/* The start of line @n (1-based) of @text. */
static char *line_at(char *text, int n)
{
	while (--n > 0 && text)
		text = strchr(text, '\n') ? strchr(text, '\n') + 1 : NULL;
	return text;
}

static int edit_byte(char *text, size_t len, FILE *out)
{
	char *l = line_at(text, 3), *app = l ? strstr(l, "\"app\":\"") : NULL;

	if (!app)
		return -1;
	app[7] ^= 0x01; /* one letter of the app name in line 3 */
	return fwrite(text, 1, len, out) == len ? 0 : -1;
}

static int delete_line(char *text, size_t len, FILE *out)
{
	char *l = line_at(text, 3), *nx = line_at(text, 4);

	if (!l || !nx)
		return -1;
	fwrite(text, 1, (size_t)(l - text), out);
	fwrite(nx, 1, len - (size_t)(nx - text), out);
	return 0;
}

static int swap_lines(char *text, size_t len, FILE *out)
{
	char *a = line_at(text, 3), *b = line_at(text, 4), *c = line_at(text, 5);

	if (!a || !b || !c)
		return -1;
	fwrite(text, 1, (size_t)(a - text), out);
	fwrite(b, 1, (size_t)(c - b), out);
	fwrite(a, 1, (size_t)(b - a), out);
	fwrite(c, 1, len - (size_t)(c - text), out);
	return 0;
}

static int cut_tail(char *text, size_t len, FILE *out)
{
	/* Cut inside the last record, as a crash of the disk or a hand would. */
	return len > 20 && fwrite(text, 1, len - 20, out) == len - 20 ? 0 : -1;
}

TEST(verify_names_an_edited_byte)
{
	tampered("edited", edit_byte, 3, "edited");
}

TEST(verify_names_a_removed_line)
{
	/* Line 3 is gone: the line now in its place (seq 4) follows seq 2. */
	tampered("removed", delete_line, 3, "removed");
}

TEST(verify_names_two_swapped_lines)
{
	tampered("swapped", swap_lines, 3, "reordered");
}

TEST(verify_names_a_truncated_tail)
{
	/* -1: the copy's last line, the one cut short. */
	tampered("truncated", cut_tail, -1, "truncated");
}
