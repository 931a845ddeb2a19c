// SPDX-License-Identifier: LGPL-2.1-or-later
/* struct fg_snapshot: building one, and the public read-only accessors. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/export.h"
#include "faultguard.h"
#include "snapshot/snapshot.h"

struct fg_snapshot *snapshot_new(void)
{
	return calloc(1, sizeof(struct fg_snapshot));
}

int snapshot_add(struct fg_snapshot *s, const char *key, size_t klen, const void *val, size_t len)
{
	struct snap_entry *e;

	if (klen == 0 || klen > FG_KEY_MAX || memchr(key, 0, klen))
		return -EINVAL;
	if (s->count == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct snap_entry *n = realloc(s->entries, cap * sizeof(*n));

		if (!n)
			return -ENOMEM;
		s->entries = n;
		s->cap = cap;
	}
	e = &s->entries[s->count];
	e->key = malloc(klen + 1);
	e->val = malloc(len ? len : 1);
	if (!e->key || !e->val) {
		free(e->key);
		free(e->val);
		return -ENOMEM;
	}
	memcpy(e->key, key, klen);
	e->key[klen] = '\0';
	if (len)
		memcpy(e->val, val, len);
	e->len = len;
	s->count++;
	s->bytes += len;
	return 0;
}

struct order {
	const char *key;
	size_t idx;
};

static int order_cmp(const void *a, const void *b)
{
	const struct order *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	if (c)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

void snapshot_finish(struct fg_snapshot *s)
{
	struct snap_entry *sorted;
	struct order *ord;
	size_t i, n = 0;

	if (s->count < 2)
		return;
	ord = malloc(s->count * sizeof(*ord));
	sorted = malloc(s->count * sizeof(*sorted));
	if (!ord || !sorted) {
		/* Out of memory: leave the order as it was rather than lose entries. */
		free(ord);
		free(sorted);
		return;
	}
	for (i = 0; i < s->count; i++)
		ord[i] = (struct order){ .key = s->entries[i].key, .idx = i };
	qsort(ord, s->count, sizeof(*ord), order_cmp);
	for (i = 0; i < s->count; i++) {
		struct snap_entry *e = &s->entries[ord[i].idx];

		/* On a duplicate key the later entry (sorted after) wins. */
		if (i + 1 < s->count && strcmp(ord[i].key, ord[i + 1].key) == 0) {
			s->bytes -= e->len;
			free(e->key);
			free(e->val);
			continue;
		}
		sorted[n++] = *e;
	}
	free(ord);
	free(s->entries);
	s->entries = sorted;
	s->count = n;
	s->cap = s->count;
}

void snapshot_set_meta(struct fg_snapshot *s, const char *app, int32_t pid, uint32_t uid,
		       int64_t time_ms)
{
	if (app) {
		strncpy(s->app, app, SNAP_APP_MAX);
		s->app[SNAP_APP_MAX] = '\0';
	}
	s->pid = pid;
	s->uid = uid;
	s->time_ms = time_ms;
}

static int entry_cmp(const void *k, const void *e)
{
	return strcmp(k, ((const struct snap_entry *)e)->key);
}

const struct snap_entry *snapshot_find(const struct fg_snapshot *s, const char *key)
{
	if (!s->count)
		return NULL;
	return bsearch(key, s->entries, s->count, sizeof(*s->entries), entry_cmp);
}

FG_EXPORT size_t fg_snapshot_count(const struct fg_snapshot *s)
{
	return s ? s->count : 0;
}

FG_EXPORT int fg_snapshot_get(const struct fg_snapshot *s, const char *key, const void **val,
			      size_t *len)
{
	const struct snap_entry *e;

	if (!s || !key)
		return -EINVAL;
	e = snapshot_find(s, key);
	if (!e)
		return -ENOENT;
	if (val)
		*val = e->val;
	if (len)
		*len = e->len;
	return 0;
}

FG_EXPORT int fg_snapshot_entry(const struct fg_snapshot *s, size_t i, const char **key,
				const void **val, size_t *len)
{
	if (!s)
		return -EINVAL;
	if (i >= s->count)
		return -ERANGE;
	if (key)
		*key = s->entries[i].key;
	if (val)
		*val = s->entries[i].val;
	if (len)
		*len = s->entries[i].len;
	return 0;
}

FG_EXPORT int fg_snapshot_meta(const struct fg_snapshot *s, const char **app, int *pid,
			       unsigned int *uid, long long *time_ms)
{
	if (!s)
		return -EINVAL;
	if (app)
		*app = s->app;
	if (pid)
		*pid = s->pid;
	if (uid)
		*uid = s->uid;
	if (time_ms)
		*time_ms = s->time_ms;
	return 0;
}

FG_EXPORT void fg_snapshot_close(struct fg_snapshot *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->count; i++) {
		free(s->entries[i].key);
		free(s->entries[i].val);
	}
	free(s->entries);
	free(s);
}
