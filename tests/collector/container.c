// SPDX-License-Identifier: LGPL-2.1-or-later
/* Containers for the collector tests (see container.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container.h"
#include "framework/test.h"

/* What the container-only rescue reports: who, where, which namespaces, and the snapshot. */
static const char rescue_sh[] =
	"#!/bin/sh\n"
	"o=/out/$FAULTGUARD_APP\n"
	"{\n"
	"echo uid=$(id -u)\n"
	"echo user=$USER\n"
	"echo home=$HOME\n"
	"echo pwd=$(pwd)\n"
	"echo marker=$(cat /etc/ct-marker)\n"
	"echo hostname=$(cat /proc/sys/kernel/hostname)\n"
	"echo ns=ns $(readlink /proc/self/ns/mnt) $(readlink /proc/self/ns/pid) "
	"$(readlink /proc/self/ns/net) $(readlink /proc/self/ns/uts) $(readlink /proc/self/ns/ipc)\n"
	"[ -e /proc/$$ ] && echo pid_visible=yes\n"
	"echo snapshot=$FAULTGUARD_SNAPSHOT\n"
	"echo stored=$FAULTGUARD_SNAPSHOT_STORED\n"
	"touch $HOME/written && echo home_write=ok\n"
	"touch /etc/ct-marker 2>/dev/null || echo etc_write=refused\n"
	"} > $o.tmp 2>&1\n"
	"cat \"$FAULTGUARD_SNAPSHOT\" > $o.snap\n"
	"mv $o.tmp $o.report\n";

bool ct_begin(struct fx *fx)
{
	char path[PATH_MAX];

	if (!fx_can_run() || !fx_init(fx))
		return false;
	if (access("/usr/bin/unshare", X_OK) < 0) {
		test_fail(__FILE__, __LINE__, "unshare(1) (util-linux) is not installed");
		return false;
	}
	if (!fx_path(fx->sock, sizeof(fx->sock) - 16, "%s/run/fg.sock", fx->dir) ||
	    !fx_path(path, sizeof(path), "%s/run", fx->dir) ||
	    !ASSERT_OK(mkdir(path, 0755) ? -errno : 0, "mkdir run") ||
	    !fx_path(path, sizeof(path), "%s/ctonly", fx->dir) ||
	    !ASSERT_OK(mkdir(path, 0755) ? -errno : 0, "mkdir ctonly") ||
	    !fx_path(path, sizeof(path), "%s/ctroot", fx->dir) ||
	    !ASSERT_OK(mkdir(path, 0755) ? -errno : 0, "mkdir ctroot") ||
	    !fx_path(path, sizeof(path), "%s/ctonly/rescue.sh", fx->dir) ||
	    !ASSERT_OK(fx_write_file(path, rescue_sh), "write rescue.sh") ||
	    !ASSERT_OK(chmod(path, 0755) ? -errno : 0, "chmod rescue.sh"))
		return false;
	/* Everything on the way must be enterable by the container's users (bind sources). */
	chmod(fx->dir, 0755);
	return fx_start(fx);
}

static void __attribute__((noreturn)) exec_ct(struct fx *fx, const struct ct_spec *s, int in, int out)
{
	char enter[PATH_MAX], app[PATH_MAX], root[PATH_MAX], sockdir[PATH_MAX], ctonly[PATH_MAX];
	char procs[PATH_MAX], uid[16], pid[16];
	const char *argv[64];
	int argc = 0, i, fd;

	fx_path(enter, sizeof(enter), "%s/tests/helpers/ct_enter", fx->build);
	fx_path(app, sizeof(app), "%s/tests/helpers/col_app", fx->build);
	fx_path(root, sizeof(root), "%s/ctroot", fx->dir);
	fx_path(sockdir, sizeof(sockdir), "%s/run", fx->dir);
	fx_path(ctonly, sizeof(ctonly), "%s/ctonly", fx->dir);
	snprintf(uid, sizeof(uid), "%u", (unsigned int)s->uid);
	argv[argc++] = "/usr/bin/unshare";
	if (s->userns) {
		argv[argc++] = "--user";
		argv[argc++] = "--map-root-user";
	}
	argv[argc++] = "--pid";
	argv[argc++] = "--mount";
	argv[argc++] = "--uts";
	argv[argc++] = "--ipc";
	argv[argc++] = "--net";
	argv[argc++] = "--fork";
	argv[argc++] = "--kill-child";
	argv[argc++] = "--mount-proc";
	argv[argc++] = enter;
	if (s->pid1)
		argv[argc++] = "--pid1";
	argv[argc++] = "--uid";
	argv[argc++] = uid;
	argv[argc++] = root;
	argv[argc++] = fx->build;
	argv[argc++] = sockdir;
	argv[argc++] = ctonly;
	argv[argc++] = fx->out;
	argv[argc++] = "--";
	if (s->prog) {
		argv[argc++] = s->prog;
		for (i = 0; s->prog_args && s->prog_args[i] && argc < 60; i++)
			argv[argc++] = s->prog_args[i];
	} else {
		argv[argc++] = app;
		argv[argc++] = "--app";
		argv[argc++] = s->app;
		argv[argc++] = s->mode;
		if (s->rescue_argv)
			argv[argc++] = "--";
		for (i = 0; s->rescue_argv && s->rescue_argv[i] && argc < 60; i++)
			argv[argc++] = s->rescue_argv[i];
	}
	argv[argc] = NULL;
	dup2(in, 0);
	dup2(out, 1);
	if (s->cgroup) {
		snprintf(procs, sizeof(procs), "%s/cgroup.procs", s->cgroup);
		snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		fd = open(procs, O_WRONLY);
		if (fd < 0 || write(fd, pid, strlen(pid)) < 0) {
			fprintf(stderr, "ct: cannot join %s: %s\n", procs, strerror(errno));
			_exit(126);
		}
		close(fd);
	}
	setenv("FAULTGUARD_SOCKET", "/run/faultguard/fg.sock", 1);
	execv(argv[0], (char **)argv);
	fprintf(stderr, "ct: exec unshare: %s\n", strerror(errno));
	_exit(127);
}

