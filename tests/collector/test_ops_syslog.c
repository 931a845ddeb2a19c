// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Syslog: with syslog on, every audit record reaches a real rsyslogd (on a
 * private socket, with a private config) as an RFC 5424 message whose
 * MSGID is the event and whose MSG is the record's JSON, the same text as
 * the audit log's line; the collector reconnects when rsyslogd restarts.
 */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "digest/sha256.h"
#include "framework/test.h"
#include "ops.h"

struct rsyslog {
	char dir[PATH_MAX];
	char sock[108];
	char out[PATH_MAX + 16];
	pid_t pid;
};

static bool rsyslog_start(struct rsyslog *r, const char *base)
{
	char conf[PATH_MAX + 16], pidfile[PATH_MAX + 16], text[4 * PATH_MAX];
	const char *check[] = { "rsyslogd", "-N1", "-f", conf, NULL };
	char out[4096];
	int64_t deadline;

	snprintf(r->dir, sizeof(r->dir), "%.3000s/rsyslog", base);
	mkdir(r->dir, 0755);
	snprintf(r->sock, sizeof(r->sock), "%.90s/log.sock", r->dir);
	snprintf(r->out, sizeof(r->out), "%s/received.log", r->dir);
	snprintf(conf, sizeof(conf), "%s/rsyslog.conf", r->dir);
	snprintf(pidfile, sizeof(pidfile), "%s/rsyslogd.pid", r->dir);
	/*
	 * Not the system socket: our own, parsed by the normal parser chain
	 * (which detects RFC 5424), every field written out separately.
	 */
	snprintf(text, sizeof(text),
		 "global(workDirectory=\"%s\" maxMessageSize=\"64k\")\n"
		 "module(load=\"imuxsock\" SysSock.Use=\"off\")\n"
		 "input(type=\"imuxsock\" Socket=\"%s\" UseSpecialParser=\"off\" "
		 "ParseHostname=\"on\")\n"
		 "template(name=\"fields\" type=\"string\" string=\"%%protocol-version%%|"
		 "%%syslogfacility-text%%|%%syslogseverity-text%%|%%app-name%%|%%msgid%%|"
		 "%%structured-data%%|%%msg%%\\n\")\n"
		 "*.* action(type=\"omfile\" file=\"%s\" template=\"fields\")\n",
		 r->dir, r->sock, r->out);
	if (!ASSERT_OK(fx_write_file(conf, text), "write rsyslog.conf"))
		return false;
	if (!ASSERT_EQ(fx_run(NULL, check, out, sizeof(out)), 0,
		       "rsyslogd runs and takes the config (Debian package rsyslog)")) {
		fprintf(stderr, "%s\n", out);
		return false;
	}
	unlink(r->sock);
	fflush(NULL);
	r->pid = fork();
	if (r->pid == 0) {
		execlp("rsyslogd", "rsyslogd", "-n", "-f", conf, "-i", pidfile, (char *)NULL);
		_exit(127);
	}
	deadline = fx_now_ms() + OPS_WAIT_MS;
	while (access(r->sock, F_OK) != 0) {
		if (fx_now_ms() > deadline || waitpid(r->pid, NULL, WNOHANG) == r->pid)
			return ASSERT_TRUE(false, "rsyslogd's socket appeared");
		fx_nap(20);
	}
	return true;
}

static void rsyslog_stop(struct rsyslog *r)
{
	if (r->pid <= 0)
		return;
	kill(r->pid, SIGTERM);
	while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
		;
	r->pid = 0;
}

/* The received lines, split at '|' into at most 7 fields (the JSON may hold '|'). */
static int received(const struct rsyslog *r, char fields[][7][8192], int max)
{
	char *text = fx_read_file(r->out, NULL), *line, *save = NULL;
	int n = 0, f;

	for (line = text ? strtok_r(text, "\n", &save) : NULL; line && n < max;
	     line = strtok_r(NULL, "\n", &save), n++) {
		for (f = 0; f < 7; f++) {
			size_t len = f < 6 ? strcspn(line, "|") : strlen(line);

			snprintf(fields[n][f], sizeof(fields[n][f]), "%.*s", (int)len, line);
			line += len + (line[len] ? 1 : 0);
		}
	}
	free(text);
	return n;
}

static char (*lines)[7][8192];

