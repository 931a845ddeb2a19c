// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The .fgsnap file: encode/decode round trips, and decoding of damaged or
 * hostile files, which must fail with errno set (EINVAL, ENOTSUP for an
 * unknown version) and never crash, hang or allocate without bound. Also
 * how snapshot_write_at creates the file: mode 0600, atomically, never
 * through a symlink.
 */
#include <endian.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "dict/crc32c.h"
#include "faultguard.h"
#include "framework/test.h"
#include "snapshot/snapshot.h"

#define HDR_LEN 32

/* --- building snapshots and files ---------------------------------------------- */

static void fill(uint8_t *p, size_t n, uint64_t seed)
{
	uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;

	while (n--) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*p++ = (uint8_t)x;
	}
}

/* A few entries of each kind: empty, binary with NULs, inline-sized, longer. */
static struct fg_snapshot *sample(void)
{
	struct fg_snapshot *s = snapshot_new();
	uint8_t bin[256], big[5000];
	int i, err = 0;

	if (!s)
		return NULL;
	for (i = 0; i < 256; i++)
		bin[i] = (uint8_t)i;
	fill(big, sizeof(big), 1);
	snapshot_set_meta(s, "sample-app", 4242, 1000, 1764094512123ll);
	err |= snapshot_add(s, "empty", 5, "", 0);
	err |= snapshot_add(s, "bin", 3, bin, sizeof(bin));
	err |= snapshot_add(s, "text", 4, "hello, world", 12);
	err |= snapshot_add(s, "\xc3\xa9t\xc3\xa9", 5, "summer", 6);
	err |= snapshot_add(s, "big", 3, big, sizeof(big));
	snapshot_finish(s);
	if (err) {
		fg_snapshot_close(s);
		return NULL;
	}
	return s;
}

/* Meta and entries (in order) equal. */
static bool snap_equal(const struct fg_snapshot *a, const struct fg_snapshot *b)
{
	size_t i;

	if (!ASSERT_NOT_NULL(a, "a") || !ASSERT_NOT_NULL(b, "b") ||
	    !ASSERT_STREQ(a->app, b->app, "app") || !ASSERT_EQ(a->pid, b->pid, "pid") ||
	    !ASSERT_EQ(a->uid, b->uid, "uid") || !ASSERT_EQ(a->time_ms, b->time_ms, "time") ||
	    !ASSERT_EQ(a->count, b->count, "count") || !ASSERT_EQ(a->bytes, b->bytes, "bytes"))
		return false;
	for (i = 0; i < a->count; i++) {
		const struct snap_entry *x = &a->entries[i], *y = &b->entries[i];

		if (!ASSERT_STREQ(x->key, y->key, "key") || !ASSERT_EQ(x->len, y->len, x->key) ||
		    !ASSERT_MEMEQ(x->val, y->val, x->len, x->key))
			return false;
	}
	return true;
}

/* Encodes @s, decodes the bytes (from an exact-size buffer), compares. */
static void round_trip(const struct fg_snapshot *s)
{
	struct fg_snapshot *back;
	void *buf = NULL;
	size_t len = 0;

	if (!ASSERT_OK(snapshot_encode(s, &buf, &len), "encode"))
		return;
	back = snapshot_decode(buf, len);
	if (ASSERT_NOT_NULL(back, "decode"))
		snap_equal(s, back);
	fg_snapshot_close(back);
	free(buf);
}

struct wbuf {
	uint8_t *p;
	size_t len, cap;
};

