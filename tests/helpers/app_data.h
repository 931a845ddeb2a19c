/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The data every test app writes before it dies (tests/helpers/app_crash.c
 * under `faultguardctl run`, the launch functions of tests/unit/test_guard.c),
 * and the check that a rescued snapshot holds exactly that: every kind of
 * value (UTF-8, binary, large, empty), an overwrite, a delete, a committed
 * transaction, and an open one whose writes must not be rescued.
 */
#ifndef FG_TEST_APP_DATA_H
#define FG_TEST_APP_DATA_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "faultguard.h"

#define APP_BIG_LEN 10000
#define APP_NENTRIES 9

struct app_entry {
	const char *key;
	const void *val;
	size_t len;
};

struct app_expect {
	struct app_entry e[APP_NENTRIES]; /* in key order, as snapshots list them */
	unsigned char blob[256];
	unsigned char big[APP_BIG_LEN];
	char pid[16];
};

static const char app_greeting[] = "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93";

/* The values the app writes, for @mode and the app's @pid. */
static inline void app_expect_init(struct app_expect *x, const char *mode, pid_t pid)
{
	size_t i;

	for (i = 0; i < sizeof(x->blob); i++)
		x->blob[i] = (unsigned char)i;
	/* Holds NUL bytes, so dump --json must give it as base64. */
	for (i = 0; i < sizeof(x->big); i++)
		x->big[i] = (unsigned char)(i * 7 + 3);
	snprintf(x->pid, sizeof(x->pid), "%d", (int)pid);
	x->e[0] = (struct app_entry){ "big", x->big, sizeof(x->big) };
	x->e[1] = (struct app_entry){ "blob", x->blob, sizeof(x->blob) };
	x->e[2] = (struct app_entry){ "empty", "", 0 };
	x->e[3] = (struct app_entry){ "greeting", app_greeting, strlen(app_greeting) };
	x->e[4] = (struct app_entry){ "mode", mode, strlen(mode) };
	x->e[5] = (struct app_entry){ "overwritten", "new value", 9 };
	x->e[6] = (struct app_entry){ "pid", x->pid, strlen(x->pid) };
	x->e[7] = (struct app_entry){ "txn.a", "alpha", 5 };
	x->e[8] = (struct app_entry){ "txn.b", "beta", 4 };
}

/*
 * Writes the entries, then leaves a transaction open (its writes must not
 * be rescued). Returns 0 or the first negative errno.
 */
static inline int app_write_entries(struct fg *fg, const char *mode)
{
	struct app_expect x;
	int err = 0;
	size_t i;

	app_expect_init(&x, mode, getpid());
	for (i = 0; i < APP_NENTRIES && !err; i++) {
		if (!strncmp(x.e[i].key, "txn.", 4))
			continue;
		err = fg_set(fg, x.e[i].key, x.e[i].val, x.e[i].len);
	}
	if (!err)
		err = fg_set_str(fg, "greeting", "replaced, then restored");
	if (!err)
		err = fg_set(fg, "greeting", app_greeting, strlen(app_greeting));
	if (!err)
		err = fg_set_str(fg, "deleted", "gone before the crash");
	if (!err)
		err = fg_del(fg, "deleted");
	if (!err)
		err = fg_set_str(fg, "overwritten", "old");
	if (!err)
		err = fg_set_str(fg, "overwritten", "new value");
	if (!err)
		err = fg_begin(fg);
	if (!err)
		err = fg_set_str(fg, "txn.a", "alpha");
	if (!err)
		err = fg_set_str(fg, "txn.b", "beta");
	if (!err)
		err = fg_commit(fg);
	if (!err)
		err = fg_begin(fg);
	if (!err)
		err = fg_set_str(fg, "uncommitted", "never rescued");
	if (!err)
		err = fg_set_str(fg, "txn.a", "not committed either");
	return err;
}

/*
 * Big dictionaries: "fill.NNNNN" keys of APP_FILL_LEN pseudo-random
 * (incompressible) bytes each, made from their index, and "fill.count".
 */
#define APP_FILL_LEN (1u << 20)
#define APP_FILL_PREFIX "fill."

static inline void app_fill_value(unsigned int index, unsigned char *buf, size_t len)
{
	uint64_t x = 0x9e3779b97f4a7c15ull * (index + 1);
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		memcpy(buf + i, &x, 8);
	}
}

