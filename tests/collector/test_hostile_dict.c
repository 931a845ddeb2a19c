// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Hostile clients, part 4: what a client leaves in its dictionary. A
 * dictionary scribbled with random bytes before the crash, one scribbled
 * everywhere (headers too), and one a surviving child keeps scribbling
 * while the collector copies it. The collector survives each, its snapshot
 * holds exactly what validated, the rest is counted as discarded, and a
 * legitimate app is still rescued with exact data.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dict/layout.h"
#include "framework/test.h"
#include "hostile.h"

#define NSMALL 32
#define NBIG 32
#define BIG_LEN 1000

static void value_of(int i, uint8_t *val, size_t *len)
{
	size_t n = i < NSMALL ? 8 + (size_t)i : BIG_LEN, j;

	for (j = 0; j < n; j++)
		val[j] = (uint8_t)(i * 31 + (int)j * 7 + 1);
	*len = n;
}

/* Small values live in their slots, big ones in the arena. */
static int fill_mixed(struct hostile_app *a, int memfd, struct dict_writer *w)
{
	uint8_t val[BIG_LEN];
	char key[32];
	size_t len;
	int i, err;

	(void)a;
	(void)memfd;
	for (i = 0; i < NSMALL + NBIG; i++) {
		snprintf(key, sizeof(key), "%s.%d", i < NSMALL ? "small" : "big", i);
		value_of(i, val, &len);
		err = dict_set(w, key, strlen(key), val, len);
		if (err)
			return err;
	}
	return 0;
}

static void scribble(int memfd, uint64_t off, uint64_t len, uint32_t seed)
{
	static uint8_t buf[65536];
	uint64_t done = 0;
	size_t i;

	while (done < len) {
		size_t n = len - done < sizeof(buf) ? (size_t)(len - done) : sizeof(buf);

		for (i = 0; i < n; i++) {
			seed = seed * 1103515245u + 12345u;
			buf[i] = (uint8_t)(seed >> 16);
		}
		(void)!pwrite(memfd, buf, n, (off_t)(off + done));
		done += n;
	}
}

static int header_of(int memfd, struct dict_header *h)
{
	return pread(memfd, h, sizeof(*h), 0) == sizeof(*h) ? 0 : -EIO;
}

/* Random bytes over the whole value arena: every big value is damaged. */
static int scribble_arena(struct hostile_app *a, int memfd, struct dict_writer *w)
{
	struct dict_header h;

	(void)a;
	(void)w;
	if (header_of(memfd, &h))
		return -EIO;
	scribble(memfd, h.arena_off, h.arena_size, 0xdead);
	return 0;
}

/* Runs @a to its death by SIGSEGV and returns its snapshot record. */
static json_object *crash_app(struct fx *c, struct hostile_app *a)
{
	if (!hostile_app_start(c, a))
		return NULL;
	if (!ASSERT_EQ(a->status, 0, "registered")) {
		hostile_app_kill(a, SIGKILL);
		return NULL;
	}
	hostile_app_kill(a, SIGSEGV);
	return fx_wait(c, "snapshot", hostile_app_pid(a), 0, HOSTILE_WAIT_MS);
}

TEST(hostile_scribbled_arena)
{
	struct fx col;
	struct hostile_app a = { .app = "scribbled", .fill = fill_mixed, .after = scribble_arena };
	struct fg_snapshot *s = NULL;
	json_object *snap = NULL, *resc = NULL;
	const char *path, *out;
	int i;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	snap = crash_app(&col, &a);
	if (!ASSERT_NOT_NULL(snap, "snapshot record"))
		goto out;
	/* What validated is there, exactly; each damaged value is counted. */
	path = jstr(snap, "path");
	if (!ASSERT_NOT_NULL(path, "a snapshot was written") ||
	    !ASSERT_EQ(jint_or(snap, "keys", -1), NSMALL, "the intact values") ||
	    !ASSERT_EQ(jint_or(snap, "discarded", -1), NBIG, "the scribbled values"))
		goto out;
	s = fg_snapshot_open(path);
	if (!ASSERT_NOT_NULL(s, "open the snapshot") ||
	    !ASSERT_EQ(fg_snapshot_count(s), NSMALL, "entries"))
		goto out;
	for (i = 0; i < NSMALL; i++) {
		uint8_t want[BIG_LEN];
		const void *val;
		char key[32];
		size_t len, wlen;

		snprintf(key, sizeof(key), "small.%d", i);
		value_of(i, want, &wlen);
		if (!ASSERT_OK(fg_snapshot_get(s, key, &val, &len), key) ||
		    !ASSERT_EQ(len, wlen, key) || !ASSERT_MEMEQ(val, want, len, key))
			goto out;
	}
	/* The rescue ran with what was saved. */
	resc = fx_wait(&col, "rescue", hostile_app_pid(&a), 0, HOSTILE_WAIT_MS);
	out = jstr(resc, "output");
	if (!ASSERT_STREQ(jstr(resc, "status"), "ok", "rescue") ||
	    !ASSERT_TRUE(out && strstr(out, "snapshot keys=32\n"), "the rescue read 32 keys"))
		goto out;
	hostile_after(&col, "a scribbled arena");
out:
	fg_snapshot_close(s);
	json_object_put(snap);
	json_object_put(resc);
	hostile_stop(&col);
}

