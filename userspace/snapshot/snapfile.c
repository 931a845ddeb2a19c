// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The .fgsnap file: a 32-byte header, then a zlib stream of the payload.
 * docs/SNAPSHOT_FORMAT.md is the reference; all integers little-endian.
 *
 *   header:  magic "\x89FGSNAP\n", u32 version, u32 flags, u64 payload_len,
 *            u32 payload_crc32c, u32 header_crc32c (over the 28 bytes before)
 *   payload: u32 app_len, app, s32 pid, u32 uid, s64 time_ms, u64 count,
 *            count x { u32 key_len, u64 val_len, key, value }
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "common/atomic_file.h"
#include "common/export.h"
#include "dict/crc32c.h"
#include "dict/dict.h"
#include "faultguard.h"
#include "snapshot/snapshot.h"

#define SNAP_MAGIC "\x89" "FGSNAP\n"
#define SNAP_VERSION 1u
#define SNAP_FLAG_ZLIB 0x1u
#define SNAP_HDR_LEN 32u
#define SNAP_MAX_PAYLOAD (16ull << 30)
#define SNAP_MAX_FILE (16ull << 30)
#define ZLIB_MAX_RATIO 1032u /* deflate cannot expand data by more */

struct wbuf {
	uint8_t *p;
	size_t len, cap;
	int err;
};

static void put(struct wbuf *b, const void *src, size_t n)
{
	if (b->err)
		return;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		uint8_t *np;

		while (cap < b->len + n)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np) {
			b->err = -ENOMEM;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->len, src, n);
	b->len += n;
}

#define ZCHUNK (1u << 20)
#define ZSAMPLE (16u << 10)

/* Whether level 1 shrinks a sample of @p by a tenth; @probe is a spare level-1 stream. */
static int sample_compresses(z_stream *probe, const uint8_t *p, size_t n)
{
	uint8_t out[ZSAMPLE + 1024];
	size_t take = n < ZSAMPLE ? n : ZSAMPLE;

	if (deflateReset(probe) != Z_OK)
		return 1;
	probe->next_in = (Bytef *)(uintptr_t)p;
	probe->avail_in = (uInt)take;
	probe->next_out = out;
	probe->avail_out = sizeof(out);
	if (deflate(probe, Z_FINISH) != Z_STREAM_END)
		return 1;
	return probe->total_out < take / 10 * 9;
}

/*
 * A .fgsnap made as its entries come: the payload goes through one zlib
 * stream at level 1 (snapshots sit on the path from death to rescue) in
 * 1 MiB steps, and out to a file or a buffer as it is made, so what it
 * holds is bounded whatever the size. Random, encrypted or already
 * compressed bytes do not shrink, yet level 1 crawls through them at
 * 40 MB/s here (1.9 s for 64 MiB): a step whose first 16 KiB level 1
 * cannot shrink by a tenth goes into stored blocks at memcpy speed. Each
 * step is judged on its own bytes. The result is a standard zlib stream:
 * readers see no difference. The header, which holds the payload's
 * length and checksum, is written last, at the start.
 */
struct snapshot_stream {
	int fd;          /* the file, or -1 */
	struct wbuf mem; /* or the buffer */
	z_stream z, probe;
	int level, probe_ok, probe_init; /* probe: sample deflates that pick a level */
	uint8_t *step;   /* the payload's next ZCHUNK bytes */
	size_t step_len;
	uint8_t *out;
	size_t out_cap;
	uint64_t payload_len, file_len;
	uint32_t crc;
	uint64_t count, left; /* entries announced, entries not yet begun */
	uint64_t value_left;  /* bytes of the current entry's value still to come */
	int err;
};

static void out_write(struct snapshot_stream *w, const uint8_t *p, size_t n)
{
	if (w->err || !n)
		return;
	w->file_len += n;
	if (w->fd < 0) {
		put(&w->mem, p, n);
		w->err = w->mem.err;
		return;
	}
	while (n) {
		ssize_t k = write(w->fd, p, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			w->err = k < 0 ? -errno : -EIO;
			return;
		}
		p += k;
		n -= (size_t)k;
	}
}

