// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The public API, call by call, errors included. Handles are opened against
 * a socket that does not exist, so no collector is involved. Every value is
 * checked twice: through fg_get, and through the dictionary READER on the
 * handle's memfd, because what the reader finds is what a rescue gets.
 */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dict/crc32c.h"
#include "dict/dict.h"
#include "faultguard.h"
#include "framework/test.h"

#define MAX_FDS 4096

static char sock_path[PATH_MAX];

static struct fg_opts opts_for(const char *app, size_t max_bytes)
{
	struct fg_opts o = {.sz = sizeof(o), .app = app, .max_bytes = max_bytes};

	snprintf(sock_path, sizeof(sock_path), "%s/no-collector.sock", test_tmpdir());
	o.socket_path = sock_path;
	return o;
}

/* Marks in @seen the fds of this process that are faultguard dictionaries. */
static void dict_fds(bool *seen)
{
	char link[64], target[PATH_MAX];
	struct dirent *de;
	DIR *d;

	memset(seen, 0, MAX_FDS * sizeof(*seen));
	d = opendir("/proc/self/fd");
	if (!d)
		return;
	while ((de = readdir(d))) {
		int fd = atoi(de->d_name);
		ssize_t n;

		if (de->d_name[0] == '.' || fd < 0 || fd >= MAX_FDS || fd == dirfd(d))
			continue;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		seen[fd] = strncmp(target, "/memfd:faultguard", 17) == 0;
	}
	closedir(d);
}

/*
 * fg_open, plus our own descriptor of the handle's memfd (found as the
 * dictionary fd that appeared), so the test can read what a rescue would.
 */
static struct fg *open_dict(const char *app, size_t max_bytes, int *dict_fd)
{
	static bool before[MAX_FDS], after[MAX_FDS];
	struct fg_opts o = opts_for(app, max_bytes);
	struct fg *fg;
	int fd;

	*dict_fd = -1;
	dict_fds(before);
	fg = fg_open(&o);
	if (!ASSERT_NOT_NULL(fg, "fg_open"))
		return NULL;
	dict_fds(after);
	for (fd = 0; fd < MAX_FDS; fd++)
		if (after[fd] && !before[fd])
			break;
	if (!ASSERT_TRUE(fd < MAX_FDS, "the handle's memfd is visible in /proc/self/fd")) {
		fg_close(fg);
		return NULL;
	}
	*dict_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (!ASSERT_GE(*dict_fd, 0, "dup memfd")) {
		fg_close(fg);
		return NULL;
	}
	return fg;
}

static struct fg_snapshot *read_back(int fd, size_t *discarded)
{
	size_t dummy;

	return fg_snapshot_read_fd(fd, discarded ? discarded : &dummy);
}

/* Deterministic, key-specific bytes, so a value in the wrong place shows. */
static void fill(uint8_t *p, size_t len, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		p[i] = (uint8_t)x;
	}
}

/* @key holds exactly @val/@len, both for fg_get and in snapshot @s (NULL: skip). */
static bool expect_value(struct fg *fg, const struct fg_snapshot *s, const char *key,
			 const void *val, size_t len)
{
	uint8_t *buf = malloc(len + 1);
	const void *sv;
	size_t got = 0, slen = 0;
	bool ok = ASSERT_NOT_NULL(buf, "malloc");

	if (ok && fg) {
		ok = ASSERT_OK(fg_get(fg, key, buf, len + 1, &got), key) &&
		     ASSERT_EQ(got, len, key) && ASSERT_MEMEQ(buf, val, len, key);
	}
	if (ok && s) {
		ok = ASSERT_OK(fg_snapshot_get(s, key, &sv, &slen), key) &&
		     ASSERT_EQ(slen, len, key) && ASSERT_MEMEQ(sv, val, len, key);
	}
	free(buf);
	return ok;
}

static bool expect_absent(struct fg *fg, const struct fg_snapshot *s, const char *key)
{
	uint8_t buf[8];
	size_t len;
	bool ok = true;

	if (fg)
		ok = ASSERT_EQ(fg_get(fg, key, buf, sizeof(buf), &len), -ENOENT, key);
	if (ok && s)
		ok = ASSERT_EQ(fg_snapshot_get(s, key, NULL, NULL), -ENOENT, key);
	return ok;
}

/* --- fg_open ----------------------------------------------------------------- */

static void expect_open_einval(struct fg_opts *o, const char *what)
{
	struct fg *fg;

	errno = 0;
	fg = fg_open(o);
	if (!ASSERT_TRUE(fg == NULL, what))
		fg_close(fg);
	else
		ASSERT_EQ(errno, EINVAL, what);
}

TEST(open_rejects_bad_opts)
{
	char app65[66], longarg[4098];
	const char *empty_argv[] = {NULL};
	const char *blank_argv[] = {"", NULL};
	const char *long_argv[] = {longarg, NULL};
	struct fg_opts o;

	memset(app65, 'a', 65);
	app65[65] = '\0';
	memset(longarg, 'x', sizeof(longarg) - 1);
	longarg[sizeof(longarg) - 1] = '\0';

	expect_open_einval(NULL, "NULL opts");
	o = opts_for("app", 0);
	o.sz = 0;
	expect_open_einval(&o, "sz 0");
	o = opts_for("app", 0);
	o.sz = offsetof(struct fg_opts, flags);
	expect_open_einval(&o, "sz without flags");
	o = opts_for(NULL, 0);
	expect_open_einval(&o, "app NULL");
	o = opts_for("", 0);
	expect_open_einval(&o, "app empty");
	o = opts_for(app65, 0);
	expect_open_einval(&o, "app 65 chars");
	o = opts_for("bad name!", 0);
	expect_open_einval(&o, "app with a space and !");
	o = opts_for("a/b", 0);
	expect_open_einval(&o, "app with a slash");
	o = opts_for("app", 0);
	o.flags = 0x2;
	expect_open_einval(&o, "unknown flag");
	o = opts_for("app", DICT_MIN_BYTES - 1);
	expect_open_einval(&o, "max_bytes too small");
	o = opts_for("app", 1);
	expect_open_einval(&o, "max_bytes 1");
	o = opts_for("app", DICT_MAX_BYTES + 1);
	expect_open_einval(&o, "max_bytes too large");
	o = opts_for("app", 0);
	o.rescue_argv = empty_argv;
	expect_open_einval(&o, "empty rescue argv");
	o = opts_for("app", 0);
	o.rescue_argv = blank_argv;
	expect_open_einval(&o, "rescue argv[0] empty");
	o = opts_for("app", 0);
	o.rescue_argv = long_argv;
	expect_open_einval(&o, "rescue argument over 4096 bytes");
}

TEST(open_accepts_limits)
{
	const char *argv[] = {"/bin/true", "--flag", "", NULL};
	char app64[65];
	struct fg_opts o;
	struct fg *fg;

	memset(app64, 'Z', 64);
	app64[64] = '\0';
	o = opts_for(app64, DICT_MIN_BYTES);
	o.rescue_argv = argv;
	o.flags = FG_RESCUE_SIGNAL_ONLY;
	fg = fg_open(&o);
	if (!ASSERT_NOT_NULL(fg, "64-char app, smallest dictionary, argv, flag"))
		return;
	ASSERT_OK(fg_set_str(fg, "k", "v"), "set");
	ASSERT_OK(fg_close(fg), "close");

	o = opts_for("A-z_0.9", 0);
	fg = fg_open(&o);
	if (ASSERT_NOT_NULL(fg, "every allowed character class"))
		ASSERT_OK(fg_close(fg), "close");
}

TEST(open_without_collector)
{
	struct fg_snapshot *s = NULL;
	const char *app = NULL;
	size_t discarded = 99;
	struct fg *fg;
	int fd;

	fg = open_dict("nocollector", 0, &fd);
	if (!fg)
		return;
	ASSERT_EQ(fg_registered(fg), 0, "no collector: not registered");
	ASSERT_OK(fg_set_str(fg, "greeting", "hello"), "set works unregistered");
	s = read_back(fd, &discarded);
	if (!ASSERT_NOT_NULL(s, "reader"))
		goto out;
	ASSERT_EQ(discarded, 0, "nothing discarded");
	ASSERT_EQ(fg_snapshot_count(s), 1, "one key");
	expect_value(fg, s, "greeting", "hello", 5);
	ASSERT_OK(fg_snapshot_meta(s, &app, NULL, NULL, NULL), "meta");
	ASSERT_STREQ(app, "nocollector", "the dictionary names its app");
out:
	fg_snapshot_close(s);
	fg_close(fg);
	close(fd);
}

