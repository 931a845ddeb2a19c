// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * faultguardctl get [SNAPSHOT] KEY: the raw value bytes on stdout. One
 * argument is the KEY, of the snapshot named by $FAULTGUARD_SNAPSHOT.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/open_snapshot.h"
#include "faultguard.h"

static int cmd_get(int argc, char **argv)
{
	const char *path = getenv("FAULTGUARD_SNAPSHOT"), *key;
	struct fg_snapshot *s;
	const void *val;
	size_t len;
	int rc = 0;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return ctl_help("get");
	if (argc != 2 && argc != 3)
		return ctl_usage("get", "expects a KEY, after a SNAPSHOT file or alone "
					"($FAULTGUARD_SNAPSHOT)");
	if (argc == 3)
		path = argv[1];
	else if (!path || !*path)
		return ctl_usage("get", "expects a SNAPSHOT file before the KEY "
					"($FAULTGUARD_SNAPSHOT is not set)");
	key = argv[argc - 1];
	s = ctl_open_snapshot(path);
	if (!s)
		return EXIT_FAILURE_EXPLAINED;
	if (fg_snapshot_get(s, key, &val, &len) < 0)
		rc = ctl_fail("key '%s' is not in %s", key, path);
	else if (fwrite(val, 1, len, stdout) != len || fflush(stdout) != 0)
		rc = ctl_fail("cannot write the value: %s", strerror(errno));
	fg_snapshot_close(s);
	return rc;
}

CTL_COMMAND("get", cmd_get, "[SNAPSHOT] KEY",
	    "print one value's raw bytes (SNAPSHOT defaults to $FAULTGUARD_SNAPSHOT)");
