/* SPDX-License-Identifier: LGPL-2.1-or-later */
#ifndef FG_TIMEFMT_H
#define FG_TIMEFMT_H

#include <stdint.h>

#define TIME_RFC3339_LEN 32

/* Milliseconds since the epoch, now (CLOCK_REALTIME). */
int64_t time_now_ms(void);
/* "2026-11-25T18:05:12.123Z" */
void time_rfc3339_ms(int64_t ms, char buf[TIME_RFC3339_LEN]);
/*
 * Parses an RFC 3339 time ("2026-11-25T18:05:12Z", optional fraction and
 * offset), a date ("2026-11-25", midnight UTC) or a relative age ("90s",
 * "15m", "2h", "7d" before now) into ms since the epoch. -EINVAL if neither.
 */
int time_parse(const char *s, int64_t *ms);

#endif
