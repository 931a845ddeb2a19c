// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The dictionary reader. Its input is untrusted: the writer may be hostile,
 * its wild pointers may have scribbled over the mapping, or a surviving
 * child may still be changing it. So it copies (pread, never mmap) into
 * private memory, takes every bound from the file size rather than from a
 * header field, checks every offset without overflow, verifies each
 * version's CRC32C on its own copy, walks the slot table linearly (it always
 * terminates), and caps what it allocates. What fails a check is counted and
 * dropped.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bulk_yield.h"
#include "dict/crc32c.h"
#include "dict/dict.h"
#include "dict/layout.h"
#include "faultguard.h"
#include "snapshot/snapshot.h"

#define CHUNK_SLOTS 256u /* 64 KiB of slot table per read */

struct source {
	int fd;             /* -1 for a memory source */
	const uint8_t *mem;
	uint64_t size;
};

static int src_read(const struct source *src, uint64_t off, void *buf, uint64_t len)
{
	uint8_t *p = buf;

	if (off > src->size || len > src->size - off)
		return -ERANGE;
	if (src->fd < 0) {
		memcpy(buf, src->mem + off, len);
		return 0;
	}
	while (len) {
		ssize_t r = pread(src->fd, p, len, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		p += r;
		off += (uint64_t)r;
		len -= (uint64_t)r;
		bulk_yield((size_t)r);
	}
	return 0;
}

/*
 * Where the next data at or after @off starts: holes in a sparse memfd read
 * as zeros and can be skipped. UINT64_MAX when only holes follow; @off
 * itself when unknown (a memory source, or lseek failed), meaning "read it".
 */
static uint64_t src_next_data(const struct source *src, uint64_t off)
{
	off_t data;

	if (src->fd < 0)
		return off;
	data = lseek(src->fd, (off_t)off, SEEK_DATA);
	if (data < 0)
		return errno == ENXIO ? UINT64_MAX : off;
	return (uint64_t)data < off ? off : (uint64_t)data;
}

struct layout {
	uint64_t size;
	uint64_t slot_off;
	uint32_t slot_count;
	uint64_t arena_off;
	uint64_t arena_size;
	uint64_t committed;
	char app[SNAP_APP_MAX + 1];
};

static int header_ok(const struct dict_header *h, uint64_t size)
{
	uint64_t table;

	if (h->magic != DICT_MAGIC || h->version != DICT_VERSION || h->hdr_size != sizeof(*h) ||
	    crc32c(0, h, offsetof(struct dict_header, crc)) != h->crc)
		return 0;
	if (h->slot_off != DICT_SLOT_OFF || h->slot_size != sizeof(struct dict_slot) ||
	    h->slot_count == 0 || (h->slot_count & (h->slot_count - 1)) || h->slot_count > (1u << 24))
		return 0;
	table = (uint64_t)h->slot_count * sizeof(struct dict_slot);
	if (h->slot_off > size || table > size - h->slot_off)
		return 0;
	if (h->arena_off < h->slot_off + table || h->arena_off > size ||
	    h->arena_size > size - h->arena_off)
		return 0;
	return 1;
}

static int read_layout(const struct source *src, struct layout *l)
{
	struct dict_header h;
	uint64_t c[4];
	int i, found = 0;

	for (i = 0; i < 2 && !found; i++) {
		if (src_read(src, DICT_HDR_COPY_OFF(i), &h, sizeof(h)))
			return -EINVAL;
		found = header_ok(&h, src->size);
	}
	if (!found)
		return -EINVAL;
	l->size = src->size;
	l->slot_off = h.slot_off;
	l->slot_count = h.slot_count;
	l->arena_off = h.arena_off;
	l->arena_size = h.arena_size;
	memcpy(l->app, h.app, SNAP_APP_MAX);
	l->app[SNAP_APP_MAX] = '\0';

	/* The commit word: the highest of the copies whose check holds. */
	l->committed = 0;
	if (src_read(src, DICT_COMMIT_OFF, c, sizeof(c)))
		return -EINVAL;
	for (i = 0; i < 2; i++)
		if (c[2 * i + 1] == ~c[2 * i] && c[2 * i] > l->committed)
			l->committed = c[2 * i];
	return 0;
}

struct reader {
	const struct source *src;
	const struct layout *l;
	const struct dict_scan *o;
	struct dict_read_stats *st;
	uint64_t budget; /* arena bytes we are still willing to read */
	uint8_t *buf;    /* scratch for one value (or one piece of a long one) */
	uint64_t buf_cap;
	int err;         /* the sink's, which stops the scan */
};

/* A long value is checked in pieces of this size (and never held whole). */
#define PIECE (1u << 20)

/* Whether [off, off + len) lies in the arena and the budget allows reading it (then spent). */
static int arena_take(struct reader *r, uint64_t off, uint64_t len)
{
	const struct layout *l = r->l;

	if (off > l->arena_size || len > l->arena_size - off || len > r->budget)
		return 0;
	/* Spent whether the bytes pass or not: damage must not buy unbounded reads. */
	r->budget -= len;
	return 1;
}

/* Reads @len bytes at arena offset @off into the scratch buffer. */
static const uint8_t *arena_read(struct reader *r, uint64_t off, uint64_t len)
{
	const struct layout *l = r->l;

	if (!arena_take(r, off, len))
		return NULL;
	if (len > r->buf_cap) {
		uint8_t *n = realloc(r->buf, len);

		if (!n)
			return NULL;
		r->buf = n;
		r->buf_cap = len;
	}
	if (src_read(r->src, l->arena_off + off, r->buf, len))
		return NULL;
	return r->buf;
}

static const uint8_t unheld; /* version_bytes' answer for a long value checked in pieces */

/* CRC32C of the arena bytes [off, off + len), read a piece at a time; 0 when they cannot be read. */
static int arena_crc(struct reader *r, uint64_t off, uint64_t len, uint32_t *crc)
{
	const struct layout *l = r->l;

	if (!arena_take(r, off, len))
		return 0;
	if (r->buf_cap < PIECE) {
		uint8_t *n = realloc(r->buf, PIECE);

		if (!n)
			return 0;
		r->buf = n;
		r->buf_cap = PIECE;
	}
	while (len) {
		uint64_t n = len < PIECE ? len : PIECE;

		if (src_read(r->src, l->arena_off + off, r->buf, n))
			return 0;
		*crc = crc32c(*crc, r->buf, n);
		off += n;
		len -= n;
	}
	return 1;
}

/*
 * The bytes of version @v if it is intact and visible; NULL otherwise. A
 * value longer than the scan's value_max is checked in pieces and not held:
 * the answer is then &unheld.
 */
static const uint8_t *version_bytes(struct reader *r, const struct dict_slot *s,
				    const struct dict_version *v, int *tombstone)
{
	struct dict_version_tag tag = {
		.gen = v->gen, .txn = v->txn, .len = v->len, .key_crc = s->key_crc,
	};
	uint32_t crc = crc32c(0, &tag, sizeof(tag));
	static const uint8_t none;
	const uint8_t *p;

	*tombstone = 0;
	if (v->len == DICT_LEN_DELETED) {
		*tombstone = 1;
		return crc == v->crc ? &none : NULL;
	}
	if (v->len > DICT_VAL_INLINE && r->o->value_max && v->len > r->o->value_max)
		return arena_crc(r, v->off, v->len, &crc) && crc == v->crc ? &unheld : NULL;
	p = v->len <= DICT_VAL_INLINE ? v->inl : arena_read(r, v->off, v->len);
	if (!p || crc32c(crc, p, v->len) != v->crc)
		return NULL;
	return p;
}

/* Hands one valid entry to the sink. */
static int emit(struct reader *r, const char *key, size_t klen, const struct dict_version *v,
		const uint8_t *val)
{
	struct dict_entry e = {
		.key = key,
		.klen = klen,
		.len = v->len,
		.val = val == &unheld ? NULL : val,
		.src_ = r->src,
		.off_ = r->l->arena_off + v->off,
	};
	int err = r->o->entry ? r->o->entry(r->o->arg, &e) : 0;

	if (err > 0)
		return 0; /* the sink refused this entry: it counts as discarded */
	if (err < 0) {
		r->err = err;
		return 0;
	}
	r->st->keys++;
	r->st->bytes += v->len;
	return 1;
}

static int visible(const struct reader *r, const struct dict_version *v)
{
	uint64_t gen = atomic_load_explicit(&v->gen, memory_order_relaxed);

	return gen && (v->txn == 0 || v->txn <= r->l->committed);
}

/*
 * A published version hidden as uncommitted whose crc fails. An honest
 * writer's uncommitted versions are complete, so this is damage, such as a
 * flipped bit in the txn of the key's only committed version: count it.
 */
static int uncommitted_corrupt(struct reader *r, const struct dict_slot *s,
			       const struct dict_version *v)
{
	int tomb;

	if (!atomic_load_explicit(&v->gen, memory_order_relaxed))
		return 0;
	return !version_bytes(r, s, v, &tomb);
}

static void read_slot(struct reader *r, const struct dict_slot *s)
{
	const struct dict_version *order[2];
	char key[256];
	const char *kp;
	uint32_t state;
	int i, n = 0, tomb;

	state = atomic_load_explicit(&s->state, memory_order_relaxed);
	if (state != SLOT_BOUND) {
		/* No state the writer ever stores: a scribbled slot, maybe a lost key. */
		if (state != SLOT_EMPTY && state != SLOT_FREE)
			r->st->discarded++;
		return;
	}
	if (s->key_len == 0 || s->key_len > 255)
		goto discard;
	if (s->key_len <= DICT_KEY_INLINE) {
		kp = s->key_inl;
	} else {
		kp = (const char *)arena_read(r, s->key_off, s->key_len);
		if (!kp)
			goto discard;
	}
	memcpy(key, kp, s->key_len);
	if (crc32c(0, key, s->key_len) != s->key_crc || memchr(key, 0, s->key_len))
		goto discard;

	/* Newest first; fall back to the other version when it fails. */
	for (i = 0; i < 2; i++) {
		if (visible(r, &s->ver[i]))
			order[n++] = &s->ver[i];
		else if (uncommitted_corrupt(r, s, &s->ver[i]))
			r->st->discarded++;
	}
	if (n == 2 && atomic_load_explicit(&order[1]->gen, memory_order_relaxed) >
			      atomic_load_explicit(&order[0]->gen, memory_order_relaxed)) {
		const struct dict_version *t = order[0];

		order[0] = order[1];
		order[1] = t;
	}
	for (i = 0; i < n; i++) {
		const uint8_t *val = version_bytes(r, s, order[i], &tomb);

		if (!val) {
			r->st->discarded++;
			continue;
		}
		if (tomb)
			return;
		if (!emit(r, key, s->key_len, order[i], val) && !r->err)
			r->st->discarded++;
		return;
	}
	return;

discard:
	r->st->discarded++;
}

static void read_who(const struct source *src, const struct layout *l, struct dict_who *who)
{
	struct dict_meta m;

	memset(who, 0, sizeof(*who));
	memcpy(who->app, l->app, sizeof(who->app));
	if (src_read(src, DICT_META_OFF, &m, sizeof(m)) || m.magic != DICT_META_MAGIC ||
	    crc32c(0, &m, offsetof(struct dict_meta, crc)) != m.crc)
		return;
	who->known = 1;
	who->pid = m.pid;
	who->uid = m.uid;
	who->time_ms = m.time_ms;
}

static int scan_source(const struct source *src, const struct dict_scan *o,
		       struct dict_read_stats *st)
{
	struct dict_read_stats dummy;
	struct dict_slot *chunk = NULL;
	struct reader r = { 0 };
	struct layout l;
	uint32_t i, n, j;
	int err;

	if (!st)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (o->limit && src->size > o->limit)
		return -EFBIG;
	err = read_layout(src, &l);
	if (err)
		return err;
	if (o->who)
		read_who(src, &l, o->who);
	r.src = src;
	r.l = &l;
	r.o = o;
	r.st = st;
	/* Honest values cannot add up to more than the arena holds. */
	r.budget = o->budget && o->budget < l.arena_size ? o->budget : l.arena_size;
	chunk = malloc(CHUNK_SLOTS * sizeof(*chunk));
	if (!chunk)
		return -ENOMEM;
	for (i = 0; i < l.slot_count && !r.err; i += n) {
		uint64_t off = l.slot_off + (uint64_t)i * sizeof(*chunk);
		uint64_t data = src_next_data(src, off);

		n = l.slot_count - i < CHUNK_SLOTS ? l.slot_count - i : CHUNK_SLOTS;
		if (data >= off + (uint64_t)n * sizeof(*chunk)) {
			/*
			 * A hole: go straight to the slot holding the next data,
			 * not one chunk at a time (a default 64 MiB dictionary has
			 * 128 chunks of slot table, mostly holes).
			 */
			uint64_t next = data == UINT64_MAX ? l.slot_count
							   : (data - l.slot_off) / sizeof(*chunk);

			n = (uint32_t)((next < l.slot_count ? next : l.slot_count) - i);
			continue;
		}
		err = src_read(src, off, chunk, (uint64_t)n * sizeof(*chunk));
		if (err)
			break;
		for (j = 0; j < n && !r.err; j++)
			read_slot(&r, &chunk[j]);
	}
	free(chunk);
	free(r.buf);
	return err ? err : r.err;
}

int dict_scan_fd(int fd, const struct dict_scan *o, struct dict_read_stats *st)
{
	struct source src = { .fd = fd };
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return -errno;
	/* Long values are read twice (checked, then handed over): only an image holds still. */
	if (o->value_max && !dict_image_sealed(fd))
		return -EINVAL;
	src.size = (uint64_t)sb.st_size;
	return scan_source(&src, o, st);
}

int dict_read_who(int fd, struct dict_who *who)
{
	struct source src = { .fd = fd };
	struct layout l;
	struct stat sb;
	int err;

	if (fstat(fd, &sb) < 0)
		return -errno;
	src.size = (uint64_t)sb.st_size;
	err = read_layout(&src, &l);
	if (!err)
		read_who(&src, &l, who);
	return err;
}

int dict_scan_mem(const void *buf, size_t len, const struct dict_scan *o,
		  struct dict_read_stats *st)
{
	struct source src = { .fd = -1, .mem = buf, .size = len };

	return scan_source(&src, o, st);
}

int dict_entry_read(const struct dict_entry *e, uint64_t off, void *buf, size_t len)
{
	if (off > e->len || len > e->len - off)
		return -ERANGE;
	return src_read(e->src_, e->off_ + off, buf, len);
}

/* The sink that builds a struct fg_snapshot (every value is held: value_max 0). */
static int add_entry(void *arg, const struct dict_entry *e)
{
	return snapshot_add(arg, e->key, e->klen, e->val, (size_t)e->len) ? 1 : 0;
}

static struct fg_snapshot *read_source(const struct source *src, uint64_t limit,
				       struct dict_read_stats *st)
{
	struct dict_read_stats dummy;
	struct fg_snapshot *snap = snapshot_new();
	struct dict_who who;
	struct dict_scan o = {
		.limit = limit, .entry = add_entry, .arg = snap, .who = &who,
	};
	size_t count;
	int err;

	if (!st)
		st = &dummy;
	if (!snap) {
		errno = ENOMEM;
		return NULL;
	}
	err = scan_source(src, &o, st);
	if (err) {
		fg_snapshot_close(snap);
		errno = -err;
		return NULL;
	}
	memcpy(snap->app, who.app, sizeof(snap->app));
	if (who.known)
		snapshot_set_meta(snap, NULL, who.pid, who.uid, who.time_ms);
	count = snap->count;
	snapshot_finish(snap);
	/* Two slots bound to one key: one of them is damage; the result has one. */
	st->discarded += count - snap->count;
	st->keys = snap->count;
	st->bytes = snap->bytes;
	return snap;
}

struct fg_snapshot *dict_read_fd(int fd, uint64_t limit, struct dict_read_stats *st)
{
	struct source src = { .fd = fd };
	struct stat sb;

	if (fstat(fd, &sb) < 0)
		return NULL;
	src.size = (uint64_t)sb.st_size;
	return read_source(&src, limit, st);
}

struct fg_snapshot *dict_read_mem(const void *buf, size_t len, struct dict_read_stats *st)
{
	struct source src = { .fd = -1, .mem = buf, .size = len };

	return read_source(&src, 0, st);
}
