// SPDX-License-Identifier: LGPL-2.1-or-later
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collector/ratelimit.h"

#define BUCKETS 256u

/* The start times of the rescues counted in the window, oldest first. */
struct rl_app {
	uid_t uid;
	char app[65];
	int64_t *times;
	unsigned int n, cap;
	struct rl_app *next;
};

struct ratelimit {
	struct rl_app *buckets[BUCKETS];
	unsigned int napps;
};

int ratelimit_new(struct ratelimit **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void app_free(struct rl_app *a)
{
	free(a->times);
	free(a);
}

void ratelimit_free(struct ratelimit *rl)
{
	unsigned int b;

	if (!rl)
		return;
	for (b = 0; b < BUCKETS; b++) {
		while (rl->buckets[b]) {
			struct rl_app *a = rl->buckets[b];

			rl->buckets[b] = a->next;
			app_free(a);
		}
	}
	free(rl);
}

static unsigned int hash(uid_t uid, const char *app)
{
	uint32_t h = 2166136261u ^ (uint32_t)uid;

	for (; *app; app++)
		h = (h ^ (uint8_t)*app) * 16777619u;
	return h % BUCKETS;
}

/* Drops the times that left the window. */
static void expire(struct rl_app *a, int64_t interval_ms, int64_t now_ms)
{
	unsigned int i = 0;

	while (i < a->n && a->times[i] <= now_ms - interval_ms)
		i++;
	/* Nothing expired: times may still be NULL, which memmove must not get. */
	if (!i)
		return;
	memmove(a->times, a->times + i, (a->n - i) * sizeof(*a->times));
	a->n -= i;
}

int ratelimit_allow(struct ratelimit *rl, uid_t uid, const char *app, unsigned int burst,
		    int64_t interval_ms, int64_t now_ms)
{
	struct rl_app **head = &rl->buckets[hash(uid, app)], *a;

	if (!burst)
		return 1;
	for (a = *head; a; a = a->next)
		if (a->uid == uid && !strcmp(a->app, app))
			break;
	if (!a) {
		a = calloc(1, sizeof(*a));
		if (!a)
			return 1;
		a->uid = uid;
		snprintf(a->app, sizeof(a->app), "%s", app);
		a->next = *head;
		*head = a;
		rl->napps++;
	}
	expire(a, interval_ms, now_ms);
	if (a->n >= burst)
		return 0;
	if (a->n == a->cap) {
		unsigned int cap = a->cap ? a->cap * 2 : 8;
		int64_t *t = realloc(a->times, cap * sizeof(*t));

		if (!t)
			return 1;
		a->times = t;
		a->cap = cap;
	}
	a->times[a->n++] = now_ms;
	return 1;
}

void ratelimit_prune(struct ratelimit *rl, int64_t interval_ms, int64_t now_ms)
{
	unsigned int b;

	for (b = 0; b < BUCKETS; b++) {
		struct rl_app **pp = &rl->buckets[b];

		while (*pp) {
			struct rl_app *a = *pp;

			expire(a, interval_ms, now_ms);
			if (a->n) {
				pp = &a->next;
				continue;
			}
			*pp = a->next;
			app_free(a);
			rl->napps--;
		}
	}
}

int ratelimit_empty(const struct ratelimit *rl)
{
	return !rl->napps;
}
