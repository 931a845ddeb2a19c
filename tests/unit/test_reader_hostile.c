// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The dictionary reader against hostile bytes. Its input comes from a
 * process that may be malicious or whose wild pointers scribbled over the
 * mapping before it died, so whatever it is given it must return an error
 * or a partial result, never crash, hang or invent a value.
 *
 * Dictionaries are built by the real writer with real content, then
 * damaged: random bytes, bit flips in every region, truncation, crafted
 * slots and headers, and another process scribbling while the reader reads.
 * Where the damage is a few bit flips, the result must be a subset of the
 * original (every entry it returns holds exactly the original value), and
 * every key lost must show up in the discarded count.
 *
 * Random choices come from one seed: FG_TEST_SEED=N reproduces a run, and
 * every failure prints the seed.
 */
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dict/crc32c.h"
#include "dict/dict.h"
#include "dict/layout.h"
#include "faultguard.h"
#include "framework/test.h"
#include "snapshot/snapshot.h"

/* --- seeded randomness ------------------------------------------------------------- */

static uint64_t rng_state;
static uint64_t seed;
static char ctx[192]; /* what every assertion prints: seed and iteration */

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t rnd_below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void rnd_bytes(uint8_t *p, size_t n)
{
	uint64_t r;

	for (; n >= 8; n -= 8, p += 8) {
		r = rnd();
		memcpy(p, &r, 8);
	}
	r = rnd();
	memcpy(p, &r, n);
}

static void seed_rng(void)
{
	const char *env = getenv("FG_TEST_SEED");

	seed = env ? strtoull(env, NULL, 0)
		   : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32) ^ (uint64_t)clock();
	rng_state = seed;
	snprintf(ctx, sizeof(ctx), "FG_TEST_SEED=%llu", (unsigned long long)seed);
}

static void set_ctx(const char *what, long iter)
{
	snprintf(ctx, sizeof(ctx), "%s, iteration %ld (FG_TEST_SEED=%llu reproduces)", what, iter,
		 (unsigned long long)seed);
}

/* --- dictionaries built by the writer ------------------------------------------- */

struct image {
	uint8_t *buf;
	size_t len;
	struct fg_snapshot *orig; /* what the undamaged image reads as */
	struct fg_snapshot *all;  /* ... with its open transaction committed */
	uint64_t slot_count;
	uint64_t arena_off;
	uint64_t arena_size;
	uint64_t arena_used; /* up to the last non-zero arena byte */
};

static void image_free(struct image *im)
{
	free(im->buf);
	fg_snapshot_close(im->orig);
	fg_snapshot_close(im->all);
	memset(im, 0, sizeof(*im));
}

static int put(struct dict_writer *w, const char *key, const void *val, size_t len)
{
	return dict_set(w, key, strlen(key), val, len);
}

static int put_str(struct dict_writer *w, const char *key, const char *val)
{
	return put(w, key, val, strlen(val));
}

/*
 * Inline and arena keys and values, a 255-byte key, empty and binary values,
 * overwrites, deletes, a committed transaction and, with @open_txn, one left
 * open (its writes must not be visible).
 */
static int write_content(struct dict_writer *w, int extra, bool open_txn)
{
	uint8_t big[3000], bin[256];
	char lkey[256], key[32];
	int i, err = 0;

	for (i = 0; i < (int)sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + 1);
	for (i = 0; i < 256; i++)
		bin[i] = (uint8_t)i;
	err |= put_str(w, "inline-a", "short value");
	err |= put(w, "empty", "", 0);
	err |= put(w, "arena-val", big, sizeof(big));
	memset(lkey, 'L', 100);
	lkey[100] = '\0';
	err |= put(w, lkey, big + 1, 500);
	memset(lkey, 'K', 255);
	lkey[255] = '\0';
	err |= put_str(w, lkey, "255-byte key");
	for (i = 0; i < 5; i++)
		err |= put(w, "overwritten", big + i, (size_t)(i * 50 + 20));
	err |= put_str(w, "deleted", "x");
	err |= dict_del(w, "deleted", 7);
	err |= put(w, "a-gone-key-longer-than-forty-bytes-for-the-arena", big, 1000);
	err |= dict_del(w, "a-gone-key-longer-than-forty-bytes-for-the-arena", 48);
	err |= put_str(w, "empty2", "");
	err |= put(w, "bin", bin, sizeof(bin));
	err |= dict_begin(w);
	err |= put_str(w, "t1", "committed one");
	err |= put(w, "t2", big + 3, 2000);
	err |= put_str(w, "inline-b", "y");
	err |= dict_del(w, "empty2", 6);
	err |= dict_commit(w);
	for (i = 0; i < extra; i++) {
		snprintf(key, sizeof(key), "n%d", i);
		err |= put(w, key, big + i, (size_t)(i * 17) % 150);
	}
	if (open_txn) {
		err |= dict_begin(w);
		err |= put_str(w, "t1", "uncommitted");
		err |= put_str(w, "pending", "new");
		err |= dict_del(w, "inline-b", 8);
		err |= put(w, "arena-val", big, 100);
	}
	return err;
}

static uint64_t last_nonzero(const uint8_t *p, uint64_t from, uint64_t to)
{
	while (to > from && p[to - 1] == 0)
		to--;
	return to;
}

/*
 * The image as it reads once every transaction counts as committed. Two
 * flipped bits in the same place of a commit word's txn and check make a
 * consistent, higher commit word: the open transaction's values then show,
 * and they are values the writer wrote, not inventions.
 */
static struct fg_snapshot *read_all_committed(const struct image *im)
{
	uint8_t *p = malloc(im->len);
	struct dict_commit *c = (struct dict_commit *)(p + DICT_COMMIT_OFF);
	struct fg_snapshot *s;
	int i;

	if (!p)
		return NULL;
	memcpy(p, im->buf, im->len);
	for (i = 0; i < 2; i++) {
		c[i].txn = UINT64_MAX - 1;
		c[i].check = ~(uint64_t)(UINT64_MAX - 1);
	}
	s = dict_read_mem(p, im->len, NULL);
	free(p);
	return s;
}