/* Random bytes everywhere but the headers: the slot table too. */
static int scribble_slots(struct hostile_app *a, int memfd, struct dict_writer *w)
{
	struct dict_header h;

	(void)a;
	(void)w;
	if (header_of(memfd, &h))
		return -EIO;
	scribble(memfd, DICT_COMMIT_OFF, h.total_size - DICT_COMMIT_OFF, 0xbeef);
	return 0;
}

/* Random bytes over everything, both header copies included. */
static int scribble_all(struct hostile_app *a, int memfd, struct dict_writer *w)
{
	struct stat st;

	(void)a;
	(void)w;
	if (fstat(memfd, &st) < 0)
		return -errno;
	scribble(memfd, 0, (uint64_t)st.st_size, 0xf00d);
	return 0;
}

/*
 * A forged header: checksum right, every size a lie (slot table past the
 * end, arena of 4 GiB). Both copies: there is no honest one to fall back on.
 */
static int forge_header(struct hostile_app *a, int memfd, struct dict_writer *w)
{
	struct dict_header h;
	uint32_t crc = 0;

	(void)a;
	(void)w;
	if (header_of(memfd, &h))
		return -EIO;
	h.slot_count = 1u << 24;
	h.arena_off = 1ull << 40;
	h.arena_size = 4ull << 30;
	h.total_size = 1ull << 50;
	/* crc32c over everything before the crc field, as the reader checks it. */
	{
		const uint8_t *p = (const uint8_t *)&h;
		size_t i, k;

		crc = ~0u;
		for (i = 0; i < offsetof(struct dict_header, crc); i++) {
			crc ^= p[i];
			for (k = 0; k < 8; k++)
				crc = crc & 1 ? (crc >> 1) ^ 0x82f63b78u : crc >> 1;
		}
		crc = ~crc;
	}
	h.crc = crc;
	if (pwrite(memfd, &h, sizeof(h), DICT_HDR_COPY_OFF(0)) != sizeof(h) ||
	    pwrite(memfd, &h, sizeof(h), DICT_HDR_COPY_OFF(1)) != sizeof(h))
		return -EIO;
	return 0;
}

TEST(hostile_scribbled_everywhere)
{
	static const struct {
		const char *what;
		int (*after)(struct hostile_app *a, int memfd, struct dict_writer *w);
		int has_layout; /* a header survives: a snapshot (maybe empty) is written */
	} cases[] = {
		{ "slot table and arena", scribble_slots, 1 },
		{ "every byte", scribble_all, 0 },
		{ "a forged header", forge_header, 0 },
	};
	struct fx col;
	size_t i;

	if (!hostile_start(&col, NULL, 0))
		goto out;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct hostile_app a = { .app = "wrecked", .fill = fill_mixed, .after = cases[i].after };
		json_object *snap = crash_app(&col, &a), *resc;
		const char *path;

		if (!ASSERT_NOT_NULL(snap, cases[i].what))
			goto out;
		path = jstr(snap, "path");
		if (cases[i].has_layout) {
			struct fg_snapshot *s = path ? fg_snapshot_open(path) : NULL;

			/* Nothing of it is trusted: whatever is left must be what was written. */
			ASSERT_NOT_NULL(s, cases[i].what);
			ASSERT_TRUE(jint_or(snap, "keys", -1) + jint_or(snap, "discarded", -1) >= 1,
				    "kept or counted");
			for (size_t k = 0; s && k < fg_snapshot_count(s); k++) {
				const char *key;
				const void *val;
				uint8_t want[BIG_LEN];
				size_t len, wlen;
				int idx;

				fg_snapshot_entry(s, k, &key, &val, &len);
				idx = atoi(strchr(key, '.') ? strchr(key, '.') + 1 : "-1");
				if (!ASSERT_TRUE(idx >= 0 && idx < NSMALL + NBIG, key))
					break;
				value_of(idx, want, &wlen);
				ASSERT_EQ(len, wlen, key);
				ASSERT_MEMEQ(val, want, len < wlen ? len : wlen, key);
			}
			fg_snapshot_close(s);
		} else {
			/* No layout to trust: no snapshot, said so, and no command to run with none. */
			ASSERT_TRUE(path == NULL, cases[i].what);
			ASSERT_NOT_NULL(jstr(snap, "error"), cases[i].what);
		}
		json_object_put(snap);
		resc = fx_wait(&col, "rescue", hostile_app_pid(&a), 0, HOSTILE_WAIT_MS);
		ASSERT_NOT_NULL(resc, "a rescue record");
		json_object_put(resc);
		if (!hostile_after(&col, cases[i].what))
			goto out;
	}
