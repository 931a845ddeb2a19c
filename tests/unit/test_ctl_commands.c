// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * faultguardctl's commands as a new user meets them, without a collector:
 * `COMMAND --help` is an answer (stdout, status 0), not a usage error;
 * `dump` and `get` take their snapshot from $FAULTGUARD_SNAPSHOT, as a
 * rescue command without a shell needs; a state directory or audit log
 * that is not there is said, with status 1, never an empty listing.
 */
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "faultguard.h"
#include "framework/test.h"

struct out {
	int status; /* exit status, -1 when it did not exit */
	char text[65536];
	char err[8192];
};

static void slurp_fd(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	while (len + 1 < cap && (n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
}

/* faultguardctl ARGS... (NULL-terminated), with @snapshot as $FAULTGUARD_SNAPSHOT (NULL: unset). */
static bool ctl(struct out *o, const char *snapshot, ...)
{
	char bin[PATH_MAX], path[PATH_MAX + 16];
	const char *argv[16];
	int argc = 0, fds[2], st, i;
	va_list ap;
	pid_t pid;

	snprintf(bin, sizeof(bin), "%s/faultguardctl", test_build_dir());
	argv[argc++] = bin;
	va_start(ap, snapshot);
	while (argc < 15 && (argv[argc] = va_arg(ap, const char *)))
		argc++;
	va_end(ap);
	argv[argc] = NULL;
	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "%s/ctl.%d", test_tmpdir(), i);
		fds[i] = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (!ASSERT_GE(fds[i], 0, "open an output file"))
			return false;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		dup2(fds[0], 1);
		dup2(fds[1], 2);
		if (snapshot)
			setenv("FAULTGUARD_SNAPSHOT", snapshot, 1);
		else
			unsetenv("FAULTGUARD_SNAPSHOT");
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	if (!ASSERT_GE(pid, 0, "fork"))
		return false;
	waitpid(pid, &st, 0);
	o->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	slurp_fd(fds[0], o->text, sizeof(o->text));
	slurp_fd(fds[1], o->err, sizeof(o->err));
	close(fds[0]);
	close(fds[1]);
	return true;
}

/* A snapshot file with two keys, made as a guardian makes one: a child writes, the parent reads. */
static bool make_snapshot(char *path, size_t len)
{
	struct fg_snapshot *s = NULL;
	bool ok = false;
	int memfd, st;
	pid_t pid;

	snprintf(path, len, "%s/cmds.fgsnap", test_tmpdir());
	memfd = fg_memfd_create("cmds", 0);
	if (!ASSERT_GE(memfd, 0, "fg_memfd_create"))
		return false;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct fg_opts o = { .sz = sizeof(o), .app = "cmds" };
		char fd_str[16];
		struct fg *fg;
		int fd = dup(memfd); /* without O_CLOEXEC: not that it matters here */

		snprintf(fd_str, sizeof(fd_str), "%d", fd);
		setenv("FAULTGUARD_FD", fd_str, 1);
		fg = fg_open(&o);
		_exit(fg && !fg_set_str(fg, "draft", "the text at /tmp/x") &&
			      !fg_set_str(fg, "cursor", "42") ? 0 : 1);
	}
	if (!ASSERT_GE(pid, 0, "fork") || !ASSERT_EQ(waitpid(pid, &st, 0), pid, "wait") ||
	    !ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "the child wrote its keys"))
		goto out;
	s = fg_snapshot_read_fd(memfd, NULL);
	if (!ASSERT_NOT_NULL(s, "fg_snapshot_read_fd") ||
	    !ASSERT_OK(fg_snapshot_save(s, path), "fg_snapshot_save"))
		goto out;
	ok = true;
out:
	fg_snapshot_close(s);
	close(memfd);
	return ok;
}

