// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The dictionary writer. Every store into the shared mapping follows one
 * rule: the newest valid version of a key is never touched while the next
 * one is written. A new version is first invalidated (gen = 0), then filled,
 * then published with a release store of its gen; only after that is the
 * superseded version invalidated and its arena extent freed. Whatever
 * instruction the process dies on, a reader finds for every key either the
 * previous value or the new one, complete.
 *
 * Transactions tag their versions with a txn id that becomes visible when
 * the commit word is published; until then readers fall back to the other
 * version, which the transaction leaves alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dict/arena.h"
#include "dict/crc32c.h"
#include "dict/dict.h"
#include "dict/layout.h"

struct dict_writer {
	uint8_t *base;
	uint64_t size;
	struct dict_slot *slots;
	uint32_t mask;
	uint32_t used_slots; /* not SLOT_EMPTY */
	uint32_t max_used;
	uint8_t *arena_base;
	struct arena arena;
	struct dict_commit *commit;
	struct dict_stats *stats;
	uint64_t keys;
	uint64_t bytes;
	uint64_t gen;
	uint64_t txn;      /* the open transaction, 0 outside one */
	uint64_t last_txn; /* the last transaction id handed out */
	uint32_t *touched; /* slots with a version of the open transaction */
	uint32_t ntouched;
};

static inline uint32_t units_for(uint64_t bytes)
{
	return (uint32_t)((bytes + DICT_UNIT - 1) / DICT_UNIT);
}

static inline uint8_t *arena_ptr(const struct dict_writer *w, uint64_t off)
{
	return w->arena_base + off;
}

static int header_valid(const struct dict_header *h, uint64_t size)
{
	if (h->magic != DICT_MAGIC || h->version != DICT_VERSION ||
	    h->hdr_size != sizeof(*h) || h->total_size != size)
		return 0;
	return crc32c(0, h, offsetof(struct dict_header, crc)) == h->crc;
}

int dict_writer_attach(int fd, struct dict_writer **out)
{
	const struct dict_header *h;
	struct dict_writer *w;
	struct stat st;
	int err;

	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < DICT_MIN_BYTES || (uint64_t)st.st_size > DICT_MAX_BYTES)
		return -EINVAL;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->size = (uint64_t)st.st_size;
	w->base = mmap(NULL, w->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (w->base == MAP_FAILED) {
		err = -errno;
		goto err_free;
	}
	/* A forked child must not inherit a writable view of our dictionary. */
	madvise(w->base, w->size, MADV_DONTFORK);

	h = (const struct dict_header *)(w->base + DICT_HDR_COPY_OFF(0));
	if (!header_valid(h, w->size)) {
		err = -EINVAL;
		goto err_unmap;
	}
	w->slots = (struct dict_slot *)(w->base + h->slot_off);
	w->mask = h->slot_count - 1;
	w->max_used = h->slot_count - h->slot_count / 8;
	w->arena_base = w->base + h->arena_off;
	w->commit = (struct dict_commit *)(w->base + DICT_COMMIT_OFF);
	w->stats = (struct dict_stats *)(w->base + DICT_STATS_OFF);
	err = arena_init(&w->arena, (uint32_t)(h->arena_size / DICT_UNIT));
	if (err)
		goto err_unmap;
	/* Only fresh dictionaries are attached: continue after whatever is there. */
	w->last_txn = atomic_load(&w->commit[0].txn);
	if (atomic_load(&w->commit[1].txn) > w->last_txn)
		w->last_txn = atomic_load(&w->commit[1].txn);
	*out = w;
	return 0;

err_unmap:
	munmap(w->base, w->size);
err_free:
	free(w);
	return err;
}

void dict_writer_free(struct dict_writer *w)
{
	if (!w)
		return;
	arena_free_all(&w->arena);
	free(w->touched);
	if (w->base)
		munmap(w->base, w->size);
	free(w);
}