/* Builds a dictionary of @size bytes with the writer and copies it out. */
static bool build_image(struct image *im, uint64_t size, int extra, bool open_txn)
{
	struct dict_writer *w = NULL;
	const struct dict_header *h;
	struct dict_read_stats st;
	bool ok = false;
	int fd;

	memset(im, 0, sizeof(*im));
	fd = dict_memfd_create("hostile", size);
	if (!ASSERT_GE(fd, 0, "memfd"))
		return false;
	if (!ASSERT_OK(dict_writer_attach(fd, &w), "attach") ||
	    !ASSERT_OK(write_content(w, extra, open_txn), "write content"))
		goto out;
	im->len = size;
	im->buf = malloc(size);
	if (!ASSERT_NOT_NULL(im->buf, "malloc") ||
	    !ASSERT_EQ(pread(fd, im->buf, size, 0), (ssize_t)size, "copy out"))
		goto out;
	h = (const struct dict_header *)im->buf;
	im->slot_count = h->slot_count;
	im->arena_off = h->arena_off;
	im->arena_size = h->arena_size;
	im->arena_used = last_nonzero(im->buf, im->arena_off, im->len) - im->arena_off;
	im->orig = dict_read_mem(im->buf, im->len, &st);
	im->all = read_all_committed(im);
	ok = ASSERT_NOT_NULL(im->orig, "read the intact image") &&
	     ASSERT_NOT_NULL(im->all, "read with everything committed") &&
	     ASSERT_EQ(st.discarded, 0, "intact image: nothing discarded") &&
	     ASSERT_EQ(fg_snapshot_count(im->orig), 10 + extra, "intact image: every key");
out:
	dict_writer_free(w);
	close(fd);
	if (!ok)
		image_free(im);
	return ok;
}

/* --- what a result must satisfy --------------------------------------------------- */

/* Keys of 1-255 bytes, strictly increasing, and the byte count right. */
static bool sane(const struct fg_snapshot *s, const struct dict_read_stats *st)
{
	const char *prev = NULL, *key;
	uint64_t bytes = 0;
	const void *val;
	size_t i, len, kl;

	for (i = 0; i < fg_snapshot_count(s); i++) {
		if (!ASSERT_OK(fg_snapshot_entry(s, i, &key, &val, &len), ctx))
			return false;
		kl = strlen(key);
		if (!ASSERT_TRUE(kl >= 1 && kl <= FG_KEY_MAX, ctx) ||
		    !ASSERT_TRUE(!prev || strcmp(prev, key) < 0, ctx))
			return false;
		prev = key;
		bytes += len;
	}
	return ASSERT_EQ(st->bytes, bytes, ctx);
}

/* Every entry of @s holds exactly the value @orig has for its key. */
static bool subset_of(const struct fg_snapshot *s, const struct fg_snapshot *orig)
{
	const void *val, *ov;
	size_t i, len, olen;
	const char *key;

	for (i = 0; i < fg_snapshot_count(s); i++) {
		fg_snapshot_entry(s, i, &key, &val, &len);
		if (!ASSERT_OK(fg_snapshot_get(orig, key, &ov, &olen), ctx) ||
		    !ASSERT_EQ(len, olen, ctx) || !ASSERT_MEMEQ(val, ov, len, ctx))
			return false;
	}
	return true;
}

/* Every entry of @s holds the value @a or @b has for its key. */
static bool subset_of_either(const struct fg_snapshot *s, const struct fg_snapshot *a,
			     const struct fg_snapshot *b)
{
	const void *val, *av, *bv;
	size_t i, len, alen, blen;
	const char *key;

	for (i = 0; i < fg_snapshot_count(s); i++) {
		bool in_a, in_b;

		fg_snapshot_entry(s, i, &key, &val, &len);
		in_a = fg_snapshot_get(a, key, &av, &alen) == 0 && alen == len &&
		       memcmp(av, val, len) == 0;
		in_b = fg_snapshot_get(b, key, &bv, &blen) == 0 && blen == len &&
		       memcmp(bv, val, len) == 0;
		if (!ASSERT_TRUE(in_a || in_b, ctx)) {
			fprintf(stderr, "  key \"%s\": a value the writer never stored\n", key);
			return false;
		}
	}
	return true;
}

static bool same(const struct fg_snapshot *s, const struct fg_snapshot *orig)
{
	return ASSERT_EQ(fg_snapshot_count(s), fg_snapshot_count(orig), ctx) && subset_of(s, orig);
}

/* Reads @buf; a result must be sane and a subset of @orig (NULL: any content). */
static bool read_check(const uint8_t *buf, size_t len, const struct fg_snapshot *orig,
		       struct fg_snapshot **out, struct dict_read_stats *st)
{
	struct fg_snapshot *s;
	bool ok;

	errno = 0;
	s = dict_read_mem(buf, len, st);
	if (!s) {
		if (out)
			*out = NULL;
		return ASSERT_NEQ(errno, 0, ctx);
	}
	ok = sane(s, st) && (!orig || subset_of(s, orig));
	if (out && ok) {
		*out = s;
		return true;
	}
	fg_snapshot_close(s);
	if (out)
		*out = NULL;
	return ok;
}

static uint8_t *dup_image(const struct image *im)
{
	uint8_t *p = malloc(im->len);

	if (p)
		memcpy(p, im->buf, im->len);
	return p;
}

/* --- random bytes ------------------------------------------------------------------- */

TEST(random_bytes_never_crash)
{
	struct dict_read_stats st;
	uint8_t *buf = malloc(70000);
	long it;

	seed_rng();
	if (!ASSERT_NOT_NULL(buf, "malloc"))
		return;
	for (it = 0; it < 20000; it++) {
		size_t len = rnd_below(70000);

		set_ctx("random image", it);
		rnd_bytes(buf, len);
		if (!read_check(buf, len, NULL, NULL, &st))
			break;
	}
	/* dict_read_mem(NULL, 0) is an error, not a crash. */
	errno = 0;
	ASSERT_TRUE(dict_read_mem(NULL, 0, &st) == NULL, "NULL, 0");
	ASSERT_EQ(errno, EINVAL, "NULL, 0 errno");
	ASSERT_TRUE(dict_read_mem(buf, 100, NULL) == NULL, "stats pointer may be NULL");
	free(buf);
}

/* Valid headers, random everything else: a partial result at most. */
static void random_region(uint64_t size, int extra, int which)
{
	struct dict_read_stats st;
	struct fg_snapshot *s;
	struct image im;
	uint8_t *buf;
	long it;

	seed_rng();
	if (!build_image(&im, size, extra, which & 4))
		return;
	buf = malloc(im.len);
	if (!ASSERT_NOT_NULL(buf, "malloc"))
		goto out;
	for (it = 0; it < 5000; it++) {
		uint64_t from = (which & 3) == 0   ? DICT_COMMIT_OFF
				: (which & 3) == 1 ? DICT_SLOT_OFF
						   : im.arena_off;
		uint64_t to = (which & 3) == 1 ? im.arena_off : im.len;
		size_t i;

		set_ctx((which & 3) == 0   ? "random after the headers"
			: (which & 3) == 1 ? "random slot table"
					   : "random arena",
			it);
		memcpy(buf, im.buf, im.len);
		rnd_bytes(buf + from, to - from);
		/* Random bytes pass two crc32c checks with odds of 2^-64: a subset. */
		if (!read_check(buf, im.len, im.orig, &s, &st))
			break;
		if (!ASSERT_NOT_NULL(s, ctx))
			break;
		ASSERT_TRUE(fg_snapshot_count(s) <= im.slot_count, ctx);
		if ((which & 3) == 2) {
			/* Entries whose key and value are inline never touch the arena. */
			for (i = 0; i < fg_snapshot_count(im.orig); i++) {
				const char *key;
				size_t len;

				fg_snapshot_entry(im.orig, i, &key, NULL, &len);
				if (strlen(key) <= DICT_KEY_INLINE && len <= DICT_VAL_INLINE &&
				    !ASSERT_OK(fg_snapshot_get(s, key, NULL, NULL), ctx))
					break;
			}
			ASSERT_EQ(fg_snapshot_count(im.orig) - fg_snapshot_count(s), st.discarded,
				  ctx);
		}
		fg_snapshot_close(s);
	}
	free(buf);
out:
	image_free(&im);
}