bool ct_read_line(struct ct *ct, char *line, size_t len, int timeout_ms)
{
	int r = fx_fd_read_line(ct->out, ct->buf, sizeof(ct->buf), &ct->len, line, len, timeout_ms);

	if (r == 0)
		test_fail(__FILE__, __LINE__, "no line from the container within %d ms", timeout_ms);
	else if (r < 0)
		test_fail(__FILE__, __LINE__, "the container closed its stdout");
	return r > 0;
}

bool ct_send(struct ct *ct, const char *line)
{
	size_t len = strlen(line);

	return ASSERT_EQ(write(ct->in, line, len), (long long)len, "write to the container") &&
	       ASSERT_EQ(write(ct->in, "\n", 1), 1, "write to the container");
}

bool ct_start(struct fx *fx, struct ct *ct, const struct ct_spec *spec)
{
	int in[2], out[2];
	char line[512];
	json_object *reg;

	memset(ct, 0, sizeof(*ct));
	ct->fx = fx;
	ct->in = ct->out = -1;
	if (!ASSERT_OK(pipe2(in, O_CLOEXEC) ? -errno : 0, "pipe") ||
	    !ASSERT_OK(pipe2(out, O_CLOEXEC) ? -errno : 0, "pipe"))
		return false;
	fflush(NULL);
	ct->pid = fork();
	if (ct->pid == 0)
		exec_ct(fx, spec, in[0], out[1]);
	close(in[0]);
	close(out[1]);
	ct->in = in[1];
	ct->out = out[0];
	if (!ASSERT_GE(ct->pid, 0, "fork a container"))
		return false;
	if (!ct_read_line(ct, line, sizeof(line), FX_START_MS) ||
	    !ASSERT_TRUE(!strncmp(line, "ns ", 3), "the container says its namespaces")) {
		fprintf(stderr, "  container said \"%s\"\n", line);
		ct_kill(ct);
		return false;
	}
	snprintf(ct->ns, sizeof(ct->ns), "%s", line);
	if (spec->prog || spec->userns)
		return true;
	if (!ct_read_line(ct, line, sizeof(line), FX_START_MS) ||
	    !ASSERT_EQ(sscanf(line, "ready %d", &ct->ns_pid), 1, "the app says it is ready")) {
		fprintf(stderr, "  container said \"%s\"\n", line);
		ct_kill(ct);
		return false;
	}
	reg = fx_wait_with(fx, "register", "app", spec->app, 0, FX_WAIT_MS);
	if (!reg) {
		ct_kill(ct);
		return false;
	}
	ct->host_pid = jint_or(reg, "pid", -1);
	json_object_put(reg);
	return true;
}

static bool reap(struct ct *ct, int timeout_ms)
{
	long long deadline = fx_now_ms() + timeout_ms;

	while (!ct->reaped) {
		pid_t p = waitpid(ct->pid, &ct->status, WNOHANG);

		if (p == ct->pid) {
			ct->reaped = 1;
			break;
		}
		if (fx_now_ms() > deadline)
			return false;
		fx_nap(10);
	}
	if (ct->in >= 0)
		close(ct->in);
	if (ct->out >= 0)
		close(ct->out);
	ct->in = ct->out = -1;
	return true;
}

bool ct_end(struct ct *ct, int timeout_ms)
{
	if (ct->reaped)
		return true;
	if (ct->in >= 0)
		(void)!write(ct->in, "\n", 1);
	if (reap(ct, timeout_ms))
		return true;
	test_fail(__FILE__, __LINE__, "the container did not end within %d ms", timeout_ms);
	ct_kill(ct);
	return false;
}

void ct_kill(struct ct *ct)
{
	if (ct->reaped || ct->pid <= 0)
		return;
	kill(ct->pid, SIGKILL);
	reap(ct, FX_WAIT_MS);
}

char *ct_report(struct fx *fx, const char *app, int timeout_ms)
{
	char path[PATH_MAX];

	fx_path(path, sizeof(path), "%s/%s.report", fx->out, app);
	if (!fx_wait_file(path, true, timeout_ms)) {
		test_fail(__FILE__, __LINE__, "no report %s within %d ms", path, timeout_ms);
		return NULL;
	}
	return fx_read_file(path, NULL);
}

const char *ct_field(const char *report, const char *key, char *buf, size_t len)
{
	size_t k = strlen(key);
	const char *p = report;

	buf[0] = '\0';
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t l = nl ? (size_t)(nl - p) : strlen(p);

		if (l > k && !strncmp(p, key, k) && p[k] == '=') {
			snprintf(buf, len, "%.*s", (int)(l - k - 1), p + k + 1);
			return buf;
		}
		p = nl ? nl + 1 : NULL;
	}
	return buf;
}
