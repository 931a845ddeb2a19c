// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "spawn/caps.h"

uint64_t caps_effective(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capget, &h, d) < 0)
		return 0;
	return (uint64_t)d[1].effective << 32 | d[0].effective;
}

int caps_drop_all(void)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	/* Ambient first: it may hold only what stays permitted and inheritable. */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return -errno;
	return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

void caps_names(uint64_t mask, char *buf, size_t len)
{
	static const char *const names[] = {
		[CAP_CHOWN] = "CAP_CHOWN",	     [CAP_DAC_OVERRIDE] = "CAP_DAC_OVERRIDE",
		[CAP_FOWNER] = "CAP_FOWNER",	     [CAP_KILL] = "CAP_KILL",
		[CAP_SETGID] = "CAP_SETGID",	     [CAP_SETUID] = "CAP_SETUID",
		[CAP_SYS_PTRACE] = "CAP_SYS_PTRACE", [CAP_SYS_ADMIN] = "CAP_SYS_ADMIN",
		[CAP_PERFMON] = "CAP_PERFMON",	     [CAP_BPF] = "CAP_BPF",
	};
	size_t used = 0;
	unsigned int i;

	buf[0] = '\0';
	for (i = 0; i < 64 && used < len; i++) {
		if (!(mask & CAPS_BIT(i)))
			continue;
		if (i < sizeof(names) / sizeof(names[0]) && names[i])
			used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? ", " : "",
						 names[i]);
		else
			used += (size_t)snprintf(buf + used, len - used, "%scapability %u",
						 used ? ", " : "", i);
	}
}
