// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/timefmt.h"

int64_t time_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void time_rfc3339_ms(int64_t ms, char buf[TIME_RFC3339_LEN])
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;
	int frac = (int)(ms % 1000);

	if (frac < 0) {
		frac += 1000;
		sec--;
	}
	gmtime_r(&sec, &tm);
	/* Years past 9999 do not fit RFC 3339: clamp rather than truncate. */
	if (tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0) {
		snprintf(buf, TIME_RFC3339_LEN, "%s", "9999-12-31T23:59:59.999Z");
		return;
	}
	snprintf(buf, TIME_RFC3339_LEN, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ",
		 (unsigned int)(tm.tm_year + 1900) % 10000u, (unsigned int)(tm.tm_mon + 1) % 100u,
		 (unsigned int)tm.tm_mday % 100u, (unsigned int)tm.tm_hour % 100u,
		 (unsigned int)tm.tm_min % 100u, (unsigned int)tm.tm_sec % 100u,
		 (unsigned int)frac % 1000u);
}

static int parse_relative(const char *s, int64_t *ms)
{
	char *end;
	long long n;
	int64_t unit;

	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno || end == s || n < 0 || strlen(end) != 1)
		return -EINVAL;
	switch (*end) {
	case 's': unit = 1000; break;
	case 'm': unit = 60 * 1000; break;
	case 'h': unit = 3600 * 1000; break;
	case 'd': unit = 86400 * 1000; break;
	default: return -EINVAL;
	}
	if (n > INT64_MAX / unit)
		return -EINVAL;
	*ms = time_now_ms() - n * unit;
	return 0;
}

int time_parse(const char *s, int64_t *ms)
{
	struct tm tm;
	const char *p;
	int64_t frac = 0, off = 0;
	time_t t;

	if (!s || !*s)
		return -EINVAL;
	if (parse_relative(s, ms) == 0)
		return 0;
	memset(&tm, 0, sizeof(tm));
	p = strptime(s, "%Y-%m-%d", &tm);
	if (!p)
		return -EINVAL;
	if (*p == 'T' || *p == 't' || *p == ' ') {
		p = strptime(p + 1, "%H:%M:%S", &tm);
		if (!p)
			return -EINVAL;
		if (*p == '.') {
			int digits = 0;

			for (p++; *p >= '0' && *p <= '9'; p++, digits++)
				if (digits < 3)
					frac = frac * 10 + (*p - '0');
			while (digits++ < 3)
				frac *= 10;
		}
		if (*p == 'Z' || *p == 'z') {
			p++;
		} else if (*p == '+' || *p == '-') {
			int hh, mm, sign = *p == '-' ? -1 : 1;

			if (sscanf(p + 1, "%2d:%2d", &hh, &mm) != 2)
				return -EINVAL;
			off = sign * (int64_t)(hh * 3600 + mm * 60) * 1000;
			p += 6;
		} else {
			return -EINVAL;
		}
	}
	if (*p)
		return -EINVAL;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	*ms = (int64_t)t * 1000 + frac - off;
	return 0;
}