/* Deflates @n bytes at @p (one step, or what is left at the end). */
static void deflate_step(struct snapshot_stream *w, const uint8_t *p, size_t n, int finish)
{
	int want = w->probe_ok && n ? sample_compresses(&w->probe, p, n) : w->level, zerr;

	if (w->err)
		return;
	if (want != w->level) {
		/* Changing the level flushes what the old one holds: keep those bytes. */
		w->z.next_out = w->out;
		w->z.avail_out = (uInt)w->out_cap;
		if (deflateParams(&w->z, want, Z_DEFAULT_STRATEGY) != Z_OK) {
			w->err = -ENOMEM;
			return;
		}
		out_write(w, w->out, w->out_cap - w->z.avail_out);
		w->level = want;
	}
	w->z.next_in = (Bytef *)(uintptr_t)p;
	w->z.avail_in = (uInt)n;
	do {
		w->z.next_out = w->out;
		w->z.avail_out = (uInt)w->out_cap;
		zerr = deflate(&w->z, finish ? Z_FINISH : Z_NO_FLUSH);
		if (zerr != Z_OK && zerr != Z_STREAM_END && zerr != Z_BUF_ERROR) {
			w->err = -ENOMEM;
			return;
		}
		out_write(w, w->out, w->out_cap - w->z.avail_out);
	} while (!w->err && (w->z.avail_in || (finish && zerr != Z_STREAM_END)));
}

static void payload(struct snapshot_stream *w, const void *src, size_t n)
{
	const uint8_t *p = src;

	w->payload_len += n;
	w->crc = crc32c(w->crc, p, n);
	while (n && !w->err) {
		size_t take = ZCHUNK - w->step_len < n ? ZCHUNK - w->step_len : n;

		memcpy(w->step + w->step_len, p, take);
		w->step_len += take;
		p += take;
		n -= take;
		if (w->step_len == ZCHUNK) {
			deflate_step(w, w->step, ZCHUNK, 0);
			w->step_len = 0;
		}
	}
}

static void payload32(struct snapshot_stream *w, uint32_t v)
{
	v = htole32(v);
	payload(w, &v, 4);
}

static void payload64(struct snapshot_stream *w, uint64_t v)
{
	v = htole64(v);
	payload(w, &v, 8);
}

int snapshot_stream_new(struct snapshot_stream **out, int fd, const char *app, int32_t pid,
			uint32_t uid, int64_t time_ms, uint64_t count)
{
	static const uint8_t blank[SNAP_HDR_LEN];
	struct snapshot_stream *w = calloc(1, sizeof(*w));
	size_t applen = app ? strnlen(app, SNAP_APP_MAX) : 0;

	if (!w)
		return -ENOMEM;
	w->fd = fd;
	w->level = 1;
	w->count = w->left = count;
	w->out_cap = compressBound(ZCHUNK) + 64;
	w->step = malloc(ZCHUNK);
	w->out = malloc(w->out_cap);
	if (!w->step || !w->out || deflateInit(&w->z, 1) != Z_OK) {
		free(w->step);
		free(w->out);
		free(w);
		return -ENOMEM;
	}
	w->probe_init = w->probe_ok = deflateInit(&w->probe, 1) == Z_OK;
	/* Room for the header, written at the end. */
	out_write(w, blank, sizeof(blank));
	payload32(w, (uint32_t)applen);
	payload(w, app, applen);
	payload32(w, (uint32_t)pid);
	payload32(w, uid);
	payload64(w, (uint64_t)time_ms);
	payload64(w, count);
	*out = w;
	return w->err;
}

int snapshot_stream_entry(struct snapshot_stream *w, const char *key, size_t klen, uint64_t len)
{
	if (!w->err && (!w->left || w->value_left || klen == 0 || klen > FG_KEY_MAX))
		w->err = -EINVAL;
	if (w->err)
		return w->err;
	w->left--;
	w->value_left = len;
	payload32(w, (uint32_t)klen);
	payload64(w, len);
	payload(w, key, klen);
	return w->err;
}

int snapshot_stream_bytes(struct snapshot_stream *w, const void *p, size_t n)
{
	if (!w->err && n > w->value_left)
		w->err = -EINVAL;
	if (w->err)
		return w->err;
	w->value_left -= n;
	payload(w, p, n);
	return w->err;
}

int snapshot_stream_finish(struct snapshot_stream *w, uint64_t *file_len)
{
	uint8_t h[SNAP_HDR_LEN];

	if (!w->err && (w->left || w->value_left))
		w->err = -EPROTO;
	/* One step alone needs no probe: it is compressed as it is. */
	if (w->payload_len <= ZCHUNK)
		w->probe_ok = 0;
	deflate_step(w, w->step, w->step_len, 1);
	if (w->err)
		return w->err;
	memcpy(h, SNAP_MAGIC, 8);
	*(uint32_t *)(h + 8) = htole32(SNAP_VERSION);
	*(uint32_t *)(h + 12) = htole32(SNAP_FLAG_ZLIB);
	*(uint64_t *)(h + 16) = htole64(w->payload_len);
	*(uint32_t *)(h + 24) = htole32(w->crc);
	*(uint32_t *)(h + 28) = htole32(crc32c(0, h, 28));
	if (w->fd < 0)
		memcpy(w->mem.p, h, sizeof(h));
	else if (pwrite(w->fd, h, sizeof(h), 0) != sizeof(h))
		w->err = errno ? -errno : -EIO;
	if (file_len)
		*file_len = w->file_len;
	return w->err;
}

