// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>

#include "spawn/rescue_env.h"

int rescue_env_format(const struct rescue_env *r, char *env[RESCUE_ENV_COUNT + 1], char *store,
		      size_t cap)
{
	char code[16] = "";
	size_t used = 0;
	int n = 0;

	if (r->exit_code >= 0)
		snprintf(code, sizeof(code), "%d", r->exit_code);
#define ADD(fmt, ...)                                                                      \
	do {                                                                               \
		int len = snprintf(store + used, cap - used, fmt, __VA_ARGS__);            \
		if (len < 0 || (size_t)len >= cap - used)                                  \
			return -E2BIG;                                                     \
		env[n++] = store + used;                                                   \
		used += (size_t)len + 1;                                                   \
	} while (0)
	ADD("FAULTGUARD_SNAPSHOT=%s", r->snapshot);
	ADD("FAULTGUARD_SNAPSHOT_STORED=%s", r->stored ? r->stored : "disk");
	ADD("FAULTGUARD_ID=%s", r->id);
	ADD("FAULTGUARD_APP=%s", r->app);
	ADD("FAULTGUARD_PID=%d", (int)r->pid);
	ADD("FAULTGUARD_UID=%u", (unsigned int)r->uid);
	ADD("FAULTGUARD_CAUSE=%s", r->cause ? r->cause : "");
	ADD("FAULTGUARD_SIGNAL=%d", r->signal);
	ADD("FAULTGUARD_EXIT_CODE=%s", code);
#undef ADD
	env[n] = NULL;
	return 0;
}
