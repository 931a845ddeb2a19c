// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * faultguardctl claim --app NAME [--json] [--socket PATH] [--state-dir DIR]
 * (SPEC §8.5): the newest unclaimed snapshot of NAME under our uid, from
 * the collector (as an fd: works in a container) or, with no collector,
 * from the standalone state directory; printed as `dump` prints it, and
 * claimed. Exit 1 with a sentence when there is none.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ask_collector.h"
#include "ctl/ctl.h"
#include "ctl/open_snapshot.h"
#include "ctl/state_dir.h"
#include "faultguard.h"
#include "lib/claim.h"

static int cmd_claim(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "app", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "socket", required_argument, NULL, 's' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *app = NULL, *sock = NULL, *state = NULL;
	char state_abs[4096], id[256];
	struct fg_snapshot *s;
	struct fg_opts o = { .sz = sizeof(o) };
	int json = 0, c, rc, from_collector;

	while ((c = getopt_long(argc, argv, "a:js:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			app = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 's':
			sock = optarg;
			break;
		case 'd':
			state = optarg;
			break;
		case 'h':
			return ctl_help("claim");
		default:
			return ctl_bad_option("claim");
		}
	}
	if (optind < argc)
		return ctl_usage("claim", "takes no arguments besides its options");
	if (!app)
		return ctl_usage("claim", "expects --app NAME");
	if (state && state_dir_absolute(state, state_abs, sizeof(state_abs)))
		return ctl_usage("claim", "--state-dir '%s' is not usable", state);
	o.app = app;
	o.socket_path = ctl_socket_path(sock);
	s = claim_previous(&o, state ? state_abs : NULL, id, &from_collector);
	if (!s && errno == ENOENT)
		return ctl_fail("no unclaimed snapshot of %s for this user (%s)", app,
				from_collector ? "asked the collector" : "the standalone state directory");
	if (!s && errno == EINVAL)
		return ctl_usage("claim", "'%s' is not an app name (1-64 of [A-Za-z0-9._-])", app);
	if (!s)
		return ctl_fail("cannot claim a snapshot of %s: %s", app, strerror(errno));
	if (!json)
		printf("# claimed %s\n", id);
	rc = ctl_dump_snapshot(s, json);
	fg_snapshot_close(s);
	return rc;
}

CTL_COMMAND("claim", cmd_claim, "--app NAME [--json] [--socket PATH] [--state-dir DIR]",
	    "take back the newest unclaimed snapshot of an app (at its next start)");
