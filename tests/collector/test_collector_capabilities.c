// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * What the collector needs is what faultguardd.service grants, and nothing
 * else: run as an unprivileged uid with exactly the unit's
 * CapabilityBoundingSet= as ambient capabilities (setpriv), it watches,
 * snapshots and rescues another user's app, whose rescue runs as that user
 * with no capability at all; with any one of them taken away it refuses
 * to start, naming the one it lacks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "crash_check.h"
#include "framework/test.h"

#define COLLECTOR_UID 65534 /* nobody: the collector's own uid here */
#define APP_UID 4242        /* another user, without a passwd entry */

struct caps {
	char names[16][32]; /* "CAP_BPF", ... as the unit writes them */
	int n;
};

/* The unit's CapabilityBoundingSet= (dist/faultguardd.service.in). */
static bool unit_caps(struct caps *c)
{
	char path[PATH_MAX + 64], dir[PATH_MAX], *text, *line, *slash, *tok, *save = NULL;

	memset(c, 0, sizeof(*c));
	snprintf(path, sizeof(path), "dist/faultguardd.service.in");
	if (access(path, R_OK) != 0) {
		snprintf(dir, sizeof(dir), "%s", test_build_dir());
		slash = strrchr(dir, '/');
		if (slash)
			*slash = '\0';
		snprintf(path, sizeof(path), "%.3000s/dist/faultguardd.service.in", dir);
	}
	text = fx_read_file(path, NULL);
	if (!ASSERT_NOT_NULL(text, "read dist/faultguardd.service.in"))
		return false;
	line = strstr(text, "\nCapabilityBoundingSet=");
	if (ASSERT_NOT_NULL(line, "the unit sets CapabilityBoundingSet=")) {
		line += strlen("\nCapabilityBoundingSet=");
		line[strcspn(line, "\n")] = '\0';
		for (tok = strtok_r(line, " ", &save); tok && c->n < 16; tok = strtok_r(NULL, " ", &save))
			snprintf(c->names[c->n++], sizeof(c->names[0]), "%s", tok);
	}
	free(text);
	return ASSERT_GE(c->n, 1, "capabilities in the unit");
}

/* "+bpf,+perfmon,..." for setpriv, leaving out @skip (-1: none). */
static void setpriv_list(const struct caps *c, int skip, char *buf, size_t len)
{
	size_t used = 0;
	int i;

	buf[0] = '\0';
	for (i = 0; i < c->n; i++) {
		const char *p;

		if (i == skip)
			continue;
		used += (size_t)snprintf(buf + used, len - used, "%s+", used ? "," : "");
		for (p = c->names[i] + 4; *p && used + 1 < len; p++) /* "CAP_" off, lower case */
			buf[used++] = (char)(*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p);
		buf[used] = '\0';
	}
}

static char inh[600], amb[600];
static const char *wrapper[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
				 inh, amb, NULL };

static bool have_setpriv(void)
{
	const char *argv[] = { "setpriv", "--version", NULL };

	return ASSERT_EQ(fx_run(NULL, argv, NULL, 0), 0, "setpriv runs (Debian package util-linux)");
}

TEST(the_units_capabilities_are_enough_as_another_uid)
{
	static const struct fx_crash segv = {
		.cause = "segfault", .signal = SIGSEGV, .si_code = SEGV_MAPERR, .fault_addr = "0x0",
	};
	char list[512];
	struct fx_rescue r;
	struct fx_app a;
	struct caps c;
	struct fx e;

	memset(&e, 0, sizeof(e));
	if (!fx_can_run() || !have_setpriv() || !unit_caps(&c) || !fx_init(&e))
		goto out;
	setpriv_list(&c, -1, list, sizeof(list));
	snprintf(inh, sizeof(inh), "--inh-caps=%s", list);
	snprintf(amb, sizeof(amb), "--ambient-caps=%s", list);
	e.wrapper = wrapper;
	/* Its socket and state directory are made by it, in a directory it owns. */
	if (!ASSERT_OK(chown(e.dir, COLLECTOR_UID, COLLECTOR_UID), "chown the scratch directory") ||
	    !fx_start(&e))
		goto out;
	fx_rescue_init(&e, &r, "caps", NULL);
	if (!fx_app_start(&e, &a,
			  &(struct fx_app_spec){ .app = "capable", .mode = "segv", .uid = APP_UID,
						 .gid = APP_UID, .rescue_argv = r.argv }) ||
	    !fx_app_wait(&a, FX_WAIT_MS))
		goto out;
	/* The whole crash, with its report: uids 4242 and every capability set empty. */
	fx_check_crash(&e, &a, &segv, &r, NULL);
	fx_stop(&e);
out:
	fx_cleanup(&e);
}

TEST(without_any_one_of_them_it_refuses_to_start)
{
	char list[512], out[4096], want[64], sock[PATH_MAX + 16], state[PATH_MAX + 16];
	char bin[PATH_MAX + 16];
	const char *argv[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", inh, amb,
			       bin, "--socket", sock, "--state-dir", state, NULL };
	struct caps c;
	int i, st;

	if (!have_setpriv() || !unit_caps(&c))
		return;
	snprintf(bin, sizeof(bin), "%s/faultguardd", test_build_dir());
	snprintf(sock, sizeof(sock), "%.3000s/fg.sock", test_tmpdir());
	snprintf(state, sizeof(state), "%.3000s/state", test_tmpdir());
	for (i = 0; i < c.n; i++) {
		setpriv_list(&c, i, list, sizeof(list));
		snprintf(inh, sizeof(inh), "--inh-caps=%s", list);
		snprintf(amb, sizeof(amb), "--ambient-caps=%s", list);
		st = fx_run(NULL, argv, out, sizeof(out));
		snprintf(want, sizeof(want), "faultguardd: lacks %s: ", c.names[i]);
		if (!ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 1, c.names[i]) ||
		    !ASSERT_TRUE(!strncmp(out, want, strlen(want)), "names what it lacks"))
			fprintf(stderr, "  without %s: %s\n", c.names[i], out);
		ASSERT_TRUE(access(sock, F_OK) != 0, "no socket was made");
	}
}