/* Writes @n fill values; 0 or the first negative errno. */
static inline int app_write_fill(struct fg *fg, unsigned int n)
{
	unsigned char *buf = malloc(APP_FILL_LEN);
	char key[32], count[16];
	unsigned int i;
	int err = buf ? 0 : -ENOMEM;

	for (i = 0; i < n && !err; i++) {
		snprintf(key, sizeof(key), APP_FILL_PREFIX "%05u", i);
		app_fill_value(i, buf, APP_FILL_LEN);
		err = fg_set(fg, key, buf, APP_FILL_LEN);
	}
	snprintf(count, sizeof(count), "%u", n);
	if (!err && n)
		err = fg_set_str(fg, APP_FILL_PREFIX "count", count);
	free(buf);
	return err;
}

/* Whether the fill entries of @s are all there, exact: 0, else 1 and why. */
static inline int app_fill_diff(const struct fg_snapshot *s, char *why, size_t why_len)
{
	const void *val;
	size_t len, i, n = fg_snapshot_count(s), seen = 0;
	unsigned char *want;
	const char *key;
	char count[16];
	unsigned int want_n = 0;

	if (fg_snapshot_get(s, APP_FILL_PREFIX "count", &val, &len) == 0 && len < sizeof(count)) {
		memcpy(count, val, len);
		count[len] = '\0';
		want_n = (unsigned int)strtoul(count, NULL, 10);
	}
	want = malloc(APP_FILL_LEN);
	for (i = 0; want && i < n; i++) {
		if (fg_snapshot_entry(s, i, &key, &val, &len) < 0 ||
		    strncmp(key, APP_FILL_PREFIX, strlen(APP_FILL_PREFIX)) ||
		    !strcmp(key, APP_FILL_PREFIX "count"))
			continue;
		app_fill_value((unsigned int)strtoul(key + strlen(APP_FILL_PREFIX), NULL, 10), want,
			       APP_FILL_LEN);
		if (len != APP_FILL_LEN || memcmp(val, want, len)) {
			snprintf(why, why_len, "'%s' differs from what was written", key);
			free(want);
			return 1;
		}
		seen++;
	}
	free(want);
	if (seen != want_n) {
		snprintf(why, why_len, "%zu fill entries, expected %u", seen, want_n);
		return 1;
	}
	return 0;
}

/*
 * 0 when @s holds exactly what app_write_entries wrote in @mode as @pid
 * (and app_write_fill, if it did); else 1, with what differs in @why.
 */
static inline int app_snapshot_diff(const struct fg_snapshot *s, const char *mode, pid_t pid,
				    char *why, size_t why_len)
{
	struct app_expect x;
	const char *key;
	const void *val;
	size_t i, j, len;

	app_expect_init(&x, mode, pid);
	if (app_fill_diff(s, why, why_len))
		return 1;
	for (i = 0, j = 0; i < APP_NENTRIES; i++, j++) {
		while (fg_snapshot_entry(s, j, &key, NULL, NULL) == 0 &&
		       !strncmp(key, APP_FILL_PREFIX, strlen(APP_FILL_PREFIX)))
			j++;
		if (fg_snapshot_entry(s, j, &key, &val, &len) < 0) {
			snprintf(why, why_len, "entry %zu is missing", i);
			return 1;
		}
		if (strcmp(key, x.e[i].key)) {
			snprintf(why, why_len, "entry %zu is '%s', expected '%s'", i, key,
				 x.e[i].key);
			return 1;
		}
		if (len != x.e[i].len || memcmp(val, x.e[i].val, len)) {
			snprintf(why, why_len,
				 "'%s' holds %zu bytes that differ from the %zu written", key,
				 len, x.e[i].len);
			return 1;
		}
	}
	while (fg_snapshot_entry(s, j, &key, NULL, NULL) == 0 &&
	       !strncmp(key, APP_FILL_PREFIX, strlen(APP_FILL_PREFIX)))
		j++;
	if (j != fg_snapshot_count(s)) {
		snprintf(why, why_len, "%zu entries, expected %zu", fg_snapshot_count(s), j);
		return 1;
	}
	return 0;
}

#endif