TEST(two_handles_are_independent)
{
	struct fg_snapshot *s1 = NULL, *s2 = NULL;
	struct fg *a, *b;
	int fa, fb;

	a = open_dict("one", 0, &fa);
	if (!a)
		return;
	b = open_dict("two", 0, &fb);
	if (!b)
		goto out_a;
	ASSERT_OK(fg_set_str(a, "k", "from a"), "set a");
	ASSERT_OK(fg_set_str(b, "k", "from b"), "set b");
	ASSERT_OK(fg_set_str(b, "only-b", "x"), "set b2");
	s1 = read_back(fa, NULL);
	s2 = read_back(fb, NULL);
	if (ASSERT_NOT_NULL(s1, "read a") && ASSERT_NOT_NULL(s2, "read b")) {
		expect_value(a, s1, "k", "from a", 6);
		expect_value(b, s2, "k", "from b", 6);
		expect_absent(a, s1, "only-b");
		ASSERT_EQ(fg_snapshot_count(s2), 2, "b holds two keys");
	}
	fg_snapshot_close(s1);
	fg_snapshot_close(s2);
	fg_close(b);
	close(fb);
out_a:
	fg_close(a);
	close(fa);
}

/* --- keys and values ------------------------------------------------------------ */

TEST(key_limits)
{
	char k255[256], k256[257], k1000[1001], buf[8];
	struct fg_snapshot *s = NULL;
	struct fg *fg;
	size_t len;
	int fd;

	memset(k255, 'k', 255);
	k255[255] = '\0';
	memset(k256, 'k', 256);
	k256[256] = '\0';
	memset(k1000, 'q', 1000);
	k1000[1000] = '\0';
	fg = open_dict("keys", 0, &fd);
	if (!fg)
		return;
	ASSERT_EQ(fg_set(fg, NULL, "v", 1), -EINVAL, "NULL key");
	ASSERT_EQ(fg_set(fg, "", "v", 1), -EINVAL, "empty key");
	ASSERT_EQ(fg_set(fg, k256, "v", 1), -EINVAL, "256-byte key");
	ASSERT_EQ(fg_set(fg, k1000, "v", 1), -EINVAL, "1000-byte key");
	ASSERT_OK(fg_set(fg, k255, "max", 3), "255-byte key");
	ASSERT_OK(fg_set(fg, "a", "min", 3), "1-byte key");
	/* Keys are bytes: anything but NUL. */
	ASSERT_OK(fg_set(fg, "\x01\xff\x7f key \xc3\xa9", "bin", 3), "binary key");

	ASSERT_EQ(fg_get(fg, NULL, buf, sizeof(buf), &len), -EINVAL, "get NULL key");
	ASSERT_EQ(fg_get(fg, "", buf, sizeof(buf), &len), -EINVAL, "get empty key");
	ASSERT_EQ(fg_get(fg, k256, buf, sizeof(buf), &len), -EINVAL, "get 256-byte key");
	ASSERT_EQ(fg_del(fg, NULL), -EINVAL, "del NULL key");
	ASSERT_EQ(fg_del(fg, ""), -EINVAL, "del empty key");
	ASSERT_EQ(fg_del(fg, k256), -EINVAL, "del 256-byte key");

	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "reader")) {
		ASSERT_EQ(fg_snapshot_count(s), 3, "three keys stored, rejected ones absent");
		expect_value(fg, s, k255, "max", 3);
		expect_value(fg, s, "a", "min", 3);
		expect_value(fg, s, "\x01\xff\x7f key \xc3\xa9", "bin", 3);
		/* A 256-byte key must not have been cut to 255. */
		k256[255] = '\0';
		ASSERT_EQ(memcmp(k255, k256, 256), 0, "prefix equals the stored key");
	}
	fg_snapshot_close(s);
	fg_close(fg);
	close(fd);
}

TEST(null_and_empty_values)
{
	struct fg_snapshot *s = NULL;
	struct fg *fg;
	size_t len = 7;
	int fd;

	fg = open_dict("values", 0, &fd);
	if (!fg)
		return;
	ASSERT_EQ(fg_set(fg, "k", NULL, 1), -EINVAL, "NULL value with len 1");
	ASSERT_EQ(fg_set(fg, "k", NULL, 1 << 20), -EINVAL, "NULL value with len 1 MiB");
	ASSERT_EQ(fg_set_str(fg, "k", NULL), -EINVAL, "fg_set_str NULL");
	ASSERT_EQ(fg_get(fg, "k", NULL, 0, &len), -ENOENT, "rejected sets stored nothing");
	ASSERT_OK(fg_set(fg, "empty", NULL, 0), "NULL value with len 0");
	ASSERT_OK(fg_set_str(fg, "empty-str", ""), "empty string");
	ASSERT_OK(fg_get(fg, "empty", NULL, 0, &len), "get empty value into no buffer");
	ASSERT_EQ(len, 0, "empty value length");
	ASSERT_EQ(fg_get(fg, "empty", NULL, 0, NULL), -EINVAL, "get without len pointer");
	ASSERT_EQ(fg_get(fg, "empty", NULL, 5, &len), -EINVAL, "NULL buffer with a size");
	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "reader")) {
		ASSERT_EQ(fg_snapshot_count(s), 2, "two empty values");
		expect_value(fg, s, "empty", "", 0);
		expect_value(fg, s, "empty-str", "", 0);
		expect_absent(NULL, s, "k");
	}
	fg_snapshot_close(s);
	fg_close(fg);
	close(fd);
}

/* One key rewritten through inline, arena and empty sizes. */
TEST(overwrite_through_sizes)
{
	static const size_t sizes[] = {0, 1, 63, 64, 65, 4096, 100000, 3, 64, 200000, 0, 65};
	struct fg *fg;
	uint8_t *val;
	size_t i;
	int fd;

	val = malloc(200000);
	fg = open_dict("sizes", 0, &fd);
	if (!ASSERT_NOT_NULL(val, "malloc") || !fg)
		goto out;
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct fg_snapshot *s;
		size_t discarded = 1;

		fill(val, sizes[i], i);
		if (!ASSERT_OK(fg_set(fg, "k", val, sizes[i]), "set"))
			break;
		ASSERT_OK(fg_set(fg, "neighbour", &i, sizeof(i)), "set neighbour");
		s = read_back(fd, &discarded);
		if (!ASSERT_NOT_NULL(s, "reader"))
			break;
		ASSERT_EQ(discarded, 0, "nothing discarded");
		ASSERT_EQ(fg_snapshot_count(s), 2, "k and neighbour");
		expect_value(fg, s, "k", val, sizes[i]);
		expect_value(fg, s, "neighbour", &i, sizeof(i));
		fg_snapshot_close(s);
	}
out:
	if (fg)
		fg_close(fg);
	close(fd);
	free(val);
}

TEST(get_into_small_buffer)
{
	uint8_t val[300], buf[300];
	struct fg *fg;
	size_t len = 0;
	int fd;

	fill(val, sizeof(val), 7);
	fg = open_dict("smallbuf", 0, &fd);
	if (!fg)
		return;
	ASSERT_OK(fg_set(fg, "long", val, sizeof(val)), "set 300 bytes");
	ASSERT_OK(fg_set(fg, "short", val, 10), "set 10 bytes");
	ASSERT_EQ(fg_get(fg, "long", buf, 299, &len), -ENOBUFS, "one byte short");
	ASSERT_EQ(len, 300, "len tells the size needed");
	len = 0;
	ASSERT_EQ(fg_get(fg, "long", NULL, 0, &len), -ENOBUFS, "size query");
	ASSERT_EQ(len, 300, "size query len");
	len = 0;
	ASSERT_EQ(fg_get(fg, "short", buf, 9, &len), -ENOBUFS, "inline value, one byte short");
	ASSERT_EQ(len, 10, "inline len");
	memset(buf, 0, sizeof(buf));
	ASSERT_OK(fg_get(fg, "long", buf, 300, &len), "exact size");
	ASSERT_EQ(len, 300, "exact len");
	ASSERT_MEMEQ(buf, val, 300, "exact bytes");
	len = 12345;
	ASSERT_EQ(fg_get(fg, "missing", buf, sizeof(buf), &len), -ENOENT, "missing key");
	ASSERT_EQ(len, 12345, "len untouched on ENOENT");
	fg_close(fg);
	close(fd);
}