static void put(struct wbuf *b, const void *src, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

static void put32(struct wbuf *b, uint32_t v)
{
	v = htole32(v);
	put(b, &v, 4);
}

static void put64(struct wbuf *b, uint64_t v)
{
	v = htole64(v);
	put(b, &v, 8);
}

/* The payload head: app, pid, uid, time, count. */
static void put_head(struct wbuf *b, const char *app, uint64_t count)
{
	put32(b, (uint32_t)strlen(app));
	put(b, app, strlen(app));
	put32(b, 1);
	put32(b, 2);
	put64(b, 3);
	put64(b, count);
}

static void put_entry(struct wbuf *b, const char *key, uint32_t klen, const void *val,
		      uint64_t vlen)
{
	put32(b, klen);
	put64(b, vlen);
	put(b, key, klen);
	put(b, val, vlen);
}

static void seal_header(uint8_t *h)
{
	uint32_t crc = htole32(crc32c(0, h, 28));

	memcpy(h + 28, &crc, 4);
}

static void set32(uint8_t *p, uint32_t v)
{
	v = htole32(v);
	memcpy(p, &v, 4);
}

static void set64(uint8_t *p, uint64_t v)
{
	v = htole64(v);
	memcpy(p, &v, 8);
}

/* A file around @payload: a real header and zlib stream, payload_len @claim. */
static uint8_t *wrap(const void *payload, size_t plen, uint64_t claim, size_t *out_len)
{
	uLongf zlen = compressBound(plen);
	uint8_t *f = malloc(HDR_LEN + zlen);

	if (!f || compress2(f + HDR_LEN, &zlen, payload, plen, 1) != Z_OK) {
		free(f);
		return NULL;
	}
	memcpy(f,
	       "\x89"
	       "FGSNAP\n",
	       8);
	set32(f + 8, 1);
	set32(f + 12, 1);
	set64(f + 16, claim);
	set32(f + 24, crc32c(0, payload, plen));
	seal_header(f);
	*out_len = HDR_LEN + zlen;
	return f;
}

/* Decodes @len bytes copied to an exact-size buffer: a read past them is an ASan error. */
static struct fg_snapshot *decode_exact(const void *buf, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1);
	struct fg_snapshot *s;
	int err;

	if (!copy)
		return NULL;
	memcpy(copy, buf, len);
	s = snapshot_decode(copy, len);
	err = errno;
	free(copy);
	errno = err;
	return s;
}

static bool expect_reject(const void *buf, size_t len, int want_errno, const char *what)
{
	struct fg_snapshot *s;

	errno = 0;
	s = decode_exact(buf, len);
	if (!ASSERT_TRUE(s == NULL, what)) {
		fg_snapshot_close(s);
		return false;
	}
	return ASSERT_EQ(errno, want_errno, what);
}

/* A crafted payload, wrapped honestly: only the payload is wrong. */
static void expect_payload_reject(struct wbuf *b, const char *what)
{
	size_t len;
	uint8_t *f = wrap(b->p, b->len, b->len, &len);

	if (ASSERT_NOT_NULL(f, "wrap"))
		expect_reject(f, len, EINVAL, what);
	free(f);
	free(b->p);
	memset(b, 0, sizeof(*b));
}

/* --- round trips ------------------------------------------------------------------ */

TEST(round_trip_empty)
{
	struct fg_snapshot *s = snapshot_new();

	if (!ASSERT_NOT_NULL(s, "new"))
		return;
	round_trip(s);
	snapshot_set_meta(s, "x", -1, 0xffffffffu, -5);
	round_trip(s);
	fg_snapshot_close(s);
}

TEST(round_trip_sample)
{
	struct fg_snapshot *s = sample();

	if (ASSERT_NOT_NULL(s, "sample"))
		round_trip(s);
	fg_snapshot_close(s);
}

TEST(round_trip_limits)
{
	struct fg_snapshot *s = snapshot_new();
	char key[256], app[65];
	int i;

	if (!ASSERT_NOT_NULL(s, "new"))
		return;
	memset(app, 'a', 64);
	app[64] = '\0';
	snapshot_set_meta(s, app, 2147483647, 0, INT64_MAX);
	/* 255-byte keys that differ only in their last byte, with any non-NUL bytes. */
	for (i = 1; i < 256; i += 17) {
		memset(key, 0xff, 254);
		key[254] = (char)i;
		if (!ASSERT_OK(snapshot_add(s, key, 255, key, 255), "255-byte key"))
			break;
	}
	snapshot_finish(s);
	ASSERT_EQ(strlen(s->app), 64, "64-char app");
	round_trip(s);
	fg_snapshot_close(s);
}

