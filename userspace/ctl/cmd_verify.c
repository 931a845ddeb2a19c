// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * faultguardctl verify [--state-dir D] [--audit-log F]...: checks the audit
 * chain of the files in the order given (the oldest rotation first; SPEC
 * §8.4). "N records, chain intact" and exit 0, or the first line that
 * breaks it and how, and exit 1.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "auditlog/verify.h"
#include "ctl/ctl.h"
#include "ctl/state_dir.h"

#define MAX_FILES 256

/* No file named: the state directory's log; a user's own when the system's is not readable. */
static void default_log(const char *state_dir, char *buf, size_t len)
{
	char dir[PATH_MAX];

	snprintf(buf, len, "%s/audit.jsonl", state_dir ? state_dir : STATE_DIR_SYSTEM);
	if (!state_dir && geteuid() != 0 && access(buf, R_OK) < 0 &&
	    state_dir_default(dir, sizeof(dir)) == 0)
		snprintf(buf, len, "%s/audit.jsonl", dir);
}

static int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "audit-log", required_argument, NULL, 'a' },
		{ "state-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *paths[MAX_FILES], *state_dir = NULL;
	char dflt[PATH_MAX + 16];
	struct verify_result r;
	size_t n = 0, bad = 0;
	int c, err;

	while ((c = getopt_long(argc, argv, "a:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if (n == MAX_FILES)
				return ctl_usage("verify", "at most %d files", MAX_FILES);
			paths[n++] = optarg;
			break;
		case 'd': state_dir = optarg; break;
		case 'h': return ctl_help("verify");
		default: return ctl_bad_option("verify");
		}
	}
	if (optind != argc)
		return ctl_usage("verify", "takes no arguments (name files with --audit-log)");
	if (!n) {
		default_log(state_dir, dflt, sizeof(dflt));
		paths[n++] = dflt;
	}
	err = audit_verify(paths, n, &r, &bad);
	if (err)
		return ctl_fail("cannot read %s: %s", paths[bad], strerror(-err));
	if (r.how == VERIFY_INTACT) {
		printf("%zu records, chain intact", r.records);
		if (r.unchained)
			printf(" (%zu earlier line%s without a chain)", r.unchained,
			       r.unchained == 1 ? "" : "s");
		putchar('\n');
		return 0;
	}
	printf("%s:%zu: %s: %s\n", paths[r.file], r.line, verify_break_name(r.how), r.why);
	printf("%zu records intact before it\n", r.records);
	return EXIT_FAILURE_EXPLAINED;
}

CTL_COMMAND("verify", cmd_verify, "[--state-dir D] [--audit-log F]...",
	    "check the audit log's chain: intact, or the first line edited, removed, "
	    "reordered or truncated");
