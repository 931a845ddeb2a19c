// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The demo's rescue command. faultguardd runs it as the app's user after the
 * crash, with the snapshot's path in $FAULTGUARD_SNAPSHOT.
 */
#include <stdio.h>
#include <stdlib.h>

#include "faultguard.h"

int main(void)
{
	const char *path = getenv("FAULTGUARD_SNAPSHOT");
	struct fg_snapshot *s;
	const void *v1, *v2;
	size_t l1, l2;
	const int *d1;

	if (!path) {
		fprintf(stderr, "demo_rescue: FAULTGUARD_SNAPSHOT is not set\n");
		return 1;
	}
	s = fg_snapshot_open(path);
	if (!s) {
		perror("demo_rescue: cannot open the snapshot");
		return 1;
	}
	printf("Fault occurred (%s in %s, pid %s). Rescued data:\n", getenv("FAULTGUARD_CAUSE"),
	       getenv("FAULTGUARD_APP"), getenv("FAULTGUARD_PID"));
	if (fg_snapshot_get(s, "important_data_1", &v1, &l1) == 0 && l1 == 3 * sizeof(int)) {
		d1 = v1;
		printf("important_data_1: [%d %d %d]\n", d1[0], d1[1], d1[2]);
	}
	if (fg_snapshot_get(s, "important_data_2", &v2, &l2) == 0)
		printf("important_data_2: %.*s\n", (int)l2, (const char *)v2);
	fg_snapshot_close(s);
	return 0;
}