TEST(random_after_headers)
{
	random_region(DICT_MIN_BYTES, 8, 0);
}

TEST(random_slot_table)
{
	random_region(DICT_MIN_BYTES, 8, 1);
	random_region(256 << 10, 60, 1 | 4);
}

TEST(random_arena)
{
	random_region(DICT_MIN_BYTES, 8, 2);
	random_region(256 << 10, 60, 2);
}

/* --- bit flips ------------------------------------------------------------------------ */

/* A bit offset in a region picked at random, so small regions get their share. */
static uint64_t pick_bit(const struct image *im)
{
	uint64_t slots_end = DICT_SLOT_OFF + im->slot_count * sizeof(struct dict_slot);
	uint64_t from, to;

	switch (rnd_below(6)) {
	case 0:
		from = DICT_HDR_COPY_OFF(0), to = from + sizeof(struct dict_header);
		break;
	case 1:
		from = DICT_HDR_COPY_OFF(1), to = from + sizeof(struct dict_header);
		break;
	case 2:
		from = DICT_COMMIT_OFF, to = from + 2 * sizeof(struct dict_commit);
		break;
	case 3:
		from = DICT_SLOT_OFF, to = slots_end;
		break;
	case 4:
		from = im->arena_off, to = im->arena_off + im->arena_used;
		break;
	default:
		from = 0, to = im->len;
	}
	return from * 8 + rnd_below((to - from) * 8);
}

/*
 * Flips the reader cannot tell from an honest state, so a key may go
 * uncounted: a bound slot's state turning EMPTY (its lowest bit), or a
 * version's gen turning 0, which is how a version being written looks.
 */
static bool silent_loss(const struct image *im, uint64_t bit)
{
	uint64_t off = bit / 8, in_slot;
	const struct dict_slot *s;
	int i;

	if (off < DICT_SLOT_OFF || off >= im->arena_off)
		return false;
	in_slot = (off - DICT_SLOT_OFF) % sizeof(struct dict_slot);
	s = (const struct dict_slot *)(im->buf + off - in_slot);
	if (in_slot == offsetof(struct dict_slot, state))
		return bit % 8 == 0 && s->state == SLOT_BOUND;
	for (i = 0; i < 2; i++) {
		uint64_t gen_off =
		    offsetof(struct dict_slot, ver) + i * sizeof(struct dict_version);

		if (in_slot >= gen_off && in_slot < gen_off + 8)
			return s->ver[i].gen == 1ull << ((in_slot - gen_off) * 8 + bit % 8);
	}
	return false;
}

static void flips(uint64_t size, int extra, bool open_txn, int nflips, long iters)
{
	struct dict_read_stats st;
	struct fg_snapshot *s;
	uint64_t bits[16];
	struct image im;
	uint8_t *buf;
	long it;
	int i;

	seed_rng();
	if (!build_image(&im, size, extra, open_txn))
		return;
	buf = dup_image(&im);
	if (!ASSERT_NOT_NULL(buf, "malloc"))
		goto out;
	for (it = 0; it < iters; it++) {
		int n = nflips > 1 ? 2 + (int)rnd_below((uint64_t)nflips - 1) : 1;
		size_t lost, excused = 0;

		set_ctx(n == 1 ? "single bit flip" : "several bit flips", it);
		for (i = 0; i < n; i++) {
			bits[i] = pick_bit(&im);
			excused += silent_loss(&im, bits[i]);
			buf[bits[i] / 8] ^= (uint8_t)(1u << (bits[i] % 8));
		}
		if (!read_check(buf, im.len, n == 1 ? im.orig : NULL, &s, &st))
			break;
		if (s && n > 1 && !subset_of_either(s, im.orig, im.all))
			break;
		/* A flip hits at most one header copy: the other one still reads. */
		if (n == 1 && !ASSERT_NOT_NULL(s, ctx))
			break;
		lost = fg_snapshot_count(im.orig) - fg_snapshot_count(s);
		if (n == 1 && !ASSERT_TRUE(lost <= st.discarded + excused, ctx)) {
			fprintf(stderr,
				"  flipped bit %llu (byte %llu): %zu lost, %llu discarded\n",
				(unsigned long long)bits[0], (unsigned long long)bits[0] / 8, lost,
				(unsigned long long)st.discarded);
			break;
		}
		fg_snapshot_close(s);
		for (i = 0; i < n; i++)
			buf[bits[i] / 8] ^= (uint8_t)(1u << (bits[i] % 8));
	}
	free(buf);
out:
	image_free(&im);
}

TEST(single_bit_flips)
{
	flips(DICT_MIN_BYTES, 8, false, 1, 100000);
	flips(DICT_MIN_BYTES, 8, true, 1, 100000);
}

TEST(multiple_bit_flips)
{
	flips(DICT_MIN_BYTES, 8, false, 16, 50000);
	flips(256 << 10, 60, true, 16, 20000);
}