TEST(value_larger_than_dictionary)
{
	size_t big_len = 2 * DICT_MIN_BYTES;
	struct fg_snapshot *s = NULL;
	uint8_t *big, small[100];
	struct fg *fg;
	int fd, i;

	big = malloc(big_len);
	fg = open_dict("toobig", DICT_MIN_BYTES, &fd);
	if (!ASSERT_NOT_NULL(big, "malloc") || !fg)
		goto out;
	fill(big, big_len, 1);
	for (i = 0; i < 5; i++) {
		char key[16];

		snprintf(key, sizeof(key), "early%d", i);
		fill(small, sizeof(small), (uint64_t)i + 100);
		ASSERT_OK(fg_set(fg, key, small, sizeof(small)), "earlier value");
	}
	ASSERT_EQ(fg_set(fg, "big", big, big_len), -ENOSPC, "value twice the dictionary");
	ASSERT_EQ(fg_set(fg, "big", big, DICT_MIN_BYTES), -ENOSPC, "value as big as it");
	/* Overwriting an existing key with a value that cannot fit keeps the old one. */
	ASSERT_EQ(fg_set(fg, "early0", big, big_len), -ENOSPC, "overwrite too big");
	s = read_back(fd, NULL);
	if (!ASSERT_NOT_NULL(s, "reader"))
		goto out;
	ASSERT_EQ(fg_snapshot_count(s), 5, "only the earlier keys");
	expect_absent(fg, s, "big");
	for (i = 0; i < 5; i++) {
		char key[16];

		snprintf(key, sizeof(key), "early%d", i);
		fill(small, sizeof(small), (uint64_t)i + 100);
		expect_value(fg, s, key, small, sizeof(small));
	}
	/* The failures leaked no space: half the dictionary still fits. */
	ASSERT_OK(fg_set(fg, "half", big, DICT_MIN_BYTES / 2), "half-size value fits");
out:
	fg_snapshot_close(s);
	if (fg)
		fg_close(fg);
	close(fd);
	free(big);
}

/* Sets key%05d until -ENOSPC, then checks that every key that went in is intact. */
static void fill_until_full(size_t val_len, uint64_t seed)
{
	struct fg_snapshot *s = NULL;
	uint8_t *val = malloc(val_len + 1);
	size_t discarded = 1;
	struct fg *fg;
	char key[32];
	int fd, n, i, err = 0;

	fg = open_dict("full", DICT_MIN_BYTES, &fd);
	if (!ASSERT_NOT_NULL(val, "malloc") || !fg)
		goto out;
	for (n = 0; n < 100000; n++) {
		snprintf(key, sizeof(key), "key%05d", n);
		fill(val, val_len, seed + (uint64_t)n);
		err = fg_set(fg, key, val, val_len);
		if (err)
			break;
	}
	ASSERT_EQ(err, -ENOSPC, "the dictionary fills up");
	ASSERT_GE(n, 10, "a 64 KiB dictionary holds at least ten keys");
	/* Still full: the next attempt fails too and changes nothing. */
	ASSERT_EQ(fg_set(fg, key, val, val_len), -ENOSPC, "still full");
	s = read_back(fd, &discarded);
	if (!ASSERT_NOT_NULL(s, "reader"))
		goto out;
	ASSERT_EQ(discarded, 0, "nothing discarded");
	ASSERT_EQ(fg_snapshot_count(s), n, "every key that went in");
	for (i = 0; i < n; i++) {
		snprintf(key, sizeof(key), "key%05d", i);
		fill(val, val_len, seed + (uint64_t)i);
		if (!expect_value(fg, s, key, val, val_len))
			break;
	}
	snprintf(key, sizeof(key), "key%05d", n);
	expect_absent(fg, s, key);
	/* Deleting frees room for a new key. */
	ASSERT_OK(fg_del(fg, "key00000"), "del");
	ASSERT_OK(fg_set(fg, "replacement", val, val_len), "set after del");
out:
	fg_snapshot_close(s);
	if (fg)
		fg_close(fg);
	close(fd);
	free(val);
}

TEST(fill_until_enospc_arena_values)
{
	fill_until_full(200, 1000);
}

TEST(fill_until_enospc_inline_values)
{
	fill_until_full(8, 2000);
}

TEST(fill_until_enospc_empty_values)
{
	fill_until_full(0, 3000);
}

TEST(delete_then_reset)
{
	struct fg_snapshot *s = NULL;
	uint8_t big[1000];
	struct fg *fg;
	int fd;

	fill(big, sizeof(big), 5);
	fg = open_dict("del", 0, &fd);
	if (!fg)
		return;
	ASSERT_EQ(fg_del(fg, "k"), -ENOENT, "del of a missing key");
	ASSERT_OK(fg_set_str(fg, "k", "one"), "set");
	ASSERT_OK(fg_set(fg, "big", big, sizeof(big)), "set big");
	ASSERT_OK(fg_set_str(fg, "keep", "kept"), "set keep");
	ASSERT_OK(fg_del(fg, "k"), "del");
	ASSERT_OK(fg_del(fg, "big"), "del big");
	ASSERT_EQ(fg_del(fg, "k"), -ENOENT, "second del");
	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "reader after del")) {
		ASSERT_EQ(fg_snapshot_count(s), 1, "only keep");
		expect_absent(fg, s, "k");
		expect_absent(fg, s, "big");
		expect_value(fg, s, "keep", "kept", 4);
	}
	fg_snapshot_close(s);
	ASSERT_OK(fg_set_str(fg, "k", "two!"), "set again");
	ASSERT_OK(fg_set(fg, "big", big + 1, sizeof(big) - 1), "set big again");
	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "reader after re-set")) {
		ASSERT_EQ(fg_snapshot_count(s), 3, "three keys");
		expect_value(fg, s, "k", "two!", 4);
		expect_value(fg, s, "big", big + 1, sizeof(big) - 1);
		expect_value(fg, s, "keep", "kept", 4);
	}
	fg_snapshot_close(s);
	fg_close(fg);
	close(fd);
}

static size_t many_len(int i)
{
	return (size_t)(i * 37) % 301;
}

TEST(thousands_of_keys)
{
	enum { N = 5000 };
	struct fg_snapshot *s = NULL;
	size_t discarded = 1;
	uint8_t val[301];
	struct fg *fg;
	char key[32];
	int fd, i;

	fg = open_dict("many", 0, &fd);
	if (!fg)
		return;
	for (i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "item/%d", i);
		fill(val, many_len(i), (uint64_t)i);
		if (!ASSERT_OK(fg_set(fg, key, val, many_len(i)), key))
			goto out;
	}
	s = read_back(fd, &discarded);
	if (!ASSERT_NOT_NULL(s, "reader"))
		goto out;
	ASSERT_EQ(discarded, 0, "nothing discarded");
	ASSERT_EQ(fg_snapshot_count(s), N, "every key");
	for (i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "item/%d", i);
		fill(val, many_len(i), (uint64_t)i);
		if (!expect_value(fg, s, key, val, many_len(i)))
			goto out;
	}
	fg_snapshot_close(s);
	/* Delete every other key and rewrite the rest: tombstones, reuse, arena churn. */
	for (i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "item/%d", i);
		fill(val, many_len(i + 1), (uint64_t)i + N);
		if (i % 2 == 0 && !ASSERT_OK(fg_del(fg, key), key))
			goto out;
		if (i % 2 == 1 && !ASSERT_OK(fg_set(fg, key, val, many_len(i + 1)), key))
			goto out;
	}
	s = read_back(fd, &discarded);
	if (!ASSERT_NOT_NULL(s, "reader after churn"))
		goto out;
	ASSERT_EQ(discarded, 0, "nothing discarded after churn");
	ASSERT_EQ(fg_snapshot_count(s), N / 2, "half the keys");
	for (i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "item/%d", i);
		fill(val, many_len(i + 1), (uint64_t)i + N);
		if (i % 2 == 0 && !expect_absent(fg, s, key))
			break;
		if (i % 2 == 1 && !expect_value(fg, s, key, val, many_len(i + 1)))
			break;
	}
