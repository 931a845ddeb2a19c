// SPDX-License-Identifier: LGPL-2.1-or-later
/* What /proc tells about a process, and the monotonic clock. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "collector/collector.h"

int64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mono_ms(void)
{
	return mono_ns() / 1000000;
}

/* Fills @id's comm and start time from /proc/PID/stat. */
int procinfo_read(pid_t pid, struct identity *id)
{
	char path[64], buf[1024], *open_paren, *close_paren, *p;
	unsigned long long start = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* "pid (comm) state ...": comm may itself hold parentheses. */
	open_paren = strchr(buf, '(');
	close_paren = strrchr(buf, ')');
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -EIO;
	n = close_paren - open_paren - 1;
	if (n > 16)
		n = 16;
	memcpy(id->comm, open_paren + 1, (size_t)n);
	id->comm[n] = '\0';
	/* starttime is field 22; the state after the comm is field 3. */
	p = close_paren + 2;
	for (field = 3; field < 22 && p; field++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p || sscanf(p, "%llu", &start) != 1)
		return -EIO;
	id->start_ticks = start;
	return 0;
}