/* Every bit of every bound slot, one at a time. */
TEST(every_slot_bit)
{
	struct dict_read_stats st;
	struct fg_snapshot *s;
	struct image im;
	uint64_t bit, from, to;
	uint8_t *buf;

	seed_rng();
	if (!build_image(&im, DICT_MIN_BYTES, 8, true))
		return;
	buf = dup_image(&im);
	if (!ASSERT_NOT_NULL(buf, "malloc"))
		goto out;
	from = DICT_SLOT_OFF * 8;
	to = (DICT_SLOT_OFF + im.slot_count * sizeof(struct dict_slot)) * 8;
	for (bit = from; bit < to; bit++) {
		size_t lost;

		if (buf[DICT_SLOT_OFF + (bit / 8 - DICT_SLOT_OFF) / 256 * 256] == SLOT_EMPTY)
			continue;
		set_ctx("slot bit", (long)bit);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (!read_check(buf, im.len, im.orig, &s, &st) || !ASSERT_NOT_NULL(s, ctx))
			break;
		lost = fg_snapshot_count(im.orig) - fg_snapshot_count(s);
		if (!ASSERT_TRUE(lost <= st.discarded + silent_loss(&im, bit), ctx)) {
			fprintf(
			    stderr, "  slot %llu byte %llu bit %llu: %zu lost, %llu discarded\n",
			    (unsigned long long)((bit / 8 - DICT_SLOT_OFF) / 256),
			    (unsigned long long)((bit / 8 - DICT_SLOT_OFF) % 256),
			    (unsigned long long)(bit % 8), lost, (unsigned long long)st.discarded);
			break;
		}
		fg_snapshot_close(s);
		buf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	free(buf);
out:
	image_free(&im);
}

/* --- truncation ---------------------------------------------------------------------- */

static bool snapshots_equal(const struct fg_snapshot *a, const struct fg_snapshot *b)
{
	if (!a || !b)
		return ASSERT_TRUE(!a && !b, ctx);
	return same(a, b);
}

static void reseal_header(uint8_t *buf, int copy)
{
	struct dict_header *h = (struct dict_header *)(buf + DICT_HDR_COPY_OFF(copy));

	h->crc = crc32c(0, h, offsetof(struct dict_header, crc));
}

/*
 * A malloc'd copy of exactly the image's first @len bytes (so ASan catches a
 * read past them). With @fit, both headers claim an arena that ends there,
 * as a hostile writer could: the header checks pass and the value bounds
 * checks must do the work.
 */
static uint8_t *prefix_copy(const struct image *im, size_t len, bool fit)
{
	uint8_t *p = malloc(len ? len : 1);
	int i;

	if (!p)
		return NULL;
	memcpy(p, im->buf, len);
	if (!fit || len < im->arena_off)
		return p;
	for (i = 0; i < 2; i++) {
		struct dict_header *h = (struct dict_header *)(p + DICT_HDR_COPY_OFF(i));

		h->arena_size = len - im->arena_off;
		h->total_size = len;
		reseal_header(p, i);
	}
	return p;
}

static void truncations(bool fit)
{
	struct dict_read_stats st;
	struct fg_snapshot *s;
	size_t len, prev = 0;
	struct image im;

	seed_rng();
	if (!build_image(&im, DICT_MIN_BYTES, 8, true))
		return;
	for (len = 0; len <= im.len; len += len < im.arena_off + 64 ? 1 : 1 + rnd_below(13)) {
		uint8_t *copy = prefix_copy(&im, len, fit);
		size_t lost;

		set_ctx(fit ? "truncated, header fitted" : "truncated copy", (long)len);
		if (!ASSERT_NOT_NULL(copy, "malloc"))
			break;
		if (!read_check(copy, len, im.orig, &s, &st)) {
			free(copy);
			break;
		}
		free(copy);
		if (fit && len >= im.arena_off) {
			/* The headers hold: a partial result, every loss counted. */
			if (!ASSERT_NOT_NULL(s, ctx))
				break;
			lost = fg_snapshot_count(im.orig) - fg_snapshot_count(s);
			if (!ASSERT_TRUE(lost <= st.discarded, ctx))
				break;
		}
		/* A longer prefix never yields fewer entries. */
		if (!ASSERT_TRUE(fg_snapshot_count(s) >= prev, ctx))
			break;
		prev = fg_snapshot_count(s);
		fg_snapshot_close(s);
	}
	set_ctx("whole image", 0);
	s = dict_read_mem(im.buf, im.len, &st);
	if (ASSERT_NOT_NULL(s, ctx))
		same(s, im.orig);
	fg_snapshot_close(s);
	image_free(&im);
}

TEST(truncated_in_memory)
{
	truncations(false);
}

TEST(truncated_with_fitted_header)
{
	truncations(true);
}

/* A memfd holding @len bytes of @buf, zero pages left as holes. */
static int memfd_of(const uint8_t *buf, size_t len)
{
	int fd = memfd_create("prefix", MFD_CLOEXEC);
	size_t off;

	if (fd < 0 || ftruncate(fd, (off_t)len) < 0)
		goto err;
	for (off = 0; off < len; off += 4096) {
		size_t n = len - off < 4096 ? len - off : 4096;

		if (last_nonzero(buf, off, off + n) == off)
			continue;
		if (pwrite(fd, buf + off, n, (off_t)off) != (ssize_t)n)
			goto err;
	}
	return fd;
err:
	if (fd >= 0)
		close(fd);
	return -1;
}

/* The file reader (pread, holes skipped) agrees with the memory reader. */
TEST(truncated_memfd)
{
	struct dict_read_stats st_fd, st_mem;
	struct fg_snapshot *a, *b;
	struct image im;
	long it;

	seed_rng();
	if (!build_image(&im, 256 << 10, 40, true))
		return;
	for (it = 0; it < 400; it++) {
		size_t len = it < 100 ? im.len - (size_t)it * 2600 : rnd_below(im.len + 1);
		uint8_t *copy = prefix_copy(&im, len, it % 2);
		int fd = copy ? memfd_of(copy, len) : -1;

		set_ctx(it % 2 ? "memfd prefix, header fitted" : "memfd prefix", (long)len);
		if (!ASSERT_GE(fd, 0, "memfd")) {
			free(copy);
			break;
		}
		a = dict_read_fd(fd, 0, &st_fd);
		b = dict_read_mem(copy, len, &st_mem);
		close(fd);
		free(copy);
		if (!snapshots_equal(a, b) ||
		    (a && !ASSERT_EQ(st_fd.discarded, st_mem.discarded, ctx)) ||
		    (a && !subset_of(a, im.orig))) {
			fg_snapshot_close(a);
			fg_snapshot_close(b);
			break;
		}
		fg_snapshot_close(a);
		fg_snapshot_close(b);
	}
	image_free(&im);
}

TEST(read_fd_limit)
{
	struct dict_read_stats st;
	struct image im;
	int fd;

	if (!build_image(&im, DICT_MIN_BYTES, 0, false))
		return;
	fd = memfd_of(im.buf, im.len);
	if (ASSERT_GE(fd, 0, "memfd")) {
		errno = 0;
		ASSERT_TRUE(dict_read_fd(fd, im.len - 1, &st) == NULL, "over the limit");
		ASSERT_EQ(errno, EFBIG, "EFBIG");
		close(fd);
	}
	errno = 0;
	ASSERT_TRUE(dict_read_fd(-1, 0, &st) == NULL, "bad fd");
	ASSERT_EQ(errno, EBADF, "bad fd errno");
	image_free(&im);
}

/* --- crafted slots ----------------------------------------------------------------------- */

static struct dict_slot *slot_at(uint8_t *buf, uint64_t i)
{
	return (struct dict_slot *)(buf + DICT_SLOT_OFF + i * sizeof(struct dict_slot));
}

static const char *slot_key(const uint8_t *buf, const struct image *im, struct dict_slot *s)
{
	return s->key_len <= DICT_KEY_INLINE ? s->key_inl
					     : (const char *)buf + im->arena_off + s->key_off;
}

/* The bound slot of @key in @buf (an image's copy). */
static struct dict_slot *find_slot(uint8_t *buf, const struct image *im, const char *key)
{
	uint64_t i;

	for (i = 0; i < im->slot_count; i++) {
		struct dict_slot *s = slot_at(buf, i);

		if (s->state == SLOT_BOUND && s->key_len == strlen(key) &&
		    memcmp(slot_key(buf, im, s), key, s->key_len) == 0)
			return s;
	}
	return NULL;
}

static struct dict_slot *empty_slot(uint8_t *buf, const struct image *im)
{
	uint64_t i;

	for (i = 0; i < im->slot_count; i++)
		if (slot_at(buf, i)->state == SLOT_EMPTY)
			return slot_at(buf, i);
	return NULL;
}

static struct dict_version *newest(struct dict_slot *s)
{
	return s->ver[0].gen > s->ver[1].gen ? &s->ver[0] : &s->ver[1];
}

static uint32_t version_crc(uint32_t key_crc, const struct dict_version *v, const void *bytes)
{
	struct dict_version_tag tag = {
	    .gen = v->gen,
	    .txn = v->txn,
	    .len = v->len,
	    .key_crc = key_crc,
	};
	uint32_t crc = crc32c(0, &tag, sizeof(tag));

	return bytes ? crc32c(crc, bytes, v->len) : crc;
}

/* Makes @s a bound slot of @key (inline) with one valid inline version. */
static void craft_slot(struct dict_slot *s, const char *key, const void *val, uint32_t len,
		       uint64_t gen, uint64_t txn)
{
	memset(s, 0, sizeof(*s));
	s->state = SLOT_BOUND;
	s->key_len = (uint32_t)strlen(key);
	memcpy(s->key_inl, key, s->key_len);
	s->key_crc = crc32c(0, key, s->key_len);
	s->ver[0].gen = gen;
	s->ver[0].txn = txn;
	s->ver[0].len = len;
	memcpy(s->ver[0].inl, val, len);
	s->ver[0].crc = version_crc(s->key_crc, &s->ver[0], val);
}

struct crafted {
	struct image im;
	uint8_t *buf;
	struct fg_snapshot *s;
	struct dict_read_stats st;
};

static bool crafted_begin(struct crafted *c, bool open_txn)
{
	memset(c, 0, sizeof(*c));
	if (!build_image(&c->im, DICT_MIN_BYTES, 4, open_txn))
		return false;
	c->buf = dup_image(&c->im);
	return ASSERT_NOT_NULL(c->buf, "malloc");
}

/* Reads the crafted image: a sane result that is a subset of the original. */
static bool crafted_read(struct crafted *c, const char *what)
{
	snprintf(ctx, sizeof(ctx), "%s", what);
	fg_snapshot_close(c->s);
	c->s = dict_read_mem(c->buf, c->im.len, &c->st);
	return ASSERT_NOT_NULL(c->s, what) && sane(c->s, &c->st) && subset_of(c->s, c->im.orig);
}

/* Like crafted_read, and @key is lost, the rest intact, the loss counted. */
static void expect_discarded(struct crafted *c, const char *key, const char *what)
{
	if (!crafted_read(c, what))
		return;
	ASSERT_EQ(fg_snapshot_get(c->s, key, NULL, NULL), -ENOENT, what);
	ASSERT_EQ(fg_snapshot_count(c->s), fg_snapshot_count(c->im.orig) - 1, what);
	ASSERT_GE(c->st.discarded, 1, what);
}

static void crafted_reset(struct crafted *c)
{
	memcpy(c->buf, c->im.buf, c->im.len);
}

static void crafted_end(struct crafted *c)
{
	fg_snapshot_close(c->s);
	free(c->buf);
	image_free(&c->im);
}

TEST(crafted_positive_control)
{
	struct dict_slot *s;
	struct crafted c;
	const void *v;
	size_t len;

	if (!crafted_begin(&c, false))
		return;
	/* The crafting helpers make slots the reader accepts ... */
	s = empty_slot(c.buf, &c.im);
	if (!ASSERT_NOT_NULL(s, "empty slot"))
		goto out;
	craft_slot(s, "crafted", "by hand", 7, 1000, 0);
	snprintf(ctx, sizeof(ctx), "crafted slot");
	c.s = dict_read_mem(c.buf, c.im.len, &c.st);
	if (ASSERT_NOT_NULL(c.s, "read") && sane(c.s, &c.st)) {
		ASSERT_EQ(fg_snapshot_count(c.s), fg_snapshot_count(c.im.orig) + 1, "one more");
		ASSERT_OK(fg_snapshot_get(c.s, "crafted", &v, &len), "crafted key");
		ASSERT_EQ(len, 7, "len");
		ASSERT_EQ(c.st.discarded, 0, "nothing discarded");
	}
	/* ... so the tests below fail for the reason they name. */
	crafted_reset(&c);
	s = find_slot(c.buf, &c.im, "arena-val");
	if (ASSERT_NOT_NULL(s, "arena-val slot")) {
		struct dict_version *ver = newest(s);

		ver->crc = version_crc(s->key_crc, ver, c.buf + c.im.arena_off + ver->off);
		crafted_read(&c, "recomputed crc");
		ASSERT_EQ(fg_snapshot_count(c.s), fg_snapshot_count(c.im.orig), "all there");
		ASSERT_EQ(c.st.discarded, 0, "nothing discarded");
	}
out:
	crafted_end(&c);
}

TEST(crafted_value_bounds)
{
	static const struct {
		uint64_t off;
		uint32_t len; /* 0: arena_size + 1 */
		const char *what;
	} cases[] = {
	    {UINT64_MAX - 10, 100, "off near UINT64_MAX"},
	    {UINT64_MAX - 63, 65, "off + len wraps"},
	    {0, 0xfffffffe, "len 0xfffffffe"},
	    {64, 0xfffffff0, "len near 4 GiB"},
	    {0, 0, "len arena_size + 1"},
	    {1ull << 40, 1000, "off far past the file"},
	};
	struct dict_slot *s;
	struct crafted c;
	size_t i;

	if (!crafted_begin(&c, false))
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct dict_version *v;

		crafted_reset(&c);
		s = find_slot(c.buf, &c.im, "arena-val");
		if (!ASSERT_NOT_NULL(s, "arena-val slot"))
			break;
		v = newest(s);
		v->off = cases[i].off;
		v->len = cases[i].len ? cases[i].len : (uint32_t)c.im.arena_size + 1;
		v->crc = version_crc(s->key_crc, v, NULL);
		expect_discarded(&c, "arena-val", cases[i].what);
	}
	/* Straddling the end of the arena, with a crc over what is there. */
	crafted_reset(&c);
	s = find_slot(c.buf, &c.im, "arena-val");
	if (ASSERT_NOT_NULL(s, "arena-val slot")) {
		struct dict_version *v = newest(s);

		v->off = c.im.arena_size - 64;
		v->len = 100;
		v->crc = version_crc(s->key_crc, v, NULL);
		expect_discarded(&c, "arena-val", "straddles the arena end");
	}
	crafted_end(&c);
}

