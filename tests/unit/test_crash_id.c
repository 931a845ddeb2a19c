// SPDX-License-Identifier: LGPL-2.1-or-later
/* Crash ids: readable time of death, sortable as text, unique, safe as file names. */
#include <stdlib.h>
#include <time.h>

#include "common/crash_id.h"
#include "framework/test.h"

static int64_t ms_of(int year, int mon, int day, int h, int m, int s, int ms)
{
	struct tm tm = { .tm_year = year - 1900, .tm_mon = mon - 1, .tm_mday = day,
			 .tm_hour = h, .tm_min = m, .tm_sec = s };

	return (int64_t)timegm(&tm) * 1000 + ms;
}

TEST(crash_id_format)
{
	char id[CRASH_ID_LEN];

	crash_id_make(id, ms_of(2026, 11, 25, 18, 5, 12, 123), 4242);
	ASSERT_EQ(strncmp(id, "20261125T180512.123Z-4242-", 26), 0, id);
	ASSERT_EQ(strlen(id), 26 + 8, "8 hex digits of randomness");
	ASSERT_EQ(strspn(id + 26, "0123456789abcdef"), 8, "lower-case hex");
	ASSERT_TRUE(crash_id_valid(id), "valid");

	crash_id_make(id, -1, 1);
	ASSERT_EQ(strncmp(id, "19691231T235959.999Z-1-", 23), 0, "before the epoch");
	ASSERT_TRUE(crash_id_valid(id), "valid before the epoch");

	crash_id_make(id, ms_of(2026, 1, 1, 0, 0, 0, 0) * 1000, 7);
	ASSERT_EQ(strncmp(id, "99991231T", 9), 0, "years past 9999 are clamped");
	ASSERT_TRUE(crash_id_valid(id), "still valid");

	crash_id_make(id, 0, 4194304);
	ASSERT_TRUE(crash_id_valid(id), "the largest pid");
}

TEST(crash_ids_sort_by_time_of_death)
{
	int64_t t = ms_of(2026, 11, 25, 18, 5, 12, 123);
	int64_t later[] = { t + 1, t + 1000, t + 60000, t + 86400000ll, t + 40 * 86400000ll,
			    ms_of(2027, 1, 1, 0, 0, 0, 0) };
	char a[CRASH_ID_LEN], b[CRASH_ID_LEN];
	size_t i;

	/* Whatever the pids: a big pid earlier, a small one later. */
	crash_id_make(a, t, 4194303);
	for (i = 0; i < sizeof(later) / sizeof(later[0]); i++) {
		crash_id_make(b, later[i], 1);
		ASSERT_TRUE(strcmp(a, b) < 0, b);
	}
}

static int id_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

TEST(crash_ids_are_unique_within_a_millisecond)
{
	enum { N = 2000 };
	char (*ids)[CRASH_ID_LEN] = calloc(N, CRASH_ID_LEN);
	int i, j, dup = 0;

	if (!ASSERT_NOT_NULL(ids, "calloc"))
		return;
	/* Same pid and millisecond: a recycled pid dying again at once. */
	for (i = 0; i < N; i++)
		crash_id_make(ids[i], 1000, 100);
	qsort(ids, N, CRASH_ID_LEN, id_cmp);
	for (i = 1; i < N; i++)
		dup += strcmp(ids[i - 1], ids[i]) == 0;
	for (j = 0; j < N; j++)
		ASSERT_TRUE(crash_id_valid(ids[j]), ids[j]);
	/*
	 * 32 random bits: one duplicate pair among 2000 ids has odds of about
	 * 1 in 2000, two of about 1 in 10^7. A constant suffix gives 1999.
	 */
	ASSERT_TRUE(dup <= 1, "ids are unique");
	free(ids);
}

TEST(crash_id_valid_rejects_everything_else)
{
	static const char *const bad[] = {
		"",
		"..",
		"../../etc/passwd",
		"20261125T180512Z-4242-9f3c2a1b",        /* no milliseconds */
		"20261125T180512.123Z-4242-9F3C2A1B",    /* upper-case hex */
		"20261125T180512.123Z-4242-9f3c2a1",     /* 7 hex digits */
		"20261125T180512.123Z-4242-9f3c2a1b0",   /* 9 hex digits */
		"20261125T180512.123Z--9f3c2a1b",        /* no pid */
		"20261125T180512.123Z-12345678901-9f3c2a1b", /* pid too long */
		"20261125T180512.123Z-4242-9f3c2a1b/",
		"20261125T180512.123Z-4242-9f3c2a1b.fgsnap",
		"2026112xT180512.123Z-4242-9f3c2a1b",
		"20261125-180512.123Z-4242-9f3c2a1b",
		"20261125T180512.123-4242-9f3c2a1b",
		"20261125T180512.123Z_4242-9f3c2a1b",
		"20261125T180512.123Z-42a2-9f3c2a1b",
		"20261125T180512.123Z-4242-9f3c 2a1",
	};
	size_t i;

	ASSERT_TRUE(crash_id_valid("20261125T180512.123Z-4242-9f3c2a1b"), "the example");
	ASSERT_FALSE(crash_id_valid(NULL), "NULL");
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ASSERT_FALSE(crash_id_valid(bad[i]), bad[i]);
}