out:
	fg_snapshot_close(s);
	fg_close(fg);
	close(fd);
}

/* --- the write paths against a model ------------------------------------------- */

/*
 * fg_set has a fast path (a bound key at the start of its probe chain, an
 * inline value, no transaction) beside the general one. Random sets, dels
 * and transactions in a small dictionary (so probe chains collide and the
 * arena fills) must leave exactly what a plain model holds, through fg_get
 * and through the reader, with nothing discarded, on both CRC paths.
 */
enum { MODEL_KEYS = 24, MODEL_VAL_MAX = 150 };

struct model {
	char keys[MODEL_KEYS][220];
	uint8_t val[MODEL_KEYS][MODEL_VAL_MAX];
	size_t len[MODEL_KEYS];
	bool present[MODEL_KEYS];
};

static uint64_t model_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static bool model_check(struct fg *fg, int fd, const struct model *m, const char *when)
{
	size_t discarded = 1;
	struct fg_snapshot *s = read_back(fd, &discarded);
	bool ok = ASSERT_NOT_NULL(s, when);
	uint64_t keys = 0, bytes = 0, want_keys = 0, want_bytes = 0;
	int i;

	for (i = 0; i < MODEL_KEYS; i++) {
		want_keys += m->present[i];
		want_bytes += m->present[i] ? m->len[i] : 0;
	}
	/* The writer's own counters (what `faultguardctl status` shows). */
	if (ok)
		ok = ASSERT_OK(dict_peek_stats(fd, &keys, &bytes), "dict_peek_stats") &&
		     ASSERT_EQ(keys, want_keys, when) && ASSERT_EQ(bytes, want_bytes, when);
	if (ok)
		ok = ASSERT_EQ(discarded, 0, when);
	for (i = 0; ok && i < MODEL_KEYS; i++)
		ok = m->present[i] ? expect_value(fg, s, m->keys[i], m->val[i], m->len[i])
				   : expect_absent(fg, s, m->keys[i]);
	fg_snapshot_close(s);
	return ok;
}

static void random_ops_match_a_model(bool hw, uint64_t seed)
{
	static struct model m, saved;
	static const size_t key_lens[] = {1, 7, 8, 16, 39, 40, 41, 64, 200};
	int saved_hw = crc32c_hw, fd, i, op, in_txn = 0;
	uint64_t x = seed;
	struct fg *fg;
	char when[64];

	if (hw && !ASSERT_TRUE(crc32c_hw, "the CPU has crc32 (the fast path needs it)"))
		return;
	crc32c_hw = hw;
	memset(&m, 0, sizeof(m));
	/* Key i is one letter repeated: lengths on both sides of the inline limit. */
	for (i = 0; i < MODEL_KEYS; i++)
		memset(m.keys[i], 'A' + i, key_lens[i % 9]);
	fg = open_dict("model", 64 << 10, &fd);
	if (!fg)
		goto out;
	for (op = 0; op < 6000; op++) {
		int k = (int)(model_rand(&x) % MODEL_KEYS), r = (int)(model_rand(&x) % 100), err;
		uint8_t val[MODEL_VAL_MAX];
		size_t len;

		snprintf(when, sizeof(when), "op %d (seed %llu)", op, (unsigned long long)seed);
		if (r < 65) {
			/* Mostly inline sizes, now and then one in the arena. */
			len = model_rand(&x) % 8 ? model_rand(&x) % 65 : model_rand(&x) % MODEL_VAL_MAX;
			fill(val, len, model_rand(&x));
			err = fg_set(fg, m.keys[k], len ? val : NULL, len);
			/* Overwriting a key with an inline value needs no room: never -ENOSPC. */
			if (err == -ENOSPC && !(m.present[k] && len <= 64))
				continue; /* earlier values stay: the model keeps them too */
			if (!ASSERT_OK(err, when))
				break;
			memcpy(m.val[k], val, len);
			m.len[k] = len;
			m.present[k] = true;
		} else if (r < 80) {
			err = fg_del(fg, m.keys[k]);
			if (!ASSERT_EQ(err, m.present[k] ? 0 : -ENOENT, when))
				break;
			m.present[k] = false;
		} else if (r < 85 && !in_txn) {
			if (!ASSERT_OK(fg_begin(fg), when))
				break;
			saved = m;
			in_txn = 1;
		} else if (r < 90 && in_txn) {
			if (!ASSERT_OK(fg_commit(fg), when))
				break;
			in_txn = 0;
		} else if (r < 93 && in_txn) {
			if (!ASSERT_OK(fg_rollback(fg), when))
				break;
			m = saved;
			in_txn = 0;
		}
		/* A rescue sees committed state only: check it outside transactions. */
		if (!in_txn && op % 97 == 0 && !model_check(fg, fd, &m, when))
			break;
	}
	if (in_txn)
		ASSERT_OK(fg_commit(fg), "final commit");
	model_check(fg, fd, &m, "at the end");
	fg_close(fg);
	close(fd);
out:
	crc32c_hw = saved_hw;
}

TEST(random_ops_match_a_model_crc32_instructions)
{
	random_ops_match_a_model(true, 1);
	random_ops_match_a_model(true, 2);
}

TEST(random_ops_match_a_model_portable_crc)
{
	random_ops_match_a_model(false, 3);
}

/* --- transactions -------------------------------------------------------------- */

/* a=1, b=2 (arena), committed, before each transaction test. */
static struct fg *txn_setup(int *fd, uint8_t *b, size_t blen)
{
	struct fg *fg = open_dict("txn", 0, fd);

	if (!fg)
		return NULL;
	fill(b, blen, 42);
	if (!ASSERT_OK(fg_set_str(fg, "a", "1"), "set a") ||
	    !ASSERT_OK(fg_set(fg, "b", b, blen), "set b")) {
		fg_close(fg);
		close(*fd);
		return NULL;
	}
	return fg;
}

/* The reader sees exactly a=1, b=<b>, no c: the state before the transaction. */
static void expect_before(struct fg *fg, int fd, const uint8_t *b, size_t blen, const char *when)
{
	struct fg_snapshot *s = read_back(fd, NULL);

	if (!ASSERT_NOT_NULL(s, when))
		return;
	ASSERT_EQ(fg_snapshot_count(s), 2, when);
	expect_value(fg, s, "a", "1", 1);
	expect_value(fg, s, "b", b, blen);
	expect_absent(fg, s, "c");
	fg_snapshot_close(s);
}

/* The transaction's writes: a=10, c=3, b deleted. */
static bool txn_writes(struct fg *fg)
{
	return ASSERT_OK(fg_begin(fg), "begin") && ASSERT_OK(fg_set_str(fg, "a", "10"), "set a") &&
	       ASSERT_OK(fg_set_str(fg, "c", "3"), "set c") && ASSERT_OK(fg_del(fg, "b"), "del b");
}

TEST(txn_commit)
{
	struct fg_snapshot *s;
	uint8_t b[500], buf[8];
	struct fg *fg;
	size_t len;
	int fd;

	fg = txn_setup(&fd, b, sizeof(b));
	if (!fg)
		return;
	if (!txn_writes(fg))
		goto out;
	/* The writer sees its own transaction ... */
	ASSERT_OK(fg_get(fg, "a", buf, sizeof(buf), &len), "get a in txn");
	ASSERT_EQ(len, 2, "a is 10 inside");
	ASSERT_EQ(fg_get(fg, "b", buf, sizeof(buf), &len), -ENOENT, "b deleted inside");
	/* ... a rescue does not, until the commit. */
	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "reader in txn")) {
		ASSERT_EQ(fg_snapshot_count(s), 2, "before commit");
		expect_value(NULL, s, "a", "1", 1);
		expect_value(NULL, s, "b", b, sizeof(b));
		expect_absent(NULL, s, "c");
		fg_snapshot_close(s);
	}
	ASSERT_OK(fg_commit(fg), "commit");
	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "reader after commit")) {
		ASSERT_EQ(fg_snapshot_count(s), 2, "a and c");
		expect_value(fg, s, "a", "10", 2);
		expect_value(fg, s, "c", "3", 1);
		expect_absent(fg, s, "b");
		fg_snapshot_close(s);
	}