TEST(round_trip_1mib_values)
{
	struct fg_snapshot *s = snapshot_new();
	size_t n = 1 << 20;
	uint8_t *v = malloc(n);

	if (!ASSERT_NOT_NULL(s, "new") || !ASSERT_NOT_NULL(v, "malloc"))
		goto out;
	fill(v, n, 9);
	ASSERT_OK(snapshot_add(s, "random", 6, v, n), "incompressible 1 MiB");
	memset(v, 'z', n);
	ASSERT_OK(snapshot_add(s, "zzz", 3, v, n), "compressible 1 MiB");
	snapshot_finish(s);
	round_trip(s);
out:
	fg_snapshot_close(s);
	free(v);
}

TEST(round_trip_many_entries)
{
	struct fg_snapshot *s = snapshot_new();
	uint8_t val[40];
	char key[32];
	int i;

	if (!ASSERT_NOT_NULL(s, "new"))
		return;
	for (i = 0; i < 10000; i++) {
		snprintf(key, sizeof(key), "k%d", i);
		fill(val, sizeof(val), (uint64_t)i);
		if (!ASSERT_OK(snapshot_add(s, key, strlen(key), val, (size_t)i % 40), key))
			break;
	}
	snapshot_finish(s);
	round_trip(s);
	fg_snapshot_close(s);
}

/* A decoder that reads the header from wherever the buffer starts. */
TEST(decode_unaligned_buffer)
{
	struct fg_snapshot *s = sample(), *back;
	uint8_t *odd = NULL;
	void *buf = NULL;
	size_t len;

	if (!ASSERT_NOT_NULL(s, "sample") || !ASSERT_OK(snapshot_encode(s, &buf, &len), "encode"))
		goto out;
	odd = malloc(len + 1);
	if (!ASSERT_NOT_NULL(odd, "malloc"))
		goto out;
	memcpy(odd + 1, buf, len);
	back = snapshot_decode(odd + 1, len);
	if (ASSERT_NOT_NULL(back, "decode at an odd address"))
		snap_equal(s, back);
	fg_snapshot_close(back);
out:
	free(odd);
	free(buf);
	fg_snapshot_close(s);
}

TEST(file_round_trip)
{
	struct fg_snapshot *s = sample(), *back;
	char path[PATH_MAX];
	struct stat st;
	int dirfd;

	if (!ASSERT_NOT_NULL(s, "sample"))
		return;
	dirfd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!ASSERT_GE(dirfd, 0, "open dir"))
		goto out;
	ASSERT_OK(snapshot_write_at(dirfd, "a.fgsnap", s, (uid_t)-1, (gid_t)-1), "write");
	back = snapshot_read_at(dirfd, "a.fgsnap");
	if (ASSERT_NOT_NULL(back, "read_at"))
		snap_equal(s, back);
	fg_snapshot_close(back);
	snprintf(path, sizeof(path), "%s/a.fgsnap", test_tmpdir());
	back = fg_snapshot_open(path);
	if (ASSERT_NOT_NULL(back, "fg_snapshot_open"))
		snap_equal(s, back);
	fg_snapshot_close(back);
	if (ASSERT_OK(stat(path, &st), "stat")) {
		ASSERT_EQ(st.st_mode & 07777, 0600, "mode 0600");
		ASSERT_EQ(st.st_uid, getuid(), "owner unchanged with -1");
	}
	close(dirfd);
out:
	fg_snapshot_close(s);
}

/* --- damaged files ----------------------------------------------------------------- */

/* The encoded sample, malloc'd. */
static uint8_t *sample_file(size_t *len)
{
	struct fg_snapshot *s = sample();
	void *buf = NULL;

	if (!s || snapshot_encode(s, &buf, len))
		buf = NULL;
	fg_snapshot_close(s);
	return buf;
}

TEST(every_truncation)
{
	size_t len, n;
	uint8_t *f = sample_file(&len);

	if (!ASSERT_NOT_NULL(f, "sample file"))
		return;
	for (n = 0; n < len; n++) {
		char what[64];

		snprintf(what, sizeof(what), "truncated to %zu of %zu bytes", n, len);
		if (!expect_reject(f, n, EINVAL, what))
			break;
	}
	free(f);
}

