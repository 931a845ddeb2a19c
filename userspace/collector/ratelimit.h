/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Crash loops: at most BURST rescues of one app for one uid in any window
 * of INTERVAL. Beyond it the crash is still recorded and its snapshot kept;
 * only the command does not run. Rescues refused do not count, so a loop
 * that crashes once a minute gets its rescue again as soon as the oldest
 * counted one leaves the window.
 */
#ifndef FG_COLLECTOR_RATELIMIT_H
#define FG_COLLECTOR_RATELIMIT_H

#include <stdint.h>
#include <sys/types.h>

struct ratelimit;

int ratelimit_new(struct ratelimit **out);
void ratelimit_free(struct ratelimit *rl); /* accepts NULL */

/*
 * 1 when a rescue of @app for @uid at @now_ms may run (it is counted), 0
 * when @burst rescues already ran in the last @interval_ms. @burst 0 means
 * no limit. Out of memory errs on the side of running the rescue.
 */
int ratelimit_allow(struct ratelimit *rl, uid_t uid, const char *app, unsigned int burst,
		    int64_t interval_ms, int64_t now_ms);

/* Forgets apps with no rescue in the last @interval_ms (bounds the memory). */
void ratelimit_prune(struct ratelimit *rl, int64_t interval_ms, int64_t now_ms);
/* 1 when no app is counted: nothing to prune. */
int ratelimit_empty(const struct ratelimit *rl);

#endif