out:
	fg_close(fg);
	close(fd);
}

TEST(txn_rollback)
{
	uint8_t b[500];
	struct fg *fg;
	int fd;

	fg = txn_setup(&fd, b, sizeof(b));
	if (!fg)
		return;
	if (!txn_writes(fg))
		goto out;
	ASSERT_OK(fg_rollback(fg), "rollback");
	expect_before(fg, fd, b, sizeof(b), "after rollback");
	/* The handle works normally afterwards, a second transaction included. */
	ASSERT_OK(fg_begin(fg), "begin again");
	ASSERT_OK(fg_set_str(fg, "c", "33"), "set c");
	ASSERT_OK(fg_commit(fg), "commit");
	ASSERT_OK(fg_del(fg, "c"), "del c");
	expect_before(fg, fd, b, sizeof(b), "after a second transaction");
out:
	fg_close(fg);
	close(fd);
}

TEST(txn_nesting_and_misuse)
{
	uint8_t b[100];
	struct fg *fg;
	int fd;

	fg = txn_setup(&fd, b, sizeof(b));
	if (!fg)
		return;
	ASSERT_EQ(fg_commit(fg), -EINVAL, "commit outside a txn");
	ASSERT_EQ(fg_rollback(fg), -EINVAL, "rollback outside a txn");
	ASSERT_OK(fg_begin(fg), "begin");
	ASSERT_EQ(fg_begin(fg), -EBUSY, "nested begin");
	ASSERT_OK(fg_set_str(fg, "c", "3"), "set c");
	ASSERT_EQ(fg_begin(fg), -EBUSY, "nested begin after a set");
	/* The -EBUSY left the open transaction alone. */
	ASSERT_OK(fg_commit(fg), "commit");
	ASSERT_EQ(fg_commit(fg), -EINVAL, "second commit");
	ASSERT_EQ(fg_rollback(fg), -EINVAL, "rollback after commit");
	ASSERT_OK(fg_begin(fg), "begin");
	ASSERT_OK(fg_rollback(fg), "empty rollback");
	ASSERT_OK(fg_begin(fg), "begin");
	ASSERT_OK(fg_commit(fg), "empty commit");
	ASSERT_OK(fg_del(fg, "c"), "del c");
	expect_before(fg, fd, b, sizeof(b), "after misuse");
	fg_close(fg);
	close(fd);
}

TEST(txn_delete_then_rollback)
{
	uint8_t b[500];
	struct fg *fg;
	int fd;

	fg = txn_setup(&fd, b, sizeof(b));
	if (!fg)
		return;
	ASSERT_OK(fg_begin(fg), "begin");
	ASSERT_OK(fg_del(fg, "a"), "del a");
	ASSERT_OK(fg_del(fg, "b"), "del b");
	ASSERT_EQ(fg_del(fg, "b"), -ENOENT, "b already deleted in this txn");
	expect_absent(fg, NULL, "a");
	expect_before(NULL, fd, b, sizeof(b), "reader during the txn");
	ASSERT_OK(fg_rollback(fg), "rollback");
	expect_before(fg, fd, b, sizeof(b), "after rollback");
	fg_close(fg);
	close(fd);
}

/* One key set several times (inline, arena, inline) inside one transaction. */
static void txn_reset_same_key(bool commit)
{
	uint8_t b[500], v[3][2000];
	struct fg_snapshot *s;
	struct fg *fg;
	int fd, i;

	fg = txn_setup(&fd, b, sizeof(b));
	if (!fg)
		return;
	for (i = 0; i < 3; i++)
		fill(v[i], sizeof(v[i]), (uint64_t)i + 77);
	ASSERT_OK(fg_begin(fg), "begin");
	ASSERT_OK(fg_set(fg, "b", v[0], 10), "b #1 inline");
	ASSERT_OK(fg_set(fg, "b", v[1], 2000), "b #2 arena");
	ASSERT_OK(fg_set(fg, "b", v[2], 1500), "b #3 arena");
	ASSERT_OK(fg_set(fg, "c", v[0], 5), "c #1");
	ASSERT_OK(fg_set(fg, "c", v[1], 700), "c #2");
	ASSERT_OK(fg_set(fg, "a", v[2], 3), "a #1");
	ASSERT_OK(fg_set(fg, "a", v[0], 1), "a #2");
	expect_value(fg, NULL, "b", v[2], 1500);
	expect_value(fg, NULL, "c", v[1], 700);
	expect_before(NULL, fd, b, sizeof(b), "reader during the txn");
	if (!commit) {
		ASSERT_OK(fg_rollback(fg), "rollback");
		expect_before(fg, fd, b, sizeof(b), "after rollback");
		goto out;
	}
	ASSERT_OK(fg_commit(fg), "commit");
	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "reader after commit")) {
		ASSERT_EQ(fg_snapshot_count(s), 3, "a b c");
		expect_value(fg, s, "a", v[0], 1);
		expect_value(fg, s, "b", v[2], 1500);
		expect_value(fg, s, "c", v[1], 700);
		fg_snapshot_close(s);
	}
out:
	fg_close(fg);
	close(fd);
}

TEST(txn_reset_same_key_commit)
{
	txn_reset_same_key(true);
}

TEST(txn_reset_same_key_rollback)
{
	txn_reset_same_key(false);
}

/* Set and delete a new key, delete and set an old one, all in one transaction. */
TEST(txn_set_delete_set)
{
	struct fg_snapshot *s;
	uint8_t b[500], buf[8];
	struct fg *fg;
	size_t len;
	int fd;

	fg = txn_setup(&fd, b, sizeof(b));
	if (!fg)
		return;
	ASSERT_OK(fg_begin(fg), "begin");
	ASSERT_OK(fg_set_str(fg, "c", "new"), "set c");
	ASSERT_OK(fg_del(fg, "c"), "del c");
	ASSERT_EQ(fg_get(fg, "c", buf, sizeof(buf), &len), -ENOENT, "c gone inside");
	ASSERT_OK(fg_del(fg, "a"), "del a");
	ASSERT_OK(fg_set_str(fg, "a", "again"), "set a again");
	ASSERT_OK(fg_commit(fg), "commit");
	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "reader after commit")) {
		ASSERT_EQ(fg_snapshot_count(s), 2, "a and b");
		expect_value(fg, s, "a", "again", 5);
		expect_value(fg, s, "b", b, sizeof(b));
		expect_absent(fg, s, "c");
		fg_snapshot_close(s);
	}
	fg_close(fg);
	close(fd);
}

/* A transaction over many keys shows none of them before its commit. */
TEST(txn_many_keys_all_or_nothing)
{
	enum { N = 300 };
	struct fg_snapshot *s;
	uint8_t b[500], val[100];
	struct fg *fg;
	char key[32];
	int fd, i;

	fg = txn_setup(&fd, b, sizeof(b));
	if (!fg)
		return;
	ASSERT_OK(fg_begin(fg), "begin");
	for (i = 0; i < N; i++) {
		snprintf(key, sizeof(key), "t%d", i);
		fill(val, sizeof(val), (uint64_t)i);
		if (!ASSERT_OK(fg_set(fg, key, val, (size_t)i % sizeof(val)), key))
			break;
	}
	expect_before(NULL, fd, b, sizeof(b), "reader before commit");
	ASSERT_OK(fg_commit(fg), "commit");
	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "reader after commit")) {
		ASSERT_EQ(fg_snapshot_count(s), N + 2, "all of them");
		for (i = 0; i < N; i++) {
			snprintf(key, sizeof(key), "t%d", i);
			fill(val, sizeof(val), (uint64_t)i);
			if (!expect_value(fg, s, key, val, (size_t)i % sizeof(val)))
				break;
		}
		fg_snapshot_close(s);
	}
	fg_close(fg);
	close(fd);
}