/* Every single bit flip: rejected, or (an unused padding bit) the same snapshot. */
TEST(every_bit_flip)
{
	struct fg_snapshot *orig = sample(), *s;
	size_t len, bit, accepted = 0;
	uint8_t *f = sample_file(&len);

	if (!ASSERT_NOT_NULL(f, "sample file") || !ASSERT_NOT_NULL(orig, "sample"))
		goto out;
	for (bit = 0; bit < len * 8; bit++) {
		f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		errno = 0;
		s = decode_exact(f, len);
		f[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		if (s) {
			accepted++;
			if (!snap_equal(orig, s)) {
				fprintf(stderr, "  bit %zu flipped gave another snapshot\n", bit);
				fg_snapshot_close(s);
				break;
			}
			fg_snapshot_close(s);
		} else if (!ASSERT_TRUE(errno == EINVAL || errno == ENOTSUP, "errno")) {
			break;
		}
	}
	/* Padding bits exist only in the last bytes of the deflate stream. */
	ASSERT_TRUE(accepted < 16, "almost every flip is caught");
out:
	fg_snapshot_close(orig);
	free(f);
}

TEST(header_fields)
{
	size_t len;
	uint8_t *f = sample_file(&len), *g;

	if (!ASSERT_NOT_NULL(f, "sample file"))
		return;
	g = malloc(len);
	if (!ASSERT_NOT_NULL(g, "malloc"))
		goto out;
#define RESET() memcpy(g, f, len)
	RESET();
	g[0] = 'X';
	expect_reject(g, len, EINVAL, "wrong magic");
	RESET();
	memcpy(g,
	       "\x89"
	       "FGDICT\n",
	       8);
	seal_header(g);
	expect_reject(g, len, EINVAL, "wrong magic, header crc right");
	RESET();
	g[28] ^= 1;
	expect_reject(g, len, EINVAL, "header crc");
	RESET();
	set32(g + 8, 2);
	expect_reject(g, len, EINVAL, "version 2 without its crc");
	seal_header(g);
	expect_reject(g, len, ENOTSUP, "version 2");
	RESET();
	set32(g + 8, 0);
	seal_header(g);
	expect_reject(g, len, ENOTSUP, "version 0");
	RESET();
	set32(g + 12, 0);
	seal_header(g);
	expect_reject(g, len, ENOTSUP, "flags 0 (uncompressed)");
	RESET();
	set32(g + 12, 3);
	seal_header(g);
	expect_reject(g, len, ENOTSUP, "unknown flag");
	RESET();
	g[24] ^= 0x80;
	seal_header(g);
	expect_reject(g, len, EINVAL, "payload crc");
	RESET();
	g[len - 1] ^= 0x40;
	expect_reject(g, len, EINVAL, "zlib checksum");
#undef RESET
out:
	free(g);
	free(f);
}

TEST(payload_len_lies)
{
	static const int64_t deltas[] = {1, -1, 1000, -100};
	uint64_t real, claims[8];
	size_t len, i, n = 0;
	uint8_t *f = sample_file(&len), *g;

	if (!ASSERT_NOT_NULL(f, "sample file"))
		return;
	g = malloc(len);
	if (!ASSERT_NOT_NULL(g, "malloc"))
		goto out;
	memcpy(&real, f + 16, 8);
	real = le64toh(real);
	for (i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++)
		claims[n++] = real + (uint64_t)deltas[i];
	claims[n++] = 0;
	claims[n++] = 1ull << 63;
	claims[n++] = UINT64_MAX;
	claims[n++] = (16ull << 30) + 1;
	for (i = 0; i < n; i++) {
		memcpy(g, f, len);
		set64(g + 16, claims[i]);
		seal_header(g);
		expect_reject(g, len, EINVAL, "payload_len lies");
	}
out:
	free(g);
	free(f);
}

/* A zlib stream of @n zero bytes, compressed as hard as zlib can, in a file. */
static uint8_t *zero_bomb(uint64_t n, uint64_t claim, size_t *out_len)
{
	static uint8_t zeros[1 << 16];
	z_stream z = {0};
	struct wbuf b = {0};
	uint8_t out[1 << 16];
	uint32_t crc = 0;
	int flush, ret;

	put(&b,
	    "\x89"
	    "FGSNAP\n",
	    8);
	put32(&b, 1);
	put32(&b, 1);
	put64(&b, claim);
	put32(&b, 0);
	put32(&b, 0);
	if (deflateInit(&z, 9) != Z_OK)
		return NULL;
	do {
		uint64_t chunk = n < sizeof(zeros) ? n : sizeof(zeros);

		crc = crc32c(crc, zeros, chunk);
		n -= chunk;
		z.next_in = zeros;
		z.avail_in = (uInt)chunk;
		flush = n ? Z_NO_FLUSH : Z_FINISH;
		do {
			z.next_out = out;
			z.avail_out = sizeof(out);
			ret = deflate(&z, flush);
			put(&b, out, sizeof(out) - z.avail_out);
		} while (z.avail_out == 0);
	} while (flush != Z_FINISH);
	deflateEnd(&z);
	if (ret != Z_STREAM_END) {
		free(b.p);
		return NULL;
	}
	set32(b.p + 24, crc);
	seal_header(b.p);
	*out_len = b.len;
	return b.p;
}

TEST(zlib_bombs)
{
	uint64_t big = 64ull << 20;
	size_t len;
	uint8_t *f;

	/* 64 MiB of zeros claiming 16 bytes: inflating stops at 16. */
	f = zero_bomb(big, 16, &len);
	if (ASSERT_NOT_NULL(f, "bomb")) {
		ASSERT_TRUE(len < big / 500, "a bomb indeed");
		expect_reject(f, len, EINVAL, "small claim");
		/* Claiming what deflate cannot reach from this many bytes. */
		set64(f + 16, (uint64_t)(len - HDR_LEN) * 2000);
		seal_header(f);
		expect_reject(f, len, EINVAL, "claim beyond the deflate ratio");
		/* The truth: it inflates, the crc holds, and the payload is no snapshot. */
		set64(f + 16, big);
		seal_header(f);
		expect_reject(f, len, EINVAL, "64 MiB of zeros");
	}
	free(f);
	/* A payload of one zero byte claiming 16 GiB: refused before any allocation. */
	f = zero_bomb(1, 16ull << 30, &len);
	if (ASSERT_NOT_NULL(f, "tiny"))
		expect_reject(f, len, EINVAL, "16 GiB claim");
	free(f);
}

TEST(crafted_payloads)
{
	struct wbuf b = {0};
	char app65[66], key256[257];

	memset(app65, 'a', 65);
	app65[65] = '\0';
	memset(key256, 'k', 256);
	key256[256] = '\0';

	/* The builder itself makes files the decoder accepts. */
	put_head(&b, "app", 1);
	put_entry(&b, "key", 3, "value", 5);
	{
		size_t len;
		uint8_t *f = wrap(b.p, b.len, b.len, &len);
		struct fg_snapshot *s = f ? decode_exact(f, len) : NULL;

		if (ASSERT_NOT_NULL(s, "positive control")) {
			ASSERT_EQ(s->count, 1, "one entry");
			ASSERT_STREQ(s->app, "app", "app");
		}
		fg_snapshot_close(s);
		free(f);
		free(b.p);
		memset(&b, 0, sizeof(b));
	}
	put_head(&b, app65, 0);
	expect_payload_reject(&b, "app of 65 bytes");
	put32(&b, 0xffffffff);
	expect_payload_reject(&b, "app length 0xffffffff, truncated");
	put_head(&b, "app", 1);
	put_entry(&b, "", 0, "v", 1);
	expect_payload_reject(&b, "empty key");
	put_head(&b, "app", 1);
	put_entry(&b, key256, 256, "v", 1);
	expect_payload_reject(&b, "256-byte key");
	put_head(&b, "app", 1);
	put_entry(&b, "a\0b", 3, "v", 1);
	expect_payload_reject(&b, "NUL in a key");
	put_head(&b, "app", 2);
	put_entry(&b, "key", 3, "v", 1);
	expect_payload_reject(&b, "count one too many");
	put_head(&b, "app", 1ull << 62);
	put_entry(&b, "key", 3, "v", 1);
	expect_payload_reject(&b, "count 2^62");
	put_head(&b, "app", 1);
	put32(&b, 3);
	put64(&b, 1000);
	put(&b, "keyvalue", 8);
	expect_payload_reject(&b, "value length past the end");
	put_head(&b, "app", 1);
	put32(&b, 3);
	put64(&b, UINT64_MAX);
	put(&b, "keyvalue", 8);
	expect_payload_reject(&b, "value length UINT64_MAX");
	put_head(&b, "app", 1);
	put32(&b, 0xfffffff0);
	put64(&b, 1);
	put(&b, "keyvalue", 8);
	expect_payload_reject(&b, "key length 0xfffffff0");
	put_head(&b, "app", 1);
	put_entry(&b, "key", 3, "v", 1);
	put(&b, "x", 1);
	expect_payload_reject(&b, "a trailing byte");
	put_head(&b, "app", 1);
	put32(&b, 3);
	put(&b, "\0\0", 2);
	expect_payload_reject(&b, "cut inside an entry header");
	put(&b, "\0", 1);
	expect_payload_reject(&b, "one byte of payload");
	{
		size_t len;
		uint8_t *f = wrap("", 0, 0, &len);

		if (ASSERT_NOT_NULL(f, "wrap"))
			expect_reject(f, len, EINVAL, "empty payload");
		free(f);
	}
}

/* Random bytes after a valid header, and random payloads wrapped honestly. */
TEST(random_garbage)
{
	uint8_t junk[4096], hdr[HDR_LEN];
	size_t len, flen;
	uint8_t *f = sample_file(&len), *g;
	int i;

	if (!ASSERT_NOT_NULL(f, "sample file"))
		return;
	memcpy(hdr, f, HDR_LEN);
	free(f);
	g = malloc(HDR_LEN + sizeof(junk));
	if (!ASSERT_NOT_NULL(g, "malloc"))
		return;
	for (i = 0; i < 2000; i++) {
		size_t n = (size_t)(i * 7919) % sizeof(junk);

		fill(junk, n, (uint64_t)i);
		memcpy(g, hdr, HDR_LEN);
		memcpy(g + HDR_LEN, junk, n);
		if (!expect_reject(g, HDR_LEN + n, EINVAL, "random stream"))
			break;
		f = wrap(junk, n, n, &flen);
		if (!ASSERT_NOT_NULL(f, "wrap"))
			break;
		if (!expect_reject(f, flen, EINVAL, "random payload")) {
			free(f);
			break;
		}
		free(f);
	}
	free(g);
}

/* --- files on disk ----------------------------------------------------------------- */

static bool expect_open_fails(const char *path, int want, const char *what)
{
	struct fg_snapshot *s;

	errno = 0;
	s = fg_snapshot_open(path);
	if (!ASSERT_TRUE(s == NULL, what)) {
		fg_snapshot_close(s);
		return false;
	}
	return ASSERT_EQ(errno, want, what);
}

static void write_file(const char *path, const void *p, size_t n)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (ASSERT_GE(fd, 0, path)) {
		ASSERT_EQ(write(fd, p, n), (ssize_t)n, path);
		close(fd);
	}
}