out:
	hostile_stop(&col);
}

/* --- a surviving child scribbles while the collector copies ------------------------- */

#define CONC_VALUES 2000
#define CONC_LEN 16000

static void conc_value(int i, uint8_t *val)
{
	size_t j;

	for (j = 0; j < CONC_LEN; j++)
		val[j] = (uint8_t)(i * 131 + (int)j * 3);
}

static int fill_many(struct hostile_app *a, int memfd, struct dict_writer *w)
{
	static uint8_t val[CONC_LEN];
	char key[32];
	int i, err;

	(void)a;
	(void)memfd;
	for (i = 0; i < CONC_VALUES; i++) {
		snprintf(key, sizeof(key), "v.%d", i);
		conc_value(i, val);
		err = dict_set(w, key, strlen(key), val, CONC_LEN);
		if (err)
			return err;
	}
	return 0;
}

/*
 * Forks the survivor: it waits for the app to die (the pipe's write end is
 * the app's alone), then writes random bytes at random places of the
 * dictionary as fast as it can, through its own shared mapping, until killed.
 */
static int fork_survivor(struct hostile_app *a, int memfd, struct dict_writer *w)
{
	int p[2];
	pid_t pid;

	(void)a;
	(void)w;
	if (pipe(p) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid == 0) {
		struct stat st;
		uint8_t *m;
		uint32_t x = 0x5eed;
		char b;

		close(p[1]);
		/* Whatever becomes of the test, it stops scribbling in time. */
		alarm(120);
		(void)!read(p[0], &b, 1); /* EOF: the app died */
		if (fstat(memfd, &st) < 0)
			_exit(1);
		m = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		if (m == MAP_FAILED)
			_exit(1);
		for (;;) {
			x = x * 1103515245u + 12345u;
			/* Past the headers: slot table and arena, where the copy is going on. */
			m[DICT_SLOT_OFF + (x % ((uint32_t)st.st_size - DICT_SLOT_OFF))] ^= (uint8_t)(x >> 24) | 1;
		}
	}
	close(p[0]);
	return 0;
}

TEST(hostile_concurrent_scribbler)
{
	struct fx col;
	pid_t survivor = -1;
	struct hostile_app a = { .app = "survivor", .fill = fill_many, .after = fork_survivor,
				 .dict_bytes = 64u << 20, .snapshot_only = 1 };
	json_object *snap = NULL;
	struct fg_snapshot *s = NULL;
	const char *path;
	size_t k;
	char comm[64];

	if (!hostile_start(&col, NULL, 0))
		goto out;
	if (!hostile_app_start(&col, &a) || !ASSERT_EQ(a.status, 0, "registered"))
		goto out;
	/* The survivor is the app's only child. */
	{
		char path2[64], buf[4096];
		FILE *f;

		snprintf(path2, sizeof(path2), "/proc/%d/task/%d/children", a.pid, a.pid);
		f = fopen(path2, "re");
		if (f && fgets(buf, sizeof(buf), f))
			survivor = atoi(buf);
		if (f)
			fclose(f);
		if (!ASSERT_GE(survivor, 1, "the survivor's pid"))
			goto out;
	}
	hostile_app_kill(&a, SIGSEGV);
	snap = fx_wait(&col, "snapshot", hostile_app_pid(&a), 0, HOSTILE_WAIT_MS);
	if (!ASSERT_NOT_NULL(snap, "snapshot record"))
		goto out;
	/* Still scribbling, as it did during the copy. */
	snprintf(comm, sizeof(comm), "/proc/%d", survivor);
	ASSERT_OK(access(comm, F_OK), "the survivor outlived the copy");
	path = jstr(snap, "path");
	if (path) {
		s = fg_snapshot_open(path);
		if (!ASSERT_NOT_NULL(s, "open the snapshot"))
			goto out;
		/* Whatever validated is a value the app wrote, whole. */
		for (k = 0; k < fg_snapshot_count(s); k++) {
			static uint8_t want[CONC_LEN];
			const char *key;
			const void *val;
			size_t len;
			int idx;

			fg_snapshot_entry(s, k, &key, &val, &len);
			idx = strncmp(key, "v.", 2) ? -1 : atoi(key + 2);
			if (!ASSERT_TRUE(idx >= 0 && idx < CONC_VALUES, key) ||
			    !ASSERT_EQ(len, CONC_LEN, key))
				goto out;
			conc_value(idx, want);
			if (!ASSERT_MEMEQ(val, want, CONC_LEN, key))
				goto out;
		}
		ASSERT_EQ(jint_or(snap, "keys", -1) + 0, (long long)fg_snapshot_count(s), "keys");
	}
	kill(survivor, SIGKILL);
	survivor = -1;
	hostile_after(&col, "a dictionary scribbled during the copy");
out:
	if (survivor > 0)
		kill(survivor, SIGKILL);
	fg_snapshot_close(s);
	json_object_put(snap);
	hostile_stop(&col);
}