TEST(crafted_key_bounds)
{
	static const struct {
		uint32_t key_len;
		uint64_t key_off;
		const char *what;
	} cases[] = {
	    {0, 0, "key_len 0"},
	    {256, 0, "key_len 256"},
	    {0xffffffff, 0, "key_len 0xffffffff"},
	    {100, UINT64_MAX - 50, "key_off near UINT64_MAX"},
	    {200, 1ull << 33, "key_off past the file"},
	};
	struct dict_slot *s;
	struct crafted c;
	size_t i;
	char lkey[101];

	memset(lkey, 'L', 100);
	lkey[100] = '\0';
	if (!crafted_begin(&c, false))
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		crafted_reset(&c);
		s = find_slot(c.buf, &c.im, lkey);
		if (!ASSERT_NOT_NULL(s, "long key slot"))
			break;
		s->key_len = cases[i].key_len;
		if (cases[i].key_off)
			s->key_off = cases[i].key_off;
		expect_discarded(&c, lkey, cases[i].what);
	}
	/* A key holding a NUL byte, with a matching key crc. */
	crafted_reset(&c);
	s = find_slot(c.buf, &c.im, "inline-a");
	if (ASSERT_NOT_NULL(s, "inline-a slot")) {
		s->key_inl[3] = '\0';
		s->key_crc = crc32c(0, s->key_inl, s->key_len);
		expect_discarded(&c, "inline-a", "NUL inside the key");
	}
	/* A key whose crc does not match. */
	crafted_reset(&c);
	s = find_slot(c.buf, &c.im, "inline-a");
	if (ASSERT_NOT_NULL(s, "inline-a slot")) {
		s->key_inl[0] ^= 0x20;
		expect_discarded(&c, "inline-a", "key bytes changed");
	}
	crafted_end(&c);
}