TEST(open_bad_files)
{
	char path[PATH_MAX];
	size_t len;
	uint8_t *f = sample_file(&len);

	if (!ASSERT_NOT_NULL(f, "sample"))
		return;
	snprintf(path, sizeof(path), "%s/empty", test_tmpdir());
	write_file(path, "", 0);
	expect_open_fails(path, EINVAL, "empty file");
	snprintf(path, sizeof(path), "%s/half", test_tmpdir());
	write_file(path, f, len / 2);
	expect_open_fails(path, EINVAL, "half a file");
	snprintf(path, sizeof(path), "%s/v2", test_tmpdir());
	set32(f + 8, 2);
	seal_header(f);
	write_file(path, f, len);
	expect_open_fails(path, ENOTSUP, "version 2 file");
	expect_open_fails(test_tmpdir(), EINVAL, "a directory");
	expect_open_fails("/dev/null", EINVAL, "a character device");
	snprintf(path, sizeof(path), "%s/missing", test_tmpdir());
	expect_open_fails(path, ENOENT, "missing");
	free(f);
}

/* A FIFO nobody writes to: open() alone would block forever. */
TEST(open_fifo_does_not_hang)
{
	char path[PATH_MAX];
	int status;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/fifo", test_tmpdir());
	if (!ASSERT_OK(mkfifo(path, 0600), "mkfifo"))
		return;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct fg_snapshot *s;

		alarm(10); /* a hang ends as SIGALRM, not as a stuck test run */
		s = fg_snapshot_open(path);
		_exit(s ? 1 : errno == EINVAL ? 0 : 2);
	}
	if (!ASSERT_GE(pid, 0, "fork"))
		return;
	waitpid(pid, &status, 0);
	ASSERT_FALSE(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM, "hung on the FIFO");
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0, "NULL with EINVAL");
}

