/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The crash torture through `faultguardctl run`: app_torture writes values
 * that carry their own key, sequence number, length and checksum, and
 * tells the test, through a shared page on an fd inherited across the
 * guardian, which sequence number has completed and which is in flight.
 * After each death the snapshot must hold whole values of exactly those.
 *
 * Per sequence number s: a transaction sets "a" and "b" to s, then "single"
 * is set to s; then done = s. inflight = s before the transaction begins.
 */
#ifndef FG_TEST_APP_TORTURE_H
#define FG_TEST_APP_TORTURE_H

#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define TORT_MAGIC 0x54524f54u /* "TORT" */
#define TORT_MAX_BODY 6000     /* values from a few bytes (inline) to the arena */
#define TORT_MAX_LEN (sizeof(struct tort_hdr) + TORT_MAX_BODY)

enum { TORT_A, TORT_B, TORT_SINGLE, TORT_NKEYS };
static const char *const tort_keys[TORT_NKEYS] = { "a", "b", "single" };

struct tort_progress {
	_Atomic uint64_t done;	   /* every write of this sequence number returned */
	_Atomic uint64_t inflight; /* the sequence number being written */
};

struct tort_hdr {
	uint32_t magic;
	uint32_t key;
	uint64_t seq;
	uint32_t len; /* the whole value */
	uint32_t sum; /* FNV-1a of the body */
};

static inline uint64_t tort_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

static inline size_t tort_len(unsigned int key, uint64_t seq)
{
	return sizeof(struct tort_hdr) + tort_mix(seq * 4 + key) % TORT_MAX_BODY;
}

static inline uint32_t tort_body(unsigned char *body, size_t n, unsigned int key, uint64_t seq)
{
	uint64_t x = tort_mix(seq << 8 | key) | 1;
	uint32_t h = 2166136261u;
	size_t i;

	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		body[i] = (unsigned char)x;
		h = (h ^ body[i]) * 16777619u;
	}
	return h;
}

/* Writes the value of @key at @seq into @buf (TORT_MAX_LEN bytes); returns its length. */
static inline size_t tort_fill(unsigned char *buf, unsigned int key, uint64_t seq)
{
	struct tort_hdr h = { .magic = TORT_MAGIC, .key = key, .seq = seq };
	size_t len = tort_len(key, seq);

	h.len = (uint32_t)len;
	h.sum = tort_body(buf + sizeof(h), len - sizeof(h), key, seq);
	memcpy(buf, &h, sizeof(h));
	return len;
}

/* 0 when @val is exactly one whole value of @key (its sequence number in *seq). */
static inline int tort_check(const void *val, size_t len, unsigned int key, uint64_t *seq)
{
	unsigned char want[TORT_MAX_LEN];
	struct tort_hdr h;

	if (len < sizeof(h) || len > TORT_MAX_LEN)
		return -1;
	memcpy(&h, val, sizeof(h));
	if (h.magic != TORT_MAGIC || h.key != key || h.seq == 0 || h.len != len ||
	    tort_len(key, h.seq) != len)
		return -1;
	tort_fill(want, key, h.seq);
	if (memcmp(want, val, len))
		return -1;
	*seq = h.seq;
	return 0;
}

#endif