TEST(crafted_versions)
{
	struct dict_version *v, *o;
	struct dict_slot *s;
	struct crafted c;
	const void *val;
	size_t len;

	if (!crafted_begin(&c, false))
		return;
	/* A valid-looking version (gen set) whose crc is wrong: discarded. */
	s = find_slot(c.buf, &c.im, "inline-a");
	if (!ASSERT_NOT_NULL(s, "inline-a"))
		goto out;
	newest(s)->crc ^= 1;
	expect_discarded(&c, "inline-a", "wrong crc");

	/* Two valid versions: the newer wins; if its crc fails, the older, and it counts. */
	crafted_reset(&c);
	s = find_slot(c.buf, &c.im, "inline-a");
	v = newest(s);
	o = v == &s->ver[0] ? &s->ver[1] : &s->ver[0];
	*o = (struct dict_version){.gen = v->gen + 5, .len = 5};
	memcpy(o->inl, "newer", 5);
	o->crc = version_crc(s->key_crc, o, o->inl);
	snprintf(ctx, sizeof(ctx), "two versions");
	fg_snapshot_close(c.s);
	c.s = dict_read_mem(c.buf, c.im.len, &c.st);
	if (ASSERT_NOT_NULL(c.s, "two versions") &&
	    ASSERT_OK(fg_snapshot_get(c.s, "inline-a", &val, &len), "inline-a")) {
		ASSERT_EQ(len, 5, "the newer version");
		ASSERT_MEMEQ(val, "newer", 5, "the newer version");
		ASSERT_EQ(c.st.discarded, 0, "none discarded");
	}
	o->crc ^= 0x100;
	if (crafted_read(&c, "newer version corrupt")) {
		ASSERT_OK(fg_snapshot_get(c.s, "inline-a", &val, &len), "falls back");
		ASSERT_EQ(len, 11, "the older version");
		ASSERT_EQ(c.st.discarded, 1, "the corrupt one counted");
	}

	/* Newer version from a transaction that never committed: invisible, not corrupt. */
	o->txn = 1000;
	o->crc = version_crc(s->key_crc, o, o->inl);
	if (crafted_read(&c, "uncommitted newer version")) {
		ASSERT_OK(fg_snapshot_get(c.s, "inline-a", &val, &len), "older one");
		ASSERT_EQ(len, 11, "the older version");
		ASSERT_EQ(c.st.discarded, 0, "nothing discarded");
	}

	/* A committed tombstone hides the key; a corrupt one does not. */
	o->txn = 0;
	o->len = DICT_LEN_DELETED;
	o->crc = version_crc(s->key_crc, o, NULL);
	if (crafted_read(&c, "tombstone")) {
		ASSERT_EQ(fg_snapshot_get(c.s, "inline-a", NULL, NULL), -ENOENT, "deleted");
		ASSERT_EQ(c.st.discarded, 0, "a delete is no loss");
	}
	o->crc ^= 1;
	if (crafted_read(&c, "corrupt tombstone")) {
		ASSERT_OK(fg_snapshot_get(c.s, "inline-a", NULL, NULL), "falls back");
		ASSERT_EQ(c.st.discarded, 1, "the corrupt tombstone counted");
	}
out:
	crafted_end(&c);
}

/* Two slots bound to one key: one entry, and the bytes add up. */
TEST(crafted_duplicate_key)
{
	struct dict_slot *s;
	struct crafted c;
	const void *val;
	size_t len;

	if (!crafted_begin(&c, false))
		return;
	s = empty_slot(c.buf, &c.im);
	if (ASSERT_NOT_NULL(s, "empty slot")) {
		craft_slot(s, "inline-a", "duplicate", 9, 1, 0);
		snprintf(ctx, sizeof(ctx), "duplicate key");
		c.s = dict_read_mem(c.buf, c.im.len, &c.st);
		if (ASSERT_NOT_NULL(c.s, "read") && sane(c.s, &c.st)) {
			ASSERT_EQ(fg_snapshot_count(c.s), fg_snapshot_count(c.im.orig),
				  "one entry");
			ASSERT_OK(fg_snapshot_get(c.s, "inline-a", &val, &len), "inline-a");
			ASSERT_TRUE(len == 9 || len == 11, "one of the two values");
			ASSERT_GE(c.st.discarded, 1, "the dropped duplicate is counted");
		}
	}
	crafted_end(&c);
}

/* Every empty slot claims one extent spanning the whole arena: the copy budget bounds the result.
 */
TEST(crafted_shared_extent)
{
	struct dict_slot *s;
	struct crafted c;
	uint64_t i, n = 0;
	char key[32];

	if (!crafted_begin(&c, false))
		return;
	for (i = 0; i < c.im.slot_count; i++) {
		s = slot_at(c.buf, i);
		if (s->state != SLOT_EMPTY)
			continue;
		snprintf(key, sizeof(key), "dup%llu", (unsigned long long)i);
		craft_slot(s, key, "", 0, 1, 0);
		s->ver[0].len = (uint32_t)c.im.arena_size;
		s->ver[0].off = 0;
		s->ver[0].crc = version_crc(s->key_crc, &s->ver[0], c.buf + c.im.arena_off);
		n++;
	}
	snprintf(ctx, sizeof(ctx), "shared extent");
	c.s = dict_read_mem(c.buf, c.im.len, &c.st);
	if (ASSERT_NOT_NULL(c.s, "read") && sane(c.s, &c.st)) {
		ASSERT_TRUE(n >= 2, "several crafted slots");
		/* Arena values within the arena's size, inline ones within their slots. */
		ASSERT_TRUE(c.st.bytes <= c.im.arena_size + c.im.slot_count * DICT_VAL_INLINE,
			    "no more bytes than the dictionary holds");
		ASSERT_GE(c.st.discarded, n - 1, "the slots over budget are counted");
	}
	crafted_end(&c);
}