/* --- snapshot_write_at ------------------------------------------------------------------- */


TEST(write_at_mode_0600)
{
	static const mode_t masks[] = {0, 022, 077};
	struct fg_snapshot *s = sample();
	char path[PATH_MAX];
	struct stat st;
	size_t i;
	int dirfd;

	dirfd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!ASSERT_NOT_NULL(s, "sample") || !ASSERT_GE(dirfd, 0, "dir"))
		goto out;
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		mode_t old = umask(masks[i]);

		snprintf(path, sizeof(path), "%s/m%zu.fgsnap", test_tmpdir(), i);
		ASSERT_OK(snapshot_write_at(dirfd, path + strlen(test_tmpdir()) + 1, s, (uid_t)-1,
					    (gid_t)-1),
			  "write");
		umask(old);
		if (ASSERT_OK(stat(path, &st), "stat")) {
			ASSERT_TRUE(S_ISREG(st.st_mode), "a regular file");
			ASSERT_EQ(st.st_mode & 07777, 0600, "mode 0600 whatever the umask");
		}
	}
	/* Nothing else left behind: no temporary files. */
	ASSERT_EQ(test_dir_entries(test_tmpdir()), 3, "only the three snapshots");
out:
	if (dirfd >= 0)
		close(dirfd);
	fg_snapshot_close(s);
}

