// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "ctl/ctl.h"
#include "ctl/open_snapshot.h"
#include "faultguard.h"

struct fg_snapshot *ctl_open_snapshot(const char *path)
{
	struct fg_snapshot *s = fg_snapshot_open(path);
	struct stat st;

	if (s)
		return s;
	if (errno == EINVAL && stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		ctl_fail("%s is a directory, not a snapshot file", path);
	else if (errno == EINVAL || errno == ENOTSUP)
		ctl_fail("%s is not a valid faultguard snapshot (%s)", path,
			 errno == ENOTSUP ? "unknown format version" : "corrupt or truncated");
	else
		ctl_fail("cannot read snapshot %s: %s", path, strerror(errno));
	return NULL;
}