/* --- crafted headers and commit words ---------------------------------------------------- */

enum hdr_field {
	F_SLOT_COUNT,
	F_SLOT_SIZE,
	F_SLOT_OFF,
	F_ARENA_OFF,
	F_ARENA_SIZE,
	F_VERSION,
	F_HDR_SIZE,
	F_MAGIC,
	F_TOTAL_SIZE
};

static void set_field(uint8_t *buf, int copy, enum hdr_field f, uint64_t val)
{
	struct dict_header *h = (struct dict_header *)(buf + DICT_HDR_COPY_OFF(copy));

	switch (f) {
	case F_SLOT_COUNT:
		h->slot_count = (uint32_t)val;
		break;
	case F_SLOT_SIZE:
		h->slot_size = (uint32_t)val;
		break;
	case F_SLOT_OFF:
		h->slot_off = val;
		break;
	case F_ARENA_OFF:
		h->arena_off = val;
		break;
	case F_ARENA_SIZE:
		h->arena_size = val;
		break;
	case F_VERSION:
		h->version = (uint32_t)val;
		break;
	case F_HDR_SIZE:
		h->hdr_size = (uint32_t)val;
		break;
	case F_MAGIC:
		h->magic = val;
		break;
	case F_TOTAL_SIZE:
		h->total_size = val;
		break;
	}
	reseal_header(buf, copy);
}

TEST(crafted_headers)
{
	static const struct {
		enum hdr_field f;
		uint64_t val; /* UINT64_MAX - 1: the image size, + 1 where it says */
		const char *what;
	} bad[] = {
	    {F_SLOT_COUNT, 1u << 30, "slot_count 2^30"},
	    {F_SLOT_COUNT, 1u << 24, "slot_count 2^24: table beyond the file"},
	    {F_SLOT_COUNT, 0xffffffff, "slot_count 0xffffffff"},
	    {F_SLOT_COUNT, 3, "slot_count 3"},
	    {F_SLOT_COUNT, 48, "slot_count 48"},
	    {F_SLOT_COUNT, 0, "slot_count 0"},
	    {F_SLOT_SIZE, 128, "slot_size 128"},
	    {F_SLOT_OFF, 0, "slot_off 0"},
	    {F_SLOT_OFF, UINT64_MAX - 4095, "slot_off near UINT64_MAX"},
	    {F_ARENA_OFF, 0, "arena_off inside the header"},
	    {F_ARENA_OFF, UINT64_MAX, "arena_off UINT64_MAX"},
	    {F_ARENA_SIZE, UINT64_MAX, "arena_size UINT64_MAX"},
	    {F_ARENA_SIZE, UINT64_MAX - 1, "arena_size past the file"},
	    {F_VERSION, 2, "version 2"},
	    {F_HDR_SIZE, 64, "hdr_size 64"},
	    {F_MAGIC, 0x1234, "magic"},
	};
	struct crafted c;
	size_t i;
	int copy;

	if (!crafted_begin(&c, false))
		return;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint64_t val = bad[i].val == UINT64_MAX - 1 ? c.im.len : bad[i].val;

		/* One bad copy: the other one is used and nothing is lost. */
		for (copy = 0; copy < 2; copy++) {
			crafted_reset(&c);
			set_field(c.buf, copy, bad[i].f, val);
			if (crafted_read(&c, bad[i].what)) {
				ASSERT_EQ(fg_snapshot_count(c.s), fg_snapshot_count(c.im.orig),
					  bad[i].what);
				ASSERT_EQ(c.st.discarded, 0, bad[i].what);
			}
		}
		/* Both bad: no dictionary. */
		set_field(c.buf, 0, bad[i].f, val);
		errno = 0;
		fg_snapshot_close(c.s);
		c.s = dict_read_mem(c.buf, c.im.len, &c.st);
		ASSERT_TRUE(c.s == NULL, bad[i].what);
		ASSERT_EQ(errno, EINVAL, bad[i].what);
	}
	/* Both copies random: no dictionary. */
	crafted_reset(&c);
	seed_rng();
	rnd_bytes(c.buf, 512);
	errno = 0;
	ASSERT_TRUE(dict_read_mem(c.buf, c.im.len, &c.st) == NULL, "random headers");
	ASSERT_EQ(errno, EINVAL, "random headers errno");
	crafted_end(&c);
}

TEST(crafted_header_smaller_table)
{
	struct crafted c;

	if (!crafted_begin(&c, false))
		return;
	/* Half the table: a partial result, never a wrong value. */
	set_field(c.buf, 0, F_SLOT_COUNT, c.im.slot_count / 2);
	set_field(c.buf, 1, F_SLOT_COUNT, c.im.slot_count / 2);
	if (crafted_read(&c, "half the slot table"))
		ASSERT_TRUE(fg_snapshot_count(c.s) <= fg_snapshot_count(c.im.orig), "partial");
	/* total_size is informational: the bounds come from the bytes there are. */
	crafted_reset(&c);
	set_field(c.buf, 0, F_TOTAL_SIZE, 1ull << 40);
	set_field(c.buf, 1, F_TOTAL_SIZE, 1ull << 40);
	if (crafted_read(&c, "total_size lies"))
		ASSERT_EQ(fg_snapshot_count(c.s), fg_snapshot_count(c.im.orig), "all there");
	/* The arena moved: values no longer match their crcs. */
	crafted_reset(&c);
	set_field(c.buf, 0, F_ARENA_OFF, c.im.arena_off + 64);
	set_field(c.buf, 0, F_ARENA_SIZE, c.im.arena_size - 64);
	set_field(c.buf, 1, F_ARENA_OFF, c.im.arena_off + 64);
	set_field(c.buf, 1, F_ARENA_SIZE, c.im.arena_size - 64);
	if (crafted_read(&c, "arena moved"))
		ASSERT_GE(c.st.discarded, 1, "arena values discarded");
	crafted_end(&c);
}