/* --- handles: close, NULL, registration, fork ----------------------------------- */

TEST(use_after_close)
{
	struct fg_snapshot *s;
	uint8_t buf[8];
	struct fg *fg;
	size_t len;
	int fd;

	fg = open_dict("closed", 0, &fd);
	if (!fg)
		return;
	ASSERT_OK(fg_set_str(fg, "k", "v"), "set");
	ASSERT_OK(fg_close(fg), "close");
	ASSERT_EQ(fg_set_str(fg, "k", "v"), -EBADF, "set after close");
	ASSERT_EQ(fg_set(fg, "k", "v", 1), -EBADF, "fg_set after close");
	ASSERT_EQ(fg_get(fg, "k", buf, sizeof(buf), &len), -EBADF, "get after close");
	ASSERT_EQ(fg_del(fg, "k"), -EBADF, "del after close");
	ASSERT_EQ(fg_begin(fg), -EBADF, "begin after close");
	ASSERT_EQ(fg_commit(fg), -EBADF, "commit after close");
	ASSERT_EQ(fg_rollback(fg), -EBADF, "rollback after close");
	ASSERT_EQ(fg_registered(fg), 0, "registered after close");
	ASSERT_EQ(fg_close(fg), -EBADF, "second close");
	/* An orderly end leaves nothing to rescue. */
	ASSERT_EQ(dict_fd_closed(fd), 1, "marked closed");
	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "reader after close")) {
		ASSERT_EQ(fg_snapshot_count(s), 0, "data discarded");
		fg_snapshot_close(s);
	}
	close(fd);
}

TEST(close_inside_txn)
{
	struct fg *fg;
	int fd;

	fg = open_dict("closetxn", 0, &fd);
	if (!fg)
		return;
	ASSERT_OK(fg_begin(fg), "begin");
	ASSERT_OK(fg_set_str(fg, "k", "v"), "set");
	ASSERT_OK(fg_close(fg), "close with an open transaction");
	ASSERT_EQ(fg_commit(fg), -EBADF, "commit after close");
	close(fd);
}

TEST(null_handle)
{
	uint8_t buf[8];
	size_t len;

	ASSERT_OK(fg_close(NULL), "fg_close(NULL)");
	ASSERT_EQ(fg_set(NULL, "k", "v", 1), -EINVAL, "set");
	ASSERT_EQ(fg_set_str(NULL, "k", "v"), -EINVAL, "set_str");
	ASSERT_EQ(fg_get(NULL, "k", buf, sizeof(buf), &len), -EINVAL, "get");
	ASSERT_EQ(fg_del(NULL, "k"), -EINVAL, "del");
	ASSERT_EQ(fg_begin(NULL), -EINVAL, "begin");
	ASSERT_EQ(fg_commit(NULL), -EINVAL, "commit");
	ASSERT_EQ(fg_rollback(NULL), -EINVAL, "rollback");
	ASSERT_EQ(fg_registered(NULL), 0, "registered");
}

TEST(guardian_fd_is_used)
{
	struct fg_snapshot *s = NULL;
	struct fg_opts o = opts_for("guarded", 0);
	char num[16];
	struct fg *fg;
	int fd;

	fd = fg_memfd_create("guarded", 0);
	if (!ASSERT_GE(fd, 0, "fg_memfd_create"))
		return;
	snprintf(num, sizeof(num), "%d", fd);
	setenv("FAULTGUARD_FD", num, 1);
	fg = fg_open(&o);
	if (!ASSERT_NOT_NULL(fg, "fg_open with $FAULTGUARD_FD"))
		goto out;
	ASSERT_EQ(fg_registered(fg), 1, "a guardian holds the dictionary");
	ASSERT_TRUE(getenv("FAULTGUARD_FD") == NULL, "the variable is consumed");
	ASSERT_OK(fg_set_str(fg, "k", "in the guardian's memfd"), "set");
	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "read the guardian's memfd"))
		expect_value(fg, s, "k", "in the guardian's memfd", 23);
	fg_snapshot_close(s);
	/* fg_close closes the inherited fd: it is ours no more. */
	fg_close(fg);
	return;
out:
	unsetenv("FAULTGUARD_FD");
	close(fd);
}

TEST(guardian_fd_bad)
{
	struct fg_opts o = opts_for("guarded", 0);
	struct fg *fg;
	int fd;

	setenv("FAULTGUARD_FD", "not-a-number", 1);
	fg = fg_open(&o);
	if (!ASSERT_TRUE(fg == NULL, "$FAULTGUARD_FD not a number"))
		fg_close(fg);
	/* A descriptor that is no dictionary memfd. */
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		char num[16];

		snprintf(num, sizeof(num), "%d", fd);
		setenv("FAULTGUARD_FD", num, 1);
		fg = fg_open(&o);
		if (!ASSERT_TRUE(fg == NULL, "$FAULTGUARD_FD is /dev/null"))
			fg_close(fg);
		close(fd);
	}
	unsetenv("FAULTGUARD_FD");
}

/* Runs @fn in a forked child; returns its wait status, or -1. */
static int in_child(void (*fn)(struct fg *fg, int arg), struct fg *fg, int arg)
{
	int status;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fn(fg, arg);
		_exit(0);
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	return status;
}

/* Exit codes say which check failed. */
static void child_writes(struct fg *fg, int arg)
{
	uint8_t big[3000], buf[3000];
	size_t len;

	(void)arg;
	fill(big, sizeof(big), 99);
	if (fg_registered(fg) != 0)
		_exit(10);
	if (fg_set_str(fg, "shared", "child") || fg_set_str(fg, "child-only", "x") ||
	    fg_set(fg, "big", big, sizeof(big)) || fg_del(fg, "parent-only"))
		_exit(11);
	if (fg_begin(fg) || fg_set_str(fg, "txn", "child") || fg_commit(fg))
		_exit(12);
	/* The child keeps a working handle on its own copy. */
	if (fg_get(fg, "shared", buf, sizeof(buf), &len) || len != 5 || memcmp(buf, "child", 5))
		_exit(13);
	if (fg_get(fg, "big", buf, sizeof(buf), &len) || len != sizeof(big) ||
	    memcmp(buf, big, len))
		_exit(14);
	/* Closing the child's handle must not close the parent's dictionary either. */
	if (fg_close(fg))
		_exit(15);
}

TEST(fork_child_is_detached)
{
	struct fg_snapshot *s;
	struct fg *fg;
	int fd, status;

	fg = open_dict("forked", 0, &fd);
	if (!fg)
		return;
	ASSERT_OK(fg_set_str(fg, "shared", "parent"), "set shared");
	ASSERT_OK(fg_set_str(fg, "parent-only", "p"), "set parent-only");
	status = in_child(child_writes, fg, 0);
	ASSERT_TRUE(WIFEXITED(status), "child exited");
	ASSERT_EQ(WEXITSTATUS(status), 0, "child checks (exit code names the failed one)");
	ASSERT_EQ(dict_fd_closed(fd), 0, "the child's fg_close did not close ours");
	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "reader")) {
		ASSERT_EQ(fg_snapshot_count(s), 2, "the parent's keys only");
		expect_value(fg, s, "shared", "parent", 6);
		expect_value(fg, s, "parent-only", "p", 1);
		expect_absent(fg, s, "child-only");
		expect_absent(fg, s, "big");
		expect_absent(fg, s, "txn");
		fg_snapshot_close(s);
	}
	/* The parent's handle still works after the fork. */
	ASSERT_OK(fg_set_str(fg, "after", "fork"), "set after fork");
	s = read_back(fd, NULL);
	if (ASSERT_NOT_NULL(s, "reader after"))
		expect_value(fg, s, "after", "fork", 4);
	fg_snapshot_close(s);
	fg_close(fg);
	close(fd);
}

/*
 * SPEC: "fg_set performs no system call". Under SECCOMP_MODE_STRICT any
 * system call but read, write, exit and sigreturn kills the process.
 */