TEST(write_at_owner)
{
	struct fg_snapshot *s = sample();
	char path[PATH_MAX];
	struct stat st;
	int dirfd;

	if (getuid() != 0) {
		test_skip("giving a file away needs root");
		fg_snapshot_close(s);
		return;
	}
	dirfd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!ASSERT_NOT_NULL(s, "sample") || !ASSERT_GE(dirfd, 0, "dir"))
		goto out;
	ASSERT_OK(snapshot_write_at(dirfd, "owned.fgsnap", s, 12345, 23456), "write");
	snprintf(path, sizeof(path), "%s/owned.fgsnap", test_tmpdir());
	if (ASSERT_OK(stat(path, &st), "stat")) {
		ASSERT_EQ(st.st_uid, 12345, "uid");
		ASSERT_EQ(st.st_gid, 23456, "gid");
		ASSERT_EQ(st.st_mode & 07777, 0600, "mode");
	}
out:
	if (dirfd >= 0)
		close(dirfd);
	fg_snapshot_close(s);
}

/* What snapshot_write_at names its temporary file; see snapfile.c. */
static void tmp_name(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/.%s.%d.tmp", test_tmpdir(), name, (int)getpid());
}

static bool victim_intact(const char *victim, const char *what)
{
	char buf[64] = {0};
	struct stat st;
	int fd = open(victim, O_RDONLY | O_CLOEXEC);

	if (!ASSERT_GE(fd, 0, what))
		return false;
	ASSERT_EQ(read(fd, buf, sizeof(buf) - 1), 8, what);
	close(fd);
	return ASSERT_STREQ(buf, "precious", what) && ASSERT_OK(stat(victim, &st), what) &&
	       ASSERT_EQ(st.st_mode & 07777, 0644, what);
}

