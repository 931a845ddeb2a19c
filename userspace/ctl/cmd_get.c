// SPDX-License-Identifier: LGPL-2.1-or-later
/* faultguardctl get SNAPSHOT KEY: the raw value bytes on stdout. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "ctl/ctl.h"
#include "ctl/open_snapshot.h"
#include "faultguard.h"

static int cmd_get(int argc, char **argv)
{
	struct fg_snapshot *s;
	const void *val;
	size_t len;
	int rc = 0;

	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
		return ctl_usage("get", "print one value's raw bytes");
	if (argc != 3)
		return ctl_usage("get", "expects a SNAPSHOT file and a KEY");
	s = ctl_open_snapshot(argv[1]);
	if (!s)
		return EXIT_FAILURE_EXPLAINED;
	if (fg_snapshot_get(s, argv[2], &val, &len) < 0)
		rc = ctl_fail("key '%s' is not in %s", argv[2], argv[1]);
	else if (fwrite(val, 1, len, stdout) != len || fflush(stdout) != 0)
		rc = ctl_fail("cannot write the value: %s", strerror(errno));
	fg_snapshot_close(s);
	return rc;
}

CTL_COMMAND("get", cmd_get, "SNAPSHOT KEY", "print one value's raw bytes");