static void child_sets_under_seccomp(struct fg *fg, int pipe_fd)
{
	static uint8_t big[20000];
	int err = 0, i;
	char key[16];

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0)
		_exit(20);
	for (i = 0; i < 200 && !err; i++) {
		snprintf(key, sizeof(key), "k%d", i % 50);
		big[i] = (uint8_t)i;
		err = fg_set(fg, key, big, (size_t)(i * 97) % sizeof(big));
		if (!err)
			err = fg_set_str(fg, "s", key);
	}
	(void)!write(pipe_fd, &err, sizeof(err));
	syscall(SYS_exit, 0); /* exit_group is not allowed in strict mode */
}

TEST(fg_set_makes_no_system_call)
{
	int fd, status, p[2], err = -1;
	struct fg *fg;

	fg = open_dict("nosyscall", 0, &fd);
	if (!fg)
		return;
	if (!ASSERT_OK(pipe2(p, O_CLOEXEC), "pipe"))
		goto out;
	status = in_child(child_sets_under_seccomp, fg, p[1]);
	close(p[1]);
	if (ASSERT_TRUE(WIFEXITED(status), "not killed for a system call"))
		ASSERT_EQ(WEXITSTATUS(status), 0, "seccomp on");
	ASSERT_EQ(read(p[0], &err, sizeof(err)), sizeof(err), "result");
	ASSERT_OK(err, "fg_set under seccomp");
	close(p[0]);
out:
	fg_close(fg);
	close(fd);
}

/* --- snapshots ------------------------------------------------------------------- */

static struct fg_snapshot *ordered_snapshot(void)
{
	static const char *keys[] = {"b", "a", "\xff", "ab", "A", "a\x01", "zz"};
	struct fg_snapshot *s = NULL;
	struct fg *fg;
	size_t i;
	int fd;

	fg = open_dict("ordered", 0, &fd);
	if (!fg)
		return NULL;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!ASSERT_OK(fg_set(fg, keys[i], &i, sizeof(i)), keys[i]))
			goto out;
	s = read_back(fd, NULL);
	ASSERT_NOT_NULL(s, "reader");
out:
	fg_close(fg);
	close(fd);
	return s;
}

static void check_ordered(const struct fg_snapshot *s)
{
	static const char *sorted[] = {"A", "a", "a\x01", "ab", "b", "zz", "\xff"};
	static const size_t orig[] = {4, 1, 5, 3, 0, 6, 2};
	const char *key = NULL;
	const void *val = NULL;
	size_t i, len = 0;

	ASSERT_EQ(fg_snapshot_count(s), 7, "count");
	for (i = 0; i < 7; i++) {
		if (!ASSERT_OK(fg_snapshot_entry(s, i, &key, &val, &len), "entry"))
			return;
		ASSERT_STREQ(key, sorted[i], "bytewise key order");
		ASSERT_EQ(len, sizeof(size_t), "len");
		ASSERT_MEMEQ(val, &orig[i], sizeof(size_t), "value");
		val = NULL;
		ASSERT_OK(fg_snapshot_get(s, sorted[i], &val, NULL), "get without len");
		ASSERT_MEMEQ(val, &orig[i], sizeof(size_t), "get value");
	}
	ASSERT_OK(fg_snapshot_entry(s, 0, NULL, NULL, NULL), "entry with NULL outs");
	ASSERT_EQ(fg_snapshot_entry(s, 7, &key, &val, &len), -ERANGE, "one past the end");
	ASSERT_EQ(fg_snapshot_entry(s, (size_t)-1, &key, &val, &len), -ERANGE, "far past");
	ASSERT_EQ(fg_snapshot_get(s, "c", &val, &len), -ENOENT, "missing key");
	ASSERT_EQ(fg_snapshot_get(s, "", &val, &len), -ENOENT, "empty key");
	ASSERT_EQ(fg_snapshot_get(s, NULL, &val, &len), -EINVAL, "NULL key");
}

TEST(snapshot_accessors)
{
	struct fg_snapshot *s = ordered_snapshot();
	const char *app = NULL;
	unsigned int uid = 1;
	long long t = 1;
	int pid = 1;

	if (!s)
		return;
	check_ordered(s);
	ASSERT_OK(fg_snapshot_meta(s, &app, &pid, &uid, &t), "meta");
	ASSERT_STREQ(app, "ordered", "app");
	ASSERT_OK(fg_snapshot_meta(s, NULL, NULL, NULL, NULL), "meta with NULL outs");
	fg_snapshot_close(s);

	ASSERT_EQ(fg_snapshot_count(NULL), 0, "count(NULL)");
	ASSERT_EQ(fg_snapshot_get(NULL, "a", NULL, NULL), -EINVAL, "get(NULL)");
	ASSERT_EQ(fg_snapshot_entry(NULL, 0, NULL, NULL, NULL), -EINVAL, "entry(NULL)");
	ASSERT_EQ(fg_snapshot_meta(NULL, &app, NULL, NULL, NULL), -EINVAL, "meta(NULL)");
	fg_snapshot_close(NULL);
}

TEST(snapshot_save_open_round_trip)
{
	struct fg_snapshot *s = ordered_snapshot(), *back = NULL;
	const char *app = NULL;
	char path[PATH_MAX];
	struct stat st;

	if (!s)
		return;
	snprintf(path, sizeof(path), "%s/saved.fgsnap", test_tmpdir());
	if (!ASSERT_OK(fg_snapshot_save(s, path), "save"))
		goto out;
	if (ASSERT_OK(stat(path, &st), "stat"))
		ASSERT_EQ(st.st_mode & 07777, 0600, "mode 0600");
	/* Saving over an existing file replaces it. */
	ASSERT_OK(fg_snapshot_save(s, path), "save again");
	back = fg_snapshot_open(path);
	if (!ASSERT_NOT_NULL(back, "open"))
		goto out;
	check_ordered(back);
	ASSERT_OK(fg_snapshot_meta(back, &app, NULL, NULL, NULL), "meta");
	ASSERT_STREQ(app, "ordered", "app survives the file");
out:
	fg_snapshot_close(back);
	fg_snapshot_close(s);
}

TEST(snapshot_save_relative_path)
{
	struct fg_snapshot *s = ordered_snapshot(), *back;

	if (!s)
		return;
	if (ASSERT_OK(chdir(test_tmpdir()), "chdir") &&
	    ASSERT_OK(fg_snapshot_save(s, "rel.fgsnap"), "save relative")) {
		back = fg_snapshot_open("rel.fgsnap");
		if (ASSERT_NOT_NULL(back, "open relative"))
			check_ordered(back);
		fg_snapshot_close(back);
	}
	fg_snapshot_close(s);
}

TEST(snapshot_save_open_errors)
{
	struct fg_snapshot *s = ordered_snapshot();
	char path[PATH_MAX];

	if (!s)
		return;
	ASSERT_EQ(fg_snapshot_save(NULL, "/tmp/x"), -EINVAL, "save NULL snapshot");
	ASSERT_EQ(fg_snapshot_save(s, NULL), -EINVAL, "save NULL path");
	ASSERT_EQ(fg_snapshot_save(s, ""), -EINVAL, "save empty path");
	snprintf(path, sizeof(path), "%s/", test_tmpdir());
	ASSERT_EQ(fg_snapshot_save(s, path), -EINVAL, "save to a directory path");
	snprintf(path, sizeof(path), "%s/no/such/dir/x.fgsnap", test_tmpdir());
	ASSERT_EQ(fg_snapshot_save(s, path), -ENOENT, "save into a missing directory");
	fg_snapshot_close(s);

	errno = 0;
	ASSERT_TRUE(fg_snapshot_open(NULL) == NULL, "open NULL");
	ASSERT_EQ(errno, EINVAL, "open NULL errno");
	snprintf(path, sizeof(path), "%s/missing.fgsnap", test_tmpdir());
	errno = 0;
	ASSERT_TRUE(fg_snapshot_open(path) == NULL, "open missing");
	ASSERT_EQ(errno, ENOENT, "open missing errno");
	errno = 0;
	ASSERT_TRUE(fg_snapshot_open(test_tmpdir()) == NULL, "open a directory");
	ASSERT_EQ(errno, EINVAL, "open a directory errno");
}