void snapshot_stream_free(struct snapshot_stream *w)
{
	if (!w)
		return;
	deflateEnd(&w->z);
	if (w->probe_init)
		deflateEnd(&w->probe);
	free(w->step);
	free(w->out);
	free(w->mem.p);
	free(w);
}

/* Hands the buffer a memory stream made over to the caller. */
static void *stream_take_buffer(struct snapshot_stream *w)
{
	void *p = w->mem.p;

	w->mem.p = NULL;
	return p;
}

int snapshot_encode(const struct fg_snapshot *s, void **out, size_t *out_len)
{
	struct snapshot_stream *w;
	uint64_t len = 0;
	size_t i;
	int err;

	err = snapshot_stream_new(&w, -1, s->app, s->pid, s->uid, s->time_ms, s->count);
	for (i = 0; !err && i < s->count; i++) {
		err = snapshot_stream_entry(w, s->entries[i].key, strlen(s->entries[i].key),
					    s->entries[i].len);
		if (!err)
			err = snapshot_stream_bytes(w, s->entries[i].val, s->entries[i].len);
	}
	if (!err)
		err = snapshot_stream_finish(w, &len);
	if (!err) {
		*out = stream_take_buffer(w);
		*out_len = (size_t)len;
	}
	snapshot_stream_free(w);
	return err;
}

struct rbuf {
	const uint8_t *p;
	size_t len, off;
};

static int get(struct rbuf *b, void *dst, size_t n)
{
	if (n > b->len - b->off)
		return -EINVAL;
	memcpy(dst, b->p + b->off, n);
	b->off += n;
	return 0;
}

static int get32(struct rbuf *b, uint32_t *v)
{
	int err = get(b, v, 4);

	*v = le32toh(*v);
	return err;
}

static int get64(struct rbuf *b, uint64_t *v)
{
	int err = get(b, v, 8);

	*v = le64toh(*v);
	return err;
}

static int parse_payload(struct fg_snapshot *s, const uint8_t *p, size_t len)
{
	struct rbuf b = { .p = p, .len = len };
	uint32_t applen, pid, uid, klen;
	uint64_t t, count, vlen, i;
	int err;

	if (get32(&b, &applen) || applen > SNAP_APP_MAX || get(&b, s->app, applen))
		return -EINVAL;
	s->app[applen] = '\0';
	if (get32(&b, &pid) || get32(&b, &uid) || get64(&b, &t) || get64(&b, &count))
		return -EINVAL;
	s->pid = (int32_t)pid;
	s->uid = uid;
	s->time_ms = (int64_t)t;
	if (count > len / 12)
		return -EINVAL;
	for (i = 0; i < count; i++) {
		const uint8_t *key, *val;

		if (get32(&b, &klen) || get64(&b, &vlen))
			return -EINVAL;
		if (klen == 0 || klen > FG_KEY_MAX || klen > b.len - b.off)
			return -EINVAL;
		key = b.p + b.off;
		b.off += klen;
		if (vlen > b.len - b.off)
			return -EINVAL;
		val = b.p + b.off;
		b.off += vlen;
		err = snapshot_add(s, (const char *)key, klen, val, vlen);
		if (err)
			return err;
	}
	if (b.off != b.len)
		return -EINVAL;
	snapshot_finish(s);
	return 0;
}

/* Header fields, from a buffer that may start at any address. */
static uint32_t hdr32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return le32toh(v);
}

static uint64_t hdr64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return le64toh(v);
}

struct fg_snapshot *snapshot_decode(const void *buf, size_t len)
{
	const uint8_t *h = buf;
	struct fg_snapshot *s;
	uint64_t plen;
	uint8_t *payload;
	uLongf got;
	int err;

	if (len < SNAP_HDR_LEN || memcmp(h, SNAP_MAGIC, 8) != 0 ||
	    hdr32(h + 28) != crc32c(0, h, 28)) {
		errno = EINVAL;
		return NULL;
	}
	if (hdr32(h + 8) != SNAP_VERSION || hdr32(h + 12) != SNAP_FLAG_ZLIB) {
		errno = ENOTSUP;
		return NULL;
	}
	plen = hdr64(h + 16);
	if (plen > SNAP_MAX_PAYLOAD || plen > (uint64_t)(len - SNAP_HDR_LEN) * ZLIB_MAX_RATIO + 64) {
		errno = EINVAL;
		return NULL;
	}
	payload = malloc(plen ? plen : 1);
	s = snapshot_new();
	if (!payload || !s) {
		err = -ENOMEM;
		goto err_free;
	}
	got = plen;
	if (uncompress(payload, &got, h + SNAP_HDR_LEN, len - SNAP_HDR_LEN) != Z_OK || got != plen ||
	    crc32c(0, payload, plen) != hdr32(h + 24)) {
		err = -EINVAL;
		goto err_free;
	}
	err = parse_payload(s, payload, plen);
	if (err)
		goto err_free;
	free(payload);
	return s;

err_free:
	free(payload);
	fg_snapshot_close(s);
	errno = -err;
	return NULL;
}

