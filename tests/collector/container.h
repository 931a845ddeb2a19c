/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Containers for the collector tests (SPEC §8.5): real PID, mount, uts,
 * ipc and net namespaces made by unshare(1) and tests/helpers/ct_enter (a
 * private root of bind mounts, the collector's socket directory at
 * /run/faultguard), an app of tests/helpers inside, and what the
 * container-only rescue script /ct-only/rescue.sh reported.
 */
#ifndef FG_TEST_CONTAINER_H
#define FG_TEST_CONTAINER_H

#include "collector_fixture.h"

struct ct_spec {
	const char *app;         /* the app's name (unique in the test) */
	const char *mode;        /* col_app's MODE */
	const char *const *rescue_argv; /* inside the container; NULL: none */
	uid_t uid;               /* the app's uid inside (and outside: no user namespace) */
	int pid1;                /* the app is the container's PID 1 */
	const char *cgroup;      /* a cgroup directory the whole container runs in */
	int userns;              /* unshare --user --map-root-user too (rootless) */
	const char *prog;        /* instead of col_app: an absolute path inside, its argv after */
	const char *const *prog_args;
};

struct ct {
	struct fx *fx;
	pid_t pid;        /* unshare, on the host */
	int in, out;
	char buf[8192];
	size_t len;
	char ns[512];     /* "ns mnt:[..] pid:[..] ..." of the container's init */
	int ns_pid;       /* the app's pid inside (its "ready" line) */
	long host_pid;    /* the app's pid on the host (its register record) */
	int status;
	int reaped;
};

/*
 * Sets up the fixture for containers: fx_can_run, fx_init, the socket in
 * DIR/run/ (the directory bind-mounted into containers), the container's
 * own files in DIR/ctonly (with rescue.sh), DIR/ctroot; then fx_start.
 */
bool ct_begin(struct fx *fx);
/* Starts a container and waits for its app's "ready" and register record (not with userns). */
bool ct_start(struct fx *fx, struct ct *ct, const struct ct_spec *spec);
bool ct_read_line(struct ct *ct, char *line, size_t len, int timeout_ms);
bool ct_send(struct ct *ct, const char *line);
/* Tells the init to end (a line on its stdin) and reaps the container. */
bool ct_end(struct ct *ct, int timeout_ms);
void ct_kill(struct ct *ct);
/* The rescue script's report for @app (key=value lines), waiting for it; NULL if none came. */
char *ct_report(struct fx *fx, const char *app, int timeout_ms);
/* The value of @key in a report ("" when absent), into @buf. */
const char *ct_field(const char *report, const char *key, char *buf, size_t len);

#endif