TEST(crafted_commit_words)
{
	struct dict_commit *cw;
	struct crafted c;
	const void *val;
	size_t len;

	if (!crafted_begin(&c, true))
		return;
	cw = (struct dict_commit *)(c.buf + DICT_COMMIT_OFF);
	/* One copy broken: the other holds. */
	cw[0].check = 0;
	if (crafted_read(&c, "commit copy 0 broken"))
		ASSERT_EQ(fg_snapshot_count(c.s), fg_snapshot_count(c.im.orig), "all there");
	crafted_reset(&c);
	cw[1].txn = cw[1].txn + 1;
	if (crafted_read(&c, "commit copy 1 broken"))
		ASSERT_EQ(fg_snapshot_count(c.s), fg_snapshot_count(c.im.orig), "all there");
	/* Both broken: no transaction counts as committed; older versions remain. */
	cw[0].check = 0;
	if (crafted_read(&c, "both commit copies broken")) {
		ASSERT_EQ(fg_snapshot_get(c.s, "t1", NULL, NULL), -ENOENT, "t1 only ever in a txn");
		ASSERT_OK(fg_snapshot_get(c.s, "arena-val", &val, &len), "arena-val");
		ASSERT_EQ(len, 3000, "arena-val from before any txn");
	}
	/* The open transaction's writes stay invisible in the intact image. */
	crafted_reset(&c);
	if (crafted_read(&c, "open txn")) {
		ASSERT_EQ(fg_snapshot_get(c.s, "pending", NULL, NULL), -ENOENT, "pending");
		ASSERT_OK(fg_snapshot_get(c.s, "t1", &val, &len), "t1");
		ASSERT_EQ(len, 13, "t1 committed value");
		ASSERT_OK(fg_snapshot_get(c.s, "inline-b", NULL, NULL), "inline-b not deleted yet");
	}
	crafted_end(&c);
}

/* --- another process changing the dictionary while it is read --------------------------- */

static void scribbler(int fd, uint64_t size, uint64_t child_seed)
{
	uint8_t *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED)
		_exit(1);
	rng_state = child_seed;
	for (;;) {
		uint64_t r = rnd();
		uint64_t off = r % size;
		uint64_t n = 1 + (r >> 40) % 512;

		if (off + n > size)
			n = size - off;
		/* Mostly single bytes in the live part, some runs, now and then the headers. */
		if ((r >> 20) % 16 == 0)
			off = (r >> 24) % 1024;
		else if ((r >> 20) % 4 == 0)
			n = 1;
		rnd_bytes(m + off, n);
	}
}

TEST(concurrent_scribbler)
{
	struct dict_read_stats st;
	struct dict_writer *w = NULL;
	struct fg_snapshot *s;
	int fd, status, it;
	pid_t pid;

	seed_rng();
	fd = dict_memfd_create("scribbled", DICT_MIN_BYTES);
	if (!ASSERT_GE(fd, 0, "memfd"))
		return;
	if (!ASSERT_OK(dict_writer_attach(fd, &w), "attach") ||
	    !ASSERT_OK(write_content(w, 8, true), "content"))
		goto out;
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		scribbler(fd, DICT_MIN_BYTES, seed + 1);
	if (!ASSERT_GE(pid, 0, "fork"))
		goto out;
	for (it = 0; it < 3000; it++) {
		size_t discarded;

		set_ctx("read while scribbled", it);
		s = dict_read_fd(fd, 0, &st);
		if (s && !sane(s, &st)) {
			fg_snapshot_close(s);
			break;
		}
		fg_snapshot_close(s);
		/* The public entry point, with its memfd checks, too. */
		fg_snapshot_close(fg_snapshot_read_fd(fd, &discarded));
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ASSERT_TRUE(WIFSIGNALED(status), "the scribbler ran until killed");
out:
	dict_writer_free(w);
	close(fd);
}

/*
 * An honest writer in another process, each value naming its key and
 * sequence number and padded with bytes derived from both: whatever the
 * reader catches mid-write, a value it returns is one the writer wrote.
 */
static size_t honest_value(char *buf, const char *key, uint64_t seq)
{
	size_t n = (size_t)snprintf(buf, 64, "%s#%llu#", key, (unsigned long long)seq);
	size_t len = n + (seq * 131) % 3000, i;

	for (i = n; i < len; i++)
		buf[i] = (char)(seq + i);
	return len;
}

static bool honest_ok(const char *key, const void *val, size_t len)
{
	char expect[3100], prefix[300], num[24];
	unsigned long long seq;
	size_t n = (size_t)snprintf(prefix, sizeof(prefix), "%s#", key);
	size_t m = len - n < sizeof(num) - 1 ? len - n : sizeof(num) - 1;

	if (len < n || memcmp(val, prefix, n) != 0)
		return false;
	/* The value is not NUL-terminated: parse a bounded copy. */
	memcpy(num, (const char *)val + n, m);
	num[m] = '\0';
	seq = strtoull(num, NULL, 10);
	return honest_value(expect, key, seq) == len && memcmp(expect, val, len) == 0;
}

static void honest_writer(int fd, int ready_fd)
{
	struct dict_writer *w;
	char key[32], val[3100];
	uint64_t seq;

	if (dict_writer_attach(fd, &w))
		_exit(1);
	for (seq = 1;; seq++) {
		/* Every key written once: the reader may start. */
		if (seq == 100 && write(ready_fd, "", 1) != 1)
			_exit(2);
		size_t len;
		int k = (int)(seq % 40);

		snprintf(key, sizeof(key), "key%d", k);
		len = honest_value(val, key, seq);
		if (seq % 7 == 0)
			dict_begin(w);
		if (seq % 11 == 0)
			dict_del(w, key, strlen(key));
		else
			dict_set(w, key, strlen(key), val, len);
		if (seq % 7 == 3)
			seq % 2 ? dict_commit(w) : dict_rollback(w);
	}
}

TEST(concurrent_honest_writer)
{
	struct dict_read_stats st;
	struct fg_snapshot *s;
	int fd, status, it, ready[2];
	uint64_t seen = 0;
	pid_t pid;
	char c;

	seed_rng();
	fd = dict_memfd_create("honest", 1 << 20);
	if (!ASSERT_GE(fd, 0, "memfd") || !ASSERT_OK(pipe2(ready, O_CLOEXEC), "pipe"))
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		honest_writer(fd, ready[1]);
	close(ready[1]);
	if (!ASSERT_GE(pid, 0, "fork"))
		goto out;
	ASSERT_EQ(read(ready[0], &c, 1), 1, "the writer is under way");
	for (it = 0; it < 1500; it++) {
		const char *key;
		const void *val;
		size_t i, len;

		set_ctx("read while written", it);
		s = dict_read_fd(fd, 0, &st);
		if (!ASSERT_NOT_NULL(s, ctx) || !sane(s, &st)) {
			fg_snapshot_close(s);
			break;
		}
		for (i = 0; i < fg_snapshot_count(s); i++) {
			fg_snapshot_entry(s, i, &key, &val, &len);
			if (!ASSERT_TRUE(honest_ok(key, val, len), ctx))
				break;
		}
		seen += fg_snapshot_count(s);
		fg_snapshot_close(s);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	ASSERT_TRUE(WIFSIGNALED(status), "the writer ran until killed");
	ASSERT_GE(seen, 1, "the reader saw values");
out:
	close(ready[0]);
	close(fd);
}
