// SPDX-License-Identifier: LGPL-2.1-or-later
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/crash_id.h"

/* "YYYYmmddTHHMMSS.mmmZ" */
#define STAMP_LEN 20
#define RAND_HEX 8

static uint32_t random32(void)
{
	static uint32_t fallback;
	struct timespec ts;
	uint32_t r;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == sizeof(r))
		return r;
	/*
	 * No entropy yet (early boot): the pid and time already make the id
	 * unique; mixing the clock and a counter keeps the suffix varied.
	 */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec * 2654435761u ^ (uint32_t)ts.tv_sec ^
	       __atomic_add_fetch(&fallback, 0x9e3779b9u, __ATOMIC_RELAXED);
}

void crash_id_make(char buf[CRASH_ID_LEN], int64_t time_ms, pid_t pid)
{
	time_t sec = (time_t)(time_ms / 1000);
	int ms = (int)(time_ms % 1000);
	struct tm tm;

	if (ms < 0) {
		ms += 1000;
		sec--;
	}
	/* Years past 9999 (or before 0) would break the fixed width that makes ids sort. */
	if (!gmtime_r(&sec, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		memset(&tm, 0, sizeof(tm));
		tm.tm_year = 9999 - 1900;
		tm.tm_mon = 11;
		tm.tm_mday = 31;
	}
	snprintf(buf, CRASH_ID_LEN, "%04u%02u%02uT%02u%02u%02u.%03uZ-%u-%08x",
		 (unsigned int)(tm.tm_year + 1900) % 10000u, (unsigned int)(tm.tm_mon + 1) % 100u,
		 (unsigned int)tm.tm_mday % 100u, (unsigned int)tm.tm_hour % 100u,
		 (unsigned int)tm.tm_min % 100u, (unsigned int)tm.tm_sec % 100u,
		 (unsigned int)ms % 1000u, (unsigned int)pid, random32());
}

static int all_in(const char *p, size_t n, const char *set)
{
	return strspn(p, set) >= n;
}

int crash_id_valid(const char *id)
{
	static const char digits[] = "0123456789", hex[] = "0123456789abcdef";
	const char *pid, *rnd;
	size_t pid_len;

	if (!id || strnlen(id, CRASH_ID_LEN) >= CRASH_ID_LEN || strlen(id) < STAMP_LEN)
		return 0;
	if (!all_in(id, 8, digits) || id[8] != 'T' || !all_in(id + 9, 6, digits) ||
	    id[15] != '.' || !all_in(id + 16, 3, digits) || id[19] != 'Z' || id[20] != '-')
		return 0;
	pid = id + 21;
	pid_len = strspn(pid, digits);
	if (pid_len == 0 || pid_len > 10 || pid[pid_len] != '-')
		return 0;
	rnd = pid + pid_len + 1;
	return strlen(rnd) == RAND_HEX && all_in(rnd, RAND_HEX, hex);
}