/* --- guardian building blocks ----------------------------------------------------- */

TEST(memfd_create_and_read_fd)
{
	struct fg_snapshot *s;
	size_t discarded = 7;
	char path[PATH_MAX];
	int fd, other;

	ASSERT_EQ(fg_memfd_create("x", 1), -EINVAL, "too small");
	ASSERT_EQ(fg_memfd_create("x", DICT_MAX_BYTES + 1), -EINVAL, "too large");
	fd = fg_memfd_create("fresh", DICT_MIN_BYTES);
	if (!ASSERT_GE(fd, 0, "create"))
		return;
	ASSERT_TRUE(fcntl(fd, F_GETFD) & FD_CLOEXEC, "close-on-exec");
	s = fg_snapshot_read_fd(fd, &discarded);
	if (ASSERT_NOT_NULL(s, "read an empty dictionary")) {
		ASSERT_EQ(fg_snapshot_count(s), 0, "empty");
		ASSERT_EQ(discarded, 0, "discarded");
	}
	fg_snapshot_close(s);
	s = fg_snapshot_read_fd(fd, NULL);
	ASSERT_NOT_NULL(s, "discarded pointer may be NULL");
	fg_snapshot_close(s);
	close(fd);

	/* Not a sealed memfd: refused. */
	errno = 0;
	ASSERT_TRUE(fg_snapshot_read_fd(-1, NULL) == NULL, "fd -1");
	ASSERT_EQ(errno, EBADF, "fd -1 errno");
	snprintf(path, sizeof(path), "%s/plain", test_tmpdir());
	other = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (ASSERT_GE(other, 0, "plain file")) {
		ASSERT_OK(ftruncate(other, DICT_MIN_BYTES), "size it");
		errno = 0;
		ASSERT_TRUE(fg_snapshot_read_fd(other, NULL) == NULL, "regular file");
		ASSERT_EQ(errno, EBADF, "regular file errno");
		close(other);
	}
	other = memfd_create("unsealed", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (ASSERT_GE(other, 0, "unsealed memfd")) {
		ASSERT_OK(ftruncate(other, DICT_MIN_BYTES), "size it");
		errno = 0;
		ASSERT_TRUE(fg_snapshot_read_fd(other, NULL) == NULL, "unsealed memfd");
		ASSERT_EQ(errno, EBADF, "unsealed memfd errno");
		close(other);
	}
}

/* --- fg_guard ----------------------------------------------------------------------- */

struct guard_run {
	int how;       /* what the child does: see guarded_app() */
	int rescues;   /* rescue() calls */
	int wstatus;   /* as rescue() saw it */
	size_t count;  /* entries rescued */
	bool value_ok; /* "progress" held the last value set */
	bool app_ok;   /* the snapshot names the app */
};

enum { EXIT_ZERO, EXIT_THREE, KILLED, ABORTED };

static int guarded_app(struct fg *fg, void *arg)
{
	struct guard_run *r = arg;
	struct rlimit no_core = {0, 0};
	char v[32];
	int i;

	for (i = 0; i < 100; i++) {
		snprintf(v, sizeof(v), "step %d", i);
		if (fg_set_str(fg, "progress", v))
			return 100;
	}
	if (fg_begin(fg) || fg_set_str(fg, "uncommitted", "x"))
		return 101;
	setrlimit(RLIMIT_CORE, &no_core);
	switch (r->how) {
	case EXIT_THREE:
		return 3;
	case KILLED:
		raise(SIGKILL);
		break;
	case ABORTED:
		/* Not SIGSEGV: a sanitizer would turn that into an exit. */
		abort();
	}
	return 0;
}

static void guard_rescue(const struct fg_snapshot *s, int wstatus, void *arg)
{
	struct guard_run *r = arg;
	const void *v;
	const char *app;
	size_t len;

	r->rescues++;
	r->wstatus = wstatus;
	r->count = fg_snapshot_count(s);
	r->value_ok = fg_snapshot_get(s, "progress", &v, &len) == 0 && len == 7 &&
		      memcmp(v, "step 99", 7) == 0;
	r->app_ok = fg_snapshot_meta(s, &app, NULL, NULL, NULL) == 0 && strcmp(app, "guarded") == 0;
}

static int guard_once(struct guard_run *r, unsigned int flags)
{
	struct fg_opts o = opts_for("guarded", 0);

	o.flags = flags;
	return fg_guard(&o, guarded_app, guard_rescue, r);
}

TEST(guard_rescues_a_kill)
{
	struct guard_run r = {.how = KILLED};
	int st = guard_once(&r, 0);

	ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "child killed");
	ASSERT_EQ(r.rescues, 1, "one rescue");
	ASSERT_EQ(r.wstatus, st, "rescue sees the wait status");
	ASSERT_EQ(r.count, 1, "progress only: the open transaction is not rescued");
	ASSERT_TRUE(r.value_ok, "the last value set");
	ASSERT_TRUE(r.app_ok, "app name in the snapshot");
}

TEST(guard_rescues_an_abort)
{
	struct guard_run r = {.how = ABORTED};
	int st = guard_once(&r, 0);

	ASSERT_TRUE(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT, "child aborted");
	ASSERT_EQ(r.rescues, 1, "one rescue");
	ASSERT_TRUE(r.value_ok, "the last value set");
}

TEST(guard_rescues_nonzero_exit)
{
	struct guard_run r = {.how = EXIT_THREE};
	int st = guard_once(&r, 0);

	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 3, "exit 3");
	ASSERT_EQ(r.rescues, 1, "one rescue");
	ASSERT_TRUE(r.value_ok, "the last value set");

	memset(&r, 0, sizeof(r));
	r.how = EXIT_THREE;
	st = guard_once(&r, FG_RESCUE_SIGNAL_ONLY);
	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 3, "exit 3, signal-only");
	ASSERT_EQ(r.rescues, 0, "FG_RESCUE_SIGNAL_ONLY: no rescue after exit(3)");

	memset(&r, 0, sizeof(r));
	r.how = KILLED;
	st = guard_once(&r, FG_RESCUE_SIGNAL_ONLY);
	ASSERT_TRUE(WIFSIGNALED(st), "killed, signal-only");
	ASSERT_EQ(r.rescues, 1, "FG_RESCUE_SIGNAL_ONLY still rescues a signal");
}

TEST(guard_no_rescue_after_exit_zero)
{
	struct guard_run r = {.how = EXIT_ZERO};
	int st = guard_once(&r, 0);

	ASSERT_TRUE(WIFEXITED(st) && WEXITSTATUS(st) == 0, "exit 0");
	ASSERT_EQ(r.rescues, 0, "no rescue");
}

TEST(guard_bad_args)
{
	struct fg_opts o = opts_for("guarded", 0);
	struct guard_run r = {.how = EXIT_ZERO};

	ASSERT_EQ(fg_guard(NULL, guarded_app, guard_rescue, &r), -EINVAL, "NULL opts");
	ASSERT_EQ(fg_guard(&o, NULL, guard_rescue, &r), -EINVAL, "NULL launch");
	o.app = NULL;
	ASSERT_EQ(fg_guard(&o, guarded_app, guard_rescue, &r), -EINVAL, "NULL app");
	o = opts_for("guarded", 0);
	o.sz = 0;
	ASSERT_EQ(fg_guard(&o, guarded_app, guard_rescue, &r), -EINVAL, "sz 0");
	/* The same opts as fg_open: refused before anything runs. */
	o = opts_for("bad name!", 0);
	ASSERT_EQ(fg_guard(&o, guarded_app, guard_rescue, &r), -EINVAL, "bad app name");
	o = opts_for("guarded", 0);
	o.flags = 0x80;
	ASSERT_EQ(fg_guard(&o, guarded_app, guard_rescue, &r), -EINVAL, "unknown flag");
	ASSERT_EQ(r.rescues, 0, "nothing ran");
	/* A NULL rescue is allowed: the child still runs. */
	r.how = KILLED;
	o = opts_for("guarded", 0);
	ASSERT_TRUE(WIFSIGNALED(fg_guard(&o, guarded_app, NULL, &r)), "NULL rescue");
}