void dict_writer_detach(struct dict_writer *w, int fd)
{
	void *copy;

	if (!w->base)
		return;
	/*
	 * MADV_DONTFORK left the forked child without the shared mapping. Put a
	 * private copy-on-write view of the same memfd at the same address: the
	 * child's handle keeps working on the data as it was, and none of its
	 * writes reach the parent's dictionary.
	 */
	copy = mmap(w->base, w->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
	if (copy == MAP_FAILED)
		w->base = NULL;
}

/* --- lookup ---------------------------------------------------------------- */

static inline const char *slot_key(const struct dict_writer *w, const struct dict_slot *s)
{
	return s->key_len <= DICT_KEY_INLINE ? s->key_inl
					      : (const char *)arena_ptr(w, s->key_off);
}

/*
 * memcmp(a, b, n) == 0 for the short keys of the hot path, without a call:
 * word compares, the last word overlapping. Reads no byte past @n.
 */
static inline bool key_eq(const char *a, const char *b, uint32_t n)
{
	uint64_t x, y;
	uint32_t i, u, v;

	if (n >= 8) {
		for (i = 0; i + 8 < n; i += 8) {
			memcpy(&x, a + i, 8);
			memcpy(&y, b + i, 8);
			if (x != y)
				return false;
		}
		memcpy(&x, a + n - 8, 8);
		memcpy(&y, b + n - 8, 8);
		return x == y;
	}
	if (n >= 4) {
		memcpy(&u, a, 4);
		memcpy(&v, b, 4);
		if (u != v)
			return false;
		memcpy(&u, a + n - 4, 4);
		memcpy(&v, b + n - 4, 4);
		return u == v;
	}
	for (i = 0; i < n; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/*
 * Finds @key's slot. On a miss, *insert is the slot a new binding should
 * use (the first free slot on the probe chain, or the empty one ending it),
 * or UINT32_MAX when the chain has no room.
 */
static inline struct dict_slot *lookup(struct dict_writer *w, const char *key, uint32_t klen,
				       uint32_t hash, uint32_t *insert)
{
	uint32_t i = hash & w->mask, n, first_free = UINT32_MAX;

	for (n = 0; n <= w->mask; n++, i = (i + 1) & w->mask) {
		struct dict_slot *s = &w->slots[i];
		uint32_t state = atomic_load_explicit(&s->state, memory_order_relaxed);

		if (state == SLOT_EMPTY) {
			*insert = first_free != UINT32_MAX ? first_free : i;
			return NULL;
		}
		if (state == SLOT_FREE) {
			if (first_free == UINT32_MAX)
				first_free = i;
			continue;
		}
		if (s->key_crc == hash && s->key_len == klen && key_eq(slot_key(w, s), key, klen))
			return s;
	}
	*insert = first_free;
	return NULL;
}

/* The valid version with the highest gen, or NULL. */
static inline struct dict_version *newest(struct dict_slot *s)
{
	uint64_t g0 = atomic_load_explicit(&s->ver[0].gen, memory_order_relaxed);
	uint64_t g1 = atomic_load_explicit(&s->ver[1].gen, memory_order_relaxed);

	if (!g0 && !g1)
		return NULL;
	return g0 > g1 ? &s->ver[0] : &s->ver[1];
}

/* --- writing a version ------------------------------------------------------ */

static inline void version_invalidate(struct dict_writer *w, struct dict_version *v)
{
	if (!atomic_load_explicit(&v->gen, memory_order_relaxed))
		return;
	atomic_store_explicit(&v->gen, 0, memory_order_release);
	/*
	 * A release store keeps earlier stores before it, not later ones after
	 * it: without this the compiler may move the next fill of @v (or of
	 * its extent) above gen = 0, and a death in between would leave a
	 * valid-looking version with new bytes. A crash is observed like a
	 * signal handler would, so a signal fence (no instruction) suffices.
	 */
	atomic_signal_fence(memory_order_seq_cst);
	if (v->len != DICT_LEN_DELETED && v->len > DICT_VAL_INLINE)
		arena_release(&w->arena, (uint32_t)(v->off / DICT_UNIT));
}

_Static_assert(DICT_VAL_INLINE <= CRC32C_SHIFT_MAX, "inline values fit the shift table");

/* tag_crc_raw_hw reads the tag as three little-endian words: gen, txn, len | key_crc << 32. */
_Static_assert(sizeof(struct dict_version_tag) == 24 &&
		       offsetof(struct dict_version_tag, txn) == 8 &&
		       offsetof(struct dict_version_tag, len) == 16 &&
		       offsetof(struct dict_version_tag, key_crc) == 20,
	       "the version tag is three 64-bit words without padding");

/*
 * crc32c_raw_update_short(~0u, NULL, @tag, sizeof(*tag)) field by field
 * (x86 is little-endian), so the tag never has to be stored to be read.
 */
static inline CRC32C_HW_TARGET uint32_t
tag_crc_raw_hw(const struct dict_version_tag *tag)
{
#if defined(__x86_64__)
	uint64_t t = _mm_crc32_u64(0xffffffffu, tag->gen);

	t = _mm_crc32_u64(t, tag->txn);
	return (uint32_t)_mm_crc32_u64(t, (uint64_t)tag->len | (uint64_t)tag->key_crc << 32);
#else
	return crc32c_raw_update_short(~0u, NULL, (const uint8_t *)tag, sizeof(*tag));
#endif
}

/*
 * Copies @len bytes of @val to @dst and returns the version crc: crc32c of
 * the tag, continued over the bytes. With @hw (a compile-time constant)
 * and an inline value, the value's crc runs from zero in parallel with the
 * tag's and the two are joined by a shift: the same number, without the
 * value's chain of crc32 instructions waiting for the tag's.
 */
static __attribute__((always_inline)) inline uint32_t
version_crc_fill(const struct dict_version_tag *tag, uint8_t *dst, const void *val, uint32_t len,
		 const bool hw)
{
	uint32_t t;

	if (hw && len && len <= DICT_VAL_INLINE) {
		t = tag_crc_raw_hw(tag);
		if (len < CRC32C_SHIFT_MIN)
			return ~crc32c_raw_update_short(t, dst, val, len);
		return ~(crc32c_raw_shift(t, len) ^ crc32c_raw_update_short(0, dst, val, len));
	}
	if (hw)
		t = ~tag_crc_raw_hw(tag);
	else
		t = crc32c(0, tag, sizeof(*tag));
	/* An empty value may come as NULL: no pointer arithmetic on it. */
	return len ? crc32c_copy(t, dst, val, len) : t;
}

/*
 * Fills version @v (already invalid) with @val and publishes it. @off is its
 * arena offset for long values.
 */
static __attribute__((always_inline)) inline void
version_publish(struct dict_writer *w, struct dict_slot *s, struct dict_version *v,
		const void *val, uint32_t len, uint64_t off, const bool hw)
{
	uint64_t gen = ++w->gen;
	struct dict_version_tag tag = {
		.gen = gen, .txn = w->txn, .len = len, .key_crc = s->key_crc,
	};
	uint8_t *dst = len <= DICT_VAL_INLINE ? v->inl : arena_ptr(w, off);

	v->txn = w->txn;
	v->len = len;
	v->off = off;
	/* A tombstone (DICT_LEN_DELETED) carries no bytes. */
	v->crc = version_crc_fill(&tag, dst, val, len == DICT_LEN_DELETED ? 0 : len, hw);
	atomic_store_explicit(&v->gen, gen, memory_order_release);
}

static void stats_update(struct dict_writer *w)
{
	atomic_store_explicit(&w->stats->keys, w->keys, memory_order_relaxed);
	atomic_store_explicit(&w->stats->bytes, w->bytes, memory_order_relaxed);
}

static int bind_slot(struct dict_writer *w, uint32_t idx, const char *key, uint32_t klen,
		     uint32_t hash)
{
	struct dict_slot *s = &w->slots[idx];
	uint32_t state = atomic_load_explicit(&s->state, memory_order_relaxed);
	uint64_t key_off = 0;

	if (state == SLOT_EMPTY && w->used_slots >= w->max_used)
		return -ENOSPC;
	if (klen > DICT_KEY_INLINE) {
		int64_t u = arena_alloc(&w->arena, units_for(klen));

		if (u < 0)
			return (int)u;
		key_off = (uint64_t)u * DICT_UNIT;
	}
	/* The slot is empty or free: readers ignore it while we fill it. */
	atomic_store_explicit(&s->ver[0].gen, 0, memory_order_relaxed);
	atomic_store_explicit(&s->ver[1].gen, 0, memory_order_relaxed);
	s->key_crc = hash;
	s->key_len = klen;
	s->key_off = key_off;
	memcpy(klen <= DICT_KEY_INLINE ? s->key_inl : (char *)arena_ptr(w, key_off), key, klen);
	atomic_store_explicit(&s->state, SLOT_BOUND, memory_order_release);
	if (state == SLOT_EMPTY)
		w->used_slots++;
	return 0;
}

/* Returns a bound slot to the free state; readers then ignore it. */
static void unbind_slot(struct dict_writer *w, struct dict_slot *s)
{
	atomic_store_explicit(&s->state, SLOT_FREE, memory_order_release);
	version_invalidate(w, &s->ver[0]);
	version_invalidate(w, &s->ver[1]);
	if (s->key_len > DICT_KEY_INLINE)
		arena_release(&w->arena, (uint32_t)(s->key_off / DICT_UNIT));
	s->key_len = 0;
}

static inline int key_ok(const char *key, size_t klen)
{
	return key && klen >= 1 && klen <= 255;
}

/* The version of @s the open transaction wrote, if any. */
static inline struct dict_version *txn_version(struct dict_writer *w, struct dict_slot *s)
{
	int i;

	if (!w->txn)
		return NULL;
	for (i = 0; i < 2; i++)
		if (s->ver[i].txn == w->txn && atomic_load_explicit(&s->ver[i].gen,
								    memory_order_relaxed))
			return &s->ver[i];
	return NULL;
}

static inline struct dict_version *spare_version(struct dict_slot *s)
{
	uint64_t g0 = atomic_load_explicit(&s->ver[0].gen, memory_order_relaxed);
	uint64_t g1 = atomic_load_explicit(&s->ver[1].gen, memory_order_relaxed);

	return g0 <= g1 ? &s->ver[0] : &s->ver[1];
}

static __attribute__((always_inline)) inline int
write_version(struct dict_writer *w, struct dict_slot *s, const void *val, uint32_t len,
	      const bool hw)
{
	struct dict_version *mine = txn_version(w, s), *v, *old;
	uint64_t off = 0;

	if (len != DICT_LEN_DELETED && len > DICT_VAL_INLINE) {
		int64_t u = arena_alloc(&w->arena, units_for(len));

		if (u < 0)
			return (int)u;
		off = (uint64_t)u * DICT_UNIT;
	}
	if (mine) {
		/* Rewriting our own uncommitted version: nobody relies on it. */
		v = mine;
		version_invalidate(w, v);
		old = NULL;
	} else {
		v = spare_version(s);
		version_invalidate(w, v); /* in a transaction, the spare is never the newest */
		old = v == &s->ver[0] ? &s->ver[1] : &s->ver[0];
		if (w->txn)
			w->touched[w->ntouched++] = (uint32_t)(s - w->slots);
	}
	version_publish(w, s, v, val, len, off, hw);
	if (old && !w->txn)
		version_invalidate(w, old);
	return 0;
}

/* The value the writer itself sees (its open transaction included), or NULL. */
static inline struct dict_version *visible(struct dict_writer *w, struct dict_slot *s)
{
	struct dict_version *v = txn_version(w, s);

	if (!v)
		v = newest(s);
	if (!v || v->len == DICT_LEN_DELETED)
		return NULL;
	return v;
}

/*
 * dict_set's body, compiled twice (see crc32c.h): @hw is a compile-time
 * constant, true only in set_hw, which has the CPU's crc32 and pclmul
 * instructions inlined.
 */
static __attribute__((always_inline)) inline int set_body(struct dict_writer *w, const char *key,
							  size_t klen, const void *val,
							  size_t len, const bool hw)
{
	struct dict_version *prev;
	struct dict_slot *s;
	/* lookup() sets idx on every miss; gcc cannot see it under -fsanitize=address. */
	uint32_t hash, idx = UINT32_MAX, prev_len = 0;
	int err;

	if (hw && klen <= 64)
		hash = ~crc32c_raw_update_short(~0u, NULL, (const uint8_t *)key, klen);
	else if (hw)
		hash = ~crc32c_raw_update(~0u, NULL, (const uint8_t *)key, klen);
	else
		hash = crc32c(0, key, klen);
	s = lookup(w, key, (uint32_t)klen, hash, &idx);
	if (!s) {
		if (idx == UINT32_MAX)
			return -ENOSPC;
		err = bind_slot(w, idx, key, (uint32_t)klen, hash);
		if (err)
			return err;
		s = &w->slots[idx];
		prev = NULL;
	} else {
		prev = visible(w, s);
		/* Read now: rewriting our own transaction's version changes it. */
		prev_len = prev ? prev->len : 0;
	}
	err = write_version(w, s, val, (uint32_t)len, hw);
	if (err) {
		if (!prev && !newest(s))
			unbind_slot(w, s);
		return err;
	}
	w->keys += !prev;
	w->bytes += len - prev_len;
	stats_update(w);
	return 0;
}

/* flatten: the crc pieces of crc32c.h are inlined here even where GCC would not bother. */
static CRC32C_HW_TARGET __attribute__((flatten)) int set_hw(struct dict_writer *w, const char *key,
							     size_t klen, const void *val, size_t len)
{
	return set_body(w, key, klen, val, len, true);
}

/* Not inlined: dict_set stays a thin dispatcher that tail-calls one or the other. */
static __attribute__((noinline)) int set_portable(struct dict_writer *w, const char *key,
						  size_t klen, const void *val, size_t len)
{
	return set_body(w, key, klen, val, len, false);
}

int dict_set(struct dict_writer *w, const char *key, size_t klen, const void *val, size_t len)
{
	if (!w || !w->base)
		return -EBADF;
	if (!key_ok(key, klen) || (!val && len))
		return -EINVAL;
	if (len >= DICT_LEN_DELETED)
		return -ENOSPC;
	if (crc32c_hw)
		return set_hw(w, key, klen, val, len);
	return set_portable(w, key, klen, val, len);
}

/*
 * strnlen(@key, 256) without a call: 16-byte aligned loads, which never
 * cross a page, compared with zero. Like the C library's own strlen it may
 * read past the NUL inside the last aligned 16 bytes; sanitizer builds
 * (address, thread, memory) use strnlen, which they know, so that a bad
 * key is still reported where it is read.
 */
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define KEY_SCAN_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer) ||                        \
	__has_feature(memory_sanitizer)
#define KEY_SCAN_SANITIZED 1
#endif
#endif

#if defined(__x86_64__) && !defined(KEY_SCAN_SANITIZED)
static inline size_t key_len_scan(const char *key)
{
	uintptr_t at = (uintptr_t)key & ~(uintptr_t)15;
	unsigned int skip = (unsigned int)((uintptr_t)key & 15), mask;
	const __m128i zero = _mm_setzero_si128();
	size_t n;

	mask = (unsigned int)_mm_movemask_epi8(
		       _mm_cmpeq_epi8(_mm_load_si128((const __m128i *)at), zero)) >> skip;
	if (mask)
		return (size_t)__builtin_ctz(mask);
	for (n = 16 - skip; n < 256; n += 16) {
		at += 16;
		mask = (unsigned int)_mm_movemask_epi8(
			_mm_cmpeq_epi8(_mm_load_si128((const __m128i *)at), zero));
		if (mask) {
			n += (size_t)__builtin_ctz(mask);
			return n < 256 ? n : 256;
		}
	}
	return 256;
}
#else
static inline size_t key_len_scan(const char *key)
{
	return strnlen(key, 256);
}
#endif

size_t dict_key_len(const char *key)
{
	return key_len_scan(key);
}

/* Out of line, so that set_cstr_hw keeps the frame of a small function. */
static __attribute__((noinline)) int set_general(struct dict_writer *w, const char *key,
						 size_t klen, const void *val, size_t len)
{
	return dict_set(w, key, klen, val, len);
}

/*
 * dict_set_cstr on a CPU with crc32, with the common case on its own:
 * overwriting a bound key whose slot starts its probe chain, with an inline
 * value, outside a transaction. Its stores are set_body's, in the same
 * order (version_publish, then version_invalidate); only the search for
 * cases set_body also handles is left out, and any other case goes to
 * dict_set. tests/unit/test_every_instruction.c reads the dictionary after
 * each of its instructions.
 */
static CRC32C_HW_TARGET __attribute__((flatten)) int
set_cstr_hw(struct dict_writer *w, const char *key, const void *val, size_t len)
{
	size_t klen = key_len_scan(key);
	struct dict_version *v, *old;
	struct dict_slot *s;
	uint64_t g0, g1;
	uint32_t hash;

	if (w->txn || !klen || klen > DICT_KEY_INLINE || len > DICT_VAL_INLINE || (!val && len))
		goto general;
	hash = ~crc32c_raw_update_short(~0u, NULL, (const uint8_t *)key, klen);
	s = &w->slots[hash & w->mask];
	if (atomic_load_explicit(&s->state, memory_order_relaxed) != SLOT_BOUND ||
	    s->key_crc != hash || s->key_len != klen || !key_eq(s->key_inl, key, (uint32_t)klen))
		goto general;
	g0 = atomic_load_explicit(&s->ver[0].gen, memory_order_relaxed);
	g1 = atomic_load_explicit(&s->ver[1].gen, memory_order_relaxed);
	if (!g0 == !g1) /* not exactly one valid version */
		goto general;
	v = s->ver + (g0 != 0);
	old = s->ver + (g0 == 0);
	if (old->len == DICT_LEN_DELETED) /* a tombstone belongs to a transaction */
		goto general;
	version_publish(w, s, v, val, (uint32_t)len, 0, true);
	version_invalidate(w, old);
	w->bytes += len - old->len;
	stats_update(w);
	return 0;
general:
	return set_general(w, key, klen, val, len);
}

int dict_set_cstr(struct dict_writer *w, const char *key, const void *val, size_t len)
{
	if (!w || !w->base)
		return -EBADF;
	if (!key)
		return -EINVAL;
	if (crc32c_hw)
		return set_cstr_hw(w, key, val, len);
	return dict_set(w, key, key_len_scan(key), val, len);
}

int dict_get(struct dict_writer *w, const char *key, size_t klen, void *buf, size_t buf_len,
	     size_t *len)
{
	struct dict_version *v;
	struct dict_slot *s;
	uint32_t idx;

	if (!w || !w->base)
		return -EBADF;
	if (!key_ok(key, klen) || !len || (!buf && buf_len))
		return -EINVAL;
	s = lookup(w, key, (uint32_t)klen, crc32c(0, key, klen), &idx);
	v = s ? visible(w, s) : NULL;
	if (!v)
		return -ENOENT;
	*len = v->len;
	if (buf_len < v->len)
		return -ENOBUFS;
	/* buf may be NULL for an empty value: memcpy(NULL, ..., 0) is undefined. */
	if (v->len)
		memcpy(buf, v->len <= DICT_VAL_INLINE ? v->inl : arena_ptr(w, v->off), v->len);
	return 0;
}

int dict_del(struct dict_writer *w, const char *key, size_t klen)
{
	struct dict_version *prev;
	struct dict_slot *s;
	uint32_t idx;
	int err;

	if (!w || !w->base)
		return -EBADF;
	if (!key_ok(key, klen))
		return -EINVAL;
	s = lookup(w, key, (uint32_t)klen, crc32c(0, key, klen), &idx);
	prev = s ? visible(w, s) : NULL;
	if (!prev)
		return -ENOENT;
	w->keys--;
	w->bytes -= prev->len;
	if (w->txn) {
		err = write_version(w, s, NULL, DICT_LEN_DELETED, false);
		if (err)
			return err;
	} else {
		unbind_slot(w, s);
	}
	stats_update(w);
	return 0;
}

int dict_begin(struct dict_writer *w)
{
	if (!w || !w->base)
		return -EBADF;
	if (w->txn)
		return -EBUSY;
	/* Apps that never use transactions never pay for this list. */
	if (!w->touched) {
		w->touched = calloc(w->mask + 1, sizeof(uint32_t));
		if (!w->touched)
			return -ENOMEM;
	}
	w->txn = ++w->last_txn;
	w->ntouched = 0;
	return 0;
}

static void publish_commit(struct dict_commit *c, uint64_t txn)
{
	int i;

	for (i = 0; i < 2; i++) {
		atomic_store_explicit(&c[i].txn, txn, memory_order_release);
		atomic_store_explicit(&c[i].check, ~txn, memory_order_release);
	}
}

int dict_commit(struct dict_writer *w)
{
	uint32_t i;

	if (!w || !w->base)
		return -EBADF;
	if (!w->txn)
		return -EINVAL;
	publish_commit(w->commit, w->txn);
	/* Published: the superseded versions may go now. */
	for (i = 0; i < w->ntouched; i++) {
		struct dict_slot *s = &w->slots[w->touched[i]];
		struct dict_version *mine = txn_version(w, s);

		if (!mine)
			continue;
		if (mine->len == DICT_LEN_DELETED)
			unbind_slot(w, s);
		else
			version_invalidate(w, mine == &s->ver[0] ? &s->ver[1] : &s->ver[0]);
	}
	w->txn = 0;
	w->ntouched = 0;
	return 0;
}

int dict_rollback(struct dict_writer *w)
{
	uint32_t i;

	if (!w || !w->base)
		return -EBADF;
	if (!w->txn)
		return -EINVAL;
	for (i = 0; i < w->ntouched; i++) {
		struct dict_slot *s = &w->slots[w->touched[i]];
		struct dict_version *mine = txn_version(w, s), *v;

		if (!mine)
			continue;
		if (mine->len != DICT_LEN_DELETED) {
			w->keys--;
			w->bytes -= mine->len;
		}
		version_invalidate(w, mine);
		v = newest(s); /* the value from before the transaction */
		if (v) {
			w->keys++;
			w->bytes += v->len;
		} else {
			unbind_slot(w, s);
		}
	}
	w->txn = 0;
	w->ntouched = 0;
	stats_update(w);
	return 0;
}

void dict_writer_close(struct dict_writer *w, int fd)
{
	if (!w || !w->base)
		return;
	atomic_store_explicit(&w->stats->closed, DICT_CLOSED_MAGIC, memory_order_release);
	/* The data is discarded: an orderly end leaves nothing to rescue. */
	fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, DICT_SLOT_OFF,
		  (off_t)(w->size - DICT_SLOT_OFF));
}