TEST(every_audit_record_reaches_rsyslogd_as_rfc5424)
{
	const char *const rescue[] = { "/bin/echo", "rescued", NULL };
	char text[512], *audit = NULL, *line, *save = NULL, nl[8192], sd[256], hash[65];
	struct rsyslog rs = { 0 };
	struct fx_app app;
	struct fx e;
	int64_t deadline;
	int n = 0, naudit, i;
	pid_t pid;

	if (!fx_can_run() || !fx_init(&e))
		return;
	lines = calloc(64, sizeof(*lines));
	if (!rsyslog_start(&rs, e.dir))
		goto out;
	snprintf(text, sizeof(text), "syslog = yes\nsyslog_socket = %s\nsyslog_facility = local3\n",
		 rs.sock);
	e.config = text;
	if (!fx_start(&e))
		goto out;
	if (!ops_app_start(&e, &app, 0, "logged", "stdin", rescue))
		goto out;
	pid = app.pid;
	fx_app_send(&app, "segv");
	fx_app_wait(&app, OPS_WAIT_MS);
	json_object_put(fx_wait(&e, "rescue", pid, 0, OPS_WAIT_MS));
	/* start, register, crash, snapshot, rescue: wait until rsyslogd has written them all. */
	audit = fx_read_file(e.audit, NULL);
	naudit = 0;
	for (i = 0; audit && audit[i]; i++)
		naudit += audit[i] == '\n';
	deadline = fx_now_ms() + OPS_WAIT_MS;
	while ((n = received(&rs, lines, 64)) < naudit && fx_now_ms() < deadline)
		fx_nap(20);
	if (!ASSERT_EQ(n, naudit, "rsyslogd received one message per audit record") ||
	    !ASSERT_GE(naudit, 5, "the audit log holds the crash's records"))
		goto out;
	for (line = strtok_r(audit, "\n", &save), i = 0; line;
	     line = strtok_r(NULL, "\n", &save), i++) {
		json_object *rec = json_tokener_parse(line);
		const char *event = jstr(rec, "event");

		ASSERT_STREQ(lines[i][0], "1", "parsed as RFC 5424 (version 1)");
		ASSERT_STREQ(lines[i][1], "local3", "the configured facility");
		ASSERT_STREQ(lines[i][3], "faultguardd", "APP-NAME");
		ASSERT_STREQ(lines[i][4], event, "MSGID is the event");
		if (!ASSERT_STREQ(lines[i][6], line, "MSG is the audit record's JSON"))
			break;
		/* The chain head after this record: its seq and the hash of its line. */
		snprintf(nl, sizeof(nl), "%s\n", line);
		sha256_hex(nl, strlen(nl), hash);
		snprintf(sd, sizeof(sd), "[chain@32473 seq=\"%lld\" sha256=\"%s\"]",
			 jint_or(rec, "seq", -1), hash);
		ASSERT_STREQ(lines[i][5], sd, "STRUCTURED-DATA carries the audit chain's head");
		ASSERT_STREQ(lines[i][2], !strcmp(event, "crash") ? "warning" : "info",
			     "a crash is a warning, the rest information");
		json_object_put(rec);
	}
out:
	free(audit);
	free(lines);
	ops_stop(&e);
	rsyslog_stop(&rs);
}

TEST(syslog_reconnects_after_rsyslogd_restarts)
{
	struct rsyslog rs = { 0 };
	char text[512], want[64];
	struct fx e;
	int64_t deadline;
	char *got = NULL;
	int apps = 0;

	if (!fx_can_run() || !fx_init(&e))
		return;
	if (!rsyslog_start(&rs, e.dir))
		goto out;
	snprintf(text, sizeof(text), "syslog = yes\nsyslog_socket = %s\n", rs.sock);
	e.config = text;
	if (!fx_start(&e))
		goto out;
	/* A new rsyslogd, a new socket: the collector's old connection is dead. */
	rsyslog_stop(&rs);
	unlink(rs.out);
	if (!rsyslog_start(&rs, e.dir))
		goto out;
	/*
	 * Registrations until one's record arrives: the collector finds the old
	 * connection dead and connects again a second later. (Not a reload: that
	 * reconnects by itself.)
	 */
	snprintf(want, sizeof(want), "|register|");
	deadline = fx_now_ms() + OPS_WAIT_MS;
	while (fx_now_ms() < deadline) {
		struct fx_app app;

		if (!ops_app_start(&e, &app, 0, "knocking", "stdin", NULL))
			break;
		fx_app_send(&app, "exit0");
		fx_app_wait(&app, OPS_WAIT_MS);
		apps++;
		free(got);
		got = fx_read_file(rs.out, NULL);
		if (got && strstr(got, want))
			break;
		fx_nap(20);
	}
	ASSERT_TRUE(got && strstr(got, want), "records reach the restarted rsyslogd");
	ASSERT_GE(apps, 2, "the first record after the restart found the connection dead");
	free(got);
out:
	ops_stop(&e);
	rsyslog_stop(&rs);
}