/*
 * Writes @s to @name through a temporary file and a rename. With @keep_fd
 * NULL, durably (see atomic_file_write); otherwise without fsync, the file
 * left open in *@keep_fd for the caller to sync.
 */
static int write_at(int dirfd, const char *name, const struct fg_snapshot *s, uid_t uid, gid_t gid,
		    int *keep_fd)
{
	const struct atomic_file_opts o = {
		.mode = 0600, .uid = uid, .gid = gid, .sync = !keep_fd,
	};
	void *buf = NULL;
	size_t len;
	int err;

	err = snapshot_encode(s, &buf, &len);
	if (err)
		return err;
	err = atomic_file_write(dirfd, name, buf, len, &o, keep_fd);
	free(buf);
	return err;
}

int snapshot_write_at(int dirfd, const char *name, const struct fg_snapshot *s, uid_t uid,
		      gid_t gid)
{
	return write_at(dirfd, name, s, uid, gid, NULL);
}

int snapshot_write_at_unsynced(int dirfd, const char *name, const struct fg_snapshot *s,
			       uid_t uid, gid_t gid, int *fd)
{
	return write_at(dirfd, name, s, uid, gid, fd);
}

struct fg_snapshot *snapshot_read_at(int dirfd, const char *name)
{
	/* O_NONBLOCK: opening a FIFO planted under the name must not wait for a writer. */
	int fd = openat(dirfd, name, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		return NULL;
	return snapshot_read_fd(fd);
}

struct fg_snapshot *snapshot_read_fd(int fd)
{
	struct fg_snapshot *s = NULL;
	uint8_t *buf, magic[8];
	struct stat st;
	size_t off = 0;
	int err = 0;

	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > SNAP_MAX_FILE) {
		err = fstat(fd, &st) < 0 ? errno : EINVAL;
		close(fd);
		errno = err;
		return NULL;
	}
	/*
	 * A dictionary image (what a rescue gets while the collector holds the
	 * snapshot in memory) is read the way a dictionary is: validated, holes
	 * skipped, who died taken from the image.
	 */
	if (st.st_size >= 8 && pread(fd, magic, sizeof(magic), 0) == sizeof(magic) &&
	    dict_magic(magic)) {
		s = dict_read_fd(fd, DICT_MAX_BYTES, NULL);
		err = s ? 0 : errno;
		close(fd);
		errno = err;
		return s;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		close(fd);
		errno = ENOMEM;
		return NULL;
	}
	while (off < (size_t)st.st_size) {
		ssize_t r = pread(fd, buf + off, (size_t)st.st_size - off, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? errno : EINVAL;
			break;
		}
		off += (size_t)r;
	}
	close(fd);
	if (!err)
		s = snapshot_decode(buf, off);
	else
		errno = err;
	err = errno;
	free(buf);
	errno = err;
	return s;
}

FG_EXPORT struct fg_snapshot *fg_snapshot_open(const char *path)
{
	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	return snapshot_read_at(AT_FDCWD, path);
}

FG_EXPORT int fg_snapshot_save(const struct fg_snapshot *s, const char *path)
{
	char dir[4096];
	const char *slash, *name;
	int dirfd, err;

	if (!s || !path || !*path)
		return -EINVAL;
	slash = strrchr(path, '/');
	if (slash) {
		size_t n = (size_t)(slash - path);

		if (n >= sizeof(dir))
			return -ENAMETOOLONG;
		memcpy(dir, path, n);
		dir[n] = '\0';
		name = slash + 1;
		dirfd = open(n ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		name = path;
		dirfd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (dirfd < 0)
		return -errno;
	if (!*name) {
		close(dirfd);
		return -EINVAL;
	}
	err = snapshot_write_at(dirfd, name, s, (uid_t)-1, (gid_t)-1);
	close(dirfd);
	return err;
}

int snapshot_memfd(const void *p, size_t len)
{
	int fd = memfd_create("faultguard-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	const char *q = p;
	size_t done = 0;

	if (fd < 0)
		return -errno;
	while (done < len) {
		ssize_t w = write(fd, q + done, len - done);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			close(fd);
			return -ENOMEM;
		}
		done += (size_t)w;
	}
	/* Nobody changes it again, not its owner either. */
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}