TEST(write_at_never_follows_symlinks)
{
	char victim[PATH_MAX], tmp[PATH_MAX], target[PATH_MAX], missing[PATH_MAX];
	struct fg_snapshot *s = sample(), *back;
	struct stat st;
	int dirfd, err;

	dirfd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!ASSERT_NOT_NULL(s, "sample") || !ASSERT_GE(dirfd, 0, "dir"))
		goto out;
	snprintf(victim, sizeof(victim), "%s/victim", test_tmpdir());
	write_file(victim, "precious", 8);
	chmod(victim, 0644);

	/* A symlink at the temporary name: the write may fail, the victim stays. */
	tmp_name(tmp, sizeof(tmp), "a.fgsnap");
	if (!ASSERT_OK(symlink(victim, tmp), "plant symlink"))
		goto out;
	err = snapshot_write_at(dirfd, "a.fgsnap", s, (uid_t)-1, (gid_t)-1);
	victim_intact(victim, "symlink at the temporary name");
	ASSERT_OK(lstat(tmp, &st), "the planted link");
	ASSERT_TRUE(S_ISLNK(st.st_mode), "still a symlink");
	snprintf(target, sizeof(target), "%s/a.fgsnap", test_tmpdir());
	if (err == 0) {
		back = fg_snapshot_open(target);
		if (ASSERT_NOT_NULL(back, "written elsewhere"))
			snap_equal(s, back);
		fg_snapshot_close(back);
	}

	/* A dangling symlink at the temporary name: nothing is created through it. */
	unlink(tmp);
	snprintf(missing, sizeof(missing), "%s/created-through-link", test_tmpdir());
	ASSERT_OK(symlink(missing, tmp), "plant dangling symlink");
	snapshot_write_at(dirfd, "a.fgsnap", s, (uid_t)-1, (gid_t)-1);
	ASSERT_TRUE(access(missing, F_OK) != 0, "no file created through the link");
	unlink(tmp);

	/* A symlink at the final name is replaced, not written through. */
	snprintf(target, sizeof(target), "%s/b.fgsnap", test_tmpdir());
	ASSERT_OK(symlink(victim, target), "plant symlink at the name");
	ASSERT_OK(snapshot_write_at(dirfd, "b.fgsnap", s, (uid_t)-1, (gid_t)-1), "write b");
	victim_intact(victim, "symlink at the final name");
	if (ASSERT_OK(lstat(target, &st), "b"))
		ASSERT_TRUE(S_ISREG(st.st_mode), "b is a regular file now");
	back = fg_snapshot_open(target);
	if (ASSERT_NOT_NULL(back, "b reads back"))
		snap_equal(s, back);
	fg_snapshot_close(back);
out:
	if (dirfd >= 0)
		close(dirfd);
	fg_snapshot_close(s);
}

TEST(write_at_errors)
{
	struct fg_snapshot *s = sample();
	char name[600];
	int dirfd;

	dirfd = open(test_tmpdir(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (!ASSERT_NOT_NULL(s, "sample") || !ASSERT_GE(dirfd, 0, "dir"))
		goto out;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ASSERT_EQ(snapshot_write_at(dirfd, name, s, (uid_t)-1, (gid_t)-1), -ENAMETOOLONG,
		  "name too long");
	ASSERT_EQ(snapshot_write_at(dirfd, "missing/x", s, (uid_t)-1, (gid_t)-1), -ENOENT,
		  "missing directory");
	ASSERT_EQ(snapshot_write_at(-1, "x", s, (uid_t)-1, (gid_t)-1), -EBADF, "bad dirfd");
	ASSERT_EQ(test_dir_entries(test_tmpdir()), 0, "no leftovers");
out:
	if (dirfd >= 0)
		close(dirfd);
	fg_snapshot_close(s);
}