/* Every command of `faultguardctl --help` answers `COMMAND --help` on stdout with status 0. */
TEST(every_command_help_is_an_answer_on_stdout)
{
	static struct out all, one;
	char want[128], *line, *save = NULL;
	int commands = 0;

	if (!ctl(&all, NULL, "--help", NULL) || !ASSERT_EQ(all.status, 0, "--help"))
		return;
	for (line = strtok_r(all.text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[32];

		/* "  name     summary": a command; "           usage": its usage line. */
		if (strncmp(line, "  ", 2) || line[2] == ' ' || sscanf(line + 2, "%31s", name) != 1)
			continue;
		commands++;
		if (!ctl(&one, NULL, name, "--help", NULL))
			return;
		snprintf(want, sizeof(want), "usage: faultguardctl %s ", name);
		if (!ASSERT_EQ(one.status, 0, name) ||
		    !ASSERT_TRUE(!strncmp(one.text, want, strlen(want)), "the usage on stdout") ||
		    !ASSERT_STREQ(one.err, "", "nothing on stderr"))
			fprintf(stderr, "  %s --help: stdout %s, stderr %s\n", name, one.text, one.err);
	}
	ASSERT_GE(commands, 8, "the commands were found in --help");
}

/* ["faultguardctl", "dump", "--json"] as a rescue argv: the snapshot from the environment. */
TEST(dump_and_get_default_to_FAULTGUARD_SNAPSHOT)
{
	static struct out o;
	char snap[PATH_MAX];
	json_object *j = NULL, *entries;

	if (!make_snapshot(snap, sizeof(snap)) || !ctl(&o, snap, "dump", "--json", NULL))
		return;
	j = json_tokener_parse(o.text);
	if (ASSERT_EQ(o.status, 0, "dump --json") && ASSERT_NOT_NULL(j, "JSON") &&
	    ASSERT_TRUE(json_object_object_get_ex(j, "entries", &entries), "entries"))
		ASSERT_EQ(json_object_array_length(entries), 2, "both keys");
	ASSERT_TRUE(strstr(o.text, "/tmp/x") != NULL, "a slash is not escaped");
	json_object_put(j);
	if (ctl(&o, snap, "dump", NULL)) {
		ASSERT_EQ(o.status, 0, "dump");
		ASSERT_TRUE(strstr(o.text, "draft\t18\tthe text at /tmp/x\n") != NULL, "dump's text");
	}
	/* get with one argument: it is the KEY, even when it could name a file. */
	if (ctl(&o, snap, "get", "cursor", NULL)) {
		ASSERT_EQ(o.status, 0, "get KEY");
		ASSERT_STREQ(o.text, "42", "the raw value");
	}
	if (ctl(&o, snap, "get", snap, "draft", NULL)) {
		ASSERT_EQ(o.status, 0, "get SNAPSHOT KEY");
		ASSERT_STREQ(o.text, "the text at /tmp/x", "the raw value");
	}
	if (ctl(&o, snap, "get", "absent", NULL)) {
		ASSERT_EQ(o.status, 1, "a missing key: status 1");
		ASSERT_TRUE(strstr(o.err, "key 'absent' is not in ") != NULL, "says so");
	}
	/* Without the variable, a missing SNAPSHOT is bad usage that says what is missing. */
	if (ctl(&o, NULL, "dump", NULL)) {
		ASSERT_EQ(o.status, 2, "dump without a snapshot");
		ASSERT_TRUE(strstr(o.err, "$FAULTGUARD_SNAPSHOT is not set") != NULL, "says why");
	}
	if (ctl(&o, NULL, "get", "cursor", NULL)) {
		ASSERT_EQ(o.status, 2, "get KEY without a snapshot");
		ASSERT_TRUE(strstr(o.err, "$FAULTGUARD_SNAPSHOT is not set") != NULL, "says why");
	}
}

TEST(missing_state_dir_or_audit_log_is_said)
{
	static struct out o;
	char missing[PATH_MAX + 32];

	snprintf(missing, sizeof(missing), "%s/missing", test_tmpdir());
	if (ctl(&o, NULL, "recover", "--state-dir", missing, NULL)) {
		ASSERT_EQ(o.status, 1, "recover --state-dir /missing");
		ASSERT_TRUE(strstr(o.err, "there is no state directory ") != NULL, "says so");
		ASSERT_STREQ(o.text, "", "lists nothing");
	}
	snprintf(missing, sizeof(missing), "%s/missing.jsonl", test_tmpdir());
	if (ctl(&o, NULL, "list", "--audit-log", missing, NULL)) {
		ASSERT_EQ(o.status, 1, "list --audit-log /missing.jsonl");
		ASSERT_TRUE(strstr(o.err, "there is no audit log ") != NULL, "says so");
		ASSERT_STREQ(o.text, "", "lists nothing");
	}
	if (ctl(&o, NULL, "show", "--audit-log", missing, "20261207T000000.000Z-1-00000000", NULL)) {
		ASSERT_EQ(o.status, 1, "show --audit-log /missing.jsonl");
		ASSERT_TRUE(strstr(o.err, "there is no audit log ") != NULL, "says so");
	}
	/* Asking a collector and reading a log at once is a contradiction, not a choice. */
	if (ctl(&o, NULL, "list", "--socket", "/run/x.sock", "--audit-log", missing, NULL))
		ASSERT_EQ(o.status, 2, "--socket with --audit-log");
}

/* list --by-signature names each app of a signature once, by its whole name. */
TEST(by_signature_names_each_app_once)
{
	static const char *const apps[] = { "foobar", "foo", "foobar", "foo", "bar" };
	static struct out o;
	char log[PATH_MAX + 32], line[512];
	json_object *rows, *row, *v;
	size_t i;
	FILE *f;

	snprintf(log, sizeof(log), "%s/audit.jsonl", test_tmpdir());
	f = fopen(log, "w");
	if (!ASSERT_NOT_NULL(f, "write an audit log"))
		return;
	for (i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
		snprintf(line, sizeof(line),
			 "{\"ts\":\"2026-12-08T01:0%zu:00.000Z\",\"event\":\"crash\","
			 "\"id\":\"20261208T010%zu00.000Z-%zu-0000000%zu\",\"app\":\"%s\",\"pid\":%zu,"
			 "\"uid\":0,\"cause\":\"segfault\",\"signature\":\"0123456789abcdef\","
			 "\"backtrace\":[{\"function\":\"crash_here\"}]}\n",
			 i, i, 100 + i, i, apps[i], 100 + i);
		fputs(line, f);
	}
	fclose(f);
	if (!ctl(&o, NULL, "list", "--audit-log", log, "--by-signature", "--json", NULL) ||
	    !ASSERT_EQ(o.status, 0, "list --by-signature --json"))
		return;
	rows = json_tokener_parse(o.text);
	if (!ASSERT_NOT_NULL(rows, "JSON out") ||
	    !ASSERT_EQ(json_object_array_length(rows), 1, "one signature")) {
		fprintf(stderr, "  %s\n", o.text);
		json_object_put(rows);
		return;
	}
	row = json_object_array_get_idx(rows, 0);
	json_object_object_get_ex(row, "count", &v);
	ASSERT_EQ(json_object_get_int64(v), 5, "five crashes");
	json_object_object_get_ex(row, "app", &v);
	ASSERT_STREQ(json_object_get_string(v), "foobar,foo,bar", "each app once, by its whole name");
	json_object_put(rows);
}
